"""Models: CreateModel, DescribeModel, ListModels, DeleteModel.

A SageMaker model is what an endpoint, a batch transform or a Clarify job
deploys: one container (``PrimaryContainer``) or an inference pipeline
(``Containers``), each an image with its artifact (``ModelDataUrl``, a
``model.tar.gz``, or ``ModelDataSource``, uncompressed files under a prefix)
and environment, plus the role it runs as, VPC settings and network isolation.
It is a plain document: creating one checks it and stores it; nothing runs
until something deploys it (endpoints are not served yet).

What the create checks, as SageMaker does before accepting a model: the role
exists; exactly one of ``PrimaryContainer`` and ``Containers``; each container
names an image, or a model package (whose containers give the image); the
artifact is named one way only, its URI parses and something is stored there;
``InferenceExecutionConfig`` only for a pipeline.  The model's name is unique
in its account and region without regard to case.

Errors follow SageMaker's answers, which botocore models as no error shapes:
a duplicate is ``ValidationException: Cannot create already existing model
"<arn>".`` (the SageMaker SDK's ``Session.create_model`` relies on that text
to reuse a model), a missing one ``ValidationException: Could not find model
"<arn>".``.

Model ARN: ``arn:aws:sagemaker:<region>:<account>:model/<name lower-cased>``.
"""

from __future__ import annotations

import time

from .. import arns
from ..errors import ValidationException
from ..store import artifacts
from ..store import resources as store
from . import Call, operation
from .listing import list_operation
from .model_packages import get_package
from .training_jobs import check_role, check_uri

TYPE = "model"


def _resource(region: str, account: str, params: dict) -> str:
    return arns.sagemaker_arn(region, account, TYPE, params["ModelName"])


def find(call: Call, name: str) -> store.Resource:
    """The stored model ``name`` designates in the caller's account and region."""
    arn = call.arn(TYPE, name)
    model = store.get(call.conn, arn)
    if model is None or model.resource_type != TYPE:
        raise ValidationException(f'Could not find model "{arn}".')
    return model


def _check_stored(call: Call, uri: str, member: str) -> None:
    """SageMaker refuses a model whose artifact it cannot find; so does Charter."""
    try:
        present = artifacts.exists(call.instance, uri)
    except ValidationException:
        raise
    except Exception as problem:  # an external store that does not answer: say so rather than fail opaquely
        raise ValidationException(f"{member}: could not check the model data at {uri}: {problem}") from None
    if not present:
        raise ValidationException(
            f"{member}: could not find model data at {uri}. Upload the model artifact there first "
            "(a training job writes it to <S3OutputPath>/<job name>/output/model.tar.gz)."
        )


def _check_data_source(call: Call, source: dict, member: str) -> None:
    s3 = source.get("S3DataSource")
    if s3 is None:
        raise ValidationException(f"{member}.S3DataSource is required: Charter reads model data from S3 only.")
    where = f"{member}.S3DataSource"
    uri = s3["S3Uri"]
    check_uri(uri, f"{where}.S3Uri")
    if s3["S3DataType"] == "S3Prefix":
        if s3["CompressionType"] != "None":
            raise ValidationException(
                f"{where}: CompressionType must be None when S3DataType is S3Prefix (the files under the prefix are "
                "used as they are); name a single .tar.gz object with S3DataType S3Object and CompressionType Gzip."
            )
        if not uri.endswith("/"):
            raise ValidationException(f"{where}.S3Uri {uri!r} must end with '/' when S3DataType is S3Prefix.")
    elif uri.endswith("/"):
        raise ValidationException(f"{where}.S3Uri {uri!r} names a prefix, but S3DataType S3Object needs an object.")
    _check_stored(call, uri, f"{where}.S3Uri")


def _container(call: Call, container: dict, member: str) -> dict:
    """Check one ContainerDefinition; the definition as DescribeModel shows it."""
    package = container.get("ModelPackageName")
    if package:
        get_package(call, package)  # a model made from a registered package needs the package to exist
    elif not container.get("Image"):
        raise ValidationException(
            f"{member}.Image is required: the URI of the inference image (for example from "
            "sagemaker.image_uris.retrieve(...)), unless ModelPackageName names a model package that gives it."
        )
    url, source = container.get("ModelDataUrl"), container.get("ModelDataSource")
    if url and source:
        raise ValidationException(f"{member}: give ModelDataUrl or ModelDataSource, not both.")
    if url:
        check_uri(url, f"{member}.ModelDataUrl")
        if artifacts.parse(url).is_prefix:
            raise ValidationException(
                f"{member}.ModelDataUrl {url!r} names a prefix; it must name the model archive (model.tar.gz). "
                "For uncompressed model files under a prefix use ModelDataSource with S3DataType S3Prefix."
            )
        _check_stored(call, url, f"{member}.ModelDataUrl")
    if source:
        _check_data_source(call, source, f"{member}.ModelDataSource")
    for index, extra in enumerate(container.get("AdditionalModelDataSources") or []):
        _check_data_source(call, extra, f"{member}.AdditionalModelDataSources[{index}]")
    shown = dict(container)
    if not package:
        shown.setdefault("Mode", "SingleModel")
    return shown


@operation("CreateModel", resource=_resource)
def create_model(call: Call, params: dict) -> dict:
    name = params["ModelName"]
    primary, containers = params.get("PrimaryContainer"), params.get("Containers")
    if primary and containers:
        raise ValidationException("Give PrimaryContainer or Containers (an inference pipeline), not both.")
    if not primary and not containers:
        raise ValidationException(
            "A model needs a container: give PrimaryContainer (an image and its model data), or Containers for an "
            "inference pipeline."
        )
    if params.get("InferenceExecutionConfig") and not containers:
        raise ValidationException("InferenceExecutionConfig applies only to a model with Containers (a pipeline).")
    if params.get("ExecutionRoleArn"):
        check_role(call, params["ExecutionRoleArn"])

    arn = call.arn(TYPE, name)
    now = time.time()
    document: dict = {"ModelName": name}
    if primary:
        document["PrimaryContainer"] = _container(call, primary, "PrimaryContainer")
    else:
        document["Containers"] = [_container(call, c, f"Containers[{i}]") for i, c in enumerate(containers)]
    for member in ("InferenceExecutionConfig", "ExecutionRoleArn", "VpcConfig"):
        if params.get(member) is not None:
            document[member] = params[member]
    document.update(CreationTime=now, ModelArn=arn, EnableNetworkIsolation=bool(params.get("EnableNetworkIsolation")))
    try:
        call.create_resource(arn=arn, resource_type=TYPE, name=name, created_at=now, document=document,
                             tags_=params.get("Tags", ()))
    except store.AlreadyExists:
        raise ValidationException(f'Cannot create already existing model "{arn}".') from None
    return {"ModelArn": arn}


@operation("DescribeModel", resource=_resource, writes=False)
def describe_model(call: Call, params: dict) -> dict:
    return find(call, params["ModelName"]).document


@operation("DeleteModel", resource=_resource)
def delete_model(call: Call, params: dict) -> dict:
    # Endpoint configs keep their own copy of what they deploy (as in SageMaker), so nothing refers to it.
    store.remove(call.conn, find(call, params["ModelName"]))
    return {}


def _summary(row: store.Resource) -> dict:
    document = row.document
    return {"ModelName": document["ModelName"], "ModelArn": document["ModelArn"],
            "CreationTime": document["CreationTime"]}


list_operation(
    "ListModels", resource_type=TYPE, result_key="Models", summary=_summary,
    default_sort="CreationTime", default_order="Descending",
)
