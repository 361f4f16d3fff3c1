"""Hypothesis strategies for requests to every face Charter serves, from botocore's models.

Which faces and operations: the ones the server itself would load
(:func:`charter.api.app.load_faces` plus the SageMaker gateway), each with the
operations that have a handler (:func:`charter.services.load_all`), in every
protocol the face declares.  A face another module adds is covered as soon as
its ``SPEC`` exists; nothing here names an operation.

What a request is:

* **shaped**: an input document drawn from the operation's input shape, valid
  (every length, range, enum, pattern and required member respected; patterns
  through ``hypothesis.strategies.from_regex`` on the Python translation
  :mod:`charter.api.patterns` makes) or made invalid in one place (a wrong
  type, a missing required member, a length or number out of range, a value
  outside the enum or pattern, a bad timestamp, an unknown member, a null, a
  structure nested thousands deep), serialized by botocore's own serializer
  for the protocol, or, where botocore refuses to write the invalid value,
  encoded raw in the protocol's body format as a client without validation
  would send it; then signed with botocore's SigV4 signer;
* **broken**: a valid request broken on the wire: a malformed body (bad JSON,
  CBOR, XML, form encoding, billion laughs, deep nesting), the wrong
  Content-Type, a missing or garbage ``X-Amz-Target``, a body shorter than its
  Content-Length with the connection closed, a mis-chunked ``aws-chunked``
  upload, a header over 16 KiB, a body over the face's limit, a bad or stale
  signature, no signature at all.

Each :class:`Case` carries what its answer may be (:attr:`Case.expect`), so
the oracle (:mod:`fuzzing.oracle`) can tell a wrong answer from a right one.
"""

from __future__ import annotations

import base64
import json
import math
import re
import string
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Iterable
from unittest import mock
from urllib.parse import urlsplit

import botocore.model
import cbor2
from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest, create_request_object, prepare_request_dict
from botocore.credentials import Credentials
from botocore.serialize import create_serializer
from hypothesis import strategies as st

from charter.api.patterns import compile_pattern

UTC = timezone.utc
REGION = "us-east-1"

#: What an answer may be.
MODELLED = "modelled"  # a modelled 2xx or 4xx
REFUSED = "refused"  # a modelled 4xx: the request is wrong and the server must say so
REFUSED_OR_DROPPED = "refused-or-dropped"  # a 4xx, or no answer (the client hung up first)
HTTP_REFUSED = "http-refused"  # a 4xx, possibly the HTTP server's own (not a face's), or no answer
ANSWERED = "answered"  # a modelled 2xx or 4xx, or the HTTP server's own 4xx (a header too large for it)


@dataclass(frozen=True)
class Target:
    """One face in one of its protocols."""

    service: str  # botocore's service name
    signing_name: str
    protocol: str  # botocore's protocol name
    model: botocore.model.ServiceModel = field(repr=False, compare=False)
    operations: tuple[str, ...] = field(compare=False)
    codes: frozenset[str] = field(repr=False, compare=False)  # every error code the face may answer
    writes: frozenset[str] = field(default=frozenset(), repr=False, compare=False)  # operations that change state

    @property
    def auth(self) -> type[SigV4Auth]:
        return S3SigV4Auth if self.model.signature_version == "s3v4" else SigV4Auth

    @property
    def name(self) -> str:
        return self.service if len(self._protocols()) == 1 else f"{self.service}/{self.protocol}"

    def _protocols(self) -> list[str]:
        return self.model.metadata.get("protocols") or [self.model.protocol]


@dataclass
class Case:
    """One request as bytes on the wire, and what its answer may be."""

    target: Target
    operation: str | None
    kind: str  # "valid", "missing-required", ..., "truncated", "unsigned", ...
    method: str
    path: str  # path and query, as sent
    headers: list[tuple[str, str]]
    body: bytes
    expect: str = MODELLED
    #: Send only the first ``send`` bytes of the body, then close the sending side.
    send: int | None = None
    #: Raw bytes to send instead of the request line, headers and body.
    raw: bytes | None = None
    note: str = ""

    @property
    def signed(self) -> bool:
        return any(name.lower() == "authorization" for name, _ in self.headers)

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    def wire(self, host: str) -> bytes:
        if self.raw is not None:
            return self.raw
        lines = [f"{self.method} {self.path} HTTP/1.1", f"Host: {host}"]
        lines += [f"{k}: {v}" for k, v in self.headers if k.lower() != "host"]
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")
        body = self.body if self.send is None else self.body[: self.send]
        return head + body

    def describe(self, limit: int = 600) -> str:
        shown = self.raw if self.raw is not None else self.body
        text = shown[:limit].decode("utf-8", "backslashreplace")
        if len(shown) > limit:
            text += f"... ({len(shown)} bytes)"
        headers = {k: (v if len(v) < 120 else v[:120] + f"... ({len(v)} chars)") for k, v in self.headers}
        return (
            f"[{self.target.name} {self.operation or '-'} {self.kind}{' ' + self.note if self.note else ''}] "
            f"{self.method} {self.path}\n  headers: {headers}\n  body: {text}"
        )


# ------------------------------------------------------------------ the faces


