"""Authentication and authorization at the wire, with boto3 and raw HTTP."""

from __future__ import annotations

import datetime as dt
import json
import urllib.error
import urllib.request
import uuid

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from conftest import ADMIN_KEY, ADMIN_SECRET


def post(charter, target: str, body: dict, headers: dict | None = None):
    request = urllib.request.Request(
        charter.endpoint + "/",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target, **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def signed_headers(charter, target: str, body: dict, *, when: dt.datetime, key=ADMIN_KEY, secret=ADMIN_SECRET) -> dict:
    """Sign as botocore would, but at the given time."""
    payload = json.dumps(body).encode()
    amz_date = when.strftime("%Y%m%dT%H%M%SZ")
    request = AWSRequest(
        method="POST",
        url=charter.endpoint + "/",
        data=payload,
        headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": target,
            "X-Amz-Date": amz_date,
            "Host": charter.endpoint.removeprefix("http://"),
        },
    )
    request.context["timestamp"] = amz_date
    signer = SigV4Auth(Credentials(key, secret), "sagemaker", "us-east-1")
    signature = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
    headers = dict(request.headers.items())
    headers["Authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={key}/{amz_date[:8]}/us-east-1/sagemaker/aws4_request, "
        f"SignedHeaders={signer.signed_headers(signer.headers_to_sign(request))}, Signature={signature}"
    )
    return headers


def test_unsigned_request_is_refused(charter):
    status, body = post(charter, "SageMaker.ListModelPackageGroups", {})
    assert status == 403
    assert body["__type"] == "MissingAuthenticationTokenException"
    assert body["message"] == "Missing Authentication Token"


def test_wrong_secret(charter):
    client = charter.client(ADMIN_KEY, "not-the-secret")
    with pytest.raises(ClientError) as caught:
        client.list_model_package_groups()
    assert caught.value.response["Error"]["Code"] == "InvalidSignatureException"
    assert "signature we calculated does not match" in caught.value.response["Error"]["Message"]


def test_unknown_access_key(charter):
    client = charter.client("AKIANOBODYKNOWSTHIS1", "whatever")
    with pytest.raises(ClientError) as caught:
        client.list_model_package_groups()
    assert caught.value.response["Error"]["Code"] == "UnrecognizedClientException"


def test_expired_and_future_signatures(charter):
    body = {}
    old = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=20)
    status, answer = post(charter, "SageMaker.ListModelPackageGroups", body,
                          signed_headers(charter, "SageMaker.ListModelPackageGroups", body, when=old))
    assert status == 400
    assert answer["__type"] == "InvalidSignatureException"
    assert answer["message"].startswith("Signature expired")

    future = dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=20)
    status, answer = post(charter, "SageMaker.ListModelPackageGroups", body,
                          signed_headers(charter, "SageMaker.ListModelPackageGroups", body, when=future))
    assert answer["__type"] == "InvalidSignatureException"
    assert answer["message"].startswith("Signature not yet current")

    # Within the 15 minutes of allowed skew the same request is fine.
    recent = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=10)
    status, answer = post(charter, "SageMaker.ListModelPackageGroups", body,
                          signed_headers(charter, "SageMaker.ListModelPackageGroups", body, when=recent))
    assert status == 200, answer


def test_tampered_body(charter):
    body = {"MaxResults": 5}
    headers = signed_headers(charter, "SageMaker.ListModelPackageGroups", body, when=dt.datetime.now(dt.timezone.utc))
    status, answer = post(charter, "SageMaker.ListModelPackageGroups", {"MaxResults": 6}, headers)
    assert answer["__type"] == "InvalidSignatureException"


def test_unknown_operation(charter):
    body = {}
    target = "SageMaker.MakeCoffee"
    status, answer = post(charter, target, body, signed_headers(charter, target, body, when=dt.datetime.now(dt.timezone.utc)))
    assert status == 400
    assert answer["__type"] == "UnknownOperationException"


def test_malformed_json_body(charter):
    target = "SageMaker.ListModelPackageGroups"
    now = dt.datetime.now(dt.timezone.utc)
    headers = signed_headers(charter, target, {}, when=now)
    # Re-sign a non-JSON body by signing the raw bytes.
    request = urllib.request.Request(charter.endpoint + "/", data=b"{not json", method="POST", headers=headers)
    try:
        urllib.request.urlopen(request, timeout=30)
        raise AssertionError("accepted")
    except urllib.error.HTTPError as error:
        answer = json.loads(error.read())
    # The signature covers the body, so the server rejects the signature first.
    assert answer["__type"] in ("InvalidSignatureException", "SerializationException")


