"""The AWS query protocol (STS, IAM, and CloudWatch's older clients).

A request is ``POST /`` with a form-encoded body (or a ``GET`` with the same
pairs in its query string): ``Action=<Operation>&Version=<apiVersion>`` and
the input members flattened the way botocore's ``QuerySerializer`` writes
them:

* structures as ``Parent.Child`` (each member under its ``locationName``);
* lists as ``Name.member.N`` (1-based; the member's ``locationName`` replaces
  ``member``), or, for a ``flattened`` list, ``Name.N``; an empty list is
  ``Name=`` with nothing after it;
* maps as ``Name.entry.N.key`` / ``Name.entry.N.value`` (``Name.N.key`` when
  flattened; the key's and value's ``locationName`` replace ``key``/``value``);
* scalars as strings: integers and floats in decimal, booleans ``true`` /
  ``false``, timestamps ISO 8601, blobs base64.

:meth:`QueryProtocol.parse` walks the input shape over those pairs to rebuild
the JSON-shaped document and hands it to :func:`charter.api.shapes.parse_input`,
so constraints are checked, and worded, as for every other protocol.

The answer is XML (botocore's ``QueryParser``)::

    <OperationResponse xmlns="<xmlNamespace>">
      <OperationResult>...the output members...</OperationResult>
      <ResponseMetadata><RequestId>...</RequestId></ResponseMetadata>
    </OperationResponse>

where ``OperationResult`` is the output shape's ``resultWrapper``; lists are
``<member>`` elements, maps ``<entry><key/><value/></entry>``, timestamps ISO
8601 in UTC with ``Z``.  Errors are::

    <ErrorResponse xmlns="..."><Error><Type>Sender|Receiver</Type><Code>...</Code>
    <Message>...</Message></Error><RequestId>...</RequestId></ErrorResponse>

An ``Action`` that is not an operation of the model answers ``InvalidAction``
and a request without one ``MissingAction`` (both 400), as AWS's query
services do.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from decimal import Decimal
import re
from typing import Any
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape as _escape

import botocore.model

from ...errors import AwsError, UnknownOperationException, ValidationException
from .. import shapes
from ..wire import WireRequest, WireResponse
from . import Protocol

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"

# Characters XML 1.0 cannot carry at all, not even as references: a value echoed
# back (a message naming bad input, a stored description) holds U+FFFD in their
# place, so that every client's XML parser can read the answer.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def escape(text: str) -> str:
    return _escape(_NOT_XML.sub("\ufffd", text))


class MissingAction(UnknownOperationException):
    code = "MissingAction"


class InvalidAction(UnknownOperationException):
    code = "InvalidAction"


class QueryProtocol(Protocol):
    name = "query"

    def __init__(self, model: botocore.model.ServiceModel):
        super().__init__(model)
        self.namespace = model.metadata.get("xmlNamespace", "")
        self.version = model.metadata.get("apiVersion", "")

    # --- requests ------------------------------------------------------------------

    def recognizes(self, request: WireRequest) -> bool:
        if "x-amz-target" in request.headers or "smithy-protocol" in request.headers:
            return False  # JSON and CBOR clients of the same service
        if request.method == "GET":
            return "Action=" in request.query_string
        if request.method != "POST":
            return False
        content_type = request.headers.get("content-type", "")
        return content_type.startswith(FORM_CONTENT_TYPE) or (not content_type and b"Action=" in request.body)

    def operation(self, request: WireRequest) -> botocore.model.OperationModel:
        action = form(request).get("Action")
        if not action:
            raise MissingAction("Missing Action")
        if action not in self.model.operation_names:
            raise InvalidAction(f"Could not find operation {action} for version {self.version}")
        return self.model.operation_model(action)

    def parse(self, request: WireRequest, operation: botocore.model.OperationModel) -> dict:
        document = unflatten(form(request), operation.input_shape)
        return shapes.parse_input(operation, document)

    # --- answers -------------------------------------------------------------------

    def respond(self, operation: botocore.model.OperationModel, output: dict, request_id: str) -> WireResponse:
        name = operation.name
        parts = [f'<{name}Response xmlns="{self.namespace}">']
        shape = operation.output_shape
        if shape is not None:
            wrapper = shape.serialization.get("resultWrapper", f"{name}Result")
            parts.append(f"<{wrapper}>")
            _members(parts, shape, output or {})
            parts.append(f"</{wrapper}>")
        parts.append(f"<ResponseMetadata><RequestId>{escape(request_id)}</RequestId></ResponseMetadata>")
        parts.append(f"</{name}Response>")
        return WireResponse(200, "".join(parts).encode(), self._headers(request_id))

    def error(self, error: AwsError, request_id: str) -> WireResponse:
        kind = "Receiver" if error.status >= 500 else "Sender"
        body = (
            f'<ErrorResponse xmlns="{self.namespace}"><Error><Type>{kind}</Type>'
            f"<Code>{escape(error.code)}</Code><Message>{escape(error.message)}</Message></Error>"
            f"<RequestId>{escape(request_id)}</RequestId></ErrorResponse>"
        )
        return WireResponse(error.status, body.encode(), self._headers(request_id))

    @staticmethod
    def _headers(request_id: str) -> dict[str, str]:
        return {"content-type": "text/xml", "x-amzn-requestid": request_id}


# --- the form --------------------------------------------------------------------


def form(request: WireRequest) -> dict[str, str]:
    """The request's name/value pairs: its query string, then its body (which wins)."""
    cached = getattr(request, "_query_form", None)
    if cached is not None:
        return cached
    pairs = dict(parse_qsl(request.query_string, keep_blank_values=True))
    if request.body:
        try:
            text = request.body.decode("utf-8")
        except UnicodeDecodeError:
            raise ValidationException("The request body is not valid UTF-8 form data (application/x-www-form-urlencoded).") from None
        pairs.update(parse_qsl(text, keep_blank_values=True))
    request._query_form = pairs  # type: ignore[attr-defined]
    return pairs


