"""The REST-XML protocol and the S3 face's additions, checked against botocore's own serializer and parser.

Requests are written by botocore's ``RestXMLSerializer`` (what boto3 sends);
answers are read back by botocore's ``RestXMLParser`` (what boto3 reads), so
both directions are judged by the client, not by Charter's own reading.
"""

from __future__ import annotations

import base64
import datetime as dt
import zlib
from urllib.parse import urlencode

import botocore.parsers
from botocore.awsrequest import HeadersDict
import botocore.serialize
import botocore.session
import pytest

from charter.api.faces.s3 import S3Protocol
from charter.api.protocols import aws_chunked
from charter.api.protocols.rest_xml import RestXmlProtocol
from charter.api.wire import BodyStream, WireRequest
from charter.errors import AwsError, SerializationException, UnknownOperationException, ValidationException

MODEL = botocore.session.get_session().get_service_model("s3")
SERIALIZER = botocore.serialize.create_serializer("rest-xml")
PARSER = botocore.parsers.create_parser("rest-xml")


@pytest.fixture(scope="module")
def protocol():
    return S3Protocol(MODEL)


def wire(operation: str, params: dict, host: str = "127.0.0.1:8642") -> WireRequest:
    """The request boto3 sends for ``operation`` (path style)."""
    request = SERIALIZER.serialize_to_request(params, MODEL.operation_model(operation))
    path, _, literal = request["url_path"].partition("?")
    query = request["query_string"]
    encoded = urlencode(query, doseq=True) if isinstance(query, dict) else query
    body = request["body"]
    if hasattr(body, "read"):
        body = body.read()
    headers = {k.lower(): (v if isinstance(v, str) else v.decode()) for k, v in request["headers"].items()}
    headers["host"] = host
    return WireRequest(request["method"], path, "&".join(filter(None, [literal, encoded])), headers, b"",
                       stream=BodyStream.of(body or b""))


def parsed(protocol, operation: str, params: dict) -> dict:
    request = wire(operation, params)
    op = protocol.operation(request)
    assert op.name == operation
    return protocol.parse(request, op)


def client_reads(operation: str, response) -> dict:
    """What boto3 makes of an answer."""
    body = response.body if isinstance(response.body, bytes) else b"".join(response.body)
    op = MODEL.operation_model(operation)
    http = {"status_code": response.status, "headers": HeadersDict(response.headers), "body": body}
    return PARSER.parse(http, op.output_shape)


@pytest.mark.parametrize(
    "operation, params",
    [
        ("PutObject", {"Bucket": "b", "Key": "k"}),
        ("CopyObject", {"Bucket": "b", "Key": "k", "CopySource": "s/k"}),
        ("UploadPart", {"Bucket": "b", "Key": "k", "UploadId": "u", "PartNumber": 2}),
        ("UploadPartCopy", {"Bucket": "b", "Key": "k", "UploadId": "u", "PartNumber": 2, "CopySource": "s/k"}),
        ("GetObject", {"Bucket": "b", "Key": "k"}),
        ("ListParts", {"Bucket": "b", "Key": "k", "UploadId": "u"}),
        ("DeleteObject", {"Bucket": "b", "Key": "k"}),
        ("AbortMultipartUpload", {"Bucket": "b", "Key": "k", "UploadId": "u"}),
        ("CreateMultipartUpload", {"Bucket": "b", "Key": "k"}),
        ("CompleteMultipartUpload", {"Bucket": "b", "Key": "k", "UploadId": "u"}),
        ("ListObjectsV2", {"Bucket": "b"}),
        ("ListObjects", {"Bucket": "b"}),
        ("ListMultipartUploads", {"Bucket": "b"}),
        ("GetBucketLocation", {"Bucket": "b"}),
        ("GetBucketVersioning", {"Bucket": "b"}),
        ("CreateBucket", {"Bucket": "b"}),
        ("HeadBucket", {"Bucket": "b"}),
        ("DeleteBucket", {"Bucket": "b"}),
        ("ListBuckets", {}),
        ("DeleteObjects", {"Bucket": "b", "Delete": {"Objects": [{"Key": "a"}]}}),
        ("GetObjectTagging", {"Bucket": "b", "Key": "k"}),
    ],
)
def test_each_request_reaches_its_operation(protocol, operation, params):
    assert protocol.operation(wire(operation, params)).name == operation


def test_members_come_from_uri_query_headers_and_prefix_headers(protocol):
    params = parsed(
        protocol,
        "PutObject",
        {"Bucket": "b", "Key": "dir/a b+c/../x.txt", "Body": b"hello", "ContentType": "text/plain",
         "Metadata": {"team": "risk"}, "CacheControl": "no-cache", "Expires": dt.datetime(2030, 1, 2, tzinfo=dt.timezone.utc),
         "ContentLength": 5},
    )
    assert params["Bucket"] == "b" and params["Key"] == "dir/a b+c/../x.txt"
    assert params["ContentType"] == "text/plain" and params["Metadata"] == {"team": "risk"}
    assert params["Expires"] == dt.datetime(2030, 1, 2, tzinfo=dt.timezone.utc)
    assert params["ContentLength"] == 5
    assert params["Body"].read() == b"hello"  # the stream is handed over, not validated or read


