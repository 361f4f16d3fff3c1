"""The artifact store in the console: buckets, folders, an object's details, a preview, a download.

Everything goes through the S3 face as the signed-in user (:meth:`Visit.call`),
so what a person sees is what ``aws s3`` would show them:

* ``/console/artifacts``: ListBuckets (``s3:ListAllMyBuckets``, the page's action).
* ``/console/artifacts/{bucket}`` and ``.../{bucket}/{prefix}/``: ListObjectsV2
  with ``Delimiter="/"``: the folders (common prefixes) and objects under a
  prefix, a page at a time by ContinuationToken.  A path that ends in ``/`` is
  a folder.
* ``.../{bucket}/{key}``: HeadObject as a page, with a preview of what a person
  can read at a glance: text, CSV (a table of the first rows), JSON
  (pretty-printed) and images.  Text and CSV larger than :data:`PREVIEW_BYTES`
  show their first bytes (a ranged GetObject); anything else is not previewed,
  and the page says why.  A key that is no object but has objects under it
  (``s3://bucket/output``, as a job names its output) is shown as that folder.
* ``?download=1``: GetObject streamed as an attachment with the object's own
  content type (its row in the audit log is GetObject, naming the object);
  ``?inline=1``: the bytes of a previewable image, served as that image type.

An object's bytes are whatever someone uploaded, so they are never rendered by
the console's origin: downloads are attachments, inline images are served only
as raster image types, and every object answer carries
``Content-Security-Policy: sandbox`` and ``X-Content-Type-Options: nosniff``
(an HTML or SVG object opened directly runs no script with the console's
cookies).  The page escapes the text it previews.

URLs: a key's path segments are percent-encoded (spaces, unicode, ``%``, ``?``
and ``#`` all survive); a key with ``.`` or ``..`` segments, which browsers
resolve away, is addressed as ``/console/artifacts/{bucket}?key=...``
(``?prefix=...`` for a folder) instead.
"""

from __future__ import annotations

import csv
import io
import json
import mimetypes
import re
import urllib.parse

from starlette.responses import Response, StreamingResponse

from ...errors import AwsError
from . import view

PAGE_SIZE = 100
#: The most of an object read into memory for a preview.
PREVIEW_BYTES = 1 << 20
#: Images are streamed by the browser itself, so a larger one is still shown.
IMAGE_PREVIEW_BYTES = 8 << 20
CSV_ROWS = 50
CSV_COLUMNS = 50
CSV_CELL = 300
#: How much of an object of unknown type is read to tell text from binary.
SNIFF_BYTES = 4096
MAX_BACK = 20

#: Raster image types a browser shows without running anything (SVG is a document: previewed as text).
IMAGE_TYPES = {
    ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif", ".webp": "image/webp",
    ".avif": "image/avif", ".bmp": "image/bmp",
}
_IMAGE_MEDIA = set(IMAGE_TYPES.values())
_CSV_EXTENSIONS = {".csv": ",", ".tsv": "\t"}
_JSON_EXTENSIONS = (".json", ".ipynb")
_TEXT_EXTENSIONS = (
    ".txt", ".log", ".md", ".rst", ".py", ".r", ".sh", ".yaml", ".yml", ".toml", ".ini", ".cfg", ".conf", ".xml",
    ".html", ".htm", ".svg", ".jsonl", ".ndjson", ".out", ".err", ".sql", ".js", ".ts", ".css", ".manifest",
    ".properties", ".libsvm", ".jsonlines",
)
_BINARY_EXTENSIONS = (
    ".gz", ".tgz", ".tar", ".zip", ".bz2", ".xz", ".zst", ".pkl", ".pickle", ".joblib", ".parquet", ".npy", ".npz",
    ".pt", ".pth", ".bin", ".onnx", ".h5", ".hdf5", ".pb", ".model", ".so", ".whl", ".pdf", ".xlsx", ".avro",
    ".arrow", ".feather", ".recordio", ".rec", ".idx", ".safetensors", ".ckpt", ".tif", ".tiff", ".ico",
)
_TEXT_TYPES = ("text/", "application/xml", "application/x-yaml", "application/yaml", "application/x-sh",
               "application/javascript", "application/x-ndjson", "application/jsonlines", "application/x-jsonlines",
               "image/svg+xml")
