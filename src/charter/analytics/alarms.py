"""Metric alarm evaluation: the state an alarm's recent data points put it in.

Follows the CloudWatch User Guide ("Alarm evaluation" and "Configuring how
CloudWatch alarms treat missing data").  An alarm has a period, N evaluation
periods, M datapoints to alarm (M ≤ N), a threshold and a comparison.  Its
*evaluation range* is the last few periods (the caller passes them, oldest
first, ``None`` for a period without data); the guide's examples use a range
of N + 2 periods for N = 3.

* ``breaching`` / ``notBreaching``: missing periods count as breaching / not
  breaching; the last N periods decide: ALARM if at least M breach, else OK.
* ``missing``: missing periods are skipped.  Every period missing:
  INSUFFICIENT_DATA.  Otherwise the most recent N periods with data decide;
  when fewer than M periods have data, the alarm still goes to ALARM if its
  oldest breaching point is at least M periods old and every more recent
  point breaches or is missing (the guide's rule against both premature and
  missed alarms), else OK.
* ``ignore``: while the most recent period has no data the state is kept;
  otherwise as ``missing``.

The guide's example table (M = N = 3, a range of 5 periods; 0 fine, X
breaching, - missing) as these rules compute it, which the unit tests check::

    0 - X - X   missing OK     ignore OK      breaching ALARM  notBreaching OK
    - - - - 0   missing OK     ignore OK      breaching OK     notBreaching OK
    - - - - -   INSUFFICIENT   ignore (kept)  breaching ALARM  notBreaching OK
    0 X X - X   missing ALARM  ignore ALARM   breaching ALARM  notBreaching OK
    - - X - -   missing ALARM  ignore (kept)  breaching ALARM  notBreaching OK
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Callable, Sequence

OK, ALARM, INSUFFICIENT_DATA = "OK", "ALARM", "INSUFFICIENT_DATA"

#: The static-threshold comparisons: the test and how the state reason words it.
COMPARISONS: dict[str, tuple[Callable[[float, float], bool], str]] = {
    "GreaterThanOrEqualToThreshold": (operator.ge, "greater than or equal to"),
    "GreaterThanThreshold": (operator.gt, "greater than"),
    "LessThanThreshold": (operator.lt, "less than"),
    "LessThanOrEqualToThreshold": (operator.le, "less than or equal to"),
}
TREATMENTS = ("breaching", "notBreaching", "ignore", "missing")


@dataclass(frozen=True)
class Outcome:
    #: The new state; None: keep the current one.
    state: str | None
    #: Indices (into the range) of the periods with data that were looked at, oldest first.
    evaluated: tuple[int, ...]
    #: How many of the looked-at periods breach (missing ones counted as treated).
    breaching: int
    #: How many periods were looked at (data or treated as data).
    considered: int


def breaches(value: float, comparison: str, threshold: float) -> bool:
    test, _ = COMPARISONS[comparison]
    return test(value, threshold)


def evaluate(
    values: Sequence[float | None],
    *,
    evaluation_periods: int,
    datapoints_to_alarm: int,
    threshold: float,
    comparison: str,
    treat_missing: str = "missing",
) -> Outcome:
    """The state the evaluation range ``values`` (oldest first) gives the alarm."""
    n, m = evaluation_periods, datapoints_to_alarm
    if treat_missing in ("breaching", "notBreaching"):
        window = list(enumerate(values))[-n:]
        count = 0
        for _, value in window:
            if value is None:
                count += treat_missing == "breaching"
            else:
                count += breaches(value, comparison, threshold)
        evaluated = tuple(i for i, value in window if value is not None)
        return Outcome(ALARM if count >= m else OK, evaluated, count, len(window))

    present = [(i, value) for i, value in enumerate(values) if value is not None]
    if treat_missing == "ignore" and (not values or values[-1] is None):
        return Outcome(None, (), 0, 0)
    if not present:
        return Outcome(INSUFFICIENT_DATA, (), 0, 0)
    recent = present[-n:]
    flags = [breaches(value, comparison, threshold) for _, value in recent]
    count = sum(flags)
    evaluated = tuple(i for i, _ in recent)
    if len(recent) >= m:
        return Outcome(ALARM if count >= m else OK, evaluated, count, len(recent))
    # Fewer points than M: alarm only when a breach is old enough and nothing newer is fine.
    last = len(values) - 1
    oldest_breach = next((i for (i, _), bad in zip(recent, flags) if bad), None)
    if oldest_breach is not None and last - oldest_breach + 1 >= m:
        if all(bad for (i, _), bad in zip(recent, flags) if i > oldest_breach):
            return Outcome(ALARM, evaluated, count, len(recent))
    return Outcome(OK, evaluated, count, len(recent))


def state_reason(
    outcome: Outcome,
    points: Sequence[tuple[str, float]],
    *,
    comparison: str,
    threshold: float,
    evaluation_periods: int,
    datapoints_to_alarm: int,
    previous: str,
) -> str:
    """The StateReason CloudWatch writes for ``outcome``.

    ``points`` are the evaluated (formatted time, value) pairs, oldest first.
    Worded as CloudWatch words it: ``Threshold Crossed: 1 datapoint [10.0
    (03/12/26 10:15:00)] was greater than the threshold (5.0).``
    """
    if outcome.state == INSUFFICIENT_DATA:
        unknown = outcome.considered or evaluation_periods
        return f"Insufficient Data: {unknown} datapoint{'s were' if unknown != 1 else ' was'} unknown."
    _, words = COMPARISONS[comparison]
    listed = ", ".join(f"{_number(value)} ({when})" for when, value in reversed(points))
    shown = outcome.breaching if outcome.state == ALARM else outcome.considered - outcome.breaching
    verb = "were" if shown != 1 else "was"
    if outcome.state != ALARM:
        verb += " not"
    if outcome.considered <= 1 or shown == outcome.considered:
        head = f"{shown} datapoint{'s' if shown != 1 else ''}"
    else:
        head = f"{shown} out of the last {outcome.considered} datapoints"
    text = f"Threshold Crossed: {head} [{listed}] {verb} {words} the threshold ({_number(threshold)})."
    if outcome.state == ALARM and previous != ALARM and datapoints_to_alarm > 1:
        text = text[:-1] + f" (minimum {datapoints_to_alarm} datapoints for {previous} -> ALARM transition)."
    return text


def _number(value: float) -> str:
    return repr(float(value))
