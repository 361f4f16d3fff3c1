"""S3 as a boto3 user sees it: buckets, objects, listings, copies, multipart uploads, and the bad paths.

Every call goes through the real server and the real object store; the
client is boto3's own s3 client against ``charter.endpoint``.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import uuid
import zlib

import boto3
import httpx
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import ADMIN_KEY, ADMIN_SECRET, REGION

PART = 5 * 1024 * 1024  # S3's smallest part but the last


def s3_client(charter, key=ADMIN_KEY, secret=ADMIN_SECRET, *, region=REGION, **config):
    return boto3.client(
        "s3",
        endpoint_url=charter.endpoint,
        region_name=region,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 1, "mode": "standard"}, s3={"addressing_style": "path"}, **config),
    )


@pytest.fixture
def s3(charter):
    return s3_client(charter)


@pytest.fixture
def bucket(s3):
    name = f"test-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


def code_of(error: ClientError) -> str:
    return error.response["Error"]["Code"]


def status_of(error: ClientError) -> int:
    return error.response["ResponseMetadata"]["HTTPStatusCode"]


# --- buckets ------------------------------------------------------------------------------


def test_bucket_lifecycle(s3):
    name = f"life-{uuid.uuid4().hex[:10]}"
    assert s3.create_bucket(Bucket=name)["Location"] == f"/{name}"
    assert s3.head_bucket(Bucket=name)["BucketRegion"] == REGION
    assert name in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert s3.get_bucket_location(Bucket=name)["LocationConstraint"] is None  # us-east-1, as S3 answers it
    assert "Status" not in s3.get_bucket_versioning(Bucket=name)
    with pytest.raises(ClientError) as again:
        s3.create_bucket(Bucket=name)
    assert code_of(again.value) == "BucketAlreadyOwnedByYou" and status_of(again.value) == 409
    s3.put_object(Bucket=name, Key="k", Body=b"x")
    with pytest.raises(ClientError) as full:
        s3.delete_bucket(Bucket=name)
    assert code_of(full.value) == "BucketNotEmpty"
    s3.delete_object(Bucket=name, Key="k")
    s3.delete_bucket(Bucket=name)
    with pytest.raises(ClientError) as gone:
        s3.head_bucket(Bucket=name)
    assert code_of(gone.value) == "404"  # HEAD errors have no body: botocore names the status
    with pytest.raises(s3.exceptions.NoSuchBucket):
        s3.list_objects_v2(Bucket=name)


def test_bucket_names_and_location_constraints(charter, s3):
    with pytest.raises(ClientError) as bad:
        s3.create_bucket(Bucket="Not_A_Bucket")
    assert code_of(bad.value) == "InvalidBucketName"
    with pytest.raises(ClientError) as wrong:
        s3.create_bucket(Bucket=f"c-{uuid.uuid4().hex[:8]}", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    assert code_of(wrong.value) == "IllegalLocationConstraintException"
    west = s3_client(charter, region="eu-west-1")
    name = f"west-{uuid.uuid4().hex[:8]}"
    west.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    assert west.get_bucket_location(Bucket=name)["LocationConstraint"] == "eu-west-1"


def test_the_sdk_default_bucket_name_is_valid(s3):
    name = f"sagemaker-{REGION}-123456789012"
    try:
        s3.create_bucket(Bucket=name)
    except ClientError as error:
        assert code_of(error) == "BucketAlreadyOwnedByYou"
    s3.head_bucket(Bucket=name)


# --- objects --------------------------------------------------------------------------------


def test_put_get_head_keep_metadata_and_headers(s3, bucket):
    body = b"col1,col2\n1,2\n"
    put = s3.put_object(
        Bucket=bucket, Key="data/train.csv", Body=body, ContentType="text/csv", Metadata={"Team": "risk"},
        CacheControl="no-cache", ContentDisposition="attachment", ContentLanguage="en",
    )
    assert put["ETag"] == f'"{hashlib.md5(body).hexdigest()}"'
    got = s3.get_object(Bucket=bucket, Key="data/train.csv")
    assert got["Body"].read() == body
    assert got["ContentType"] == "text/csv" and got["Metadata"] == {"team": "risk"}
    assert got["CacheControl"] == "no-cache" and got["ContentDisposition"] == "attachment"
    assert got["ETag"] == put["ETag"] and got["ContentLength"] == len(body) and got["AcceptRanges"] == "bytes"
    head = s3.head_object(Bucket=bucket, Key="data/train.csv")
    assert head["ContentLength"] == len(body) and head["Metadata"] == {"team": "risk"}
    assert isinstance(head["LastModified"], dt.datetime)
    overridden = s3.get_object(Bucket=bucket, Key="data/train.csv", ResponseContentType="application/x-custom")
    assert overridden["ContentType"] == "application/x-custom"


def test_keys_a_file_system_could_not_hold(s3, bucket):
    keys = ["a", "a/b", "a/b/", "dots/./x/../y", "dbl//slash", "spaces and + plus", "ünï/cødé", "k" * 1024,
            "line\nbreak", "tab\tand\rreturn"]
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
    for key in keys:
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == key.encode()
    listed = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert listed == sorted(keys, key=lambda k: k.encode("utf-8"))  # UTF-8 byte order, as S3
    with pytest.raises(ClientError) as long:
        s3.put_object(Bucket=bucket, Key="k" * 1025, Body=b"")
    assert code_of(long.value) == "KeyTooLongError"


def test_missing_bucket_and_key(s3, bucket):
    with pytest.raises(s3.exceptions.NoSuchKey) as missing:
        s3.get_object(Bucket=bucket, Key="nope")
    assert missing.value.response["Error"]["Message"] == "The specified key does not exist."
    with pytest.raises(s3.exceptions.NoSuchBucket):
        s3.get_object(Bucket="no-such-bucket-here", Key="k")
    with pytest.raises(ClientError) as head:
        s3.head_object(Bucket=bucket, Key="nope")
    assert code_of(head.value) == "404"
    s3.delete_object(Bucket=bucket, Key="nope")  # 204 whether or not it was there


def test_ranges(s3, bucket):
    body = bytes(range(100))
    s3.put_object(Bucket=bucket, Key="r", Body=body)
    part = s3.get_object(Bucket=bucket, Key="r", Range="bytes=10-19")
    assert part["Body"].read() == body[10:20]
    assert part["ContentRange"] == "bytes 10-19/100" and part["ContentLength"] == 10
    assert part["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert s3.get_object(Bucket=bucket, Key="r", Range="bytes=-5")["Body"].read() == body[-5:]
    assert s3.get_object(Bucket=bucket, Key="r", Range="bytes=95-")["Body"].read() == body[95:]
    assert s3.get_object(Bucket=bucket, Key="r", Range="bytes=90-500")["Body"].read() == body[90:]
    with pytest.raises(ClientError) as bad:
        s3.get_object(Bucket=bucket, Key="r", Range="bytes=100-")
    assert code_of(bad.value) == "InvalidRange" and status_of(bad.value) == 416
    whole = s3.get_object(Bucket=bucket, Key="r", Range="pages=1-2")  # not a byte range: the whole object
    assert whole["Body"].read() == body and whole["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_conditional_requests(s3, bucket):
    etag = s3.put_object(Bucket=bucket, Key="c", Body=b"v1")["ETag"]
    modified = s3.head_object(Bucket=bucket, Key="c")["LastModified"]
    assert s3.get_object(Bucket=bucket, Key="c", IfMatch=etag)["Body"].read() == b"v1"
    with pytest.raises(ClientError) as failed:
        s3.get_object(Bucket=bucket, Key="c", IfMatch='"0000"')
    assert code_of(failed.value) == "PreconditionFailed" and status_of(failed.value) == 412
    with pytest.raises(ClientError) as same:
        s3.get_object(Bucket=bucket, Key="c", IfNoneMatch=etag)
    assert status_of(same.value) == 304
    with pytest.raises(ClientError) as unchanged:
        s3.get_object(Bucket=bucket, Key="c", IfModifiedSince=modified + dt.timedelta(seconds=5))
    assert status_of(unchanged.value) == 304
    with pytest.raises(ClientError) as changed:
        s3.head_object(Bucket=bucket, Key="c", IfUnmodifiedSince=modified - dt.timedelta(days=1))
    assert status_of(changed.value) == 412
    # If-Match true overrides a false If-Unmodified-Since; If-None-Match false overrides If-Modified-Since.
    s3.get_object(Bucket=bucket, Key="c", IfMatch=etag, IfUnmodifiedSince=modified - dt.timedelta(days=1))
    s3.get_object(Bucket=bucket, Key="c", IfNoneMatch='"other"', IfModifiedSince=modified + dt.timedelta(days=1))


def test_content_md5_is_checked(s3, bucket):
    with pytest.raises(ClientError) as wrong:
        s3.put_object(Bucket=bucket, Key="m", Body=b"hello", ContentMD5=base64.b64encode(hashlib.md5(b"other").digest()).decode())
    assert code_of(wrong.value) == "BadDigest"
    with pytest.raises(ClientError) as junk:
        s3.put_object(Bucket=bucket, Key="m", Body=b"hello", ContentMD5="not-md5")
    assert code_of(junk.value) == "InvalidDigest"
    with pytest.raises(s3.exceptions.NoSuchKey):
        s3.head_object(Bucket=bucket, Key="m") if False else s3.get_object(Bucket=bucket, Key="m")
    s3.put_object(Bucket=bucket, Key="m", Body=b"hello", ContentMD5=base64.b64encode(hashlib.md5(b"hello").digest()).decode())


@pytest.mark.parametrize("algorithm", ["CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"])
def test_flexible_checksums_are_verified_and_returned(s3, bucket, algorithm):
    put = s3.put_object(Bucket=bucket, Key=f"sum-{algorithm}", Body=b"checked body", ChecksumAlgorithm=algorithm)
    sent = put[f"Checksum{algorithm}"]
    got = s3.get_object(Bucket=bucket, Key=f"sum-{algorithm}", ChecksumMode="ENABLED")
    assert got[f"Checksum{algorithm}"] == sent
    assert got["Body"].read() == b"checked body"  # botocore verifies the body against the checksum as it reads
    assert f"Checksum{algorithm}" not in s3.head_object(Bucket=bucket, Key=f"sum-{algorithm}")


def test_a_wrong_checksum_stores_nothing(s3, bucket):
    wrong = base64.b64encode(zlib.crc32(b"other").to_bytes(4, "big")).decode()
    with pytest.raises(ClientError) as bad:
        s3.put_object(Bucket=bucket, Key="w", Body=b"checked body", ChecksumCRC32=wrong)
    assert code_of(bad.value) == "BadDigest"
    with pytest.raises(s3.exceptions.NoSuchKey):
        s3.get_object(Bucket=bucket, Key="w")


def test_delete_objects(s3, bucket):
    for key in ("a", "b", "c"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    answer = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "a"}, {"Key": "b"}, {"Key": "zz"}]})
    assert sorted(d["Key"] for d in answer["Deleted"]) == ["a", "b", "zz"]
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["c"]
    quiet = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "c"}], "Quiet": True})
    assert "Deleted" not in quiet and "Errors" not in quiet
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_copy_object(s3, bucket):
    s3.put_object(Bucket=bucket, Key="src/ä b.txt", Body=b"payload", ContentType="text/plain", Metadata={"a": "1"})
    copied = s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src/ä b.txt"})
    assert copied["CopyObjectResult"]["ETag"] == f'"{hashlib.md5(b"payload").hexdigest()}"'
    got = s3.get_object(Bucket=bucket, Key="dst")
    assert got["Body"].read() == b"payload" and got["Metadata"] == {"a": "1"} and got["ContentType"] == "text/plain"
    s3.copy_object(Bucket=bucket, Key="dst", CopySource=f"{bucket}/src/ä b.txt", MetadataDirective="REPLACE",
                   Metadata={"b": "2"}, ContentType="application/json")
    head = s3.head_object(Bucket=bucket, Key="dst")
    assert head["Metadata"] == {"b": "2"} and head["ContentType"] == "application/json"
    with pytest.raises(ClientError) as itself:
        s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "dst"})
    assert code_of(itself.value) == "InvalidRequest"
    with pytest.raises(ClientError) as precondition:
        s3.copy_object(Bucket=bucket, Key="d2", CopySource={"Bucket": bucket, "Key": "dst"}, CopySourceIfMatch='"nope"')
    assert status_of(precondition.value) == 412
    with pytest.raises(s3.exceptions.NoSuchKey):
        s3.copy_object(Bucket=bucket, Key="d3", CopySource={"Bucket": bucket, "Key": "missing"})


# --- listings ---------------------------------------------------------------------------------


def test_list_objects_v2_prefix_delimiter_and_pages(s3, bucket):
    keys = [f"logs/2026/{i:02d}.txt" for i in range(7)] + ["logs/readme", "models/a/m.tar.gz", "models/b/m.tar.gz", "top"]
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=b"")
    root = s3.list_objects_v2(Bucket=bucket, Delimiter="/")
    assert [p["Prefix"] for p in root["CommonPrefixes"]] == ["logs/", "models/"]
    assert [o["Key"] for o in root["Contents"]] == ["top"] and root["KeyCount"] == 3
    nested = s3.list_objects_v2(Bucket=bucket, Prefix="models/", Delimiter="/")
    assert [p["Prefix"] for p in nested["CommonPrefixes"]] == ["models/a/", "models/b/"]
    seen, token = [], None
    while True:
        page = s3.list_objects_v2(Bucket=bucket, Prefix="logs/", MaxKeys=3, **({"ContinuationToken": token} if token else {}))
        seen += [o["Key"] for o in page.get("Contents", [])]
        assert page["KeyCount"] <= 3
        if not page["IsTruncated"]:
            break
        token = page["NextContinuationToken"]
    assert seen == sorted(k for k in keys if k.startswith("logs/"))
    after = s3.list_objects_v2(Bucket=bucket, StartAfter="models/b/m.tar.gz")
    assert [o["Key"] for o in after["Contents"]] == ["top"]
    paged = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Delimiter="/", PaginationConfig={"PageSize": 1})
    prefixes = [p["Prefix"] for page in paged for p in page.get("CommonPrefixes", [])]
    assert prefixes == ["logs/", "models/"]
    owned = s3.list_objects_v2(Bucket=bucket, MaxKeys=1, FetchOwner=True)["Contents"][0]
    assert "ID" in owned["Owner"]
    with pytest.raises(ClientError) as bad:
        s3.list_objects_v2(Bucket=bucket, ContinuationToken="garbage!")
    assert code_of(bad.value) == "InvalidArgument"


def test_list_objects_v1(s3, bucket):
    for key in ("a/1", "a/2", "b", "c"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"")
    page = s3.list_objects(Bucket=bucket, MaxKeys=2)
    assert [o["Key"] for o in page["Contents"]] == ["a/1", "a/2"] and page["IsTruncated"]
    assert "NextMarker" not in page  # only with a delimiter, as S3
    rest = s3.list_objects(Bucket=bucket, Marker="a/2")
    assert [o["Key"] for o in rest["Contents"]] == ["b", "c"]
    grouped = s3.list_objects(Bucket=bucket, Delimiter="/", MaxKeys=1)
    assert grouped["CommonPrefixes"] == [{"Prefix": "a/"}] and grouped["NextMarker"] == "a/"
    keys = [o["Key"] for page in s3.get_paginator("list_objects").paginate(Bucket=bucket, PaginationConfig={"PageSize": 1})
            for o in page.get("Contents", [])]
    assert keys == ["a/1", "a/2", "b", "c"]


# --- multipart uploads ------------------------------------------------------------------------


def test_multipart_upload_etag_and_listing(s3, bucket):
    parts_data = [b"a" * PART, b"b" * PART, b"tail"]
    upload = s3.create_multipart_upload(Bucket=bucket, Key="big.bin", ContentType="application/x-tar",
                                        Metadata={"run": "7"})
    upload_id = upload["UploadId"]
    assert upload_id in [u["UploadId"] for u in s3.list_multipart_uploads(Bucket=bucket)["Uploads"]]
    etags = []
    for number, data in enumerate(parts_data, start=1):
        etags.append(s3.upload_part(Bucket=bucket, Key="big.bin", UploadId=upload_id, PartNumber=number, Body=data)["ETag"])
    assert etags[0] == f'"{hashlib.md5(parts_data[0]).hexdigest()}"'
    listed = s3.list_parts(Bucket=bucket, Key="big.bin", UploadId=upload_id, MaxParts=2)
    assert [p["PartNumber"] for p in listed["Parts"]] == [1, 2] and listed["IsTruncated"]
    assert listed["NextPartNumberMarker"] == 2
    done = s3.complete_multipart_upload(
        Bucket=bucket, Key="big.bin", UploadId=upload_id,
        MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e} for n, e in enumerate(etags, start=1)]},
    )
    joined = b"".join(hashlib.md5(d).digest() for d in parts_data)
    assert done["ETag"] == f'"{hashlib.md5(joined).hexdigest()}-3"'
    got = s3.get_object(Bucket=bucket, Key="big.bin", Range=f"bytes={PART - 2}-{PART + 1}")
    assert got["Body"].read() == b"aabb"
    head = s3.head_object(Bucket=bucket, Key="big.bin")
    assert head["ContentLength"] == 2 * PART + 4 and head["Metadata"] == {"run": "7"}
    assert head["ContentType"] == "application/x-tar"
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads") is None


def test_multipart_bad_paths(s3, bucket):
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    small = s3.upload_part(Bucket=bucket, Key="k", UploadId=upload_id, PartNumber=1, Body=b"small")["ETag"]
    last = s3.upload_part(Bucket=bucket, Key="k", UploadId=upload_id, PartNumber=2, Body=b"last")["ETag"]
    with pytest.raises(ClientError) as too_small:
        s3.complete_multipart_upload(Bucket=bucket, Key="k", UploadId=upload_id,
                                     MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": small}, {"PartNumber": 2, "ETag": last}]})
    assert code_of(too_small.value) == "EntityTooSmall"
    with pytest.raises(ClientError) as wrong_etag:
        s3.complete_multipart_upload(Bucket=bucket, Key="k", UploadId=upload_id,
                                     MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": '"0123"'}]})
    assert code_of(wrong_etag.value) == "InvalidPart"
    with pytest.raises(ClientError) as order:
        s3.complete_multipart_upload(Bucket=bucket, Key="k", UploadId=upload_id,
                                     MultipartUpload={"Parts": [{"PartNumber": 2, "ETag": last}, {"PartNumber": 1, "ETag": small}]})
    assert code_of(order.value) == "InvalidPartOrder"
    with pytest.raises(ClientError) as number:
        s3.upload_part(Bucket=bucket, Key="k", UploadId=upload_id, PartNumber=10001, Body=b"x")
    assert code_of(number.value) == "InvalidArgument"
    s3.abort_multipart_upload(Bucket=bucket, Key="k", UploadId=upload_id)
    with pytest.raises(s3.exceptions.NoSuchUpload):
        s3.upload_part(Bucket=bucket, Key="k", UploadId=upload_id, PartNumber=1, Body=b"x")
    with pytest.raises(s3.exceptions.NoSuchUpload):
        s3.abort_multipart_upload(Bucket=bucket, Key="k", UploadId=upload_id)
    with pytest.raises(s3.exceptions.NoSuchKey):
        s3.get_object(Bucket=bucket, Key="k")


def test_upload_part_copy(s3, bucket):
    source = b"0123456789" * (PART // 10 + 1)
    s3.put_object(Bucket=bucket, Key="source", Body=source)
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="assembled")["UploadId"]
    first = s3.upload_part_copy(Bucket=bucket, Key="assembled", UploadId=upload_id, PartNumber=1,
                                CopySource={"Bucket": bucket, "Key": "source"})["CopyPartResult"]["ETag"]
    second = s3.upload_part_copy(Bucket=bucket, Key="assembled", UploadId=upload_id, PartNumber=2,
                                 CopySource={"Bucket": bucket, "Key": "source"}, CopySourceRange="bytes=0-9")
    with pytest.raises(ClientError) as bad_range:
        s3.upload_part_copy(Bucket=bucket, Key="assembled", UploadId=upload_id, PartNumber=3,
                            CopySource={"Bucket": bucket, "Key": "source"}, CopySourceRange=f"bytes=0-{len(source)}")
    assert code_of(bad_range.value) == "InvalidArgument"
    s3.complete_multipart_upload(
        Bucket=bucket, Key="assembled", UploadId=upload_id,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": first},
                                   {"PartNumber": 2, "ETag": second["CopyPartResult"]["ETag"]}]},
    )
    assert s3.get_object(Bucket=bucket, Key="assembled")["Body"].read() == source + source[:10]


# --- addressing and presigned URLs -----------------------------------------------------------


def test_virtual_hosted_style_addressing(charter, bucket, s3):
    s3.put_object(Bucket=bucket, Key="vh/key.txt", Body=b"virtual")
    port = charter.endpoint.rsplit(":", 1)[1]
    virtual = boto3.client(
        "s3", endpoint_url=f"http://localhost:{port}", region_name=REGION, aws_access_key_id=ADMIN_KEY,
        aws_secret_access_key=ADMIN_SECRET, config=Config(s3={"addressing_style": "virtual"}, retries={"max_attempts": 1}),
    )
    # The client sends Host: <bucket>.localhost:<port>; the connection goes to 127.0.0.1.
    virtual.meta.events.register("before-send.s3", lambda request, **_: _to_loopback(request, port))
    assert virtual.get_object(Bucket=bucket, Key="vh/key.txt")["Body"].read() == b"virtual"
    assert [o["Key"] for o in virtual.list_objects_v2(Bucket=bucket)["Contents"]] == ["vh/key.txt"]


def _to_loopback(request, port):
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(request.url)
    request.headers["Host"] = parts.netloc
    request.url = urlunsplit(parts._replace(netloc=f"127.0.0.1:{port}"))


@pytest.fixture
def presigner(charter):
    """A client whose presigned URLs are SigV4 (boto3 still presigns S3 as SigV2 unless told)."""
    return s3_client(charter, signature_version="s3v4")


def test_presigned_get_and_put(presigner, bucket):
    s3 = presigner
    put_url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "pre/signed.txt"}, ExpiresIn=300)
    assert httpx.put(put_url, content=b"through a presigned url").status_code == 200
    get_url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "pre/signed.txt"}, ExpiresIn=300)
    answer = httpx.get(get_url)
    assert answer.status_code == 200 and answer.content == b"through a presigned url"
    tampered = httpx.get(get_url.replace("pre/signed.txt", "pre/other.txt"))
    assert tampered.status_code == 403 and b"<Code>SignatureDoesNotMatch</Code>" in tampered.content


def test_an_expired_presigned_url_is_refused(presigner, bucket):
    import time

    s3 = presigner
    s3.put_object(Bucket=bucket, Key="soon", Body=b"x")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "soon"}, ExpiresIn=1)
    time.sleep(2)
    answer = httpx.get(url)
    assert answer.status_code == 403 and b"<Error><Code>" in answer.content


def test_a_wrong_secret_is_signature_does_not_match(charter, bucket):
    with pytest.raises(ClientError) as bad:
        s3_client(charter, ADMIN_KEY, "wrong-secret").list_objects_v2(Bucket=bucket)
    assert code_of(bad.value) == "SignatureDoesNotMatch" and status_of(bad.value) == 403
    with pytest.raises(ClientError) as unknown:
        s3_client(charter, "AKIANOBODY0000000000", "x").list_objects_v2(Bucket=bucket)
    assert code_of(unknown.value) == "InvalidAccessKeyId"


def test_unimplemented_operations_name_themselves(s3, bucket):
    with pytest.raises(ClientError) as missing:
        s3.get_bucket_tagging(Bucket=bucket)
    assert code_of(missing.value) == "NotImplemented" and "GetBucketTagging" in missing.value.response["Error"]["Message"]


def test_list_buckets_by_prefix_and_page(s3):
    stem = f"pg-{uuid.uuid4().hex[:6]}"
    for n in range(3):
        s3.create_bucket(Bucket=f"{stem}-{n}")
    first = s3.list_buckets(Prefix=stem, MaxBuckets=2)
    assert [b["Name"] for b in first["Buckets"]] == [f"{stem}-0", f"{stem}-1"] and first["ContinuationToken"]
    rest = s3.list_buckets(Prefix=stem, MaxBuckets=2, ContinuationToken=first["ContinuationToken"])
    assert [b["Name"] for b in rest["Buckets"]] == [f"{stem}-2"] and "ContinuationToken" not in rest
    assert all(b["BucketRegion"] == REGION for b in first["Buckets"])


def test_malformed_xml_is_malformed_xml(charter, bucket):
    from charter.iam.sigv4 import sign_request

    body = b"<Delete><Object><Key>a</Key></Object"
    url = f"{charter.endpoint}/{bucket}?delete"
    headers = {"Content-MD5": base64.b64encode(hashlib.md5(body).digest()).decode(),
               "X-Amz-Content-SHA256": hashlib.sha256(body).hexdigest()}
    added = sign_request("POST", url, headers, body, ADMIN_KEY, ADMIN_SECRET, REGION, "s3")
    answer = httpx.post(url, content=body, headers={**headers, **added})
    assert answer.status_code == 400 and b"<Code>MalformedXML</Code>" in answer.content


def test_presigned_urls_as_boto3_makes_them_by_default(s3, bucket):
    # Without signature_version="s3v4", botocore presigns S3 URLs with SigV2 (AWSAccessKeyId/Signature/Expires).
    put_url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "v2/ü.txt"}, ExpiresIn=300)
    assert "AWSAccessKeyId=" in put_url
    assert httpx.put(put_url, content=b"sigv2 upload").status_code == 200
    get_url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "v2/ü.txt"}, ExpiresIn=300)
    answer = httpx.get(get_url)
    assert answer.status_code == 200 and answer.content == b"sigv2 upload"
    refused = httpx.get(get_url.replace("Expires=", "Expires=1"))
    assert refused.status_code == 403 and b"<Code>SignatureDoesNotMatch</Code>" in refused.content
    expired = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "v2/ü.txt"}, ExpiresIn=-10)
    answer = httpx.get(expired)
    assert answer.status_code == 403 and b"<Code>AccessDenied</Code>" in answer.content and b"expired" in answer.content


def test_a_refused_large_upload_leaves_the_connection_usable(s3, bucket):
    # Refused before its body is read: the server drops what it can and closes the connection when more is left,
    # so the client's next request is not read from the rest of the refused body.
    with pytest.raises(s3.exceptions.NoSuchBucket):
        s3.put_object(Bucket="no-such-bucket-for-this", Key="big", Body=b"z" * (12 * 1024 * 1024))
    with pytest.raises(ClientError) as bad:
        s3.put_object(Bucket=bucket, Key="big", Body=b"z" * (3 * 1024 * 1024), ContentMD5="AAAAAAAAAAAAAAAAAAAAAA==")
    assert code_of(bad.value) == "BadDigest"
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_an_upload_is_on_record_when_it_is_answered(charter, s3, bucket):
    """The object's row and its audit row commit together: no wait for a batch."""
    from sqlalchemy import create_engine, select

    from charter.store.schema import audit_events

    answer = s3.put_object(Bucket=bucket, Key="audited", Body=b"x" * 1000)
    request_id = answer["ResponseMetadata"]["RequestId"]
    engine = create_engine(charter.env["CHARTER_DATABASE_URL"])
    try:
        with engine.connect() as conn:
            row = conn.execute(select(audit_events).where(audit_events.c.request_id == request_id)).one()
    finally:
        engine.dispose()
    assert (row.operation, row.outcome, row.status_code) == ("PutObject", "Success", 200)
    assert row.resource_arn == f"arn:aws:s3:::{bucket}/audited"
