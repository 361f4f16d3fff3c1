"""Job engine benchmark: how fast Charter starts, packs and runs training and processing jobs.

Run from the repository root (see benchmarks/README.md)::

    .venv/bin/python benchmarks/jobs.py            # 10 trivial jobs, 200 sleeping jobs, a ~60 s XGBoost fit (~6 min)
    .venv/bin/python benchmarks/jobs.py --quick    # 3 trivial jobs, 32 short sleeps, a ~3 s fit (under a minute)

Method
------
One Charter server (``python -m charter.cli.main server``, SQLite in a temporary
CHARTER_HOME, the LocalExecutor) is started with ``CHARTER_LOCAL_CPUS`` =
``--cpus`` (default 8) and ``CHARTER_LOCAL_MEMORY_MIB`` set so that memory never
limits admission more than CPUs do; everything goes through boto3 as a user's
code would, with an IAM role that SageMaker may assume.

1. **Latency of one trivial job.**  ``CreateTrainingJob`` with the scikit-learn
   image and ``ContainerEntrypoint`` running a script (a ``code`` channel) that
   does ``print('hello')``, on ml.m5.large, one job at a time, after one
   unmeasured warm-up job.  The client then polls CloudWatch Logs every
   ``--poll`` seconds (DescribeLogStreams for ``<job>/``, then GetLogEvents from
   the head) until the line is there, and DescribeTrainingJob until it says
   Completed.  Times run from just before the create call.  The job's own
   timestamps (CreationTime, the SecondaryStatusTransitions, TrainingEndTime,
   the log event's timestamp) split that time into phases.  Aim: first line
   under 1 s (on the LocalExecutor).
1b. **The same on Ray.**  A Ray head on this machine, started as ``charter
   server --ray`` starts one (``--cpus`` CPUs), and a second Charter server
   with ``CHARTER_RAY_ADDRESS`` pointing at it; the same trivial jobs, measured
   the same way.  Each host is then a Ray actor (a worker process Ray starts)
   that starts the host's supervisor, and the server polls it through Ray.  No
   aim; the figures show what Ray adds.
2. **A burst of small processing jobs.**  ``--batch`` processing jobs on
   ml.t3.medium (2 vCPUs), each ``time.sleep`` of a seeded random duration in
   ``--sleep`` (given through ContainerArguments), created at once from 8
   client threads.  All of them must end Completed (none lost, none failed).
   Slots = ``--cpus`` / the instance type's vCPUs (8 / 2 = 4).  A job's time is
   its ProcessingStartTime..ProcessingEndTime; the ideal makespan is the sum of
   those over the slots; the makespan runs from just before the first create
   call to the last ProcessingEndTime.  Aim: makespan within 10% of the ideal.
   The same sums over the sleeps alone show what each job costs beyond its work.
3. **The built-in XGBoost against a script of xgboost.**  UCI Adult from
   ``../shared/data`` (``charter.datasets.fairness.adult``), prepared as the
   SageMaker examples do (numeric, one-hot, label first, no header; 80/20 train
   and validation split), the training file repeated ``--xgb-repeat`` times.  The
   direct fit: ``pandas.read_csv`` of both files, DMatrix,
   ``xgboost.train`` with the same hyperparameters and rounds, evaluating train
   and validation each round, ``save_model``, as a script a user runs:
   a fresh ``python`` process pinned to the instance type's vCPUs (as the job's
   host is), timed from its start to its exit (interpreter and imports included:
   xgboost imports scikit-learn and SciPy, some 2.5 s here); nthread = those vCPUs.  Unless ``--xgb-rounds`` is given, a
   short direct fit first measures the time per round and num_round is chosen
   so that the direct run takes about ``--xgb-seconds``.  Then the same data
   (uploaded to S3 beforehand, not timed) goes to ``CreateTrainingJob`` with the
   XGBoost 1.7-1 image URI on ml.m5.large, and the direct fit runs once more:
   the direct time is the mean of the runs before and after the job, so that a
   change of load during the run weighs on both sides.  Overhead = the job's
   wall time (create to Completed as DescribeTrainingJob shows it, polled every
   0.25 s) / the direct time - 1.  Aim: under 5% on a 60 s job.  Both models'
   last validation AUC are compared (same data, parameters and rounds: equal).

Results go to the terminal as a Rich table, with each aim and whether it is met,
and to ``benchmarks/results/jobs.json`` (``rows`` in the form ``quick.py`` reads).

Caveats
-------
- The client, the server and the jobs share the machine's CPUs (2 on the
  reference machine), so the client's polling costs the server some time; the
  phases come from the server's own timestamps, which polling does not round.
- ``--cpus`` may declare more CPUs than there are (jobs then share them): the
  sleeping jobs need almost none, but their start-up (three Python processes:
  supervisor, sandbox, script) competes for the real cores.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import boto3
from botocore.config import Config
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
import api as harness  # noqa: E402
from api import Server, free_port, percentile  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results" / "jobs.json"
REGION = harness.REGION
KEY, SECRET = harness.CHARTER_KEY, harness.CHARTER_SECRET
BUCKET = "bench-jobs"
SKLEARN_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
XGBOOST_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
TRAINING_GROUP = "/aws/sagemaker/TrainingJobs"
TERMINAL = ("Completed", "Failed", "Stopped")
TRAINING_TYPE = "ml.m5.large"  # 2 vCPUs
BATCH_TYPE = "ml.t3.medium"  # 2 vCPUs, 4 GiB
XGB_PARAMS = {"objective": "binary:logistic", "max_depth": 5, "eta": 0.2, "eval_metric": "auc"}

AIM_FIRST_LINE_S = 1.0
AIM_MAKESPAN = 1.10  # makespan / ideal
AIM_OVERHEAD = 0.05  # job wall / direct - 1

TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
S3_ACCESS = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}

HELLO_PY = "print('hello')\n"
SLEEP_PY = "import sys, time\ntime.sleep(float(sys.argv[1]))\nprint('slept', sys.argv[1])\n"

console = Console()
if not console.is_terminal:  # piped or captured: do not squeeze the table into 80 columns
    console = Console(width=140)


# --- the server and its clients ---------------------------------------------------


def start_server(workdir: Path, cpus: int, memory_mib: int, poll_seconds: float | None,
                 ray_address: str | None = None) -> Server:
    """A Charter server of our own with the LocalExecutor's capacity declared (or on the Ray cluster at
    ``ray_address``)."""
    home = workdir / "charter-home"
    home.mkdir(parents=True)
    port = free_port()
    env = {**os.environ, "CHARTER_HOME": str(home), "CHARTER_PORT": str(port),
           "CHARTER_ROOT_ACCESS_KEY_ID": KEY, "CHARTER_ROOT_SECRET_ACCESS_KEY": SECRET,
           "CHARTER_LOCAL_CPUS": str(cpus), "CHARTER_LOCAL_MEMORY_MIB": str(memory_mib)}
    for variable in ("CHARTER_DATABASE_URL", "CHARTER_JOB_POLL_SECONDS", "CHARTER_RAY_ADDRESS"):
        env.pop(variable, None)
    if poll_seconds is not None:
        env["CHARTER_JOB_POLL_SECONDS"] = str(poll_seconds)
    if ray_address:
        env |= {"CHARTER_RAY_ADDRESS": ray_address, "RAY_USAGE_STATS_ENABLED": "0"}
    log_path = workdir / "charter.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "charter.cli.main", "server", "--log-level", "warning"],
            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
    server = Server("Charter", f"http://127.0.0.1:{port}", KEY, SECRET, process, log_path)
    harness._wait_until_up(server, "/health")
    return server


def client(server: Server, service: str = "sagemaker"):
    # One session per client: boto3's default session is not safe to share between threads.
    return boto3.session.Session().client(
        service, endpoint_url=server.endpoint, region_name=REGION, aws_access_key_id=KEY,
        aws_secret_access_key=SECRET,
        config=Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=10, read_timeout=120,
                      **({"s3": {"addressing_style": "path"}} if service == "s3" else {})),
    )


def execution_role(server: Server) -> str:
    iam = client(server, "iam")
    arn = iam.create_role(RoleName="BenchJobs", AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
    iam.put_role_policy(RoleName="BenchJobs", PolicyName="s3", PolicyDocument=json.dumps(S3_ACCESS))
    return arn


def upload_code(s3, name: str, script: str) -> str:
    s3.put_object(Bucket=BUCKET, Key=f"code/{name}/script.py", Body=script.encode())
    return f"s3://{BUCKET}/code/{name}/"


def _seconds(value) -> float | None:
    """A timestamp member of a describe answer as epoch seconds (boto3 gives datetimes)."""
    if value is None:
        return None
    return value.timestamp() if hasattr(value, "timestamp") else float(value)


def wait_terminal(describe, key: str, timeout: float, poll: float) -> tuple[dict, float]:
    """Poll until the job is terminal; (its description, time.time() when that was first seen)."""
    deadline = time.time() + timeout
    while True:
        job = describe()
        if job[key] in TERMINAL:
            return job, time.time()
        if time.time() > deadline:
            raise RuntimeError(f"the job is still {job[key]} after {timeout:.0f} s")
        time.sleep(poll)


# --- 1. one trivial training job -----------------------------------------------


def trivial_request(name: str, role: str, code_uri: str) -> dict:
    return {
        "TrainingJobName": name,
        "RoleArn": role,
        "AlgorithmSpecification": {"TrainingImage": SKLEARN_IMAGE, "TrainingInputMode": "File",
                                   "ContainerEntrypoint": ["python3", "/opt/ml/input/data/code/script.py"]},
        "InputDataConfig": [{"ChannelName": "code", "DataSource": {"S3DataSource": {
            "S3DataType": "S3Prefix", "S3Uri": code_uri}}}],
        "OutputDataConfig": {"S3OutputPath": f"s3://{BUCKET}/output"},
        "ResourceConfig": {"InstanceType": TRAINING_TYPE, "InstanceCount": 1, "VolumeSizeInGB": 5},
        "StoppingCondition": {"MaxRuntimeInSeconds": 300},
    }


def _first_event(logs, name: str) -> dict | None:
    try:
        streams = logs.describe_log_streams(logGroupName=TRAINING_GROUP, logStreamNamePrefix=f"{name}/")["logStreams"]
    except logs.exceptions.ResourceNotFoundException:
        return None  # no job has written a line yet: the group does not exist
    for stream in streams:
        events = logs.get_log_events(logGroupName=TRAINING_GROUP, logStreamName=stream["logStreamName"],
                                     startFromHead=True, limit=1)["events"]
        if events:
            return events[0]
    return None


def one_trivial_job(sm, logs, name: str, role: str, code_uri: str, poll: float, timeout: float = 120) -> dict:
    began = time.time()
    sm.create_training_job(**trivial_request(name, role, code_uri))
    created = time.time()
    event, line_at, job, done_at = None, None, None, None
    deadline = began + timeout
    checks = 0
    # First the log (the line is shipped before the job can be Completed), then the status.
    while event is None and time.time() < deadline:
        event = _first_event(logs, name)
        if event is not None:
            line_at = time.time()
            break
        checks += 1
        if checks % 10 == 0:  # a job that fails before printing would leave us waiting for ever
            job = sm.describe_training_job(TrainingJobName=name)
            if job["TrainingJobStatus"] in TERMINAL:
                break
        time.sleep(poll)
    if job is None or job["TrainingJobStatus"] not in TERMINAL:
        job, done_at = wait_terminal(lambda: sm.describe_training_job(TrainingJobName=name), "TrainingJobStatus",
                                     max(1.0, deadline - time.time()), poll)
    status = job["TrainingJobStatus"]
    if status != "Completed" or event is None or event["message"] != "hello":
        raise RuntimeError(f"{name}: {status} ({job.get('FailureReason')}); first log event {event}")
    transitions = {t["Status"]: _seconds(t["StartTime"]) for t in job["SecondaryStatusTransitions"]}
    creation = _seconds(job["CreationTime"])
    return {
        "name": name,
        "create_call_s": created - began,
        "first_line_s": line_at - began,
        "completed_s": done_at - began if done_at else None,
        # The server's own clock, from CreationTime: not rounded by our polling.
        "phases_s": {
            "claimed (Starting)": transitions["Starting"] - creation,
            "staged (Training)": transitions["Training"] - transitions["Starting"],
            "line shipped": event["timestamp"] / 1000 - transitions["Training"],
            "process ended (Uploading)": transitions["Uploading"] - transitions["Training"],
            "collected (TrainingEndTime)": _seconds(job["TrainingEndTime"]) - transitions["Uploading"],
        },
        "server_first_line_s": event["timestamp"] / 1000 - creation,
        "server_completed_s": _seconds(job["TrainingEndTime"]) - creation,
    }


def _stats(values: list[float]) -> dict:
    ordered = sorted(v for v in values if v is not None)
    if not ordered:
        return {"median": None, "p90": None, "min": None, "max": None}
    return {"median": statistics.median(ordered), "p90": percentile(ordered, 0.90),
            "min": ordered[0], "max": ordered[-1]}


def latency_phase(server: Server, role: str, repetitions: int, poll: float, executor: str = "local") -> dict:
    sm, logs, s3 = client(server), client(server, "logs"), client(server, "s3")
    code_uri = upload_code(s3, "hello", HELLO_PY)
    with console.status(f"trivial job ({executor}): warm-up"):
        warm = one_trivial_job(sm, logs, "hello-warmup", role, code_uri, poll)
    runs = []
    for i in range(repetitions):
        with console.status(f"trivial job ({executor}) {i + 1}/{repetitions}"):
            runs.append(one_trivial_job(sm, logs, f"hello-{i:02d}", role, code_uri, poll))
    phases = {phase: _stats([r["phases_s"][phase] for r in runs])["median"] for phase in runs[0]["phases_s"]}
    return {
        "repetitions": repetitions,
        "client_poll_s": poll,
        "warmup": warm,
        "runs": runs,
        "first_line_s": _stats([r["first_line_s"] for r in runs]),
        "completed_s": _stats([r["completed_s"] for r in runs]),
        "server_first_line_s": _stats([r["server_first_line_s"] for r in runs]),
        "server_completed_s": _stats([r["server_completed_s"] for r in runs]),
        "phase_medians_s": phases,
        "executor": executor,
    }


# --- 1b. the same on a Ray cluster ------------------------------------------------


def start_ray(workdir: Path, cpus: int, memory_mib: int) -> tuple[str, Path]:
    """A Ray head on this machine, as ``charter server --ray`` starts one; its address and temporary folder."""
    from charter.runtime.executors.ray import local_cluster

    address, _ = local_cluster(workdir / "ray-home", cpus=cpus, memory_mib=memory_mib)
    return address, Path(json.loads((workdir / "ray-home" / "ray-head.json").read_text())["TempDir"])


def stop_ray(temp_dir: Path) -> None:
    """End that head's processes only (those naming its temporary folder, and theirs): ``ray stop`` would
    end every Ray cluster on the machine."""
    import psutil

    found = {}
    for process in psutil.process_iter(["cmdline"]):
        if str(temp_dir) in " ".join(process.info["cmdline"] or []) and process.pid != os.getpid():
            found[process.pid] = process
            try:
                found.update((child.pid, child) for child in process.children(recursive=True))
            except psutil.Error:
                pass
    for process in found.values():
        try:
            process.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(list(found.values()), timeout=10)
    shutil.rmtree(temp_dir, ignore_errors=True)


# --- 2. a burst of small processing jobs -----------------------------------------


def sleep_request(name: str, role: str, code_uri: str, seconds: float) -> dict:
    return {
        "ProcessingJobName": name,
        "RoleArn": role,
        "AppSpecification": {"ImageUri": SKLEARN_IMAGE,
                             "ContainerEntrypoint": ["python3", "/opt/ml/processing/input/code/script.py"],
                             "ContainerArguments": [f"{seconds:.3f}"]},
        "ProcessingInputs": [{"InputName": "code", "S3Input": {
            "S3Uri": code_uri, "LocalPath": "/opt/ml/processing/input/code", "S3DataType": "S3Prefix",
            "S3InputMode": "File"}}],
        "ProcessingResources": {"ClusterConfig": {"InstanceCount": 1, "InstanceType": BATCH_TYPE,
                                                  "VolumeSizeInGB": 5}},
        "StoppingCondition": {"MaxRuntimeInSeconds": 300},
    }


def ideal_makespan(job_seconds: list[float], slots: int) -> float:
    """The shortest possible makespan's lower bound: all the work spread evenly over the slots
    (no schedule can beat it, and none can beat the longest job either)."""
    return max(sum(job_seconds) / slots, max(job_seconds, default=0.0))


def batch_phase(server: Server, role: str, count: int, sleep_range: tuple[float, float], slots: int,
                seed: int, threads: int = 8) -> dict:
    s3 = client(server, "s3")
    code_uri = upload_code(s3, "sleep", SLEEP_PY)
    rng = random.Random(seed)
    sleeps = [round(rng.uniform(*sleep_range), 3) for _ in range(count)]
    names = [f"batch-{i:04d}" for i in range(count)]
    clients = [client(server) for _ in range(threads)]
    errors: list[str] = []

    def create(i: int) -> None:
        try:
            clients[i % threads].create_processing_job(**sleep_request(names[i], role, code_uri, sleeps[i]))
        except Exception as exc:  # noqa: BLE001 - a refused create is a lost job: counted and shown
            errors.append(f"{names[i]}: {type(exc).__name__}: {exc}")

    sm = client(server)
    began = time.time()
    with ThreadPoolExecutor(threads) as pool:  # thread i creates every threads-th job, in order
        list(pool.map(create, range(count)))
    created = time.time()
    budget = 120 + 20 * sum(sleeps) / slots
    statuses: dict[str, str] = {}
    with console.status(f"{count} processing jobs") as status:
        while time.time() - began < budget:
            statuses = {}
            for page in sm.get_paginator("list_processing_jobs").paginate(NameContains="batch-",
                                                                          PaginationConfig={"PageSize": 100}):
                statuses.update({s["ProcessingJobName"]: s["ProcessingJobStatus"]
                                 for s in page["ProcessingJobSummaries"]})
            done = sum(1 for s in statuses.values() if s in TERMINAL)
            status.update(f"{count} processing jobs: {done} ended, {time.time() - began:.0f} s")
            if done >= count - len(errors):
                break
            time.sleep(1.0)
    seen_done = time.time()
    jobs = []
    for name, seconds in zip(names, sleeps):
        if name not in statuses:
            jobs.append({"name": name, "sleep_s": seconds, "status": "missing"})
            continue
        job = sm.describe_processing_job(ProcessingJobName=name)
        jobs.append({
            "name": name, "sleep_s": seconds, "status": job["ProcessingJobStatus"],
            "failure": job.get("FailureReason"),
            "created": _seconds(job["CreationTime"]), "start": _seconds(job.get("ProcessingStartTime")),
            "end": _seconds(job.get("ProcessingEndTime")),
        })
    completed = [j for j in jobs if j["status"] == "Completed" and j["start"] and j["end"]]
    job_seconds = [j["end"] - j["start"] for j in completed]
    last_end = max((j["end"] for j in completed), default=None)
    first_start = min((j["start"] for j in completed), default=None)
    ideal = ideal_makespan(job_seconds, slots) if job_seconds else None
    makespan = last_end - began if last_end else None
    # The most jobs running at one moment (a check that slots were neither exceeded nor left empty).
    edges = sorted([(j["start"], 1) for j in completed] + [(j["end"], -1) for j in completed])
    running = peak = 0
    for _, step in edges:
        running += step
        peak = max(peak, running)
    return {
        "jobs": count,
        "sleep_range_s": list(sleep_range),
        "slots": slots,
        "instance_type": BATCH_TYPE,
        "create_wall_s": created - began,
        "create_errors": errors[:5],
        "create_error_count": len(errors),
        "completed": len(completed),
        "not_completed": [{k: j.get(k) for k in ("name", "status", "failure")} for j in jobs
                          if j["status"] != "Completed"][:10],
        "not_completed_count": count - len(completed),
        "makespan_s": makespan,
        "scheduled_makespan_s": (last_end - first_start) if last_end else None,
        "seen_all_ended_s": seen_done - began,
        "ideal_s": ideal,
        "ratio": makespan / ideal if makespan and ideal else None,
        "sleep_ideal_s": ideal_makespan(sleeps, slots),
        "sleep_ratio": makespan / ideal_makespan(sleeps, slots) if makespan else None,
        "job_s": _stats(job_seconds),
        "job_minus_sleep_s": _stats([j["end"] - j["start"] - j["sleep_s"] for j in completed]),
        "queue_wait_s": _stats([j["start"] - j["created"] for j in completed]),
        "peak_running": peak,
        # Slot-seconds left empty over the makespan, per job: what each job cost beyond its own
        # Start..End time (waiting to be claimed, staging, the create burst).
        "idle_slot_s_per_job": (slots * makespan - sum(job_seconds)) / len(completed) if makespan and completed
        else None,
        "per_job": jobs,
    }


# --- 3. the built-in XGBoost against a script of xgboost ------------------------------


def adult_csv(folder: Path, repeat: int) -> dict:
    """Adult as the SageMaker examples give it to XGBoost: numeric, label first, no header; the
    training file repeated ``repeat`` times (the validation file once)."""
    import pandas as pd

    from charter.datasets import fairness

    frame = fairness.adult("train", drop_missing=True).drop(columns=["fnlwgt", "education"])
    label = (frame.pop("income").str.strip().str.rstrip(".") == ">50K").astype(int)
    numeric = pd.get_dummies(frame, dtype=float)
    numeric.insert(0, "label", label)
    cut = int(len(numeric) * 0.8)
    train = pd.concat([numeric.iloc[:cut]] * repeat, ignore_index=True) if repeat > 1 else numeric.iloc[:cut]
    folder.mkdir(parents=True, exist_ok=True)
    train.to_csv(folder / "train.csv", header=False, index=False)
    numeric.iloc[cut:].to_csv(folder / "validation.csv", header=False, index=False)
    return {"train_rows": len(train), "validation_rows": len(numeric) - cut, "features": numeric.shape[1] - 1,
            "train_mib": (folder / "train.csv").stat().st_size / 2**20}


def _direct_fit_here(folder: Path, rounds: int, nthread: int, out: Path) -> dict:
    """What a user's script does without Charter: read the CSVs, build DMatrices, train, save the model."""
    import pandas as pd
    import xgboost as xgb

    began = time.perf_counter()
    train = pd.read_csv(folder / "train.csv", header=None).to_numpy()
    validation = pd.read_csv(folder / "validation.csv", header=None).to_numpy()
    dtrain = xgb.DMatrix(train[:, 1:], label=train[:, 0])
    dvalidation = xgb.DMatrix(validation[:, 1:], label=validation[:, 0])
    read = time.perf_counter() - began
    history: dict = {}
    params = {**XGB_PARAMS, "eval_metric": [XGB_PARAMS["eval_metric"]], "nthread": nthread}
    booster = xgb.train(params, dtrain, num_boost_round=rounds, evals=[(dtrain, "train"), (dvalidation, "validation")],
                        verbose_eval=False, evals_result=history)
    booster.save_model(str(out))
    total = time.perf_counter() - began
    return {"seconds": total, "read_s": read, "fit_s": total - read, "rounds": rounds,
            "validation_auc": float(history["validation"]["auc"][-1])}


