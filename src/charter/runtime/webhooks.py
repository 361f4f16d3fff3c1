"""Webhook delivery: the outbox worker that POSTs events to subscribers, signed.

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
The worker claims due deliveries (``Pending`` and ``next_attempt_at <= now``)
a few at a time in a short write transaction that counts the attempt and moves
``next_attempt_at`` a lease into the future, then sends with no transaction
open.  If the process dies mid-send the row simply becomes due again when the
lease runs out and a restarted worker retries it.  On PostgreSQL the claim uses
``FOR UPDATE SKIP LOCKED`` so several servers on one database share the work.

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
import weakref
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import httpx
from sqlalchemy import func, select, update

from ..store.schema import deliveries, events, subscriptions
from . import background

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
    batch_size: int = 8

    @classmethod
    def from_settings(cls, settings: "Settings") -> "WebhookConfig":
        return cls(
            backoff_base=settings.webhook_backoff_base_seconds,
            max_attempts=settings.webhook_max_attempts,
            lease_seconds=settings.webhook_lease_seconds,
            timeout_seconds=settings.webhook_timeout_seconds,
        )


# --- waking workers early -------------------------------------------------------

_wake_events: "weakref.WeakSet[threading.Event]" = weakref.WeakSet()


def notify() -> None:
    """Wake this process's webhook workers now instead of at their next poll.

    Call it after committing a transaction that emitted events; events written
    by other processes are found by polling (every ``poll_interval`` seconds).
    """
    for wake in list(_wake_events):
        wake.set()


# --- the worker -------------------------------------------------------------------


@dataclass(frozen=True)
class _Claimed:
    delivery_id: int
    attempt: int
    event_id: str
    body: bytes
    url: str
    secret: str | None
    secret_error: str | None


class WebhookWorker:
    """Sends due deliveries; one thread polls, a small pool sends a claimed batch in parallel."""

    def __init__(self, instance: "Instance", config: WebhookConfig | None = None):
        self.instance = instance
        self.config = config or WebhookConfig.from_settings(instance.settings)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._http: httpx.Client | None = None

    # lifecycle

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._http = httpx.Client(
            timeout=self.config.timeout_seconds,
            follow_redirects=False,
            headers={"User-Agent": USER_AGENT},
        )
        self._pool = ThreadPoolExecutor(max_workers=self.config.batch_size, thread_name_prefix="charter-webhook-send")
        _wake_events.add(self._wake)
        self._thread = threading.Thread(target=self._run, name="charter-webhooks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is None:
            return
        self._stop.set()
        self._wake.set()
        # Sends in flight finish (bounded by the timeout); an unfinished one is
        # retried by the next start once its lease runs out.
        self._thread.join(timeout=self.config.timeout_seconds + 5)
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._http.close()
        _wake_events.discard(self._wake)
        self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                sent = self.run_once()
                if sent >= self.config.batch_size:
                    continue  # more may be due right away
                pause = self._until_next_due()
            except Exception:  # the database may be briefly away; keep the worker alive
                log.exception("webhook worker: polling failed; retrying")
                pause = self.config.poll_interval * 4
            self._wake.wait(pause)
            self._wake.clear()

    def _until_next_due(self) -> float:
        """Seconds to sleep: until the earliest pending delivery is due, at most one poll interval."""
        with self.instance.transaction(write=False) as conn:
            soonest = conn.execute(
                select(func.min(deliveries.c.next_attempt_at)).where(deliveries.c.status == "Pending")
            ).scalar()
        if soonest is None:
            return self.config.poll_interval
        return min(self.config.poll_interval, max(0.0, soonest - time.time()))

    # one round

    def run_once(self) -> int:
        """Claim and send one batch of due deliveries; returns how many were claimed."""
        if not self._anything_due():
            return 0
        claimed = self._claim()
        if not claimed:
            return 0
        if self._pool is None:  # used directly, without start(): send in this thread
            for item in claimed:
                self._deliver(item)
        else:
            for future in [self._pool.submit(self._deliver, item) for item in claimed]:
                future.result()
        return len(claimed)

    def _anything_due(self) -> bool:
        # A read first, so an idle server does not take SQLite's write lock every poll.
        with self.instance.transaction(write=False) as conn:
            return (
                conn.execute(
                    select(deliveries.c.id)
                    .where(deliveries.c.status == "Pending", deliveries.c.next_attempt_at <= time.time())
                    .limit(1)
                ).first()
                is not None
            )

    def _claim(self) -> list[_Claimed]:
        config = self.config
        now = time.time()
        keyring = self.instance.keyring
        claimed: list[_Claimed] = []
        with self.instance.transaction() as conn:
            rows = conn.execute(
                select(deliveries.c.id, deliveries.c.attempts, deliveries.c.last_error)
                .where(deliveries.c.status == "Pending", deliveries.c.next_attempt_at <= now)
                .order_by(deliveries.c.next_attempt_at, deliveries.c.id)
                .limit(config.batch_size)
                .with_for_update(skip_locked=True)
            ).all()
            if not rows:
                return []
            interrupted = [row for row in rows if row.attempts >= config.max_attempts]
            for row in interrupted:
                # Its last allowed attempt was claimed by a process that stopped mid-send.
                conn.execute(
                    update(deliveries)
                    .where(deliveries.c.id == row.id)
                    .values(
                        status="Failed",
                        last_error=(
                            f"attempt {row.attempts} of {config.max_attempts} was interrupted by a server stop; "
                            f"earlier error: {row.last_error or 'none'}"
                        ),
                    )
                )
            ready = {row.id: row.attempts + 1 for row in rows if row.attempts < config.max_attempts}
            if not ready:
                return []
            for delivery_id, attempt in ready.items():
                conn.execute(
                    update(deliveries)
                    .where(deliveries.c.id == delivery_id)
                    .values(attempts=attempt, next_attempt_at=now + config.lease_seconds)
                )
            details = conn.execute(
                select(
                    deliveries.c.id,
                    events.c.event_id,
                    events.c.document,
                    subscriptions.c.url,
                    subscriptions.c.secret_ciphertext,
                )
                .join(events, events.c.id == deliveries.c.event_id)
                .join(subscriptions, subscriptions.c.id == deliveries.c.subscription_id)
                .where(deliveries.c.id.in_(list(ready)))
                .order_by(deliveries.c.id)
            ).all()
        for row in details:
            secret, secret_error = None, None
            try:
                secret = keyring.decrypt(row.secret_ciphertext)
            except RuntimeError as exc:
                secret_error = str(exc)
            claimed.append(
                _Claimed(
                    delivery_id=row.id,
                    attempt=ready[row.id],
                    event_id=row.event_id,
                    body=row.document.encode("utf-8"),
                    url=row.url,
                    secret=secret,
                    secret_error=secret_error,
                )
            )
        return claimed

    def _deliver(self, item: _Claimed) -> None:
        error = self._send(item)
        try:
            self._record(item, error)
        except Exception:  # the lease makes it due again; nothing is lost
            log.exception("webhook worker: could not record the outcome of delivery %s", item.delivery_id)

    def _send(self, item: _Claimed) -> str | None:
        """POST one delivery; None on a 2xx answer, else what went wrong."""
        if item.secret is None:
            return f"cannot sign: {item.secret_error}"
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
        if self._http is None:
            self._http = httpx.Client(
                timeout=self.config.timeout_seconds, follow_redirects=False, headers={"User-Agent": USER_AGENT}
            )
        return self._http

    def _record(self, item: _Claimed, error: str | None) -> None:
        now = time.time()
        # Only a row still Pending is ours to settle (an unsubscribe may have deleted it).
        target = update(deliveries).where(deliveries.c.id == item.delivery_id, deliveries.c.status == "Pending")
        if error is None:
            values = {"status": "Delivered", "delivered_at": now, "last_error": None}
        elif item.attempt >= self.config.max_attempts:
            values = {"status": "Failed", "last_error": f"attempt {item.attempt}: {error}"}
        else:
            delay = backoff_delay(item.attempt, self.config.backoff_base)
            values = {"next_attempt_at": now + delay, "last_error": f"attempt {item.attempt}: {error}"}
        with self.instance.transaction() as conn:
            conn.execute(target.values(**values))
        if error is not None:
            log.info("webhook delivery %s to %s failed (attempt %s): %s", item.delivery_id, item.url, item.attempt, error)


@background("webhooks")
def webhook_worker(instance: "Instance") -> WebhookWorker:
    return WebhookWorker(instance)
