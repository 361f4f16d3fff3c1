"""Demo step ``model-cards``: model cards in every status, the approved one exported to PDF.

Each card documents a registered version (``model_package_details.model_package_arn``,
so Charter fills the rest of its package details from the registry), is written by
the data scientist as a ``Draft`` and moved through review by the MLOps engineer, one
``UpdateModelCard`` per status, so every card keeps the versions its review made:

- ``credit-risk-v2``: Draft -> PendingReview -> Approved, then exported to PDF with
  ``CreateModelCardExportJob`` (the export worker renders it once the server runs) to
  ``s3://charter-demo/model-cards/credit-risk-v2/<job>.pdf``;
- ``credit-risk-v3``: Draft -> PendingReview;
- ``customer-churn-v2``: Draft;
- ``credit-risk-v1``: Draft -> Archived (the rejected version's card, kept for the record).
"""

from __future__ import annotations

import json

from . import Step, Workspace

EXPORT_JOB = "credit-risk-v2-approved"

# (card, group, version, statuses after Draft)
CARDS = (
    ("credit-risk-v2", "credit-risk", 2, ("PendingReview", "Approved")),
    ("credit-risk-v3", "credit-risk", 3, ("PendingReview",)),
    ("customer-churn-v2", "customer-churn", 2, ()),
    ("credit-risk-v1", "credit-risk", 1, ("Archived",)),
)


def content(workspace: Workspace, group: str, number: int) -> dict:
    """What the team wrote about version ``number`` of ``group``."""
    from .registry import GROUPS, quality_statistics

    spec = next(g for g in GROUPS if g.name == group)
    version = spec.versions[number - 1]
    metrics = quality_statistics(version).get("binary_classification_metrics", {})
    credit = group == "credit-risk"
    evaluation = {
        "name": "Holdout evaluation",
        "evaluation_observation": f"{version.description} {version.note}".strip(),
        "datasets": [workspace.uri("registry", group, str(number), "evaluation.json")],
        "metric_groups": [{
            "name": "Binary classification",
            "metric_data": [
                {"name": name, "type": "number", "value": metrics[name]["value"]}
                for name in ("accuracy", "precision", "recall", "f1", "auc")
            ] + [{
                "name": "Confusion matrix", "type": "matrix",
                "value": [[metrics["confusion_matrix"]["1"]["1"], metrics["confusion_matrix"]["1"]["0"]],
                          [metrics["confusion_matrix"]["0"]["1"], metrics["confusion_matrix"]["0"]["0"]]],
                "x_axis_name": ["predicted good", "predicted bad"] if credit else ["predicted churn", "predicted stay"],
                "y_axis_name": ["good", "bad"] if credit else ["churn", "stay"],
            }],
        }],
    }
    document = {
        "model_overview": {
            "model_description": spec.description,
            "model_owner": "Risk analytics" if credit else "Growth analytics",
            "model_creator": "demo-data-scientist",
            "problem_type": "Binary classification",
            "algorithm_type": "Gradient boosting" if number > 1 or not credit else "Logistic regression",
        },
        "model_package_details": {"model_package_arn": workspace.results["packages"][(group, number)]},
        "intended_uses": {
            "purpose_of_model": "Decide which loan applications go to manual underwriting." if credit
            else "Choose the subscribers who receive a retention offer.",
            "intended_uses": "A score for the underwriter; never the only ground for declining an application."
            if credit else "A ranked list for the retention campaign.",
            "factors_affecting_model_efficiency": "Drift in applicants' income and employment mix." if credit
            else "Price changes and new plans shift who cancels.",
            "risk_rating": "High" if credit else "Medium",
            "explanations_for_risk_rating": "Credit decisions affect applicants and are regulated." if credit
            else "A wrong offer costs a discount, not a customer's rights.",
        },
        "business_details": {
            "business_problem": "Loan defaults cost more than the manual reviews they would need." if credit
            else "Cancellations cost more than the offers that would prevent them.",
            "business_stakeholders": "Credit committee, model risk management" if credit else "Retention team",
            "line_of_business": "Consumer lending" if credit else "Subscriptions",
        },
        "training_details": {
            "objective_function": {"function": {"function": "Maximize", "facet": "AUC"}},
            "training_observations": "German credit data, 70/30 split stratified by class." if credit
            else "Twelve months of subscriptions, the last month held out.",
        },
        "evaluation_details": [evaluation],
        "additional_information": {
            "ethical_considerations": "Sex and age are not features; the Clarify report checks the data for bias "
            "against women and applicants 25 or younger." if credit else "No protected attributes are used.",
            "caveats_and_recommendations": "Retrain when the monitor's baseline checks report drift.",
        },
    }
    return document


def run(workspace: Workspace) -> None:
    scientist = workspace.client("data-scientist")
    engineer = workspace.client("mlops-engineer")
    made = []
    for card, group, number, statuses in CARDS:
        scientist.call("CreateModelCard", {
            "ModelCardName": card, "Content": json.dumps(content(workspace, group, number)),
            "ModelCardStatus": "Draft", "Tags": [{"Key": "charter:demo", "Value": "true"}],
        })
        for status in statuses:
            engineer.call("UpdateModelCard", {"ModelCardName": card, "ModelCardStatus": status})
        made.append(f"{card} ({(statuses or ('Draft',))[-1]})")
    job = engineer.call("CreateModelCardExportJob", {
        "ModelCardName": "credit-risk-v2", "ModelCardExportJobName": EXPORT_JOB,
        "OutputConfig": {"S3OutputPath": workspace.uri("model-cards")},
    })
    workspace.results["export_job"] = job["ModelCardExportJobArn"]
    pdf = workspace.uri("model-cards", "credit-risk-v2", f"{EXPORT_JOB}.pdf")
    workspace.made.append(f"model cards: {', '.join(made)}; the approved card's PDF: {pdf} (rendered once the server runs)")


STEP = Step("model-cards", "model cards in every status, the approved one exported", run)
