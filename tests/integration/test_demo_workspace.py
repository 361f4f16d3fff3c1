"""``charter server --demo``: the workspace a newcomer finds, made once, as a team would make it.

A server is started as ``make run`` starts it (fresh CHARTER_HOME, keys generated), and
each part of the workspace is checked with boto3: the registry's versions in every
approval state with their metrics in the artifact store, the model cards in every
status with the approved one's PDF, a user per persona whose profile works and whose
persona shows, the Clarify report and Model Monitor baseline of German credit (where
../shared/data is on the machine), and that a second start makes nothing again.  A
second server whose CHARTER_SHARED_DATA is an empty folder gets the workspace without
the analyses, and says so.
"""

from __future__ import annotations

import configparser
import json
import time

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

import server_process
from charter.datasets import shared_data_root
from charter.iam import personas
from charter.instance import Instance
from charter.store import artifacts

DEMO_PERSONAS = [name for name, p in personas.PERSONAS.items() if name != "admin" and p.activities]


def client(started, profile: str = "charter"):
    """boto3 signed with a profile of the server's credentials file, as a newcomer's shell would be."""
    parser = configparser.ConfigParser()
    parser.read(started.home / "credentials")
    return boto3.client(
        "sagemaker", endpoint_url=started.endpoint, region_name="us-east-1",
        aws_access_key_id=parser[profile]["aws_access_key_id"],
        aws_secret_access_key=parser[profile]["aws_secret_access_key"],
        config=Config(retries={"max_attempts": 1}),
    )


def installation(started) -> Instance:
    """The server's installation opened here (same home and database), as the CLI on its machine opens it."""
    return Instance.from_env(home=str(started.home), database_url=started.env["CHARTER_DATABASE_URL"])


def artifact(started, uri: str):
    """The file behind an s3:// URI of the artifact store (an object of the local store)."""
    assert uri.startswith("s3://charter-demo/"), uri
    instance = installation(started)
    try:
        return artifacts.local_path(instance, uri)
    finally:
        instance.close()


def versions(sm, group: str) -> list[dict]:
    listed = sm.list_model_packages(ModelPackageGroupName=group, SortBy="CreationTime", SortOrder="Ascending")
    return [sm.describe_model_package(ModelPackageName=p["ModelPackageArn"]) for p in listed["ModelPackageSummaryList"]]


@pytest.fixture(scope="module")
def demo(tmp_path_factory, database_url_factory):
    home = tmp_path_factory.mktemp("demo") / ".charter"
    database_url = database_url_factory()
    started = server_process.start(home, database_url, "--demo")
    yield started
    started.stop()


def test_startup_output_says_what_was_made_and_where_the_keys_are(demo):
    output = demo.output
    assert "Demo workspace" in output and str(demo.home / "demo.json") in output
    assert f"keys in {demo.home / 'credentials'} as profiles" in output
    for persona in DEMO_PERSONAS:
        assert f"demo-{persona}" in output
    assert "credit-risk (v1 Rejected, v2 Approved, v3 PendingManualApproval)" in output
    assert "credit-risk-v2 (Approved)" in output


def test_groups_have_versions_in_every_approval_state_with_metrics(demo):
    sm = client(demo)
    groups = {g["ModelPackageGroupName"] for g in sm.list_model_package_groups()["ModelPackageGroupSummaryList"]}
    assert {"credit-risk", "customer-churn", "demand-forecast"} <= groups
    states = set()
    for group in ("credit-risk", "customer-churn", "demand-forecast"):
        found = versions(sm, group)
        assert len(found) >= 2
        for package in found:
            states.add(package["ModelApprovalStatus"])
            container = package["InferenceSpecification"]["Containers"][0]
            assert container["Image"].split("/", 1)[0].endswith(".amazonaws.com")
            assert container["ModelDataUrl"].startswith("s3://charter-demo/models/")
            statistics = package["ModelMetrics"]["ModelQuality"]["Statistics"]
            evaluation = json.loads(artifact(demo, statistics["S3Uri"]).read_text())
            assert "binary_classification_metrics" in evaluation or "regression_metrics" in evaluation
            if package["ModelApprovalStatus"] != "PendingManualApproval":
                assert package["ApprovalDescription"]
    assert states == {"Approved", "Rejected", "PendingManualApproval"}
    credit = versions(sm, "credit-risk")
    assert [p["ModelApprovalStatus"] for p in credit] == ["Rejected", "Approved", "PendingManualApproval"]
    auc = json.loads(artifact(demo, credit[1]["ModelMetrics"]["ModelQuality"]["Statistics"]["S3Uri"]).read_text())
    assert auc["binary_classification_metrics"]["auc"]["value"] == 0.8


def test_registered_by_the_data_scientist_and_reviewed_by_the_mlops_engineer(demo):
    sm = client(demo)
    approved = versions(sm, "credit-risk")[1]
    assert approved["CreatedBy"]["IamIdentity"]["Arn"].endswith(":user/demo-data-scientist")
    assert approved["LastModifiedBy"]["IamIdentity"]["Arn"].endswith(":user/demo-mlops-engineer")


