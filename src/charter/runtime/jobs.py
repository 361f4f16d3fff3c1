"""Training and processing jobs, run: stage, submit to an executor, follow, collect, record.

The services (``services/training_jobs.py``, ``services/processing_jobs.py``)
store a job ``InProgress`` with its complete spec under ``_Job`` (image runner,
hosts, instance type, channels or inputs, outputs, environment, limits,
isolation, log group, metric definitions); this runner is all the engine needs
to run it, and it imports no service.  For one job:

1. **Stage** each host's ``/opt/ml`` tree (:mod:`.staging`), as the job's role:
   SecondaryStatus ``Starting`` then ``Downloading``.
2. **Submit** it to the executor, and keep the executor's handle in the job's
   document under ``_Execution`` together with the log offsets, so a restarted
   server re-attaches (``Training``).
3. **Follow** it: every ``poll`` seconds the new lines of every host go to
   CloudWatch Logs (group ``/aws/sagemaker/TrainingJobs`` or ``ProcessingJobs``,
   stream ``<job>/algo-N-<epoch>``) in the same transaction as the offsets that
   say they were shipped, so a crash neither loses nor repeats a line; the
   ``MetricDefinitions`` regexes turn lines into CloudWatch metrics and
   ``FinalMetricDataList``; a ``Stopping`` status becomes a stop; checkpoints and
   ``Continuous`` outputs are synced as they change.
4. **Collect** what the hosts left (``Uploading``): model.tar.gz and
   output.tar.gz, processing outputs, the failure or exit message.
5. **Record** how it ended; every status change also goes out through the event
   outbox as SageMaker's EventBridge events (``SageMaker Training Job State
   Change``), which is how orchestrators follow jobs.

A job the executor lost (its processes gone while no server watched) fails
with a reason that says so; one whose data cannot be staged fails with a
``ClientError`` naming the channel.
"""

from __future__ import annotations

import logging
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from sqlalchemy import Connection

from ..iam import identities, sessions
from ..store import events
from ..store import metrics as metric_store
from ..store import resources as store
from ..analytics.metric_statistics import Point
from . import images, log_writer, staging
from .engine import DETACHED, LEASE_KEY, JobProblem, Outcome, public
from .executors import HostLaunch, Launch
from .executors.inherited import home, inherited
from .instance_types import lookup as instance_type

if TYPE_CHECKING:  # pragma: no cover
    from ..instance import Instance
    from .engine import Engine
    from .executors import Executor, HostState

log = logging.getLogger("charter.jobs")

SPEC_KEY = "_Job"
EXECUTION_KEY = "_Execution"
OUT_OF_MEMORY = (
    "OutOfMemoryError: Please use an instance type with more memory, or reduce the size of job data processed on "
    "an instance."
)


@dataclass(frozen=True)
class Kind:
    resource_type: str
    noun: str  # "Training", "Processing"
    status_key: str
    log_group: str
    container_command: str  # train / process
    message_file: str  # output/failure or output/message
    detail_type: str


TRAINING = Kind("training-job", "Training", "TrainingJobStatus", log_writer.TRAINING_JOBS, "train", "failure",
                "SageMaker Training Job State Change")
PROCESSING = Kind("processing-job", "Processing", "ProcessingJobStatus", log_writer.PROCESSING_JOBS, "process",
                  "message", "SageMaker Processing Job State Change")

#: SecondaryStatus messages, as SageMaker words them.
MESSAGES = {
    "Starting": "Preparing the instances for training",
    "Downloading": "Downloading input data",
    "Training": "Training image download completed. Training in progress.",
    "Uploading": "Uploading generated training model",
    "Completed": "Training job completed",
    "Failed": "Training job failed",
    "Stopping": "Stopping the training job",
    "Stopped": "The training job was stopped",
    "MaxRuntimeExceeded": "The job exceeded its maximum allowed runtime (StoppingCondition.MaxRuntimeInSeconds)",
}

_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")


def escape(line: str) -> str:
    """A line as SageMaker's log pipeline stores it: control characters as ``#ooo`` (a tab is ``#011``)."""
    return _CONTROL.sub(lambda m: f"#{ord(m.group()):03o}", line)


