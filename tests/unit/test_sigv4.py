"""SigV4 verification (charter.iam.sigv4) against botocore as an independent signer.

Requests are signed the way users' tools sign them: real boto3 clients (the
request is captured just before it would hit the network) and botocore's
``SigV4Auth`` / ``SigV4QueryAuth`` on hand-built ``AWSRequest`` objects.  botocore
is only the oracle here; the module under test is written by hand.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

import boto3
import botocore.auth
import pytest
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from charter.errors import IncompleteSignature, InvalidSignature, MissingAuthenticationToken, UnrecognizedClient
from charter.iam import sigv4
from charter.iam.sigv4 import VerifiedRequest, sign_request, verify_request

AKID = "AKIAIOSFODNN7EXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
TOKEN = "FwoGZXIvYXdzEJr//////////wEaDM+token/with+odd=chars"
REGION = "us-east-1"
ENDPOINT = "http://127.0.0.1:8642"
FIXED = datetime(2026, 1, 1, 0, 0, 0, tzinfo=timezone.utc)


def lookup(key_id: str) -> str | None:
    return {AKID: SECRET}.get(key_id)


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------


class Wire:
    """One HTTP request as the server receives it."""

    def __init__(self, method, url, headers, body):
        parts = urlsplit(url)
        self.method = method
        self.path = parts.path or "/"
        self.query = parts.query
        self.headers = {
            (k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
            for k, v in dict(headers).items()
        }
        if not any(k.lower() == "host" for k in self.headers):
            # The HTTP client (urllib3) adds Host; botocore signs that value.
            self.headers["Host"] = parts.netloc
        if body is None:
            body = b""
        self.body = body.encode() if isinstance(body, str) else bytes(body)

    def verify(self, **kw) -> VerifiedRequest:
        kw.setdefault("lookup_secret", lookup)
        return verify_request(self.method, self.path, self.query, self.headers, self.body, **kw)

    def header(self, name):
        return next(v for k, v in self.headers.items() if k.lower() == name.lower())

    def set_header(self, name, value):
        for k in list(self.headers):
            if k.lower() == name.lower():
                del self.headers[k]
        self.headers[name] = value


class _Captured(Exception):
    def __init__(self, request):
        self.request = request


def capture(service_name: str, operation: str, *, token: str | None = None, **params) -> Wire:
    """Call a real boto3 client and capture the signed request instead of sending it."""
    client = boto3.session.Session().client(
        service_name,
        endpoint_url=ENDPOINT,
        region_name=REGION,
        aws_access_key_id=AKID,
        aws_secret_access_key=SECRET,
        aws_session_token=token,
        config=Config(retries={"max_attempts": 0}),
    )

    def grab(request, **_):
        raise _Captured(request)

    client.meta.events.register("before-send", grab)
    with pytest.raises(_Captured) as caught:
        getattr(client, operation)(**params)
    req = caught.value.request
    return Wire(req.method, req.url, req.headers.items(), req.body)


@pytest.fixture
def botocore_clock(monkeypatch):
    """Pin the time botocore's signers stamp (they read botocore.auth.get_current_datetime)."""

    def pin(when: datetime):
        monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda *a, **k: when.replace(tzinfo=None))

    return pin


def botocore_sign(method, url, headers=None, body=b"", *, token=None, service="sagemaker",
                  secret=SECRET, region=REGION) -> Wire:
    req = AWSRequest(method=method, url=url, headers=dict(headers or {}), data=body)
    SigV4Auth(Credentials(AKID, secret, token), service, region).add_auth(req)
    return Wire(method, req.url, req.headers.items(), body)


def botocore_presign(method, url, headers=None, *, token=None, expires=3600, service="sagemaker") -> Wire:
    req = AWSRequest(method=method, url=url, headers=dict(headers or {}))
    SigV4QueryAuth(Credentials(AKID, SECRET, token), service, REGION, expires=expires).add_auth(req)
    assert "X-Amz-Signature=" in req.url
    # A presigned URL is used as-is: only Host goes with it.
    return Wire(method, req.url, {"Host": urlsplit(req.url).netloc, **(headers or {})}, b"")


