"""``charter registry``: the model registry from the command line, as the caller, through the API."""

from __future__ import annotations

import configparser
import json
import subprocess
import sys
import uuid

from typing import NamedTuple

import pytest
from typer.testing import CliRunner

from charter.cli.registry import app
from conftest import ADMIN_KEY, ADMIN_SECRET

INFERENCE = {"Containers": [{"Image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
                             "ModelDataUrl": "s3://models/churn/model.tar.gz"}]}


class Result(NamedTuple):
    returncode: int
    stdout: str
    stderr: str


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _environment(charter, key, secret, overrides) -> dict:
    """The standard AWS environment, pointing at the test server; a None value unsets a variable."""
    env = {
        "AWS_ENDPOINT_URL_SAGEMAKER": charter.endpoint,
        "AWS_DEFAULT_REGION": "us-east-1",
        # Keep the host's own AWS configuration out of the test.
        "AWS_CONFIG_FILE": str(charter.home / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(charter.home / "no-aws-credentials"),
        "AWS_PROFILE": None,
        "AWS_ENDPOINT_URL": None,
        "AWS_ACCESS_KEY_ID": key,
        "AWS_SECRET_ACCESS_KEY": secret if key else None,
        "AWS_SESSION_TOKEN": None,
    }
    env.update(overrides)
    return env


def registry(charter, *args: str, key: str | None = ADMIN_KEY, secret: str = ADMIN_SECRET, **overrides) -> Result:
    """``charter registry ARGS`` (the Typer app, in this process) with the given AWS environment."""
    result = CliRunner().invoke(app, list(args), env=_environment(charter, key, secret, overrides))
    return Result(result.exit_code, result.stdout, result.stderr)


def registry_process(charter, *args: str, key: str = ADMIN_KEY, secret: str = ADMIN_SECRET) -> Result:
    """``charter registry ARGS`` as its own process, exactly as a user runs it."""
    env = {k: v for k, v in charter.env.items() if not k.startswith("AWS_")}
    env.update({k: v for k, v in _environment(charter, key, secret, {}).items() if v is not None})
    done = subprocess.run([sys.executable, "-m", "charter.cli.main", "registry", *args],
                          env=env, capture_output=True, text=True, timeout=120)
    return Result(done.returncode, done.stdout, done.stderr)


def ok(result: Result) -> str:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def new_user(charter, persona: str) -> tuple[str, dict]:
    name = unique(persona.split("-")[0])
    return name, json.loads(charter.cli("iam", "create-user", name, "--persona", persona).stdout)


@pytest.fixture
def group(sm):
    name = unique("cli-churn")
    sm.create_model_package_group(ModelPackageGroupName=name, ModelPackageGroupDescription="CLI test group")
    for _ in range(3):
        sm.create_model_package(ModelPackageGroupName=name, InferenceSpecification=INFERENCE)
    return name


def test_groups_table_and_filter(charter, group):
    listing = ok(registry(charter, "groups", "--name-contains", group))
    assert group in listing and "CLI test group" in listing and "Completed" in listing
    assert group not in ok(registry(charter, "groups", "--name-contains", unique("nothing")))
    found = json.loads(ok(registry(charter, "groups", "--name-contains", group, "--json")))
    assert [g["ModelPackageGroupName"] for g in found] == [group]


def test_approve_reject_and_list_by_status(charter, sm, group):
    mlops, keys = new_user(charter, "mlops-engineer")
    shown = ok(registry_process(charter, "approve", group, "2", "--description", "AUC 0.91 on holdout",
                                key=keys["AccessKeyId"], secret=keys["SecretAccessKey"]))
    assert "Approved" in shown and mlops in shown and "AUC 0.91 on holdout" in shown

    arn = sm.describe_model_package(ModelPackageName=f"{group}/2")["ModelPackageArn"]
    described = sm.describe_model_package(ModelPackageName=arn)
    assert described["ModelApprovalStatus"] == "Approved"
    assert described["ApprovalDescription"] == "AUC 0.91 on holdout"
    assert described["LastModifiedBy"]["IamIdentity"]["Arn"].endswith(f":user/{mlops}")

    ok(registry(charter, "reject", group, "3", "--description", "bias on age", key=keys["AccessKeyId"],
                secret=keys["SecretAccessKey"]))
    approved = json.loads(ok(registry(charter, "packages", group, "--status", "Approved", "--json")))
    assert [p["ModelPackageVersion"] for p in approved] == [2]
    table = ok(registry(charter, "packages", group))
    for text in ("Approved", "Rejected", "PendingManualApproval", f"{group.lower()}/1"):
        assert text in table

    # The approval went through the API: audited under the approver's name.
    lines = charter.cli("audit", "tail", "--user", mlops, "--operation", "UpdateModelPackage", "--json").stdout.splitlines()
    assert [json.loads(line)["outcome"] for line in lines] == ["Success", "Success"]
    assert json.loads(lines[0])["resource_arn"] == arn


def test_errors_print_the_aws_message_and_exit_non_zero(charter, group):
    scientist, keys = new_user(charter, "data-scientist")
    refused = registry(charter, "approve", group, "1", key=keys["AccessKeyId"], secret=keys["SecretAccessKey"])
    assert refused.returncode != 0
    assert "AccessDeniedException" in refused.stderr
    assert f"user/{scientist} is not authorized to perform: sagemaker:UpdateModelPackage" in refused.stderr

    missing = registry(charter, "approve", unique("no-such-group"), "1")
    assert missing.returncode != 0 and "does not exist" in missing.stderr

    ok(registry(charter, "approve", group, "1"))
    # Approved -> Rejected is allowed; a version that does not exist is not.
    ok(registry(charter, "reject", group, "1", "--description", "rolled back"))
    absent = registry(charter, "reject", group, "99")
    assert absent.returncode != 0 and "does not exist" in absent.stderr

    bad_status = registry(charter, "packages", group, "--status", "Maybe")
    assert bad_status.returncode != 0 and "Approved, Rejected, PendingManualApproval" in bad_status.stderr

    unsigned = registry(charter, "groups", key="AKIANOBODYKNOWSTHIS1", secret="nope")
    assert unsigned.returncode != 0 and "UnrecognizedClientException" in unsigned.stderr


def test_default_profile_comes_from_charter_home(charter, group, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    parser = configparser.ConfigParser()
    parser["charter"] = {"aws_access_key_id": ADMIN_KEY, "aws_secret_access_key": ADMIN_SECRET}
    with open(home / "credentials", "w") as handle:
        parser.write(handle)
    listing = registry(charter, "packages", group, key=None, CHARTER_HOME=str(home), AWS_SHARED_CREDENTIALS_FILE=None)
    assert f"{group.lower()}/3" in ok(listing)

    # --endpoint-url wins over the environment.
    wrong = registry(charter, "groups", AWS_ENDPOINT_URL_SAGEMAKER="http://127.0.0.1:9")
    assert wrong.returncode != 0 and "Could not reach" in wrong.stderr
    ok(registry(charter, "groups", "--endpoint-url", charter.endpoint, AWS_ENDPOINT_URL_SAGEMAKER="http://127.0.0.1:9"))

    nobody = registry(charter, "groups", key=None, CHARTER_HOME=str(tmp_path / "empty"), AWS_SHARED_CREDENTIALS_FILE=None)
    assert nobody.returncode != 0 and "No AWS credentials" in nobody.stderr and "CHARTER_HOME" in nobody.stderr