def discover(only: Iterable[str] | None = None) -> list[Target]:
    """Every face the server loads, in each of its protocols, with its implemented operations."""
    from types import SimpleNamespace

    from charter.api.app import load_faces
    from charter.api.gateway import Gateway

    # A face needs the access layer (and its database) only to answer, not to describe itself.
    access = SimpleNamespace(instance=None)
    faces = {"sagemaker": Gateway(None, access), **load_faces(access)}
    wanted = set(only) if only else None
    generic = _generic_codes()
    targets = []
    for face in faces.values():
        if wanted is not None and face.spec.service not in wanted and face.signing_name not in wanted:
            continue
        operations = tuple(sorted(name for name in face.handlers if name in face.model.operation_names))
        if not operations:
            continue
        codes = set(generic) | _model_codes(face.model) | COMMON_ERRORS | DOCUMENTED_ERRORS.get(face.spec.service, set())
        codes |= {spelling.code for spelling in face.spec.spellings.values()}
        if face.spec.not_implemented is not None:
            codes.add(face.spec.not_implemented("Fuzz").code)
        for protocol in face.protocols:
            writes = frozenset(name for name in operations if face.handlers[name].writes)
            targets.append(Target(face.spec.service, face.signing_name, protocol.name, face.model, operations, frozenset(codes), writes))
    return sorted(targets, key=lambda t: (t.service, t.protocol))


#: The errors every AWS API may answer (AWS's "Common Errors" for query and JSON APIs), whether or
#: not a service's model lists them.
COMMON_ERRORS = frozenset({
    "AccessDeniedException", "AccessDenied", "IncompleteSignature", "IncompleteSignatureException", "InternalFailure",
    "InvalidAction", "InvalidClientTokenId", "InvalidParameterCombination", "InvalidParameterValue",
    "InvalidQueryParameter", "MalformedQueryString", "MissingAction", "MissingAuthenticationToken",
    "MissingAuthenticationTokenException", "MissingParameter", "NotAuthorized", "OptInRequired", "RequestExpired",
    "ServiceUnavailable", "ThrottlingException", "ValidationError", "ValidationException", "SignatureDoesNotMatch",
    "ExpiredToken", "ExpiredTokenException", "InvalidSignatureException", "UnrecognizedClientException",
    "SerializationException", "UnknownOperationException", "RequestEntityTooLarge", "UnsupportedProtocol",
})
#: Errors a service documents but its botocore model does not list (S3 models only a handful).
DOCUMENTED_ERRORS = {
    "s3": frozenset({
        "AccessDenied", "AuthorizationHeaderMalformed", "BadDigest", "BucketAlreadyExists", "BucketAlreadyOwnedByYou",
        "BucketNotEmpty", "EntityTooSmall", "EntityTooLarge", "ExpiredToken", "IncompleteBody", "InternalError",
        "InvalidAccessKeyId", "InvalidArgument", "InvalidBucketName", "InvalidBucketState", "InvalidDigest",
        "InvalidLocationConstraint", "InvalidObjectState", "InvalidPart", "InvalidPartOrder", "InvalidRange",
        "InvalidRequest", "InvalidStorageClass", "InvalidToken", "InvalidURI", "KeyTooLongError", "MalformedXML",
        "MetadataTooLarge", "MethodNotAllowed", "MissingContentLength", "MissingRequestBodyError",
        "MissingSecurityHeader", "NoSuchBucket", "NoSuchBucketPolicy", "NoSuchKey", "NoSuchUpload", "NoSuchVersion",
        "NotImplemented", "PermanentRedirect", "PreconditionFailed", "RequestTimeout", "RequestTimeTooSkewed",
        "SignatureDoesNotMatch", "SlowDown", "TemporaryRedirect", "TooManyBuckets", "UnexpectedContent",
        "XAmzContentSHA256Mismatch", "InvalidChunkSizeError", "NoSuchTagSet", "InvalidTag", "InvalidDigest",
        "BadRequest", "NotModified", "ExternalStoreConfigured", "IllegalLocationConstraintException",
    }),
}


def _generic_codes() -> set[str]:
    from charter.errors import AwsError

    codes, pending = set(), [AwsError]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        code = getattr(cls, "code", None)
        if isinstance(code, str) and code:
            codes.add(code)
    return codes


def _model_codes(model: botocore.model.ServiceModel) -> set[str]:
    codes = set()
    for name in model.shape_names:
        shape = model.shape_for(name)
        if shape.metadata.get("exception"):
            codes.add(name)
            error = shape.metadata.get("error") or {}
            if error.get("code"):
                codes.add(error["code"])
    return codes


# ------------------------------------------------------------------ valid values

_NO_SURROGATES = st.characters(blacklist_categories=("Cs",))
_HEADER_TEXT = st.text(alphabet=string.ascii_letters + string.digits + "-_.~ ", max_size=40)
_SURROGATE = re.compile("[\ud800-\udfff]")
#: Names drawn often, so that Creates and the Describes, Updates and Deletes after them meet.
NAME_POOL = ("fuzz-a", "fuzz-b", "FuzzC", "fuzz-a/1", "arn:aws:sagemaker:us-east-1:123456789012:model-package/fuzz-a/1")
_CAP = 48  # the longest free string drawn, beside each shape's own bounds


def _limit(value, default):
    return default if value is None else value


