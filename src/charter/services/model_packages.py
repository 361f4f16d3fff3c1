"""Model packages (SageMaker Model Registry): versions, approvals, group policies.

A *versioned* model package is a version of a model package group: it is
created with ``ModelPackageGroupName``, numbered 1, 2, 3, ... in its group and
named ``arn:aws:sagemaker:<region>:<account>:model-package/<group>/<version>``;
its ``ModelPackageName`` is the group's name.  An *unversioned* package
(``ModelPackageName``, no group) is the Marketplace kind,
``model-package/<name>``, with no version and no approval status (AWS API
reference, CreateModelPackage; developer guide, "Model Registry Models, Model
Versions, and Model Groups").

Stored as the resource type ``model-package``: the describe document, the
group's ARN as ``parent`` (so DeleteModelPackageGroup refuses to delete a group
that still has versions), the version number as ``version`` (the database
refuses a second (parent, version) pair), and ``ModelPackageStatus`` as
``status``.

Approval follows the developer guide's "Update the Approval Status of a
Model": a version starts ``PendingManualApproval`` unless created with
another status, and the valid transitions are PendingManualApproval ->
Approved, PendingManualApproval -> Rejected, Rejected -> Approved and
Approved -> Rejected.  Naming the status a package already has changes nothing
and is accepted; nothing returns to PendingManualApproval.

Every change of a package's status, approval status or life-cycle stage emits
the EventBridge event ``SageMaker Model Package State Change`` (source
``aws.sagemaker``) whose detail is the package's describe document with ISO
8601 times, as in the developer guide's "Events that SageMaker sends to
EventBridge".
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from typing import Iterable

from .. import arns
from ..errors import ConflictException, ValidationException
from ..iam import identities, policy
from ..store import events as event_store
from ..store import resources as store
from . import Call, operation
from .listing import epoch
from .model_package_groups import TYPE as GROUP_TYPE
from .model_package_groups import get_group, group_arn

TYPE = "model-package"

PENDING, APPROVED, REJECTED = "PendingManualApproval", "Approved", "Rejected"
APPROVAL_STATUSES = (APPROVED, REJECTED, PENDING)
# The transitions the developer guide lists as valid ("Only valid transitions are shown").
TRANSITIONS = {PENDING: {APPROVED, REJECTED}, APPROVED: {REJECTED}, REJECTED: {APPROVED}}

EVENT_DETAIL_TYPE = "SageMaker Model Package State Change"
EVENT_SOURCE = "aws.sagemaker"

MAX_ADDITIONAL_INFERENCE_SPECIFICATIONS = 15  # UpdateModelPackage: "can not exceed 15"
MAX_CUSTOMER_METADATA = 50  # CustomerMetadataMap: at most 50 entries
DEFAULT_MAX_RESULTS = 10

# Request members stored in the describe document as given.
_COPIED = (
    "ModelPackageDescription",
    "ModelPackageRegistrationType",
    "InferenceSpecification",
    "SourceAlgorithmSpecification",
    "ValidationSpecification",
    "MetadataProperties",
    "ModelMetrics",
    "Domain",
    "Task",
    "SamplePayloadUrl",
    "CustomerMetadataProperties",
    "DriftCheckBaselines",
    "AdditionalInferenceSpecifications",
    "SkipModelValidation",
    "SourceUri",
    "SecurityConfig",
    "ModelCard",
    "ModelLifeCycle",
    "ManagedStorageType",
)

# Charter's own bookkeeping inside a document: never part of an answer or event.
_INTERNAL = "_charter"
# CreateModelPackage retries with a ClientToken are recognised among this many newest versions.
_CLIENT_TOKEN_WINDOW = 25
# UpdateModelPackage remembers this many ClientTokens per package.
_UPDATE_TOKENS_KEPT = 50
_VERSION_ATTEMPTS = 64


# --- names, ARNs, IAM ----------------------------------------------------------


def package_arn(region: str, account: str, name_or_arn: str) -> str:
    """The ARN a ``ModelPackageName`` (name, ``group/version`` or ARN) designates."""
    if name_or_arn.startswith("arn:"):
        parsed = arns.parse(name_or_arn)
        if parsed.service != "sagemaker" or parsed.resource_type != TYPE:
            raise ValidationException(f'ARN "{name_or_arn}" does not name a model package.')
        return arns.sagemaker_arn(parsed.region, parsed.account, TYPE, parsed.resource_id)
    return arns.sagemaker_arn(region, account, TYPE, name_or_arn)


def _create_resource(region: str, account: str, params: dict) -> str:
    """What CreateModelPackage is authorized against.

    The version number is chosen by the handler, so a version is authorized as
    ``model-package/<group>/*`` (a policy on ``model-package/*`` or on the
    group's packages covers it); an unversioned package by its own ARN.
    """
    group = params.get("ModelPackageGroupName")
    if group:
        return arns.sagemaker_arn(region, account, TYPE, f"{arns.name_or_arn(group, GROUP_TYPE)}/*")
    return arns.sagemaker_arn(region, account, TYPE, params.get("ModelPackageName") or "*")


def _named_resource(region: str, account: str, params: dict) -> str:
    return package_arn(region, account, params["ModelPackageName"])


def _update_resource(region: str, account: str, params: dict) -> str:
    return package_arn(region, account, params["ModelPackageArn"])


def _batch_resource(region: str, account: str, params: dict) -> str:
    # The gateway authorizes one ARN (the first); the handler checks every one.
    return package_arn(region, account, params["ModelPackageArnList"][0])


def condition_keys(params: dict) -> dict:
    """The IAM condition keys of CreateModelPackage and UpdateModelPackage.

    ``sagemaker:ModelApprovalStatus`` (so a policy can say who may approve) and
    ``sagemaker:ModelLifeCycle:stage`` / ``:stageStatus`` (developer guide,
    "Set up Staging Construct Examples"), present only when the request names them.
    """
    keys: dict = {}
    if params.get("ModelApprovalStatus"):
        keys["sagemaker:ModelApprovalStatus"] = params["ModelApprovalStatus"]
    life_cycle = params.get("ModelLifeCycle")
    if life_cycle:
        keys["sagemaker:ModelLifeCycle:stage"] = life_cycle.get("Stage")
        keys["sagemaker:ModelLifeCycle:stageStatus"] = life_cycle.get("StageStatus")
    return keys


def create_condition_keys(params: dict) -> dict:
    """CreateModelPackage's condition keys: as UpdateModelPackage's, with the status the version will get.

    A version registered without ``ModelApprovalStatus`` starts
    ``PendingManualApproval``, so that is the key's value: a policy that allows
    only pending registrations (the ``manage-models`` activity) then allows
    it, and one that refuses ``Approved`` cannot be passed by naming it at
    creation instead of in an update.  An unversioned package has no approval
    status; the key is present only if the request names one.
    """
    keys = condition_keys(params)
    if params.get("ModelPackageGroupName") and "sagemaker:ModelApprovalStatus" not in keys:
        keys["sagemaker:ModelApprovalStatus"] = PENDING
    return keys


# --- lookups -----------------------------------------------------------------


def _not_found(arn: str) -> ValidationException:
    # DescribeModelPackage models no errors: AWS answers ValidationException.
    return ValidationException(f"ModelPackage {arn} does not exist.")


def get_package(call: Call, name_or_arn: str, *, for_update: bool = False) -> store.Resource:
    """The stored package a name, ``group/version`` or ARN designates, in the caller's account and region."""
    arn = package_arn(call.region, call.account, name_or_arn)
    if not arn.startswith(call.arn(TYPE, "")):
        raise _not_found(arn)  # another account's or region's package
    package = store.get(call.conn, arn, for_update=for_update)
    if package is None or package.resource_type != TYPE:
        raise _not_found(arn)
    return package


def _public(document: dict) -> dict:
    return {k: v for k, v in document.items() if k != _INTERNAL}


def _iso(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _emit_state_change(call: Call, document: dict) -> None:
    """Record the EventBridge event for a package whose status, approval or stage changed."""
    detail = _public(document)
    for key in ("CreationTime", "LastModifiedTime"):
        if isinstance(detail.get(key), (int, float)):
            detail[key] = _iso(detail[key])
    event_store.emit(
        call.conn,
        detail_type=EVENT_DETAIL_TYPE,
        source=EVENT_SOURCE,
        account=call.account,
        region=call.region,
        resources=[document["ModelPackageArn"]],
        detail=detail,
    )


def _request_digest(params: dict) -> str:
    body = {k: v for k, v in params.items() if k != "ClientToken"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


# --- validation ------------------------------------------------------------------


def _check_approval_status(value: str) -> None:
    # The model's enum check runs first; this also guards direct (in-process) callers.
    if value not in APPROVAL_STATUSES:
        raise ValidationException(
            f"Value '{value}' at 'modelApprovalStatus' failed to satisfy constraint: "
            f"Member must satisfy enum value set: [{', '.join(APPROVAL_STATUSES)}]"
        )


def check_transition(current: str | None, new: str) -> None:
    """Refuse an approval change the model registry does not allow."""
    _check_approval_status(new)
    if current is None or current == new:
        return
    allowed = TRANSITIONS.get(current, set())
    if new not in allowed:
        raise ValidationException(
            f"Cannot change ModelApprovalStatus from {current} to {new}: the allowed changes from {current} "
            f"are to {' or '.join(sorted(allowed)) or 'nothing'}. A version never returns to {PENDING}."
        )


def _check_model_card(card: dict, current: dict | None = None) -> None:
    """The embedded model card: JSON content in the model package model card schema.

    That schema has no ``model_package_details`` and its ``model_overview``
    holds only ``model_creator`` and ``model_artifact`` (CreateModelPackage,
    ModelCard).  An archived card's content cannot change.
    """
    content = card.get("ModelCardContent")
    if current and current.get("ModelCardStatus") == "Archived" and content is not None:
        if content != current.get("ModelCardContent"):
            raise ValidationException("Model Card is in Archived state")
    if content is None:
        return
    try:
        parsed = json.loads(content)
    except ValueError as exc:
        raise ValidationException(f"ModelCard.ModelCardContent is not valid JSON: {exc}.") from None
    if not isinstance(parsed, dict):
        raise ValidationException("ModelCard.ModelCardContent must be a JSON object.")
    if "model_package_details" in parsed:
        raise ValidationException(
            "ModelCard.ModelCardContent must not contain model_package_details: a model package's own "
            "model card takes those details from the model package."
        )
    overview = parsed.get("model_overview")
    if overview is not None:
        extra = sorted(set(overview) - {"model_creator", "model_artifact"}) if isinstance(overview, dict) else None
        if extra is None or extra:
            raise ValidationException(
                "ModelCard.ModelCardContent.model_overview may hold only model_creator and model_artifact"
                + (f"; remove {', '.join(extra)}." if extra else ".")
            )


def _check_additional_specifications(specs: list[dict]) -> None:
    if len(specs) > MAX_ADDITIONAL_INFERENCE_SPECIFICATIONS:
        raise ValidationException(
            f"A model package can have at most {MAX_ADDITIONAL_INFERENCE_SPECIFICATIONS} additional inference "
            f"specifications; this request would give it {len(specs)}."
        )
    names = [spec["Name"] for spec in specs]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValidationException(f"Additional inference specification names must be unique: {', '.join(duplicates)}.")


def _inference_from_source(call: Call, source_uri: str) -> dict | None:
    """The InferenceSpecification a SourceUri fills in: another model package's, or a model's containers."""
    if not source_uri.startswith("arn:"):
        return None
    try:
        parsed = arns.parse(source_uri)
    except ValidationException:
        return None
    source = store.get(call.conn, source_uri) or store.get(call.conn, arns.sagemaker_arn(
        parsed.region, parsed.account, parsed.resource_type, parsed.resource_id))
    if source is None:
        return None
    if source.resource_type == TYPE:
        return source.document.get("InferenceSpecification")
    if source.resource_type == "model":
        containers = source.document.get("Containers") or [source.document.get("PrimaryContainer") or {}]
        members = ("ContainerHostname", "Image", "ModelDataUrl", "ModelDataSource", "Environment")
        picked = [{k: c[k] for k in members if c.get(k) is not None} for c in containers if c.get("Image")]
        return {"Containers": picked} if picked else None
    return None


# --- CreateModelPackage --------------------------------------------------------


@operation("CreateModelPackage", resource=_create_resource, conditions=create_condition_keys)
def create_model_package(call: Call, params: dict) -> dict:
    """Register a version in a model package group, or create an unversioned package."""
    group_name, name = params.get("ModelPackageGroupName"), params.get("ModelPackageName")
    if group_name and name:
        raise ValidationException(
            "ModelPackageName and ModelPackageGroupName cannot be given together: give ModelPackageGroupName "
            "to register a version of a model group, or ModelPackageName for an unversioned model package."
        )
    if not group_name and not name:
        raise ValidationException(
            "Either ModelPackageGroupName (a versioned model package) or ModelPackageName "
            "(an unversioned model package) is required."
        )
    if params.get("SourceUri") and params.get("InferenceSpecification"):
        raise ValidationException(
            "SourceUri and InferenceSpecification cannot be given together: a SourceUri naming a model or "
            "model package supplies the inference specification; otherwise create the package with its "
            "InferenceSpecification and set SourceUri with UpdateModelPackage."
        )
    if params.get("ModelCard"):
        _check_model_card(params["ModelCard"])
    if params.get("AdditionalInferenceSpecifications"):
        _check_additional_specifications(params["AdditionalInferenceSpecifications"])

    now = time.time()
    document: dict = {key: params[key] for key in _COPIED if params.get(key) is not None}
    if params.get("SourceUri") and "InferenceSpecification" not in document:
        filled = _inference_from_source(call, params["SourceUri"])
        if filled:
            document["InferenceSpecification"] = filled
    document.update(
        CreationTime=now,
        ModelPackageStatus="Completed",
        ModelPackageStatusDetails={"ValidationStatuses": [], "ImageScanStatuses": []},
        CertifyForMarketplace=bool(params.get("CertifyForMarketplace", False)),
        CreatedBy=call.user_context(TYPE),
        LastModifiedTime=now,
        LastModifiedBy=call.user_context(TYPE),
    )
    if params.get("ClientToken"):
        document[_INTERNAL] = {"ClientToken": params["ClientToken"], "RequestDigest": _request_digest(params)}

    if group_name:
        package = _create_version(call, params, group_name, document, now)
    else:
        package = _create_unversioned(call, params, name, document, now)
    if package is None:  # a retry of a request that already succeeded
        return {"ModelPackageArn": document["ModelPackageArn"]}
    _emit_state_change(call, package.document)
    return {"ModelPackageArn": package.arn}


def _replayed(call: Call, params: dict, candidates: Iterable[store.Resource]) -> str | None:
    """The ARN of the package an earlier request with this ClientToken created, if any."""
    token = params.get("ClientToken")
    if not token:
        return None
    for candidate in candidates:
        earlier = candidate.document.get(_INTERNAL, {})
        if earlier.get("ClientToken") == token:
            if earlier.get("RequestDigest") != _request_digest(params):
                raise ValidationException(
                    f"ClientToken {token} was already used with different parameters (for {candidate.arn}); "
                    "use a new token for a new request."
                )
            return candidate.arn
    return None


def _newest_versions(call: Call, group: store.Resource, count: int) -> list[store.Resource]:
    query = store.ListQuery(
        account=call.account, region=call.region, resource_type=TYPE, parent=group.arn, sort_by="Version", ascending=False
    )
    rows, _ = store.list_page(call.conn, query, call.codec, max_results=count)
    return rows


def _create_version(call: Call, params: dict, group_ref: str, document: dict, now: float) -> store.Resource | None:
    # Locking the group serializes its version numbering and keeps a concurrent
    # DeleteModelPackageGroup from deleting it under the new version.
    group = get_group(call, group_ref, for_update=True)
    newest = _newest_versions(call, group, _CLIENT_TOKEN_WINDOW if params.get("ClientToken") else 1)
    replay = _replayed(call, params, newest)
    if replay:
        document["ModelPackageArn"] = replay
        return None

    group_name = group.document["ModelPackageGroupName"]
    bookkeeping = group.document.setdefault(_INTERNAL, {})
    latest = max(bookkeeping.get("LatestModelPackageVersion", 0), newest[0].version if newest else 0)
    approval = params.get("ModelApprovalStatus") or PENDING
    _check_approval_status(approval)
    for _ in range(_VERSION_ATTEMPTS):
        version = latest + 1
        arn = call.arn(TYPE, f"{group_name}/{version}")
        full = {
            "ModelPackageName": group_name,
            "ModelPackageGroupName": group_name,
            "ModelPackageVersion": version,
            "ModelPackageArn": arn,
            **document,
            "ModelApprovalStatus": approval,
        }
        try:
            package = call.create_resource(
                arn=arn,
                resource_type=TYPE,
                name=group_name,
                parent=group.arn,
                version=version,
                status=full["ModelPackageStatus"],
                created_at=now,
                document=full,
                tags_=params.get("Tags", ()),
            )
        except store.AlreadyExists:
            # Another writer took this number (its savepoint rolled back, ours is intact): count again.
            again = _newest_versions(call, group, 1)
            latest = max(version, again[0].version if again else 0)
            continue
        # Numbers are never reused, even after the newest version is deleted.
        bookkeeping["LatestModelPackageVersion"] = version
        store.save(call.conn, group)
        return package
    raise ConflictException(
        f"Could not number a new version of model package group {group_name}: too many concurrent registrations. "
        "Retry the request."
    )


def _create_unversioned(call: Call, params: dict, name: str, document: dict, now: float) -> store.Resource | None:
    if params.get("SourceUri"):
        raise ValidationException(
            "An unversioned model package cannot be created with SourceUri; give ModelPackageGroupName to "
            "register a version instead."
        )
    arn = call.arn(TYPE, name)
    # ModelApprovalStatus "does not apply to unversioned models" (clients send it anyway): not kept.
    full = {"ModelPackageName": name, "ModelPackageArn": arn, **document}
    try:
        return call.create_resource(
            arn=arn,
            resource_type=TYPE,
            name=name,
            status=full["ModelPackageStatus"],
            created_at=now,
            document=full,
            tags_=params.get("Tags", ()),
        )
    except store.AlreadyExists:
        existing = store.get(call.conn, arn)
        replay = _replayed(call, params, [existing] if existing else [])
        if replay:
            document["ModelPackageArn"] = replay
            return None
        raise ValidationException(f"ModelPackage already exists: {arn}") from None


# --- DescribeModelPackage, BatchDescribeModelPackage ---------------------------


@operation("DescribeModelPackage", resource=_named_resource, writes=False)
def describe_model_package(call: Call, params: dict) -> dict:
    """The package's document; ``IncludedData=MetadataOnly`` leaves out the embedded model card's content."""
    document = _public(get_package(call, params["ModelPackageName"]).document)
    if params.get("IncludedData") == "MetadataOnly" and isinstance(document.get("ModelCard"), dict):
        document["ModelCard"] = {k: v for k, v in document["ModelCard"].items() if k != "ModelCardContent"}
    return document


_BATCH_SUMMARY = (
    "ModelPackageGroupName",
    "ModelPackageVersion",
    "ModelPackageArn",
    "ModelPackageDescription",
    "CreationTime",
    "InferenceSpecification",
    "ModelPackageStatus",
    "ModelApprovalStatus",
    "ModelPackageRegistrationType",
)


def _may(call: Call, action: str, package: store.Resource) -> policy.Decision:
    """Decide ``action`` on one package as the gateway would (identity, package and group policies)."""
    identity = [doc for _, doc in identities.attached_policies(call.conn, call.principal_arn)]
    resource_policies = []
    for holder in (package, store.get(call.conn, package.parent) if package.parent else None):
        if holder is not None and (found := store.get_policy(call.conn, holder.id)):
            resource_policies.append(found)
    context: dict = {
        "aws:PrincipalArn": call.principal_arn,
        "aws:PrincipalAccount": call.account,
        "aws:username": call.user_name,
        "aws:RequestedRegion": call.region,
    }
    if call.principal_id:
        context["aws:userid"] = call.principal_id  # as the gateway sets it for the call itself
    for tag in store.get_tags(call.conn, package.id):
        context[f"aws:ResourceTag/{tag['Key']}"] = tag["Value"]
        context[f"sagemaker:ResourceTag/{tag['Key']}"] = tag["Value"]
    request = policy.Request(action=action, resource=package.arn, principal=call.principal_arn, context=context)
    return policy.evaluate(identity, request, resource_policies)


@operation("BatchDescribeModelPackage", resource=_batch_resource, writes=False)
def batch_describe_model_package(call: Call, params: dict) -> dict:
    """Summaries of versioned packages; each ARN that is missing, unversioned or not yours to see is an error entry."""
    summaries: dict = {}
    errors: dict = {}
    for requested in dict.fromkeys(params["ModelPackageArnList"]):
        try:
            package = get_package(call, requested)
        except ValidationException as exc:
            errors[requested] = {"ErrorCode": exc.code, "ErrorResponse": exc.message}
            continue
        decision = _may(call, "sagemaker:BatchDescribeModelPackage", package)
        if decision is not policy.Decision.ALLOW:
            denied = policy.access_denied(call.principal_arn, "sagemaker:BatchDescribeModelPackage", package.arn, decision)
            errors[requested] = {"ErrorCode": denied.code, "ErrorResponse": denied.message}
            continue
        if package.version is None:
            errors[requested] = {
                "ErrorCode": "ValidationException",
                "ErrorResponse": f"ModelPackage {package.arn} is not a versioned model package.",
            }
            continue
        summaries[requested] = {k: package.document.get(k) for k in _BATCH_SUMMARY}
    return {"ModelPackageSummaries": summaries, "BatchDescribeModelPackageErrorMap": errors}


# --- ListModelPackages -----------------------------------------------------------

_SUMMARY = (
    "ModelPackageName",
    "ModelPackageGroupName",
    "ModelPackageVersion",
    "ModelPackageArn",
    "ModelPackageDescription",
    "CreationTime",
    "ModelPackageStatus",
    "ModelApprovalStatus",
    "ModelLifeCycle",
    "ModelPackageRegistrationType",
)


def summary(package: store.Resource) -> dict:
    return {k: package.document.get(k) for k in _SUMMARY}



@operation("ListModelPackages", writes=False)
def list_model_packages(call: Call, params: dict) -> dict:
    """Packages, filtered and sorted as ListModelPackages documents.

    ``ModelPackageType`` defaults to ``Unversioned`` (API reference); a
    ``ModelPackageGroupName`` selects that group's versions, so it implies
    ``Versioned``.  Default order: CreationTime, Ascending.
    """
    group_ref = params.get("ModelPackageGroupName")
    parent = call.arn(GROUP_TYPE, arns.name_or_arn(group_ref, GROUP_TYPE)) if group_ref else None
    kind = params.get("ModelPackageType") or ("Versioned" if group_ref else "Unversioned")
    approval = params.get("ModelApprovalStatus")
    max_results = params.get("MaxResults") or DEFAULT_MAX_RESULTS
    if group_ref and kind == "Unversioned":
        return {"ModelPackageSummaryList": []}  # a group holds only versions

    base = dict(
        account=call.account,
        region=call.region,
        resource_type=TYPE,
        parent=parent,
        name_contains=params.get("NameContains"),
        created_after=epoch(params.get("CreationTimeAfter")),
        created_before=epoch(params.get("CreationTimeBefore")),
        sort_by=params.get("SortBy") or "CreationTime",
        ascending=(params.get("SortOrder") or "Ascending") == "Ascending",
    )
    query = store.ListQuery(
        **base,
        document_equals={"ModelApprovalStatus": approval} if approval else {},
        has_parent=None if kind == "Both" or parent else kind == "Versioned",
    )
    rows, token = store.list_page(call.conn, query, call.codec, max_results=max_results, next_token=params.get("NextToken"))
    out: dict = {"ModelPackageSummaryList": [summary(row) for row in rows]}
    if token:
        out["NextToken"] = token
    return out


# --- UpdateModelPackage ------------------------------------------------------------

_UPDATABLE = (
    "ModelApprovalStatus",
    "ApprovalDescription",
    "ModelPackageRegistrationType",
    "CustomerMetadataProperties",
    "CustomerMetadataPropertiesToRemove",
    "AdditionalInferenceSpecificationsToAdd",
    "InferenceSpecification",
    "SourceUri",
    "ModelCard",
    "ModelLifeCycle",
)


@operation("UpdateModelPackage", resource=_update_resource, conditions=condition_keys)
def update_model_package(call: Call, params: dict) -> dict:
    """Approve or reject a version, or change its metadata; records who and when.

    Each update stamps LastModifiedTime and LastModifiedBy.  A ClientToken
    seen before on this package with the same request changes nothing again.
    """
    package = get_package(call, params["ModelPackageArn"], for_update=True)
    document = package.document
    bookkeeping = document.setdefault(_INTERNAL, {})
    token = params.get("ClientToken")
    digest = _request_digest(params)
    if token and token in bookkeeping.get("UpdateTokens", {}):
        if bookkeeping["UpdateTokens"][token] != digest:
            raise ValidationException(
                f"ClientToken {token} was already used with different parameters on {package.arn}; "
                "use a new token for a new request."
            )
        return {"ModelPackageArn": package.arn}
    if not any(params.get(key) is not None for key in _UPDATABLE):
        raise ValidationException(
            f"Nothing to update: give at least one of {', '.join(_UPDATABLE)}."
        )

    previous = dict(document)
    approval = params.get("ModelApprovalStatus")
    if approval is not None:
        if package.version is None:
            raise ValidationException(
                f"ModelApprovalStatus applies only to versioned model packages; {package.arn} is unversioned."
            )
        check_transition(document.get("ModelApprovalStatus"), approval)
        document["ModelApprovalStatus"] = approval
    if params.get("ApprovalDescription") is not None:
        document["ApprovalDescription"] = params["ApprovalDescription"]
    if params.get("ModelPackageRegistrationType"):
        document["ModelPackageRegistrationType"] = params["ModelPackageRegistrationType"]
    _update_customer_metadata(document, params)
    if params.get("AdditionalInferenceSpecificationsToAdd"):
        merged = list(document.get("AdditionalInferenceSpecifications", [])) + params["AdditionalInferenceSpecificationsToAdd"]
        _check_additional_specifications(merged)
        document["AdditionalInferenceSpecifications"] = merged
    if params.get("InferenceSpecification") and params.get("SourceUri"):
        raise ValidationException(
            "SourceUri and InferenceSpecification cannot be updated in the same request; update one, then the other."
        )
    if params.get("InferenceSpecification"):
        document["InferenceSpecification"] = params["InferenceSpecification"]
    if params.get("SourceUri") is not None:
        document["SourceUri"] = params["SourceUri"]
    if params.get("ModelCard"):
        current = document.get("ModelCard")
        _check_model_card(params["ModelCard"], current)
        document["ModelCard"] = {**(current or {}), **params["ModelCard"]}
    if params.get("ModelLifeCycle"):
        document["ModelLifeCycle"] = params["ModelLifeCycle"]

    now = time.time()
    document["LastModifiedTime"] = now
    document["LastModifiedBy"] = call.user_context(TYPE)
    if token:
        tokens = bookkeeping.setdefault("UpdateTokens", {})
        tokens[token] = digest
        for stale in list(tokens)[:-_UPDATE_TOKENS_KEPT]:
            del tokens[stale]
    store.save(call.conn, package, status=document["ModelPackageStatus"])
    changed = any(
        previous.get(key) != document.get(key) for key in ("ModelApprovalStatus", "ModelPackageStatus", "ModelLifeCycle")
    )
    if changed:
        _emit_state_change(call, document)
    return {"ModelPackageArn": package.arn}


def _update_customer_metadata(document: dict, params: dict) -> None:
    """Merge CustomerMetadataProperties (a key given again takes the new value), then remove keys."""
    adding = params.get("CustomerMetadataProperties") or {}
    removing = params.get("CustomerMetadataPropertiesToRemove") or []
    both = sorted(set(adding) & set(removing))
    if both:
        raise ValidationException(
            f"Customer metadata key(s) {', '.join(both)} cannot be both set and removed in one request."
        )
    if not adding and not removing:
        return
    merged = {**document.get("CustomerMetadataProperties", {}), **adding}
    for key in removing:
        merged.pop(key, None)
    if len(merged) > MAX_CUSTOMER_METADATA:
        raise ValidationException(
            f"A model package can have at most {MAX_CUSTOMER_METADATA} customer metadata properties; "
            f"this request would give it {len(merged)}."
        )
    if merged:
        document["CustomerMetadataProperties"] = merged
    else:
        document.pop("CustomerMetadataProperties", None)


# --- DeleteModelPackage ------------------------------------------------------------


@operation("DeleteModelPackage", resource=_named_resource)
def delete_model_package(call: Call, params: dict) -> dict:
    """Delete a package; its status passes through Deleting, which is announced as a state change."""
    package = get_package(call, params["ModelPackageName"], for_update=True)
    document = dict(package.document)
    document["ModelPackageStatus"] = "Deleting"
    _emit_state_change(call, document)
    store.remove(call.conn, package)
    return {}


# --- model package group policies --------------------------------------------------


def _group_of(call: Call, params: dict, *, for_update: bool = False) -> store.Resource:
    return get_group(call, params["ModelPackageGroupName"], for_update=for_update)


@operation("PutModelPackageGroupPolicy", resource=group_arn)
def put_model_package_group_policy(call: Call, params: dict) -> dict:
    """Attach a resource-based policy to a group; it governs the group and its versions."""
    group = _group_of(call, params, for_update=True)
    document = policy.validate_policy(params["ResourcePolicy"], resource_policy=True)
    store.put_policy(call.conn, group.id, document)
    return {"ModelPackageGroupArn": group.arn}


@operation("GetModelPackageGroupPolicy", resource=group_arn, writes=False)
def get_model_package_group_policy(call: Call, params: dict) -> dict:
    group = _group_of(call, params)
    document = store.get_policy(call.conn, group.id)
    if document is None:
        raise ValidationException(f"Model package group {group.arn} has no resource policy.")
    return {"ResourcePolicy": json.dumps(document)}


@operation("DeleteModelPackageGroupPolicy", resource=group_arn)
def delete_model_package_group_policy(call: Call, params: dict) -> dict:
    group = _group_of(call, params, for_update=True)
    if not store.delete_policy(call.conn, group.id):
        raise ValidationException(f"Model package group {group.arn} has no resource policy.")
    return {}