def direct_fit(folder: Path, rounds: int, nthread: int, out: Path) -> dict:
    """The same fit as a user runs it: ``python`` on a script, in a process of its own pinned to ``nthread``
    CPUs (as the job's host is), timed from start to exit, interpreter and imports (xgboost imports
    scikit-learn and SciPy) included."""
    began = time.perf_counter()
    result = subprocess.run([sys.executable, __file__, "--direct-fit", str(folder), str(rounds), str(nthread), str(out)],
                            capture_output=True, text=True, timeout=3600)
    wall = time.perf_counter() - began
    if result.returncode != 0:
        raise RuntimeError(f"the direct xgboost fit failed ({result.returncode}):\n{result.stderr[-2000:]}")
    inside = json.loads(result.stdout.strip().splitlines()[-1])
    return inside | {"seconds": wall, "in_process_s": inside["seconds"], "start_and_imports_s": wall - inside["seconds"]}


def _direct_fit_main(argv: list[str]) -> int:
    folder, rounds, nthread, out = Path(argv[0]), int(argv[1]), int(argv[2]), Path(argv[3])
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:nthread])
    print(json.dumps(_direct_fit_here(folder, rounds, nthread, out)))
    return 0


def xgboost_phase(server: Server, role: str, workdir: Path, repeat: int, rounds: int | None, target_s: float,
                  poll: float) -> dict:
    from charter.runtime.instance_types import lookup

    vcpus = lookup(TRAINING_TYPE).vcpus
    nthread = max(1, min(vcpus, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else vcpus))
    folder = workdir / "adult"
    with console.status(f"writing Adult x{repeat} as CSV"):
        data = adult_csv(folder, repeat)
    calibration = None
    if rounds is None:
        with console.status("calibrating num_round"):
            probe_rounds = 40
            probe = _direct_fit_here(folder, probe_rounds, nthread, workdir / "probe-model.ubj")
            per_round = probe["fit_s"] / probe_rounds
            # (about 2.5 s of the target go to the direct process's start and imports)
            rounds = max(10, round((target_s - 2.5 - probe["read_s"]) / per_round))
            calibration = {"probe_rounds": probe_rounds, "seconds_per_round": per_round, "read_s": probe["read_s"],
                           "target_s": target_s}
    with console.status(f"direct xgboost.train, {rounds} rounds"):
        before = direct_fit(folder, rounds, nthread, workdir / "direct-model.ubj")

    s3 = client(server, "s3")
    with console.status("uploading Adult to S3"):
        upload_began = time.perf_counter()
        for part in ("train", "validation"):
            s3.upload_file(str(folder / f"{part}.csv"), BUCKET, f"adult/{part}/{part}.csv")
        upload_s = time.perf_counter() - upload_began
    hyperparameters = {key: str(value) for key, value in XGB_PARAMS.items()} | {"num_round": str(rounds)}
    request = {
        "TrainingJobName": "xgboost-adult",
        "RoleArn": role,
        "AlgorithmSpecification": {"TrainingImage": XGBOOST_IMAGE, "TrainingInputMode": "File"},
        "HyperParameters": hyperparameters,
        "InputDataConfig": [
            {"ChannelName": part, "ContentType": "text/csv", "DataSource": {"S3DataSource": {
                "S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/adult/{part}/",
                "S3DataDistributionType": "FullyReplicated"}}}
            for part in ("train", "validation")
        ],
        "OutputDataConfig": {"S3OutputPath": f"s3://{BUCKET}/output"},
        "ResourceConfig": {"InstanceType": TRAINING_TYPE, "InstanceCount": 1, "VolumeSizeInGB": 10},
        "StoppingCondition": {"MaxRuntimeInSeconds": int(max(600, 20 * before["seconds"]))},
    }
    sm = client(server)
    with console.status(f"Charter training job, built-in XGBoost, {rounds} rounds"):
        began = time.time()
        sm.create_training_job(**request)
        job, done_at = wait_terminal(lambda: sm.describe_training_job(TrainingJobName="xgboost-adult"),
                                     "TrainingJobStatus", 40 * before["seconds"] + 300, poll)
    if job["TrainingJobStatus"] != "Completed":
        raise RuntimeError(f"the XGBoost job ended {job['TrainingJobStatus']}: {job.get('FailureReason')}")
    # The direct fit again, after the job: the baseline is the mean of the two, so that a change in
    # the machine's load during the run weighs on both sides alike.
    with console.status(f"direct xgboost.train again, {rounds} rounds"):
        after = direct_fit(folder, rounds, nthread, workdir / "direct-model.ubj")
    direct = {key: (before[key] + after[key]) / 2 for key in ("seconds", "read_s", "fit_s", "start_and_imports_s")}
    direct |= {"rounds": rounds, "validation_auc": before["validation_auc"], "runs_s": [before["seconds"],
                                                                                        after["seconds"]]}
    transitions = {t["Status"]: _seconds(t["StartTime"]) for t in job["SecondaryStatusTransitions"]}
    creation, end = _seconds(job["CreationTime"]), _seconds(job["TrainingEndTime"])
    metrics = {m["MetricName"]: m["Value"] for m in job.get("FinalMetricDataList", [])}
    charter_s = done_at - began
    return {
        "data": data | {"repeat": repeat},
        "hyperparameters": hyperparameters,
        "nthread": nthread,
        "calibration": calibration,
        "upload_s": upload_s,
        "direct": direct,
        "charter": {
            "seconds": charter_s,
            "server_seconds": end - creation,  # CreationTime to TrainingEndTime, no polling in it
            "phases_s": {
                "claimed (Starting)": transitions["Starting"] - creation,
                "staged (Downloading..Training)": transitions["Training"] - transitions["Starting"],
                "ran (Training..Uploading)": transitions["Uploading"] - transitions["Training"],
                "collected (Uploading..end)": end - transitions["Uploading"],
                "seen Completed (end..client)": done_at - end,
            },
            "validation_auc": metrics.get("validation:auc"),
            "billable_s": job.get("BillableTimeInSeconds"),
        },
        "overhead": charter_s / direct["seconds"] - 1,
        "server_overhead": (end - creation) / direct["seconds"] - 1,
        "auc_difference": (abs(metrics["validation:auc"] - direct["validation_auc"])
                           if "validation:auc" in metrics else None),
    }


