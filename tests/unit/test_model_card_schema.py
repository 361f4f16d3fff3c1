"""The shipped model card content schema, content validation, and filling a card from the registry."""

from __future__ import annotations

import copy
import json
from importlib import resources

import jsonschema
import pytest

from charter.errors import ValidationException
from charter.services import model_cards

PACKAGE_ARN = "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn-models/3"
ALGORITHM_ARN = "arn:aws:sagemaker:us-east-1:123456789012:algorithm/xgb-algo"
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
ARTIFACT = "s3://models/churn/7/model.tar.gz"

RICH_CONTENT = {
    "model_overview": {
        "model_id": "arn:aws:sagemaker:us-east-1:123456789012:model/churn-xgb-7",
        "model_name": "churn-xgb",
        "model_description": "Gradient-boosted trees that score monthly churn risk.",
        "model_version": 7,
        "problem_type": "Binary Classification",
        "algorithm_type": "XGBoost",
        "model_creator": "Retention analytics",
        "model_owner": "ml-platform@example.com",
        "model_artifact": [ARTIFACT],
        "inference_environment": {"container_image": [IMAGE]},
    },
    "intended_uses": {
        "purpose_of_model": "Rank subscribers by churn risk for the retention team.",
        "intended_uses": "Weekly batch scoring.",
        "factors_affecting_model_efficiency": "Pricing changes shift the feature distribution.",
        "risk_rating": "Medium",
        "explanations_for_risk_rating": "Informs outreach; a person decides every offer.",
    },
    "business_details": {
        "business_problem": "Reduce churn within the retention budget.",
        "business_stakeholders": "Retention, finance",
        "line_of_business": "Consumer subscriptions",
    },
    "training_details": {
        "objective_function": {
            "function": {"function": "Minimize", "facet": "Loss", "condition": "logloss below 0.3"},
            "notes": "binary:logistic",
        },
        "training_observations": "Converged after 180 rounds.",
        "training_job_details": {
            "training_arn": "arn:aws:sagemaker:us-east-1:123456789012:training-job/churn-xgb-7",
            "training_datasets": ["s3://data/churn/train.csv"],
            "training_environment": {"container_image": [IMAGE]},
            "training_metrics": [{"name": "validation:logloss", "value": 0.27, "notes": "final round"}],
            "user_provided_training_metrics": [{"name": "holdout:auc", "value": 0.91}],
            "hyper_parameters": [{"name": "max_depth", "value": "6"}, {"name": "eta", "value": "0.2"}],
            "user_provided_hyper_parameters": [{"name": "seed", "value": "42"}],
        },
    },
    "evaluation_details": [
        {
            "name": "holdout-2024-06",
            "evaluation_observation": "Stable across regions.",
            "evaluation_job_arn": "arn:aws:sagemaker:us-east-1:123456789012:processing-job/churn-eval-7",
            "datasets": ["s3://data/churn/holdout.csv"],
            "metadata": {"evaluated_by": "qa-team", "split": "time-based"},
            "metric_groups": [
                {
                    "name": "binary classification",
                    "metric_data": [
                        {"name": "auc", "type": "number", "value": 0.91, "notes": "holdout"},
                        {"name": "threshold policy", "type": "string", "value": "top decile"},
                        {"name": "passes fairness gate", "type": "boolean", "value": True},
                        {
                            "name": "roc",
                            "type": "linear_graph",
                            "value": [[0.0, 0.0], [0.1, 0.55], [0.3, 0.82], [1.0, 1.0]],
                            "x_axis_name": "false positive rate",
                            "y_axis_name": "true positive rate",
                        },
                        {
                            "name": "feature importance",
                            "type": "bar_chart",
                            "value": [0.42, 0.31, 0.17],
                            "x_axis_name": ["tenure", "monthly_charges", "support_calls"],
                            "y_axis_name": "gain",
                        },
                        {
                            "name": "confusion matrix",
                            "type": "matrix",
                            "value": [[812, 41], [63, 284]],
                            "x_axis_name": ["predicted stay", "predicted churn"],
                            "y_axis_name": ["actual stay", "actual churn"],
                        },
                    ],
                }
            ],
        }
    ],
    "additional_information": {
        "ethical_considerations": "Check disparity across age bands each release.",
        "caveats_and_recommendations": "Retrain after pricing changes.",
        "custom_details": {"ticket": "GOV-1234", "review_board": "2024-07"},
    },
    "model_package_details": {
        "model_package_arn": PACKAGE_ARN,
        "model_package_group_name": "churn-models",
        "model_package_version": 3,
        "model_approval_status": "PendingManualApproval",
        "model_package_status": "Completed",
    },
}

