"""The S3 object store (charter.store.objects), one behavioural suite over both backends.

``local`` is the database + blob-file store (SQLite, or PostgreSQL with
CHARTER_TEST_DB=postgresql); ``external`` is the same interface on a real
S3-protocol server, moto's, started here on a free port.  Each behaviour is
checked on both, so the backends cannot drift; what only the local layout has
(the blob files, the sweep, the import of the old layout, memory) is tested on
it alone.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import subprocess
import sys
import textwrap
import uuid
import zlib

import boto3
import pytest
from awscrt import checksums as crt

from charter.instance import Instance
from charter.store.objects import (
    BadDigest,
    BucketAlreadyOwnedByYou,
    BucketNotEmpty,
    Checksum,
    EntityTooSmall,
    InvalidBucketName,
    InvalidDigest,
    InvalidPart,
    InvalidPartOrder,
    KeyTooLongError,
    NoSuchBucket,
    NoSuchKey,
    NoSuchUpload,
    ObjectStore,
)
from charter.store.objects import local as local_backend
from charter.store.objects.external import ExternalObjectStore
from pg import free_port

OWNER = "123456789012"
REGION = "us-east-1"
PART = 64 * 1024  # the smallest part these tests allow (S3's is 5 MiB)


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def md5_b64(data: bytes) -> str:
    return b64(hashlib.md5(data).digest())


def crc32(data: bytes) -> str:
    return b64(zlib.crc32(data).to_bytes(4, "big"))


def body(store, bucket, key, **kwargs) -> bytes:
    _info, chunks = store.open_object(bucket, key, **kwargs)
    return b"".join(chunks)


@pytest.fixture(scope="module")
def moto_endpoint():
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def external_client(endpoint: str):
    return boto3.client(
        "s3", endpoint_url=endpoint, region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing"
    )


@pytest.fixture(params=["local", "external"])
def store(request, tmp_path, database_url_factory, monkeypatch):
    monkeypatch.setattr(local_backend, "MIN_PART_SIZE", PART)
    if request.param == "local":
        instance = Instance.from_env(home=str(tmp_path / "home"), database_url=database_url_factory())
        yield ObjectStore.open(instance)
        instance.close()
    else:
        import moto.s3.models

        monkeypatch.setattr(moto.s3.models, "S3_UPLOAD_PART_MIN_SIZE", PART)
        endpoint = request.getfixturevalue("moto_endpoint")
        yield ExternalObjectStore(endpoint, region=REGION, client=_configured(endpoint))


def _configured(endpoint):
    """The backend's own client configuration, with the test server's keys."""
    from botocore.config import Config

    return boto3.client(
        "s3", endpoint_url=endpoint, region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing",
        config=Config(request_checksum_calculation="when_required", response_checksum_validation="when_required"),
    )


@pytest.fixture
def bucket(store):
    name = f"bkt-{uuid.uuid4().hex[:10]}"
    store.create_bucket(name, region=REGION, owner=OWNER)
    return name


# --- buckets ---------------------------------------------------------------------------


def test_bucket_lifecycle(store):
    name = f"life-{uuid.uuid4().hex[:8]}"
    created = store.create_bucket(name, region=REGION, owner=OWNER)
    assert created.name == name and created.created.tzinfo is not None
    assert store.head_bucket(name).name == name
    assert name in [b.name for b in store.list_buckets()]
    with pytest.raises(BucketAlreadyOwnedByYou) as again:
        store.create_bucket(name, region=REGION, owner=OWNER)
    assert again.value.status == 409
    store.put_object(name, "k", io.BytesIO(b"x"))
    with pytest.raises(BucketNotEmpty):
        store.delete_bucket(name)
    store.delete_object(name, "k")
    store.delete_bucket(name)
    with pytest.raises(NoSuchBucket) as gone:
        store.head_bucket(name)
    assert gone.value.status == 404 and gone.value.message == "The specified bucket does not exist"


@pytest.mark.parametrize("name", ["ab", "UPPER", "-start", "end-", "a..b", "192.168.1.1", "x" * 64, "under_score", "xn--idn"])
def test_invalid_bucket_names(store, name):
    with pytest.raises(InvalidBucketName):
        store.create_bucket(name, region=REGION, owner=OWNER)


def test_missing_bucket_errors(store):
    with pytest.raises(NoSuchBucket):
        store.put_object("no-such-bucket-here", "k", io.BytesIO(b"x"))
    with pytest.raises(NoSuchBucket):
        store.list_objects("no-such-bucket-here")
    with pytest.raises(NoSuchBucket):
        store.head_object("no-such-bucket-here", "k")


# --- objects -------------------------------------------------------------------------


def test_put_get_head_keep_what_was_sent(store, bucket):
    data = b"model weights " * 1000
    info = store.put_object(
        bucket, "models/m.tar.gz", io.BytesIO(data), content_type="application/x-tar",
        metadata={"owner": "team-a", "run": "7"}, headers={"cache_control": "no-cache", "content_disposition": "attachment"},
        content_md5=md5_b64(data),
    )
    assert info.etag == f'"{hashlib.md5(data).hexdigest()}"' and info.size == len(data)
    head = store.head_object(bucket, "models/m.tar.gz")
    assert (head.etag, head.size, head.content_type) == (info.etag, len(data), "application/x-tar")
    assert head.metadata == {"owner": "team-a", "run": "7"}
    assert head.headers["cache_control"] == "no-cache" and head.headers["content_disposition"] == "attachment"
    got, chunks = store.open_object(bucket, "models/m.tar.gz")
    assert b"".join(chunks) == data and got.etag == info.etag
    with pytest.raises(NoSuchKey) as missing:
        store.head_object(bucket, "models/absent")
    assert missing.value.message == "The specified key does not exist."


def test_ranges(store, bucket):
    data = bytes(range(256)) * 10
    store.put_object(bucket, "r", io.BytesIO(data))
    assert body(store, bucket, "r", start=0, end=0) == data[:1]
    assert body(store, bucket, "r", start=100, end=1099) == data[100:1100]
    assert body(store, bucket, "r", start=2500) == data[2500:]
    info, chunks = store.open_object(bucket, "r", start=10, end=19)
    assert info.size == len(data) and b"".join(chunks) == data[10:20]  # the object's size, not the range's


ODD_KEYS = [
    "a",
    "a/b",  # "a" is both an object and a prefix of another
    "a/",  # trailing slash
    "a/./b",
    "a/../b",
    "..",
    "x//y",
    "spaces and +plus+ %percent",
    "ünïcödé/日本語/😀",
    "é" * 512,  # 1,024 bytes of UTF-8
]


def test_keys_a_file_system_would_not_hold_are_stored_faithfully(store, bucket):
    for key in ODD_KEYS:
        store.put_object(bucket, key, io.BytesIO(key.encode()))
    for key in ODD_KEYS:
        assert body(store, bucket, key) == key.encode(), key
    listed = store.list_objects(bucket).contents
    assert [o.key for o in listed] == sorted(ODD_KEYS, key=lambda k: k.encode())
    with pytest.raises(KeyTooLongError):
        store.put_object(bucket, "é" * 512 + "x", io.BytesIO(b"x"))


def test_a_nul_in_a_key(store, bucket):
    if isinstance(store, ExternalObjectStore):
        pytest.skip("moto's server cannot route a NUL in a path; S3 itself takes one")
    store.put_object(bucket, "nul\x00key", io.BytesIO(b"n"))
    assert body(store, bucket, "nul\x00key") == b"n"
    assert [o.key for o in store.list_objects(bucket).contents] == ["nul\x00key"]


def test_listing_is_utf8_byte_order(store, bucket):
    keys = ["é", "z", "Z", "a", "A", "~", "ä", "日", "😀", "0", "a-b", "a.b", "a/b", "aa"]
    for key in keys:
        store.put_object(bucket, key, io.BytesIO(b""))
    # PostgreSQL's text collations would put "a" beside "A" and "é" beside "e"; S3 sorts bytes.
    assert [o.key for o in store.list_objects(bucket).contents] == sorted(keys, key=lambda k: k.encode("utf-8"))


def test_prefix_delimiter_start_after(store, bucket):
    for key in ["logs/2024/a", "logs/2024/b", "logs/2025/c", "logs/top", "logsx", "models/m", "readme"]:
        store.put_object(bucket, key, io.BytesIO(b"."))
    top = store.list_objects(bucket, delimiter="/")
    assert [o.key for o in top.contents] == ["logsx", "readme"]
    assert top.common_prefixes == ["logs/", "models/"]
    logs = store.list_objects(bucket, prefix="logs/", delimiter="/")
    assert [o.key for o in logs.contents] == ["logs/top"] and logs.common_prefixes == ["logs/2024/", "logs/2025/"]
    assert [o.key for o in store.list_objects(bucket, prefix="logs/2024/").contents] == ["logs/2024/a", "logs/2024/b"]
    assert [o.key for o in store.list_objects(bucket, start_after="logs/top").contents] == ["logsx", "models/m", "readme"]
    # A common prefix at or before StartAfter is not given again.
    after = store.list_objects(bucket, delimiter="/", start_after="logs/")
    assert after.common_prefixes == ["models/"] and [o.key for o in after.contents] == ["logsx", "readme"]
    none = store.list_objects(bucket, prefix="nothing/")
    assert (none.contents, none.common_prefixes, none.is_truncated) == ([], [], False)


def pages(store, bucket, **kwargs):
    """Every entry of a listing, page by page, resuming after each page's next_key."""
    seen, after, calls = [], "", 0
    while True:
        page = store.list_objects(bucket, start_after=after, **kwargs)
        calls += 1
        entries = [o.key for o in page.contents] + page.common_prefixes
        assert len(entries) <= kwargs.get("max_keys", 1000)
        seen.extend(sorted(entries, key=lambda k: k.encode()))
        if not page.is_truncated:
            return seen, calls
        assert page.next_key == max(entries, key=lambda k: k.encode())
        after = page.next_key


