"""Tables, as SQLAlchemy Core metadata.

The schema itself is created and changed only by the Alembic migrations in
``migrations/versions``; this module describes the same tables for queries.
Times are stored as epoch seconds (double precision), which is what the wire
carries and sorts the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

# Every SageMaker resource: its describe document plus the columns that are looked up or sorted.
resources = Table(
    "resources",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("arn", String(2048), nullable=False),
    Column("account", String(12), nullable=False),
    Column("region", String(32), nullable=False),
    Column("resource_type", String(64), nullable=False),
    Column("name", String(256), nullable=False),
    Column("parent", String(2048)),
    Column("version", Integer),
    Column("status", String(64)),
    Column("created_at", Double, nullable=False),
    Column("modified_at", Double, nullable=False),
    Column("document", Text, nullable=False),
    UniqueConstraint("arn", name="uq_resources_arn"),
    Index("ix_resources_scope_created", "account", "region", "resource_type", "created_at"),
    Index("ix_resources_scope_name", "account", "region", "resource_type", "name"),
    Index("ix_resources_parent", "parent"),
)

tags = Table(
    "tags",
    metadata,
    Column("resource_id", Integer, ForeignKey("resources.id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(128), primary_key=True),
    Column("value", String(256), nullable=False),
)

# IAM: users and roles are principals; policies are attached to principals.
principals = Table(
    "principals",
    metadata,
    Column("arn", String(2048), primary_key=True),
    Column("kind", String(16), nullable=False),  # user | role
    Column("name", String(128), nullable=False),
    Column("account", String(12), nullable=False),
    Column("persona", String(64)),
    Column("activities", Text),  # JSON list
    Column("created_at", Double, nullable=False),
    UniqueConstraint("account", "kind", "name", name="uq_principals_name"),
)

access_keys = Table(
    "access_keys",
    metadata,
    Column("access_key_id", String(128), primary_key=True),
    Column("principal_arn", String(2048), ForeignKey("principals.arn", ondelete="CASCADE"), nullable=False),
    Column("secret_ciphertext", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", Double, nullable=False),
    Index("ix_access_keys_principal", "principal_arn"),
)

policies = Table(
    "policies",
    metadata,
    Column("arn", String(2048), primary_key=True),
    Column("name", String(128), nullable=False),
    Column("document", Text, nullable=False),
    Column("created_at", Double, nullable=False),
)

policy_attachments = Table(
    "policy_attachments",
    metadata,
    Column("principal_arn", String(2048), ForeignKey("principals.arn", ondelete="CASCADE"), primary_key=True),
    Column("policy_arn", String(2048), ForeignKey("policies.arn", ondelete="CASCADE"), primary_key=True),
)

audit_events = Table(
    "audit_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("time", Double, nullable=False),
    Column("request_id", String(64), nullable=False),
    Column("principal_arn", String(2048)),
    Column("user_name", String(128)),
    Column("access_key_id", String(128)),
    Column("operation", String(128), nullable=False),
    Column("resource_arn", String(2048)),
    Column("region", String(32)),
    Column("outcome", String(16), nullable=False),  # Success | Denied | Failed
    Column("status_code", Integer, nullable=False),
    Column("error_code", String(128)),
    Column("error_message", Text),
    Column("source_ip", String(64)),
    Column("user_agent", String(512)),
    Index("ix_audit_time", "time"),
    Index("ix_audit_user_time", "user_name", "time"),
)
