"""Writing job and endpoint output into CloudWatch Logs, as SageMaker does.

SageMaker streams a training job's output to the log group
``/aws/sagemaker/TrainingJobs`` (stream ``<job name>/algo-1-<epoch>``), a
processing job's to ``/aws/sagemaker/ProcessingJobs`` and an endpoint's to
``/aws/sagemaker/Endpoints/<endpoint name>``; the SageMaker SDK's
``logs=True`` and ``aws logs tail`` read them from there.  The job engine
writes through a :class:`LogWriter` (or the :class:`LogWriterHandler` over
one), which goes to the database directly (``store/logs.py``; the runtime
imports no service), so a client reading through the Logs face sees the lines
as soon as a batch is flushed.

A writer buffers lines and flushes them in one transaction when the buffer
holds ``max_events`` lines or ``max_bytes`` bytes, when ``interval`` seconds
have passed since the oldest buffered line (a background thread sees to it),
and on :meth:`LogWriter.close`.  The group and the stream are created on the
first flush if they do not exist.  Batches keep PutLogEvents' limits (10,000
events, 1 MiB), and a line longer than one event may be (256 KiB) is split
into several events rather than lost.  NUL characters and unpaired surrogates,
which the database cannot hold as text, are replaced.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Callable, Iterable

from ..store import logs as store

if TYPE_CHECKING:  # pragma: no cover
    from ..instance import Instance

TRAINING_JOBS = "/aws/sagemaker/TrainingJobs"
PROCESSING_JOBS = "/aws/sagemaker/ProcessingJobs"
TRANSFORM_JOBS = "/aws/sagemaker/TransformJobs"
ENDPOINTS = "/aws/sagemaker/Endpoints"


def endpoint_group(endpoint_name: str) -> str:
    """The log group of an endpoint's containers: ``/aws/sagemaker/Endpoints/<name>``."""
    return f"{ENDPOINTS}/{endpoint_name}"


MAX_BATCH_EVENTS = 10_000
MAX_BATCH_BYTES = 1_048_576
EVENT_OVERHEAD = 26  # what PutLogEvents counts per event beside its message
MAX_EVENT_BYTES = 256 * 1024

log = logging.getLogger("charter.log_writer")


class LogWriter:
    """Lines into one log stream, batched and written durably."""

    def __init__(
        self,
        instance: "Instance",
        group: str,
        stream: str,
        *,
        account: str | None = None,
        region: str | None = None,
        max_events: int = 1000,
        max_bytes: int = 256 * 1024,
        interval: float = 1.0,
        clock: Callable[[], float] = time.time,
    ):
        self.instance = instance
        self.group = group
        self.stream = stream
        self.account = account or instance.settings.account_id
        self.region = region or instance.settings.region
        self.max_events = min(max_events, MAX_BATCH_EVENTS)
        self.max_bytes = min(max_bytes, MAX_BATCH_BYTES)
        self.interval = interval
        self._clock = clock
        self._pending: list[tuple[int, str]] = []
        self._pending_bytes = 0
        self._oldest: float | None = None  # when the oldest buffered line arrived
        self._lock = threading.Lock()  # guards the buffer
        self._flushing = threading.Lock()  # one flush at a time, in order
        self._closed = threading.Event()
        self._timer: threading.Thread | None = None

    # --- writing -------------------------------------------------------------

    def write(self, message: str, timestamp: int | None = None) -> None:
        """Buffer one event (a trailing newline is dropped; an empty message is skipped)."""
        if self._closed.is_set():
            raise ValueError("write to a closed LogWriter")
        message = message.rstrip("\r\n") if message.endswith(("\n", "\r")) else message
        if not message:
            return
        when = int(self._clock() * 1000) if timestamp is None else int(timestamp)
        full = False
        with self._lock:
            for piece in clean(message):
                self._pending.append((when, piece))
                self._pending_bytes += store.utf8_size(piece) + EVENT_OVERHEAD
            if self._oldest is None:
                self._oldest = self._clock()
            full = len(self._pending) >= self.max_events or self._pending_bytes >= self.max_bytes
        if full:
            self.flush()
        elif self.interval > 0:
            self._ensure_timer()

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        """Write everything buffered, in batches within PutLogEvents' limits, one transaction each."""
        with self._flushing:
            with self._lock:
                pending, self._pending, self._pending_bytes, self._oldest = self._pending, [], 0, None
            if not pending:
                return
            pending.sort(key=lambda event: event[0])  # stable: equal times keep their order
            try:
                for batch in batches(pending):
                    self._write_batch(batch)
                    pending = pending[len(batch):]
            except Exception:
                with self._lock:  # keep what was not written, ahead of what came since
                    self._pending[:0] = pending
                    self._pending_bytes += sum(store.utf8_size(m) + EVENT_OVERHEAD for _, m in pending)
                    self._oldest = self._oldest or self._clock()
                raise

    def close(self) -> None:
        """Flush and stop; a closed writer refuses new lines."""
        if self._closed.is_set():
            return
        self._closed.set()
        if self._timer is not None:
            self._timer.join(timeout=max(self.interval, 1.0) * 2)
        self.flush()

    def __enter__(self) -> "LogWriter":
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    # --- inside ------------------------------------------------------------

    def _write_batch(self, batch: list[tuple[int, str]]) -> None:
        with self.instance.transaction() as conn:
            append(conn, self.account, self.region, self.group, self.stream, batch, now=int(self._clock() * 1000))

    def _ensure_timer(self) -> None:
        if self._timer is not None and self._timer.is_alive():
            return
        with self._lock:
            if self._timer is not None and self._timer.is_alive():
                return
            self._timer = threading.Thread(target=self._tick, name=f"charter-log-writer:{self.stream}", daemon=True)
            self._timer.start()

    def _tick(self) -> None:
        while not self._closed.wait(min(self.interval, 0.25)):
            with self._lock:
                due = self._oldest is not None and self._clock() - self._oldest >= self.interval
            if due:
                try:
                    self.flush()
                except Exception:  # the lines stay buffered; the next tick or close() tries again
                    log.exception("writing log stream %s %s failed; will retry", self.group, self.stream)


