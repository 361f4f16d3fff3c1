"""``sagemaker.Session()`` with nothing but environment variables, as the README sets them.

The SDK asks STS for the account id through a client built with an explicit
regional endpoint, which ``AWS_ENDPOINT_URL`` cannot redirect; Charter writes
``CHARTER_HOME/sagemaker-config.yaml`` with the default bucket so the SDK never
asks.  The script runs in a process of its own whose HTTPS proxy leads nowhere,
so any call that tried to reach real AWS would fail at once instead of passing
unnoticed.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from conftest import ADMIN_KEY, ADMIN_SECRET, REGION

pytest.importorskip("sagemaker", reason="the SageMaker Python SDK is in the test extras: make install")

ACCOUNT = "123456789012"

SCRIPT = textwrap.dedent(
    """
    import json, pathlib, sys, tempfile
    import sagemaker

    session = sagemaker.Session()
    bucket = session.default_bucket()
    work = pathlib.Path(tempfile.mkdtemp())
    (work / "train.csv").write_text("label,x\\n1,0.5\\n0,0.25\\n")
    uri = session.upload_data(str(work / "train.csv"), key_prefix="sdk-session/data")
    back = work / "back"
    session.download_data(str(back), bucket, key_prefix="sdk-session/data")
    print(json.dumps({"bucket": bucket, "uri": uri, "body": (back / "train.csv").read_text()}))
    """
)


def _env(charter) -> dict:
    env = {key: value for key, value in charter.env.items() if not key.startswith(("AWS_", "CHARTER_"))}
    env.update(
        AWS_ENDPOINT_URL=charter.endpoint,
        AWS_ACCESS_KEY_ID=ADMIN_KEY,
        AWS_SECRET_ACCESS_KEY=ADMIN_SECRET,
        AWS_DEFAULT_REGION=REGION,
        SAGEMAKER_USER_CONFIG_OVERRIDE=str(charter.home / "sagemaker-config.yaml"),
        HTTPS_PROXY="http://127.0.0.1:9",  # real AWS is unreachable, and fails fast
        NO_PROXY="127.0.0.1,localhost",
    )
    return env


def test_the_server_writes_the_sdk_config(charter):
    import yaml

    config = yaml.safe_load((charter.home / "sagemaker-config.yaml").read_text())
    assert config["SageMaker"]["PythonSDK"]["Modules"]["Session"]["DefaultS3Bucket"] == f"sagemaker-{REGION}-{ACCOUNT}"


def test_default_bucket_upload_and_download_with_environment_only(charter):
    result = subprocess.run([sys.executable, "-c", SCRIPT], env=_env(charter), capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-4000:]
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer["bucket"] == f"sagemaker-{REGION}-{ACCOUNT}"
    assert answer["uri"] == f"s3://sagemaker-{REGION}-{ACCOUNT}/sdk-session/data/train.csv"
    assert answer["body"] == "label,x\n1,0.5\n0,0.25\n"
    s3 = charter.client(service="s3")
    assert s3.head_bucket(Bucket=answer["bucket"])["ResponseMetadata"]["HTTPStatusCode"] == 200
