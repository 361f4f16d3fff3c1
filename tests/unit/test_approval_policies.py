"""Which persona may decide a model version's approval, asked of the policies themselves.

``sagemaker:ModelApprovalStatus`` is a condition key of CreateModelPackage and
UpdateModelPackage alike; a persona that may not approve must be refused the
decision either way.  (tests/integration/test_self_approval.py asks the same
of a running server.)
"""

from __future__ import annotations

import pytest

from charter.iam.personas import PERSONAS, build_policy
from charter.iam.policy import Decision, Request, evaluate
from charter.services.model_packages import create_condition_keys

ACCOUNT = "123456789012"
PACKAGE = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:model-package/churn/*"
APPROVERS = {"mlops-engineer", "admin"}
REGISTERS = {"data-scientist", "mlops-engineer", "admin"}


def document(persona: str) -> dict:
    activities = ("manage-models",) if persona == "custom" else ()
    return build_policy(persona, activities, account=ACCOUNT, buckets=["charter-artifacts"])


def decide(persona: str, action: str, params: dict) -> Decision:
    context = create_condition_keys(params) if action == "sagemaker:CreateModelPackage" else {
        "sagemaker:ModelApprovalStatus": params["ModelApprovalStatus"]}
    request = Request(action=action, resource=PACKAGE, principal=f"arn:aws:iam::{ACCOUNT}:user/u", context=context)
    return evaluate([document(persona)], request)


@pytest.mark.parametrize("persona", sorted(PERSONAS))
@pytest.mark.parametrize("status", ["Approved", "Rejected"])
def test_a_decision_needs_an_approver_by_create_and_by_update(persona, status):
    expected = Decision.ALLOW if persona in APPROVERS else Decision.IMPLICIT_DENY
    create = {"ModelPackageGroupName": "churn", "ModelApprovalStatus": status}
    assert decide(persona, "sagemaker:CreateModelPackage", create) is expected
    assert decide(persona, "sagemaker:UpdateModelPackage", {"ModelApprovalStatus": status}) is expected


@pytest.mark.parametrize("persona", sorted(PERSONAS))
def test_registering_for_review_needs_only_manage_models(persona):
    may = persona in REGISTERS or persona == "custom"  # custom is built here with manage-models
    expected = Decision.ALLOW if may else Decision.IMPLICIT_DENY
    for params in ({"ModelPackageGroupName": "churn"},
                   {"ModelPackageGroupName": "churn", "ModelApprovalStatus": "PendingManualApproval"}):
        assert decide(persona, "sagemaker:CreateModelPackage", params) is expected


def test_a_version_without_a_status_is_pending_to_iam():
    assert create_condition_keys({"ModelPackageGroupName": "churn"}) == {
        "sagemaker:ModelApprovalStatus": "PendingManualApproval"}
    assert create_condition_keys({"ModelPackageGroupName": "churn", "ModelApprovalStatus": "Approved"}) == {
        "sagemaker:ModelApprovalStatus": "Approved"}
    # An unversioned package has no approval status: the key is there only if the request names one.
    assert create_condition_keys({"ModelPackageName": "marketplace"}) == {}


def test_allowed_but_for_says_which_condition_keys_refused():
    from charter.iam.policy import allowed_but_for

    key = "sagemaker:ModelApprovalStatus"
    scientist = [document("data-scientist")]
    approved = Request(action="sagemaker:CreateModelPackage", resource=PACKAGE,
                       principal=f"arn:aws:iam::{ACCOUNT}:user/u", context={key: "Approved"})
    assert evaluate(scientist, approved) is Decision.IMPLICIT_DENY
    assert allowed_but_for(scientist, approved, [key])  # RegisterModelPackages, but for the status
    assert allowed_but_for(scientist, approved, [key.upper()])  # condition keys are case-insensitive
    # No statement grants the action whatever the key says: the key is not what refused it.
    update = Request(action="sagemaker:UpdateModelPackage", resource=PACKAGE,
                     principal=f"arn:aws:iam::{ACCOUNT}:user/u", context={key: "Approved"})
    assert not allowed_but_for(scientist, update, [key])
    # Conditions on other keys still count.
    other = [{"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "sagemaker:CreateModelPackage", "Resource": "*",
        "Condition": {"StringEquals": {key: "PendingManualApproval", "aws:RequestedRegion": "eu-west-1"}}}]}]
    assert not allowed_but_for(other, approved, [key])
