"""SigV2 presigned S3 URLs: what botocore's HmacV1QueryAuth writes, Charter verifies."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.config import Config

from charter.errors import AccessDeniedException, InvalidSignature, UnrecognizedClient
from charter.iam import sigv2, sigv4

KEY, SECRET = "AKIAEXAMPLEV2KEY0001", "v2-secret"


def presigned(method: str, params: dict, expires: int = 300) -> tuple[str, str, str]:
    client = boto3.client("s3", endpoint_url="http://127.0.0.1:8642", region_name="us-east-1",
                          aws_access_key_id=KEY, aws_secret_access_key=SECRET,
                          config=Config(s3={"addressing_style": "path"}))
    url = client.generate_presigned_url(method, Params=params, ExpiresIn=expires)
    parts = urlsplit(url)
    assert "AWSAccessKeyId=" in parts.query  # botocore's default for S3 presigning is still SigV2
    return parts.path, parts.query, url


def verify(method: str, path: str, query: str, headers=None, secret=SECRET, now=None):
    return sigv4.verify_request(method, path, query, headers or {}, None, lambda key: secret if key == KEY else None,
                                service="s3", now=now)


@pytest.mark.parametrize(
    "operation, method, params",
    [
        ("get_object", "GET", {"Bucket": "b", "Key": "dir/a b+c/ü.txt"}),
        ("put_object", "PUT", {"Bucket": "b", "Key": "k", "ContentType": "text/csv"}),
        ("get_object", "GET", {"Bucket": "b", "Key": "k", "ResponseContentType": "text/plain"}),
        ("upload_part", "PUT", {"Bucket": "b", "Key": "k", "UploadId": "u1", "PartNumber": 3}),
    ],
)
def test_botocore_presigned_urls_verify(operation, method, params):
    path, query, _ = presigned(operation, params)
    verified = verify(method, path, query)
    assert verified.access_key_id == KEY and verified.service == "s3" and verified.payload_hash == "UNSIGNED-PAYLOAD"
    assert sigv4.scope_service(None, query) == "s3"


def test_a_changed_url_or_wrong_secret_fails():
    path, query, _ = presigned("get_object", {"Bucket": "b", "Key": "k"})
    with pytest.raises(InvalidSignature):
        verify("GET", path.replace("/k", "/other"), query)
    with pytest.raises(InvalidSignature):
        verify("PUT", path, query)
    with pytest.raises(InvalidSignature):
        verify("GET", path, query, secret="not-it")
    with pytest.raises(UnrecognizedClient):
        verify("GET", path, query.replace(KEY, "AKIAUNKNOWN000000000"))


def test_an_expired_url_is_refused():
    path, query, _ = presigned("get_object", {"Bucket": "b", "Key": "k"}, expires=60)
    later = datetime.now(timezone.utc) + timedelta(seconds=120)
    with pytest.raises(AccessDeniedException, match="expired"):
        verify("GET", path, query, now=later)


def test_only_s3_takes_sigv2():
    path, query, _ = presigned("get_object", {"Bucket": "b", "Key": "k"})
    with pytest.raises(Exception) as raised:
        sigv4.verify_request("GET", path, query, {}, None, lambda key: SECRET, service="sagemaker")
    assert raised.value.code == "MissingAuthenticationTokenException"
    assert not sigv2.is_presigned("list-type=2")
