"""Pipe input mode: the platform streams each channel into FIFOs, one per pass over the data.

specs/containers.md, section 1: in Pipe mode the algorithm finds no files under
``/opt/ml/input/data/<channel>/`` but a named pipe ``<channel>_0``; it reads it to
the end (or closes it early), and ``<channel>_1`` is there with the same data
again, and so on for as many epochs as it reads.  Each object of the channel is
written in key order; with ``RecordWrapperType: RecordIO`` each object (for an
``AugmentedManifestFile``, each attribute of each line) is one MXNet RecordIO
record; ``CompressionType: Gzip`` objects are decompressed on the way.

The objects are staged once, before the job starts, into a folder of the host
directory outside ``/opt/ml`` (``.pipe/<channel>``); a :class:`Feeder` thread of
the server then writes the pipes while the job runs.  After a restart the
engine starts the feeders again and they go on with the next pipe number.
"""

from __future__ import annotations

import errno
import gzip
import json
import logging
import os
import stat
import struct
import threading
import time
from pathlib import Path

log = logging.getLogger("charter.pipes")

RECORDIO_MAGIC = 0xCED7230A
CHUNK = 1024 * 1024


def recordio(payload: bytes) -> bytes:
    """One RecordIO record: magic, length (continuation flag 0: a whole record), data, padding to 4 bytes."""
    header = struct.pack("<II", RECORDIO_MAGIC, len(payload) & ((1 << 29) - 1))
    return header + payload + b"\x00" * (-len(payload) % 4)


def _chunks(path: Path, gzipped: bool):
    opener = gzip.open if gzipped else open
    with opener(path, "rb") as source:
        while chunk := source.read(CHUNK):
            yield chunk


def records(folder: Path, channel: dict):
    """The byte pieces one pass over the staged channel writes into its pipe."""
    gzipped = channel.get("CompressionType") == "Gzip"
    wrap = channel.get("RecordWrapperType") == "RecordIO"
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name != "manifest.jsonl")
    if channel.get("S3DataType") == "AugmentedManifestFile":
        objects = folder / "objects"
        with open(folder / "manifest.jsonl", "rb") as manifest:
            for line in manifest:
                if not line.strip():
                    continue
                entry = json.loads(line)
                for name in channel.get("AttributeNames") or []:
                    value = entry.get(name)
                    if name.endswith("-ref") and isinstance(value, str):
                        data = (objects / ref_name(value)).read_bytes()
                    else:
                        data = json.dumps(value).encode()
                    yield recordio(data) if wrap else data
        return
    for path in files:
        if wrap:
            yield recordio(b"".join(_chunks(path, gzipped)))
        else:
            yield from _chunks(path, gzipped)


def ref_name(uri: str) -> str:
    """The file a referenced object of an augmented manifest is staged as."""
    import hashlib

    return hashlib.sha256(uri.encode()).hexdigest()


class Feeder(threading.Thread):
    """Writes ``<channel>_0``, ``<channel>_1``, ... in ``data_dir`` from the staged ``source`` until stopped."""

    def __init__(self, data_dir: Path, source: Path, channel: dict):
        super().__init__(daemon=True, name=f"charter-pipe-{channel['Name']}")
        self.data_dir, self.source, self.channel = data_dir, source, channel
        self._stop = threading.Event()

    def stop(self) -> None:
        self._stop.set()

    def _next_number(self) -> int:
        numbers = [int(p.name.rsplit("_", 1)[1]) for p in self.data_dir.glob(f"{self.channel['Name']}_*")
                   if p.name.rsplit("_", 1)[1].isdigit()]
        return max(numbers, default=-1) + 1 if numbers else 0

    def _open(self, path: Path) -> int | None:
        """The pipe opened for writing once a reader opens it; None when stopped first."""
        while not self._stop.is_set():
            try:
                return os.open(path, os.O_WRONLY | os.O_NONBLOCK)
            except OSError as error:
                if error.errno != errno.ENXIO:  # ENXIO: nobody reads it yet
                    raise
            time.sleep(0.05)
        return None

    def run(self) -> None:
        number = self._next_number()
        existing = self.data_dir / f"{self.channel['Name']}_{number - 1}" if number else None
        if existing is not None and existing.exists() and stat.S_ISFIFO(existing.stat().st_mode):
            number -= 1  # a pipe made before a restart that nobody finished: feed it again
        try:
            while not self._stop.is_set():
                path = self.data_dir / f"{self.channel['Name']}_{number}"
                if not path.exists():
                    os.mkfifo(path, 0o644)
                fd = self._open(path)
                if fd is None:
                    return
                os.set_blocking(fd, True)
                try:
                    for piece in records(self.source, self.channel):
                        view = memoryview(piece)
                        while view:
                            written = os.write(fd, view)
                            view = view[written:]
                        if self._stop.is_set():
                            break
                except BrokenPipeError:
                    pass  # the algorithm closed the pipe early, as it may
                finally:
                    number += 1
                    # The next pass's pipe exists before this one ends, so that an algorithm that sees the
                    # end of ``_0`` and opens ``_1`` at once finds it.
                    following = self.data_dir / f"{self.channel['Name']}_{number}"
                    if not self._stop.is_set() and not following.exists():
                        os.mkfifo(following, 0o644)
                    os.close(fd)
        except Exception:  # a feeder must not take the engine down; the job sees an empty pipe
            log.exception("feeding pipe %s failed", self.channel["Name"])
