"""One Settings object, read from CHARTER_* environment variables (ARCHITECTURE.md).

Nothing else in Charter reads its own configuration from the environment: the
composition roots (the server, the CLI, tests) build one ``Settings`` and hand it
down, so every knob is listed here, typed and checked once, at start-up.  What a
built-in reads from its environment (``SAGEMAKER_*``, the Model Monitor contract) is
the container's input, not Charter's configuration, and is parsed by the built-in.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _positive(name: str, default: int | float):
    """A positive number from ``name``, of ``default``'s type; ``default`` when unset; a clear error otherwise."""
    raw = _env(name)
    if raw is None:
        return default
    try:
        value = type(default)(raw)
    except ValueError:
        raise RuntimeError(f"{name}={raw!r} is not a number") from None
    if value <= 0:
        raise RuntimeError(f"{name} must be positive, not {raw!r}")
    return value


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str
    artifact_root: str
    host: str = "127.0.0.1"
    port: int = 8642
    account_id: str = "123456789012"
    region: str = "us-east-1"
    root_access_key_id: str | None = None
    root_secret_access_key: str | None = field(default=None, repr=False)
    # AWS services accept a request signed up to 15 minutes from their clock.
    max_clock_skew_seconds: int = 900
    # The public datasets folder (shared/data) when it is not beside the checkout.
    shared_data: Path | None = None
    # An external S3 or S3-compatible service that keeps the artifacts (store/objects/external.py).
    s3_endpoint_url: str | None = None
    # Webhook deliveries: retry schedule (base * 2**attempts, jittered), how long a
    # claimed delivery is held before another worker may retry it, and the HTTP timeout.
    webhook_backoff_base_seconds: float = 1.0
    webhook_max_attempts: int = 10
    webhook_lease_seconds: float = 60.0
    webhook_timeout_seconds: float = 10.0
    # Model card export jobs: how long a claimed job is held before another worker runs it again.
    card_export_lease_seconds: float = 120.0
    # Training and processing jobs: how long a job's claim is held without renewal (a job whose
    # server died is taken over after this), and how often a running job's log and state are followed.
    job_lease_seconds: float = 30.0
    job_poll_seconds: float = 0.5
    # LocalExecutor's capacity: the CPUs and memory jobs may reserve (default: this machine's).
    local_cpus: int | None = None
    local_memory_mib: int | None = None
    # RayExecutor: the address of a Ray cluster to run jobs on (ray://host:10001 or host:6379).
    ray_address: str | None = None
    # The web console: how long a sign-in lasts (12 hours, as the AWS console's), and how many failed
    # sign-ins within the window, for one user name or from one client address, refuse further tries
    # (even with the right password) until the window has passed since the one that filled the count.
    console_session_seconds: float = 43200.0
    console_signin_failures_per_user: int = 5
    console_signin_failures_per_address: int = 20
    console_signin_window_seconds: float = 900.0

    @classmethod
    def from_env(cls, **overrides) -> "Settings":
        home = Path(overrides.pop("home", None) or _env("CHARTER_HOME", "./.charter")).resolve()
        database_url = overrides.pop("database_url", None) or _env(
            "CHARTER_DATABASE_URL", f"sqlite:///{home / 'charter.db'}"
        )
        artifact_root = overrides.pop("artifact_root", None) or _env(
            "CHARTER_ARTIFACT_ROOT", f"file://{home / 'artifacts'}"
        )

        def default(name: str):  # the field's own default: each is written once, above
            return cls.__dataclass_fields__[name].default

        settings = cls(
            home=home,
            database_url=database_url,
            artifact_root=artifact_root,
            host=_env("CHARTER_HOST", default("host")),
            port=int(_env("CHARTER_PORT", str(default("port")))),
            account_id=_env("CHARTER_ACCOUNT_ID", default("account_id")),
            region=_env("CHARTER_REGION", default("region")),
            root_access_key_id=_env("CHARTER_ROOT_ACCESS_KEY_ID"),
            root_secret_access_key=_env("CHARTER_ROOT_SECRET_ACCESS_KEY"),
            max_clock_skew_seconds=int(_env("CHARTER_MAX_CLOCK_SKEW_SECONDS", str(default("max_clock_skew_seconds")))),
            shared_data=Path(_env("CHARTER_SHARED_DATA")).resolve() if _env("CHARTER_SHARED_DATA") else None,
            s3_endpoint_url=_env("CHARTER_S3_ENDPOINT_URL"),
            webhook_backoff_base_seconds=_positive(
                "CHARTER_WEBHOOK_BACKOFF_BASE_SECONDS", default("webhook_backoff_base_seconds")
            ),
            webhook_max_attempts=_positive("CHARTER_WEBHOOK_MAX_ATTEMPTS", default("webhook_max_attempts")),
            webhook_lease_seconds=_positive("CHARTER_WEBHOOK_LEASE_SECONDS", default("webhook_lease_seconds")),
            webhook_timeout_seconds=_positive("CHARTER_WEBHOOK_TIMEOUT_SECONDS", default("webhook_timeout_seconds")),
            card_export_lease_seconds=_positive(
                "CHARTER_CARD_EXPORT_LEASE_SECONDS", default("card_export_lease_seconds")
            ),
            job_lease_seconds=_positive("CHARTER_JOB_LEASE_SECONDS", default("job_lease_seconds")),
            job_poll_seconds=_positive("CHARTER_JOB_POLL_SECONDS", default("job_poll_seconds")),
            local_cpus=_positive("CHARTER_LOCAL_CPUS", 0) or None,
            local_memory_mib=_positive("CHARTER_LOCAL_MEMORY_MIB", 0) or None,
            ray_address=_env("CHARTER_RAY_ADDRESS"),
            console_session_seconds=_positive("CHARTER_CONSOLE_SESSION_SECONDS", default("console_session_seconds")),
            console_signin_failures_per_user=_positive(
                "CHARTER_CONSOLE_SIGNIN_FAILURES_PER_USER", default("console_signin_failures_per_user")
            ),
            console_signin_failures_per_address=_positive(
                "CHARTER_CONSOLE_SIGNIN_FAILURES_PER_ADDRESS", default("console_signin_failures_per_address")
            ),
            console_signin_window_seconds=_positive(
                "CHARTER_CONSOLE_SIGNIN_WINDOW_SECONDS", default("console_signin_window_seconds")
            ),
        )
        return replace(settings, **overrides) if overrides else settings

    @property
    def credentials_file(self) -> Path:
        return self.home / "credentials"

    @property
    def server_key_file(self) -> Path:
        return self.home / "server.key"
