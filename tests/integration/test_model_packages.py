"""Model packages through boto3: versions, approvals, metadata, policies, events."""

from __future__ import annotations

import copy
import datetime as dt
import json
import threading
import time
import uuid

import pytest
from botocore.exceptions import ClientError

from charter.instance import Instance
from charter.store import events as event_store

ACCOUNT = "123456789012"
REGION = "us-east-1"

INFERENCE = {
    "Containers": [
        {
            "Image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
            "ModelDataUrl": "s3://models/churn/model.tar.gz",
            "Environment": {"SAGEMAKER_PROGRAM": "inference.py"},
        }
    ],
    "SupportedContentTypes": ["text/csv"],
    "SupportedResponseMIMETypes": ["text/csv"],
    "SupportedRealtimeInferenceInstanceTypes": ["ml.m5.large"],
    "SupportedTransformInstanceTypes": ["ml.m5.large"],
}

METRICS = {
    "ModelQuality": {
        "Statistics": {"ContentType": "application/json", "S3Uri": "s3://models/churn/evaluation.json"},
        "Constraints": {"ContentType": "application/json", "S3Uri": "s3://models/churn/constraints.json",
                        "ContentDigest": "sha256:" + "0123abcd" * 8},
    },
    "ModelDataQuality": {
        "Statistics": {"ContentType": "application/json", "S3Uri": "s3://models/churn/dq-statistics.json"},
        "Constraints": {"ContentType": "application/json", "S3Uri": "s3://models/churn/dq-constraints.json"},
    },
    "Bias": {
        "Report": {"ContentType": "application/json", "S3Uri": "s3://models/churn/bias.json"},
        "PreTrainingReport": {"ContentType": "application/json", "S3Uri": "s3://models/churn/pre-bias.json"},
        "PostTrainingReport": {"ContentType": "application/json", "S3Uri": "s3://models/churn/post-bias.json"},
    },
    "Explainability": {"Report": {"ContentType": "application/json", "S3Uri": "s3://models/churn/shap.json"}},
}

BASELINES = {
    "Bias": {
        "ConfigFile": {"ContentType": "application/json", "S3Uri": "s3://models/churn/analysis_config.json"},
        "PreTrainingConstraints": {"ContentType": "application/json", "S3Uri": "s3://models/churn/pre.json"},
        "PostTrainingConstraints": {"ContentType": "application/json", "S3Uri": "s3://models/churn/post.json"},
    },
    "Explainability": {
        "Constraints": {"ContentType": "application/json", "S3Uri": "s3://models/churn/shap-constraints.json"},
        "ConfigFile": {"ContentType": "application/json", "S3Uri": "s3://models/churn/shap-config.json"},
    },
    "ModelQuality": {
        "Statistics": {"ContentType": "application/json", "S3Uri": "s3://models/churn/mq-stats.json"},
        "Constraints": {"ContentType": "application/json", "S3Uri": "s3://models/churn/mq-constraints.json"},
    },
    "ModelDataQuality": {
        "Statistics": {"ContentType": "application/json", "S3Uri": "s3://models/churn/dq-stats.json"},
        "Constraints": {"ContentType": "application/json", "S3Uri": "s3://models/churn/dq-cons.json"},
    },
}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def new_group(sm, prefix: str = "churn") -> str:
    name = unique(prefix)
    sm.create_model_package_group(ModelPackageGroupName=name)
    return name


def register(sm, group: str, **extra) -> str:
    return sm.create_model_package(ModelPackageGroupName=group, InferenceSpecification=INFERENCE, **extra)[
        "ModelPackageArn"
    ]


def error_of(caught) -> dict:
    return caught.value.response["Error"]


def events_for(charter, arn: str) -> list[dict]:
    """The model package events the server recorded for ``arn``, oldest first."""
    instance = Instance.from_env(home=str(charter.home), database_url=charter.env["CHARTER_DATABASE_URL"])
    try:
        with instance.transaction(write=False) as conn:
            found = event_store.recent(conn, detail_type="SageMaker Model Package State Change", limit=100000)
    finally:
        instance.close()
    return [event for event in found if event["resources"] == [arn]]


def user_keys(charter, name: str, persona: str) -> dict:
    return json.loads(charter.cli("iam", "create-user", name, "--persona", persona).stdout)


# --- versions and documents --------------------------------------------------


