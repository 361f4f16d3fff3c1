"""The artifact store: the one module that turns URIs into bytes on disk.

SageMaker requests name their inputs and outputs as S3 URIs (``s3://bucket/key``,
or the ``https://`` forms the model's ``S3Uri`` pattern also admits).  With no
external S3 configured, the artifact store plays S3 (ARCHITECTURE.md, "Defaults a
newcomer gets"): ``s3://bucket/key`` is the object ``key`` of bucket ``bucket`` in
the object store (:mod:`charter.store.objects`), whose bodies live under the
``file://`` ``CHARTER_ARTIFACT_ROOT``; with ``CHARTER_S3_ENDPOINT_URL`` set (or an
``s3://`` root) it is that object on the external S3 service.  Either way an
artifact Charter writes is an S3 object a client lists and gets, and an object a
client puts is an artifact Charter reads.  ``file://`` URIs name local paths directly.

Nothing else in Charter parses these URIs: services call :func:`parse` to check a
URI when a request names it, and the runtime calls :func:`write_bytes`,
:func:`read_bytes`, :func:`exists` and :func:`local_path` to use it.  A URI that
would climb out of its bucket (``..``), or that is not a URI at all, is refused
with a ``ValidationException`` that says why.
"""

from __future__ import annotations

import hashlib
import io
import mimetypes
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from ..errors import ValidationException
from .objects import NoSuchBucket, NoSuchKey, ObjectStore, S3Error

if TYPE_CHECKING:  # pragma: no cover
    from ..instance import Instance

__all__ = [
    "ArtifactError",
    "ArtifactNotFound",
    "Location",
    "parse",
    "join",
    "local_path",
    "write_bytes",
    "read_bytes",
    "exists",
]

# Virtual-hosted (bucket.s3.region.amazonaws.com/key) and path-style
# (s3.region.amazonaws.com/bucket/key) HTTPS addresses of S3 objects.
_VIRTUAL_HOSTED = re.compile(r"^(?P<bucket>.+)\.s3(?:[.-][a-z0-9-]+)*\.amazonaws\.com(?:\.cn)?$")
_PATH_STYLE = re.compile(r"^s3(?:[.-][a-z0-9-]+)*\.amazonaws\.com(?:\.cn)?$")


class ArtifactError(Exception):
    """An artifact could not be read or written; the message says which and why."""


class ArtifactNotFound(ArtifactError):
    """Nothing is stored at the URI (S3's NoSuchKey)."""


@dataclass(frozen=True)
class Location:
    """A parsed artifact URI: an S3 object (``bucket``/``key``) or a local file (``path``)."""

    uri: str
    scheme: str  # "s3" or "file"
    bucket: str = ""
    key: str = ""  # S3 key; "" names the bucket itself
    path: str = ""  # file:// only: the absolute local path

    @property
    def is_prefix(self) -> bool:
        """True when the URI names a "folder" (empty key or a trailing slash), not an object."""
        if self.scheme == "s3":
            return self.key == "" or self.key.endswith("/")
        return self.path.endswith("/")


def _segments(text: str, uri: str) -> list[str]:
    """The ``/``-separated parts of a key or path; refuses ``.``/``..`` and empty parts."""
    parts = text.split("/")
    if parts and parts[-1] == "":
        parts = parts[:-1]  # a trailing slash names a prefix, not an empty part
    for part in parts:
        if part in (".", ".."):
            raise ValidationException(
                f"The URI {uri} contains a '{part}' path segment; artifact URIs may not climb out of their location."
            )
        if part == "":
            raise ValidationException(f"The URI {uri} contains an empty path segment ('//'); remove the doubled slash.")
        if "\x00" in part:
            raise ValidationException(f"The URI {uri} contains a NUL character.")
    return parts


def _check_bucket(bucket: str, uri: str) -> None:
    if not bucket:
        raise ValidationException(f"The URI {uri} names no bucket: expected s3://bucket/key.")
    if bucket in (".", "..") or "/" in bucket or "\\" in bucket or "\x00" in bucket:
        raise ValidationException(f"The URI {uri} names an invalid bucket '{bucket}'.")


