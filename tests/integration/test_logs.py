"""CloudWatch Logs on Charter, through boto3's logs client, the AWS CLI and the SageMaker SDK's tailer."""

from __future__ import annotations

import json
import threading
import time
import uuid

import pytest
from botocore.exceptions import ClientError

from conftest import ADMIN_KEY, ADMIN_SECRET, REGION

ACCOUNT = "123456789012"
DAY_MS = 86_400_000


@pytest.fixture
def logs(charter):
    return charter.client(service="logs")


@pytest.fixture
def loose(charter):
    """A logs client that leaves validation to the server."""
    return charter.client(service="logs", validate=False)


def now_ms() -> int:
    return int(time.time() * 1000)


def unique(prefix: str = "g") -> str:
    return f"/charter-tests/{prefix}-{uuid.uuid4().hex[:10]}"


def code_of(excinfo) -> str:
    return excinfo.value.response["Error"]["Code"]


def make_stream(logs, group=None, stream="s1"):
    group = group or unique()
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    return group, stream


def put(logs, group, stream, messages, start=None, step=1):
    start = now_ms() - 60_000 if start is None else start
    events = [{"timestamp": start + i * step, "message": m} for i, m in enumerate(messages)]
    return logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)


# --- groups ---------------------------------------------------------------------


def test_log_group_lifecycle(logs):
    group = unique()
    logs.create_log_group(logGroupName=group, tags={"team": "ml"})
    described = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
    assert [g["logGroupName"] for g in described] == [group]
    found = described[0]
    assert found["arn"] == f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}:*"
    assert found["logGroupArn"] == f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}"
    assert found["storedBytes"] == 0 and "retentionInDays" not in found
    assert abs(found["creationTime"] - now_ms()) < 60_000

    with pytest.raises(ClientError) as duplicate:
        logs.create_log_group(logGroupName=group)
    assert code_of(duplicate) == "ResourceAlreadyExistsException"
    assert isinstance(duplicate.value, logs.exceptions.ResourceAlreadyExistsException)

    assert logs.list_tags_log_group(logGroupName=group)["tags"] == {"team": "ml"}
    logs.delete_log_group(logGroupName=group)
    assert logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"] == []
    with pytest.raises(logs.exceptions.ResourceNotFoundException):
        logs.delete_log_group(logGroupName=group)


def test_describe_log_groups_pages_in_name_order(logs):
    base = unique("page")
    names = [f"{base}/{i:02d}" for i in range(7)]
    for name in reversed(names):
        logs.create_log_group(logGroupName=name)
    seen, token = [], None
    while True:
        page = logs.describe_log_groups(logGroupNamePrefix=base, limit=3, **({"nextToken": token} if token else {}))
        assert len(page["logGroups"]) <= 3
        seen += [g["logGroupName"] for g in page["logGroups"]]
        token = page.get("nextToken")
        if not token:
            break
    assert seen == names
    paged = [g["logGroupName"] for p in logs.get_paginator("describe_log_groups").paginate(logGroupNamePrefix=base) for g in p["logGroups"]]
    assert paged == names

    by_pattern = logs.describe_log_groups(logGroupNamePattern=base.rsplit("/", 1)[-1])["logGroups"]
    assert [g["logGroupName"] for g in by_pattern] == names
    assert set(by_pattern[0]) == {"logGroupName", "creationTime", "arn"}
    with pytest.raises(logs.exceptions.InvalidParameterException):
        logs.describe_log_groups(logGroupNamePrefix=base, logGroupNamePattern="x")
    with pytest.raises(logs.exceptions.InvalidParameterException):
        logs.describe_log_groups(nextToken="not-a-token")


def test_describe_log_groups_is_per_region(charter, logs):
    group = unique()
    logs.create_log_group(logGroupName=group)
    elsewhere = charter.client(service="logs", region="eu-west-1")
    assert elsewhere.describe_log_groups(logGroupNamePrefix=group)["logGroups"] == []
    elsewhere.create_log_group(logGroupName=group)  # the same name is free in another region


