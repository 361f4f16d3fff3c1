"""Model cards (SageMaker Model Cards): Create, Describe, List, Update, Delete, ListVersions.

What AWS documents and this module implements:

- ``Content`` is a JSON string in the model card JSON schema (the developer guide's
  "Model card JSON schema"); Charter ships that schema as
  ``services/schemas/model_card.json`` and refuses content that breaks it, naming the
  JSON path of each problem.
- "After you save a model card version, you cannot update that version of the model
  card. Any edits ... are saved as a subsequent version in order to have an immutable
  record of model changes" (developer guide, *Edit a model card*): version 1 on
  create, a new version on every accepted UpdateModelCard, every version readable
  with ``DescribeModelCard(ModelCardVersion=N)``.
- "You cannot update both model card content and model card status in a single
  call" (UpdateModelCard).
- ``Archived``: "No more updates can be made to the model card content. If you try to
  update the model card content, you will receive the message Model Card is in
  Archived state" (ModelPackageModelCard), and "No more updates should be made to the
  model card, but it can still be exported" (ModelCardStatus).  Charter makes Archived
  final: neither content nor status changes; describe, export and delete still work.
  Draft, PendingReview and Approved are an organization's own review stages ("Different
  organizations might have different criteria for model card review and approval"):
  AWS imposes no order among them, so neither does Charter.
- ``IncludedData=MetadataOnly`` returns Content reduced to model_overview.model_id,
  model_overview.model_name, intended_uses.risk_rating,
  model_package_details.model_package_group_name and model_package_details.model_package_arn.
- A card whose content names a model package
  (``model_package_details.model_package_arn``) documents that package: its
  ``model_package_details`` are filled from the Model Registry, and its
  ``training_details.training_job_details`` from the training job that produced the
  package's model artifact, when Charter knows it (what the SageMaker Python SDK's
  ``ModelPackage.from_model_package_arn`` and ``TrainingDetails`` auto-discovery
  fill in client-side).

Storage (read by the card export module, keep it stable): the card is a resource of
type ``model-card`` whose document is the DescribeModelCard output of its latest
version; every version is also a resource, type ``model-card-version``, parent = the
card's ARN, version = N, ARN ``<card arn>/version/<N>`` (internal), document = the
DescribeModelCard output of that version.
"""

from __future__ import annotations

import copy
import functools
import json
import math
import time
from importlib import resources as package_files
from typing import Any, Iterable

import jsonschema

from .. import arns
from ..errors import ConflictException, ResourceNotFound, ValidationException
from ..store import resources as store
from . import Call, operation
from .listing import list_operation

TYPE = "model-card"
VERSION_TYPE = "model-card-version"
PACKAGE_TYPE = "model-package"
TRAINING_JOB_TYPE = "training-job"

STATUSES = ("Draft", "PendingReview", "Approved", "Archived")
# Which status each status may move to with UpdateModelCard(ModelCardStatus=...).
ALLOWED_MOVES: dict[str, tuple[str, ...]] = {
    "Draft": ("Draft", "PendingReview", "Approved", "Archived"),
    "PendingReview": ("Draft", "PendingReview", "Approved", "Archived"),
    "Approved": ("Draft", "PendingReview", "Approved", "Archived"),
    "Archived": (),
}

MAX_REPORTED_ERRORS = 3
_MAX_MESSAGE = 300
_MAX_QUOTED = 60
# How many recent training jobs to look through for the one that produced a package's artifact.
_TRAINING_JOB_SCAN = 1000


# --- content: parsing and schema validation -----------------------------------------


@functools.cache
def content_schema() -> dict:
    """The shipped model card content schema (JSON Schema Draft 7)."""
    text = package_files.files("charter.services").joinpath("schemas/model_card.json").read_text(encoding="utf-8")
    return json.loads(text)


@functools.cache
def _validator() -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(content_schema())


def json_path(path: Iterable[Any]) -> str:
    """``$.a.b[0].c`` for the path elements of a jsonschema error."""
    out = "$"
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.isidentifier():
            out += f".{part}"
        else:
            out += "[" + json.dumps(part) + "]"
    return out


def _order(error: jsonschema.ValidationError) -> tuple:
    # Document order: indexes numerically, keys alphabetically, then the message.
    return tuple((isinstance(p, str), p) for p in error.absolute_path), error.message


