"""AWS-shaped errors.

Every error Charter answers on the wire is raised as one of these classes; the
gateway turns it into the JSON 1.1 error document botocore parses
(``{"__type": code, "message": ...}`` with the HTTP status below).  Codes and
statuses follow ``specs/aws-protocol.md``: 400 for every client error, 403 for a
missing token, 5xx only for server faults (botocore retries those).
"""

from __future__ import annotations


class AwsError(Exception):
    """Base of every error answered in AWS's JSON error format."""

    code: str = "InternalFailure"
    status: int = 500

    def __init__(self, message: str = "", *, code: str | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status

    def to_wire(self) -> dict:
        return {"__type": self.code, "message": self.message}

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"{type(self).__name__}({self.code}: {self.message})"


class ClientError(AwsError):
    status = 400


class ValidationException(ClientError):
    code = "ValidationException"


class SerializationException(ClientError):
    code = "SerializationException"


class UnknownOperationException(ClientError):
    code = "UnknownOperationException"


class ResourceNotFound(ClientError):
    code = "ResourceNotFound"


class ResourceInUse(ClientError):
    code = "ResourceInUse"


class ResourceLimitExceeded(ClientError):
    code = "ResourceLimitExceeded"


class ConflictException(ClientError):
    code = "ConflictException"


class AccessDeniedException(ClientError):
    code = "AccessDeniedException"


class ThrottlingException(ClientError):
    code = "ThrottlingException"


# --- authentication (SigV4) -------------------------------------------------


class MissingAuthenticationToken(AwsError):
    code = "MissingAuthenticationTokenException"
    status = 403

    def __init__(self, message: str = "Missing Authentication Token"):
        super().__init__(message)


class IncompleteSignature(ClientError):
    code = "IncompleteSignatureException"


class UnrecognizedClient(ClientError):
    """Unknown (or inactive) access key id."""

    code = "UnrecognizedClientException"

    def __init__(self, message: str = "The security token included in the request is invalid."):
        super().__init__(message)


class ExpiredToken(ClientError):
    """A temporary (STS) credential used after its expiry; query services spell it ExpiredToken, 403."""

    code = "ExpiredTokenException"

    def __init__(self, message: str = "The security token included in the request is expired"):
        super().__init__(message)


class InvalidSignature(ClientError):
    """Signature mismatch, or a request signed too far from the server's clock."""

    code = "InvalidSignatureException"

    SIGNATURE_MISMATCH = (
        "The request signature we calculated does not match the signature you provided. "
        "Check your AWS Secret Access Key and signing method. "
        "Consult the service documentation for details."
    )

    def __init__(self, message: str = SIGNATURE_MISMATCH):
        super().__init__(message)


class NotSupported(ClientError):
    """An operation of the SageMaker model that Charter has no handler for (yet)."""

    code = "UnsupportedOperation"


class InternalFailure(AwsError):
    code = "InternalFailure"
    status = 500
