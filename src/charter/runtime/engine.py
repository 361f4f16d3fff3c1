"""The job engine: one loop that claims due jobs with a lease, runs them and records how they ended.

Every kind of background job (model card exports now; training, processing and
the rest as they arrive) is a resource of one type whose document holds all the
job needs, created ``InProgress`` by its service.  A :class:`Runner` says what
running one means; the :class:`Engine` does the rest, the same way for each:

1. **Claim.** A read looks for due jobs first, so an idle server takes no write
   lock.  Then one short write transaction puts a lease on the oldest claimable
   job: owner, expiry and attempt count, kept in the document under ``_Lease``
   (services hide it from their answers with :func:`public`).  On PostgreSQL
   the claim uses ``FOR UPDATE SKIP LOCKED``, so several servers on one database
   share the work.  In the same transaction the runner's ``prepare`` reads what
   the run needs; a :class:`JobProblem` it raises fails the job with its message.
2. **Run.** The runner's ``run`` goes with no transaction open and gives an
   :class:`Outcome`.  An exception there fails the job with its text, and the
   engine keeps going.
3. **Finish.** One write transaction records the outcome, but only while the
   lease is still this engine's: a run that outlived its lease was taken over,
   and the new owner's result is the one that counts.

Runners that follow long jobs (training, processing) also say how many may run
at once (``concurrency``: each runs in a thread of its own, its lease renewed
while it runs), which statuses are still theirs to follow (``statuses``: a job
``Stopping`` is followed to its end), which member holds the status
(``status_key``) and whether there is room for one more job now (``admit``, which
reserves the room; ``release`` gives it back).

Nothing is lost (ARCHITECTURE.md rule 6).  A clean stop hands its leases back
without counting the attempt, so the next start runs the job at once.  After a
crash the lease runs out, and any engine runs the job again.  A job whose
attempts keep dying is failed after ``max_attempts`` with the runner's
``interrupted`` message, not retried for ever.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import Connection, select

from ..store import resources as store
from ..store.schema import resources

if TYPE_CHECKING:  # pragma: no cover
    from ..instance import Instance

log = logging.getLogger("charter.engine")

LEASE_KEY = "_Lease"
MAX_REASON = 1024  # SageMaker's FailureReason length


class JobProblem(Exception):
    """Why a claimed job cannot run; its message becomes the job's FailureReason."""


@dataclass
class Outcome:
    status: str  # "Completed", "Failed", ... ; DETACHED: the engine stopped, leave the job to the next one
    reason: str | None = None  # the FailureReason of a failed job
    document: dict = field(default_factory=dict)  # members set on the job document


DETACHED = "Detached"


class Runner(Protocol):
    """One kind of job: which resources it runs, and how."""

    resource_type: str
    name: str  # for logs and thread names
    interrupted: str  # the FailureReason of a job whose every attempt died

    def prepare(self, conn: Connection, job: store.Resource) -> Any:
        """What the run needs, read in the claim's transaction; raises :class:`JobProblem`."""

    def run(self, job_arn: str, prepared: Any) -> Outcome:
        """Run the job, with no transaction open."""


def public(document: dict) -> dict:
    """A job document as its service answers it: without the engine's lease and the runtime's own
    members (``_Job``, the spec; ``_Execution``, where it runs), which all start with ``_``."""
    return {k: v for k, v in document.items() if not k.startswith("_")}


def _owner_gone(owner: str) -> bool:
    """Whether a lease owner (``host:pid:token``) was a process of this machine that no longer runs."""
    host, _, rest = owner.partition(":")
    pid_text, _, _token = rest.partition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False  # this process: an engine of ours, stopped or running, decides for itself
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


# --- waking engines early -----------------------------------------------------------

_engines: "weakref.WeakSet[Engine]" = weakref.WeakSet()


def notify(resource_type: str) -> None:
    """Wake this process's engines for ``resource_type`` now rather than at their next poll."""
    for engine in list(_engines):
        if engine.runner.resource_type == resource_type:
            engine._wake.set()