def json_request(target="SageMaker.CreateModel", body=None) -> tuple[dict, bytes]:
    body = body if body is not None else json.dumps({"ModelName": "m1", "ExecutionRoleArn": "arn:x"}).encode()
    headers = {
        "X-Amz-Target": target,
        "Content-Type": "application/x-amz-json-1.1",
        "User-Agent": "Boto3/1.43 test",
    }
    return headers, body


# --------------------------------------------------------------------------
# AWS's published test vector
# --------------------------------------------------------------------------

VANILLA_SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
VANILLA_NOW = datetime(2015, 8, 30, 12, 36, 0, tzinfo=timezone.utc)
VANILLA_SIG = "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
VANILLA_AUTH = (
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
    f"SignedHeaders=host;x-amz-date, Signature={VANILLA_SIG}"
)


def test_aws_test_suite_get_vanilla_verifies():
    headers = {"Host": "example.amazonaws.com", "X-Amz-Date": "20150830T123600Z", "Authorization": VANILLA_AUTH}
    got = verify_request(
        "GET", "/", "", headers, b"",
        {"AKIDEXAMPLE": VANILLA_SECRET}.get, now=VANILLA_NOW, service="service",
    )
    assert got == VerifiedRequest("AKIDEXAMPLE", "us-east-1", "service", VANILLA_NOW, None, payload_hash=hashlib.sha256(b"").hexdigest())


def test_aws_test_suite_get_vanilla_canonical_request_and_signer():
    creq = sigv4.canonical_request(
        "GET", "/", [], {"host": "example.amazonaws.com", "x-amz-date": "20150830T123600Z"},
        ["host", "x-amz-date"], sigv4.EMPTY_SHA256,
    )
    assert creq == (
        "GET\n/\n\n"
        "host:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
        "host;x-amz-date\n"
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )
    added = sign_request(
        "GET", "https://example.amazonaws.com/", {}, b"", "AKIDEXAMPLE", VANILLA_SECRET,
        "us-east-1", service="service", now=VANILLA_NOW,
    )
    assert added == {
        "Host": "example.amazonaws.com",
        "X-Amz-Date": "20150830T123600Z",
        "Authorization": VANILLA_AUTH,
    }


def test_get_vanilla_wrong_signature_rejected():
    headers = {
        "Host": "example.amazonaws.com",
        "X-Amz-Date": "20150830T123600Z",
        "Authorization": VANILLA_AUTH.replace(VANILLA_SIG, "0" * 64),
    }
    with pytest.raises(InvalidSignature) as err:
        verify_request("GET", "/", "", headers, b"", {"AKIDEXAMPLE": VANILLA_SECRET}.get,
                       now=VANILLA_NOW, service="service")
    assert err.value.message == InvalidSignature.SIGNATURE_MISMATCH
    assert err.value.code == "InvalidSignatureException"


# --------------------------------------------------------------------------
# real boto3 clients
# --------------------------------------------------------------------------


def test_boto3_control_plane_json_post_verifies():
    wire = capture("sagemaker", "create_model", ModelName="m1", ExecutionRoleArn="arn:aws:iam::1:role/r",
                   PrimaryContainer={"Image": "img:latest"})
    assert wire.method == "POST" and wire.path == "/"
    assert wire.header("X-Amz-Target") == "SageMaker.CreateModel"
    assert json.loads(wire.body)["ModelName"] == "m1"
    got = wire.verify()
    assert got.access_key_id == AKID
    assert got.region == REGION
    assert got.service == "sagemaker"
    assert got.security_token is None
    assert got.payload_signed is True
    assert got.signed_at.tzinfo is not None
    assert abs((datetime.now(timezone.utc) - got.signed_at).total_seconds()) < 60
    assert got.signed_at == datetime.strptime(wire.header("X-Amz-Date"), "%Y%m%dT%H%M%SZ").replace(
        tzinfo=timezone.utc)


def test_boto3_empty_input_operation_verifies():
    wire = capture("sagemaker", "list_models")
    assert wire.body == b"{}"
    wire.verify()