def test_pagination_over_thousands_of_keys(store, bucket):
    count = 3000 if not isinstance(store, ExternalObjectStore) else 300
    keys = [f"data/part-{i:05d}.csv" for i in range(count)] + [f"dirs/{i % 7}/f{i}" for i in range(70)]
    if isinstance(store, ExternalObjectStore):
        for key in keys:
            store.put_object(bucket, key, io.BytesIO(b"1"))
    else:
        _bulk_put(store, bucket, keys)
    seen, calls = pages(store, bucket, prefix="data/", max_keys=700 if count > 1000 else 70)
    assert seen == sorted(k for k in keys if k.startswith("data/")) and calls == 5
    # Pages that end on a common prefix resume after it.
    seen, _ = pages(store, bucket, delimiter="/", prefix="dirs/", max_keys=2)
    assert seen == [f"dirs/{i}/" for i in range(7)]
    seen, _ = pages(store, bucket, delimiter="/", max_keys=1)
    assert seen == ["data/", "dirs/"]


def _bulk_put(store, bucket, keys):
    for key in keys:
        store.put_object(bucket, key, io.BytesIO(b"1"))


def test_delete_and_delete_objects(store, bucket):
    for key in ["a", "b", "c"]:
        store.put_object(bucket, key, io.BytesIO(key.encode()))
    store.delete_object(bucket, "a")
    store.delete_object(bucket, "never-there")  # S3 answers 204 either way
    results = store.delete_objects(bucket, ["b", "missing", "c"])
    assert [(key, error) for key, error in results] == [("b", None), ("missing", None), ("c", None)]
    assert store.list_objects(bucket).contents == []
    with pytest.raises(NoSuchBucket):
        store.delete_object("no-such-bucket-here", "a")


