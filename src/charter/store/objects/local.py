"""The local object store: rows in Charter's database, bodies in immutable blob files.

See the package docstring for the layout; in short, ``(bucket, key)`` is a row of
``s3_objects`` whose bytes are the blobs its ``s3_segments`` rows name, in order,
and each blob is the file ``<root>/.charter-objects/blobs/<2 hex>/<32 hex>``.
A blob is named by exactly one row (an object's segment or an upload's part), so
it is deleted as soon as the transaction that dropped its row commits.

Every write follows one order, which is what makes it safe against a crash or an
exception at any point: the body goes to ``<id>.tmp`` in the blob's own folder
(held under an exclusive ``flock`` from its creation), is verified, fsynced and
renamed to ``<id>``, the folder is fsynced, the row commits, and only then is the
lock released and the replaced blob unlinked.  A sweep (run by the first open of
the store in each process) deletes what no row names and no live writer holds.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import mimetypes
import os
import secrets
import time
import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import BinaryIO, Callable, Iterator

from sqlalchemy import Connection, Engine, and_, bindparam, delete, insert, or_, select
from sqlalchemy.exc import IntegrityError

from .. import db
from .base import (
    CHUNK,
    MAX_OBJECT_SIZE,
    Bucket,
    Listing,
    ObjectInfo,
    ObjectStore,
    PartInfo,
    Upload,
    check_bucket_name,
    check_part_number,
    decode_headers,
    encode_headers,
    key_bytes,
    read_chunks,
    utc,
)
from .checksums import FULL_OBJECT, Checksum, Digest, check_algorithm, multipart_checksum, multipart_etag
from .errors import (
    BucketAlreadyExists,
    BucketAlreadyOwnedByYou,
    BucketNotEmpty,
    EntityTooLarge,
    EntityTooSmall,
    InvalidPart,
    InvalidPartOrder,
    InvalidRequest,
    MalformedXML,
    NoSuchBucket,
    NoSuchKey,
    NoSuchUpload,
)
from .schema import s3_buckets, s3_objects, s3_parts, s3_segments, s3_uploads

log = logging.getLogger(__name__)

# S3's smallest part (all but the last); a module constant so tests can lower it.
MIN_PART_SIZE = 5 * 1024 * 1024
# Segments opened up front when a read starts; beyond this they open as the read reaches them.
EAGER_SEGMENTS = 1000
# A temp blob this young may belong to a writer that has created it but not locked it yet.
TEMP_GRACE_SECONDS = 60.0
STORE_DIR = ".charter-objects"  # a bucket name cannot start with '.', so no bucket folder of the old layout clashes


# The statements of every object read and write, built once: SQLAlchemy then reuses their
# compiled form without constructing and hashing a new statement per request.
_BUCKET = select(s3_buckets).where(s3_buckets.c.name == bindparam("name"))
_BUCKET_EXISTS = select(s3_buckets.c.name).where(s3_buckets.c.name == bindparam("name"))
_OBJECT = select(s3_objects).where(s3_objects.c.bucket == bindparam("bucket"), s3_objects.c.key == bindparam("key"))
_OBJECT_ID_FOR_UPDATE = (
    select(s3_objects.c.id)
    .where(s3_objects.c.bucket == bindparam("bucket"), s3_objects.c.key == bindparam("key"))
    .with_for_update()
)
_DROP_SEGMENTS = delete(s3_segments).where(s3_segments.c.object_id == bindparam("id")).returning(s3_segments.c.blob)
_DROP_OBJECT = delete(s3_objects).where(s3_objects.c.id == bindparam("id"))
_INSERT_OBJECT = insert(s3_objects).returning(s3_objects.c.id)
_INSERT_SEGMENT = insert(s3_segments)
_SEGMENTS = (
    select(s3_segments.c.blob, s3_segments.c.size)
    .where(s3_segments.c.object_id == bindparam("id"))
    .order_by(s3_segments.c.seq)
)


def _quote(md5_hex: str) -> str:
    return f'"{md5_hex}"'


def _unquote(etag: str) -> str:
    return (etag or "").strip().strip('"')


class _BlobWriter:
    """A new blob: a locked temp file, made final by :meth:`finish`, kept only if :meth:`keep` is called."""

    def __init__(self, blobs: "Blobs", *, link_from: Path | None = None):
        self.id = uuid.uuid4().hex
        self.path = blobs.path(self.id)
        blobs.folder(self.path.parent)
        self.temp = self.path.with_name(self.id + ".tmp")
        if link_from is not None:
            os.link(link_from, self.temp)  # FileNotFoundError when the source went away meanwhile
            fd = os.open(self.temp, os.O_RDONLY)
        else:
            fd = os.open(self.temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        fcntl.flock(fd, fcntl.LOCK_EX)
        self.file = os.fdopen(fd, "rb" if link_from is not None else "wb")
        self.final = False
        self.kept = False

    def write(self, chunk: bytes) -> None:
        self.file.write(chunk)

    def finish(self) -> None:
        """Durable under its final name (still unnamed by any row, still locked)."""
        if self.file.writable():
            self.file.flush()
        os.fsync(self.file.fileno())
        os.rename(self.temp, self.path)
        self.final = True
        _fsync_dir(self.path.parent)

    def keep(self) -> None:
        self.kept = True

    def __enter__(self) -> "_BlobWriter":
        return self

    def __exit__(self, *exc) -> None:
        try:
            if not self.kept:
                (self.path if self.final else self.temp).unlink(missing_ok=True)
        finally:
            self.file.close()  # releases the lock, after the row committed or the file went


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Blobs:
    """The blob files under ``<root>/.charter-objects/blobs``."""

    def __init__(self, root: Path):
        self.root = root / STORE_DIR / "blobs"
        self._made: set[Path] = set()

    def path(self, blob_id: str) -> Path:
        return self.root / blob_id[:2] / blob_id

    def folder(self, path: Path) -> None:
        """Make a blob folder once per process (there are 256; none is ever removed)."""
        if path not in self._made:
            path.mkdir(parents=True, exist_ok=True)
            self._made.add(path)

    def writer(self, **kwargs) -> _BlobWriter:
        return _BlobWriter(self, **kwargs)

    def unlink(self, blob_ids) -> None:
        for blob_id in blob_ids:
            try:
                self.path(blob_id).unlink(missing_ok=True)
            except OSError as exc:  # a leftover is swept on the next start
                log.warning("could not delete blob %s: %s", blob_id, exc)


def _spool(writer: _BlobWriter, chunks, digest: Digest, limit: int = MAX_OBJECT_SIZE) -> None:
    for chunk in chunks:
        digest.update(chunk)
        if digest.size > limit:
            raise EntityTooLarge(MaxSizeAllowed=str(limit), ProposedSize=str(digest.size))
        writer.write(chunk)
    digest.verify()
    writer.finish()


def _checksum(algorithm, value, kind) -> Checksum | None:
    return Checksum(algorithm, value, kind or FULL_OBJECT) if algorithm else None


def _info(row) -> ObjectInfo:
    return ObjectInfo(
        bucket=row.bucket,
        key=row.key.decode("utf-8"),
        size=row.size,
        etag=row.etag,
        last_modified=utc(row.last_modified),
        content_type=row.content_type,
        metadata=json.loads(row.metadata),
        headers=decode_headers(row.headers),
        checksum=_checksum(row.checksum_algorithm, row.checksum_value, row.checksum_type),
        parts_count=row.parts_count,
    )


def _bucket(row) -> Bucket:
    return Bucket(name=row.name, region=row.region, owner=row.owner, created=utc(row.created_at))


def _prefix_end(prefix: bytes) -> bytes | None:
    """The smallest byte string above every string that starts with ``prefix`` (UTF-8 never holds 0xFF)."""
    return prefix + b"\xff" if prefix else None


class LocalObjectStore(ObjectStore):
    """The object store over Charter's database and a local folder (the ``file://`` artifact root)."""

    external = None

    def __init__(self, engine: Engine, root: Path, *, account: str = "123456789012", region: str = "us-east-1"):
        self.engine = engine
        self.root = Path(root)
        self.blobs = Blobs(self.root)
        self.blobs.root.mkdir(parents=True, exist_ok=True)
        self.account = account
        self.region = region

    # --- plumbing --------------------------------------------------------------------

    def _write(self):
        return db.transaction(self.engine)

    def _read(self):
        return db.transaction(self.engine, write=False)

    def _commit(self, work, retries: int = 3):
        """Run ``work(conn)`` in a write transaction; a unique-key race (PostgreSQL) runs it again."""
        for attempt in range(retries):
            try:
                with self._write() as conn:
                    return work(conn)
            except IntegrityError:
                if attempt == retries - 1:
                    raise

    @staticmethod
    def _need_bucket(conn, name: str) -> None:
        if conn.execute(_BUCKET_EXISTS, {"name": name}).first() is None:
            raise NoSuchBucket(BucketName=name)

    @staticmethod
    def _drop_object(conn, bucket: str, key: bytes) -> list[str]:
        """Delete the object row at (bucket, key); returns the blobs it named."""
        row = conn.execute(_OBJECT_ID_FOR_UPDATE, {"bucket": bucket, "key": key}).first()
        if row is None:
            return []
        blobs = [b for (b,) in conn.execute(_DROP_SEGMENTS, {"id": row.id})]
        conn.execute(_DROP_OBJECT, {"id": row.id})
        return blobs

    def _replace(self, bucket: str, key: bytes, values: dict, segments: list[tuple[str, int]],
                 on_commit: Callable[[Connection], None] | None = None) -> tuple[ObjectInfo, list[str]]:
        """Make (bucket, key) the object ``values`` over ``segments``; returns it and the blobs it replaced."""

        def work(conn):
            self._need_bucket(conn, bucket)
            old = self._drop_object(conn, bucket, key)
            object_id = conn.execute(_INSERT_OBJECT, {"bucket": bucket, "key": key, **values}).scalar_one()
            conn.execute(
                _INSERT_SEGMENT,
                [{"object_id": object_id, "seq": i, "blob": b, "size": s} for i, (b, s) in enumerate(segments)],
            )
            if on_commit is not None:
                on_commit(conn)
            return _info(SimpleNamespace(id=object_id, bucket=bucket, key=key, **values)), old

        return self._commit(work)

    # --- buckets -----------------------------------------------------------------------

    def create_bucket(self, name: str, *, region: str, owner: str) -> Bucket:
        check_bucket_name(name)
        return self._create_bucket(name, region=region, owner=owner)

    def _create_bucket(self, name: str, *, region: str, owner: str) -> Bucket:
        def work(conn):
            row = conn.execute(select(s3_buckets).where(s3_buckets.c.name == name)).first()
            if row is not None:
                if row.owner == owner:
                    raise BucketAlreadyOwnedByYou(BucketName=name)
                raise BucketAlreadyExists(BucketName=name)
            created = float(int(time.time()))
            conn.execute(insert(s3_buckets).values(name=name, region=region, owner=owner, created_at=created))
            return Bucket(name=name, region=region, owner=owner, created=utc(created))

        return self._commit(work)

    def ensure_bucket(self, name: str, *, region: str, owner: str) -> None:
        """Create ``name`` unless it exists (internal writes, as the old folders were made on demand)."""
        try:
            self._create_bucket(name, region=region, owner=owner)
        except (BucketAlreadyOwnedByYou, BucketAlreadyExists):
            pass

    def head_bucket(self, name: str) -> Bucket:
        with self._read() as conn:
            row = conn.execute(_BUCKET, {"name": name}).first()
        if row is None:
            raise NoSuchBucket(BucketName=name)
        return _bucket(row)

    def delete_bucket(self, name: str) -> None:
        def work(conn):
            self._need_bucket(conn, name)
            if conn.execute(select(s3_objects.c.id).where(s3_objects.c.bucket == name).limit(1)).first() is not None:
                raise BucketNotEmpty(BucketName=name)
            uploads = select(s3_uploads.c.upload_id).where(s3_uploads.c.bucket == name)
            blobs = [b for (b,) in conn.execute(select(s3_parts.c.blob).where(s3_parts.c.upload_id.in_(uploads)))]
            conn.execute(delete(s3_parts).where(s3_parts.c.upload_id.in_(uploads)))
            conn.execute(delete(s3_uploads).where(s3_uploads.c.bucket == name))
            conn.execute(delete(s3_buckets).where(s3_buckets.c.name == name))
            return blobs

        self.blobs.unlink(self._commit(work))

    def list_buckets(self, owner: str | None = None) -> list[Bucket]:
        query = select(s3_buckets).order_by(s3_buckets.c.name)
        if owner is not None:
            query = query.where(s3_buckets.c.owner == owner)
        with self._read() as conn:
            return [_bucket(row) for row in conn.execute(query)]

    # --- objects -----------------------------------------------------------------------

    def put_object(
        self,
        bucket: str,
        key: str,
        body: BinaryIO,
        *,
        content_type: str | None = None,
        metadata: dict | None = None,
        headers: dict | None = None,
        content_md5: str | None = None,
        checksum: Checksum | None = None,
        on_commit: Callable[[Connection], None] | None = None,
    ) -> ObjectInfo:
        """Store ``body`` at (bucket, key); ``on_commit(conn)`` runs in the transaction that names it."""
        raw = key_bytes(key)
        digest = Digest(checksum, content_md5)
        length = getattr(body, "length", None)
        if length is None or length > CHUNK:
            self.head_bucket(bucket)  # refuse before reading a body that has nowhere to go
        with self.blobs.writer() as writer:
            _spool(writer, read_chunks(body), digest)
            result = digest.result
            values = dict(
                size=digest.size,
                etag=_quote(digest.md5_hex),
                last_modified=float(int(time.time())),
                content_type=content_type,
                metadata=json.dumps(dict(metadata or {})),
                headers=encode_headers(headers),
                checksum_algorithm=result.algorithm if result else None,
                checksum_value=result.value if result else None,
                checksum_type=FULL_OBJECT if result else None,
                parts_count=None,
            )
            info, old = self._replace(bucket, raw, values, [(writer.id, digest.size)], on_commit)
            writer.keep()
        self.blobs.unlink(old)
        return info

    def _row(self, conn, bucket: str, key: bytes):
        row = conn.execute(_OBJECT, {"bucket": bucket, "key": key}).first()
        if row is None:
            self._need_bucket(conn, bucket)
            raise NoSuchKey(Key=key.decode("utf-8"), BucketName=bucket)
        return row

    def head_object(self, bucket: str, key: str) -> ObjectInfo:
        raw = key_bytes(key)
        with self._read() as conn:
            return _info(self._row(conn, bucket, raw))

    def _segments(self, conn, object_id: int) -> list[tuple[str, int]]:
        return [(b, s) for b, s in conn.execute(_SEGMENTS, {"id": object_id})]

    def _open(self, bucket: str, key: bytes):
        """The object's row, its segments and open files of (at least) its first segments."""
        for _ in range(5):
            with self._read() as conn:
                row = self._row(conn, bucket, key)
                segments = self._segments(conn, row.id)
            files = []
            try:
                for blob, _size in segments[:EAGER_SEGMENTS]:
                    files.append(open(self.blobs.path(blob), "rb"))
            except FileNotFoundError:  # replaced between the lookup and the open: look again
                for handle in files:
                    handle.close()
                continue
            return row, segments, files
        raise NoSuchKey(Key=key.decode("utf-8"), BucketName=bucket)

    def open_object(self, bucket: str, key: str, *, start: int | None = None, end: int | None = None):
        raw = key_bytes(key)
        row, segments, files = self._open(bucket, raw)
        info = _info(row)
        first = start or 0
        last = info.size - 1 if end is None else min(end, info.size - 1)
        return info, self._stream(segments, files, first, last)

    def _stream(self, segments, files, first: int, last: int) -> Iterator[bytes]:
        try:
            offset = 0
            for index, (blob, size) in enumerate(segments):
                seg_start, seg_end = offset, offset + size - 1
                offset += size
                if seg_end < first or size == 0:
                    continue
                if seg_start > last:
                    break
                handle = files[index] if index < len(files) else open(self.blobs.path(blob), "rb")
                try:
                    handle.seek(max(first - seg_start, 0))
                    remaining = min(last, seg_end) - max(first, seg_start) + 1
                    while remaining > 0:
                        chunk = handle.read(min(CHUNK, remaining))
                        if not chunk:
                            raise OSError(f"blob {blob} is shorter than its row says")
                        remaining -= len(chunk)
                        yield chunk
                finally:
                    if index >= len(files):
                        handle.close()
        finally:
            for handle in files:
                handle.close()

    def blob_path(self, bucket: str, key: str) -> Path | None:
        """The one blob file holding a single-segment object (None for multipart objects); NoSuchKey/NoSuchBucket."""
        raw = key_bytes(key)
        with self._read() as conn:
            row = self._row(conn, bucket, raw)
            segments = self._segments(conn, row.id)
        return self.blobs.path(segments[0][0]) if len(segments) == 1 else None

    def delete_object(self, bucket: str, key: str) -> None:
        raw = key_bytes(key)

        def work(conn):
            self._need_bucket(conn, bucket)
            return self._drop_object(conn, bucket, raw)

        self.blobs.unlink(self._commit(work))

    def delete_objects(self, bucket: str, keys: list[str]) -> list[tuple[str, Exception | None]]:
        results: list[tuple[str, Exception | None]] = []
        valid: list[tuple[str, bytes]] = []
        for key in keys:
            try:
                valid.append((key, key_bytes(key)))
                results.append((key, None))
            except Exception as error:  # an invalid key fails alone, as in S3's per-key <Error>
                results.append((key, error))

        def work(conn):
            self._need_bucket(conn, bucket)
            blobs: list[str] = []
            for _key, raw in valid:
                blobs.extend(self._drop_object(conn, bucket, raw))
            return blobs

        self.blobs.unlink(self._commit(work))
        return results

    def copy_object(
        self,
        src_bucket: str,
        src_key: str,
        dst_bucket: str,
        dst_key: str,
        *,
        metadata: dict | None = None,
        content_type: str | None = None,
        headers: dict | None = None,
        checksum_algorithm: str | None = None,
    ) -> ObjectInfo:
        src_raw, dst_raw = key_bytes(src_key), key_bytes(dst_key)
        if checksum_algorithm is not None:
            checksum_algorithm = check_algorithm(checksum_algorithm)
        same = (src_bucket, src_raw) == (dst_bucket, dst_raw)
        if same and metadata is None and content_type is None and headers is None and checksum_algorithm is None:
            raise InvalidRequest(
                "This copy request is illegal because it is trying to copy an object to itself without changing the "
                "object's metadata, storage class, website redirect location or encryption attributes."
            )
        self.head_bucket(dst_bucket)
        for _ in range(5):
            row, segments, files = self._open(src_bucket, src_raw)
            source = _info(row)
            algorithm = checksum_algorithm or (source.checksum.algorithm if source.checksum else None)
            reuse = len(segments) == 1 and (
                algorithm is None or (source.checksum is not None and source.checksum.type == FULL_OBJECT
                                      and source.checksum.algorithm == algorithm)
            )
            try:
                if reuse:  # immutable blobs: a second name for the same bytes, no copy
                    for handle in files:
                        handle.close()
                    writer = self.blobs.writer(link_from=self.blobs.path(segments[0][0]))
                    etag, size, checksum = source.etag, source.size, source.checksum if algorithm else None
                else:
                    writer = self.blobs.writer()
            except FileNotFoundError:
                continue
            with writer:
                if reuse:
                    writer.finish()
                else:
                    digest = Digest(Checksum(algorithm) if algorithm else None)
                    _spool(writer, self._stream(segments, files, 0, source.size - 1), digest)
                    etag, size, checksum = _quote(digest.md5_hex), digest.size, digest.result
                values = dict(
                    size=size,
                    etag=etag,
                    last_modified=float(int(time.time())),
                    content_type=source.content_type if metadata is None and content_type is None else content_type,
                    metadata=json.dumps(source.metadata if metadata is None else dict(metadata)),
                    headers=encode_headers(source.headers if headers is None else headers),
                    checksum_algorithm=checksum.algorithm if checksum else None,
                    checksum_value=checksum.value if checksum else None,
                    checksum_type=FULL_OBJECT if checksum else None,
                    parts_count=None,
                )
                info, old = self._replace(dst_bucket, dst_raw, values, [(writer.id, size)])
                writer.keep()
            self.blobs.unlink(old)
            return info
        raise NoSuchKey(Key=src_key, BucketName=src_bucket)

    def list_objects(
        self,
        bucket: str,
        *,
        prefix: str = "",
        delimiter: str | None = None,
        start_after: str = "",
        max_keys: int = 1000,
    ) -> Listing:
        pre = prefix.encode("utf-8")
        after = (start_after or "").encode("utf-8")
        delim = delimiter.encode("utf-8") if delimiter else b""
        end = _prefix_end(pre)
        contents: list[ObjectInfo] = []
        prefixes: list[str] = []
        last: bytes | None = None
        truncated = False
        cursor, inclusive = (after, False) if after >= pre else (pre, True)
        with self._read() as conn:
            self._need_bucket(conn, bucket)
            while True:
                query = select(s3_objects).where(
                    s3_objects.c.bucket == bucket, s3_objects.c.key >= cursor if inclusive else s3_objects.c.key > cursor
                )
                if end is not None:
                    query = query.where(s3_objects.c.key < end)
                want = max(max_keys - len(contents) - len(prefixes), 0) + 1
                rows = conn.execute(query.order_by(s3_objects.c.key).limit(want)).all()
                skip = None  # the common prefix whose keys are being passed over
                for row in rows:
                    key = row.key
                    if skip is not None and key.startswith(skip):
                        continue
                    skip = None
                    if delim:
                        cut = key.find(delim, len(pre))
                        if cut >= 0:
                            common = skip = key[: cut + len(delim)]
                            if common <= after:
                                continue  # rolled up into a prefix the caller has already been given
                            if len(contents) + len(prefixes) >= max_keys:
                                truncated = True
                                break
                            prefixes.append(common.decode("utf-8"))
                            last = common
                            continue
                    if len(contents) + len(prefixes) >= max_keys:
                        truncated = True
                        break
                    contents.append(_info(row))
                    last = key
                if truncated or len(rows) < want:
                    break
                # One seek past a common prefix, rather than reading every key under it.
                cursor, inclusive = (skip + b"\xff", True) if skip is not None else (rows[-1].key, False)
        return Listing(contents, prefixes, truncated, last.decode("utf-8") if last is not None else None)

    # --- multipart uploads -------------------------------------------------------------

    def create_upload(
        self,
        bucket: str,
        key: str,
        *,
        content_type: str | None = None,
        metadata: dict | None = None,
        headers: dict | None = None,
        checksum_algorithm: str | None = None,
        checksum_type: str | None = None,
        owner: str,
    ) -> str:
        raw = key_bytes(key)
        algorithm = check_algorithm(checksum_algorithm) if checksum_algorithm else None
        if checksum_type is not None and checksum_type not in ("COMPOSITE", "FULL_OBJECT"):
            raise InvalidRequest(f"Checksum type {checksum_type!r} is not valid; use COMPOSITE or FULL_OBJECT.")
        kind = None
        if algorithm:  # the combination must be one S3 can compute at completion
            kind = checksum_type or (FULL_OBJECT if algorithm == "CRC64NVME" else "COMPOSITE")
            if (kind == FULL_OBJECT and algorithm.startswith("SHA")) or (kind == "COMPOSITE" and algorithm == "CRC64NVME"):
                raise InvalidRequest(f"The {kind} checksum type is not supported for {algorithm}.")
        elif checksum_type is not None:
            raise InvalidRequest("A checksum type needs a checksum algorithm (x-amz-checksum-algorithm).")
        # Time-ordered ids, so an id order is also S3's order of initiation within a key.
        upload_id = f"{time.time_ns():020x}{secrets.token_hex(20)}"

        def work(conn):
            self._need_bucket(conn, bucket)
            conn.execute(
                insert(s3_uploads).values(
                    upload_id=upload_id,
                    bucket=bucket,
                    key=raw,
                    initiated=time.time(),
                    owner=owner,
                    content_type=content_type,
                    metadata=json.dumps(dict(metadata or {})),
                    headers=encode_headers(headers),
                    checksum_algorithm=algorithm,
                    checksum_type=kind,
                )
            )

        self._commit(work)
        return upload_id

    def _upload(self, conn, bucket: str, key: bytes, upload_id: str):
        row = conn.execute(select(s3_uploads).where(s3_uploads.c.upload_id == upload_id)).first()
        if row is None or row.bucket != bucket or row.key != key:
            if row is None:
                self._need_bucket(conn, bucket)
            raise NoSuchUpload(UploadId=upload_id)
        return row

    def _store_part(self, bucket, raw, upload_id, part_number, chunks, digest: Digest) -> PartInfo:
        with self.blobs.writer() as writer:
            _spool(writer, chunks, digest)
            result = digest.result
            now = float(int(time.time()))

            def work(conn):
                self._upload(conn, bucket, raw, upload_id)
                old = conn.execute(
                    select(s3_parts.c.blob).where(s3_parts.c.upload_id == upload_id, s3_parts.c.part_number == part_number)
                ).scalar()
                conn.execute(delete(s3_parts).where(s3_parts.c.upload_id == upload_id, s3_parts.c.part_number == part_number))
                conn.execute(
                    insert(s3_parts).values(
                        upload_id=upload_id,
                        part_number=part_number,
                        size=digest.size,
                        md5=digest.md5_hex,
                        checksum_value=result.value if result else None,
                        blob=writer.id,
                        last_modified=now,
                    )
                )
                return [old] if old else []

            old = self._commit(work)
            writer.keep()
        self.blobs.unlink(old)
        return PartInfo(part_number, digest.size, _quote(digest.md5_hex), utc(now), result)

    def _part_digest(self, upload, checksum: Checksum | None, content_md5: str | None = None) -> Digest:
        algorithm = upload.checksum_algorithm
        if checksum is not None and algorithm and check_algorithm(checksum.algorithm) != algorithm:
            raise InvalidRequest(
                f"Checksum Type mismatch occurred, expected checksum Type: {algorithm.lower()}, "
                f"actual checksum Type: {checksum.algorithm.lower()}"
            )
        if checksum is None and algorithm:
            checksum = Checksum(algorithm)
        return Digest(checksum, content_md5)

    def upload_part(self, bucket, key, upload_id, part_number, body, *, content_md5=None, checksum=None) -> PartInfo:
        raw = key_bytes(key)
        check_part_number(part_number)
        with self._read() as conn:
            upload = self._upload(conn, bucket, raw, upload_id)
        digest = self._part_digest(upload, checksum, content_md5)
        return self._store_part(bucket, raw, upload_id, part_number, read_chunks(body), digest)

    def upload_part_copy(self, bucket, key, upload_id, part_number, src_bucket, src_key, *, start=None, end=None) -> PartInfo:
        raw, src_raw = key_bytes(key), key_bytes(src_key)
        check_part_number(part_number)
        with self._read() as conn:
            upload = self._upload(conn, bucket, raw, upload_id)
        row, segments, files = self._open(src_bucket, src_raw)
        first = start or 0
        last = row.size - 1 if end is None else min(end, row.size - 1)
        digest = self._part_digest(upload, None)
        return self._store_part(bucket, raw, upload_id, part_number, self._stream(segments, files, first, last), digest)

    def complete_upload(self, bucket: str, key: str, upload_id: str, parts: list[tuple[int, str, str | None]]) -> ObjectInfo:
        raw = key_bytes(key)
        if not parts:
            raise MalformedXML("The XML you provided was not well-formed or did not validate against our published "
                               "schema: CompleteMultipartUpload needs at least one Part.")
        numbers = [number for number, _, _ in parts]
        if any(b <= a for a, b in zip(numbers, numbers[1:])):
            raise InvalidPartOrder(UploadId=upload_id)

        def work(conn):
            upload = self._upload(conn, bucket, raw, upload_id)
            stored = {
                row.part_number: row
                for row in conn.execute(select(s3_parts).where(s3_parts.c.upload_id == upload_id))
            }
            chosen = []
            for number, etag, value in parts:
                part = stored.get(number)
                if part is None or _unquote(etag) != part.md5 or (
                    value is not None and part.checksum_value is not None and value != part.checksum_value
                ):
                    raise InvalidPart(UploadId=upload_id, PartNumber=str(number), ETag=etag)
                chosen.append(part)
            for part in chosen[:-1]:
                if part.size < MIN_PART_SIZE:
                    raise EntityTooSmall(
                        UploadId=upload_id, PartNumber=str(part.part_number), ProposedSize=str(part.size),
                        MinSizeAllowed=str(MIN_PART_SIZE),
                    )
            checksum = None
            if upload.checksum_algorithm:
                values = [(p.checksum_value, p.size) for p in chosen]
                if any(v is None for v, _ in values):
                    raise InvalidRequest(f"A part of upload {upload_id} has no {upload.checksum_algorithm} checksum.")
                checksum = multipart_checksum(upload.checksum_algorithm, values, upload.checksum_type)
            used = {p.blob for p in chosen}
            unused = [p.blob for p in stored.values() if p.blob not in used]
            conn.execute(delete(s3_parts).where(s3_parts.c.upload_id == upload_id))
            conn.execute(delete(s3_uploads).where(s3_uploads.c.upload_id == upload_id))
            old = self._drop_object(conn, bucket, raw)
            values = dict(
                bucket=bucket,
                key=raw,
                size=sum(p.size for p in chosen),
                etag=multipart_etag([p.md5 for p in chosen]),
                last_modified=float(int(time.time())),
                content_type=upload.content_type,
                metadata=upload.metadata,
                headers=upload.headers,
                checksum_algorithm=checksum.algorithm if checksum else None,
                checksum_value=checksum.value if checksum else None,
                checksum_type=checksum.type if checksum else None,
                parts_count=len(chosen),
            )
            object_id = conn.execute(insert(s3_objects).values(**values).returning(s3_objects.c.id)).scalar_one()
            conn.execute(
                insert(s3_segments),
                [{"object_id": object_id, "seq": i, "blob": p.blob, "size": p.size} for i, p in enumerate(chosen)],
            )
            row = conn.execute(select(s3_objects).where(s3_objects.c.id == object_id)).one()
            return _info(row), old + unused

        info, stale = self._commit(work)
        self.blobs.unlink(stale)
        return info

    def abort_upload(self, bucket: str, key: str, upload_id: str) -> None:
        raw = key_bytes(key)

        def work(conn):
            self._upload(conn, bucket, raw, upload_id)
            blobs = [b for (b,) in conn.execute(select(s3_parts.c.blob).where(s3_parts.c.upload_id == upload_id))]
            conn.execute(delete(s3_parts).where(s3_parts.c.upload_id == upload_id))
            conn.execute(delete(s3_uploads).where(s3_uploads.c.upload_id == upload_id))
            return blobs

        self.blobs.unlink(self._commit(work))

    def list_parts(self, bucket, key, upload_id, *, part_number_marker: int = 0, max_parts: int = 1000):
        raw = key_bytes(key)
        with self._read() as conn:
            upload = self._upload(conn, bucket, raw, upload_id)
            rows = conn.execute(
                select(s3_parts)
                .where(s3_parts.c.upload_id == upload_id, s3_parts.c.part_number > (part_number_marker or 0))
                .order_by(s3_parts.c.part_number)
                .limit(max(max_parts, 0) + 1)
            ).all()
        truncated = len(rows) > max_parts
        rows = rows[:max_parts]
        parts = [
            PartInfo(r.part_number, r.size, _quote(r.md5), utc(r.last_modified),
                     Checksum(upload.checksum_algorithm, r.checksum_value) if r.checksum_value else None)
            for r in rows
        ]
        return parts, truncated, (parts[-1].part_number if parts else None)

    def list_uploads(self, bucket, *, prefix: str = "", key_marker: str = "", upload_id_marker: str = "",
                     max_uploads: int = 1000):
        pre = prefix.encode("utf-8")
        query = select(s3_uploads).where(s3_uploads.c.bucket == bucket)
        if pre:
            query = query.where(s3_uploads.c.key >= pre, s3_uploads.c.key < _prefix_end(pre))
        if key_marker:
            marker = key_marker.encode("utf-8")
            if upload_id_marker:
                query = query.where(or_(s3_uploads.c.key > marker,
                                        and_(s3_uploads.c.key == marker, s3_uploads.c.upload_id > upload_id_marker)))
            else:
                query = query.where(s3_uploads.c.key > marker)
        query = query.order_by(s3_uploads.c.key, s3_uploads.c.upload_id).limit(max(max_uploads, 0) + 1)
        with self._read() as conn:
            self._need_bucket(conn, bucket)
            rows = conn.execute(query).all()
        truncated = len(rows) > max_uploads
        return [
            Upload(r.bucket, r.key.decode("utf-8"), r.upload_id, utc(r.initiated), r.owner) for r in rows[:max_uploads]
        ], truncated

    # --- upkeep ------------------------------------------------------------------------

    def sweep(self) -> int:
        """Delete blobs that no row names and no writer holds (left by a crash); returns how many."""
        removed = 0
        if not self.blobs.root.is_dir():
            return 0
        for folder in sorted(self.blobs.root.iterdir()):
            if not folder.is_dir():
                continue
            names = [entry.name for entry in os.scandir(folder) if entry.is_file(follow_symlinks=False)]
            temps = [n for n in names if n.endswith(".tmp")]
            finals = [n for n in names if not n.endswith(".tmp")]
            orphans = [n for n in finals if n not in self._named(finals)] if finals else []
            now = time.time()
            for name in temps:
                path = folder / name
                try:
                    if now - path.stat().st_mtime < TEMP_GRACE_SECONDS:
                        continue
                except FileNotFoundError:
                    continue
                removed += self._remove_unheld(path, None)
            for name in orphans:
                removed += self._remove_unheld(folder / name, name)
        return removed

    def _named(self, blob_ids: list[str]) -> set[str]:
        named: set[str] = set()
        with self._read() as conn:
            for i in range(0, len(blob_ids), 500):
                batch = blob_ids[i : i + 500]
                named.update(b for (b,) in conn.execute(select(s3_segments.c.blob).where(s3_segments.c.blob.in_(batch))))
                named.update(b for (b,) in conn.execute(select(s3_parts.c.blob).where(s3_parts.c.blob.in_(batch))))
        return named

    def _remove_unheld(self, path: Path, blob_id: str | None) -> int:
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            return 0
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return 0  # a live writer: its row is about to commit, or it cleans up itself
            if blob_id is not None and blob_id in self._named([blob_id]):
                return 0  # committed while we looked
            path.unlink(missing_ok=True)
            return 1
        finally:
            os.close(fd)

    def import_old_layout(self, *, owner: str, region: str) -> int:
        """Adopt files of the pre-object-store layout (``<root>/<bucket>/<key>``) as objects; returns how many.

        Each file is hard-linked into a blob (copied where links are refused), its
        row commits, and then the old name is removed, so a crash part-way leaves
        every file either still in the old place (imported again next time) or an
        object.  Folders emptied by the import are removed.
        """
        imported = 0
        for top in sorted(self.root.iterdir()):
            if top.name == STORE_DIR or not top.is_dir() or top.is_symlink():
                continue
            bucket = top.name
            self.ensure_bucket(bucket, region=region, owner=owner)
            for folder, dirs, files in os.walk(top):
                dirs.sort()
                for name in sorted(files):
                    path = Path(folder, name)
                    if path.is_symlink():
                        continue
                    key = path.relative_to(top).as_posix()
                    try:
                        raw = key_bytes(key)
                    except Exception as error:
                        log.warning("not importing %s: %s", path, error)
                        continue
                    self._import_file(bucket, raw, path)
                    imported += 1
            for folder, _dirs, _files in sorted(os.walk(top, topdown=False), key=lambda w: -len(w[0])):
                try:
                    os.rmdir(folder)
                except OSError:
                    pass  # something we did not import (a symlink, an over-long key) stays
        return imported

    def _import_file(self, bucket: str, raw: bytes, path: Path) -> None:
        md5 = hashlib.md5()
        size = 0
        with open(path, "rb") as handle:
            for chunk in read_chunks(handle):
                md5.update(chunk)
                size += len(chunk)
        try:
            writer = self.blobs.writer(link_from=path)
            copy = False
        except OSError:
            writer, copy = self.blobs.writer(), True
        with writer:
            if copy:
                with open(path, "rb") as handle:
                    for chunk in read_chunks(handle):
                        writer.write(chunk)
            writer.finish()
            key = raw.decode("utf-8")
            values = dict(
                size=size,
                etag=_quote(md5.hexdigest()),
                last_modified=float(int(path.stat().st_mtime)),
                content_type=mimetypes.guess_type(key)[0],
                metadata="{}",
                headers="{}",
                checksum_algorithm=None,
                checksum_value=None,
                checksum_type=None,
                parts_count=None,
            )
            _info, old = self._replace(bucket, raw, values, [(writer.id, size)])
            writer.keep()
        path.unlink()
        self.blobs.unlink(old)


__all__ = ["LocalObjectStore", "MIN_PART_SIZE"]
