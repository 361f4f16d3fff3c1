"""CloudWatch Logs data: groups, streams and events in the database.

The Logs face's handlers (``services/logs.py``) and the job engine's writer
(``runtime/log_writer.py``) both come here, so what a job writes is what a
client reads.  Functions take the open connection and do no authorization.

Events are ordered by ``(timestamp, id)``: the id grows with every insert, so
events that share a timestamp keep the order they were put in, and a position
in a stream is one such pair (the paging tokens carry it).  Events older than
their group's retention are never read back, whether or not the sweep
(:func:`sweep_expired`) has deleted them yet.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Iterable, Sequence

from sqlalchemy import Connection, LargeBinary, and_, cast, delete, func, insert, literal, select, tuple_, update
from sqlalchemy.exc import IntegrityError

from ..arns import PARTITION
from ..errors import ClientError
from .logs_schema import log_events, log_groups, log_streams

DAY_MS = 86_400_000


class ResourceNotFound(ClientError):
    code = "ResourceNotFoundException"


class ResourceAlreadyExists(ClientError):
    code = "ResourceAlreadyExistsException"


class InvalidParameter(ClientError):
    code = "InvalidParameterException"


def group_arn(region: str, account: str, name: str) -> str:
    """A log group's ARN as IAM policies name it (``DescribeLogGroups`` adds ``:*``)."""
    return f"arn:{PARTITION}:logs:{region}:{account}:log-group:{name}"


def stream_arn(region: str, account: str, group: str, stream: str) -> str:
    return f"{group_arn(region, account, group)}:log-stream:{stream}"


@dataclass
class LogGroup:
    id: int
    account: str
    region: str
    name: str
    created_at: int
    retention_days: int | None
    stored_bytes: int
    kms_key_id: str | None
    log_group_class: str
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def arn(self) -> str:
        return group_arn(self.region, self.account, self.name)

    def oldest_kept(self, now: int) -> int | None:
        """The earliest timestamp (ms) retention still keeps at ``now``; None: all are kept."""
        return None if self.retention_days is None else now - self.retention_days * DAY_MS


@dataclass
class LogStream:
    id: int
    group_id: int
    name: str
    created_at: int
    first_event_at: int | None
    last_event_at: int | None
    last_ingestion_at: int | None
    stored_bytes: int


@dataclass
class LogEvent:
    id: int
    stream_id: int
    timestamp: int
    ingested_at: int
    message: str
    stream_name: str | None = None

    @property
    def position(self) -> tuple[int, int]:
        return (self.timestamp, self.id)


def _group(row) -> LogGroup:
    return LogGroup(
        id=row.id,
        account=row.account,
        region=row.region,
        name=row.name,
        created_at=row.created_at,
        retention_days=row.retention_days,
        stored_bytes=row.stored_bytes or 0,
        kms_key_id=row.kms_key_id,
        log_group_class=row.log_group_class or "STANDARD",
        tags=json.loads(row.tags or "{}"),
    )


def _stream(row) -> LogStream:
    return LogStream(
        id=row.id,
        group_id=row.group_id,
        name=row.name,
        created_at=row.created_at,
        first_event_at=row.first_event_at,
        last_event_at=row.last_event_at,
        last_ingestion_at=row.last_ingestion_at,
        stored_bytes=row.stored_bytes or 0,
    )


# --- groups ----------------------------------------------------------------------


def get_group(conn: Connection, account: str, region: str, name: str) -> LogGroup | None:
    row = conn.execute(
        select(log_groups).where(log_groups.c.account == account, log_groups.c.region == region, log_groups.c.name == name)
    ).first()
    return None if row is None else _group(row)


def require_group(conn: Connection, account: str, region: str, name: str) -> LogGroup:
    group = get_group(conn, account, region, name)
    if group is None:
        raise ResourceNotFound("The specified log group does not exist.")
    return group


