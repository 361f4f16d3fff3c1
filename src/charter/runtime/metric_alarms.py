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

import time
from typing import TYPE_CHECKING

from ..store import metrics as store
from . import Periodic, background

if TYPE_CHECKING:  # pragma: no cover
    from ..instance import Instance

INTERVAL_SECONDS = 10.0


@background("cloudwatch-alarms")
class AlarmClock(Periodic):
    name = "metric-alarms"

    def __init__(self, instance: "Instance", *, interval: float = INTERVAL_SECONDS):
        super().__init__(instance, interval=interval)

    def tick(self, now: float | None = None) -> int:
        """Evaluate the alarms that are due; how many were evaluated."""
        with self.instance.transaction() as conn:
            return store.evaluate_due(conn, time.time() if now is None else now)

    def run_once(self) -> None:
        self.tick()
