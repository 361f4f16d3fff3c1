"""S3's query-string SigV2 ("HMAC-SHA1") presigned URLs, verified.

botocore still presigns S3 URLs with Signature Version 2 unless the client is
configured with ``signature_version="s3v4"`` (``boto3.client("s3").generate_presigned_url``
gives ``?AWSAccessKeyId=...&Signature=...&Expires=...``), and S3 accepts them.
So Charter does too, for the query form only (requests themselves are SigV4).

The string to sign (Amazon S3 Developer Guide, "Signing and authenticating
REST requests", as botocore's ``HmacV1QueryAuth`` writes it)::

    <METHOD>\\n<Content-MD5>\\n<Content-Type>\\n<Expires>\\n
    [x-amz-<name>:<value>\\n ...]          (sorted by lower-case name)
    <path as sent>[?<sub-resources>]      (the query parameters S3 signs, sorted)

signed with HMAC-SHA1 under the secret key, base64.  The signed ``Content-MD5``,
``Content-Type`` and ``x-amz-*`` values travel in the query string (botocore
puts them there) or as headers.  The URL is good until ``Expires`` (epoch
seconds); SigV2 names no region, so the request counts as ``us-east-1``,
S3's global endpoint.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime, timezone
from typing import Callable, Mapping
from urllib.parse import unquote

from ..errors import AccessDeniedException, IncompleteSignature, InvalidSignature, UnrecognizedClient

REGION = "us-east-1"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"

#: The query parameters that are part of what SigV2 signs (botocore's ``HmacV1Auth.QSAOfInterest``).
SUB_RESOURCES = frozenset(
    """accelerate acl cors defaultObjectAcl location logging partNumber policy requestPayment torrent versioning
    versionId versions website uploads uploadId response-content-type response-content-language response-expires
    response-cache-control response-content-disposition response-content-encoding delete lifecycle tagging restore
    storageClass notification replication analytics metrics inventory select select-type object-lock""".split()
)
_AUTH = ("AWSAccessKeyId", "Signature", "Expires")


def is_presigned(query_string: str) -> bool:
    """True when the query string carries SigV2 query authentication."""
    return "AWSAccessKeyId=" in query_string and "Signature=" in query_string


def _pairs(query_string: str) -> list[tuple[str, str]]:
    pairs = []
    for part in filter(None, query_string.split("&")):
        key, sep, value = part.partition("=")
        pairs.append((key, value if sep else None))
    return pairs


def string_to_sign(method: str, raw_path: str, query_string: str, headers: Mapping[str, str]) -> str:
    pairs = _pairs(query_string)
    query = {unquote(k): unquote(v) if v is not None else "" for k, v in pairs}

    def signed(name: str) -> str:
        return (query.get(name) or headers.get(name) or "").strip()

    custom = {name.lower(): value for name, value in headers.items() if name.lower().startswith("x-amz-")}
    custom.update({name.lower(): value for name, value in query.items() if name.lower().startswith("x-amz-")})
    lines = [method.upper(), signed("content-md5"), signed("content-type"), query.get("Expires", "")]
    lines += [f"{name}:{custom[name].strip()}" for name in sorted(custom)]
    resources = sorted(
        ((k, unquote(v) if v is not None else None) for k, v in pairs if k in SUB_RESOURCES), key=lambda kv: kv[0]
    )
    resource = raw_path or "/"
    if resources:
        resource += "?" + "&".join(k if v is None else f"{k}={v}" for k, v in resources)
    return "\n".join(lines + [resource])


def verify_presigned(
    method: str,
    raw_path: str,
    query_string: str,
    headers: Mapping[str, str],
    lookup_secret: Callable[[str], str | None],
    *,
    now: datetime | None = None,
):
    """Verify a SigV2 presigned URL; the :class:`~charter.iam.sigv4.VerifiedRequest` of its signer."""
    from .sigv4 import VerifiedRequest

    query = {unquote(k): unquote(v or "") for k, v in _pairs(query_string)}
    missing = [name for name in _AUTH if not query.get(name)]
    if missing:
        raise IncompleteSignature(f"A SigV2 presigned URL needs {', '.join(missing)} in its query string.")
    try:
        expires = int(query["Expires"])
    except ValueError:
        raise IncompleteSignature(f"Expires must be a time in epoch seconds, not {query['Expires']!r}.") from None
    current = now or datetime.now(timezone.utc)
    if current.timestamp() > expires:
        raise AccessDeniedException(
            f"Request has expired: the URL was good until {datetime.fromtimestamp(expires, timezone.utc):%Y-%m-%dT%H:%M:%SZ}."
        )
    key_id = query["AWSAccessKeyId"]
    secret = lookup_secret(key_id)
    if secret is None:
        raise UnrecognizedClient()
    lowered = {name.lower(): value for name, value in headers.items()}
    expected = base64.b64encode(
        hmac.new(secret.encode(), string_to_sign(method, raw_path, query_string, lowered).encode(), hashlib.sha1).digest()
    )
    if not hmac.compare_digest(expected, query["Signature"].encode()):
        raise InvalidSignature()
    return VerifiedRequest(
        access_key_id=key_id,
        region=REGION,
        service="s3",
        signed_at=current,
        security_token=query.get("x-amz-security-token") or lowered.get("x-amz-security-token"),
        payload_signed=False,
        payload_hash=UNSIGNED_PAYLOAD,
    )
