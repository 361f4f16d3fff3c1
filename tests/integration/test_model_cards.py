"""Model cards through boto3, as a governance team would use them."""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid

import pytest
from botocore.exceptions import ClientError

ACCOUNT_PREFIX = "arn:aws:sagemaker:us-east-1:123456789012"
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def content(**overrides) -> dict:
    """A card filled in every section, with one metric of each type."""
    card = {
        "model_overview": {
            "model_id": f"{ACCOUNT_PREFIX}:model/churn-xgb-7",
            "model_name": "churn-xgb",
            "model_description": "Gradient-boosted trees that score monthly churn risk.",
            "model_version": 7,
            "problem_type": "Binary Classification",
            "algorithm_type": "XGBoost",
            "model_creator": "Retention analytics",
            "model_owner": "ml-platform@example.com",
            "model_artifact": ["s3://models/churn/7/model.tar.gz"],
            "inference_environment": {"container_image": [IMAGE]},
        },
        "intended_uses": {
            "purpose_of_model": "Rank subscribers by churn risk.",
            "intended_uses": "Weekly batch scoring for the retention team.",
            "factors_affecting_model_efficiency": "Pricing changes shift the features.",
            "risk_rating": "Medium",
            "explanations_for_risk_rating": "Informs outreach; a person decides every offer.",
        },
        "business_details": {
            "business_problem": "Reduce churn within the retention budget.",
            "business_stakeholders": "Retention, finance",
            "line_of_business": "Consumer subscriptions",
        },
        "training_details": {
            "objective_function": {"function": {"function": "Minimize", "facet": "Loss"}, "notes": "binary:logistic"},
            "training_observations": "Converged after 180 rounds.",
            "training_job_details": {
                "training_arn": f"{ACCOUNT_PREFIX}:training-job/churn-xgb-7",
                "training_datasets": ["s3://data/churn/train.csv"],
                "training_metrics": [{"name": "validation:logloss", "value": 0.27}],
                "hyper_parameters": [{"name": "max_depth", "value": "6"}],
            },
        },
        "evaluation_details": [
            {
                "name": "holdout-2024-06",
                "evaluation_observation": "Stable across regions.",
                "datasets": ["s3://data/churn/holdout.csv"],
                "metadata": {"evaluated_by": "qa-team"},
                "metric_groups": [
                    {
                        "name": "binary classification",
                        "metric_data": [
                            {"name": "auc", "type": "number", "value": 0.91},
                            {"name": "threshold policy", "type": "string", "value": "top decile"},
                            {"name": "passes fairness gate", "type": "boolean", "value": True},
                            {
                                "name": "roc",
                                "type": "linear_graph",
                                "value": [[0, 0], [0.1, 0.55], [1, 1]],
                                "x_axis_name": "fpr",
                                "y_axis_name": "tpr",
                            },
                            {
                                "name": "importance",
                                "type": "bar_chart",
                                "value": [0.42, 0.31],
                                "x_axis_name": ["tenure", "charges"],
                                "y_axis_name": "gain",
                            },
                            {
                                "name": "confusion",
                                "type": "matrix",
                                "value": [[812, 41], [63, 284]],
                                "x_axis_name": ["stay", "churn"],
                                "y_axis_name": ["stay", "churn"],
                            },
                        ],
                    }
                ],
            }
        ],
        "additional_information": {
            "ethical_considerations": "Check disparity across age bands.",
            "caveats_and_recommendations": "Retrain after pricing changes.",
            "custom_details": {"ticket": "GOV-1234"},
        },
    }
    card.update(overrides)
    return card


def error_of(caught) -> dict:
    return caught.value.response["Error"]


