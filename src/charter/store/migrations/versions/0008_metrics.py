"""CloudWatch metric data points and alarms.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cw_metrics",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("identity", sa.String(64), nullable=False, unique=True),
        sa.Column("account", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("namespace", sa.String(255), nullable=False),
        sa.Column("metric_name", sa.String(255), nullable=False),
        sa.Column("dimensions", sa.Text, nullable=False),
        sa.Column("last_put_at", sa.Double, nullable=False),
    )
    op.create_index("ix_cw_metrics_scope", "cw_metrics", ["account", "region", "namespace", "metric_name"])
    op.create_table(
        "cw_datapoints",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("metric_id", sa.Integer, sa.ForeignKey("cw_metrics.id", ondelete="CASCADE"), nullable=False),
        sa.Column("timestamp", sa.Double, nullable=False),
        sa.Column("sample_count", sa.Double, nullable=False),
        sa.Column("sum", sa.Double, nullable=False),
        sa.Column("minimum", sa.Double, nullable=False),
        sa.Column("maximum", sa.Double, nullable=False),
        sa.Column("distribution", sa.Text),
        sa.Column("unit", sa.String(32), nullable=False),
        sa.Column("storage_resolution", sa.Integer, nullable=False),
    )
    op.create_index("ix_cw_datapoints_metric_time", "cw_datapoints", ["metric_id", "timestamp"])
    op.create_table(
        "cw_alarms",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("account", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("arn", sa.String(2048), nullable=False),
        sa.Column("namespace", sa.String(255)),
        sa.Column("metric_name", sa.String(255)),
        sa.Column("metric_identity", sa.String(64)),
        sa.Column("document", sa.Text, nullable=False),
        sa.Column("actions_enabled", sa.Boolean, nullable=False),
        sa.Column("state_value", sa.String(32), nullable=False),
        sa.Column("state_reason", sa.Text, nullable=False),
        sa.Column("state_reason_data", sa.Text),
        sa.Column("state_updated_at", sa.Double, nullable=False),
        sa.Column("state_transitioned_at", sa.Double, nullable=False),
        sa.Column("configuration_updated_at", sa.Double, nullable=False),
        sa.Column("evaluated_at", sa.Double, nullable=False),
    )
    op.create_index("uq_cw_alarms_name", "cw_alarms", ["account", "region", "name"], unique=True)
    op.create_index("ix_cw_alarms_metric", "cw_alarms", ["metric_identity"])
    op.create_table(
        "cw_alarm_history",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("account", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("alarm_name", sa.String(255), nullable=False),
        sa.Column("timestamp", sa.Double, nullable=False),
        sa.Column("item_type", sa.String(32), nullable=False),
        sa.Column("summary", sa.String(255), nullable=False),
        sa.Column("data", sa.Text),
    )
    op.create_index("ix_cw_alarm_history_alarm", "cw_alarm_history", ["account", "region", "alarm_name", "timestamp"])


def downgrade() -> None:
    op.drop_index("ix_cw_alarm_history_alarm", "cw_alarm_history")
    op.drop_table("cw_alarm_history")
    op.drop_index("ix_cw_alarms_metric", "cw_alarms")
    op.drop_index("uq_cw_alarms_name", "cw_alarms")
    op.drop_table("cw_alarms")
    op.drop_index("ix_cw_datapoints_metric_time", "cw_datapoints")
    op.drop_table("cw_datapoints")
    op.drop_index("ix_cw_metrics_scope", "cw_metrics")
    op.drop_table("cw_metrics")
