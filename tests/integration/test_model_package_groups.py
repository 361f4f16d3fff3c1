"""Model package groups through boto3, as a data scientist would use them."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from botocore.exceptions import ClientError


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_create_describe_delete(sm):
    name = unique("churn")
    arn = sm.create_model_package_group(
        ModelPackageGroupName=name, ModelPackageGroupDescription="Churn models"
    )["ModelPackageGroupArn"]
    assert arn == f"arn:aws:sagemaker:us-east-1:123456789012:model-package-group/{name}"

    described = sm.describe_model_package_group(ModelPackageGroupName=name)
    assert described["ModelPackageGroupName"] == name
    assert described["ModelPackageGroupArn"] == arn
    assert described["ModelPackageGroupDescription"] == "Churn models"
    assert described["ModelPackageGroupStatus"] == "Completed"
    assert isinstance(described["CreationTime"], dt.datetime)
    assert abs(described["CreationTime"].timestamp() - dt.datetime.now().timestamp()) < 60
    assert described["CreatedBy"]["IamIdentity"]["Arn"] == "arn:aws:iam::123456789012:user/admin"

    # Describe accepts the ARN wherever the model says NameOrArn.
    assert sm.describe_model_package_group(ModelPackageGroupName=arn)["ModelPackageGroupName"] == name

    sm.delete_model_package_group(ModelPackageGroupName=name)
    with pytest.raises(ClientError) as caught:
        sm.describe_model_package_group(ModelPackageGroupName=name)
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert name in caught.value.response["Error"]["Message"]


def test_duplicate_name_is_refused_case_insensitively(sm):
    name = unique("Dup")
    sm.create_model_package_group(ModelPackageGroupName=name)
    with pytest.raises(ClientError) as caught:
        sm.create_model_package_group(ModelPackageGroupName=name.lower())
    error = caught.value.response["Error"]
    assert error["Code"] == "ValidationException"
    assert "already exists" in error["Message"]


def test_arn_is_lower_case_but_name_keeps_its_case(sm):
    name = unique("MixedCase")
    arn = sm.create_model_package_group(ModelPackageGroupName=name)["ModelPackageGroupArn"]
    assert arn.endswith(name.lower())
    assert sm.describe_model_package_group(ModelPackageGroupName=name)["ModelPackageGroupName"] == name


def test_delete_missing_group(sm):
    with pytest.raises(ClientError) as caught:
        sm.delete_model_package_group(ModelPackageGroupName=unique("missing"))
    assert caught.value.response["Error"]["Code"] == "ValidationException"


def test_list_filters_sorting_and_pagination(sm):
    prefix = unique("listing")
    names = [f"{prefix}-{i:02d}" for i in range(25)]
    for name in names:
        sm.create_model_package_group(ModelPackageGroupName=name)

    # NameContains (case-insensitive), ascending by name, walked with a paginator of 7 a page.
    paginator = sm.get_paginator("list_model_package_groups")
    seen = []
    pages = 0
    for page in paginator.paginate(
        NameContains=prefix.upper(), SortBy="Name", SortOrder="Ascending", PaginationConfig={"PageSize": 7}
    ):
        pages += 1
        seen.extend(s["ModelPackageGroupName"] for s in page["ModelPackageGroupSummaryList"])
    assert seen == names
    assert pages == 4

    descending = sm.list_model_package_groups(NameContains=prefix, SortBy="Name", SortOrder="Descending", MaxResults=3)
    assert [s["ModelPackageGroupName"] for s in descending["ModelPackageGroupSummaryList"]] == names[::-1][:3]
    assert "NextToken" in descending

    # The last page carries no NextToken.
    everything = sm.list_model_package_groups(NameContains=prefix, MaxResults=100)
    assert len(everything["ModelPackageGroupSummaryList"]) == 25
    assert "NextToken" not in everything
    summary = everything["ModelPackageGroupSummaryList"][0]
    assert set(summary) >= {"ModelPackageGroupName", "ModelPackageGroupArn", "CreationTime", "ModelPackageGroupStatus"}


def test_list_by_creation_time(sm):
    prefix = unique("times")
    sm.create_model_package_group(ModelPackageGroupName=f"{prefix}-old")
    middle = dt.datetime.now(dt.timezone.utc)
    import time

    time.sleep(0.05)
    sm.create_model_package_group(ModelPackageGroupName=f"{prefix}-new")
    after = sm.list_model_package_groups(NameContains=prefix, CreationTimeAfter=middle)["ModelPackageGroupSummaryList"]
    before = sm.list_model_package_groups(NameContains=prefix, CreationTimeBefore=middle)["ModelPackageGroupSummaryList"]
    assert [s["ModelPackageGroupName"] for s in after] == [f"{prefix}-new"]
    assert [s["ModelPackageGroupName"] for s in before] == [f"{prefix}-old"]


def test_next_token_is_tamper_checked(sm):
    prefix = unique("tokens")
    for i in range(3):
        sm.create_model_package_group(ModelPackageGroupName=f"{prefix}-{i}")
    token = sm.list_model_package_groups(NameContains=prefix, MaxResults=1)["NextToken"]
    with pytest.raises(ClientError) as caught:
        sm.list_model_package_groups(NameContains=prefix, MaxResults=1, NextToken=token[:-2] + "00")
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    # A token is only good for the filters it was issued for.
    with pytest.raises(ClientError) as caught:
        sm.list_model_package_groups(NameContains=prefix + "x", MaxResults=1, NextToken=token)
    assert "different filters" in caught.value.response["Error"]["Message"]


def test_invalid_input_is_answered_like_aws(charter):
    raw = charter.client(validate=False)
    with pytest.raises(ClientError) as caught:
        raw.create_model_package_group(ModelPackageGroupName="bad name!")
    error = caught.value.response["Error"]
    assert error["Code"] == "ValidationException"
    assert error["Message"].startswith("1 validation error detected: Value 'bad name!' at 'modelPackageGroupName'")
    assert "regular expression pattern" in error["Message"]

    with pytest.raises(ClientError) as caught:
        raw.list_model_package_groups(SortBy="Size", MaxResults=1000)
    message = caught.value.response["Error"]["Message"]
    assert message.startswith("2 validation errors detected")
    assert "Member must satisfy enum value set: [Name, CreationTime]" in message
    assert "Member must have value less than or equal to 100" in message

    with pytest.raises(ClientError) as caught:
        raw.create_model_package_group()
    assert "Member must not be null" in caught.value.response["Error"]["Message"]


def test_unsupported_operation_names_itself(sm):
    with pytest.raises(ClientError) as caught:
        sm.list_workteams()
    error = caught.value.response["Error"]
    assert "ListWorkteams" in error["Message"]
    assert "not supported" in error["Message"]
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
