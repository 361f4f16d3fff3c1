"""Smithy RPC v2 CBOR (CloudWatch, as botocore 1.44 speaks it).

The wire form, as botocore's ``RpcV2CBORSerializer`` / ``RpcV2CBORParser``
write and read it (and the Smithy "rpcv2Cbor" protocol specification says):

* request: ``POST /service/<targetPrefix>/operation/<Operation>`` with
  ``smithy-protocol: rpc-v2-cbor``, ``Accept: application/cbor`` and, when
  there is a body, ``Content-Type: application/cbor``; the body is one CBOR
  map of the input shape (timestamps as tag 1 over epoch seconds, blobs as
  byte strings); an operation without input may send no body at all;
* answer: the output shape as one CBOR map (timestamps tag 1, floats as
  floats, blobs as byte strings) with the same ``smithy-protocol`` header and
  ``Content-Type: application/cbor``;
* error: a CBOR map ``{"__type": <error shape>, "message": ...}``; a service
  with the ``awsQueryCompatible`` trait also names the query-era code in
  ``x-amzn-query-error: <Code>;<Sender|Receiver>``, which botocore prefers
  over ``__type`` when it picks the modelled exception.

The CBOR document is turned into the JSON-shaped one that
:func:`charter.api.shapes.parse_input` checks (datetimes become epoch
seconds, byte strings of blob members base64 text), so a constraint
violation is reported in the same words as in every other protocol; a byte
string where the model has no blob stays bytes and is refused there as a
wrong type.
"""

from __future__ import annotations

import base64
import datetime as _dt

import botocore.model
import cbor2

from ...errors import AwsError, SerializationException, UnknownOperationException
from .. import shapes
from ..wire import WireRequest, WireResponse
from . import Protocol

CONTENT_TYPE = "application/cbor"
PROTOCOL_HEADER = "rpc-v2-cbor"


class CborProtocol(Protocol):
    name = "smithy-rpc-v2-cbor"

    def __init__(self, model: botocore.model.ServiceModel):
        super().__init__(model)
        self.prefix = f"/service/{model.metadata['targetPrefix']}/operation/"
        self.query_compatible = "awsQueryCompatible" in model.metadata
        self.title = model.metadata.get("serviceId", model.service_name)
        # The error shape each code is modelled as (CloudWatch: "InvalidParameterValue" is
        # InvalidParameterValueException), so __type names the shape as the service does.
        self._error_shapes: dict[str, str] = {}
        for shape in model.error_shapes:
            self._error_shapes.setdefault(shape.error_code or shape.name, shape.name)

    def recognizes(self, request: WireRequest) -> bool:
        return request.method == "POST" and (
            request.path.startswith("/service/") or request.headers.get("smithy-protocol") == PROTOCOL_HEADER
        )

    def operation(self, request: WireRequest) -> botocore.model.OperationModel:
        path = request.path
        name = path.removeprefix(self.prefix)
        if not path.startswith(self.prefix) or name not in self.model.operation_names:
            raise UnknownOperationException(
                f"The path {path} names no {self.title} operation; RPC v2 CBOR requests are "
                f"POST {self.prefix}<Operation>."
            )
        return self.model.operation_model(name)

    def parse(self, request: WireRequest, operation: botocore.model.OperationModel) -> dict:
        if request.headers.get("smithy-protocol", PROTOCOL_HEADER) != PROTOCOL_HEADER:
            raise SerializationException(
                f"The smithy-protocol header says {request.headers['smithy-protocol']!r}; "
                f"this endpoint speaks {PROTOCOL_HEADER!r}."
            )
        body = request.body
        if not body:
            return shapes.parse_input(operation, {})
        content_type = request.headers.get("content-type", CONTENT_TYPE).split(";", 1)[0].strip().lower()
        if content_type != CONTENT_TYPE:
            raise SerializationException(
                f"The request body is {content_type or 'untyped'}; RPC v2 CBOR bodies are {CONTENT_TYPE}."
            )
        document = decode(body)
        if not isinstance(document, dict):
            raise SerializationException("The request body must be a CBOR map of the operation's input members.")
        shape = operation.input_shape
        return shapes.parse_input(operation, to_json_shaped(shape, document) if shape is not None else {})

    def respond(self, operation: botocore.model.OperationModel, output: dict, request_id: str) -> WireResponse:
        shape = operation.output_shape
        headers = {"smithy-protocol": PROTOCOL_HEADER, "x-amzn-requestid": request_id}
        if shape is None:
            return WireResponse(200, b"", headers)
        document = to_cbor_shaped(shape, shapes.serialize_output(shape, output))
        headers["content-type"] = CONTENT_TYPE
        return WireResponse(200, cbor2.dumps(document), headers)

    def error(self, error: AwsError, request_id: str) -> WireResponse:
        headers = {"content-type": CONTENT_TYPE, "smithy-protocol": PROTOCOL_HEADER, "x-amzn-requestid": request_id}
        if self.query_compatible:
            headers["x-amzn-query-error"] = f"{error.code};{'Receiver' if error.status >= 500 else 'Sender'}"
        document = dict(error.to_wire())
        document["__type"] = self._error_shapes.get(error.code, error.code)
        return WireResponse(error.status, cbor2.dumps(document), headers)