# A DescribeModelPackage document as the registry stores it (epoch-second times).
PACKAGE = {
    "ModelPackageName": "churn-models",
    "ModelPackageGroupName": "churn-models",
    "ModelPackageVersion": 3,
    "ModelPackageArn": PACKAGE_ARN,
    "ModelPackageDescription": "XGBoost churn model trained on June data",
    "CreationTime": 1718000000.0,
    "InferenceSpecification": {
        "Containers": [
            {
                "Image": IMAGE,
                "ImageDigest": "sha256:" + "ab" * 32,
                "ModelDataUrl": ARTIFACT,
                "NearestModelName": "xgboost",
                "Framework": "XGBOOST",
                "FrameworkVersion": "1.7",
            }
        ],
        "SupportedContentTypes": ["text/csv"],
        "SupportedResponseMIMETypes": ["text/csv"],
        "SupportedRealtimeInferenceInstanceTypes": ["ml.m5.large"],
        "SupportedTransformInstanceTypes": ["ml.m5.large"],
    },
    "SourceAlgorithmSpecification": {
        "SourceAlgorithms": [
            {"AlgorithmName": ALGORITHM_ARN, "ModelDataUrl": ARTIFACT}
        ]
    },
    "ModelPackageStatus": "Completed",
    "ModelPackageStatusDetails": {"ValidationStatuses": [], "ImageScanStatuses": []},
    "CertifyForMarketplace": False,
    "ModelApprovalStatus": "Approved",
    "ApprovalDescription": "Passed the June review.",
    "CreatedBy": {
        "UserProfileName": "dana",
        "IamIdentity": {"Arn": "arn:aws:iam::123456789012:user/dana", "PrincipalId": "dana"},
    },
    "ModelMetrics": {
        "ModelQuality": {
            "Statistics": {"ContentType": "application/json", "S3Uri": "s3://reports/churn/7/quality.json"}
        }
    },
    "Domain": "MACHINE_LEARNING",
    "Task": "CLASSIFICATION",
    "LastModifiedTime": 1718100000.0,
}

# A DescribeTrainingJob document for the job that produced the package's artifact.
TRAINING_JOB = {
    "TrainingJobName": "churn-xgb-7",
    "TrainingJobArn": "arn:aws:sagemaker:us-east-1:123456789012:training-job/churn-xgb-7",
    "ModelArtifacts": {"S3ModelArtifacts": ARTIFACT},
    "TrainingJobStatus": "Completed",
    "HyperParameters": {"max_depth": "6", "eta": "0.2", "objective": "binary:logistic", "empty": ""},
    "AlgorithmSpecification": {
        "TrainingImage": IMAGE,
        "TrainingInputMode": "File",
    },
    "RoleArn": "arn:aws:iam::123456789012:role/sagemaker",
    "InputDataConfig": [
        {
            "ChannelName": channel,
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://data/churn/{channel}/"}},
        }
        for channel in ("train", "validation")
    ],
    "FinalMetricDataList": [
        {"MetricName": "validation:logloss", "Value": 0.27, "Timestamp": 1717990000.0},
        {"MetricName": "train:logloss", "Value": float("nan"), "Timestamp": 1717990000.0},
    ],
}


def test_shipped_schema_is_valid_draft_7_package_data():
    text = resources.files("charter.services").joinpath("schemas/model_card.json").read_text()
    schema = json.loads(text)
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    jsonschema.Draft7Validator.check_schema(schema)
    assert set(schema["properties"]) == {
        "model_overview",
        "model_package_details",
        "intended_uses",
        "business_details",
        "training_details",
        "evaluation_details",
        "additional_information",
    }
    assert schema["definitions"]["risk_rating"]["enum"] == ["High", "Medium", "Low", "Unknown"]
    assert model_cards.content_schema() == schema


def test_rich_example_validates():
    assert model_cards.content_errors(RICH_CONTENT) == []
    assert model_cards.content_errors({}) == []


def _bad(mutate):
    content = copy.deepcopy(RICH_CONTENT)
    mutate(content)
    return content


DROP = object()


def _changed(where: str, value) -> dict:
    """RICH_CONTENT with the value at ``where`` (dotted keys, numbers index lists) replaced or dropped."""
    content = copy.deepcopy(RICH_CONTENT)
    *parents, last = [int(p) if p.isdigit() else p for p in where.split(".")]
    target = content
    for key in parents:
        target = target[key]
    if value is DROP:
        del target[last]
    else:
        target[last] = value
    return content


METRIC = "$.evaluation_details[0].metric_groups[0].metric_data"
METRICS = "evaluation_details.0.metric_groups.0.metric_data"
JOB = "training_details.training_job_details"


def _metric(index):
    return lambda c: c["evaluation_details"][0]["metric_groups"][0]["metric_data"][index]


