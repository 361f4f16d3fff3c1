"""S3 buckets, objects and multipart uploads over the artifact store.

Object keys are binary columns (UTF-8 bytes), so both SQLite and PostgreSQL sort
and range-scan them in S3's byte order.  Files of the old layout
(``<artifact root>/<bucket>/<key>``) are imported as objects by the object store
itself the first time it opens (``charter.store.objects.local``), because the
bodies live beside the database, not in it.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "s3_buckets",
        sa.Column("name", sa.String(63), primary_key=True),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("owner", sa.String(12), nullable=False),
        sa.Column("created_at", sa.Double, nullable=False),
    )
    op.create_table(
        "s3_objects",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("bucket", sa.String(63), sa.ForeignKey("s3_buckets.name", ondelete="CASCADE"), nullable=False),
        sa.Column("key", sa.LargeBinary(1024), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("etag", sa.String(64), nullable=False),
        sa.Column("last_modified", sa.Double, nullable=False),
        sa.Column("content_type", sa.Text),
        sa.Column("metadata", sa.Text, nullable=False),
        sa.Column("headers", sa.Text, nullable=False),
        sa.Column("checksum_algorithm", sa.String(16)),
        sa.Column("checksum_value", sa.String(128)),
        sa.Column("checksum_type", sa.String(16)),
        sa.Column("parts_count", sa.Integer),
        sa.UniqueConstraint("bucket", "key", name="uq_s3_objects_bucket_key"),
    )
    op.create_table(
        "s3_segments",
        sa.Column("object_id", sa.Integer, sa.ForeignKey("s3_objects.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True),
        sa.Column("blob", sa.String(40), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_s3_segments_blob", "s3_segments", ["blob"])
    op.create_table(
        "s3_uploads",
        sa.Column("upload_id", sa.String(128), primary_key=True),
        sa.Column("bucket", sa.String(63), sa.ForeignKey("s3_buckets.name", ondelete="CASCADE"), nullable=False),
        sa.Column("key", sa.LargeBinary(1024), nullable=False),
        sa.Column("initiated", sa.Double, nullable=False),
        sa.Column("owner", sa.String(12), nullable=False),
        sa.Column("content_type", sa.Text),
        sa.Column("metadata", sa.Text, nullable=False),
        sa.Column("headers", sa.Text, nullable=False),
        sa.Column("checksum_algorithm", sa.String(16)),
        sa.Column("checksum_type", sa.String(16)),
    )
    op.create_index("ix_s3_uploads_bucket_key", "s3_uploads", ["bucket", "key", "upload_id"])
    op.create_table(
        "s3_parts",
        sa.Column("upload_id", sa.String(128), sa.ForeignKey("s3_uploads.upload_id", ondelete="CASCADE"), primary_key=True),
        sa.Column("part_number", sa.Integer, primary_key=True),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("md5", sa.String(32), nullable=False),
        sa.Column("checksum_value", sa.String(128)),
        sa.Column("blob", sa.String(40), nullable=False),
        sa.Column("last_modified", sa.Double, nullable=False),
    )
    op.create_index("ix_s3_parts_blob", "s3_parts", ["blob"])


def downgrade() -> None:
    op.drop_index("ix_s3_parts_blob", "s3_parts")
    op.drop_table("s3_parts")
    op.drop_index("ix_s3_uploads_bucket_key", "s3_uploads")
    op.drop_table("s3_uploads")
    op.drop_index("ix_s3_segments_blob", "s3_segments")
    op.drop_table("s3_segments")
    op.drop_table("s3_objects")
    op.drop_table("s3_buckets")
