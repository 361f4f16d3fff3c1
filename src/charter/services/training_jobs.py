"""Training jobs: CreateTrainingJob, DescribeTrainingJob, ListTrainingJobs, StopTrainingJob.

A create checks what SageMaker checks before it accepts a job (the role exists,
a unique name, an image, channel and output URIs that parse, distinct channel
names, a checkpoint path in the container), stores the DescribeTrainingJob
document ``InProgress`` / ``Starting`` and, beside it under ``_Job``, the whole
spec the job engine needs (``runtime/jobs.py``): which runner the image names,
the channels resolved to URIs, data types and distributions, the config files'
contents, the instance type and count, limits and isolation.  The engine does
the rest; Describe shows its progress (SecondaryStatusTransitions, metrics,
artifacts) and Stop asks it to stop.

Job ARN: ``arn:aws:sagemaker:<region>:<account>:training-job/<name>`` (names
are case-insensitive in ARNs; SageMaker lower-cases them).
"""

from __future__ import annotations

import secrets
import time

from ..errors import ResourceInUse, ResourceNotFound, ValidationException
from ..iam import identities
from ..runtime import engine, images, jobs
from ..runtime.instance_types import lookup as instance_type
from ..store import artifacts
from ..store import resources as store
from . import Call, operation
from .listing import list_operation

TYPE = jobs.TRAINING.resource_type
DEFAULT_MAX_RUNTIME = 86400
CHECKPOINT_PATH = "/opt/ml/checkpoints"


def job_arn(call: Call, name: str) -> str:
    return call.arn(TYPE, name.lower())


def _create_resource(region: str, account: str, params: dict) -> str:
    from .. import arns

    return arns.sagemaker_arn(region, account, TYPE, params["TrainingJobName"].lower())


def _named_resource(region: str, account: str, params: dict) -> str:
    return _create_resource(region, account, params)


def check_uri(value: str, member: str) -> None:
    try:
        artifacts.parse(value)
    except ValidationException as bad:
        raise ValidationException(f"{member}: {bad.message}") from None


def check_role(call: Call, role_arn: str) -> None:
    """SageMaker refuses a job whose role it cannot assume; Charter's roles are its IAM roles."""
    if ":role/" not in role_arn or identities.get_principal(call.conn, role_arn) is None:
        raise ValidationException(
            f"Could not assume role {role_arn}. Please ensure that the role exists and allows principal "
            "'sagemaker.amazonaws.com' to assume the role (create it with `aws iam create-role`, or use the "
            "role Charter's demo workspace made)."
        )


def resolve_image(image: str | None, member: str) -> dict:
    if not image:
        raise ValidationException(f"{member} is required: the URI of the image to run.")
    return images.describe(image)


def channel_spec(channel: dict, default_mode: str) -> dict:
    name = channel["ChannelName"]
    source = channel["DataSource"]
    s3 = source.get("S3DataSource")
    if s3 is None:
        raise ValidationException(
            f"Channel {name}: only S3DataSource is supported (FileSystemDataSource needs EFS or FSx, which "
            "Charter does not have); upload the data to S3 and name it with S3DataSource."
        )
    check_uri(s3["S3Uri"], f"Channel {name} S3DataSource.S3Uri")
    mode = channel.get("InputMode") or default_mode
    if s3["S3DataType"] == "AugmentedManifestFile" and mode != "Pipe":
        raise ValidationException(f"Channel {name}: AugmentedManifestFile input is supported in Pipe mode only.")
    if s3["S3DataType"] == "AugmentedManifestFile" and not s3.get("AttributeNames"):
        raise ValidationException(f"Channel {name}: AttributeNames is required with AugmentedManifestFile.")
    return {
        "Name": name,
        "S3Uri": s3["S3Uri"],
        "S3DataType": s3["S3DataType"],
        "Distribution": s3.get("S3DataDistributionType", "FullyReplicated"),
        "Mode": mode,
        "CompressionType": channel.get("CompressionType", "None"),
        "RecordWrapperType": channel.get("RecordWrapperType", "None"),
        "AttributeNames": s3.get("AttributeNames") or [],
    }


def input_data_config(channels: list[dict], default_mode: str) -> dict:
    """``inputdataconfig.json``: one entry per channel, as specs/containers.md gives it."""
    config = {}
    for channel in channels:
        source = channel["DataSource"].get("S3DataSource") or {}
        entry = {}
        if channel.get("ContentType"):
            entry["ContentType"] = channel["ContentType"]
        entry["TrainingInputMode"] = channel.get("InputMode") or default_mode
        entry["S3DistributionType"] = source.get("S3DataDistributionType", "FullyReplicated")
        entry["RecordWrapperType"] = channel.get("RecordWrapperType", "None")
        if channel.get("CompressionType"):
            entry["CompressionType"] = channel["CompressionType"]
        config[channel["ChannelName"]] = entry
    return config


