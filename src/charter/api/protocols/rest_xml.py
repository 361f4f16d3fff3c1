"""AWS REST-XML (S3), driven by botocore's service model.

An operation is addressed by its HTTP method and ``requestUri`` pattern
(``/{Bucket}/{Key+}?uploads``); its input members come from where their
``location`` trait says (``uri``, ``querystring``, ``header``, ``headers`` for
a prefix map such as ``x-amz-meta-*``) or from the payload: an XML document
read through the shape's ``xmlName`` / ``flattened`` / ``xmlNamespace``
traits, or, for a streaming blob (S3's ``Body``), the request's
:class:`~charter.api.wire.BodyStream`, handed over unread.  The members are
gathered into the JSON-shaped document :func:`charter.api.shapes.parse_input`
validates, so constraint violations read the same in every protocol.

The answer is the mirror image: header members as headers (timestamps in RFC
822 unless the member says otherwise), the ``statusCode`` member as the HTTP
status, and the rest as an XML document the way botocore's ``RestXMLParser``
reads it (or the streamed payload).  Errors are S3's
``<Error><Code>..</Code><Message>..</Message>...</Error>``; an answer to a
HEAD request carries no body, and botocore then takes the code from the
status (``404``), as it does against S3.

Choosing among operations that share a method and path (S3 has several:
PutObject, CopyObject, UploadPart and UploadPartCopy are all
``PUT /{Bucket}/{Key+}``): every literal query key of the pattern must be
present, and so must every required query-string and header member; among
the operations left, the one that names the most of them wins (so a request
with ``x-amz-copy-source`` and ``uploadId`` is UploadPartCopy), deprecated
operations last.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import threading
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any, Iterable
from urllib.parse import parse_qsl, unquote

import botocore.model

from ...errors import AwsError, SerializationException, UnknownOperationException, ValidationException
from .. import shapes
from ..wire import BodyStream, WireRequest, WireResponse
from . import Protocol

#: The largest XML request document read (DeleteObjects' 1,000 keys of 1,024 bytes fit).
MAX_XML_BODY = 4 << 20

_UTC = timezone.utc


class MaxMessageLengthExceeded(AwsError):
    code = "MaxMessageLengthExceeded"
    status = 400


@dataclass
class _Route:
    operation: botocore.model.OperationModel
    path: re.Pattern
    labels: list[str]  # uri member names, in the order of the pattern's groups
    literals: dict[str, str | None]  # literal query keys of the requestUri (value None: any)
    required_query: list[str]  # query-string names of required members
    required_headers: list[str]  # lower-case header names of required members
    deprecated: bool


def _compile_path(pattern: str) -> tuple[re.Pattern, list[str]]:
    labels: list[str] = []
    regex = ""
    position = 0
    for match in re.finditer(r"\{([A-Za-z0-9_]+)(\+?)\}", pattern):
        regex += re.escape(pattern[position : match.start()])
        labels.append(match.group(1))
        regex += "(.+)" if match.group(2) else "([^/]+)"
        position = match.end()
    regex += re.escape(pattern[position:])
    greedy = pattern.endswith("+}")
    if not greedy and regex != "/":
        regex += "/?"  # S3 answers /bucket/ as it answers /bucket
    return re.compile(f"^{regex}$", re.DOTALL), labels


def _route(operation: botocore.model.OperationModel) -> _Route:
    uri = operation.http.get("requestUri", "/")
    path, _, query = uri.partition("?")
    literals: dict[str, str | None] = {}
    for part in filter(None, query.split("&")):
        key, sep, value = part.partition("=")
        literals[key] = value if sep else None
    regex, labels = _compile_path(path)
    required_query: list[str] = []
    required_headers: list[str] = []
    shape = operation.input_shape
    if shape is not None:
        for name in shape.required_members:
            member = shape.members[name]
            where = member.serialization.get("location")
            if where == "querystring":
                required_query.append(member.serialization.get("name", name))
            elif where == "header":
                required_headers.append(member.serialization.get("name", name).lower())
    return _Route(
        operation, regex, labels, literals, required_query, required_headers, bool(operation.metadata.get("deprecated"))
    )


# Which protocol method is handling which request, per thread: an error answer to a HEAD has no
# body, and Protocol.error is not told the request.
_current = threading.local()


class RestXmlProtocol(Protocol):
    name = "rest-xml"

    def __init__(self, model: botocore.model.ServiceModel):
        super().__init__(model)
        self.routes = [_route(model.operation_model(name)) for name in model.operation_names]
        self.by_method: dict[str, list[tuple[int, _Route]]] = {}
        for order, route in enumerate(self.routes):
            self.by_method.setdefault(route.operation.http.get("method"), []).append((order, route))
        namespace = model.metadata.get("xmlNamespace")
        self.namespace = namespace.get("uri") if isinstance(namespace, dict) else namespace

    # --- addressing ------------------------------------------------------------------

    def recognizes(self, request: WireRequest) -> bool:
        _current.method, _current.request = request.method, request
        return "x-amz-target" not in request.headers

    def path_of(self, request: WireRequest) -> str:
        """The request's path as the model's ``requestUri`` patterns see it (still encoded)."""
        return request.path or "/"

    def operation(self, request: WireRequest) -> botocore.model.OperationModel:
        _current.method, _current.request = request.method, request
        route, _ = self._match(request)
        return route.operation

    def _match(self, request: WireRequest) -> tuple[_Route, list[str]]:
        cached = getattr(_current, "match", None)
        if cached is not None and cached[0] is request:  # operation() matched it; parse() asks again
            return cached[1]
        matched = self._find(request)
        _current.match = (request, matched)
        return matched

    def _find(self, request: WireRequest) -> tuple[_Route, list[str]]:
        path = self.path_of(request)
        query = _query(request.query_string)
        best: tuple[tuple, _Route, list[str]] | None = None
        for order, route in self.by_method.get(request.method, ()):
            found = route.path.match(path)
            if found is None:
                continue
            if any(key not in query or (value is not None and value not in query[key]) for key, value in route.literals.items()):
                continue
            if any(key not in query for key in route.required_query):
                continue
            if any(name not in request.headers for name in route.required_headers):
                continue
            score = len(route.literals) + len(route.required_query) + len(route.required_headers)
            rank = (score, not route.deprecated, -order)
            if best is None or rank > best[0]:
                best = (rank, route, list(found.groups()))
        if best is None:
            raise UnknownOperationException(
                f"No {self.model.metadata.get('serviceId', self.model.service_name)} operation answers "
                f"{request.method} {path}{'?' + request.query_string if request.query_string else ''}."
            )
        return best[1], best[2]

    # --- input -----------------------------------------------------------------------

    def parse(self, request: WireRequest, operation: botocore.model.OperationModel) -> dict:
        shape = operation.input_shape
        if shape is None:
            return {}
        route, groups = self._match(request)
        labels = dict(zip(route.labels, groups))
        query = _query(request.query_string)
        document: dict[str, Any] = {}
        stream_member: str | None = None
        raw_payload = False
        payload_name = shape.serialization.get("payload")
        body_members: dict[str, botocore.model.Shape] = {}
        for name, member in shape.members.items():
            where = member.serialization.get("location")
            wire_name = member.serialization.get("name", name)
            if where == "uri":
                if wire_name in labels:
                    document[name] = unquote(labels[wire_name])
            elif where == "querystring":
                if member.type_name == "map":
                    taken = {k for r in (route.literals,) for k in r}
                    document[name] = {k: v[-1] for k, v in query.items() if k not in taken}
                elif wire_name in query:
                    values = query[wire_name]
                    document[name] = (
                        [_scalar_in(member.member, v, f"query parameter '{wire_name}'") for v in values]
                        if member.type_name == "list"
                        else _scalar_in(member, values[-1], f"query parameter '{wire_name}'", "iso8601")
                    )
            elif where == "header":
                if wire_name.lower() in request.headers:
                    document[name] = _header_in(member, request.headers[wire_name.lower()], wire_name)
            elif where == "headers":
                prefix = wire_name.lower()
                found = {k[len(prefix) :]: v for k, v in request.headers.items() if k.startswith(prefix) and len(k) > len(prefix)}
                if found:
                    document[name] = found
            elif where == "statusCode":
                continue
            elif name == payload_name:
                if member.type_name in ("blob", "string"):
                    stream_member = name  # a streaming blob is handed over unread; any other is read whole
                    raw_payload = not member.serialization.get("streaming")
                else:
                    body_members[name] = member
            else:
                body_members[name] = member
        if body_members:
            raw = self._body(request)
            if raw.strip():
                root = _parse_xml(raw)
                if payload_name and payload_name in body_members:
                    document[payload_name] = _xml_in(body_members[payload_name], root)
                else:
                    document.update(_xml_in_members(body_members, root))
        params = shapes.parse_input(operation, document)
        if stream_member is not None:
            if raw_payload:
                data = self._body(request)
                if data:
                    member = shape.members[stream_member]
                    params[stream_member] = data if member.type_name == "blob" else data.decode("utf-8", "replace")
            else:
                params[stream_member] = self.body_stream(request)
        return params

    def body_stream(self, request: WireRequest) -> BodyStream:
        """The request's body as the handler reads it (S3 decodes ``aws-chunked`` here)."""
        return request.stream if request.stream is not None else BodyStream.of(request.body)

    def _body(self, request: WireRequest) -> bytes:
        if request.stream is None:
            data = request.body
        else:
            data = self.body_stream(request).read(MAX_XML_BODY + 1)
        if len(data) > MAX_XML_BODY:
            raise MaxMessageLengthExceeded(f"Your request was too big: the XML document may be at most {MAX_XML_BODY} bytes.")
        return data

    # --- output ----------------------------------------------------------------------

    def status_of(self, operation: botocore.model.OperationModel, output: dict) -> int:
        return int(operation.http.get("responseCode", 200))

    def root_name(self, operation: botocore.model.OperationModel, shape: botocore.model.Shape) -> str:
        return shape.serialization.get("name") or shape.name

    def respond(self, operation: botocore.model.OperationModel, output: dict, request_id: str) -> WireResponse:
        headers = self.base_headers(request_id)
        status = self.status_of(operation, output or {})
        shape = operation.output_shape
        body: bytes | Iterable[bytes] = b""
        if shape is None or not output:
            return WireResponse(status, body, headers)
        payload_name = shape.serialization.get("payload")
        body_members: dict[str, botocore.model.Shape] = {}
        for name, member in shape.members.items():
            value = output.get(name)
            where = member.serialization.get("location")
            wire_name = member.serialization.get("name", name)
            if where == "header":
                if value is not None:
                    headers[wire_name.lower()] = _header_out(member, value)
            elif where == "headers":
                for key, item in (value or {}).items():
                    headers[f"{wire_name.lower()}{key}"] = str(item)
            elif where == "statusCode":
                if value is not None:
                    status = int(value)
            elif name == payload_name:
                if value is None:
                    continue
                if member.type_name == "structure":
                    body = _document(_xml_out(member, value, member.serialization.get("name", name), self.namespace))
                    headers["content-type"] = "application/xml"
                elif isinstance(value, (bytes, bytearray)):
                    body = bytes(value)
                elif isinstance(value, str):
                    body = value.encode()
                else:
                    body = _chunks(value)
            elif where is None:
                body_members[name] = member
        if body_members and any(output.get(name) is not None for name in body_members):
            root = ET.Element(self.root_name(operation, shape))
            if self.namespace:
                root.set("xmlns", self.namespace)
            for name, member in body_members.items():
                if output.get(name) is not None:
                    _append(root, member, output[name], name)
            body = _document(root)
            headers["content-type"] = "application/xml"
        return WireResponse(status, body, headers)

    def base_headers(self, request_id: str) -> dict[str, str]:
        return {"x-amz-request-id": request_id}

    def error(self, error: AwsError, request_id: str) -> WireResponse:
        headers = self.base_headers(request_id)
        if not _drained(getattr(_current, "request", None)):
            headers["connection"] = "close"
        if getattr(_current, "method", None) == "HEAD" or error.status == 304:
            return WireResponse(error.status, b"", headers)
        root = ET.Element("Error")
        ET.SubElement(root, "Code").text = error.code
        ET.SubElement(root, "Message").text = error.message
        for key, value in (getattr(error, "extra", None) or {}).items():
            if value is not None:
                ET.SubElement(root, key).text = str(value)
        ET.SubElement(root, "RequestId").text = request_id
        headers["content-type"] = "application/xml"
        return WireResponse(error.status, _document(root), headers)