def create_group(
    conn: Connection,
    account: str,
    region: str,
    name: str,
    *,
    now: int,
    kms_key_id: str | None = None,
    log_group_class: str = "STANDARD",
    tags: dict[str, str] | None = None,
) -> LogGroup:
    """A new log group; ResourceAlreadyExistsException if the name is taken in this account and region."""
    if get_group(conn, account, region, name) is not None:
        raise ResourceAlreadyExists("The specified log group already exists")
    values = dict(
        account=account,
        region=region,
        name=name,
        created_at=now,
        retention_days=None,
        stored_bytes=0,
        kms_key_id=kms_key_id,
        log_group_class=log_group_class,
        tags=json.dumps(tags or {}, sort_keys=True),
    )
    try:
        with conn.begin_nested():  # a concurrent creator (another process) wins the unique name
            group_id = conn.execute(insert(log_groups).values(**values)).inserted_primary_key[0]
    except IntegrityError:
        raise ResourceAlreadyExists("The specified log group already exists") from None
    values.pop("tags")
    return LogGroup(id=group_id, tags=dict(tags or {}), **values)


def delete_group(conn: Connection, group: LogGroup) -> None:
    conn.execute(delete(log_events).where(log_events.c.group_id == group.id))
    conn.execute(delete(log_streams).where(log_streams.c.group_id == group.id))
    conn.execute(delete(log_groups).where(log_groups.c.id == group.id))


def set_retention(conn: Connection, group: LogGroup, days: int | None) -> None:
    conn.execute(update(log_groups).where(log_groups.c.id == group.id).values(retention_days=days))


def set_tags(conn: Connection, group: LogGroup, tags: dict[str, str]) -> None:
    conn.execute(update(log_groups).where(log_groups.c.id == group.id).values(tags=json.dumps(tags, sort_keys=True)))


def list_groups(
    conn: Connection,
    account: str,
    region: str,
    *,
    names: Sequence[str] | None = None,
    log_group_class: str | None = None,
    prefix: str | None = None,
    contains: str | None = None,
    after: str | None = None,
    limit: int = 50,
) -> list[LogGroup]:
    """Groups in name order, after the name ``after``; at most ``limit``."""
    query = select(log_groups).where(log_groups.c.account == account, log_groups.c.region == region)
    if prefix:
        # A range on the name rather than LIKE, whose wildcards (_) a group name may hold.
        query = query.where(log_groups.c.name >= prefix, func.substr(log_groups.c.name, 1, len(prefix)) == prefix)
    if contains:
        position = func.instr if conn.dialect.name == "sqlite" else func.strpos
        query = query.where(position(log_groups.c.name, contains) > 0)
    if names is not None:
        query = query.where(log_groups.c.name.in_(list(names)))
    if log_group_class is not None:
        query = query.where(log_groups.c.log_group_class == log_group_class)
    if after is not None:
        query = query.where(log_groups.c.name > after)
    rows = conn.execute(query.order_by(log_groups.c.name).limit(limit)).all()
    return [_group(row) for row in rows]


# --- streams ---------------------------------------------------------------------


def get_stream(conn: Connection, group: LogGroup, name: str) -> LogStream | None:
    row = conn.execute(
        select(log_streams).where(log_streams.c.group_id == group.id, log_streams.c.name == name)
    ).first()
    return None if row is None else _stream(row)


def require_stream(conn: Connection, group: LogGroup, name: str) -> LogStream:
    stream = get_stream(conn, group, name)
    if stream is None:
        raise ResourceNotFound("The specified log stream does not exist.")
    return stream


def create_stream(conn: Connection, group: LogGroup, name: str, *, now: int) -> LogStream:
    if get_stream(conn, group, name) is not None:
        raise ResourceAlreadyExists("The specified log stream already exists")
    try:
        with conn.begin_nested():
            stream_id = conn.execute(
                insert(log_streams).values(group_id=group.id, name=name, created_at=now, stored_bytes=0)
            ).inserted_primary_key[0]
    except IntegrityError:
        raise ResourceAlreadyExists("The specified log stream already exists") from None
    return LogStream(stream_id, group.id, name, now, None, None, None, 0)


