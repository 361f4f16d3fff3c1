"""AWS STS: the query protocol (``Action=AssumeRole&Version=2011-06-15``), errors as STS spells them.

The codes are STS's and IAM's common errors (API Reference, "Common Errors"):
``AccessDenied`` and the signature errors are 403, ``ValidationError`` 400,
``ExpiredToken`` 403; an operation Charter does not answer is ``InvalidAction``.
"""

from __future__ import annotations

from ...errors import ClientError
from ..protocols.query import QueryProtocol
from . import FaceSpec, Spelling

#: How a query service (STS, IAM) spells Charter's generic errors.
QUERY_SPELLINGS = {
    "AccessDeniedException": Spelling("AccessDenied", 403),
    "ValidationException": Spelling("ValidationError", 400),
    "SerializationException": Spelling("ValidationError", 400),
    "UnrecognizedClientException": Spelling("InvalidClientTokenId", 403),
    "InvalidSignatureException": Spelling("SignatureDoesNotMatch", 403),
    "IncompleteSignatureException": Spelling("IncompleteSignature", 400),
    "MissingAuthenticationTokenException": Spelling("MissingAuthenticationToken", 403),
    "ExpiredTokenException": Spelling("ExpiredToken", 403),
    "UnknownOperationException": Spelling("InvalidAction", 400),
    "UnsupportedOperation": Spelling("InvalidAction", 400),
    "ThrottlingException": Spelling("Throttling", 400),
}


def not_implemented(service: str):
    def error(name: str) -> ClientError:
        return ClientError(
            f"The {service} action {name} is not implemented by this Charter server.", code="InvalidAction", status=400
        )

    return error


SPEC = FaceSpec(
    service="sts",
    protocols=[QueryProtocol],
    iam_prefix="sts",
    spellings=QUERY_SPELLINGS,
    not_implemented=not_implemented("STS"),
)
