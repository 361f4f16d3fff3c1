"""Model card export jobs: CreateModelCardExportJob, DescribeModelCardExportJob, ListModelCardExportJobs.

SageMaker exports a model card version as a PDF to S3: "Creates an Amazon
SageMaker Model Card export job" with ``ModelCardName`` (name or ARN),
``ModelCardVersion`` ("If a version is not provided, then the latest version of
the model card is exported"), ``ModelCardExportJobName`` and
``OutputConfig.S3OutputPath`` ("The Amazon S3 output path to export your model
card PDF").  The job is ``InProgress`` until the PDF is written, then
``Completed`` with ``ExportArtifacts.S3ExportArtifacts`` ("The Amazon S3 URI of
the exported model artifacts": ``<S3OutputPath>/<card>/<job>.pdf``), or ``Failed``
with a ``FailureReason``.

The request only records the job; rendering is background work
(``runtime/card_exports.py``).  Job ARN:
``arn:aws:sagemaker:<region>:<account>:model-card/<card>/export-job/<job>``,
stored with the card's ARN as its parent.
"""

from __future__ import annotations

import time

from .. import arns
from ..errors import ConflictException, ResourceNotFound, ValidationException
from ..runtime import card_exports as runner
from ..runtime import engine
from ..store import artifacts
from ..store import resources as store
from . import Call, operation
from .listing import epoch

TYPE = runner.JOB_TYPE
CARD_TYPE = runner.CARD_TYPE

SUMMARY_KEYS = (
    "ModelCardExportJobName",
    "ModelCardExportJobArn",
    "Status",
    "ModelCardName",
    "ModelCardVersion",
    "CreatedAt",
    "LastModifiedAt",
)


def export_job_arn(region: str, account: str, card_name: str, job_name: str) -> str:
    return arns.sagemaker_arn(region, account, CARD_TYPE, f"{card_name}/export-job/{job_name}")


def _card_name(value: str) -> str:
    return arns.name_or_arn(value, CARD_TYPE)


def _create_resource(region: str, account: str, params: dict) -> str:
    return export_job_arn(region, account, _card_name(params["ModelCardName"]), params["ModelCardExportJobName"])


def _describe_resource(region: str, account: str, params: dict) -> str:
    return params["ModelCardExportJobArn"]


@operation("CreateModelCardExportJob", resource=_create_resource)
def create_model_card_export_job(call: Call, params: dict) -> dict:
    """Record an export job, ``InProgress``; the export worker renders and writes the PDF."""
    card_name = _card_name(params["ModelCardName"])
    card_arn = call.arn(CARD_TYPE, card_name)
    job_name = params["ModelCardExportJobName"]
    output_path = params["OutputConfig"]["S3OutputPath"]

    # Refuse a malformed or escaping output path now rather than fail the job later.
    try:
        artifacts.join(output_path, card_name, f"{job_name}.pdf")
    except ValueError as exc:  # the URL parser's own refusal (a "[" in the bucket reads as an IPv6 host)
        raise ValidationException(f"OutputConfig.S3OutputPath {output_path!r} is not a valid S3 URI: {exc}.") from None

    try:
        card = runner.find_card_version(call.conn, card_arn, params.get("ModelCardVersion"))
    except runner.CardVersionMissing as missing:
        raise ResourceNotFound(str(missing)) from None

    arn = export_job_arn(call.region, call.account, card["ModelCardName"], job_name)
    now = time.time()
    document = {
        "ModelCardExportJobName": job_name,
        "ModelCardExportJobArn": arn,
        "Status": "InProgress",
        "ModelCardName": card["ModelCardName"],
        "ModelCardVersion": card["ModelCardVersion"],
        "OutputConfig": {"S3OutputPath": output_path},
        "CreatedAt": now,
        "LastModifiedAt": now,
    }
    try:
        call.create_resource(
            arn=arn,
            resource_type=TYPE,
            name=job_name,
            parent=card_arn,
            status="InProgress",
            created_at=now,
            document=document,
        )
    except store.AlreadyExists:
        raise ConflictException(
            f"Model card export job {job_name} already exists for model card {card_name} ({arn}); "
            "choose another ModelCardExportJobName."
        ) from None
    runner.notify()
    return {"ModelCardExportJobArn": arn}


@operation("DescribeModelCardExportJob", resource=_describe_resource, writes=False)
def describe_model_card_export_job(call: Call, params: dict) -> dict:
    arn = params["ModelCardExportJobArn"]
    parsed = arns.parse(arn)
    job = store.get(call.conn, arn) if (parsed.account, parsed.region) == (call.account, call.region) else None
    if job is None or job.resource_type != TYPE:
        raise ResourceNotFound(f"Model card export job {arn} does not exist.")
    return engine.public(job.document)


@operation("ListModelCardExportJobs", writes=False)
def list_model_card_export_jobs(call: Call, params: dict) -> dict:
    """The export jobs of one model card, filtered, sorted (CreationTime by default) and paged.

    ``ModelCardVersion`` is not a stored column, so it is applied to each page
    read from the store; reading continues until the page is full, and the
    NextToken always resumes right after the last job returned.  An unknown card
    simply has no export jobs (the operation models no errors).
    """
    query = store.ListQuery(
        account=call.account,
        region=call.region,
        resource_type=TYPE,
        parent=call.arn(CARD_TYPE, params["ModelCardName"]),
        name_contains=params.get("ModelCardExportJobNameContains"),
        created_after=epoch(params.get("CreationTimeAfter")),
        created_before=epoch(params.get("CreationTimeBefore")),
        status=params.get("StatusEquals"),
        sort_by=params.get("SortBy") or "CreationTime",
        ascending=(params.get("SortOrder") or "Descending") == "Ascending",
        extra={"ModelCardVersion": params.get("ModelCardVersion")},
    )
    version = params.get("ModelCardVersion")
    wanted = params.get("MaxResults") or 10
    found: list[store.Resource] = []
    token = params.get("NextToken")
    while True:
        # Ask for no more than the room left: then every row read can be returned,
        # and the store's token is exactly where the next page starts.
        rows, token = store.list_page(call.conn, query, call.codec, max_results=wanted - len(found), next_token=token)
        found.extend(row for row in rows if version is None or row.document.get("ModelCardVersion") == version)
        if token is None or len(found) >= wanted:
            break
    out: dict = {"ModelCardExportJobSummaries": [{k: row.document.get(k) for k in SUMMARY_KEYS} for row in found]}
    if token:
        out["NextToken"] = token
    return out