_UNKNOWN_TYPES = ("", "binary/octet-stream", "application/octet-stream")
_MEDIA_TYPE = re.compile(r"^[\w.+-]+/[\w.+-]+(\s*;\s*[\w.+-]+=(\"[^\"\r\n\\]*\"|[\w.+-]+))*$")
_DOT_SEGMENT = re.compile(r"(^|/)\.{1,2}(/|$)")

#: Headers on every answer that carries an object's bytes (see the module docstring).
_OBJECT_HEADERS = {"Content-Security-Policy": "sandbox; default-src 'none'", "X-Content-Type-Options": "nosniff"}


# --- URLs ------------------------------------------------------------------------------------------


def bucket_url(bucket: str) -> str:
    return "/console/artifacts/" + urllib.parse.quote(bucket, safe="")


def folder_url(bucket: str, prefix: str, **query) -> str:
    """The listing of ``prefix`` (``""``: the bucket's top)."""
    if not prefix:
        base = bucket_url(bucket)
    elif _DOT_SEGMENT.search(prefix) or not prefix.endswith("/"):
        query = {"prefix": prefix, **query}
        base = bucket_url(bucket)
    else:
        base = bucket_url(bucket) + "/" + urllib.parse.quote(prefix, safe="/")
    return base + _query_string(query)


def object_url(bucket: str, key: str, **query) -> str:
    """The page of object ``key`` (``download=1``: its bytes as an attachment; ``inline=1``: as an image)."""
    if _DOT_SEGMENT.search(key) or key.endswith("/"):
        return bucket_url(bucket) + _query_string({"key": key, **query})
    return bucket_url(bucket) + "/" + urllib.parse.quote(key, safe="/") + _query_string(query)


def _query_string(values: dict) -> str:
    pairs = [(k, v) for k, v in values.items() if v not in (None, "", [])]
    return "?" + urllib.parse.urlencode(pairs, doseq=True) if pairs else ""


def _crumbs(bucket: str, prefix: str) -> list[tuple[str, str]]:
    """(label, url) from the bucket down to ``prefix``'s last folder."""
    out = [(bucket, bucket_url(bucket))]
    at = ""
    for part in prefix.split("/")[:-1]:
        at += part + "/"
        out.append((part or "(empty name)", folder_url(bucket, at)))
    return out


def _s3_uri(bucket: str, key: str = "") -> str:
    return f"s3://{bucket}/{key}"


def _s3(visit, operation: str, params: dict, **options) -> dict:
    """``operation`` of the S3 face as the user (refused as S3 refuses it: Face.invoke spells errors)."""
    return visit.call("s3", operation, params, **options)


# --- pages -------------------------------------------------------------------------------------


@view("/artifacts", page="artifacts")
def buckets(visit) -> Response:
    token = visit.query.get("token") or None
    back = visit.query.getlist("back")[-MAX_BACK:]
    params: dict = {"MaxBuckets": PAGE_SIZE}
    if token:
        params["ContinuationToken"] = token
    answer = _s3(visit, "ListBuckets", params)
    rows = [{"name": b["Name"], "url": bucket_url(b["Name"]), "region": b.get("BucketRegion"),
             "created": b.get("CreationDate")} for b in answer.get("Buckets") or []]
    more = answer.get("ContinuationToken")
    return visit.render(
        "artifacts_buckets.html", title="Artifacts", rows=rows, first_page=not token,
        next_url="/console/artifacts" + _query_string({"token": more, "back": [*back, token or ""]}) if more else None,
        prev_url=("/console/artifacts" + _query_string({"token": back[-1] if back else None, "back": back[:-1]})
                  if token else None),
    )


@view("/artifacts/{bucket}", page="artifacts")
def bucket(visit) -> Response:
    name = visit.params["bucket"]
    if visit.query.get("key"):
        return _object(visit, name, visit.query["key"])
    return _listing(visit, name, visit.query.get("prefix") or "")