def _message(error: jsonschema.ValidationError) -> str:
    # jsonschema quotes the offending value in full; keep the explanation, shorten the value.
    message = error.message
    quoted = repr(error.instance)
    if len(quoted) > _MAX_QUOTED and quoted in message:
        message = message.replace(quoted, quoted[: _MAX_QUOTED - 4] + "..." + quoted[-1], 1)
    return message if len(message) <= _MAX_MESSAGE else message[: _MAX_MESSAGE - 3] + "..."


def content_errors(content: Any) -> list[tuple[str, str]]:
    """Every schema violation of ``content`` as (JSON path, message), in document order."""
    errors = sorted(_validator().iter_errors(content), key=_order)
    return [(json_path(e.absolute_path), _message(e)) for e in errors]


def validate_content(content: Any) -> None:
    """Raise ValidationException naming the JSON path of the first few violations."""
    errors = content_errors(content)
    if not errors:
        return
    shown = "; ".join(f"at {path}: {message}" for path, message in errors[:MAX_REPORTED_ERRORS])
    more = len(errors) - MAX_REPORTED_ERRORS
    suffix = f"; and {more} more error(s)" if more > 0 else ""
    raise ValidationException(
        f"Model card content is invalid {shown}{suffix}. "
        "Content must follow the SageMaker model card JSON schema."
    )


def parse_content(text: str) -> dict:
    """The Content string as a JSON document, validated against the model card schema."""
    try:
        content = json.loads(text)
    except ValueError as exc:
        raise ValidationException(f"Model card content is not valid JSON: {exc}.") from None
    validate_content(content)
    return content


def metadata_only(content: dict) -> dict:
    """The sanitized Content that ``IncludedData=MetadataOnly`` returns (DescribeModelCard)."""
    kept = {
        "model_overview": ("model_id", "model_name"),
        "intended_uses": ("risk_rating",),
        "model_package_details": ("model_package_group_name", "model_package_arn"),
    }
    out: dict = {}
    for section, keys in kept.items():
        values = content.get(section)
        if isinstance(values, dict):
            picked = {k: values[k] for k in keys if k in values}
            if picked:
                out[section] = picked
    return out


# --- filling content from the Model Registry -----------------------------------------


def _clip(value: Any, limit: int) -> Any:
    return value[:limit] if isinstance(value, str) else value


def _drop_none(mapping: dict) -> dict:
    return {k: v for k, v in mapping.items() if v is not None}


def package_artifacts(package: dict) -> list[str]:
    """The model artifact URIs of a DescribeModelPackage document's inference containers."""
    urls = []
    for container in (package.get("InferenceSpecification") or {}).get("Containers") or ():
        source = (container.get("ModelDataSource") or {}).get("S3DataSource") or {}
        url = container.get("ModelDataUrl") or source.get("S3Uri")
        if url:
            urls.append(url)
    return urls


def model_package_details(package: dict) -> dict:
    """The card's ``model_package_details`` from a DescribeModelPackage document.

    Field for field what the SageMaker Python SDK's ``ModelPackage.from_model_package_arn``
    takes from DescribeModelPackage, in the schema's snake_case names.
    """
    details: dict[str, Any] = _drop_none(
        {
            "model_package_arn": package.get("ModelPackageArn"),
            "model_package_name": _clip(package.get("ModelPackageName"), 63),
            "model_package_group_name": package.get("ModelPackageGroupName"),
            "model_package_version": package.get("ModelPackageVersion"),
            "model_package_description": _clip(package.get("ModelPackageDescription"), 1024),
            "model_package_status": package.get("ModelPackageStatus"),
            "model_approval_status": package.get("ModelApprovalStatus"),
            "approval_description": _clip(package.get("ApprovalDescription"), 1024),
            "domain": package.get("Domain"),
            "task": package.get("Task"),
        }
    )
    creator = (package.get("CreatedBy") or {}).get("UserProfileName")
    if creator:
        details["created_by"] = {"user_profile_name": creator[:63]}
    containers = []
    for container in ((package.get("InferenceSpecification") or {}).get("Containers") or ())[:15]:
        if not container.get("Image"):
            continue
        containers.append(
            _drop_none(
                {
                    "image": container["Image"][:255],
                    "model_data_url": _clip(container.get("ModelDataUrl"), 1024),
                    "nearest_model_name": container.get("NearestModelName"),
                }
            )
        )
    if containers:
        details["inference_specification"] = {"containers": containers}
    algorithms = (package.get("SourceAlgorithmSpecification") or {}).get("SourceAlgorithms") or ()
    if algorithms and algorithms[0].get("AlgorithmName"):
        first = algorithms[0]
        algorithm = {"algorithm_name": first["AlgorithmName"][:170], "model_data_url": _clip(first.get("ModelDataUrl"), 1024)}
        details["source_algorithms"] = [_drop_none(algorithm)]
    return details