def test_register_versions_and_describe_them(sm):
    group = new_group(sm, "Churn")  # mixed case: the ARN is lower case, the names keep their case
    first = register(
        sm,
        group,
        ModelPackageDescription="XGBoost, 0.91 AUC",
        MetadataProperties={"CommitId": "4f2a9c1", "Repository": "git@example.com:ml/churn.git",
                            "GeneratedBy": "arn:aws:sagemaker:us-east-1:123456789012:pipeline/churn/execution/x"},
        Domain="MACHINE_LEARNING",
        Task="CLASSIFICATION",
        SamplePayloadUrl="s3://models/churn/payload.tar.gz",
        SkipModelValidation="None",
        SecurityConfig={"KmsKeyId": "arn:aws:kms:us-east-1:123456789012:key/abcd"},
        CustomerMetadataProperties={"team": "retention"},
        ModelPackageRegistrationType="Registered",
    )
    assert first == f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/{group.lower()}/1"
    second = register(sm, group)
    assert second.endswith(f"/{group.lower()}/2")

    described = sm.describe_model_package(ModelPackageName=first)
    assert described["ModelPackageName"] == group
    assert described["ModelPackageGroupName"] == group
    assert described["ModelPackageVersion"] == 1
    assert described["ModelPackageArn"] == first
    assert described["ModelPackageDescription"] == "XGBoost, 0.91 AUC"
    assert described["ModelPackageStatus"] == "Completed"
    assert described["ModelPackageStatusDetails"] == {"ValidationStatuses": [], "ImageScanStatuses": []}
    assert described["ModelApprovalStatus"] == "PendingManualApproval"
    assert described["CertifyForMarketplace"] is False
    assert described["InferenceSpecification"] == INFERENCE
    assert described["MetadataProperties"]["CommitId"] == "4f2a9c1"
    assert described["Domain"] == "MACHINE_LEARNING" and described["Task"] == "CLASSIFICATION"
    assert described["SamplePayloadUrl"] == "s3://models/churn/payload.tar.gz"
    assert described["SkipModelValidation"] == "None"
    assert described["SecurityConfig"] == {"KmsKeyId": "arn:aws:kms:us-east-1:123456789012:key/abcd"}
    assert described["CustomerMetadataProperties"] == {"team": "retention"}
    assert described["ModelPackageRegistrationType"] == "Registered"
    assert "UserProfileName" not in described["CreatedBy"]  # an IAM caller, not a Studio user profile
    assert described["CreatedBy"]["IamIdentity"]["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/admin"
    assert isinstance(described["CreationTime"], dt.datetime)
    assert abs(described["CreationTime"].timestamp() - time.time()) < 60
    assert "Tags" not in described

    # ModelPackageName is a NameOrArn: the ARN, "group/version", and the ARN in any case.
    assert sm.describe_model_package(ModelPackageName=f"{group}/2")["ModelPackageArn"] == second
    mixed_case = second.replace(group.lower(), group)
    assert mixed_case != second
    assert sm.describe_model_package(ModelPackageName=mixed_case)["ModelPackageVersion"] == 2


def test_metrics_and_drift_baselines_round_trip_exactly(sm):
    group = new_group(sm)
    arn = register(sm, group, ModelMetrics=copy.deepcopy(METRICS), DriftCheckBaselines=copy.deepcopy(BASELINES))
    described = sm.describe_model_package(ModelPackageName=arn)
    assert described["ModelMetrics"] == METRICS
    assert described["DriftCheckBaselines"] == BASELINES


def test_tags_are_kept_on_the_package_not_in_describe(sm):
    group = new_group(sm)
    arn = register(sm, group, Tags=[{"Key": "owner", "Value": "ana"}])
    assert "Tags" not in sm.describe_model_package(ModelPackageName=arn)
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "owner", "Value": "ana"}]


def test_version_numbers_are_not_reused_after_deleting_the_newest(sm):
    group = new_group(sm)
    register(sm, group)
    second = register(sm, group)
    sm.delete_model_package(ModelPackageName=second)
    assert register(sm, group).endswith("/3")


def test_unknown_group_and_bad_combinations(sm, charter):
    with pytest.raises(ClientError) as caught:
        register(sm, unique("nowhere"))
    assert error_of(caught)["Code"] == "ValidationException"
    assert "does not exist" in error_of(caught)["Message"]

    group = new_group(sm)
    raw = charter.client(validate=False)
    with pytest.raises(ClientError) as caught:
        raw.create_model_package(ModelPackageGroupName=group, ModelPackageName="also-a-name", InferenceSpecification=INFERENCE)
    assert "cannot be given together" in error_of(caught)["Message"]
    with pytest.raises(ClientError) as caught:
        raw.create_model_package(InferenceSpecification=INFERENCE)
    assert "is required" in error_of(caught)["Message"]
    with pytest.raises(ClientError) as caught:
        register(sm, group, SourceUri="s3://models/churn/model.tar.gz")
    assert "SourceUri and InferenceSpecification" in error_of(caught)["Message"]
    with pytest.raises(ClientError) as caught:
        raw.create_model_package(ModelPackageGroupName=group, InferenceSpecification=INFERENCE, ModelApprovalStatus="Maybe")
    assert "Member must satisfy enum value set: [Approved, Rejected, PendingManualApproval]" in error_of(caught)["Message"]


