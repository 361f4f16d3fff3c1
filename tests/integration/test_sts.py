"""STS against the real server: who am I, AssumeRole into a Charter role, and the session's calls."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from datetime import datetime, timezone

import boto3
import pytest
import sqlalchemy as sa
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

import aws_cli
from conftest import ADMIN_KEY, ADMIN_SECRET, REGION

ACCOUNT = "123456789012"
ADMIN_ARN = f"arn:aws:iam::{ACCOUNT}:user/admin"


def trust(*principals: str, external_id: str | None = None) -> str:
    statement = {"Effect": "Allow", "Principal": {"AWS": list(principals)}, "Action": "sts:AssumeRole"}
    if external_id:
        statement["Condition"] = {"StringEquals": {"sts:ExternalId": external_id}}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def allow(*actions: str, resource: str = "*") -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": resource}]})


def session_client(charter, service: str, credentials: dict, *, validate: bool = True):
    return boto3.client(
        service,
        endpoint_url=charter.endpoint,
        region_name=REGION,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials.get("SessionToken"),
        config=Config(parameter_validation=validate, retries={"max_attempts": 1, "mode": "standard"}),
    )


@pytest.fixture
def sts(charter):
    return charter.client(service="sts")


@pytest.fixture
def iam(charter):
    return charter.client(service="iam")


@pytest.fixture
def role(iam):
    """A role the admin may assume, allowed to list (not create) model package groups and to read roles."""
    name = f"ml-reader-{uuid.uuid4().hex[:6]}"
    created = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust(ADMIN_ARN), MaxSessionDuration=7200)["Role"]
    iam.put_role_policy(
        RoleName=name,
        PolicyName="read",
        PolicyDocument=allow("sagemaker:ListModelPackageGroups", "iam:GetRole", "sts:AssumeRole"),
    )
    return created


def test_get_caller_identity_names_the_signing_user(sts):
    identity = sts.get_caller_identity()
    assert identity["Account"] == ACCOUNT
    assert identity["Arn"] == ADMIN_ARN
    assert identity["UserId"].startswith("AIDA") and len(identity["UserId"]) == 21


def test_get_caller_identity_needs_no_permission(charter, iam):
    name = f"nobody-{uuid.uuid4().hex[:6]}"
    iam.create_user(UserName=name)  # no policy at all
    keys = iam.create_access_key(UserName=name)["AccessKey"]
    identity = session_client(charter, "sts", keys).get_caller_identity()
    assert identity["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/{name}"


def test_assume_role_gives_temporary_credentials_that_act_as_the_role(charter, sts, role):
    before = datetime.now(timezone.utc)
    answer = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="nightly", DurationSeconds=1800)
    credentials = answer["Credentials"]
    assert credentials["AccessKeyId"].startswith("ASIA") and len(credentials["AccessKeyId"]) == 20
    assert credentials["SecretAccessKey"] and credentials["SessionToken"]
    lasts = (credentials["Expiration"] - before).total_seconds()
    assert 1790 <= lasts <= 1805
    session_arn = f"arn:aws:sts::{ACCOUNT}:assumed-role/{role['RoleName']}/nightly"
    assert answer["AssumedRoleUser"] == {"AssumedRoleId": f"{role['RoleId']}:nightly", "Arn": session_arn}

    identity = session_client(charter, "sts", credentials).get_caller_identity()
    assert identity == {**identity, "Arn": session_arn, "UserId": f"{role['RoleId']}:nightly", "Account": ACCOUNT}

    # The role's policies decide: it may list model package groups, not create them.
    sm = session_client(charter, "sagemaker", credentials)
    sm.list_model_package_groups()
    group = f"g-{uuid.uuid4().hex[:8]}"
    with pytest.raises(ClientError) as denied:
        sm.create_model_package_group(ModelPackageGroupName=group)
    assert denied.value.response["Error"]["Code"] == "AccessDeniedException"
    assert session_arn in denied.value.response["Error"]["Message"]

    # ... and the audit log names the session, not the role or the admin who assumed it.
    time.sleep(1.5)  # reads are audited in batches, durable within a second
    lines = charter.cli("audit", "tail", "--operation", "CreateModelPackageGroup", "--since", "5m", "--json",
                        "--limit", "500").stdout.splitlines()
    events = [json.loads(line) for line in lines if group in line]
    assert [(e["principal_arn"], e["outcome"], e["access_key_id"]) for e in events] == [
        (session_arn, "Denied", credentials["AccessKeyId"])
    ]
    lines = charter.cli("audit", "tail", "--operation", "AssumeRole", "--since", "5m", "--json",
                        "--limit", "500").stdout.splitlines()
    assumed = [json.loads(line) for line in lines if role["RoleName"] in line]
    assert assumed and assumed[-1]["principal_arn"] == ADMIN_ARN and assumed[-1]["outcome"] == "Success"


def test_the_execution_role_is_found_as_the_sdk_finds_it(charter, sts, role):
    """sagemaker.get_execution_role(): GetCallerIdentity, then GetRole on the assumed role's name."""
    credentials = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="notebook")["Credentials"]
    arn = session_client(charter, "sts", credentials).get_caller_identity()["Arn"]
    assert arn.startswith(f"arn:aws:sts::{ACCOUNT}:assumed-role/")
    role_name = arn.split("/")[1]
    found = session_client(charter, "iam", credentials).get_role(RoleName=role_name)["Role"]
    assert found["Arn"] == role["Arn"] == f"arn:aws:iam::{ACCOUNT}:role/{role['RoleName']}"


