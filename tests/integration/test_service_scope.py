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


@pytest.mark.parametrize("service", ["logs", "sagemaker", "iam"])
def test_a_body_past_the_limit_is_refused_in_the_faces_own_protocol(charter, service):
    from charter.api.app import MAX_BODY

    client = charter.client(service=service)
    huge = "x" * (MAX_BODY + 1)
    with pytest.raises(ClientError) as raised:
        if service == "logs":
            client.put_log_events(logGroupName="g", logStreamName="s", logEvents=[{"timestamp": 1, "message": huge}])
        elif service == "sagemaker":
            client.create_model_package_group(ModelPackageGroupName="big", ModelPackageGroupDescription=huge)
        else:
            client.create_role(RoleName="big", AssumeRolePolicyDocument=huge)
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413
    assert raised.value.response["Error"]["Code"] == "RequestEntityTooLarge"
    assert f"{MAX_BODY:,} bytes" in raised.value.response["Error"]["Message"]
    request_id = raised.value.response["ResponseMetadata"]["RequestId"]
    assert _audited_code(charter, request_id) == "RequestEntityTooLarge"
    assert charter.client(service="sts").get_caller_identity()["Account"]  # and the server answers on


def _audited_code(charter, request_id: str, wait: float = 3.0) -> str | None:
    """The error code of a request's audit row, once its batch is written."""
    import time

    from sqlalchemy import create_engine, select

    from charter.store.schema import audit_events

    engine = create_engine(charter.env["CHARTER_DATABASE_URL"])
    try:
        deadline = time.monotonic() + wait
        while True:
            with engine.connect() as conn:
                code = conn.execute(select(audit_events.c.error_code).where(audit_events.c.request_id == request_id)).scalar()
            if code is not None or time.monotonic() > deadline:
                return code
            time.sleep(0.1)
    finally:
        engine.dispose()