def test_copy_object(store, bucket):
    store.put_object(bucket, "src", io.BytesIO(b"payload"), content_type="text/plain", metadata={"k": "v"})
    copied = store.copy_object(bucket, "src", bucket, "dst")
    assert copied.etag == f'"{hashlib.md5(b"payload").hexdigest()}"'
    head = store.head_object(bucket, "dst")
    assert head.metadata == {"k": "v"} and head.content_type == "text/plain"
    replaced = store.copy_object(bucket, "src", bucket, "dst2", metadata={"new": "1"}, content_type="application/json")
    assert replaced.metadata == {"new": "1"} and store.head_object(bucket, "dst2").content_type == "application/json"
    store.delete_object(bucket, "src")  # the copies keep their bytes
    assert body(store, bucket, "dst") == b"payload" == body(store, bucket, "dst2")
    with pytest.raises(NoSuchKey):
        store.copy_object(bucket, "src", bucket, "dst3")


# --- integrity -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "algorithm, digest",
    [
        ("CRC32", lambda d: zlib.crc32(d).to_bytes(4, "big")),
        ("CRC32C", lambda d: crt.crc32c(d).to_bytes(4, "big")),
        ("CRC64NVME", lambda d: crt.crc64nvme(d).to_bytes(8, "big")),
        ("SHA1", lambda d: hashlib.sha1(d).digest()),
        ("SHA256", lambda d: hashlib.sha256(d).digest()),
    ],
)
def test_flexible_checksums_are_verified_and_returned(store, bucket, algorithm, digest):
    data = os.urandom(3 * 1024 * 1024 + 17)  # more than one chunk
    value = b64(digest(data))
    info = store.put_object(bucket, "c", io.BytesIO(data), checksum=Checksum(algorithm, value))
    assert (info.checksum.algorithm, info.checksum.value) == (algorithm, value)
    assert store.head_object(bucket, "c").checksum.value == value
    computed = store.put_object(bucket, "c2", io.BytesIO(data), checksum=Checksum(algorithm))  # none sent: computed
    assert computed.checksum.value == value
    with pytest.raises(BadDigest, match=algorithm):
        store.put_object(bucket, "c", io.BytesIO(data + b"!"), checksum=Checksum(algorithm, value))
    assert body(store, bucket, "c") == data  # the refused body replaced nothing


