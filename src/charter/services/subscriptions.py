"""Webhook subscriptions: who is sent which events, and what became of each delivery.

A subscription is a URL plus the event ``detail-type`` values it wants (none
means every type), and a signing secret.  The secret is generated here, shown
to the administrator once, and stored only as ciphertext under the server key
(``instance.keyring``), like access-key secrets.  Events are matched at emit
time (``store.events.emit``), so a subscription receives events emitted after
it exists; ``runtime.webhooks`` sends them and documents the signature.

These are administration functions (the ``charter events`` CLI), not SageMaker
operations: SageMaker publishes its events to EventBridge, which has no
counterpart in the SageMaker API.
"""

from __future__ import annotations

import json
import secrets
import time
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import Connection, delete, func, insert, select

from ..errors import ResourceNotFound, ValidationException
from ..iam.keyring import Keyring
from ..store.schema import deliveries, events, subscriptions

STATUSES = ("Pending", "Delivered", "Failed")
SECRET_PREFIX = "whsec_"
MAX_URL_LENGTH = 2048
MAX_DETAIL_TYPE_LENGTH = 256


@dataclass(frozen=True)
class Subscription:
    id: str
    url: str
    detail_types: list[str]
    created_at: float

    def to_dict(self) -> dict:
        return {
            "SubscriptionId": self.id,
            "Url": self.url,
            "DetailTypes": self.detail_types,
            "CreatedAt": self.created_at,
        }


def validate_url(url: str) -> str:
    """An absolute http(s) URL with a host; the error says what is wrong with it."""
    url = (url or "").strip()
    if not url:
        raise ValidationException("The webhook URL is empty: give an absolute http:// or https:// URL.")
    if len(url) > MAX_URL_LENGTH:
        raise ValidationException(f"The webhook URL is {len(url)} characters long; at most {MAX_URL_LENGTH} are allowed.")
    if any(ch.isspace() for ch in url):
        raise ValidationException(f"The webhook URL '{url}' contains whitespace.")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise ValidationException(f"The webhook URL '{url}' is not a valid URL: {exc}.") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise ValidationException(
            f"The webhook URL '{url}' must use http or https, not '{parts.scheme or '(none)'}' "
            "(for example https://hooks.example.com/charter)."
        )
    if not parts.hostname:
        raise ValidationException(f"The webhook URL '{url}' has no host (for example https://hooks.example.com/charter).")
    if parts.fragment:
        raise ValidationException(f"The webhook URL '{url}' has a fragment (#...), which is never sent; remove it.")
    return url


def _clean_types(detail_types) -> list[str]:
    cleaned: list[str] = []
    for value in detail_types or ():
        if not isinstance(value, str) or not value.strip():
            raise ValidationException("An event detail type must be a non-empty string (for example 'SageMaker Model Package State Change').")
        value = value.strip()
        if len(value) > MAX_DETAIL_TYPE_LENGTH:
            raise ValidationException(f"Event detail type '{value[:40]}...' is longer than {MAX_DETAIL_TYPE_LENGTH} characters.")
        if value not in cleaned:
            cleaned.append(value)
    return cleaned


def new_secret() -> str:
    """A signing secret: 256 random bits, URL-safe, prefixed so it is recognisable in a vault."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def subscribe(conn: Connection, keyring: Keyring, url: str, detail_types=()) -> tuple[str, str]:
    """Create a subscription; returns ``(subscription id, signing secret)``. The secret is not retrievable later."""
    url = validate_url(url)
    types = _clean_types(detail_types)
    subscription_id = f"sub-{uuid.uuid4().hex}"
    secret = new_secret()
    conn.execute(
        insert(subscriptions).values(
            id=subscription_id,
            url=url,
            detail_types=json.dumps(types),
            secret_ciphertext=keyring.encrypt(secret),
            created_at=time.time(),
        )
    )
    return subscription_id, secret


def get(conn: Connection, subscription_id: str) -> Subscription:
    row = conn.execute(select(subscriptions).where(subscriptions.c.id == subscription_id)).first()
    if row is None:
        raise ResourceNotFound(
            f"Subscription {subscription_id} does not exist (charter events list shows the subscriptions)."
        )
    return Subscription(row.id, row.url, json.loads(row.detail_types), row.created_at)


def list_subscriptions(conn: Connection) -> list[Subscription]:
    rows = conn.execute(select(subscriptions).order_by(subscriptions.c.created_at, subscriptions.c.id))
    return [Subscription(row.id, row.url, json.loads(row.detail_types), row.created_at) for row in rows]


def delivery_counts(conn: Connection) -> dict[str, dict[str, int]]:
    """``{subscription id: {status: count}}`` over every delivery."""
    counts: dict[str, dict[str, int]] = {}
    query = select(deliveries.c.subscription_id, deliveries.c.status, func.count()).group_by(
        deliveries.c.subscription_id, deliveries.c.status
    )
    for subscription_id, status, count in conn.execute(query):
        counts.setdefault(subscription_id, {})[status] = count
    return counts


def unsubscribe(conn: Connection, subscription_id: str) -> int:
    """Delete a subscription and its deliveries (pending ones are never sent); returns how many were pending."""
    get(conn, subscription_id)
    pending = conn.execute(
        delete(deliveries).where(deliveries.c.subscription_id == subscription_id, deliveries.c.status == "Pending")
    ).rowcount
    # Its delivery history goes with it: a delivery row names its subscription.
    conn.execute(delete(deliveries).where(deliveries.c.subscription_id == subscription_id))
    conn.execute(delete(subscriptions).where(subscriptions.c.id == subscription_id))
    return pending


def list_deliveries(
    conn: Connection,
    *,
    status: str | None = None,
    subscription_id: str | None = None,
    limit: int = 100,
) -> list[dict]:
    """The newest deliveries (newest last), with their event and subscription, for inspection."""
    if status is not None and status not in STATUSES:
        raise ValidationException(f"Delivery status '{status}' is not one of {', '.join(STATUSES)}.")
    if limit < 1:
        raise ValidationException("The delivery listing limit must be at least 1.")
    query = (
        select(
            deliveries.c.id,
            deliveries.c.subscription_id,
            deliveries.c.status,
            deliveries.c.attempts,
            deliveries.c.next_attempt_at,
            deliveries.c.last_error,
            deliveries.c.delivered_at,
            events.c.event_id,
            events.c.detail_type,
            events.c.time,
            subscriptions.c.url,
        )
        .join(events, events.c.id == deliveries.c.event_id)
        .join(subscriptions, subscriptions.c.id == deliveries.c.subscription_id)
        .order_by(deliveries.c.id.desc())
        .limit(limit)
    )
    if status is not None:
        query = query.where(deliveries.c.status == status)
    if subscription_id is not None:
        query = query.where(deliveries.c.subscription_id == subscription_id)
    return [
        {
            "DeliveryId": row.id,
            "EventId": row.event_id,
            "DetailType": row.detail_type,
            "EventTime": row.time,
            "SubscriptionId": row.subscription_id,
            "Url": row.url,
            "Status": row.status,
            "Attempts": row.attempts,
            # A pending delivery's next try; while one is being sent this is its lease's end.
            "NextAttemptAt": row.next_attempt_at if row.status == "Pending" else None,
            "LastError": row.last_error,
            "DeliveredAt": row.delivered_at,
        }
        for row in conn.execute(query)
    ][::-1]
