"""The console's training and processing jobs, read over HTTP as a browser reads them (no JavaScript).

Real jobs on a real server: a training job that prints a metric in its log and
completes, one that fails, and a processing job that prints a line every few
tenths of a second until it is stopped (the subject of the live log and Stop).
"""

from __future__ import annotations

import html
import re
import time

import pytest

from conftest import start_server, stop_server
from jobs_support import SKLEARN_IMAGE, execution_role, training_request, upload_script, wait_for
from test_console_frame import READ_SAGEMAKER, Browser, csrf_of, make_user

pytestmark = pytest.mark.once(
    "the page's side; the job operations it calls (List/Describe/Stop, GetLogEvents, GetMetricData) are tested on both databases in test_training_jobs.py, test_processing_jobs.py, test_logs.py and test_cloudwatch.py"
)

ADMIN = {"Effect": "Allow", "Action": "*", "Resource": "*"}
READ_LOGS = {"Effect": "Allow", "Action": ["logs:Describe*", "logs:Get*", "logs:FilterLogEvents",
                                           "cloudwatch:GetMetricData"], "Resource": "*"}
HTMX = {"HX-Request": "true"}

TRAIN = """
import time
for epoch in range(1, 6):
    print(f"epoch {epoch} train_loss={1.0 / epoch:.4f}", flush=True)
    time.sleep(0.4)
open('/opt/ml/model/model.txt', 'w').write('weights')
"""
FAIL = """
print('reading the data', flush=True)
open('/opt/ml/output/failure', 'w').write('AlgorithmError: the data has no label column')
raise SystemExit(1)
"""
SLOW = """
import time

for i in range(1, 100000):
    print(f"line {i}", flush=True)
    time.sleep(0.3)
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory, database_url_factory):
    started = start_server(tmp_path_factory.mktemp("console-jobs-home"), database_url_factory(),
                           {"CHARTER_LOCAL_CPUS": "4"})
    started.client(service="s3").create_bucket(Bucket="jobs")
    yield started
    stop_server(started)


@pytest.fixture(scope="module")
def admin(server):
    browser = Browser(server.endpoint)
    browser.sign_in(make_user(server.client(service="iam"), ADMIN))
    return browser


@pytest.fixture(scope="module")
def jobs(server, admin):
    """The processing list's empty state first; then a completed and a failed training job, and a running
    processing job (stopped by the Stop test)."""
    empty = admin.get("/console/processing-jobs")
    assert empty.status_code == 200 and "No processing jobs yet" in empty.text
    sm, role = server.client(), execution_role(server)
    sm.create_training_job(**training_request(
        server, "fits", role, TRAIN, HyperParameters={"epochs": "5", "learning_rate": "0.1"},
        MetricDefinitions=[{"Name": "train:loss", "Regex": r"train_loss=([0-9.]+)"}]))
    sm.create_training_job(**training_request(server, "breaks", role, FAIL))
    code = upload_script(server, "slow", SLOW)
    sm.create_processing_job(
        ProcessingJobName="slow-lines", RoleArn=role,
        AppSpecification={"ImageUri": SKLEARN_IMAGE,
                          "ContainerEntrypoint": ["python3", "/opt/ml/processing/input/code/script.py"]},
        ProcessingResources={"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.t3.medium", "VolumeSizeInGB": 5}},
        ProcessingInputs=[{"InputName": "code", "S3Input": {"S3Uri": code, "LocalPath": "/opt/ml/processing/input/code",
                                                            "S3DataType": "S3Prefix", "S3InputMode": "File"}}],
        StoppingCondition={"MaxRuntimeInSeconds": 600},
    )
    for name in ("fits", "breaks"):
        wait_for(lambda name=name: sm.describe_training_job(TrainingJobName=name), "TrainingJobStatus")
    yield sm
    try:
        sm.stop_processing_job(ProcessingJobName="slow-lines")
    except sm.exceptions.ClientError:
        pass  # the Stop test stopped it


def text_of(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def rows_of(page: str) -> dict[str, str]:
    """The list's rows, by job name: the row's text."""
    body = re.search(r"<tbody>(.*?)</tbody>", page, re.DOTALL)
    rows = re.findall(r"<tr>(.*?)</tr>", body[1], re.DOTALL) if body else []
    return {re.search(r'id="job-link-([^"]+)"', row)[1]: text_of(row) for row in rows}


def poller_of(page: str) -> str | None:
    found = re.search(r'id="log-poller"[^>]*hx-get="([^"]+)"', page)
    return html.unescape(found[1]) if found else None


def log_lines(page: str) -> list[str]:
    return [html.unescape(line).rstrip("\n") for line in re.findall(r"<span>(.*?)</span>", page, re.DOTALL)
            if line.endswith("\n")]


def test_the_lists_show_status_duration_instances_and_filter(admin, jobs):
    page = admin.get("/console/training-jobs")
    assert page.status_code == 200
    rows = rows_of(page.text)
    assert set(rows) == {"fits", "breaks"}
    assert "Completed" in rows["fits"] and "ml.m5.large × 1" in rows["fits"] and " s" in rows["fits"]
    assert "Failed" in rows["breaks"] and "the data has no label column" in rows["breaks"]
    assert 'hx-trigger="every 5s"' not in page.text  # nothing on the page runs: no refreshing

    failed = admin.get("/console/training-jobs", params={"status": "Failed"})
    assert set(rows_of(failed.text)) == {"breaks"}
    assert set(rows_of(admin.get("/console/training-jobs", params={"q": "fit"}).text)) == {"fits"}
    nothing = admin.get("/console/training-jobs", params={"q": "absent"})
    assert "No training jobs match" in nothing.text and "absent" in nothing.text
    spaced = admin.get("/console/training-jobs", params={"q": "my job"})
    assert spaced.status_code == 200 and "Job names hold only letters, digits and hyphens" in spaced.text

    by_name = admin.get("/console/training-jobs", params={"sort": "Name", "order": "Ascending", "size": "1"})
    assert list(rows_of(by_name.text)) == ["breaks"]
    following = re.search(r'<a href="([^"]+)" rel="next">', by_name.text)[1]
    second = admin.get(html.unescape(following))
    assert list(rows_of(second.text)) == ["fits"]
    back = re.search(r'<a href="([^"]+)" rel="prev">', second.text)[1]
    assert list(rows_of(admin.get(html.unescape(back)).text)) == ["breaks"]

    running = admin.get("/console/processing-jobs")
    assert "InProgress" in rows_of(running.text)["slow-lines"]
    assert 'hx-trigger="every 5s"' in running.text  # a running job: the table refreshes itself
    table = admin.get("/console/processing-jobs", headers=HTMX)
    assert table.text.lstrip().startswith('<div id="jobs-table"') and "<nav" not in table.text.split("jobs-table")[0]


def test_a_training_job_page_shows_its_parameters_transitions_metrics_and_log(admin, jobs):
    page = admin.get("/console/training-jobs/fits")
    assert page.status_code == 200, text_of(page.text)
    text = text_of(page.text)
    for shown in ("learning_rate", "0.1", "ml.m5.large", "train:loss", "SageMakerExecution", "5 min 00 s"):
        assert shown in text, shown
    statuses = re.findall(r'<span class="badge [a-z]+">(\w+)</span>', page.text.split('class="timeline"')[1].split("</ol>")[0])
    assert statuses == ["Starting", "Downloading", "Training", "Uploading", "Completed"]
    assert 'href="/console/artifacts/jobs/code/fits/"' in page.text  # the code channel, on the artifacts page
    assert 'href="/console/artifacts/jobs/output/fits/output/"' in page.text  # the model artifacts' folder
    final = re.search(r"<td>train:loss</td><td class=\"num\">([0-9.]+)</td>", page.text)
    assert final and float(final[1]) == pytest.approx(0.2)
    chart = page.text.split('id="job-metrics"')[1]
    assert "<svg" in chart and "Averages per 1 s" in chart  # plotted over time, second by second
    assert log_lines(page.text)[:2] == ["epoch 1 train_loss=1.0000", "epoch 2 train_loss=0.5000"]
    assert poller_of(page.text) is None  # it has ended: nothing to follow
    stream = re.search(r'<code id="log-stream">([^<]+)</code>', page.text)[1]
    download = admin.get("/console/training-jobs/fits/logs", params={"stream": stream, "format": "text"})
    assert download.headers["content-disposition"] == f'attachment; filename="{stream.replace("/", "_")}.log"'
    assert download.text.splitlines() == [f"epoch {i} train_loss={1.0 / i:.4f}" for i in range(1, 6)]
    assert "Stop training job" not in page.text

    failed = admin.get("/console/training-jobs/breaks").text
    assert "Failure reason" in failed and "the data has no label column" in failed
    missing = admin.get("/console/training-jobs/never-made")
    # SageMaker answers ResourceNotFound with 400; the page is a 404 that says what was not found.
    assert missing.status_code == 404 and "That could not be found" in missing.text
    assert "Training job 'never-made' does not exist" in html.unescape(missing.text)


def test_the_logs_fragment_returns_the_new_lines_and_a_next_token(admin, jobs):
    deadline = time.monotonic() + 60
    while True:
        page = admin.get("/console/processing-jobs/slow-lines").text
        if log_lines(page) or time.monotonic() > deadline:
            break
        assert "Waiting for the first log line" in page
        time.sleep(0.5)
    first = log_lines(page)
    assert first and first[0] == "line 1"
    poll = poller_of(page)
    assert poll and "token=" in poll
    time.sleep(1.0)
    fragment = admin.get(poll, headers=HTMX)
    assert fragment.status_code == 200
    assert 'hx-swap-oob="beforeend:#log-lines"' in fragment.text
    more = log_lines(fragment.text)
    last = int(first[-1].split()[1])
    assert more and more[0] == f"line {last + 1}"  # exactly the lines after the page's: none twice, none lost
    after = poller_of(fragment.text)
    assert after and after != poll and "<html" not in fragment.text
    assert 'id="job-state"' not in fragment.text  # the job did not move on: its panel is left alone
    assert re.search(r'<span id="job-duration" hx-swap-oob="true">\d+ s so far</span>', fragment.text)


def test_a_persona_without_stop_sees_no_stop_and_is_refused_when_posting(server, jobs):
    reader = Browser(server.endpoint)
    reader.sign_in(make_user(server.client(service="iam"), READ_SAGEMAKER, READ_LOGS))
    page = reader.get("/console/processing-jobs/slow-lines")
    assert page.status_code == 200 and "InProgress" in page.text
    assert "Stop processing job" not in page.text and "/stop" not in page.text
    refused = reader.post("/console/processing-jobs/slow-lines/stop", {}, token=csrf_of(page.text))
    assert refused.status_code == 403
    assert "sagemaker:StopProcessingJob" in text_of(refused.text)
    assert jobs.describe_processing_job(ProcessingJobName="slow-lines")["ProcessingJobStatus"] == "InProgress"


def test_stop_after_a_confirmation_stops_the_running_job(admin, jobs):
    page = admin.get("/console/processing-jobs/slow-lines").text
    assert 'href="/console/processing-jobs/slow-lines/stop"' in page
    confirm = admin.get("/console/processing-jobs/slow-lines/stop")
    assert confirm.status_code == 200 and "Stop processing job slow-lines?" in text_of(confirm.text)
    assert jobs.describe_processing_job(ProcessingJobName="slow-lines")["ProcessingJobStatus"] == "InProgress"
    without = admin.client.post("/console/processing-jobs/slow-lines/stop", data={})
    assert without.status_code == 403  # no CSRF token: refused, nothing done
    assert jobs.describe_processing_job(ProcessingJobName="slow-lines")["ProcessingJobStatus"] == "InProgress"

    stopped = admin.post("/console/processing-jobs/slow-lines/stop", {}, token=csrf_of(confirm.text))
    assert stopped.status_code == 303 and stopped.headers["location"] == "/console/processing-jobs/slow-lines"
    after = admin.get(stopped.headers["location"]).text
    assert "Stopping the processing job slow-lines" in after
    assert re.search(r'id="job-status"><span class="badge \w+">(Stopping|Stopped)<', after)
    job = wait_for(lambda: jobs.describe_processing_job(ProcessingJobName="slow-lines"), "ProcessingJobStatus", 60)
    assert job["ProcessingJobStatus"] == "Stopped"
    final = admin.get("/console/processing-jobs/slow-lines").text
    assert poller_of(final) is None and "Stop processing job" not in final