class ShapeValues:
    """Strategies for valid values of a service model's shapes (memoised per shape and depth)."""

    def __init__(self, max_depth: int = 5):
        self.max_depth = max_depth
        self._cache: dict[tuple, st.SearchStrategy] = {}

    def of(self, shape: botocore.model.Shape, depth: int = 0, location: str | None = None) -> st.SearchStrategy:
        key = (shape.name, min(depth, self.max_depth + 1), location, id(shape.serialization) if location else 0)
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = self._build(shape, depth, location)
        return found

    def _build(self, shape, depth, location) -> st.SearchStrategy:
        kind = shape.type_name
        md = shape.metadata
        if getattr(shape, "is_document_type", False) or md.get("document"):
            leaf = st.none() | st.booleans() | st.integers(-10, 10) | st.text(max_size=8)
            return st.recursive(leaf, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=6)
        if kind == "structure":
            return self._structure(shape, depth)
        if kind == "list":
            lo, hi = _limit(md.get("min"), 0), md.get("max")
            top = lo + (0 if depth >= self.max_depth else 3)
            return st.lists(self.of(shape.member, depth + 1, location), min_size=lo, max_size=min(_limit(hi, top), top))
        if kind == "map":
            lo, hi = _limit(md.get("min"), 0), md.get("max")
            top = lo + (0 if depth >= self.max_depth else 3)
            keys = self.of(shape.key, depth + 1, "header" if location == "headers" else None)
            return st.dictionaries(keys, self.of(shape.value, depth + 1, "header" if location == "headers" else None),
                                   min_size=lo, max_size=min(_limit(hi, top), top))
        if kind == "string":
            return self._string(shape, location)
        if kind in ("integer", "long"):
            bits = 31 if kind == "integer" else 63
            lo, hi = md.get("min"), md.get("max")
            lo = -(2**bits) if lo is None else math.ceil(lo)
            hi = 2**bits - 1 if hi is None else math.floor(hi)
            edges = st.sampled_from(sorted({lo, hi, max(lo, min(hi, 0)), max(lo, min(hi, 1))}))
            return edges | st.integers(lo, hi)
        if kind in ("float", "double"):
            return st.floats(md.get("min"), md.get("max"), allow_nan=False, allow_infinity=False)
        if kind == "boolean":
            return st.booleans()
        if kind == "timestamp":
            return st.datetimes(datetime(1970, 1, 2), datetime(2200, 1, 1), timezones=st.just(UTC)).map(
                lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000))
        if kind == "blob":
            lo, hi = _limit(md.get("min"), 0), md.get("max")
            return st.binary(min_size=lo, max_size=min(_limit(hi, lo + 64), lo + 64))
        return st.none()

    def _structure(self, shape, depth) -> st.SearchStrategy:
        members = shape.members
        if shape.metadata.get("union"):
            if not members or depth >= self.max_depth + 2:
                return st.just({})
            return st.one_of([st.fixed_dictionaries({name: self.of(member, depth + 1, member.serialization.get("location"))})
                              for name, member in members.items()])
        required = set(shape.required_members)
        fixed = {name: self.of(members[name], depth + 1, members[name].serialization.get("location"))
                 for name in members if name in required}
        optional = {}
        if depth < self.max_depth:
            optional = {name: self.of(member, depth + 1, member.serialization.get("location"))
                        for name, member in members.items() if name not in required}
        return st.fixed_dictionaries(fixed, optional=optional)

    def _string(self, shape, location) -> st.SearchStrategy:
        md = shape.metadata
        if md.get("enum"):
            return st.sampled_from(list(md["enum"]))
        lo, hi = _limit(md.get("min"), 0), md.get("max")
        fits = _fits(md)
        if location in ("header", "headers", "querystring"):
            free = _HEADER_TEXT if location != "querystring" else st.text(_NO_SURROGATES, max_size=20)
            free = free.filter(fits) if (lo or hi is not None or md.get("pattern")) else free
            return free
        pool = [name for name in NAME_POOL if fits(name)]
        regex = compile_pattern(md["pattern"]) if md.get("pattern") else None
        if regex is not None:
            try:
                free = st.from_regex(regex, fullmatch=True).filter(fits)
            except Exception:  # a construct hypothesis cannot generate from: fall back to text
                free = _text(lo, hi).filter(fits)
        else:
            free = _text(lo, hi)
            if hi is not None and hi <= 4096:
                free = free | st.just("x" * hi)  # the longest value the shape allows
        return st.sampled_from(pool) | free if pool else free


def _text(lo: int, hi: int | None) -> st.SearchStrategy:
    top = max(lo, min(_limit(hi, _CAP), _CAP)) if hi is None or hi > _CAP else hi
    return st.text(_NO_SURROGATES, min_size=lo, max_size=max(lo, top))


def _fits(md: dict):
    lo, hi = _limit(md.get("min"), 0), md.get("max")
    regex = compile_pattern(md["pattern"]) if md.get("pattern") else None

    def check(value: str) -> bool:
        if not lo <= len(value) <= (hi if hi is not None else len(value)):
            return False
        if _SURROGATE.search(value):
            return False
        return regex is None or regex.fullmatch(value) is not None

    return check


# ------------------------------------------------------------------ invalid values