def parse(uri: str) -> Location:
    """Check ``uri`` and split it into its parts.

    Accepted: ``s3://bucket[/key]``, ``https://bucket.s3[.region].amazonaws.com[/key]``,
    ``https://s3[.region].amazonaws.com/bucket[/key]`` (the forms of SageMaker's
    ``S3Uri`` pattern ``(https|s3)://([^/]+)/?(.*)``) and ``file:///absolute/path``.
    """
    if not isinstance(uri, str) or "://" not in uri:
        raise ValidationException(f"'{uri}' is not a URI: expected s3://bucket/key or file:///path.")
    split = urlsplit(uri)
    scheme = split.scheme.lower()
    if split.query or split.fragment:
        raise ValidationException(f"The URI {uri} carries a query or fragment ('?'/'#'), which artifact URIs do not use.")
    if scheme == "s3":
        bucket, key = split.netloc, split.path.lstrip("/")
        if split.path.startswith("//"):
            raise ValidationException(f"The URI {uri} contains an empty path segment ('//'); remove the doubled slash.")
    elif scheme == "https":
        host = split.hostname or ""
        if match := _VIRTUAL_HOSTED.match(host):
            bucket, key = match["bucket"], split.path.lstrip("/")
        elif _PATH_STYLE.match(host):
            bucket, _, key = split.path.lstrip("/").partition("/")
        else:
            raise ValidationException(
                f"The URI {uri} is not an S3 address: use s3://bucket/key "
                "(or https://bucket.s3.<region>.amazonaws.com/key)."
            )
        key = unquote(key)
    elif scheme == "file":
        if split.netloc not in ("", "localhost"):
            raise ValidationException(f"The URI {uri} names a remote host; file:// URIs must be local (file:///path).")
        path = unquote(split.path)
        if not path.startswith("/"):
            raise ValidationException(f"The URI {uri} is not an absolute file:// path (expected file:///path).")
        _segments(path[1:], uri)
        return Location(uri=uri, scheme="file", path=path)
    else:
        raise ValidationException(f"The URI {uri} has an unsupported scheme '{split.scheme}': use s3:// or file://.")
    _check_bucket(bucket, uri)
    _segments(key, uri)
    return Location(uri=uri, scheme="s3", bucket=bucket, key=key)


def join(uri: str, *parts: str) -> str:
    """``uri`` with ``parts`` appended as path segments (one ``/`` between each)."""
    location = parse(uri)
    for part in parts:
        _segments(part, f"{uri} + {part}")
    base = uri.rstrip("/")
    if location.scheme == "s3" and not location.key:
        base = f"s3://{location.bucket}"
    return "/".join([base, *parts])


def _object(uri: str) -> Location:
    location = parse(uri)
    if location.is_prefix:
        raise ValidationException(f"The URI {uri} names a prefix (folder), not an object; add a file name.")
    return location


def _store(instance: "Instance") -> ObjectStore:
    return ObjectStore.open(instance)


def write_bytes(instance: "Instance", uri: str, data: bytes) -> None:
    """Store ``data`` at ``uri``, replacing what was there.

    The write is atomic: readers see the old object or the new one, never a part
    of either.  A missing bucket is created (owned by the installation's account),
    as the old layout made folders on demand.
    """
    location = _object(uri)
    if location.scheme == "file":
        _write_file(Path(location.path), uri, data)
        return
    store = _store(instance)
    settings = instance.settings
    try:
        store.ensure_bucket(location.bucket, region=settings.region, owner=settings.account_id)
        store.put_object(
            location.bucket, location.key, io.BytesIO(data), content_type=mimetypes.guess_type(location.key)[0]
        )
    except S3Error as error:
        # The reason first: a long URI must not push it out of a length-limited FailureReason.
        raise ArtifactError(f"Cannot write to bucket {location.bucket}: {error.message} ({uri})") from None


