"""The gateway in-process: iam:PassRole and presigned requests, on the backend under test."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest
from botocore.auth import SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from charter.api.gateway import Gateway, WireRequest
from charter.iam import sigv4
from charter.instance import Instance
from charter.services import Operation
from charter.services.iam_admin import attach_policy_document, create_principal_with_persona, create_user

ENDPOINT = "http://127.0.0.1:8642"


@pytest.fixture(scope="module")
def gateway(tmp_path_factory, database_url_factory):
    home = tmp_path_factory.mktemp("inprocess")
    instance = Instance.from_env(home=str(home), database_url=database_url_factory())
    gateway = Gateway(instance)

    # Stand-in for a handler that takes a role (CreateModel names ExecutionRoleArn);
    # what is tested is the gateway's iam:PassRole check, not model creation.
    def create_model(call, params):
        return {"ModelArn": call.arn("model", params["ModelName"])}

    gateway.handlers["CreateModel"] = Operation(
        "CreateModel", create_model, lambda region, account, p: f"arn:aws:sagemaker:{region}:{account}:model/{p['ModelName'].lower()}", True
    )
    yield gateway
    instance.close()


def call(gateway, key, target: str, body: dict) -> tuple[int, dict]:
    payload = json.dumps(body).encode()
    headers = {"content-type": "application/x-amz-json-1.1", "x-amz-target": target, "host": "127.0.0.1:8642"}
    headers.update({k.lower(): v for k, v in sigv4.sign_request(
        "POST", ENDPOINT + "/", headers, payload, key.access_key_id, key.secret_access_key, "us-east-1").items()})
    answer = gateway.handle(WireRequest("POST", "/", "", headers, payload, "127.0.0.1"))
    return answer.status, json.loads(answer.body)


def new_user(gateway, name: str, persona: str, policy: dict | None = None):
    instance = gateway.instance
    with instance.transaction() as conn:
        user, key = create_user(conn, instance.keyring, account="123456789012", name=name, persona=persona)
        if policy:
            attach_policy_document(conn, user, f"{name}-extra", policy)
    return key


def test_passing_a_role_needs_iam_passrole(gateway):
    instance = gateway.instance
    with instance.transaction() as conn:
        create_principal_with_persona(conn, account="123456789012", kind="role", name="TrainingRole", persona="compute")
    role = "arn:aws:iam::123456789012:role/TrainingRole"
    request = {"ModelName": "m1", "ExecutionRoleArn": role, "PrimaryContainer": {"Image": "x"}}

    # A data scientist may pass the account's roles to SageMaker.
    scientist = new_user(gateway, "scientist", "data-scientist")
    status, body = call(gateway, scientist, "SageMaker.CreateModel", request)
    assert status == 200, body
    assert body["ModelArn"].endswith(":model/m1")

    # May create models, but was never given iam:PassRole.
    creator = new_user(gateway, "creator", "auditor", {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "sagemaker:CreateModel", "Resource": "*"}],
    })
    status, body = call(gateway, creator, "SageMaker.CreateModel", request)
    assert status == 400
    assert body["__type"] == "AccessDeniedException"
    assert f"iam:PassRole on resource: {role}" in body["message"]

    # PassRole granted only for another role.
    narrow = new_user(gateway, "narrow", "auditor", {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "sagemaker:CreateModel", "Resource": "*"},
            {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "arn:aws:iam::123456789012:role/Other"},
        ],
    })
    assert call(gateway, narrow, "SageMaker.CreateModel", request)[1]["__type"] == "AccessDeniedException"


def test_presigned_request(gateway):
    key = new_user(gateway, "presigner", "auditor")
    request = AWSRequest(method="POST", url=ENDPOINT + "/",
                         headers={"X-Amz-Target": "SageMaker.ListModelPackageGroups", "Host": "127.0.0.1:8642"})
    SigV4QueryAuth(Credentials(key.access_key_id, key.secret_access_key), "sagemaker", "us-east-1", expires=300).add_auth(request)
    url = urlsplit(request.url)
    headers = {k.lower(): v for k, v in request.headers.items()}
    payload = request.body or b""  # an empty body is an operation with no arguments
    answer = gateway.handle(WireRequest("POST", url.path, url.query, headers, payload, "127.0.0.1"))
    assert answer.status == 200, answer.body
    assert "ModelPackageGroupSummaryList" in json.loads(answer.body)

    tampered = url.query.replace("X-Amz-Expires=300", "X-Amz-Expires=301")
    answer = gateway.handle(WireRequest("POST", url.path, tampered, headers, payload, "127.0.0.1"))
    assert json.loads(answer.body)["__type"] == "InvalidSignatureException"
