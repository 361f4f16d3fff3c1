"""Webhook delivery: the outbox sender that POSTs events to subscribers, signed.

``store.events.emit`` writes each event and one ``Pending`` delivery per
matching subscription in the transaction of the change that caused it.  This
worker, started with the server, sends them.  All of its state is in the
``deliveries`` table, so nothing is lost when the server stops or crashes
(ARCHITECTURE.md rule 6): delivery is *at least once*, and a receiver should
de-duplicate on ``X-Charter-Event-Id``.

The request
-----------
``POST <subscription url>`` with the event as its body, exactly as stored: the
EventBridge envelope (``version, id, detail-type, source, account, time,
region, resources, detail``), ``Content-Type: application/json``, and::

    X-Charter-Event-Id:     the envelope's "id" (the same on every retry)
    X-Charter-Delivery-Id:  this (event, subscription) delivery (the same on every retry)
    X-Charter-Attempt:      1 for the first try, 2 for the first retry, ...
    X-Charter-Timestamp:    when this attempt was signed, in unix seconds
    X-Charter-Signature:    v1=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>

The secret is the whole string ``charter events subscribe`` printed (its
UTF-8 bytes are the HMAC key).  A receiver recomputes the MAC over the
timestamp header, a dot and the body bytes *as received* (before any JSON
parsing), compares in constant time, and refuses timestamps too far from its
clock so that a captured request cannot be replayed later;
``verify_signature`` below does all of that.  The header may carry several
comma-separated ``v1=`` values; one match suffices.

Outcome
-------
Any 2xx answer marks the delivery ``Delivered``.  Anything else (another status,
a redirect, a timeout, a refused connection) is a failed attempt: the error is
kept in ``last_error`` and the next attempt is due after
``base * 2**attempts`` seconds (capped at one hour) with "equal jitter" (a
random 50-100 % of that), so many failing deliveries do not retry in lockstep.
After ``CHARTER_WEBHOOK_MAX_ATTEMPTS`` attempts (default 10) the delivery is
``Failed``.

Claiming
--------
The sender runs on the job engine (:mod:`charter.runtime.engine`), with the
``deliveries`` table as its source: due deliveries (``Pending`` and
``next_attempt_at <= now``) are claimed one per short write transaction that
counts the attempt and moves ``next_attempt_at`` a lease into the future, and
up to ``WebhookConfig.concurrency`` are sent at once, each in a thread of its
own, with no transaction open; the lease is renewed while a send lasts.  If the
process dies mid-send the row becomes due again when the lease runs out and a
restarted worker retries it; a clean stop hands unfinished sends back at once.
On PostgreSQL the claim uses ``FOR UPDATE SKIP LOCKED`` so several servers on
one database share the work.

Settings (environment):
``CHARTER_WEBHOOK_BACKOFF_BASE_SECONDS`` (1), ``CHARTER_WEBHOOK_MAX_ATTEMPTS`` (10),
``CHARTER_WEBHOOK_LEASE_SECONDS`` (60; keep it above the 10 s send timeout),
``CHARTER_WEBHOOK_TIMEOUT_SECONDS`` (10).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import random
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterable

import httpx
from sqlalchemy import Connection, func, select, update

from ..store.schema import deliveries, events, subscriptions
from . import background, engine
from .engine import Candidate, Engine, JobProblem, Lease, Outcome

if TYPE_CHECKING:  # pragma: no cover
    from ..instance import Instance
    from ..settings import Settings

log = logging.getLogger("charter.webhooks")

SIGNATURE_VERSION = "v1"
MAX_BACKOFF_SECONDS = 3600.0
USER_AGENT = "Charter-Webhooks/1"
ERROR_SNIPPET_BYTES = 300


# --- the signature scheme -----------------------------------------------------


def _as_bytes(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode("utf-8")


def sign(secret: str, timestamp: int | str, body: str | bytes) -> str:
    """The ``X-Charter-Signature`` value for ``body`` sent at ``timestamp``: ``v1=<hex>``."""
    message = f"{timestamp}.".encode("ascii") + _as_bytes(body)
    digest = hmac.new(_as_bytes(secret), message, hashlib.sha256).hexdigest()
    return f"{SIGNATURE_VERSION}={digest}"


def verify_signature(
    secret: str,
    timestamp: int | str,
    body: str | bytes,
    header: str,
    tolerance: float = 300,
    *,
    now: float | None = None,
) -> bool:
    """True when ``header`` (X-Charter-Signature) signs ``body`` at ``timestamp`` with ``secret``.

    ``timestamp`` is the X-Charter-Timestamp header and ``body`` the raw request
    body.  A timestamp more than ``tolerance`` seconds from ``now`` (default:
    this clock) is refused, in either direction, which bounds replays.
    """
    try:
        sent_at = int(str(timestamp).strip())
    except (TypeError, ValueError):
        return False
    current = time.time() if now is None else now
    if abs(current - sent_at) > tolerance:
        return False
    expected = sign(secret, sent_at, body)
    offered = [part.strip() for part in (header or "").split(",")]
    # Compare every candidate (no early exit) so timing says nothing about which matched.
    matched = False
    for candidate in offered:
        if candidate.startswith(f"{SIGNATURE_VERSION}="):
            matched |= hmac.compare_digest(candidate.encode(), expected.encode())
    return matched


def backoff_delay(attempts: int, base: float, *, cap: float = MAX_BACKOFF_SECONDS,
                  rand: Callable[[], float] = random.random) -> float:
    """Seconds to wait after ``attempts`` failed tries: ``min(cap, base * 2**attempts)``, jittered to 50-100 %."""
    ceiling = min(cap, base * (2 ** min(attempts, 62)))
    return ceiling * (0.5 + 0.5 * rand())


# --- configuration --------------------------------------------------------------


@dataclass(frozen=True)
class WebhookConfig:
    backoff_base: float = 1.0
    max_attempts: int = 10
    lease_seconds: float = 60.0
    timeout_seconds: float = 10.0
    poll_interval: float = 0.5
    concurrency: int = 8  # sends at once

    @classmethod
    def from_settings(cls, settings: "Settings") -> "WebhookConfig":
        return cls(
            backoff_base=settings.webhook_backoff_base_seconds,
            max_attempts=settings.webhook_max_attempts,
            lease_seconds=settings.webhook_lease_seconds,
            timeout_seconds=settings.webhook_timeout_seconds,
        )


# --- waking workers early -------------------------------------------------------

DELIVERIES = "webhook-deliveries"  # the deliveries source's kind, for engine.notify


def notify() -> None:
    """Wake this process's webhook workers now instead of at their next poll.

    Call it after committing a transaction that emitted events; events written
    by other processes are found by polling (every ``poll_interval`` seconds).
    """
    engine.notify(DELIVERIES)


# --- where deliveries wait: the engine's source -----------------------------------


class Deliveries:
    """The delivery-row source: ``Pending`` deliveries whose ``next_attempt_at`` has come.

    A claim counts the attempt and moves ``next_attempt_at`` a lease ahead.  The
    table has no owner column; the attempt count tells a lease from its
    successor's, since any later claim counts one more (and an engine forgets a
    lease it handed back, whose count went one down).
    """

    kind = DELIVERIES

    def __init__(self, config: WebhookConfig):
        self.config = config

    def due(self, conn: Connection, now: float, *, limit: int, lock: bool) -> Iterable[Candidate]:
        c = deliveries.c
        query = (
            select(c.id, c.attempts, c.next_attempt_at, c.last_error)
            .where(c.status == "Pending", c.next_attempt_at <= now)
            .order_by(c.next_attempt_at, c.id)
            .limit(limit)
        )
        if lock:
            query = query.with_for_update(skip_locked=True)
        for row in conn.execute(query).all():
            yield Candidate(row.id, Lease(None, row.next_attempt_at, row.attempts), row)

    def take(self, conn: Connection, row, lease: Lease) -> None:
        conn.execute(
            update(deliveries)
            .where(deliveries.c.id == row.id)
            .values(attempts=lease.attempts, next_attempt_at=lease.expires_at)
        )

    def held(self, conn: Connection, delivery_id: int, lease: Lease):
        c = deliveries.c
        # Only a row still Pending is ours to settle (an unsubscribe may have deleted it).
        return conn.execute(
            select(c.id, c.attempts, c.next_attempt_at, c.last_error)
            .where(c.id == delivery_id, c.status == "Pending", c.attempts == lease.attempts)
            .with_for_update()
        ).first()

    def record(self, conn: Connection, row, outcome: Outcome) -> None:
        now = time.time()
        if outcome.status == "Delivered":
            values = {"status": "Delivered", "delivered_at": now, "last_error": None}
        elif row.attempts >= self.config.max_attempts:
            values = {"status": "Failed", "last_error": f"attempt {row.attempts}: {outcome.reason}"}
        else:
            delay = backoff_delay(row.attempts, self.config.backoff_base)
            values = {"next_attempt_at": now + delay, "last_error": f"attempt {row.attempts}: {outcome.reason}"}
        pending = update(deliveries).where(deliveries.c.id == row.id, deliveries.c.status == "Pending")
        conn.execute(pending.values(**values))

    def soonest(self, conn: Connection) -> float | None:
        return conn.execute(
            select(func.min(deliveries.c.next_attempt_at)).where(deliveries.c.status == "Pending")
        ).scalar()


# --- sending one: the engine's runner -----------------------------------------------


@dataclass(frozen=True)
class _Delivery:
    delivery_id: int
    attempt: int
    event_id: str
    body: bytes
    url: str
    secret: str


class Sender:
    """Sends one delivery: reads its event and subscription, signs, POSTs."""

    name = "webhooks"

    def __init__(self, instance: "Instance", config: WebhookConfig):
        self.instance = instance
        self.config = config
        self.concurrency = config.concurrency
        self._http: httpx.Client | None = None
        self._lock = threading.Lock()

    def interrupted(self, row) -> str:
        return (
            f"interrupted (the server died mid-send) on the last of {self.config.max_attempts} attempts; "
            f"earlier error: {row.last_error or 'none'}"
        )

    def prepare(self, conn: Connection, row) -> _Delivery:
        found = conn.execute(
            select(deliveries.c.attempts, events.c.event_id, events.c.document, subscriptions.c.url,
                   subscriptions.c.secret_ciphertext)
            .join(events, events.c.id == deliveries.c.event_id)
            .join(subscriptions, subscriptions.c.id == deliveries.c.subscription_id)
            .where(deliveries.c.id == row.id)
        ).first()
        if found is None:
            raise JobProblem("the delivery's event or subscription is gone")
        try:
            secret = self.instance.keyring.decrypt(found.secret_ciphertext)
        except RuntimeError as exc:  # a failed attempt like any other: retried after its backoff
            raise JobProblem(f"cannot sign: {exc}") from None
        return _Delivery(row.id, found.attempts, found.event_id, found.document.encode("utf-8"), found.url, secret)

    def run(self, delivery_id: int, item: _Delivery) -> Outcome:
        error = self._send(item)
        if error is None:
            return Outcome("Delivered")
        log.info("webhook delivery %s to %s failed (attempt %s): %s", delivery_id, item.url, item.attempt, error)
        return Outcome("Failed", error)

    def stopped(self) -> None:
        with self._lock:
            if self._http is not None:
                self._http.close()
                self._http = None

    def _send(self, item: _Delivery) -> str | None:
        """POST one delivery; None on a 2xx answer, else what went wrong."""
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "X-Charter-Event-Id": item.event_id,
            "X-Charter-Delivery-Id": str(item.delivery_id),
            "X-Charter-Attempt": str(item.attempt),
            "X-Charter-Timestamp": str(timestamp),
            "X-Charter-Signature": sign(item.secret, timestamp, item.body),
        }
        try:
            with self._http_client().stream("POST", item.url, content=item.body, headers=headers) as response:
                if 200 <= response.status_code < 300:
                    return None
                # Keep the start of the receiver's explanation; never read an unbounded body.
                head = b""
                for chunk in response.iter_bytes():
                    head += chunk
                    if len(head) >= ERROR_SNIPPET_BYTES:
                        break
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__}: {str(exc) or 'no detail'}"[:1000]
        except Exception as exc:  # e.g. a URL httpx refuses; a failed attempt all the same
            return f"{type(exc).__name__}: {exc}"[:1000]
        snippet = head[:ERROR_SNIPPET_BYTES].decode("utf-8", "replace").strip()
        return f"HTTP {response.status_code} {response.reason_phrase}" + (f": {snippet}" if snippet else "")

    def _http_client(self) -> httpx.Client:
        with self._lock:  # one client (one connection pool) for every send thread
            if self._http is None:
                self._http = httpx.Client(
                    timeout=self.config.timeout_seconds, follow_redirects=False, headers={"User-Agent": USER_AGENT}
                )
            return self._http


@background("webhooks")
def WebhookWorker(instance: "Instance", config: WebhookConfig | None = None) -> Engine:
    """The engine sending webhook deliveries, several at once, in threads of the server."""
    config = config or WebhookConfig.from_settings(instance.settings)
    return Engine(
        instance, Sender(instance, config), source=Deliveries(config),
        lease=config.lease_seconds, poll=config.poll_interval, max_attempts=config.max_attempts,
        # Sends in flight finish (bounded by the timeout); one that does not is handed back.
        join_timeout=config.timeout_seconds + 5,
    )
