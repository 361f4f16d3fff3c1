"""The audit log: one row for every API call and console action, whatever its outcome.

Each row names its ``source``: ``api`` (a signed request to one of the wire
faces) or ``console`` (a person signed in to the web console).

A write's row commits in the write's own transaction (:func:`record`), so an
accepted change is never without its record.  Every other row (reads,
refusals, failures) goes through an :class:`AuditBuffer`, which writes what
has gathered in one transaction at least every :data:`FLUSH_SECONDS`: the
rows are durable within a second and cost the request no transaction of its
own.  Rows keep the time of their request, and the log is read in time order.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
import weakref
from dataclasses import asdict, dataclass

from sqlalchemy import Connection, Engine, insert, select

from . import db

from .schema import audit_events


@dataclass
class AuditEvent:
    request_id: str
    operation: str
    outcome: str  # Success | Denied | Failed
    status_code: int
    principal_arn: str | None = None
    user_name: str | None = None
    access_key_id: str | None = None
    resource_arn: str | None = None
    region: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    source_ip: str | None = None
    user_agent: str | None = None
    time: float = 0.0
    source: str = "api"  # api | console


log = logging.getLogger("charter.audit")

#: The longest a buffered row waits before it is written.
FLUSH_SECONDS = 0.2

_INSERT = insert(audit_events)


def _values(event: AuditEvent) -> dict:
    values = asdict(event)
    values["time"] = event.time or time.time()
    if values["user_agent"]:
        values["user_agent"] = values["user_agent"][:512]
    for name, value in values.items():
        # A message may echo what the caller sent: a NUL (which PostgreSQL text refuses) or a
        # lone surrogate (which no driver encodes) would fail the row, and with it its batch.
        if isinstance(value, str) and ("\x00" in value or not value.isascii()):
            values[name] = value.replace("\x00", "\ufffd").encode("utf-8", "replace").decode("utf-8")
    return values


def record(conn: Connection, event: AuditEvent) -> None:
    """Writes ``event`` in ``conn``'s transaction (a write's row commits with the write)."""
    conn.execute(_INSERT, [_values(event)])


class AuditBuffer:
    """Rows gathered from many requests and written together, within :data:`FLUSH_SECONDS`."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self._rows: list[dict] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="charter-audit", daemon=True)
        self._thread.start()
        _open_buffers.add(self)

    def add(self, event: AuditEvent) -> None:
        values = _values(event)
        with self._lock:
            self._rows.append(values)

    def flush(self) -> None:
        """Writes every gathered row now."""
        with self._lock:
            rows, self._rows = self._rows, []
        if not rows:
            return
        try:
            with db.transaction(self.engine) as conn:
                conn.execute(_INSERT, rows)
        except Exception:  # the answers stand; the log says what was lost
            log.exception("could not write %d audit events", len(rows))

    def _run(self) -> None:
        while not self._closed:
            self._wake.wait(FLUSH_SECONDS)
            self.flush()

    def close(self) -> None:
        self._closed = True
        self._wake.set()
        self._thread.join(timeout=5)
        self.flush()


_open_buffers: "weakref.WeakSet[AuditBuffer]" = weakref.WeakSet()


@atexit.register
def _flush_at_exit() -> None:
    for buffer in list(_open_buffers):
        buffer.flush()


def events(
    conn: Connection,
    *,
    user: str | None = None,
    since: float | None = None,
    operation: str | None = None,
    source: str | None = None,
    limit: int = 100,
) -> list[AuditEvent]:
    """The newest ``limit`` events matching the filters, oldest first."""
    c = audit_events.c
    query = select(audit_events)
    if source:
        query = query.where(c.source == source)
    if user:
        query = query.where(c.user_name == user)
    if since is not None:
        query = query.where(c.time >= since)
    if operation:
        query = query.where(c.operation == operation)
    rows = conn.execute(query.order_by(c.time.desc(), c.id.desc()).limit(limit)).all()
    fields = AuditEvent.__dataclass_fields__
    return [AuditEvent(**{k: getattr(row, k) for k in fields}) for row in reversed(rows)]
