"""The alarm clock: evaluates CloudWatch alarms once per period when no data arrives.

PutMetricAlarm and PutMetricData evaluate the alarms they touch themselves
(:mod:`charter.store.metrics`); this worker covers the rest, so an alarm
whose data stops moves to what its TreatMissingData says (INSUFFICIENT_DATA,
ALARM, OK or its current state) without anyone calling.  Every ``interval``
seconds it evaluates the alarms a new period has begun for since their last
evaluation.  Each evaluation reads and writes only the database, so several
servers on one database may run it at once without harm.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING

from ..store import metrics as store
from . import background

if TYPE_CHECKING:  # pragma: no cover
    from ..instance import Instance

log = logging.getLogger("charter.metric_alarms")

INTERVAL_SECONDS = 10.0


@background("cloudwatch-alarms")
class AlarmClock:
    def __init__(self, instance: "Instance", *, interval: float = INTERVAL_SECONDS):
        self.instance = instance
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="charter-metric-alarms", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join(timeout=30)
        self._thread = None

    def tick(self, now: float | None = None) -> int:
        """Evaluate the alarms that are due; how many were evaluated."""
        with self.instance.transaction() as conn:
            return store.evaluate_due(conn, time.time() if now is None else now)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.tick()
            except Exception:  # the database may be briefly away; the next tick retries
                log.exception("alarm evaluation failed; retrying at the next tick")