def test_create_and_describe_a_rich_card(sm):
    name = unique("churn-card")
    document = content()
    arn = sm.create_model_card(
        ModelCardName=name,
        Content=json.dumps(document),
        ModelCardStatus="Draft",
        SecurityConfig={"KmsKeyId": "alias/model-cards"},
        Tags=[{"Key": "team", "Value": "retention"}],
    )["ModelCardArn"]
    assert arn == f"{ACCOUNT_PREFIX}:model-card/{name}"

    described = sm.describe_model_card(ModelCardName=name)
    assert described["ModelCardArn"] == arn
    assert described["ModelCardName"] == name
    assert described["ModelCardVersion"] == 1
    assert described["ModelCardStatus"] == "Draft"
    assert json.loads(described["Content"]) == document
    assert described["SecurityConfig"] == {"KmsKeyId": "alias/model-cards"}
    # No Studio user profile made the call, and a model card carries no IamIdentity (UserContext's documentation).
    assert described["CreatedBy"] == {} and described["LastModifiedBy"] == {}
    assert isinstance(described["CreationTime"], dt.datetime)
    assert abs(described["CreationTime"].timestamp() - time.time()) < 60
    assert described["LastModifiedTime"] == described["CreationTime"]
    assert "ModelCardProcessingStatus" not in described  # only reported while a deletion runs

    # The ARN works wherever the model says NameOrArn; tags landed on the card.
    assert sm.describe_model_card(ModelCardName=arn)["ModelCardName"] == name
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "retention"}]

    # MetadataOnly strips everything but the documented metadata fields.
    slim = json.loads(sm.describe_model_card(ModelCardName=name, IncludedData="MetadataOnly")["Content"])
    assert slim == {
        "model_overview": {"model_id": document["model_overview"]["model_id"], "model_name": "churn-xgb"},
        "intended_uses": {"risk_rating": "Medium"},
    }


def test_updates_make_versions_and_old_versions_stay_readable(sm):
    name = unique("versions")
    first = content()
    sm.create_model_card(ModelCardName=name, Content=json.dumps(first), ModelCardStatus="Draft")
    created = sm.describe_model_card(ModelCardName=name)
    time.sleep(0.005)  # versions a few milliseconds apart, as the wire rounds times to milliseconds

    second = content(intended_uses={"risk_rating": "High", "explanations_for_risk_rating": "Now automates offers."})
    sm.update_model_card(ModelCardName=name, Content=json.dumps(second))
    sm.update_model_card(ModelCardName=name, ModelCardStatus="PendingReview")

    latest = sm.describe_model_card(ModelCardName=name)
    assert latest["ModelCardVersion"] == 3
    assert latest["ModelCardStatus"] == "PendingReview"
    assert json.loads(latest["Content"]) == second
    assert latest["CreationTime"] == created["CreationTime"]
    assert latest["LastModifiedTime"] > created["LastModifiedTime"]

    v1 = sm.describe_model_card(ModelCardName=name, ModelCardVersion=1)
    assert (v1["ModelCardVersion"], v1["ModelCardStatus"]) == (1, "Draft")
    assert json.loads(v1["Content"]) == first
    v2 = sm.describe_model_card(ModelCardName=name, ModelCardVersion=2)
    assert (v2["ModelCardVersion"], v2["ModelCardStatus"]) == (2, "Draft")
    assert json.loads(v2["Content"]) == second
    assert sm.describe_model_card(ModelCardName=name, ModelCardVersion=3)["ModelCardStatus"] == "PendingReview"

    with pytest.raises(sm.exceptions.ResourceNotFound) as caught:
        sm.describe_model_card(ModelCardName=name, ModelCardVersion=4)
    assert "no version 4" in error_of(caught)["Message"]

    # ListModelCardVersions: newest first by default, filters, pagination.
    listed = sm.list_model_card_versions(ModelCardName=name)["ModelCardVersionSummaryList"]
    assert [(s["ModelCardVersion"], s["ModelCardStatus"]) for s in listed] == [(3, "PendingReview"), (2, "Draft"), (1, "Draft")]
    assert all(s["ModelCardName"] == name and s["ModelCardArn"] == latest["ModelCardArn"] for s in listed)
    assert all(isinstance(s["CreationTime"], dt.datetime) for s in listed)
    drafts = sm.list_model_card_versions(ModelCardName=name, ModelCardStatus="Draft", SortBy="Version", SortOrder="Ascending")
    assert [s["ModelCardVersion"] for s in drafts["ModelCardVersionSummaryList"]] == [1, 2]
    between_1_and_2 = listed[2]["CreationTime"] + (listed[1]["CreationTime"] - listed[2]["CreationTime"]) / 2
    after_v1 = sm.list_model_card_versions(ModelCardName=name, CreationTimeAfter=between_1_and_2)
    assert [s["ModelCardVersion"] for s in after_v1["ModelCardVersionSummaryList"]] == [3, 2]

    pages = list(
        sm.get_paginator("list_model_card_versions").paginate(
            ModelCardName=latest["ModelCardArn"], SortOrder="Ascending", PaginationConfig={"PageSize": 2}
        )
    )
    assert [[s["ModelCardVersion"] for s in p["ModelCardVersionSummaryList"]] for p in pages] == [[1, 2], [3]]


