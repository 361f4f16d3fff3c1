"""CloudWatch metrics and alarms through boto3, in each protocol CloudWatch's model lists, and the AWS CLI.

botocore 1.44 (and the AWS CLI v1's own botocore) picks JSON 1.0 from the
model's ``protocols`` list (json, then rest-json, rest-xml, smithy-rpc-v2-cbor,
query), so a plain client speaks JSON; the CBOR and query clients here are the
same botocore over a copy of the model that lists only that protocol.
"""

from __future__ import annotations

import json
import math
import subprocess
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import boto3
import botocore.exceptions
import botocore.session
import pytest
from botocore.config import Config

import aws_cli
from conftest import ADMIN_KEY, ADMIN_SECRET, REGION

UTC = timezone.utc


PROTOCOLS = ["json", "smithy-rpc-v2-cbor"]


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    return tmp_path_factory.mktemp("models")


@pytest.fixture(params=PROTOCOLS)
def protocol(request):
    return request.param


@pytest.fixture
def cw(charter, models, protocol):
    return forced_client(charter, models, protocol)


@pytest.fixture
def loose(charter, models, protocol):
    """A client that sends what botocore's own validation would refuse."""
    return forced_client(charter, models, protocol, validate=False)


def namespace() -> str:
    return f"Charter/Test/{uuid.uuid4().hex[:8]}"


def code_of(raised) -> str:
    return raised.value.response["Error"]["Code"]


def forced_client(charter, root: Path, protocol: str, *, validate: bool = True,
                  key: str = ADMIN_KEY, secret: str = ADMIN_SECRET):
    """A CloudWatch client over a copy of the model whose only protocol is ``protocol``."""
    models = root / protocol
    document = botocore.session.get_session().get_component("data_loader").load_service_model("cloudwatch", "service-2")
    target = models / "cloudwatch" / document["metadata"]["apiVersion"]
    if not (target / "service-2.json").exists():
        document["metadata"]["protocol"] = protocol
        document["metadata"]["protocols"] = [protocol]
        target.mkdir(parents=True, exist_ok=True)
        (target / "service-2.json").write_text(json.dumps(document))
    session = botocore.session.get_session()  # a fresh loader: the first one cached the original model
    session.get_component("data_loader").search_paths.insert(0, str(models))
    client = boto3.Session(botocore_session=session).client(
        "cloudwatch", endpoint_url=charter.endpoint, region_name=REGION, aws_access_key_id=key,
        aws_secret_access_key=secret, config=Config(retries={"max_attempts": 1}, parameter_validation=validate),
    )
    assert client.meta.service_model.resolved_protocol == protocol
    return client


def test_a_plain_boto3_client_speaks_json_and_is_answered(charter):
    plain = charter.client(service="cloudwatch")
    assert plain.meta.service_model.resolved_protocol == "json"
    plain.put_metric_data(Namespace="Charter/Plain", MetricData=[{"MetricName": "M", "Value": 1.0}])
    assert plain.list_metrics(Namespace="Charter/Plain")["Metrics"][0]["MetricName"] == "M"