def test_content_md5(store, bucket):
    store.put_object(bucket, "m", io.BytesIO(b"good"), content_md5=md5_b64(b"good"))
    with pytest.raises(BadDigest) as bad:
        store.put_object(bucket, "m", io.BytesIO(b"evil"), content_md5=md5_b64(b"good"))
    assert bad.value.status == 400
    for malformed in ("not base64!", b64(b"short")):
        with pytest.raises(InvalidDigest):
            store.put_object(bucket, "m", io.BytesIO(b"good"), content_md5=malformed)
    assert body(store, bucket, "m") == b"good"


class Exploding(io.RawIOBase):
    """A body that breaks after ``after`` bytes, as a dropped connection does."""

    def __init__(self, after: int):
        self.left = after

    def readable(self):
        return True

    def read(self, n=-1):
        if self.left <= 0:
            raise ConnectionResetError("client went away")
        chunk = b"z" * min(n if n > 0 else self.left, self.left)
        self.left -= len(chunk)
        return chunk


def test_an_interrupted_put_leaves_the_old_object(store, bucket):
    store.put_object(bucket, "k", io.BytesIO(b"old"))
    with pytest.raises(ConnectionResetError):
        store.put_object(bucket, "k", Exploding(3 * 1024 * 1024))
    assert body(store, bucket, "k") == b"old"
    with pytest.raises(ConnectionResetError):
        store.put_object(bucket, "new", Exploding(10))
    with pytest.raises(NoSuchKey):
        store.head_object(bucket, "new")
    if not isinstance(store, ExternalObjectStore):
        leftovers = [p for p in store.blobs.root.rglob("*") if p.is_file()]
        assert len(leftovers) == 1  # the old object's blob, nothing half-written


# --- multipart -----------------------------------------------------------------------


