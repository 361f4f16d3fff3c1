"""The boto3 SageMaker client the API-speaking CLI commands use (``charter cards``, ...).

Unlike the administration commands, these talk to a running server over the
wire, as any SageMaker client does, with the standard AWS configuration:

* endpoint: ``--endpoint-url``, else ``AWS_ENDPOINT_URL_SAGEMAKER`` /
  ``AWS_ENDPOINT_URL`` (boto3 reads those itself), else the local server
  ``http://$CHARTER_HOST:$CHARTER_PORT`` (default ``http://127.0.0.1:8642``);
* credentials: ``--profile``, ``AWS_PROFILE`` or ``AWS_ACCESS_KEY_ID`` when given;
  otherwise profile ``charter`` of ``AWS_SHARED_CREDENTIALS_FILE``, which defaults
  to ``$CHARTER_HOME/credentials`` (written by the server on its first start)
  when that file exists; as a last resort the installation's bootstrap keys
  ``CHARTER_ROOT_ACCESS_KEY_ID`` / ``CHARTER_ROOT_SECRET_ACCESS_KEY``;
* region: ``--region``, ``AWS_REGION`` / ``AWS_DEFAULT_REGION`` / the profile's,
  else ``CHARTER_REGION``, else ``us-east-1``.
"""

from __future__ import annotations

import configparser
import os
import sys
from pathlib import Path
from typing import NoReturn

import typer
from rich.console import Console

DEFAULT_PROFILE = "charter"


class ClientSetupError(Exception):
    """The client cannot be built (unknown profile, no credentials); the message says what to set."""


class ApiCallError(Exception):
    """An API call failed; the message is what to tell the user (AWS error code and message)."""


def default_endpoint() -> str | None:
    """The local server's address, or None when the AWS environment names an endpoint."""
    if os.environ.get("AWS_ENDPOINT_URL_SAGEMAKER") or os.environ.get("AWS_ENDPOINT_URL"):
        return None  # boto3 reads these itself
    host = os.environ.get("CHARTER_HOST") or "127.0.0.1"
    port = os.environ.get("CHARTER_PORT") or "8642"
    return f"http://{host}:{port}"


def _charter_credentials_file() -> Path | None:
    if os.environ.get("AWS_SHARED_CREDENTIALS_FILE"):
        return None
    path = Path(os.environ.get("CHARTER_HOME") or "./.charter") / "credentials"
    return path.resolve() if path.is_file() else None


def _has_profile(path: Path, profile: str) -> bool:
    parser = configparser.ConfigParser()
    try:
        parser.read(path)
    except configparser.Error:
        return False
    return parser.has_section(profile)


def sagemaker_client(endpoint_url: str | None = None, profile: str | None = None, region: str | None = None):
    """A boto3 ``sagemaker`` client for the Charter server (see the module docstring for defaults)."""
    return aws_client("sagemaker", endpoint_url, profile, region)


def aws_client(service: str, endpoint_url: str | None = None, profile: str | None = None, region: str | None = None):
    """A boto3 client of ``service`` (``sagemaker``, ``logs``, ...) for the Charter server, set up alike."""
    import boto3
    import botocore.session
    from botocore.config import Config

    core = botocore.session.Session()
    charter_file = _charter_credentials_file()
    if charter_file is not None:
        core.set_config_variable("credentials_file", str(charter_file))
    if profile is None and not (os.environ.get("AWS_PROFILE") or os.environ.get("AWS_ACCESS_KEY_ID")):
        credentials_file = charter_file or Path(os.path.expanduser(core.get_config_variable("credentials_file")))
        if credentials_file.is_file() and _has_profile(credentials_file, DEFAULT_PROFILE):
            profile = DEFAULT_PROFILE
    if profile is not None:
        if profile not in core.available_profiles:
            raise ClientSetupError(
                f"AWS profile '{profile}' not found. Pass another --profile, set AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY, or point CHARTER_HOME at the installation whose credentials file holds it."
            )
        core.set_config_variable("profile", profile)
    session = boto3.Session(botocore_session=core)
    keys = {}
    if session.get_credentials() is None:
        root_key, root_secret = os.environ.get("CHARTER_ROOT_ACCESS_KEY_ID"), os.environ.get("CHARTER_ROOT_SECRET_ACCESS_KEY")
        if not (root_key and root_secret):
            raise ClientSetupError(
                "No AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, pass --profile, or set "
                "CHARTER_HOME to the installation whose credentials file (profile 'charter') the server wrote."
            )
        keys = {"aws_access_key_id": root_key, "aws_secret_access_key": root_secret}
    return session.client(
        service,
        endpoint_url=endpoint_url or default_endpoint(),
        region_name=region or session.region_name or os.environ.get("CHARTER_REGION") or "us-east-1",
        config=Config(retries={"max_attempts": 2, "mode": "standard"}),
        **keys,
    )


def call(function, **kwargs):
    """``function(**kwargs)`` (a boto3 client method); a failure becomes :class:`ApiCallError`."""
    from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError

    try:
        return function(**kwargs)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise ApiCallError(f"{error.get('Code', 'Error')}: {error.get('Message', '')}") from None
    except NoCredentialsError:
        raise ApiCallError("No AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or pass --profile.") from None
    except EndpointConnectionError as exc:
        raise ApiCallError(f"Could not reach the Charter server ({exc}). Is `charter server` running?") from None
    except BotoCoreError as exc:
        raise ApiCallError(str(exc)) from None


# --- for the commands: options they share, and failures as CLI errors -------------

err = Console(stderr=True, width=None if sys.stderr.isatty() else 240)

EndpointOption = typer.Option(
    None, "--endpoint-url", help="The Charter server (default: AWS_ENDPOINT_URL_SAGEMAKER, else http://127.0.0.1:8642)."
)
ProfileOption = typer.Option(
    None, "--profile", help="AWS credentials profile (default: the AWS environment, else 'charter' from $CHARTER_HOME/credentials)."
)
RegionOption = typer.Option(
    None, "--region", help="Region (default: AWS_REGION / AWS_DEFAULT_REGION / the profile's, else CHARTER_REGION or us-east-1)."
)


def fail(message: str, code: int = 2) -> NoReturn:
    """Print ``error: message`` on stderr and leave with ``code``."""
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


def connect(endpoint_url: str | None, profile: str | None, region: str | None, service: str = "sagemaker"):
    """A client of ``service`` (``aws_client(...)``), or a CLI error saying what to set."""
    try:
        return aws_client(service, endpoint_url, profile, region)
    except ClientSetupError as exc:
        fail(str(exc))


def request(function, **kwargs):
    """``call(...)``; an API failure becomes its AWS code and message on stderr and exit status 2."""
    try:
        return call(function, **kwargs)
    except ApiCallError as exc:
        fail(str(exc))
