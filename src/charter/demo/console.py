"""Demo step ``console``: console passwords for the demo's people, so the web console has someone to sign in.

Each demo user (``demo-<persona>``, from the ``users`` step) and a ``demo-admin``
(persona admin, made here) gets a generated console password.  They are written
to ``CHARTER_HOME/console-passwords`` (readable by its owner only), one
``user password`` pair a line, and the start-up output names the file and the
admin's pair, so a newcomer signs in at ``/console/`` straight after ``make run``.
"""

from __future__ import annotations

import os
import secrets

from ..iam import identities
from ..services.iam_admin import create_principal_with_persona
from ..services.signin import set_password
from . import Step, Workspace, user_name
from .users import demo_personas

ADMIN = user_name("admin")


def _password() -> str:
    # Upper, lower, digit and symbol kinds all present, as the password policy asks for three of them.
    return f"Demo-{secrets.token_urlsafe(9)}-7a"


def run(workspace: Workspace) -> None:
    instance = workspace.instance
    account = workspace.account
    given: dict[str, str] = {}
    with instance.transaction() as conn:
        if identities.find_principal(conn, account, "user", ADMIN) is None:
            create_principal_with_persona(conn, account=account, kind="user", name=ADMIN, persona="admin")
        for name in [ADMIN, *(user_name(p) for p in demo_personas())]:
            if identities.find_principal(conn, account, "user", name) is None:
                continue  # deleted by someone since the users step
            given[name] = _password()
            set_password(conn, account=account, user_name=name, password=given[name])
    path = instance.settings.home / "console-passwords"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write("# Console passwords of the demo users (user password). Change them at /console/change-password.\n")
        out.writelines(f"{name} {password}\n" for name, password in given.items())
    workspace.results["console_passwords"] = given
    workspace.made.append(f"console passwords for {', '.join(given)} in {path}")
    workspace.made.append(
        f"the web console: {instance.endpoint_url}/console/ - sign in as {ADMIN} with {given.get(ADMIN, '(see the file)')}"
    )


STEP = Step("console", "console passwords for the demo users", run)