def test_multipart_upload(store, bucket):
    parts = [os.urandom(PART), os.urandom(PART + 5), b"tail"]
    upload = store.create_upload(bucket, "big.bin", content_type="application/octet-stream", metadata={"m": "1"},
                                 owner=OWNER)
    assert [u.upload_id for u in store.list_uploads(bucket)[0]] == [upload]
    infos = [store.upload_part(bucket, "big.bin", upload, n, io.BytesIO(p), content_md5=md5_b64(p))
             for n, p in enumerate(parts, 1)]
    assert [i.etag for i in infos] == [f'"{hashlib.md5(p).hexdigest()}"' for p in parts]
    listed, truncated, marker = store.list_parts(bucket, "big.bin", upload, max_parts=2)
    assert [p.part_number for p in listed] == [1, 2] and truncated and marker == 2
    listed, truncated, _ = store.list_parts(bucket, "big.bin", upload, part_number_marker=2)
    assert [p.part_number for p in listed] == [3] and not truncated
    done = store.complete_upload(bucket, "big.bin", upload, [(i.part_number, i.etag, None) for i in infos])
    expected = hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest()
    assert done.etag == f'"{expected}-3"' and done.size == sum(map(len, parts))
    assert store.head_object(bucket, "big.bin").metadata == {"m": "1"}
    assert body(store, bucket, "big.bin") == b"".join(parts)
    whole = b"".join(parts)
    assert body(store, bucket, "big.bin", start=PART - 3, end=PART + 2) == whole[PART - 3 : PART + 3]  # across parts
    assert store.list_uploads(bucket)[0] == []
    with pytest.raises(NoSuchUpload):
        store.upload_part(bucket, "big.bin", upload, 4, io.BytesIO(b"late"))


def test_multipart_etag_matches_moto(moto_endpoint, store, bucket):
    """The ETag formula checked against an independent implementation (moto's S3)."""
    client = external_client(moto_endpoint)
    name = f"oracle-{uuid.uuid4().hex[:8]}"
    client.create_bucket(Bucket=name)
    parts = [b"x" * (5 * 1024 * 1024), b"y" * 1000]
    upload = client.create_multipart_upload(Bucket=name, Key="k")["UploadId"]
    etags = [client.upload_part(Bucket=name, Key="k", UploadId=upload, PartNumber=n, Body=p)["ETag"]
             for n, p in enumerate(parts, 1)]
    oracle = client.complete_multipart_upload(
        Bucket=name, Key="k", UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e} for n, e in enumerate(etags, 1)]},
    )["ETag"]
    ours = store.create_upload(bucket, "k", owner=OWNER)
    infos = [store.upload_part(bucket, "k", ours, n, io.BytesIO(p)) for n, p in enumerate(parts, 1)]
    assert store.complete_upload(bucket, "k", ours, [(i.part_number, i.etag, None) for i in infos]).etag == oracle


def test_multipart_refusals(store, bucket):
    upload = store.create_upload(bucket, "k", owner=OWNER)
    small = store.upload_part(bucket, "k", upload, 1, io.BytesIO(b"tiny"))
    last = store.upload_part(bucket, "k", upload, 2, io.BytesIO(b"end"))
    with pytest.raises(EntityTooSmall):
        store.complete_upload(bucket, "k", upload, [(1, small.etag, None), (2, last.etag, None)])
    with pytest.raises(InvalidPartOrder):
        store.complete_upload(bucket, "k", upload, [(2, last.etag, None), (1, small.etag, None)])
    with pytest.raises(InvalidPart):
        store.complete_upload(bucket, "k", upload, [(1, '"0123456789abcdef0123456789abcdef"', None)])
    with pytest.raises(InvalidPart):
        store.complete_upload(bucket, "k", upload, [(7, small.etag, None)])
    with pytest.raises(NoSuchUpload):
        store.complete_upload(bucket, "k", "no-such-upload", [(1, small.etag, None)])
    store.abort_upload(bucket, "k", upload)
    with pytest.raises(NoSuchUpload):
        store.abort_upload(bucket, "k", upload)
    with pytest.raises(NoSuchKey):
        store.head_object(bucket, "k")


