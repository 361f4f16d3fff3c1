"""The webhook signature scheme, as a receiver checks it, and the retry schedule."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest

from charter.runtime.webhooks import backoff_delay, sign, verify_signature
from charter.services.subscriptions import new_secret, validate_url
from charter.errors import ValidationException

SECRET = "whsec_test-secret-0123456789"
BODY = json.dumps({"version": "0", "id": "e-1", "detail-type": "Thing Changed", "detail": {"a": 1}}).encode()


def test_signature_is_hmac_sha256_of_timestamp_dot_body():
    timestamp = 1_700_000_000
    expected = hmac.new(SECRET.encode(), f"{timestamp}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, timestamp, BODY) == f"v1={expected}"
    # str and bytes bodies, int and str timestamps sign the same
    assert sign(SECRET, str(timestamp), BODY.decode()) == f"v1={expected}"


def test_a_fresh_signature_verifies():
    now = int(time.time())
    header = sign(SECRET, now, BODY)
    assert verify_signature(SECRET, now, BODY, header)
    assert verify_signature(SECRET, str(now), BODY.decode(), header)


def test_tampered_body_is_refused():
    now = int(time.time())
    header = sign(SECRET, now, BODY)
    tampered = BODY.replace(b'"a": 1', b'"a": 2')
    assert tampered != BODY
    assert not verify_signature(SECRET, now, tampered, header)


def test_wrong_secret_and_moved_timestamp_are_refused():
    now = int(time.time())
    header = sign(SECRET, now, BODY)
    assert not verify_signature(SECRET + "x", now, BODY, header)
    # the timestamp is signed: presenting the same MAC with another timestamp fails
    assert not verify_signature(SECRET, now - 1, BODY, header)


def test_old_and_future_timestamps_are_refused():
    now = 1_700_000_000
    old = now - 301
    assert not verify_signature(SECRET, old, BODY, sign(SECRET, old, BODY), now=now)
    assert verify_signature(SECRET, now - 299, BODY, sign(SECRET, now - 299, BODY), now=now)
    future = now + 301
    assert not verify_signature(SECRET, future, BODY, sign(SECRET, future, BODY), now=now)
    # the receiver chooses its tolerance
    assert verify_signature(SECRET, old, BODY, sign(SECRET, old, BODY), tolerance=600, now=now)


@pytest.mark.parametrize("header", ["", "v1=", "deadbeef", "v0=" + "0" * 64, "v1=" + "0" * 64])
def test_malformed_or_wrong_headers_are_refused(header):
    assert not verify_signature(SECRET, int(time.time()), BODY, header)


@pytest.mark.parametrize("timestamp", ["", "soon", "1.5e9", None])
def test_unparseable_timestamp_is_refused(timestamp):
    assert not verify_signature(SECRET, timestamp, BODY, sign(SECRET, int(time.time()), BODY))


def test_any_of_several_signatures_may_match():
    now = int(time.time())
    header = f"v1={'0' * 64}, {sign(SECRET, now, BODY)}"
    assert verify_signature(SECRET, now, BODY, header)


def test_secrets_are_long_random_and_distinct():
    first, second = new_secret(), new_secret()
    assert first != second
    assert first.startswith("whsec_") and len(first) >= 40


def test_backoff_doubles_with_jitter_and_is_capped():
    assert backoff_delay(1, 1.0, rand=lambda: 1.0) == 2.0
    assert backoff_delay(3, 1.0, rand=lambda: 1.0) == 8.0
    assert backoff_delay(3, 1.0, rand=lambda: 0.0) == 4.0  # jitter keeps at least half
    assert backoff_delay(2, 0.2, rand=lambda: 1.0) == pytest.approx(0.8)
    assert backoff_delay(40, 1.0, rand=lambda: 1.0) == 3600.0
    assert backoff_delay(10_000, 1.0, rand=lambda: 1.0) == 3600.0
    for attempts in range(1, 12):
        assert 0.5 * min(3600, 2**attempts) <= backoff_delay(attempts, 1.0) <= min(3600, 2**attempts)


@pytest.mark.parametrize(
    "url, complaint",
    [
        ("ftp://hooks.example.com/x", "http or https"),
        ("hooks.example.com/x", "http or https"),
        ("http:///path", "no host"),
        ("https://", "no host"),
        ("", "empty"),
        ("http://exa mple.com/", "whitespace"),
        ("http://example.com:99999/", "not a valid URL"),
        ("https://example.com/x#frag", "fragment"),
    ],
)
def test_bad_webhook_urls_are_explained(url, complaint):
    with pytest.raises(ValidationException, match=complaint):
        validate_url(url)


def test_good_webhook_urls_pass():
    for url in ("http://127.0.0.1:8080/hook", "https://hooks.example.com/charter?team=ml", "HTTPS://Example.com"):
        assert validate_url(url) == url
