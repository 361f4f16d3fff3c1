"""Every path of the endpoint answers in AWS's shape, and every response carries one Date.

* sagemaker-runtime (InvokeEndpoint, its async and streaming forms): an endpoint
  that does not exist gets SageMaker Runtime's own answer, 400 ValidationError
  "Endpoint <name> of account <account> not found.", after the same
  authentication and authorization as every other request;
* a path or method no API has: 404 UnknownOperationException once signed,
  403 MissingAuthenticationTokenException before;
* ``GET /``: what this server is and how to point a client at it.
"""

from __future__ import annotations

import http.client
import json
import uuid
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import httpx
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from conftest import ADMIN_KEY, ADMIN_SECRET, REGION

ACCOUNT = "123456789012"


def runtime_client(charter, key: str = ADMIN_KEY, secret: str = ADMIN_SECRET):
    return charter.client(key, secret, service="sagemaker-runtime")


def signed(charter, method: str, path: str, body: bytes = b"", headers: dict | None = None, *, secret: str = ADMIN_SECRET):
    """A request signed as botocore signs one for the ``sagemaker`` signing name."""
    request = AWSRequest(method=method, url=f"{charter.endpoint}{path}", data=body, headers=headers or {})
    SigV4Auth(Credentials(ADMIN_KEY, secret), "sagemaker", REGION).add_auth(request)
    return httpx.request(method, request.url, content=body, headers=dict(request.headers.items()))


def error_of(call, **kwargs) -> ClientError:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    return caught.value


def keys_of(charter, name: str, persona: str) -> tuple[str, str]:
    created = json.loads(charter.cli("iam", "create-user", name, "--persona", persona).stdout)
    return created["AccessKeyId"], created["SecretAccessKey"]


def audit_rows(charter, operation: str) -> list[dict]:
    out = charter.cli("audit", "tail", "--operation", operation, "--json", "--limit", "200").stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


# --- sagemaker-runtime -------------------------------------------------------------------


@pytest.mark.parametrize(
    "method, kwargs",
    [
        ("invoke_endpoint", {"Body": b"1.0,2.0", "ContentType": "text/csv", "Accept": "text/csv"}),
        ("invoke_endpoint_async", {"InputLocation": "s3://charter-test/async/input.csv", "ContentType": "text/csv"}),
        ("invoke_endpoint_with_response_stream", {"Body": b'{"inputs": "hi"}', "ContentType": "application/json"}),
    ],
)
def test_invoking_an_endpoint_that_does_not_exist_answers_as_sagemaker_runtime_does(charter, method, kwargs):
    rt = runtime_client(charter)
    name = f"Churn-Endpoint-{uuid.uuid4().hex[:6]}"
    with pytest.raises(rt.exceptions.ValidationError) as caught:
        getattr(rt, method)(EndpointName=name, **kwargs)
    response = caught.value.response
    assert response["Error"] == {"Code": "ValidationError", "Message": f"Endpoint {name} of account {ACCOUNT} not found."}
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-errortype"] == "ValidationError"
    assert response["ResponseMetadata"]["RequestId"]


def test_the_runtime_error_is_rest_json_on_the_wire(charter):
    answer = signed(charter, "POST", "/endpoints/fraud/invocations", b"1,2", {"Content-Type": "text/csv"})
    assert answer.status_code == 400
    assert answer.headers["content-type"] == "application/json"
    assert answer.headers["x-amzn-errortype"] == "ValidationError"
    assert answer.json()["message"] == f"Endpoint fraud of account {ACCOUNT} not found."


def test_an_endpoint_name_the_model_refuses_is_a_validation_error_naming_the_member(charter):
    error = error_of(runtime_client(charter).invoke_endpoint, EndpointName="not_valid!", Body=b"1")
    assert error.response["Error"]["Code"] == "ValidationError"
    assert "Value 'not_valid!' at 'endpointName' failed to satisfy constraint" in error.response["Error"]["Message"]


def test_a_too_long_custom_attributes_header_is_refused(charter):
    error = error_of(runtime_client(charter).invoke_endpoint, EndpointName="fraud", Body=b"1", CustomAttributes="x" * 1025)
    assert error.response["Error"]["Code"] == "ValidationError"
    assert "customAttributes" in error.response["Error"]["Message"]