def training_job_details(job: dict) -> dict:
    """The card's ``training_details.training_job_details`` from a DescribeTrainingJob document.

    What the SageMaker Python SDK's ``TrainingDetails`` auto-discovery records: the job's
    ARN, training image, final metrics and hyperparameters, plus its S3 training data.
    """
    details: dict[str, Any] = {}
    if job.get("TrainingJobArn"):
        details["training_arn"] = job["TrainingJobArn"][:1024]
    image = (job.get("AlgorithmSpecification") or {}).get("TrainingImage")
    if image:
        details["training_environment"] = {"container_image": [image[:1024]]}
    datasets = []
    for channel in job.get("InputDataConfig") or ():
        uri = ((channel.get("DataSource") or {}).get("S3DataSource") or {}).get("S3Uri")
        if uri and uri not in datasets:
            datasets.append(uri[:1024])
    if datasets:
        details["training_datasets"] = datasets[:15]
    metrics = []
    for metric in job.get("FinalMetricDataList") or ():
        value = metric.get("Value")
        if metric.get("MetricName") and isinstance(value, (int, float)) and math.isfinite(value):
            metrics.append({"name": metric["MetricName"][:255], "value": value})
    if metrics:
        details["training_metrics"] = metrics[:50]
    parameters = [
        {"name": str(name)[:255], "value": str(value)[:255]}
        for name, value in (job.get("HyperParameters") or {}).items()
        if str(name) and str(value)
    ]
    if parameters:
        details["hyper_parameters"] = parameters[:100]
    return details


def fill_from_registry(content: dict, package: dict, training_job: dict | None = None) -> dict:
    """``content`` with what the registry knows about the package it names filled in.

    The registry is the authority on the package: each ``model_package_details`` field it
    can supply replaces the card's; fields it cannot supply keep the card's value.
    ``training_details.training_job_details`` is added from ``training_job`` (the job that
    produced the package's artifact) unless the card already describes one.
    """
    out = copy.deepcopy(content)
    details = dict(out.get("model_package_details") or {})
    details.update(model_package_details(package))
    out["model_package_details"] = details
    if training_job:
        training = out.setdefault("training_details", {})
        if not training.get("training_job_details"):
            job_details = training_job_details(training_job)
            if job_details:
                training["training_job_details"] = job_details
    return out


def _package(call: Call, arn: str) -> dict:
    try:
        parsed = arns.parse(arn)
    except ValidationException:
        parsed = None
    if parsed is None or parsed.service != "sagemaker" or parsed.resource_type != PACKAGE_TYPE:
        raise ValidationException(
            f"Model card content is invalid at $.model_package_details.model_package_arn: "
            f"'{arn}' is not a model package ARN (arn:aws:sagemaker:<region>:<account>:model-package/<group>/<version>)."
        )
    stored = store.get(call.conn, arns.sagemaker_arn(parsed.region, parsed.account, PACKAGE_TYPE, parsed.resource_id))
    if stored is None:
        raise ValidationException(
            f"Model card content names model package {arn}, which does not exist. "
            "Register the model package first, or correct $.model_package_details.model_package_arn."
        )
    return stored.document


def _training_job_for(call: Call, package: dict) -> dict | None:
    """The most recent training job whose output is the package's (single) model artifact."""
    artifacts = package_artifacts(package)
    if len(artifacts) != 1:
        return None
    query = store.ListQuery(account=call.account, region=call.region, resource_type=TRAINING_JOB_TYPE)
    token = None
    scanned = 0
    while scanned < _TRAINING_JOB_SCAN:
        rows, token = store.list_page(call.conn, query, call.codec, max_results=100, next_token=token)
        for row in rows:
            if (row.document.get("ModelArtifacts") or {}).get("S3ModelArtifacts") == artifacts[0]:
                return row.document
        scanned += len(rows)
        if not token:
            break
    return None