def test_put_metric_data_then_statistics(cw):
    ns = namespace()
    now = datetime.now(UTC).replace(second=30, microsecond=0)
    dims = [{"Name": "Endpoint", "Value": "e1"}, {"Name": "Variant", "Value": "v1"}]
    cw.put_metric_data(Namespace=ns, MetricData=[
        {"MetricName": "Latency", "Dimensions": dims, "Timestamp": now, "Value": 10.0, "Unit": "Milliseconds"},
        {"MetricName": "Latency", "Dimensions": list(reversed(dims)), "Timestamp": now, "Values": [1.0, 4.0],
         "Counts": [2.0, 1.0], "Unit": "Milliseconds"},
        {"MetricName": "Latency", "Dimensions": dims, "Timestamp": now - timedelta(minutes=1),
         "StatisticValues": {"SampleCount": 2, "Sum": 6, "Minimum": 2, "Maximum": 4}, "Unit": "Milliseconds"},
    ])
    answer = cw.get_metric_statistics(
        Namespace=ns, MetricName="Latency", Dimensions=dims, StartTime=now - timedelta(minutes=5),
        EndTime=now + timedelta(minutes=5), Period=60, Statistics=["Average", "Sum", "SampleCount", "Minimum", "Maximum"],
    )
    assert answer["Label"] == "Latency"
    points = sorted(answer["Datapoints"], key=lambda p: p["Timestamp"])
    assert [p["Timestamp"] for p in points] == [now.replace(second=0) - timedelta(minutes=1), now.replace(second=0)]
    older, newer = points
    assert (older["SampleCount"], older["Sum"], older["Minimum"], older["Maximum"]) == (2.0, 6.0, 2.0, 4.0)
    assert (newer["SampleCount"], newer["Sum"], newer["Average"]) == (4.0, 16.0, 4.0)
    assert newer["Unit"] == "Milliseconds"
    percentiles = cw.get_metric_statistics(
        Namespace=ns, MetricName="Latency", Dimensions=dims, StartTime=now - timedelta(seconds=30),
        EndTime=now + timedelta(minutes=1), Period=60, ExtendedStatistics=["p50", "p99"],
    )["Datapoints"]
    assert percentiles[0]["ExtendedStatistics"] == {"p50": 1.0, "p99": 10.0}
    wrong_unit = cw.get_metric_statistics(
        Namespace=ns, MetricName="Latency", Dimensions=dims, StartTime=now - timedelta(minutes=5),
        EndTime=now + timedelta(minutes=5), Period=60, Statistics=["Sum"], Unit="Seconds",
    )
    assert wrong_unit["Datapoints"] == []
    # Another dimension set is another metric.
    other = cw.get_metric_statistics(
        Namespace=ns, MetricName="Latency", Dimensions=dims[:1], StartTime=now - timedelta(minutes=5),
        EndTime=now + timedelta(minutes=5), Period=60, Statistics=["Sum"],
    )
    assert other["Datapoints"] == []


def test_get_metric_data_pages_and_refuses_math(cw):
    ns = namespace()
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=10)
    cw.put_metric_data(Namespace=ns, MetricData=[
        {"MetricName": "Calls", "Timestamp": start + timedelta(minutes=i, seconds=5), "Value": float(i)} for i in range(6)
    ])
    query = {"Id": "calls", "MetricStat": {"Metric": {"Namespace": ns, "MetricName": "Calls"}, "Period": 60, "Stat": "Sum"}}
    hidden = {"Id": "hidden", "ReturnData": False, **{k: v for k, v in query.items() if k != "Id"}}
    answer = cw.get_metric_data(MetricDataQueries=[query, hidden], StartTime=start, EndTime=start + timedelta(minutes=10))
    (result,) = answer["MetricDataResults"]
    assert result["Id"] == "calls" and result["Label"] == "Calls" and result["StatusCode"] == "Complete"
    assert result["Values"] == [5.0, 4.0, 3.0, 2.0, 1.0, 0.0]  # newest first by default
    assert result["Timestamps"][0] == start + timedelta(minutes=5)
    seen, token, pages = [], None, 0
    while True:
        extra = {"NextToken": token} if token else {}
        page = cw.get_metric_data(MetricDataQueries=[query], StartTime=start, EndTime=start + timedelta(minutes=10),
                                  ScanBy="TimestampAscending", MaxDatapoints=4, **extra)
        pages += 1
        seen += page["MetricDataResults"][0]["Values"]
        token = page.get("NextToken")
        if token is None:
            break
        assert page["MetricDataResults"][0]["StatusCode"] == "PartialData"
    assert (seen, pages) == ([0.0, 1.0, 2.0, 3.0, 4.0, 5.0], 2)
    with pytest.raises(cw.exceptions.InvalidParameterValueException) as raised:
        cw.get_metric_data(MetricDataQueries=[{"Id": "total", "Expression": "SUM(METRICS())"}],
                           StartTime=start, EndTime=start + timedelta(minutes=10))
    assert "SUM(METRICS())" in raised.value.response["Error"]["Message"]
    with pytest.raises(cw.exceptions.ValidationException):
        cw.get_metric_data(MetricDataQueries=[{**query, "Id": "Bad-Id"}], StartTime=start, EndTime=start + timedelta(minutes=10))
    with pytest.raises(cw.exceptions.InvalidNextToken):
        cw.get_metric_data(MetricDataQueries=[query], StartTime=start, EndTime=start + timedelta(minutes=1), NextToken="forged")


