"""S3 bodies stream through the server in bounded memory, and an installation on an external
store turns S3 clients away to that store.

The bound: a request or an answer holds about one 1 MiB chunk of body at a
time (the object store's ``CHUNK``, the aws-chunked decoder's piece, and the
HTTP server's own buffers), so the server's peak resident memory grows by a
few MiB whatever the object's size.  The test moves 256 MiB each way, single
PUT and multipart, and allows the peak to grow by 64 MiB (well under the
object, well over the interpreter's noise; measured: about 10 MiB).
"""

from __future__ import annotations

import hashlib
import io
import uuid

import boto3
import pytest
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError

import server_process
from conftest import ADMIN_KEY, ADMIN_SECRET, REGION
from test_s3_objects import s3_client

MIB = 1024 * 1024
SIZE = 256 * MIB
ALLOWED_GROWTH = 64 * MIB


class Pattern(io.RawIOBase):
    """``size`` bytes of a repeating pattern, produced as read, never held whole."""

    def __init__(self, size: int):
        self.size, self.position = size, 0
        self.block = hashlib.sha256(b"pattern").digest() * (MIB // 32)

    def readable(self):
        return True

    def seekable(self):
        return True

    def seek(self, offset, whence=io.SEEK_SET):
        self.position = {io.SEEK_SET: offset, io.SEEK_CUR: self.position + offset, io.SEEK_END: self.size + offset}[whence]
        return self.position

    def tell(self):
        return self.position

    def readinto(self, buffer):
        view, filled = memoryview(buffer), 0
        while filled < len(view) and self.position < self.size:
            offset = self.position % len(self.block)
            take = min(len(view) - filled, self.size - self.position, len(self.block) - offset)
            view[filled : filled + take] = self.block[offset : offset + take]
            filled += take
            self.position += take
        return filled


def peak_rss(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc/<pid>/status")


def expected_md5(size: int) -> str:
    digest = hashlib.md5()
    source = Pattern(size)
    while chunk := source.read(MIB):
        digest.update(chunk)
    return digest.hexdigest()


def test_large_bodies_stream_in_bounded_memory(charter):
    s3 = s3_client(charter)
    bucket = f"stream-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    before = peak_rss(charter.process.pid)

    s3.put_object(Bucket=bucket, Key="single.bin", Body=Pattern(SIZE))
    config = TransferConfig(multipart_threshold=64 * MIB, multipart_chunksize=64 * MIB, max_concurrency=2)
    s3.upload_fileobj(Pattern(SIZE), bucket, "multipart.bin", Config=config)

    wanted = expected_md5(SIZE)
    for key in ("single.bin", "multipart.bin"):
        digest, size = hashlib.md5(), 0
        for chunk in s3.get_object(Bucket=bucket, Key=key)["Body"].iter_chunks(MIB):
            digest.update(chunk)
            size += len(chunk)
        assert size == SIZE and digest.hexdigest() == wanted, key

    growth = peak_rss(charter.process.pid) - before
    print(f"peak server memory grew by {growth / MIB:.1f} MiB moving {SIZE // MIB} MiB each way")
    assert growth < ALLOWED_GROWTH, f"the server's peak memory grew by {growth / MIB:.0f} MiB moving {SIZE // MIB} MiB"


@pytest.fixture(scope="module")
def moto_endpoint():
    from moto.server import ThreadedMotoServer

    from pg import free_port

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def test_with_an_external_store_the_s3_face_names_it(tmp_path, database_url_factory, moto_endpoint):
    env = server_process.clean_env(
        CHARTER_S3_ENDPOINT_URL=moto_endpoint, CHARTER_ROOT_ACCESS_KEY_ID=ADMIN_KEY,
        CHARTER_ROOT_SECRET_ACCESS_KEY=ADMIN_SECRET, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
    )
    started = server_process.start(tmp_path / "home", database_url_factory(), env=env)
    try:
        client = boto3.client("s3", endpoint_url=started.endpoint, region_name=REGION, aws_access_key_id=ADMIN_KEY,
                              aws_secret_access_key=ADMIN_SECRET, config=Config(retries={"max_attempts": 1}))
        for call in (lambda: client.list_buckets(), lambda: client.put_object(Bucket="b", Key="k", Body=b"x"),
                     lambda: client.get_object(Bucket="b", Key="k")):
            with pytest.raises(ClientError) as refused:
                call()
            error = refused.value.response["Error"]
            assert error["Code"] == "InvalidRequest" and moto_endpoint in error["Message"]
            assert error["Endpoint"] == moto_endpoint
    finally:
        started.stop()