@dataclass
class Site:
    """A place in an input document where a value can be broken."""

    path: tuple  # keys and list indexes from the document's root
    shape: botocore.model.Shape
    parent: botocore.model.Shape | None  # the structure holding it, when it is a member
    name: str | None


def sites(shape, value, path=(), parent=None, name=None) -> list[Site]:
    out = [Site(path, shape, parent, name)] if path else []
    kind = shape.type_name
    if getattr(shape, "is_document_type", False) or shape.metadata.get("document"):
        return out
    if kind == "structure" and isinstance(value, dict):
        for member_name, member in shape.members.items():
            if member_name in value:
                out += sites(member, value[member_name], path + (member_name,), shape, member_name)
    elif kind == "list" and isinstance(value, list):
        for index, item in enumerate(value[:3]):
            out += sites(shape.member, item, path + (index,), None, None)
    elif kind == "map" and isinstance(value, dict):
        for key in list(value)[:3]:
            out += sites(shape.value, value[key], path + (key,), None, None)
    return out


class Deep:
    """A value nested ``depth`` levels deep, written out by the encoder (no recursion on our side)."""

    def __init__(self, depth: int, container: str = "list"):
        self.depth, self.container = depth, container


@dataclass
class Mutation:
    kind: str
    path: tuple
    value: object  # the new value; _DELETE removes the member
    must_refuse: bool  # a 2xx for this is a validation miss in any protocol
    typed: bool = False  # a wrong JSON type: refused where the body carries JSON types (json, cbor)


_DELETE = object()
_BAD_TIMESTAMPS = ("not-a-timestamp", "2020-02-30T00:00:00Z", "2020-13-01", "", "1e400", "99999999999999999999", "T", "--")


def mutations(site: Site, uri_member: bool) -> list[Mutation]:
    """Every way of breaking the value at ``site`` this module knows for its shape."""
    shape, md, path = site.shape, site.shape.metadata, site.path
    kind = shape.type_name
    found: list[Mutation] = []
    strict = not uri_member  # a uri label that changes may address another operation

    def add(name, value, refuse=False, typed=False):
        found.append(Mutation(name, path, value, refuse and strict, typed and strict))

    wrong = {"string": [12, True, [], {}], "integer": ["12", 1.5, True, []], "long": ["12", 2.5, {}],
             "float": ["1.5", [], True], "double": ["x", {}], "boolean": ["true", 1, []],
             "timestamp": [True, [], {}], "blob": [12, [], True], "list": ["x", 3, {}],
             "map": ["x", [1], 2], "structure": ["x", [1], 7]}
    for value in wrong.get(kind, []):
        add("wrong-type", value, typed=True)
    if kind == "string":
        lo, hi = _limit(md.get("min"), 0), md.get("max")
        if hi is not None and hi <= 300_000:
            add("too-long", "a" * (hi + 1), refuse=True)
        if lo > 0:
            add("too-short", "a" * (lo - 1), refuse=True)
        if md.get("enum"):
            add("bad-enum", "NotAnEnumValue", refuse=True)
        regex = compile_pattern(md["pattern"]) if md.get("pattern") else None
        if regex is not None:
            for candidate in ("!!", " ", "\x00", "a b/../c", "\u00e9\u4e2d", "-" * max(lo, 1)):
                if regex.fullmatch(candidate) is None and lo <= len(candidate) <= _limit(hi, 1 << 30):
                    add("bad-pattern", candidate, refuse=True)
                    break
    elif kind in ("integer", "long", "float", "double"):
        lo, hi = md.get("min"), md.get("max")
        if hi is not None:
            add("out-of-range", hi + 1, refuse=True)
        if lo is not None:
            add("out-of-range", lo - 1, refuse=True)
        if kind == "integer":
            add("out-of-range", 2**31, typed=True)
        if kind in ("integer", "long"):
            add("out-of-range", 2**63, typed=True)
            add("out-of-range", -(2**64), typed=True)
        add("non-finite", float("inf"))
        add("non-finite", float("nan"))
    elif kind == "timestamp":
        for value in _BAD_TIMESTAMPS:
            add("bad-timestamp", value, typed=True)
        add("bad-timestamp", 1e20, typed=True)
        add("bad-timestamp", -1e20, typed=True)
    elif kind == "blob":
        add("bad-base64", "not base64!!", typed=True)
        hi = md.get("max")
        if hi is not None and hi <= 1 << 20:
            add("too-long", b"b" * (hi + 1), refuse=True)
    elif kind == "list":
        lo, hi = _limit(md.get("min"), 0), md.get("max")
        if hi is not None and hi <= 1000:
            filler = _filler(shape.member)
            if filler:
                add("too-many", filler * (hi + 1), refuse=True)
        if lo > 0:
            add("too-few", [], refuse=True)
        add("null-element", [None])
    elif kind == "map":
        key = shape.key
        if key.metadata.get("enum") or key.metadata.get("pattern") or key.metadata.get("max") is not None:
            bad = "!" * (key.metadata.get("max", 0) + 1)
            add("bad-map-key", {bad: None}, refuse=False)
        add("null-value", {"k": None})
    elif kind == "structure":
        add("unknown-member", {"FuzzUnknownMember": 1})
        for required in shape.required_members:
            found.append(Mutation("missing-required", path + (required,), _DELETE, strict))
    if site.parent is not None:
        # A null required member is refused where the body carries nulls; a form writes it as empty.
        add("null", None, typed=site.name in site.parent.required_members)
        if kind in ("structure", "list", "map"):
            add("deep-nesting", Deep(5000, "list" if kind != "structure" else "object"))
            add("deep-nesting", Deep(400, "object"))
    return found


