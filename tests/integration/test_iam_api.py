"""IAM's API over Charter's identities, with boto3's iam client and the AWS CLI."""

from __future__ import annotations

import json
import uuid

import boto3
import pytest
import sqlalchemy as sa
from botocore.config import Config
from botocore.exceptions import ClientError

from charter.iam.passwords import verify_password
import aws_cli
from conftest import ADMIN_KEY, ADMIN_SECRET, REGION

ACCOUNT = "123456789012"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}
READ = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sagemaker:List*", "Resource": "*"}]}


@pytest.fixture
def iam(charter):
    return charter.client(service="iam")


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def error_of(raised) -> tuple[str, int]:
    return raised.value.response["Error"]["Code"], raised.value.response["ResponseMetadata"]["HTTPStatusCode"]


def test_create_role_keeps_what_it_was_given(iam):
    name = unique("exec")
    created = iam.create_role(
        RoleName=name,
        Path="/service-role/",
        AssumeRolePolicyDocument=json.dumps(TRUST),
        Description="runs training jobs",
        MaxSessionDuration=7200,
        Tags=[{"Key": "team", "Value": "ml"}],
    )["Role"]
    assert created["Arn"] == f"arn:aws:iam::{ACCOUNT}:role/service-role/{name}"
    assert created["RoleId"].startswith("AROA") and created["Path"] == "/service-role/"
    assert created["AssumeRolePolicyDocument"] == TRUST  # answered URL-encoded; botocore decodes it
    role = iam.get_role(RoleName=name)["Role"]
    assert {k: role[k] for k in ("Arn", "RoleId", "Description", "MaxSessionDuration", "Tags")} == {
        "Arn": created["Arn"],
        "RoleId": created["RoleId"],
        "Description": "runs training jobs",
        "MaxSessionDuration": 7200,
        "Tags": [{"Key": "team", "Value": "ml"}],
    }
    assert role["AssumeRolePolicyDocument"] == TRUST and role["CreateDate"].tzinfo is not None


def test_the_trust_policy_is_sent_url_encoded_as_iam_does(charter, iam):
    name = unique("raw")
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST))
    client = charter.client(service="iam")
    seen = {}
    client.meta.events.register("before-parse.iam.GetRole", lambda response_dict, **kw: seen.update(body=response_dict["body"]))
    client.get_role(RoleName=name)
    body = seen["body"].decode()
    assert "<AssumeRolePolicyDocument>%7B%22Version%22%3A" in body
    assert body.startswith('<GetRoleResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">')


def test_role_names_are_unique_and_documents_checked(iam):
    name = unique("dup")
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST))
    with pytest.raises(ClientError) as duplicate:
        iam.create_role(RoleName=name, Path="/other/", AssumeRolePolicyDocument=json.dumps(TRUST))
    assert error_of(duplicate) == ("EntityAlreadyExists", 409)
    with pytest.raises(ClientError) as malformed:
        iam.create_role(RoleName=unique("bad"), AssumeRolePolicyDocument="{not json")
    assert error_of(malformed) == ("MalformedPolicyDocument", 400)
    with pytest.raises(ClientError) as no_principal:
        iam.create_role(RoleName=unique("bad"), AssumeRolePolicyDocument=json.dumps(READ))
    assert error_of(no_principal) == ("MalformedPolicyDocument", 400)
    with pytest.raises(ClientError) as missing:
        iam.get_role(RoleName=unique("ghost"))
    assert error_of(missing) == ("NoSuchEntity", 404)
    assert "cannot be found" in missing.value.response["Error"]["Message"]


