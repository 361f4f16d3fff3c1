"""CreatedBy / LastModifiedBy as botocore documents UserContext, and the principals' unique ids.

UserContext's documentation: ``IamIdentity`` is "associated with model package
groups, model packages, project entities, hubs, and hub content only";
``UserProfileName`` names a Studio user profile.  Charter's callers are IAM
users, so a model package names its IAM identity, with the user's unique id
(``AIDA...``) as ``PrincipalId``, and a model card names nobody (``{}``).
"""

from __future__ import annotations

import json
import re
import uuid

import pytest
from alembic import command
from alembic.config import Config
from botocore.exceptions import ClientError
from sqlalchemy import insert, select

from charter.iam import identities
from charter.instance import Instance
from charter.store import db
from charter.store.schema import principals, resources

ACCOUNT = "123456789012"
REGION = "us-east-1"
USER_ID = re.compile(r"^AIDA[A-Z0-9]{17}$")
INFERENCE = {
    "Containers": [{"Image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"}],
    "SupportedContentTypes": ["text/csv"],
    "SupportedResponseMIMETypes": ["text/csv"],
}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def stored_principal(charter, name: str) -> identities.Principal | None:
    """The user as the server's database holds it (read beside the running server)."""
    instance = Instance.from_env(home=str(charter.home), database_url=charter.env["CHARTER_DATABASE_URL"])
    try:
        with instance.transaction(write=False) as conn:
            return identities.find_principal(conn, ACCOUNT, "user", name)
    finally:
        instance.close()


def identity_of(charter, name: str) -> dict:
    principal = stored_principal(charter, name)
    return {"IamIdentity": {"Arn": f"arn:aws:iam::{ACCOUNT}:user/{name}", "PrincipalId": principal.unique_id}}


def test_users_get_an_iam_unique_id_that_is_kept(charter):
    first, second = unique("ds"), unique("ds")
    charter.create_user(first, "data-scientist")
    charter.create_user(second, "data-scientist")
    a, b = stored_principal(charter, first), stored_principal(charter, second)
    assert USER_ID.match(a.unique_id) and USER_ID.match(b.unique_id)
    assert a.unique_id != b.unique_id
    assert stored_principal(charter, first).unique_id == a.unique_id

    # A user deleted and created again under the same name is another principal, with another id.
    charter.cli("iam", "delete-user", first)
    charter.create_user(first, "data-scientist")
    assert stored_principal(charter, first).unique_id not in (a.unique_id, "")


def test_registry_resources_name_the_iam_identity_by_its_unique_id(charter, sm):
    scientist_name, mlops_name = unique("ds"), unique("ops")
    scientist = charter.create_user(scientist_name, "data-scientist")
    mlops = charter.create_user(mlops_name, "mlops-engineer")
    scientist_identity, mlops_identity = identity_of(charter, scientist_name), identity_of(charter, mlops_name)

    group = unique("who")
    scientist.create_model_package_group(ModelPackageGroupName=group)
    assert sm.describe_model_package_group(ModelPackageGroupName=group)["CreatedBy"] == scientist_identity

    arn = scientist.create_model_package(ModelPackageGroupName=group, InferenceSpecification=INFERENCE)["ModelPackageArn"]
    described = sm.describe_model_package(ModelPackageName=arn)
    assert described["CreatedBy"] == scientist_identity
    assert described["LastModifiedBy"] == scientist_identity

    mlops.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")
    described = sm.describe_model_package(ModelPackageName=arn)
    assert described["CreatedBy"] == scientist_identity  # the creator stays
    assert described["LastModifiedBy"] == mlops_identity

    # Search sees the same document.
    found = sm.search(Resource="ModelPackage", SearchExpression={"Filters": [
        {"Name": "CreatedBy.IamIdentity.PrincipalId", "Operator": "Equals",
         "Value": scientist_identity["IamIdentity"]["PrincipalId"]}]})
    assert [r["ModelPackage"]["ModelPackageArn"] for r in found["Results"]] == [arn]


def test_a_model_card_names_no_one_for_an_iam_caller(charter, sm):
    scientist = charter.create_user(unique("ds"), "data-scientist")
    name = unique("card")
    scientist.create_model_card(ModelCardName=name, Content="{}", ModelCardStatus="Draft")
    sm.update_model_card(ModelCardName=name, ModelCardStatus="PendingReview")
    for version in (1, 2):
        described = sm.describe_model_card(ModelCardName=name, ModelCardVersion=version)
        assert described["CreatedBy"] == {} and described["LastModifiedBy"] == {}