def _filler(shape) -> list:
    """A one-element list of some valid-looking value of ``shape`` (for too-many mutations)."""
    kind = shape.type_name
    if kind == "string":
        enum = shape.metadata.get("enum")
        return [enum[0] if enum else "x" * max(1, _limit(shape.metadata.get("min"), 1))]
    if kind in ("integer", "long"):
        return [_limit(shape.metadata.get("min"), 1)]
    if kind == "structure":
        # Its required members filled (a form drops an empty structure, so it must hold something).
        names = list(shape.required_members) or list(shape.members)[:1]
        item = {}
        for name in names:
            value = _filler(shape.members[name]) if shape.members[name].type_name != "structure" else []
            if not value:
                return []
            item[name] = value[0]
        return [item]
    return []


def top_level_mutations(shape) -> list[Mutation]:
    """Breaks of the input document itself: each required member missing, an unknown member."""
    if shape is None:
        return [Mutation("unknown-member", ("FuzzUnknownMember",), 1, False)]
    found = [Mutation("missing-required", (name,), _DELETE, True) for name in shape.required_members]
    found.append(Mutation("unknown-member", ("FuzzUnknownMember",), 1, False))
    return found


def apply(document, mutation: Mutation):
    """A copy of ``document`` with ``mutation`` applied."""
    copy = json_copy(document)
    *parents, last = mutation.path
    node = copy
    for key in parents:
        node = node[key]
    if mutation.value is _DELETE:
        if isinstance(node, dict):
            node.pop(last, None)
    elif isinstance(node, list) and isinstance(last, int):
        node[last] = mutation.value
    else:
        node[last] = mutation.value
    return copy


def json_copy(value):
    if isinstance(value, dict):
        return {k: json_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_copy(v) for v in value]
    return value


# ------------------------------------------------------------------ encoding and signing


@dataclass
class Keys:
    access_key: str
    secret_key: str


def _raw_json(document) -> bytes:
    deep: list[Deep] = []

    def default(value):
        if isinstance(value, datetime):
            return value.timestamp()
        if isinstance(value, (bytes, bytearray)):
            return base64.b64encode(value).decode()
        if isinstance(value, Deep):
            deep.append(value)
            return f"\x00deep{len(deep) - 1}\x00"
        raise TypeError(type(value).__name__)

    text = json.dumps(document, default=default)
    for index, value in enumerate(deep):
        opener, closer = ("[", "]") if value.container == "list" else ('{"a":', "}")
        text = text.replace(f'"\\u0000deep{index}\\u0000"', opener * value.depth + "1" + closer * value.depth)
    return text.encode()


def _raw_cbor(document) -> bytes:
    deep: list[Deep] = []

    def default(encoder, value):
        if isinstance(value, Deep):
            deep.append(value)
            encoder.encode(f"\x00deep{len(deep) - 1}\x00")
            return
        raise TypeError(type(value).__name__)

    data = cbor2.dumps(document, default=default, datetime_as_timestamp=True, timezone=UTC)
    for index, value in enumerate(deep):
        marker = cbor2.dumps(f"\x00deep{index}\x00")
        nested = (b"\x81" * value.depth + b"\x01") if value.container == "list" else (b"\xa1\x61a" * value.depth + b"\x01")
        data = data.replace(marker, nested)
    return data


