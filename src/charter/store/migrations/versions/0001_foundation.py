"""Foundation: resource documents, tags, IAM principals, keys, policies, audit log.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "resources",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("arn", sa.String(2048), nullable=False),
        sa.Column("account", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("resource_type", sa.String(64), nullable=False),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("parent", sa.String(2048)),
        sa.Column("version", sa.Integer),
        sa.Column("status", sa.String(64)),
        sa.Column("created_at", sa.Double, nullable=False),
        sa.Column("modified_at", sa.Double, nullable=False),
        sa.Column("document", sa.Text, nullable=False),
        sa.UniqueConstraint("arn", name="uq_resources_arn"),
    )
    op.create_index("ix_resources_scope_created", "resources", ["account", "region", "resource_type", "created_at"])
    op.create_index("ix_resources_scope_name", "resources", ["account", "region", "resource_type", "name"])
    op.create_index("ix_resources_parent", "resources", ["parent"])
    op.create_table(
        "tags",
        sa.Column("resource_id", sa.Integer, sa.ForeignKey("resources.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("key", sa.String(128), primary_key=True),
        sa.Column("value", sa.String(256), nullable=False),
    )
    op.create_table(
        "principals",
        sa.Column("arn", sa.String(2048), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("account", sa.String(12), nullable=False),
        sa.Column("persona", sa.String(64)),
        sa.Column("activities", sa.Text),
        sa.Column("created_at", sa.Double, nullable=False),
        sa.UniqueConstraint("account", "kind", "name", name="uq_principals_name"),
    )
    op.create_table(
        "access_keys",
        sa.Column("access_key_id", sa.String(128), primary_key=True),
        sa.Column("principal_arn", sa.String(2048), sa.ForeignKey("principals.arn", ondelete="CASCADE"), nullable=False),
        sa.Column("secret_ciphertext", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.Double, nullable=False),
    )
    op.create_index("ix_access_keys_principal", "access_keys", ["principal_arn"])
    op.create_table(
        "policies",
        sa.Column("arn", sa.String(2048), primary_key=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("document", sa.Text, nullable=False),
        sa.Column("created_at", sa.Double, nullable=False),
    )
    op.create_table(
        "policy_attachments",
        sa.Column("principal_arn", sa.String(2048), sa.ForeignKey("principals.arn", ondelete="CASCADE"), primary_key=True),
        sa.Column("policy_arn", sa.String(2048), sa.ForeignKey("policies.arn", ondelete="CASCADE"), primary_key=True),
    )
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("time", sa.Double, nullable=False),
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("principal_arn", sa.String(2048)),
        sa.Column("user_name", sa.String(128)),
        sa.Column("access_key_id", sa.String(128)),
        sa.Column("operation", sa.String(128), nullable=False),
        sa.Column("resource_arn", sa.String(2048)),
        sa.Column("region", sa.String(32)),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("status_code", sa.Integer, nullable=False),
        sa.Column("error_code", sa.String(128)),
        sa.Column("error_message", sa.Text),
        sa.Column("source_ip", sa.String(64)),
        sa.Column("user_agent", sa.String(512)),
    )
    op.create_index("ix_audit_time", "audit_events", ["time"])
    op.create_index("ix_audit_user_time", "audit_events", ["user_name", "time"])


def downgrade() -> None:
    for table in ("audit_events", "policy_attachments", "policies", "access_keys", "principals", "tags", "resources"):
        op.drop_table(table)