@operation("CreateTrainingJob", resource=_create_resource)
def create_training_job(call: Call, params: dict) -> dict:
    name = params["TrainingJobName"]
    algorithm = params.get("AlgorithmSpecification")
    if algorithm is None:
        raise ValidationException(
            "AlgorithmSpecification is required: give its TrainingImage (e.g. from sagemaker.image_uris.retrieve(...)) "
            "and TrainingInputMode."
        )
    if algorithm.get("AlgorithmName") and not algorithm.get("TrainingImage"):
        raise ValidationException(
            "AlgorithmSpecification.AlgorithmName (algorithm resources) is not supported by Charter; give "
            "AlgorithmSpecification.TrainingImage, e.g. from sagemaker.image_uris.retrieve(...)."
        )
    runner = resolve_image(algorithm.get("TrainingImage"), "AlgorithmSpecification.TrainingImage")
    check_role(call, params["RoleArn"])
    resources = params.get("ResourceConfig")
    if resources is None:
        raise ValidationException("ResourceConfig is required: give InstanceType, InstanceCount and VolumeSizeInGB.")
    if resources.get("InstanceGroups"):
        raise ValidationException(
            "ResourceConfig.InstanceGroups (heterogeneous clusters) is not supported by Charter yet; give "
            "InstanceType and InstanceCount."
        )
    if not resources.get("InstanceType"):
        raise ValidationException("ResourceConfig.InstanceType is required.")
    try:
        instance_type(resources["InstanceType"])
    except ValueError as bad:
        raise ValidationException(f"ResourceConfig.InstanceType: {bad}") from None
    output_path = params["OutputDataConfig"]["S3OutputPath"]
    check_uri(output_path, "OutputDataConfig.S3OutputPath")
    channels = params.get("InputDataConfig") or []
    seen = set()
    for channel in channels:
        if channel["ChannelName"] in seen:
            raise ValidationException(
                f"Channel names must be unique: {channel['ChannelName']} appears more than once in InputDataConfig."
            )
        seen.add(channel["ChannelName"])
    mode = algorithm.get("TrainingInputMode") or "File"
    channel_specs = [channel_spec(c, mode) for c in channels]
    checkpoint = params.get("CheckpointConfig")
    if checkpoint:
        check_uri(checkpoint["S3Uri"], "CheckpointConfig.S3Uri")
        checkpoint = {"S3Uri": checkpoint["S3Uri"], "LocalPath": checkpoint.get("LocalPath") or CHECKPOINT_PATH}
        if not checkpoint["LocalPath"].startswith("/"):
            raise ValidationException("CheckpointConfig.LocalPath must be an absolute path in the container.")
    stopping = dict(params.get("StoppingCondition") or {})
    stopping.setdefault("MaxRuntimeInSeconds", DEFAULT_MAX_RUNTIME)
    definitions = algorithm.get("MetricDefinitions") or images.metric_definitions(runner)

    arn = job_arn(call, name)
    now = time.time()
    document = {
        "TrainingJobName": name,
        "TrainingJobArn": arn,
        "TrainingJobStatus": "InProgress",
        "SecondaryStatus": "Starting",
        "HyperParameters": params.get("HyperParameters") or {},
        "AlgorithmSpecification": {**algorithm, "TrainingInputMode": mode},
        "RoleArn": params["RoleArn"],
        "InputDataConfig": channels,
        "OutputDataConfig": params["OutputDataConfig"],
        "ResourceConfig": {"VolumeSizeInGB": 30, **resources},
        "StoppingCondition": stopping,
        "CreationTime": now,
        "LastModifiedTime": now,
        "SecondaryStatusTransitions": [
            {"Status": "Starting", "StartTime": now, "StatusMessage": jobs.MESSAGES["Starting"]}],
        "EnableNetworkIsolation": bool(params.get("EnableNetworkIsolation", False)),
        "EnableInterContainerTrafficEncryption": bool(params.get("EnableInterContainerTrafficEncryption", False)),
        "EnableManagedSpotTraining": bool(params.get("EnableManagedSpotTraining", False)),
    }
    if definitions and not algorithm.get("MetricDefinitions"):
        document["AlgorithmSpecification"]["MetricDefinitions"] = definitions
    for member in ("VpcConfig", "CheckpointConfig", "DebugHookConfig", "ExperimentConfig", "DebugRuleConfigurations",
                   "TensorBoardOutputConfig", "ProfilerConfig", "Environment", "RetryStrategy", "RemoteDebugConfig",
                   "InfraCheckConfig"):
        if params.get(member) is not None:
            document[member] = params[member]
    if checkpoint:
        document["CheckpointConfig"] = checkpoint
    document[jobs.SPEC_KEY] = {
        "Kind": "training",
        "Name": name,
        "Arn": arn,
        "Token": secrets.token_hex(4),
        "Account": call.account,
        "Region": call.region,
        "RoleArn": params["RoleArn"],
        "Runner": runner,
        "Entrypoint": algorithm.get("ContainerEntrypoint"),
        "Arguments": algorithm.get("ContainerArguments"),
        "Environment": params.get("Environment") or {},
        "HyperParameters": params.get("HyperParameters") or {},
        "InputDataConfig": input_data_config(channels, mode),
        "Channels": channel_specs,
        "InstanceType": resources["InstanceType"],
        "InstanceCount": int(resources.get("InstanceCount") or 1),
        "Isolated": bool(params.get("EnableNetworkIsolation", False)),
        "MaxRuntimeInSeconds": stopping["MaxRuntimeInSeconds"],
        "GraceSeconds": 120,
        "MetricDefinitions": definitions,
        "S3OutputPath": output_path,
        "TrainingJobName": name,
        "MaximumRetryAttempts": int((params.get("RetryStrategy") or {}).get("MaximumRetryAttempts") or 0),
        "Checkpoint": checkpoint,
    }
    queue(call, TYPE, "training job", name, arn, now, document, params.get("Tags", ()))
    return {"TrainingJobArn": arn}