def test_source_uri_of_another_package_supplies_the_inference_specification(sm):
    group = new_group(sm)
    original = register(sm, group)
    clone = sm.create_model_package(ModelPackageGroupName=group, SourceUri=original)["ModelPackageArn"]
    described = sm.describe_model_package(ModelPackageName=clone)
    assert described["SourceUri"] == original
    assert described["InferenceSpecification"] == INFERENCE


def test_create_with_a_client_token_is_idempotent(sm):
    group = new_group(sm)
    token = str(uuid.uuid4())
    first = register(sm, group, ClientToken=token, ModelPackageDescription="one")
    assert register(sm, group, ClientToken=token, ModelPackageDescription="one") == first
    with pytest.raises(ClientError) as caught:
        register(sm, group, ClientToken=token, ModelPackageDescription="two")
    assert "already used with different parameters" in error_of(caught)["Message"]
    assert register(sm, group).endswith("/2")


# --- unversioned packages --------------------------------------------------------


def test_unversioned_packages(sm):
    name = unique("marketplace")
    # The SageMaker SDK sends these three for unversioned packages too.
    arn = sm.create_model_package(
        ModelPackageName=name, InferenceSpecification=INFERENCE, CertifyForMarketplace=True,
        ModelApprovalStatus="PendingManualApproval", SkipModelValidation="None",
    )["ModelPackageArn"]
    assert arn == f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/{name}"
    described = sm.describe_model_package(ModelPackageName=name)
    assert described["ModelPackageName"] == name
    assert described["CertifyForMarketplace"] is True
    for absent in ("ModelPackageVersion", "ModelPackageGroupName", "ModelApprovalStatus"):
        assert absent not in described

    with pytest.raises(ClientError) as caught:
        sm.create_model_package(ModelPackageName=name, InferenceSpecification=INFERENCE)
    assert "ModelPackage already exists" in error_of(caught)["Message"]

    with pytest.raises(ClientError) as caught:
        sm.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")
    assert "only to versioned" in error_of(caught)["Message"]
    sm.update_model_package(ModelPackageArn=arn, CustomerMetadataProperties={"listing": "draft"})
    assert sm.describe_model_package(ModelPackageName=arn)["CustomerMetadataProperties"] == {"listing": "draft"}

    sm.delete_model_package(ModelPackageName=name)
    with pytest.raises(ClientError) as caught:
        sm.describe_model_package(ModelPackageName=name)
    assert error_of(caught)["Code"] == "ValidationException"


# --- approvals -------------------------------------------------------------------


def test_approval_workflow_records_who_and_when(sm, charter):
    group = new_group(sm)
    arn = register(sm, group)
    created = sm.describe_model_package(ModelPackageName=arn)["LastModifiedTime"]
    mlops = charter.create_user(unique("mlops"), "mlops-engineer")

    time.sleep(0.01)
    mlops.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved", ApprovalDescription="AUC 0.91 > 0.85")
    approved = sm.describe_model_package(ModelPackageName=arn)
    assert approved["ModelApprovalStatus"] == "Approved"
    assert approved["ApprovalDescription"] == "AUC 0.91 > 0.85"
    assert approved["LastModifiedBy"]["IamIdentity"]["Arn"].startswith(f"arn:aws:iam::{ACCOUNT}:user/mlops-")
    assert approved["LastModifiedTime"] > created
    assert approved["CreatedBy"]["IamIdentity"]["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/admin"

    # The same status again is no change and is accepted.
    sm.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")
    # Approved -> Rejected -> Approved are valid transitions.
    sm.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Rejected", ApprovalDescription="drift")
    sm.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")
    assert sm.describe_model_package(ModelPackageName=arn)["ModelApprovalStatus"] == "Approved"


def test_a_version_never_returns_to_pending(sm):
    group = new_group(sm)
    for target in ("Approved", "Rejected"):
        arn = register(sm, group)
        sm.update_model_package(ModelPackageArn=arn, ModelApprovalStatus=target)
        with pytest.raises(ClientError) as caught:
            sm.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="PendingManualApproval")
        error = error_of(caught)
        assert error["Code"] == "ValidationException"
        assert f"from {target} to PendingManualApproval" in error["Message"]
        assert sm.describe_model_package(ModelPackageName=arn)["ModelApprovalStatus"] == target


def test_versions_may_be_created_approved(sm):
    group = new_group(sm)
    arn = register(sm, group, ModelApprovalStatus="Approved")
    assert sm.describe_model_package(ModelPackageName=arn)["ModelApprovalStatus"] == "Approved"


def test_invalid_approval_value_names_the_allowed_values(charter, sm):
    arn = register(sm, new_group(sm))
    raw = charter.client(validate=False)
    with pytest.raises(ClientError) as caught:
        raw.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approve")
    error = error_of(caught)
    assert error["Code"] == "ValidationException"
    assert "[Approved, Rejected, PendingManualApproval]" in error["Message"]