@view("/artifacts/{bucket}/{key:path}", page="artifacts")
def path(visit) -> Response:
    name, key = visit.params["bucket"], visit.params["key"]
    if key == "" or key.endswith("/"):
        return _listing(visit, name, key)
    return _object(visit, name, key)


def _listing(visit, bucket: str, prefix: str) -> Response:
    token = visit.query.get("token") or None
    back = visit.query.getlist("back")[-MAX_BACK:]
    size = visit.query.get("size") or ""
    size = min(1000, max(1, int(size))) if size.isdigit() else PAGE_SIZE
    params: dict = {"Bucket": bucket, "Delimiter": "/", "MaxKeys": size}
    if prefix:
        params["Prefix"] = prefix
    if token:
        params["ContinuationToken"] = token
    visit.event.resource_arn = f"arn:aws:s3:::{bucket}"
    answer = _s3(visit, "ListObjectsV2", params)
    folders = [
        {"name": p["Prefix"][len(prefix):], "url": folder_url(bucket, p["Prefix"])}
        for p in answer.get("CommonPrefixes") or []
    ]
    objects = [
        {"name": o["Key"][len(prefix):], "url": object_url(bucket, o["Key"]), "size": _size_words(o.get("Size", 0)),
         "modified": o.get("LastModified"), "download": object_url(bucket, o["Key"], download=1)}
        for o in answer.get("Contents") or [] if o["Key"] != prefix  # a "folder/" marker object is the folder itself
    ]
    more = answer.get("NextContinuationToken")
    kept = size if size != PAGE_SIZE else None
    searched = bool(prefix) and not prefix.endswith("/")  # "Find by prefix": names that start with it
    if not prefix:
        heading = bucket
    elif searched:
        heading = f"Starting with “{prefix.rpartition('/')[2]}”"
    else:
        heading = prefix[:-1].rpartition("/")[2] or "(empty name)"
    return visit.render(
        "artifacts_list.html", title=f"{heading} · Artifacts", bucket=bucket, prefix=prefix, folders=folders,
        objects=objects, crumbs=_crumbs(bucket, prefix)[: None if searched else -1], uri=_s3_uri(bucket, prefix),
        first_page=not token,
        searched=searched, heading=heading, search_url=bucket_url(bucket),
        next_url=folder_url(bucket, prefix, token=more, back=[*back, token or ""], size=kept) if more else None,
        prev_url=(folder_url(bucket, prefix, token=back[-1] if back else None, back=back[:-1], size=kept)
                  if token else None),
    )


def _object(visit, bucket: str, key: str) -> Response:
    visit.event.resource_arn = f"arn:aws:s3:::{bucket}/{key}"
    if visit.query.get("download"):
        return _download(visit, bucket, key)
    try:
        head = _s3(visit, "HeadObject", {"Bucket": bucket, "Key": key})
    except AwsError as error:
        if error.status == 404 and error.code == "NoSuchKey" and _has_children(visit, bucket, key + "/"):
            return visit.redirect(folder_url(bucket, key + "/"))
        raise
    if visit.query.get("inline"):
        return _inline(visit, bucket, key, head)
    kind, media = _kind(key, head.get("ContentType") or "")
    preview = _preview(visit, bucket, key, head, kind, media)
    metadata = {
        "Content-Encoding": head.get("ContentEncoding"), "Content-Disposition": head.get("ContentDisposition"),
        "Content-Language": head.get("ContentLanguage"), "Cache-Control": head.get("CacheControl"),
        "Expires": head.get("Expires"),
    }
    name = key.rpartition("/")[2]
    return visit.render(
        "artifacts_object.html", title=f"{name} · Artifacts", bucket=bucket, key=key, name=name,
        crumbs=_crumbs(bucket, key), uri=_s3_uri(bucket, key), head=head, etag=(head.get("ETag") or "").strip('"'),
        headers={k: v for k, v in metadata.items() if v}, user_metadata=head.get("Metadata") or {},
        preview=preview, size_words=_size_words(int(head.get("ContentLength") or 0)),
        download_url=object_url(bucket, key, download=1),
        listing_url=folder_url(bucket, key.rpartition("/")[0] + "/" if "/" in key else ""),
    )


