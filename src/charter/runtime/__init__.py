"""Running work: background workers started with the server (and, later, executors).

A module here registers a worker factory with ``@background``; the API server
starts every registered worker when it starts and stops them when it stops.
Workers keep their state in the database, so a restart picks up where the last
process left off (ARCHITECTURE.md rule 6).
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
import threading
from typing import TYPE_CHECKING, Callable, Protocol

if TYPE_CHECKING:  # pragma: no cover
    from ..instance import Instance


class Worker(Protocol):
    def start(self) -> None: ...

    def stop(self) -> None: ...


WORKERS: dict[str, Callable[["Instance"], Worker]] = {}


def background(name: str):
    """Register a factory ``Instance -> Worker`` started with the server."""

    def register(factory):
        WORKERS[name] = factory
        return factory

    return register


class Periodic:
    """A worker that calls :meth:`run_once` in a thread of its own, every ``interval`` seconds.

    The first call comes ``first`` seconds after :meth:`start` (default: one
    interval); a call that raises is logged and tried again after at most a minute.
    """

    name = "periodic"

    def __init__(self, instance: "Instance", *, interval: float, first: float | None = None):
        self.instance = instance
        self.interval = interval
        self.first = interval if first is None else first
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._log = logging.getLogger(f"charter.{self.name}")

    def run_once(self) -> None:
        raise NotImplementedError

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"charter-{self.name}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join(timeout=30)
        self._thread = None

    def _run(self) -> None:
        pause = self.first
        while not self._stop.wait(pause):
            try:
                self.run_once()
                pause = self.interval
            except Exception:  # the database may be briefly away; try again soon
                self._log.exception("%s failed; retrying", self.name)
                pause = min(self.interval, 60.0)


def load_all() -> dict[str, Callable[["Instance"], Worker]]:
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
    return WORKERS
