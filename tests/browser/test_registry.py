"""The Model registry in Chromium: approve with a comment and see it, reject with confirmation, compare with a chart."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from charter.iam import personas

from browser_support import assert_accessible, shot, sign_in, unique


snapshot = shot  # a screenshot mid-test (shot also clears the empty style attributes Playwright leaves)


READ_REPORTS = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::registry-browser/*"}


@pytest.fixture(scope="module")
def group(console):
    """A model group with three versions, each with a model quality report, as a data scientist registers them."""
    name = unique("churn")
    sm, s3 = console.client(), console.client("s3")
    try:
        s3.create_bucket(Bucket="registry-browser")
    except s3.exceptions.BucketAlreadyOwnedByYou:
        pass
    sm.create_model_package_group(ModelPackageGroupName=name,
                                  ModelPackageGroupDescription="Subscribers likely to cancel within 90 days.")
    for number, (auc, f1, recall) in enumerate([(0.71, 0.62, 0.58), (0.80, 0.74, 0.71), (0.84, 0.77, 0.79)], 1):
        key = f"{name}/{number}/evaluation.json"
        s3.put_object(Bucket="registry-browser", Key=key, Body=json.dumps({"binary_classification_metrics": {
            "auc": {"value": auc}, "f1": {"value": f1}, "recall": {"value": recall}}}).encode())
        sm.create_model_package(
            ModelPackageGroupName=name,
            ModelPackageDescription=["Logistic regression baseline.", "XGBoost on usage features.",
                                     "XGBoost with support-ticket features."][number - 1],
            InferenceSpecification={
                "Containers": [{"Image": f"683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-{number}",
                                "ModelDataUrl": f"s3://registry-browser/{name}/{number}/model.tar.gz",
                                "Framework": "XGBOOST"}],
                "SupportedContentTypes": ["text/csv"], "SupportedResponseMIMETypes": ["text/csv"],
            },
            ModelMetrics={"ModelQuality": {"Statistics": {"ContentType": "application/json",
                                                          "S3Uri": f"s3://registry-browser/{key}"}}},
            CustomerMetadataProperties={"team": "growth"},
        )
    return name


@pytest.fixture(scope="module")
def engineer(console):
    """An MLOps engineer (the persona that approves), who may also read the reports' bucket."""
    name = unique("engineer")
    persona = personas.build_policy("mlops-engineer", (), account=console.client("sts").get_caller_identity()["Account"],
                                    username=name)
    return console.make_user(None, *persona["Statement"], READ_REPORTS, name=name)


def test_approve_a_version_with_a_comment_and_see_it(page, console, group, engineer):
    sign_in(page, console, engineer, next_path="/console/model-registry")
    assert page.get_by_role("heading", name="Model registry", level=1).is_visible()
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=group, exact=True))
    assert "Version 3" in row.inner_text() and "PendingManualApproval" in row.inner_text()
    assert_accessible(page)
    snapshot(page, "registry-groups")

    page.get_by_role("link", name=group, exact=True).click()
    page.wait_for_url(f"**/console/model-registry/{group}")
    assert page.get_by_role("row", name="Version 2").get_by_text("auc").is_visible()
    assert_accessible(page)
    snapshot(page, "registry-versions")

    page.get_by_role("link", name="Version 3", exact=True).click()
    page.wait_for_url(f"**/console/model-registry/{group}/3")
    page.get_by_label("Comment").fill("AUC 0.84 beats version 2; shadow test passed.")
    page.get_by_role("button", name="Approve version 3").click()
    page.get_by_text("Version 3 approved.").wait_for()
    approval = page.locator("#approval")
    assert "Approved" in approval.inner_text()
    assert "AUC 0.84 beats version 2; shadow test passed." in approval.inner_text()
    assert engineer in approval.inner_text()
    assert not page.get_by_role("button", name="Approve version 3").count()  # now only Reject is offered
    # The event: the approval history's newest row is this approval, by this person.
    newest = page.locator("table.registry-history tbody tr").first
    assert "Approved" in newest.inner_text() and engineer in newest.inner_text()
    assert page.locator("table.registry-metrics").first.get_by_text("0.84").is_visible()
    assert_accessible(page)
    snapshot(page, "registry-version-approved")
    assert not page.problems, page.problems


def test_rejecting_an_approved_version_asks_first(page, console, group, engineer):
    arn = console.client().describe_model_package(ModelPackageName=f"{group}/2")["ModelPackageArn"]
    console.client().update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved",
                                          ApprovalDescription="Meets the retention team's bar.")
    sign_in(page, console, engineer, next_path=f"/console/model-registry/{group}/2")
    page.get_by_label("Comment").fill("Recall dropped on the March cohort.")
    page.get_by_role("button", name="Reject version 2").click()
    page.get_by_role("heading", name="Reject version 2?").wait_for()
    assert page.get_by_label("Comment").input_value() == "Recall dropped on the March cohort."
    assert_accessible(page)
    snapshot(page, "registry-reject-confirm")

    # Cancelling changes nothing.
    page.get_by_role("link", name="Cancel, keep it approved").click()
    page.wait_for_url(f"**/console/model-registry/{group}/2")
    assert "Approved" in page.locator("#approval").inner_text()

    page.get_by_role("button", name="Reject version 2").click()
    page.get_by_role("button", name="Yes, reject version 2").click()
    page.get_by_text("Version 2 rejected.").wait_for()
    assert "Rejected" in page.locator("#approval").inner_text()
    assert console.client().describe_model_package(ModelPackageName=arn)["ModelApprovalStatus"] == "Rejected"
    assert not page.problems, page.problems


def test_compare_two_versions_with_the_metrics_chart(page, console, group, engineer):
    sign_in(page, console, engineer, next_path=f"/console/model-registry/{group}")
    page.get_by_label("Version", exact=True).select_option("1")
    page.get_by_label("with version").select_option("3")
    page.get_by_role("button", name="Compare").click()
    page.wait_for_url("**/compare?a=1&b=3")
    auc = page.get_by_role("row", name="auc differs")
    assert auc.get_by_role("cell").all_inner_texts() == ["0.71", "0.84"]
    chart = page.get_by_role("img", name=f"Model quality statistics of {group} by version")
    assert chart.is_visible() and chart.bounding_box()["width"] > 300
    assert_accessible(page)
    snapshot(page, "registry-compare")
    assert not page.problems, page.problems


def test_the_version_page_on_a_phone(browser, console, group, engineer):
    context = browser.new_context(viewport={"width": 390, "height": 844}, color_scheme="dark")
    narrow = context.new_page()
    try:
        compare = quote(f"/console/model-registry/{group}/compare?a=2&b=3", safe="/")
        sign_in(narrow, console, engineer, next_path=compare)
        width = narrow.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 390, f"the compare page scrolls sideways at 390 px ({width} px wide)"
        shot(narrow, "registry-compare-390px-dark")
        narrow.goto(f"{console.url}/model-registry/{group}/3")
        width = narrow.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 390, f"the version page scrolls sideways at 390 px ({width} px wide)"
        shot(narrow, "registry-version-390px-dark")
    finally:
        context.close()
