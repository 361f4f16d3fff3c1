"""Index children by (parent, created_at): list a group's packages without scanning the others.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_resources_parent_created", "resources", ["parent", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_resources_parent_created", "resources")
