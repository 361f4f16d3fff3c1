"""Events delivered to webhooks by the running server: signed, retried, filtered, durable.

A real HTTP receiver (http.server on a loopback port) stands in for the
subscriber.  Subscriptions are made with ``charter events``; events are
produced the way services produce them, with ``store.events.emit`` inside a
transaction on the server's installation, and the server's webhook worker
has to deliver them.  This module runs its own servers, with a fast retry
schedule, so the shared server is left alone.
"""

from __future__ import annotations

import json
import signal
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from charter.instance import Instance
from charter.runtime.engine import Outcome
from charter.runtime.webhooks import WebhookConfig, WebhookWorker, verify_signature
from charter.services import subscriptions as subs
from charter.store.events import emit
from charter.store.schema import subscriptions as subscriptions_table
from conftest import start_server, stop_server
from pg import free_port

BACKOFF_BASE = 0.2
MAX_ATTEMPTS = 3
FAST_RETRIES = {
    "CHARTER_WEBHOOK_BACKOFF_BASE_SECONDS": str(BACKOFF_BASE),
    "CHARTER_WEBHOOK_MAX_ATTEMPTS": str(MAX_ATTEMPTS),
}


# --- a webhook receiver ---------------------------------------------------------


@dataclass
class Received:
    at: float
    path: str
    headers: dict
    body: bytes

    @property
    def event(self) -> dict:
        return json.loads(self.body)


