"""Server-side AWS Signature Version 4 verification (and a small client signer).

Implements ``specs/aws-protocol.md`` section 4 by hand with :mod:`hmac` and
:mod:`hashlib`.  The canonical request is built exactly as botocore's
``SigV4Auth`` builds it for the JSON / rest-json services (SageMaker, its
runtime and a2i-runtime all sign as ``sagemaker``, spec section 1), so any
request boto3 signs verifies here byte for byte.

Public API
----------
``verify_request(...) -> VerifiedRequest``
    Verify one request, header form (``Authorization: AWS4-HMAC-SHA256 ...``)
    or presigned query-string form (``X-Amz-Algorithm=...&X-Amz-Signature=...``).
    Raises the authentication errors of :mod:`charter.errors`:

    * :class:`~charter.errors.MissingAuthenticationToken` - no credentials at all;
    * :class:`~charter.errors.IncompleteSignature` - malformed header/query
      parameters, bad credential scope, required header not signed;
    * :class:`~charter.errors.UnrecognizedClient` - unknown access key id;
    * :class:`~charter.errors.InvalidSignature` - signature mismatch, clock
      skew, expired presigned URL, body not matching ``X-Amz-Content-SHA256``.

``sign_request(...) -> dict[str, str]``
    A hand-written header signer (same algorithm) for the CLI and benchmarks.

Spec steps (section 4), as implemented here:

1. parse the ``Authorization`` header / ``X-Amz-*`` query parameters and check
   the credential scope ``<AKID>/<YYYYMMDD>/<region>/<service>/aws4_request``
   (scope date == first 8 chars of ``X-Amz-Date``, service == ``sagemaker``,
   optionally region == the server's);
2. clock skew (a setting, ``max_skew_seconds``);
3. look up the secret for the access key id;
4. canonical request (method, double-encoded URI, canonical query, canonical
   headers from ``SignedHeaders`` only, signed-header list, payload hash);
5. string to sign;
6. signing key ``kSigning`` (cached, see :func:`signing_key`) and signature;
7. constant-time comparison.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from functools import lru_cache
from typing import Callable, Iterable, Mapping
from urllib.parse import quote, unquote, unquote_to_bytes, urlsplit

from ..errors import IncompleteSignature, InvalidSignature, MissingAuthenticationToken, UnrecognizedClient
from . import sigv2

__all__ = [
    "ALGORITHM",
    "UNSIGNED_PAYLOAD",
    "EMPTY_SHA256",
    "VerifiedRequest",
    "verify_request",
    "sign_request",
    "canonical_request",
    "signing_key",
]

ALGORITHM = "AWS4-HMAC-SHA256"
TERMINATOR = "aws4_request"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
AMZ_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
#: Longest validity of a presigned URL AWS accepts (7 days).
MAX_PRESIGNED_EXPIRES = 7 * 24 * 3600

# Headers botocore never signs (botocore.auth.SIGNED_HEADERS_BLACKLIST); the
# client signer below skips them too.  The verifier does not need the list:
# it uses exactly the names the client put in SignedHeaders.
_UNSIGNABLE_HEADERS = frozenset(
    {
        "baggage",
        "connection",
        "expect",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "traceparent",
        "tracestate",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "user-agent",
        "x-amzn-trace-id",
    }
)

# Query parameters of presigned (query-string) authentication.
_Q_ALGORITHM = "X-Amz-Algorithm"
_Q_CREDENTIAL = "X-Amz-Credential"
_Q_DATE = "X-Amz-Date"
_Q_EXPIRES = "X-Amz-Expires"
_Q_SIGNED_HEADERS = "X-Amz-SignedHeaders"
_Q_SIGNATURE = "X-Amz-Signature"
_Q_TOKEN = "X-Amz-Security-Token"
_Q_AUTH_PARAMS = frozenset(
    {_Q_ALGORITHM, _Q_CREDENTIAL, _Q_DATE, _Q_EXPIRES, _Q_SIGNED_HEADERS, _Q_SIGNATURE, _Q_TOKEN}
)
# Any of these in the query string means the client chose query-string auth.
_Q_TRIGGERS = (_Q_ALGORITHM, _Q_CREDENTIAL, _Q_SIGNATURE)

_RFC3986_SAFE = "-_.~"  # plus A-Za-z0-9, which quote() never encodes


@dataclass(frozen=True)
class VerifiedRequest:
    """Who signed a request that :func:`verify_request` accepted."""

    access_key_id: str
    region: str  # from the credential scope
    service: str
    signed_at: datetime  # tz-aware UTC, the request's X-Amz-Date
    security_token: str | None
    #: False when the client signed ``UNSIGNED-PAYLOAD`` instead of the body's
    #: hash (spec 4: only acceptable over TLS); the caller decides.
    payload_signed: bool = True
    #: What the signature covered as the payload: the body's hex SHA-256, or
    #: ``UNSIGNED-PAYLOAD`` / ``STREAMING-...``; a streamed body is checked against it.
    payload_hash: str | None = None


# --------------------------------------------------------------------------
# Building blocks (spec 4, steps 4-6)
# --------------------------------------------------------------------------


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 5.2.4 plus collapsing of empty segments, as botocore's
    ``botocore.utils.remove_dot_segments`` (AWS services require ``//`` to be
    removed too).  Works on the still-encoded path, like botocore."""
    if not path:
        return ""
    out: list[str] = []
    for segment in path.split("/"):
        if segment and segment != ".":
            if segment == "..":
                if out:
                    out.pop()
            else:
                out.append(segment)
    first = "/" if path[0] == "/" else ""
    last = "/" if path[-1] == "/" and out else ""
    return first + "/".join(out) + last


