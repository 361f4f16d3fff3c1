"""The job engine (charter.runtime.engine) with a runner of the test's own: how a job of any kind is
claimed, run, finished, handed back and failed, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from charter.instance import Instance
from charter.runtime import engine
from charter.runtime.engine import Engine, JobProblem, Outcome
from charter.store import resources as store

JOB_TYPE = "engine-test-job"


class Recorder:
    """Runs a job by doing what its document's ``Do`` says."""

    resource_type = JOB_TYPE
    name = "engine-test"
    interrupted = "interrupted too often"

    def __init__(self):
        self.ran: list[str] = []
        self.gate: threading.Event | None = None

    def prepare(self, conn, job):
        if job.document.get("Do") == "refuse":
            raise JobProblem("the input is gone")
        return dict(job.document)

    def run(self, job_arn, prepared):
        self.ran.append(job_arn)
        if self.gate is not None:
            self.gate.wait(10)
        if prepared.get("Do") == "crash":
            raise RuntimeError("boom")
        return Outcome("Completed", document={"Result": prepared["Input"] * 2})


@pytest.fixture(scope="module")
def instance(tmp_path_factory, database_url_factory):
    made = Instance.from_env(home=str(tmp_path_factory.mktemp("engine")), database_url=database_url_factory())
    yield made
    made.close()


@pytest.fixture(autouse=True)
def no_jobs_left(instance):
    yield
    with instance.transaction() as conn:  # each test starts with none due
        for arn in conn.execute(engine.Documents(JOB_TYPE).query()).scalars().all():
            store.remove(conn, store.get(conn, arn))


def make_job(instance, **document) -> str:
    name = uuid.uuid4().hex[:12]
    arn = f"arn:aws:sagemaker:us-east-1:123456789012:engine-test-job/{name}"
    with instance.transaction() as conn:
        store.create(conn, arn=arn, account="123456789012", region="us-east-1", resource_type=JOB_TYPE, name=name,
                     document={"Status": "InProgress", "Input": 21, **document}, status="InProgress")
    return arn


def job(instance, arn) -> dict:
    with instance.transaction(write=False) as conn:
        return store.get(conn, arn).document


def test_a_job_runs_once_and_its_outcome_is_recorded(instance):
    runner = Recorder()
    worker = Engine(instance, runner, lease=30)
    arn = make_job(instance)
    assert worker.run_once()
    assert not worker.run_once()
    assert runner.ran == [arn]
    done = job(instance, arn)
    assert done["Status"] == "Completed" and done["Result"] == 42
    assert engine.LEASE_KEY not in done and engine.public({"a": 1, engine.LEASE_KEY: {}}) == {"a": 1}


def test_problems_and_crashes_fail_the_job_with_a_reason_and_the_engine_goes_on(instance):
    runner = Recorder()
    worker = Engine(instance, runner, lease=30)
    refused, crashed, fine = make_job(instance, Do="refuse"), make_job(instance, Do="crash"), make_job(instance)
    while worker.run_once():
        pass
    assert job(instance, refused)["FailureReason"] == "the input is gone"
    assert job(instance, refused)["Status"] == "Failed" and refused not in runner.ran
    assert job(instance, crashed)["Status"] == "Failed"
    assert job(instance, crashed)["FailureReason"] == "RuntimeError: boom"
    assert job(instance, fine)["Status"] == "Completed"


def test_a_claimed_job_is_not_run_twice_while_its_lease_holds(instance):
    first, second = Recorder(), Recorder()
    first.gate = threading.Event()
    arn = make_job(instance)
    running = threading.Thread(target=Engine(instance, first, lease=30).run_once)
    running.start()
    deadline = time.time() + 10
    while not first.ran and time.time() < deadline:
        time.sleep(0.01)
    assert first.ran == [arn]
    assert not Engine(instance, second, lease=30).run_once()  # the other engine finds it leased
    first.gate.set()
    running.join(10)
    assert second.ran == [] and job(instance, arn)["Status"] == "Completed"


def test_a_late_answer_after_a_takeover_is_ignored(instance):
    arn = make_job(instance)
    crashed = Engine(instance, Recorder(), lease=0.2)
    assert crashed._claim() is not None
    time.sleep(0.3)
    assert Engine(instance, Recorder(), lease=30).run_once()
    crashed._finish(arn, Outcome("Failed", "too late"))
    assert job(instance, arn)["Status"] == "Completed"


def test_release_hands_jobs_back_without_counting_the_attempt_and_attempts_are_bounded(instance):
    arn = make_job(instance)
    stopping = Engine(instance, Recorder(), lease=300)
    assert stopping._claim() is not None
    assert stopping.release() == 1
    assert job(instance, arn)[engine.LEASE_KEY]["Attempts"] == 0

    for _ in range(3):  # three claims whose processes "die"
        assert Engine(instance, Recorder(), lease=0.01)._claim() is not None
        time.sleep(0.02)
    runner = Recorder()
    assert not Engine(instance, runner, lease=30, max_attempts=3).run_once()
    assert runner.ran == []
    failed = job(instance, arn)
    assert failed["Status"] == "Failed" and failed["FailureReason"] == "interrupted too often"


def test_a_started_engine_is_woken_by_notify(instance):
    runner = Recorder()
    worker = Engine(instance, runner, lease=30, poll=60)  # it would not look again for a minute
    worker.start()
    try:
        time.sleep(0.2)
        arn = make_job(instance)
        engine.notify(JOB_TYPE)
        deadline = time.time() + 10
        while job(instance, arn)["Status"] == "InProgress" and time.time() < deadline:
            time.sleep(0.05)
        assert job(instance, arn)["Status"] == "Completed"
    finally:
        worker.stop()