def test_model_cards_in_every_status_and_the_approved_one_exported(demo):
    sm = client(demo)
    cards = {c["ModelCardName"]: c["ModelCardStatus"] for c in sm.list_model_cards()["ModelCardSummaries"]}
    assert cards == {"credit-risk-v2": "Approved", "credit-risk-v3": "PendingReview",
                     "customer-churn-v2": "Draft", "credit-risk-v1": "Archived"}
    history = sm.list_model_card_versions(ModelCardName="credit-risk-v2", SortBy="Version", SortOrder="Ascending")
    assert [v["ModelCardStatus"] for v in history["ModelCardVersionSummaryList"]] == ["Draft", "PendingReview", "Approved"]
    card = sm.describe_model_card(ModelCardName="credit-risk-v2")
    details = json.loads(card["Content"])["model_package_details"]
    assert details["model_package_group_name"] == "credit-risk" and details["model_approval_status"] == "Approved"

    jobs = sm.list_model_card_export_jobs(ModelCardName="credit-risk-v2")["ModelCardExportJobSummaries"]
    assert len(jobs) == 1
    deadline = time.time() + 120
    while (job := sm.describe_model_card_export_job(ModelCardExportJobArn=jobs[0]["ModelCardExportJobArn"]))["Status"] == "InProgress":
        assert time.time() < deadline, "the demo card's export did not finish in 120 s"
        time.sleep(0.5)
    assert job["Status"] == "Completed", job.get("FailureReason")
    pdf = artifact(demo, job["ExportArtifacts"]["S3ExportArtifacts"])
    assert pdf.read_bytes().startswith(b"%PDF")


def test_a_user_per_persona_whose_profile_works(demo):
    parser = configparser.ConfigParser()
    parser.read(demo.home / "credentials")
    config = configparser.ConfigParser()
    config.read(demo.home / "config")
    for persona in DEMO_PERSONAS:
        assert parser.has_section(f"demo-{persona}"), persona
        assert config[f"profile demo-{persona}"]["endpoint_url"] == demo.endpoint
    scientist = client(demo, "demo-data-scientist")
    pending = versions(scientist, "credit-risk")[2]
    with pytest.raises(ClientError) as refused:  # what the persona teaches: a data scientist does not approve
        scientist.update_model_package(ModelPackageArn=pending["ModelPackageArn"], ModelApprovalStatus="Approved")
    assert refused.value.response["Error"]["Code"] == "AccessDeniedException"
    auditor = client(demo, "demo-auditor")
    assert auditor.describe_model_card(ModelCardName="credit-risk-v1")["ModelCardStatus"] == "Archived"
    with pytest.raises(ClientError):
        auditor.delete_model_card(ModelCardName="credit-risk-v1")


def test_clarify_report_and_monitor_baseline_from_german_credit(demo):
    if shared_data_root() is None:
        pytest.skip("../shared/data is not on this machine: the demo has no analyses (tested below)")
    sm = client(demo)
    approved = versions(sm, "credit-risk")[1]
    bias = approved["ModelMetrics"]["Bias"]["PreTrainingReport"]["S3Uri"]
    analysis = json.loads(artifact(demo, bias).read_text())
    section = analysis["pre_training_bias_metrics"]
    assert section["label"] == "class" and set(section["facets"]) == {"sex", "age"}
    assert artifact(demo, bias.replace("analysis.json", "report.pdf")).read_bytes().startswith(b"%PDF")
    quality = approved["ModelMetrics"]["ModelDataQuality"]
    statistics = json.loads(artifact(demo, quality["Statistics"]["S3Uri"]).read_text())
    assert statistics["dataset"]["item_count"] == 1000
    assert {f["name"] for f in statistics["features"]} >= {"age", "credit_amount", "purpose"}
    constraints = json.loads(artifact(demo, quality["Constraints"]["S3Uri"]).read_text())
    assert constraints["features"]
    assert approved["DriftCheckBaselines"]["ModelDataQuality"] == quality


def test_a_finished_training_job_on_german_credit(demo):
    if shared_data_root() is None:
        pytest.skip("../shared/data is not on this machine: the demo has no training job")
    assert "training job credit-risk-xgboost" in demo.output
    sm = client(demo)
    deadline = time.time() + 120
    while (job := sm.describe_training_job(TrainingJobName="credit-risk-xgboost"))["TrainingJobStatus"] == "InProgress":
        assert time.time() < deadline, job
        time.sleep(0.5)
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    metrics = {m["MetricName"]: m["Value"] for m in job["FinalMetricDataList"]}
    assert 0.7 < metrics["validation:auc"] <= 1.0  # published AUCs on German credit: about 0.75-0.80
    assert job["ModelArtifacts"]["S3ModelArtifacts"] == "s3://charter-demo/jobs/output/credit-risk-xgboost/output/model.tar.gz"
    assert artifact(demo, job["ModelArtifacts"]["S3ModelArtifacts"]).stat().st_size > 0