def _canonical_uri(raw_path: str) -> str:
    """Spec 4 step 4, canonical URI: the path as received (still
    percent-encoded), normalised and URI-encoded once more with ``/`` and
    ``~`` kept - botocore's ``quote(normalize_url_path(path), safe="/~")``
    (non-S3 services double-encode, so ``%20`` becomes ``%2520``)."""
    if raw_path == "/" or not raw_path:
        return "/"
    return quote(_remove_dot_segments(raw_path), safe="/~")


def _split_query(query_string: str) -> list[tuple[str, str]]:
    """Raw ``(key, value)`` pairs as botocore splits them (``&``, then the first
    ``=``; a key without ``=`` has an empty value)."""
    if not query_string:
        return []
    pairs = []
    for pair in query_string.split("&"):
        key, _, value = pair.partition("=")
        pairs.append((key, value))
    return pairs


def _rfc3986(raw: str) -> str:
    """Percent-decode (bytes-exact, ``+`` kept literally) and re-encode with
    only RFC 3986 unreserved characters left bare.  Identity for what botocore
    sends; normalises e.g. lower-case escapes or bare ``:``/``/`` from other
    clients the way AWS does."""
    if raw.isalnum() and raw.isascii():
        return raw
    return quote(unquote_to_bytes(raw), safe=_RFC3986_SAFE)


def _canonical_query(pairs: Iterable[tuple[str, str]]) -> str:
    """Spec 4 step 4, canonical query: each key and value RFC 3986 encoded,
    sorted by key then value, ``key=value`` joined with ``&``."""
    encoded = sorted((_rfc3986(k), _rfc3986(v)) for k, v in pairs)
    return "&".join(f"{k}={v}" for k, v in encoded)


def _trimall(value: str) -> str:
    """Trim and collapse internal whitespace runs to one space (SigV4 Trimall)."""
    return " ".join(value.split())


def _normalise_headers(
    headers: Mapping[str, str] | Iterable[tuple[str | bytes, str | bytes]],
) -> dict[str, str]:
    """Lower-case names; a name seen more than once (a multi-dict such as
    Starlette's ``Headers`` yields every occurrence from ``items()``) has its
    values joined with ``,`` as botocore does (each value trimmed first).
    Also accepts an iterable of pairs and ``bytes`` names/values (ASGI's raw
    ``scope["headers"]``), decoded as latin-1 like HTTP servers do."""
    items = headers.items() if hasattr(headers, "items") else headers
    out: dict[str, str] = {}
    repeated: set[str] = set()
    for name, value in items:
        if isinstance(name, bytes):  # ASGI scope["headers"] / raw pairs
            name = name.decode("latin-1")
        if isinstance(value, bytes):
            value = value.decode("latin-1")
        lname = name.lower()
        if lname in out:
            if lname not in repeated:
                out[lname] = _trimall(out[lname])
                repeated.add(lname)
            out[lname] = out[lname] + "," + _trimall(value)
        else:
            out[lname] = value
    return out