@pytest.mark.parametrize("path", ["/endpoints/x/invocations", "/endpoints/x/async-invocations", "/endpoints/x/invocations-response-stream"])
def test_an_unsigned_invocation_gets_the_aws_authentication_error(charter, path):
    answer = httpx.post(f"{charter.endpoint}{path}", content=b"1,2", headers={"Content-Type": "text/csv"})
    assert answer.status_code == 403
    assert answer.headers["x-amzn-errortype"] == "MissingAuthenticationTokenException"
    assert answer.json()["__type"] == "MissingAuthenticationTokenException"


def test_a_wrong_secret_is_refused_before_anything_else(charter):
    error = error_of(runtime_client(charter, secret="not-the-secret").invoke_endpoint, EndpointName="fraud", Body=b"1")
    assert error.response["Error"]["Code"] == "InvalidSignatureException"


def test_invoking_needs_the_invoke_permission(charter):
    suffix = uuid.uuid4().hex[:6]
    labeler = runtime_client(charter, *keys_of(charter, f"wire-labeler-{suffix}", "labeler"))
    error = error_of(labeler.invoke_endpoint, EndpointName="Fraud", Body=b"1")
    assert error.response["Error"]["Code"] == "AccessDeniedException"
    message = error.response["Error"]["Message"]
    assert "sagemaker:InvokeEndpoint" in message and f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/fraud" in message
    # The streaming form is authorized as InvokeEndpoint too, as AWS documents.
    error = error_of(labeler.invoke_endpoint_with_response_stream, EndpointName="Fraud", Body=b"1")
    assert "sagemaker:InvokeEndpoint " in error.response["Error"]["Message"]

    mlops = runtime_client(charter, *keys_of(charter, f"wire-mlops-{suffix}", "mlops-engineer"))
    error = error_of(mlops.invoke_endpoint, EndpointName="Fraud", Body=b"1")
    assert error.response["Error"]["Code"] == "ValidationError"


def test_invocations_are_audited_against_the_endpoint_arn(charter):
    name = f"Audited-{uuid.uuid4().hex[:6]}"
    error_of(runtime_client(charter).invoke_endpoint, EndpointName=name, Body=b"1")
    rows = [row for row in audit_rows(charter, "InvokeEndpoint") if row["resource_arn"] and row["resource_arn"].endswith(name.lower())]
    assert len(rows) == 1
    row = rows[0]
    assert row["resource_arn"] == f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/{name.lower()}"
    assert (row["outcome"], row["status_code"], row["error_code"]) == ("Failed", 400, "ValidationError")
    assert row["user_name"] == "admin" and row["access_key_id"] == ADMIN_KEY


# --- paths and methods no API has ---------------------------------------------------------------


@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", "/no/such/path"),
        ("PUT", "/"),
        ("DELETE", "/"),
        ("GET", "/endpoints/fraud/invocations"),  # right path, wrong method
        ("POST", "/endpoints/fraud/invocations/extra"),
        ("PATCH", "/health"),
        ("GET", "/"),  # a signed GET / is an API request, and no API has it
    ],
)
def test_a_signed_request_no_api_has_is_an_unknown_operation(charter, method, path):
    answer = signed(charter, method, path)
    assert answer.status_code == 404
    assert answer.headers["x-amzn-errortype"] == "UnknownOperationException"
    assert answer.headers["x-amzn-requestid"]
    body = answer.json()
    assert body["__type"] == "UnknownOperationException"
    assert f"{method} {path} is not an operation" in body["message"]


@pytest.mark.parametrize("method, path", [("GET", "/favicon.ico"), ("POST", "/nothing"), ("DELETE", "/health"), ("OPTIONS", "/")])
def test_an_unsigned_request_no_api_has_is_refused_for_its_missing_signature(charter, method, path):
    answer = httpx.request(method, f"{charter.endpoint}{path}")
    assert answer.status_code == 403
    assert answer.headers["x-amzn-errortype"] == "MissingAuthenticationTokenException"
    assert "GET / describes" in answer.json()["message"]


def test_a_badly_signed_request_to_an_unknown_path_is_refused_for_its_signature(charter):
    answer = signed(charter, "GET", "/no/such/path", secret="not-the-secret")
    assert answer.status_code == 400
    assert answer.headers["x-amzn-errortype"] == "InvalidSignatureException"


