"""CloudWatch Logs: log groups, log streams and their events (the ``logs`` face).

Behaviour follows the CloudWatch Logs API reference as botocore's model
documents it:

* group names are unique per account and region; streams per group;
* PutLogEvents takes up to 10,000 events and 1,048,576 bytes (each message's
  UTF-8 size plus 26), in chronological order, spanning at most 24 hours;
  events more than 2 hours ahead, more than 14 days old or older than the
  group's retention are not stored but reported in ``rejectedLogEventsInfo``;
  the sequence token is ignored, as AWS now ignores it;
* GetLogEvents pages one stream with ``f/...`` and ``b/...`` tokens that name a
  position in it; a page that finds nothing answers the token it was given
  again, which is how the SageMaker SDK's tailer (``sagemaker.logs.log_stream``)
  and ``aws logs tail`` know they have read everything for now;
* FilterLogEvents walks a group's events in time order (interleaved across
  streams, as AWS has done since 2019) with the filter patterns of
  :mod:`charter.services.log_patterns`; pages may be short, and the last has no
  ``nextToken``;
* retention takes only the values AWS lists; expired events are not read back
  and are deleted by the retention sweep (``runtime/log_retention.py``).

IAM resources are ``arn:aws:logs:<region>:<account>:log-group:<name>`` and,
for what acts on one stream, ``...:log-group:<name>:log-stream:<stream>``.
"""

from __future__ import annotations

import re
import time

from ..errors import AwsError
from ..store import logs as store
from ..store.logs import InvalidParameter, ResourceNotFound
from . import Call, operation
from .log_patterns import compile_pattern

SERVICE = "logs"

#: PutRetentionPolicy's possible values (botocore's documentation of ``retentionInDays``).
RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)
MAX_BATCH_BYTES = 1_048_576
EVENT_OVERHEAD = 26
MAX_PAGE_BYTES = 1_048_576
TOO_NEW_MS = 2 * 3600 * 1000
TOO_OLD_MS = 14 * store.DAY_MS
MAX_BATCH_SPAN_MS = store.DAY_MS
MAX_TAGS = 50
#: How many events one FilterLogEvents call reads before it answers a (possibly short) page.
FILTER_SCAN = 20_000
_POSITION_DIGITS = 19  # a non-negative 64-bit integer, zero-padded
_INT64_MAX = (1 << 63) - 1


class TooManyTags(AwsError):
    code = "TooManyTagsException"
    status = 400


def _now() -> int:
    return int(time.time() * 1000)


# --- which group and stream a request names ---------------------------------------

_GROUP_ARN = re.compile(r"^arn:[a-z-]+:logs:(?P<region>[a-z0-9-]*):(?P<account>\d{12}):log-group:(?P<name>[^:]+)(?::\*)?$")


def _identified(params: dict) -> str:
    """The group name of ``logGroupName`` or ``logGroupIdentifier`` (a name or an ARN); exactly one is given."""
    name, identifier = params.get("logGroupName"), params.get("logGroupIdentifier")
    if name and identifier:
        raise InvalidParameter("logGroupName and logGroupIdentifier are mutually exclusive: give only one of them.")
    if identifier:
        found = _GROUP_ARN.match(identifier)
        if found:
            return found["name"]
        if identifier.startswith("arn:"):
            raise InvalidParameter(f"logGroupIdentifier {identifier!r} is not a log group ARN.")
        return identifier
    if not name:
        raise InvalidParameter("Either logGroupName or logGroupIdentifier must be given.")
    return name


def _group_of(call: Call, params: dict) -> store.LogGroup:
    identifier = params.get("logGroupIdentifier") or ""
    found = _GROUP_ARN.match(identifier)
    if found and (found["account"] != call.account or found["region"] not in ("", call.region)):
        raise ResourceNotFound("The specified log group does not exist.")
    return store.require_group(call.conn, call.account, call.region, _identified(params))


def _group_resource(region: str, account: str, params: dict) -> str:
    return store.group_arn(region, account, _identified(params))


def _stream_resource(region: str, account: str, params: dict) -> str:
    return store.stream_arn(region, account, _identified(params), params.get("logStreamName", "*"))


def _arn_resource(region: str, account: str, params: dict) -> str:
    return params["resourceArn"].removesuffix(":*")


