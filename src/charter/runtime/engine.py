"""The job engine: one loop that claims due work with a lease, runs it and records how it ended.

Work lives in the database, in a :class:`Source`: resources of one type whose
document holds all the job needs (:class:`Documents`: model card exports,
training, processing and the rest, created ``InProgress`` by their service), or
other rows with a lease of their own (the webhook outbox's deliveries,
``runtime/webhooks.py``).  A :class:`Runner` says what running one piece means;
the :class:`Engine` does the rest, the same way for each:

1. **Claim.** A read looks for due work first, so an idle server takes no write
   lock.  Then one short write transaction puts a :class:`Lease` on the oldest
   claimable piece: owner, expiry and attempt count (a resource keeps it in its
   document under ``_Lease``, which services hide from their answers with
   :func:`public`).  On PostgreSQL the claim uses ``FOR UPDATE SKIP LOCKED``, so
   several servers on one database share the work.  In the same transaction the
   runner's ``prepare`` reads what the run needs; a :class:`JobProblem` it raises
   fails the piece with its message.
2. **Run.** The runner's ``run`` goes with no transaction open and gives an
   :class:`Outcome`.  An exception there fails the piece with its text, and the
   engine keeps going.
3. **Finish.** One write transaction records the outcome, but only while the
   lease is still this engine's: a run that outlived its lease was taken over,
   and the new owner's result is the one that counts.

Runners that follow long jobs (training, processing) or send many small things
(webhooks) also say how many may run at once (``concurrency``: each runs in a
thread of its own, its lease renewed while it runs), which statuses are still
theirs to follow (``statuses``: a job ``Stopping`` is followed to its end),
which member holds the status (``status_key``) and whether there is room for one
more now (``admit``, which reserves the room; ``release`` gives it back);
``stopped`` is called once the engine stopped, to close what the runs shared.

Nothing is lost (ARCHITECTURE.md rule 6).  A clean stop hands its leases back
without counting the attempt, so the next start runs the work at once.  After a
crash the lease runs out, and any engine runs it again.  Work whose attempts
keep dying is failed after ``max_attempts`` with the runner's ``interrupted``
message, not retried for ever.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
import weakref
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Callable, Iterable, Protocol

from sqlalchemy import Connection, select

from ..store import resources as store
from ..store.schema import resources
from . import Worker

if TYPE_CHECKING:  # pragma: no cover
    from ..instance import Instance

log = logging.getLogger("charter.engine")

LEASE_KEY = "_Lease"
MAX_REASON = 1024  # SageMaker's FailureReason length
CLAIM_WINDOW = 50  # due rows looked at per claim


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

    resource_type: str  # the resources it runs, when the engine is given no other source
    name: str  # for logs and thread names
    interrupted: str | Callable[[Any], str]  # the FailureReason of a job whose every attempt died

    def prepare(self, conn: Connection, job: Any) -> Any:
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


# --- where the work is --------------------------------------------------------------


@dataclass(frozen=True)
class Lease:
    """Who holds a piece of work (None: nobody says), until when, and how often it was claimed."""

    owner: str | None = None
    expires_at: float = 0.0
    attempts: int = 0


@dataclass(frozen=True)
class Candidate:
    """A piece of work a source offers: its key (a job's ARN, a delivery's id), its lease as
    stored, and the item the runner's hooks are given (a ``store.Resource``, a row)."""

    key: Any
    lease: Lease
    item: Any


class Source(Protocol):
    """Where an engine's work is stored and how a lease is kept on it.  Every method runs in a
    transaction the engine opened; the engine decides what is claimable and counts attempts."""

    kind: str  # what :func:`notify` names to wake the engines of this source

    def due(self, conn: Connection, now: float, *, limit: int, lock: bool) -> Iterable[Candidate]:
        """Work that wants running, oldest first, leased or not; with ``lock``, its rows are locked
        (``FOR UPDATE SKIP LOCKED``, so that another server's claim passes them by)."""

    def take(self, conn: Connection, item: Any, lease: Lease) -> None:
        """Store ``lease`` on ``item`` (claim, renewal, hand-back)."""

    def held(self, conn: Connection, key: Any, lease: Lease) -> Any | None:
        """The item, locked, if it still wants running under ``lease`` (not taken over since)."""

    def record(self, conn: Connection, item: Any, outcome: Outcome) -> None:
        """Store how a run ended, dropping the lease."""

    # Optional: ``soonest(conn) -> float | None``, when the next piece not yet due becomes due,
    # so that the engine sleeps until then rather than a whole poll.