def add_transition(document: dict, status: str, now: float, message: str | None = None) -> None:
    """Move the job to SecondaryStatus ``status``, closing the transition before it."""
    transitions = document.setdefault("SecondaryStatusTransitions", [])
    if transitions and transitions[-1]["Status"] == status:
        return
    if transitions and "EndTime" not in transitions[-1]:
        transitions[-1]["EndTime"] = now
    entry = {"Status": status, "StartTime": now, "StatusMessage": message or MESSAGES.get(status, status)}
    if status in ("Completed", "Failed", "Stopped", "MaxRuntimeExceeded"):
        entry["EndTime"] = now
    transitions.append(entry)
    document["SecondaryStatus"] = status


class _LostLease(Exception):
    """Another engine took the job over (our lease ran out): stop following it."""


@dataclass
class _Prepared:
    spec: dict
    execution: dict | None
    environment: dict[str, str]


class ContainerJobs:
    """The engine's runner for one kind of container job (training or processing)."""

    statuses = ("InProgress", "Stopping")
    modified_key = "LastModifiedTime"

    def __init__(self, instance: "Instance", kind: Kind, executor: "Executor", *, poll: float = 0.5,
                 concurrency: int = 256, sync_seconds: float = 2.0):
        self.instance = instance
        self.kind = kind
        self.executor = executor
        self.poll = poll
        self.concurrency = concurrency
        self.sync_seconds = sync_seconds
        self.resource_type = kind.resource_type
        self.status_key = kind.status_key
        self.name = f"{kind.noun.lower()}-jobs"
        self.interrupted = (
            f"InternalServerError: the {kind.noun.lower()} job was interrupted several times while Charter "
            "restarted, and was given up; create it again."
        )
        self.engine: "Engine | None" = None
        self.work_root = instance.settings.home / "jobs" / kind.resource_type

    # --- the engine's hooks

    def bind(self, engine: "Engine") -> None:
        self.engine = engine

    def admit(self, job: store.Resource) -> bool:
        spec = job.document.get(SPEC_KEY) or {}
        try:
            wanted = instance_type(spec["InstanceType"])
        except (KeyError, ValueError):
            return True  # prepare fails it with the reason
        admitted = self.executor.admit(job.arn, wanted, spec["InstanceCount"])
        # A job that already runs (re-attached after a restart) or only needs stopping is followed at once.
        return admitted or job.document.get(EXECUTION_KEY) is not None or job.status == "Stopping"

    def release(self, job_arn: str) -> None:
        self.executor.release(job_arn)

    def prepare(self, conn: Connection, job: store.Resource) -> _Prepared:
        spec = job.document.get(SPEC_KEY)
        if not spec:
            raise JobProblem("InternalServerError: the job was stored without its spec; create it again.")
        execution = job.document.get(EXECUTION_KEY)
        environment: dict[str, str] = {}
        if execution is None and not spec.get("Isolated"):
            environment = self._credentials(conn, spec)
        return _Prepared(spec, execution, environment)

    def finished(self, conn: Connection, job: store.Resource, outcome: Outcome) -> None:
        """After the engine recorded the outcome (same transaction): the last transition, the event."""
        if self.kind is TRAINING:
            message = outcome.reason[:1024] if outcome.status == "Failed" and outcome.reason else None
            add_transition(job.document, getattr(outcome, "secondary", outcome.status), time.time(), message)
            store.save(conn, job)
        self._emit(conn, job)

    # --- credentials: the container acts as the job's role

    def _credentials(self, conn: Connection, spec: dict) -> dict[str, str]:
        role = identities.get_principal(conn, spec["RoleArn"])
        if role is None:
            raise JobProblem(
                f"ClientError: the job's role {spec['RoleArn']} no longer exists; create the role again or create "
                "the job with another RoleArn."
            )
        session_name = re.sub(r"[^\w+=,.@-]", "-", f"SageMaker-{spec['Name']}")[:64]
        credentials = sessions.create(
            conn, self.instance.keyring, role, session_name=session_name,
            duration_seconds=int(spec.get("MaxRuntimeInSeconds") or 86400) + 3600,
            assumed_by="sagemaker.amazonaws.com",
        )
        region = spec["Region"]
        return {
            "AWS_ACCESS_KEY_ID": credentials.access_key_id,
            "AWS_SECRET_ACCESS_KEY": credentials.secret_access_key,
            "AWS_SESSION_TOKEN": credentials.session_token,
            "AWS_ENDPOINT_URL": self.instance.endpoint_url,
            "AWS_DEFAULT_REGION": region,
            "AWS_REGION": region,
        }

    # --- running one job

    def run(self, job_arn: str, prepared: _Prepared) -> Outcome:
        try:
            return self._run(job_arn, prepared)
        except _LostLease:
            return Outcome(DETACHED)

    def _run(self, job_arn: str, prepared: _Prepared) -> Outcome:
        spec = prepared.spec
        execution = prepared.execution
        if execution is None:
            stopped = self._stop_requested(job_arn)
            if stopped:
                return self._outcome(spec, "Stopped", None, {})
            outcome = self._start(job_arn, spec, prepared.environment)
            if outcome is not None:
                return outcome
            execution = self._read(job_arn)[EXECUTION_KEY]
        else:
            state = self.executor.recover(execution["Handle"])
            log.info("%s: re-attached to %s: %s", self.name, job_arn, state)
        outcome = self._follow(job_arn, spec, execution)
        while self._retry(job_arn, spec, outcome):
            # RetryStrategy: a job that failed for the platform's reasons starts over, as on SageMaker.
            outcome = self._start(job_arn, spec, prepared.environment)
            if outcome is not None:
                return outcome
            outcome = self._follow(job_arn, spec, self._read(job_arn)[EXECUTION_KEY])
        return outcome

    def _retry(self, job_arn: str, spec: dict, outcome: Outcome) -> bool:
        """Whether RetryStrategy asks for another attempt of a job that failed with an internal error;
        if so the job's document is made ready for it (transition ``Restarting``)."""
        allowed = int(spec.get("MaximumRetryAttempts") or 0)
        if outcome.status != "Failed" or not (outcome.reason or "").startswith("InternalServerError") or not allowed:
            return False
        retried = {"done": False}

        def restart(conn, document):
            count = int(document.get("_Retries", 0))
            if count >= allowed:
                return
            document["_Retries"] = count + 1
            document.pop(EXECUTION_KEY, None)
            if self.kind is TRAINING:
                add_transition(document, "Restarting", time.time(),
                               f"Restarting the job after an internal error (retry {count + 1} of {allowed})")
            retried["done"] = True

        self._update(job_arn, restart)
        return retried["done"]

    def _directory(self, spec: dict) -> Path:
        return self.work_root / f"{spec['Name']}-{spec['Token']}"

    def _start(self, job_arn: str, spec: dict, environment: dict[str, str]) -> Outcome | None:
        directory = self._directory(spec)
        if directory.exists():
            shutil.rmtree(directory, ignore_errors=True)  # an attempt that died while staging
        names = staging.hosts(spec["InstanceCount"])
        roots = [directory / name for name in names]
        training = self.kind is TRAINING
        if training:
            self._update(job_arn, lambda conn, doc: add_transition(doc, "Starting", time.time()))
            self._update(job_arn, lambda conn, doc: add_transition(doc, "Downloading", time.time()))
        try:
            for index, root in enumerate(roots):
                (staging.stage_training if training else staging.stage_processing)(
                    self.instance, spec, index, root)
        except staging.StagingError as problem:
            shutil.rmtree(directory, ignore_errors=True)
            return self._outcome(spec, "Failed", f"ClientError: {problem}", {})
        if self._stop_requested(job_arn):
            shutil.rmtree(directory, ignore_errors=True)
            return self._outcome(spec, "Stopped", None, {})
        try:
            hosts = []
            for index, (name, root) in enumerate(zip(names, roots)):
                host_environment = self._environment(spec, environment, name, index)
                hosts.append(HostLaunch(name, root, images.command(
                    spec["Runner"], self.kind.container_command, spec.get("Entrypoint"), spec.get("Arguments"),
                    host_dir=str(root), isolated=bool(spec.get("Isolated")), environment=tuple(host_environment),
                    host=name,
                ), host_environment))
            started = time.time()
            handle = self.executor.submit(Launch(
                job_arn, hosts, instance_type(spec["InstanceType"]), isolated=bool(spec.get("Isolated")),
                max_runtime_seconds=spec.get("MaxRuntimeInSeconds"), grace_seconds=spec.get("GraceSeconds", 120),
                started_at=started,
            ))
        except images.UnknownImage as problem:
            shutil.rmtree(directory, ignore_errors=True)
            return self._outcome(spec, "Failed", f"ClientError: {problem}", {})
        except Exception as problem:  # the executor could not start it (IsolationUnavailable among them)
            log.exception("%s: submitting %s failed", self.name, job_arn)
            shutil.rmtree(directory, ignore_errors=True)
            return self._outcome(spec, "Failed", f"ClientError: {problem}", {})

        def submitted(conn, doc):
            doc[EXECUTION_KEY] = {"Handle": handle, "Offsets": {}, "Directory": str(directory),
                                  "StartedAt": started, "Epoch": int(started), "Metrics": {}}
            doc[f"{self.kind.noun}StartTime"] = started
            if training:
                add_transition(doc, "Training", started)

        self._update(job_arn, submitted)
        return None

    def _environment(self, spec: dict, credentials: dict[str, str], host: str, index: int) -> dict[str, str]:
        environment = inherited()
        environment["HOME"] = "/tmp" if spec.get("Isolated") else home()
        environment.update(credentials)
        environment["CHARTER_VENV_CACHE"] = str(self.instance.settings.home / "cache" / "venvs")
        if self.kind is TRAINING:
            environment["TRAINING_JOB_NAME"] = spec["Name"]
            environment["TRAINING_JOB_ARN"] = spec["Arn"]
        environment.update(spec.get("Environment") or {})
        return environment

    # --- following

    def _follow(self, job_arn: str, spec: dict, execution: dict) -> Outcome:
        handle = execution["Handle"]
        directory = Path(execution["Directory"])
        roots = [Path(h["Directory"]) for h in handle["Hosts"]]
        synced: dict = execution.setdefault("Synced", {})
        matchers = [(d["Name"], re.compile(d["Regex"])) for d in spec.get("MetricDefinitions") or []]
        feeders = self._feed_pipes(spec, roots)
        try:
            return self._watch(job_arn, spec, execution, handle, directory, roots, synced, matchers)
        finally:
            for feeder in feeders:
                feeder.stop()

    def _feed_pipes(self, spec: dict, roots: list[Path]) -> list:
        """Start writing the pipes of the Pipe-mode channels (again, after a restart)."""
        from .pipes import Feeder

        feeders = []
        for channel in spec.get("Channels") or []:
            if channel.get("Mode") != "Pipe":
                continue
            for root in roots:
                source = staging.pipe_source(root, channel["Name"])
                if source.is_dir():
                    feeder = Feeder(staging.host_path(root, "/opt/ml/input/data"), source, channel)
                    feeder.start()
                    feeders.append(feeder)
        return feeders

    def _watch(self, job_arn, spec, execution, handle, directory, roots, synced, matchers) -> Outcome:
        stop_sent = False
        last_sync = 0.0
        while True:
            states = self.executor.poll(handle)
            ended = not any(s.running for s in states)
            document = self._ship(job_arn, spec, execution, matchers, final=ended)
            if document.get(self.status_key) == "Stopping" and not stop_sent and not ended:
                self.executor.stop(handle)
                stop_sent = True
            failed_host = any(not s.running and (s.exit_code not in (0, None) or s.reason) for s in states)
            if failed_host and not stop_sent and not ended:
                # One host failed: the job has failed, and its peers would only wait for it (SageMaker stops them).
                self.executor.stop(handle)
                stop_sent = True
            now = time.time()
            if not ended and now - last_sync >= self.sync_seconds:
                self._sync(spec, roots, synced)
                last_sync = now
            if ended:
                break
            if self.engine is not None and self.engine.stopping:
                return Outcome(DETACHED)  # the processes go on; the next server re-attaches
            self.executor.wait(handle, self.poll)
        return self._conclude(job_arn, spec, execution, states, roots, directory, synced)

    def _sync(self, spec: dict, roots: list[Path], synced: dict) -> None:
        try:
            if self.kind is TRAINING and spec.get("Checkpoint"):
                for root in roots:
                    staging.sync_tree(self.instance, staging.host_path(root, spec["Checkpoint"]["LocalPath"]),
                                      spec["Checkpoint"]["S3Uri"], synced.setdefault(f"checkpoints@{root.name}", {}))
            if self.kind is PROCESSING:
                for output in spec.get("Outputs") or []:
                    if output.get("UploadMode") == "Continuous":
                        for root in roots:
                            staging.sync_tree(self.instance, staging.host_path(root, output["LocalPath"]),
                                              output["S3Uri"], synced.setdefault(f"{output['Name']}@{root.name}", {}))
        except Exception:  # a failed sync is retried at the next one, and at the end
            log.exception("%s: syncing %s failed; will retry", self.name, spec["Name"])

    def _ship(self, job_arn: str, spec: dict, execution: dict, matchers, *, final: bool) -> dict:
        """Ship new log lines (and the metrics in them) with their offsets; the job's document."""
        chunks = self.executor.read_logs(execution["Handle"], execution["Offsets"], final=final)
        epoch = execution["Epoch"]

        def change(conn: Connection, document: dict) -> None:
            stored = document[EXECUTION_KEY]
            points = []
            final_metrics = stored.setdefault("Metrics", {})
            for chunk in chunks:
                if chunk.lines:
                    shipped = [(ts, piece) for ts, line in chunk.lines for piece in log_writer.clean(escape(line))]
                    stream = f"{spec['Name']}/{chunk.host}-{epoch}"
                    for batch in log_writer.batches(shipped):
                        log_writer.append(conn, spec["Account"], spec["Region"], self.kind.log_group, stream, batch)
                    for ts, line in chunk.lines:
                        for name, pattern in matchers:
                            match = pattern.search(escape(line))
                            if match is None or not match.groups():
                                continue
                            try:
                                value = float(match.group(1))
                            except (TypeError, ValueError):
                                continue
                            final_metrics[name] = {"MetricName": name, "Value": value, "Timestamp": ts / 1000}
                            points.append(metric_store.NewPoint(
                                namespace=self.kind.log_group, metric_name=name,
                                dimensions=[{"Name": f"{self.kind.noun}JobName", "Value": spec["Name"]}],
                                timestamp=ts / 1000, point=Point(1, value, value, value), unit="None",
                                storage_resolution=60,
                            ))
                stored["Offsets"][chunk.host] = chunk.offset
            if points:
                metric_store.put_points(conn, spec["Account"], spec["Region"], points, time.time())
            if final_metrics and self.kind is TRAINING:
                document["FinalMetricDataList"] = list(final_metrics.values())
            execution["Offsets"] = dict(stored["Offsets"])

        changed = any(chunk.lines or chunk.offset != execution["Offsets"].get(chunk.host, 0) for chunk in chunks)
        if not changed:
            return self._read(job_arn)
        return self._update(job_arn, change, touch=False)

    # --- ending

    def _conclude(self, job_arn, spec, execution, states: list["HostState"], roots, directory, synced) -> Outcome:
        reasons = {s.reason for s in states}
        training = self.kind is TRAINING
        fetch_error = None
        try:
            # Hosts that ran elsewhere (another machine of a Ray cluster) bring their trees back here first,
            # before the failure file is read and outputs are uploaded.
            self.executor.collect(execution["Handle"])
        except Exception as error:
            log.exception("%s: bringing back the hosts' files of %s failed", self.name, job_arn)
            fetch_error = error
        # The hosts have ended (a cluster's actors are gone too): their CPUs and memory go to the next job
        # while this one's outputs are uploaded.
        self.executor.release(job_arn)
        if self.engine is not None:
            self.engine.wake()
        if "Lost" in reasons:
            status, reason = "Failed", (
                f"InternalServerError: the {self.kind.noun.lower()} job's processes ended while Charter was not "
                "watching them, and how they ended is unknown; create the job again."
            )
        elif "StartFailed" in reasons:
            message = next(s.message for s in states if s.reason == "StartFailed")
            status, reason = "Failed", f"ClientError: {message}"
        elif "OutOfMemory" in reasons:
            status, reason = "Failed", OUT_OF_MEMORY
        elif "MaxRuntimeExceeded" in reasons:
            status, reason = "Stopped", None
        elif self._stop_requested(job_arn):
            status, reason = "Stopped", None
        elif all(s.exit_code == 0 for s in states):
            status, reason = "Completed", None
        else:
            # The host that failed on its own, rather than one stopped because of it.
            failed = next((s for s in states if s.exit_code != 0 and s.reason is None),
                          next(s for s in states if s.exit_code != 0))
            written = staging.read_message(roots, self.kind.message_file)
            how = f"exit code {failed.exit_code}" if failed.exit_code is not None else f"signal {failed.signal}"
            reason = written or f"AlgorithmError: the container on {failed.name} ended with {how}; see its log."
            status = "Failed"
        updates: dict = {}
        if fetch_error is not None and status != "Failed":
            status, reason = "Failed", f"InternalServerError: the job's output could not be fetched from its hosts: {fetch_error}"
        if status != "Failed" or training:
            if training:
                self._update(job_arn, lambda conn, doc: add_transition(doc, "Uploading", time.time()))
            try:
                if training:
                    artifacts_uri = staging.collect_training(self.instance, spec, roots, directory / "scratch")
                    if status != "Failed":
                        updates["ModelArtifacts"] = artifacts_uri
                else:
                    staging.collect_processing(self.instance, spec, roots, synced)
            except Exception as error:
                log.exception("%s: collecting %s failed", self.name, job_arn)
                if status != "Failed":
                    status, reason = "Failed", f"ClientError: uploading the job's output failed: {error}"
        if not training:
            message = staging.read_message(roots, "message")
            if message:
                updates["ExitMessage"] = message
        max_runtime = "MaxRuntimeExceeded" in reasons
        shutil.rmtree(directory, ignore_errors=True)
        return self._outcome(spec, status, reason, updates, max_runtime=max_runtime,
                             started=execution.get("StartedAt"))

    def _outcome(self, spec: dict, status: str, reason: str | None, updates: dict, *, max_runtime: bool = False,
                 started: float | None = None) -> Outcome:
        now = time.time()
        document = dict(updates)
        if self.kind is TRAINING:
            document["TrainingEndTime"] = now
            if started:
                seconds = max(1, int(round(now - started)))
                document["TrainingTimeInSeconds"] = seconds
                document["BillableTimeInSeconds"] = seconds * int(spec["InstanceCount"])
        else:
            document["ProcessingEndTime"] = now
        outcome = Outcome(status, reason, document)
        outcome.secondary = "MaxRuntimeExceeded" if max_runtime else status  # type: ignore[attr-defined]
        return outcome

    # --- the job's document

    def _read(self, job_arn: str) -> dict:
        with self.instance.transaction(write=False) as conn:
            job = store.get(conn, job_arn)
            return job.document if job is not None else {}

    def _stop_requested(self, job_arn: str) -> bool:
        return self._read(job_arn).get(self.status_key) == "Stopping"

    def _update(self, job_arn: str, change: Callable[[Connection, dict], None], *, touch: bool = True) -> dict:
        with self.instance.transaction() as conn:
            job = store.get(conn, job_arn, for_update=True)
            if job is None:
                raise _LostLease(job_arn)
            owner = (job.document.get(LEASE_KEY) or {}).get("Owner")
            if self.engine is not None and owner != self.engine.owner:
                raise _LostLease(job_arn)
            before = (job.document.get(self.status_key), job.document.get("SecondaryStatus"))
            change(conn, job.document)
            if touch:
                job.document[self.modified_key] = time.time()
            store.save(conn, job, status=job.document.get(self.status_key))
            if before != (job.document.get(self.status_key), job.document.get("SecondaryStatus")):
                self._emit(conn, job)
            return job.document

    def _emit(self, conn: Connection, job: store.Resource) -> None:
        emit_state(conn, job)


KINDS = {kind.resource_type: kind for kind in (TRAINING, PROCESSING)}


def emit_state(conn: Connection, job: store.Resource) -> None:
    """The job's state change as SageMaker's EventBridge event, through the outbox (same transaction)."""
    kind = KINDS[job.resource_type]
    spec = job.document.get(SPEC_KEY) or {}
    events.emit(
        conn, detail_type=kind.detail_type, source="aws.sagemaker",
        account=spec.get("Account", ""), region=spec.get("Region", ""), resources=[job.arn],
        detail=public(job.document),
    )