def decode(body: bytes):
    """One CBOR data item from ``body``; SerializationException for anything else."""
    try:
        return cbor2.loads(body)
    except (cbor2.CBORDecodeError, ValueError, TypeError, OverflowError, RecursionError, MemoryError) as exc:
        raise SerializationException(f"The request body is not valid CBOR: {exc}.") from None
    except Exception as exc:  # the decoder raises a few others on hostile input
        raise SerializationException(f"The request body is not valid CBOR ({type(exc).__name__}).") from None


def to_json_shaped(shape: botocore.model.Shape, value):
    """``value`` decoded from CBOR, written as the JSON document of ``shape``.

    Only what JSON spells differently changes: a datetime (tag 0 or 1) of a
    timestamp member becomes epoch seconds and a byte string of a blob member
    base64 text.  Wrong types are left for ``parse_input`` to refuse.
    """
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        members = shape.members
        out = {}
        for key, item in value.items():
            member = members.get(key) if isinstance(key, str) else None
            out[key] = item if member is None else to_json_shaped(member, item)
        return out
    if kind == "list" and isinstance(value, list):
        return [to_json_shaped(shape.member, item) for item in value]
    if kind == "map" and isinstance(value, dict):
        return {key: to_json_shaped(shape.value, item) for key, item in value.items()}
    if kind == "timestamp":
        if isinstance(value, _dt.datetime):
            if value.tzinfo is None:
                value = value.replace(tzinfo=_dt.timezone.utc)
            return value.timestamp()
        if isinstance(value, cbor2.CBORTag) and value.tag == 1 and _is_number(value.value):
            return value.value
        return value
    if kind == "blob" and isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    return value


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def to_cbor_shaped(shape: botocore.model.Shape, value):
    """The JSON-shaped output ``value`` of ``shape`` written for CBOR.

    Timestamps (epoch seconds) become tag 1, blobs (base64 text) byte strings
    and doubles floats; the rest is the same in both.
    """
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        members = shape.members
        return {key: to_cbor_shaped(members[key], item) if key in members else item for key, item in value.items()}
    if kind == "list" and isinstance(value, list):
        member = shape.member
        if member.type_name in ("string", "integer", "long", "boolean"):
            return value
        return [to_cbor_shaped(member, item) for item in value]
    if kind == "map" and isinstance(value, dict):
        return {key: to_cbor_shaped(shape.value, item) for key, item in value.items()}
    if kind == "timestamp" and _is_number(value):
        return cbor2.CBORTag(1, float(value))
    if kind == "blob" and isinstance(value, str):
        return base64.b64decode(value)
    if kind in ("double", "float") and _is_number(value):
        return float(value)
    return value