def test_list_metrics_filters_by_name_and_dimensions(cw):
    ns = namespace()
    cw.put_metric_data(Namespace=ns, MetricData=[
        {"MetricName": "A", "Dimensions": [{"Name": "Host", "Value": "h1"}], "Value": 1},
        {"MetricName": "A", "Dimensions": [{"Name": "Host", "Value": "h2"}], "Value": 1},
        {"MetricName": "B", "Value": 1},
    ])
    every = cw.list_metrics(Namespace=ns)["Metrics"]
    assert len(every) == 3 and {m["Namespace"] for m in every} == {ns}
    assert [m["Dimensions"] for m in cw.list_metrics(Namespace=ns, Dimensions=[{"Name": "Host", "Value": "h2"}])["Metrics"]] == [
        [{"Name": "Host", "Value": "h2"}]]
    assert len(cw.list_metrics(Namespace=ns, MetricName="A", Dimensions=[{"Name": "Host"}])["Metrics"]) == 2
    assert [m["MetricName"] for m in cw.list_metrics(Namespace=ns, MetricName="B", RecentlyActive="PT3H")["Metrics"]] == ["B"]
    paginated = [m for page in cw.get_paginator("list_metrics").paginate(Namespace=ns) for m in page["Metrics"]]
    assert len(paginated) == 3


def test_bad_metric_data_is_refused_and_nothing_is_stored(cw, loose):
    ns = namespace()
    bad_batches = [
        ([{"MetricName": "M", "Value": 1.0}, {"MetricName": "M", "Value": math.nan}], "InvalidParameterValue"),
        ([{"MetricName": "M", "Value": math.inf}], "InvalidParameterValue"),
        ([{"MetricName": "M", "Value": 1.0, "StatisticValues": {"SampleCount": 1, "Sum": 1, "Minimum": 1, "Maximum": 1}}],
         "InvalidParameterCombination"),
        ([{"MetricName": "M", "Values": [1.0, 2.0], "Counts": [1.0]}], "InvalidParameterValue"),
        ([{"MetricName": "M", "Value": 1.0, "Timestamp": datetime.now(UTC) - timedelta(days=20)}], "InvalidParameterValue"),
        ([{"MetricName": "M"}], "MissingParameter"),
        ([{"MetricName": "M", "Value": 1.0}] * 1001, "InvalidParameterValue"),
    ]
    for batch, code in bad_batches:
        with pytest.raises(botocore.exceptions.ClientError) as raised:
            cw.put_metric_data(Namespace=ns, MetricData=batch)
        assert code_of(raised) == code, batch[:2]
        assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert cw.list_metrics(Namespace=ns)["Metrics"] == []  # the good datum of a refused batch is not kept
    with pytest.raises(loose.exceptions.ValidationException) as raised:
        loose.put_metric_data(Namespace="", MetricData=[{"MetricName": "M", "Value": 1.0}])
    assert "at 'namespace' failed to satisfy constraint" in raised.value.response["Error"]["Message"]
    with pytest.raises(cw.exceptions.InvalidParameterValueException):
        cw.put_metric_data(Namespace="AWS/EC2", MetricData=[{"MetricName": "M", "Value": 1.0}])


def test_get_metric_statistics_bad_paths(cw, loose):
    now = datetime.now(UTC)
    base = dict(Namespace="N", MetricName="M", StartTime=now - timedelta(hours=1), EndTime=now, Period=60)
    cases = [
        (dict(base), "MissingParameter"),
        (dict(base, Statistics=["Sum"], ExtendedStatistics=["p90"]), "InvalidParameterCombination"),
        (dict(base, Statistics=["Sum"], StartTime=now, EndTime=now - timedelta(hours=1)), "InvalidParameterValue"),
        (dict(base, Statistics=["Sum"], Period=61), "InvalidParameterValue"),
        (dict(base, Statistics=["Sum"], StartTime=now - timedelta(days=2)), "InvalidParameterCombination"),
        (dict(base, ExtendedStatistics=["p101"]), "InvalidParameterValue"),
    ]
    for params, code in cases:
        with pytest.raises(botocore.exceptions.ClientError) as raised:
            cw.get_metric_statistics(**params)
        assert code_of(raised) == code, params
    with pytest.raises(loose.exceptions.ValidationException):
        loose.get_metric_statistics(**dict(base, Statistics=["Median"]))


def _alarm(cw, name, ns, **extra):
    params = dict(AlarmName=name, Namespace=ns, MetricName="Errors", Statistic="Average", Period=60,
                  EvaluationPeriods=1, Threshold=5.0, ComparisonOperator="GreaterThanThreshold")
    params.update(extra)
    cw.put_metric_alarm(**params)
    return cw.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]