# (what to change, the new value or DROP, the JSON path the first error names, part of its message)
BAD_CONTENT = [
    ("intended_uses.risk_rating", "Very High", "$.intended_uses.risk_rating",
     "'Very High' is not one of ['High', 'Medium', 'Low', 'Unknown']"),
    ("model_summary", {}, "$", "'model_summary' was unexpected"),
    ("business_details.business_problem", "x" * 2049, "$.business_details.business_problem", "...' is too long"),
    ("model_overview.model_version", 0, "$.model_overview.model_version", "less than the minimum of 1"),
    ("model_overview.model_artifact", ["s3://a"] * 16, "$.model_overview.model_artifact", "is too long"),
    ("training_details.objective_function.function.function", "Maximise",
     "$.training_details.objective_function.function.function", "is not one of ['Maximize', 'Minimize']"),
    (f"{JOB}.training_metrics.0.value", "0.27", f"$.{JOB}.training_metrics[0].value", "is not of type 'number'"),
    (f"{JOB}.hyper_parameters.0.value", DROP, f"$.{JOB}.hyper_parameters[0]", "'value' is a required property"),
    ("evaluation_details.0.name", DROP, "$.evaluation_details[0]", "'name' is a required property"),
    ("evaluation_details.0.metric_groups.0.metric_data", DROP, "$.evaluation_details[0].metric_groups[0]",
     "'metric_data' is a required property"),
    (f"{METRICS}.0.value", "high", f"{METRIC}[0].value", "'high' is not of type 'number'"),
    (f"{METRICS}.1.value", "y" * 64, f"{METRIC}[1].value", "is too long"),
    (f"{METRICS}.2.value", "true", f"{METRIC}[2].value", "'true' is not of type 'boolean'"),
    (f"{METRICS}.3.value", [[0.0, 0.0, 1.0]], f"{METRIC}[3].value[0]", "is too long"),
    (f"{METRICS}.4.x_axis_name", "tenure", f"{METRIC}[4].x_axis_name", "'tenure' is not of type 'array'"),
    (f"{METRICS}.5.value", [[1] * 21], f"{METRIC}[5].value[0]", "is too long"),
    (f"{METRICS}.5.type", "heatmap", f"{METRIC}[5].type", "'heatmap' is not one of"),
    (f"{METRICS}.0.type", DROP, f"{METRIC}[0]", "'type' is a required property"),
    ("additional_information.custom_details.--", "x", "$.additional_information.custom_details",
     "'--' does not match any of the regexes"),
    ("model_package_details.model_approval_status", "Pending", "$.model_package_details.model_approval_status",
     "is not one of ['Approved', 'Rejected', 'PendingManualApproval']"),
    ("model_package_details.source_algorithms", [{"algorithm_name": "a"}, {"algorithm_name": "b"}],
     "$.model_package_details.source_algorithms", "is too long"),
]


def test_an_empty_source_algorithms_list_is_accepted():
    # The SageMaker Python SDK's ModelCard(model_package_details=...) sends [] for a package
    # registered without SourceAlgorithmSpecification (most are), and SageMaker accepts it.
    assert model_cards.content_errors(_changed("model_package_details.source_algorithms", [])) == []


@pytest.mark.parametrize(("where", "value", "path", "fragment"), BAD_CONTENT, ids=[case[0] for case in BAD_CONTENT])
def test_bad_content_names_the_json_path(where, value, path, fragment):
    errors = model_cards.content_errors(_changed(where, value))
    assert errors, "the change should break the schema"
    assert errors[0][0] == path, errors
    assert fragment in errors[0][1]


def test_validation_message_reports_the_first_errors_in_document_order():
    content = _bad(
        lambda c: (
            c["intended_uses"].update(risk_rating="Severe"),
            c["business_details"].update(line_of_business=5),
            _metric(0)(c).update(value="x"),
            _metric(2)(c).update(value="no"),
            c["model_overview"].update(model_version="seven"),
        )
    )
    with pytest.raises(ValidationException) as caught:
        model_cards.validate_content(content)
    message = caught.value.message
    assert message.startswith(
        "Model card content is invalid at $.business_details.line_of_business: 5 is not of type 'string'; "
        f"at {METRIC}[0].value: 'x' is not of type 'number'; "
        f"at {METRIC}[2].value: 'no' is not of type 'boolean'; and 2 more error(s)"
    )
    # The same content always yields the same message.
    with pytest.raises(ValidationException) as again:
        model_cards.validate_content(copy.deepcopy(content))
    assert again.value.message == message


