"""The retention sweep: events older than their log group's retention are deleted.

CloudWatch Logs deletes expired events some time after they expire; reads
already leave them out (``store/logs.py``), so the sweep only reclaims the
space.  It runs in a thread of the server, a few seconds after start and then
every ``interval`` seconds; several servers sharing one database may sweep at
once without harm (each deletes what is expired when it looks).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING

from ..store import logs as store
from . import background

if TYPE_CHECKING:  # pragma: no cover
    from ..instance import Instance

log = logging.getLogger("charter.log_retention")

SWEEP_SECONDS = 3600.0
FIRST_SWEEP_SECONDS = 5.0


@background("log-retention")
class RetentionSweeper:
    def __init__(self, instance: "Instance", *, interval: float = SWEEP_SECONDS, first: float = FIRST_SWEEP_SECONDS):
        self.instance = instance
        self.interval = interval
        self.first = first
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="charter-log-retention", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join(timeout=30)
        self._thread = None

    def sweep_once(self, now: float | None = None) -> int:
        """Delete every expired event now; how many were deleted."""
        at = int((time.time() if now is None else now) * 1000)
        with self.instance.transaction() as conn:
            return store.sweep_expired(conn, at)

    def _run(self) -> None:
        pause = self.first
        while not self._stop.wait(pause):
            try:
                removed = self.sweep_once()
                if removed:
                    log.info("log retention: deleted %d expired events", removed)
                pause = self.interval
            except Exception:  # the database may be briefly away; try again soon
                log.exception("log retention: the sweep failed; retrying")
                pause = min(self.interval, 60.0)