def test_an_alarm_moves_ok_alarm_ok_as_data_arrives(cw):
    ns, name = namespace(), f"errors-{uuid.uuid4().hex[:6]}"
    alarm = _alarm(cw, name, ns, AlarmDescription="too many errors", AlarmActions=["arn:aws:sns:us-east-1:123456789012:t"])
    assert alarm["StateValue"] == "INSUFFICIENT_DATA"
    assert alarm["AlarmArn"] == f"arn:aws:cloudwatch:us-east-1:123456789012:alarm:{name}"
    assert alarm["AlarmDescription"] == "too many errors" and alarm["TreatMissingData"] == "missing"
    assert alarm["StateReason"].startswith("Insufficient Data")
    cw.put_metric_data(Namespace=ns, MetricData=[{"MetricName": "Errors", "Value": 1.0}])
    alarm = cw.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]
    assert alarm["StateValue"] == "OK"
    assert alarm["StateReason"].startswith("Threshold Crossed: 1 datapoint [1.0 (")
    assert alarm["StateReason"].endswith(")] was not greater than the threshold (5.0).")
    cw.put_metric_data(Namespace=ns, MetricData=[{"MetricName": "Errors", "Value": 20.0}])
    alarm = cw.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]
    assert alarm["StateValue"] == "ALARM", alarm["StateReason"]
    assert "was greater than the threshold (5.0)." in alarm["StateReason"]
    reason_data = json.loads(alarm["StateReasonData"])
    assert reason_data["statistic"] == "Average" and reason_data["threshold"] == 5.0 and reason_data["period"] == 60
    assert [a["AlarmName"] for a in cw.describe_alarms(StateValue="ALARM", AlarmNamePrefix=name)["MetricAlarms"]] == [name]
    cw.put_metric_data(Namespace=ns, MetricData=[{"MetricName": "Errors", "Values": [0.0], "Counts": [100.0]}])
    assert cw.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["StateValue"] == "OK"
    history = cw.describe_alarm_history(AlarmName=name, HistoryItemType="StateUpdate")["AlarmHistoryItems"]
    summaries = [h["HistorySummary"] for h in history]
    assert summaries[:2] == ["Alarm updated from ALARM to OK", "Alarm updated from OK to ALARM"]
    created = cw.describe_alarm_history(AlarmName=name, HistoryItemType="ConfigurationUpdate")["AlarmHistoryItems"]
    assert created[-1]["HistorySummary"] == f'Alarm "{name}" created'
    for_metric = cw.describe_alarms_for_metric(Namespace=ns, MetricName="Errors")["MetricAlarms"]
    assert [a["AlarmName"] for a in for_metric] == [name]
    assert cw.describe_alarms_for_metric(Namespace=ns, MetricName="Errors", Statistic="Sum")["MetricAlarms"] == []


def test_m_out_of_n_with_breaching_missing_data(cw):
    ns, name = namespace(), f"mofn-{uuid.uuid4().hex[:6]}"
    alarm = _alarm(cw, name, ns, EvaluationPeriods=3, DatapointsToAlarm=2, TreatMissingData="breaching",
                   ComparisonOperator="LessThanThreshold", Threshold=1.0, Statistic="Sum")
    assert alarm["StateValue"] == "ALARM"  # three missing periods, all treated as breaching
    assert alarm["DatapointsToAlarm"] == 2 and alarm["EvaluationPeriods"] == 3


def test_set_alarm_state_update_keeps_state_and_delete(cw):
    ns, name = namespace(), f"manual-{uuid.uuid4().hex[:6]}"
    _alarm(cw, name, ns, TreatMissingData="ignore")
    cw.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="testing the pager",
                       StateReasonData=json.dumps({"by": "test"}))
    alarm = cw.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]
    assert (alarm["StateValue"], alarm["StateReason"]) == ("ALARM", "testing the pager")
    _alarm(cw, name, ns, TreatMissingData="ignore", Threshold=50.0)  # an update keeps the state
    alarm = cw.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]
    assert alarm["StateValue"] == "ALARM" and alarm["Threshold"] == 50.0
    cw.disable_alarm_actions(AlarmNames=[name])
    assert cw.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["ActionsEnabled"] is False
    cw.enable_alarm_actions(AlarmNames=[name])
    assert cw.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["ActionsEnabled"] is True
    with pytest.raises(cw.exceptions.ResourceNotFound):
        cw.set_alarm_state(AlarmName=f"{name}-nope", StateValue="OK", StateReason="x")
    with pytest.raises(cw.exceptions.InvalidFormatFault):
        cw.set_alarm_state(AlarmName=name, StateValue="OK", StateReason="x", StateReasonData="{not json")
    with pytest.raises(cw.exceptions.ResourceNotFound):
        cw.delete_alarms(AlarmNames=[name, f"{name}-nope"])
    assert cw.describe_alarms(AlarmNames=[name])["MetricAlarms"]  # nothing was deleted
    cw.delete_alarms(AlarmNames=[name])
    assert cw.describe_alarms(AlarmNames=[name])["MetricAlarms"] == []