def test_boto3_runtime_path_with_space_is_double_encoded_and_verifies():
    wire = capture("sagemaker-runtime", "invoke_endpoint", EndpointName="my endpoint",
                   Body=b'{"x": 1}', ContentType="application/json")
    assert wire.path == "/endpoints/my%20endpoint/invocations"
    got = wire.verify()
    assert got.service == "sagemaker"


def test_boto3_runtime_path_with_colon_verifies():
    wire = capture("sagemaker-runtime", "invoke_endpoint", EndpointName="ep:v1",
                   Body=b"1,2,3", ContentType="text/csv")
    assert wire.path == "/endpoints/ep%3Av1/invocations"
    wire.verify()


def test_boto3_query_parameters_verify():
    wire = capture(
        "sagemaker-a2i-runtime", "list_human_loops",
        FlowDefinitionArn="arn:aws:sagemaker:us-east-1:123456789012:flow-definition/my flow",
        SortOrder="Ascending", MaxResults=5,
    )
    assert wire.method == "GET" and wire.path == "/human-loops"
    assert "FlowDefinitionArn=arn%3Aaws%3Asagemaker" in wire.query
    wire.verify()
    # Changing a query parameter breaks the signature.
    wire.query = wire.query.replace("MaxResults=5", "MaxResults=6")
    with pytest.raises(InvalidSignature):
        wire.verify()


def test_boto3_session_token_verifies_and_is_returned():
    wire = capture("sagemaker", "list_models", token=TOKEN)
    assert wire.header("X-Amz-Security-Token") == TOKEN
    assert wire.verify().security_token == TOKEN


def test_boto3_unsigned_headers_may_change():
    wire = capture("sagemaker", "list_models")
    signed = wire.header("Authorization").split("SignedHeaders=")[1].split(",")[0].split(";")
    assert "user-agent" not in signed and "amz-sdk-request" not in signed
    wire.set_header("User-Agent", "something/else")
    wire.set_header("amz-sdk-request", "attempt=2; max=3")
    wire.headers["X-Forwarded-For"] = "10.0.0.1"
    wire.verify()


def test_boto3_tampered_body_rejected():
    wire = capture("sagemaker", "delete_model", ModelName="keep-me")
    wire.body = wire.body.replace(b"keep-me", b"drop-me")
    with pytest.raises(InvalidSignature) as err:
        wire.verify()
    assert err.value.message == InvalidSignature.SIGNATURE_MISMATCH


def test_boto3_tampered_signed_header_rejected():
    wire = capture("sagemaker", "describe_model", ModelName="m")
    wire.set_header("X-Amz-Target", "SageMaker.DeleteModel")
    with pytest.raises(InvalidSignature):
        wire.verify()


def test_boto3_host_rewritten_by_proxy_rejected():
    wire = capture("sagemaker", "list_models")
    wire.set_header("Host", "127.0.0.1:9999")
    with pytest.raises(InvalidSignature):
        wire.verify()


# --------------------------------------------------------------------------
# botocore's SigV4Auth on hand-built requests (paths, queries, tokens)
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/endpoints/my%20endpoint/invocations",
        "/endpoints/ep:v1/invocations",
        "/endpoints/caf%C3%A9~x/invocations",
        "/human-loops/a%2Fb",
        "/a/./b/../c//d/",
    ],
)
def test_rest_paths_match_botocore(path):
    wire = botocore_sign("POST", f"{ENDPOINT}{path}", {"Content-Type": "application/json"}, b'{"a":1}')
    assert wire.path == path
    wire.verify()


def test_canonical_request_equals_botocores():
    url = f"{ENDPOINT}/endpoints/my%20endpoint:x/invocations?b=2&a=x%20y&a=%2F&empty="
    headers = {"Content-Type": "application/json", "X-Custom": "  spaced   out  value "}
    body = b'{"a": 1}'
    req = AWSRequest(method="POST", url=url, headers={**headers, "Host": "127.0.0.1:8642"}, data=body)
    req.context["timestamp"] = "20260101T000000Z"
    req.headers["X-Amz-Date"] = "20260101T000000Z"
    signer = SigV4Auth(Credentials(AKID, SECRET), "sagemaker", REGION)
    expected = signer.canonical_request(req)
    lower = {k.lower(): v for k, v in req.headers.items()}
    parts = urlsplit(url)
    mine = sigv4.canonical_request(
        "post", parts.path, sigv4._split_query(parts.query), lower, sorted(lower),
        hashlib.sha256(body).hexdigest(),
    )
    assert mine == expected
    # %20 already on the wire is encoded again; a bare ':' once.
    assert "\n/endpoints/my%2520endpoint%3Ax/invocations\n" in mine