def _all_groups(region: str, account: str, params: dict) -> str:
    return store.group_arn(region, account, "*")


# --- documents ------------------------------------------------------------------


def _group_document(group: store.LogGroup) -> dict:
    document = {
        "logGroupName": group.name,
        "creationTime": group.created_at,
        "metricFilterCount": 0,
        "arn": f"{group.arn}:*",
        "storedBytes": group.stored_bytes,
        "logGroupClass": group.log_group_class,
        "logGroupArn": group.arn,
    }
    if group.retention_days is not None:
        document["retentionInDays"] = group.retention_days
    if group.kms_key_id:
        document["kmsKeyId"] = group.kms_key_id
    return document


def _stream_document(call: Call, group: store.LogGroup, stream: store.LogStream) -> dict:
    document = {
        "logStreamName": stream.name,
        "creationTime": stream.created_at,
        "arn": store.stream_arn(call.region, call.account, group.name, stream.name),
        "storedBytes": stream.stored_bytes,
    }
    for member, value in (
        ("firstEventTimestamp", stream.first_event_at),
        ("lastEventTimestamp", stream.last_event_at),
        ("lastIngestionTime", stream.last_ingestion_at),
    ):
        if value is not None:
            document[member] = value
    return document


# --- paging tokens --------------------------------------------------------------


def _issue(call: Call, kind: str, **position) -> str:
    return call.codec.encode({"k": kind, **position})


def _redeem(call: Call, kind: str, token: str | None) -> dict | None:
    if token is None:
        return None
    try:
        payload = call.codec.decode(token)
    except AwsError:
        payload = None
    if not isinstance(payload, dict) or payload.get("k") != kind:
        raise InvalidParameter("The specified nextToken is invalid.")
    return payload


def _position_token(direction: str, position: tuple[int, int]) -> str:
    """``f/...`` or ``b/...``: a gap between events, as the timestamp and id it lies after/before."""
    timestamp, event_id = position
    return f"{direction}/{max(timestamp, 0):0{_POSITION_DIGITS}d}{max(event_id, 0):0{_POSITION_DIGITS}d}"


def _stream_position(token: str) -> tuple[str, tuple[int, int]]:
    direction, _, digits = token.partition("/")
    if direction not in ("f", "b") or len(digits) != 2 * _POSITION_DIGITS or not digits.isascii() or not digits.isdigit():
        raise InvalidParameter("The specified nextToken is invalid.")
    position = (int(digits[:_POSITION_DIGITS]), int(digits[_POSITION_DIGITS:]))
    if max(position) >= _INT64_MAX:
        raise InvalidParameter("The specified nextToken is invalid.")
    return direction, position


def _logs(name: str, **options):
    """Register a Logs handler.  Its input strings are storable text already: the validator
    refuses NUL characters in every text member and the JSON protocol lone surrogates."""
    return operation(name, service=SERVICE, **options)


# --- groups ---------------------------------------------------------------------


@_logs("CreateLogGroup", resource=_group_resource)
def create_log_group(call: Call, params: dict) -> dict:
    if params.get("deletionProtectionEnabled"):
        raise InvalidParameter("Charter does not support deletion protection on log groups yet (deletionProtectionEnabled).")
    store.create_group(
        call.conn,
        call.account,
        call.region,
        params["logGroupName"],
        now=_now(),
        kms_key_id=params.get("kmsKeyId"),
        log_group_class=params.get("logGroupClass", "STANDARD"),
        tags=params.get("tags"),
    )
    return {}


@_logs("DeleteLogGroup", resource=_group_resource)
def delete_log_group(call: Call, params: dict) -> dict:
    store.delete_group(call.conn, store.require_group(call.conn, call.account, call.region, params["logGroupName"]))
    return {}


