"""The retention sweep: events older than their log group's retention are deleted.

CloudWatch Logs deletes expired events some time after they expire; reads
already leave them out (``store/logs.py``), so the sweep only reclaims the
space.  It runs in a thread of the server, a few seconds after start and then
every ``interval`` seconds; several servers sharing one database may sweep at
once without harm (each deletes what is expired when it looks).
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from ..store import logs as store
from . import Periodic, background

if TYPE_CHECKING:  # pragma: no cover
    from ..instance import Instance

log = logging.getLogger("charter.log_retention")

SWEEP_SECONDS = 3600.0
FIRST_SWEEP_SECONDS = 5.0


@background("log-retention")
class RetentionSweeper(Periodic):
    name = "log-retention"

    def __init__(self, instance: "Instance", *, interval: float = SWEEP_SECONDS, first: float = FIRST_SWEEP_SECONDS):
        super().__init__(instance, interval=interval, first=first)

    def sweep_once(self, now: float | None = None) -> int:
        """Delete every expired event now; how many were deleted."""
        at = int((time.time() if now is None else now) * 1000)
        with self.instance.transaction() as conn:
            return store.sweep_expired(conn, at)

    def run_once(self) -> None:
        removed = self.sweep_once()
        if removed:
            log.info("log retention: deleted %d expired events", removed)