def test_query_string_request_verifies():
    wire = botocore_sign("GET", f"{ENDPOINT}/human-loops?SortOrder=Descending&MaxResults=10&NextToken=a%2Bb%3D%3D")
    wire.verify()


def test_session_token_header_form_verifies():
    headers, body = json_request()
    wire = botocore_sign("POST", f"{ENDPOINT}/", headers, body, token=TOKEN)
    assert wire.verify().security_token == TOKEN


def test_date_header_instead_of_x_amz_date(botocore_clock):
    botocore_clock(FIXED)
    headers, body = json_request()
    wire = botocore_sign("POST", f"{ENDPOINT}/", {**headers, "Date": "whatever"}, body)
    assert not any(k.lower() == "x-amz-date" for k in wire.headers)
    assert wire.header("Date") == "Thu, 01 Jan 2026 00:00:00 -0000"
    assert wire.verify(now=FIXED).signed_at == FIXED


def test_content_sha256_header(botocore_clock):
    headers, body = json_request()
    declared = {"X-Amz-Content-SHA256": hashlib.sha256(body).hexdigest()}
    wire = botocore_sign("POST", f"{ENDPOINT}/", {**headers, **declared}, body)
    assert wire.verify().payload_signed is True
    # The signature covers the declared hash; the body must still match it.
    wire.body = body + b" "
    with pytest.raises(InvalidSignature) as err:
        wire.verify()
    assert "x-amz-content-sha256" in err.value.message


def test_unsigned_payload_header_is_reported():
    headers, body = json_request()
    wire = botocore_sign("POST", f"{ENDPOINT}/", {**headers, "X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"}, body)
    assert wire.verify().payload_signed is False


def test_header_names_any_case_and_repeated_items():
    headers, body = json_request()
    wire = botocore_sign("POST", f"{ENDPOINT}/", {**headers, "X-Multi": "a,b"}, body)
    shuffled = {k.upper() if i % 2 else k.lower(): v for i, (k, v) in enumerate(wire.headers.items())}
    verify_request("POST", "/", "", shuffled, body, lookup)
    # A multi-dict (e.g. Starlette's Headers) yields a repeated header twice.
    items = [(k, v) for k, v in wire.headers.items() if k.lower() != "x-multi"]
    items += [("x-multi", "a"), ("X-Multi", " b ")]

    class MultiDict(dict):
        def items(self):  # noqa: D401 - mimic a multi-dict's items()
            return items

    verify_request("POST", "/", "", MultiDict(), body, lookup)


def test_asgi_raw_header_pairs():
    headers, body = json_request()
    wire = botocore_sign("POST", f"{ENDPOINT}/", headers, body)
    raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in wire.headers.items()]
    assert verify_request("POST", "/", "", raw, body, lookup).access_key_id == AKID


# --------------------------------------------------------------------------
# presigned URLs
# --------------------------------------------------------------------------


def test_presigned_url_verifies():
    wire = botocore_presign("GET", f"{ENDPOINT}/human-loops?SortOrder=Ascending&MaxResults=3")
    assert "X-Amz-Algorithm=AWS4-HMAC-SHA256" in wire.query
    got = wire.verify()
    assert got.access_key_id == AKID and got.security_token is None


def test_presigned_url_with_token_and_encoded_path():
    wire = botocore_presign("GET", f"{ENDPOINT}/human-loops/my%20loop", token=TOKEN)
    assert wire.verify().security_token == TOKEN


