"""The Model registry pages over HTTP: groups, versions, one version, approvals, comparison.

One server for the module.  The registry is filled with boto3 as a team would
fill it (groups, versions with ModelMetrics reports in S3); people sign in with
Role Manager personas: an MLOps engineer, who may approve, and a data
scientist, who may not.
"""

from __future__ import annotations

import base64
import json
import re
import uuid

import pytest

from charter.iam import personas
from conftest import start_server, stop_server
from test_console_frame import ACCOUNT, PASSWORD, Browser, audit_rows

pytestmark = pytest.mark.once(
    "the page's side; the registry operations it calls are tested on both databases in test_model_packages.py and test_model_package_groups.py"
)

BUCKET = "registry-tests"


@pytest.fixture(scope="module")
def server(tmp_path_factory, database_url_factory):
    started = start_server(tmp_path_factory.mktemp("console-registry"), database_url_factory())
    yield started
    stop_server(started)


def persona_user(server, persona: str) -> str:
    """A user with a Role Manager persona's policy (artifact access to BUCKET) and a console password."""
    name = f"{persona}-{uuid.uuid4().hex[:6]}"
    document = personas.build_policy(persona, (), account=ACCOUNT, buckets=[BUCKET], username=name)
    iam = server.client(service="iam")
    iam.create_user(UserName=name)
    arn = iam.create_policy(PolicyName=f"{name}-persona", PolicyDocument=json.dumps(document))["Policy"]["Arn"]
    iam.attach_user_policy(UserName=name, PolicyArn=arn)
    iam.create_login_profile(UserName=name, Password=PASSWORD)
    return name


def register(sm, s3, group: str, metrics: list[dict | None], **extra) -> list[str]:
    """Versions of ``group``, one per entry of ``metrics`` (a model quality statistics document, or none)."""
    arns = []
    for number, values in enumerate(metrics, 1):
        request = {
            "ModelPackageGroupName": group,
            "ModelPackageDescription": f"Candidate {number} of {group}.",
            "InferenceSpecification": {
                "Containers": [{"Image": f"111122223333.dkr.ecr.us-east-1.amazonaws.com/churn:{number}",
                                "ModelDataUrl": f"s3://{BUCKET}/{group}/{number}/model.tar.gz",
                                "Framework": "XGBOOST", "Environment": {"DEPTH": str(3 + number)}}],
                "SupportedContentTypes": ["text/csv"], "SupportedResponseMIMETypes": ["text/csv"],
            },
            "CustomerMetadataProperties": {"team": "growth", "dataset": f"2026-0{number}"},
            **extra,
        }
        if values is not None:
            key = f"{group}/{number}/evaluation.json"
            s3.put_object(Bucket=BUCKET, Key=key, Body=json.dumps(values).encode())
            source = {"ContentType": "application/json", "S3Uri": f"s3://{BUCKET}/{key}"}
            request["ModelMetrics"] = ({"Bias": {"PreTrainingReport": source}} if "pre_training_bias_metrics" in values
                                       else {"ModelQuality": {"Statistics": source}})
        arns.append(sm.create_model_package(**request)["ModelPackageArn"])
    return arns


def quality(auc: float, f1: float) -> dict:
    return {"binary_classification_metrics": {"auc": {"value": auc, "standard_deviation": 0.01},
                                              "f1": {"value": f1, "standard_deviation": 0.01},
                                              "confusion_matrix": {"0": {"0": 5, "1": 1}, "1": {"0": 2, "1": 7}}}}


# A Clarify analysis.json's pre-training bias section, as SageMaker Clarify writes it.
CLARIFY_BIAS = {"version": "1.0", "pre_training_bias_metrics": {"label": "fraud", "facets": {"card_type": [
    {"value_or_threshold": "prepaid", "metrics": [
        {"name": "CI", "description": "Class Imbalance (CI)", "value": 0.38},
        {"name": "DPL", "description": "Difference in Positive Proportions in Labels (DPL)", "value": -0.0712}]}]}}}