def _has_deep(value) -> bool:
    if isinstance(value, Deep):
        return True
    if isinstance(value, dict):
        return any(_has_deep(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_deep(v) for v in value)
    return False


class Encoder:
    """Turns an input document into a signed :class:`Case` for one target."""

    def __init__(self, target: Target, endpoint: str, credentials: Keys):
        self.target = target
        self.endpoint = endpoint.rstrip("/")
        self.credentials = credentials
        self.serializer = create_serializer(target.protocol, include_validation=False)

    def request(self, operation: str, document: dict, *, kind: str, expect: str, raw: bool = False, note: str = "") -> Case | None:
        """The signed request for ``document`` (``raw``: the body written as-is, not by botocore)."""
        op_model = self.target.model.operation_model(operation)
        body_override = None
        if raw or _has_deep(document):
            if self.target.protocol == "json":
                body_override = _raw_json(document)
            elif self.target.protocol == "smithy-rpc-v2-cbor":
                body_override = _raw_cbor(document)
            else:
                return None  # no raw form of a wrong type in a header, label or form field
            document = {}
        try:
            request_dict = self.serializer.serialize_to_request(document, op_model)
            if not all(isinstance(v, (str, bytes)) for v in request_dict["headers"].values()):
                # botocore's REST serializers pass a wrong-typed header member through unconverted.
                raise TypeError("a header value is not text")
        except Exception:
            if self.target.protocol not in ("json", "smithy-rpc-v2-cbor"):
                return None
            return self.request(operation, document, kind=kind, expect=expect, raw=True, note=note)
        if body_override is not None:
            request_dict["body"] = body_override
        prepare_request_dict(request_dict, endpoint_url=self.endpoint, user_agent="charter-fuzz/1")
        aws_request = create_request_object(request_dict)
        return self.signed(aws_request, operation, kind, expect, note)

    def signed(self, aws_request: AWSRequest, operation: str | None, kind: str, expect: str, note: str = "", *,
               secret: str | None = None, signing_name: str | None = None, when: datetime | None = None) -> Case:
        creds = Credentials(self.credentials.access_key, secret or self.credentials.secret_key)
        auth = self.target.auth(creds, signing_name or self.target.signing_name, REGION)
        if when is None:
            auth.add_auth(aws_request)
        else:
            with mock.patch("botocore.auth.get_current_datetime", return_value=when):  # SigV4Auth's clock
                auth.add_auth(aws_request)
        return self.case(aws_request.prepare(), operation, kind, expect, note)

    def case(self, prepared, operation, kind, expect, note="") -> Case:
        parts = urlsplit(prepared.url)
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        body = prepared.body or b""
        if isinstance(body, str):
            body = body.encode()
        elif not isinstance(body, bytes):
            body = body.read()
        headers = [(k, v.decode() if isinstance(v, bytes) else str(v)) for k, v in prepared.headers.items()]
        headers = [(k, v) for k, v in headers if k.lower() not in ("content-length", "host", "transfer-encoding")]
        headers.append(("Content-Length", str(len(body))))
        if any(_HEADER_NAME.fullmatch(k) is None for k, _ in headers):
            # A map member written as headers (S3's x-amz-meta-*) can draw a name HTTP does
            # not allow; the HTTP server refuses it before any face sees it, as S3's would.
            expect = HTTP_REFUSED
        return Case(self.target, operation, kind, prepared.method, path, headers, body, expect, note=note)

    def resign(self, case: Case, *, body: bytes | None = None, headers: list[tuple[str, str]] | None = None,
               kind: str, expect: str, note: str = "", **sign) -> Case:
        """``case`` with a new body or headers, signed again (so the break is not caught by SigV4 first)."""
        body = case.body if body is None else body
        headers = case.headers if headers is None else headers
        kept = {k: v for k, v in headers if k.lower() not in _AUTH_HEADERS}
        request = AWSRequest(method=case.method, url=f"{self.endpoint}{case.path}", data=body, headers=kept)
        return self.signed(request, case.operation, kind, expect, note, **sign)


_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # an RFC 9110 token
_AUTH_HEADERS = frozenset({"authorization", "x-amz-date", "x-amz-content-sha256", "x-amz-security-token", "content-length"})


# ------------------------------------------------------------------ strategies


def _uri_members(op_model) -> set[str]:
    shape = op_model.input_shape
    if shape is None:
        return set()
    return {name for name, member in shape.members.items() if member.serialization.get("location") in ("uri", "header", "headers", "querystring")}


@st.composite
def shaped(draw, target: Target, encoder: Encoder, values: ShapeValues) -> Case:
    """A request of one implemented operation: valid, or made invalid in one place."""
    operation = draw(st.sampled_from(target.operations))
    op_model = target.model.operation_model(operation)
    shape = op_model.input_shape
    document = draw(values.of(shape)) if shape is not None else {}
    if draw(st.integers(0, 2)) == 0:  # a third valid
        case = encoder.request(operation, document, kind="valid", expect=MODELLED)
        if case is None:
            from hypothesis import reject

            reject()
        return case
    located = _uri_members(op_model) if target.protocol.startswith("rest") else set()
    choices = top_level_mutations(shape)
    if shape is not None:
        for site in sites(shape, document):
            choices += mutations(site, uri_member=bool(site.path) and site.path[0] in located)
    mutation = draw(st.sampled_from(choices))
    broken = apply(document, mutation)
    typed_body = target.protocol in ("json", "smithy-rpc-v2-cbor")
    refuse = mutation.must_refuse or (mutation.typed and typed_body)
    case = encoder.request(operation, broken, kind=mutation.kind, expect=REFUSED if refuse else MODELLED,
                           raw=mutation.typed and typed_body, note="/".join(map(str, mutation.path)))
    if case is None:
        from hypothesis import reject

        reject()
    return case


#: Bodies no parser of the protocol should read as a valid request.
MALFORMED = {
    "json": [b"{", b'{"a":}', b"[1, 2]", b"null", b"17", b'"text"', b"\xff\xfe\x00{", b'{"a": NaN', b"{}}",
             b"[" * 100_000, b"{\"a\":" * 100_000, b"<xml/>"],
    "smithy-rpc-v2-cbor": [b"\xff", b"\xa1", b"\x9f\x01", b"\x81" * 100_000, b"\xbf\x61a", b"\x1b\x00", b"{}",
                           b"\xa1\x63abc\xfb\x7f\xf8\x00\x00", b"\xd9\xd9\xf7"],
    "query": [b"Action", b"Action=&&==&", b"%zz=%", b"Action=Fuzz&Version=1", b"\xff\xfe=\xff", b"Action=" + b"A" * 70_000],
    "rest-xml": [b"<", b"<a><b></a>", b"\xff\xfe<", b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
                 b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">'
                 b'<!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;"><!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">]><l>&e;&e;&e;</l>',
                 b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY x SYSTEM "file:///etc/passwd">]><x>&x;</x>',
                 b"<a>" * 20_000],
    "rest-json": [b"{", b"[]", b"\xff", b"[" * 100_000],
}
#: Bodies that are well-formed but odd: the answer may be a 2xx or a 4xx.
ODD = {
    "json": [b'{"a":"\\ud800"}', b'{"a": 1e99999}', b'{"a": -0.0, "a": 2}', b' \t\r\n{}\n', b'{"a":"\\u0000"}',
             b'\xef\xbb\xbf{}'],
    "smithy-rpc-v2-cbor": [b"\xa0", b"\xbf\xff", b"\xa1\x61a\xf9\x7c\x00", b"\xd8\x20\x61a"],
    "query": [b"", b"Version=2010-08-01", b"a=1&a=2&b"],
}
_CONTENT_TYPES = ("text/plain", "application/json", "application/xml", "application/cbor", "", "multipart/form-data; boundary=x",
                  "application/x-www-form-urlencoded")