def test_presigned_url_signed_with_unsigned_payload(botocore_clock):
    """S3-style presigning (UNSIGNED-PAYLOAD), as the spec describes, also verifies."""
    botocore_clock(FIXED)
    req = AWSRequest(method="GET", url=f"{ENDPOINT}/human-loops?SortOrder=Ascending")
    botocore.auth.S3SigV4QueryAuth(Credentials(AKID, SECRET), "sagemaker", REGION, expires=300).add_auth(req)
    wire = Wire("GET", req.url, {}, b"")
    assert wire.verify(now=FIXED + timedelta(seconds=299)).payload_signed is False


def test_presigned_url_tampered_query_rejected():
    wire = botocore_presign("GET", f"{ENDPOINT}/human-loops?SortOrder=Ascending")
    wire.query = wire.query.replace("Ascending", "Descending")
    with pytest.raises(InvalidSignature):
        wire.verify()


def test_presigned_url_expired(botocore_clock):
    botocore_clock(FIXED)
    wire = botocore_presign("GET", f"{ENDPOINT}/human-loops", expires=60)
    wire.verify(now=FIXED + timedelta(seconds=60))
    with pytest.raises(InvalidSignature) as err:
        wire.verify(now=FIXED + timedelta(minutes=2))
    assert err.value.message == (
        "Signature expired: 20260101T000000Z is now earlier than 20260101T000100Z (20260101T000200Z - 1 min.)"
    )


def test_presigned_url_valid_beyond_clock_skew(botocore_clock):
    botocore_clock(FIXED)
    wire = botocore_presign("GET", f"{ENDPOINT}/human-loops", expires=3600)
    wire.verify(now=FIXED + timedelta(minutes=50))


def test_presigned_url_from_the_future(botocore_clock):
    botocore_clock(FIXED + timedelta(minutes=20))
    wire = botocore_presign("GET", f"{ENDPOINT}/human-loops")
    with pytest.raises(InvalidSignature) as err:
        wire.verify(now=FIXED)
    assert err.value.message.startswith("Signature not yet current: 20260101T002000Z")


def test_presigned_url_missing_parameters():
    with pytest.raises(IncompleteSignature) as err:
        verify_request("GET", "/human-loops", "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=20260101T000000Z",
                       {"Host": "h"}, b"", lookup, now=FIXED)
    assert err.value.message == (
        "AWS query-string parameters must include 'X-Amz-Credential'. "
        "AWS query-string parameters must include 'X-Amz-Signature'. "
        "AWS query-string parameters must include 'X-Amz-SignedHeaders'. "
        "Re-examine the query-string parameters."
    )


def test_header_and_presigned_together_rejected():
    wire = botocore_presign("GET", f"{ENDPOINT}/human-loops")
    other = botocore_sign("GET", f"{ENDPOINT}/human-loops")
    wire.headers["Authorization"] = other.header("Authorization")
    with pytest.raises(IncompleteSignature, match="Only one auth mechanism"):
        wire.verify()


# --------------------------------------------------------------------------
# failures
# --------------------------------------------------------------------------


def test_wrong_secret_rejected():
    headers, body = json_request()
    wire = botocore_sign("POST", f"{ENDPOINT}/", headers, body, secret="not-the-secret")
    with pytest.raises(InvalidSignature) as err:
        wire.verify()
    assert err.value.status == 400


def test_unknown_key_rejected():
    headers, body = json_request()
    wire = botocore_sign("POST", f"{ENDPOINT}/", headers, body)
    with pytest.raises(UnrecognizedClient) as err:
        wire.verify(lookup_secret=lambda _: None)
    assert err.value.code == "UnrecognizedClientException"


def test_missing_authorization():
    with pytest.raises(MissingAuthenticationToken) as err:
        verify_request("POST", "/", "", {"Host": "h", "X-Amz-Date": "20260101T000000Z"}, b"{}", lookup)
    assert err.value.status == 403
    assert err.value.code == "MissingAuthenticationTokenException"


@pytest.fixture
def fixed_request(botocore_clock) -> Wire:
    botocore_clock(FIXED)
    headers, body = json_request()
    return botocore_sign("POST", f"{ENDPOINT}/", headers, body)