# --- the report ---------------------------------------------------------------------


@dataclass
class Verdict:
    what: str
    measured: str
    aim: str
    ratio: str  # measured / aim, oriented so that <= 1 meets the aim
    met: bool | None


def verdicts(results: dict) -> list[Verdict]:
    out = []
    latency = results.get("latency")
    if latency:
        for key, label in (("median", "median"), ("p90", "p90")):
            value = latency["first_line_s"][key]
            out.append(Verdict(f"create -> first log line (GetLogEvents), {label} of {latency['repetitions']}",
                               f"{value:.3f} s", f"< {AIM_FIRST_LINE_S:g} s", f"{value / AIM_FIRST_LINE_S:.2f}",
                               value < AIM_FIRST_LINE_S))
        for key in ("median", "p90"):
            value = latency["completed_s"][key]
            out.append(Verdict(f"create -> Completed (DescribeTrainingJob), {key}", f"{value:.3f} s", "(none)", "-",
                               None))
    ray_latency = results.get("ray_latency")
    if ray_latency:
        for key in ("median", "p90"):
            line, done = ray_latency["first_line_s"][key], ray_latency["completed_s"][key]
            out.append(Verdict(f"on Ray: create -> first log line / Completed, {key} of {ray_latency['repetitions']}",
                               f"{line:.3f} s / {done:.3f} s", "(none)", "-", None))
    batch = results.get("batch")
    if batch:
        out.append(Verdict(f"{batch['jobs']} processing jobs: Completed", f"{batch['completed']} of {batch['jobs']}",
                           "all", f"{batch['completed']}/{batch['jobs']}", batch["completed"] == batch["jobs"]))
        if batch["ratio"] is not None:
            out.append(Verdict(f"makespan / ideal ({batch['slots']} slots)",
                               f"{batch['makespan_s']:.1f} s / {batch['ideal_s']:.1f} s",
                               f"<= {AIM_MAKESPAN:.2f}", f"{batch['ratio']:.3f}", batch["ratio"] <= AIM_MAKESPAN))
            out.append(Verdict("makespan / sleep-only ideal (work alone)",
                               f"{batch['makespan_s']:.1f} s / {batch['sleep_ideal_s']:.1f} s", "(none)",
                               f"{batch['sleep_ratio']:.3f}", None))
    xgb_result = results.get("xgboost")
    if xgb_result:
        direct, charter = xgb_result["direct"], xgb_result["charter"]
        out.append(Verdict(f"built-in XGBoost job / direct xgboost ({direct['rounds']} rounds)",
                           f"{charter['seconds']:.2f} s / {direct['seconds']:.2f} s",
                           f"overhead < {AIM_OVERHEAD:.0%}", f"{xgb_result['overhead']:+.1%}",
                           xgb_result["overhead"] < AIM_OVERHEAD))
    return out


