"""One endpoint, many services: the SigV4 credential scope says which face answers."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError


def test_a_service_charter_does_not_serve_is_named_in_the_answer(charter):
    dynamodb = charter.client(service="dynamodb")
    with pytest.raises(ClientError) as raised:
        dynamodb.list_tables()
    error = raised.value.response["Error"]
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert error["Code"] == "UnknownOperationException"
    assert "'dynamodb'" in error["Message"] and "S3" in error["Message"]


def test_a_bad_signature_for_another_service_is_still_refused(charter):
    dynamodb = charter.client("AKIAUNKNOWNKEY000000", "wrong", service="dynamodb")
    with pytest.raises(ClientError) as raised:
        dynamodb.list_tables()
    assert raised.value.response["Error"]["Code"] == "UnrecognizedClientException"
