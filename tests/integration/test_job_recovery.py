"""Nothing lost: the server killed with SIGKILL while jobs run, then started again.

A job still running is re-attached (its log goes on where it stopped, no line
lost or repeated, and it completes); a job whose processes died while no
server watched is failed with a reason, never left InProgress.
"""

from __future__ import annotations

import json
import os
import signal
import time

import pytest

from conftest import start_server
from jobs_support import execution_role, log_messages, training_request, wait_for
from pg import free_port

GROUP = "/aws/sagemaker/TrainingJobs"


@pytest.fixture
def home(tmp_path):
    return tmp_path / "home"


@pytest.fixture
def database_url(database_url_factory):
    return database_url_factory()


def _kill(server) -> None:
    server.process.send_signal(signal.SIGKILL)
    server.process.wait(timeout=10)


def _job_dirs(home, name):
    return sorted((home / "jobs" / "training-job").glob(f"{name}-*/algo-*"))


def test_a_running_job_is_reattached_after_a_kill_and_loses_no_line(home, database_url):
    port = free_port()
    server = start_server(home, database_url, port=port)
    try:
        server.client(service="s3").create_bucket(Bucket="jobs")
        role = execution_role(server)
        sm = server.client()
        script = "\n".join([
            "import time",
            "for i in range(60):",
            "    print(f'line {i}', flush=True)",
            "    time.sleep(0.1)",
            "open('/opt/ml/model/done.txt', 'w').write('ok')",
        ])
        sm.create_training_job(**training_request(server, "survivor", role, script))
        deadline = time.time() + 60
        while not any("line 10" in lines for lines in log_messages(server, GROUP, "survivor/").values()):
            assert time.time() < deadline, "the job never got going"
            time.sleep(0.1)
        _kill(server)
        time.sleep(2)  # the job goes on writing while no server watches
        server = start_server(home, database_url, port=port)
        sm = server.client()
        job = wait_for(lambda: sm.describe_training_job(TrainingJobName="survivor"), "TrainingJobStatus", timeout=90)
        assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
        (lines,) = log_messages(server, GROUP, "survivor/").values()
        assert lines == [f"line {i}" for i in range(60)]
        assert job["ModelArtifacts"]["S3ModelArtifacts"].endswith("survivor/output/model.tar.gz")
    finally:
        server.process.kill()
        server.process.wait()


def test_a_job_whose_processes_died_while_the_server_was_down_fails_with_a_reason(home, database_url):
    port = free_port()
    server = start_server(home, database_url, port=port)
    try:
        server.client(service="s3").create_bucket(Bucket="jobs")
        role = execution_role(server)
        sm = server.client()
        sm.create_training_job(**training_request(server, "orphan", role,
                                                  "import time; print('up', flush=True); time.sleep(300)"))
        deadline = time.time() + 60
        while not any("up" in lines for lines in log_messages(server, GROUP, "orphan/").values()):
            assert time.time() < deadline
            time.sleep(0.1)
        _kill(server)
        # The host's supervisor first (the one process whose command line names its plan), so that
        # nothing records how the container ended; then the container.
        import psutil

        for process in psutil.process_iter(["cmdline"]):
            if any("orphan-" in part and part.endswith("plan.json") for part in process.info["cmdline"] or []):
                process.kill()
                process.wait(10)
        for directory in _job_dirs(home, "orphan"):
            os.killpg(json.loads((directory / "child.json").read_text())["Pid"], signal.SIGKILL)
        server = start_server(home, database_url, port=port)
        sm = server.client()
        job = wait_for(lambda: sm.describe_training_job(TrainingJobName="orphan"), "TrainingJobStatus", timeout=90)
        assert job["TrainingJobStatus"] == "Failed"
        assert job["FailureReason"].startswith("InternalServerError: the training job's processes ended while Charter")
    finally:
        server.process.kill()
        server.process.wait()


def test_retry_strategy_starts_a_job_over_after_an_internal_error(home, database_url):
    import psutil

    server = start_server(home, database_url)
    try:
        server.client(service="s3").create_bucket(Bucket="jobs")
        role = execution_role(server)
        sm = server.client()
        script = "import time; print('up', flush=True); time.sleep(4); open('/opt/ml/model/m.txt', 'w').write('1')"
        sm.create_training_job(**training_request(server, "retried", role, script,
                                                  RetryStrategy={"MaximumRetryAttempts": 1}))
        deadline = time.time() + 60
        while not any("up" in lines for lines in log_messages(server, GROUP, "retried/").values()):
            assert time.time() < deadline
            time.sleep(0.1)
        # The host's supervisor and container disappear as a crashed machine's would.
        for process in psutil.process_iter(["cmdline"]):
            if any("retried-" in part and part.endswith("plan.json") for part in process.info["cmdline"] or []):
                process.kill()
                process.wait(10)
        for directory in _job_dirs(home, "retried"):
            os.killpg(json.loads((directory / "child.json").read_text())["Pid"], signal.SIGKILL)
        job = wait_for(lambda: sm.describe_training_job(TrainingJobName="retried"), "TrainingJobStatus", timeout=90)
        assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
        assert "Restarting" in [t["Status"] for t in job["SecondaryStatusTransitions"]]
        assert job["RetryStrategy"] == {"MaximumRetryAttempts": 1}
        assert len(log_messages(server, GROUP, "retried/")) >= 1
    finally:
        server.process.kill()
        server.process.wait()
