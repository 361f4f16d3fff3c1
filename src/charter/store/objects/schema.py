"""The object store's tables (created by migration 0005).

Keys are stored as their UTF-8 bytes in a binary column (``BLOB`` on SQLite,
``bytea`` on PostgreSQL), which both databases compare byte by byte: S3 lists in
UTF-8 byte order, and PostgreSQL's text collations (``en_US`` and friends) do not.
Times are epoch seconds, as in the rest of the schema.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Double,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from ..schema import metadata

s3_buckets = Table(
    "s3_buckets",
    metadata,
    Column("name", String(63), primary_key=True),
    Column("region", String(32), nullable=False),
    Column("owner", String(12), nullable=False),
    Column("created_at", Double, nullable=False),
)

# One row per current object; its bytes are the blobs of its segments, in order.
s3_objects = Table(
    "s3_objects",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("bucket", String(63), ForeignKey("s3_buckets.name", ondelete="CASCADE"), nullable=False),
    Column("key", LargeBinary(1024), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("etag", String(64), nullable=False),
    Column("last_modified", Double, nullable=False),
    Column("content_type", Text),
    Column("metadata", Text, nullable=False),  # JSON object of the x-amz-meta-* pairs
    Column("headers", Text, nullable=False),  # JSON object of cache_control, content_disposition, ...
    Column("checksum_algorithm", String(16)),
    Column("checksum_value", String(128)),
    Column("checksum_type", String(16)),
    Column("parts_count", Integer),
    UniqueConstraint("bucket", "key", name="uq_s3_objects_bucket_key"),
)

# A blob is named by exactly one row: a segment of an object or a part of an upload.
s3_segments = Table(
    "s3_segments",
    metadata,
    Column("object_id", Integer, ForeignKey("s3_objects.id", ondelete="CASCADE"), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("blob", String(40), nullable=False),
    Column("size", BigInteger, nullable=False),
    Index("ix_s3_segments_blob", "blob"),
)

s3_uploads = Table(
    "s3_uploads",
    metadata,
    Column("upload_id", String(128), primary_key=True),
    Column("bucket", String(63), ForeignKey("s3_buckets.name", ondelete="CASCADE"), nullable=False),
    Column("key", LargeBinary(1024), nullable=False),
    Column("initiated", Double, nullable=False),
    Column("owner", String(12), nullable=False),
    Column("content_type", Text),
    Column("metadata", Text, nullable=False),
    Column("headers", Text, nullable=False),
    Column("checksum_algorithm", String(16)),
    Column("checksum_type", String(16)),
    Index("ix_s3_uploads_bucket_key", "bucket", "key", "upload_id"),
)

s3_parts = Table(
    "s3_parts",
    metadata,
    Column("upload_id", String(128), ForeignKey("s3_uploads.upload_id", ondelete="CASCADE"), primary_key=True),
    Column("part_number", Integer, primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("md5", String(32), nullable=False),
    Column("checksum_value", String(128)),
    Column("blob", String(40), nullable=False),
    Column("last_modified", Double, nullable=False),
    Index("ix_s3_parts_blob", "blob"),
)