def test_approving_a_deleted_package_is_refused(sm):
    group = new_group(sm)
    arn = register(sm, group)
    sm.delete_model_package(ModelPackageName=arn)
    with pytest.raises(ClientError) as caught:
        sm.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")
    error = error_of(caught)
    assert error["Code"] == "ValidationException"
    assert arn in error["Message"] and "does not exist" in error["Message"]
    with pytest.raises(ClientError) as caught:
        sm.delete_model_package(ModelPackageName=arn)
    assert error_of(caught)["Code"] == "ValidationException"


def test_an_update_needs_something_to_change(sm):
    arn = register(sm, new_group(sm))
    with pytest.raises(ClientError) as caught:
        sm.update_model_package(ModelPackageArn=arn)
    assert "Nothing to update" in error_of(caught)["Message"]


def test_update_with_a_client_token_applies_once(sm):
    arn = register(sm, new_group(sm))
    spec = {"Name": "neo-compiled", "Containers": [{"Image": "neo:1", "ModelDataUrl": "s3://models/neo.tar.gz"}]}
    token = str(uuid.uuid4())
    for _ in range(2):
        sm.update_model_package(ModelPackageArn=arn, AdditionalInferenceSpecificationsToAdd=[spec], ClientToken=token)
    assert len(sm.describe_model_package(ModelPackageName=arn)["AdditionalInferenceSpecifications"]) == 1
    with pytest.raises(ClientError) as caught:
        sm.update_model_package(ModelPackageArn=arn, ApprovalDescription="other", ClientToken=token)
    assert "different parameters" in error_of(caught)["Message"]


# --- metadata, life cycle, model card -------------------------------------------


def test_customer_metadata_add_merge_and_remove(sm):
    arn = register(sm, new_group(sm), CustomerMetadataProperties={"team": "retention", "dataset": "v1"})
    sm.update_model_package(ModelPackageArn=arn, CustomerMetadataProperties={"dataset": "v2", "ticket": "ML-42"})
    assert sm.describe_model_package(ModelPackageName=arn)["CustomerMetadataProperties"] == {
        "team": "retention", "dataset": "v2", "ticket": "ML-42"}
    sm.update_model_package(ModelPackageArn=arn, CustomerMetadataPropertiesToRemove=["team", "not-there"])
    assert sm.describe_model_package(ModelPackageName=arn)["CustomerMetadataProperties"] == {"dataset": "v2", "ticket": "ML-42"}
    with pytest.raises(ClientError) as caught:
        sm.update_model_package(ModelPackageArn=arn, CustomerMetadataProperties={"ticket": "x"},
                                CustomerMetadataPropertiesToRemove=["ticket"])
    assert "both set and removed" in error_of(caught)["Message"]
    sm.update_model_package(ModelPackageArn=arn, CustomerMetadataPropertiesToRemove=["dataset", "ticket"])
    assert "CustomerMetadataProperties" not in sm.describe_model_package(ModelPackageName=arn)
    too_many = {f"k{i}": "v" for i in range(50)}
    sm.update_model_package(ModelPackageArn=arn, CustomerMetadataProperties=too_many)
    with pytest.raises(ClientError) as caught:
        sm.update_model_package(ModelPackageArn=arn, CustomerMetadataProperties={"one-more": "v"})
    assert "at most 50" in error_of(caught)["Message"]


def test_life_cycle_stages(sm):
    group = new_group(sm)
    arn = register(sm, group, ModelLifeCycle={"Stage": "Development", "StageStatus": "InProgress"})
    sm.update_model_package(
        ModelPackageArn=arn,
        ModelLifeCycle={"Stage": "QA", "StageStatus": "PendingApproval", "StageDescription": "load test next"},
    )
    described = sm.describe_model_package(ModelPackageName=arn)
    assert described["ModelLifeCycle"] == {"Stage": "QA", "StageStatus": "PendingApproval", "StageDescription": "load test next"}
    summary = sm.list_model_packages(ModelPackageGroupName=group)["ModelPackageSummaryList"][0]
    assert summary["ModelLifeCycle"]["Stage"] == "QA"


