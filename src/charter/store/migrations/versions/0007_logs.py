"""CloudWatch Logs groups, streams and events.

One row per log group (per account and region), per stream, and per event;
``store/logs_schema.py`` describes the same tables for queries.  Events carry
their group's id as well as their stream's, so a group-wide FilterLogEvents and
the retention sweep walk one index rather than joining through the streams.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_EVENT_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "log_groups",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("account", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("name", sa.String(512), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("retention_days", sa.Integer),
        sa.Column("stored_bytes", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("kms_key_id", sa.String(256)),
        sa.Column("log_group_class", sa.String(32), nullable=False, server_default="STANDARD"),
        sa.Column("tags", sa.Text, nullable=False, server_default="{}"),
        sa.UniqueConstraint("account", "region", "name", name="uq_log_groups_name"),
    )
    op.create_table(
        "log_streams",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("group_id", sa.Integer, sa.ForeignKey("log_groups.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(512), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("first_event_at", sa.BigInteger),
        sa.Column("last_event_at", sa.BigInteger),
        sa.Column("last_ingestion_at", sa.BigInteger),
        sa.Column("stored_bytes", sa.BigInteger, nullable=False, server_default="0"),
        sa.UniqueConstraint("group_id", "name", name="uq_log_streams_name"),
    )
    op.create_index("ix_log_streams_last_event", "log_streams", ["group_id", "last_event_at"])
    op.create_table(
        "log_events",
        sa.Column("id", _EVENT_ID, primary_key=True, autoincrement=True),
        sa.Column("stream_id", sa.Integer, sa.ForeignKey("log_streams.id", ondelete="CASCADE"), nullable=False),
        sa.Column("group_id", sa.Integer, sa.ForeignKey("log_groups.id", ondelete="CASCADE"), nullable=False),
        sa.Column("timestamp", sa.BigInteger, nullable=False),
        sa.Column("ingested_at", sa.BigInteger, nullable=False),
        sa.Column("message", sa.Text, nullable=False),
    )
    op.create_index("ix_log_events_stream_time", "log_events", ["stream_id", "timestamp", "id"])
    op.create_index("ix_log_events_group_time", "log_events", ["group_id", "timestamp", "id"])


def downgrade() -> None:
    op.drop_index("ix_log_events_group_time", "log_events")
    op.drop_index("ix_log_events_stream_time", "log_events")
    op.drop_table("log_events")
    op.drop_index("ix_log_streams_last_event", "log_streams")
    op.drop_table("log_streams")
    op.drop_table("log_groups")