@pytest.fixture(scope="module")
def registry(server):
    """Two groups with versions and metrics, one empty group, and the two people who review them."""
    sm, s3 = server.client(), server.client(service="s3")
    s3.create_bucket(Bucket=BUCKET)
    sm.create_model_package_group(ModelPackageGroupName="churn", ModelPackageGroupDescription="Who cancels next.")
    churn = register(sm, s3, "churn", [quality(0.71, 0.62), quality(0.80, 0.74), quality(0.84, 0.77)],
                     MetadataProperties={"GeneratedBy": "arn:aws:sagemaker:us-east-1:123456789012:training-job/churn-7",
                                         "Repository": "https://git.example.com/churn", "CommitId": "4f2a9c1"})
    sm.create_model_package_group(ModelPackageGroupName="fraud", ModelPackageGroupDescription="Card fraud scores.")
    fraud = register(sm, s3, "fraud", [None, CLARIFY_BIAS])
    sm.create_model_package_group(ModelPackageGroupName="empty-group")
    return {"churn": churn, "fraud": fraud, "engineer": persona_user(server, "mlops-engineer"),
            "scientist": persona_user(server, "data-scientist")}


def signed_in(server, user: str, address: str = "127.0.0.1") -> Browser:
    browser = Browser(server.endpoint, address)
    assert browser.sign_in(user).status_code == 303
    return browser


def text_of(page: str) -> str:
    main = re.search(r"<main.*?</main>", page, re.S)[0]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", main)).replace("&#39;", "'")


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page)[1]


def approve_buttons(page: str) -> list[str]:
    return re.findall(r'<button type="submit" name="ModelApprovalStatus" value="(\w+)"', page)


def status_of(server, arn: str) -> str:
    return server.client().describe_model_package(ModelPackageName=arn)["ModelApprovalStatus"]


def test_the_groups_list_searches_and_pages(server, registry):
    browser = signed_in(server, registry["scientist"])
    page = browser.get("/console/model-registry")
    assert page.status_code == 200
    text = text_of(page.text)
    assert "churn Who cancels next. 3 Version 3 PendingManualApproval" in text
    assert "fraud Card fraud scores. 2 Version 2 PendingManualApproval" in text
    assert "empty-group No description 0 No versions yet" in text

    found = text_of(browser.get("/console/model-registry", params={"q": "FRA"}).text)
    assert "fraud" in found and "churn" not in found
    nothing = browser.get("/console/model-registry", params={"q": "no-such-model"})
    assert nothing.status_code == 200 and "No model groups match “no-such-model”" in text_of(nothing.text)

    # Paging follows ListModelPackageGroups' NextToken: 20 a page, there and back.
    sm = server.client()
    for index in range(19):
        sm.create_model_package_group(ModelPackageGroupName=f"paged-{index:02d}")
    first = browser.get("/console/model-registry", params={"sort": "name"}).text
    assert text_of(first).count("No versions yet") == 18  # empty-group and paged-00..16 (A to Z: churn first)
    following = re.search(r'href="([^"]+)" rel="next"', first)[1].replace("&amp;", "&")
    second = browser.get(following).text
    assert "paged-17" in second and "paged-18" in second and 'rel="next"' not in second
    back = re.search(r'href="([^"]+)" rel="prev"', second)[1].replace("&amp;", "&")
    assert "churn" in text_of(browser.get(back).text)


def test_a_groups_versions_and_a_version_page(server, registry):
    browser = signed_in(server, registry["scientist"])
    page = browser.get("/console/model-registry/churn")
    assert page.status_code == 200
    text = text_of(page.text)
    # Newest first, each with its approval, who registered it and its headline metrics from the S3 report.
    assert text.index("Version 3") < text.index("Version 2") < text.index("Version 1")
    assert "Version 2 PendingManualApproval" in text and "auc 0.8 f1 0.74" in text
    assert "Candidate 1 of churn." in text and "Created by" in text
    assert text.count("admin") >= 3  # the admin's keys registered them (principal user/admin)

    version = browser.get("/console/model-registry/churn/2")
    assert version.status_code == 200
    text = text_of(version.text)
    for shown in ("111122223333.dkr.ecr.us-east-1.amazonaws.com/churn:2", "XGBOOST", "DEPTH=5",
                  f"s3://{BUCKET}/churn/2/model.tar.gz", "Model quality statistics", "auc 0.8", "f1 0.74",
                  "dataset 2026-02", "team growth", "training-job/churn-7", "https://git.example.com/churn",
                  "4f2a9c1", registry["churn"][1]):
        assert shown in text, shown
    assert "confusion_matrix" not in text  # not a single value
    assert "PendingManualApproval" in text and "State changes of version 2" in text

    fraud = text_of(browser.get("/console/model-registry/fraud/1").text)
    assert "This version was registered without model metrics." in fraud
    bias = text_of(browser.get("/console/model-registry/fraud/2").text)  # Clarify's report: a value per facet
    assert "Pre-training bias report" in bias and "CI (card_type = prepaid) 0.38 DPL (card_type = prepaid) -0.0712" in bias

    missing = browser.get("/console/model-registry/churn/9")
    assert missing.status_code == 404 and "Model group churn has no version 9." in text_of(missing.text)
    assert browser.get("/console/model-registry/nope").status_code == 404


