"""CloudWatch metrics and alarms in the database.

Metrics and their data points (:mod:`charter.store.metrics_schema`), alarms
with their state and history, and the alarm evaluation that ties them
together.  When an alarm is evaluated (decided in
:mod:`charter.services.cloudwatch` and the ``cloudwatch-alarms`` worker):

* when it is created or changed (PutMetricAlarm), right away;
* when data for its metric arrives (PutMetricData), in the same transaction;
* once per period otherwise (the worker, :mod:`charter.runtime.metric_alarms`),
  so data that stops coming in moves it as its missing-data treatment says.

Its evaluation range is the last N + 2 periods (N = EvaluationPeriods),
periods aligned to multiples of Period since the epoch, the current (still
open) period included, so data sent now is evaluated now.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Iterable

from sqlalchemy import Connection, and_, delete, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ..analytics import alarms as kernel
from ..analytics.metric_statistics import Point, bucket, combine, statistic
from .metrics_schema import cw_alarm_history, cw_alarms, cw_datapoints, cw_metrics

UTC = timezone.utc


# --- metrics -------------------------------------------------------------------


def sorted_dimensions(dimensions: Iterable[dict] | None) -> list[dict]:
    return sorted(({"Name": d["Name"], "Value": d["Value"]} for d in dimensions or ()), key=lambda d: d["Name"])


def identity(account: str, region: str, namespace: str, name: str, dimensions: Iterable[dict] | None) -> str:
    """The metric's identity: the same namespace, name and dimension set, in any order."""
    key = json.dumps([account, region, namespace, name, sorted_dimensions(dimensions)], separators=(",", ":"))
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass
class NewPoint:
    """One data point as PutMetricData stores it."""

    namespace: str
    metric_name: str
    dimensions: list[dict]
    timestamp: float
    point: Point
    unit: str
    storage_resolution: int


def put_points(conn: Connection, account: str, region: str, points: list[NewPoint], now: float) -> set[str]:
    """Store ``points``, creating their metrics; the identities of the metrics touched."""
    ids: dict[str, int] = {}
    for p in points:
        key = identity(account, region, p.namespace, p.metric_name, p.dimensions)
        if key not in ids:
            ids[key] = _metric_id(conn, key, account, region, p, now)
    conn.execute(update(cw_metrics).where(cw_metrics.c.id.in_(list(ids.values()))).values(last_put_at=now))
    rows = []
    for p in points:
        key = identity(account, region, p.namespace, p.metric_name, p.dimensions)
        distribution = p.point.distribution
        rows.append({
            "metric_id": ids[key],
            "timestamp": p.timestamp,
            "sample_count": p.point.sample_count,
            "sum": p.point.sum,
            "minimum": p.point.minimum,
            "maximum": p.point.maximum,
            "distribution": json.dumps([list(pair) for pair in distribution]) if distribution is not None else None,
            "unit": p.unit,
            "storage_resolution": p.storage_resolution,
        })
    conn.execute(insert(cw_datapoints), rows)
    return set(ids)


def _metric_id(conn: Connection, key: str, account: str, region: str, p: NewPoint, now: float) -> int:
    found = conn.execute(select(cw_metrics.c.id).where(cw_metrics.c.identity == key)).scalar()
    if found is not None:
        return found
    values = {
        "identity": key, "account": account, "region": region, "namespace": p.namespace,
        "metric_name": p.metric_name, "dimensions": json.dumps(sorted_dimensions(p.dimensions)), "last_put_at": now,
    }
    # Two writers may create the same metric at once (PostgreSQL): the second one's insert is a no-op.
    statement = (pg_insert if conn.dialect.name == "postgresql" else sqlite_insert)(cw_metrics).values(**values)
    conn.execute(statement.on_conflict_do_nothing(index_elements=["identity"]))
    return conn.execute(select(cw_metrics.c.id).where(cw_metrics.c.identity == key)).scalar_one()


def find_metric(conn: Connection, key: str):
    return conn.execute(select(cw_metrics).where(cw_metrics.c.identity == key)).first()


def points_between(conn: Connection, metric_id: int, start: float, end: float, unit: str | None = None):
    """The metric's stored points with ``start <= timestamp < end`` (optionally of one unit)."""
    query = select(cw_datapoints).where(
        cw_datapoints.c.metric_id == metric_id, cw_datapoints.c.timestamp >= start, cw_datapoints.c.timestamp < end
    )
    if unit is not None:
        query = query.where(cw_datapoints.c.unit == unit)
    return conn.execute(query.order_by(cw_datapoints.c.timestamp)).all()


def as_point(row) -> Point:
    distribution = json.loads(row.distribution) if row.distribution is not None else None
    return Point(row.sample_count, row.sum, row.minimum, row.maximum,
                 tuple((v, c) for v, c in distribution) if distribution is not None else None)


