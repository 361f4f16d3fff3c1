"""The object store's interface and the records it hands out."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, BinaryIO, Iterator

from .checksums import Checksum
from .errors import InvalidArgument, InvalidBucketName, KeyTooLongError

if TYPE_CHECKING:  # pragma: no cover
    from ...instance import Instance

CHUNK = 1 << 20  # bodies move in chunks of at most 1 MiB, both ways
MAX_KEY_BYTES = 1024
MAX_OBJECT_SIZE = 5 * 1024**3  # a single PUT, a part, and a CopyObject source (S3's limits)
MAX_PARTS = 10_000
HEADER_NAMES = ("cache_control", "content_disposition", "content_encoding", "content_language", "expires")


@dataclass(frozen=True)
class Bucket:
    name: str
    region: str
    owner: str
    created: dt.datetime


@dataclass(frozen=True)
class ObjectInfo:
    bucket: str
    key: str
    size: int
    etag: str  # with the quotes, as S3 sends it
    last_modified: dt.datetime
    content_type: str | None = None
    metadata: dict = field(default_factory=dict)
    headers: dict = field(default_factory=dict)
    checksum: Checksum | None = None
    parts_count: int | None = None


@dataclass(frozen=True)
class Listing:
    contents: list[ObjectInfo]
    common_prefixes: list[str]
    is_truncated: bool
    next_key: str | None  # the last key or common prefix returned: resume after it


@dataclass(frozen=True)
class PartInfo:
    part_number: int
    size: int
    etag: str
    last_modified: dt.datetime
    checksum: Checksum | None = None


@dataclass(frozen=True)
class Upload:
    bucket: str
    key: str
    upload_id: str
    initiated: dt.datetime
    owner: str


def utc(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc)


_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_IP = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")
_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")


def check_bucket_name(name: str) -> None:
    """S3's general purpose bucket naming rules (User Guide, "Bucket naming rules")."""
    if (
        not isinstance(name, str)
        or not _BUCKET.match(name)
        or ".." in name
        or ".-" in name
        or "-." in name
        or _IP.match(name)
        or name.startswith(_RESERVED_PREFIXES)
        or name.endswith(_RESERVED_SUFFIXES)
    ):
        raise InvalidBucketName(
            "The specified bucket is not valid. Bucket names are 3 to 63 lower-case letters, digits, dots and "
            "hyphens, begin and end with a letter or digit, and are not formatted as an IP address.",
            BucketName=name,
        )


def key_bytes(key: str) -> bytes:
    """A key's UTF-8 bytes, as stored and compared; refuses keys S3 refuses."""
    if not isinstance(key, str) or key == "":
        raise InvalidArgument("An object key must be at least one character long.", ArgumentName="key")
    try:
        raw = key.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidArgument("Object keys must be valid UTF-8.", ArgumentName="key") from None
    if len(raw) > MAX_KEY_BYTES:
        raise KeyTooLongError(f"Your key is too long: {len(raw)} bytes of UTF-8, S3 allows {MAX_KEY_BYTES}.")
    return raw


def check_part_number(part_number: int) -> None:
    if not isinstance(part_number, int) or not 1 <= part_number <= MAX_PARTS:
        raise InvalidArgument(
            f"Part number must be an integer between 1 and {MAX_PARTS}, inclusive",
            ArgumentName="partNumber",
            ArgumentValue=str(part_number),
        )


def read_chunks(body: BinaryIO) -> Iterator[bytes]:
    """A body's bytes in chunks of at most :data:`CHUNK`, until it ends."""
    while True:
        chunk = body.read(CHUNK)
        if not chunk:
            return
        yield bytes(chunk)


class ObjectStore:
    """S3 buckets, objects and multipart uploads (see the package docstring for the contract)."""

    external: str | None = None

    @staticmethod
    def open(instance: "Instance") -> "ObjectStore":
        """The store for ``instance``'s settings: external S3 when one is configured, else local.

        One store per instance per process: the first open of a local store imports
        files of the old layout and sweeps blobs left by an interrupted write.
        """
        from . import _open

        return _open(instance)


def encode_headers(headers: dict | None) -> str:
    """The stored standard headers as JSON (an ``expires`` datetime as ISO 8601)."""
    import json

    return json.dumps(
        {name: value.isoformat() if isinstance(value, dt.datetime) else value for name, value in (headers or {}).items()}
    )


def decode_headers(text: str) -> dict:
    import json

    headers = json.loads(text)
    expires = headers.get("expires")
    if isinstance(expires, str):
        try:
            headers["expires"] = dt.datetime.fromisoformat(expires)
        except ValueError:
            pass  # kept as the client sent it
    return headers
