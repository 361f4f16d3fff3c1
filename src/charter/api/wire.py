"""What a face receives and answers, free of ASGI.

A request's body is either in memory (``body``) or, for the faces that take
large uploads (S3), a :class:`BodyStream` the face reads as it goes; a
response's body is bytes or an iterator of byte chunks that the HTTP server
sends as they come.  :mod:`charter.api.app` is the only module that turns
these into ASGI messages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator, Mapping


class BodyStream:
    """A request body read in chunks, from a worker thread, as the client sends it.

    ``pull`` returns the next chunk (``b""`` at the end).  :meth:`read` gives the
    file-like view the S3 face and the artifact store read from, so an upload
    of any size is held in memory one chunk at a time.
    """

    def __init__(self, pull: Callable[[], bytes], length: int | None = None):
        self._pull = pull
        self._buffer = b""
        self._done = False
        self.length = length  # Content-Length, when the client sent one
        self.received = 0

    def _next(self) -> bytes:
        if self._done:
            return b""
        chunk = self._pull()
        if not chunk:
            self._done = True
            return b""
        self.received += len(chunk)
        return chunk

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            parts = [self._buffer]
            self._buffer = b""
            while chunk := self._next():
                parts.append(chunk)
            return b"".join(parts)
        while len(self._buffer) < size:
            chunk = self._next()
            if not chunk:
                break
            self._buffer += chunk
        out, self._buffer = self._buffer[:size], self._buffer[size:]
        return out

    def chunks(self, size: int = 1 << 20) -> Iterator[bytes]:
        while chunk := self.read(size):
            yield chunk

    @classmethod
    def of(cls, data: bytes) -> "BodyStream":
        """A stream over bytes already in memory (tests, and small bodies read whole)."""
        parts = [data] if data else []
        return cls(lambda: parts.pop(0) if parts else b"", len(data))


@dataclass
class WireRequest:
    method: str
    path: str  # still percent-encoded, without the query string
    query_string: str  # raw, without "?"
    headers: Mapping[str, str]  # lower-case names; repeated headers joined with ","
    body: bytes
    source_ip: str | None = None
    #: The body as a stream, for faces that read it as it arrives; ``body`` is then b"".
    stream: BodyStream | None = None


@dataclass
class WireResponse:
    status: int
    body: bytes | Iterable[bytes]
    headers: dict[str, str] = field(default_factory=dict)
