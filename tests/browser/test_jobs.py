"""Jobs in Chromium: a running job's log arrives without reloading and follows the tail (unless one scrolls up),
Stop with its confirmation, a training job's metrics chart, each page accessible, and the pages at 390 px.
(The empty states are checked over HTTP, in tests/integration/test_console_jobs.py.)"""

from __future__ import annotations

import json
import time

import pytest

from browser_support import assert_accessible, shot, sign_in, unique

# (tests/integration/jobs_support.py imports the integration conftest by name, which the browser tests cannot.)
SKLEARN_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
TRUST = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"},
                                                 "Action": "sts:AssumeRole"}]}

BUCKET = "console-jobs"
SLOW = """
import time
for i in range(1, 100000):
    print(f"line {i}: preparing shard {i % 7} of the credit table", flush=True)
    time.sleep(0.1)
"""
TRAIN = """
import time
for epoch in range(1, 9):
    print(f"epoch {epoch} validation:auc={0.5 + epoch / 20:.3f} train:loss={1.0 / epoch:.3f}", flush=True)
    time.sleep(0.3)
"""
AT_BOTTOM = "(pre) => pre.scrollHeight - pre.scrollTop - pre.clientHeight < 8"


@pytest.fixture(scope="module")
def jobs(console):
    """A training job that has completed with its metrics; then a processing job that runs until stopped."""
    s3 = console.client("s3")
    try:
        s3.create_bucket(Bucket=BUCKET)
    except s3.exceptions.BucketAlreadyOwnedByYou:
        pass
    sm, iam = console.client(), console.client("iam")
    role_name = unique("jobs-role")
    role = iam.create_role(RoleName=role_name, AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
    iam.put_role_policy(RoleName=role_name, PolicyName="s3", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
    trained = unique("credit-model")
    sm.create_training_job(
        TrainingJobName=trained, RoleArn=role, HyperParameters={"epochs": "8"},
        AlgorithmSpecification={"TrainingImage": SKLEARN_IMAGE, "TrainingInputMode": "File",
                                "ContainerEntrypoint": ["python3", "/opt/ml/input/data/code/script.py"],
                                "MetricDefinitions": [{"Name": "validation:auc", "Regex": r"validation:auc=([0-9.]+)"},
                                                      {"Name": "train:loss", "Regex": r"train:loss=([0-9.]+)"}]},
        InputDataConfig=[{"ChannelName": "code", "DataSource": {"S3DataSource": {
            "S3DataType": "S3Prefix", "S3Uri": upload(s3, trained, TRAIN)}}}],
        OutputDataConfig={"S3OutputPath": f"s3://{BUCKET}/output"},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 5},
        StoppingCondition={"MaxRuntimeInSeconds": 300},
    )
    deadline = time.monotonic() + 120
    while sm.describe_training_job(TrainingJobName=trained)["TrainingJobStatus"] == "InProgress":
        assert time.monotonic() < deadline, "the training job did not end within 2 minutes"
        time.sleep(0.25)
    running = unique("prepare-credit")
    code = upload(s3, running, SLOW)
    sm.create_processing_job(
        ProcessingJobName=running, RoleArn=role,
        AppSpecification={"ImageUri": SKLEARN_IMAGE,
                          "ContainerEntrypoint": ["python3", "/opt/ml/processing/input/code/script.py"]},
        ProcessingResources={"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.t3.medium", "VolumeSizeInGB": 5}},
        ProcessingInputs=[{"InputName": "code", "S3Input": {"S3Uri": code, "LocalPath": "/opt/ml/processing/input/code",
                                                            "S3DataType": "S3Prefix", "S3InputMode": "File"}}],
        StoppingCondition={"MaxRuntimeInSeconds": 600},
    )
    yield {"trained": trained, "running": running}
    try:
        sm.stop_processing_job(ProcessingJobName=running)
    except sm.exceptions.ClientError:
        pass  # stopped by the test


def upload(s3, name: str, script: str) -> str:
    s3.put_object(Bucket=BUCKET, Key=f"code/{name}/script.py", Body=script.encode())
    return f"s3://{BUCKET}/code/{name}/"


def lines(page) -> int:
    return page.locator("#log-lines > span").count()


