"""The SageMaker JSON 1.1 gateway: one generic path for every operation.

``POST /`` with ``X-Amz-Target: SageMaker.<Operation>``:
authenticate (SigV4) → parse and validate the body against the operation's
input shape → authorize (IAM policies, iam:PassRole) → dispatch to the handler
registered under the operation's name → serialize through the output shape →
audit.  Nothing here knows any particular operation (ARCHITECTURE.md rule 1).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
import uuid
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Mapping

from ..errors import (
    AccessDeniedException,
    AwsError,
    InternalFailure,
    NotSupported,
    SerializationException,
    UnknownOperationException,
)
from ..iam import identities, policy, sigv4
from ..runtime import webhooks
from ..instance import Instance
from ..model import service_model
from ..services import Call, Operation, load_all
from ..store import audit
from ..store import resources as store
from . import shapes

log = logging.getLogger("charter.gateway")

TARGET_PREFIX = "SageMaker."
JSON_11 = "application/x-amz-json-1.1"


@dataclass
class WireRequest:
    method: str
    path: str
    query_string: str
    headers: Mapping[str, str]  # lower-case names
    body: bytes
    source_ip: str | None = None


@dataclass
class WireResponse:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class _Caller:
    principal: identities.Principal | None = None
    access_key_id: str | None = None
    audited: bool = False  # the audit record went in with the call's own transaction


def new_event(request: WireRequest, operation: str) -> audit.AuditEvent:
    """The audit row every face starts a request with: a fresh request id, presumed to succeed."""
    return audit.AuditEvent(
        request_id=str(uuid.uuid4()),
        operation=operation,
        outcome="Success",
        status_code=200,
        source_ip=request.source_ip,
        user_agent=request.headers.get("user-agent"),
    )


def identify(event: audit.AuditEvent, verified: sigv4.VerifiedRequest, principal) -> None:
    """Names the verified caller and its region in the request's audit row."""
    event.region = verified.region
    event.principal_arn = principal.arn
    event.user_name = principal.name


def record_failure(event: audit.AuditEvent, error: AwsError) -> None:
    """Marks the request's audit row with the error it was answered."""
    event.outcome = "Denied" if isinstance(error, AccessDeniedException) else "Failed"
    event.status_code = error.status
    event.error_code = error.code
    event.error_message = error.message[:2000]


