"""``charter``: run the server, administer identities, read the audit log.

Administration commands open the installation named by the CHARTER_* variables
directly (like ``createuser`` for PostgreSQL), so they work with the server
stopped and need no keys.
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import re
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Optional

import typer
from rich.console import Console
from rich.table import Table
from ..errors import AwsError

if TYPE_CHECKING:  # the database stack is imported only by the commands that open it
    from sqlalchemy import Connection

    from ..instance import Instance

app = typer.Typer(help="Charter: self-hosted ML governance that speaks the SageMaker API.", no_args_is_help=True)
iam_app = typer.Typer(help="Users, roles, personas, access keys and policies.", no_args_is_help=True)
audit_app = typer.Typer(help="The audit log of every API call and console action.", no_args_is_help=True)
app.add_typer(iam_app, name="iam")
app.add_typer(audit_app, name="audit")

# Command groups that live in their own modules (each defines ``app``).
for _module, _name in (
    ("registry", "registry"),
    ("cards", "cards"),
    ("events", "events"),
    ("clarify", "clarify"),
    ("container", "container"),
    ("forecast", "forecast"),
    ("jobs", "jobs"),
):
    try:
        app.add_typer(importlib.import_module(f"charter.cli.{_module}").app, name=_name)
    except ModuleNotFoundError as _missing:
        if _missing.name != f"charter.cli.{_module}":
            raise

# Piped output (scripts, tests) gets wide tables rather than Rich's 80-column truncation.
out = Console(width=None if sys.stdout.isatty() else 240)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 240)


def _instance() -> Instance:
    from ..instance import Instance

    return Instance.from_env()


@contextmanager
def _administering(*, write: bool = True) -> Iterator[tuple[Instance, Connection]]:
    """A transaction on this installation; an AWS-shaped error becomes a clear CLI error."""
    instance = _instance()
    try:
        with instance.transaction(write=write) as conn:
            yield instance, conn
    except AwsError as exc:
        _fail(exc.message)
    finally:
        instance.close()


def _fail(message: str) -> None:
    err.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(2)


def _print_json(document) -> None:
    sys.stdout.write(json.dumps(document, indent=2, default=str) + "\n")


# --- server -----------------------------------------------------------------


@app.command()
def server(
    host: Optional[str] = typer.Option(None, help="Address to listen on (CHARTER_HOST, default 127.0.0.1)."),
    port: Optional[int] = typer.Option(None, help="Port (CHARTER_PORT, default 8642)."),
    demo: bool = typer.Option(False, help="Seed a small demo workspace on first start."),
    log_level: str = typer.Option("warning", help="uvicorn's log level."),
    ray: bool = typer.Option(
        False, "--ray",
        help="Run training and processing jobs on a Ray cluster of this installation's own: a Ray head on this "
        "machine (`ray start --head`, sized by CHARTER_LOCAL_CPUS/CHARTER_LOCAL_MEMORY_MIB when set), started "
        "unless the one recorded in CHARTER_HOME/ray-head.json still answers. It keeps running when the server "
        "stops, like the jobs on it, so a restarted server re-attaches to them; other machines join it with "
        "`ray start --address <this machine>:<port>` (the port is in ray-head.json), and `ray stop` on this "
        "machine ends it. Without --ray, CHARTER_RAY_ADDRESS names an existing cluster (host:port); with "
        "neither, jobs run on this machine alone.",
    ),
) -> None:
    """Start the SageMaker-compatible API server."""
    import uvicorn

    from ..api.app import create_app

    overrides = {k: v for k, v in {"host": host, "port": port}.items() if v is not None}
    from ..instance import Instance

    if ray:
        from ..runtime.executors.ray import local_cluster
        from ..settings import Settings

        wanted = Settings.from_env(**overrides)
        try:
            address, started = local_cluster(wanted.home, cpus=wanted.local_cpus, memory_mib=wanted.local_memory_mib)
        except (RuntimeError, OSError, subprocess.SubprocessError) as problem:
            _fail(f"could not start a Ray head for the jobs: {problem}")
        overrides["ray_address"] = address
        out.print(f"Jobs run on the Ray cluster at {address} ({'started now' if started else 'already running'})",
                  highlight=False)

    instance = Instance.from_env(**overrides)
    settings = instance.settings
    from ..services.iam_admin import bootstrap_admin

    key = bootstrap_admin(instance)
    endpoint = instance.endpoint_url
    if key is not None:
        out.print("[bold green]Charter created its admin user.[/] Keep these keys; they are shown once:")
        out.print(f"  aws_access_key_id     = {key.access_key_id}")
        out.print(f"  aws_secret_access_key = {key.secret_access_key}")
        if not settings.root_access_key_id:
            out.print(f"  (also written to {settings.credentials_file}, profile [bold]charter[/])")
    if demo:
        from ..demo import seed

        for line in seed(instance).lines():
            out.print(line, highlight=False, markup=False)
    config = instance.write_config()
    sdk_config = instance.write_sdk_config()
    out.print(f"Charter {settings.database_url.split(':', 1)[0]} store at {settings.home}")
    out.print(
        f"SageMaker, S3, CloudWatch, STS and IAM APIs on [bold]{endpoint}[/]; point the AWS CLI, boto3 and the "
        "SageMaker SDK at it with:",
        highlight=False,
    )
    out.print(
        f"  export AWS_CONFIG_FILE={config} AWS_SHARED_CREDENTIALS_FILE={settings.credentials_file} AWS_PROFILE=charter",
        highlight=False, soft_wrap=True,
    )
    out.print(f"  export SAGEMAKER_USER_CONFIG_OVERRIDE={sdk_config}", highlight=False, soft_wrap=True)
    out.print(
        f"The web console is at [bold]{endpoint}/console/[/]: IAM users sign in with a console password "
        "(`charter iam set-password USER`).",
        highlight=False,
    )
    uvicorn.run(create_app(instance), host=settings.host, port=settings.port, log_level=log_level, access_log=False)


# --- iam --------------------------------------------------------------------


@iam_app.command("create-user")
def create_user(
    name: str,
    persona: str = typer.Option(..., help="data-scientist, mlops-engineer, compute, labeler, auditor, admin, "
                                            "or custom (only the --activity list given)."),
    activity: list[str] = typer.Option([], "--activity", help="An extra Role Manager ML activity (repeatable)."),
    bucket: list[str] = typer.Option([], "--bucket", help="A bucket (or bucket/prefix) the artifact-access activity may use."),
) -> None:
    """Create a user with a persona; prints its new access key as JSON."""
    from ..services.iam_admin import create_user as make_user

    with _administering() as (instance, conn):
        _, key = make_user(
            conn,
            instance.keyring,
            account=instance.settings.account_id,
            name=name,
            persona=persona,
            activities=activity,
            buckets=bucket,
        )
    _print_json({"UserName": name, "AccessKeyId": key.access_key_id, "SecretAccessKey": key.secret_access_key})


@iam_app.command("create-role")
def create_role(
    name: str,
    persona: str = typer.Option("compute", help="The role's persona (compute for a job execution role)."),
    activity: list[str] = typer.Option([], "--activity"),
    bucket: list[str] = typer.Option([], "--bucket"),
) -> None:
    """Create a role (jobs run as a role); prints its ARN."""
    from ..services.iam_admin import create_principal_with_persona

    with _administering() as (instance, conn):
        role = create_principal_with_persona(
            conn, account=instance.settings.account_id, kind="role", name=name, persona=persona,
            activities=activity, buckets=bucket,
        )
    _print_json({"RoleName": name, "Arn": role.arn})


@iam_app.command("list-users")
def list_users(roles: bool = typer.Option(False, "--roles", help="List roles instead of users.")) -> None:
    """Users (or roles) with their persona, activities and keys."""
    from ..iam import identities

    kind = "role" if roles else "user"
    table = Table(title="Roles" if roles else "Users")
    for column in ("Name", "Persona", "Extra activities", "Access keys", "ARN"):
        table.add_column(column)
    with _administering(write=False) as (instance, conn):
        for principal in identities.list_principals(conn, instance.settings.account_id, kind):
            keys = identities.list_access_keys(conn, principal)
            table.add_row(
                principal.name,
                principal.persona or "-",
                ", ".join(principal.activities) or "-",
                ", ".join(k["AccessKeyId"] for k in keys) or "-",
                principal.arn,
            )
    out.print(table)


@iam_app.command("delete-user")
def delete_user(name: str) -> None:
    """Delete a user, its access keys and its persona policy."""
    from ..iam import identities
    from ..services.iam_admin import require_principal

    with _administering() as (instance, conn):
        identities.delete_principal(conn, require_principal(conn, instance.settings.account_id, "user", name))
    out.print(f"Deleted user {name}.")


@iam_app.command("create-access-key")
def create_access_key(name: str) -> None:
    """Give a user another access key; prints it as JSON."""
    from ..iam import identities
    from ..services.iam_admin import require_principal

    with _administering() as (instance, conn):
        user = require_principal(conn, instance.settings.account_id, "user", name)
        key = identities.create_access_key(conn, instance.keyring, user)
    _print_json({"UserName": name, "AccessKeyId": key.access_key_id, "SecretAccessKey": key.secret_access_key})


@iam_app.command("attach-policy")
def attach_policy(
    name: str,
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="An IAM policy document (JSON)."),
    policy_name: Optional[str] = typer.Option(None, help="Name of the managed policy (default: the file's stem)."),
    role: bool = typer.Option(False, "--role", help="NAME is a role, not a user."),
) -> None:
    """Attach an IAM policy document from FILE to a user (or role)."""
    from ..services.iam_admin import attach_policy_document, require_principal

    with _administering() as (instance, conn):
        principal = require_principal(conn, instance.settings.account_id, "role" if role else "user", name)
        arn = attach_policy_document(conn, principal, policy_name or file.stem, file.read_text())
    out.print(f"Attached {arn} to {name}.")


@iam_app.command("explain")
def explain(name: str, role: bool = typer.Option(False, "--role", help="NAME is a role, not a user.")) -> None:
    """Print the effective policy of a user: every attached policy, merged."""
    from ..iam import identities
    from ..services.iam_admin import require_principal

    with _administering(write=False) as (instance, conn):
        principal = require_principal(conn, instance.settings.account_id, "role" if role else "user", name)
        attached = identities.attached_policies(conn, principal.arn)
    statements = []
    for policy_arn, document in attached:
        raw = document.get("Statement", [])
        for statement in raw if isinstance(raw, list) else [raw]:
            statements.append({**statement, "Sid": statement.get("Sid", ""), "_Policy": policy_arn})
    _print_json(
        {
            "Principal": principal.arn,
            "Persona": principal.persona,
            "Activities": principal.activities,
            "AttachedPolicies": [arn for arn, _ in attached],
            "EffectivePolicy": {"Version": "2012-10-17", "Statement": statements},
        }
    )


@iam_app.command("set-password")
def set_password(
    name: str,
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from standard input (its first line) instead of asking."
    ),
    reset_required: bool = typer.Option(
        False, "--reset-required", help="The user must choose a new password before signing in."
    ),
) -> None:
    """Give a user a console password (creates its login profile, or replaces the password).

    The user's console sessions that began before end, and a pause after failed
    sign-ins is lifted.  IAM's password policy applies: 8 characters or more, three
    of upper case, lower case, digits and symbols, not the user name.
    """
    from ..services.signin import set_password as give_password

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("New console password", hide_input=True, confirmation_prompt=True)
    with _administering() as (instance, conn):
        created = give_password(
            conn, account=instance.settings.account_id, user_name=name, password=password, reset_required=reset_required
        )
    out.print(f"{'Created the login profile of' if created else 'Set a new console password for'} {name}; "
              f"sign in at {instance.endpoint_url}/console/", highlight=False)


@iam_app.command("personas")
def list_personas() -> None:
    """The Role Manager personas and ML activities a user can be given."""
    from ..iam import personas

    table = Table(title="Personas")
    table.add_column("Persona")
    table.add_column("Activities")
    for name, persona in personas.PERSONAS.items():
        table.add_row(name, ", ".join(persona.activities))
    out.print(table)
    table = Table(title="ML activities")
    table.add_column("Activity")
    table.add_column("What it grants")
    for name, activity in personas.ACTIVITIES.items():
        table.add_row(name, activity.description)
    out.print(table)


# --- audit ------------------------------------------------------------------

_RELATIVE = re.compile(r"^(\d+)\s*([smhd])$")


def parse_since(text: str) -> float:
    """An ISO 8601 time, epoch seconds, or a span back from now such as 15m, 2h, 7d."""
    match = _RELATIVE.match(text.strip())
    if match:
        seconds = int(match[1]) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[match[2]]
        return dt.datetime.now(dt.timezone.utc).timestamp() - seconds
    try:
        return float(text)
    except ValueError:
        pass
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter(f"'{text}' is not a time: give ISO 8601 (2026-11-25T10:00:00Z), epoch seconds or 15m/2h/7d.")
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return when.timestamp()


@audit_app.command("tail")
def audit_tail(
    user: Optional[str] = typer.Option(None, help="Only calls by this user."),
    since: Optional[str] = typer.Option(None, help="Only calls since this time (ISO 8601, epoch, or 15m/2h/7d)."),
    operation: Optional[str] = typer.Option(None, help="Only this operation."),
    source: Optional[str] = typer.Option(None, help="Only calls from this source: api or console."),
    limit: int = typer.Option(50, help="At most this many (the newest)."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per line instead of a table."),
) -> None:
    """The newest API calls and console actions: who, what, on which resource, and the outcome."""
    from ..store import audit

    since_epoch = parse_since(since) if since else None
    with _administering(write=False) as (_, conn):
        events = audit.events(conn, user=user, since=since_epoch, operation=operation, source=source, limit=limit)
    if as_json:
        for event in events:
            sys.stdout.write(json.dumps(event.__dict__) + "\n")
        return
    table = Table(title="Audit log")
    for column in ("Time (UTC)", "Source", "User", "Operation", "Resource", "Outcome", "Error", "Address"):
        table.add_column(column)
    for event in events:
        when = dt.datetime.fromtimestamp(event.time, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
        style = {"Success": "green", "Denied": "bold red", "Failed": "yellow"}.get(event.outcome, "")
        table.add_row(
            when,
            event.source,
            event.user_name or "-",
            event.operation,
            event.resource_arn or "-",
            f"[{style}]{event.outcome}[/]",
            event.error_code or "",
            event.source_ip or "",
        )
    out.print(table)


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    app()
