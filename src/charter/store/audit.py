"""The audit log: one row for every API call, whatever its outcome."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

from sqlalchemy import Connection, insert, select

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


def record(conn: Connection, event: AuditEvent) -> None:
    values = asdict(event)
    values["time"] = event.time or time.time()
    if values["user_agent"]:
        values["user_agent"] = values["user_agent"][:512]
    conn.execute(insert(audit_events).values(**values))


def events(
    conn: Connection, *, user: str | None = None, since: float | None = None, operation: str | None = None, limit: int = 100
) -> list[AuditEvent]:
    """The newest ``limit`` events matching the filters, oldest first."""
    c = audit_events.c
    query = select(audit_events)
    if user:
        query = query.where(c.user_name == user)
    if since is not None:
        query = query.where(c.time >= since)
    if operation:
        query = query.where(c.operation == operation)
    rows = conn.execute(query.order_by(c.id.desc()).limit(limit)).all()
    fields = AuditEvent.__dataclass_fields__
    return [AuditEvent(**{k: getattr(row, k) for k in fields}) for row in reversed(rows)]
