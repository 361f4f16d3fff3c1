"""The sagemaker-runtime face: InvokeEndpoint and its async and streaming forms.

botocore's ``sagemaker-runtime`` model (rest-json, signing name ``sagemaker``)
addresses each operation by method and path, and this face reads both from it:

* ``POST /endpoints/{EndpointName}/invocations``: InvokeEndpoint
* ``POST /endpoints/{EndpointName}/async-invocations``: InvokeEndpointAsync
* ``POST /endpoints/{EndpointName}/invocations-response-stream``: InvokeEndpointWithResponseStream

A request goes through the same layer as the control plane's (the gateway's
SigV4 verification, IAM policy evaluation and audit log): it is authenticated,
its URI and header members are validated against the operation's input shape,
and it is authorized as ``sagemaker:InvokeEndpoint`` (the streaming form too,
as AWS documents) or ``sagemaker:InvokeEndpointAsync`` on the endpoint's ARN.

Charter serves no endpoints yet, so a request that gets that far answers what
SageMaker Runtime answers for an endpoint that does not exist: 400
``ValidationError`` "Endpoint <name> of account <account> not found.".  Errors
are rest-json (:mod:`charter.api.rest_json`); this service's validation error
code is ``ValidationError``, not the control plane's ``ValidationException``.
"""

from __future__ import annotations

import base64
import logging
import re
from dataclasses import dataclass
from typing import NoReturn
from urllib.parse import unquote

import botocore.model

from ..arns import sagemaker_arn
from ..errors import AwsError, ClientError, InternalFailure, ValidationException
from ..model import service_model
from ..store import audit
from . import rest_json, shapes
from .access import Access, Caller, identify, new_event, record_failure
from .wire import WireRequest, WireResponse

log = logging.getLogger("charter.sagemaker_runtime")

SERVICE = "sagemaker-runtime"

# The IAM action each operation is authorized as, where it is not the operation's own name.
_ACTIONS = {"InvokeEndpointWithResponseStream": "InvokeEndpoint"}


class ValidationError(ClientError):
    """sagemaker-runtime's own validation error (a modelled shape, HTTP 400)."""

    code = "ValidationError"


@dataclass(frozen=True)
class _Route:
    method: str
    pattern: re.Pattern[str]
    operation: botocore.model.OperationModel


def _compile(request_uri: str) -> re.Pattern[str]:
    """``/endpoints/{EndpointName}/invocations`` as a regex over the still-encoded path."""
    path = request_uri.split("?", 1)[0]
    parts = re.split(r"(\{[A-Za-z0-9]+\+?\})", path)
    regex = "".join(
        (f"(?P<{part[1:-2]}>.+)" if part.endswith("+}") else f"(?P<{part[1:-1]}>[^/]+)")
        if part.startswith("{")
        else re.escape(part)
        for part in parts
    )
    return re.compile(f"^{regex}$")


class SageMakerRuntime:
    def __init__(self, access: Access):
        self.access = access
        self.instance = access.instance
        model = service_model(SERVICE)
        self.routes = [
            _Route(op.http["method"], _compile(op.http["requestUri"]), op)
            for op in (model.operation_model(name) for name in model.operation_names)
        ]

    def match(self, method: str, path: str) -> tuple[botocore.model.OperationModel, dict[str, str]] | None:
        """The operation a request's method and (encoded) path address, with its URI members."""
        for route in self.routes:
            found = route.pattern.match(path)
            if found and route.method == method:
                return route.operation, {name: unquote(value) for name, value in found.groupdict().items()}
        return None

    # --- the request path ------------------------------------------------------------

    def handle(self, request: WireRequest, operation: botocore.model.OperationModel, uri: dict[str, str]) -> WireResponse:
        event = new_event(request, operation.name)
        request_id = event.request_id
        caller = Caller()
        try:
            self._process(request, operation, uri, event, caller)
        except AwsError as error:
            answer = error
        except Exception as exc:  # a bug: a retryable fault for the client, the details in the log
            log.exception("request %s failed", request_id)
            answer = InternalFailure(f"Charter could not complete the request ({type(exc).__name__}); request id {request_id}.")
        event.access_key_id = caller.access_key_id
        record_failure(event, answer)
        self.access.audit(event)
        return rest_json.error_response(answer, request_id)

    def _process(
        self, request: WireRequest, operation, uri: dict[str, str], event: audit.AuditEvent, caller: Caller
    ) -> NoReturn:
        verified = self.access.authenticate(request, caller, "sagemaker")
        principal = caller.principal
        identify(event, verified, principal)
        try:
            params = shapes.parse_input(operation, self._members(operation, request, uri))
        except ValidationException as error:
            raise ValidationError(error.message) from None

        name = params["EndpointName"]
        endpoint_arn = sagemaker_arn(verified.region, principal.account, "endpoint", name)
        event.resource_arn = endpoint_arn
        action = f"sagemaker:{_ACTIONS.get(operation.name, operation.name)}"
        with self.instance.transaction(write=False) as conn:
            self.access.authorize_action(conn, principal, action, endpoint_arn, {}, verified.region, request.source_ip)
        # No serving runtime holds an endpoint yet: every name is one that does not exist.
        raise ValidationError(f"Endpoint {name} of account {principal.account} not found.")

    @staticmethod
    def _members(operation, request: WireRequest, uri: dict[str, str]) -> dict:
        """The input members as botocore sent them (URI, headers, payload), as JSON-shaped values
        for the shape validator: header integers as numbers, the blob payload in base64."""
        shape = operation.input_shape
        members: dict = {}
        for name, member in shape.members.items():
            where = member.serialization.get("location")
            if where == "uri":
                value = uri.get(member.serialization.get("name", name))
            elif where == "header":
                value = request.headers.get(member.serialization.get("name", name).lower())
                if value is not None and member.type_name in ("integer", "long"):
                    try:
                        value = int(value)
                    except ValueError:
                        pass  # the validator names the member and what it expected
            elif name == shape.serialization.get("payload") and member.type_name == "blob":
                value = base64.b64encode(request.body).decode("ascii")
            else:
                value = None
            if value is not None:
                members[name] = value
        return members