@_logs("DescribeLogGroups", resource=_all_groups, writes=False)
def describe_log_groups(call: Call, params: dict) -> dict:
    prefix, pattern = params.get("logGroupNamePrefix"), params.get("logGroupNamePattern")
    if prefix and pattern is not None:
        raise InvalidParameter("logGroupNamePrefix and logGroupNamePattern are mutually exclusive: give only one of them.")
    names = None
    if params.get("logGroupIdentifiers"):
        names = [_identified({"logGroupIdentifier": identifier}) for identifier in params["logGroupIdentifiers"]]
    limit = params.get("limit", 50)
    after = (_redeem(call, "groups", params.get("nextToken")) or {}).get("after")
    groups = store.list_groups(
        call.conn,
        call.account,
        call.region,
        names=names,
        log_group_class=params.get("logGroupClass"),
        prefix=prefix,
        contains=pattern or None,
        after=after,
        limit=limit + 1,
    )
    output: dict = {}
    if len(groups) > limit:
        groups = groups[:limit]
        output["nextToken"] = _issue(call, "groups", after=groups[-1].name)
    documents = [_group_document(group) for group in groups]
    if pattern is not None:  # AWS answers only these three members to a pattern search
        documents = [{k: d[k] for k in ("logGroupName", "creationTime", "arn")} for d in documents]
    output["logGroups"] = documents
    return output


@_logs("PutRetentionPolicy", resource=_group_resource)
def put_retention_policy(call: Call, params: dict) -> dict:
    days = params.get("retentionInDays")
    if days not in RETENTION_DAYS:
        raise InvalidParameter(
            f"1 validation error detected: Value '{days}' at 'retentionInDays' failed to satisfy constraint: "
            f"Member must satisfy enum value set: [{', '.join(map(str, RETENTION_DAYS))}]"
        )
    store.set_retention(call.conn, store.require_group(call.conn, call.account, call.region, params["logGroupName"]), days)
    return {}


@_logs("DeleteRetentionPolicy", resource=_group_resource)
def delete_retention_policy(call: Call, params: dict) -> dict:
    store.set_retention(call.conn, store.require_group(call.conn, call.account, call.region, params["logGroupName"]), None)
    return {}


# --- tags -----------------------------------------------------------------------


def _tagged_group(call: Call, arn: str) -> store.LogGroup:
    found = _GROUP_ARN.match(arn)
    if found is None:
        raise InvalidParameter(f"{arn!r} is not a log group ARN (arn:aws:logs:<region>:<account>:log-group:<name>).")
    if found["account"] != call.account or found["region"] != call.region:
        raise ResourceNotFound("The specified log group does not exist.")
    return store.require_group(call.conn, call.account, call.region, found["name"])


def _add_tags(call: Call, group: store.LogGroup, tags: dict, too_many: type[AwsError]) -> None:
    merged = {**group.tags, **tags}
    if len(merged) > MAX_TAGS:
        raise too_many(f"A log group can have at most {MAX_TAGS} tags; this request would give it {len(merged)}.")
    store.set_tags(call.conn, group, merged)


def _remove_tags(call: Call, group: store.LogGroup, keys) -> None:
    store.set_tags(call.conn, group, {k: v for k, v in group.tags.items() if k not in set(keys)})


@_logs("TagLogGroup", resource=_group_resource)
def tag_log_group(call: Call, params: dict) -> dict:
    group = store.require_group(call.conn, call.account, call.region, params["logGroupName"])
    _add_tags(call, group, params["tags"], InvalidParameter)
    return {}


@_logs("UntagLogGroup", resource=_group_resource)
def untag_log_group(call: Call, params: dict) -> dict:
    _remove_tags(call, store.require_group(call.conn, call.account, call.region, params["logGroupName"]), params["tags"])
    return {}


@_logs("ListTagsLogGroup", resource=_group_resource, writes=False)
def list_tags_log_group(call: Call, params: dict) -> dict:
    return {"tags": store.require_group(call.conn, call.account, call.region, params["logGroupName"]).tags}


@_logs("TagResource", resource=_arn_resource)
def tag_resource(call: Call, params: dict) -> dict:
    _add_tags(call, _tagged_group(call, params["resourceArn"]), params["tags"], TooManyTags)
    return {}


@_logs("UntagResource", resource=_arn_resource)
def untag_resource(call: Call, params: dict) -> dict:
    _remove_tags(call, _tagged_group(call, params["resourceArn"]), params["tagKeys"])
    return {}


@_logs("ListTagsForResource", resource=_arn_resource, writes=False)
def list_tags_for_resource(call: Call, params: dict) -> dict:
    return {"tags": _tagged_group(call, params["resourceArn"]).tags}


# --- streams --------------------------------------------------------------------