def test_live_logs_follow_the_tail_and_stop_after_confirming(page, console, jobs):
    sign_in(page, console, console.admin(), next_path="/console/processing-jobs")
    page.get_by_role("link", name=jobs["running"]).click()  # a boosted navigation: the page's script comes along
    page.wait_for_url(f"**/processing-jobs/{jobs['running']}")
    page.evaluate("() => { window.notReloaded = true; }")
    log = page.locator("#log-lines")
    log.locator("span", has_text="line 1:").first.wait_for()
    first = lines(page)
    assert page.get_by_text("Waiting for the first log line").count() == 0
    page.wait_for_function(f"() => document.querySelectorAll('#log-lines > span').length > {first + 20}",
                           timeout=30_000)
    assert page.evaluate("() => window.notReloaded === true"), "the page was reloaded to show the new lines"
    texts = log.inner_text().splitlines()
    numbers = [int(t.split(":")[0].split()[1]) for t in texts if t.startswith("line ")]
    assert numbers == list(range(1, len(numbers) + 1))  # every line once, in order
    # The panel scrolls inside itself, and keeps the newest line in view.
    assert log.evaluate("(pre) => pre.scrollHeight > pre.clientHeight")
    assert log.evaluate(AT_BOTTOM)
    assert page.get_by_text("Following the newest line.").is_visible()
    assert_accessible(page)
    shot(page, "jobs-live-log-following")

    # Scrolled up to read: new lines come in below without pulling the panel down.
    log.evaluate("(pre) => { pre.scrollTop = 0; }")
    follow = page.get_by_role("button", name="Follow the newest line")
    follow.wait_for()
    count = lines(page)
    page.wait_for_function(f"() => document.querySelectorAll('#log-lines > span').length > {count + 5}")
    assert log.evaluate("(pre) => pre.scrollTop") == 0
    shot(page, "jobs-live-log-scrolled-up")
    follow.click()
    page.wait_for_function("() => { const p = document.getElementById('log-lines');"
                           " return p.scrollHeight - p.scrollTop - p.clientHeight < 8; }")
    count = lines(page)
    page.wait_for_function(f"() => document.querySelectorAll('#log-lines > span').length > {count + 3}")
    assert log.evaluate(AT_BOTTOM)

    # Stop, after a confirmation step.
    page.get_by_role("link", name="Stop processing job").click()
    page.wait_for_url("**/stop")
    assert page.get_by_role("heading", name=f"Stop processing job {jobs['running']}?").is_visible()
    assert_accessible(page, dark=False)
    shot(page, "jobs-stop-confirmation")
    assert console.client().describe_processing_job(ProcessingJobName=jobs["running"])["ProcessingJobStatus"] == "InProgress"
    page.get_by_role("button", name="Stop processing job").click()
    page.wait_for_url(f"**/processing-jobs/{jobs['running']}")
    assert page.get_by_text(f"Stopping the processing job {jobs['running']}").is_visible()
    # The page follows the job to its end without a reload: the status panel turns Stopped, the poll ends.
    page.locator("#job-status .badge", has_text="Stopped").wait_for(timeout=30_000)
    page.get_by_text("The job has ended (Stopped): this is the whole log.").wait_for()
    assert page.get_by_role("link", name="Stop processing job").count() == 0
    assert not page.problems, page.problems


def test_a_training_job_shows_its_metrics_over_time(page, console, jobs):
    sign_in(page, console, console.admin(), next_path="/console/training-jobs")
    page.get_by_role("link", name=jobs["trained"]).wait_for()
    assert page.get_by_role("row", name=jobs["trained"]).locator(".badge").inner_text() == "Completed"
    assert_accessible(page, dark=False)
    shot(page, "jobs-training-list")
    page.get_by_role("link", name=jobs["trained"]).click()
    page.wait_for_url(f"**/training-jobs/{jobs['trained']}")
    chart = page.get_by_role("img", name="Chart of validation:auc, train:loss over the job's run time")
    assert chart.evaluate("(e) => e.tagName.toLowerCase()") == "svg" and chart.locator("path").count() > 10
    finals = page.get_by_role("table", name="Final metric values")
    assert finals.get_by_role("row", name="validation:auc").get_by_role("cell").nth(1).inner_text() == "0.9"
    timeline = page.locator("ol.timeline li")
    assert timeline.count() == 5 and "Completed" in timeline.last.inner_text()
    assert "epoch 8" in page.locator("#log-lines").inner_text()
    assert page.get_by_role("link", name="Stop training job").count() == 0
    assert_accessible(page)
    shot(page, "jobs-training-job")
    assert not page.problems, page.problems


def test_the_job_page_fits_a_phone(browser, console, jobs):
    context = browser.new_context(viewport={"width": 390, "height": 844}, color_scheme="dark")
    narrow = context.new_page()
    try:
        sign_in(narrow, console, console.admin(), next_path=f"/console/training-jobs/{jobs['trained']}")
        width = narrow.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 390, f"the job page scrolls sideways at 390 px ({width} px wide)"
        shot(narrow, "jobs-training-job-390px-dark")
        narrow.goto(console.url + "/processing-jobs")
        assert narrow.evaluate("() => document.documentElement.scrollWidth") <= 390
        shot(narrow, "jobs-list-390px-dark")
    finally:
        context.close()

