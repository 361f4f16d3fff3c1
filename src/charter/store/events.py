"""Events, EventBridge-shaped, written to the outbox in the caller's transaction.

``emit`` records the event and one pending delivery per matching subscription
in the same transaction as the change that caused it, so an event exists if
and only if its change committed.  The delivery worker (runtime) sends them.
Event envelope as EventBridge delivers it: version, id, detail-type, source,
account, time, region, resources, detail.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import threading
import uuid

from sqlalchemy import Connection, insert, select

from .schema import deliveries, events, subscriptions


# Whether this thread's last transaction queued a delivery (so the webhook workers are worth waking).
_queued = threading.local()


def take_queued() -> bool:
    """True once after an :func:`emit` in this thread queued a delivery for some subscription."""
    queued = getattr(_queued, "value", False)
    _queued.value = False
    return queued


def emit(
    conn: Connection,
    *,
    detail_type: str,
    source: str,
    account: str,
    region: str,
    resources: list[str],
    detail: dict,
) -> dict:
    now = time.time()
    envelope = {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": source,
        "account": account,
        "time": dt.datetime.fromtimestamp(now, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": resources,
        "detail": detail,
    }
    event_row = conn.execute(
        insert(events)
        .values(
            event_id=envelope["id"],
            detail_type=detail_type,
            source=source,
            account=account,
            region=region,
            time=now,
            document=json.dumps(envelope, default=str),
        )
        .returning(events.c.id)
    ).scalar_one()
    for sub_id, types in conn.execute(select(subscriptions.c.id, subscriptions.c.detail_types)):
        wanted = json.loads(types)
        if not wanted or detail_type in wanted:
            conn.execute(
                insert(deliveries).values(
                    event_id=event_row, subscription_id=sub_id, status="Pending", attempts=0, next_attempt_at=now
                )
            )
            _queued.value = True
    return envelope


def recent(conn: Connection, *, detail_type: str | None = None, limit: int = 100) -> list[dict]:
    query = select(events.c.document).order_by(events.c.id.desc()).limit(limit)
    if detail_type:
        query = query.where(events.c.detail_type == detail_type)
    return [json.loads(doc) for (doc,) in conn.execute(query)][::-1]