def test_content_and_status_cannot_change_in_one_call(sm):
    name = unique("both")
    sm.create_model_card(ModelCardName=name, Content="{}", ModelCardStatus="Draft")
    with pytest.raises(ClientError) as caught:
        sm.update_model_card(ModelCardName=name, Content=json.dumps(content()), ModelCardStatus="Approved")
    assert error_of(caught)["Code"] == "ValidationException"
    assert "cannot update both model card content and model card status" in error_of(caught)["Message"]
    with pytest.raises(ClientError) as caught:
        sm.update_model_card(ModelCardName=name)
    assert error_of(caught)["Code"] == "ValidationException"
    assert sm.describe_model_card(ModelCardName=name)["ModelCardVersion"] == 1


def test_status_workflow_and_archived_cards_refuse_updates(sm):
    name = unique("workflow")
    sm.create_model_card(ModelCardName=name, Content=json.dumps(content()), ModelCardStatus="Draft")
    for status in ("PendingReview", "Draft", "PendingReview", "Approved"):
        sm.update_model_card(ModelCardName=name, ModelCardStatus=status)
        assert sm.describe_model_card(ModelCardName=name)["ModelCardStatus"] == status
    # An approved card's content can still be revised (a new version, still Approved).
    sm.update_model_card(ModelCardName=name, Content=json.dumps(content(business_details={"line_of_business": "B2B"})))
    revised = sm.describe_model_card(ModelCardName=name)
    assert (revised["ModelCardVersion"], revised["ModelCardStatus"]) == (6, "Approved")

    sm.update_model_card(ModelCardName=name, ModelCardStatus="Archived")
    archived = sm.describe_model_card(ModelCardName=name)
    assert (archived["ModelCardVersion"], archived["ModelCardStatus"]) == (7, "Archived")

    with pytest.raises(ClientError) as caught:
        sm.update_model_card(ModelCardName=name, Content=json.dumps(content()))
    assert error_of(caught)["Code"] == "ValidationException"
    assert error_of(caught)["Message"].startswith("Model Card is in Archived state")

    with pytest.raises(ClientError) as caught:
        sm.update_model_card(ModelCardName=name, ModelCardStatus="Draft")
    error = error_of(caught)
    assert error["Code"] == "ValidationException"
    assert "cannot move from Archived to Draft" in error["Message"]
    assert "Allowed moves from Archived: none" in error["Message"]

    # Nothing changed, every version is still readable, and the card can be deleted.
    assert sm.describe_model_card(ModelCardName=name)["ModelCardVersion"] == 7
    assert sm.describe_model_card(ModelCardName=name, ModelCardVersion=5)["ModelCardStatus"] == "Approved"
    sm.delete_model_card(ModelCardName=name)