def test_bad_group_names_and_limits(logs, loose):
    with pytest.raises(logs.exceptions.InvalidParameterException) as bad:
        loose.create_log_group(logGroupName="has a space")
    assert "logGroupName" in bad.value.response["Error"]["Message"]
    with pytest.raises(logs.exceptions.InvalidParameterException):
        loose.create_log_group(logGroupName="x" * 513)
    with pytest.raises(logs.exceptions.InvalidParameterException):
        loose.describe_log_groups(limit=51)
    with pytest.raises(logs.exceptions.InvalidParameterException):
        loose.describe_log_groups(limit=0)
    with pytest.raises(logs.exceptions.InvalidParameterException):
        loose.create_log_group(logGroupName=unique(), logGroupClass="CHEAP")


def test_retention(logs):
    group = unique()
    logs.create_log_group(logGroupName=group)
    logs.put_retention_policy(logGroupName=group, retentionInDays=30)
    assert logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]["retentionInDays"] == 30
    for bad in (0, 2, 4000, -1):
        with pytest.raises(logs.exceptions.InvalidParameterException) as refused:
            logs.put_retention_policy(logGroupName=group, retentionInDays=bad)
        assert "retentionInDays" in refused.value.response["Error"]["Message"]
    logs.delete_retention_policy(logGroupName=group)
    assert "retentionInDays" not in logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]
    with pytest.raises(logs.exceptions.ResourceNotFoundException):
        logs.put_retention_policy(logGroupName=unique(), retentionInDays=1)
    with pytest.raises(logs.exceptions.ResourceNotFoundException):
        logs.delete_retention_policy(logGroupName=unique())


def test_events_older_than_retention_are_rejected_and_not_read(logs):
    group, stream = make_stream(logs)
    logs.put_retention_policy(logGroupName=group, retentionInDays=1)
    now = now_ms()
    answer = logs.put_log_events(
        logGroupName=group,
        logStreamName=stream,
        logEvents=[{"timestamp": now - 2 * DAY_MS, "message": "expired"}, {"timestamp": now - 1000, "message": "kept"}],
    )
    assert answer["rejectedLogEventsInfo"] == {"expiredLogEventEndIndex": 1}
    messages = [e["message"] for e in logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)["events"]]
    assert messages == ["kept"]


def test_tags(logs):
    group = unique()
    arn = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}"
    logs.create_log_group(logGroupName=group)
    logs.tag_log_group(logGroupName=group, tags={"a": "1", "b": "2"})
    logs.untag_log_group(logGroupName=group, tags=["a"])
    assert logs.list_tags_log_group(logGroupName=group)["tags"] == {"b": "2"}
    logs.tag_resource(resourceArn=arn, tags={"c": "3"})
    logs.untag_resource(resourceArn=arn, tagKeys=["b"])
    assert logs.list_tags_for_resource(resourceArn=arn)["tags"] == {"c": "3"}
    with pytest.raises(logs.exceptions.TooManyTagsException):
        logs.tag_resource(resourceArn=arn, tags={f"k{i}": "v" for i in range(50)})
    with pytest.raises(logs.exceptions.ResourceNotFoundException):
        logs.list_tags_for_resource(resourceArn=f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{unique()}")
    with pytest.raises(logs.exceptions.InvalidParameterException):
        logs.list_tags_for_resource(resourceArn=f"arn:aws:logs:{REGION}:{ACCOUNT}:destination:d")


# --- streams --------------------------------------------------------------------


def test_log_stream_lifecycle(logs):
    group = unique()
    with pytest.raises(logs.exceptions.ResourceNotFoundException):
        logs.create_log_stream(logGroupName=group, logStreamName="s")
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="s")
    with pytest.raises(logs.exceptions.ResourceAlreadyExistsException):
        logs.create_log_stream(logGroupName=group, logStreamName="s")
    (stream,) = logs.describe_log_streams(logGroupName=group)["logStreams"]
    assert stream["logStreamName"] == "s"
    assert stream["arn"] == f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}:log-stream:s"
    assert "lastEventTimestamp" not in stream
    logs.delete_log_stream(logGroupName=group, logStreamName="s")
    assert logs.describe_log_streams(logGroupName=group)["logStreams"] == []
    with pytest.raises(logs.exceptions.ResourceNotFoundException):
        logs.delete_log_stream(logGroupName=group, logStreamName="s")
    with pytest.raises(logs.exceptions.ResourceNotFoundException):
        logs.describe_log_streams(logGroupName=unique())


