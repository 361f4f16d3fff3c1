"""UserContext as botocore documents it, and IAM unique ids: the pure parts.

The server-side behaviour (and the migration of stored documents) is tested
in tests/integration/test_user_context.py.
"""

from __future__ import annotations

import re

from charter.iam import identities
from charter.services import IAM_IDENTITY_TYPES, Call

ACCOUNT = "123456789012"
REGION = "us-east-1"
USER_ID = re.compile(r"^AIDA[A-Z0-9]{17}$")


def test_user_context_carries_iam_identity_only_where_documented():
    call = Call(ACCOUNT, REGION, f"arn:aws:iam::{ACCOUNT}:user/dana", "dana", "req", conn=None, codec=None,
                principal_id="AIDAEXAMPLE0123456789")
    identity = {"IamIdentity": {"Arn": f"arn:aws:iam::{ACCOUNT}:user/dana", "PrincipalId": "AIDAEXAMPLE0123456789"}}
    assert IAM_IDENTITY_TYPES == {"model-package-group", "model-package", "project", "hub", "hub-content"}
    for resource_type in IAM_IDENTITY_TYPES:
        assert call.user_context(resource_type) == identity
    for resource_type in ("model-card", "model-card-version", "experiment", "training-job"):
        assert call.user_context(resource_type) == {}


def test_unique_ids_follow_iam_prefixes():
    assert USER_ID.match(identities.new_unique_id("user"))
    assert re.match(r"^AROA[A-Z0-9]{17}$", identities.new_unique_id("role"))
    user = identities.Principal("arn:aws:iam::123456789012:user/u", "user", "u", ACCOUNT, None, [], "AIDAX")
    role = identities.Principal("arn:aws:iam::123456789012:role/r", "role", "r", ACCOUNT, None, [], "AROAX")
    assert (user.caller_id, role.caller_id) == ("AIDAX", "AROAX:r")