def test_an_empty_group(server, registry):
    browser = signed_in(server, registry["scientist"])
    page = browser.get("/console/model-registry/empty-group")
    assert page.status_code == 200 and "No versions yet" in text_of(page.text)
    assert "aws sagemaker create-model-package --model-package-group-name empty-group" in page.text
    compare = browser.get("/console/model-registry/empty-group/compare")
    assert compare.status_code == 200 and "Nothing to compare yet" in text_of(compare.text)


def test_approve_with_a_comment(server, registry):
    arn = registry["churn"][2]
    engineer = registry["engineer"]
    browser = signed_in(server, engineer, "127.0.0.41")
    page = browser.get("/console/model-registry/churn/3").text
    assert approve_buttons(page) == ["Approved", "Rejected"]

    answer = browser.post("/console/model-registry/churn/3/approval",
                          {"ModelApprovalStatus": "Approved",
                           "ApprovalDescription": "AUC 0.84 beats v2; bias reviewed."},
                          token=csrf_of(page))
    assert answer.status_code == 303 and answer.headers["location"] == "/console/model-registry/churn/3"
    after = browser.get(answer.headers["location"]).text
    text = text_of(after)
    assert "Version 3 approved." in text  # the notice, once
    assert "Status Approved Comment AUC 0.84 beats v2; bias reviewed." in text
    assert f"by {engineer}" in text
    # The event: the approval history shows the state change, newest first.
    history = re.search(r'<table class="data registry-history">.*?</table>', after, re.S)[0]
    rows = re.findall(r"<tr>(.*?)</tr>", history, re.S)[1:]
    assert len(rows) == 2
    assert "Approved" in rows[0] and engineer in rows[0] and "AUC 0.84 beats v2" in rows[0]
    assert "PendingManualApproval" in rows[1]
    assert approve_buttons(after) == ["Rejected"]  # Approved may only become Rejected
    assert "Version 3 approved." not in text_of(browser.get("/console/model-registry/churn/3").text)

    described = server.client().describe_model_package(ModelPackageName=arn)
    assert described["ModelApprovalStatus"] == "Approved"
    assert described["ApprovalDescription"] == "AUC 0.84 beats v2; bias reviewed."
    assert described["LastModifiedBy"]["IamIdentity"]["Arn"].endswith(f":user/{engineer}")

    audited = [r for r in audit_rows(server, engineer, 3) if r["operation"] == "UpdateModelPackage"]
    assert [(r["outcome"], r["source"], r["resource_arn"]) for r in audited] == [("Success", "console", arn)]


