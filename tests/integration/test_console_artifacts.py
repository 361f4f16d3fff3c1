"""The artifact store in the console: browse buckets and folders, preview objects, download them.

One server for the module.  The admin puts objects with boto3's S3 client; an
auditor (whose persona reads the artifact store and changes nothing) browses
them through ``/console/artifacts``; narrower users are refused.
"""

from __future__ import annotations

import html
import json
import re
import struct
import time
import urllib.parse
import uuid
import zlib

import pytest

from charter.iam.personas import build_policy
from conftest import start_server, stop_server
from test_console_frame import PASSWORD, Browser

pytestmark = pytest.mark.once(
    "the page's side; the S3 operations it calls are tested on both databases in test_s3*.py and test_artifacts.py"
)

ACCOUNT = "123456789012"
UNICODE_KEY = "données/été 2024/résumé #1 100%.txt"
BIG = b"".join(b"line %06d of a long training log\n" % i for i in range(45_000))  # about 1.5 MiB


def png(width: int = 4, height: int = 3) -> bytes:
    """A small valid PNG (one red-ish RGB image)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\x00" + b"\xcc\x22\x22" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


CSV = "id,amount,label\n" + "".join(f"{i},{i * 1.5},{'yes' if i % 2 else 'no'}\n" for i in range(60))
OBJECTS = {
    "data/train.csv": (CSV.encode(), "text/csv"),
    "reports/evaluation.json": (json.dumps({"auc": 0.8125, "classes": ["good", "bad"]}).encode(), "application/json"),
    "notes/readme.txt": ("Trained on the 2024 holdout.\nSee the card.\n".encode(), None),  # no type: sniffed as text
    "images/chart.png": (png(), None),
    "site/page.html": (b"<h1>Hi</h1><script>alert(document.cookie)</script>", "text/html"),
    "models/model.tar.gz": (b"\x1f\x8b\x08\x00" + bytes(range(256)) * 4, "application/x-tar"),
    "logs/big.log": (BIG, "text/plain"),
    UNICODE_KEY: ("Ünïcødé and spaces.\n".encode(), "text/plain; charset=utf-8"),
    "odd/../dots.txt": (b"a key browsers would resolve", "text/plain"),
    "pages/a.txt": (b"a", "text/plain"),
    "pages/b.txt": (b"b", "text/plain"),
    "pages/c.txt": (b"c", "text/plain"),
}


@pytest.fixture(scope="module")
def server(tmp_path_factory, database_url_factory):
    started = start_server(tmp_path_factory.mktemp("console-artifacts"), database_url_factory())
    yield started
    stop_server(started)


def person(server, document: dict) -> Browser:
    """A user whose one policy is ``document``, signed in to the console."""
    name = f"person-{uuid.uuid4().hex[:6]}"
    iam = server.client(service="iam")
    iam.create_user(UserName=name)
    arn = iam.create_policy(PolicyName=f"{name}-policy", PolicyDocument=json.dumps(document))["Policy"]["Arn"]
    iam.attach_user_policy(UserName=name, PolicyArn=arn)
    iam.create_login_profile(UserName=name, Password=PASSWORD)
    browser = Browser(server.endpoint)
    assert browser.sign_in(name).status_code == 303
    return browser


@pytest.fixture(scope="module")
def bucket(server):
    name = f"evidence-{uuid.uuid4().hex[:6]}"
    s3 = server.client(service="s3")
    s3.create_bucket(Bucket=name)
    for key, (body, content_type) in OBJECTS.items():
        s3.put_object(Bucket=name, Key=key, Body=body, **({"ContentType": content_type} if content_type else {}),
                      **({"Metadata": {"owner": "risk-team"}} if key.endswith(".json") else {}))
    s3.create_bucket(Bucket=f"{name}-empty")
    return name


@pytest.fixture(scope="module")
def auditor(server):
    return person(server, build_policy("auditor", account=ACCOUNT))


def url(bucket: str, key: str = "") -> str:
    return f"/console/artifacts/{bucket}/" + urllib.parse.quote(key)


def links_of(page: str) -> list[str]:
    return [html.unescape(h) for h in re.findall(r'<a href="([^"]+)"', page)]


def test_a_store_without_buckets_says_how_to_make_one(auditor):
    # Runs first, before the bucket fixture has made any.
    top = auditor.get("/console/artifacts")
    assert top.status_code == 200
    assert "No buckets yet" in top.text and "aws s3 mb s3://" in top.text


def test_browse_buckets_folders_and_pages(auditor, bucket):
    top = auditor.get("/console/artifacts")
    assert top.status_code == 200 and "<h1>Artifacts</h1>" in top.text
    assert f'href="/console/artifacts/{bucket}"' in top.text

    root = auditor.get(f"/console/artifacts/{bucket}")
    assert root.status_code == 200
    for folder in ("data/", "reports/", "images/", "données/"):
        assert url(bucket, folder) in links_of(root.text), folder
    assert f"s3://{bucket}/" in root.text

    data = auditor.get(url(bucket, "data/"))
    assert data.status_code == 200 and "train.csv" in data.text
    assert url(bucket, "data/train.csv") in links_of(data.text)
    assert f"{len(CSV.encode())} bytes" in data.text
    assert '<a href="/console/artifacts">Artifacts</a>' in data.text  # the breadcrumbs
    assert f'<a href="/console/artifacts/{bucket}">{bucket}</a>' in data.text

    # Pages of a folder by ContinuationToken: 2 at a time through a, b, c.
    first = auditor.get(url(bucket, "pages/"), params={"size": 2})
    assert "a.txt" in first.text and "b.txt" in first.text and "c.txt" not in first.text
    following = html.unescape(re.search(r'<a href="([^"]+)" rel="next">', first.text)[1])
    second = auditor.get(following)
    assert "c.txt" in second.text and "a.txt" not in second.text and 'rel="next"' not in second.text
    assert 'rel="prev"' in second.text

    # A key with no object but objects under it is that folder (as a job's S3 output path is).
    assert auditor.get(url(bucket, "data")).headers["location"] == url(bucket, "data/")
    # Find by prefix.
    found = auditor.get(f"/console/artifacts/{bucket}", params={"prefix": "rep"})
    assert url(bucket, "reports/") in links_of(found.text) and "data/" not in found.text

    # Empty states.
    empty = auditor.get(f"/console/artifacts/{bucket}-empty")
    assert empty.status_code == 200 and "This bucket is empty" in empty.text
    nothing = auditor.get(url(bucket, "no-such-folder/"))
    assert nothing.status_code == 200 and "This folder is empty" in nothing.text
    assert auditor.get(url(bucket, "no-such-object.txt")).status_code == 404
    assert auditor.get("/console/artifacts/no-such-bucket-here").status_code == 404


def test_previews(auditor, bucket):
    table = auditor.get(url(bucket, "data/train.csv"))
    assert table.status_code == 200
    assert "<th scope=\"col\">amount</th>" in table.text
    assert table.text.count("<tr>") == 1 + 50  # the header and the first 50 of 60 rows
    assert "<td>49</td>" in table.text and "<td>50</td>" not in table.text
    assert "there are more" in table.text

    document = auditor.get(url(bucket, "reports/evaluation.json")).text
    assert '{\n  "auc": 0.8125,\n  "classes": [\n    "good",' in html.unescape(document)
    assert "x-amz-meta-owner" in document and "risk-team" in document
    assert "application/json" in document

    text = auditor.get(url(bucket, "notes/readme.txt")).text
    assert "Trained on the 2024 holdout.\nSee the card." in text and "binary/octet-stream" in text

    page = auditor.get(url(bucket, "site/page.html")).text
    assert "&lt;script&gt;alert(document.cookie)&lt;/script&gt;" in page and "<script>alert" not in page

    binary = auditor.get(url(bucket, "models/model.tar.gz")).text
    assert "No preview." in binary and "binary object (application/x-tar)" in binary

    big = auditor.get(url(bucket, "logs/big.log")).text
    assert "The first 1024.0 KiB of 1.5 MiB" in big
    assert "line 000000 of a long training log" in big and "line 044999" not in big


def test_an_image_is_shown_from_this_origin_and_never_as_a_page(auditor, bucket):
    page = auditor.get(url(bucket, "images/chart.png")).text
    src = html.unescape(re.search(r'<img src="([^"]+)" alt="The image chart.png">', page)[1])
    assert src == url(bucket, "images/chart.png") + "?inline=1"
    image = auditor.get(src)
    assert image.status_code == 200 and image.content == OBJECTS["images/chart.png"][0]
    assert image.headers["content-type"] == "image/png"
    assert image.headers["content-security-policy"].startswith("sandbox")
    assert image.headers["x-content-type-options"] == "nosniff"
    # An HTML object asked for "inline" is not an image: it comes as an attachment, sandboxed.
    forced = auditor.get(url(bucket, "site/page.html"), params={"inline": 1})
    assert forced.headers["content-disposition"].startswith("attachment")
    assert forced.headers["content-security-policy"].startswith("sandbox")


def test_downloads_are_the_bytes_and_unicode_keys_work(server, auditor, bucket):
    big = auditor.get(url(bucket, "logs/big.log"), params={"download": 1})
    assert big.status_code == 200 and big.content == BIG
    assert big.headers["content-disposition"] == "attachment; filename=\"big.log\"; filename*=UTF-8''big.log"
    assert big.headers["content-type"] == "text/plain" and big.headers["content-length"] == str(len(BIG))
    assert big.headers["content-security-policy"].startswith("sandbox")

    # Unicode, spaces, '#' and '%' in a key, folder by folder.
    folder = auditor.get(url(bucket, "données/"))
    assert url(bucket, "données/été 2024/") in links_of(folder.text)
    inner = auditor.get(url(bucket, "données/été 2024/"))
    assert url(bucket, UNICODE_KEY) in links_of(inner.text)
    page = auditor.get(url(bucket, UNICODE_KEY))
    assert page.status_code == 200 and "Ünïcødé and spaces." in page.text
    assert html.escape(f"s3://{bucket}/{UNICODE_KEY}", quote=False) in page.text
    download = auditor.get(url(bucket, UNICODE_KEY), params={"download": 1})
    assert download.content == OBJECTS[UNICODE_KEY][0]
    assert "filename*=UTF-8''r%C3%A9sum%C3%A9%20%231%20100%25.txt" in download.headers["content-disposition"]

    # A key with a ".." segment, which a browser would resolve away in a path, is addressed by a query.
    odd = auditor.get(url(bucket, "odd/"))
    folder = f"/console/artifacts/{bucket}?prefix=odd%2F..%2F"
    assert folder in links_of(odd.text)
    assert f"/console/artifacts/{bucket}?key=odd%2F..%2Fdots.txt" in links_of(auditor.get(folder).text)
    by_query = auditor.get(f"/console/artifacts/{bucket}", params={"key": "odd/../dots.txt"})
    assert "a key browsers would resolve" in by_query.text

    # A download is in the audit log as GetObject of that object, from the console.
    admin = person(server, {"Version": "2012-10-17",
                            "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
    for _ in range(30):
        log = admin.get("/console/audit-log",
                        params={"operation": "GetObject", "resource": "big.log", "source": "console"})
        if f"arn:aws:s3:::{bucket}/logs/big.log" in log.text:
            break
        time.sleep(0.3)
    assert f"arn:aws:s3:::{bucket}/logs/big.log" in log.text


def test_who_may_not_read_is_refused(server, bucket):
    nothing = person(server, build_policy("data-scientist", account=ACCOUNT))  # no buckets given: no S3 at all
    refused = nothing.get("/console/artifacts")
    assert refused.status_code == 403 and "s3:ListAllMyBuckets" in refused.text

    lister = person(server, {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:ListAllMyBuckets", "s3:ListBucket"], "Resource": "*"}]})
    assert lister.get(f"/console/artifacts/{bucket}").status_code == 200
    for params in ({}, {"download": 1}, {"inline": 1}):
        denied = lister.get(url(bucket, "images/chart.png"), params=params)
        assert denied.status_code == 403, params
        assert "You do not have permission" in denied.text and "s3:GetObject" in denied.text
        assert denied.headers["content-type"].startswith("text/html")