#: How much of an unread request body an error answer reads and drops to keep the connection.
DRAIN_LIMIT = 1 << 20


def _drained(request: WireRequest | None) -> bool:
    """Reads what is left of a refused request's body, up to :data:`DRAIN_LIMIT`; False if more is left.

    A body the client is still sending when the error goes out would otherwise be read
    as the next request on the connection; past the limit the connection is closed
    instead (as S3 does), so a refused 5 GiB upload is not read to its end.
    """
    stream = getattr(request, "stream", None)
    if stream is None or stream._done:
        return True
    left = DRAIN_LIMIT
    try:
        while left > 0:
            chunk = stream._next()
            if not chunk:
                return True
            left -= len(chunk)
    except Exception:  # a body that fails its own checks while being dropped: close the connection
        return False
    return False


# --- reading -------------------------------------------------------------------------


def _query(query_string: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for key, value in parse_qsl(query_string, keep_blank_values=True):
        found.setdefault(key, []).append(value)
    return found


def _scalar_in(shape: botocore.model.Shape, text: str, where: str, default_format: str = "iso8601") -> Any:
    """A query-string or header value as the JSON-shaped document holds it."""
    kind = shape.type_name
    if kind in ("integer", "long"):
        try:
            return int(text.strip())
        except ValueError:
            raise ValidationException(f"The {where} must be an integer, not '{text}'.") from None
    if kind in ("float", "double"):
        try:
            return float(text.strip())
        except ValueError:
            raise ValidationException(f"The {where} must be a number, not '{text}'.") from None
    if kind == "boolean":
        lowered = text.strip().lower()
        if lowered not in ("true", "false"):
            raise ValidationException(f"The {where} must be true or false, not '{text}'.")
        return lowered == "true"
    if kind == "timestamp":
        return _timestamp_in(text, shape.serialization.get("timestampFormat", default_format), where)
    return text


def _timestamp_in(text: str, fmt: str, where: str) -> str:
    text = text.strip()
    try:
        if fmt == "unixTimestamp" or re.fullmatch(r"\d+(\.\d+)?", text):
            return datetime.fromtimestamp(float(text), _UTC).isoformat()
        if fmt == "rfc822" or not text[:4].isdigit():
            parsed = parsedate_to_datetime(text)
        else:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, TypeError, OverflowError):
        raise ValidationException(f"The {where} is not a valid date: '{text}'.") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=_UTC)
    return parsed.astimezone(_UTC).isoformat()