class Documents:
    """The resource-document source: resources of one type in ``statuses``, oldest first, the lease
    kept in the document under ``LEASE_KEY`` and told apart from a successor's by its owner."""

    def __init__(self, resource_type: str, statuses: Iterable[str] = ("InProgress",), *,
                 status_key: str = "Status", modified_key: str = "LastModifiedAt"):
        self.kind = resource_type
        self.statuses = tuple(statuses)
        self.status_key = status_key
        self.modified_key = modified_key

    def query(self):
        """The ARNs of the resources that want running, oldest first."""
        c = resources.c
        return (
            select(c.arn)
            .where(c.resource_type == self.kind, c.status.in_(self.statuses))
            .order_by(c.created_at, c.id)
        )

    def due(self, conn: Connection, now: float, *, limit: int, lock: bool) -> Iterable[Candidate]:
        query = self.query().limit(limit)
        if lock:
            query = query.with_for_update(skip_locked=True)
        for arn in conn.execute(query).scalars().all():
            job = store.get(conn, arn)
            if job is not None:
                stored = job.document.get(LEASE_KEY) or {}
                lease = Lease(stored.get("Owner"), float(stored.get("ExpiresAt", 0)), int(stored.get("Attempts", 0)))
                yield Candidate(arn, lease, job)

    def take(self, conn: Connection, job: store.Resource, lease: Lease) -> None:
        stored: dict = {"ExpiresAt": lease.expires_at, "Attempts": lease.attempts}
        if lease.owner is not None:
            stored["Owner"] = lease.owner
        job.document[LEASE_KEY] = stored
        store.save(conn, job)

    def held(self, conn: Connection, arn: str, lease: Lease) -> store.Resource | None:
        job = store.get(conn, arn, for_update=True)
        if job is None or job.status not in self.statuses:
            return None
        if (job.document.get(LEASE_KEY) or {}).get("Owner") != lease.owner:
            return None  # our lease ran out and another engine took the job over
        return job

    def record(self, conn: Connection, job: store.Resource, outcome: Outcome) -> None:
        record(conn, job, outcome, status_key=self.status_key, modified_key=self.modified_key)


# --- waking engines early -----------------------------------------------------------

_engines: "weakref.WeakSet[Engine]" = weakref.WeakSet()


def notify(kind: str) -> None:
    """Wake this process's engines for ``kind`` (a resource type, or another source's kind) now
    rather than at their next poll."""
    for engine in list(_engines):
        if engine.source.kind == kind:
            engine.wake()


@dataclass(frozen=True)
class _Claimed:
    key: Any
    prepared: Any
    problem: str | None

    @property
    def job_arn(self) -> Any:
        """The key of a resource job: its ARN."""
        return self.key