def test_aws_userid_is_the_unique_id(charter, sm, tmp_path):
    name = unique("scoped")
    client = charter.create_user(name, "auditor")
    user_id = stored_principal(charter, name).unique_id
    path = tmp_path / "by-id.json"
    path.write_text(json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "sagemaker:CreateModelPackageGroup", "Resource": "*",
        "Condition": {"StringEquals": {"aws:userid": user_id}}}]}))
    charter.cli("iam", "attach-policy", name, str(path))
    client.create_model_package_group(ModelPackageGroupName=unique("mine"))

    other = unique("other")
    other_client = charter.create_user(other, "auditor")
    charter.cli("iam", "attach-policy", other, str(path))  # names someone else's id
    with pytest.raises(ClientError) as caught:
        other_client.create_model_package_group(ModelPackageGroupName=unique("theirs"))
    assert caught.value.response["Error"]["Code"] == "AccessDeniedException"


def test_batch_describe_checks_each_package_with_the_same_aws_userid(charter, sm, tmp_path):
    group = unique("batch")
    sm.create_model_package_group(ModelPackageGroupName=group)
    arns = [sm.create_model_package(ModelPackageGroupName=group, InferenceSpecification=INFERENCE)["ModelPackageArn"]
            for _ in range(2)]
    name = unique("batcher")
    client = charter.create_user(name, "labeler")
    path = tmp_path / "batch-by-id.json"
    path.write_text(json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "sagemaker:BatchDescribeModelPackage", "Resource": "*",
        "Condition": {"StringEquals": {"aws:userid": stored_principal(charter, name).unique_id}}}]}))
    charter.cli("iam", "attach-policy", name, str(path))
    answer = client.batch_describe_model_package(ModelPackageArnList=arns)
    assert sorted(answer["ModelPackageSummaries"]) == sorted(arns)
    assert answer["BatchDescribeModelPackageErrorMap"] == {}


# --- the migration of stored documents (on the backend under test) --------------------


OLD_ALICE = {"UserProfileName": "alice",
             "IamIdentity": {"Arn": f"arn:aws:iam::{ACCOUNT}:user/alice", "PrincipalId": "alice"}}
OLD_GONE = {"UserProfileName": "gone",
            "IamIdentity": {"Arn": f"arn:aws:iam::{ACCOUNT}:user/gone", "PrincipalId": "gone"}}


def _config(connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(db.MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def test_migration_0004_gives_ids_and_rewrites_stored_user_contexts(database_url_factory):
    engine = db.make_engine(database_url_factory())
    try:
        with db.transaction(engine) as conn:
            command.upgrade(_config(conn), "0003")
            # Only the columns revision 0003 has are named (schema.py's unique_id comes with 0004).
            for kind, name in (("user", "alice"), ("role", "Training")):
                conn.execute(insert(principals).values(
                    arn=f"arn:aws:iam::{ACCOUNT}:{kind}/{name}", kind=kind, name=name, account=ACCOUNT,
                    activities="[]", created_at=1.0))
            rows = {
                "group": ("model-package-group", {"CreatedBy": OLD_ALICE}),
                "package": ("model-package", {"CreatedBy": OLD_ALICE, "LastModifiedBy": OLD_GONE}),
                "card": ("model-card", {"CreatedBy": OLD_ALICE, "LastModifiedBy": OLD_ALICE}),
                "card-version": ("model-card-version", {"CreatedBy": OLD_ALICE, "LastModifiedBy": OLD_ALICE}),
                "studio": ("model-package", {"CreatedBy": {"UserProfileName": "priya", "DomainId": "d-1"}}),
            }
            for name, (resource_type, document) in rows.items():
                conn.execute(insert(resources).values(
                    arn=f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:{resource_type}/{name}", account=ACCOUNT, region=REGION,
                    resource_type=resource_type, name=name, created_at=1.0, modified_at=1.0,
                    document=json.dumps(document)))
        with db.transaction(engine) as conn:
            command.upgrade(_config(conn), "head")
        with db.transaction(engine, write=False) as conn:
            ids = dict(conn.execute(select(principals.c.name, principals.c.unique_id)).all())
            documents = {name: json.loads(doc) for name, doc in conn.execute(select(resources.c.name, resources.c.document))}
    finally:
        engine.dispose()

    assert USER_ID.match(ids["alice"]) and re.match(r"^AROA[A-Z0-9]{17}$", ids["Training"])
    alice = {"IamIdentity": {"Arn": f"arn:aws:iam::{ACCOUNT}:user/alice", "PrincipalId": ids["alice"]}}
    assert documents["group"] == {"CreatedBy": alice}
    # A principal deleted before the upgrade has no id to give: its ARN stays, the name-as-id goes.
    assert documents["package"] == {"CreatedBy": alice,
                                    "LastModifiedBy": {"IamIdentity": {"Arn": f"arn:aws:iam::{ACCOUNT}:user/gone"}}}
    assert documents["card"] == {"CreatedBy": {}, "LastModifiedBy": {}}
    assert documents["card-version"] == {"CreatedBy": {}, "LastModifiedBy": {}}
    # Not the old shape (a real Studio user profile): left alone.
    assert documents["studio"] == {"CreatedBy": {"UserProfileName": "priya", "DomainId": "d-1"}}
