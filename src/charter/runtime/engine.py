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
    status: str  # "Completed", "Failed", ...
    reason: str | None = None  # the FailureReason of a failed job
    document: dict = field(default_factory=dict)  # members set on the job document


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
    """A job document as its service answers it: without the engine's lease."""
    return {k: v for k, v in document.items() if k != LEASE_KEY}


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
        _engines.discard(self)
        self._thread = None
        try:
            self.release()
        except Exception:  # the lease then runs out instead
            log.exception("%s: could not hand back leases on stop", self.runner.name)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                if self.run_once():
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

    def run_once(self) -> bool:
        """Claim one due job and run it; False when there was none."""
        if not self._anything_due():
            return False
        claimed = self._claim()
        if claimed is None:
            return False
        if claimed.problem is not None:
            outcome = Outcome("Failed", claimed.problem)
        else:
            try:
                outcome = self.runner.run(claimed.job_arn, claimed.prepared)
            except Exception as exc:  # a bug in one job must fail that job, not the engine
                log.exception("%s: running %s failed", self.runner.name, claimed.job_arn)
                outcome = Outcome("Failed", f"{type(exc).__name__}: {exc}")
        self._finish(claimed.job_arn, outcome)
        return True

    def _due(self):
        c = resources.c
        return (
            select(c.arn)
            .where(c.resource_type == self.runner.resource_type, c.status == "InProgress")
            .order_by(c.created_at, c.id)
        )

    def _claimable(self, lease: dict | None, now: float) -> bool:
        return not lease or lease.get("ExpiresAt", 0) <= now or lease.get("Owner") == self.owner

    def _anything_due(self) -> bool:
        with self.instance.transaction(write=False) as conn:
            for arn in conn.execute(self._due().limit(50)).scalars():
                job = store.get(conn, arn)
                if job is not None and self._claimable(job.document.get(LEASE_KEY), time.time()):
                    return True
        return False

    def _claim(self) -> _Claimed | None:
        now = time.time()
        with self.instance.transaction() as conn:
            arns = conn.execute(self._due().limit(50).with_for_update(skip_locked=True)).scalars().all()
            for arn in arns:
                job = store.get(conn, arn)
                lease = job.document.get(LEASE_KEY) or {}
                if not self._claimable(lease, now):
                    continue
                attempts = int(lease.get("Attempts", 0)) + 1
                if attempts > self.max_attempts:
                    # Every earlier attempt was claimed by a process that died before finishing.
                    record(conn, job, Outcome("Failed", self.runner.interrupted))
                    continue
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
            if job is None or job.status != "InProgress":
                return
            if (job.document.get(LEASE_KEY) or {}).get("Owner") != self.owner:
                return  # our lease ran out and another engine took the job over
            record(conn, job, outcome)

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


def record(conn: Connection, job: store.Resource, outcome: Outcome) -> None:
    """Writes how ``job`` ended, in ``conn``'s transaction, and drops its lease."""
    job.document.pop(LEASE_KEY, None)
    job.document.update(outcome.document)
    job.document["Status"] = outcome.status
    job.document["LastModifiedAt"] = time.time()
    if outcome.reason:
        job.document["FailureReason"] = outcome.reason[:MAX_REASON]
    store.save(conn, job, status=outcome.status)