def canonical_request(
    method: str,
    raw_path: str,
    query_pairs: Iterable[tuple[str, str]],
    headers: Mapping[str, str],
    signed_headers: Iterable[str],
    payload_hash: str,
    service: str = "",
) -> str:
    """Spec 4 step 4: the canonical request, joined with ``\\n``.

    ``headers`` must have lower-case names (see :func:`_normalise_headers`);
    only the names in ``signed_headers`` are used, in the order given (the
    client sends them sorted).  A signed header missing from the request
    contributes an empty value (the signature will then not match).  For
    ``service="s3"`` the path is taken as sent, neither normalised nor encoded
    again (botocore's ``S3SigV4Auth``): S3 keys may hold ``.``, ``..`` and ``//``.
    """
    names = list(signed_headers)
    header_block = "".join(f"{name}:{_trimall(headers.get(name, ''))}\n" for name in names)
    return "\n".join(
        (
            method.upper(),
            (raw_path or "/") if service == "s3" else _canonical_uri(raw_path),
            _canonical_query(query_pairs),
            header_block,
            ";".join(names),
            payload_hash,
        )
    )


def _string_to_sign(amz_date: str, scope: str, creq: str) -> str:
    """Spec 4 step 5."""
    return f"{ALGORITHM}\n{amz_date}\n{scope}\n{hashlib.sha256(creq.encode('utf-8')).hexdigest()}"


@lru_cache(maxsize=1024)
def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    """Spec 4 step 6: ``kSigning`` for one secret/day/region/service.

    Cached (LRU) because every request of a key on a given day reuses it: the
    cache key is the full tuple *including the secret itself*, so a rotated or
    different secret for the same access key id never reuses a stale key.
    """
    k_date = hmac.digest(("AWS4" + secret).encode("utf-8"), date.encode("utf-8"), "sha256")
    k_region = hmac.digest(k_date, region.encode("utf-8"), "sha256")
    k_service = hmac.digest(k_region, service.encode("utf-8"), "sha256")
    return hmac.digest(k_service, TERMINATOR.encode("ascii"), "sha256")


def _signature(key: bytes, string_to_sign: str) -> str:
    return hmac.digest(key, string_to_sign.encode("utf-8"), "sha256").hex()


# --------------------------------------------------------------------------
# Dates
# --------------------------------------------------------------------------


def _parse_amz_date(value: str) -> datetime | None:
    """``YYYYMMDDTHHMMSSZ`` -> tz-aware UTC datetime (None if malformed)."""
    if len(value) != 16 or value[8] != "T" or value[15] != "Z":
        return None
    digits = value[:8] + value[9:15]
    if not (digits.isascii() and digits.isdigit()):
        return None
    try:
        return datetime(
            int(value[0:4]), int(value[4:6]), int(value[6:8]),
            int(value[9:11]), int(value[11:13]), int(value[13:15]),
            tzinfo=timezone.utc,
        )
    except ValueError:
        return None


def _fmt(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).strftime(AMZ_DATE_FORMAT)


def _minutes(seconds: int) -> str:
    return f"{seconds / 60:g} min."