def _has_children(visit, bucket: str, prefix: str) -> bool:
    try:
        answer = _s3(visit, "ListObjectsV2", {"Bucket": bucket, "Prefix": prefix, "MaxKeys": 1})
    except AwsError:
        return False
    return bool(answer.get("KeyCount"))


# --- previews -----------------------------------------------------------------------------------


def _kind(key: str, content_type: str) -> tuple[str, str | None]:
    """What the object is, for a preview.

    ("image", its type), ("csv", the delimiter), or ("json" | "text" | "unknown" | "binary", None).
    """
    lower = key.lower()
    media = content_type.split(";", 1)[0].strip().lower()
    ext = "." + lower.rpartition(".")[2] if "." in lower.rpartition("/")[2] else ""
    if media in _IMAGE_MEDIA:
        return "image", media
    if ext in IMAGE_TYPES and (media in _UNKNOWN_TYPES or media.startswith("image/")):
        return "image", IMAGE_TYPES[ext]
    if ext in _CSV_EXTENSIONS or media in ("text/csv", "text/tab-separated-values"):
        return "csv", "\t" if ext == ".tsv" or media == "text/tab-separated-values" else ","
    if media == "application/json" or media.endswith("+json") or (
        ext in _JSON_EXTENSIONS and media in (*_UNKNOWN_TYPES, "text/plain")
    ):
        return "json", None
    if media.startswith(_TEXT_TYPES) or ext in _TEXT_EXTENSIONS:
        return "text", None
    if ext in _BINARY_EXTENSIONS or lower.endswith(".tar.gz") or media.startswith(("image/", "audio/", "video/")):
        return "binary", None
    if media in _UNKNOWN_TYPES:
        return "unknown", None  # sniffed: text if its first bytes are UTF-8 without NULs
    return "binary", None


def _read(visit, bucket: str, key: str, limit: int, size: int) -> bytes:
    """The first ``limit`` bytes of the object (a ranged read when it is larger), never more in memory."""
    params: dict = {"Bucket": bucket, "Key": key}
    if size > limit:
        params["Range"] = f"bytes=0-{limit - 1}"
    body = _s3(visit, "GetObject", params)["Body"]
    chunks, total = [], 0
    try:
        for chunk in body:
            chunks.append(chunk)
            total += len(chunk)
            if total >= limit:
                break
    finally:
        close = getattr(body, "close", None)
        if close is not None:
            close()
    return b"".join(chunks)[:limit]


def _text(raw: bytes, cut: bool) -> str | None:
    """``raw`` as text (None if it is not: NUL bytes, or not UTF-8); ``cut``: drop a partial last line."""
    if b"\x00" in raw:
        return None
    if cut and b"\n" in raw:
        raw = raw[: raw.rindex(b"\n") + 1]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        if cut and error.start >= len(raw) - 3:  # a character split at the end of the bytes read
            return raw[: error.start].decode("utf-8", "replace")
        return None


def _size_words(size: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} bytes"


