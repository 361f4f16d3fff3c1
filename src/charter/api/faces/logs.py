"""CloudWatch Logs: JSON 1.1, ``X-Amz-Target: Logs_20140328.<Operation>``.

The Logs model calls a constraint violation ``InvalidParameterException`` and
a server fault ``ServiceUnavailableException``; an operation of the model that
Charter has no handler for is an ``InvalidOperationException`` that names it.
An unknown target stays ``UnknownOperationException`` and a denied call
``AccessDeniedException`` (400), as CloudWatch Logs answers them.
"""

from __future__ import annotations

from ...errors import ClientError
from ..protocols.json import JsonProtocol
from . import FaceSpec, Spelling


def _not_implemented(name: str) -> ClientError:
    return ClientError(
        f"The CloudWatch Logs operation {name} is not implemented by this Charter server.",
        code="InvalidOperationException",
    )


SPEC = FaceSpec(
    service="logs",
    protocols=[JsonProtocol],
    iam_prefix="logs",
    spellings={
        "ValidationException": Spelling("InvalidParameterException"),
        "UnsupportedOperation": Spelling("InvalidOperationException"),
        "InternalFailure": Spelling("ServiceUnavailableException", 500),
    },
    not_implemented=_not_implemented,
)