def test_parse_content_refuses_bad_json_and_non_objects():
    with pytest.raises(ValidationException, match="not valid JSON"):
        model_cards.parse_content('{"intended_uses": ')
    with pytest.raises(ValidationException, match=r"invalid at \$: \[\] is not of type 'object'"):
        model_cards.parse_content("[]")
    assert model_cards.parse_content(json.dumps(RICH_CONTENT)) == RICH_CONTENT


def test_json_path_quotes_keys_that_are_not_identifiers():
    assert model_cards.json_path(["a", 0, "b c", "d"]) == '$.a[0]["b c"].d'
    assert model_cards.json_path([]) == "$"


def test_metadata_only_keeps_the_documented_fields():
    assert model_cards.metadata_only(RICH_CONTENT) == {
        "model_overview": {"model_id": RICH_CONTENT["model_overview"]["model_id"], "model_name": "churn-xgb"},
        "intended_uses": {"risk_rating": "Medium"},
        "model_package_details": {"model_package_group_name": "churn-models", "model_package_arn": PACKAGE_ARN},
    }
    assert model_cards.metadata_only({"business_details": {"business_problem": "x"}}) == {}


def test_model_package_details_from_describe_model_package():
    details = model_cards.model_package_details(PACKAGE)
    assert details == {
        "model_package_arn": PACKAGE_ARN,
        "model_package_name": "churn-models",
        "model_package_group_name": "churn-models",
        "model_package_version": 3,
        "model_package_description": "XGBoost churn model trained on June data",
        "model_package_status": "Completed",
        "model_approval_status": "Approved",
        "approval_description": "Passed the June review.",
        "domain": "MACHINE_LEARNING",
        "task": "CLASSIFICATION",
        "created_by": {"user_profile_name": "dana"},
        "inference_specification": {
            "containers": [
                {
                    "image": IMAGE,
                    "model_data_url": ARTIFACT,
                    "nearest_model_name": "xgboost",
                }
            ]
        },
        "source_algorithms": [
            {"algorithm_name": ALGORITHM_ARN, "model_data_url": ARTIFACT}
        ],
    }
    assert model_cards.content_errors({"model_package_details": details}) == []
    assert model_cards.package_artifacts(PACKAGE) == [ARTIFACT]


def test_training_job_details_from_describe_training_job():
    details = model_cards.training_job_details(TRAINING_JOB)
    assert details == {
        "training_arn": TRAINING_JOB["TrainingJobArn"],
        "training_environment": {"container_image": [IMAGE]},
        "training_datasets": ["s3://data/churn/train/", "s3://data/churn/validation/"],
        # NaN is not a JSON number the schema accepts: it is left out.
        "training_metrics": [{"name": "validation:logloss", "value": 0.27}],
        # An empty hyperparameter value cannot be recorded (value needs 1 to 255 characters).
        "hyper_parameters": [
            {"name": "max_depth", "value": "6"},
            {"name": "eta", "value": "0.2"},
            {"name": "objective", "value": "binary:logistic"},
        ],
    }


def test_fill_from_registry_overrides_package_facts_and_adds_the_training_job():
    card = {
        "intended_uses": {"risk_rating": "Low"},
        "model_package_details": {
            "model_package_arn": PACKAGE_ARN,
            "model_approval_status": "Rejected",  # stale: the registry says Approved
            "model_package_description": "typed by hand",
        },
    }
    filled = model_cards.fill_from_registry(card, PACKAGE, TRAINING_JOB)
    assert filled["model_package_details"]["model_approval_status"] == "Approved"
    assert filled["model_package_details"]["model_package_description"] == "XGBoost churn model trained on June data"
    assert filled["model_package_details"]["model_package_version"] == 3
    assert filled["training_details"]["training_job_details"]["training_arn"] == TRAINING_JOB["TrainingJobArn"]
    assert filled["intended_uses"] == {"risk_rating": "Low"}
    assert card["model_package_details"]["model_approval_status"] == "Rejected", "the input is not modified"
    assert model_cards.content_errors(filled) == []

    # A card that already names its training job keeps it; a field the registry lacks keeps the card's value.
    own = copy.deepcopy(RICH_CONTENT)
    package = {k: v for k, v in PACKAGE.items() if k != "Task"}
    own["model_package_details"]["task"] = "FRAUD_DETECTION"
    kept = model_cards.fill_from_registry(own, package, TRAINING_JOB)
    assert kept["training_details"] == RICH_CONTENT["training_details"]
    assert kept["model_package_details"]["task"] == "FRAUD_DETECTION"
    assert model_cards.fill_from_registry(card, PACKAGE).get("training_details") is None


def test_status_moves():
    assert model_cards.ALLOWED_MOVES["Archived"] == ()
    for status in ("Draft", "PendingReview", "Approved"):
        assert set(model_cards.ALLOWED_MOVES[status]) == set(model_cards.STATUSES)