def _prepare_content(call: Call, text: str) -> tuple[dict, str]:
    """Parse, validate and complete a Content string: (document, the string to store)."""
    content = parse_content(text)
    package_arn = (content.get("model_package_details") or {}).get("model_package_arn")
    if not package_arn:
        return content, text
    package = _package(call, package_arn)
    content = fill_from_registry(content, package, _training_job_for(call, package))
    validate_content(content)
    return content, json.dumps(content, ensure_ascii=False)


def _facts(content: dict) -> dict:
    """Card facts the Search ``ModelCard`` shape carries, taken from the content."""
    return _drop_none(
        {
            "ModelId": (content.get("model_overview") or {}).get("model_id"),
            "RiskRating": (content.get("intended_uses") or {}).get("risk_rating"),
            "ModelPackageGroupName": (content.get("model_package_details") or {}).get("model_package_group_name"),
        }
    )


# --- lookups ----------------------------------------------------------------------------


def card_arn(region: str, account: str, params: dict) -> str:
    return arns.sagemaker_arn(region, account, TYPE, arns.name_or_arn(params["ModelCardName"], TYPE))


def version_arn(card: str, version: int) -> str:
    """The internal ARN of one stored version of a card (never shown on the wire)."""
    return f"{card}/version/{version}"


def get_card(call: Call, name_or_arn: str, *, for_update: bool = False) -> store.Resource:
    arn = call.arn(TYPE, arns.name_or_arn(name_or_arn, TYPE))
    card = store.get(call.conn, arn, for_update=for_update)
    if card is None or card.resource_type != TYPE:
        raise ResourceNotFound(f"Model card {arn} does not exist.")
    return card


def _store_version(call: Call, card_arn_: str, name: str, document: dict, created_at: float) -> None:
    try:
        call.create_resource(
            arn=version_arn(card_arn_, document["ModelCardVersion"]),
            resource_type=VERSION_TYPE,
            name=name,
            parent=card_arn_,
            version=document["ModelCardVersion"],
            status=document["ModelCardStatus"],
            created_at=created_at,
            document=document,
        )
    except store.AlreadyExists:
        raise ConflictException(
            f"Model card {card_arn_} was updated by another request at the same time; "
            "describe it and retry your update."
        ) from None


# --- operations ---------------------------------------------------------------------------


@operation("CreateModelCard", resource=card_arn)
def create_model_card(call: Call, params: dict) -> dict:
    """CreateModelCard: version 1 of a new card, its Content checked against the schema."""
    name = params["ModelCardName"]
    arn = call.arn(TYPE, name)
    content, text = _prepare_content(call, params["Content"])
    now = time.time()
    document = {
        "ModelCardArn": arn,
        "ModelCardName": name,
        "ModelCardVersion": 1,
        "Content": text,
        "ModelCardStatus": params["ModelCardStatus"],
        "SecurityConfig": params.get("SecurityConfig"),
        "CreationTime": now,
        "CreatedBy": call.user_context(TYPE),
        "LastModifiedTime": now,
        "LastModifiedBy": call.user_context(TYPE),
        **_facts(content),
    }
    document = _drop_none(document)
    try:
        call.create_resource(
            arn=arn,
            resource_type=TYPE,
            name=name,
            status=document["ModelCardStatus"],
            created_at=now,
            document=document,
            tags_=params.get("Tags", ()),
        )
    except store.AlreadyExists:
        raise ConflictException(f"Model card {arn} already exists; choose another ModelCardName.") from None
    _store_version(call, arn, name, document, now)
    return {"ModelCardArn": arn}


