"""S3's ``aws-chunked`` content encoding, decoded as the body streams in.

A client that cannot know a body's checksum before sending it (botocore over
HTTPS, the AWS CRT) frames the body as chunks and puts the checksum in a
trailer (S3 User Guide, "Checking object integrity", and the SigV4 streaming
documentation)::

    <size in hex>\\r\\n<size bytes>\\r\\n ... 0\\r\\n
    x-amz-checksum-crc32:<base64>\\r\\n
    \\r\\n

with ``Content-Encoding: aws-chunked``, ``x-amz-decoded-content-length`` (the
body's real size), ``x-amz-trailer`` (the trailer's name) and
``x-amz-content-sha256: STREAMING-UNSIGNED-PAYLOAD-TRAILER``.  The signed
variants (``STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]``, a signature per
chunk) are refused with S3's NotImplemented naming them.

:func:`decode` wraps the raw stream in one that yields the decoded bytes and,
at the end, checks the framing, the decoded length and the trailer's checksum,
raising before it reports the end: a reader that commits only at the end (the
object store) never stores a mis-chunked or corrupted body.  Chunk data is
passed on in pieces of at most 1 MiB whatever the chunk size, so memory stays
bounded.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Iterator, Mapping

from ...errors import ClientError
from ...store.objects import checksums
from ..wire import BodyStream

UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
#: The longest chunk header or trailer line read (S3 allows 64 KiB of chunk extensions; we need far less).
MAX_LINE = 8192
PIECE = 1 << 20
_HEX = re.compile(rb"[0-9a-fA-F]{1,16}")


class IncompleteBody(ClientError):
    code = "IncompleteBody"


class InvalidRequest(ClientError):
    code = "InvalidRequest"


class NotImplementedHere(ClientError):
    code = "NotImplemented"
    status = 501


class BadDigest(ClientError):
    code = "BadDigest"


def is_chunked(headers: Mapping[str, str]) -> bool:
    encodings = [part.strip().lower() for part in headers.get("content-encoding", "").split(",")]
    return "aws-chunked" in encodings or headers.get("x-amz-content-sha256", "").startswith("STREAMING-")


def remaining_encoding(value: str | None) -> str | None:
    """``Content-Encoding`` without ``aws-chunked``: what the object is stored with."""
    if value is None:
        return None
    rest = [part.strip() for part in value.split(",") if part.strip() and part.strip().lower() != "aws-chunked"]
    return ",".join(rest) or None


def decode(stream: BodyStream, headers: Mapping[str, str]) -> BodyStream:
    """The decoded body of an ``aws-chunked`` request (see the module docstring)."""
    mode = headers.get("x-amz-content-sha256", "")
    if mode.startswith("STREAMING-") and mode != UNSIGNED_TRAILER and mode != "STREAMING-UNSIGNED-PAYLOAD":
        raise NotImplementedHere(
            f"Charter does not verify per-chunk signatures: x-amz-content-sha256 {mode} is not implemented. "
            f"Send the body unchunked, or as {UNSIGNED_TRAILER}."
        )
    declared = headers.get("x-amz-decoded-content-length")
    expected_length: int | None = None
    if declared is not None:
        if not declared.strip().isdigit():
            raise InvalidRequest(f"x-amz-decoded-content-length must be a number of bytes, not {declared!r}.")
        expected_length = int(declared)
    elif mode.startswith("STREAMING-"):
        raise ClientError(
            "An aws-chunked body needs an x-amz-decoded-content-length header.", code="MissingContentLength", status=411
        )
    trailer = headers.get("x-amz-trailer", "").strip().lower() or None
    algorithm = None
    if trailer is not None:
        if not trailer.startswith("x-amz-checksum-"):
            raise InvalidRequest(f"The trailer {trailer!r} is not supported; Charter takes x-amz-checksum-<algorithm>.")
        algorithm = checksums.check_algorithm(trailer.removeprefix("x-amz-checksum-"))
    return BodyStream(_Decoder(stream, expected_length, trailer, algorithm).pull, expected_length)


class _Decoder:
    """Parses the framing from its own buffer, refilled from the raw stream a piece at a time."""

    def __init__(self, raw: BodyStream, length: int | None, trailer: str | None, algorithm: str | None):
        self.raw = raw
        self.length = length
        self.trailer = trailer
        self.hasher = checksums.Hasher(algorithm) if algorithm else None
        self.buffer = bytearray()
        self.ended = False
        self.pieces = self._pieces()

    def pull(self) -> bytes:
        return next(self.pieces, b"")

    def _fill(self) -> bool:
        """Appends the next piece of the raw body to the buffer; False at its end."""
        if self.ended:
            return False
        piece = self.raw.read(PIECE)
        if not piece:
            self.ended = True
            return False
        self.buffer += piece
        return True

    def _line(self) -> bytes:
        searched = 0
        while True:
            found = self.buffer.find(b"\r\n", max(searched - 1, 0))
            if found >= 0:
                line = bytes(self.buffer[:found])
                del self.buffer[: found + 2]
                return line
            searched = len(self.buffer)
            if searched > MAX_LINE:
                raise InvalidRequest("An aws-chunked chunk header or trailer line is too long.")
            if not self._fill():
                raise IncompleteBody("The aws-chunked body ended in the middle of a chunk header or trailer.")

    def _take(self, most: int) -> bytes:
        """Up to ``most`` bytes of chunk data (at least one); IncompleteBody if the body ends first."""
        if not self.buffer and not self._fill():
            raise IncompleteBody("The aws-chunked body ended before its last chunk did.")
        piece = bytes(self.buffer[:most])
        del self.buffer[: len(piece)]
        return piece

    def _expect_crlf(self) -> None:
        while len(self.buffer) < 2 and self._fill():
            pass
        if bytes(self.buffer[:2]) != b"\r\n":
            raise InvalidRequest("Malformed aws-chunked body: a chunk is not followed by CRLF.")
        del self.buffer[:2]

    def _pieces(self) -> Iterator[bytes]:
        total = 0
        while True:
            header = self._line()
            size_text = header.split(b";", 1)[0].strip()
            if not _HEX.fullmatch(size_text):
                raise InvalidRequest(f"Malformed aws-chunked body: {size_text[:40]!r} is not a chunk size in hex.")
            size = int(size_text, 16)
            if size == 0:
                break
            left = size
            while left:
                piece = self._take(min(left, PIECE))
                left -= len(piece)
                total += len(piece)
                if self.length is not None and total > self.length:
                    raise IncompleteBody(
                        f"The aws-chunked body holds more than the {self.length} bytes x-amz-decoded-content-length declares."
                    )
                if self.hasher is not None:
                    self.hasher.update(piece)
                yield piece
            self._expect_crlf()
        trailers: dict[str, str] = {}
        while line := self._line():
            name, sep, value = line.decode("latin-1").partition(":")
            if not sep:
                raise InvalidRequest(f"Malformed aws-chunked trailer line {line[:60]!r}.")
            trailers[name.strip().lower()] = value.strip()
        if self.buffer or self._fill():
            raise InvalidRequest("The aws-chunked body goes on after its final chunk and trailers.")
        if self.length is not None and total != self.length:
            raise IncompleteBody(
                f"The aws-chunked body decodes to {total} bytes, not the {self.length} x-amz-decoded-content-length declares."
            )
        if self.trailer is not None:
            sent = trailers.get(self.trailer)
            if sent is None:
                raise InvalidRequest(f"The aws-chunked body does not end with the {self.trailer} trailer x-amz-trailer promised.")
            try:
                raw = base64.b64decode(sent, validate=True)
            except (binascii.Error, ValueError):
                raw = None
            if raw != self.hasher.digest():
                raise BadDigest(
                    f"The {self.hasher.algorithm} you specified did not match the calculated checksum "
                    f"(sent {sent}, computed {checksums.b64(self.hasher.digest())})."
                )