def _header_in(shape: botocore.model.Shape, text: str, name: str) -> Any:
    where = f"header '{name}'"
    if shape.type_name == "list":
        return [_scalar_in(shape.member, part.strip(), where, "rfc822") for part in text.split(",") if part.strip()]
    if shape.type_name == "string" and shape.serialization.get("jsonvalue"):
        try:
            return json.loads(base64.b64decode(text))
        except (ValueError, binascii.Error):
            raise ValidationException(f"The {where} must be base64-encoded JSON.") from None
    return _scalar_in(shape, text, where, "rfc822")


def _parse_xml(raw: bytes) -> ET.Element:
    # Document type declarations are refused outright: no entity expansion, no external lookups.
    if b"<!DOCTYPE" in raw or b"<!ENTITY" in raw:
        raise SerializationException("The XML you provided may not contain a document type declaration.")
    try:
        return ET.fromstring(raw)
    except ET.ParseError as exc:
        raise SerializationException(
            f"The XML you provided was not well-formed or did not validate against our published schema ({exc})."
        ) from None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _element_name(member: botocore.model.Shape, name: str) -> str:
    """The element a structure member is written as (botocore's ``_member_key_name``)."""
    if member.type_name == "list" and member.serialization.get("flattened"):
        inner = member.member.serialization.get("name")
        if inner:
            return inner
    return member.serialization.get("name", name)


