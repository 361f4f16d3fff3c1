"""Demo step ``registry``: model package groups with versions in every approval state.

As a team works: the data scientist (``demo-data-scientist``) creates the groups and
registers each version, which starts ``PendingManualApproval``; the MLOps engineer
(``demo-mlops-engineer``), the persona allowed to approve, approves or rejects it with
a reason.  Every version carries ``ModelMetrics``: its evaluation on a holdout set in
the statistics format of SageMaker's model quality monitoring
(``binary_classification_metrics`` or ``regression_metrics``), written to the artifact
store and named by ``s3://`` URI.  Where the analyses step ran, the credit-risk
versions also name its Clarify report (``Bias``) and Model Monitor baseline
(``ModelDataQuality`` and ``DriftCheckBaselines``).

Images are the SageMaker images each algorithm runs in; the ``ModelDataUrl`` s are
where a training job would have put the model, and hold nothing yet.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import TAG, Step, Workspace

PENDING, APPROVED, REJECTED = "PendingManualApproval", "Approved", "Rejected"


@dataclass(frozen=True)
class Version:
    approval: str
    description: str  # the ModelPackageDescription: what this version is
    note: str  # the reviewer's ApprovalDescription (none while pending)
    counts: tuple[int, int, int, int] | None = None  # holdout TP, FN, FP, TN (classifiers)
    auc: float | None = None
    errors: tuple[float, float] | None = None  # holdout RMSE, MAE (forecasters)


@dataclass(frozen=True)
class Group:
    name: str
    description: str
    image: str  # the image, with {region} for the registry's region
    framework: str | None  # the container's Framework, where it names one
    content_type: str
    task: str
    versions: tuple[Version, ...]
    uses_credit_analyses: bool = False


GROUPS = (
    Group(
        "credit-risk",
        "Probability that a loan applicant repays; German credit data (1,000 applicants).",
        "683313688378.dkr.ecr.{region}.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3",
        "SKLEARN",
        "text/csv",
        "CLASSIFICATION",
        (
            Version(REJECTED, "Logistic regression baseline.",
                    "AUC 0.71 on the holdout is under the 0.75 the credit policy asks for.", (170, 40, 45, 45), 0.71),
            Version(APPROVED, "Gradient boosting on the same features.",
                    "AUC 0.80 meets the policy; pre-training bias reviewed in the Clarify report.", (185, 25, 38, 52), 0.80),
            Version(PENDING, "Gradient boosting retrained on the 2026 applications; awaiting the model risk review.",
                    "", (188, 22, 35, 55), 0.82),
        ),
        uses_credit_analyses=True,
    ),
    Group(
        "customer-churn",
        "Subscribers likely to cancel within 90 days, for the retention team's offers.",
        "683313688378.dkr.ecr.{region}.amazonaws.com/sagemaker-xgboost:1.7-1",
        "XGBOOST",
        "text/csv",
        "CLASSIFICATION",
        (
            Version(APPROVED, "XGBoost on usage and billing features.",
                    "Recall 0.82 at the agreed precision; shadow-tested for two weeks.", (410, 90, 120, 1380), 0.88),
            Version(PENDING, "Adds the support-ticket features; awaiting review.", "", (432, 68, 131, 1369), 0.90),
        ),
    ),
    Group(
        "demand-forecast",
        "Hourly electricity demand, 24 hours ahead, per substation (DeepAR).",
        "522234722520.dkr.ecr.{region}.amazonaws.com/forecasting-deepar:1",
        None,
        "application/jsonlines",
        "OTHER",
        (
            Version(APPROVED, "DeepAR, Gaussian likelihood, 7 days of context.",
                    "RMSE 41.2 MW beats the seasonal naive forecast by 18%.", errors=(41.2, 29.8)),
            Version(REJECTED, "DeepAR with a Student-t likelihood.",
                    "The Student-t likelihood made the 90% band too wide for dispatch.", errors=(43.9, 31.5)),
        ),
    ),
)


def quality_statistics(version: Version) -> dict:
    """The holdout evaluation in model quality monitoring's statistics.json format."""
    if version.counts is None:
        rmse, mae = version.errors
        return {"version": 0.0, "dataset": {"item_count": 720},
                "regression_metrics": {"rmse": {"value": rmse, "standard_deviation": round(rmse * 0.04, 3)},
                                       "mae": {"value": mae, "standard_deviation": round(mae * 0.04, 3)}}}
    tp, fn, fp, tn = version.counts
    precision, recall = tp / (tp + fp), tp / (tp + fn)

    def metric(value: float) -> dict:
        return {"value": round(value, 4), "standard_deviation": 0.01}

    return {
        "version": 0.0,
        "dataset": {"item_count": tp + fn + fp + tn},
        "binary_classification_metrics": {
            "confusion_matrix": {"1": {"1": tp, "0": fn}, "0": {"1": fp, "0": tn}},
            "accuracy": metric((tp + tn) / (tp + fn + fp + tn)),
            "precision": metric(precision),
            "recall": metric(recall),
            "f1": metric(2 * precision * recall / (precision + recall)),
            "auc": metric(version.auc),
        },
    }