def test_invalid_content_names_the_json_path(sm):
    name = unique("invalid")
    bad = content(intended_uses={"risk_rating": "Very High"})
    with pytest.raises(ClientError) as caught:
        sm.create_model_card(ModelCardName=name, Content=json.dumps(bad), ModelCardStatus="Draft")
    error = error_of(caught)
    assert error["Code"] == "ValidationException"
    assert error["Message"].startswith(
        "Model card content is invalid at $.intended_uses.risk_rating: "
        "'Very High' is not one of ['High', 'Medium', 'Low', 'Unknown']"
    )
    with pytest.raises(sm.exceptions.ResourceNotFound):
        sm.describe_model_card(ModelCardName=name)

    with pytest.raises(ClientError) as caught:
        sm.create_model_card(ModelCardName=name, Content='{"model_overview": ', ModelCardStatus="Draft")
    assert error_of(caught)["Code"] == "ValidationException"
    assert "not valid JSON" in error_of(caught)["Message"]

    # A bad update is refused and makes no version.
    sm.create_model_card(ModelCardName=name, Content=json.dumps(content()), ModelCardStatus="Draft")
    broken = content()
    broken["evaluation_details"][0]["metric_groups"][0]["metric_data"][0]["value"] = "0.91"
    broken["unexpected_section"] = {}
    with pytest.raises(ClientError) as caught:
        sm.update_model_card(ModelCardName=name, Content=json.dumps(broken))
    message = error_of(caught)["Message"]
    assert "at $: Additional properties are not allowed ('unexpected_section' was unexpected)" in message
    assert "at $.evaluation_details[0].metric_groups[0].metric_data[0].value: '0.91' is not of type 'number'" in message
    assert sm.describe_model_card(ModelCardName=name)["ModelCardVersion"] == 1


def test_duplicate_and_missing_cards(sm):
    name = unique("dup")
    sm.create_model_card(ModelCardName=name, Content="{}", ModelCardStatus="Draft")
    with pytest.raises(sm.exceptions.ConflictException) as caught:
        sm.create_model_card(ModelCardName=name, Content="{}", ModelCardStatus="Approved")
    assert "already exists" in error_of(caught)["Message"]
    assert sm.describe_model_card(ModelCardName=name)["ModelCardStatus"] == "Draft"

    missing = unique("missing")
    for call in (
        lambda: sm.describe_model_card(ModelCardName=missing),
        lambda: sm.update_model_card(ModelCardName=missing, ModelCardStatus="Approved"),
        lambda: sm.delete_model_card(ModelCardName=missing),
        lambda: sm.list_model_card_versions(ModelCardName=missing),
    ):
        with pytest.raises(sm.exceptions.ResourceNotFound) as caught:
            call()
        assert f"model-card/{missing}" in error_of(caught)["Message"]


def test_delete_removes_every_version(sm):
    name = unique("delete")
    sm.create_model_card(ModelCardName=name, Content="{}", ModelCardStatus="Draft")
    sm.update_model_card(ModelCardName=name, Content=json.dumps(content()))
    sm.update_model_card(ModelCardName=name, ModelCardStatus="Approved")
    sm.delete_model_card(ModelCardName=name)

    with pytest.raises(sm.exceptions.ResourceNotFound):
        sm.describe_model_card(ModelCardName=name)
    with pytest.raises(sm.exceptions.ResourceNotFound):
        sm.describe_model_card(ModelCardName=name, ModelCardVersion=2)
    assert name not in [s["ModelCardName"] for s in sm.list_model_cards(NameContains=name)["ModelCardSummaries"]]

    # The name is free again and the new card starts over at version 1.
    sm.create_model_card(ModelCardName=name, Content=json.dumps(content()), ModelCardStatus="PendingReview")
    sm.update_model_card(ModelCardName=name, ModelCardStatus="Approved")
    versions = sm.list_model_card_versions(ModelCardName=name)["ModelCardVersionSummaryList"]
    assert [(s["ModelCardVersion"], s["ModelCardStatus"]) for s in versions] == [(2, "Approved"), (1, "PendingReview")]
    with pytest.raises(sm.exceptions.ResourceNotFound):
        sm.describe_model_card(ModelCardName=name, ModelCardVersion=3)