class LogWriterHandler(logging.Handler):
    """A ``logging.Handler`` whose records go to a log stream through a :class:`LogWriter`."""

    def __init__(self, writer: LogWriter, level: int = logging.NOTSET):
        super().__init__(level)
        self.writer = writer

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.writer.write(self.format(record), timestamp=int(record.created * 1000))
        except Exception:
            self.handleError(record)

    def flush(self) -> None:
        self.writer.flush()

    def close(self) -> None:
        try:
            self.writer.close()
        finally:
            super().close()


def append(conn, account: str, region: str, group_name: str, stream_name: str,
           events: list[tuple[int, str]], *, now: int | None = None) -> None:
    """Store ``events`` (timestamp ms, message) in a stream, in ``conn``'s transaction, creating the
    group and the stream on first use.  Long messages are split into events PutLogEvents allows;
    the caller keeps each call within one batch's limits (:func:`batches`)."""
    now = int(time.time() * 1000) if now is None else now
    group = store.get_group(conn, account, region, group_name)
    if group is None:
        try:
            group = store.create_group(conn, account, region, group_name, now=now)
        except store.ResourceAlreadyExists:  # created meanwhile by another writer
            group = store.require_group(conn, account, region, group_name)
    stream = store.get_stream(conn, group, stream_name)
    if stream is None:
        try:
            stream = store.create_stream(conn, group, stream_name, now=now)
        except store.ResourceAlreadyExists:
            stream = store.require_stream(conn, group, stream_name)
    store.append_events(conn, group, stream, events, now=now)


def clean(message: str) -> list[str]:
    """One line as the events it is stored as: text the database holds, split where it is too long.

    What a program prints may not be text the database holds: NULs and unpaired
    surrogates become U+FFFD and "?" rather than failing the whole batch.
    """
    return _pieces(message.replace("\x00", "\ufffd").encode("utf-8", "replace").decode("utf-8"))


def _pieces(message: str) -> list[str]:
    """``message`` cut into events of at most MAX_EVENT_BYTES of UTF-8, at character boundaries."""
    if store.utf8_size(message) <= MAX_EVENT_BYTES:
        return [message]
    pieces, current, size = [], [], 0
    for char in message:
        width = store.utf8_size(char)
        if size + width > MAX_EVENT_BYTES:
            pieces.append("".join(current))
            current, size = [], 0
        current.append(char)
        size += width
    if current:
        pieces.append("".join(current))
    return pieces


def batches(events: list[tuple[int, str]]):
    """Consecutive runs of ``events`` within PutLogEvents' count, size and 24-hour limits."""
    batch: list[tuple[int, str]] = []
    size = 0
    for event in events:
        width = store.utf8_size(event[1]) + EVENT_OVERHEAD
        if batch and (
            len(batch) >= MAX_BATCH_EVENTS or size + width > MAX_BATCH_BYTES or event[0] - batch[0][0] > store.DAY_MS
        ):
            yield batch
            batch, size = [], 0
        batch.append(event)
        size += width
    if batch:
        yield batch
