"""Rendering a model card to HTML and PDF, and the artifact store's URI rules."""

from __future__ import annotations

import io
import json
import re

import pypdf
import pytest

from charter.render import model_card as view
from charter.errors import ValidationException
from charter.settings import Settings
from charter.store import artifacts

CARD_NAME = "credit-default-xgb"

# A card as a risk team would fill it in: every section of the schema, every metric type.
CONTENT = {
    "model_overview": {
        "model_id": "arn:aws:sagemaker:us-east-1:123456789012:model/credit-default-xgb-2024-05",
        "model_name": "credit-default-xgb",
        "model_description": "Gradient-boosted trees that estimate the probability a retail borrower defaults within 12 months.",
        "model_version": 3,
        "problem_type": "Binary classification",
        "algorithm_type": "XGBoost",
        "model_creator": "Retail Credit Data Science",
        "model_owner": "Priya Raman (credit-risk-models@example.com)",
        "model_artifact": ["s3://models-prod/credit-default/3/model.tar.gz"],
        "inference_environment": {
            "container_image": ["683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"]
        },
    },
    "intended_uses": {
        "purpose_of_model": "Rank new personal-loan applications by default risk so that underwriters review the riskiest first.",
        "intended_uses": "Decision support for underwriters on unsecured personal loans up to 50,000 USD.\nNot for automated denial.",
        "factors_affecting_model_efficiency": "Performance degrades for applicants with thin credit files (fewer than 2 tradelines).",
        "risk_rating": "High",
        "explanations_for_risk_rating": "Outputs influence credit decisions that are regulated (ECOA, FCRA) and affect consumers directly.",
    },
    "business_details": {
        "business_problem": "Charge-offs on personal loans rose 18% year over year.",
        "business_stakeholders": "Retail credit risk, underwriting operations, model risk management",
        "line_of_business": "Consumer lending",
    },
    "training_details": {
        "objective_function": {
            "function": {"function": "Minimize", "facet": "LogLoss", "condition": "on the validation fold"},
            "notes": "Early stopping after 50 rounds without improvement.",
        },
        "training_observations": "Class imbalance (6.1% defaults) handled with scale_pos_weight.",
        "training_job_details": {
            "training_arn": "arn:aws:sagemaker:us-east-1:123456789012:training-job/credit-default-xgb-2024-05-02",
            "training_datasets": ["s3://credit-data/train/2019-2023.parquet"],
            "training_environment": {
                "container_image": ["683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"]
            },
            "training_metrics": [
                {"name": "train:logloss", "value": 0.2113},
                {"name": "validation:logloss", "value": 0.2368, "notes": "best iteration 412"},
            ],
            "user_provided_training_metrics": [{"name": "wall clock minutes", "value": 37}],
            "hyper_parameters": [
                {"name": "max_depth", "value": "6"},
                {"name": "eta", "value": "0.05"},
                {"name": "num_round", "value": "1000"},
            ],
            "user_provided_hyper_parameters": [{"name": "scale_pos_weight", "value": "15.4"}],
        },
    },
    "evaluation_details": [
        {
            "name": "Holdout 2024 Q1",
            "evaluation_observation": "Stable against the 2023 holdout; calibration slightly optimistic in the top decile.",
            "evaluation_job_arn": "arn:aws:sagemaker:us-east-1:123456789012:processing-job/credit-eval-2024q1",
            "datasets": ["s3://credit-data/holdout/2024q1.parquet"],
            "metadata": {"reviewer": "Model Risk Management", "ticket": "MRM-2291"},
            "metric_groups": [
                {
                    "name": "Discrimination",
                    "metric_data": [
                        {"name": "AUC", "type": "number", "value": 0.8712},
                        {"name": "KS statistic", "type": "number", "value": 0.5231, "notes": "max separation at score 0.31"},
                        {"name": "Champion model", "type": "string", "value": "credit-default-glm-v7"},
                        {"name": "Passes MRM threshold", "type": "boolean", "value": True},
                        {
                            "name": "ROC curve",
                            "type": "linear_graph",
                            "value": [[0.0, 0.0], [0.05, 0.41], [0.1, 0.58], [0.2, 0.74], [0.4, 0.89], [0.7, 0.97], [1.0, 1.0]],
                            "x_axis_name": "False positive rate",
                            "y_axis_name": "True positive rate",
                        },
                        {
                            "name": "Confusion matrix",
                            "type": "matrix",
                            "value": [[9120, 512], [231, 402]],
                            "x_axis_name": ["Predicted no default", "Predicted default"],
                            "y_axis_name": ["Actual no default", "Actual default"],
                            "notes": "Threshold 0.35",
                        },
                    ],
                },
                {
                    "name": "Explainability",
                    "metric_data": [
                        {
                            "name": "Mean absolute SHAP value",
                            "type": "bar_chart",
                            "value": [0.41, 0.27, 0.19, 0.11, 0.06],
                            "x_axis_name": ["debt_to_income", "utilization", "months_since_delinquency", "income", "age_of_file"],
                            "y_axis_name": "mean |SHAP|",
                        }
                    ],
                },
            ],
        }
    ],
    "additional_information": {
        "ethical_considerations": "Disparate impact tested across age bands and sex; adverse impact ratio above 0.8 for every group.",
        "caveats_and_recommendations": "Re-validate quarterly; do not use for small-business loans.",
        "custom_details": {"Regulatory framework": "SR 11-7", "Data retention": "7 years"},
    },
    "model_package_details": {
        "model_package_arn": "arn:aws:sagemaker:us-east-1:123456789012:model-package/credit-default/3",
        "model_package_group_name": "credit-default",
        "model_package_version": 3,
        "model_approval_status": "PendingManualApproval",
        "created_by": {"user_profile_name": "priya"},
        "inference_specification": {
            "containers": [
                {"image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
                 "model_data_url": "s3://models-prod/credit-default/3/model.tar.gz"}
            ]
        },
    },
}