def _metrics(workspace: Workspace, group: Group, number: int, version: Version) -> tuple[dict, dict | None]:
    """ModelMetrics for a version, and its DriftCheckBaselines where there are any."""
    evaluation = workspace.write(workspace.uri("registry", group.name, str(number), "evaluation.json"),
                                 quality_statistics(version))
    metrics: dict = {"ModelQuality": {"Statistics": {"ContentType": "application/json", "S3Uri": evaluation}}}
    drift = None
    clarify, baseline = workspace.results.get("clarify"), workspace.results.get("baseline")
    if group.uses_credit_analyses and clarify:
        metrics["Bias"] = {"PreTrainingReport": {"ContentType": "application/json", "S3Uri": clarify + "analysis.json"}}
    if group.uses_credit_analyses and baseline:
        quality = {"Statistics": {"ContentType": "application/json", "S3Uri": baseline + "statistics.json"},
                   "Constraints": {"ContentType": "application/json", "S3Uri": baseline + "constraints.json"}}
        metrics["ModelDataQuality"] = quality
        drift = {"ModelDataQuality": quality}
    return metrics, drift


def run(workspace: Workspace) -> None:
    scientist = workspace.client("data-scientist")
    engineer = workspace.client("mlops-engineer")
    summary = []
    for group in GROUPS:
        scientist.call("CreateModelPackageGroup", {
            "ModelPackageGroupName": group.name, "ModelPackageGroupDescription": group.description, "Tags": [TAG],
        })
        states = []
        for number, version in enumerate(group.versions, 1):
            metrics, drift = _metrics(workspace, group, number, version)
            container = {
                "Image": group.image.format(region=workspace.region),
                "ModelDataUrl": workspace.uri("models", group.name, str(number), "model.tar.gz"),
            }
            if group.framework:
                container["Framework"] = group.framework
            request = {
                "ModelPackageGroupName": group.name,
                "ModelPackageDescription": version.description,
                "InferenceSpecification": {
                    "Containers": [container],
                    "SupportedContentTypes": [group.content_type],
                    "SupportedResponseMIMETypes": ["text/csv" if group.content_type == "text/csv" else "application/json"],
                    "SupportedRealtimeInferenceInstanceTypes": ["ml.m5.large", "ml.m5.xlarge"],
                    "SupportedTransformInstanceTypes": ["ml.m5.xlarge"],
                },
                "ModelMetrics": metrics,
                "Domain": "MACHINE_LEARNING",
                "Task": group.task,
                "CustomerMetadataProperties": {"team": "risk-analytics" if group.uses_credit_analyses else "growth"},
                "Tags": [TAG],
            }
            if drift:
                request["DriftCheckBaselines"] = drift
            arn = scientist.call("CreateModelPackage", request)["ModelPackageArn"]
            workspace.results.setdefault("packages", {})[(group.name, number)] = arn
            if version.approval != PENDING:
                engineer.call("UpdateModelPackage", {
                    "ModelPackageArn": arn, "ModelApprovalStatus": version.approval, "ApprovalDescription": version.note,
                })
            states.append(f"v{number} {version.approval}")
        summary.append(f"{group.name} ({', '.join(states)})")
    workspace.made.append("model registry: " + "; ".join(summary)
                          + " - registered by demo-data-scientist, reviewed by demo-mlops-engineer")


STEP = Step("registry", "model package groups with versions in every approval state", run)
