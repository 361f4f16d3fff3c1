"""The real S3 clients against Charter: boto3's transfer manager, the AWS CLI, the SageMaker SDK,
hand-built aws-chunked uploads, IAM personas, and moto's S3 as the oracle for ETags and checksums."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import uuid
import zlib

import boto3
import httpx
import pytest
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError

from charter.iam.sigv4 import sign_request
from conftest import ADMIN_KEY, ADMIN_SECRET, REGION
import aws_cli
from test_s3_objects import PART, code_of, s3_client

MIB = 1024 * 1024
TRANSFER = TransferConfig(multipart_threshold=5 * MIB, multipart_chunksize=5 * MIB, max_concurrency=2)


@pytest.fixture
def s3(charter):
    return s3_client(charter)


@pytest.fixture
def bucket(s3):
    name = f"clients-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=name)
    return name


def _data(size: int, seed: int = 0) -> bytes:
    block = hashlib.sha256(str(seed).encode()).digest() * (MIB // 32)
    return (block * (size // len(block) + 1))[:size]


# --- boto3's transfer manager ----------------------------------------------------------------


@pytest.mark.parametrize("size", [3 * MIB, 12 * MIB + 17])  # below and across the multipart threshold
def test_upload_file_and_download_file(s3, bucket, tmp_path, size):
    source = tmp_path / "model.tar.gz"
    source.write_bytes(_data(size))
    s3.upload_file(str(source), bucket, "artifacts/model.tar.gz", Config=TRANSFER,
                   ExtraArgs={"ChecksumAlgorithm": "CRC32", "Metadata": {"job": "train-1"}})
    head = s3.head_object(Bucket=bucket, Key="artifacts/model.tar.gz", ChecksumMode="ENABLED")
    assert head["ContentLength"] == size and head["Metadata"] == {"job": "train-1"}
    if size > TRANSFER.multipart_threshold:
        assert head["ETag"].endswith('-3"')
        assert head["ChecksumCRC32"].endswith("-3")  # the COMPOSITE checksum of three parts
    else:
        assert head["ChecksumCRC32"] == base64.b64encode(zlib.crc32(source.read_bytes()).to_bytes(4, "big")).decode()
    target = tmp_path / "downloaded"
    s3.download_file(bucket, "artifacts/model.tar.gz", str(target), Config=TRANSFER)
    assert target.read_bytes() == source.read_bytes()


# --- the AWS CLI --------------------------------------------------------------------------------


def _aws(charter, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return aws_cli.run(charter.endpoint, *args, check=check)


def test_aws_s3_cp_sync_ls_rm(charter, s3, bucket, tmp_path):
    local = tmp_path / "outputs"
    (local / "nested").mkdir(parents=True)
    (local / "metrics.json").write_text(json.dumps({"auc": 0.91}))
    (local / "nested" / "weights.bin").write_bytes(_data(9 * MIB, 1))  # the CLI's 8 MiB threshold: multipart
    _aws(charter, "s3", "cp", str(local / "metrics.json"), f"s3://{bucket}/run/metrics.json")
    assert json.loads(s3.get_object(Bucket=bucket, Key="run/metrics.json")["Body"].read()) == {"auc": 0.91}
    _aws(charter, "s3", "sync", str(local), f"s3://{bucket}/synced")
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="synced/")["Contents"])
    assert keys == ["synced/metrics.json", "synced/nested/weights.bin"]
    listed = _aws(charter, "s3", "ls", f"s3://{bucket}/synced/").stdout
    assert "PRE nested/" in listed and "metrics.json" in listed
    assert bucket in _aws(charter, "s3", "ls").stdout
    again = _aws(charter, "s3", "sync", str(local), f"s3://{bucket}/synced").stdout
    assert "upload:" not in again  # nothing changed: sync compares sizes and times and uploads nothing
    back = tmp_path / "back"
    _aws(charter, "s3", "cp", "--recursive", f"s3://{bucket}/synced", str(back))
    assert (back / "nested" / "weights.bin").read_bytes() == (local / "nested" / "weights.bin").read_bytes()
    _aws(charter, "s3", "rm", "--recursive", f"s3://{bucket}/synced")
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket, Prefix="synced/")
    missing = _aws(charter, "s3", "cp", f"s3://{bucket}/nope", str(tmp_path / "x"), check=False)
    assert missing.returncode != 0 and "404" in missing.stderr


# --- the SageMaker Python SDK -----------------------------------------------------------------


def test_sagemaker_session_upload_and_download_data(charter, bucket, tmp_path, monkeypatch):
    import sagemaker

    monkeypatch.setenv("AWS_ENDPOINT_URL", charter.endpoint)
    boto_session = boto3.Session(aws_access_key_id=ADMIN_KEY, aws_secret_access_key=ADMIN_SECRET, region_name=REGION)
    session = sagemaker.Session(boto_session=boto_session, default_bucket=bucket)
    data = tmp_path / "train"
    data.mkdir()
    (data / "part-0.csv").write_text("1,2,3\n")
    (data / "part-1.csv").write_text("4,5,6\n")
    uri = session.upload_data(str(data), key_prefix="datasets/train")
    assert uri == f"s3://{bucket}/datasets/train"
    out = tmp_path / "fetched"
    session.download_data(str(out), bucket, key_prefix="datasets/train")
    assert sorted(p.name for p in out.iterdir()) == ["part-0.csv", "part-1.csv"]
    assert (out / "part-1.csv").read_text() == "4,5,6\n"
    assert session.read_s3_file(bucket, "datasets/train/part-0.csv") == "1,2,3\n"


# --- aws-chunked bodies, as botocore frames them over HTTPS ---------------------------------------


def _signed(charter, method: str, path: str, body: bytes, headers: dict) -> httpx.Response:
    """A request signed as a streaming client signs it: over the headers, X-Amz-Content-SHA256 as given."""
    url = f"{charter.endpoint}{path}"
    added = sign_request(method, url, headers, body, ADMIN_KEY, ADMIN_SECRET, REGION, "s3")
    return httpx.request(method, url, content=body, headers={**headers, **added})


def _frame(data: bytes, trailer: str | None, chunk: int = 64 * 1024) -> bytes:
    out = b"".join(b"%x\r\n%s\r\n" % (len(data[i : i + chunk]), data[i : i + chunk]) for i in range(0, len(data), chunk))
    return out + b"0\r\n" + (f"x-amz-checksum-crc32:{trailer}\r\n".encode() if trailer else b"") + b"\r\n"


def _chunked_headers(size: int) -> dict:
    return {"Content-Encoding": "aws-chunked", "X-Amz-Content-SHA256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
            "X-Amz-Decoded-Content-Length": str(size), "X-Amz-Trailer": "x-amz-checksum-crc32",
            "Content-Type": "text/plain"}


def test_an_aws_chunked_upload_with_a_trailing_checksum(charter, s3, bucket):
    data = _data(300_000, 2)
    crc = base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
    answer = _signed(charter, "PUT", f"/{bucket}/chunked.txt", _frame(data, crc), _chunked_headers(len(data)))
    assert answer.status_code == 200, answer.text
    got = s3.get_object(Bucket=bucket, Key="chunked.txt", ChecksumMode="ENABLED")
    assert got["Body"].read() == data and got["ChecksumCRC32"] == crc
    assert "ContentEncoding" not in got  # aws-chunked is how it travelled, not how it is stored


@pytest.mark.parametrize(
    "mangle",
    [
        lambda framed, crc: _frame(b"x" * 300_000, crc),  # the trailer's checksum is of other bytes
        lambda framed, crc: framed[:-40],  # cut short
        lambda framed, crc: framed.replace(b"10000\r\n", b"1000g\r\n", 1),  # a chunk size that is not hex
        lambda framed, crc: framed.replace(b"10000\r\n", b"10001\r\n", 1),  # a chunk longer than said
    ],
)
def test_a_mis_chunked_upload_is_refused_and_stores_nothing(charter, s3, bucket, mangle):
    data = _data(300_000, 3)
    crc = base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
    answer = _signed(charter, "PUT", f"/{bucket}/bad.txt", mangle(_frame(data, crc), crc), _chunked_headers(len(data)))
    assert 400 <= answer.status_code < 500, answer.text
    assert b"<Error><Code>" in answer.content
    with pytest.raises(s3.exceptions.NoSuchKey):
        s3.get_object(Bucket=bucket, Key="bad.txt")


def test_signed_chunks_are_refused_by_name(charter, bucket):
    headers = {"Content-Encoding": "aws-chunked", "X-Amz-Content-SHA256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
               "X-Amz-Decoded-Content-Length": "5"}
    answer = _signed(charter, "PUT", f"/{bucket}/signed-chunks", b"5;chunk-signature=00\r\nhello\r\n0\r\n\r\n", headers)
    assert answer.status_code == 501 and b"STREAMING-AWS4-HMAC-SHA256-PAYLOAD" in answer.content


# --- IAM: personas' bucket-scoped artifact access ----------------------------------------------------


def test_a_persona_reaches_only_its_buckets(charter, s3):
    mine, other = f"team-{uuid.uuid4().hex[:8]}", f"other-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=mine)
    s3.create_bucket(Bucket=other)
    s3.put_object(Bucket=other, Key="secret.csv", Body=b"no")
    keys = json.loads(charter.cli("iam", "create-user", f"ds-{uuid.uuid4().hex[:6]}", "--persona", "data-scientist",
                                  "--bucket", mine).stdout)
    user = s3_client(charter, keys["AccessKeyId"], keys["SecretAccessKey"])
    user.put_object(Bucket=mine, Key="data/x.csv", Body=b"yes")
    upload_id = user.create_multipart_upload(Bucket=mine, Key="data/big")["UploadId"]
    assert [u["UploadId"] for u in user.list_multipart_uploads(Bucket=mine)["Uploads"]] == [upload_id]
    user.list_parts(Bucket=mine, Key="data/big", UploadId=upload_id)
    user.abort_multipart_upload(Bucket=mine, Key="data/big", UploadId=upload_id)  # what a failed transfer does
    assert user.get_object(Bucket=mine, Key="data/x.csv")["Body"].read() == b"yes"
    assert [o["Key"] for o in user.list_objects_v2(Bucket=mine)["Contents"]] == ["data/x.csv"]
    for call in (
        lambda: user.get_object(Bucket=other, Key="secret.csv"),
        lambda: user.put_object(Bucket=other, Key="x", Body=b""),
        lambda: user.list_objects_v2(Bucket=other),
        lambda: user.copy_object(Bucket=mine, Key="stolen", CopySource={"Bucket": other, "Key": "secret.csv"}),
        lambda: user.delete_bucket(Bucket=mine),
    ):
        with pytest.raises(ClientError) as refused:
            call()
        assert code_of(refused.value) == "AccessDenied"
    # DeleteObjects is decided key by key: the refused key is an error entry, the allowed one is deleted.
    answer = user.delete_objects(Bucket=mine, Delete={"Objects": [{"Key": "data/x.csv"}]})
    assert answer["Deleted"] == [{"Key": "data/x.csv"}]
    answer = user.delete_objects(Bucket=other, Delete={"Objects": [{"Key": "secret.csv"}]})
    assert answer["Errors"][0]["Code"] == "AccessDenied" and "Deleted" not in answer
    assert s3.get_object(Bucket=other, Key="secret.csv")["Body"].read() == b"no"


# --- moto's S3 as the oracle -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def moto_s3():
    from moto.server import ThreadedMotoServer

    from pg import free_port

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    client = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", region_name=REGION,
                          aws_access_key_id="testing", aws_secret_access_key="testing",
                          config=Config(s3={"addressing_style": "path"}))
    yield client
    server.stop()


@pytest.mark.parametrize("algorithm", [None, "CRC32", "CRC32C", "SHA256"])
def test_multipart_etag_and_checksums_match_moto(s3, moto_s3, algorithm):
    parts = [_data(PART, 10), _data(PART, 11), b"the last part"]
    answers = []
    for client in (s3, moto_s3):
        name = f"oracle-{uuid.uuid4().hex[:8]}"
        client.create_bucket(Bucket=name)
        extra = {"ChecksumAlgorithm": algorithm} if algorithm else {}
        upload_id = client.create_multipart_upload(Bucket=name, Key="k", **extra)["UploadId"]
        listed = []
        for number, data in enumerate(parts, start=1):
            part = client.upload_part(Bucket=name, Key="k", UploadId=upload_id, PartNumber=number, Body=data, **extra)
            entry = {"PartNumber": number, "ETag": part["ETag"]}
            if algorithm:
                entry[f"Checksum{algorithm}"] = part[f"Checksum{algorithm}"]
            listed.append(entry)
        done = client.complete_multipart_upload(Bucket=name, Key="k", UploadId=upload_id,
                                                MultipartUpload={"Parts": listed})
        single = client.put_object(Bucket=name, Key="single", Body=parts[0], **extra)
        answers.append({
            "parts": [{k: v for k, v in p.items()} for p in listed],
            "etag": done["ETag"],
            "checksum": done.get(f"Checksum{algorithm}") if algorithm else None,
            "single_etag": single["ETag"],
            "single_checksum": single.get(f"Checksum{algorithm}") if algorithm else None,
        })
    charter_answer, moto_answer = answers
    # moto answers no checksum for a completed upload; S3 answers the COMPOSITE one, which is checked by hand.
    composite, oracle = charter_answer.pop("checksum"), moto_answer.pop("checksum")
    if oracle is not None:
        assert composite == oracle
    assert charter_answer == moto_answer
    if algorithm:
        from charter.store.objects import checksums

        joined = b"".join(base64.b64decode(p[f"Checksum{algorithm}"]) for p in charter_answer["parts"])
        assert composite == f"{checksums.b64(checksums.compute(algorithm, joined))}-3"


def test_s3_calls_are_audited_with_their_object_arns(charter, s3):
    bucket = f"audited-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    name = f"s3-watched-{uuid.uuid4().hex[:6]}"
    keys = json.loads(charter.cli("iam", "create-user", name, "--persona", "data-scientist", "--bucket", bucket).stdout)
    user = s3_client(charter, keys["AccessKeyId"], keys["SecretAccessKey"])
    user.put_object(Bucket=bucket, Key="runs/1/model.tar.gz", Body=b"model")
    with pytest.raises(ClientError):
        user.get_object(Bucket="some-other-bucket", Key="x")
    with pytest.raises(ClientError):
        user.get_object(Bucket=bucket, Key="runs/1/missing")
    lines = charter.cli("audit", "tail", "--user", name, "--since", "10m", "--json").stdout.splitlines()
    events = [json.loads(line) for line in lines]
    assert [(e["operation"], e["outcome"]) for e in events] == [
        ("PutObject", "Success"), ("GetObject", "Denied"), ("GetObject", "Failed"),
    ]
    assert events[0]["resource_arn"] == f"arn:aws:s3:::{bucket}/runs/1/model.tar.gz"
    assert events[1]["error_code"] == "AccessDenied" and events[2]["error_code"] == "NoSuchKey"
