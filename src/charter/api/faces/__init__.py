"""A face: one AWS service on the wire, answered by one generic request cycle.

A :class:`Face` pairs a botocore service model with the protocols its
clients speak and the handlers registered for it (``@operation(...,
service=...)`` in :mod:`charter.services`).  Every request of every face
takes the same path::

    which operation (the protocol) → authenticate (SigV4, the access layer)
    → parse and validate the input (the protocol, against the input shape)
    → authorize (IAM policies; iam:PassRole where the face passes roles)
    → the handler, in one transaction with the audit row of a write
    → the answer (the protocol, through the output shape)

Each face's module (``faces/s3.py``, ``faces/logs.py``, ...) only says what
differs: its model, protocols, IAM action prefix, and how Charter's generic
errors are spelled in that service (S3's ``AccessDenied`` is 403 and its
validation error ``InvalidArgument``; a query service's ``ValidationError``).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass, field
from typing import Callable

import botocore.model

from ...errors import AwsError, ClientError, InternalFailure, UnknownOperationException
from ...instance import Instance
from ...model import service_model
from ...runtime import webhooks
from ...services import Call, Operation, load_all
from ...store import audit, events
from ..access import Access, Caller, identify, new_event, record_failure
from ..protocols import Protocol
from ..wire import BodyStream, WireRequest, WireResponse

log = logging.getLogger("charter.faces")


@dataclass(frozen=True)
class Spelling:
    """How one face spells a generic error: its code and HTTP status."""

    code: str
    status: int = 400


@dataclass
class FaceSpec:
    """What one face's module declares."""

    service: str  # botocore's service name: "s3", "logs", "sts", "iam", "cloudwatch", "sagemaker"
    protocols: list[type[Protocol]]
    iam_prefix: str  # "s3", "logs", "sts", "iam", "cloudwatch", "sagemaker"
    #: Charter's generic error codes (ValidationException, AccessDeniedException, the SigV4
    #: errors, ...) as this service answers them.
    spellings: dict[str, Spelling] = field(default_factory=dict)
    #: The error for an operation of the model that has no handler.
    not_implemented: Callable[[str], AwsError] | None = None
    #: Members named ``...RoleArn`` are passed to this service principal (iam:PassRole).
    passes_roles_to: str | None = None


