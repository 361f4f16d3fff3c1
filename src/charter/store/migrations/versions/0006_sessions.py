"""Temporary credentials (STS AssumeRole sessions), the IAM API's user and role details, console passwords.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sts_sessions",
        sa.Column("access_key_id", sa.String(128), primary_key=True),
        sa.Column("secret_ciphertext", sa.Text, nullable=False),
        sa.Column("token_sha256", sa.String(64), nullable=False),
        sa.Column("role_arn", sa.String(2048), sa.ForeignKey("principals.arn", ondelete="CASCADE"), nullable=False),
        sa.Column("session_name", sa.String(64), nullable=False),
        sa.Column("assumed_by", sa.String(2048), nullable=False),
        sa.Column("source_identity", sa.String(64)),
        sa.Column("created_at", sa.Double, nullable=False),
        sa.Column("expires_at", sa.Double, nullable=False),
    )
    op.create_index("ix_sts_sessions_expires", "sts_sessions", ["expires_at"])
    op.create_index("ix_sts_sessions_role", "sts_sessions", ["role_arn"])
    op.create_table(
        "iam_details",
        sa.Column("principal_arn", sa.String(2048), sa.ForeignKey("principals.arn", ondelete="CASCADE"), primary_key=True),
        sa.Column("path", sa.String(512), nullable=False, server_default="/"),
        sa.Column("description", sa.Text),
        sa.Column("trust_policy", sa.Text),
        sa.Column("max_session_duration", sa.Integer),
        sa.Column("tags", sa.Text),
    )
    op.create_table(
        "login_profiles",
        sa.Column("principal_arn", sa.String(2048), sa.ForeignKey("principals.arn", ondelete="CASCADE"), primary_key=True),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("password_reset_required", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_at", sa.Double, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("login_profiles")
    op.drop_table("iam_details")
    op.drop_index("ix_sts_sessions_role", "sts_sessions")
    op.drop_index("ix_sts_sessions_expires", "sts_sessions")
    op.drop_table("sts_sessions")
