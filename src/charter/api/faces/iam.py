"""AWS IAM over Charter's own identities: the query protocol, errors as IAM spells them.

IAM is global: botocore signs it for ``us-east-1`` and its ARNs have no region
(``arn:aws:iam::<account>:role/<name>``).
"""

from __future__ import annotations

from ..protocols.query import QueryProtocol
from . import FaceSpec
from .sts import QUERY_SPELLINGS, not_implemented

SPEC = FaceSpec(
    service="iam",
    protocols=[QueryProtocol],
    iam_prefix="iam",
    spellings=QUERY_SPELLINGS,
    not_implemented=not_implemented("IAM"),
)