def quick_rows(results: dict) -> list[dict]:
    """The rows ``benchmarks/quick.py`` shows (its Row's fields but the benchmark's name): ratio =
    aim or peer seconds / Charter seconds, so that above 1 means the aim is met or Charter is faster."""
    rows = []
    for key, where, peer_name, executor in (("latency", "", "aim", "LocalExecutor"),
                                            ("ray_latency", " on Ray", "Local's aim", "RayExecutor, one local head")):
        latency = results.get(key)
        if latency:
            value = latency["first_line_s"]["median"]
            rows.append({"task": f"trivial job{where}: create -> first log line (median)", "unit": "s",
                         "charter": value, "peer": AIM_FIRST_LINE_S, "peer_name": peer_name,
                         "ratio": AIM_FIRST_LINE_S / value,
                         "note": f"p90 {latency['first_line_s']['p90']:.2f} s; Completed in "
                                 f"{latency['completed_s']['median']:.2f} s ({executor})"})
    batch = results.get("batch")
    if batch:
        lost = batch["jobs"] - batch["completed"]
        note = f"{batch['slots']} slots" + (f"; Charter: {lost} of {batch['jobs']} jobs not Completed" if lost else
                                           f"; all {batch['jobs']} Completed")
        rows.append({"task": f"{batch['jobs']} processing jobs: makespan", "unit": "s", "charter": batch["makespan_s"],
                     "peer": batch["ideal_s"], "peer_name": "ideal", "ratio":
                     batch["ideal_s"] / batch["makespan_s"] if batch["makespan_s"] and batch["ideal_s"] else None,
                     "note": note})
    xgb_result = results.get("xgboost")
    if xgb_result:
        rows.append({"task": f"built-in XGBoost on Adult, {xgb_result['direct']['rounds']} rounds", "unit": "s",
                     "charter": xgb_result["charter"]["seconds"], "peer": xgb_result["direct"]["seconds"],
                     "peer_name": "xgboost script",
                     "ratio": xgb_result["direct"]["seconds"] / xgb_result["charter"]["seconds"],
                     "note": f"overhead {xgb_result['overhead']:+.1%} (aim < {AIM_OVERHEAD:.0%})"})
    return rows