def test_describe_log_streams_order_prefix_and_paging(logs):
    group = unique()
    logs.create_log_group(logGroupName=group)
    base = now_ms() - 100_000
    # Streams named in one order, written to in another.
    for name, offset in (("job/algo-1", 30), ("job/algo-2", 10), ("job/algo-3", 20), ("other", 5)):
        logs.create_log_stream(logGroupName=group, logStreamName=name)
        put(logs, group, name, ["x"], start=base + offset * 1000)

    by_name = [s["logStreamName"] for s in logs.describe_log_streams(logGroupName=group)["logStreams"]]
    assert by_name == ["job/algo-1", "job/algo-2", "job/algo-3", "other"]
    prefixed = logs.describe_log_streams(logGroupName=group, logStreamNamePrefix="job/", orderBy="LogStreamName", descending=True)
    assert [s["logStreamName"] for s in prefixed["logStreams"]] == ["job/algo-3", "job/algo-2", "job/algo-1"]

    latest_first = logs.describe_log_streams(logGroupName=group, orderBy="LastEventTime", descending=True)["logStreams"]
    assert [s["logStreamName"] for s in latest_first] == ["job/algo-1", "job/algo-3", "job/algo-2", "other"]
    assert latest_first[0]["lastEventTimestamp"] == base + 30_000 == latest_first[0]["firstEventTimestamp"]
    assert latest_first[0]["lastIngestionTime"] >= latest_first[0]["creationTime"]

    with pytest.raises(logs.exceptions.InvalidParameterException) as refused:
        logs.describe_log_streams(logGroupName=group, orderBy="LastEventTime", logStreamNamePrefix="job/")
    assert "LastEventTime" in refused.value.response["Error"]["Message"]

    for order in ("LogStreamName", "LastEventTime"):
        for descending in (False, True):
            whole = [s["logStreamName"] for s in logs.describe_log_streams(logGroupName=group, orderBy=order, descending=descending)["logStreams"]]
            paged = [
                s["logStreamName"]
                for page in logs.get_paginator("describe_log_streams").paginate(
                    logGroupName=group, orderBy=order, descending=descending, PaginationConfig={"PageSize": 1}
                )
                for s in page["logStreams"]
            ]
            assert paged == whole and len(whole) == 4

    token = logs.describe_log_streams(logGroupName=group, limit=1)["nextToken"]
    with pytest.raises(logs.exceptions.InvalidParameterException):
        logs.describe_log_streams(logGroupName=group, limit=1, nextToken=token, orderBy="LastEventTime")
    # The ARN names the group as well.
    arn = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}"
    assert len(logs.describe_log_streams(logGroupIdentifier=arn)["logStreams"]) == 4
    with pytest.raises(logs.exceptions.InvalidParameterException):
        logs.describe_log_streams(logGroupName=group, logGroupIdentifier=arn)


# --- PutLogEvents ---------------------------------------------------------------