def _body_carries_input(target: Target, op_model) -> bool:
    if target.protocol in ("json", "smithy-rpc-v2-cbor", "query"):
        return True
    shape = op_model.input_shape
    return shape is not None and any(m.serialization.get("location") is None for m in shape.members.values())


@st.composite
def broken(draw, target: Target, encoder: Encoder, values: ShapeValues) -> Case:
    """A valid request broken on the wire in one way."""
    operation = draw(st.sampled_from(target.operations))
    op_model = target.model.operation_model(operation)
    document = draw(values.of(op_model.input_shape)) if op_model.input_shape is not None else {}
    case = encoder.request(operation, document, kind="valid", expect=MODELLED)
    if case is None:
        from hypothesis import reject

        reject()
    carries = _body_carries_input(target, op_model)
    kinds = ["malformed-body", "odd-body", "content-type", "truncated", "truncated-headers", "oversized-header", "oversized-body",
             "bad-signature", "wrong-secret", "unknown-key", "other-service", "stale-date", "unsigned", "bad-content-length",
             "bad-http-chunks"]
    if target.protocol == "json":
        kinds += ["no-target", "garbage-target"]
    if _streams_body(op_model):
        kinds += ["mis-chunked"]
    kind = draw(st.sampled_from(kinds))
    if kind == "malformed-body":
        body = draw(st.sampled_from(MALFORMED.get(target.protocol, [b"\xff"])))
        return encoder.resign(case, body=body, kind=kind, expect=REFUSED if carries else MODELLED)
    if kind == "odd-body":
        body = draw(st.sampled_from(ODD.get(target.protocol, [b""])) | st.binary(min_size=1, max_size=64))
        return encoder.resign(case, body=body, kind=kind, expect=MODELLED)
    if kind == "content-type":
        value = draw(st.sampled_from(_CONTENT_TYPES))
        headers = [(k, v) for k, v in case.headers if k.lower() != "content-type"] + [("Content-Type", value)]
        return encoder.resign(case, headers=headers, kind=kind, expect=MODELLED, note=value)
    if kind == "no-target":
        headers = [(k, v) for k, v in case.headers if k.lower() != "x-amz-target"]
        return encoder.resign(case, headers=headers, kind=kind, expect=REFUSED)
    if kind == "garbage-target":
        value = draw(st.sampled_from(["", "SageMaker.", "Nope.ListThings", target.model.metadata.get("targetPrefix", "X") + ".Fuzz",
                                      "a" * 300, "\u00e9.x"]))
        headers = [(k, v) for k, v in case.headers if k.lower() != "x-amz-target"] + [("X-Amz-Target", value)]
        return encoder.resign(case, headers=headers, kind=kind, expect=REFUSED, note=value)
    if kind == "truncated":
        if not case.body:
            case = encoder.resign(case, body=b'{"a": "' + b"z" * 100 + b'"}', kind=kind, expect=MODELLED)
        cut = draw(st.integers(0, max(0, len(case.body) - 1)))
        return replace(case, kind=kind, send=cut, expect=REFUSED_OR_DROPPED, note=f"{cut} of {len(case.body)} bytes")
    if kind == "truncated-headers":
        data = case.wire(urlsplit(encoder.endpoint).netloc)
        head_end = data.find(b"\r\n\r\n")
        cut = draw(st.integers(1, max(1, head_end)))
        return replace(case, kind=kind, raw=data[:cut], expect=HTTP_REFUSED, send=0, note=f"{cut} header bytes")
    if kind == "oversized-header":
        size = draw(st.sampled_from([16 * 1024 + 1, 40 * 1024, 70 * 1024]))
        headers = case.headers + [("X-Fuzz-Pad", "p" * size)]
        signed = draw(st.booleans())
        if signed:
            return encoder.resign(case, headers=headers, kind=kind, expect=ANSWERED, note=str(size))
        return replace(case, headers=headers, kind=kind, expect=ANSWERED, note=f"{size} unsigned-extra")
    if kind == "oversized-body":
        size = draw(st.sampled_from([6 << 20, 12 << 20]))
        if target.protocol == "json":
            body = b'{"FuzzPad": "' + b"p" * size + b'"}'
        else:
            body = b"p" * size
        return encoder.resign(case, body=body, kind=kind, expect=REFUSED if carries and target.protocol != "json" else MODELLED, note=str(size))
    if kind == "bad-signature":
        headers = [(k, _flip_signature(v) if k.lower() == "authorization" else v) for k, v in case.headers]
        return replace(case, headers=headers, kind=kind, expect=REFUSED)
    if kind == "wrong-secret":
        return encoder.resign(case, kind=kind, expect=REFUSED, secret="not-the-secret-key-0000000000000000000000")
    if kind == "unknown-key":
        fake = Encoder(target, encoder.endpoint, Keys("AKIAFUZZUNKNOWNKEY00", "x" * 40))
        return fake.resign(case, kind=kind, expect=REFUSED)
    if kind == "other-service":
        name = draw(st.sampled_from(["sts", "s3", "logs", "iam", "monitoring", "sagemaker", "nosuchservice"]))
        # Signed for another service, the request is that face's (or the unknown path's) to answer.
        expect = MODELLED
        return encoder.resign(case, kind=kind, expect=expect, signing_name=name, note=name)
    if kind == "stale-date":
        minutes = draw(st.sampled_from([-60 * 24, -20, 20, 60 * 24 * 365]))
        when = datetime.now(UTC) + timedelta(minutes=minutes)
        return encoder.resign(case, kind=kind, expect=REFUSED, when=when, note=f"{minutes} min")
    if kind == "unsigned":
        headers = [(k, v) for k, v in case.headers if k.lower() not in ("authorization", "x-amz-security-token")]
        return replace(case, headers=headers, kind=kind, expect=REFUSED)
    if kind == "bad-content-length":
        value = draw(st.sampled_from(["abc", "-1", "1, 2", "99999999999999999999999"]))
        headers = [(k, v) for k, v in case.headers if k.lower() != "content-length"] + [("Content-Length", value)]
        return replace(case, headers=headers, kind=kind, expect=HTTP_REFUSED, note=value)
    if kind == "bad-http-chunks":
        chunked = draw(st.sampled_from([b"zz\r\nabc\r\n0\r\n\r\n", b"5\r\nab\r\n0\r\n\r\n", b"3\r\nabc", b"-1\r\n\r\n"]))
        headers = [(k, v) for k, v in case.headers if k.lower() != "content-length"] + [("Transfer-Encoding", "chunked")]
        return replace(case, headers=headers, body=chunked, kind=kind, expect=HTTP_REFUSED, send=len(chunked))
    # mis-chunked aws-chunked upload (faces with a streaming payload)
    return _mis_chunked(draw, case, encoder)


