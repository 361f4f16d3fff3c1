"""The one authenticate / authorize / audit layer every face goes through.

Every wire request, whatever its protocol, is someone's (ARCHITECTURE.md
rule 7): its SigV4 signature is verified (the service it is addressed to is
the one in its credential scope), the caller's and the resource's IAM
policies decide whether the action is allowed, and one audit row records the
call and its outcome.  The faces (:mod:`charter.api.faces`, the
sagemaker-runtime face, the unknown-path answer) and the web console (which
authenticates a person by a session cookie rather than a signature, then
authorizes and audits the same way, with source ``console``) call this module
and nothing else for those three things.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from dataclasses import dataclass

from ..errors import AccessDeniedException, AwsError
from ..iam import identities, policy, sigv4
from ..instance import Instance
from ..store import audit
from ..store import resources as store
from .wire import WireRequest

log = logging.getLogger("charter.access")


@dataclass
class Caller:
    """Who a request turned out to be, filled in as authentication proceeds."""

    principal: identities.Principal | None = None
    access_key_id: str | None = None
    verified: sigv4.VerifiedRequest | None = None
    audited: bool = False  # the audit record went in with the call's own transaction


def new_event(request: WireRequest, operation: str) -> audit.AuditEvent:
    """The audit row every face starts a request with: a fresh request id, presumed to succeed."""
    return start_event(operation, request.source_ip, request.headers.get("user-agent"))


def start_event(operation: str, source_ip: str | None, user_agent: str | None, *, source: str = "api") -> audit.AuditEvent:
    """A fresh audit row for ``operation`` from ``source`` (``api``, ``console``), presumed to succeed."""
    return audit.AuditEvent(
        request_id=str(uuid.uuid4()),
        operation=operation,
        outcome="Success",
        status_code=200,
        source_ip=source_ip,
        user_agent=user_agent,
        time=time.time(),
        source=source,
    )


def identify(event: audit.AuditEvent, verified: sigv4.VerifiedRequest, principal) -> None:
    """Names the verified caller and its region in the request's audit row."""
    event.region = verified.region
    event.principal_arn = principal.arn
    event.user_name = principal.name


def record_failure(event: audit.AuditEvent, error: AwsError) -> None:
    """Marks the request's audit row with the error it was answered."""
    event.outcome = "Denied" if isinstance(error, AccessDeniedException) or error.code in ("AccessDenied",) else "Failed"
    event.status_code = error.status
    event.error_code = error.code
    event.error_message = error.message[:2000]


def security_token(request: WireRequest) -> str | None:
    """The session token a request carries, in its header or (presigned) its query string."""
    token = request.headers.get("x-amz-security-token")
    if token is None and "X-Amz-Security-Token=" in request.query_string:
        from urllib.parse import parse_qs

        values = parse_qs(request.query_string, keep_blank_values=True).get("X-Amz-Security-Token")
        token = values[0] if values else None
    return token