def list_metrics(conn: Connection, account: str, region: str, *, namespace=None, metric_name=None,
                 active_since=None, after_id: int = 0, limit: int = 500):
    """Metrics in id order after ``after_id`` (dimension filters are the caller's)."""
    query = select(cw_metrics).where(cw_metrics.c.account == account, cw_metrics.c.region == region,
                                     cw_metrics.c.id > after_id)
    if namespace is not None:
        query = query.where(cw_metrics.c.namespace == namespace)
    if metric_name is not None:
        query = query.where(cw_metrics.c.metric_name == metric_name)
    if active_since is not None:
        query = query.where(cw_metrics.c.last_put_at >= active_since)
    return conn.execute(query.order_by(cw_metrics.c.id).limit(limit))


# --- alarms --------------------------------------------------------------------


def get_alarm(conn: Connection, account: str, region: str, name: str):
    return conn.execute(select(cw_alarms).where(
        cw_alarms.c.account == account, cw_alarms.c.region == region, cw_alarms.c.name == name)).first()


def alarms_named(conn: Connection, account: str, region: str, names: list[str]):
    return conn.execute(select(cw_alarms).where(
        cw_alarms.c.account == account, cw_alarms.c.region == region, cw_alarms.c.name.in_(names)
    ).order_by(cw_alarms.c.name)).all()


def alarms_page(conn: Connection, account: str, region: str, *, prefix=None, state=None, names=None,
                after: str | None = None, limit: int = 50, metric_identity: str | None = None):
    query = select(cw_alarms).where(cw_alarms.c.account == account, cw_alarms.c.region == region)
    if prefix is not None:
        query = query.where(cw_alarms.c.name.startswith(prefix, autoescape=True))
    if state is not None:
        query = query.where(cw_alarms.c.state_value == state)
    if names is not None:
        query = query.where(cw_alarms.c.name.in_(names))
    if metric_identity is not None:
        query = query.where(cw_alarms.c.metric_identity == metric_identity)
    if after is not None:
        query = query.where(cw_alarms.c.name > after)
    return conn.execute(query.order_by(cw_alarms.c.name).limit(limit)).all()


def save_alarm(conn: Connection, account: str, region: str, arn: str, document: dict, metric_identity: str, now: float) -> bool:
    """Create or replace the alarm ``document`` names; True when it is new.

    A new alarm starts in INSUFFICIENT_DATA ("Unchecked: Initial alarm
    creation"); a replaced one keeps its state, as PutMetricAlarm documents.
    """
    name = document["AlarmName"]
    columns = {
        "namespace": document.get("Namespace"),
        "metric_name": document.get("MetricName"),
        "metric_identity": metric_identity,
        "document": json.dumps(document, separators=(",", ":")),
        "actions_enabled": bool(document.get("ActionsEnabled", True)),
        "configuration_updated_at": now,
    }
    existing = get_alarm(conn, account, region, name)
    if existing is not None:
        conn.execute(update(cw_alarms).where(cw_alarms.c.id == existing.id).values(**columns))
        history(conn, account, region, name, now, "ConfigurationUpdate", f'Alarm "{name}" updated',
                {"type": "Update", "updatedAlarm": document})
        return False
    conn.execute(insert(cw_alarms).values(
        account=account, region=region, name=name, arn=arn, state_value=kernel.INSUFFICIENT_DATA,
        state_reason="Unchecked: Initial alarm creation", state_reason_data=None, state_updated_at=now,
        state_transitioned_at=now, evaluated_at=0.0, **columns,
    ))
    history(conn, account, region, name, now, "ConfigurationUpdate", f'Alarm "{name}" created',
            {"type": "Create", "createdAlarm": document})
    return True


def delete_alarms(conn: Connection, account: str, region: str, names: list[str]) -> None:
    conn.execute(delete(cw_alarms).where(
        cw_alarms.c.account == account, cw_alarms.c.region == region, cw_alarms.c.name.in_(names)))


def set_actions_enabled(conn: Connection, account: str, region: str, names: list[str], enabled: bool, now: float) -> None:
    for row in alarms_named(conn, account, region, names):
        document = json.loads(row.document)
        document["ActionsEnabled"] = enabled
        conn.execute(update(cw_alarms).where(cw_alarms.c.id == row.id).values(
            actions_enabled=enabled, document=json.dumps(document, separators=(",", ":"))))


def set_state(conn: Connection, row, state: str, reason: str, reason_data: str | None, now: float) -> None:
    """Move the alarm ``row`` to ``state``, recording the change in its history."""
    previous = row.state_value
    values = {"state_value": state, "state_reason": reason, "state_reason_data": reason_data, "state_updated_at": now}
    if previous != state:
        values["state_transitioned_at"] = now
    conn.execute(update(cw_alarms).where(cw_alarms.c.id == row.id).values(**values))
    if previous != state:
        data = {"version": "1.0", "oldState": {"stateValue": previous, "stateReason": row.state_reason},
                "newState": {"stateValue": state, "stateReason": reason}}
        if reason_data:
            data["newState"]["stateReasonData"] = _json_or_text(reason_data)
        history(conn, row.account, row.region, row.name, now, "StateUpdate",
                f"Alarm updated from {previous} to {state}", data)


