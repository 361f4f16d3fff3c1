"""Running work: background workers started with the server (and, later, executors).

A module here registers a worker factory with ``@background``; the API server
starts every registered worker when it starts and stops them when it stops.
Workers keep their state in the database, so a restart picks up where the last
process left off (ARCHITECTURE.md rule 6).

Every worker is a :class:`Worker`: one thread of the server with a stop event,
a wake event and a bounded join.  :class:`Periodic` calls a function every so
often; the job engine (:mod:`charter.runtime.engine`) claims work from the
database.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
import threading
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:  # pragma: no cover
    from ..instance import Instance


class Worker:
    """A loop in a thread of its own: :meth:`_step` again and again, pausing as long as it says.

    :meth:`wake` cuts a pause short; :meth:`stop` ends the loop and waits for the
    thread at most ``join_timeout`` seconds.  A step that raises is logged and
    tried again after ``retry_pause`` seconds, so a database that is briefly away
    does not end the worker.
    """

    name = "worker"  # for logs and the thread's name
    join_timeout = 30.0
    settle = 0.0  # after a wake, wait this long before the next step

    def __init__(self, *, first: float = 0.0, retry_pause: float = 60.0, log: logging.Logger | None = None):
        self.first = first
        self.retry_pause = retry_pause
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._log = log or logging.getLogger(f"charter.{self.name}")

    def _step(self) -> float:
        """One round of work; returns the seconds to pause before the next (0: go on at once)."""
        raise NotImplementedError

    @property
    def stopping(self) -> bool:
        """True once :meth:`stop` was called."""
        return self._stop.is_set()

    def wake(self) -> None:
        """End the current pause now."""
        self._wake.set()

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._started()
        self._thread = threading.Thread(target=self._run, name=f"charter-{self.name}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is None:
            return
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=self.join_timeout)
        self._thread = None
        self._stopped()

    def _started(self) -> None:
        """Called by :meth:`start` before the thread starts."""

    def _stopped(self) -> None:
        """Called by :meth:`stop` once the thread ended (or its join timed out)."""

    def _run(self) -> None:
        pause = self.first
        while not self._pause(pause):
            try:
                pause = self._step()
            except Exception:
                self._log.exception("%s failed; retrying", self.name)
                pause = self.retry_pause

    def _pause(self, seconds: float) -> bool:
        """Wait ``seconds`` or until woken; True once stopping."""
        if seconds > 0:
            if self._wake.wait(seconds) and self.settle:
                # Whoever woke us may not have committed yet: give its transaction a moment.
                self._stop.wait(self.settle)
            self._wake.clear()
        # With no pause the wake is left set: one that came during this step is not lost.
        return self._stop.is_set()


WORKERS: dict[str, Callable[["Instance"], Worker]] = {}


def background(name: str):
    """Register a factory ``Instance -> Worker`` started with the server."""

    def register(factory):
        WORKERS[name] = factory
        return factory

    return register


class Periodic(Worker):
    """A worker that calls :meth:`run_once` every ``interval`` seconds.

    The first call comes ``first`` seconds after :meth:`start` (default: one
    interval); a call that raises is logged and tried again after at most a minute.
    """

    name = "periodic"

    def __init__(self, instance: "Instance", *, interval: float, first: float | None = None):
        super().__init__(first=interval if first is None else first, retry_pause=min(interval, 60.0))
        self.instance = instance
        self.interval = interval

    def run_once(self) -> None:
        raise NotImplementedError

    def _step(self) -> float:
        self.run_once()
        return self.interval


def load_all() -> dict[str, Callable[["Instance"], Worker]]:
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
    return WORKERS