def test_describe_alarms_pages_by_name(cw):
    ns, prefix = namespace(), f"page-{uuid.uuid4().hex[:6]}-"
    for i in range(5):
        _alarm(cw, f"{prefix}{i}", ns)
    names, token = [], None
    while True:
        page = cw.describe_alarms(AlarmNamePrefix=prefix, MaxRecords=2, **({"NextToken": token} if token else {}))
        names += [a["AlarmName"] for a in page["MetricAlarms"]]
        token = page.get("NextToken")
        if not token:
            break
    assert names == [f"{prefix}{i}" for i in range(5)]
    assert cw.describe_alarms(AlarmNamePrefix=prefix, AlarmTypes=["CompositeAlarm"])["MetricAlarms"] == []
    with pytest.raises(cw.exceptions.InvalidNextToken):
        cw.describe_alarms(NextToken="forged")
    with pytest.raises(cw.exceptions.InvalidNextToken):
        cw.describe_alarms(NextToken="ünïcode.ünïcode")
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        cw.describe_alarms(AlarmNames=[f"{prefix}0"], AlarmNamePrefix=prefix)
    assert code_of(raised) == "InvalidParameterCombination"


def test_put_metric_alarm_bad_paths(cw, loose):
    ns = namespace()
    base = dict(AlarmName="bad", Namespace=ns, MetricName="M", Statistic="Sum", Period=60, EvaluationPeriods=2,
                Threshold=1.0, ComparisonOperator="GreaterThanThreshold")
    cases = [
        (dict(base, DatapointsToAlarm=3), "ValidationError"),
        (dict(base, Period=45), "ValidationError"),
        (dict(base, TreatMissingData="sometimes"), "ValidationError"),
        (dict(base, ExtendedStatistic="p90"), "InvalidParameterCombination"),
        ({k: v for k, v in base.items() if k != "Statistic"}, "MissingParameter"),
        ({k: v for k, v in base.items() if k != "Threshold"}, "MissingParameter"),
        ({k: v for k, v in base.items() if k != "ComparisonOperator"}, "MissingParameter"),
        ({k: v for k, v in base.items() if k != "EvaluationPeriods"}, "MissingParameter"),
        (dict(base, ComparisonOperator="LessThanLowerOrGreaterThanUpperThreshold"), "InvalidParameterValue"),
        (dict(base, EvaluationPeriods=2000), "ValidationError"),
    ]
    for params, code in cases:
        with pytest.raises(botocore.exceptions.ClientError) as raised:
            cw.put_metric_alarm(**params)
        assert code_of(raised) == code, params
    with pytest.raises(loose.exceptions.ValidationException) as raised:
        loose.put_metric_alarm(**dict(base, Period=0))
    assert "Value '0' at 'period' failed to satisfy constraint" in raised.value.response["Error"]["Message"]
    assert cw.describe_alarms(AlarmNames=["bad"])["MetricAlarms"] == []


def test_unimplemented_operations_and_strangers(charter, cw, models, protocol):
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        cw.list_dashboards()
    assert code_of(raised) == "InvalidAction" and "ListDashboards" in raised.value.response["Error"]["Message"]
    stranger = forced_client(charter, models, protocol, key="AKIANOSUCHKEY0000000", secret="nope")
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        stranger.list_metrics()
    assert code_of(raised) == "InvalidClientTokenId"
    forger = forced_client(charter, models, protocol, secret="wrong-secret")
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        forger.list_metrics()
    assert code_of(raised) == "SignatureDoesNotMatch"


