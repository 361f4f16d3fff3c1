"""Who may approve a model version, asked both ways: UpdateModelPackage and CreateModelPackage.

``sagemaker:ModelApprovalStatus`` is a condition key of both operations; a
version registered already ``Approved`` is as much an approval as an update to
``Approved``.  Every persona that may not approve is refused both ways, the
approvers are allowed both ways, and a hand-written policy on the key applies
to a create as to an update.
"""

from __future__ import annotations

import json
import uuid

import pytest
from botocore.exceptions import ClientError

from charter.iam.personas import PERSONAS

ACCOUNT = "123456789012"
REGION = "us-east-1"
INFERENCE = {
    "Containers": [{"Image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
                    "ModelDataUrl": "s3://models/churn/model.tar.gz"}],
    "SupportedContentTypes": ["text/csv"],
    "SupportedResponseMIMETypes": ["text/csv"],
}

# Persona -> the extra CLI arguments it is created with (custom needs activities to grant anything).
MAY_NOT_APPROVE = {
    "data-scientist": (),
    "compute": (),
    "labeler": (),
    "auditor": (),
    "custom": ("--activity", "manage-models", "--activity", "search-discover"),
}
MAY_APPROVE = {"mlops-engineer": (), "admin": ()}
# Personas whose policies let them register pending versions (so only the status refuses them).
REGISTERS = {"data-scientist", "custom", "mlops-engineer", "admin"}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def denied(call, **kwargs) -> str:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    error = caught.value.response["Error"]
    assert error["Code"] == "AccessDeniedException", error
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    return error["Message"]


@pytest.fixture
def group(sm):
    name = unique("approvals")
    sm.create_model_package_group(ModelPackageGroupName=name)
    return name


def pending_version(sm, group: str) -> str:
    return sm.create_model_package(ModelPackageGroupName=group, InferenceSpecification=INFERENCE)["ModelPackageArn"]


def versions(sm, group: str) -> list[str]:
    listed = sm.list_model_packages(ModelPackageGroupName=group)["ModelPackageSummaryList"]
    return [summary["ModelApprovalStatus"] for summary in listed]


def test_every_persona_is_classified():
    assert set(MAY_NOT_APPROVE) | set(MAY_APPROVE) == set(PERSONAS)


