"""Start ``charter server`` as a newcomer does: own CHARTER_HOME, no bootstrap keys given.

The session fixture in conftest.py starts one shared server with fixed admin keys;
the tests of first contact (the README's commands, the demo workspace) need servers
of their own whose first start generates the keys and writes the credentials and
config files, as ``make run`` does.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from pg import free_port

# The caller's AWS environment must not leak into a newcomer's shell.
_AWS_VARIABLES = (
    "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
    "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_SAGEMAKER", "CHARTER_ROOT_ACCESS_KEY_ID", "CHARTER_ROOT_SECRET_ACCESS_KEY",
)


@dataclass
class Started:
    process: subprocess.Popen
    endpoint: str
    home: Path
    env: dict
    log_path: Path

    @property
    def output(self) -> str:
        return self.log_path.read_text()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def clean_env(**extra: str) -> dict:
    """os.environ without the AWS and bootstrap-key variables, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k not in _AWS_VARIABLES}
    env.update(extra)
    return env


def start(home: Path, database_url: str, *args: str, env: dict | None = None, timeout: float = 120) -> Started:
    """``charter server ARGS`` with CHARTER_HOME=home on a free port; waits until /health answers."""
    port = free_port()
    env = {**(env or clean_env()), "CHARTER_HOME": str(home), "CHARTER_DATABASE_URL": database_url,
           "CHARTER_PORT": str(port), "COLUMNS": "300"}
    home.mkdir(parents=True, exist_ok=True)
    log_path = home.parent / f"{home.name}-server-{port}.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "charter.cli.main", "server", "--log-level", "warning", *args],
            env=env, stdout=log, stderr=subprocess.STDOUT, cwd=home.parent,
        )
    endpoint = f"http://127.0.0.1:{port}"
    started = Started(process, endpoint, home, env, log_path)
    try:
        wait_until_healthy(process, endpoint, log_path, timeout)
    except RuntimeError:
        started.stop()
        raise
    return started


def wait_until_healthy(process: subprocess.Popen, endpoint: str, log_path: Path, timeout: float) -> None:
    """Returns once ``endpoint``/health answers 200; raises with the server's log if it exits or times out."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"charter server exited with {process.returncode}:\n{log_path.read_text()}")
        try:
            with urllib.request.urlopen(f"{endpoint}/health", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"charter server did not answer within {timeout:.0f} s:\n{log_path.read_text()}")