def test_put_log_events_rules(logs, loose):
    group, stream = make_stream(logs)
    now = now_ms()
    answer = logs.put_log_events(
        logGroupName=group, logStreamName=stream, logEvents=[{"timestamp": now, "message": "one"}], sequenceToken="ignored"
    )
    assert answer["nextSequenceToken"] and "rejectedLogEventsInfo" not in answer

    with pytest.raises(logs.exceptions.InvalidParameterException) as unordered:
        logs.put_log_events(
            logGroupName=group,
            logStreamName=stream,
            logEvents=[{"timestamp": now, "message": "b"}, {"timestamp": now - 5, "message": "a"}],
        )
    assert "chronological" in unordered.value.response["Error"]["Message"]

    mixed = logs.put_log_events(
        logGroupName=group,
        logStreamName=stream,
        logEvents=[
            {"timestamp": now - 15 * DAY_MS, "message": "too old"},
            {"timestamp": now - 10, "message": "fine"},
            {"timestamp": now + 3 * 3600 * 1000, "message": "too new"},
        ],
    )
    assert mixed["rejectedLogEventsInfo"] == {"tooOldLogEventEndIndex": 1, "tooNewLogEventStartIndex": 2}

    with pytest.raises(logs.exceptions.InvalidParameterException) as span:
        logs.put_log_events(
            logGroupName=group,
            logStreamName=stream,
            logEvents=[{"timestamp": now - 2 * DAY_MS + 5, "message": "a"}, {"timestamp": now, "message": "b"}],
        )
    assert "24 hours" in span.value.response["Error"]["Message"]

    with pytest.raises(logs.exceptions.InvalidParameterException) as large:
        logs.put_log_events(
            logGroupName=group, logStreamName=stream, logEvents=[{"timestamp": now, "message": "x" * 600_000}] * 2
        )
    assert "1048576" in large.value.response["Error"]["Message"]
    with pytest.raises(logs.exceptions.InvalidParameterException):
        loose.put_log_events(logGroupName=group, logStreamName=stream, logEvents=[{"timestamp": now, "message": "x"}] * 10_001)
    with pytest.raises(logs.exceptions.InvalidParameterException):
        loose.put_log_events(logGroupName=group, logStreamName=stream, logEvents=[])
    with pytest.raises(logs.exceptions.InvalidParameterException):
        loose.put_log_events(logGroupName=group, logStreamName=stream, logEvents=[{"message": "no timestamp"}])
    for text in ("nul \x00 inside", "lone \ud800 surrogate"):
        with pytest.raises(logs.exceptions.InvalidParameterException):
            logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=[{"timestamp": now, "message": text}])
    with pytest.raises(logs.exceptions.InvalidParameterException):
        logs.create_log_stream(logGroupName=group, logStreamName="nul\x00stream")
    with pytest.raises(logs.exceptions.ResourceNotFoundException) as missing:
        logs.put_log_events(logGroupName=group, logStreamName="nope", logEvents=[{"timestamp": now, "message": "x"}])
    assert "stream" in missing.value.response["Error"]["Message"]
    with pytest.raises(logs.exceptions.ResourceNotFoundException):
        logs.put_log_events(logGroupName=unique(), logStreamName=stream, logEvents=[{"timestamp": now, "message": "x"}])

    # What was stored: one event from the first call, one from the mixed batch, none from the refused ones.
    stored = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)["events"]
    assert [e["message"] for e in stored] == ["fine", "one"]
    (described,) = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
    assert described["storedBytes"] == len("one") + len("fine")


# --- GetLogEvents ---------------------------------------------------------------