@dataclass(frozen=True)
class _Claimed:
    job_arn: str
    prepared: Any
    problem: str | None


class Engine:
    """Runs one runner's jobs, one at a time, in a thread of the server (a ``runtime.Worker``)."""

    def __init__(self, instance: "Instance", runner: Runner, *, lease: float, poll: float = 1.0, max_attempts: int = 3):
        self.instance = instance
        self.runner = runner
        self.lease = lease
        self.poll = poll
        self.max_attempts = max_attempts
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.concurrency = int(getattr(runner, "concurrency", 1))
        self.statuses = tuple(getattr(runner, "statuses", ("InProgress",)))
        self._running: dict[str, threading.Thread] = {}  # job ARN -> the thread running it
        self._renewed = 0.0
        bind = getattr(runner, "bind", None)
        if bind is not None:
            bind(self)

    @property
    def stopping(self) -> bool:
        """True once :meth:`stop` was called: long runs should detach (the job goes on without us)."""
        return self._stop.is_set()

    # --- lifecycle

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        _engines.add(self)
        self._thread = threading.Thread(target=self._run, name=f"charter-{self.runner.name}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is None:
            return
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=60)
        for thread in list(self._running.values()):
            thread.join(timeout=60)
        _engines.discard(self)
        self._thread = None
        try:
            self.release()
        except Exception:  # the lease then runs out instead
            log.exception("%s: could not hand back leases on stop", self.runner.name)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._renew()
                if self._has_room() and self.run_once():
                    continue  # there may be more waiting
                pause = self.poll
            except Exception:  # the database may be briefly away; keep the engine alive
                log.exception("%s: polling failed; retrying", self.runner.name)
                pause = self.poll * 4
            if self._wake.wait(pause):
                # Woken by a create: give its transaction a moment to commit before looking.
                self._stop.wait(0.05)
            self._wake.clear()

    # --- one job

    def _has_room(self) -> bool:
        for arn, thread in list(self._running.items()):
            if not thread.is_alive():
                self._running.pop(arn, None)
        return len(self._running) < self.concurrency

    def run_once(self) -> bool:
        """Claim one due job and run it (in a thread of its own when the runner runs several at
        once); False when there was none."""
        if not self._anything_due():
            return False
        claimed = self._claim()
        if claimed is None:
            return False
        if self.concurrency > 1 and claimed.problem is None:
            thread = threading.Thread(target=self._execute, args=(claimed,), daemon=True,
                                      name=f"charter-{self.runner.name}-{claimed.job_arn.rsplit('/', 1)[-1]}")
            self._running[claimed.job_arn] = thread
            thread.start()
        else:
            self._execute(claimed)
        return True

    def _execute(self, claimed: "_Claimed") -> None:
        if claimed.problem is not None:
            outcome = Outcome("Failed", claimed.problem)
        else:
            try:
                outcome = self.runner.run(claimed.job_arn, claimed.prepared)
            except Exception as exc:  # a bug in one job must fail that job, not the engine
                log.exception("%s: running %s failed", self.runner.name, claimed.job_arn)
                outcome = Outcome("Failed", f"{type(exc).__name__}: {exc}")
        try:
            if outcome.status != DETACHED:
                self._finish(claimed.job_arn, outcome)
        finally:
            release = getattr(self.runner, "release", None)
            if release is not None:
                release(claimed.job_arn)

    def _renew(self) -> None:
        """Move the expiry of the leases of jobs running here forward (every third of a lease)."""
        now = time.time()
        running = [arn for arn, thread in self._running.items() if thread.is_alive()]
        if not running or now - self._renewed < self.lease / 3:
            return
        with self.instance.transaction() as conn:
            for arn in running:
                job = store.get(conn, arn, for_update=True)
                lease = (job.document.get(LEASE_KEY) or {}) if job is not None else {}
                if lease.get("Owner") == self.owner:
                    lease["ExpiresAt"] = now + self.lease
                    store.save(conn, job)
        self._renewed = now

    def _due(self):
        c = resources.c
        return (
            select(c.arn)
            .where(c.resource_type == self.runner.resource_type, c.status.in_(self.statuses))
            .order_by(c.created_at, c.id)
        )

    def _claimable(self, lease: dict | None, now: float) -> bool:
        if not lease or lease.get("ExpiresAt", 0) <= now:
            return True
        owner = lease.get("Owner") or ""
        return owner == self.owner or _owner_gone(owner)

    def _anything_due(self) -> bool:
        with self.instance.transaction(write=False) as conn:
            for arn in conn.execute(self._due().limit(50)).scalars():
                job = store.get(conn, arn)
                if arn in self._running or job is None:
                    continue
                if self._claimable(job.document.get(LEASE_KEY), time.time()):
                    return True
        return False

    def _claim(self) -> _Claimed | None:
        now = time.time()
        with self.instance.transaction() as conn:
            arns = conn.execute(self._due().limit(50).with_for_update(skip_locked=True)).scalars().all()
            for arn in arns:
                job = store.get(conn, arn)
                lease = job.document.get(LEASE_KEY) or {}
                if arn in self._running or not self._claimable(lease, now):
                    continue
                attempts = int(lease.get("Attempts", 0)) + 1
                if attempts > self.max_attempts:
                    # Every earlier attempt was claimed by a process that died before finishing.
                    self._record(conn, job, Outcome("Failed", self.runner.interrupted))
                    continue
                admit = getattr(self.runner, "admit", None)
                if admit is not None and not admit(job):
                    continue  # no room for it now; it waits, and jobs behind it that fit go first
                job.document[LEASE_KEY] = {"Owner": self.owner, "ExpiresAt": now + self.lease, "Attempts": attempts}
                store.save(conn, job)
                try:
                    return _Claimed(arn, self.runner.prepare(conn, job), None)
                except JobProblem as problem:
                    return _Claimed(arn, None, str(problem))
        return None

    def _finish(self, job_arn: str, outcome: Outcome) -> None:
        with self.instance.transaction() as conn:
            job = store.get(conn, job_arn, for_update=True)
            if job is None or job.status not in self.statuses:
                return
            if (job.document.get(LEASE_KEY) or {}).get("Owner") != self.owner:
                return  # our lease ran out and another engine took the job over
            self._record(conn, job, outcome)

    def _record(self, conn: Connection, job: store.Resource, outcome: Outcome) -> None:
        record(conn, job, outcome, status_key=getattr(self.runner, "status_key", "Status"),
               modified_key=getattr(self.runner, "modified_key", "LastModifiedAt"))
        finished = getattr(self.runner, "finished", None)
        if finished is not None:
            finished(conn, job, outcome)

    def release(self) -> int:
        """Hand back this engine's unfinished jobs so that the next start runs them at once."""
        released = 0
        with self.instance.transaction() as conn:
            for arn in conn.execute(self._due()).scalars().all():
                job = store.get(conn, arn, for_update=True)
                lease = job.document.get(LEASE_KEY)
                if lease and lease.get("Owner") == self.owner:
                    # A clean stop is not a failed attempt.
                    job.document[LEASE_KEY] = {"Attempts": max(0, int(lease.get("Attempts", 1)) - 1), "ExpiresAt": 0}
                    store.save(conn, job)
                    released += 1
        return released


def record(conn: Connection, job: store.Resource, outcome: Outcome, *, status_key: str = "Status",
           modified_key: str = "LastModifiedAt") -> None:
    """Writes how ``job`` ended, in ``conn``'s transaction, and drops its lease."""
    job.document.pop(LEASE_KEY, None)
    job.document.update(outcome.document)
    job.document[status_key] = outcome.status
    job.document[modified_key] = time.time()
    if outcome.reason:
        job.document["FailureReason"] = outcome.reason[:MAX_REASON]
    store.save(conn, job, status=outcome.status)
