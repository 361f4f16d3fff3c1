"""Processing jobs: CreateProcessingJob, DescribeProcessingJob, ListProcessingJobs, StopProcessingJob.

Like training jobs (``training_jobs.py``): the create checks the request as
SageMaker does (role, unique name, image, input and output URIs, container
paths under ``/opt/ml/processing/``, distinct input and output names) and
stores the DescribeProcessingJob document with the engine's spec under
``_Job``; ``runtime/jobs.py`` runs it.  ``processingjobconfig.json`` is the
request plus the job's ARN and name (specs/containers.md, section 3).

Job ARN: ``arn:aws:sagemaker:<region>:<account>:processing-job/<name>``.
"""

from __future__ import annotations

import secrets
import time

from .. import arns
from ..errors import ValidationException
from ..runtime import engine, jobs
from ..runtime.instance_types import lookup as instance_type
from ..store import resources as store
from . import Call, operation
from .listing import list_operation
from .training_jobs import check_role, check_uri, find, queue, request_stop, resolve_image

TYPE = jobs.PROCESSING.resource_type
PROCESSING_ROOT = "/opt/ml/processing/"
DEFAULT_MAX_RUNTIME = 86400


def _resource(region: str, account: str, params: dict) -> str:
    return arns.sagemaker_arn(region, account, TYPE, params["ProcessingJobName"].lower())


def _local_path(path: str, member: str) -> str:
    if not (path.startswith(PROCESSING_ROOT) and ".." not in path.split("/")):
        raise ValidationException(f"{member} {path!r} must be a path under {PROCESSING_ROOT}.")
    return path


def _inputs(params: dict) -> list[dict]:
    specs = []
    names = set()
    for index, item in enumerate(params.get("ProcessingInputs") or [], 1):
        name = item["InputName"]
        if name in names:
            raise ValidationException(f"ProcessingInputs: the input name {name} is used more than once.")
        names.add(name)
        s3 = item.get("S3Input")
        if s3 is None:
            raise ValidationException(
                f"ProcessingInput {name}: only S3Input is supported (DatasetDefinition needs Athena or Redshift, "
                "which Charter does not have); export the data to S3 and name it with S3Input."
            )
        check_uri(s3["S3Uri"], f"ProcessingInput {name} S3Input.S3Uri")
        if s3.get("S3InputMode", "File") == "Pipe":
            raise ValidationException(f"ProcessingInput {name}: Pipe input mode is not supported by Charter yet; use File.")
        specs.append({
            "Name": name,
            "S3Uri": s3["S3Uri"],
            "LocalPath": _local_path(s3["LocalPath"], f"ProcessingInput {name} S3Input.LocalPath"),
            "S3DataType": s3["S3DataType"],
            "Distribution": s3.get("S3DataDistributionType", "FullyReplicated"),
        })
    return specs


def _outputs(params: dict) -> list[dict]:
    specs = []
    names = set()
    for output in (params.get("ProcessingOutputConfig") or {}).get("Outputs") or []:
        name = output["OutputName"]
        if name in names:
            raise ValidationException(f"ProcessingOutputConfig: the output name {name} is used more than once.")
        names.add(name)
        s3 = output.get("S3Output")
        if s3 is None:
            raise ValidationException(
                f"ProcessingOutput {name}: only S3Output is supported (FeatureStoreOutput needs Feature Store, "
                "which Charter does not have)."
            )
        check_uri(s3["S3Uri"], f"ProcessingOutput {name} S3Output.S3Uri")
        specs.append({
            "Name": name,
            "S3Uri": s3["S3Uri"],
            "LocalPath": _local_path(s3["LocalPath"], f"ProcessingOutput {name} S3Output.LocalPath"),
            "UploadMode": s3.get("S3UploadMode", "EndOfJob"),
        })
    return specs


@operation("CreateProcessingJob", resource=_resource)
def create_processing_job(call: Call, params: dict) -> dict:
    name = params["ProcessingJobName"]
    app = params["AppSpecification"]
    runner = resolve_image(app.get("ImageUri"), "AppSpecification.ImageUri")
    check_role(call, params["RoleArn"])
    cluster = params["ProcessingResources"]["ClusterConfig"]
    try:
        instance_type(cluster["InstanceType"])
    except ValueError as bad:
        raise ValidationException(f"ProcessingResources.ClusterConfig.InstanceType: {bad}") from None
    inputs = _inputs(params)
    outputs = _outputs(params)
    network = params.get("NetworkConfig") or {}
    stopping = dict(params.get("StoppingCondition") or {})
    stopping.setdefault("MaxRuntimeInSeconds", DEFAULT_MAX_RUNTIME)

    arn = _resource(call.region, call.account, params)
    now = time.time()
    document = {
        "ProcessingJobName": name,
        "ProcessingJobArn": arn,
        "ProcessingJobStatus": "InProgress",
        "ProcessingResources": params["ProcessingResources"],
        "StoppingCondition": stopping,
        "AppSpecification": app,
        "RoleArn": params["RoleArn"],
        "CreationTime": now,
        "LastModifiedTime": now,
    }
    for member in ("ProcessingInputs", "ProcessingOutputConfig", "Environment", "NetworkConfig", "ExperimentConfig"):
        if params.get(member) is not None:
            document[member] = params[member]
    request = {k: v for k, v in params.items() if k != "Tags"}
    document[jobs.SPEC_KEY] = {
        "Kind": "processing",
        "Name": name,
        "Arn": arn,
        "Token": secrets.token_hex(4),
        "Account": call.account,
        "Region": call.region,
        "RoleArn": params["RoleArn"],
        "Runner": runner,
        "Entrypoint": app.get("ContainerEntrypoint"),
        "Arguments": app.get("ContainerArguments"),
        "Environment": params.get("Environment") or {},
        "InstanceType": cluster["InstanceType"],
        "InstanceCount": int(cluster.get("InstanceCount") or 1),
        "Isolated": bool(network.get("EnableNetworkIsolation", False)),
        "MaxRuntimeInSeconds": stopping["MaxRuntimeInSeconds"],
        "GraceSeconds": 120,
        "MetricDefinitions": [],
        "Inputs": inputs,
        "Outputs": outputs,
        "ProcessingJobConfig": {**request, "ProcessingJobArn": arn, "ProcessingJobName": name},
    }
    queue(call, TYPE, "processing job", name, arn, now, document, params.get("Tags", ()))
    return {"ProcessingJobArn": arn}


@operation("DescribeProcessingJob", resource=_resource, writes=False)
def describe_processing_job(call: Call, params: dict) -> dict:
    return engine.public(find(call, params["ProcessingJobName"], TYPE, "Processing job").document)


@operation("StopProcessingJob", resource=_resource)
def stop_processing_job(call: Call, params: dict) -> dict:
    job = find(call, params["ProcessingJobName"], TYPE, "Processing job")
    request_stop(call, job, "ProcessingJobStatus", "processing job", secondary=False)
    return {}


def _summary(row: store.Resource) -> dict:
    document = row.document
    return {key: document[key] for key in (
        "ProcessingJobName", "ProcessingJobArn", "CreationTime", "ProcessingEndTime", "LastModifiedTime",
        "ProcessingJobStatus", "FailureReason", "ExitMessage",
    ) if key in document}


list_operation(
    "ListProcessingJobs", resource_type=TYPE, result_key="ProcessingJobSummaries", summary=_summary,
    default_sort="CreationTime", default_order="Ascending",
)