def test_unknown_requests_that_were_signed_are_audited(charter):
    path = f"/nowhere-{uuid.uuid4().hex[:6]}"
    signed(charter, "GET", path)
    httpx.get(f"{charter.endpoint}{path}-unsigned")
    rows = [row for row in audit_rows(charter, "(unknown)") if path in (row["error_message"] or "")]
    assert [(row["status_code"], row["error_code"], row["user_name"]) for row in rows] == [
        (404, "UnknownOperationException", "admin")
    ]


def test_an_unknown_target_on_the_control_plane_stays_a_400(charter):
    answer = signed(
        charter,
        "POST",
        "/",
        b"{}",
        {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "SageMaker.NoSuchOperation"},
    )
    assert answer.status_code == 400
    assert answer.json()["__type"] == "UnknownOperationException"


# --- GET / ---------------------------------------------------------------------------------------


def test_get_root_tells_a_client_what_this_server_is(charter):
    answer = httpx.get(f"{charter.endpoint}/")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    document = answer.json()
    assert document["service"] == "Charter"
    assert document["account"] == ACCOUNT and document["region"] == REGION
    assert document["endpoint_url"] == charter.endpoint
    assert document["client_setup"]["AWS_ENDPOINT_URL"] == charter.endpoint
    assert document["version"]
    assert document["docs"]["sagemaker_api_reference"].startswith("https://docs.aws.amazon.com/sagemaker/")
    assert ADMIN_KEY not in answer.text and ADMIN_SECRET not in answer.text  # keys are never shown


def test_get_root_from_a_browser_goes_to_the_console(charter):
    accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    answer = httpx.get(f"{charter.endpoint}/", headers={"Accept": accept})
    assert answer.status_code == 302 and answer.headers["location"] == "/console/"
    page = httpx.get(f"{charter.endpoint}/console/sign-in", headers={"Accept": accept})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "<h1 id=\"signin-title\">Sign in</h1>" in page.text
    assert f"<code>{charter.endpoint}</code>" in page.text  # where the API is


def test_the_page_escapes_what_the_client_sent(charter):
    answer = httpx.get(f"{charter.endpoint}/console/sign-in", headers={"Accept": "text/html", "Host": "<script>alert(1)</script>"})
    assert "<script>alert" not in answer.text
    assert "&lt;script&gt;" in answer.text


def test_head_root_answers_like_get(charter):
    answer = httpx.head(f"{charter.endpoint}/")
    assert answer.status_code == 200 and answer.content == b""


def test_the_health_check_still_answers(charter):
    assert httpx.get(f"{charter.endpoint}/health").json() == {"status": "ok", "service": "charter"}


# --- one Date header ---------------------------------------------------------------------------------


def raw_headers(charter, method: str, path: str, body: bytes = b"", headers: dict | None = None) -> list[tuple[str, str]]:
    """Every header line of the answer, repeats kept (http.client, not a client that merges them)."""
    if headers is None:  # unsigned
        send_headers = {}
    else:
        request = AWSRequest(method=method, url=f"{charter.endpoint}{path}", data=body, headers=headers)
        SigV4Auth(Credentials(ADMIN_KEY, ADMIN_SECRET), "sagemaker", REGION).add_auth(request)
        send_headers = dict(request.headers.items())
    where = urlsplit(charter.endpoint)
    connection = http.client.HTTPConnection(where.hostname, where.port, timeout=30)
    try:
        connection.request(method, path, body=body, headers=send_headers)
        response = connection.getresponse()
        response.read()
        return response.getheaders()
    finally:
        connection.close()


JSON_11 = {"Content-Type": "application/x-amz-json-1.1"}


@pytest.mark.parametrize(
    "method, path, body, headers",
    [
        ("POST", "/", b"{}", {**JSON_11, "X-Amz-Target": "SageMaker.ListModelPackageGroups"}),  # success
        ("POST", "/", b"{}", {**JSON_11, "X-Amz-Target": "SageMaker.DescribeModelPackageGroup"}),  # validation error
        ("POST", "/", b"{}", None),  # unsigned control plane
        ("POST", "/endpoints/fraud/invocations", b"1", {"Content-Type": "text/csv"}),
        ("GET", "/no/such/path", b"", {}),
        ("GET", "/no/such/path", b"", None),
        ("GET", "/", b"", None),
        ("GET", "/health", b"", None),
    ],
)
def test_every_response_carries_exactly_one_date(charter, method, path, body, headers):
    dates = [value for name, value in raw_headers(charter, method, path, body, headers) if name.lower() == "date"]
    assert len(dates) == 1, dates
    assert parsedate_to_datetime(dates[0]).tzinfo is not None
