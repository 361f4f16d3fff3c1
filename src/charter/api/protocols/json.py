"""AWS JSON 1.0 / 1.1 (SageMaker, CloudWatch Logs, CloudWatch's JSON clients).

``POST /`` with ``X-Amz-Target: <targetPrefix>.<Operation>`` and a JSON body
of the input shape; the answer is the output shape as JSON with
``Content-Type: application/x-amz-json-<jsonVersion>``, errors are
``{"__type": code, "message": ...}`` (botocore's ``BaseJSONParser``).  A
service with the ``awsQueryCompatible`` trait (CloudWatch) also names the
error in ``x-amzn-query-error: <Code>;<Sender|Receiver>``, from which botocore
takes the code its query-era clients knew.
"""

from __future__ import annotations

import json
import re

import botocore.model

from ...errors import AwsError, SerializationException, UnknownOperationException, ValidationException
from .. import shapes
from ..wire import WireRequest, WireResponse
from . import Protocol


class JsonProtocol(Protocol):
    name = "json"

    def __init__(self, model: botocore.model.ServiceModel):
        super().__init__(model)
        self.prefix = f"{model.metadata['targetPrefix']}."
        self.content_type = f"application/x-amz-json-{model.metadata.get('jsonVersion', '1.0')}"
        self.query_compatible = "awsQueryCompatible" in model.metadata
        self.title = model.metadata.get("serviceId", model.service_name)

    def recognizes(self, request: WireRequest) -> bool:
        return request.method == "POST" and request.headers.get("x-amz-target", "").startswith(self.prefix)

    def operation(self, request: WireRequest) -> botocore.model.OperationModel:
        target = request.headers.get("x-amz-target", "")
        name = target.removeprefix(self.prefix)
        if not target.startswith(self.prefix) or name not in self.model.operation_names:
            raise UnknownOperationException(
                f"Operation {target or '(no X-Amz-Target header)'} is not a{'n' if self.title[0] in 'AEIOU' else ''} "
                f"{self.title} operation."
            )
        return self.model.operation_model(name)

    def parse(self, request: WireRequest, operation: botocore.model.OperationModel) -> dict:
        return shapes.parse_input(operation, json_object(request.body))

    def respond(self, operation: botocore.model.OperationModel, output: dict, request_id: str) -> WireResponse:
        document = shapes.serialize_output(operation.output_shape, output)
        body = json.dumps(document, separators=(",", ":")).encode()
        return WireResponse(200, body, {"content-type": self.content_type, "x-amzn-requestid": request_id})

    def error(self, error: AwsError, request_id: str) -> WireResponse:
        headers = {"content-type": self.content_type, "x-amzn-requestid": request_id}
        if self.query_compatible:
            headers["x-amzn-query-error"] = f"{error.code};{'Receiver' if error.status >= 500 else 'Sender'}"
        return WireResponse(error.status, json.dumps(error.to_wire()).encode(), headers)


def json_object(body: bytes) -> dict:
    """The request body as a JSON object (``{}`` for an empty body)."""
    if not body.strip():
        return {}
    try:
        document = json.loads(body)
    except ValueError as exc:
        raise SerializationException(f"The request body is not valid JSON: {exc}.") from None
    except RecursionError:  # arrays or objects nested deeper than the decoder goes
        raise SerializationException("The request body nests JSON arrays or objects too deeply to be read.") from None
    if not isinstance(document, dict):
        raise SerializationException("The request body must be a JSON object.")
    if _SURROGATE_ESCAPE.search(body) is not None:
        _refuse_lone_surrogates(document)
    return document


# A "\ud800".."\udfff" escape: half of a UTF-16 pair (json.loads joins whole pairs into one
# character, and leaves a lone half in the string, which no database can store as text).
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def _refuse_lone_surrogates(document: dict) -> None:
    pending: list = [document]
    while pending:  # iteratively: the document may nest as deep as json.loads went
        value = pending.pop()
        if isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
        elif isinstance(value, str) and not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise ValidationException(
                    "The request body holds an unpaired UTF-16 surrogate escape (\\ud800-\\udfff), which is not a "
                    "Unicode character; send text as valid Unicode."
                ) from None