def history(conn: Connection, account: str, region: str, alarm_name: str, now: float, item_type: str,
            summary: str, data: dict) -> None:
    conn.execute(insert(cw_alarm_history).values(
        account=account, region=region, alarm_name=alarm_name, timestamp=now, item_type=item_type,
        summary=summary[:255], data=json.dumps(data, separators=(",", ":"), default=str)[:4095],
    ))


def history_page(conn: Connection, account: str, region: str, *, alarm_name=None, item_type=None, start=None,
                 end=None, ascending=False, after_id: int | None = None, limit: int = 100):
    query = select(cw_alarm_history).where(cw_alarm_history.c.account == account, cw_alarm_history.c.region == region)
    if alarm_name is not None:
        query = query.where(cw_alarm_history.c.alarm_name == alarm_name)
    if item_type is not None:
        query = query.where(cw_alarm_history.c.item_type == item_type)
    if start is not None:
        query = query.where(cw_alarm_history.c.timestamp >= start)
    if end is not None:
        query = query.where(cw_alarm_history.c.timestamp <= end)
    order = cw_alarm_history.c.id
    if after_id is not None:
        query = query.where(order > after_id if ascending else order < after_id)
    return conn.execute(query.order_by(order if ascending else order.desc()).limit(limit)).all()


def _json_or_text(text: str):
    try:
        return json.loads(text)
    except ValueError:
        return text


# --- evaluation -----------------------------------------------------------------


def range_periods(evaluation_periods: int) -> int:
    return evaluation_periods + 2


def evaluate_alarm(conn: Connection, row, now: float) -> None:
    """Evaluate the alarm ``row`` against its metric's data and store what changed."""
    document = json.loads(row.document)
    period = int(document["Period"])
    n = int(document["EvaluationPeriods"])
    m = int(document.get("DatapointsToAlarm") or n)
    stat = document.get("Statistic") or document.get("ExtendedStatistic")
    treat = document.get("TreatMissingData") or "missing"
    comparison = document["ComparisonOperator"]
    threshold = float(document["Threshold"])
    periods = range_periods(n)
    current = bucket(now, 0.0, period)
    starts = [current - (periods - 1 - k) * period for k in range(periods)]
    values: list[float | None] = [None] * periods
    samples: list[float] = [0.0] * periods
    metric = find_metric(conn, row.metric_identity) if row.metric_identity else None
    if metric is not None:
        grouped: dict[int, list[Point]] = {}
        for point_row in points_between(conn, metric.id, starts[0], current + period, document.get("Unit")):
            index = int((bucket(point_row.timestamp, 0.0, period) - starts[0]) // period)
            grouped.setdefault(index, []).append(as_point(point_row))
        for index, points in grouped.items():
            summary = combine(points)
            values[index] = statistic(summary, stat)
            samples[index] = summary.sample_count
    outcome = kernel.evaluate(values, evaluation_periods=n, datapoints_to_alarm=m, threshold=threshold,
                              comparison=comparison, treat_missing=treat)
    conn.execute(update(cw_alarms).where(cw_alarms.c.id == row.id).values(evaluated_at=now))
    if outcome.state is None or (outcome.state == row.state_value and not row.state_reason.startswith("Unchecked")):
        return  # nothing new to say: CloudWatch records a state when it changes
    evaluated = [(_reason_time(starts[i]), values[i]) for i in outcome.evaluated]
    reason = kernel.state_reason(outcome, evaluated, comparison=comparison, threshold=threshold,
                                 evaluation_periods=n, datapoints_to_alarm=m, previous=row.state_value)
    reason_data = {
        "version": "1.0",
        "queryDate": _iso(now),
        "startDate": _iso(starts[0]),
        "statistic" if document.get("Statistic") else "extendedStatistic": stat,
        "period": period,
        "recentDatapoints": [values[i] for i in outcome.evaluated],
        "threshold": threshold,
        "evaluatedDatapoints": [
            {"timestamp": _iso(starts[i]), "sampleCount": samples[i], "value": values[i]}
            for i in reversed(outcome.evaluated)
        ],
    }
    set_state(conn, row, outcome.state, reason, json.dumps(reason_data, separators=(",", ":")), now)


def evaluate_for_metrics(conn: Connection, identities: set[str], now: float) -> None:
    """Evaluate every alarm that watches one of the metrics ``identities`` names."""
    if not identities:
        return
    for row in conn.execute(select(cw_alarms).where(cw_alarms.c.metric_identity.in_(list(identities)))).all():
        evaluate_alarm(conn, row, now)


def evaluate_due(conn: Connection, now: float, limit: int = 500) -> int:
    """Evaluate the alarms a new period has begun for since their last evaluation; how many."""
    count = 0
    for row in conn.execute(select(cw_alarms).order_by(cw_alarms.c.evaluated_at).limit(limit)).all():
        period = int(json.loads(row.document)["Period"])
        if bucket(now, 0.0, period) > row.evaluated_at:
            evaluate_alarm(conn, get_alarm(conn, row.account, row.region, row.name), now)
            count += 1
    return count


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(epoch * 1000) % 1000:03d}+0000"


def _reason_time(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%d/%m/%y %H:%M:%S")