def test_list_filters_sorting_and_pagination(sm):
    prefix = unique("listing")
    names = [f"{prefix}-{i:02d}" for i in range(9)]
    for i, name in enumerate(names):
        sm.create_model_card(ModelCardName=name, Content="{}", ModelCardStatus="Approved" if i % 3 == 0 else "Draft")
        time.sleep(0.005)  # distinct creation times even after the wire rounds them to milliseconds
    created = [sm.describe_model_card(ModelCardName=name)["CreationTime"] for name in names]

    paginator = sm.get_paginator("list_model_cards")
    seen = []
    for page in paginator.paginate(NameContains=prefix, SortBy="Name", SortOrder="Ascending", PaginationConfig={"PageSize": 4}):
        assert len(page["ModelCardSummaries"]) <= 4
        seen.extend(page["ModelCardSummaries"])
    assert [s["ModelCardName"] for s in seen] == names
    assert all(s["ModelCardArn"] == f"{ACCOUNT_PREFIX}:model-card/{s['ModelCardName']}" for s in seen)

    # Default order: newest first.
    newest = sm.list_model_cards(NameContains=prefix, MaxResults=3)
    assert [s["ModelCardName"] for s in newest["ModelCardSummaries"]] == names[::-1][:3]
    assert "NextToken" in newest

    approved = sm.list_model_cards(NameContains=prefix, ModelCardStatus="Approved", SortBy="Name", SortOrder="Ascending")
    assert [s["ModelCardName"] for s in approved["ModelCardSummaries"]] == names[0::3]
    assert {s["ModelCardStatus"] for s in approved["ModelCardSummaries"]} == {"Approved"}

    between_4_and_5 = created[4] + (created[5] - created[4]) / 2
    later = sm.list_model_cards(NameContains=prefix, CreationTimeAfter=between_4_and_5, SortBy="Name", SortOrder="Ascending", MaxResults=100)
    assert [s["ModelCardName"] for s in later["ModelCardSummaries"]] == names[5:]
    between_3_and_4 = created[3] + (created[4] - created[3]) / 2
    earlier = sm.list_model_cards(
        NameContains=prefix, CreationTimeBefore=between_3_and_4, SortBy="CreationTime", SortOrder="Ascending", MaxResults=100
    )
    assert [s["ModelCardName"] for s in earlier["ModelCardSummaries"]] == names[:4]
    window = sm.list_model_cards(NameContains=prefix, CreationTimeAfter=between_3_and_4, CreationTimeBefore=between_4_and_5)
    assert [s["ModelCardName"] for s in window["ModelCardSummaries"]] == [names[4]]

    # A status change shows in the list; versions never appear as cards.
    sm.update_model_card(ModelCardName=names[1], ModelCardStatus="Approved")
    approved = sm.list_model_cards(NameContains=prefix, ModelCardStatus="Approved", MaxResults=100)
    assert sorted(s["ModelCardName"] for s in approved["ModelCardSummaries"]) == sorted([names[0], names[1], names[3], names[6]])
    assert len(sm.list_model_cards(NameContains=prefix, MaxResults=100)["ModelCardSummaries"]) == 9