def _preview(visit, bucket: str, key: str, head: dict, kind: str, media: str | None) -> dict:
    """What the object page shows of the content: {"kind": ..., ...}, or {"kind": "none", "why": ...}."""
    size = int(head.get("ContentLength") or 0)
    content_type = head.get("ContentType") or "binary/octet-stream"
    if size == 0:
        return {"kind": "none", "why": "The object is empty (0 bytes)."}
    if kind == "image":
        if size > IMAGE_PREVIEW_BYTES:
            why = (f"The image is {_size_words(size)}; images up to {_size_words(IMAGE_PREVIEW_BYTES)} are shown "
                   "here. Download it to view it.")
            return {"kind": "none", "why": why}
        return {"kind": "image", "src": object_url(bucket, key, inline=1)}
    if kind == "binary":
        return {"kind": "none", "why": f"This is a binary object ({content_type}), which cannot be shown as text. "
                                       "Download it to open it with the program it belongs to."}
    if kind == "json" and size > PREVIEW_BYTES:
        kind = "text"  # too large to parse whole: its first bytes, as text
    limit = min(size, SNIFF_BYTES if kind == "unknown" else PREVIEW_BYTES)
    if kind == "unknown" and size <= PREVIEW_BYTES:
        limit = size  # small enough to read whole at once
    raw = _read(visit, bucket, key, limit, size)
    partial = size > len(raw)
    text = _text(raw, cut=partial)
    if text is None:
        return {"kind": "none", "why": f"The object's content type is {content_type} and its bytes are not UTF-8 text, "
                                       "so it is not shown here. Download it to open it."}
    shown = {"partial": partial, "shown_bytes": _size_words(len(text.encode("utf-8"))), "size": _size_words(size)}
    if kind == "json":
        try:
            return {"kind": "json", "text": json.dumps(json.loads(text), indent=2, ensure_ascii=False), **shown}
        except ValueError as error:
            return {"kind": "text", "text": text, "note": f"This is not valid JSON ({error}); shown as text.", **shown}
    if kind == "csv":
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=media or ",")
        rows = []
        try:
            for row in reader:
                rows.append([cell if len(cell) <= CSV_CELL else cell[:CSV_CELL] + "…" for cell in row[:CSV_COLUMNS]])
                if len(rows) > CSV_ROWS:
                    break
        except csv.Error as error:
            return {"kind": "text", "text": text, "note": f"This could not be read as CSV ({error}); shown as text.",
                    **shown}
        if not rows:
            return {"kind": "none", "why": "The CSV holds no rows."}
        header, body = rows[0], rows[1 : CSV_ROWS + 1]
        return {"kind": "csv", "header": header, "rows": body, "more": len(rows) > CSV_ROWS or partial,
                "wide": any(len(r) >= CSV_COLUMNS for r in rows), **shown}
    if kind == "unknown" and partial:
        # The first bytes are text: show the first PREVIEW_BYTES of it.
        raw = _read(visit, bucket, key, PREVIEW_BYTES, size)
        partial = size > len(raw)
        text = _text(raw, cut=partial) or text
        shown = {"partial": partial, "shown_bytes": _size_words(len(text.encode("utf-8"))), "size": _size_words(size)}
    return {"kind": "text", "text": text, **shown}


# --- bytes -------------------------------------------------------------------------------------------


def _safe_type(content_type: str | None) -> str:
    value = (content_type or "").strip()
    return value if value and _MEDIA_TYPE.match(value) else "application/octet-stream"


def _disposition(kind: str, key: str) -> str:
    """``attachment; filename="..."; filename*=UTF-8''...`` (RFC 6266): the key's last segment."""
    name = key.rpartition("/")[2] or "object"
    fallback = re.sub(r'[^A-Za-z0-9._ ()+-]', "_", name)[:150] or "object"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{urllib.parse.quote(name, safe='')}"


def _download(visit, bucket: str, key: str) -> Response:
    # recorded: who took a copy of which object is what an auditor asks.
    answer = _s3(visit, "GetObject", {"Bucket": bucket, "Key": key}, record=True)
    headers = {
        **_OBJECT_HEADERS,
        "Content-Type": _safe_type(answer.get("ContentType")),
        "Content-Disposition": _disposition("attachment", key),
        "Content-Length": str(answer.get("ContentLength") or 0),
    }
    if answer.get("ETag"):
        headers["ETag"] = answer["ETag"]
    return StreamingResponse(answer["Body"], headers=headers)


def _inline(visit, bucket: str, key: str, head: dict) -> Response:
    kind, media = _kind(key, head.get("ContentType") or "")
    if kind != "image" or int(head.get("ContentLength") or 0) > IMAGE_PREVIEW_BYTES:
        return _download(visit, bucket, key)
    answer = _s3(visit, "GetObject", {"Bucket": bucket, "Key": key})
    headers = {
        **_OBJECT_HEADERS,
        "Content-Type": media or mimetypes.guess_type(key)[0] or "application/octet-stream",
        "Content-Disposition": _disposition("inline", key),
        "Content-Length": str(answer.get("ContentLength") or 0),
    }
    return StreamingResponse(answer["Body"], headers=headers)