class Access:
    def __init__(self, instance: Instance):
        self.instance = instance
        self.audit_buffer = audit.AuditBuffer(instance.engine)

    def close(self) -> None:
        self.audit_buffer.close()

    # --- authentication ----------------------------------------------------------

    def authenticate(
        self, request: WireRequest, caller: Caller, service: str | None = None, conn=None
    ) -> sigv4.VerifiedRequest:
        """Verifies the request's signature; fills ``caller`` with the key's owner.

        ``service``: the signing name the credential scope must carry (``None``:
        any).  A request whose body is still a stream is verified against its
        declared ``X-Amz-Content-SHA256``; the face checks the body as it reads it.
        ``conn``: the request's open transaction, if it has one already.
        """
        token = security_token(request)

        def lookup_secret(access_key_id: str) -> str | None:
            caller.access_key_id = access_key_id
            if conn is not None:
                found = identities.lookup_key(conn, self.instance.keyring, access_key_id, token)
            else:
                with self.instance.transaction(write=False) as own:
                    found = identities.lookup_key(own, self.instance.keyring, access_key_id, token)
            if found is None:
                return None
            secret, caller.principal = found
            return secret

        verified = sigv4.verify_request(
            request.method,
            request.path,
            request.query_string,
            request.headers,
            None if request.stream is not None else request.body,
            lookup_secret,
            max_skew_seconds=self.instance.settings.max_clock_skew_seconds,
            service=service,
        )
        caller.verified = verified
        return verified

    # --- authorization -----------------------------------------------------------

    def authorize_action(
        self, conn, principal, action: str, resource: str, params: dict, region: str, source_ip, own_keys: dict | None = None
    ) -> tuple[list[dict], dict]:
        """Refuses ``action`` on ``resource`` unless the caller's and the resource's policies allow it.

        Returns the caller's policies and the condition context, for checks that follow
        (iam:PassRole).  ``own_keys`` are the operation's own condition keys.
        """
        policies = [doc for _, doc in identities.attached_policies(conn, principal.arn)]
        context, resource_policies = self.resource_facts(conn, resource)
        context.update(self.context(principal, params, region, source_ip))
        context.update(own_keys or {})
        self.check(policies, principal, action, resource, context, resource_policies, own_keys)
        return policies, context

    def decide(
        self, conn, principal, checks: list[tuple[str, str]], region: str, source_ip
    ) -> list[policy.Decision]:
        """The decision on each ``(action, resource)`` for ``principal``, taken as :meth:`authorize_action` takes it.

        The console asks this for the page it opens (and refuses it unless
        ALLOW) and for the pages its navigation lists; nothing is raised.
        """
        policies = [doc for _, doc in identities.attached_policies(conn, principal.arn)]
        decisions = []
        for action, resource in checks:
            context, resource_policies = self.resource_facts(conn, resource)
            context.update(self.context(principal, {}, region, source_ip))
            request = policy.Request(action=action, resource=resource, principal=principal.arn, context=context)
            decisions.append(policy.evaluate(policies, request, resource_policies))
        return decisions

    @staticmethod
    def denial(principal, action: str, resource: str, decision: policy.Decision) -> AwsError:
        """The AccessDeniedException the API answers for this denied decision."""
        return policy.access_denied(principal.arn, action, resource, decision)

    @staticmethod
    def check(
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
    def resource_facts(conn, resource: str) -> tuple[dict, list[dict]]:
        """The stored resource's tags (as condition keys) and the resource policies that govern it.

        A resource's own policy and its parent's count (a model package group's
        policy governs the packages in it, as in SageMaker).
        """
        context: dict = {}
        found: list[dict] = []
        if resource == "*" or not resource.startswith("arn:aws:sagemaker:"):
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
    def context(principal, params: dict, region: str, source_ip) -> dict:
        now = time.time()
        context: dict = {
            "aws:username": principal.name,
            "aws:userid": principal.caller_id,
            "aws:PrincipalArn": getattr(principal, "role_arn", "") or principal.arn,  # a session: its role
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
                if isinstance(tag, dict) and "Key" in tag:
                    context[f"aws:RequestTag/{tag['Key']}"] = tag.get("Value", "")
            context["aws:TagKeys"] = [tag["Key"] for tag in request_tags if isinstance(tag, dict) and "Key" in tag]
        elif isinstance(params.get("TagKeys"), list):
            context["aws:TagKeys"] = list(params["TagKeys"])
        return context

    # --- audit ---------------------------------------------------------------------

    def audit(self, event: audit.AuditEvent) -> None:
        """Records ``event`` (a read, a refusal, a failure) within a second, with others."""
        self.audit_buffer.add(event)

    def audit_now(self, event: audit.AuditEvent) -> None:
        """Writes ``event`` before returning (an accepted write that committed on its own)."""
        try:
            with self.instance.transaction() as conn:
                audit.record(conn, event)
        except Exception:  # the answer to the client stands; the log says what was lost
            log.exception("could not write the audit event of request %s", event.request_id)
