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
    # Read from the document by the store itself (store/derived.py, migration 0010).
    Column("approval", String(32)),  # a model package's ModelApprovalStatus
    Column("risk", String(16)),  # a model card's risk rating
    Column("subject", String(2048)),  # the ARN of the group or model a model card documents
    Column("subject_version", Integer),  # the group's version that card documents (0: none named)
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
    Column("unique_id", String(32)),  # AIDA... / AROA... (migration 0004 gave existing rows one)
    UniqueConstraint("account", "kind", "name", name="uq_principals_name"),
    Index("uq_principals_unique_id", "unique_id", unique=True),
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
    # Which face the call came through: "api" (a signed request) or "console" (a signed-in person).
    Column("source", String(16), nullable=False, server_default="api"),  # migration 0009
    Index("ix_audit_time", "time"),
    Index("ix_audit_user_time", "user_name", "time"),
)

# --- registry, events (migration 0002) ---------------------------------------

# Model package versions are numbered per group with no gap or duplicate: the
# database refuses a second (parent, version) pair. Rows without a version
# (unversioned resources) are not constrained, as NULLs never collide.
Index("uq_resources_parent_version", resources.c.parent, resources.c.version, unique=True)

# A resource-based policy (PutModelPackageGroupPolicy and the like), one per resource.
resource_policies = Table(
    "resource_policies",
    metadata,
    Column("resource_id", Integer, ForeignKey("resources.id", ondelete="CASCADE"), primary_key=True),
    Column("document", Text, nullable=False),
)

# Events (EventBridge-shaped) written in the same transaction as the change
# that caused them; the outbox worker delivers them to subscribers.
events = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("event_id", String(64), nullable=False, unique=True),
    Column("detail_type", String(256), nullable=False),
    Column("source", String(128), nullable=False),
    Column("account", String(12), nullable=False),
    Column("region", String(32), nullable=False),
    Column("time", Double, nullable=False),
    Column("document", Text, nullable=False),  # the whole event, as delivered
)

subscriptions = Table(
    "subscriptions",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("url", String(2048), nullable=False),
    Column("detail_types", Text, nullable=False),  # JSON list; empty = every type
    Column("secret_ciphertext", Text, nullable=False),
    Column("created_at", Double, nullable=False),
)

# One row per (event, subscription): the durable outbox.
deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("event_id", Integer, ForeignKey("events.id", ondelete="CASCADE"), nullable=False),
    Column("subscription_id", String(64), ForeignKey("subscriptions.id", ondelete="CASCADE"), nullable=False),
    Column("status", String(16), nullable=False),  # Pending | Delivered | Failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", Double, nullable=False),
    Column("last_error", Text),
    Column("delivered_at", Double),
    Index("ix_deliveries_due", "status", "next_attempt_at"),
)

# Listing one parent's children (a group's versions, a card's versions) by
# creation time without reading every other parent's rows (migration 0003).
Index("ix_resources_parent_created", resources.c.parent, resources.c.created_at)

# Migration 0010, for the Model Dashboard: a group's or a model's model cards, the card of the newest
# documented version first, and a group's newest version, each answered from the index alone.
Index("ix_resources_subject", resources.c.subject, resources.c.subject_version, resources.c.modified_at,
      resources.c.id, resources.c.risk, resources.c.status)
Index("ix_resources_parent_latest", resources.c.parent, resources.c.version, resources.c.approval,
      resources.c.modified_at)
# The most recently modified resources of a type (the dashboard's first page, newest first).
Index("ix_resources_scope_modified", resources.c.account, resources.c.region, resources.c.resource_type,
      resources.c.modified_at)