def _prefixes(pairs: dict[str, str]) -> set[str]:
    """Every dotted prefix of every name (``A.b.1.c`` gives ``A``, ``A.b``, ``A.b.1``, ``A.b.1.c``)."""
    found: set[str] = set()
    for name in pairs:
        parts = name.split(".")
        for end in range(1, len(parts) + 1):
            found.add(".".join(parts[:end]))
    return found


def unflatten(pairs: dict[str, str], shape: botocore.model.Shape | None) -> dict:
    """The JSON-shaped input document the flattened ``pairs`` stand for, under ``shape``."""
    if shape is None:
        return {}
    present = _prefixes(pairs)
    return _structure(pairs, present, shape, "")


def _name(shape: botocore.model.Shape, default: str) -> str:
    return shape.serialization.get("name", default)


def _flattened(shape: botocore.model.Shape) -> bool:
    return bool(shape.serialization.get("flattened"))


def _value(pairs, present, shape: botocore.model.Shape, prefix: str) -> Any:
    kind = shape.type_name
    if kind == "structure":
        return _structure(pairs, present, shape, prefix)
    if kind == "list":
        return _list(pairs, present, shape, prefix)
    if kind == "map":
        return _map(pairs, present, shape, prefix)
    return _scalar(pairs.get(prefix, ""), shape, prefix)


def _structure(pairs, present, shape: botocore.model.StructureShape, prefix: str) -> dict:
    document: dict = {}
    for member, member_shape in shape.members.items():
        key = _name(member_shape, member)
        if prefix:
            key = f"{prefix}.{key}"
        if key in present or _flat_items(member_shape, key) in present:
            document[member] = _value(pairs, present, member_shape, key)
    return document


def _flat_items(shape: botocore.model.Shape, key: str) -> str | None:
    """Where a flattened list whose member has its own name writes its first item."""
    if shape.type_name != "list" or not _flattened(shape) or not shape.member.serialization.get("name"):
        return None
    return ".".join(key.split(".")[:-1] + [shape.member.serialization["name"], "1"])


def _list(pairs, present, shape: botocore.model.ListShape, prefix: str) -> list:
    if pairs.get(prefix) == "" and not any(p.startswith(prefix + ".") for p in present):
        return []  # "Name=": the empty list
    if _flattened(shape):
        base = prefix
        if shape.member.serialization.get("name"):
            base = ".".join(prefix.split(".")[:-1] + [shape.member.serialization["name"]])
    else:
        base = f"{prefix}.{_name(shape.member, 'member')}"
    items = []
    index = 1
    while (key := f"{base}.{index}") in present:
        items.append(_value(pairs, present, shape.member, key))
        index += 1
    return items