@operation("DescribeModelCard", resource=card_arn, writes=False)
def describe_model_card(call: Call, params: dict) -> dict:
    """DescribeModelCard: the latest version, or ``ModelCardVersion`` N."""
    card = get_card(call, params["ModelCardName"])
    document = card.document
    wanted = params.get("ModelCardVersion")
    if wanted is not None and wanted != document["ModelCardVersion"]:
        if wanted < 1:
            raise ValidationException(f"ModelCardVersion must be 1 or more; {wanted} was given.")
        stored = store.get(call.conn, version_arn(card.arn, wanted))
        if stored is None:
            raise ResourceNotFound(
                f"Model card {card.arn} has no version {wanted}; its versions run from 1 to {document['ModelCardVersion']}."
            )
        document = stored.document
    if params.get("IncludedData") == "MetadataOnly":
        document = {**document, "Content": json.dumps(metadata_only(json.loads(document["Content"])))}
    return document


@operation("UpdateModelCard", resource=card_arn)
def update_model_card(call: Call, params: dict) -> dict:
    """UpdateModelCard: new content or a new status (never both), saved as the next version."""
    content_text = params.get("Content")
    new_status = params.get("ModelCardStatus")
    if content_text is not None and new_status is not None:
        raise ValidationException(
            "You cannot update both model card content and model card status in a single call; "
            "send one UpdateModelCard with Content and another with ModelCardStatus."
        )
    if content_text is None and new_status is None:
        raise ValidationException("UpdateModelCard needs either Content or ModelCardStatus.")
    card = get_card(call, params["ModelCardName"], for_update=True)
    current = card.status
    if content_text is not None:
        if current == "Archived":
            raise ValidationException(
                f"Model Card is in Archived state: {card.arn} accepts no more content updates. "
                "An archived card can still be described, exported and deleted."
            )
        content, text = _prepare_content(call, content_text)
        changes = {"Content": text, **_facts(content)}
        for key in ("ModelId", "RiskRating", "ModelPackageGroupName"):
            changes.setdefault(key, None)
        status = current
    else:
        allowed = ALLOWED_MOVES[current]
        if new_status not in allowed:
            moves = ", ".join(allowed) if allowed else "none: an Archived card accepts no more updates"
            raise ValidationException(
                f"Model card {card.arn} cannot move from {current} to {new_status}. "
                f"Allowed moves from {current}: {moves}."
            )
        changes = {}
        status = new_status
    now = time.time()
    document = {
        **card.document,
        **changes,
        "ModelCardVersion": card.document["ModelCardVersion"] + 1,
        "ModelCardStatus": status,
        "LastModifiedTime": now,
        "LastModifiedBy": call.user_context(TYPE),
    }
    document = _drop_none(document)
    card.document = document
    store.save(call.conn, card, status=status)
    _store_version(call, card.arn, card.name, document, now)
    return {"ModelCardArn": card.arn}


@operation("DeleteModelCard", resource=card_arn)
def delete_model_card(call: Call, params: dict) -> dict:
    """DeleteModelCard: the card, every stored version of it and its export jobs."""
    card = get_card(call, params["ModelCardName"], for_update=True)
    store.remove_children(call.conn, card.arn)
    store.remove(call.conn, card)
    return {}


def _card_summary(row: store.Resource) -> dict:
    return {
        "ModelCardName": row.name,
        "ModelCardArn": row.arn,
        "ModelCardStatus": row.status,
        "CreationTime": row.created_at,
        "LastModifiedTime": row.document.get("LastModifiedTime"),
    }


def _version_summary(row: store.Resource) -> dict:
    # A version row is named after its card and parented by the card's ARN.
    return {
        "ModelCardName": row.name,
        "ModelCardArn": row.parent,
        "ModelCardStatus": row.status,
        "ModelCardVersion": row.version,
        "CreationTime": row.created_at,
        "LastModifiedTime": row.document.get("LastModifiedTime"),
    }


# ListModelCards: filter by name, status and creation time; sort by Name or CreationTime (default).
list_operation(
    "ListModelCards",
    resource_type=TYPE,
    result_key="ModelCardSummaries",
    summary=_card_summary,
    status_param="ModelCardStatus",
)

# ListModelCardVersions: one card's versions (ResourceNotFound for a missing card),
# newest first unless SortOrder=Ascending.
list_operation(
    "ListModelCardVersions",
    resource_type=VERSION_TYPE,
    result_key="ModelCardVersionSummaryList",
    summary=_version_summary,
    default_sort="Version",
    parent_of=lambda call, params: get_card(call, params["ModelCardName"]).arn,
    status_param="ModelCardStatus",
    resource=card_arn,
)