def _write_file(path: Path, uri: str, data: bytes) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(temp, path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
    except (FileExistsError, NotADirectoryError):
        blocker = next((p for p in [path, *path.parents] if p.exists() and not p.is_dir()), None)
        where = f"{blocker} is a file, not a folder" if blocker is not None and blocker != path else f"{path} is in the way"
        raise ArtifactError(f"Cannot write {uri}: {where}.") from None
    except IsADirectoryError:
        raise ArtifactError(f"Cannot write {uri}: {path} is a folder.") from None
    except OSError as exc:
        raise ArtifactError(f"Cannot write {uri}: {exc.strerror or exc} ({path}).") from None


def read_bytes(instance: "Instance", uri: str) -> bytes:
    """The bytes stored at ``uri``; :class:`ArtifactNotFound` if there are none."""
    location = _object(uri)
    if location.scheme == "file":
        try:
            return Path(location.path).read_bytes()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise ArtifactNotFound(f"No artifact is stored at {uri}.") from None
        except OSError as exc:
            raise ArtifactError(f"Cannot read {uri}: {exc.strerror or exc}.") from None
    try:
        _info, chunks = _store(instance).open_object(location.bucket, location.key)
        return b"".join(chunks)
    except (NoSuchKey, NoSuchBucket):
        raise ArtifactNotFound(f"No artifact is stored at {uri}.") from None
    except S3Error as error:
        raise ArtifactError(f"Cannot read from bucket {location.bucket}: {error.message} ({uri})") from None


def exists(instance: "Instance", uri: str) -> bool:
    """True when an object (or, for a prefix URI, any object under the prefix) is stored at ``uri``."""
    location = parse(uri)
    if location.scheme == "file":
        path = Path(location.path)
        return path.is_dir() if location.is_prefix else path.is_file()
    store = _store(instance)
    try:
        if location.is_prefix:
            return bool(store.list_objects(location.bucket, prefix=location.key, max_keys=1).contents)
        store.head_object(location.bucket, location.key)
        return True
    except (NoSuchKey, NoSuchBucket):
        return False


def local_path(instance: "Instance", uri: str) -> Path:
    """A local file holding the bytes of ``uri``, for code that needs a path (read it, do not write it).

    ``file://`` URIs are their own path.  In the local object store a one-part
    object is its blob file; a multipart object, or an object of an external
    store, is copied once to ``CHARTER_HOME/cache/objects`` (refreshed when its
    ETag changes).  :class:`ArtifactNotFound` if nothing is stored there.
    """
    location = _object(uri)
    if location.scheme == "file":
        return Path(location.path)
    store = _store(instance)
    try:
        blob = getattr(store, "blob_path", None)
        if blob is not None:
            path = blob(location.bucket, location.key)
            if path is not None:
                return path
        info, chunks = store.open_object(location.bucket, location.key)
    except (NoSuchKey, NoSuchBucket):
        raise ArtifactNotFound(f"No artifact is stored at {uri}.") from None
    cache = instance.settings.home / "cache" / "objects"
    cache.mkdir(parents=True, exist_ok=True)
    name = hashlib.sha256(f"{uri}\0{info.etag}".encode()).hexdigest()
    target = cache / name
    if target.is_file() and target.stat().st_size == info.size:
        close = getattr(chunks, "close", None)
        if close:
            close()
        return target
    fd, temp = tempfile.mkstemp(prefix=f".{name}.", dir=cache)
    try:
        with os.fdopen(fd, "wb") as handle:
            for chunk in chunks:
                handle.write(chunk)
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return target


# --- whole trees, streamed: what the job engine stages in and out -------------------


@dataclass(frozen=True)
class Listed:
    uri: str  # the object's own URI
    key: str  # its key (file:// : its path)
    size: int


def list_prefix(instance: "Instance", uri: str) -> list[Listed]:
    """Every object whose key starts with ``uri``'s key (S3's prefix match, not a folder's), sorted by key.

    A ``file://`` URI lists the file it names, or every file under the folder it names.
    """
    location = parse(uri)
    if location.scheme == "file":
        path = Path(location.path)
        if path.is_file():
            return [Listed(uri, str(path), path.stat().st_size)]
        if not path.is_dir():
            return []
        found = sorted(p for p in path.rglob("*") if p.is_file())
        return [Listed(f"file://{p}", str(p), p.stat().st_size) for p in found]
    store = _store(instance)
    listed: list[Listed] = []
    after = ""
    try:
        while True:
            page = store.list_objects(location.bucket, prefix=location.key, start_after=after, max_keys=1000)
            for info in page.contents:
                listed.append(Listed(f"s3://{location.bucket}/{info.key}", info.key, info.size))
            if not page.is_truncated or not page.contents:
                return listed
            after = page.contents[-1].key
    except NoSuchBucket:
        raise ArtifactNotFound(f"The bucket of {uri} does not exist.") from None
    except S3Error as error:
        raise ArtifactError(f"Cannot list {uri}: {error.message}") from None


def download(instance: "Instance", uri: str, target: Path) -> int:
    """Copy the object at ``uri`` to the file ``target`` (its folders made), streamed; the bytes copied."""
    location = _object(uri)
    target.parent.mkdir(parents=True, exist_ok=True)
    if location.scheme == "file":
        try:
            shutil.copyfile(location.path, target)
        except FileNotFoundError:
            raise ArtifactNotFound(f"No artifact is stored at {uri}.") from None
        return target.stat().st_size
    try:
        _info, chunks = _store(instance).open_object(location.bucket, location.key)
        size = 0
        with open(target, "wb") as out:
            for chunk in chunks:
                out.write(chunk)
                size += len(chunk)
        return size
    except (NoSuchKey, NoSuchBucket):
        raise ArtifactNotFound(f"No artifact is stored at {uri}.") from None
    except S3Error as error:
        raise ArtifactError(f"Cannot read from bucket {location.bucket}: {error.message} ({uri})") from None


def upload(instance: "Instance", source: Path, uri: str, *, content_type: str | None = None) -> None:
    """Store the file ``source`` at ``uri``, streamed (a missing bucket is created, as :func:`write_bytes` does)."""
    location = _object(uri)
    if location.scheme == "file":
        target = Path(location.path)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        return
    store = _store(instance)
    settings = instance.settings
    try:
        store.ensure_bucket(location.bucket, region=settings.region, owner=settings.account_id)
        with open(source, "rb") as body:
            store.put_object(location.bucket, location.key, body,
                             content_type=content_type or mimetypes.guess_type(location.key)[0])
    except S3Error as error:
        raise ArtifactError(f"Cannot write to bucket {location.bucket}: {error.message} ({uri})") from None