def test_multipart_composite_checksum(store, bucket):
    parts = [os.urandom(PART), b"rest"]
    upload = store.create_upload(bucket, "c", checksum_algorithm="CRC32", owner=OWNER)
    infos = [store.upload_part(bucket, "c", upload, n, io.BytesIO(p), checksum=Checksum("CRC32", crc32(p)))
             for n, p in enumerate(parts, 1)]
    done = store.complete_upload(bucket, "c", upload, [(i.part_number, i.etag, i.checksum.value) for i in infos])
    joined = b"".join(base64.b64decode(crc32(p)) for p in parts)
    assert done.checksum.value == f"{crc32(joined)}-2"
    assert done.checksum.type == "COMPOSITE"


def test_multipart_crc64nvme_is_full_object(store, bucket):
    if isinstance(store, ExternalObjectStore):
        pytest.skip("moto's server does not combine CRC64NVME part checksums; S3 does")
    parts = [os.urandom(PART), b"rest"]
    upload = store.create_upload(bucket, "n", checksum_algorithm="CRC64NVME", owner=OWNER)
    infos = [store.upload_part(bucket, "n", upload, n, io.BytesIO(p)) for n, p in enumerate(parts, 1)]
    done = store.complete_upload(bucket, "n", upload, [(i.part_number, i.etag, None) for i in infos])
    whole = crt.crc64nvme(b"".join(parts)).to_bytes(8, "big")
    assert (done.checksum.value, done.checksum.type) == (b64(whole), "FULL_OBJECT")


def test_upload_part_copy(store, bucket):
    source = os.urandom(PART * 2)
    store.put_object(bucket, "src", io.BytesIO(source))
    upload = store.create_upload(bucket, "dst", owner=OWNER)
    first = store.upload_part_copy(bucket, "dst", upload, 1, bucket, "src", start=0, end=PART - 1)
    second = store.upload_part_copy(bucket, "dst", upload, 2, bucket, "src", start=PART)
    assert first.etag == f'"{hashlib.md5(source[:PART]).hexdigest()}"'
    store.complete_upload(bucket, "dst", upload, [(1, first.etag, None), (2, second.etag, None)])
    assert body(store, bucket, "dst") == source


# --- the local layout ------------------------------------------------------------------


@pytest.fixture
def local(tmp_path, database_url_factory, monkeypatch):
    monkeypatch.setattr(local_backend, "MIN_PART_SIZE", PART)
    instance = Instance.from_env(home=str(tmp_path / "home"), database_url=database_url_factory())
    yield instance
    instance.close()


def test_completing_an_upload_moves_no_bytes(local):
    store = ObjectStore.open(local)
    store.create_bucket("moves", region=REGION, owner=OWNER)
    upload = store.create_upload("moves", "k", owner=OWNER)
    part = store.upload_part("moves", "k", upload, 1, io.BytesIO(b"p" * PART))
    before = {p.stat().st_ino for p in store.blobs.root.rglob("*") if p.is_file()}
    store.complete_upload("moves", "k", upload, [(1, part.etag, None)])
    after = {p.stat().st_ino for p in store.blobs.root.rglob("*") if p.is_file()}
    assert before == after  # the part's blob is the object's segment


def test_sweep_removes_what_no_row_names_and_no_writer_holds(local):
    store = ObjectStore.open(local)
    store.create_bucket("sweep", region=REGION, owner=OWNER)
    store.put_object("sweep", "kept", io.BytesIO(b"kept"))
    orphan = store.blobs.path(uuid.uuid4().hex)  # renamed, then killed before its row committed
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(b"lost")
    stale = store.blobs.path(uuid.uuid4().hex).with_suffix(".tmp")  # killed mid-upload
    stale.parent.mkdir(parents=True, exist_ok=True)
    stale.write_bytes(b"half")
    os.utime(stale, (0, 0))
    with store.blobs.writer() as live:  # a writer still at work keeps its file
        live.write(b"in flight")
        os.utime(live.temp, (0, 0))
        assert store.sweep() == 2
        assert live.temp.exists()
    assert not orphan.exists() and not stale.exists()
    assert body(store, "sweep", "kept") == b"kept"


