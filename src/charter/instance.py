"""One Charter installation: settings, database, server key, bootstrap.

The API server, the CLI and the tests all open an ``Instance``; it applies the
migrations and holds what every face needs (the engine, the keyring, the
pagination-token codec, the client files in CHARTER_HOME).  It imports no
service: the composition roots make sure the bootstrap admin exists
(``services.iam_admin.bootstrap_admin``).
"""

from __future__ import annotations

import configparser
import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from sqlalchemy import Engine

from .iam import identities
from .iam.keyring import Keyring
from .settings import Settings
from .store import db
from .store.resources import TokenCodec

@dataclass
class Instance:
    settings: Settings
    engine: Engine = field(init=False)
    keyring: Keyring = field(init=False)

    def __post_init__(self) -> None:
        self.settings.home.mkdir(parents=True, exist_ok=True)
        self.keyring = Keyring.load_or_create(self.settings.server_key_file)
        self.engine = db.make_engine(self.settings.database_url)
        db.migrate(self.engine)

    @classmethod
    def from_env(cls, **overrides) -> "Instance":
        return cls(Settings.from_env(**overrides))

    @cached_property
    def codec(self) -> TokenCodec:
        return TokenCodec(self.keyring.mac_key)

    def transaction(self, *, write: bool = True):
        return db.transaction(self.engine, write=write)

    def close(self) -> None:
        self.engine.dispose()

    @property
    def config_file(self) -> Path:
        """The AWS config file beside the credentials file: where clients find region and endpoint."""
        return self.settings.home / "config"

    @property
    def sdk_config_file(self) -> Path:
        """The SageMaker Python SDK's config file (``SAGEMAKER_USER_CONFIG_OVERRIDE`` points at it)."""
        return self.settings.home / "sagemaker-config.yaml"

    @property
    def default_bucket(self) -> str:
        """The SageMaker SDK's default bucket name for this installation's account and region."""
        return f"sagemaker-{self.settings.region}-{self.settings.account_id}"

    def write_sdk_config(self) -> Path:
        """Write the SageMaker Python SDK's defaults for this installation to CHARTER_HOME.

        The SDK names its default bucket after the account id it asks STS for,
        through a client it builds with an explicit regional STS endpoint
        (``sagemaker.utils.sts_regional_endpoint``) that ``AWS_ENDPOINT_URL``
        does not redirect.  Given ``SageMaker.PythonSDK.Modules.Session.DefaultS3Bucket``
        in its config file it asks nobody, and finds (or creates) that bucket
        through S3, which does follow the endpoint.  Other keys in the file are kept.
        """
        import yaml

        path = self.sdk_config_file
        document: dict = {}
        if path.exists():
            loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
            document = loaded if isinstance(loaded, dict) else {}
        document.setdefault("SchemaVersion", "1.0")
        session = (
            document.setdefault("SageMaker", {}).setdefault("PythonSDK", {}).setdefault("Modules", {}).setdefault("Session", {})
        )
        session["DefaultS3Bucket"] = self.default_bucket
        path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
        return path

    @property
    def endpoint_url(self) -> str:
        """The URL a client on this machine reaches the server at."""
        host = self.settings.host
        if host in ("", "0.0.0.0", "::"):  # listening everywhere: loopback reaches it
            host = "127.0.0.1"
        elif ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.settings.port}"

    def write_credentials(self, key: identities.AccessKey, profile: str = "charter") -> None:
        """Put ``key`` in CHARTER_HOME/credentials as ``profile`` and give the profile a config entry."""
        path = self.settings.credentials_file
        parser = configparser.ConfigParser()
        if path.exists():
            parser.read(path)
        parser[profile] = {
            "aws_access_key_id": key.access_key_id,
            "aws_secret_access_key": key.secret_access_key,
        }
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            parser.write(handle)
        self.write_config(profile)

    def write_config(self, *profiles: str) -> Path:
        """Write region, endpoint and output of each profile to CHARTER_HOME/config.

        The AWS CLI refuses to run without a region, and boto3 and the CLI read
        ``endpoint_url`` from a profile, so with AWS_CONFIG_FILE and AWS_PROFILE set
        ``aws sagemaker ...`` reaches this server with no other flag.  With no
        ``profiles``, ``charter`` and every profile of CHARTER_HOME/credentials are
        written; the server does that on each start, so the endpoint follows
        CHARTER_PORT.  Other sections and keys in the file are kept.
        """
        if not profiles:
            credentials = configparser.ConfigParser()
            if self.settings.credentials_file.exists():
                credentials.read(self.settings.credentials_file)
            profiles = tuple(dict.fromkeys(["charter", *credentials.sections()]))
        path = self.config_file
        parser = configparser.ConfigParser()
        if path.exists():
            parser.read(path)
        for profile in profiles:
            section = f"profile {profile}"
            if not parser.has_section(section):
                parser.add_section(section)
            parser[section].update(region=self.settings.region, output="json", endpoint_url=self.endpoint_url)
        with open(path, "w", encoding="utf-8") as handle:
            parser.write(handle)
        return path
