"""CloudWatch metrics and metric alarms (botocore service ``cloudwatch``).

Metrics: PutMetricData, GetMetricStatistics, GetMetricData (metric stat
queries; math expressions are refused by name), ListMetrics.  Alarms:
PutMetricAlarm (single-metric, static threshold), DescribeAlarms,
DescribeAlarmsForMetric, DeleteAlarms, SetAlarmState, Enable/DisableAlarmActions,
DescribeAlarmHistory.  Limits and wording follow the CloudWatch API
reference: at most 1,000 metrics per PutMetricData, 150 values per datum,
values within ±2^360 and never NaN or infinite, timestamps from two weeks
before now to two hours after, at most 1,440 datapoints per
GetMetricStatistics, 500 queries per GetMetricData.

Alarm states are evaluated by :func:`charter.store.metrics.evaluate_alarm`
(when an alarm is put, when its metric gets data, and once per period by the
``cloudwatch-alarms`` worker); alarm actions are recorded but not executed
(Charter has no SNS or Auto Scaling to call).
"""

from __future__ import annotations

import json
import math
import re
import time
from datetime import datetime, timedelta, timezone

from ..analytics.alarms import COMPARISONS, TREATMENTS
from ..analytics.metric_statistics import BASIC, Point, bucket, combine, is_statistic, percentile_of, statistic
from ..errors import ClientError, ValidationException
from ..store import metrics as store
from . import Call, operation

UTC = timezone.utc
SERVICE = "cloudwatch"
MAX_METRICS_PER_PUT = 1000
MAX_VALUES = 150
VALUE_LIMIT = 2.0**360
MAX_STATISTICS_POINTS = 1440
MAX_QUERIES = 500
DEFAULT_MAX_DATAPOINTS = 100_800
LIST_PAGE = 500
PAST = timedelta(days=14)
FUTURE = timedelta(hours=2)
_QUERY_ID = re.compile(r"[a-z][a-zA-Z0-9_]*")


def _error(code: str, status: int = 400):
    def make(message: str) -> ClientError:
        return ClientError(message, code=code, status=status)

    return make


InvalidParameterValue = _error("InvalidParameterValue")
InvalidParameterCombination = _error("InvalidParameterCombination")
MissingParameter = _error("MissingParameter")
ValidationError = _error("ValidationError")
InvalidNextToken = _error("InvalidNextToken")
ResourceNotFound = _error("ResourceNotFound", 404)
InvalidFormat = _error("InvalidFormat")


def alarm_arn(region: str, account: str, name: str) -> str:
    return f"arn:aws:cloudwatch:{region}:{account}:alarm:{name}"


def _alarm_resource(key: str):
    def resource(region: str, account: str, params: dict) -> str:
        value = params.get(key)
        if isinstance(value, list):
            value = value[0] if len(value) == 1 else "*"
        return alarm_arn(region, account, value or "*")

    return resource


def _epoch(value: datetime) -> float:
    return value.timestamp()


def _token(call: Call, kind: str, payload: dict) -> str:
    return call.codec.encode({"k": kind, **payload})


def _untoken(call: Call, kind: str, token: str | None) -> dict | None:
    if token is None:
        return None
    try:
        payload = call.codec.decode(token)
    except ValidationException:
        payload = None
    if not isinstance(payload, dict) or payload.get("k") != kind:
        raise InvalidNextToken("The NextToken is invalid: it was not issued for this request by this server.")
    return payload


# --- PutMetricData ------------------------------------------------------------------


def _finite(value: float, where: str) -> float:
    if not math.isfinite(value) or abs(value) > VALUE_LIMIT:
        raise InvalidParameterValue(
            f"The value {_show(value)} for parameter {where} is invalid: values must be finite numbers "
            f"between -2^360 and 2^360."
        )
    return value


