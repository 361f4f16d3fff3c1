"""S3's error codes, as the object store raises them.

Each class is S3's ``<Error><Code>`` with the HTTP status S3 answers it with and
S3's own wording as the default message (Amazon S3 API Reference, "Error
responses", list of error codes).  ``extra`` holds the further members S3 puts
in the ``<Error>`` element (``BucketName``, ``Key``, ``UploadId``, ...); the S3
face writes them out beside ``Code`` and ``Message``.
"""

from __future__ import annotations

from ...errors import ClientError


class S3Error(ClientError):
    """Base of the S3 errors: a code, a status, S3's message and extra ``<Error>`` members."""

    code = "InternalError"
    status = 400
    default_message = ""

    def __init__(self, message: str | None = None, **extra: object):
        super().__init__(message if message is not None else self.default_message)
        self.extra: dict = {name: value for name, value in extra.items() if value is not None}


def _error(code: str, status: int, message: str) -> type[S3Error]:
    return type(code, (S3Error,), {"code": code, "status": status, "default_message": message, "__doc__": message})


NoSuchBucket = _error("NoSuchBucket", 404, "The specified bucket does not exist")
NoSuchKey = _error("NoSuchKey", 404, "The specified key does not exist.")
NoSuchUpload = _error(
    "NoSuchUpload",
    404,
    "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.",
)
BucketNotEmpty = _error("BucketNotEmpty", 409, "The bucket you tried to delete is not empty")
BucketAlreadyExists = _error(
    "BucketAlreadyExists",
    409,
    "The requested bucket name is not available. The bucket namespace is shared by all users of the system. "
    "Please select a different name and try again.",
)
BucketAlreadyOwnedByYou = _error(
    "BucketAlreadyOwnedByYou",
    409,
    "Your previous request to create the named bucket succeeded and you already own it.",
)
InvalidBucketName = _error("InvalidBucketName", 400, "The specified bucket is not valid.")
BadDigest = _error("BadDigest", 400, "The Content-MD5 you specified did not match what we received.")
InvalidDigest = _error("InvalidDigest", 400, "The Content-MD5 you specified is not valid.")
InvalidPart = _error(
    "InvalidPart",
    400,
    "One or more of the specified parts could not be found.  The part may not have been uploaded, "
    "or the specified entity tag may not match the part's entity tag.",
)
InvalidPartOrder = _error(
    "InvalidPartOrder", 400, "The list of parts was not in ascending order. The parts list must be specified in order by part number."
)
EntityTooSmall = _error("EntityTooSmall", 400, "Your proposed upload is smaller than the minimum allowed object size.")
EntityTooLarge = _error("EntityTooLarge", 400, "Your proposed upload exceeds the maximum allowed object size.")
InvalidArgument = _error("InvalidArgument", 400, "Invalid Argument")
InvalidRange = _error("InvalidRange", 416, "The requested range is not satisfiable")
PreconditionFailed = _error("PreconditionFailed", 412, "At least one of the pre-conditions you specified did not hold")
NotModified = _error("NotModified", 304, "Not Modified")
InvalidRequest = _error("InvalidRequest", 400, "Invalid Request")
NotImplemented = _error("NotImplemented", 501, "A header you provided implies functionality that is not implemented.")
AccessDenied = _error("AccessDenied", 403, "Access Denied")
MethodNotAllowed = _error("MethodNotAllowed", 405, "The specified method is not allowed against this resource.")
MalformedXML = _error(
    "MalformedXML", 400, "The XML you provided was not well-formed or did not validate against our published schema."
)
XAmzContentSHA256Mismatch = _error(
    "XAmzContentSHA256Mismatch", 400, "The provided 'x-amz-content-sha256' header does not match what was computed."
)
InternalError = _error("InternalError", 500, "We encountered an internal error. Please try again.")

__all__ = ["S3Error"] + [
    name
    for name, value in list(globals().items())
    if isinstance(value, type) and issubclass(value, S3Error) and value is not S3Error
]

KeyTooLongError = _error("KeyTooLongError", 400, "Your key is too long")
__all__.append("KeyTooLongError")