CARD = {
    "ModelCardArn": f"arn:aws:sagemaker:us-east-1:123456789012:model-card/{CARD_NAME}",
    "ModelCardName": CARD_NAME,
    "ModelCardVersion": 2,
    "Content": json.dumps(CONTENT),
    "ModelCardStatus": "PendingReview",
    "CreationTime": 1714650000.0,
    "LastModifiedTime": 1714996800.5,
    "CreatedBy": {"UserProfileName": "priya"},
    "LastModifiedBy": {"UserProfileName": "marco"},
}


@pytest.fixture(scope="module")
def html() -> str:
    return view.render_html(CARD)


@pytest.fixture(scope="module")
def pdf_text() -> str:
    pdf = view.render_pdf(CARD)
    assert pdf.startswith(b"%PDF")
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) >= 2
    return "\n".join(page.extract_text() for page in reader.pages)


# --- HTML -------------------------------------------------------------------------


def test_header_shows_name_version_status_and_risk(html):
    assert f"<h1>{CARD_NAME}</h1>" in html
    assert "Version<strong>2</strong>" in html
    assert '<span class="badge tone-caution">Pending review</span>' in html
    assert '<span class="badge tone-bad">High</span>' in html
    assert "Priya Raman (credit-risk-models@example.com)" in html  # owner
    assert "2024-05-02 11:40 UTC by priya" in html
    assert "by marco" in html


def test_every_section_and_field_has_a_readable_label(html):
    for title in ("Model overview", "Intended uses", "Business details", "Training details",
                  "Evaluation details", "Additional information", "Model package details"):
        assert f"<h2>{title}</h2>" in html
    for label in ("Purpose of the model", "Factors affecting model efficiency", "Explanation of the risk rating",
                  "Line of business", "Objective function", "Optimization", "Training job ARN", "Hyperparameters",
                  "Hyperparameters (user provided)", "Training metrics (user provided)", "Evaluation job ARN",
                  "Ethical considerations", "Caveats and recommendations", "Container images", "Model package group"):
        assert f"<dt>{label}</dt>" in html, label
    # Values from every corner of the document.
    for value in ("Early stopping after 50 rounds", "scale_pos_weight", "MRM-2291", "SR 11-7",
                  "credit-default-glm-v7", "Consumer lending", "Not for automated denial", "model.tar.gz"):
        assert value in html, value
    assert "_" not in re.sub(r"<[^>]+>", "", "".join(re.findall(r"<dt>[^<]*</dt>", html)))  # no raw field names


def test_simple_metrics_are_tables_and_charts_are_inline_svg(html):
    assert "<th>Name</th>" in html and ">0.8712<" in html and ">Yes<" in html
    for kind in ("linear-graph", "matrix", "bar-chart"):
        figure = re.search(rf'<figure class="chart chart-{kind}">(.*?)</figure>', html, re.S)
        assert figure, kind
        assert "<svg " in figure.group(1) and "</svg>" in figure.group(1)
    # Labels stay text inside the SVG (searchable, sharp); the matrix is annotated.
    assert "False positive rate" in html and "Actual default" in html and ">9120<" in html
    assert "debt_to_income" in html


