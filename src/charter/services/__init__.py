"""The domain, one module per resource family, pure of HTTP.

Each service module registers its handlers by operation name with
``@operation``, under the AWS service whose botocore model defines the
operation (``sagemaker`` unless it says ``service="s3"``, ``"logs"``, ...); the
faces find them in ``HANDLERS[service]``.  A handler receives the ``Call``
(who, where, the open transaction) and the validated input, and returns the
output document.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from typing import Any, Callable

from sqlalchemy import Connection

from .. import arns
from ..iam import identities
from ..store import resources as store
from ..store.resources import TokenCodec


#: The resource types whose UserContext carries IamIdentity (botocore's UserContext documentation).
IAM_IDENTITY_TYPES = frozenset({"model-package-group", "model-package", "project", "hub", "hub-content"})


@dataclass
class Call:
    """One API call as a service sees it."""

    account: str
    region: str
    principal_arn: str
    user_name: str
    request_id: str
    conn: Connection
    codec: TokenCodec
    extra: dict[str, Any] = field(default_factory=dict)
    #: The caller's id as AWS reports it (``AIDA...`` for a user, ``AROA...:<session>`` for a role);
    #: looked up from ``principal_arn`` when not given.
    principal_id: str | None = None
    #: The installation (settings, artifact store, ``transaction()``), for handlers that
    #: need more than the call's own transaction: a streamed upload commits its own.
    instance: Any = None
    #: The caller's access key id (STS answers it; the audit log records it).
    access_key_id: str | None = None
    #: For a streamed write (which commits on its own): writes the call's audit row in the
    #: connection given, so a handler whose store commits in one transaction commits its
    #: record with it.  Not called, the face writes the row after the handler returns.
    audit: Callable[[Connection], None] | None = None

    def arn(self, resource_type: str, resource_id: str) -> str:
        return arns.sagemaker_arn(self.region, self.account, resource_type, resource_id)

    def create_resource(self, **columns) -> store.Resource:
        """Store a new resource in this call's account and region (``store.resources.create``)."""
        return store.create(self.conn, account=self.account, region=self.region, **columns)

    def user_context(self, resource_type: str) -> dict:
        """SageMaker's ``UserContext`` for a ``CreatedBy`` / ``LastModifiedBy`` of ``resource_type``.

        botocore documents ``IamIdentity`` as "associated with model package
        groups, model packages, project entities, hubs, and hub content only",
        and ``UserProfileName`` / ``UserProfileArn`` / ``DomainId`` as the Studio
        user profile that made the call.  Charter's callers are IAM principals,
        not Studio user profiles, so a model card (say) gets ``{}`` and a model
        package ``{"IamIdentity": {"Arn": ..., "PrincipalId": "AIDA..."}}``.
        """
        if resource_type not in IAM_IDENTITY_TYPES:
            return {}
        identity = {"Arn": self.principal_arn}
        principal_id = self.principal_id or self._lookup_principal_id()
        if principal_id:
            identity["PrincipalId"] = principal_id
        return {"IamIdentity": identity}

    def _lookup_principal_id(self) -> str | None:
        principal = identities.get_principal(self.conn, self.principal_arn)
        if principal is None:
            return None
        self.principal_id = principal.caller_id
        return self.principal_id


Handler = Callable[[Call, dict], dict]
ResourceOf = Callable[[str, str, dict], str]  # (region, account, params) -> ARN authorized against
ConditionsOf = Callable[[dict], dict]  # params -> extra IAM condition keys of this request


@dataclass(frozen=True)
class Operation:
    name: str
    handler: Handler
    resource: ResourceOf
    writes: bool
    conditions: ConditionsOf | None = None
    service: str = "sagemaker"
    #: The IAM action the call is authorized as (``s3:GetObject`` for HeadObject);
    #: ``None``: ``<the face's IAM prefix>:<name>``.  ``""``: no authorization at
    #: all (STS GetCallerIdentity, which AWS answers whatever the policies say).
    action: str | None = None
    #: True: the handler reads the request body as a stream and opens its own
    #: transactions (``call.conn`` is None), so no database lock is held while
    #: an upload arrives.
    streams: bool = False


#: Handlers by botocore service name, then operation name.
HANDLERS: dict[str, dict[str, Operation]] = {}


def _any_resource(region: str, account: str, params: dict) -> str:
    return "*"


def operation(
    name: str,
    *,
    service: str = "sagemaker",
    resource: ResourceOf | None = None,
    writes: bool = True,
    conditions: ConditionsOf | None = None,
    action: str | None = None,
    streams: bool = False,
):
    """Register the decorated function as the handler of ``service``'s operation ``name``.

    ``resource`` names the ARN the call is authorized against (``*`` when omitted,
    as IAM does for List and Search actions); ``conditions`` adds the
    operation's own IAM condition keys (e.g. ``sagemaker:ModelApprovalStatus``);
    ``action`` is the IAM action where it is not the operation's own name.
    """

    def register(func: Handler) -> Handler:
        table = HANDLERS.setdefault(service, {})
        if name in table:
            raise RuntimeError(f"two handlers for {service} {name}")
        table[name] = Operation(
            name, func, resource or _any_resource, writes, conditions, service=service, action=action, streams=streams
        )
        return func

    return register


def load_all(service: str = "sagemaker") -> dict[str, Operation]:
    """Import every service module so that its handlers register; ``service``'s handlers."""
    _import_all()
    return HANDLERS.setdefault(service, {})


def _import_all() -> None:
    for module in pkgutil.walk_packages(__path__, prefix=f"{__name__}."):
        importlib.import_module(module.name)