def test_content_naming_an_unknown_model_package_is_refused(sm):
    missing = f"{ACCOUNT_PREFIX}:model-package/{unique('nogroup')}/1"
    card = content(model_package_details={"model_package_arn": missing})
    with pytest.raises(ClientError) as caught:
        sm.create_model_card(ModelCardName=unique("pkg"), Content=json.dumps(card), ModelCardStatus="Draft")
    assert error_of(caught)["Code"] == "ValidationException"
    assert missing in error_of(caught)["Message"]
    assert "does not exist" in error_of(caught)["Message"]

    card = content(model_package_details={"model_package_arn": f"{ACCOUNT_PREFIX}:model/not-a-package"})
    with pytest.raises(ClientError) as caught:
        sm.create_model_card(ModelCardName=unique("pkg"), Content=json.dumps(card), ModelCardStatus="Draft")
    assert "is not a model package ARN" in error_of(caught)["Message"]


def test_card_for_a_registered_model_package_is_filled_from_the_registry(sm):
    group = unique("churn-models")
    sm.create_model_package_group(ModelPackageGroupName=group)
    try:
        package_arn = sm.create_model_package(
            ModelPackageGroupName=group,
            ModelPackageDescription="XGBoost churn model",
            ModelApprovalStatus="PendingManualApproval",
            InferenceSpecification={
                "Containers": [
                    {
                        "Image": IMAGE,
                        "ModelDataUrl": "s3://models/churn/7/model.tar.gz",
                    }
                ],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["text/csv"],
            },
        )["ModelPackageArn"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "UnsupportedOperation":
            pytest.skip("CreateModelPackage is not served yet")
        raise

    name = unique("package-card")
    card = content(model_package_details={"model_package_arn": package_arn})
    sm.create_model_card(ModelCardName=name, Content=json.dumps(card), ModelCardStatus="Draft")
    details = json.loads(sm.describe_model_card(ModelCardName=name)["Content"])["model_package_details"]
    assert details["model_package_arn"] == package_arn
    assert details["model_package_group_name"] == group
    assert details["model_package_version"] == 1
    assert details["model_package_description"] == "XGBoost churn model"
    assert details["model_approval_status"] == "PendingManualApproval"
    assert details["inference_specification"]["containers"][0]["model_data_url"] == "s3://models/churn/7/model.tar.gz"

    # Each content update records the registry as it is then.
    sm.update_model_package(ModelPackageArn=package_arn, ModelApprovalStatus="Approved")
    sm.update_model_card(ModelCardName=name, Content=json.dumps(card))
    details = json.loads(sm.describe_model_card(ModelCardName=name)["Content"])["model_package_details"]
    assert details["model_approval_status"] == "Approved"
    old = json.loads(sm.describe_model_card(ModelCardName=name, ModelCardVersion=1)["Content"])
    assert old["model_package_details"]["model_approval_status"] == "PendingManualApproval"


def test_personas_reach_cards_through_their_policies(charter, sm):
    scientist_name = unique("ds")
    scientist = charter.create_user(scientist_name, "data-scientist")
    auditor = charter.create_user(unique("audit"), "auditor")
    name = unique("persona-card")
    arn = scientist.create_model_card(ModelCardName=name, Content="{}", ModelCardStatus="Draft")["ModelCardArn"]
    scientist.update_model_card(ModelCardName=name, ModelCardStatus="PendingReview")
    described = sm.describe_model_card(ModelCardName=name)
    assert described["CreatedBy"] == {}  # a model card names no IAM identity (UserContext's documentation)

    assert auditor.describe_model_card(ModelCardName=arn, ModelCardVersion=1)["ModelCardStatus"] == "Draft"
    assert len(auditor.list_model_card_versions(ModelCardName=name)["ModelCardVersionSummaryList"]) == 2
    with pytest.raises(ClientError) as caught:
        auditor.update_model_card(ModelCardName=name, ModelCardStatus="Approved")
    error = error_of(caught)
    assert error["Code"] == "AccessDeniedException"
    assert f"sagemaker:UpdateModelCard on resource: {arn}" in error["Message"]
    assert sm.describe_model_card(ModelCardName=name)["ModelCardStatus"] == "PendingReview"
