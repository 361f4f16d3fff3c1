"""AddTags, ListTags and DeleteTags on stored resources."""

from __future__ import annotations

import uuid

import pytest
from botocore.exceptions import ClientError


def test_tags_round_trip(sm):
    name = f"tagged-{uuid.uuid4().hex[:8]}"
    arn = sm.create_model_package_group(
        ModelPackageGroupName=name, Tags=[{"Key": "team", "Value": "risk"}]
    )["ModelPackageGroupArn"]
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "risk"}]

    added = sm.add_tags(ResourceArn=arn, Tags=[{"Key": "team", "Value": "growth"}, {"Key": "stage", "Value": "dev"}])
    assert len(added["Tags"]) == 2
    assert sorted((t["Key"], t["Value"]) for t in sm.list_tags(ResourceArn=arn)["Tags"]) == [
        ("stage", "dev"),
        ("team", "growth"),
    ]

    sm.delete_tags(ResourceArn=arn, TagKeys=["stage", "not-there"])
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "growth"}]


def test_list_tags_paginates(sm):
    arn = sm.create_model_package_group(ModelPackageGroupName=f"many-tags-{uuid.uuid4().hex[:8]}")["ModelPackageGroupArn"]
    sm.add_tags(ResourceArn=arn, Tags=[{"Key": f"k{i:02d}", "Value": str(i)} for i in range(50)])
    paginator = sm.get_paginator("list_tags")
    keys = [t["Key"] for page in paginator.paginate(ResourceArn=arn, PaginationConfig={"PageSize": 50}) for t in page["Tags"]]
    assert keys == [f"k{i:02d}" for i in range(50)]


def test_too_many_tags_keeps_the_old_ones(sm):
    arn = sm.create_model_package_group(ModelPackageGroupName=f"full-{uuid.uuid4().hex[:8]}")["ModelPackageGroupArn"]
    sm.add_tags(ResourceArn=arn, Tags=[{"Key": f"a{i}", "Value": "x"} for i in range(40)])
    with pytest.raises(ClientError) as caught:
        sm.add_tags(ResourceArn=arn, Tags=[{"Key": f"b{i}", "Value": "y"} for i in range(20)])
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert len(sm.list_tags(ResourceArn=arn, MaxResults=100)["Tags"]) == 40


def test_tags_on_missing_resource(sm):
    with pytest.raises(ClientError) as caught:
        sm.add_tags(
            ResourceArn="arn:aws:sagemaker:us-east-1:123456789012:model-package-group/nope-nope",
            Tags=[{"Key": "a", "Value": "b"}],
        )
    assert caught.value.response["Error"]["Code"] == "ValidationException"


def test_reserved_tag_prefix(sm):
    arn = sm.create_model_package_group(ModelPackageGroupName=f"reserved-{uuid.uuid4().hex[:8]}")["ModelPackageGroupArn"]
    with pytest.raises(ClientError) as caught:
        sm.add_tags(ResourceArn=arn, Tags=[{"Key": "aws:owner", "Value": "me"}])
    assert "reserved" in caught.value.response["Error"]["Message"]