def test_get_log_events_pages_both_ways_with_stable_tokens(logs):
    group, stream = make_stream(logs)
    start = now_ms() - 100_000
    messages = [f"line {i}" for i in range(25)]
    # Equal timestamps keep the order they were put in.
    logs.put_log_events(
        logGroupName=group, logStreamName=stream,
        logEvents=[{"timestamp": start + (i // 2), "message": m} for i, m in enumerate(messages)],
    )

    # Default (startFromHead false, no token): the newest events.
    tail = logs.get_log_events(logGroupName=group, logStreamName=stream, limit=10)
    assert [e["message"] for e in tail["events"]] == messages[15:]
    assert tail["nextForwardToken"].startswith("f/") and tail["nextBackwardToken"].startswith("b/")
    # At the end, a forward page is empty and answers the same token.
    again = logs.get_log_events(logGroupName=group, logStreamName=stream, nextToken=tail["nextForwardToken"], startFromHead=True)
    assert again["events"] == [] and again["nextForwardToken"] == tail["nextForwardToken"]

    # Backward from the tail, ten at a time, back to the head.
    seen, token = list(tail["events"]), tail["nextBackwardToken"]
    while True:
        page = logs.get_log_events(logGroupName=group, logStreamName=stream, nextToken=token, limit=10)
        if not page["events"]:
            assert page["nextBackwardToken"] == token
            break
        seen = page["events"] + seen
        token = page["nextBackwardToken"]
    assert [e["message"] for e in seen] == messages

    # Forward from the head, seven at a time.
    forward, token = [], None
    while True:
        args = {"nextToken": token} if token else {}
        page = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True, limit=7, **args)
        forward += page["events"]
        if page["nextForwardToken"] == token:
            break
        token = page["nextForwardToken"]
    assert [e["message"] for e in forward] == messages
    assert all(e["ingestionTime"] >= e["timestamp"] for e in forward)

    # New events after the end are found from the token the poller holds.
    put(logs, group, stream, ["late"], start=start + 50)
    late = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True, nextToken=token)
    assert [e["message"] for e in late["events"]] == ["late"]


def test_get_log_events_time_range_and_bad_input(logs, loose):
    group, stream = make_stream(logs)
    start = now_ms() - 100_000
    put(logs, group, stream, [f"m{i}" for i in range(10)], start=start, step=1000)
    ranged = logs.get_log_events(
        logGroupName=group, logStreamName=stream, startTime=start + 2000, endTime=start + 5000, startFromHead=True
    )
    assert [e["message"] for e in ranged["events"]] == ["m2", "m3", "m4"]  # startTime inclusive, endTime exclusive
    empty = logs.get_log_events(logGroupName=group, logStreamName=stream, startTime=start + 60_000, startFromHead=True)
    assert empty["events"] == [] and empty["nextForwardToken"].startswith("f/")

    with pytest.raises(logs.exceptions.InvalidParameterException):
        logs.get_log_events(logGroupName=group, logStreamName=stream, nextToken="f/123")
    with pytest.raises(logs.exceptions.InvalidParameterException):
        logs.get_log_events(logGroupName=group, logStreamName=stream, nextToken="x/" + "0" * 38)
    with pytest.raises(logs.exceptions.InvalidParameterException):
        logs.get_log_events(logGroupName=group, logStreamName=stream, nextToken="f/" + "9" * 38)  # past a 64-bit id
    far = logs.filter_log_events(logGroupName=group, startTime=start, endTime=2**63 - 1)
    assert len(far["events"]) == 10
    with pytest.raises(logs.exceptions.InvalidParameterException):
        loose.get_log_events(logGroupName=group, logStreamName=stream, limit=10_001)
    with pytest.raises(logs.exceptions.InvalidParameterException):
        loose.get_log_events(logStreamName=stream)
    with pytest.raises(logs.exceptions.ResourceNotFoundException):
        logs.get_log_events(logGroupName=group, logStreamName="missing")
    with pytest.raises(logs.exceptions.ResourceNotFoundException):
        logs.get_log_events(logGroupName=unique(), logStreamName=stream)


# --- FilterLogEvents ------------------------------------------------------------


def test_filter_log_events_patterns_and_interleaving(logs):
    group = unique()
    logs.create_log_group(logGroupName=group)
    start = now_ms() - 100_000
    lines = {
        "algo-1": ["INFO starting", "ERROR disk full", "WARN slow step"],
        "algo-2": ["INFO starting", "ERROR Connection refused by host", "DEBUG ERROR ignored"],
        "other": ["ERROR elsewhere"],
    }
    for offset, (name, messages) in enumerate(lines.items()):
        logs.create_log_stream(logGroupName=group, logStreamName=name)
        put(logs, group, name, messages, start=start + offset, step=10)

    def messages(**kwargs):
        events = logs.filter_log_events(logGroupName=group, **kwargs)["events"]
        return [(e["logStreamName"], e["message"]) for e in events]

    everything = messages()
    assert len(everything) == 7
    # Interleaved in time order across the streams.
    assert [m for _, m in everything[:3]] == ["INFO starting", "INFO starting", "ERROR elsewhere"]
    assert messages(filterPattern="ERROR") == [
        ("other", "ERROR elsewhere"),
        ("algo-1", "ERROR disk full"),
        ("algo-2", "ERROR Connection refused by host"),
        ("algo-2", "DEBUG ERROR ignored"),
    ]
    assert messages(filterPattern='"Connection refused"') == [("algo-2", "ERROR Connection refused by host")]
    assert messages(filterPattern="refused Connection") == [("algo-2", "ERROR Connection refused by host")]
    assert {m for _, m in messages(filterPattern="?WARN ?disk")} == {"ERROR disk full", "WARN slow step"}
    assert {m for _, m in messages(filterPattern="ERROR -DEBUG -elsewhere")} == {"ERROR disk full", "ERROR Connection refused by host"}
    assert messages(filterPattern="error") == []  # case-sensitive
    assert {s for s, _ in messages(logStreamNamePrefix="algo-")} == {"algo-1", "algo-2"}
    assert {s for s, _ in messages(logStreamNames=["other"])} == {"other"}
    assert messages(logStreamNames=["nothing-here"]) == []
    assert [m for _, m in messages(startTime=start + 10, endTime=start + 11)] == ["ERROR disk full", "ERROR Connection refused by host"]
    latest_first = messages(startFromHead=False)
    assert latest_first == everything[::-1]

    with pytest.raises(logs.exceptions.InvalidParameterException):
        logs.filter_log_events(logGroupName=group, logStreamNames=["a"], logStreamNamePrefix="a")
    with pytest.raises(logs.exceptions.InvalidParameterException) as json_pattern:
        logs.filter_log_events(logGroupName=group, filterPattern='{ $.level = "error" }')
    assert "not supported" in json_pattern.value.response["Error"]["Message"]
    with pytest.raises(logs.exceptions.InvalidParameterException):
        logs.filter_log_events(logGroupName=group, filterPattern='"unterminated')
    with pytest.raises(logs.exceptions.InvalidParameterException):
        logs.filter_log_events(logGroupName=group, nextToken="forged")
    with pytest.raises(logs.exceptions.ResourceNotFoundException):
        logs.filter_log_events(logGroupName=unique())


def test_filter_log_events_pages_to_the_end(logs):
    group, stream = make_stream(logs)
    start = now_ms() - 100_000
    put(logs, group, stream, [f"event {i}" for i in range(23)], start=start)
    pages = list(logs.get_paginator("filter_log_events").paginate(logGroupName=group, PaginationConfig={"PageSize": 5}))
    assert [e["message"] for p in pages for e in p["events"]] == [f"event {i}" for i in range(23)]
    assert all(len(p["events"]) <= 5 for p in pages) and "nextToken" not in pages[-1]
    backward = list(logs.get_paginator("filter_log_events").paginate(
        logGroupName=group, startFromHead=False, PaginationConfig={"PageSize": 4}
    ))
    assert [e["message"] for p in backward for e in p["events"]] == [f"event {i}" for i in reversed(range(23))]
    ids = [e["eventId"] for p in pages for e in p["events"]]
    assert len(set(ids)) == 23


# --- the face -------------------------------------------------------------------


def test_unimplemented_and_unknown_operations(charter, logs):
    with pytest.raises(ClientError) as unimplemented:
        logs.describe_destinations()
    assert code_of(unimplemented) == "InvalidOperationException"
    assert "DescribeDestinations" in unimplemented.value.response["Error"]["Message"]

    import botocore.auth
    import botocore.awsrequest
    import botocore.credentials
    import urllib.request

    request = botocore.awsrequest.AWSRequest(
        method="POST", url=f"{charter.endpoint}/", data=b"{}",
        headers={"X-Amz-Target": "Logs_20140328.NoSuchThing", "Content-Type": "application/x-amz-json-1.1"},
    )
    botocore.auth.SigV4Auth(botocore.credentials.Credentials(ADMIN_KEY, ADMIN_SECRET), "logs", REGION).add_auth(request)
    prepared = request.prepare()
    with pytest.raises(urllib.error.HTTPError) as answer:
        urllib.request.urlopen(urllib.request.Request(prepared.url, data=prepared.body, headers=dict(prepared.headers), method="POST"))
    assert answer.value.code == 400
    assert json.loads(answer.value.read())["__type"] == "UnknownOperationException"


def test_access_is_by_log_group_arn(charter):
    """A job's execution role writes /aws/sagemaker/* logs and nothing else."""
    keys = json.loads(charter.cli("iam", "create-user", f"runner-{uuid.uuid4().hex[:6]}", "--persona", "compute").stdout)
    runner = charter.client(keys["AccessKeyId"], keys["SecretAccessKey"], service="logs")
    group = f"/aws/sagemaker/TrainingJobs-{uuid.uuid4().hex[:6]}"
    runner.create_log_group(logGroupName=group)
    runner.create_log_stream(logGroupName=group, logStreamName="job/algo-1")
    runner.put_log_events(logGroupName=group, logStreamName="job/algo-1", logEvents=[{"timestamp": now_ms(), "message": "hi"}])
    with pytest.raises(runner.exceptions.AccessDeniedException):
        runner.create_log_group(logGroupName=unique())
    with pytest.raises(runner.exceptions.AccessDeniedException):
        runner.delete_log_group(logGroupName=group)


# --- the job engine's writer, read by the clients -------------------------------


@pytest.fixture
def instance(charter):
    """The server's installation opened in this process, as the job engine opens it."""
    from charter.instance import Instance

    opened = Instance.from_env(home=charter.home, database_url=charter.env["CHARTER_DATABASE_URL"])
    yield opened
    opened.close()


def test_a_writer_thread_is_tailed_by_get_log_events(instance, logs):
    from charter.runtime.log_writer import TRAINING_JOBS, LogWriter

    job = f"tail-{uuid.uuid4().hex[:8]}"
    stream = f"{job}/algo-1-{int(time.time())}"
    lines = [f"epoch {i} loss {1 / (i + 1):.4f}" for i in range(120)]

    def produce():
        with LogWriter(instance, TRAINING_JOBS, stream, interval=0.1, max_events=50) as writer:
            for line in lines:
                writer.write(line + "\n")
                time.sleep(0.005)

    producer = threading.Thread(target=produce)
    producer.start()
    got, token, deadline = [], None, time.time() + 60
    while len(got) < len(lines) and time.time() < deadline:
        try:
            page = logs.get_log_events(
                logGroupName=TRAINING_JOBS, logStreamName=stream, startFromHead=True, **({"nextToken": token} if token else {})
            )
        except logs.exceptions.ResourceNotFoundException:
            time.sleep(0.05)  # the first flush has not created the stream yet
            continue
        got += [e["message"] for e in page["events"]]
        token = page["nextForwardToken"]
        if not page["events"]:
            time.sleep(0.05)
    producer.join()
    assert got == lines
    # Caught up: the same token again, and nothing new.
    last = logs.get_log_events(logGroupName=TRAINING_JOBS, logStreamName=stream, startFromHead=True, nextToken=token)
    assert last["events"] == [] and last["nextForwardToken"] == token


def test_the_sagemaker_sdk_tailer_reads_what_the_writer_wrote(instance, logs):
    from sagemaker.logs import Position, multi_stream_iter

    from charter.runtime.log_writer import TRAINING_JOBS, LogWriter

    job = f"sdk-{uuid.uuid4().hex[:8]}"
    start = now_ms() - 10_000
    streams = [f"{job}/algo-1-1700000000", f"{job}/algo-2-1700000000"]
    writers = [LogWriter(instance, TRAINING_JOBS, name, interval=0) for name in streams]
    for i in range(30):  # the two hosts' lines interleave in time
        writers[i % 2].write(f"host {i % 2 + 1} line {i}", timestamp=start + i)
    for writer in writers:
        writer.close()

    # How the SDK's logs_for_job finds the job's streams, then reads them all.
    found = logs.describe_log_streams(
        logGroupName=TRAINING_JOBS, logStreamNamePrefix=job + "/", orderBy="LogStreamName", limit=2
    )["logStreams"]
    assert [s["logStreamName"] for s in found] == streams
    read = [(index, event["message"]) for index, event in multi_stream_iter(logs, TRAINING_JOBS, streams)]
    assert read == [(i % 2, f"host {i % 2 + 1} line {i}") for i in range(30)]

    # Resuming from where it got to (the SDK keeps a Position per stream) finds only what is new.
    positions = {s: Position(timestamp=start + 28 + k, skip=1) for k, s in enumerate(streams)}
    with LogWriter(instance, TRAINING_JOBS, streams[0], interval=0) as writer:
        writer.write("host 1 after a while", timestamp=start + 100)
    resumed = [event["message"] for _, event in multi_stream_iter(logs, TRAINING_JOBS, streams, positions)]
    assert resumed == ["host 1 after a while"]


def test_writer_limits_handler_and_constants(instance, logs):
    import logging

    from charter.runtime.log_writer import PROCESSING_JOBS, LogWriter, LogWriterHandler, endpoint_group

    assert endpoint_group("churn") == "/aws/sagemaker/Endpoints/churn"
    stream = f"proc-{uuid.uuid4().hex[:8]}/algo-1"
    writer = LogWriter(instance, PROCESSING_JOBS, stream, interval=0, max_events=10_000)
    handler = LogWriterHandler(writer)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger = logging.getLogger(f"charter.tests.{stream}")
    logger.propagate = False
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.info("starting")
    logger.warning("almost out of disk")
    big = "é" * 200_000  # 400,000 bytes of UTF-8: more than one event may hold
    writer.write(big)
    writer.write("")  # skipped
    writer.write("binary \x00 output \ud800")  # stored with U+FFFD and "?" in their place
    for i in range(10_500):  # more than one PutLogEvents batch may hold
        writer.write(f"row {i}")
    handler.close()
    with pytest.raises(ValueError):
        writer.write("after close")

    events = [
        e["message"]
        for page in logs.get_paginator("filter_log_events").paginate(logGroupName=PROCESSING_JOBS, logStreamNames=[stream])
        for e in page["events"]
    ]
    assert events[:2] == ["INFO starting", "WARNING almost out of disk"]
    assert "".join(events[2:4]) == big and all(len(m.encode()) <= 256 * 1024 for m in events[2:4])
    assert events[4] == "binary \ufffd output ?"
    assert events[5:] == [f"row {i}" for i in range(10_500)]


def test_the_retention_sweep_deletes_expired_events(instance, logs):
    from sqlalchemy import func, select

    from charter.runtime.log_retention import RetentionSweeper
    from charter.store import logs as store
    from charter.store.logs_schema import log_events

    group, stream = make_stream(logs)
    logs.put_retention_policy(logGroupName=group, retentionInDays=1)
    put(logs, group, stream, ["a", "bb", "ccc"], start=now_ms() - 12 * 3600 * 1000)
    assert logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]["storedBytes"] == 6

    def stored() -> int:
        with instance.transaction(write=False) as conn:
            found = store.require_group(conn, ACCOUNT, REGION, group)
            return conn.execute(select(func.count()).where(log_events.c.group_id == found.id)).scalar_one()

    sweeper = RetentionSweeper(instance)
    sweeper.sweep_once()
    assert stored() == 3  # twelve hours old: kept by a one-day retention
    assert sweeper.sweep_once(now=time.time() + DAY_MS / 1000) >= 3  # a day later they have expired
    assert stored() == 0
    assert logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]["storedBytes"] == 0