def test_a_role_the_trust_policy_does_not_name_cannot_be_assumed(charter, iam, role):
    name = f"outsider-{uuid.uuid4().hex[:6]}"
    iam.create_user(UserName=name)
    policy_arn = iam.create_policy(PolicyName=f"assume-{name}", PolicyDocument=allow("sts:AssumeRole"))["Policy"]["Arn"]
    iam.attach_user_policy(UserName=name, PolicyArn=policy_arn)  # its own policies allow sts:AssumeRole ...
    keys = iam.create_access_key(UserName=name)["AccessKey"]
    user_arn = f"arn:aws:iam::{ACCOUNT}:user/{name}"
    outsider = session_client(charter, "sts", keys)
    with pytest.raises(ClientError) as denied:
        outsider.assume_role(RoleArn=role["Arn"], RoleSessionName="sneaky")
    error = denied.value.response["Error"]
    assert (error["Code"], denied.value.response["ResponseMetadata"]["HTTPStatusCode"]) == ("AccessDenied", 403)
    assert error["Message"] == f"User: {user_arn} is not authorized to perform: sts:AssumeRole on resource: {role['Arn']}"
    # ... but the role's trust policy does not name it.  Once it does, the same call works.
    iam.update_assume_role_policy(RoleName=role["RoleName"], PolicyDocument=trust(ADMIN_ARN, user_arn))
    assert outsider.assume_role(RoleArn=role["Arn"], RoleSessionName="welcome")["Credentials"]["AccessKeyId"]


def test_a_caller_without_sts_assume_role_is_refused_even_when_trusted(charter, iam):
    name = f"auditor-{uuid.uuid4().hex[:6]}"
    keys = json.loads(charter.cli("iam", "create-user", name, "--persona", "auditor").stdout)
    role_name = f"trusting-{uuid.uuid4().hex[:6]}"
    role_arn = iam.create_role(
        RoleName=role_name, AssumeRolePolicyDocument=trust(f"arn:aws:iam::{ACCOUNT}:user/{name}")
    )["Role"]["Arn"]
    with pytest.raises(ClientError) as denied:
        charter.client(keys["AccessKeyId"], keys["SecretAccessKey"], service="sts").assume_role(
            RoleArn=role_arn, RoleSessionName="s1"
        )
    assert denied.value.response["Error"]["Code"] == "AccessDenied"
    assert "because no identity-based policy allows the sts:AssumeRole action" in denied.value.response["Error"]["Message"]


def test_a_role_that_does_not_exist_is_refused_like_one_not_trusted(sts):
    missing = f"arn:aws:iam::{ACCOUNT}:role/no-such-role-{uuid.uuid4().hex[:6]}"
    with pytest.raises(ClientError) as denied:
        sts.assume_role(RoleArn=missing, RoleSessionName="s1")
    assert denied.value.response["Error"]["Code"] == "AccessDenied"


def test_external_id_conditions_are_checked(charter, iam, sts):
    name = f"vendor-{uuid.uuid4().hex[:6]}"
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust(ADMIN_ARN, external_id="s3cret"))["Role"]["Arn"]
    with pytest.raises(ClientError) as denied:
        sts.assume_role(RoleArn=arn, RoleSessionName="s1")
    assert denied.value.response["Error"]["Code"] == "AccessDenied"
    with pytest.raises(ClientError):
        sts.assume_role(RoleArn=arn, RoleSessionName="s1", ExternalId="wrong-one")
    assert sts.assume_role(RoleArn=arn, RoleSessionName="s1", ExternalId="s3cret")["Credentials"]


