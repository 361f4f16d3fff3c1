"""charter.analytics.alarms and charter.analytics.metric_statistics, by hand-computed cases.

The alarm cases are the CloudWatch User Guide's missing-data table (an alarm
with 3 evaluation periods, 3 datapoints to alarm, a range of 5 periods) and
M-out-of-N cases worked out from the guide's definitions.
"""

from __future__ import annotations

import pytest

from charter.analytics.alarms import ALARM, INSUFFICIENT_DATA, OK, Outcome, evaluate, state_reason
from charter.analytics.metric_statistics import Point, bucket, combine, is_statistic, percentile, statistic

THRESHOLD = 5.0


def _row(text: str) -> list[float | None]:
    """'0 - X' → [1.0, None, 9.0]: 0 within the threshold, X above it, - missing."""
    return [{"0": 1.0, "X": 9.0, "-": None}[c] for c in text.split()]


GUIDE_TABLE = [
    # data points, missing, ignore (None = state kept), breaching, notBreaching
    ("0 - X - X", OK, OK, ALARM, OK),
    ("- - - - 0", OK, OK, OK, OK),
    ("- - - - -", INSUFFICIENT_DATA, None, ALARM, OK),
    ("0 X X - X", ALARM, ALARM, ALARM, OK),
    ("- - X - -", ALARM, None, ALARM, OK),
]


@pytest.mark.parametrize("points, missing, ignore, breaching, not_breaching", GUIDE_TABLE)
def test_the_guides_missing_data_table(points, missing, ignore, breaching, not_breaching):
    for treatment, expected in (("missing", missing), ("ignore", ignore), ("breaching", breaching),
                                ("notBreaching", not_breaching)):
        outcome = evaluate(_row(points), evaluation_periods=3, datapoints_to_alarm=3, threshold=THRESHOLD,
                           comparison="GreaterThanThreshold", treat_missing=treatment)
        assert outcome.state == expected, (points, treatment)




@pytest.mark.parametrize("points, expected, breaching", [
    ("0 0 X 0 X", ALARM, 2),  # 2 of the last 3 breach
    ("0 0 0 0 X", OK, 1),
    ("X X 0 0 X", OK, 1),     # the old breaches are outside the last 3
])
def test_two_out_of_three(points, expected, breaching):
    outcome = evaluate(_row(points), evaluation_periods=3, datapoints_to_alarm=2, threshold=THRESHOLD,
                       comparison="GreaterThanThreshold")
    assert (outcome.state, outcome.breaching, outcome.considered) == (expected, breaching, 3)


def test_comparisons_at_the_threshold():
    at = [THRESHOLD]
    kwargs = dict(evaluation_periods=1, datapoints_to_alarm=1, threshold=THRESHOLD)
    assert evaluate(at, comparison="GreaterThanThreshold", **kwargs).state == OK
    assert evaluate(at, comparison="GreaterThanOrEqualToThreshold", **kwargs).state == ALARM
    assert evaluate(at, comparison="LessThanThreshold", **kwargs).state == OK
    assert evaluate(at, comparison="LessThanOrEqualToThreshold", **kwargs).state == ALARM


def test_state_reasons_in_cloudwatchs_words():
    alarm = Outcome(ALARM, (0,), 1, 1)
    text = state_reason(alarm, [("03/12/26 10:15:00", 10)], comparison="GreaterThanThreshold", threshold=5,
                        evaluation_periods=1, datapoints_to_alarm=1, previous=OK)
    assert text == "Threshold Crossed: 1 datapoint [10.0 (03/12/26 10:15:00)] was greater than the threshold (5.0)."
    fine = Outcome(OK, (0,), 0, 1)
    text = state_reason(fine, [("03/12/26 10:16:00", 1)], comparison="GreaterThanThreshold", threshold=5,
                        evaluation_periods=1, datapoints_to_alarm=1, previous=ALARM)
    assert text == "Threshold Crossed: 1 datapoint [1.0 (03/12/26 10:16:00)] was not greater than the threshold (5.0)."
    m_of_n = Outcome(ALARM, (2, 4), 2, 3)
    text = state_reason(m_of_n, [("a", 9), ("b", 8)], comparison="GreaterThanOrEqualToThreshold", threshold=5,
                        evaluation_periods=3, datapoints_to_alarm=2, previous=OK)
    assert text == ("Threshold Crossed: 2 out of the last 3 datapoints [8.0 (b), 9.0 (a)] were greater than or equal "
                    "to the threshold (5.0) (minimum 2 datapoints for OK -> ALARM transition).")
    unknown = Outcome(INSUFFICIENT_DATA, (), 0, 0)
    assert state_reason(unknown, [], comparison="GreaterThanThreshold", threshold=5, evaluation_periods=1,
                        datapoints_to_alarm=1, previous=OK) == "Insufficient Data: 1 datapoint was unknown."


def test_period_statistics_combine_values_and_statistic_sets():
    values = Point(3, 6.0, 1.0, 3.0, ((1.0, 1), (2.0, 1), (3.0, 1)))
    single = Point(1, 10.0, 10.0, 10.0, ((10.0, 1),))
    summary = combine([values, single])
    assert (summary.sample_count, summary.sum, summary.minimum, summary.maximum) == (4, 16.0, 1.0, 10.0)
    assert statistic(summary, "Average") == 4.0
    assert statistic(summary, "p50") == 2.0   # rank ceil(0.5·4) = 2 → 2.0
    assert statistic(summary, "p100") == 10.0 and statistic(summary, "p0") == 1.0
    assert statistic(summary, "p75") == 3.0   # rank 3
    with_set = combine([values, Point(2, 4.0, 1.0, 3.0)])
    assert statistic(with_set, "Sum") == 10.0 and statistic(with_set, "p50") is None
    assert combine([]) is None


def test_weighted_percentiles_and_names():
    assert percentile([(1.0, 98), (50.0, 2)], 99) == 50.0
    assert percentile([(1.0, 99), (50.0, 1)], 99) == 1.0
    assert all(is_statistic(s) for s in ("Average", "p99", "p99.9", "p0", "p100", "p12.34"))
    assert not any(is_statistic(s) for s in ("average", "p101", "p99.999", "tm99", "p"))


def test_buckets_start_at_multiples_of_the_period_from_the_origin():
    assert bucket(125.0, 0.0, 60) == 120.0
    assert bucket(119.9, 60.0, 60) == 60.0
    assert bucket(30.0, 60.0, 60) == 0.0