class Face:
    def __init__(self, access: Access, spec: FaceSpec):
        self.access = access
        self.instance: Instance = access.instance
        self.spec = spec
        self.model: botocore.model.ServiceModel = service_model(spec.service)
        self.signing_name = self.model.signing_name
        self.protocols = [protocol(self.model) for protocol in spec.protocols]
        self.handlers: dict[str, Operation] = dict(load_all(spec.service))  # a copy: tests may add operations

    def protocol_of(self, request: WireRequest) -> Protocol | None:
        return next((p for p in self.protocols if p.recognizes(request)), None)

    # --- the request cycle -------------------------------------------------------

    def handle(self, request: WireRequest, protocol: Protocol | None = None) -> WireResponse:
        protocol = protocol or self.protocol_of(request) or self.protocols[0]
        event = new_event(request, "(unknown)")
        caller = Caller()
        try:
            response = self._process(request, protocol, event, caller)
        except AwsError as error:
            response = self._error(protocol, event, self.spell(error))
        except Exception as exc:  # a bug: a retryable fault for the client, the details in the log
            log.exception("request %s failed", event.request_id)
            fault = InternalFailure(
                f"Charter could not complete the request ({type(exc).__name__}); request id {event.request_id}."
            )
            response = self._error(protocol, event, self.spell(fault))
        event.access_key_id = caller.access_key_id
        if not (response.status < 300 and caller.audited):
            self.access.audit(event)
        return response

    def _error(self, protocol: Protocol, event: audit.AuditEvent, error: AwsError) -> WireResponse:
        record_failure(event, error)
        return protocol.error(error, event.request_id)

    def spell(self, error: AwsError) -> AwsError:
        """``error`` as this face's clients expect it (its code and status in this service)."""
        spelling = self.spec.spellings.get(error.code)
        if spelling is None:
            return error
        spelled = ClientError(error.message, code=spelling.code, status=spelling.status)
        spelled.__dict__.update({k: v for k, v in error.__dict__.items() if k not in ("message", "code", "status")})
        return spelled

    def _process(self, request: WireRequest, protocol: Protocol, event: audit.AuditEvent, caller: Caller) -> WireResponse:
        # Which operation is known before who asks (the audit row names it), but a wrong
        # operation is only answered to a caller whose signature holds.
        unknown: AwsError | None = None
        op_model = op = None
        try:
            op_model = protocol.operation(request)
            event.operation = op_model.name
            op = self.handlers.get(op_model.name)
        except UnknownOperationException as error:
            unknown = error
        if op is None or op.streams:
            # Nothing to run, or a handler that opens its own transactions: the caller is
            # looked up and authorized in one read transaction, and a streamed upload holds
            # no database lock while it arrives.
            with self.instance.transaction(write=False) as conn:
                verified = self._authenticate(request, protocol, event, caller, conn)
                if unknown is not None:
                    raise unknown
                params = protocol.parse(request, op_model)
                if op is None:
                    raise self._not_implemented(op_model.name)
                call, action, resource = self._call(request, op, params, event, caller, verified, None)
                self._authorize(conn, caller.principal, op, action, resource, params, verified.region, request.source_ip)
            return self._stream(protocol, op_model, op, call, params, event, caller)
        # One transaction for the whole call: the key, the policies, the handler and, for a
        # write, its audit row.
        with self.instance.transaction(write=op.writes) as conn:
            verified = self._authenticate(request, protocol, event, caller, conn)
            params = protocol.parse(request, op_model)
            call, action, resource = self._call(request, op, params, event, caller, verified, conn)
            self._authorize(conn, caller.principal, op, action, resource, params, verified.region, request.source_ip)
            result = op.handler(call, params)
            response = protocol.respond(op_model, result, event.request_id)
            event.resource_arn = _created_arn(op.name, op_model.output_shape, result) or event.resource_arn
            if op.writes:
                # A successful change and its audit record commit together.
                audit.record(conn, event)
                caller.audited = True
        if op.writes:
            if events.take_queued():
                webhooks.notify()  # deliveries the change queued go out now, not at the next poll
        return response

    # --- the same cycle, for a person already signed in (the console) ------------------

    def invoke(self, principal, name: str, params: dict | None, event: audit.AuditEvent, *, record: bool | None = None):
        """Calls operation ``name`` as ``principal``, exactly as a signed request would be answered.

        The console's way into the services: ``params`` is validated against the
        operation's input shape (the API's ValidationException, word for word),
        authorized by the principal's policies (iam:PassRole included), handled in
        one transaction, and, for a write, recorded in ``event``'s audit row in that
        transaction.  ``record`` forces a read's row to be written (True) or a
        write's to be left to the caller (False).  Returns the handler's output
        document (times as ``datetime``), or raises the AwsError the API answers.
        """
        op = self.handlers.get(name)
        if name not in self.model.operation_names:
            raise UnknownOperationException(f"{name} is not a {self.model.service_name} operation.")
        if op is None:
            raise self._not_implemented(name)
        from ..shapes import parse_input

        event.operation = name
        event.principal_arn, event.user_name = principal.arn, principal.name
        params = parse_input(self.model.operation_model(name), params or {})
        caller = Caller(principal=principal)
        verified = _Scope(event.region or self.instance.settings.region)
        write = op.writes if record is None else record
        try:
            if op.streams:
                with self.instance.transaction(write=False) as conn:
                    call, action, resource = self._call(None, op, params, event, caller, verified, None)
                    self._authorize(conn, principal, op, action, resource, params, verified.region, event.source_ip)
                result = op.handler(call, params)
                if write:
                    self.access.audit_now(event)
                return result
            with self.instance.transaction(write=op.writes) as conn:
                call, action, resource = self._call(None, op, params, event, caller, verified, conn)
                self._authorize(conn, principal, op, action, resource, params, verified.region, event.source_ip)
                result = op.handler(call, params)
                event.resource_arn = _created_arn(op.name, self.model.operation_model(name).output_shape, result) or event.resource_arn
                if write:
                    audit.record(conn, event)
        except AwsError as error:
            spelled = self.spell(error)  # as this service's clients get it (S3's AccessDenied is 403)
            record_failure(event, spelled)
            self.access.audit(event)
            raise spelled from None
        if op.writes and events.take_queued():
            webhooks.notify()
        return result

    def _authenticate(self, request, protocol, event, caller, conn=None):
        verified = self.access.authenticate(request, caller, self.signing_name, conn)
        identify(event, verified, caller.principal)
        if request.stream is not None and len(verified.payload_hash or "") == 64:
            request.stream = _checked(request.stream, verified.payload_hash)
        return verified

    def _call(self, request, op: Operation, params: dict, event, caller: Caller, verified, conn) -> tuple[Call, str, str]:
        """The handler's view of the call, the IAM action and the resource it is authorized on."""
        principal = caller.principal
        region, account = verified.region, principal.account
        resource = op.resource(region, account, params)
        event.resource_arn = None if resource == "*" else resource
        action = op.action if op.action is not None else f"{self.spec.iam_prefix}:{op.name}"
        call = Call(
            account=account,
            region=region,
            principal_arn=principal.arn,
            user_name=principal.name,
            request_id=event.request_id,
            conn=conn,
            codec=self.instance.codec,
            principal_id=principal.caller_id,
            instance=self.instance,
            access_key_id=caller.access_key_id,
        )
        return call, action, resource

    def _stream(self, protocol, op_model, op: Operation, call: Call, params: dict, event, caller: Caller) -> WireResponse:
        """A handler that reads the body as it arrives and commits on its own (``streams=True``)."""
        if op.writes:
            def audit_in(conn) -> None:  # the store's own transaction carries the row
                audit.record(conn, event)
                caller.audited = True

            call.audit = audit_in
        result = op.handler(call, params)
        event.resource_arn = _created_arn(op.name, op_model.output_shape, result) or event.resource_arn
        if op.writes:
            if not caller.audited:
                self.access.audit_now(event)  # durable before the answer goes out
                caller.audited = True
            if events.take_queued():
                webhooks.notify()
        return protocol.respond(op_model, result, event.request_id)

    def _not_implemented(self, name: str) -> AwsError:
        if self.spec.not_implemented is not None:
            return self.spec.not_implemented(name)
        from ...errors import NotSupported

        return NotSupported(f"The {self.model.service_name} operation {name} is not supported by this Charter server yet.")

    def _authorize(self, conn, principal, op: Operation, action: str, resource: str, params: dict, region, source_ip) -> None:
        if action == "":
            return  # answered whatever the policies say (sts:GetCallerIdentity)
        own_keys = {k: v for k, v in (op.conditions(params) if op.conditions is not None else {}).items() if v is not None}
        policies, context = self.access.authorize_action(conn, principal, action, resource, params, region, source_ip, own_keys)
        if self.spec.passes_roles_to:
            for role_arn in _role_arns(params):
                self.access.check(
                    policies, principal, "iam:PassRole", role_arn, {**context, "iam:PassedToService": self.spec.passes_roles_to}
                )