def test_the_demo_people_sign_in_to_the_console(demo):
    import re

    import httpx

    path = demo.home / "console-passwords"
    assert path.stat().st_mode & 0o077 == 0  # the owner's only
    passwords = dict(line.split(" ", 1) for line in path.read_text().splitlines() if line and not line.startswith("#"))
    assert {"demo-admin", *(f"demo-{p}" for p in DEMO_PERSONAS)} <= set(passwords)
    assert f"as demo-admin with {passwords['demo-admin']}" in demo.output
    with httpx.Client(base_url=demo.endpoint, headers={"Accept": "text/html"}) as browser:
        form = browser.get("/console/sign-in").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', form)[1]
        signed = browser.post("/console/sign-in", data={"csrf_token": token, "user_name": "demo-admin",
                                                        "password": passwords["demo-admin"]})
        assert signed.status_code == 303
        home = browser.get("/console/")
        assert "Signed in as <b>demo-admin</b>" in home.text
        # The dashboard has the demo's models to show, and the registry their versions in each state.
        dashboard = browser.get("/console/model-dashboard").text
        for group in ("credit-risk", "customer-churn", "demand-forecast"):
            assert f'href="/console/model-registry/{group}"' in dashboard
        versions = browser.get("/console/model-registry/credit-risk").text
        for state in ("Rejected", "Approved", "PendingManualApproval"):
            assert state in versions


def test_a_second_start_makes_nothing_again(demo):
    """What a user deletes stays deleted; the users and their keys are left alone."""
    sm = client(demo)
    for package in versions(sm, "customer-churn"):
        sm.delete_model_package(ModelPackageName=package["ModelPackageArn"])
    sm.delete_model_package_group(ModelPackageGroupName="customer-churn")
    sm.delete_model_card(ModelCardName="customer-churn-v2")
    credentials_before = (demo.home / "credentials").read_text()
    demo.stop()

    again = server_process.start(demo.home, demo.env["CHARTER_DATABASE_URL"], "--demo")
    try:
        assert "it is made once, so what you deleted stays deleted" in again.output
        sm = client(again)
        groups = {g["ModelPackageGroupName"] for g in sm.list_model_package_groups()["ModelPackageGroupSummaryList"]}
        assert "customer-churn" not in groups and "credit-risk" in groups
        assert "customer-churn-v2" not in {c["ModelCardName"] for c in sm.list_model_cards()["ModelCardSummaries"]}
        assert len(versions(sm, "credit-risk")) == 3
        assert (demo.home / "credentials").read_text() == credentials_before
    finally:
        again.stop()


def test_without_shared_data_the_demo_says_what_it_skipped(tmp_path, database_url_factory):
    empty = tmp_path / "no-data"
    empty.mkdir()
    env = server_process.clean_env(CHARTER_SHARED_DATA=str(empty))
    started = server_process.start(tmp_path / ".charter", database_url_factory(), "--demo", env=env)
    try:
        assert "no Clarify report or Model Monitor baseline in the demo" in started.output
        sm = client(started)
        approved = versions(sm, "credit-risk")[1]
        assert approved["ModelApprovalStatus"] == "Approved"
        assert set(approved["ModelMetrics"]) == {"ModelQuality"}
        instance = installation(started)
        try:
            assert not artifacts.exists(instance, "s3://charter-demo/clarify/")
        finally:
            instance.close()
        assert {c["ModelCardName"] for c in sm.list_model_cards()["ModelCardSummaries"]} >= {"credit-risk-v2"}
    finally:
        started.stop()


def test_each_step_runs_once_and_a_failure_does_not_stop_the_rest(tmp_path, database_url_factory):
    """The step list later capabilities append to: new steps run once, failed ones are not retried."""
    from charter.demo import Step, seed
    from charter.instance import Instance

    instance = Instance.from_env(home=str(tmp_path / ".charter"), database_url=database_url_factory())
    ran = []

    def broken(workspace):
        ran.append("broken")
        raise RuntimeError("the bucket is full")

    def fine(workspace):
        ran.append("fine")
        workspace.made.append("a fine thing")

    try:
        first = "\n".join(seed(instance, [Step("broken", "a step that fails", broken), Step("fine", "a step", fine)]).lines())
        assert ran == ["broken", "fine"]
        assert "a fine thing" in first and "'broken' (a step that fails) failed: the bucket is full" in first
        marker = json.loads((tmp_path / ".charter" / "demo.json").read_text())
        assert set(marker["steps"]) == {"broken", "fine"} and marker["failed"] == {"broken": "the bucket is full"}

        added = Step("added-later", "a later release's step", lambda workspace: ran.append("added"))
        seed(instance, [Step("broken", "", broken), Step("fine", "", fine), added])
        assert ran == ["broken", "fine", "added"]
        again = seed(instance, [Step("broken", "", broken), Step("fine", "", fine), added]).lines()
        assert ran == ["broken", "fine", "added"] and "made once" in again[0]
    finally:
        instance.close()