def test_the_old_layout_is_imported_once(tmp_path, database_url_factory):
    home = tmp_path / "home"
    root = home / "artifacts"
    old = {
        "sagemaker-us-east-1-123456789012/data/train.csv": b"a,b\n1,2\n",
        "sagemaker-us-east-1-123456789012/model/model.tar.gz": b"\x1f\x8b" + b"0" * 100,
        "governance/cards/c/job.pdf": b"%PDF-1.7",
    }
    for key, data in old.items():
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    database_url = database_url_factory()
    instance = Instance.from_env(home=str(home), database_url=database_url)
    try:
        store = ObjectStore.open(instance)
        buckets = store.list_buckets()
        assert [(b.name, b.owner, b.region) for b in buckets] == [
            ("governance", OWNER, REGION), ("sagemaker-us-east-1-123456789012", OWNER, REGION)]
        for uri, data in old.items():
            bucket, key = uri.split("/", 1)
            assert body(store, bucket, key) == data
            assert store.head_object(bucket, key).etag == f'"{hashlib.md5(data).hexdigest()}"'
        assert store.head_object("governance", "cards/c/job.pdf").content_type == "application/pdf"
        assert sorted(p.name for p in root.iterdir()) == [".charter-objects"]  # nothing left a listing would miss
    finally:
        instance.close()
    again = Instance.from_env(home=str(home), database_url=database_url)
    try:
        store = ObjectStore.open(again)
        assert len(store.list_objects("sagemaker-us-east-1-123456789012").contents) == 2
        assert len(list(store.blobs.root.rglob("*.*"))) == 0 and len([p for p in store.blobs.root.rglob("*") if p.is_file()]) == 3
    finally:
        again.close()


def test_external_store_is_chosen_by_settings(tmp_path, database_url_factory, moto_endpoint):
    instance = Instance.from_env(home=str(tmp_path / "home"), database_url=database_url_factory(),
                                 s3_endpoint_url=moto_endpoint)
    try:
        store = ObjectStore.open(instance)
        assert isinstance(store, ExternalObjectStore) and store.external == moto_endpoint
    finally:
        instance.close()
    plain = Instance.from_env(home=str(tmp_path / "home2"), database_url=database_url_factory())
    try:
        assert ObjectStore.open(plain).external is None
    finally:
        plain.close()


MEMORY_SCRIPT = textwrap.dedent(
    """
    import hashlib, io, os, sys
    from charter.instance import Instance
    from charter.store.objects import ObjectStore

    SIZE = int(sys.argv[2]) * 1024 * 1024

    class Source(io.RawIOBase):
        def __init__(self):
            self.left = SIZE
            self.block = os.urandom(1 << 20)
        def readable(self):
            return True
        def read(self, n=-1):
            n = min(n if n > 0 else 1 << 20, self.left, len(self.block))
            self.left -= n
            return self.block[:n]

    def peak_kib():
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1])

    instance = Instance.from_env(home=sys.argv[1])
    store = ObjectStore.open(instance)
    store.create_bucket("memory", region="us-east-1", owner="123456789012")
    store.put_object("memory", "warm", io.BytesIO(b"w"))
    b"".join(store.open_object("memory", "warm")[1])
    before = peak_kib()
    info = store.put_object("memory", "big", Source())
    digest = hashlib.md5()
    _, chunks = store.open_object("memory", "big")
    for chunk in chunks:
        digest.update(chunk)
    assert f'"{digest.hexdigest()}"' == info.etag and info.size == SIZE
    print((peak_kib() - before) // 1024)
    """
)


def test_a_large_object_streams_in_bounded_memory(tmp_path):
    """A 200 MiB PUT and GET through the store raise the process's peak RSS by under 64 MiB."""
    result = subprocess.run(
        [sys.executable, "-c", MEMORY_SCRIPT, str(tmp_path / "home"), "200"],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    growth_mib = int(result.stdout.strip().splitlines()[-1])
    assert growth_mib < 64, f"peak RSS grew by {growth_mib} MiB"