class Engine(Worker):
    """Runs one runner's work from one source, in a thread of the server (a ``runtime.Worker``).

    Without a ``source`` it runs the resources of ``runner.resource_type`` (:class:`Documents`).
    """

    settle = 0.05

    def __init__(self, instance: "Instance", runner: Runner, *, lease: float, poll: float = 1.0,
                 max_attempts: int = 3, source: Source | None = None, join_timeout: float = 60.0):
        self.name = runner.name
        super().__init__(retry_pause=poll * 4, log=log)
        self.instance = instance
        self.runner = runner
        self.lease = lease
        self.poll = poll
        self.max_attempts = max_attempts
        self.join_timeout = join_timeout
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.concurrency = int(getattr(runner, "concurrency", 1))
        self.statuses = tuple(getattr(runner, "statuses", ("InProgress",)))
        self.source: Source = source or Documents(
            runner.resource_type, self.statuses, status_key=getattr(runner, "status_key", "Status"),
            modified_key=getattr(runner, "modified_key", "LastModifiedAt"),
        )
        self._running: dict[Any, threading.Thread] = {}  # key -> the thread running it
        self._held: dict[Any, Lease] = {}  # key -> our lease on it, until finished or handed back
        self._held_lock = threading.Lock()
        self._renewed = 0.0
        bind = getattr(runner, "bind", None)
        if bind is not None:
            bind(self)

    # --- lifecycle (the loop itself is runtime.Worker's)

    def _started(self) -> None:
        _engines.add(self)

    def _stopped(self) -> None:
        deadline = time.monotonic() + self.join_timeout
        for thread in list(self._running.values()):
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        _engines.discard(self)
        try:
            self.release()
        except Exception:  # the leases then run out instead
            log.exception("%s: could not hand back leases on stop", self.name)
        stopped = getattr(self.runner, "stopped", None)
        if stopped is not None:
            stopped()

    def _step(self) -> float:
        self._renew()
        if self._has_room() and self.run_once():
            return 0.0  # there may be more waiting
        return self._idle_pause()

    def _idle_pause(self) -> float:
        soonest = getattr(self.source, "soonest", None)
        if soonest is None:
            return self.poll
        with self.instance.transaction(write=False) as conn:
            at = soonest(conn)
        if at is None:
            return self.poll
        # A floor, so that due work this engine cannot take now (no room) is not polled for in a spin.
        return min(self.poll, max(self.poll / 10, at - time.time()))

    # --- one piece of work

    def _has_room(self) -> bool:
        for key, thread in list(self._running.items()):
            if not thread.is_alive():
                self._running.pop(key, None)
        return len(self._running) < self.concurrency

    def run_once(self) -> bool:
        """Claim one due piece of work and run it (in a thread of its own when the runner runs
        several at once); False when there was none."""
        if not self._anything_due():
            return False
        claimed = self._claim()
        if claimed is None:
            return False
        if self.concurrency > 1 and claimed.problem is None:
            thread = threading.Thread(target=self._execute_and_wake, args=(claimed,), daemon=True,
                                      name=f"charter-{self.name}-{str(claimed.key).rsplit('/', 1)[-1]}")
            self._running[claimed.key] = thread
            thread.start()
        else:
            self._execute(claimed)
        return True

    def _execute_and_wake(self, claimed: _Claimed) -> None:
        try:
            self._execute(claimed)
        finally:
            if self._running.get(claimed.key) is threading.current_thread():
                self._running.pop(claimed.key, None)
            self.wake()  # there is room for one more now

    def _execute(self, claimed: _Claimed) -> None:
        if claimed.problem is not None:
            outcome = Outcome("Failed", claimed.problem)
        else:
            try:
                outcome = self.runner.run(claimed.key, claimed.prepared)
            except Exception as exc:  # a bug in one job must fail that job, not the engine
                log.exception("%s: running %s failed", self.name, claimed.key)
                outcome = Outcome("Failed", f"{type(exc).__name__}: {exc}")
        try:
            if outcome.status != DETACHED:
                self._finish(claimed.key, outcome)
        finally:
            release = getattr(self.runner, "release", None)
            if release is not None:
                release(claimed.key)

    def _claimable(self, lease: Lease, now: float) -> bool:
        if lease.expires_at <= now:
            return True
        owner = lease.owner or ""
        return owner == self.owner or (bool(owner) and _owner_gone(owner))

    def _anything_due(self) -> bool:
        with self.instance.transaction(write=False) as conn:
            now = time.time()
            return any(
                candidate.key not in self._running and self._claimable(candidate.lease, now)
                for candidate in self.source.due(conn, now, limit=CLAIM_WINDOW, lock=False)
            )

    def _claim(self) -> _Claimed | None:
        now = time.time()
        with self.instance.transaction() as conn:
            for candidate in self.source.due(conn, now, limit=CLAIM_WINDOW, lock=True):
                if candidate.key in self._running or not self._claimable(candidate.lease, now):
                    continue
                attempts = candidate.lease.attempts + 1
                if attempts > self.max_attempts:
                    # Every earlier attempt was claimed by a process that died before finishing.
                    self._record(conn, candidate.item, self._interrupted(candidate.item))
                    continue
                admit = getattr(self.runner, "admit", None)
                if admit is not None and not admit(candidate.item):
                    continue  # no room for it now; it waits, and work behind it that fits goes first
                lease = Lease(self.owner, now + self.lease, attempts)
                self.source.take(conn, candidate.item, lease)
                with self._held_lock:
                    self._held[candidate.key] = lease
                try:
                    return _Claimed(candidate.key, self.runner.prepare(conn, candidate.item), None)
                except JobProblem as problem:
                    return _Claimed(candidate.key, None, str(problem))
        return None

    def _interrupted(self, item: Any) -> Outcome:
        reason = self.runner.interrupted
        return Outcome("Failed", reason(item) if callable(reason) else reason)

    def _renew(self) -> None:
        """Move the expiry of the leases of work running here forward (every third of a lease)."""
        now = time.time()
        running = [key for key, thread in list(self._running.items()) if thread.is_alive()]
        if not running or now - self._renewed < self.lease / 3:
            return
        with self.instance.transaction() as conn:
            for key in running:
                lease = self._held.get(key)
                item = self.source.held(conn, key, lease) if lease is not None else None
                if item is None:
                    continue
                renewed = replace(lease, expires_at=now + self.lease)
                self.source.take(conn, item, renewed)
                with self._held_lock:
                    if self._held.get(key) is lease:  # not finished meanwhile
                        self._held[key] = renewed
        self._renewed = now

    def _finish(self, key: Any, outcome: Outcome) -> None:
        lease = self._held.get(key)
        if lease is None:
            return  # handed back on stop: the next owner's result counts
        with self.instance.transaction() as conn:
            item = self.source.held(conn, key, lease)
            if item is not None:
                self._record(conn, item, outcome)
        with self._held_lock:
            self._held.pop(key, None)

    def _record(self, conn: Connection, item: Any, outcome: Outcome) -> None:
        self.source.record(conn, item, outcome)
        finished = getattr(self.runner, "finished", None)
        if finished is not None:
            finished(conn, item, outcome)

    def release(self) -> int:
        """Hand back this engine's unfinished work so that the next start runs it at once."""
        released = 0
        held = list(self._held.items())
        with self.instance.transaction() as conn:
            for key, lease in held:
                item = self.source.held(conn, key, lease)
                if item is not None:
                    # A clean stop is not a failed attempt; the work is due again from now.
                    self.source.take(conn, item, Lease(None, time.time(), max(0, lease.attempts - 1)))
                    released += 1
        with self._held_lock:  # handed back, or no longer ours to hand back
            for key, lease in held:
                if self._held.get(key) is lease:
                    self._held.pop(key)
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