# --- the AWS CLI ----------------------------------------------------------------


def test_the_aws_cli_reads_logs(charter, logs, tmp_path):
    """awscli v1 (what the test extras install) has no ``aws logs tail``; its get/filter commands read the same API."""
    import aws_cli
    import server_process

    group, stream = make_stream(logs, stream="job/algo-1")
    put(logs, group, stream, ["INFO ready", "ERROR failed to load model", "INFO done"])
    # The files Charter writes on a first start (this session's server was given its keys instead).
    (tmp_path / "credentials").write_text(
        f"[charter]\naws_access_key_id = {ADMIN_KEY}\naws_secret_access_key = {ADMIN_SECRET}\n"
    )
    (tmp_path / "config").write_text(f"[profile charter]\nregion = {REGION}\noutput = json\n")
    env = server_process.clean_env(
        AWS_CONFIG_FILE=str(tmp_path / "config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "credentials"),
        AWS_PROFILE="charter",
        AWS_ENDPOINT_URL=charter.endpoint,
    )

    def aws(*args: str) -> dict:
        return json.loads(aws_cli.run(charter.endpoint, "logs", *args, env=env).stdout)

    assert [g["logGroupName"] for g in aws("describe-log-groups", "--log-group-name-prefix", group)["logGroups"]] == [group]
    read = aws("get-log-events", "--log-group-name", group, "--log-stream-name", stream, "--start-from-head")
    assert [e["message"] for e in read["events"]] == ["INFO ready", "ERROR failed to load model", "INFO done"]
    filtered = aws("filter-log-events", "--log-group-name", group, "--filter-pattern", "ERROR", "--page-size", "1")
    assert [e["message"] for e in filtered["events"]] == ["ERROR failed to load model"]
    result = aws_cli.run(charter.endpoint, "logs", "describe-log-groups", "--log-group-name-prefix", "bad name",
                         env=env, check=False)
    assert result.returncode != 0 and "InvalidParameterException" in result.stderr


def test_unknown_keys_get_the_logs_models_exception(charter):
    stranger = charter.client("AKIANOSUCHKEY0000000", "x" * 40, service="logs")
    with pytest.raises(stranger.exceptions.UnrecognizedClientException):
        stranger.describe_log_groups()
    wrong_secret = charter.client(ADMIN_KEY, "not-the-secret-" * 3, service="logs")
    with pytest.raises(ClientError) as refused:
        wrong_secret.describe_log_groups()
    assert code_of(refused) == "InvalidSignatureException"