def _xml_in_members(members: dict[str, botocore.model.Shape], node: ET.Element) -> dict:
    children: dict[str, list[ET.Element]] = {}
    for child in node:
        children.setdefault(_local(child.tag), []).append(child)
    out: dict[str, Any] = {}
    for name, member in members.items():
        if member.serialization.get("xmlAttribute"):
            attr = member.serialization.get("name", name)
            value = next((v for k, v in node.attrib.items() if _local(k) == attr), None)
            if value is not None:
                out[name] = value
            continue
        found = children.get(_element_name(member, name))
        if not found:
            continue
        if member.type_name == "list" and member.serialization.get("flattened"):
            out[name] = [_xml_in(member.member, item) for item in found]
        else:
            out[name] = _xml_in(member, found[-1])
    return out


def _xml_in(shape: botocore.model.Shape, node: ET.Element) -> Any:
    kind = shape.type_name
    if kind == "structure":
        return _xml_in_members(dict(shape.members), node)
    if kind == "list":
        item_name = shape.member.serialization.get("name", "member")
        return [_xml_in(shape.member, child) for child in node if _local(child.tag) == item_name]
    if kind == "map":
        key_name = shape.key.serialization.get("name", "key")
        value_name = shape.value.serialization.get("name", "value")
        entries = [node] if shape.serialization.get("flattened") else [c for c in node if _local(c.tag) == "entry"]
        out = {}
        for entry in entries:
            key = next((c for c in entry if _local(c.tag) == key_name), None)
            value = next((c for c in entry if _local(c.tag) == value_name), None)
            if key is not None and value is not None:
                out[key.text or ""] = _xml_in(shape.value, value)
        return out
    text = node.text or ""
    if kind in ("integer", "long", "float", "double", "boolean"):
        try:
            return _scalar_in(shape, text, f"element <{_local(node.tag)}>")
        except ValidationException as exc:
            raise SerializationException(
                f"The XML you provided was not well-formed or did not validate against our published schema: {exc.message}"
            ) from None
    if kind == "timestamp":
        return _timestamp_in(text, shape.serialization.get("timestampFormat", "iso8601"), f"element <{_local(node.tag)}>")
    return text


