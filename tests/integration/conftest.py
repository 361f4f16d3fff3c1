"""The real server: ``charter server`` (uvicorn) on a free loopback port, temp CHARTER_HOME."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

from pg import free_port
from server_process import wait_until_healthy

ADMIN_KEY = "AKIACHARTERTESTADMIN"
ADMIN_SECRET = "charter-test-admin-secret-0123456789abcd"
REGION = "us-east-1"


@dataclass
class CharterServer:
    endpoint: str
    home: Path
    env: dict
    process: subprocess.Popen
    log_path: Path
    clients: dict = field(default_factory=dict)

    def client(self, access_key: str = ADMIN_KEY, secret: str = ADMIN_SECRET, *, validate: bool = True, region: str = REGION,
               service: str = "sagemaker"):
        """A boto3 client of ``service`` (SageMaker by default) for these keys (client-side validation optional)."""
        config = Config(
            parameter_validation=validate,
            retries={"max_attempts": 1, "mode": "standard"},
            read_timeout=60,
        )
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=region,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret,
            config=config,
        )

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """Run the ``charter`` command against this installation."""
        result = subprocess.run(
            [sys.executable, "-m", "charter.cli.main", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"charter {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
        return result

    def create_user(self, name: str, persona: str, *extra: str):
        """Create a user through the CLI; returns a boto3 client holding its keys."""
        keys = json.loads(self.cli("iam", "create-user", name, "--persona", persona, *extra).stdout)
        return self.client(keys["AccessKeyId"], keys["SecretAccessKey"])


def start_server(home: Path, database_url: str, extra_env: dict | None = None, port: int | None = None) -> CharterServer:
    port = port or free_port()
    env = {
        **os.environ,
        "CHARTER_HOME": str(home),
        "CHARTER_DATABASE_URL": database_url,
        "CHARTER_PORT": str(port),
        "CHARTER_ROOT_ACCESS_KEY_ID": ADMIN_KEY,
        "CHARTER_ROOT_SECRET_ACCESS_KEY": ADMIN_SECRET,
        **(extra_env or {}),
    }
    log_path = home / "server.log"
    home.mkdir(parents=True, exist_ok=True)
    log = open(log_path, "a")
    process = subprocess.Popen(
        [sys.executable, "-m", "charter.cli.main", "server", "--log-level", "warning"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(process, endpoint, log_path, 60)
    except RuntimeError:
        process.kill()
        raise
    return CharterServer(endpoint=endpoint, home=home, env=env, process=process, log_path=log_path)


def stop_server(server: CharterServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()


@pytest.fixture(scope="session")
def charter(tmp_path_factory, database_url_factory):
    """One running Charter server for the session."""
    server = start_server(tmp_path_factory.mktemp("charter-home"), database_url_factory())
    yield server
    stop_server(server)


@pytest.fixture
def sm(charter):
    """A boto3 SageMaker client signed with the admin's keys."""
    return charter.client()
