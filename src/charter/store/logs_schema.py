"""CloudWatch Logs tables: log groups, their streams, and the streams' events.

Created by migration 0007.  Times are CloudWatch's own unit, integer
milliseconds since the epoch, since that is what the wire carries and what
events are ordered by.  Each event has a monotonically increasing id, so
``(timestamp, id)`` is a total order that paging tokens can name: two events
with the same timestamp keep the order they were put in.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint

from .schema import metadata

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit id.
_EventId = BigInteger().with_variant(Integer(), "sqlite")

log_groups = Table(
    "log_groups",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account", String(12), nullable=False),
    Column("region", String(32), nullable=False),
    Column("name", String(512), nullable=False),
    Column("created_at", BigInteger, nullable=False),  # ms
    Column("retention_days", Integer),  # None: events never expire
    Column("stored_bytes", BigInteger, nullable=False, default=0),
    Column("kms_key_id", String(256)),
    Column("log_group_class", String(32), nullable=False, default="STANDARD"),
    Column("tags", Text, nullable=False, default="{}"),  # JSON object
    UniqueConstraint("account", "region", "name", name="uq_log_groups_name"),
)

log_streams = Table(
    "log_streams",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("group_id", Integer, ForeignKey("log_groups.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(512), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("first_event_at", BigInteger),
    Column("last_event_at", BigInteger),
    Column("last_ingestion_at", BigInteger),
    Column("stored_bytes", BigInteger, nullable=False, default=0),
    UniqueConstraint("group_id", "name", name="uq_log_streams_name"),
    Index("ix_log_streams_last_event", "group_id", "last_event_at"),
)

log_events = Table(
    "log_events",
    metadata,
    Column("id", _EventId, primary_key=True, autoincrement=True),
    Column("stream_id", Integer, ForeignKey("log_streams.id", ondelete="CASCADE"), nullable=False),
    Column("group_id", Integer, ForeignKey("log_groups.id", ondelete="CASCADE"), nullable=False),
    Column("timestamp", BigInteger, nullable=False),
    Column("ingested_at", BigInteger, nullable=False),
    Column("message", Text, nullable=False),
    # GetLogEvents pages one stream by (timestamp, id); FilterLogEvents and the
    # retention sweep walk a whole group by the same order.
    Index("ix_log_events_stream_time", "stream_id", "timestamp", "id"),
    Index("ix_log_events_group_time", "group_id", "timestamp", "id"),
)

__all__ = ["log_groups", "log_streams", "log_events"]