# --- writing -------------------------------------------------------------------------


def _iso8601(value: datetime) -> str:
    value = value if value.tzinfo else value.replace(tzinfo=_UTC)
    value = value.astimezone(_UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _as_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=_UTC)
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, _UTC)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _timestamp_out(value: Any, fmt: str) -> str:
    moment = _as_datetime(value)
    if fmt == "rfc822":
        return format_datetime(moment.astimezone(_UTC), usegmt=True)
    if fmt == "unixTimestamp":
        return str(int(moment.timestamp()))
    return _iso8601(moment)


def _text(shape: botocore.model.Shape, value: Any, default_format: str) -> str:
    kind = shape.type_name
    if kind == "boolean":
        return "true" if value else "false"
    if kind == "timestamp":
        return _timestamp_out(value, shape.serialization.get("timestampFormat", default_format))
    if kind == "blob":
        raw = value.encode() if isinstance(value, str) else bytes(value)
        return base64.b64encode(raw).decode("ascii")
    if hasattr(value, "value") and not isinstance(value, (str, int, float)):  # an Enum
        value = value.value
    return str(value)


def _header_out(shape: botocore.model.Shape, value: Any) -> str:
    if shape.type_name == "list":
        return ",".join(_text(shape.member, item, "rfc822") for item in value)
    if shape.type_name == "string" and shape.serialization.get("jsonvalue"):
        return base64.b64encode(json.dumps(value, separators=(",", ":")).encode()).decode()
    return _text(shape, value, "rfc822")


def _append(parent: ET.Element, shape: botocore.model.Shape, value: Any, name: str) -> None:
    element_name = _element_name(shape, name)
    if shape.type_name == "list" and shape.serialization.get("flattened"):
        for item in value:
            _append(parent, shape.member, item, element_name)
        return
    parent.append(_xml_out(shape, value, element_name, None))


def _xml_out(shape: botocore.model.Shape, value: Any, name: str, namespace: str | None) -> ET.Element:
    element = ET.Element(name)
    ns = shape.serialization.get("xmlNamespace")
    uri = ns.get("uri") if isinstance(ns, dict) else ns or namespace
    if uri:
        element.set("xmlns", uri)
    kind = shape.type_name
    if kind == "structure":
        for member_name, member in shape.members.items():
            item = value.get(member_name) if isinstance(value, dict) else None
            if item is None:
                continue
            if member.serialization.get("xmlAttribute"):
                element.set(member.serialization.get("name", member_name), _text(member, item, "iso8601"))
                continue
            _append(element, member, item, member_name)
    elif kind == "list":
        item_name = shape.member.serialization.get("name", "member")
        for item in value:
            element.append(_xml_out(shape.member, item, item_name, None))
    elif kind == "map":
        key_name = shape.key.serialization.get("name", "key")
        value_name = shape.value.serialization.get("name", "value")
        for key, item in value.items():
            entry = ET.SubElement(element, "entry")
            ET.SubElement(entry, key_name).text = str(key)
            entry.append(_xml_out(shape.value, item, value_name, None))
    else:
        element.text = _text(shape, value, "iso8601")
    return element


def _document(root: ET.Element) -> bytes:
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8", xml_declaration=False)


def _chunks(value: Any) -> Iterable[bytes]:
    """A streaming payload: an iterator of chunks, or a file object read 1 MiB at a time."""
    if hasattr(value, "read"):

        def read() -> Iterable[bytes]:
            try:
                while chunk := value.read(1 << 20):
                    yield chunk
            finally:
                close = getattr(value, "close", None)
                if close:
                    close()

        return read()
    return value