def test_a_user_without_cloudwatch_permissions_is_denied(charter, models, protocol):
    keys = json.loads(charter.cli("iam", "create-user", f"cw-{uuid.uuid4().hex[:6]}", "--persona", "auditor").stdout)
    client = forced_client(charter, models, protocol, key=keys["AccessKeyId"], secret=keys["SecretAccessKey"])
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        client.put_metric_data(Namespace=namespace(), MetricData=[{"MetricName": "M", "Value": 1.0}])
    assert code_of(raised) == "AccessDenied"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


@pytest.mark.parametrize("other", ["query"])
def test_the_same_requests_in_the_query_protocol(charter, models, other):
    protocol = other
    client = forced_client(charter, models, protocol)
    ns = namespace()
    now = datetime.now(UTC).replace(second=10, microsecond=0)
    client.put_metric_data(Namespace=ns, MetricData=[
        {"MetricName": "Hits", "Dimensions": [{"Name": "Model", "Value": "m1"}], "Timestamp": now, "Value": 3.0},
        {"MetricName": "Hits", "Dimensions": [{"Name": "Model", "Value": "m1"}], "Timestamp": now, "Value": 5.0},
    ])
    stats = client.get_metric_statistics(
        Namespace=ns, MetricName="Hits", Dimensions=[{"Name": "Model", "Value": "m1"}],
        StartTime=now - timedelta(minutes=1), EndTime=now + timedelta(minutes=1), Period=60, Statistics=["Sum", "Maximum"],
    )
    assert [(p["Sum"], p["Maximum"], p["Timestamp"]) for p in stats["Datapoints"]] == [(8.0, 5.0, now.replace(second=0))]
    assert client.list_metrics(Namespace=ns)["Metrics"][0]["Dimensions"] == [{"Name": "Model", "Value": "m1"}]
    name = f"{protocol}-{uuid.uuid4().hex[:6]}"
    client.put_metric_alarm(AlarmName=name, Namespace=ns, MetricName="Hits", Dimensions=[{"Name": "Model", "Value": "m1"}],
                            Statistic="Maximum", Period=60, EvaluationPeriods=1, Threshold=4.0,
                            ComparisonOperator="GreaterThanOrEqualToThreshold")
    (alarm,) = client.describe_alarms(AlarmNames=[name])["MetricAlarms"]
    assert alarm["StateValue"] == "ALARM" and isinstance(alarm["StateUpdatedTimestamp"], datetime)
    with pytest.raises(client.exceptions.InvalidParameterValueException):
        client.put_metric_data(Namespace=ns, MetricData=[{"MetricName": "Hits", "Value": math.nan}])
    with pytest.raises(client.exceptions.ResourceNotFound):
        client.delete_alarms(AlarmNames=[f"{name}-nope"])
    client.delete_alarms(AlarmNames=[name])


def _aws(charter, *args: str) -> subprocess.CompletedProcess:
    return aws_cli.run(charter.endpoint, *args, check=False)


def test_the_aws_cli_puts_and_reads_statistics(charter):
    ns = namespace()
    now = datetime.now(UTC).replace(second=20, microsecond=0)
    put = _aws(charter, "cloudwatch", "put-metric-data", "--namespace", ns, "--metric-name", "Queue",
               "--dimensions", "Topic=t1", "--value", "7", "--unit", "Count", "--timestamp", now.isoformat())
    assert put.returncode == 0, put.stderr
    got = _aws(charter, "cloudwatch", "get-metric-statistics", "--namespace", ns, "--metric-name", "Queue",
               "--dimensions", "Name=Topic,Value=t1", "--start-time", (now - timedelta(minutes=1)).isoformat(),
               "--end-time", (now + timedelta(minutes=1)).isoformat(), "--period", "60", "--statistics", "Sum", "Average")
    assert got.returncode == 0, got.stderr
    answer = json.loads(got.stdout)
    assert answer["Label"] == "Queue"
    assert [(p["Sum"], p["Average"], p["Unit"]) for p in answer["Datapoints"]] == [(7.0, 7.0, "Count")]
    refused = _aws(charter, "cloudwatch", "get-metric-statistics", "--namespace", ns, "--metric-name", "Queue",
                   "--start-time", now.isoformat(), "--end-time", (now - timedelta(minutes=1)).isoformat(),
                   "--period", "60", "--statistics", "Sum")
    assert refused.returncode != 0 and "InvalidParameterValue" in refused.stderr
