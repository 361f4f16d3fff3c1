"""The web console: where an audit row came from, password changes, failed sign-ins, signed-out sessions.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_events") as batch:
        batch.add_column(sa.Column("source", sa.String(16), nullable=False, server_default="api"))
    with op.batch_alter_table("login_profiles") as batch:
        batch.add_column(sa.Column("password_changed_at", sa.Double))
    op.create_table(
        "console_signin_failures",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("subject", sa.String(320), nullable=False),
        sa.Column("time", sa.Double, nullable=False),
    )
    op.create_index("ix_console_signin_failures_subject_time", "console_signin_failures", ["subject", "time"])
    op.create_table(
        "console_signouts",
        sa.Column("session_id", sa.String(64), primary_key=True),
        sa.Column("expires_at", sa.Double, nullable=False),
    )
    op.create_index("ix_console_signouts_expires", "console_signouts", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_console_signouts_expires", "console_signouts")
    op.drop_table("console_signouts")
    op.drop_index("ix_console_signin_failures_subject_time", "console_signin_failures")
    op.drop_table("console_signin_failures")
    with op.batch_alter_table("login_profiles") as batch:
        batch.drop_column("password_changed_at")
    with op.batch_alter_table("audit_events") as batch:
        batch.drop_column("source")