def test_list_roles_pages_with_marker_and_filters_by_path(iam):
    path = f"/{unique('p')}/"
    names = sorted(unique(f"r{i}") for i in range(5))
    for name in names:
        iam.create_role(RoleName=name, Path=path, AssumeRolePolicyDocument=json.dumps(TRUST))
    first = iam.list_roles(PathPrefix=path, MaxItems=2)
    assert [r["RoleName"] for r in first["Roles"]] == names[:2]
    assert first["IsTruncated"] is True and first["Marker"]
    rest = iam.list_roles(PathPrefix=path, MaxItems=2, Marker=first["Marker"])
    assert [r["RoleName"] for r in rest["Roles"]] == names[2:4]
    last = iam.list_roles(PathPrefix=path, MaxItems=2, Marker=rest["Marker"])
    assert [r["RoleName"] for r in last["Roles"]] == names[4:] and last["IsTruncated"] is False
    assert "Marker" not in last
    paged = [r["RoleName"] for page in iam.get_paginator("list_roles").paginate(PathPrefix=path, PaginationConfig={"PageSize": 2})
             for r in page["Roles"]]
    assert paged == names
    with pytest.raises(ClientError) as bad:
        iam.list_roles(Marker="made-up")
    assert error_of(bad) == ("ValidationError", 400)
    loose = boto3.client("iam", endpoint_url=iam.meta.endpoint_url, region_name=REGION, aws_access_key_id=ADMIN_KEY,
                         aws_secret_access_key=ADMIN_SECRET, config=Config(parameter_validation=False))
    with pytest.raises(ClientError) as zero:
        loose.list_roles(MaxItems=0)
    assert error_of(zero) == ("ValidationError", 400)
    assert "maxItems" in zero.value.response["Error"]["Message"]


def test_policies_of_a_role_and_delete_conflict(iam):
    name = unique("pol")
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST))
    managed = iam.create_policy(PolicyName=unique("reader"), PolicyDocument=json.dumps(READ))["Policy"]
    iam.attach_role_policy(RoleName=name, PolicyArn=managed["Arn"])
    iam.put_role_policy(RoleName=name, PolicyName="inline-read", PolicyDocument=json.dumps(READ))

    attached = iam.list_attached_role_policies(RoleName=name)
    assert attached["AttachedPolicies"] == [{"PolicyName": managed["PolicyName"], "PolicyArn": managed["Arn"]}]
    assert iam.list_role_policies(RoleName=name)["PolicyNames"] == ["inline-read"]
    assert iam.get_role_policy(RoleName=name, PolicyName="inline-read")["PolicyDocument"] == READ
    with pytest.raises(ClientError) as no_inline:
        iam.get_role_policy(RoleName=name, PolicyName="nope")
    assert error_of(no_inline) == ("NoSuchEntity", 404)
    assert iam.get_policy(PolicyArn=managed["Arn"])["Policy"]["AttachmentCount"] == 1

    with pytest.raises(ClientError) as conflict:
        iam.delete_role(RoleName=name)
    assert error_of(conflict) == ("DeleteConflict", 409)
    iam.detach_role_policy(RoleName=name, PolicyArn=managed["Arn"])
    with pytest.raises(ClientError):
        iam.delete_role(RoleName=name)  # the inline policy is still there
    iam.delete_role_policy(RoleName=name, PolicyName="inline-read")
    iam.delete_role(RoleName=name)
    with pytest.raises(ClientError) as gone:
        iam.get_role(RoleName=name)
    assert error_of(gone) == ("NoSuchEntity", 404)
    with pytest.raises(ClientError) as gone_delete:
        iam.delete_role(RoleName=name)
    assert error_of(gone_delete) == ("NoSuchEntity", 404)


def test_bad_policies_are_refused(iam):
    name = unique("strict")
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST))
    with pytest.raises(ClientError) as unknown:
        iam.attach_role_policy(RoleName=name, PolicyArn=f"arn:aws:iam::{ACCOUNT}:policy/{unique('none')}")
    assert error_of(unknown) == ("NoSuchEntity", 404)
    with pytest.raises(ClientError) as malformed:
        iam.put_role_policy(RoleName=name, PolicyName="x", PolicyDocument=json.dumps({"Statement": [{"Effect": "Maybe"}]}))
    assert error_of(malformed) == ("MalformedPolicyDocument", 400)
    with pytest.raises(ClientError) as with_principal:
        iam.put_role_policy(RoleName=name, PolicyName="x", PolicyDocument=json.dumps(TRUST))
    assert error_of(with_principal) == ("MalformedPolicyDocument", 400)


