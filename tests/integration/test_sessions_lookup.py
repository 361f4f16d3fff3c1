"""Temporary keys at the lookup the SigV4 check uses, with an injected clock, on the backend under test."""

from __future__ import annotations

import pytest

from charter.errors import ExpiredToken
from charter.iam import identities, sessions
from charter.instance import Instance

T0 = 1_800_000_000.0


@pytest.fixture(scope="module")
def instance(tmp_path_factory, database_url_factory):
    instance = Instance.from_env(home=str(tmp_path_factory.mktemp("sessions")), database_url=database_url_factory())
    yield instance
    instance.close()


@pytest.fixture(scope="module")
def issued(instance):
    with instance.transaction() as conn:
        role = identities.create_principal(conn, account="123456789012", kind="role", name="clocked", path="/ml/")
        credentials = sessions.create(
            conn, instance.keyring, role, session_name="tick", duration_seconds=900, assumed_by="arn:aws:iam::123456789012:user/admin",
            now=T0,
        )
    return role, credentials


def lookup(instance, key, token, at):
    with instance.transaction(write=False) as conn:
        return identities.lookup_key(conn, instance.keyring, key, token, clock=lambda: at)


def test_a_session_key_works_with_its_token_until_its_expiry(instance, issued):
    role, credentials = issued
    assert role.arn == "arn:aws:iam::123456789012:role/ml/clocked"
    assert credentials.expiration == T0 + 900
    secret, caller = lookup(instance, credentials.access_key_id, credentials.session_token, T0 + 899)
    assert secret == credentials.secret_access_key
    assert caller.arn == "arn:aws:sts::123456789012:assumed-role/clocked/tick"
    assert caller.caller_id == f"{role.unique_id}:tick"
    assert caller.kind == "role" and caller.name == "clocked"
    with instance.transaction(write=False) as conn:  # the session has its role's policies
        assert sessions.role_arn_of(conn, caller.arn) == role.arn


@pytest.mark.parametrize("after", [900, 901, 86400])
def test_a_session_key_is_expired_from_its_expiry_on(instance, issued, after):
    _, credentials = issued
    with pytest.raises(ExpiredToken) as expired:
        lookup(instance, credentials.access_key_id, credentials.session_token, T0 + after)
    assert expired.value.message == "The security token included in the request is expired"


def test_a_session_key_without_its_own_token_is_unknown(instance, issued):
    _, credentials = issued
    assert lookup(instance, credentials.access_key_id, None, T0) is None
    assert lookup(instance, credentials.access_key_id, credentials.session_token + "x", T0) is None
    assert lookup(instance, "ASIA" + "Z" * 16, credentials.session_token, T0) is None