@dataclass(frozen=True)
class _Scope:
    """Where an in-process call (:meth:`Face.invoke`) is made: what a signature's scope would say."""

    region: str


class PayloadMismatch(ClientError):
    code = "XAmzContentSHA256Mismatch"


def _checked(stream: BodyStream, expected: str) -> BodyStream:
    """``stream``, failing at its end unless its bytes hash to the signed ``expected``.

    The reader (the artifact store) commits nothing before the end, so a body
    that does not match its signature is never stored.
    """
    digest = hashlib.sha256()
    pull = stream._next

    def verified_pull() -> bytes:
        chunk = pull()
        if chunk:
            digest.update(chunk)
            return chunk
        computed = digest.hexdigest()
        if not hmac.compare_digest(computed, expected.lower()):
            raise PayloadMismatch(
                f"The provided 'x-amz-content-sha256' header does not match what was computed "
                f"(client {expected}, server {computed})."
            )
        return b""

    return BodyStream(verified_pull, stream.length)


def _created_arn(operation: str, output_shape, output) -> str | None:
    """The ARN a ``Create*`` operation answers with, which its audit record names.

    A create is authorized before the resource exists, sometimes against a
    pattern (CreateModelPackage: ``model-package/<group>/*``, since the handler
    picks the version); the record of what happened names what was made.  The
    output shape says where: its one top-level ``...Arn`` string member.
    """
    if not operation.startswith("Create") or output_shape is None or not isinstance(output, dict):
        return None
    members = [name for name, shape in output_shape.members.items() if name.endswith("Arn") and shape.type_name == "string"]
    if len(members) != 1:
        return None
    value = output.get(members[0])
    return value if isinstance(value, str) and value.startswith("arn:") else None


def _role_arns(params, key: str = "") -> list[str]:
    """Every IAM role ARN the request passes (members named ``...RoleArn``), for iam:PassRole."""
    found: list[str] = []
    if isinstance(params, dict):
        for name, value in params.items():
            found.extend(_role_arns(value, name))
    elif isinstance(params, list):
        for item in params:
            found.extend(_role_arns(item, key))
    elif isinstance(params, str) and key.endswith("RoleArn") and params.startswith("arn:"):
        found.append(params)
    return found