def test_additional_inference_specifications_and_source_uri(sm):
    arn = register(sm, new_group(sm))
    spec = {"Name": "inf2", "Containers": [{"Image": "neo:1", "ModelDataUrl": "s3://models/neo.tar.gz"}]}
    sm.update_model_package(ModelPackageArn=arn, AdditionalInferenceSpecificationsToAdd=[spec])
    with pytest.raises(ClientError) as caught:
        sm.update_model_package(ModelPackageArn=arn, AdditionalInferenceSpecificationsToAdd=[spec])
    assert "must be unique: inf2" in error_of(caught)["Message"]
    more = [{**spec, "Name": f"extra-{i}"} for i in range(14)]
    with pytest.raises(ClientError) as caught:
        sm.update_model_package(ModelPackageArn=arn, AdditionalInferenceSpecificationsToAdd=more[:1] + more)
    assert "at most 15" in error_of(caught)["Message"] or "unique" in error_of(caught)["Message"]
    sm.update_model_package(ModelPackageArn=arn, AdditionalInferenceSpecificationsToAdd=more)
    assert len(sm.describe_model_package(ModelPackageName=arn)["AdditionalInferenceSpecifications"]) == 15

    sm.update_model_package(ModelPackageArn=arn, SourceUri="s3://models/churn/model.tar.gz")
    new_spec = {**INFERENCE, "SupportedContentTypes": ["application/json"]}
    sm.update_model_package(ModelPackageArn=arn, InferenceSpecification=new_spec)
    described = sm.describe_model_package(ModelPackageName=arn)
    assert described["SourceUri"] == "s3://models/churn/model.tar.gz"
    assert described["InferenceSpecification"]["SupportedContentTypes"] == ["application/json"]


def test_embedded_model_card(sm):
    content = {"model_overview": {"model_creator": "retention team", "model_artifact": ["s3://models/churn/model.tar.gz"]},
               "intended_uses": {"purpose_of_model": "Churn propensity"}}
    arn = register(sm, new_group(sm), ModelCard={"ModelCardContent": json.dumps(content), "ModelCardStatus": "Draft"})
    described = sm.describe_model_package(ModelPackageName=arn)
    assert json.loads(described["ModelCard"]["ModelCardContent"]) == content
    assert described["ModelCard"]["ModelCardStatus"] == "Draft"

    metadata_only = sm.describe_model_package(ModelPackageName=arn, IncludedData="MetadataOnly")
    assert metadata_only["ModelCard"] == {"ModelCardStatus": "Draft"}

    sm.update_model_package(ModelPackageArn=arn, ModelCard={"ModelCardStatus": "Archived"})
    card = sm.describe_model_package(ModelPackageName=arn)["ModelCard"]
    assert card["ModelCardStatus"] == "Archived" and json.loads(card["ModelCardContent"]) == content
    with pytest.raises(ClientError) as caught:
        sm.update_model_package(ModelPackageArn=arn, ModelCard={"ModelCardContent": json.dumps({"intended_uses": {}})})
    assert error_of(caught)["Message"] == "Model Card is in Archived state"

    for bad, says in (("not json", "not valid JSON"),
                      (json.dumps({"model_package_details": {}}), "model_package_details"),
                      (json.dumps({"model_overview": {"model_name": "x"}}), "model_name")):
        with pytest.raises(ClientError) as caught:
            register(sm, new_group(sm), ModelCard={"ModelCardContent": bad, "ModelCardStatus": "Draft"})
        assert says in error_of(caught)["Message"]


# --- batch describe, list ---------------------------------------------------------


def test_batch_describe_reports_missing_and_unversioned_packages(sm):
    group = new_group(sm)
    first, second = register(sm, group), register(sm, group, ModelApprovalStatus="Approved")
    missing = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/{group}/99"
    unversioned = sm.create_model_package(ModelPackageName=unique("solo"), InferenceSpecification=INFERENCE)["ModelPackageArn"]
    answer = sm.batch_describe_model_package(ModelPackageArnList=[first, missing, second, unversioned])
    summaries = answer["ModelPackageSummaries"]
    assert set(summaries) == {first, second}
    assert summaries[second]["ModelApprovalStatus"] == "Approved"
    assert summaries[first]["ModelPackageVersion"] == 1
    assert summaries[first]["ModelPackageGroupName"] == group
    assert summaries[first]["InferenceSpecification"] == INFERENCE
    assert summaries[first]["ModelPackageStatus"] == "Completed"
    errors = answer["BatchDescribeModelPackageErrorMap"]
    assert set(errors) == {missing, unversioned}
    assert errors[missing]["ErrorCode"] == "ValidationException"
    assert "does not exist" in errors[missing]["ErrorResponse"]
    assert "not a versioned" in errors[unversioned]["ErrorResponse"]