def test_xml_payloads_are_read_through_the_shape(protocol):
    params = parsed(protocol, "DeleteObjects",
                    {"Bucket": "b", "Delete": {"Objects": [{"Key": "a"}, {"Key": "b/c"}], "Quiet": True}})
    assert params["Delete"] == {"Objects": [{"Key": "a"}, {"Key": "b/c"}], "Quiet": True}
    params = parsed(protocol, "CompleteMultipartUpload",
                    {"Bucket": "b", "Key": "k", "UploadId": "u",
                     "MultipartUpload": {"Parts": [{"PartNumber": 1, "ETag": '"e1"'}, {"PartNumber": 2, "ETag": '"e2"'}]}})
    assert [p["PartNumber"] for p in params["MultipartUpload"]["Parts"]] == [1, 2]
    params = parsed(protocol, "CreateBucket",
                    {"Bucket": "b", "CreateBucketConfiguration": {"LocationConstraint": "eu-west-1"}})
    assert params["CreateBucketConfiguration"] == {"LocationConstraint": "eu-west-1"}


def test_query_integers_are_typed_and_bad_ones_refused(protocol):
    assert parsed(protocol, "ListObjectsV2", {"Bucket": "b", "MaxKeys": 7, "Prefix": "p/"})["MaxKeys"] == 7
    request = WireRequest("GET", "/b", "list-type=2&max-keys=lots", {"host": "h"}, b"", stream=BodyStream.of(b""))
    with pytest.raises(ValidationException, match="max-keys"):
        protocol.parse(request, protocol.operation(request))


def test_malformed_xml_and_doctypes_are_refused(protocol):
    for body in (b"<Delete><Object>", b'<!DOCTYPE x [<!ENTITY a "b">]><Delete/>'):
        request = WireRequest("POST", "/b", "delete", {"host": "h"}, b"", stream=BodyStream.of(body))
        with pytest.raises(SerializationException):
            protocol.parse(request, protocol.operation(request))


def test_an_unknown_method_and_path_is_no_operation(protocol):
    with pytest.raises(UnknownOperationException):
        protocol.operation(WireRequest("PATCH", "/b/k", "", {"host": "h"}, b""))


def test_virtual_hosted_style_names_the_bucket_in_the_host(protocol):
    for host in ("my.bucket.s3.us-west-2.amazonaws.com", "my.bucket.localhost:8642", "my.bucket.s3.amazonaws.com"):
        request = WireRequest("GET", "/deep/key.txt", "", {"host": host}, b"")
        op = protocol.operation(request)
        assert op.name == "GetObject"
        params = protocol.parse(request, op)
        assert (params["Bucket"], params["Key"]) == ("my.bucket", "deep/key.txt"), host
    request = WireRequest("GET", "/", "list-type=2", {"host": "data.localhost:8642"}, b"")
    assert protocol.operation(request).name == "ListObjectsV2"
    # An IP address or a bare host is path style.
    assert protocol.bucket_of_host("127.0.0.1:8642") is None and protocol.bucket_of_host("localhost") is None


def test_answers_read_back_by_botocore(protocol):
    when = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
    listing = {
        "Name": "b", "Prefix": "", "MaxKeys": 1000, "KeyCount": 2, "IsTruncated": True,
        "NextContinuationToken": "tok",
        "Contents": [{"Key": "a", "LastModified": when, "ETag": '"x"', "Size": 3, "StorageClass": "STANDARD"}],
        "CommonPrefixes": [{"Prefix": "d/"}],
    }
    response = protocol.respond(MODEL.operation_model("ListObjectsV2"), listing, "req-1")
    assert response.status == 200 and b"<ListBucketResult" in response.body
    read = client_reads("ListObjectsV2", response)
    assert read["Contents"] == [{"Key": "a", "LastModified": when, "ETag": '"x"', "Size": 3, "StorageClass": "STANDARD"}]
    assert read["CommonPrefixes"] == [{"Prefix": "d/"}] and read["IsTruncated"] is True

    head = {"ContentLength": 10, "ETag": '"e"', "LastModified": when, "Metadata": {"team": "risk"},
            "ContentType": "text/csv", "ChecksumCRC32": "AAAAAA=="}
    response = protocol.respond(MODEL.operation_model("HeadObject"), head, "req-2")
    assert response.headers["last-modified"] == "Fri, 02 Jan 2026 03:04:05 GMT"
    read = client_reads("HeadObject", response)
    assert read["Metadata"] == {"team": "risk"} and read["ContentLength"] == 10 and read["LastModified"] == when

    copy = {"CopyObjectResult": {"ETag": '"c"', "LastModified": when}}
    read = client_reads("CopyObject", protocol.respond(MODEL.operation_model("CopyObject"), copy, "req-3"))
    assert read["CopyObjectResult"] == {"ETag": '"c"', "LastModified": when}