def test_session_lengths_are_bounded(charter, sts, iam, role):
    with pytest.raises(ClientError) as too_long:
        sts.assume_role(RoleArn=role["Arn"], RoleSessionName="s1", DurationSeconds=7201)
    assert too_long.value.response["Error"]["Code"] == "ValidationError"
    assert "MaxSessionDuration" in too_long.value.response["Error"]["Message"]
    loose = charter.client(service="sts", validate=False)
    with pytest.raises(ClientError) as too_short:
        loose.assume_role(RoleArn=role["Arn"], RoleSessionName="s1", DurationSeconds=60)
    assert too_short.value.response["Error"]["Code"] == "ValidationError"
    assert "durationSeconds" in too_short.value.response["Error"]["Message"]
    # A session assuming a role again ("role chaining") gets an hour at most, where the trust policy lets it.
    first = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="first")["Credentials"]
    chained = session_client(charter, "sts", first)
    with pytest.raises(ClientError) as untrusted:
        chained.assume_role(RoleArn=role["Arn"], RoleSessionName="second")
    assert untrusted.value.response["Error"]["Code"] == "AccessDenied"
    iam.update_assume_role_policy(RoleName=role["RoleName"], PolicyDocument=trust(ADMIN_ARN, role["Arn"]))
    with pytest.raises(ClientError) as chained_long:
        chained.assume_role(RoleArn=role["Arn"], RoleSessionName="second", DurationSeconds=3601)
    assert "role chaining" in chained_long.value.response["Error"]["Message"]
    again = chained.assume_role(RoleArn=role["Arn"], RoleSessionName="second", DurationSeconds=3600)
    assert again["AssumedRoleUser"]["Arn"].endswith(f"assumed-role/{role['RoleName']}/second")


def test_session_policies_are_refused_clearly(sts, role):
    with pytest.raises(ClientError) as refused:
        sts.assume_role(RoleArn=role["Arn"], RoleSessionName="s1", Policy=allow("sagemaker:List*"))
    assert refused.value.response["Error"]["Code"] == "ValidationError"
    assert "session policies" in refused.value.response["Error"]["Message"]


def test_a_session_key_is_good_only_with_its_own_token(charter, sts, role):
    credentials = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="tok")["Credentials"]
    for token in (None, credentials["SessionToken"][:-4] + "AAAA"):
        client = session_client(charter, "sts", {**credentials, "SessionToken": token})
        with pytest.raises(ClientError) as refused:
            client.get_caller_identity()
        assert refused.value.response["Error"]["Code"] == "InvalidClientTokenId"
        assert refused.value.response["Error"]["Message"] == "The security token included in the request is invalid."
    # a long-term key presented with a token is not recognised either
    with pytest.raises(ClientError) as refused:
        session_client(charter, "sts", {"AccessKeyId": ADMIN_KEY, "SecretAccessKey": ADMIN_SECRET,
                                        "SessionToken": credentials["SessionToken"]}).get_caller_identity()
    assert refused.value.response["Error"]["Code"] == "InvalidClientTokenId"


def test_an_expired_session_is_refused_by_every_face(charter, sts, role):
    credentials = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="old")["Credentials"]
    engine = sa.create_engine(charter.env["CHARTER_DATABASE_URL"])
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE sts_sessions SET expires_at = :t WHERE access_key_id = :k"),
            {"t": time.time() - 1, "k": credentials["AccessKeyId"]},
        )
    engine.dispose()
    with pytest.raises(ClientError) as expired:
        session_client(charter, "sts", credentials).get_caller_identity()
    assert expired.value.response["Error"]["Code"] == "ExpiredToken"
    assert expired.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert expired.value.response["Error"]["Message"] == "The security token included in the request is expired"
    with pytest.raises(ClientError) as expired_json:
        session_client(charter, "sagemaker", credentials).list_model_package_groups()
    assert expired_json.value.response["Error"]["Code"] == "ExpiredTokenException"
    assert expired_json.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_operations_charter_does_not_answer_are_invalid_actions_naming_them(sts):
    with pytest.raises(ClientError) as missing:
        sts.get_session_token()
    assert missing.value.response["Error"]["Code"] == "InvalidAction"
    assert "GetSessionToken" in missing.value.response["Error"]["Message"]