def test_fixed_request_verifies_within_skew(fixed_request):
    fixed_request.verify(now=FIXED)
    fixed_request.verify(now=FIXED + timedelta(minutes=15))
    fixed_request.verify(now=FIXED - timedelta(minutes=15))


def test_expired_request(fixed_request):
    with pytest.raises(InvalidSignature) as err:
        fixed_request.verify(now=FIXED + timedelta(minutes=16))
    assert err.value.message == (
        "Signature expired: 20260101T000000Z is now earlier than 20260101T000100Z (20260101T001600Z - 15 min.)"
    )
    with pytest.raises(InvalidSignature) as err:
        fixed_request.verify(now=FIXED + timedelta(minutes=25))
    assert err.value.message == (
        "Signature expired: 20260101T000000Z is now earlier than 20260101T001000Z (20260101T002500Z - 15 min.)"
    )


def test_future_request(fixed_request):
    with pytest.raises(InvalidSignature) as err:
        fixed_request.verify(now=FIXED - timedelta(minutes=16))
    assert err.value.message == (
        "Signature not yet current: 20260101T000000Z is still later than 20251231T235900Z "
        "(20251231T234400Z + 15 min.)"
    )


def test_skew_is_a_setting(fixed_request):
    with pytest.raises(InvalidSignature) as err:
        fixed_request.verify(now=FIXED + timedelta(minutes=6), max_skew_seconds=300)
    assert err.value.message.endswith("(20260101T000600Z - 5 min.)")


def test_malformed_authorization_header(fixed_request):
    fixed_request.set_header("Authorization", "AWS4-HMAC-SHA256 Foo=bar")
    with pytest.raises(IncompleteSignature) as err:
        fixed_request.verify(now=FIXED)
    assert err.value.message == (
        "Authorization header requires 'Credential' parameter. "
        "Authorization header requires 'Signature' parameter. "
        "Authorization header requires 'SignedHeaders' parameter."
    )
    assert err.value.code == "IncompleteSignatureException"


def test_missing_signature_part_and_date(fixed_request):
    auth = fixed_request.header("Authorization")
    fixed_request.set_header("Authorization", auth.split(", Signature=")[0])
    del fixed_request.headers["X-Amz-Date"]
    with pytest.raises(IncompleteSignature) as err:
        fixed_request.verify(now=FIXED)
    assert err.value.message == (
        "Authorization header requires 'Signature' parameter. "
        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
    )


def test_wrong_algorithm(fixed_request):
    auth = fixed_request.header("Authorization")
    fixed_request.set_header("Authorization", auth.replace("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA512"))
    with pytest.raises(IncompleteSignature, match="AWS4-HMAC-SHA512"):
        fixed_request.verify(now=FIXED)


def test_bad_amz_date(fixed_request):
    fixed_request.set_header("X-Amz-Date", "2026-01-01T00:00:00Z")
    with pytest.raises(IncompleteSignature, match="ISO-8601 'basic format'"):
        fixed_request.verify(now=FIXED)


def test_wrong_service(botocore_clock):
    botocore_clock(FIXED)
    headers, body = json_request()
    wire = botocore_sign("POST", f"{ENDPOINT}/", headers, body, service="s3")
    with pytest.raises(IncompleteSignature) as err:
        wire.verify(now=FIXED)
    assert err.value.message == "Credential should be scoped to correct service: 'sagemaker'."


def test_wrong_scope_date(fixed_request):
    auth = fixed_request.header("Authorization")
    fixed_request.set_header("Authorization", auth.replace("/20260101/", "/20251231/"))
    with pytest.raises(IncompleteSignature) as err:
        fixed_request.verify(now=FIXED)
    assert err.value.message == (
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
        "'20251231' != '20260101', from '20260101T000000Z'."
    )


def test_bad_scope_shape_and_terminator(fixed_request):
    auth = fixed_request.header("Authorization")
    fixed_request.set_header("Authorization", auth.replace("/aws4_request", "/aws4_reqest"))
    with pytest.raises(IncompleteSignature, match="valid terminator"):
        fixed_request.verify(now=FIXED)
    fixed_request.set_header("Authorization", auth.replace(f"/{REGION}/", "/"))
    with pytest.raises(IncompleteSignature, match="Credential should be of the form"):
        fixed_request.verify(now=FIXED)