def test_ranged_get_is_206_and_streams(protocol):
    output = {"Body": iter([b"ab", b"c"]), "ContentRange": "bytes 0-2/10", "ContentLength": 3}
    response = protocol.respond(MODEL.operation_model("GetObject"), output, "r")
    assert response.status == 206 and response.headers["content-range"] == "bytes 0-2/10"
    assert b"".join(response.body) == b"abc"


def test_bucket_location_is_the_bare_element_botocore_reads(protocol):
    from botocore.handlers import parse_get_bucket_location

    response = protocol.respond(MODEL.operation_model("GetBucketLocation"), {"LocationConstraint": "eu-west-1"}, "r")

    class Raw:
        raw = True
        content = response.body

    result: dict = {}
    parse_get_bucket_location(result, Raw())
    assert result["LocationConstraint"] == "eu-west-1"


def test_errors_are_s3_error_documents_and_head_errors_have_no_body(protocol):
    error = AwsError("The specified key does not exist.", code="NoSuchKey", status=404)
    error.extra = {"Key": "a/b"}
    protocol.recognizes(WireRequest("GET", "/b/a/b", "", {}, b""))
    response = protocol.error(error, "req-9")
    assert response.status == 404 and response.headers["x-amz-request-id"] == "req-9"
    read = client_reads("GetObject", response)
    assert read["Error"]["Code"] == "NoSuchKey" and read["Error"]["Key"] == "a/b"
    protocol.recognizes(WireRequest("HEAD", "/b/a/b", "", {}, b""))
    response = protocol.error(error, "req-10")
    assert response.body == b""
    assert client_reads("HeadObject", response)["Error"]["Code"] == "404"


# --- aws-chunked ------------------------------------------------------------------------


def _chunked(data: bytes, trailer_value: str | None = None, sizes=(4, 4)) -> bytes:
    out, position = b"", 0
    for size in sizes:
        piece = data[position : position + size]
        if piece:
            out += b"%x\r\n%s\r\n" % (len(piece), piece)
        position += size
    rest = data[position:]
    if rest:
        out += b"%x\r\n%s\r\n" % (len(rest), rest)
    out += b"0\r\n"
    if trailer_value is not None:
        out += f"x-amz-checksum-crc32:{trailer_value}\r\n".encode()
    return out + b"\r\n"


def _crc32(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def _headers(length: int) -> dict:
    return {"content-encoding": "aws-chunked", "x-amz-content-sha256": aws_chunked.UNSIGNED_TRAILER,
            "x-amz-decoded-content-length": str(length), "x-amz-trailer": "x-amz-checksum-crc32"}


def test_aws_chunked_bodies_decode_and_verify_their_trailer():
    data = b"hello chunked world"
    stream = aws_chunked.decode(BodyStream.of(_chunked(data, _crc32(data))), _headers(len(data)))
    assert stream.read() == data


@pytest.mark.parametrize(
    "body, error",
    [
        (_chunked(b"hello chunked world", _crc32(b"other")), "BadDigest"),
        (_chunked(b"hello chunked world", _crc32(b"hello chunked world"))[:-9], "IncompleteBody"),
        (b"zz\r\nhello\r\n0\r\n\r\n", "InvalidRequest"),
        (b"3\r\nhello\r\n0\r\n\r\n", "InvalidRequest"),
        (_chunked(b"hello chunked world"), "InvalidRequest"),  # no trailer though one was promised
    ],
)
def test_mis_chunked_or_corrupted_bodies_are_refused(body, error):
    stream = aws_chunked.decode(BodyStream.of(body), _headers(19))
    with pytest.raises(AwsError) as raised:
        stream.read()
    assert raised.value.code == error and raised.value.status < 500


def test_signed_chunks_are_not_implemented_and_named():
    headers = {"content-encoding": "aws-chunked", "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
               "x-amz-decoded-content-length": "3"}
    with pytest.raises(AwsError, match="STREAMING-AWS4-HMAC-SHA256-PAYLOAD") as raised:
        aws_chunked.decode(BodyStream.of(b""), headers)
    assert raised.value.status == 501


def test_the_generic_protocol_knows_no_s3():
    plain = RestXmlProtocol(MODEL)
    request = WireRequest("GET", "/k", "", {"host": "data.localhost:8642"}, b"")
    assert plain.operation(request).name == "ListObjects"  # path style only: /k is a bucket