def test_users_keys_and_the_caller(charter, iam):
    assert iam.get_user()["User"]["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/admin"
    name = unique("dev")
    user = iam.create_user(UserName=name, Tags=[{"Key": "team", "Value": "ml"}])["User"]
    assert user["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/{name}" and user["UserId"].startswith("AIDA")
    with pytest.raises(ClientError) as duplicate:
        iam.create_user(UserName=name)
    assert error_of(duplicate) == ("EntityAlreadyExists", 409)
    assert iam.get_user(UserName=name)["User"]["Tags"] == [{"Key": "team", "Value": "ml"}]
    names = [u["UserName"] for page in iam.get_paginator("list_users").paginate() for u in page["Users"]]
    assert name in names and "admin" in names and names == sorted(names)

    key = iam.create_access_key(UserName=name)["AccessKey"]
    assert key["AccessKeyId"].startswith("AKIA") and key["Status"] == "Active" and key["UserName"] == name
    own = charter.client(key["AccessKeyId"], key["SecretAccessKey"], service="iam")
    with pytest.raises(ClientError) as denied:  # the new user has no policy: even GetUser on itself is refused
        own.get_user()
    assert error_of(denied) == ("AccessDenied", 403)
    with pytest.raises(ClientError) as missing:
        iam.create_access_key(UserName=unique("ghost"))
    assert error_of(missing) == ("NoSuchEntity", 404)


def test_personas_show_as_managed_policies(charter, iam):
    name = unique("ds")
    charter.cli("iam", "create-user", name, "--persona", "auditor")
    attached = iam.list_attached_user_policies(UserName=name)["AttachedPolicies"]
    persona_arn = f"arn:aws:iam::{ACCOUNT}:policy/charter-persona-user-{name}"
    assert attached == [{"PolicyName": f"charter-persona-user-{name}", "PolicyArn": persona_arn}]
    policy = iam.get_policy(PolicyArn=persona_arn)["Policy"]
    assert policy["DefaultVersionId"] == "v1" and policy["AttachmentCount"] == 1 and policy["PolicyId"].startswith("ANPA")
    document = iam.get_policy_version(PolicyArn=persona_arn, VersionId="v1")["PolicyVersion"]["Document"]
    assert document["Version"] == "2012-10-17"
    assert any("sagemaker:List*" in json.dumps(s) for s in document["Statement"])
    with pytest.raises(ClientError) as no_version:
        iam.get_policy_version(PolicyArn=persona_arn, VersionId="v2")
    assert error_of(no_version) == ("NoSuchEntity", 404)

    # ... and the persona decides what its user may do on the IAM face too.
    auditor = charter.create_user(unique("aud"), "auditor")
    keys = auditor._request_signer._credentials
    with pytest.raises(ClientError) as denied:
        charter.client(keys.access_key, keys.secret_key, service="iam").create_role(
            RoleName=unique("nope"), AssumeRolePolicyDocument=json.dumps(TRUST)
        )
    assert error_of(denied) == ("AccessDenied", 403)
    assert "iam:CreateRole" in denied.value.response["Error"]["Message"]


def test_login_profiles_keep_only_a_hash(charter, iam):
    name = unique("console")
    iam.create_user(UserName=name)
    with pytest.raises(ClientError) as weak:
        iam.create_login_profile(UserName=name, Password="short")
    assert error_of(weak) == ("PasswordPolicyViolation", 400)
    profile = iam.create_login_profile(UserName=name, Password="Tr0ub4dor&3x", PasswordResetRequired=True)["LoginProfile"]
    assert profile["UserName"] == name and profile["PasswordResetRequired"] is True
    assert "Password" not in profile
    with pytest.raises(ClientError) as again:
        iam.create_login_profile(UserName=name, Password="An0ther-pass!")
    assert error_of(again) == ("EntityAlreadyExists", 409)
    engine = sa.create_engine(charter.env["CHARTER_DATABASE_URL"])
    with engine.connect() as conn:
        stored = conn.execute(
            sa.text("SELECT password_hash FROM login_profiles WHERE principal_arn = :p"),
            {"p": f"arn:aws:iam::{ACCOUNT}:user/{name}"},
        ).scalar_one()
    engine.dispose()
    assert "Tr0ub4dor" not in stored and stored.startswith("$argon2id$")
    assert verify_password("Tr0ub4dor&3x", stored) and not verify_password("tr0ub4dor&3x", stored)


def test_operations_charter_does_not_answer_are_invalid_actions(iam):
    with pytest.raises(ClientError) as missing:
        iam.list_groups()
    assert error_of(missing) == ("InvalidAction", 400)
    assert "ListGroups" in missing.value.response["Error"]["Message"]


def test_the_aws_cli_lists_roles(charter, iam):
    name = unique("cli")
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST))
    result = aws_cli.run(charter.endpoint, "iam", "list-roles", "--output", "json")
    roles = {role["RoleName"]: role for role in json.loads(result.stdout)["Roles"]}
    assert roles[name]["AssumeRolePolicyDocument"] == TRUST