def delete_stream(conn: Connection, stream: LogStream) -> None:
    conn.execute(delete(log_events).where(log_events.c.stream_id == stream.id))
    conn.execute(delete(log_streams).where(log_streams.c.id == stream.id))


def list_streams(
    conn: Connection,
    group: LogGroup,
    *,
    prefix: str | None = None,
    by_last_event: bool = False,
    descending: bool = False,
    after: tuple | None = None,
    limit: int = 50,
) -> list[LogStream]:
    """Streams by name, or by last event time (then name); after the key ``after``, at most ``limit``.

    A stream without events sorts as if its last event were at time 0.  The key
    of a stream (what ``after`` holds) is :func:`stream_key`.
    """
    last = func.coalesce(log_streams.c.last_event_at, 0)
    columns = [last, log_streams.c.name] if by_last_event else [log_streams.c.name]
    query = select(log_streams).where(log_streams.c.group_id == group.id)
    if prefix:
        query = query.where(func.substr(log_streams.c.name, 1, len(prefix)) == prefix)
    if after is not None:
        key = tuple_(*columns)
        bound = tuple_(*[literal(v) for v in after])
        query = query.where(key < bound if descending else key > bound)
    order = [c.desc() for c in columns] if descending else columns
    rows = conn.execute(query.order_by(*order).limit(limit)).all()
    return [_stream(row) for row in rows]


def stream_key(stream: LogStream, by_last_event: bool) -> list:
    return [stream.last_event_at or 0, stream.name] if by_last_event else [stream.name]


# --- events ----------------------------------------------------------------------


def utf8_size(message: str) -> int:
    return len(message.encode("utf-8", "surrogatepass"))


def append_events(
    conn: Connection, group: LogGroup, stream: LogStream, events: Sequence[tuple[int, str]], *, now: int
) -> int:
    """Store ``events`` (timestamp ms, message) in ``stream``; the id of the last one stored.

    The stream's first and last event times, its last ingestion time and the
    bytes stored (here and in the group) move with them.
    """
    if not events:
        return 0
    rows = [
        {"stream_id": stream.id, "group_id": group.id, "timestamp": ts, "ingested_at": now, "message": message}
        for ts, message in events
    ]
    conn.execute(insert(log_events), rows)
    size = sum(utf8_size(message) for _, message in events)
    first = min(ts for ts, _ in events)
    last = max(ts for ts, _ in events)
    conn.execute(
        update(log_streams)
        .where(log_streams.c.id == stream.id)
        .values(
            first_event_at=_least(conn, func.coalesce(log_streams.c.first_event_at, first), first),
            last_event_at=_greatest(conn, func.coalesce(log_streams.c.last_event_at, last), last),
            last_ingestion_at=now,
            stored_bytes=log_streams.c.stored_bytes + size,
        )
    )
    conn.execute(update(log_groups).where(log_groups.c.id == group.id).values(stored_bytes=log_groups.c.stored_bytes + size))
    return conn.execute(select(func.max(log_events.c.id)).where(log_events.c.stream_id == stream.id)).scalar_one()


def _event(row) -> LogEvent:
    return LogEvent(row.id, row.stream_id, row.timestamp, row.ingested_at, row.message, getattr(row, "stream_name", None))


def _time_range(query, start: int | None, end: int | None, oldest_kept: int | None):
    # startTime is inclusive and endTime exclusive, as CloudWatch documents them.
    low = max(v for v in (start, oldest_kept) if v is not None) if start is not None or oldest_kept is not None else None
    if low is not None:
        query = query.where(log_events.c.timestamp >= low)
    if end is not None:
        query = query.where(log_events.c.timestamp < end)
    return query


