"""The artifact store: the one module that turns URIs into bytes on disk.

SageMaker requests name their inputs and outputs as S3 URIs (``s3://bucket/key``,
or the ``https://`` forms the model's ``S3Uri`` pattern also admits).  With no
external S3 configured, the artifact store plays S3 (ARCHITECTURE.md, "Defaults a
newcomer gets"): ``s3://bucket/key`` is the file ``CHARTER_ARTIFACT_ROOT/bucket/key``,
and the root is a ``file://`` URL (default ``file://$CHARTER_HOME/artifacts``).
``file://`` URIs name local paths directly.

Nothing else in Charter parses these URIs: services call :func:`parse` to check a
URI when a request names it, and the runtime calls :func:`write_bytes`,
:func:`read_bytes`, :func:`exists` and :func:`local_path` to use it.  A URI that
would climb out of its bucket (``..``), or that is not a URI at all, is refused
with a ``ValidationException`` that says why.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from ..errors import ValidationException
from ..settings import Settings

__all__ = [
    "ArtifactError",
    "ArtifactNotFound",
    "ExternalS3NotSupported",
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


class ExternalS3NotSupported(ArtifactError, NotImplementedError):
    """The installation points at an external S3 service, which this store cannot reach yet."""


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


def _root(settings: Settings) -> Path:
    """The local directory that plays S3, from ``CHARTER_ARTIFACT_ROOT``."""
    external = settings.s3_endpoint_url
    if external:
        raise ExternalS3NotSupported(
            f"CHARTER_S3_ENDPOINT_URL is set ({external}), but reading and writing an external S3 service "
            "is not implemented yet; unset it to keep artifacts under CHARTER_ARTIFACT_ROOT."
        )
    root = parse(settings.artifact_root)
    if root.scheme != "file":
        raise ExternalS3NotSupported(
            f"CHARTER_ARTIFACT_ROOT is {settings.artifact_root}; only a file:// root is supported so far."
        )
    return Path(root.path)


def local_path(settings: Settings, uri: str) -> Path:
    """The local file that holds ``uri``: ``<artifact root>/<bucket>/<key>`` for S3 URIs."""
    location = parse(uri)
    if location.scheme == "file":
        return Path(location.path)
    root = _root(settings)
    path = root / location.bucket
    for part in _segments(location.key, uri):
        path /= part
    # _segments refused every '..'; this guards the invariant should parsing ever change.
    if os.path.commonpath([os.path.normpath(path), os.path.normpath(root)]) != os.path.normpath(root):
        raise ValidationException(f"The URI {uri} resolves outside the artifact store.")
    return path


def _object_path(settings: Settings, uri: str) -> Path:
    if parse(uri).is_prefix:
        raise ValidationException(f"The URI {uri} names a prefix (folder), not an object; add a file name.")
    return local_path(settings, uri)


def write_bytes(settings: Settings, uri: str, data: bytes) -> Path:
    """Store ``data`` at ``uri`` (replacing what was there); returns the local path.

    The write is atomic: readers see the old object or the new one, never a
    part-written file.  Folders are created as needed, as S3 has none.
    """
    path = _object_path(settings, uri)
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
    except PermissionError:
        raise ArtifactError(f"Cannot write {uri}: permission denied on {path}.") from None
    except OSError as exc:
        raise ArtifactError(f"Cannot write {uri}: {exc.strerror or exc} ({path}).") from None
    return path


def read_bytes(settings: Settings, uri: str) -> bytes:
    """The bytes stored at ``uri``; :class:`ArtifactNotFound` if there are none."""
    path = _object_path(settings, uri)
    try:
        return path.read_bytes()
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        raise ArtifactNotFound(f"No artifact is stored at {uri} ({path}).") from None
    except OSError as exc:
        raise ArtifactError(f"Cannot read {uri}: {exc.strerror or exc} ({path}).") from None


def exists(settings: Settings, uri: str) -> bool:
    """True when an object (or, for a prefix URI, a folder) is stored at ``uri``."""
    location = parse(uri)
    path = local_path(settings, uri)
    return path.is_dir() if location.is_prefix else path.is_file()