def test_expected_region(fixed_request):
    fixed_request.verify(now=FIXED, expected_region=REGION)
    with pytest.raises(IncompleteSignature) as err:
        fixed_request.verify(now=FIXED, expected_region="eu-west-1")
    assert err.value.message == "Credential should be scoped to a valid region, not 'us-east-1'."


def test_host_and_date_must_be_signed(fixed_request):
    auth = fixed_request.header("Authorization")
    fixed_request.set_header("Authorization", auth.replace("host;", ""))
    with pytest.raises(IncompleteSignature, match="'Host'"):
        fixed_request.verify(now=FIXED)
    fixed_request.set_header("Authorization", auth.replace(";x-amz-date", ""))
    with pytest.raises(IncompleteSignature, match="'X-Amz-Date' must be a 'SignedHeader'"):
        fixed_request.verify(now=FIXED)


def test_non_ascii_signature_is_a_mismatch_not_a_crash(fixed_request):
    auth = fixed_request.header("Authorization")
    fixed_request.set_header("Authorization", auth.rsplit("=", 1)[0] + "=ÿ" * 64)
    with pytest.raises(InvalidSignature):
        fixed_request.verify(now=FIXED)


# --------------------------------------------------------------------------
# the hand-written signer
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url, headers, body, token",
    [
        (f"{ENDPOINT}/", {"X-Amz-Target": "SageMaker.ListModels", "Content-Type": "application/x-amz-json-1.1",
                          "User-Agent": "charter-cli"}, b"{}", None),
        (f"{ENDPOINT}/endpoints/my%20endpoint:1/invocations", {"Content-Type": "text/csv"}, b"1,2", TOKEN),
        ("https://runtime.sagemaker.us-east-1.amazonaws.com:443/human-loops?b=2&a=%2F", {}, b"", None),
        ("http://[::1]:8642/", {"X-Amz-Target": "SageMaker.ListModels"}, "{}", None),
    ],
)
def test_sign_request_matches_botocore(botocore_clock, url, headers, body, token):
    botocore_clock(FIXED)
    added = sign_request("POST", url, headers, body, AKID, SECRET, REGION, now=FIXED, session_token=token)
    theirs = AWSRequest(method="POST", url=url, headers=dict(headers), data=body)
    SigV4Auth(Credentials(AKID, SECRET, token), "sagemaker", REGION).add_auth(theirs)
    assert added["Authorization"] == theirs.headers["Authorization"]
    assert added["X-Amz-Date"] == theirs.headers["X-Amz-Date"] == "20260101T000000Z"
    if token:
        assert added["X-Amz-Security-Token"] == token
    # and the verifier accepts what the signer produced
    wire = Wire("POST", url, {**headers, **added}, body)
    wire.verify(now=FIXED)


def test_sign_request_keeps_given_host_and_default_time():
    added = sign_request("POST", f"{ENDPOINT}/", {"Host": "proxy.example:443"}, b"{}", AKID, SECRET, REGION)
    assert "Host" not in added
    wire = Wire("POST", f"{ENDPOINT}/", {"Host": "proxy.example:443", **added}, b"{}")
    assert wire.verify().access_key_id == AKID


# --------------------------------------------------------------------------
# signing-key cache
# --------------------------------------------------------------------------


def test_signing_key_cache_is_per_secret(fixed_request):
    fixed_request.verify(now=FIXED)  # warms the cache for SECRET
    rotated = {AKID: "a-rotated-secret"}.get
    with pytest.raises(InvalidSignature):
        fixed_request.verify(now=FIXED, lookup_secret=rotated)
    assert sigv4.signing_key(SECRET, "20260101", REGION, "sagemaker") != sigv4.signing_key(
        "a-rotated-secret", "20260101", REGION, "sagemaker")
    before = sigv4.signing_key.cache_info().hits
    fixed_request.verify(now=FIXED)
    assert sigv4.signing_key.cache_info().hits == before + 1
