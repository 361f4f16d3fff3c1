"""Search accepts every Resource value of botocore's SearchRequest.

Charter stores model packages, their groups and model cards; every other
resource type in the enum (TrainingJob, Endpoint, Pipeline, ...) is one it holds
none of yet, so a search of it is valid and finds nothing, as it does in an AWS
account without such resources.  The SageMaker Python SDK depends on this:
``ModelCard(model_package_details=...)`` looks the package's training job up
with ``Search(Resource="TrainingJob")``.
"""

from __future__ import annotations

import uuid

import botocore.session
import pytest
from botocore.exceptions import ClientError

SEARCH = botocore.session.get_session().get_service_model("sagemaker").operation_model("Search")
RESOURCE_VALUES = SEARCH.input_shape.members["Resource"].enum
STORED = {"ModelPackage", "ModelPackageGroup", "ModelCard"}
NOT_STORED = [value for value in RESOURCE_VALUES if value not in STORED]


def error_of(call, **kwargs) -> dict:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    return caught.value.response["Error"]


def test_the_enum_holds_more_than_charter_stores():
    # Guards the parametrized test below from passing over an empty list.
    assert STORED < set(RESOURCE_VALUES)
    assert {"TrainingJob", "Endpoint", "Pipeline", "Experiment", "Image", "HubContent"} <= set(NOT_STORED)


@pytest.mark.parametrize("resource", NOT_STORED)
def test_a_resource_type_charter_stores_none_of_finds_nothing(sm, resource):
    out = sm.search(Resource=resource)
    assert out["Results"] == []
    assert "NextToken" not in out
    assert out["TotalHits"] == {"Value": 0, "Relation": "EqualTo"}


@pytest.mark.parametrize("resource", sorted(STORED))
def test_the_stored_types_are_still_searched(sm, resource):
    assert "Results" in sm.search(Resource=resource, MaxResults=1)


def test_the_sdk_model_card_lookup_of_a_training_job_finds_none(sm):
    """What ``sagemaker.model_card.ModelCard(model_package_details=...)`` does.

    The SDK describes the model package, takes its model artifact and asks
    Search for the training job that wrote it (TrainingDetails.call_search_training_job);
    no job found means the card's training details stay empty, not an error.
    """
    group = f"sdk-card-{uuid.uuid4().hex[:8]}"
    sm.create_model_package_group(ModelPackageGroupName=group)
    artifact = f"s3://charter-test/{group}/model.tar.gz"
    arn = sm.create_model_package(
        ModelPackageGroupName=group,
        InferenceSpecification={
            "Containers": [{"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/xgb:1", "ModelDataUrl": artifact}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
    )["ModelPackageArn"]

    package = sm.describe_model_package(ModelPackageName=arn)
    model_artifacts = [c["ModelDataUrl"] for c in package["InferenceSpecification"]["Containers"]]
    found = sm.search(
        Resource="TrainingJob",
        SearchExpression={
            "Filters": [{"Name": "ModelArtifacts.S3ModelArtifacts", "Operator": "Equals", "Value": model_artifacts[0]}]
        },
    )
    assert found["Results"] == []


def test_the_search_paginator_walks_one_empty_page(sm):
    pages = list(
        sm.get_paginator("search").paginate(
            Resource="Endpoint",
            SearchExpression={"Filters": [{"Name": "EndpointStatus", "Operator": "Equals", "Value": "InService"}]},
            SortBy="CreationTime",
            SortOrder="Descending",
        )
    )
    assert [page["Results"] for page in pages] == [[]]


@pytest.mark.parametrize(
    "request_",
    [
        {"Resource": "TrainingJob", "SearchExpression": {"Filters": [{"Name": "TrainingJobStatus", "Value": "Completed"}]}},
        {
            "Resource": "TrainingJob",
            "SearchExpression": {
                "Filters": [{"Name": "CreationTime", "Operator": "GreaterThan", "Value": "2024-05-01T00:00:00"}]
            },
            "SortBy": "TrainingJobName",
        },
        {
            "Resource": "TrainingJob",
            "SearchExpression": {
                "NestedFilters": [
                    {
                        "NestedPropertyName": "InputDataConfig",
                        "Filters": [{"Name": "InputDataConfig.ChannelName", "Operator": "Equals", "Value": "train"}],
                    }
                ]
            },
        },
        {"Resource": "TrainingJob", "SearchExpression": {"Filters": [{"Name": "HyperParameters.max_depth", "Value": "5"}]}},
        {"Resource": "ExperimentTrial", "SearchExpression": {"Filters": [{"Name": "TrialName", "Value": "t"}]}},
        {
            "Resource": "ExperimentTrialComponent",
            "SearchExpression": {"Filters": [{"Name": "TrialComponentName", "Operator": "Contains", "Value": "t"}]},
        },
        {"Resource": "Model", "SearchExpression": {"Filters": [{"Name": "Model.ModelName", "Value": "m"}]}},
        {"Resource": "Image", "SearchExpression": {"Filters": [{"Name": "ImageName", "Value": "i"}]}},
        {"Resource": "Pipeline", "SearchExpression": {"Filters": [{"Name": "Tags.team", "Value": "growth"}]}},
        {"Resource": "Endpoint", "VisibilityConditions": [{"Key": "Tags.team", "Value": "growth"}]},
    ],
)
def test_well_formed_searches_of_types_not_stored_find_nothing(sm, request_):
    out = sm.search(**request_)
    assert out["Results"] == [] and "NextToken" not in out


@pytest.mark.parametrize(
    "request_, message",
    [
        (
            {"Resource": "TrainingJob", "SearchExpression": {"Filters": [{"Name": "TrainingJobNme", "Value": "x"}]}},
            "Unknown property name: TrainingJobNme",
        ),
        (
            {
                "Resource": "TrainingJob",
                "SearchExpression": {"Filters": [{"Name": "TrainingJobName", "Operator": "GreaterThan", "Value": "a"}]},
            },
            "not supported for text properties",
        ),
        (
            {
                "Resource": "TrainingJob",
                "SearchExpression": {"Filters": [{"Name": "CreationTime", "Operator": "LessThan", "Value": "last week"}]},
            },
            "ISO 8601",
        ),
        (
            {
                "Resource": "Endpoint",
                "SearchExpression": {
                    "Filters": [
                        {"Name": "EndpointName", "Operator": "Contains", "Value": "a"},
                        {"Name": "EndpointArn", "Operator": "Contains", "Value": "b"},
                    ]
                },
            },
            "'CONTAINS' operator usage limit of 1 exceeded.",
        ),
        ({"Resource": "Pipeline", "SortBy": "Size"}, "Unknown property name: Size"),
        ({"Resource": "Experiment", "NextToken": "garbage"}, "NextToken"),
        ({"Resource": "Image", "SearchExpression": {"Filters": [{"Name": "Bogus", "Value": "x"}]}}, "Unknown property name: Bogus"),
        ({"Resource": "Job", "CrossAccountFilterOption": "CrossAccount"}, "CrossAccount"),
        ({"Resource": "Endpoint", "VisibilityConditions": [{"Key": "team", "Value": "x"}]}, "Tags.<key>"),
    ],
)
def test_mistakes_in_a_search_of_a_type_not_stored_are_still_refused(sm, request_, message):
    error = error_of(sm.search, **request_)
    assert error["Code"] == "ValidationException"
    assert message in error["Message"]


def test_a_resource_value_outside_the_enum_is_refused(charter):
    error = error_of(charter.client(validate=False).search, Resource="Widget")
    assert error["Code"] == "ValidationException"
    assert "enum value set" in error["Message"] and "TrainingJob" in error["Message"]