def _flip_signature(value: str) -> str:
    head, _, signature = value.rpartition("Signature=")
    if not signature:
        return value + "x"
    flipped = ("0" if signature[0] != "0" else "1") + signature[1:]
    return f"{head}Signature={flipped}"


def _streams_body(op_model) -> bool:
    shape = op_model.input_shape
    payload = shape.serialization.get("payload") if shape is not None else None
    return bool(payload and shape.members[payload].type_name == "blob" and shape.members[payload].serialization.get("streaming"))


def _mis_chunked(draw, case: Case, encoder: Encoder) -> Case:
    """An ``aws-chunked`` body (as boto3 sends flexible checksums) with its framing broken."""
    data = b"fuzz-object-data-" * 8
    good = f"{len(data):x}\r\n".encode() + data + b"\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n"
    variant = draw(st.sampled_from(["size-too-big", "size-not-hex", "no-final-chunk", "bad-trailer", "bad-checksum", "length-lies"]))
    body = {
        "size-too-big": f"{len(data) + 50:x}\r\n".encode() + data + b"\r\n0\r\n\r\n",
        "size-not-hex": b"zz\r\n" + data + b"\r\n0\r\n\r\n",
        "no-final-chunk": f"{len(data):x}\r\n".encode() + data + b"\r\n",
        "bad-trailer": f"{len(data):x}\r\n".encode() + data + b"\r\n0\r\nnot a trailer\r\n\r\n",
        "bad-checksum": good,
        "length-lies": good,
    }[variant]
    decoded = len(data) + (7 if variant == "length-lies" else 0)
    headers = [(k, v) for k, v in case.headers if k.lower() not in ("content-md5", "x-amz-checksum-crc32", "content-encoding")]
    headers += [("Content-Encoding", "aws-chunked"), ("X-Amz-Decoded-Content-Length", str(decoded)),
                ("X-Amz-Trailer", "x-amz-checksum-crc32"), ("X-Amz-Content-SHA256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER")]
    kept = {k: v for k, v in headers if k.lower() not in ("authorization", "x-amz-date", "content-length")}
    request = AWSRequest(method=case.method, url=f"{encoder.endpoint}{case.path}", data=body, headers=kept)
    # S3SigV4Auth keeps an X-Amz-Content-SHA256 the caller set, as botocore does for streaming uploads.
    return encoder.signed(request, case.operation, "mis-chunked", REFUSED_OR_DROPPED, variant)


def any_case(target: Target, encoder: Encoder, values: ShapeValues) -> st.SearchStrategy:
    return st.one_of(shaped(target, encoder, values), shaped(target, encoder, values), broken(target, encoder, values))
