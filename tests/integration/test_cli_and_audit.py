"""The ``charter`` CLI for identities, and the audit log of every call."""

from __future__ import annotations

import json
import uuid

import pytest
from botocore.exceptions import ClientError


def test_create_user_prints_keys_and_explain_shows_the_persona(charter):
    name = f"mlops-{uuid.uuid4().hex[:6]}"
    result = charter.cli("iam", "create-user", name, "--persona", "mlops-engineer", "--activity", "artifact-access",
                         "--bucket", "models-bucket")
    keys = json.loads(result.stdout)
    assert keys["AccessKeyId"].startswith("AKIA") and len(keys["AccessKeyId"]) == 20
    assert len(keys["SecretAccessKey"]) >= 30

    explained = json.loads(charter.cli("iam", "explain", name).stdout)
    assert explained["Persona"] == "mlops-engineer"
    assert explained["Principal"] == f"arn:aws:iam::123456789012:user/{name}"
    statements = explained["EffectivePolicy"]["Statement"]
    resources = json.dumps(statements)
    assert "arn:aws:s3:::models-bucket" in resources
    assert any("sagemaker:CreateModelPackageGroup" in json.dumps(s.get("Action")) or s.get("Action") == "sagemaker:*"
               or "sagemaker:CreateModelPackage" in json.dumps(s.get("Action")) for s in statements)

    listing = charter.cli("iam", "list-users").stdout
    assert name in listing and "mlops-engineer" in listing


def test_unknown_persona_is_a_clear_error(charter):
    result = charter.cli("iam", "create-user", f"x-{uuid.uuid4().hex[:6]}", "--persona", "wizard", check=False)
    assert result.returncode != 0
    assert "wizard" in result.stderr and "data-scientist" in result.stderr


def test_duplicate_user(charter):
    name = f"twin-{uuid.uuid4().hex[:6]}"
    charter.cli("iam", "create-user", name, "--persona", "auditor")
    result = charter.cli("iam", "create-user", name, "--persona", "auditor", check=False)
    assert result.returncode != 0 and "already exists" in result.stderr


def test_second_access_key_works(charter):
    name = f"keys-{uuid.uuid4().hex[:6]}"
    charter.cli("iam", "create-user", name, "--persona", "auditor")
    keys = json.loads(charter.cli("iam", "create-access-key", name).stdout)
    client = charter.client(keys["AccessKeyId"], keys["SecretAccessKey"])
    assert "ModelPackageGroupSummaryList" in client.list_model_package_groups()


def test_bad_policy_file_is_refused(charter, tmp_path):
    name = f"pol-{uuid.uuid4().hex[:6]}"
    charter.cli("iam", "create-user", name, "--persona", "auditor")
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Perhaps", "Action": "*", "Resource": "*"}]}))
    result = charter.cli("iam", "attach-policy", name, str(path), check=False)
    assert result.returncode != 0
    assert "Effect" in result.stderr


def test_every_call_is_audited(charter):
    name = f"watched-{uuid.uuid4().hex[:6]}"
    client = charter.create_user(name, "auditor")
    client.list_model_package_groups()
    with pytest.raises(ClientError):
        client.create_model_package_group(ModelPackageGroupName=f"g-{uuid.uuid4().hex[:8]}")
    with pytest.raises(ClientError):
        client.describe_model_package_group(ModelPackageGroupName="does-not-exist-anywhere")

    lines = charter.cli("audit", "tail", "--user", name, "--since", "10m", "--json").stdout.splitlines()
    events = [json.loads(line) for line in lines]
    assert [e["operation"] for e in events] == [
        "ListModelPackageGroups",
        "CreateModelPackageGroup",
        "DescribeModelPackageGroup",
    ]
    assert [e["outcome"] for e in events] == ["Success", "Denied", "Failed"]
    denied = events[1]
    assert denied["error_code"] == "AccessDeniedException"
    assert denied["principal_arn"] == f"arn:aws:iam::123456789012:user/{name}"
    assert denied["resource_arn"].startswith("arn:aws:sagemaker:us-east-1:123456789012:model-package-group/g-")
    assert denied["source_ip"] == "127.0.0.1"
    assert events[2]["error_code"] == "ValidationException"

    table = charter.cli("audit", "tail", "--user", name).stdout
    assert "Denied" in table and "ListModelPackageGroups" in table


def test_unauthenticated_calls_are_audited_too(charter):
    charter.client("AKIAUNKNOWNKEY000000", "x").meta  # noqa: B018 - client creation only
    with pytest.raises(ClientError):
        charter.client("AKIAUNKNOWNKEY000000", "x").list_model_package_groups()
    lines = charter.cli("audit", "tail", "--operation", "ListModelPackageGroups", "--since", "5m", "--json",
                        "--limit", "500").stdout.splitlines()
    events = [json.loads(line) for line in lines]
    assert any(e["error_code"] == "UnrecognizedClientException" and e["user_name"] is None for e in events)


def test_audit_since_must_be_a_time(charter):
    result = charter.cli("audit", "tail", "--since", "yesterday-ish", check=False)
    assert result.returncode != 0
    assert "not a time" in result.stderr