def _show(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return repr(value)


def _datum_point(datum: dict, where: str) -> Point:
    value, values, counts, stats = (datum.get(k) for k in ("Value", "Values", "Counts", "StatisticValues"))
    given = [name for name, v in (("Value", value), ("Values", values), ("StatisticValues", stats)) if v is not None]
    if len(given) > 1:
        raise InvalidParameterCombination(
            f"The parameters {where}.{' and '.join(given)} are mutually exclusive; send one of Value, Values or StatisticValues."
        )
    if not given:
        raise MissingParameter(f"The parameter {where}.Value, {where}.Values or {where}.StatisticValues is required.")
    if counts is not None and values is None:
        raise InvalidParameterCombination(f"The parameter {where}.Counts is only allowed with {where}.Values.")
    if value is not None:
        _finite(value, f"{where}.Value")
        return Point(1.0, value, value, value, ((value, 1.0),))
    if stats is not None:
        for key in ("SampleCount", "Sum", "Minimum", "Maximum"):
            _finite(stats[key], f"{where}.StatisticValues.{key}")
        if stats["SampleCount"] <= 0:
            raise InvalidParameterValue(f"The parameter {where}.StatisticValues.SampleCount must be greater than 0.")
        if stats["Minimum"] > stats["Maximum"]:
            raise InvalidParameterValue(
                f"The parameter {where}.StatisticValues.Minimum must be less than or equal to {where}.StatisticValues.Maximum."
            )
        return Point(stats["SampleCount"], stats["Sum"], stats["Minimum"], stats["Maximum"])
    if not values:
        raise InvalidParameterValue(f"The parameter {where}.Values must hold at least one value.")
    if len(values) > MAX_VALUES:
        raise InvalidParameterValue(f"The parameter {where}.Values holds {len(values)} values; at most {MAX_VALUES} are allowed.")
    if counts is None:
        counts = [1.0] * len(values)
    elif len(counts) != len(values):
        raise InvalidParameterValue(
            f"The parameters {where}.Values and {where}.Counts must be the same length ({len(values)} and {len(counts)})."
        )
    for index, (v, c) in enumerate(zip(values, counts), 1):
        _finite(v, f"{where}.Values.member.{index}")
        _finite(c, f"{where}.Counts.member.{index}")
        if c < 0:
            raise InvalidParameterValue(f"The value {c!r} for parameter {where}.Counts.member.{index} must not be negative.")
    pairs = tuple(sorted((v, c) for v, c in zip(values, counts) if c > 0))
    total = sum(c for _, c in pairs)
    if total <= 0:
        raise InvalidParameterValue(f"The parameter {where}.Counts must count at least one value.")
    return Point(total, sum(v * c for v, c in pairs), pairs[0][0], pairs[-1][0], pairs)


def _check_dimensions(dimensions: list[dict] | None, where: str) -> list[dict]:
    seen = set()
    for d in dimensions or ():
        if d["Name"] in seen:
            raise InvalidParameterValue(f"The dimension {d['Name']} appears more than once in {where}.Dimensions.")
        seen.add(d["Name"])
    return store.sorted_dimensions(dimensions)


@operation("PutMetricData", service=SERVICE)
def put_metric_data(call: Call, params: dict) -> dict:
    namespace = params["Namespace"]
    if namespace.startswith("AWS/"):
        raise InvalidParameterValue(f"The value {namespace} for parameter Namespace is invalid: the AWS/ namespaces are reserved for AWS services.")
    data = params.get("MetricData")
    if params.get("EntityMetricData"):
        raise InvalidParameterValue("EntityMetricData is not supported by this Charter server; send MetricData.")
    if not data:
        raise MissingParameter("The parameter MetricData is required.")
    if len(data) > MAX_METRICS_PER_PUT:
        raise InvalidParameterValue(
            f"The collection MetricData must not have a size greater than {MAX_METRICS_PER_PUT} (it has {len(data)})."
        )
    now = time.time()
    points = []
    for index, datum in enumerate(data, 1):
        where = f"MetricData.member.{index}"
        point = _datum_point(datum, where)
        stamp = datum.get("Timestamp")
        when = _epoch(stamp) if stamp is not None else now
        if when < now - PAST.total_seconds() or when > now + FUTURE.total_seconds():
            raise InvalidParameterValue(
                f"The parameter {where}.Timestamp must specify a time no more than two weeks in the past "
                f"and no more than two hours in the future."
            )
        resolution = datum.get("StorageResolution", 60)
        if resolution not in (1, 60):
            raise InvalidParameterValue(f"The value {resolution} for parameter {where}.StorageResolution is invalid: it must be 1 or 60.")
        points.append(store.NewPoint(
            namespace=namespace, metric_name=datum["MetricName"],
            dimensions=_check_dimensions(datum.get("Dimensions"), where), timestamp=when, point=point,
            unit=datum.get("Unit") or "None", storage_resolution=resolution,
        ))
    touched = store.put_points(call.conn, call.account, call.region, points, now)
    store.evaluate_for_metrics(call.conn, touched, now)
    return {}


# --- reading metrics -------------------------------------------------------------------


def _check_period(period: int, where: str = "Period") -> None:
    if period < 60 and period not in (1, 5, 10, 20, 30):
        raise InvalidParameterValue(f"The parameter {where} must be 1, 5, 10, 20, 30 or a multiple of 60 (it is {period}).")
    if period >= 60 and period % 60:
        raise InvalidParameterValue(f"The parameter {where} must be a multiple of 60 when it is 60 or more (it is {period}).")


def _origin(start: float, period: int) -> float:
    """Where the first period begins: the start time rounded down to the minute (the second below 60 s)."""
    step = 60 if period >= 60 else 1
    return math.floor(start / step) * step


def _periods(conn, metric_row, start: float, end: float, period: int, unit: str | None):
    """{(period start, unit): Summary} for the metric between ``start`` and ``end``."""
    origin = _origin(start, period)
    grouped: dict[tuple[float, str], list[Point]] = {}
    for row in store.points_between(conn, metric_row.id, origin, end, unit):
        grouped.setdefault((bucket(row.timestamp, origin, period), row.unit), []).append(store.as_point(row))
    return {key: combine(points) for key, points in grouped.items()}


@operation("GetMetricStatistics", service=SERVICE, writes=False)
def get_metric_statistics(call: Call, params: dict) -> dict:
    start, end, period = _epoch(params["StartTime"]), _epoch(params["EndTime"]), params["Period"]
    stats, extended = params.get("Statistics"), params.get("ExtendedStatistics")
    if not stats and not extended:
        raise MissingParameter("The parameter Statistics or ExtendedStatistics is required.")
    if stats and extended:
        raise InvalidParameterCombination("The parameters Statistics and ExtendedStatistics are mutually exclusive.")
    for index, name in enumerate(stats or (), 1):
        if name not in BASIC:
            raise InvalidParameterValue(f"The value {name} for parameter Statistics.member.{index} is invalid: it must be one of {', '.join(BASIC)}.")
    for index, name in enumerate(extended or (), 1):
        if percentile_of(name) is None:
            raise InvalidParameterValue(
                f"The value {name} for parameter ExtendedStatistics.member.{index} is invalid: percentiles are p0 to p100 "
                "with at most two decimals (p99, p99.9)."
            )
    if start >= end:
        raise InvalidParameterValue("The parameter StartTime must be less than the parameter EndTime.")
    _check_period(period)
    requested = math.ceil((end - _origin(start, period)) / period)
    if requested > MAX_STATISTICS_POINTS:
        raise InvalidParameterCombination(
            f"You have requested up to {requested:,} datapoints, which exceeds the limit of {MAX_STATISTICS_POINTS:,}. "
            "You may reduce the datapoints requested by increasing Period, or decreasing the time range."
        )
    dimensions = _check_dimensions(params.get("Dimensions"), "")
    label = params["MetricName"]
    metric_row = store.find_metric(call.conn, store.identity(call.account, call.region, params["Namespace"], label, dimensions))
    datapoints = []
    if metric_row is not None:
        for (begin, unit), summary in _periods(call.conn, metric_row, start, end, period, params.get("Unit")).items():
            point = {"Timestamp": datetime.fromtimestamp(begin, UTC), "Unit": unit}
            for name in stats or ():
                point[name] = statistic(summary, name)
            if extended:
                values = {name: statistic(summary, name) for name in extended}
                point["ExtendedStatistics"] = {k: v for k, v in values.items() if v is not None}
            datapoints.append(point)
    return {"Label": label, "Datapoints": datapoints}


@operation("GetMetricData", service=SERVICE, writes=False)
def get_metric_data(call: Call, params: dict) -> dict:
    queries = params["MetricDataQueries"]
    start, end = _epoch(params["StartTime"]), _epoch(params["EndTime"])
    if not queries:
        raise MissingParameter("The parameter MetricDataQueries is required.")
    if len(queries) > MAX_QUERIES:
        raise InvalidParameterValue(f"The collection MetricDataQueries must not have more than {MAX_QUERIES} members.")
    if start >= end:
        raise ValidationError("The parameter StartTime must be less than the parameter EndTime.")
    limit = params.get("MaxDatapoints", DEFAULT_MAX_DATAPOINTS)
    if limit < 1:
        raise InvalidParameterValue("The parameter MaxDatapoints must be at least 1.")
    descending = params.get("ScanBy", "TimestampDescending") == "TimestampDescending"
    ids = set()
    series = []
    for index, query in enumerate(queries, 1):
        where = f"MetricDataQueries.member.{index}"
        if not _QUERY_ID.fullmatch(query["Id"]):
            raise ValidationError(
                f"The value {query['Id']} for parameter {where}.Id is invalid: an Id starts with a lower-case letter "
                "and holds only letters, digits and underscores."
            )
        if query["Id"] in ids:
            raise ValidationError(f"The value {query['Id']} for parameter {where}.Id is used by two queries.")
        ids.add(query["Id"])
        if query.get("Expression") is not None and query.get("MetricStat") is not None:
            raise ValidationError(f"{where} must hold exactly one of MetricStat and Expression.")
        if query.get("Expression") is not None:
            raise InvalidParameterValue(
                f"Metric math is not supported by this Charter server: {where}.Expression "
                f"{query['Expression']!r} cannot be evaluated; query the metrics with MetricStat instead."
            )
        stat_query = query.get("MetricStat")
        if stat_query is None:
            raise MissingParameter(f"The parameter {where}.MetricStat is required.")
        metric, period, stat = stat_query["Metric"], stat_query["Period"], stat_query["Stat"]
        if not metric.get("Namespace") or not metric.get("MetricName"):
            raise MissingParameter(f"The parameters {where}.MetricStat.Metric.Namespace and MetricName are required.")
        if not is_statistic(stat):
            raise InvalidParameterValue(
                f"The value {stat} for parameter {where}.MetricStat.Stat is invalid: this server computes "
                "SampleCount, Average, Sum, Minimum, Maximum and percentiles pNN."
            )
        _check_period(period, f"{where}.MetricStat.Period")
        dimensions = _check_dimensions(metric.get("Dimensions"), f"{where}.MetricStat.Metric")
        row = store.find_metric(call.conn, store.identity(call.account, call.region, metric["Namespace"],
                                                          metric["MetricName"], dimensions))
        points = []
        if row is not None:
            by_time: dict[float, list] = {}
            for (begin, _unit), summary in _periods(call.conn, row, start, end, period, stat_query.get("Unit")).items():
                by_time.setdefault(begin, []).append(summary)
            for begin, summaries in by_time.items():
                value = statistic(combine_summaries(summaries), stat)
                if value is not None:
                    points.append((begin, value))
        points.sort(reverse=descending)
        if query.get("ReturnData", True):
            series.append((query, metric["MetricName"], points))
    offset = (_untoken(call, "GetMetricData", params.get("NextToken")) or {}).get("o", 0)
    results, position, remaining = [], 0, limit
    for query, name, points in series:
        skip = max(0, offset - position)
        position += len(points)
        taken = points[skip:skip + remaining] if skip < len(points) else []
        remaining -= len(taken)
        complete = skip + len(taken) >= len(points)
        results.append({
            "Id": query["Id"], "Label": query.get("Label") or name,
            "Timestamps": [datetime.fromtimestamp(t, UTC) for t, _ in taken],
            "Values": [v for _, v in taken],
            "StatusCode": "Complete" if complete else "PartialData",
        })
    output = {"MetricDataResults": results, "Messages": []}
    consumed = offset + (limit - remaining)
    if consumed < position:
        output["NextToken"] = _token(call, "GetMetricData", {"o": consumed})
    return output


def combine_summaries(summaries):
    """Periods' summaries of several units as one (GetMetricData does not split by unit)."""
    if len(summaries) == 1:
        return summaries[0]
    return combine(Point(s.sample_count, s.sum, s.minimum, s.maximum, s.distribution) for s in summaries)


@operation("ListMetrics", service=SERVICE, writes=False)
def list_metrics(call: Call, params: dict) -> dict:
    if params.get("IncludeLinkedAccounts") or params.get("OwningAccount"):
        raise InvalidParameterValue("Cross-account observability is not supported by this Charter server.")
    filters = params.get("Dimensions") or []
    after = (_untoken(call, "ListMetrics", params.get("NextToken")) or {}).get("after", 0)
    active_since = time.time() - 3 * 3600 if params.get("RecentlyActive") == "PT3H" else None
    found: list[dict] = []
    last_id = after
    exhausted = False
    while len(found) < LIST_PAGE:
        rows = store.list_metrics(call.conn, call.account, call.region, namespace=params.get("Namespace"),
                                  metric_name=params.get("MetricName"), active_since=active_since,
                                  after_id=last_id, limit=LIST_PAGE).all()
        if not rows:
            exhausted = True
            break
        for row in rows:
            last_id = row.id
            dimensions = json.loads(row.dimensions)
            if _matches(dimensions, filters):
                found.append({"Namespace": row.namespace, "MetricName": row.metric_name, "Dimensions": dimensions})
                if len(found) == LIST_PAGE:
                    break
        if len(rows) < LIST_PAGE and len(found) < LIST_PAGE:
            exhausted = True
            break
    output: dict = {"Metrics": found}
    if not exhausted and found:
        output["NextToken"] = _token(call, "ListMetrics", {"after": last_id})
    return output


def _matches(dimensions: list[dict], filters: list[dict]) -> bool:
    have = {d["Name"]: d["Value"] for d in dimensions}
    return all(f["Name"] in have and ("Value" not in f or have[f["Name"]] == f["Value"]) for f in filters)


# --- alarms ---------------------------------------------------------------------------------

_ALARM_MEMBERS = (
    "AlarmName", "AlarmDescription", "ActionsEnabled", "OKActions", "AlarmActions", "InsufficientDataActions",
    "MetricName", "Namespace", "Statistic", "ExtendedStatistic", "Dimensions", "Period", "Unit",
    "EvaluationPeriods", "DatapointsToAlarm", "Threshold", "ComparisonOperator", "TreatMissingData",
    "EvaluateLowSampleCountPercentile", "Tags",
)


@operation("PutMetricAlarm", service=SERVICE, resource=_alarm_resource("AlarmName"))
def put_metric_alarm(call: Call, params: dict) -> dict:
    if params.get("Metrics"):
        raise InvalidParameterValue("Alarms on metric math (Metrics) are not supported by this Charter server; "
                                    "give MetricName, Namespace, Statistic and Period.")
    if params.get("ThresholdMetricId"):
        raise InvalidParameterValue("Anomaly detection alarms (ThresholdMetricId) are not supported by this Charter server.")
    for key in ("MetricName", "Namespace", "Period"):
        if params.get(key) is None:
            raise MissingParameter(f"The parameter {key} is required.")
    statistic_name, extended = params.get("Statistic"), params.get("ExtendedStatistic")
    if statistic_name and extended:
        raise InvalidParameterCombination("The parameters Statistic and ExtendedStatistic are mutually exclusive.")
    if not statistic_name and not extended:
        raise MissingParameter("The parameter Statistic or ExtendedStatistic is required.")
    if extended and percentile_of(extended) is None:
        raise InvalidParameterValue(f"The value {extended} for parameter ExtendedStatistic is invalid: percentiles are p0 to p100.")
    for key in ("ComparisonOperator", "EvaluationPeriods"):  # required of a metric alarm, not by the model
        if params.get(key) is None:
            raise MissingParameter(f"The parameter {key} is required.")
    comparison = params["ComparisonOperator"]
    if comparison not in COMPARISONS:
        raise InvalidParameterValue(f"The comparison operator {comparison} needs an anomaly detection band, which this Charter server does not support.")
    if params.get("Threshold") is None:
        raise MissingParameter("The parameter Threshold is required.")
    _finite(params["Threshold"], "Threshold")
    period, n = params["Period"], params["EvaluationPeriods"]
    if period not in (10, 20, 30) and period % 60:
        raise ValidationError(f"Period ({period}) must be 10, 20, 30 or a multiple of 60.")
    if period * n > 86400 and not period >= 3600:
        raise ValidationError("Metrics cannot be checked across more than a day (EvaluationPeriods * Period must be <= 86400).")
    if period * n > 7 * 86400:
        raise ValidationError("Metrics cannot be checked across more than a week (EvaluationPeriods * Period must be <= 604800).")
    m = params.get("DatapointsToAlarm", n)
    if m > n:
        raise ValidationError(f"DatapointsToAlarm ({m}) must be less than or equal to EvaluationPeriods ({n}).")
    treat = params.get("TreatMissingData", "missing")
    if treat not in TREATMENTS:
        raise ValidationError(f"The value {treat} for parameter TreatMissingData is invalid: it must be one of {', '.join(TREATMENTS)}.")
    low = params.get("EvaluateLowSampleCountPercentile")
    if low is not None and (low not in ("evaluate", "ignore") or not extended):
        raise ValidationError("EvaluateLowSampleCountPercentile is 'evaluate' or 'ignore', and only for an ExtendedStatistic alarm.")
    document = {key: params[key] for key in _ALARM_MEMBERS if params.get(key) is not None}
    document["Dimensions"] = _check_dimensions(params.get("Dimensions"), "")
    name = params["AlarmName"]
    identity = store.identity(call.account, call.region, params["Namespace"], params["MetricName"], document["Dimensions"])
    now = time.time()
    store.save_alarm(call.conn, call.account, call.region, alarm_arn(call.region, call.account, name), document, identity, now)
    store.evaluate_alarm(call.conn, store.get_alarm(call.conn, call.account, call.region, name), now)
    return {}


def _alarm_out(row) -> dict:
    document = json.loads(row.document)
    out = {key: document[key] for key in _ALARM_MEMBERS if key in document and key != "Tags"}
    out.update({
        "AlarmArn": row.arn,
        "ActionsEnabled": bool(row.actions_enabled),
        "OKActions": document.get("OKActions", []),
        "AlarmActions": document.get("AlarmActions", []),
        "InsufficientDataActions": document.get("InsufficientDataActions", []),
        "AlarmConfigurationUpdatedTimestamp": datetime.fromtimestamp(row.configuration_updated_at, UTC),
        "StateValue": row.state_value,
        "StateReason": row.state_reason,
        "StateReasonData": row.state_reason_data,
        "StateUpdatedTimestamp": datetime.fromtimestamp(row.state_updated_at, UTC),
        "StateTransitionedTimestamp": datetime.fromtimestamp(row.state_transitioned_at, UTC),
        "TreatMissingData": document.get("TreatMissingData", "missing"),
    })
    return out


@operation("DescribeAlarms", service=SERVICE, writes=False)
def describe_alarms(call: Call, params: dict) -> dict:
    names, prefix = params.get("AlarmNames"), params.get("AlarmNamePrefix")
    if names and prefix:
        raise InvalidParameterCombination("The parameters AlarmNames and AlarmNamePrefix are mutually exclusive.")
    if params.get("ChildrenOfAlarmName") or params.get("ParentsOfAlarmName"):
        raise InvalidParameterValue("Composite alarms are not supported by this Charter server.")
    types = params.get("AlarmTypes") or ["MetricAlarm"]
    output: dict = {"MetricAlarms": [], "CompositeAlarms": []}
    if "MetricAlarm" not in types:
        return output
    limit = params.get("MaxRecords", 50)
    after = (_untoken(call, "DescribeAlarms", params.get("NextToken")) or {}).get("after")
    rows = store.alarms_page(call.conn, call.account, call.region, prefix=prefix, state=params.get("StateValue"),
                             names=names or None, after=after, limit=limit + 1)
    action_prefix = params.get("ActionPrefix")
    if action_prefix:
        rows = [r for r in rows if any(a.startswith(action_prefix) for key in ("OKActions", "AlarmActions", "InsufficientDataActions")
                                       for a in json.loads(r.document).get(key, []))]
    output["MetricAlarms"] = [_alarm_out(r) for r in rows[:limit]]
    if len(rows) > limit:
        output["NextToken"] = _token(call, "DescribeAlarms", {"after": rows[limit - 1].name})
    return output


@operation("DescribeAlarmsForMetric", service=SERVICE, writes=False)
def describe_alarms_for_metric(call: Call, params: dict) -> dict:
    dimensions = _check_dimensions(params.get("Dimensions"), "")
    identity = store.identity(call.account, call.region, params["Namespace"], params["MetricName"], dimensions)
    found = []
    for row in store.alarms_page(call.conn, call.account, call.region, metric_identity=identity, limit=10_000):
        document = json.loads(row.document)
        if any(params.get(key) is not None and document.get(key) != params[key]
               for key in ("Statistic", "ExtendedStatistic", "Period", "Unit")):
            continue
        found.append(_alarm_out(row))
    return {"MetricAlarms": found}


@operation("DeleteAlarms", service=SERVICE, resource=_alarm_resource("AlarmNames"))
def delete_alarms(call: Call, params: dict) -> dict:
    names = list(dict.fromkeys(params["AlarmNames"]))
    existing = {row.name for row in store.alarms_named(call.conn, call.account, call.region, names)}
    missing = [name for name in names if name not in existing]
    if missing:
        raise ResourceNotFound(f"{len(missing)} of the alarms named do not exist: {', '.join(missing)}. Nothing was deleted.")
    now = time.time()
    for name in names:
        store.history(call.conn, call.account, call.region, name, now, "ConfigurationUpdate", f'Alarm "{name}" deleted',
                      {"type": "Delete"})
    store.delete_alarms(call.conn, call.account, call.region, names)
    return {}


@operation("SetAlarmState", service=SERVICE, resource=_alarm_resource("AlarmName"))
def set_alarm_state(call: Call, params: dict) -> dict:
    row = store.get_alarm(call.conn, call.account, call.region, params["AlarmName"])
    if row is None:
        raise ResourceNotFound(f"The alarm {params['AlarmName']} does not exist.")
    data = params.get("StateReasonData")
    if data is not None:
        try:
            json.loads(data)
        except ValueError:
            raise InvalidFormat("The parameter StateReasonData is not valid JSON.") from None
    store.set_state(call.conn, row, params["StateValue"], params["StateReason"], data, time.time())
    return {}


def _actions(enabled: bool):
    def handler(call: Call, params: dict) -> dict:
        store.set_actions_enabled(call.conn, call.account, call.region, list(params["AlarmNames"]), enabled, time.time())
        return {}

    return handler


operation("EnableAlarmActions", service=SERVICE, resource=_alarm_resource("AlarmNames"))(_actions(True))
operation("DisableAlarmActions", service=SERVICE, resource=_alarm_resource("AlarmNames"))(_actions(False))


@operation("DescribeAlarmHistory", service=SERVICE, writes=False)
def describe_alarm_history(call: Call, params: dict) -> dict:
    types = params.get("AlarmTypes")
    if types and "MetricAlarm" not in types:
        return {"AlarmHistoryItems": []}
    limit = params.get("MaxRecords", 100)
    ascending = params.get("ScanBy") == "TimestampAscending"
    after = (_untoken(call, "DescribeAlarmHistory", params.get("NextToken")) or {}).get("after")
    start, end = params.get("StartDate"), params.get("EndDate")
    rows = store.history_page(call.conn, call.account, call.region, alarm_name=params.get("AlarmName"),
                              item_type=params.get("HistoryItemType"), start=_epoch(start) if start else None,
                              end=_epoch(end) if end else None, ascending=ascending, after_id=after, limit=limit + 1)
    items = [{
        "AlarmName": r.alarm_name, "AlarmType": "MetricAlarm", "Timestamp": datetime.fromtimestamp(r.timestamp, UTC),
        "HistoryItemType": r.item_type, "HistorySummary": r.summary, "HistoryData": r.data,
    } for r in rows[:limit]]
    output: dict = {"AlarmHistoryItems": items}
    if len(rows) > limit:
        output["NextToken"] = _token(call, "DescribeAlarmHistory", {"after": rows[limit - 1].id})
    return output