def render(results: dict) -> Table:
    table = Table(title="Charter's job engine (LocalExecutor) against its aims")
    for column, justify in (("measure", "left"), ("measured", "right"), ("aim", "right"), ("ratio", "right"),
                            ("met", "center")):
        table.add_column(column, justify=justify)
    for v in verdicts(results):
        met = "-" if v.met is None else ("[green]yes[/]" if v.met else "[bold red]no[/]")
        table.add_row(v.what, v.measured, v.aim, v.ratio, met)
    table.caption = ("ratio: measured / aim for times (<= 1 meets it); Completed count; overhead = job wall / "
                     "direct - 1")
    return table


def render_details(results: dict) -> Table:
    table = Table(title="Where the time goes (medians, the server's own timestamps)")
    table.add_column("job", no_wrap=True)
    table.add_column("phase")
    table.add_column("s", justify="right")
    latency = results.get("latency")
    if latency:
        for phase, value in latency["phase_medians_s"].items():
            table.add_row("trivial training job", phase, f"{value:.3f}")
        table.add_row("trivial training job", "warm-up job: first line / Completed",
                      f"{latency['warmup']['first_line_s']:.2f} / {latency['warmup']['completed_s'] or 0:.2f}")
    batch = results.get("batch")
    if batch:
        table.add_section()
        for label, key in (("queue wait (CreationTime..ProcessingStartTime)", "queue_wait_s"),
                           ("job time (ProcessingStartTime..EndTime)", "job_s"),
                           ("job time - its sleep", "job_minus_sleep_s")):
            s = batch[key]
            table.add_row("processing batch", label, f"{s['median']:.3f} (p90 {s['p90']:.3f})")
        table.add_row("processing batch", "creating all jobs (8 threads)", f"{batch['create_wall_s']:.2f}")
        table.add_row("processing batch", "first ProcessingStartTime..last ProcessingEndTime",
                      f"{batch['scheduled_makespan_s']:.2f}")
        table.add_row("processing batch", "most jobs running at once", str(batch["peak_running"]))
        if batch["idle_slot_s_per_job"] is not None:
            table.add_row("processing batch", "empty slot time per job (slots x makespan - job time) / jobs",
                          f"{batch['idle_slot_s_per_job']:.3f}")
    xgb_result = results.get("xgboost")
    if xgb_result:
        table.add_section()
        direct = xgb_result["direct"]
        table.add_row("direct xgboost", "python start + imports (mean of 2)", f"{direct['start_and_imports_s']:.2f}")
        table.add_row("direct xgboost", "read CSVs + DMatrix (mean of 2)", f"{direct['read_s']:.2f}")
        table.add_row("direct xgboost", "train + save (mean of 2)", f"{direct['fit_s']:.2f}")
        table.add_row("direct xgboost", "whole runs, before / after the job",
                      " / ".join(f"{v:.2f}" for v in direct["runs_s"]))
        for phase, value in xgb_result["charter"]["phases_s"].items():
            table.add_row("XGBoost job", phase, f"{value:.2f}")
        table.add_row("XGBoost job", "validation AUC: job / direct",
                      f"{xgb_result['charter']['validation_auc'] or float('nan'):.5f} / {direct['validation_auc']:.5f}")
    return table


