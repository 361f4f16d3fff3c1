"""charter.settings: every knob of Charter read once from CHARTER_* variables, typed and checked."""

from __future__ import annotations

import pytest

from charter.runtime.webhooks import WebhookConfig
from charter.settings import Settings

KNOBS = (
    "CHARTER_S3_ENDPOINT_URL",
    "CHARTER_WEBHOOK_BACKOFF_BASE_SECONDS",
    "CHARTER_WEBHOOK_MAX_ATTEMPTS",
    "CHARTER_WEBHOOK_LEASE_SECONDS",
    "CHARTER_WEBHOOK_TIMEOUT_SECONDS",
    "CHARTER_CARD_EXPORT_LEASE_SECONDS",
)


@pytest.fixture
def clean(monkeypatch, tmp_path):
    for name in KNOBS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CHARTER_HOME", str(tmp_path))
    return monkeypatch


def test_defaults(clean):
    settings = Settings.from_env()
    assert settings.s3_endpoint_url is None
    assert (settings.webhook_backoff_base_seconds, settings.webhook_max_attempts) == (1.0, 10)
    assert (settings.webhook_lease_seconds, settings.webhook_timeout_seconds) == (60.0, 10.0)
    assert settings.card_export_lease_seconds == 120.0
    assert WebhookConfig.from_settings(settings) == WebhookConfig()


def test_each_knob_is_read_from_its_variable(clean):
    clean.setenv("CHARTER_S3_ENDPOINT_URL", "http://minio:9000")
    clean.setenv("CHARTER_WEBHOOK_BACKOFF_BASE_SECONDS", "0.2")
    clean.setenv("CHARTER_WEBHOOK_MAX_ATTEMPTS", "3")
    clean.setenv("CHARTER_WEBHOOK_LEASE_SECONDS", "2")
    clean.setenv("CHARTER_WEBHOOK_TIMEOUT_SECONDS", "4.5")
    clean.setenv("CHARTER_CARD_EXPORT_LEASE_SECONDS", "30")
    settings = Settings.from_env()
    assert settings.s3_endpoint_url == "http://minio:9000"
    assert settings.card_export_lease_seconds == 30.0
    config = WebhookConfig.from_settings(settings)
    assert (config.backoff_base, config.max_attempts, config.lease_seconds, config.timeout_seconds) == (0.2, 3, 2.0, 4.5)
    assert isinstance(config.max_attempts, int)


@pytest.mark.parametrize(
    "name, value, message",
    [
        ("CHARTER_WEBHOOK_MAX_ATTEMPTS", "ten", "CHARTER_WEBHOOK_MAX_ATTEMPTS='ten' is not a number"),
        ("CHARTER_WEBHOOK_MAX_ATTEMPTS", "2.5", "is not a number"),
        ("CHARTER_WEBHOOK_LEASE_SECONDS", "0", "CHARTER_WEBHOOK_LEASE_SECONDS must be positive, not '0'"),
        ("CHARTER_CARD_EXPORT_LEASE_SECONDS", "-1", "CHARTER_CARD_EXPORT_LEASE_SECONDS must be positive"),
        ("CHARTER_WEBHOOK_TIMEOUT_SECONDS", "soon", "is not a number"),
    ],
)
def test_a_bad_value_is_refused_at_start_up_naming_the_variable(clean, name, value, message):
    clean.setenv(name, value)
    with pytest.raises(RuntimeError, match=message):
        Settings.from_env()


def test_an_empty_variable_means_the_default(clean):
    clean.setenv("CHARTER_CARD_EXPORT_LEASE_SECONDS", "")
    clean.setenv("CHARTER_S3_ENDPOINT_URL", "")
    settings = Settings.from_env()
    assert settings.card_export_lease_seconds == 120.0 and settings.s3_endpoint_url is None


def test_the_console_knobs(clean):
    defaults = Settings.from_env()
    assert defaults.console_session_seconds == 43200.0
    assert (defaults.console_signin_failures_per_user, defaults.console_signin_failures_per_address) == (5, 20)
    assert defaults.console_signin_window_seconds == 900.0
    clean.setenv("CHARTER_CONSOLE_SESSION_SECONDS", "600")
    clean.setenv("CHARTER_CONSOLE_SIGNIN_FAILURES_PER_USER", "3")
    clean.setenv("CHARTER_CONSOLE_SIGNIN_FAILURES_PER_ADDRESS", "7")
    clean.setenv("CHARTER_CONSOLE_SIGNIN_WINDOW_SECONDS", "60")
    settings = Settings.from_env()
    assert settings.console_session_seconds == 600.0 and settings.console_signin_window_seconds == 60.0
    assert (settings.console_signin_failures_per_user, settings.console_signin_failures_per_address) == (3, 7)
    clean.setenv("CHARTER_CONSOLE_SIGNIN_FAILURES_PER_USER", "0")
    with pytest.raises(RuntimeError, match="CHARTER_CONSOLE_SIGNIN_FAILURES_PER_USER must be positive"):
        Settings.from_env()
