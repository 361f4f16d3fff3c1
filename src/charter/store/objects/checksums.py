"""The integrity checks S3 computes over object bodies: MD5 ETags and flexible checksums.

S3 (User Guide, "Checking object integrity") accepts five checksum algorithms:
CRC32 (zlib's polynomial), CRC32C (Castagnoli), CRC64NVME, SHA1 and SHA256.  A
value travels as the base64 of the big-endian digest (4 bytes for the CRC32s, 8
for CRC64NVME, 20 and 32 for the SHAs).  The CRCs come from ``awscrt.checksums``
(what botocore itself uses), the SHAs and MD5 from ``hashlib``.

A multipart object's checksum has one of two types:

* ``COMPOSITE`` (CRC32, CRC32C, SHA1, SHA256): the algorithm applied to the
  concatenation of the parts' binary checksums, base64, then ``-N`` for N parts;
* ``FULL_OBJECT`` (CRC64NVME always; CRC32/CRC32C on request): the checksum of
  the whole object, which S3 computes by combining the parts' CRCs; no suffix.

The multipart ETag is the MD5 of the concatenated binary part MD5s, hex, ``-N``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import zlib
from dataclasses import dataclass

from awscrt import checksums as crt

from .errors import BadDigest, InvalidDigest, InvalidRequest

ALGORITHMS = ("CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256")
CRCS = {"CRC32": 4, "CRC32C": 4, "CRC64NVME": 8}  # digest width in bytes
COMPOSITE = "COMPOSITE"
FULL_OBJECT = "FULL_OBJECT"


@dataclass(frozen=True)
class Checksum:
    """A checksum as S3 carries it: the algorithm and the base64 value (None: compute it)."""

    algorithm: str
    value: str | None = None
    type: str = FULL_OBJECT  # COMPOSITE for a multipart object's "<b64>-N"


def check_algorithm(algorithm: str) -> str:
    name = (algorithm or "").upper()
    if name not in ALGORITHMS:
        raise InvalidRequest(
            f"Checksum algorithm {algorithm!r} is not supported; use one of {', '.join(ALGORITHMS)}.",
            ArgumentName="x-amz-checksum-algorithm",
        )
    return name


def decode_value(algorithm: str, value: str) -> bytes:
    """The binary digest of a base64 value the client sent; InvalidRequest if it is not one."""
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    width = CRCS.get(algorithm) or {"SHA1": 20, "SHA256": 32}[algorithm]
    if len(raw) != width:
        raise InvalidRequest(f"Value for x-amz-checksum-{algorithm.lower()} header is invalid.")
    return raw


def decode_md5(content_md5: str) -> bytes:
    """The 16 bytes of a Content-MD5 header; InvalidDigest if it is not base64 of 16 bytes."""
    try:
        raw = base64.b64decode(content_md5, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidDigest() from None
    if len(raw) != 16:
        raise InvalidDigest()
    return raw


class Hasher:
    """One algorithm, fed chunk by chunk."""

    def __init__(self, algorithm: str):
        self.algorithm = algorithm
        self.crc = 0
        self.sha = hashlib.new(algorithm.lower()) if algorithm in ("SHA1", "SHA256") else None

    def update(self, chunk: bytes) -> None:
        if self.sha is not None:
            self.sha.update(chunk)
        elif self.algorithm == "CRC32":
            self.crc = zlib.crc32(chunk, self.crc)
        elif self.algorithm == "CRC32C":
            self.crc = crt.crc32c(chunk, self.crc)
        else:
            self.crc = crt.crc64nvme(chunk, self.crc)

    def digest(self) -> bytes:
        if self.sha is not None:
            return self.sha.digest()
        return self.crc.to_bytes(CRCS[self.algorithm], "big")


def compute(algorithm: str, data: bytes) -> bytes:
    hasher = Hasher(algorithm)
    hasher.update(data)
    return hasher.digest()


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


class Digest:
    """What a body is checked against while it streams: its MD5 and, optionally, one checksum."""

    def __init__(self, checksum: Checksum | None = None, content_md5: str | None = None):
        # Malformed digests are refused before a byte of the body is read.
        self.expected_md5 = decode_md5(content_md5) if content_md5 is not None else None
        self.checksum = None
        self.expected = None
        if checksum is not None:
            algorithm = check_algorithm(checksum.algorithm)
            self.checksum = Hasher(algorithm)
            if checksum.value is not None:
                self.expected = decode_value(algorithm, checksum.value)
        self.md5 = hashlib.md5()
        self.size = 0

    def update(self, chunk: bytes) -> None:
        self.md5.update(chunk)
        if self.checksum is not None:
            self.checksum.update(chunk)
        self.size += len(chunk)

    def verify(self) -> None:
        """BadDigest if the body differs from a digest the client sent."""
        if self.expected_md5 is not None and self.md5.digest() != self.expected_md5:
            raise BadDigest()
        if self.expected is not None and self.checksum.digest() != self.expected:
            raise BadDigest(f"The {self.checksum.algorithm} you specified did not match the calculated checksum.")

    @property
    def md5_hex(self) -> str:
        return self.md5.hexdigest()

    @property
    def result(self) -> Checksum | None:
        if self.checksum is None:
            return None
        return Checksum(self.checksum.algorithm, b64(self.checksum.digest()))


def multipart_etag(part_md5s: list[str]) -> str:
    """S3's ETag of a multipart object: '"<md5 of the binary part MD5s>-N"'."""
    joined = b"".join(bytes.fromhex(md5) for md5 in part_md5s)
    return f'"{hashlib.md5(joined).hexdigest()}-{len(part_md5s)}"'


def multipart_checksum(algorithm: str, parts: list[tuple[str, int]], kind: str | None = None) -> Checksum:
    """The object checksum of a completed upload from its parts' (base64 value, size), in order.

    ``kind`` is the upload's checksum type; by default CRC64NVME is FULL_OBJECT
    and every other algorithm COMPOSITE, as S3 chooses.
    """
    kind = kind or (FULL_OBJECT if algorithm == "CRC64NVME" else COMPOSITE)
    if kind == FULL_OBJECT:
        if algorithm not in CRCS:
            raise InvalidRequest(f"The FULL_OBJECT checksum type is not supported for {algorithm}; use COMPOSITE.")
        combine = {"CRC32": crt.combine_crc32, "CRC32C": crt.combine_crc32c, "CRC64NVME": crt.combine_crc64nvme}[algorithm]
        crc = 0
        for index, (value, size) in enumerate(parts):
            part = int.from_bytes(base64.b64decode(value), "big")
            crc = part if index == 0 else combine(crc, part, size)
        return Checksum(algorithm, b64(crc.to_bytes(CRCS[algorithm], "big")), FULL_OBJECT)
    if algorithm == "CRC64NVME":
        raise InvalidRequest("The COMPOSITE checksum type is not supported for CRC64NVME; use FULL_OBJECT.")
    joined = b"".join(base64.b64decode(value) for value, _ in parts)
    return Checksum(algorithm, f"{b64(compute(algorithm, joined))}-{len(parts)}", COMPOSITE)