def _utc_now(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(timezone.utc)
    if now.tzinfo is None:  # naive: taken as UTC
        return now.replace(tzinfo=timezone.utc)
    return now.astimezone(timezone.utc)


def _check_not_future(amz_date: str, signed_at: datetime, now: datetime, skew: int) -> None:
    limit = now + timedelta(seconds=skew)
    if signed_at > limit:
        raise InvalidSignature(
            f"Signature not yet current: {amz_date} is still later than {_fmt(limit)} "
            f"({_fmt(now)} + {_minutes(skew)})"
        )


def _check_not_older(amz_date: str, signed_at: datetime, now: datetime, seconds: int) -> None:
    limit = now - timedelta(seconds=seconds)
    if signed_at < limit:
        raise InvalidSignature(
            f"Signature expired: {amz_date} is now earlier than {_fmt(limit)} "
            f"({_fmt(now)} - {_minutes(seconds)})"
        )


# --------------------------------------------------------------------------
# Parsing the two authentication forms (spec 4, step 1)
# --------------------------------------------------------------------------


@dataclass
class _Auth:
    access_key_id: str
    scope_date: str
    region: str
    service: str
    signed_headers: list[str]
    signature: str
    amz_date: str
    signed_at: datetime
    presigned: bool
    expires: int | None
    security_token: str | None


def _parse_authorization_header(value: str) -> tuple[str, dict[str, str]]:
    algorithm, _, rest = value.strip().partition(" ")
    params: dict[str, str] = {}
    for part in rest.split(","):
        key, eq, val = part.strip().partition("=")
        if eq and key and key not in params:
            params[key] = val.strip()
    return algorithm, params


def _check_scope(credential: str, amz_date: str, expected_service: str | None, expected_region: str | None):
    """Credential = ``<AKID>/<YYYYMMDD>/<region>/<service>/aws4_request``."""
    parts = credential.split("/")
    if len(parts) != 5 or not all(parts):
        raise IncompleteSignature(
            f"Credential should be of the form '<AccessKeyId>/<YYYYMMDD>/<region>/<service>/aws4_request', "
            f"got '{credential}'."
        )
    akid, date, region, service, terminator = parts
    if terminator != TERMINATOR:
        raise IncompleteSignature(
            f"Credential should be scoped with a valid terminator: '{TERMINATOR}', not '{terminator}'."
        )
    if expected_service is not None and service != expected_service:
        raise IncompleteSignature(f"Credential should be scoped to correct service: '{expected_service}'.")
    if expected_region is not None and region != expected_region:
        raise IncompleteSignature(f"Credential should be scoped to a valid region, not '{region}'.")
    if date != amz_date[:8]:
        raise IncompleteSignature(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
            f"'{date}' != '{amz_date[:8]}', from '{amz_date}'."
        )
    return akid, date, region, service


def _split_signed_headers(value: str) -> list[str]:
    names = [n.strip().lower() for n in value.split(";")]
    if not all(names):
        raise IncompleteSignature(f"SignedHeaders contains an empty header name: '{value}'.")
    return names


def _bad_date(value: str) -> IncompleteSignature:
    return IncompleteSignature(
        f"Date must be in ISO-8601 'basic format'. Got '{value}'. See http://en.wikipedia.org/wiki/ISO_8601"
    )


def _from_header(
    authorization: str, headers: Mapping[str, str], service: str, region: str | None
) -> _Auth:
    algorithm, params = _parse_authorization_header(authorization)
    credential = params.get("Credential")
    signature = params.get("Signature")
    signed = params.get("SignedHeaders")
    amz_date_header = headers.get("x-amz-date")
    date_header = headers.get("date") if amz_date_header is None else None

    problems = []
    if not credential:
        problems.append("Authorization header requires 'Credential' parameter.")
    if not signature:
        problems.append("Authorization header requires 'Signature' parameter.")
    if not signed:
        problems.append("Authorization header requires 'SignedHeaders' parameter.")
    if amz_date_header is None and date_header is None:
        problems.append("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
    if problems:
        raise IncompleteSignature(" ".join(problems))
    if algorithm != ALGORITHM:
        raise IncompleteSignature(f"Unsupported AWS 'algorithm': '{algorithm}'. Only '{ALGORITHM}' is supported.")

    if amz_date_header is not None:
        amz_date = amz_date_header.strip()
        signed_at = _parse_amz_date(amz_date)
        if signed_at is None:
            raise _bad_date(amz_date)
        date_name = "x-amz-date"
    else:
        # botocore's signer puts an RFC 7231 ``Date`` instead of X-Amz-Date when
        # the request already had one; the string to sign still carries the
        # ISO-8601 basic form of the same instant.
        try:
            parsed = parsedate_to_datetime(date_header)
        except (TypeError, ValueError):
            raise IncompleteSignature(f"Unable to parse the 'Date' header: '{date_header}'.") from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=timezone.utc)
        signed_at = parsed.astimezone(timezone.utc)
        amz_date = _fmt(signed_at)
        date_name = "date"

    names = _split_signed_headers(signed)
    if "host" not in names:
        raise IncompleteSignature("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
    if date_name not in names:
        raise IncompleteSignature(
            "'X-Amz-Date' must be a 'SignedHeader' in the AWS Authorization."
            if date_name == "x-amz-date"
            else "'Date' or 'X-Amz-Date' must be a 'SignedHeader' in the AWS Authorization."
        )
    akid, scope_date, cred_region, cred_service = _check_scope(credential, amz_date, service, region)
    return _Auth(
        access_key_id=akid,
        scope_date=scope_date,
        region=cred_region,
        service=cred_service,
        signed_headers=names,
        signature=signature,
        amz_date=amz_date,
        signed_at=signed_at,
        presigned=False,
        expires=None,
        security_token=headers.get("x-amz-security-token"),
    )


def _from_query(auth: dict[str, str], service: str, region: str | None) -> _Auth:
    required = (_Q_ALGORITHM, _Q_CREDENTIAL, _Q_SIGNATURE, _Q_SIGNED_HEADERS, _Q_DATE)
    missing = [name for name in required if not auth.get(name)]
    if missing:
        raise IncompleteSignature(
            " ".join(f"AWS query-string parameters must include '{name}'." for name in missing)
            + " Re-examine the query-string parameters."
        )
    if auth[_Q_ALGORITHM] != ALGORITHM:
        raise IncompleteSignature(f"X-Amz-Algorithm only supports '{ALGORITHM}', not '{auth[_Q_ALGORITHM]}'.")
    amz_date = auth[_Q_DATE]
    signed_at = _parse_amz_date(amz_date)
    if signed_at is None:
        raise _bad_date(amz_date)
    expires = None
    if _Q_EXPIRES in auth:
        raw = auth[_Q_EXPIRES]
        if not (raw.isascii() and raw.isdigit()):
            raise IncompleteSignature(f"X-Amz-Expires should be a number of seconds, not '{raw}'.")
        expires = int(raw)
        if expires > MAX_PRESIGNED_EXPIRES:
            raise IncompleteSignature(
                f"X-Amz-Expires must be less than a week (in seconds) that is {MAX_PRESIGNED_EXPIRES}."
            )
    names = _split_signed_headers(auth[_Q_SIGNED_HEADERS])
    if "host" not in names:
        raise IncompleteSignature("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
    akid, scope_date, cred_region, cred_service = _check_scope(auth[_Q_CREDENTIAL], amz_date, service, region)
    return _Auth(
        access_key_id=akid,
        scope_date=scope_date,
        region=cred_region,
        service=cred_service,
        signed_headers=names,
        signature=auth[_Q_SIGNATURE],
        amz_date=amz_date,
        signed_at=signed_at,
        presigned=True,
        expires=expires,
        security_token=auth.get(_Q_TOKEN),
    )


# --------------------------------------------------------------------------
# Verification
# --------------------------------------------------------------------------


def verify_request(
    method: str,
    raw_path: str,
    query_string: str,
    headers: Mapping[str, str] | Iterable[tuple[str | bytes, str | bytes]],
    body: bytes | None,
    lookup_secret: Callable[[str], str | None],
    *,
    now: datetime | None = None,
    max_skew_seconds: int = 900,
    service: str | None = "sagemaker",
    expected_region: str | None = None,
) -> VerifiedRequest:
    """Verify the SigV4 signature of one request (spec 4, steps 1-7).

    :param raw_path: the path as received, still percent-encoded (ASGI
        ``raw_path``), without the query string.
    :param query_string: the raw query string, without ``?``.
    :param headers: request headers; names in any case (normalised here).
        Repeated headers may come joined with ``,`` or as repeated items; an
        iterable of ``(name, value)`` pairs (``bytes`` allowed) works too.
    :param body: the raw request body, or ``None`` when it is still to be
        streamed: the request must then declare ``X-Amz-Content-SHA256``, the
        signature is checked against that declaration, and the caller checks
        the body against :attr:`VerifiedRequest.payload_hash` as it reads it.
    :param lookup_secret: access key id -> secret access key, or ``None`` when
        the key is unknown / inactive.
    :param now: the server's clock (default: current UTC time).
    :param max_skew_seconds: allowed distance between ``X-Amz-Date`` and
        ``now`` (a setting; AWS uses 5 or 15 minutes).  For presigned URLs the
        lower bound is ``X-Amz-Date + X-Amz-Expires`` instead.
    :param service: the signing name the credential scope must carry; ``None``
        accepts any (one endpoint serves every service, named by the scope).
    :param expected_region: if given, the scope's region must equal it
        (spec 4 step 1, "region must be the server's").

    The security token (``X-Amz-Security-Token``) is returned, not checked:
    matching it against the key's session is the caller's job (spec 4 step 3).
    """
    hdrs = _normalise_headers(headers)
    pairs = _split_query(query_string)

    # Presigned (query-string) authentication parameters?
    query_auth: dict[str, str] | None = None
    if pairs:
        found: dict[str, str] = {}
        repeated: str | None = None
        for key, value in pairs:
            dkey = unquote(key) if "%" in key else key
            if dkey in _Q_AUTH_PARAMS:
                if dkey in found:
                    repeated = dkey
                found[dkey] = unquote(value)
        if any(t in found for t in _Q_TRIGGERS):
            if repeated is not None:
                raise IncompleteSignature(f"Query-string parameter '{repeated}' appears more than once.")
            query_auth = found

    authorization = hdrs.get("authorization", "").strip()
    if authorization and query_auth is not None:
        raise IncompleteSignature(
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, "
            "Signature query string parameter or the Authorization header should be specified."
        )
    if authorization:
        auth = _from_header(authorization, hdrs, service, expected_region)
    elif query_auth is not None:
        auth = _from_query(query_auth, service, expected_region)
    elif service in (None, "s3") and sigv2.is_presigned(query_string):
        return sigv2.verify_presigned(method, raw_path, query_string, hdrs, lookup_secret, now=now)
    else:
        raise MissingAuthenticationToken()

    # Step 2: clock.
    current = _utc_now(now)
    _check_not_future(auth.amz_date, auth.signed_at, current, max_skew_seconds)
    if auth.presigned and auth.expires is not None:
        _check_not_older(auth.amz_date, auth.signed_at, current, auth.expires)
    else:
        _check_not_older(auth.amz_date, auth.signed_at, current, max_skew_seconds)

    # Step 3: secret.
    secret = lookup_secret(auth.access_key_id)
    if secret is None:
        raise UnrecognizedClient()

    # Step 4: payload hash candidates, in the order they are tried.
    declared = hdrs.get("x-amz-content-sha256")
    body_hash: str | None = None
    if declared is not None:
        declared = declared.strip()
        candidates = [declared]
    elif body is None:
        if not auth.presigned:
            raise IncompleteSignature("A streamed request body needs an X-Amz-Content-SHA256 header.")
        candidates = [UNSIGNED_PAYLOAD]
    elif auth.presigned:
        # Spec: presigned URLs sign UNSIGNED-PAYLOAD (S3 style); botocore's
        # generic SigV4QueryAuth signs the hash of the (empty) body instead.
        body_hash = hashlib.sha256(body).hexdigest()
        candidates = [UNSIGNED_PAYLOAD, body_hash]
    else:
        body_hash = hashlib.sha256(body).hexdigest()
        candidates = [body_hash]

    canonical_pairs = [(k, v) for k, v in pairs if not (auth.presigned and unquote(k) == _Q_SIGNATURE)]
    scope = f"{auth.scope_date}/{auth.region}/{auth.service}/{TERMINATOR}"
    key = signing_key(secret, auth.scope_date, auth.region, auth.service)
    provided = auth.signature.encode("utf-8")

    # Steps 4-7.
    matched: str | None = None
    for payload_hash in candidates:
        creq = canonical_request(method, raw_path, canonical_pairs, hdrs, auth.signed_headers, payload_hash, auth.service)
        expected = _signature(key, _string_to_sign(auth.amz_date, scope, creq)).encode("ascii")
        if hmac.compare_digest(expected, provided):
            matched = payload_hash
            break
    if matched is None:
        raise InvalidSignature()

    # The signature covers X-Amz-Content-SHA256, not the body: make sure the
    # body is the one that hash describes.
    payload_signed = matched != UNSIGNED_PAYLOAD and not matched.startswith("STREAMING-UNSIGNED")
    if declared is not None and payload_signed and body is not None and not declared.startswith("STREAMING-"):
        if len(declared) != 64 or not hmac.compare_digest(
            declared.lower().encode("utf-8"), hashlib.sha256(body).hexdigest().encode("ascii")
        ):
            raise InvalidSignature(
                "The provided 'x-amz-content-sha256' header does not match what was computed."
            )

    return VerifiedRequest(
        access_key_id=auth.access_key_id,
        region=auth.region,
        service=auth.service,
        signed_at=auth.signed_at,
        security_token=auth.security_token,
        payload_signed=payload_signed,
        payload_hash=matched,
    )


# --------------------------------------------------------------------------
# Client side
# --------------------------------------------------------------------------


def _host_from_url(parts) -> str:
    """Host header botocore would send: lower-case host, port only if not the
    scheme's default, IPv6 literals in brackets, no userinfo."""
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    if port is not None and port != {"http": 80, "https": 443}.get(parts.scheme):
        host = f"{host}:{port}"
    return host


def sign_request(
    method: str,
    url: str,
    headers: Mapping[str, str] | None,
    body: bytes | str | None,
    access_key_id: str,
    secret: str,
    region: str,
    service: str = "sagemaker",
    now: datetime | None = None,
    *,
    session_token: str | None = None,
) -> dict[str, str]:
    """Sign a request in the header form; return the headers to add.

    Like botocore's ``SigV4Auth.add_auth``: every header given is signed except
    hop-by-hop / tracing ones (``user-agent``, ``expect``, ...), plus ``host``
    and ``x-amz-date``.  ``url`` is the URL as it goes on the wire (path and
    query already percent-encoded).  The result holds ``Authorization``,
    ``X-Amz-Date``, ``Host`` when ``headers`` had none and
    ``X-Amz-Security-Token`` when ``session_token`` is given; the caller must
    send ``headers`` unchanged alongside them (an existing ``Authorization``,
    ``X-Amz-Date`` or ``X-Amz-Security-Token`` must be replaced by these).
    """
    parts = urlsplit(url)
    current = _utc_now(now)
    amz_date = _fmt(current)
    if body is None:
        body = b""
    elif isinstance(body, str):
        body = body.encode("utf-8")

    to_sign: dict[str, str] = {}
    for name, value in _normalise_headers(headers or {}).items():
        if name in _UNSIGNABLE_HEADERS or name in ("authorization", "x-amz-date"):
            continue
        if name == "x-amz-security-token" and session_token is not None:
            continue
        to_sign[name] = value

    added: dict[str, str] = {}
    if "host" not in to_sign:
        to_sign["host"] = added["Host"] = _host_from_url(parts)
    to_sign["x-amz-date"] = added["X-Amz-Date"] = amz_date
    if session_token is not None:
        to_sign["x-amz-security-token"] = added["X-Amz-Security-Token"] = session_token

    names = sorted(to_sign)
    payload_hash = to_sign.get("x-amz-content-sha256") or hashlib.sha256(body).hexdigest()
    date = amz_date[:8]
    scope = f"{date}/{region}/{service}/{TERMINATOR}"
    creq = canonical_request(method, parts.path or "/", _split_query(parts.query), to_sign, names, payload_hash)
    signature = _signature(signing_key(secret, date, region, service), _string_to_sign(amz_date, scope, creq))
    added["Authorization"] = (
        f"{ALGORITHM} Credential={access_key_id}/{scope}, "
        f"SignedHeaders={';'.join(names)}, Signature={signature}"
    )
    return added


def scope_service(authorization: str | None, query_string: str) -> str | None:
    """The service a request's credential scope names (``s3``, ``logs``, ...), read cheaply.

    One endpoint serves every service, so the face is chosen from the scope
    before the request is verified; the face's verification then checks the
    whole signature with that service.  ``None`` when the request is unsigned
    or its credential is malformed (the verification says how).
    """
    credential = None
    if authorization:
        at = authorization.find("Credential=")
        if at >= 0:
            credential = authorization[at + len("Credential="):].split(",", 1)[0].strip()
    elif "X-Amz-Credential=" in query_string:
        for pair in query_string.split("&"):
            if pair.startswith("X-Amz-Credential="):
                credential = unquote(pair[len("X-Amz-Credential="):])
                break
    if not credential:
        return "s3" if not authorization and sigv2.is_presigned(query_string) else None
    parts = credential.split("/")
    return parts[3] if len(parts) == 5 else None
