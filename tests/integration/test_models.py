"""SageMaker models through boto3: CreateModel, DescribeModel, ListModels, DeleteModel."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from botocore.exceptions import ClientError

from jobs_support import SKLEARN_IMAGE, execution_role

BUCKET = "models"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def role(charter):
    return execution_role(charter, "ModelsTestRole")


@pytest.fixture(scope="module")
def artifact(charter):
    s3 = charter.client(service="s3")
    try:
        s3.create_bucket(Bucket=BUCKET)
    except s3.exceptions.BucketAlreadyOwnedByYou:
        pass
    s3.put_object(Bucket=BUCKET, Key="churn/model.tar.gz", Body=b"not really a tarball")
    s3.put_object(Bucket=BUCKET, Key="llm/weights/model.safetensors", Body=b"weights")
    return f"s3://{BUCKET}/churn/model.tar.gz"


def error_of(caught) -> tuple[str, str]:
    error = caught.value.response["Error"]
    return error["Code"], error["Message"]


def test_create_describe_list_delete(sm, role, artifact):
    name = unique("Churn")
    arn = sm.create_model(
        ModelName=name, ExecutionRoleArn=role,
        PrimaryContainer={"Image": SKLEARN_IMAGE, "ModelDataUrl": artifact,
                          "Environment": {"SAGEMAKER_PROGRAM": "inference.py"}},
        Tags=[{"Key": "team", "Value": "risk"}],
    )["ModelArn"]
    assert arn == f"arn:aws:sagemaker:us-east-1:123456789012:model/{name.lower()}"

    model = sm.describe_model(ModelName=name)
    assert model["ModelName"] == name and model["ModelArn"] == arn
    assert model["PrimaryContainer"] == {"Image": SKLEARN_IMAGE, "ModelDataUrl": artifact, "Mode": "SingleModel",
                                         "Environment": {"SAGEMAKER_PROGRAM": "inference.py"}}
    assert model["ExecutionRoleArn"] == role
    assert model["EnableNetworkIsolation"] is False
    assert abs(model["CreationTime"].timestamp() - dt.datetime.now().timestamp()) < 60
    assert "Containers" not in model
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "risk"}]

    # Names are unique without regard to case, and found in any case.
    assert sm.describe_model(ModelName=name.upper())["ModelName"] == name
    summaries = sm.list_models(NameContains=name.lower())["Models"]
    assert [(m["ModelName"], m["ModelArn"]) for m in summaries] == [(name, arn)]

    sm.delete_model(ModelName=name)
    with pytest.raises(ClientError) as caught:
        sm.describe_model(ModelName=name)
    assert error_of(caught) == ("ValidationException", f'Could not find model "{arn}".')
    with pytest.raises(ClientError) as caught:
        sm.delete_model(ModelName=name)
    assert error_of(caught)[0] == "ValidationException"


def test_a_duplicate_is_refused_as_sagemaker_refuses_it(sm, role, artifact):
    name = unique("dup")
    request = dict(ModelName=name, ExecutionRoleArn=role, PrimaryContainer={"Image": SKLEARN_IMAGE, "ModelDataUrl": artifact})
    arn = sm.create_model(**request)["ModelArn"]
    with pytest.raises(ClientError) as caught:
        sm.create_model(**{**request, "ModelName": name.upper()})
    # The SDK's Session.create_model reuses a model when it reads exactly this.
    assert error_of(caught) == ("ValidationException", f'Cannot create already existing model "{arn}".')


def test_pipelines_data_sources_and_isolation(sm, role, artifact):
    name = unique("pipeline")
    sm.create_model(
        ModelName=name, ExecutionRoleArn=role, EnableNetworkIsolation=True,
        Containers=[
            {"Image": SKLEARN_IMAGE, "ModelDataUrl": artifact, "ContainerHostname": "prep"},
            {"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/my-llm:1",
             "ModelDataSource": {"S3DataSource": {"S3Uri": f"s3://{BUCKET}/llm/weights/", "S3DataType": "S3Prefix",
                                                  "CompressionType": "None"}}},
        ],
        InferenceExecutionConfig={"Mode": "Serial"},
        VpcConfig={"SecurityGroupIds": ["sg-0123456789abcdef0"], "Subnets": ["subnet-0123456789abcdef0"]},
    )
    model = sm.describe_model(ModelName=name)
    assert [c["ContainerHostname"] for c in model["Containers"][:1]] == ["prep"]
    assert model["Containers"][1]["ModelDataSource"]["S3DataSource"]["S3DataType"] == "S3Prefix"
    assert model["InferenceExecutionConfig"] == {"Mode": "Serial"}
    assert model["VpcConfig"]["Subnets"] == ["subnet-0123456789abcdef0"]
    assert model["EnableNetworkIsolation"] is True
    assert "PrimaryContainer" not in model


@pytest.mark.parametrize("change, message", [
    ({"ExecutionRoleArn": "arn:aws:iam::123456789012:role/NoSuchRole"}, "Could not assume role"),
    ({"PrimaryContainer": {"ModelDataUrl": "s3://models/churn/model.tar.gz"}}, "PrimaryContainer.Image is required"),
    ({"PrimaryContainer": {"Image": SKLEARN_IMAGE, "ModelDataUrl": "s3://models/nothing/model.tar.gz"}},
     "could not find model data at s3://models/nothing/model.tar.gz"),
    ({"PrimaryContainer": {"Image": SKLEARN_IMAGE, "ModelDataUrl": "s3://models/churn/"}}, "names a prefix"),
    ({"PrimaryContainer": {"Image": SKLEARN_IMAGE, "ModelDataUrl": "s3://models/a/../b.tar.gz"}}, "'..' path segment"),
    ({"PrimaryContainer": None}, "A model needs a container"),
    ({"Containers": [{"Image": SKLEARN_IMAGE}]}, "not both"),
    ({"InferenceExecutionConfig": {"Mode": "Direct"}}, "only to a model with Containers"),
    ({"PrimaryContainer": {"Image": SKLEARN_IMAGE, "ModelPackageName": "no-such-group/1"}}, "does not exist"),
    ({"PrimaryContainer": {"Image": SKLEARN_IMAGE, "ModelDataSource": {"S3DataSource": {
        "S3Uri": "s3://models/llm/weights/", "S3DataType": "S3Prefix", "CompressionType": "Gzip"}}}},
     "CompressionType must be None"),
])
def test_what_sagemaker_refuses(sm, role, artifact, change, message):
    request = {"ModelName": unique("bad"), "ExecutionRoleArn": role,
               "PrimaryContainer": {"Image": SKLEARN_IMAGE, "ModelDataUrl": artifact}, **change}
    request = {k: v for k, v in request.items() if v is not None}
    with pytest.raises(ClientError) as caught:
        sm.create_model(**request)
    code, text = error_of(caught)
    assert code == "ValidationException" and message in text, text
    with pytest.raises(ClientError):
        sm.describe_model(ModelName=request["ModelName"])


def test_list_sorts_and_pages(sm, role, artifact):
    prefix = unique("page")
    names = [f"{prefix}-{i}" for i in range(3)]
    for name in names:
        sm.create_model(ModelName=name, ExecutionRoleArn=role,
                        PrimaryContainer={"Image": SKLEARN_IMAGE, "ModelDataUrl": artifact})
    newest_first = sm.list_models(NameContains=prefix)["Models"]
    assert [m["ModelName"] for m in newest_first] == names[::-1]  # CreationTime, Descending by default
    by_name = sm.list_models(NameContains=prefix, SortBy="Name", SortOrder="Ascending", MaxResults=2)
    assert [m["ModelName"] for m in by_name["Models"]] == names[:2]
    rest = sm.list_models(NameContains=prefix, SortBy="Name", SortOrder="Ascending", NextToken=by_name["NextToken"])
    assert [m["ModelName"] for m in rest["Models"]] == names[2:]