class Receiver:
    """Records every POST by path; each URL it hands out may fail, or hang, its first requests."""

    def __init__(self):
        self.requests: dict[str, list[Received]] = defaultdict(list)
        self.plans: dict[str, dict] = {}
        self.changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.changed:
                    seen = receiver.requests[self.path]
                    seen.append(Received(time.time(), self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                    number = len(seen)
                    receiver.changed.notify_all()
                plan = receiver.plans.get(self.path, {})
                if number <= plan.get("hang_first", 0):
                    time.sleep(plan["hang_seconds"])
                if plan.get("fail_always") or number <= plan.get("fail_first", 0):
                    status, answer = 500, b"receiver is having a bad day"
                else:
                    status, answer = 204, b""
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                except OSError:  # the sender went away (a killed server)
                    pass

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, **plan) -> str:
        path = f"/hooks/{uuid.uuid4().hex[:12]}"
        self.plans[path] = plan
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def seen(self, url: str) -> list[Received]:
        with self.changed:
            return list(self.requests[_path(url)])

    def wait_for(self, url: str, count: int, timeout: float = 15) -> list[Received]:
        deadline = time.time() + timeout
        with self.changed:
            while len(self.requests[_path(url)]) < count:
                left = deadline - time.time()
                if left <= 0:
                    raise AssertionError(f"{url} got {len(self.requests[_path(url)])} requests, wanted {count}")
                self.changed.wait(left)
            return list(self.requests[_path(url)])

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def _path(url: str) -> str:
    return "/" + url.split("/", 3)[3]


# --- fixtures and helpers ---------------------------------------------------------


def start_fast_server(home, database_url, **extra_env):
    """start_server with a fast retry schedule (start_server copies os.environ)."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in {**FAST_RETRIES, **extra_env}.items():
            patch.setenv(name, value)
        return start_server(home, database_url)


@pytest.fixture(scope="module")
def receiver():
    receiving = Receiver()
    yield receiving
    receiving.close()


@pytest.fixture(scope="module")
def hooks(tmp_path_factory, database_url_factory):
    """A Charter server of this module's own, retrying fast."""
    server = start_fast_server(tmp_path_factory.mktemp("events-home"), database_url_factory())
    yield server
    stop_server(server)


def open_installation(server) -> Instance:
    """The server's installation, opened in this process as a service would see it."""
    return Instance.from_env(home=server.env["CHARTER_HOME"], database_url=server.env["CHARTER_DATABASE_URL"])


@pytest.fixture(scope="module")
def installation(hooks):
    instance = open_installation(hooks)
    yield instance
    instance.close()


def subscribe(server, url: str, *types: str) -> dict:
    args = ["events", "subscribe", "--url", url]
    for detail_type in types:
        args += ["--type", detail_type]
    return json.loads(server.cli(*args).stdout)


def emit_event(instance: Instance, detail_type: str, **detail) -> dict:
    with instance.transaction() as conn:
        return emit(
            conn,
            detail_type=detail_type,
            source="aws.sagemaker",
            account="123456789012",
            region="us-east-1",
            resources=["arn:aws:sagemaker:us-east-1:123456789012:model-package/churn/1"],
            detail=detail,
        )


def deliveries_of(instance: Instance, subscription_id: str) -> list[dict]:
    with instance.transaction(write=False) as conn:
        return subs.list_deliveries(conn, subscription_id=subscription_id)


def wait_for_deliveries(instance, subscription_id, predicate, timeout: float = 15) -> list[dict]:
    deadline = time.time() + timeout
    while True:
        found = deliveries_of(instance, subscription_id)
        if predicate(found):
            return found
        if time.time() > deadline:
            raise AssertionError(f"deliveries of {subscription_id} never got there: {found}")
        time.sleep(0.1)


def unsubscribe(instance: Instance, *subscription_ids: str) -> None:
    """Clean-up (the CLI's unsubscribe is tested on its own)."""
    with instance.transaction() as conn:
        for subscription_id in subscription_ids:
            subs.unsubscribe(conn, subscription_id)


def event_type() -> str:
    return f"Charter Test Event {uuid.uuid4().hex[:8]}"


# --- subscriptions ------------------------------------------------------------------


def test_subscribe_shows_the_secret_once_and_stores_it_encrypted(hooks, receiver, installation):
    url = receiver.url()
    created = subscribe(hooks, url, "SageMaker Model Package State Change")
    assert set(created) == {"SubscriptionId", "Url", "Secret", "DetailTypes"}
    assert created["Url"] == url and created["DetailTypes"] == ["SageMaker Model Package State Change"]
    assert created["Secret"].startswith("whsec_") and len(created["Secret"]) >= 40

    listing = hooks.cli("events", "list").stdout
    assert created["SubscriptionId"] in listing and url in listing
    assert created["Secret"] not in listing
    as_json = [json.loads(line) for line in hooks.cli("events", "list", "--json").stdout.splitlines()]
    mine = next(s for s in as_json if s["SubscriptionId"] == created["SubscriptionId"])
    assert "Secret" not in mine and mine["DetailTypes"] == created["DetailTypes"]

    with installation.transaction(write=False) as conn:
        ciphertext = conn.execute(
            select(subscriptions_table.c.secret_ciphertext).where(subscriptions_table.c.id == created["SubscriptionId"])
        ).scalar_one()
    assert created["Secret"] not in ciphertext
    assert installation.keyring.decrypt(ciphertext) == created["Secret"]

    unsubscribe(installation, created["SubscriptionId"])


def test_subscribe_refuses_a_url_that_cannot_be_posted_to(hooks):
    # (every kind of bad URL is covered by the unit tests of validate_url)
    result = hooks.cli("events", "subscribe", "--url", "ftp://hooks.example.com/x", check=False)
    assert result.returncode != 0
    assert "must use http or https" in result.stderr and "ftp://hooks.example.com/x" in result.stderr
    assert "Secret" not in result.stdout


def test_unsubscribing_an_unknown_subscription_is_a_clear_error(hooks):
    result = hooks.cli("events", "unsubscribe", "sub-doesnotexist", check=False)
    assert result.returncode != 0
    assert "sub-doesnotexist does not exist" in result.stderr


def test_deliveries_refuses_an_unknown_status(hooks):
    result = hooks.cli("events", "deliveries", "--status", "Lost", check=False)
    assert result.returncode != 0 and "Pending" in result.stderr


# --- delivery -----------------------------------------------------------------------


def test_an_event_arrives_signed(hooks, receiver, installation):
    kind = event_type()
    url = receiver.url()
    created = subscribe(hooks, url, kind)
    envelope = emit_event(installation, kind, ModelApprovalStatus="Approved")

    (request,) = receiver.wait_for(url, 1)
    headers = request.headers
    assert headers["content-type"] == "application/json"
    assert headers["x-charter-event-id"] == envelope["id"]
    assert headers["x-charter-attempt"] == "1"
    assert abs(int(headers["x-charter-timestamp"]) - time.time()) < 30
    assert headers["x-charter-signature"].startswith("v1=")
    assert verify_signature(created["Secret"], headers["x-charter-timestamp"], request.body, headers["x-charter-signature"])
    assert not verify_signature("whsec_not-the-secret", headers["x-charter-timestamp"], request.body,
                                headers["x-charter-signature"])
    assert request.event == envelope
    assert request.event["detail"] == {"ModelApprovalStatus": "Approved"}

    (delivery,) = wait_for_deliveries(installation, created["SubscriptionId"], lambda d: d and d[0]["Status"] == "Delivered")
    assert headers["x-charter-delivery-id"] == str(delivery["DeliveryId"])
    assert delivery["Attempts"] == 1 and delivery["DeliveredAt"] is not None and delivery["LastError"] is None

    table = hooks.cli("events", "deliveries", "--status", "Delivered").stdout
    assert envelope["id"] in table and created["SubscriptionId"] in table
    recent = [json.loads(line) for line in hooks.cli("events", "recent", "--type", kind).stdout.splitlines()]
    assert recent == [envelope]
    unsubscribe(installation, created["SubscriptionId"])


def test_subscriptions_receive_only_the_types_they_asked_for(hooks, receiver, installation):
    first, second, other = event_type(), event_type(), event_type()
    only_first, only_second, everything = receiver.url(), receiver.url(), receiver.url()
    ids = [
        subscribe(hooks, only_first, first)["SubscriptionId"],
        subscribe(hooks, only_second, second, "Some Type Never Emitted")["SubscriptionId"],
        subscribe(hooks, everything)["SubscriptionId"],
    ]
    try:
        sent = [emit_event(installation, kind, n=n) for n, kind in enumerate((first, second, other))]

        received = receiver.wait_for(everything, 3)
        assert sorted(r.event["id"] for r in received) == sorted(e["id"] for e in sent)
        assert [r.event["detail-type"] for r in receiver.wait_for(only_first, 1)] == [first]
        assert [r.event["detail-type"] for r in receiver.wait_for(only_second, 1)] == [second]
        time.sleep(0.8)  # a worker poll or two: nothing else arrives
        assert len(receiver.seen(only_first)) == 1 and len(receiver.seen(only_second)) == 1
        assert len(receiver.seen(everything)) == 3
    finally:
        unsubscribe(installation, *ids)


def test_failed_attempts_are_retried_with_growing_backoff(hooks, receiver, installation):
    kind = event_type()
    url = receiver.url(fail_first=2)
    created = subscribe(hooks, url, kind)
    envelope = emit_event(installation, kind)

    requests = receiver.wait_for(url, 3)
    (delivery,) = wait_for_deliveries(installation, created["SubscriptionId"], lambda d: d and d[0]["Status"] == "Delivered")
    assert delivery["Attempts"] == 3 and delivery["LastError"] is None
    # One delivery, retried: the same event and delivery ids, the attempt counted, each signed afresh.
    assert {r.headers["x-charter-event-id"] for r in requests} == {envelope["id"]}
    assert {r.headers["x-charter-delivery-id"] for r in requests} == {str(delivery["DeliveryId"])}
    assert [r.headers["x-charter-attempt"] for r in requests] == ["1", "2", "3"]
    for request in requests:
        assert verify_signature(created["Secret"], request.headers["x-charter-timestamp"], request.body,
                                request.headers["x-charter-signature"])
    # base * 2**attempts with jitter to 50-100 %: at least 0.2 s, then at least 0.4 s.
    gaps = [later.at - earlier.at for earlier, later in zip(requests, requests[1:])]
    assert gaps[0] >= BACKOFF_BASE * 2 * 0.5 - 0.02, gaps
    assert gaps[1] >= BACKOFF_BASE * 4 * 0.5 - 0.02, gaps
    assert gaps[0] < 5 and gaps[1] < 5, gaps
    time.sleep(0.8)
    assert len(receiver.seen(url)) == 3
    unsubscribe(installation, created["SubscriptionId"])


def test_a_url_that_keeps_failing_ends_failed_with_the_error(hooks, receiver, installation):
    kind = event_type()
    erroring = receiver.url(fail_always=True)
    unreachable = f"http://127.0.0.1:{free_port()}/nobody-listens"
    failing = subscribe(hooks, erroring, kind)["SubscriptionId"]
    refused = subscribe(hooks, unreachable, kind)["SubscriptionId"]
    emit_event(installation, kind)

    def failed(found):
        return found and found[0]["Status"] == "Failed"

    (delivery,) = wait_for_deliveries(installation, failing, failed)
    assert delivery["Attempts"] == MAX_ATTEMPTS
    assert "HTTP 500" in delivery["LastError"] and "bad day" in delivery["LastError"]
    assert delivery["DeliveredAt"] is None and delivery["NextAttemptAt"] is None
    (delivery,) = wait_for_deliveries(installation, refused, failed)
    assert delivery["Attempts"] == MAX_ATTEMPTS and "Connect" in delivery["LastError"]

    assert len(receiver.seen(erroring)) == MAX_ATTEMPTS
    time.sleep(0.8)
    assert len(receiver.seen(erroring)) == MAX_ATTEMPTS  # given up: no more tries
    table = hooks.cli("events", "deliveries", "--status", "Failed").stdout
    assert failing in table and refused in table and "HTTP 500" in table
    unsubscribe(installation, failing, refused)


def test_unsubscribe_stops_deliveries_and_drops_pending_ones(hooks, receiver, installation):
    kind = event_type()
    # The first try hangs, then fails: the delivery is still pending, being sent, when it is unsubscribed.
    url = receiver.url(fail_always=True, hang_first=1, hang_seconds=3)
    subscription_id = subscribe(hooks, url, kind)["SubscriptionId"]
    emit_event(installation, kind)
    (first,) = receiver.wait_for(url, 1)

    said = hooks.cli("events", "unsubscribe", subscription_id).stdout
    assert "1 pending" in said
    assert deliveries_of(installation, subscription_id) == []
    emit_event(installation, kind)
    # The hanging try fails; no retry follows (it would within a second), nor a delivery of the new event.
    time.sleep(max(0.0, first.at + 3 + 1.2 - time.time()))
    assert len(receiver.seen(url)) == 1
    assert deliveries_of(installation, subscription_id) == []
    assert subscription_id not in hooks.cli("events", "list").stdout


# --- durability -----------------------------------------------------------------------


def test_deliveries_survive_a_stop_and_a_crash(tmp_path, database_url_factory, receiver):
    """Events emitted while the server is down, or being sent when it died, are delivered after a restart."""
    home, database_url = tmp_path / "home", database_url_factory()
    # A short lease, so that a send cut off by a crash is retried soon after the restart.
    server = start_fast_server(home, database_url, CHARTER_WEBHOOK_LEASE_SECONDS="2")
    installation = open_installation(server)
    try:
        plain, slow = event_type(), event_type()
        steady = receiver.url()
        hanging = receiver.url(hang_first=1, hang_seconds=4)
        steady_id = subscribe(server, steady, plain)["SubscriptionId"]
        hanging_id = subscribe(server, hanging, slow)["SubscriptionId"]

        # 1. Stopped: the event waits in the database and goes out once the server is back.
        stop_server(server)
        # uvicorn re-raises the SIGTERM it handled; a worker that hung the shutdown would have been killed (-9).
        assert server.process.returncode in (0, -signal.SIGTERM), "the server and its webhook worker did not stop"
        while_down = emit_event(installation, plain)
        (pending,) = deliveries_of(installation, steady_id)
        assert pending["Status"] == "Pending" and pending["Attempts"] == 0
        server = start_fast_server(home, database_url, CHARTER_WEBHOOK_LEASE_SECONDS="2")
        (request,) = receiver.wait_for(steady, 1)
        assert request.event == while_down
        wait_for_deliveries(installation, steady_id, lambda d: d[0]["Status"] == "Delivered")

        # 2. Killed in the middle of a send: the claimed delivery is retried after its lease.
        cut_off = emit_event(installation, slow)
        receiver.wait_for(hanging, 1)
        server.process.kill()
        server.process.wait(timeout=15)
        (claimed,) = deliveries_of(installation, hanging_id)
        assert claimed["Status"] == "Pending" and claimed["Attempts"] == 1
        server = start_fast_server(home, database_url, CHARTER_WEBHOOK_LEASE_SECONDS="2")
        requests = receiver.wait_for(hanging, 2)
        assert [r.event["id"] for r in requests] == [cut_off["id"], cut_off["id"]]
        assert [r.headers["x-charter-attempt"] for r in requests] == ["1", "2"]
        (delivery,) = wait_for_deliveries(installation, hanging_id, lambda d: d[0]["Status"] == "Delivered")
        assert delivery["Attempts"] == 2
    finally:
        installation.close()
        if server.process.poll() is None:
            stop_server(server)


# --- the sender on the job engine, driven step by step ------------------------------


@pytest.fixture(scope="module")
def quiet(tmp_path_factory, database_url_factory):
    """An installation no server sends for: the test's own engines are the only senders."""
    instance = Instance.from_env(home=str(tmp_path_factory.mktemp("quiet")), database_url=database_url_factory())
    yield instance
    instance.close()


def sender(instance: Instance, *, lease: float = 30.0):
    config = WebhookConfig(backoff_base=BACKOFF_BASE, max_attempts=MAX_ATTEMPTS, lease_seconds=lease, timeout_seconds=5)
    return WebhookWorker(instance, config)


def quiet_subscription(instance: Instance, url: str) -> tuple[str, str]:
    kind = event_type()
    with instance.transaction() as conn:
        subscription_id, _secret = subs.subscribe(conn, instance.keyring, url, [kind])
    emit_event(instance, kind)
    return subscription_id, kind


def test_a_clean_stop_hands_a_claimed_delivery_back_without_counting_the_attempt(quiet, receiver):
    url = receiver.url()
    subscription_id, _ = quiet_subscription(quiet, url)
    stopping = sender(quiet, lease=300)
    assert stopping._claim() is not None
    (claimed,) = deliveries_of(quiet, subscription_id)
    assert claimed["Attempts"] == 1 and claimed["NextAttemptAt"] > time.time() + 200
    assert stopping.release() == 1
    (handed_back,) = deliveries_of(quiet, subscription_id)
    assert handed_back["Status"] == "Pending" and handed_back["Attempts"] == 0
    assert handed_back["NextAttemptAt"] <= time.time()

    assert sender(quiet).run_once()  # due at once, and sent as the first attempt
    (request,) = receiver.wait_for(url, 1)
    assert request.headers["x-charter-attempt"] == "1"
    (delivery,) = wait_for_deliveries(quiet, subscription_id, lambda d: d[0]["Status"] == "Delivered")
    assert delivery["Attempts"] == 1


def test_a_late_outcome_after_a_takeover_is_ignored(quiet, receiver):
    url = receiver.url(fail_always=True)
    subscription_id, _ = quiet_subscription(quiet, url)
    crashed = sender(quiet, lease=0.2)
    claimed = crashed._claim()  # claims, then "hangs" past its lease
    assert claimed is not None and not sender(quiet).run_once()  # the lease holds
    time.sleep(0.3)
    assert sender(quiet).run_once()  # taken over: attempt 2, which fails
    (retrying,) = wait_for_deliveries(quiet, subscription_id, lambda d: d[0]["LastError"] is not None)
    assert retrying["Status"] == "Pending" and retrying["Attempts"] == 2
    crashed._finish(claimed.key, Outcome("Delivered"))  # the first attempt's answer, too late to count
    assert deliveries_of(quiet, subscription_id) == [retrying]
    assert [r.headers["x-charter-attempt"] for r in receiver.seen(url)] == ["2"]
    unsubscribe(quiet, subscription_id)


def test_a_delivery_whose_every_attempt_died_ends_failed(quiet, receiver):
    url = receiver.url()
    subscription_id, _ = quiet_subscription(quiet, url)
    for _ in range(MAX_ATTEMPTS):  # claims whose processes "die" mid-send
        assert sender(quiet, lease=0.01)._claim() is not None
        time.sleep(0.02)
    assert not sender(quiet).run_once()
    (delivery,) = deliveries_of(quiet, subscription_id)
    assert delivery["Status"] == "Failed" and delivery["Attempts"] == MAX_ATTEMPTS
    assert "interrupted" in delivery["LastError"] and receiver.seen(url) == []
