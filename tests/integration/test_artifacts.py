"""store/artifacts.py on top of the object store: what Charter writes is an S3 object, and back.

The same calls are made against the local store and an external one (moto's S3
server, started here), chosen by CHARTER_S3_ENDPOINT_URL as an installation chooses.
"""

from __future__ import annotations

import boto3
import pytest

from charter.errors import ValidationException
from charter.instance import Instance
from charter.store import artifacts
from charter.store.objects import ObjectStore
from pg import free_port


@pytest.fixture(scope="module")
def moto_endpoint():
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture(params=["local", "external"])
def instance(request, tmp_path, database_url_factory, monkeypatch):
    overrides = {}
    if request.param == "external":
        for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                            "AWS_DEFAULT_REGION": "us-east-1"}.items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("AWS_PROFILE", raising=False)
        overrides["s3_endpoint_url"] = request.getfixturevalue("moto_endpoint")
    opened = Instance.from_env(home=str(tmp_path / "home"), database_url=database_url_factory(), **overrides)
    yield opened
    opened.close()


def test_an_artifact_is_an_object(instance):
    uri = "s3://reports/cards/credit/job-1.pdf"
    assert not artifacts.exists(instance, uri)
    assert not artifacts.exists(instance, "s3://reports/cards/")
    artifacts.write_bytes(instance, uri, b"%PDF-1.7 test")  # the missing bucket is made, as folders were
    assert artifacts.exists(instance, uri) and artifacts.exists(instance, "s3://reports/cards/")
    assert artifacts.read_bytes(instance, uri) == b"%PDF-1.7 test"
    store = ObjectStore.open(instance)
    info = store.head_object("reports", "cards/credit/job-1.pdf")
    assert info.size == 13 and info.content_type == "application/pdf"
    artifacts.write_bytes(instance, uri, b"again")  # overwrite, as a PUT does
    assert artifacts.read_bytes(instance, uri) == b"again"
    assert artifacts.local_path(instance, uri).read_bytes() == b"again"
    assert [o.key for o in store.list_objects("reports").contents] == ["cards/credit/job-1.pdf"]


def test_an_object_a_client_put_is_an_artifact(instance):
    store = ObjectStore.open(instance)
    store.create_bucket("uploads", region="us-east-1", owner="123456789012")
    import io

    store.put_object("uploads", "train/data.csv", io.BytesIO(b"a,b\n"))
    assert artifacts.read_bytes(instance, "https://uploads.s3.us-east-1.amazonaws.com/train/data.csv") == b"a,b\n"
    assert artifacts.read_bytes(instance, "https://s3.eu-west-1.amazonaws.com/uploads/train/data.csv") == b"a,b\n"


def test_keys_under_an_object_and_missing_artifacts(instance):
    artifacts.write_bytes(instance, "s3://bkt/blocker", b"an object")
    artifacts.write_bytes(instance, "s3://bkt/blocker/card/job.pdf", b"beside it")  # S3 has no folders
    assert artifacts.read_bytes(instance, "s3://bkt/blocker") == b"an object"
    with pytest.raises(ValidationException, match="prefix"):
        artifacts.write_bytes(instance, "s3://bkt/folder/", b"x")
    with pytest.raises(artifacts.ArtifactNotFound):
        artifacts.read_bytes(instance, "s3://bkt/missing")
    with pytest.raises(artifacts.ArtifactNotFound):
        artifacts.read_bytes(instance, "s3://no-such-bucket-anywhere/missing")
    with pytest.raises(artifacts.ArtifactNotFound):
        artifacts.local_path(instance, "s3://bkt/missing")


def test_file_uris_are_local_paths(instance, tmp_path):
    target = tmp_path / "elsewhere" / "x.bin"
    artifacts.write_bytes(instance, f"file://{target}", b"1")
    assert target.read_bytes() == b"1"
    assert artifacts.read_bytes(instance, f"file://{target}") == b"1"
    assert artifacts.local_path(instance, f"file://{target}") == target
    assert artifacts.exists(instance, f"file://{target}")


def test_external_objects_are_cached_for_local_paths(instance, moto_endpoint):
    if ObjectStore.open(instance).external is None:
        pytest.skip("a local store hands out its own blob files")
    artifacts.write_bytes(instance, "s3://shared/model.tar.gz", b"weights")
    client = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    assert client.get_object(Bucket="shared", Key="model.tar.gz")["Body"].read() == b"weights"  # other machines see it
    path = artifacts.local_path(instance, "s3://shared/model.tar.gz")
    assert path.is_relative_to(instance.settings.home / "cache") and path.read_bytes() == b"weights"
    client.put_object(Bucket="shared", Key="model.tar.gz", Body=b"newer")
    assert artifacts.local_path(instance, "s3://shared/model.tar.gz").read_bytes() == b"newer"