def test_rejecting_an_approved_version_is_confirmed_first(server, registry):
    arn = registry["churn"][0]
    server.client().update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved",
                                         ApprovalDescription="Good enough for the pilot.")
    browser = signed_in(server, registry["engineer"], "127.0.0.42")
    token = csrf_of(browser.get("/console/model-registry/churn/1").text)
    asked = browser.post("/console/model-registry/churn/1/approval",
                         {"ModelApprovalStatus": "Rejected", "ApprovalDescription": "Drifted."}, token=token)
    assert asked.status_code == 200 and "Reject version 1?" in asked.text
    assert "Good enough for the pilot." in text_of(asked.text) and ">Drifted.</textarea>" in asked.text
    assert status_of(server, arn) == "Approved"  # nothing done yet
    reloaded = browser.get("/console/model-registry/churn/1/approval")  # the confirmation's address, reloaded
    assert reloaded.status_code == 303 and reloaded.headers["location"] == "/console/model-registry/churn/1#approval"

    done = browser.post("/console/model-registry/churn/1/approval",
                        {"ModelApprovalStatus": "Rejected", "ApprovalDescription": "Drifted.", "confirmed": "yes"},
                        token=csrf_of(asked.text))
    assert done.status_code == 303
    assert "Version 1 rejected." in text_of(browser.get(done.headers["location"]).text)
    assert status_of(server, arn) == "Rejected"

    # A change the registry refuses is said on the page, and the comment kept.
    refused = browser.post("/console/model-registry/churn/1/approval",
                           {"ModelApprovalStatus": "PendingManualApproval", "ApprovalDescription": "Back to review"},
                           token=token)
    assert refused.status_code == 400
    assert "Cannot change ModelApprovalStatus from Rejected to PendingManualApproval" in text_of(refused.text)
    assert ">Back to review</textarea>" in refused.text


def test_a_persona_that_may_not_approve_sees_no_button_and_is_refused(server, registry):
    arn = registry["fraud"][0]
    scientist = registry["scientist"]
    browser = signed_in(server, scientist, "127.0.0.43")
    page = browser.get("/console/model-registry/fraud/1").text
    assert approve_buttons(page) == []
    assert "needs the IAM permission sagemaker:UpdateModelPackage" in text_of(page)

    refused = browser.post("/console/model-registry/fraud/1/approval",
                           {"ModelApprovalStatus": "Approved", "ApprovalDescription": "Trust me."}, token=csrf_of(page))
    assert refused.status_code == 403
    text = text_of(refused.text)
    assert "You do not have permission to do that" in text
    assert f"{scientist} is not authorized to perform: sagemaker:UpdateModelPackage" in text
    assert status_of(server, arn) == "PendingManualApproval"


def test_a_post_without_its_csrf_token_is_refused(server, registry):
    arn = registry["fraud"][0]
    browser = signed_in(server, registry["engineer"], "127.0.0.44")
    refused = browser.client.post("/console/model-registry/fraud/1/approval",
                                  data={"ModelApprovalStatus": "Rejected", "ApprovalDescription": "forged"})
    assert refused.status_code == 403 and "This form could not be accepted" in refused.text
    forged = browser.post("/console/model-registry/fraud/1/approval", {"ModelApprovalStatus": "Rejected"},
                          token="forged")
    assert forged.status_code == 403
    assert status_of(server, arn) == "PendingManualApproval"


def test_compare_two_versions_with_a_chart_of_every_version(server, registry):
    browser = signed_in(server, registry["scientist"])
    page = browser.get("/console/model-registry/churn/compare", params={"a": "1", "b": "3"})
    assert page.status_code == 200
    text = text_of(page.text)
    assert "Version 1 Version 3" in text
    assert "auc differs 0.71 0.84" in text and "f1 differs 0.62 0.77" in text
    assert "Image differs" in text and "Environment DEPTH differs 4 6" in text
    assert "Customer metadata team growth growth" in text  # the same: not marked
    # The chart is an SVG image (its styles would be refused inline by the page's CSP).
    chart = re.search(r'<div class="chart"><img src="data:image/svg\+xml;base64,([^"]+)" alt="([^"]+)"', page.text)
    assert chart[2].startswith("Model quality statistics of churn by version")
    drawn = base64.b64decode(chart[1]).decode()
    labels = re.findall(r"<text[^>]*>([^<]*)</text>", drawn)
    assert drawn.startswith("<svg") and labels[:3] == ["1", "2", "3"]  # x: every version of the group
    assert {"auc", "f1", "version"} <= set(labels)  # one line per metric, named in the legend
    # The chart's table holds every version's values, not just the two compared.
    assert re.search(r"auc\s*</th>\s*<td[^>]*>0.71</td>\s*<td[^>]*>0.8</td>\s*<td[^>]*>0.84</td>", page.text)

    defaults = text_of(browser.get("/console/model-registry/churn/compare").text)
    assert "Version 2 Version 3" in defaults  # the two newest
    assert browser.get("/console/model-registry/churn/compare", params={"a": "1", "b": "7"}).status_code == 404