@_logs("CreateLogStream", resource=_stream_resource)
def create_log_stream(call: Call, params: dict) -> dict:
    group = store.require_group(call.conn, call.account, call.region, params["logGroupName"])
    store.create_stream(call.conn, group, params["logStreamName"], now=_now())
    return {}


@_logs("DeleteLogStream", resource=_stream_resource)
def delete_log_stream(call: Call, params: dict) -> dict:
    group = store.require_group(call.conn, call.account, call.region, params["logGroupName"])
    store.delete_stream(call.conn, store.require_stream(call.conn, group, params["logStreamName"]))
    return {}


@_logs("DescribeLogStreams", resource=_group_resource, writes=False)
def describe_log_streams(call: Call, params: dict) -> dict:
    by_last_event = params.get("orderBy", "LogStreamName") == "LastEventTime"
    prefix = params.get("logStreamNamePrefix")
    if by_last_event and prefix:
        raise InvalidParameter("Cannot order by LastEventTime with a logStreamNamePrefix.")
    group = _group_of(call, params)
    descending = bool(params.get("descending", False))
    limit = params.get("limit", 50)
    token = _redeem(call, "streams", params.get("nextToken"))
    if token is not None and (token.get("by_last_event") != by_last_event or token.get("descending") != descending):
        raise InvalidParameter("The specified nextToken is invalid: it was issued for another orderBy or descending.")
    streams = store.list_streams(
        call.conn,
        group,
        prefix=prefix,
        by_last_event=by_last_event,
        descending=descending,
        after=tuple(token["after"]) if token else None,
        limit=limit + 1,
    )
    output: dict = {}
    if len(streams) > limit:
        streams = streams[:limit]
        key = store.stream_key(streams[-1], by_last_event)
        output["nextToken"] = _issue(call, "streams", after=key, by_last_event=by_last_event, descending=descending)
    output["logStreams"] = [_stream_document(call, group, stream) for stream in streams]
    return output


# --- events ---------------------------------------------------------------------


@_logs("PutLogEvents", resource=_stream_resource)
def put_log_events(call: Call, params: dict) -> dict:
    events = [(event["timestamp"], event["message"]) for event in params["logEvents"]]
    if any(later[0] < earlier[0] for earlier, later in zip(events, events[1:])):
        raise InvalidParameter("Log events in a single PutLogEvents request must be in chronological order.")
    size = sum(store.utf8_size(message) + EVENT_OVERHEAD for _, message in events)
    if size > MAX_BATCH_BYTES:
        raise InvalidParameter(f"Upload too large: {size} bytes exceeds limit of {MAX_BATCH_BYTES}.")
    group = store.require_group(call.conn, call.account, call.region, params["logGroupName"])
    stream = store.require_stream(call.conn, group, params["logStreamName"])
    now = _now()
    accepted, rejected = classify(events, now, group.oldest_kept(now))
    if accepted and accepted[-1][0] - accepted[0][0] > MAX_BATCH_SPAN_MS:
        raise InvalidParameter("The batch of log events in a single PutLogEvents request cannot span more than 24 hours.")
    last_id = store.append_events(call.conn, group, stream, accepted, now=now)
    output: dict = {"nextSequenceToken": f"{last_id:056d}"}
    if rejected:
        output["rejectedLogEventsInfo"] = rejected
    return output


def classify(events: list[tuple[int, str]], now: int, oldest_kept: int | None) -> tuple[list, dict]:
    """The events PutLogEvents stores, and ``rejectedLogEventsInfo`` for the rest.

    The batch is in time order, so the too old and expired events are a prefix
    (their end indexes are exclusive) and the too new ones a suffix (its start
    index is inclusive), as botocore documents ``RejectedLogEventsInfo``.
    """
    too_old_end = sum(1 for ts, _ in events if ts < now - TOO_OLD_MS)
    expired_end = sum(1 for ts, _ in events if oldest_kept is not None and ts < oldest_kept)
    too_new_start = next((i for i, (ts, _) in enumerate(events) if ts > now + TOO_NEW_MS), len(events))
    rejected: dict = {}
    if too_old_end:
        rejected["tooOldLogEventEndIndex"] = too_old_end
    if expired_end:
        rejected["expiredLogEventEndIndex"] = expired_end
    if too_new_start < len(events):
        rejected["tooNewLogEventStartIndex"] = too_new_start
    return events[max(too_old_end, expired_end) : too_new_start], rejected