@pytest.mark.parametrize("persona", sorted(MAY_NOT_APPROVE))
def test_a_persona_that_may_not_approve_is_refused_both_ways(charter, sm, group, persona):
    name = unique(persona[:6])
    client = charter.create_user(name, persona, *MAY_NOT_APPROVE[persona])
    user_arn = f"arn:aws:iam::{ACCOUNT}:user/{name}"
    existing = pending_version(sm, group)

    # The update way.
    message = denied(client.update_model_package, ModelPackageArn=existing, ModelApprovalStatus="Approved")
    assert f"User: {user_arn} is not authorized to perform: sagemaker:UpdateModelPackage on resource: {existing}" in message

    # The create way: neither Approved nor Rejected may be chosen at registration.
    for status in ("Approved", "Rejected"):
        message = denied(
            client.create_model_package,
            ModelPackageGroupName=group,
            InferenceSpecification=INFERENCE,
            ModelApprovalStatus=status,
        )
        pattern = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/{group}/*"
        assert f"sagemaker:CreateModelPackage on resource: {pattern}" in message
        if persona in REGISTERS:
            # Its policy registers versions, only not with this status: the message says so.
            assert message.endswith(f"with sagemaker:ModelApprovalStatus = {status}")
    assert versions(sm, group) == ["PendingManualApproval"]  # nothing was registered

    if persona in REGISTERS:
        # Registering for review is what it may do, with or without naming the status.
        arn = client.create_model_package(ModelPackageGroupName=group, InferenceSpecification=INFERENCE)["ModelPackageArn"]
        client.create_model_package(
            ModelPackageGroupName=group, InferenceSpecification=INFERENCE, ModelApprovalStatus="PendingManualApproval"
        )
        assert sm.describe_model_package(ModelPackageName=arn)["ModelApprovalStatus"] == "PendingManualApproval"
        assert versions(sm, group) == ["PendingManualApproval"] * 3
    else:
        denied(client.create_model_package, ModelPackageGroupName=group, InferenceSpecification=INFERENCE)


@pytest.mark.parametrize("persona", sorted(MAY_APPROVE))
def test_an_approver_is_allowed_both_ways(charter, sm, group, persona):
    client = charter.create_user(unique(persona[:6]), persona, *MAY_APPROVE[persona])
    existing = pending_version(sm, group)
    client.update_model_package(ModelPackageArn=existing, ModelApprovalStatus="Approved")
    approved = client.create_model_package(
        ModelPackageGroupName=group, InferenceSpecification=INFERENCE, ModelApprovalStatus="Approved"
    )["ModelPackageArn"]
    rejected = client.create_model_package(
        ModelPackageGroupName=group, InferenceSpecification=INFERENCE, ModelApprovalStatus="Rejected"
    )["ModelPackageArn"]
    client.create_model_package(ModelPackageGroupName=group, InferenceSpecification=INFERENCE)
    assert sm.describe_model_package(ModelPackageName=approved)["ModelApprovalStatus"] == "Approved"
    assert sm.describe_model_package(ModelPackageName=rejected)["ModelApprovalStatus"] == "Rejected"
    assert versions(sm, group) == ["Approved", "Approved", "Rejected", "PendingManualApproval"]


def test_approve_models_alone_approves_but_does_not_register_for_review(charter, sm, group):
    client = charter.create_user(unique("approver"), "custom", "--activity", "approve-models")
    client.create_model_package(ModelPackageGroupName=group, InferenceSpecification=INFERENCE, ModelApprovalStatus="Approved")
    message = denied(client.create_model_package, ModelPackageGroupName=group, InferenceSpecification=INFERENCE)
    assert message.endswith(
        "because no identity-based policy allows the sagemaker:CreateModelPackage action"
        " with sagemaker:ModelApprovalStatus = PendingManualApproval"
    )
    assert versions(sm, group) == ["Approved"]


def _attach(charter, tmp_path, user: str, document: dict) -> None:
    path = tmp_path / f"{user}.json"
    path.write_text(json.dumps(document))
    charter.cli("iam", "attach-policy", user, str(path))


def test_a_policy_on_the_key_governs_a_create_as_it_governs_an_update(charter, sm, group, tmp_path):
    name = unique("reviewer")
    client = charter.create_user(name, "labeler")
    _attach(charter, tmp_path, name, {
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Action": ["sagemaker:CreateModelPackage", "sagemaker:UpdateModelPackage"],
            "Resource": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/*",
            "Condition": {"StringNotEquals": {"sagemaker:ModelApprovalStatus": "Approved"}},
        }],
    })
    arn = client.create_model_package(ModelPackageGroupName=group, InferenceSpecification=INFERENCE)["ModelPackageArn"]
    client.create_model_package(ModelPackageGroupName=group, InferenceSpecification=INFERENCE, ModelApprovalStatus="Rejected")
    denied(client.create_model_package, ModelPackageGroupName=group, InferenceSpecification=INFERENCE,
           ModelApprovalStatus="Approved")
    denied(client.update_model_package, ModelPackageArn=arn, ModelApprovalStatus="Approved")
    client.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Rejected")
    assert versions(sm, group) == ["Rejected", "Rejected"]


def test_an_explicit_deny_on_approved_stops_an_approver_both_ways(charter, sm, group, tmp_path):
    name = unique("ops")
    client = charter.create_user(name, "mlops-engineer")
    _attach(charter, tmp_path, name, {
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Deny",
            "Action": ["sagemaker:CreateModelPackage", "sagemaker:UpdateModelPackage"],
            "Resource": "*",
            "Condition": {"StringEquals": {"sagemaker:ModelApprovalStatus": "Approved"}},
        }],
    })
    existing = pending_version(sm, group)
    assert denied(client.update_model_package, ModelPackageArn=existing, ModelApprovalStatus="Approved").endswith(
        "with an explicit deny in an identity-based policy"
    )
    assert denied(client.create_model_package, ModelPackageGroupName=group, InferenceSpecification=INFERENCE,
                  ModelApprovalStatus="Approved").endswith("with an explicit deny in an identity-based policy")
    client.update_model_package(ModelPackageArn=existing, ModelApprovalStatus="Rejected")


# --- the audit record of a create ---------------------------------------------------


def audit_rows(charter, user: str, operation: str) -> list[dict]:
    lines = charter.cli("audit", "tail", "--user", user, "--operation", operation, "--since", "10m", "--json").stdout
    return [json.loads(line) for line in lines.splitlines()]


def test_the_audit_record_of_a_create_names_what_was_created(charter, sm, group):
    name = unique("ds")
    client = charter.create_user(name, "data-scientist")
    pending_version(sm, group)  # so the version the handler numbers is 2, which the request could not name
    arn = client.create_model_package(ModelPackageGroupName=group, InferenceSpecification=INFERENCE)["ModelPackageArn"]
    denied(client.create_model_package, ModelPackageGroupName=group, InferenceSpecification=INFERENCE,
           ModelApprovalStatus="Approved")
    card = client.create_model_card(ModelCardName=unique("card"), Content="{}", ModelCardStatus="Draft")["ModelCardArn"]
    other_group = unique("own")
    group_arn = client.create_model_package_group(ModelPackageGroupName=other_group)["ModelPackageGroupArn"]

    created, refused = audit_rows(charter, name, "CreateModelPackage")
    assert (created["outcome"], created["resource_arn"]) == ("Success", arn)
    assert arn.endswith(f":model-package/{group}/2")
    # Nothing was created by the refused call: it names what was asked for.
    assert (refused["outcome"], refused["resource_arn"]) == (
        "Denied", f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/{group}/*"
    )
    assert [row["resource_arn"] for row in audit_rows(charter, name, "CreateModelCard")] == [card]
    assert [row["resource_arn"] for row in audit_rows(charter, name, "CreateModelPackageGroup")] == [group_arn]