def queue(call: Call, resource_type: str, noun: str, name: str, arn: str, now: float, document: dict, tags) -> None:
    """Store a new job ``InProgress`` (its name unique, as SageMaker requires), announce it and wake its engine."""
    try:
        created = call.create_resource(
            arn=arn, resource_type=resource_type, name=name, status="InProgress", created_at=now, document=document,
            tags_=tags,
        )
    except store.AlreadyExists:
        raise ResourceInUse(f"{noun.capitalize()} names must be unique within an AWS account and region, and a "
                            f"{noun} with this name already exists ({arn}).") from None
    jobs.emit_state(call.conn, created)
    engine.notify(resource_type)


def find(call: Call, name: str, resource_type: str = TYPE, noun: str = "Training job") -> store.Resource:
    job = store.get(call.conn, call.arn(resource_type, name.lower()))
    if job is None or job.resource_type != resource_type:
        raise ResourceNotFound(f"Requested resource not found: {noun} '{name}' does not exist.")
    return job


@operation("DescribeTrainingJob", resource=_named_resource, writes=False)
def describe_training_job(call: Call, params: dict) -> dict:
    return engine.public(find(call, params["TrainingJobName"]).document)


def request_stop(call: Call, job: store.Resource, status_key: str, noun: str, *, secondary: bool) -> None:
    """Move a running job to Stopping (the engine stops it), or straight to Stopped if it never started."""
    status = job.document.get(status_key)
    if status == "Stopping":
        return
    if status != "InProgress":
        raise ValidationException(f"The request was rejected because the {noun} is in status {status}.")
    now = time.time()
    started = job.document.get(jobs.EXECUTION_KEY) is not None or job.document.get(engine.LEASE_KEY)
    if started:
        job.document[status_key] = "Stopping"
        if secondary:
            jobs.add_transition(job.document, "Stopping", now)
    else:
        job.document[status_key] = "Stopped"
        if secondary:
            jobs.add_transition(job.document, "Stopped", now)
    job.document["LastModifiedTime"] = now
    store.save(call.conn, job, status=job.document[status_key])
    jobs.emit_state(call.conn, job)
    engine.notify(job.resource_type)


@operation("StopTrainingJob", resource=_named_resource)
def stop_training_job(call: Call, params: dict) -> dict:
    job = find(call, params["TrainingJobName"])
    request_stop(call, job, "TrainingJobStatus", "training job", secondary=True)
    return {}


def _summary(row: store.Resource) -> dict:
    document = row.document
    summary = {key: document[key] for key in (
        "TrainingJobName", "TrainingJobArn", "CreationTime", "TrainingEndTime", "LastModifiedTime",
        "TrainingJobStatus", "SecondaryStatus", "WarmPoolStatus",
    ) if key in document}
    return summary


list_operation(
    "ListTrainingJobs", resource_type=TYPE, result_key="TrainingJobSummaries", summary=_summary,
    default_sort="CreationTime", default_order="Ascending",
    matches_nothing=("WarmPoolStatusEquals", "TrainingPlanArnEquals"),  # no warm pools or training plans here
)