def test_auditor_reads_but_cannot_write(charter, sm):
    name = f"audited-{uuid.uuid4().hex[:8]}"
    sm.create_model_package_group(ModelPackageGroupName=name)
    auditor = charter.create_user(f"auditor-{uuid.uuid4().hex[:6]}", "auditor")

    assert auditor.describe_model_package_group(ModelPackageGroupName=name)["ModelPackageGroupName"] == name
    assert "ModelPackageGroupSummaryList" in auditor.list_model_package_groups()

    with pytest.raises(ClientError) as caught:
        auditor.create_model_package_group(ModelPackageGroupName=f"{name}-x")
    error = caught.value.response["Error"]
    assert error["Code"] == "AccessDeniedException"
    assert "is not authorized to perform: sagemaker:CreateModelPackageGroup" in error["Message"]
    assert f"model-package-group/{name}-x" in error["Message"]

    with pytest.raises(ClientError) as caught:
        auditor.delete_model_package_group(ModelPackageGroupName=name)
    assert caught.value.response["Error"]["Code"] == "AccessDeniedException"
    # Denied means nothing changed.
    assert sm.describe_model_package_group(ModelPackageGroupName=name)["ModelPackageGroupName"] == name


def test_data_scientist_manages_groups(charter):
    scientist = charter.create_user(f"ds-{uuid.uuid4().hex[:6]}", "data-scientist")
    name = f"ds-group-{uuid.uuid4().hex[:8]}"
    arn = scientist.create_model_package_group(ModelPackageGroupName=name)["ModelPackageGroupArn"]
    scientist.add_tags(ResourceArn=arn, Tags=[{"Key": "team", "Value": "ds"}])
    assert scientist.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "ds"}]
    scientist.delete_model_package_group(ModelPackageGroupName=name)


def test_labeler_cannot_touch_the_registry(charter):
    labeler = charter.create_user(f"lab-{uuid.uuid4().hex[:6]}", "labeler")
    with pytest.raises(ClientError) as caught:
        labeler.create_model_package_group(ModelPackageGroupName=f"lab-{uuid.uuid4().hex[:8]}")
    assert caught.value.response["Error"]["Code"] == "AccessDeniedException"


def test_tag_conditions_and_policy_variables(charter, sm, tmp_path):
    """A policy that lets a user create and delete only groups tagged with its own name."""
    user = f"owner-{uuid.uuid4().hex[:6]}"
    client = charter.create_user(user, "auditor")
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "CreateOwnGroups",
                "Effect": "Allow",
                "Action": ["sagemaker:CreateModelPackageGroup", "sagemaker:AddTags"],
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:RequestTag/owner": "${aws:username}"}},
            },
            {
                "Sid": "DeleteOwnGroups",
                "Effect": "Allow",
                "Action": "sagemaker:DeleteModelPackageGroup",
                "Resource": "arn:aws:sagemaker:*:*:model-package-group/*",
                "Condition": {"StringEquals": {"sagemaker:ResourceTag/owner": "${aws:username}"}},
            },
        ],
    }
    path = tmp_path / "own-groups.json"
    path.write_text(json.dumps(policy))
    charter.cli("iam", "attach-policy", user, str(path))

    mine = f"mine-{uuid.uuid4().hex[:8]}"
    client.create_model_package_group(ModelPackageGroupName=mine, Tags=[{"Key": "owner", "Value": user}])
    with pytest.raises(ClientError) as caught:
        client.create_model_package_group(ModelPackageGroupName=f"{mine}-2", Tags=[{"Key": "owner", "Value": "someone"}])
    assert caught.value.response["Error"]["Code"] == "AccessDeniedException"
    with pytest.raises(ClientError):
        client.create_model_package_group(ModelPackageGroupName=f"{mine}-3")

    theirs = f"theirs-{uuid.uuid4().hex[:8]}"
    sm.create_model_package_group(ModelPackageGroupName=theirs, Tags=[{"Key": "owner", "Value": "admin"}])
    with pytest.raises(ClientError) as caught:
        client.delete_model_package_group(ModelPackageGroupName=theirs)
    assert caught.value.response["Error"]["Code"] == "AccessDeniedException"
    client.delete_model_package_group(ModelPackageGroupName=mine)


def test_explicit_deny_wins(charter, tmp_path):
    user = f"denied-{uuid.uuid4().hex[:6]}"
    client = charter.create_user(user, "data-scientist")
    path = tmp_path / "no-deletes.json"
    path.write_text(json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Deny", "Action": "sagemaker:Delete*", "Resource": "*"}],
    }))
    charter.cli("iam", "attach-policy", user, str(path))
    name = f"kept-{uuid.uuid4().hex[:8]}"
    client.create_model_package_group(ModelPackageGroupName=name)
    with pytest.raises(ClientError) as caught:
        client.delete_model_package_group(ModelPackageGroupName=name)
    assert "explicit deny" in caught.value.response["Error"]["Message"]


def test_deleted_user_is_locked_out_at_once(charter):
    user = f"leaver-{uuid.uuid4().hex[:6]}"
    client = charter.create_user(user, "data-scientist")
    client.list_model_package_groups()
    charter.cli("iam", "delete-user", user)
    with pytest.raises(ClientError) as caught:
        client.list_model_package_groups()
    assert caught.value.response["Error"]["Code"] == "UnrecognizedClientException"