def test_list_versions_with_filters_and_pagination(sm):
    group = new_group(sm)
    arns = [register(sm, group) for _ in range(12)]
    approved = arns[1::3]  # versions 2, 5, 8, 11
    for arn in approved:
        sm.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")
    sm.update_model_package(ModelPackageArn=arns[0], ModelApprovalStatus="Rejected")

    paginator = sm.get_paginator("list_model_packages")
    pages = list(paginator.paginate(ModelPackageGroupName=group, PaginationConfig={"PageSize": 5}))
    assert [len(p["ModelPackageSummaryList"]) for p in pages] == [5, 5, 2]
    listed = [s["ModelPackageVersion"] for p in pages for s in p["ModelPackageSummaryList"]]
    assert listed == list(range(1, 13))  # default: CreationTime, Ascending
    assert "NextToken" not in pages[-1]
    summary = pages[0]["ModelPackageSummaryList"][0]
    assert summary["ModelPackageArn"] == arns[0] and summary["ModelPackageGroupName"] == group
    assert summary["ModelPackageStatus"] == "Completed" and summary["ModelApprovalStatus"] == "Rejected"
    assert isinstance(summary["CreationTime"], dt.datetime)

    # Approval filter, walked in pages of 3: every approved version, once.
    pages = list(paginator.paginate(ModelPackageGroupName=group, ModelApprovalStatus="Approved",
                                    SortOrder="Descending", PaginationConfig={"PageSize": 3}))
    assert [s["ModelPackageArn"] for p in pages for s in p["ModelPackageSummaryList"]] == approved[::-1]
    assert [len(p["ModelPackageSummaryList"]) for p in pages] == [3, 1]
    pending = sm.list_model_packages(ModelPackageGroupName=group, ModelApprovalStatus="PendingManualApproval", MaxResults=100)
    assert len(pending["ModelPackageSummaryList"]) == 7

    # The group may be named by ARN; a token is only good for the filters it was issued for.
    group_arn = sm.describe_model_package_group(ModelPackageGroupName=group)["ModelPackageGroupArn"]
    first = sm.list_model_packages(ModelPackageGroupName=group_arn, MaxResults=2)
    assert len(first["ModelPackageSummaryList"]) == 2
    with pytest.raises(ClientError) as caught:
        sm.list_model_packages(ModelPackageGroupName=group, ModelApprovalStatus="Approved", MaxResults=2,
                               NextToken=first["NextToken"])
    assert "different filters" in error_of(caught)["Message"]


def test_list_by_type_name_and_time(sm):
    tag = uuid.uuid4().hex[:8]
    group = f"typed-{tag}"
    sm.create_model_package_group(ModelPackageGroupName=group)
    versioned = register(sm, group)
    middle = dt.datetime.now(dt.timezone.utc)
    time.sleep(0.05)
    solo = sm.create_model_package(ModelPackageName=f"solo-{tag}", InferenceSpecification=INFERENCE)["ModelPackageArn"]

    def listed(**kwargs):
        return [s["ModelPackageArn"] for s in sm.list_model_packages(NameContains=tag, MaxResults=100, **kwargs)["ModelPackageSummaryList"]]

    assert listed() == [solo]  # ModelPackageType defaults to Unversioned
    assert listed(ModelPackageType="Versioned") == [versioned]
    assert listed(ModelPackageType="Both") == [versioned, solo]
    assert listed(ModelPackageType="Both", SortBy="Name", SortOrder="Descending") == [versioned, solo]
    assert listed(ModelPackageType="Both", CreationTimeAfter=middle) == [solo]
    assert listed(ModelPackageType="Both", CreationTimeBefore=middle) == [versioned]
    assert sm.list_model_packages(ModelPackageGroupName=group, ModelPackageType="Unversioned")["ModelPackageSummaryList"] == []
    assert sm.list_model_packages(ModelPackageGroupName=unique("no-such-group"))["ModelPackageSummaryList"] == []


# --- groups: deletion, policies ------------------------------------------------------


def test_a_group_with_versions_cannot_be_deleted(sm):
    group = new_group(sm)
    arns = [register(sm, group) for _ in range(2)]
    with pytest.raises(ClientError) as caught:
        sm.delete_model_package_group(ModelPackageGroupName=group)
    assert error_of(caught)["Code"] == "ConflictException"
    assert isinstance(caught.value, sm.exceptions.ConflictException)
    for arn in arns:
        sm.delete_model_package(ModelPackageName=arn)
    sm.delete_model_package_group(ModelPackageGroupName=group)
    with pytest.raises(ClientError):
        sm.describe_model_package_group(ModelPackageGroupName=group)