class Gateway:
    def __init__(self, instance: Instance):
        self.instance = instance
        self.model = service_model("sagemaker")
        self.handlers = dict(load_all())  # a copy: tests may register extra operations on one gateway

    # --- the request path ----------------------------------------------------

    def handle(self, request: WireRequest) -> WireResponse:
        event = new_event(request, request.headers.get("x-amz-target", "").removeprefix(TARGET_PREFIX) or "(none)")
        request_id = event.request_id
        caller = _Caller()
        try:
            status, document = 200, self._process(request, event, caller)
            body = json.dumps(document, separators=(",", ":")).encode()
        except AwsError as error:
            status, body = self._error(event, error)
        except Exception as exc:  # a bug: answer a retryable fault, keep the details in the log
            log.exception("request %s failed", request_id)
            status, body = self._error(event, InternalFailure(f"Charter could not complete the request ({type(exc).__name__}); request id {request_id}."))
        event.access_key_id = caller.access_key_id
        if not (status == 200 and caller.audited):
            self._audit(event)
        return WireResponse(
            status,
            body,
            {"content-type": JSON_11, "x-amzn-requestid": request_id, "date": formatdate(usegmt=True)},
        )

    def _error(self, event: audit.AuditEvent, error: AwsError) -> tuple[int, bytes]:
        record_failure(event, error)
        return error.status, json.dumps(error.to_wire()).encode()

    def _audit(self, event: audit.AuditEvent) -> None:
        try:
            with self.instance.transaction() as conn:
                audit.record(conn, event)
        except Exception:  # the answer to the client stands; the log says what was lost
            log.exception("could not write the audit event of request %s", event.request_id)

    def _process(self, request: WireRequest, event: audit.AuditEvent, caller: _Caller) -> dict:
        target = request.headers.get("x-amz-target", "")
        name = target.removeprefix(TARGET_PREFIX)
        verified = self._authenticate(request, caller)
        identify(event, verified, caller.principal)

        if not target.startswith(TARGET_PREFIX) or name not in self.model.operation_names:
            raise UnknownOperationException(f"Operation {target or '(no X-Amz-Target header)'} is not a SageMaker operation.")
        op_model = self.model.operation_model(name)
        params = shapes.parse_input(op_model, self._json_body(request.body))
        op = self.handlers.get(name)
        if op is None:
            raise NotSupported(f"The SageMaker operation {name} is not supported by this Charter server yet.")

        region, account = verified.region, caller.principal.account
        resource = op.resource(region, account, params)
        event.resource_arn = None if resource == "*" else resource
        with self.instance.transaction(write=op.writes) as conn:
            self._authorize(conn, caller.principal, op, resource, params, region, request.source_ip)
            call = Call(
                account=account,
                region=region,
                principal_arn=caller.principal.arn,
                user_name=caller.principal.name,
                request_id=event.request_id,
                conn=conn,
                codec=self.instance.codec,
                principal_id=caller.principal.caller_id,
            )
            result = op.handler(call, params)
            output = shapes.serialize_output(op_model.output_shape, result)
            event.resource_arn = _created_arn(name, op_model.output_shape, output) or event.resource_arn
            if op.writes:
                # A successful change and its audit record commit together.
                audit.record(conn, event)
                caller.audited = True
        if op.writes:
            webhooks.notify()  # events the change emitted go out now, not at the next poll
        return output

    @staticmethod
    def _json_body(body: bytes) -> dict:
        if not body.strip():
            return {}
        try:
            document = json.loads(body)
        except ValueError as exc:
            raise SerializationException(f"The request body is not valid JSON: {exc}.") from None
        if not isinstance(document, dict):
            raise SerializationException("The request body must be a JSON object.")
        return document

    # --- authentication ------------------------------------------------------

    def _authenticate(self, request: WireRequest, caller: _Caller) -> sigv4.VerifiedRequest:
        def lookup_secret(access_key_id: str) -> str | None:
            caller.access_key_id = access_key_id
            with self.instance.transaction(write=False) as conn:
                found = identities.lookup_key(conn, self.instance.keyring, access_key_id)
            if found is None:
                return None
            secret, caller.principal = found
            return secret

        verified = sigv4.verify_request(
            request.method,
            request.path,
            request.query_string,
            request.headers,
            request.body,
            lookup_secret,
            max_skew_seconds=self.instance.settings.max_clock_skew_seconds,
        )
        return verified

    # --- authorization -------------------------------------------------------

    def _authorize(self, conn, principal, op: Operation, resource: str, params: dict, region: str, source_ip) -> None:
        own_keys = {k: v for k, v in (op.conditions(params) if op.conditions is not None else {}).items() if v is not None}
        policies, context = self.authorize_action(
            conn, principal, f"sagemaker:{op.name}", resource, params, region, source_ip, own_keys
        )
        for role_arn in _role_arns(params):
            self._check(
                policies, principal, "iam:PassRole", role_arn, {**context, "iam:PassedToService": "sagemaker.amazonaws.com"}
            )

    def authorize_action(
        self, conn, principal, action: str, resource: str, params: dict, region: str, source_ip, own_keys: dict | None = None
    ) -> tuple[list[dict], dict]:
        """Refuses ``action`` on ``resource`` unless the caller's and the resource's policies allow it.

        Returns the caller's policies and the condition context, for checks that follow
        (iam:PassRole).  ``own_keys`` are the operation's own condition keys.
        """
        policies = [doc for _, doc in identities.attached_policies(conn, principal.arn)]
        context, resource_policies = self._resource_facts(conn, resource)
        context.update(self._context(principal, params, region, source_ip))
        context.update(own_keys or {})
        self._check(policies, principal, action, resource, context, resource_policies, own_keys)
        return policies, context

    @staticmethod
    def _check(
        policies, principal, action: str, resource: str, context: dict, resource_policies=(), own_keys: dict | None = None
    ) -> None:
        request = policy.Request(action=action, resource=resource, principal=principal.arn, context=context)
        decision = policy.evaluate(policies, request, resource_policies)
        if decision is policy.Decision.ALLOW:
            return
        error = policy.access_denied(principal.arn, action, resource, decision)
        if (
            decision is policy.Decision.IMPLICIT_DENY
            and own_keys
            and policy.allowed_but_for(policies, request, list(own_keys), resource_policies)
        ):
            # Say when the operation's own condition keys are what refused it (e.g. a version registered
            # Approved by someone who may only register pending ones): the caller can act on that.
            named = " and ".join(f"{key} = {value}" for key, value in own_keys.items())
            error = AccessDeniedException(f"{error.message} with {named}")
        raise error

    @staticmethod
    def _resource_facts(conn, resource: str) -> tuple[dict, list[dict]]:
        """The stored resource's tags (as condition keys) and the resource policies that govern it.

        A resource's own policy and its parent's count (a model package group's
        policy governs the packages in it, as in SageMaker).
        """
        context: dict = {}
        found: list[dict] = []
        if resource == "*":
            return context, found
        stored = store.get(conn, resource) or store.get(conn, resource.lower())
        if stored is None:
            return context, found
        for tag in store.get_tags(conn, stored.id):
            context[f"aws:ResourceTag/{tag['Key']}"] = tag["Value"]
            context[f"sagemaker:ResourceTag/{tag['Key']}"] = tag["Value"]
        own = store.get_policy(conn, stored.id)
        if own:
            found.append(own)
        parent = store.get(conn, stored.parent) if stored.parent else None
        if parent is not None and (inherited := store.get_policy(conn, parent.id)):
            found.append(inherited)
        return context, found

    @staticmethod
    def _context(principal, params: dict, region: str, source_ip) -> dict:
        now = time.time()
        context: dict = {
            "aws:username": principal.name,
            "aws:userid": principal.caller_id,
            "aws:PrincipalArn": principal.arn,
            "aws:PrincipalAccount": principal.account,
            "aws:PrincipalType": "User" if principal.kind == "user" else "AssumedRole",
            "aws:RequestedRegion": region,
            "aws:SecureTransport": False,
            "aws:CurrentTime": dt.datetime.fromtimestamp(now, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "aws:EpochTime": int(now),
        }
        if source_ip:
            context["aws:SourceIp"] = source_ip
        request_tags = params.get("Tags")
        if isinstance(request_tags, list):
            for tag in request_tags:
                context[f"aws:RequestTag/{tag['Key']}"] = tag.get("Value", "")
            context["aws:TagKeys"] = [tag["Key"] for tag in request_tags]
        elif isinstance(params.get("TagKeys"), list):
            context["aws:TagKeys"] = list(params["TagKeys"])
        return context


def _created_arn(operation: str, output_shape, output: dict) -> str | None:
    """The ARN a ``Create*`` operation answers with, which its audit record names.

    A create is authorized before the resource exists, sometimes against a
    pattern (CreateModelPackage: ``model-package/<group>/*``, since the handler
    picks the version); the record of what happened names what was made.  The
    output shape says where: its one top-level ``...Arn`` string member.
    """
    if not operation.startswith("Create") or output_shape is None:
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