def test_html_is_self_contained(html):
    assert "<style>" in html
    assert not re.search(r'<(link|script|img)\b', html)
    assert "<?xml" not in html


def test_user_text_is_escaped():
    content = {"model_overview": {"model_description": "<script>alert(1)</script> & more"},
               "evaluation_details": [{"name": "e", "metric_groups": [{"name": "g", "metric_data": [
                   {"name": "cost <$5>", "type": "bar_chart", "value": [1, 2], "x_axis_name": ["$a", "b&c"]}]}]}]}
    html = view.render_html({**CARD, "Content": json.dumps(content)})
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert "b&amp;c" in html  # inside the SVG too


def test_unknown_and_bad_content_still_renders():
    content = {"model_overview": {"model_name": "m"}, "extra_section": {"reviewed_by_id": "x-17"},
               "evaluation_details": [{"name": "e", "metric_groups": [{"name": "g", "metric_data": [
                   {"name": "broken", "type": "matrix", "value": "not a matrix"}]}]}]}
    html = view.render_html({**CARD, "Content": json.dumps(content)})
    assert "<h2>Extra section</h2>" in html and "<dt>Reviewed by ID</dt>" in html
    assert "Could not draw this matrix metric" in html

    broken = view.render_html({**CARD, "Content": "{not json"})
    assert "not valid JSON" in broken and "{not json" in broken

    empty = view.render_html({"ModelCardName": "blank", "ModelCardVersion": 1, "ModelCardStatus": "Draft"})
    assert "has no content yet" in empty and "Not rated" in empty


def test_numbers_read_well():
    assert view.format_number(3.0) == "3"
    assert view.format_number(0.87123) == "0.8712"
    assert view.format_number(12345) == "12,345"
    assert view.format_number(1234.5678) == "1,234.57"
    assert view.format_number(0.00001234) == "1.234e-05"
    assert view.format_number(True) == "Yes"


# --- PDF --------------------------------------------------------------------------


def test_pdf_has_the_card_its_sections_risk_and_metrics(pdf_text):
    text = re.sub(r"\s+", " ", pdf_text)
    assert CARD_NAME in text
    for heading in ("Model overview", "Intended uses", "Training details", "Evaluation details",
                    "Additional information", "Model package details"):
        assert heading in text, heading
    assert "High" in text and "Risk rating" in text
    for metric in ("AUC", "KS statistic", "ROC curve", "Confusion matrix", "Mean absolute SHAP value"):
        assert metric in text, metric
    # Chart text is real text in the PDF, not pixels.
    assert "False positive rate" in text and "Actual default" in text
    assert "Page 1 of" in text


# --- the artifact store -------------------------------------------------------------


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(home=tmp_path, database_url="sqlite://", artifact_root=f"file://{tmp_path / 'artifacts'}")


def test_joining_uris():
    # Reading and writing artifacts opens the object store's database: tests/integration/test_artifacts.py.
    assert artifacts.join("s3://bkt/prefix/", "card", "job.pdf") == "s3://bkt/prefix/card/job.pdf"
    assert artifacts.join("s3://bkt", "card", "job.pdf") == "s3://bkt/card/job.pdf"
    assert artifacts.parse("https://bkt.s3.us-east-1.amazonaws.com/a/b.pdf").key == "a/b.pdf"
    assert artifacts.parse("https://s3.eu-west-1.amazonaws.com/bkt/a/b.pdf").bucket == "bkt"


@pytest.mark.parametrize(
    "uri, reason",
    [
        ("s3://bkt/../other/key", "'..'"),
        ("s3://bkt/a/../../etc/passwd", "'..'"),
        ("s3://../key", "invalid bucket"),
        ("s3:///key", "names no bucket"),
        ("s3://bkt/a//b", "empty path segment"),
        ("reports/key.pdf", "not a URI"),
        ("ftp://host/key", "unsupported scheme"),
        ("https://example.com/key", "not an S3 address"),
        ("file://host/tmp/x", "remote host"),
        ("file:///tmp/../etc/passwd", "'..'"),
        ("s3://bkt/key?versionId=1", "query"),
    ],
)
def test_malformed_or_escaping_uris_are_refused(settings, uri, reason):
    with pytest.raises(ValidationException) as caught:
        artifacts.write_bytes(settings, uri, b"x")
    assert reason in caught.value.message