def summary_lines(results: dict) -> list[str]:
    lines = []
    for v in verdicts(results):
        if v.met is not None:
            lines.append(f"{'MET' if v.met else 'NOT MET'}: {v.what}: {v.measured} (aim {v.aim}; {v.ratio})")
    return lines


# --- main ------------------------------------------------------------------------------


def provenance() -> dict:
    """Which Charter was measured: where its source was imported from, and that tree's commit and
    how many of its files differ from it (the engine changes often; numbers go with a commit)."""
    import charter

    source = Path(charter.__file__).resolve().parent
    info: dict = {"charter_source": str(source)}
    try:
        commit = subprocess.run(["git", "-C", str(source), "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, timeout=10)
        if commit.returncode == 0:
            changed = subprocess.run(["git", "-C", str(source), "status", "--porcelain", "--", "."],
                                     capture_output=True, text=True, timeout=10).stdout.splitlines()
            info |= {"commit": commit.stdout.strip(), "files_changed_since_commit": len(changed)}
    except (OSError, subprocess.SubprocessError):
        pass
    return info


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="3 trivial jobs, 32 short sleeps, a ~3 s XGBoost fit")
    parser.add_argument("--repetitions", type=int, help="trivial jobs measured (default 10; --quick 3)")
    parser.add_argument("--batch", type=int, help="processing jobs in the burst (default 200; --quick 32)")
    parser.add_argument("--sleep", help="each batch job's sleep, MIN-MAX seconds (default 0.5-1.0; --quick 0.2-0.4)")
    parser.add_argument("--cpus", type=int, default=8, help="CHARTER_LOCAL_CPUS for the server (default 8)")
    parser.add_argument("--poll-seconds", type=float, default=None,
                        help="CHARTER_JOB_POLL_SECONDS for the server (default: the server's, 0.5)")
    parser.add_argument("--client-poll", type=float, default=0.05, help="how often the client looks (trivial jobs)")
    parser.add_argument("--xgb-repeat", type=int, help="times the Adult training file is repeated (default 4; --quick 1)")
    parser.add_argument("--xgb-rounds", type=int, help="num_round (default: chosen so the direct fit takes --xgb-seconds)")
    parser.add_argument("--xgb-seconds", type=float, help="target direct-fit time (default 60; --quick 3)")
    parser.add_argument("--only", action="append", choices=["latency", "ray", "batch", "xgboost"],
                        help="run only these parts (repeatable)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"JSON results (default {RESULTS.relative_to(REPO)})")
    args = parser.parse_args(argv)
    quick = args.quick
    args.repetitions = args.repetitions or (3 if quick else 10)
    args.batch = args.batch or (32 if quick else 200)
    low, _, high = (args.sleep or ("0.2-0.4" if quick else "0.5-1.0")).partition("-")
    args.sleep_range = (float(low), float(high or low))
    args.xgb_repeat = args.xgb_repeat or (1 if quick else 4)
    args.xgb_seconds = args.xgb_seconds or (3.0 if quick else 60.0)
    if args.repetitions < 1 or args.batch < 1 or args.cpus < 1 or not 0 <= args.sleep_range[0] <= args.sleep_range[1]:
        parser.error("--repetitions, --batch and --cpus must be >= 1, --sleep MIN-MAX with 0 <= MIN <= MAX")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from charter.runtime.instance_types import lookup

    batch_type = lookup(BATCH_TYPE)
    slots = max(1, args.cpus // batch_type.vcpus)
    # Declare memory for every slot, so that CPUs alone decide how many jobs run at once.
    memory_mib = max(slots * batch_type.memory_mib, lookup(TRAINING_TYPE).memory_mib)
    parts = args.only or ["latency", "ray", "batch", "xgboost"]

    def on_sigterm(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_sigterm)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    workdir = Path(tempfile.mkdtemp(prefix="charter-jobs-bench-"))
    load_before = os.getloadavg()
    began = time.perf_counter()
    results: dict = {
        "benchmark": "jobs",
        "quick": args.quick,
        "settings": {"CHARTER_LOCAL_CPUS": args.cpus, "CHARTER_LOCAL_MEMORY_MIB": memory_mib,
                     "CHARTER_JOB_POLL_SECONDS": args.poll_seconds or "server default (0.5)",
                     "executor": "local; the ray part on a Ray head of its own"},
    }
    server = ray_server = ray_temp = None
    failed = False
    try:
        with console.status("starting Charter…"):
            server = start_server(workdir, args.cpus, memory_mib, args.poll_seconds)
        console.print(f"Charter is up on {server.endpoint} (CHARTER_LOCAL_CPUS={args.cpus}, {slots} slots of "
                      f"{BATCH_TYPE})")
        client(server, "s3").create_bucket(Bucket=BUCKET)
        role = execution_role(server)
        if "latency" in parts:
            results["latency"] = latency_phase(server, role, args.repetitions, args.client_poll)
            first = results["latency"]["first_line_s"]
            console.print(f"trivial job: first log line median {first['median']:.3f} s, p90 {first['p90']:.3f} s; "
                          f"Completed median {results['latency']['completed_s']['median']:.3f} s")
        if "ray" in parts:
            with console.status("starting a Ray head and a Charter server on it…"):
                address, ray_temp = start_ray(workdir, args.cpus, memory_mib)
                ray_server = start_server(workdir / "on-ray", args.cpus, memory_mib, args.poll_seconds, address)
            client(ray_server, "s3").create_bucket(Bucket=BUCKET)
            results["ray_latency"] = latency_phase(ray_server, execution_role(ray_server), args.repetitions,
                                                   args.client_poll, executor="ray")
            first = results["ray_latency"]["first_line_s"]
            console.print(f"trivial job on Ray: first log line median {first['median']:.3f} s, p90 "
                          f"{first['p90']:.3f} s; Completed median {results['ray_latency']['completed_s']['median']:.3f} s")
            # Ray's own processes (its GCS, raylet, workers) would take CPU from the parts that follow.
            ray_server.stop()
            ray_server = None
            stop_ray(ray_temp)
            ray_temp = None
        if "batch" in parts:
            results["batch"] = batch_phase(server, role, args.batch, args.sleep_range, slots, args.seed)
            batch = results["batch"]
            console.print(f"{batch['jobs']} processing jobs: {batch['completed']} Completed; makespan "
                          f"{batch['makespan_s'] or float('nan'):.1f} s, ideal {batch['ideal_s'] or float('nan'):.1f} s")
            failed |= batch["completed"] != batch["jobs"]
        if "xgboost" in parts:
            results["xgboost"] = xgboost_phase(server, role, workdir, args.xgb_repeat, args.xgb_rounds,
                                               args.xgb_seconds, poll=0.25)
            x = results["xgboost"]
            console.print(f"XGBoost, {x['direct']['rounds']} rounds: job {x['charter']['seconds']:.2f} s, direct "
                          f"{x['direct']['seconds']:.2f} s, overhead {x['overhead']:+.1%}")
    except KeyboardInterrupt:
        console.print("[yellow]interrupted; stopping the server[/]")
        return 130
    except Exception as exc:
        failed = True
        results["error"] = f"{type(exc).__name__}: {exc}"
        console.print(f"[bold red]FAILED:[/] {results['error']}")
        for running in (server, ray_server):
            if running is not None:
                console.print(running.log_tail())
    finally:
        for running in (server, ray_server):
            if running is not None:
                running.stop()
        if ray_temp is not None:
            stop_ray(ray_temp)
        shutil.rmtree(workdir, ignore_errors=True)

    results["finished_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    results["elapsed_s"] = round(time.perf_counter() - began, 1)
    results["machine"] = {"platform": platform.platform(), "python": platform.python_version(),
                          "cpus": os.cpu_count(), "loadavg_1m_before": round(load_before[0], 2),
                          "loadavg_1m_after": round(os.getloadavg()[0], 2)}
    results["versions"] = {pkg: harness._version(pkg) for pkg in ("charter", "boto3", "xgboost", "pandas")}
    results["measured"] = provenance()
    results["rows"] = quick_rows(results)
    console.print(render(results))
    console.print(render_details(results))
    for line in summary_lines(results):
        console.print(line)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2, default=str) + "\n")
    measured = results["measured"]
    console.print(f"Charter from {measured['charter_source']}" + (
        f" at {measured['commit']} ({measured['files_changed_since_commit']} file(s) changed since)"
        if "commit" in measured else ""))
    console.print(f"results written to {args.output} ({results['elapsed_s']:.0f} s in all; load average "
                  f"{load_before[0]:.2f} before, {os.getloadavg()[0]:.2f} after, {os.cpu_count()} CPUs)")
    return 1 if failed else 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--direct-fit"]:  # the direct fit's own process (see direct_fit)
        sys.exit(_direct_fit_main(sys.argv[2:]))
    sys.exit(main())
