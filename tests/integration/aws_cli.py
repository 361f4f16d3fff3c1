"""The AWS CLI as the tests run it: the ``aws`` the test extras install beside the interpreter."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ADMIN_KEY, ADMIN_SECRET, REGION


def executable() -> str:
    beside = Path(sys.executable).parent / "aws"
    found = str(beside) if beside.exists() else shutil.which("aws")
    if found is None:
        pytest.skip("the AWS CLI is not installed (pip install -e '.[test]' installs awscli)")
    return found


def run(endpoint: str, *args: str, check: bool = True, env: dict | None = None, timeout: float = 180) -> subprocess.CompletedProcess:
    """``aws <args>`` against ``endpoint`` as the session's admin, none of the caller's AWS settings leaking in.

    ``env``, when given, is the whole environment (a test's own profile files); ``check``
    fails the test with the command's output when it exits non-zero.
    """
    if env is None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID=ADMIN_KEY, AWS_SECRET_ACCESS_KEY=ADMIN_SECRET,
                   AWS_DEFAULT_REGION=REGION, AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull)
    result = subprocess.run([executable(), *args], env=env, capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"aws {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result