def _map(pairs, present, shape: botocore.model.MapShape, prefix: str) -> dict:
    base = prefix if _flattened(shape) else f"{prefix}.entry"
    key_name, value_name = _name(shape.key, "key"), _name(shape.value, "value")
    document: dict = {}
    index = 1
    while f"{base}.{index}" in present:
        key = _scalar(pairs.get(f"{base}.{index}.{key_name}", ""), shape.key, f"{base}.{index}.{key_name}")
        value_key = f"{base}.{index}.{value_name}"
        document[key] = _value(pairs, present, shape.value, value_key) if value_key in present else None
        index += 1
    return document


def _scalar(text: str, shape: botocore.model.Shape, where: str) -> Any:
    kind = shape.type_name
    if kind in ("integer", "long"):
        try:
            return int(text.strip())
        except ValueError:
            raise _malformed(text, where, "an integer") from None
    if kind in ("float", "double"):
        try:
            number = float(text.strip())
        except ValueError:
            raise _malformed(text, where, "a number") from None
        if math.isnan(number) or math.isinf(number):
            return text.strip()  # parse_input reports non-finite numbers as the other protocols do
        return number
    if kind == "boolean":
        lowered = text.strip().lower()
        if lowered not in ("true", "false"):
            raise _malformed(text, where, "true or false")
        return lowered == "true"
    # strings, timestamps (ISO 8601, which parse_input reads) and blobs (base64, likewise)
    return text


def _malformed(text: str, where: str, expected: str) -> ValidationException:
    shown = text if len(text) <= 64 else text[:61] + "..."
    return ValidationException(f"Value '{shown}' for parameter {where} is invalid: it must be {expected}.")


# --- the XML answer ----------------------------------------------------------------


def _members(parts: list[str], shape: botocore.model.StructureShape, value: dict) -> None:
    for member, member_shape in shape.members.items():
        item = value.get(member) if isinstance(value, dict) else None
        if item is None:
            continue
        _element(parts, _name(member_shape, member), member_shape, item)


def _element(parts: list[str], tag: str, shape: botocore.model.Shape, value: Any) -> None:
    kind = shape.type_name
    if kind == "list":
        member_tag = _name(shape.member, "member")
        if _flattened(shape):
            for item in value:
                if item is not None:
                    _element(parts, _name(shape.member, tag), shape.member, item)
            return
        parts.append(f"<{tag}>")
        for item in value:
            if item is not None:
                _element(parts, member_tag, shape.member, item)
        parts.append(f"</{tag}>")
        return
    if kind == "map":
        key_tag, value_tag = _name(shape.key, "key"), _name(shape.value, "value")
        flat = _flattened(shape)
        if not flat:
            parts.append(f"<{tag}>")
        for key, item in value.items():
            parts.append(f"<{tag}>" if flat else "<entry>")
            _element(parts, key_tag, shape.key, key)
            if item is not None:
                _element(parts, value_tag, shape.value, item)
            parts.append(f"</{tag}>" if flat else "</entry>")
        if not flat:
            parts.append(f"</{tag}>")
        return
    if kind == "structure":
        parts.append(f"<{tag}>")
        _members(parts, shape, value)
        parts.append(f"</{tag}>")
        return
    parts.append(f"<{tag}>{escape(_text(shape, value))}</{tag}>")


def _text(shape: botocore.model.Shape, value: Any) -> str:
    kind = shape.type_name
    if kind == "boolean":
        return "true" if value else "false"
    if kind == "timestamp":
        return iso8601(value)
    if kind == "blob":
        import base64

        data = value.encode() if isinstance(value, str) else bytes(value)
        return base64.b64encode(data).decode()
    if kind in ("integer", "long"):
        return str(int(value))
    if kind in ("float", "double"):
        if isinstance(value, Decimal):
            return str(value)
        number = float(value)
        if math.isnan(number):
            return "NaN"
        if math.isinf(number):
            return "Infinity" if number > 0 else "-Infinity"
        return repr(number)
    return str(value)


def iso8601(value: Any) -> str:
    """``value`` (a datetime, or epoch seconds) as ISO 8601 in UTC: ``2026-12-03T08:29:43Z``.

    Whole seconds as AWS writes them; milliseconds only when the value has them.
    """
    if isinstance(value, (int, float, Decimal)):
        value = datetime.fromtimestamp(float(value), timezone.utc)
    elif isinstance(value, str):
        return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    value = value.astimezone(timezone.utc)
    millis = value.microsecond // 1000
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{text}.{millis:03d}Z" if millis else f"{text}Z"
