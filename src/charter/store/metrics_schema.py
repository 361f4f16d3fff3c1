"""CloudWatch's tables: metric identities, their data points, alarms and alarm history.

Created by migration 0008; described here for queries.  A metric is one
(account, region, namespace, name, dimension set); its ``identity`` column is
a SHA-256 over those, with the dimensions sorted by name, so the same metric
sent with its dimensions in another order is the same row and the unique
index stays small however long the dimension values are.

Every data point is stored as a statistic set (sample count, sum, minimum,
maximum), which is what CloudWatch aggregates; a point sent as ``Value`` or
``Values``/``Counts`` also keeps its values (``distribution``, JSON
``[[value, count], ...]``) so percentiles can be computed from it.  Times are
epoch seconds.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Double, ForeignKey, Index, Integer, String, Table, Text

from .schema import metadata

cw_metrics = Table(
    "cw_metrics",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("identity", String(64), nullable=False, unique=True),
    Column("account", String(12), nullable=False),
    Column("region", String(32), nullable=False),
    Column("namespace", String(255), nullable=False),
    Column("metric_name", String(255), nullable=False),
    Column("dimensions", Text, nullable=False),  # JSON [{"Name":..., "Value":...}], sorted by name
    Column("last_put_at", Double, nullable=False),  # when data last arrived (ListMetrics RecentlyActive)
    Index("ix_cw_metrics_scope", "account", "region", "namespace", "metric_name"),
)

cw_datapoints = Table(
    "cw_datapoints",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("metric_id", Integer, ForeignKey("cw_metrics.id", ondelete="CASCADE"), nullable=False),
    Column("timestamp", Double, nullable=False),
    Column("sample_count", Double, nullable=False),
    Column("sum", Double, nullable=False),
    Column("minimum", Double, nullable=False),
    Column("maximum", Double, nullable=False),
    Column("distribution", Text),  # JSON [[value, count], ...]; NULL for a statistic set
    Column("unit", String(32), nullable=False),
    Column("storage_resolution", Integer, nullable=False),
    Index("ix_cw_datapoints_metric_time", "metric_id", "timestamp"),
)

cw_alarms = Table(
    "cw_alarms",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account", String(12), nullable=False),
    Column("region", String(32), nullable=False),
    Column("name", String(255), nullable=False),
    Column("arn", String(2048), nullable=False),
    Column("namespace", String(255)),
    Column("metric_name", String(255)),
    Column("metric_identity", String(64)),  # cw_metrics.identity of the watched metric
    Column("document", Text, nullable=False),  # the PutMetricAlarm input as given (JSON)
    Column("actions_enabled", Boolean, nullable=False),
    Column("state_value", String(32), nullable=False),
    Column("state_reason", Text, nullable=False),
    Column("state_reason_data", Text),
    Column("state_updated_at", Double, nullable=False),
    Column("state_transitioned_at", Double, nullable=False),
    Column("configuration_updated_at", Double, nullable=False),
    Column("evaluated_at", Double, nullable=False),
    Index("uq_cw_alarms_name", "account", "region", "name", unique=True),
    Index("ix_cw_alarms_metric", "metric_identity"),
)

cw_alarm_history = Table(
    "cw_alarm_history",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account", String(12), nullable=False),
    Column("region", String(32), nullable=False),
    Column("alarm_name", String(255), nullable=False),
    Column("timestamp", Double, nullable=False),
    Column("item_type", String(32), nullable=False),  # ConfigurationUpdate | StateUpdate | Action
    Column("summary", String(255), nullable=False),
    Column("data", Text),
    Index("ix_cw_alarm_history_alarm", "account", "region", "alarm_name", "timestamp"),
)