def _within_page(events: list[store.LogEvent], keep_last: bool) -> list[store.LogEvent]:
    """As many of ``events`` as fit a 1 MB answer, from the start (or the end, paging backward)."""
    size, kept = 0, []
    for event in reversed(events) if keep_last else events:
        size += store.utf8_size(event.message) + EVENT_OVERHEAD
        if size > MAX_PAGE_BYTES and kept:
            break
        kept.append(event)
    return kept[::-1] if keep_last else kept


@_logs("GetLogEvents", resource=_stream_resource, writes=False)
def get_log_events(call: Call, params: dict) -> dict:
    group = _group_of(call, params)
    stream = store.require_stream(call.conn, group, params["logStreamName"])
    token = params.get("nextToken")
    if token is not None:
        direction, position = _stream_position(token)
        forward = direction == "f"
    else:
        forward, position = bool(params.get("startFromHead", False)), None
    start, end = params.get("startTime"), params.get("endTime")
    events = store.read_stream(
        call.conn,
        stream,
        forward=forward,
        position=position,
        start=start,
        end=end,
        oldest_kept=group.oldest_kept(_now()),
        limit=params.get("limit", 10_000),
    )
    events = _within_page(events, keep_last=not forward)
    if events:
        first, last = events[0].position, events[-1].position
        after_last, before_first = last, first
    elif position is not None:
        # Nothing (new) here: the token asked with comes back, so a poller knows it is caught up.
        after_last = before_first = position
        if forward:
            before_first = (position[0], position[1] + 1)  # backward from here includes the event the gap follows
        else:
            after_last = (position[0], position[1] - 1)
    else:
        gap = (start or 0, 0)  # an empty range: its start is also its end
        after_last = before_first = gap
    return {
        "events": [{"timestamp": e.timestamp, "message": e.message, "ingestionTime": e.ingested_at} for e in events],
        "nextForwardToken": _position_token("f", after_last),
        "nextBackwardToken": _position_token("b", before_first),
    }


@_logs("FilterLogEvents", resource=_group_resource, writes=False)
def filter_log_events(call: Call, params: dict) -> dict:
    names, prefix = params.get("logStreamNames"), params.get("logStreamNamePrefix")
    if names and prefix:
        raise InvalidParameter("logStreamNames and logStreamNamePrefix are mutually exclusive: give only one of them.")
    pattern = compile_pattern(params.get("filterPattern"))
    group = _group_of(call, params)
    ids = store.stream_ids(call.conn, group, names=names, prefix=prefix) if names or prefix else None
    token = _redeem(call, "filter", params.get("nextToken"))
    forward = token["forward"] if token else bool(params.get("startFromHead", True))
    position = tuple(token["at"]) if token else None
    limit = params.get("limit", 10_000)
    end = params.get("endTime")
    found: list[store.LogEvent] = []
    scanned, exhausted, size = 0, ids == [], 0
    oldest_kept = group.oldest_kept(_now())
    while not exhausted and len(found) < limit and scanned < FILTER_SCAN and size <= MAX_PAGE_BYTES:
        batch = store.scan_group(
            call.conn,
            group,
            stream_ids=ids,
            position=position,
            start=params.get("startTime"),
            end=None if end is None else min(end, _INT64_MAX - 1) + 1,  # FilterLogEvents' endTime is inclusive
            oldest_kept=oldest_kept,
            forward=forward,
            limit=min(1000, FILTER_SCAN - scanned),
        )
        exhausted = len(batch) < min(1000, FILTER_SCAN - scanned)
        for event in batch:
            scanned += 1
            position = event.position
            if pattern.matches(event.message):
                found.append(event)
                size += store.utf8_size(event.message) + EVENT_OVERHEAD
                if len(found) >= limit or size > MAX_PAGE_BYTES:
                    exhausted = exhausted and event is batch[-1]
                    break
    output: dict = {
        "events": [
            {
                "logStreamName": e.stream_name,
                "timestamp": e.timestamp,
                "message": e.message,
                "ingestionTime": e.ingested_at,
                "eventId": f"{e.id:056d}",
            }
            for e in found
        ],
        "searchedLogStreams": [],
    }
    if not exhausted and position is not None:
        output["nextToken"] = _issue(call, "filter", at=list(position), forward=forward)
    return output