def read_stream(
    conn: Connection,
    stream: LogStream,
    *,
    forward: bool,
    position: tuple[int, int] | None = None,
    start: int | None = None,
    end: int | None = None,
    oldest_kept: int | None = None,
    limit: int = 10_000,
) -> list[LogEvent]:
    """Up to ``limit`` events of ``stream``, oldest first.

    Forward: the first events after ``position`` (from the start when None).
    Backward: the last events before ``position`` (up to the end when None).
    """
    key = tuple_(log_events.c.timestamp, log_events.c.id)
    query = _time_range(select(log_events).where(log_events.c.stream_id == stream.id), start, end, oldest_kept)
    if position is not None:
        bound = tuple_(literal(position[0]), literal(position[1]))
        query = query.where(key > bound if forward else key < bound)
    if forward:
        query = query.order_by(log_events.c.timestamp, log_events.c.id)
    else:
        query = query.order_by(log_events.c.timestamp.desc(), log_events.c.id.desc())
    events = [_event(row) for row in conn.execute(query.limit(limit)).all()]
    return events if forward else events[::-1]


def scan_group(
    conn: Connection,
    group: LogGroup,
    *,
    stream_ids: Iterable[int] | None = None,
    position: tuple[int, int] | None = None,
    start: int | None = None,
    end: int | None = None,
    oldest_kept: int | None = None,
    forward: bool = True,
    limit: int = 1000,
) -> list[LogEvent]:
    """Up to ``limit`` events of ``group`` (of ``stream_ids`` only, when given) past ``position``.

    Forward: oldest first, after ``position``; backward: newest first, before it.
    """
    query = select(log_events, log_streams.c.name.label("stream_name")).join(
        log_streams, log_streams.c.id == log_events.c.stream_id
    )
    query = _time_range(query.where(log_events.c.group_id == group.id), start, end, oldest_kept)
    if stream_ids is not None:
        query = query.where(log_events.c.stream_id.in_(list(stream_ids)))
    if position is not None:
        key, bound = tuple_(log_events.c.timestamp, log_events.c.id), tuple_(literal(position[0]), literal(position[1]))
        query = query.where(key > bound if forward else key < bound)
    if forward:
        query = query.order_by(log_events.c.timestamp, log_events.c.id)
    else:
        query = query.order_by(log_events.c.timestamp.desc(), log_events.c.id.desc())
    query = query.limit(limit)
    return [_event(row) for row in conn.execute(query).all()]


def stream_ids(conn: Connection, group: LogGroup, *, names: Sequence[str] | None = None, prefix: str | None = None) -> list[int]:
    query = select(log_streams.c.id).where(log_streams.c.group_id == group.id)
    if names is not None:
        query = query.where(log_streams.c.name.in_(list(names)))
    if prefix:
        query = query.where(func.substr(log_streams.c.name, 1, len(prefix)) == prefix)
    return list(conn.execute(query).scalars())


def sweep_expired(conn: Connection, now: int) -> int:
    """Delete every event older than its group's retention at ``now``; how many went."""
    removed = 0
    groups = conn.execute(select(log_groups).where(log_groups.c.retention_days.is_not(None))).all()
    for row in groups:
        group = _group(row)
        cutoff = group.oldest_kept(now)
        expired = and_(log_events.c.group_id == group.id, log_events.c.timestamp < cutoff)
        count, size = conn.execute(select(func.count(), func.coalesce(func.sum(_byte_length(conn)), 0)).where(expired)).one()
        if not count:
            continue
        conn.execute(delete(log_events).where(expired))
        removed += count
        conn.execute(
            update(log_groups)
            .where(log_groups.c.id == group.id)
            .values(stored_bytes=_greatest(conn, log_groups.c.stored_bytes - int(size), 0))
        )
    return removed


def _byte_length(conn: Connection):
    if conn.dialect.name == "postgresql":
        return func.octet_length(log_events.c.message)
    return func.length(cast(log_events.c.message, LargeBinary))  # SQLite counts a BLOB's bytes


def _least(conn: Connection, *values):
    return func.min(*values) if conn.dialect.name == "sqlite" else func.least(*values)


def _greatest(conn: Connection, *values):
    return func.max(*values) if conn.dialect.name == "sqlite" else func.greatest(*values)
