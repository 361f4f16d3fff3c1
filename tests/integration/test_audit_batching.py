"""Audit rows of reads and refusals are batched, durable within a second; a write's row commits with it."""

from __future__ import annotations

import json
import time

import pytest

from charter.api.gateway import Gateway, WireRequest
from charter.iam import sigv4
from charter.instance import Instance
from charter.services.iam_admin import create_user
from charter.store import audit

ENDPOINT = "http://127.0.0.1:8642"


@pytest.fixture()
def setup(tmp_path, database_url_factory):
    instance = Instance.from_env(home=str(tmp_path), database_url=database_url_factory())
    with instance.transaction() as conn:
        _, key = create_user(conn, instance.keyring, account=instance.settings.account_id, name="reader", persona="admin")
    gateway = Gateway(instance)
    yield instance, gateway, key
    gateway.access.close()
    instance.close()


def _call(gateway, key, operation: str, body: dict):
    payload = json.dumps(body).encode()
    headers = {"content-type": "application/x-amz-json-1.1", "x-amz-target": f"SageMaker.{operation}", "host": "127.0.0.1:8642"}
    signed = sigv4.sign_request("POST", ENDPOINT + "/", headers, payload, key.access_key_id, key.secret_access_key, "us-east-1")
    headers.update({name.lower(): value for name, value in signed.items()})
    return gateway.handle(WireRequest("POST", "/", "", headers, payload, "127.0.0.1"))


def _operations(instance) -> list[str]:
    with instance.transaction(write=False) as conn:
        return [event.operation for event in audit.events(conn, user="reader", limit=50)]


def test_a_write_is_on_record_when_it_is_answered(setup):
    instance, gateway, key = setup
    assert _call(gateway, key, "CreateModelPackageGroup", {"ModelPackageGroupName": "written"}).status == 200
    assert _operations(instance) == ["CreateModelPackageGroup"]  # no wait: it committed with the group


def test_reads_and_refusals_are_on_record_within_a_second(setup):
    instance, gateway, key = setup
    _call(gateway, key, "CreateModelPackageGroup", {"ModelPackageGroupName": "read-me"})
    assert _call(gateway, key, "DescribeModelPackageGroup", {"ModelPackageGroupName": "read-me"}).status == 200
    assert _call(gateway, key, "DescribeModelPackageGroup", {"ModelPackageGroupName": "absent"}).status == 400
    deadline = time.monotonic() + 1.0
    while _operations(instance) != ["CreateModelPackageGroup", "DescribeModelPackageGroup", "DescribeModelPackageGroup"]:
        assert time.monotonic() < deadline, _operations(instance)
        time.sleep(0.05)


def test_closing_writes_what_is_buffered(setup):
    instance, gateway, key = setup
    audit_buffer = gateway.access.audit_buffer
    for _ in range(20):
        _call(gateway, key, "ListModelPackageGroups", {})
    audit_buffer.close()
    assert _operations(instance).count("ListModelPackageGroups") == 20
