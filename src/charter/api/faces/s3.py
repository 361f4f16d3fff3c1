"""Amazon S3 over the artifact store: REST-XML, path-style and virtual-hosted-style.

What S3 adds to the generic REST-XML protocol (:mod:`charter.api.protocols.rest_xml`):

* virtual-hosted-style addressing: a request to ``<bucket>.s3.<region>.amazonaws.com``,
  ``<bucket>.localhost:8642`` or ``<bucket>.<CHARTER_HOST>`` names its bucket in
  the host, and is routed as the path-style ``/<bucket>/<key>``;
* ``aws-chunked`` bodies (:mod:`charter.api.protocols.aws_chunked`), decoded as
  they stream, their trailing checksum verified; the algorithm the trailer
  names becomes the request's ``ChecksumAlgorithm``;
* a ranged GetObject answers 206 Partial Content, and GetBucketLocation's
  answer is the bare ``<LocationConstraint>`` element botocore's handler reads;
* XML answers in S3's namespace with S3's element names
  (``ListBucketResult``, ``InitiateMultipartUploadResult``, ...).

The handlers are in :mod:`charter.services.s3`.
"""

from __future__ import annotations

import ipaddress
import re
import xml.etree.ElementTree as ET

import botocore.model

from ...errors import AwsError
from ...settings import Settings
from .. import shapes
from ..protocols import aws_chunked
from ..protocols.rest_xml import RestXmlProtocol, _document
from ..wire import BodyStream, WireRequest, WireResponse
from . import FaceSpec, Spelling

NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/"

#: S3's own names for the root element of its XML answers.
ROOTS = {
    "ListBuckets": "ListAllMyBucketsResult",
    "ListObjects": "ListBucketResult",
    "ListObjectsV2": "ListBucketResult",
    "CreateMultipartUpload": "InitiateMultipartUploadResult",
    "CompleteMultipartUpload": "CompleteMultipartUploadResult",
    "ListParts": "ListPartsResult",
    "ListMultipartUploads": "ListMultipartUploadsResult",
    "DeleteObjects": "DeleteResult",
    "GetBucketVersioning": "VersioningConfiguration",
}

_AWS_HOST = re.compile(r"^(?P<bucket>.+)\.s3(?:[.-](?:dualstack\.)?[a-z0-9-]+)?\.amazonaws\.com$")


class S3Protocol(RestXmlProtocol):
    def __init__(self, model: botocore.model.ServiceModel):
        super().__init__(model)
        self.namespace = NAMESPACE
        host = Settings.from_env().host.lower()
        # The server's own name, when it has one, is a host under which bucket names may sit.
        self.own_hosts = ["localhost"]
        if host and not _is_ip(host) and host not in ("localhost",):
            self.own_hosts.append(host)

    def bucket_of_host(self, host_header: str) -> str | None:
        """The bucket a virtual-hosted-style Host header names, or None for path style."""
        host = host_header.strip().lower()
        if host.startswith("["):
            return None
        host = host.rsplit(":", 1)[0] if ":" in host else host
        if _is_ip(host):
            return None
        found = _AWS_HOST.match(host)
        if found:
            return found.group("bucket")
        for own in self.own_hosts:
            if host.endswith(f".{own}") and len(host) > len(own) + 1:
                return host[: -len(own) - 1]
        return None

    def path_of(self, request: WireRequest) -> str:
        path = request.path or "/"
        bucket = self.bucket_of_host(request.headers.get("host", ""))
        if bucket is None:
            return path
        return f"/{bucket}" if path == "/" else f"/{bucket}{path}"

    def body_stream(self, request: WireRequest) -> BodyStream:
        stream = super().body_stream(request)
        if aws_chunked.is_chunked(request.headers):
            return aws_chunked.decode(stream, request.headers)
        return stream

    def parse(self, request: WireRequest, operation: botocore.model.OperationModel) -> dict:
        params = super().parse(request, operation)
        if aws_chunked.is_chunked(request.headers):
            if "ContentEncoding" in params:
                remaining = aws_chunked.remaining_encoding(params["ContentEncoding"])
                if remaining is None:
                    del params["ContentEncoding"]
                else:
                    params["ContentEncoding"] = remaining
            trailer = request.headers.get("x-amz-trailer", "").strip().lower()
            shape = operation.input_shape
            if trailer.startswith("x-amz-checksum-") and shape is not None and "ChecksumAlgorithm" in shape.members:
                params.setdefault("ChecksumAlgorithm", trailer.removeprefix("x-amz-checksum-").upper())
        return params

    def status_of(self, operation: botocore.model.OperationModel, output: dict) -> int:
        if operation.name == "GetObject" and output.get("ContentRange"):
            return 206
        return super().status_of(operation, output)

    def root_name(self, operation: botocore.model.OperationModel, shape: botocore.model.Shape) -> str:
        return ROOTS.get(operation.name) or super().root_name(operation, shape)

    def respond(self, operation: botocore.model.OperationModel, output: dict, request_id: str) -> WireResponse:
        if operation.name == "GetBucketLocation":
            # botocore reads the region as the text of the root element itself.
            root = ET.Element("LocationConstraint", xmlns=NAMESPACE)
            root.text = (output or {}).get("LocationConstraint") or None
            headers = {**self.base_headers(request_id), "content-type": "application/xml"}
            return WireResponse(200, _document(root), headers)
        return super().respond(operation, output, request_id)

    def base_headers(self, request_id: str) -> dict[str, str]:
        # S3 answers a second, longer request id for its support; Charter has one.
        return {"x-amz-request-id": request_id, "x-amz-id-2": request_id}


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _not_implemented(name: str) -> AwsError:
    return AwsError(
        f"The S3 operation {name} is not implemented by this Charter server.", code="NotImplemented", status=501
    )


# Keys are stored as their UTF-8 bytes, so any character S3 allows, NUL too, is kept; the
# prefixes, delimiters and markers are compared with them, never stored as text.
shapes.HELD_AS_BYTES["s3"] = frozenset({"ObjectKey", "Prefix", "Delimiter", "StartAfter", "KeyMarker", "Marker", "CopySource"})

SPEC = FaceSpec(
    service="s3",
    protocols=[S3Protocol],
    iam_prefix="s3",
    spellings={
        "ValidationException": Spelling("InvalidArgument", 400),
        "AccessDeniedException": Spelling("AccessDenied", 403),
        "InvalidSignatureException": Spelling("SignatureDoesNotMatch", 403),
        "UnrecognizedClientException": Spelling("InvalidAccessKeyId", 403),
        "IncompleteSignatureException": Spelling("AuthorizationHeaderMalformed", 400),
        "MissingAuthenticationTokenException": Spelling("AccessDenied", 403),
        "SerializationException": Spelling("MalformedXML", 400),
        "UnsupportedOperation": Spelling("NotImplemented", 501),
        "UnknownOperationException": Spelling("MethodNotAllowed", 405),
        "InternalFailure": Spelling("InternalError", 500),
    },
    not_implemented=_not_implemented,
)