def _signed_post(charter, body: str):
    request = AWSRequest(
        method="POST",
        url=charter.endpoint + "/",
        data=body.encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    SigV4Auth(Credentials(ADMIN_KEY, ADMIN_SECRET), "sts", REGION).add_auth(request)
    raw = urllib.request.Request(charter.endpoint + "/", data=body.encode(), method="POST", headers=dict(request.headers))
    try:
        with urllib.request.urlopen(raw, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_unknown_and_missing_actions_answer_in_the_query_error_shape(charter):
    status, body = _signed_post(charter, "Action=MakeCoffee&Version=2011-06-15")
    assert status == 400
    assert "<Code>InvalidAction</Code>" in body and "MakeCoffee" in body and "<Type>Sender</Type>" in body
    assert body.startswith('<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">')
    status, body = _signed_post(charter, "Version=2011-06-15")
    assert status == 400 and "<Code>MissingAction</Code>" in body


def test_an_unsigned_query_request_is_refused(charter):
    raw = urllib.request.Request(
        charter.endpoint + "/",
        data=b"Action=GetCallerIdentity&Version=2011-06-15",
        method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded", "Authorization":
                 f"AWS4-HMAC-SHA256 Credential={ADMIN_KEY}/20260101/us-east-1/sts/aws4_request, "
                 "SignedHeaders=host, Signature=00"},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(raw, timeout=30)
    body = refused.value.read().decode()
    assert refused.value.code in (400, 403) and "<ErrorResponse" in body


def test_the_aws_cli_gets_the_caller_identity(charter):
    result = aws_cli.run(charter.endpoint, "sts", "get-caller-identity", "--output", "json")
    assert json.loads(result.stdout)["Arn"] == ADMIN_ARN


def test_the_sdks_get_execution_role_finds_the_assumed_role(charter, sts, iam, monkeypatch):
    """sagemaker.get_execution_role() itself, signed as an assumed-role session.

    The SDK builds its STS client with an explicit regional endpoint
    (``sagemaker.session.sts_regional_endpoint``), which ``AWS_ENDPOINT_URL``
    cannot redirect; the test points that one function at Charter.  Its IAM
    and SageMaker clients follow ``AWS_ENDPOINT_URL`` as they are.
    """
    sagemaker = pytest.importorskip("sagemaker")
    import sagemaker.session as sdk_session

    # A path: only GetRole knows it, so the answer shows the SDK asked IAM (its fallback guesses "/").
    name = f"ml-exec-{uuid.uuid4().hex[:6]}"  # (a name with AmazonSageMaker-ExecutionRole would be guessed)
    role = iam.create_role(RoleName=name, Path="/service-role/", AssumeRolePolicyDocument=trust(ADMIN_ARN))["Role"]
    iam.put_role_policy(RoleName=name, PolicyName="read-roles", PolicyDocument=allow("iam:GetRole"))
    credentials = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="sdk")["Credentials"]
    monkeypatch.setenv("AWS_ENDPOINT_URL", charter.endpoint)
    monkeypatch.setattr(sdk_session, "sts_regional_endpoint", lambda region: charter.endpoint)
    boto_session = boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=REGION,
    )
    session = sagemaker.Session(boto_session=boto_session)
    assert role["Arn"] == f"arn:aws:iam::{ACCOUNT}:role/service-role/{name}"
    assert sagemaker.get_execution_role(sagemaker_session=session) == role["Arn"]


def test_a_trust_condition_on_aws_principal_arn_sees_a_sessions_role(charter, sts, iam, role):
    """For a session, aws:PrincipalArn is the role's ARN (IAM User Guide, global condition keys)."""
    name = f"chained-{uuid.uuid4().hex[:6]}"
    document = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole",
        "Condition": {"ArnEquals": {"aws:PrincipalArn": role["Arn"]}},
    }]})
    target = iam.create_role(RoleName=name, AssumeRolePolicyDocument=document)["Role"]
    session = session_client(charter, "sts", sts.assume_role(RoleArn=role["Arn"], RoleSessionName="hop")["Credentials"])
    hopped = session.assume_role(RoleArn=target["Arn"], RoleSessionName="hop2")
    assert hopped["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/{name}/hop2"
    with pytest.raises(ClientError) as denied:  # the admin user is in the account but is not that role
        sts.assume_role(RoleArn=target["Arn"], RoleSessionName="direct")
    assert denied.value.response["Error"]["Code"] == "AccessDenied"


def test_a_sessions_own_policies_see_its_role_as_aws_principal_arn(charter, sts, iam):
    name = f"cond-{uuid.uuid4().hex[:6]}"
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust(ADMIN_ARN))["Role"]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName="only-as-role", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "sagemaker:ListModelPackageGroups", "Resource": "*",
            "Condition": {"ArnEquals": {"aws:PrincipalArn": arn}},
        }]}))
    sm = session_client(charter, "sagemaker", sts.assume_role(RoleArn=arn, RoleSessionName="c1")["Credentials"])
    assert "ModelPackageGroupSummaryList" in sm.list_model_package_groups()
