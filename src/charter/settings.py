"""One Settings object, read from CHARTER_* environment variables (ARCHITECTURE.md)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


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

    @classmethod
    def from_env(cls, **overrides) -> "Settings":
        home = Path(overrides.pop("home", None) or _env("CHARTER_HOME", "./.charter")).resolve()
        database_url = overrides.pop("database_url", None) or _env(
            "CHARTER_DATABASE_URL", f"sqlite:///{home / 'charter.db'}"
        )
        artifact_root = overrides.pop("artifact_root", None) or _env(
            "CHARTER_ARTIFACT_ROOT", f"file://{home / 'artifacts'}"
        )
        settings = cls(
            home=home,
            database_url=database_url,
            artifact_root=artifact_root,
            host=_env("CHARTER_HOST", "127.0.0.1"),
            port=int(_env("CHARTER_PORT", "8642")),
            account_id=_env("CHARTER_ACCOUNT_ID", "123456789012"),
            region=_env("CHARTER_REGION", "us-east-1"),
            root_access_key_id=_env("CHARTER_ROOT_ACCESS_KEY_ID"),
            root_secret_access_key=_env("CHARTER_ROOT_SECRET_ACCESS_KEY"),
            max_clock_skew_seconds=int(_env("CHARTER_MAX_CLOCK_SKEW_SECONDS", "900")),
            shared_data=Path(_env("CHARTER_SHARED_DATA")).resolve() if _env("CHARTER_SHARED_DATA") else None,
        )
        return replace(settings, **overrides) if overrides else settings

    @property
    def credentials_file(self) -> Path:
        return self.home / "credentials"

    @property
    def server_key_file(self) -> Path:
        return self.home / "server.key"