def test_group_policy_lets_another_user_describe_versions(charter, sm):
    group = unique("shared")
    sm.create_model_package_group(ModelPackageGroupName=group)
    arn = register(sm, group)
    name = unique("labeler")
    keys = user_keys(charter, name, "labeler")
    labeler = charter.client(keys["AccessKeyId"], keys["SecretAccessKey"])
    with pytest.raises(ClientError) as caught:
        labeler.describe_model_package(ModelPackageName=arn)
    assert error_of(caught)["Code"] == "AccessDeniedException"

    resource_policy = {
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "ShareVersions",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/{name}"},
            "Action": ["sagemaker:DescribeModelPackage"],
            "Resource": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/{group}/*",
        }],
    }
    answer = sm.put_model_package_group_policy(ModelPackageGroupName=group, ResourcePolicy=json.dumps(resource_policy))
    assert answer["ModelPackageGroupArn"].endswith(f":model-package-group/{group}")
    assert json.loads(sm.get_model_package_group_policy(ModelPackageGroupName=group)["ResourcePolicy"]) == resource_policy

    assert labeler.describe_model_package(ModelPackageName=arn)["ModelPackageArn"] == arn
    with pytest.raises(ClientError) as caught:  # the policy grants describing, nothing else
        labeler.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")
    assert error_of(caught)["Code"] == "AccessDeniedException"

    sm.delete_model_package_group_policy(ModelPackageGroupName=group)
    with pytest.raises(ClientError) as caught:
        labeler.describe_model_package(ModelPackageName=arn)
    assert error_of(caught)["Code"] == "AccessDeniedException"
    with pytest.raises(ClientError) as caught:
        sm.get_model_package_group_policy(ModelPackageGroupName=group)
    assert "no resource policy" in error_of(caught)["Message"]


def test_bad_group_policies_are_refused(sm):
    group = new_group(sm)
    bad_effect = {"Version": "2012-10-17", "Statement": [{"Effect": "Perhaps", "Principal": "*",
                                                          "Action": "sagemaker:*", "Resource": "*"}]}
    identity_style = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sagemaker:*", "Resource": "*"}]}
    for document, says in ((bad_effect, "Effect"), (identity_style, "Principal"), ("{not json", "Syntax")):
        text = document if isinstance(document, str) else json.dumps(document)
        with pytest.raises(ClientError) as caught:
            sm.put_model_package_group_policy(ModelPackageGroupName=group, ResourcePolicy=text)
        error = error_of(caught)
        assert error["Code"] == "ValidationException"
        assert "MalformedPolicyDocument" in error["Message"] and says in error["Message"]
    with pytest.raises(ClientError) as caught:
        sm.put_model_package_group_policy(ModelPackageGroupName=unique("nogroup"), ResourcePolicy=json.dumps(identity_style))
    assert "does not exist" in error_of(caught)["Message"]


# --- who may approve ----------------------------------------------------------------


def test_only_mlops_engineers_approve(charter, sm):
    group = new_group(sm)
    scientist = charter.create_user(unique("ds"), "data-scientist")
    arn = scientist.create_model_package(ModelPackageGroupName=group, InferenceSpecification=INFERENCE)["ModelPackageArn"]
    assert scientist.describe_model_package(ModelPackageName=arn)["ModelApprovalStatus"] == "PendingManualApproval"
    with pytest.raises(ClientError) as caught:
        scientist.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")
    error = error_of(caught)
    assert error["Code"] == "AccessDeniedException"
    assert "sagemaker:UpdateModelPackage" in error["Message"] and arn in error["Message"]

    mlops = charter.create_user(unique("ops"), "mlops-engineer")
    mlops.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")
    assert scientist.describe_model_package(ModelPackageName=arn)["ModelApprovalStatus"] == "Approved"


def test_a_condition_on_the_approval_status_restricts_who_approves(charter, sm, tmp_path):
    group = new_group(sm)
    first, second = register(sm, group), register(sm, group)
    name = unique("reviewer")
    keys = user_keys(charter, name, "labeler")
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "sagemaker:DescribeModelPackage",
             "Resource": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/*"},
            {"Effect": "Allow", "Action": "sagemaker:UpdateModelPackage",
             "Resource": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/*",
             "Condition": {"StringNotEquals": {"sagemaker:ModelApprovalStatus": "Approved"}}},
        ],
    }
    path = tmp_path / "may-not-approve.json"
    path.write_text(json.dumps(document))
    charter.cli("iam", "attach-policy", name, str(path))
    reviewer = charter.client(keys["AccessKeyId"], keys["SecretAccessKey"])

    with pytest.raises(ClientError) as caught:
        reviewer.update_model_package(ModelPackageArn=first, ModelApprovalStatus="Approved")
    assert error_of(caught)["Code"] == "AccessDeniedException"
    reviewer.update_model_package(ModelPackageArn=first, ModelApprovalStatus="Rejected", ApprovalDescription="bias")
    reviewer.update_model_package(ModelPackageArn=second, CustomerMetadataProperties={"reviewed": "yes"})
    assert sm.describe_model_package(ModelPackageName=first)["ModelApprovalStatus"] == "Rejected"
    assert sm.describe_model_package(ModelPackageName=second)["ModelApprovalStatus"] == "PendingManualApproval"


def test_batch_describe_leaves_out_what_the_caller_may_not_see(charter, sm, tmp_path):
    visible_group, hidden_group = new_group(sm, "visible"), new_group(sm, "hidden")
    visible, hidden = register(sm, visible_group), register(sm, hidden_group)
    name = unique("partial")
    keys = user_keys(charter, name, "labeler")
    document = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["sagemaker:BatchDescribeModelPackage"],
         "Resource": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/{visible_group}/*"}]}
    path = tmp_path / "partial.json"
    path.write_text(json.dumps(document))
    charter.cli("iam", "attach-policy", name, str(path))
    partial = charter.client(keys["AccessKeyId"], keys["SecretAccessKey"])
    answer = partial.batch_describe_model_package(ModelPackageArnList=[visible, hidden])
    assert set(answer["ModelPackageSummaries"]) == {visible}
    assert answer["BatchDescribeModelPackageErrorMap"][hidden]["ErrorCode"] == "AccessDeniedException"


# --- events ----------------------------------------------------------------------------


def test_state_changes_are_recorded_as_events(charter, sm):
    group = new_group(sm)
    arn = register(sm, group, ModelMetrics=METRICS)
    sm.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved", ApprovalDescription="ok")
    sm.update_model_package(ModelPackageArn=arn, ApprovalDescription="no status change: no event")
    sm.update_model_package(ModelPackageArn=arn, ModelLifeCycle={"Stage": "Production", "StageStatus": "Approved"})
    sm.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Rejected")
    sm.delete_model_package(ModelPackageName=arn)

    events = events_for(charter, arn)
    assert [(e["detail"]["ModelPackageStatus"], e["detail"]["ModelApprovalStatus"]) for e in events] == [
        ("Completed", "PendingManualApproval"),
        ("Completed", "Approved"),
        ("Completed", "Approved"),
        ("Completed", "Rejected"),
        ("Deleting", "Rejected"),
    ]
    approved = events[1]
    assert approved["detail-type"] == "SageMaker Model Package State Change"
    assert approved["source"] == "aws.sagemaker"
    assert approved["account"] == ACCOUNT and approved["region"] == REGION
    assert approved["resources"] == [arn]
    detail = approved["detail"]
    assert detail["ModelPackageGroupName"] == group and detail["ModelPackageVersion"] == 1
    assert detail["ModelPackageArn"] == arn and detail["ApprovalDescription"] == "ok"
    assert detail["ModelMetrics"] == METRICS
    assert dt.datetime.strptime(detail["CreationTime"], "%Y-%m-%dT%H:%M:%SZ")
    assert dt.datetime.strptime(detail["LastModifiedTime"], "%Y-%m-%dT%H:%M:%SZ")
    assert "_charter" not in detail
    assert events[2]["detail"]["ModelLifeCycle"] == {"Stage": "Production", "StageStatus": "Approved"}


# --- concurrency -------------------------------------------------------------------------


def test_32_concurrent_registrations_get_versions_1_to_32(charter, sm):
    group = new_group(sm, "race")
    clients = [charter.client() for _ in range(32)]
    barrier = threading.Barrier(32)
    results: list = [None] * 32

    def register_one(index: int) -> None:
        barrier.wait()
        try:
            results[index] = register(clients[index], group)
        except Exception as exc:  # reported below
            results[index] = exc

    threads = [threading.Thread(target=register_one, args=(i,)) for i in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    failures = [r for r in results if not isinstance(r, str)]
    assert not failures, failures
    versions = sorted(int(arn.rsplit("/", 1)[1]) for arn in results)
    assert versions == list(range(1, 33))
    listed = [s["ModelPackageVersion"] for p in sm.get_paginator("list_model_packages").paginate(ModelPackageGroupName=group)
              for s in p["ModelPackageSummaryList"]]
    assert sorted(listed) == list(range(1, 33))


def test_a_taken_version_number_is_retried_in_the_same_transaction(tmp_path, database_url_factory):
    """The unique (group, version) index is the last word: a collision is retried, not fatal.

    A row of another type holds (group, 1), invisible to the count of versions
    but not to the index, so the first insert collides; its savepoint rolls
    back and the transaction goes on to number the package 2.
    """
    from charter.services import Call, load_all
    from charter.store import resources as store

    instance = Instance.from_env(home=str(tmp_path), database_url=database_url_factory())
    handlers = load_all()
    try:
        with instance.transaction() as conn:
            call = Call(account=ACCOUNT, region=REGION, principal_arn=f"arn:aws:iam::{ACCOUNT}:user/admin",
                        user_name="admin", request_id="test", conn=conn, codec=instance.codec)
            handlers["CreateModelPackageGroup"].handler(call, {"ModelPackageGroupName": "contested"})
            group_arn = call.arn("model-package-group", "contested")
            store.create(conn, arn=f"{group_arn}/placeholder", account=ACCOUNT, region=REGION, resource_type="placeholder",
                         name="placeholder", parent=group_arn, version=1, document={})
            created = handlers["CreateModelPackage"].handler(
                call, {"ModelPackageGroupName": "contested", "InferenceSpecification": INFERENCE})
        assert created["ModelPackageArn"].endswith("model-package/contested/2")
        with instance.transaction(write=False) as conn:
            assert store.get(conn, created["ModelPackageArn"]).version == 2
    finally:
        instance.close()
