"""S3's buckets, objects and multipart uploads: the store under the artifact store and the S3 face.

``ObjectStore.open(instance)`` picks the backend from the settings, as MLflow
picks an artifact repository by URI scheme:

* **local** (a ``file://`` ``CHARTER_ARTIFACT_ROOT``, the default): rows in
  Charter's database, bodies in blob files under the root (``local.py``);
* **external** (``CHARTER_S3_ENDPOINT_URL`` set, or an ``s3://`` artifact root):
  the same calls made on a real S3 or S3-compatible service with boto3, so
  several Charter machines share one store (``external.py``).  ``store.external``
  is then that service's URL, which Charter's S3 face names when it turns
  clients away.

The local layout
----------------
S3 keys are arbitrary UTF-8 up to 1,024 bytes: ``a`` and ``a/b`` may both be
objects, keys may end in ``/``, hold ``.``/``..`` segments, ``//``, NULs, or be
longer than a file name may be.  So no key ever becomes a path:

* the database maps ``(bucket, key)`` to one ``s3_objects`` row (the key's UTF-8
  bytes in a binary column, unique with the bucket; binary columns compare byte
  by byte on SQLite and PostgreSQL alike, which is S3's listing order, and a
  prefix is the range ``[prefix, prefix + 0xFF)`` of that index, because UTF-8
  never holds the byte 0xFF);
* the row's bytes are the blobs named by its ``s3_segments`` rows, in order: one
  segment for a PUT or a copy, one per part for a completed multipart upload
  (the parts' blobs become the object's segments: completing a 5 GiB upload
  moves no byte);
* a blob is an immutable file ``<root>/.charter-objects/blobs/<first 2 hex>/<32
  hex id>``, named by a random id, never by the key, and named by exactly one
  row.  A CopyObject of a one-segment object hard-links the source blob under a
  new id (no copy, and deleting either object leaves the other whole); any other
  copy streams the bytes.

A write streams the body into ``<id>.tmp`` beside its final name, under an
exclusive ``flock`` taken when the file is created, checking Content-MD5 and the
flexible checksum as it goes; only a fully read, verified body is fsynced,
renamed to ``<id>`` (and the folder fsynced) and then named by a row in one
transaction.  The blobs of the row it replaced are unlinked after that commit.
An exception or a ``kill -9`` at any point therefore leaves the previous object
as it was and no part-written one visible.  What such a crash leaves on disk (a
``.tmp`` file, or a renamed blob whose row never committed) is removed by
``LocalObjectStore.sweep``: a file no row names and no live writer holds (its
lock is free; ``.tmp`` files are also given a minute's grace).  The first
``ObjectStore.open`` of a local store in each process runs the sweep, so a
server start cleans up after a crash.

Before this store, ``s3://bucket/key`` was the plain file ``<root>/<bucket>/<key>``.
The same first open imports every such file as an object (bucket rows owned by
``CHARTER_ACCOUNT_ID`` in ``CHARTER_REGION``; each file hard-linked into a blob,
its row committed, then the old name removed, emptied folders too), so nothing
is left that a listing would miss and running it again finds nothing to do.

Memory
------
Bodies are read and written in chunks of at most 1 MiB (``base.CHUNK``) in both
directions; a request holds one chunk at a time, so a PUT or GET of any size
(5 GiB included) needs about 1 MiB of buffer plus the interpreter's own, and
listings hold one page (``max_keys`` rows).  The external backend spools a body
to a temporary file while checking it, then uploads the file: also 1 MiB chunks.
"""

from __future__ import annotations

import threading
import weakref
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from . import errors
from .base import (
    CHUNK,
    HEADER_NAMES,
    MAX_KEY_BYTES,
    MAX_OBJECT_SIZE,
    MAX_PARTS,
    Bucket,
    Listing,
    ObjectInfo,
    ObjectStore,
    PartInfo,
    Upload,
    check_bucket_name,
)
from .checksums import Checksum
from .errors import *  # noqa: F401,F403 - the S3 errors are part of this package's interface
from .errors import S3Error

if TYPE_CHECKING:  # pragma: no cover
    from ...instance import Instance

__all__ = [
    "CHUNK",
    "HEADER_NAMES",
    "MAX_KEY_BYTES",
    "MAX_OBJECT_SIZE",
    "MAX_PARTS",
    "Bucket",
    "Checksum",
    "Listing",
    "ObjectInfo",
    "ObjectStore",
    "PartInfo",
    "S3Error",
    "Upload",
    "check_bucket_name",
    "errors",
    *errors.__all__,
]

_stores: dict[int, tuple["weakref.ref", ObjectStore]] = {}
_guard = threading.Lock()


def local_root(artifact_root: str) -> Path:
    """The folder of a ``file://`` artifact root."""
    split = urlsplit(artifact_root)
    if split.scheme.lower() != "file":
        raise ValueError(f"{artifact_root} is not a file:// URL")
    return Path(unquote(split.path))


def is_external(settings) -> bool:
    return bool(settings.s3_endpoint_url) or urlsplit(settings.artifact_root).scheme.lower() == "s3"


def _open(instance: "Instance") -> ObjectStore:
    with _guard:
        entry = _stores.get(id(instance))
        if entry is not None and entry[0]() is instance:
            return entry[1]
        settings = instance.settings
        if is_external(settings):
            from .external import ExternalObjectStore

            store: ObjectStore = ExternalObjectStore.from_settings(settings)
        else:
            from .local import LocalObjectStore

            store = LocalObjectStore(
                instance.engine, local_root(settings.artifact_root), account=settings.account_id, region=settings.region
            )
            store.import_old_layout(owner=settings.account_id, region=settings.region)
            store.sweep()
        key = id(instance)

        def forget(ref, key=key):
            if _stores.get(key, (None,))[0] is ref:
                _stores.pop(key, None)

        _stores[key] = (weakref.ref(instance, forget), store)
        return store
