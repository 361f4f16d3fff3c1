"""Amazon S3's buckets, objects and multipart uploads, over Charter's object store.

The handlers translate between S3's operations (botocore's ``s3`` model) and
:class:`charter.store.objects.ObjectStore`; they never see HTTP (the REST-XML
protocol has already turned headers, query parameters and the body stream
into members).  Each one runs with ``streams=True``: the store opens its own
transactions, so no database lock is held while a body arrives or a copy runs.

What the handlers add to the store, as S3 defines it (Amazon S3 API Reference):

* conditional requests (GetObject, HeadObject; the copy-source conditions of
  CopyObject and UploadPartCopy), with S3's precedence: ``If-Match`` true
  overrides a false ``If-Unmodified-Since``, ``If-None-Match`` false
  overrides a true ``If-Modified-Since``; a failed match is 412, "not
  modified" 304 (for a copy source, both are 412);
* byte ranges (``bytes=a-b``, ``bytes=a-``, ``bytes=-n``): 206 with
  ``Content-Range``, 416 InvalidRange when nothing of the object is in range,
  the whole object when the header is not a single byte range;
* listings: ``ListObjectsV2``'s opaque continuation token, ``EncodingType=url``
  (botocore asks for it on every listing and decodes it), ``KeyCount``,
  ``FetchOwner``; ``ListObjects`` (v1) with ``NextMarker`` only when a
  delimiter is given, as S3 does;
* IAM as S3 names it: HeadObject is ``s3:GetObject``, listing a bucket
  ``s3:ListBucket``, the multipart steps ``s3:PutObject``, ListParts
  ``s3:ListMultipartUploadParts``; a copy needs ``s3:GetObject`` on its source
  besides ``s3:PutObject`` on its target, and DeleteObjects is authorized key
  by key (a refused key is an ``AccessDenied`` entry of the answer's
  ``Errors``, the others are deleted);
* every object gets a CRC64NVME checksum when the client names none, as S3
  has done by default since 2024; checksums are answered on GetObject and
  HeadObject only with ``ChecksumMode=ENABLED``.

Versioning is off: ``GetBucketVersioning`` answers no status and a version id
other than ``null`` is refused.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import io
import re
from urllib.parse import quote, unquote

from ..iam import identities, policy
from ..store.objects import ObjectStore
from ..store.objects import checksums as sums
from ..store.objects import errors as s3
from . import Call, operation

ALGORITHMS = ("CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256")
DEFAULT_CHECKSUM = "CRC64NVME"
MAX_KEYS = 1000
MAX_DELETE_KEYS = 1000
US_EAST_1 = "us-east-1"

#: Input members that carry the standard headers S3 stores with an object, by the store's names.
HEADER_MEMBERS = {
    "cache_control": "CacheControl",
    "content_disposition": "ContentDisposition",
    "content_encoding": "ContentEncoding",
    "content_language": "ContentLanguage",
    "expires": "Expires",
}


# --- helpers -------------------------------------------------------------------------


def bucket_arn(bucket: str) -> str:
    return f"arn:aws:s3:::{bucket}"


def object_arn(bucket: str, key: str) -> str:
    return f"arn:aws:s3:::{bucket}/{key}"


def _bucket(region: str, account: str, params: dict) -> str:
    return bucket_arn(params.get("Bucket", ""))


def _object(region: str, account: str, params: dict) -> str:
    return object_arn(params.get("Bucket", ""), params.get("Key", ""))


def _store(call: Call) -> ObjectStore:
    store = ObjectStore.open(call.instance)
    if store.external:
        raise s3.InvalidRequest(
            f"This Charter server keeps its artifacts in the external S3 store {store.external}; "
            f"send S3 requests to that store (AWS_ENDPOINT_URL_S3={store.external}).",
            Endpoint=store.external,
        )
    return store


def canonical_id(account: str) -> str:
    """The account's canonical user id (S3 names owners by a 64-hex-digit id)."""
    return hashlib.sha256(f"charter-canonical-user:{account}".encode()).hexdigest()


def _owner(account: str) -> dict:
    return {"ID": canonical_id(account), "DisplayName": account}


def _permitted(call: Call, action: str, resource: str) -> bool:
    """Whether the caller's policies allow ``action`` on ``resource`` (checks the face cannot make alone)."""
    with call.instance.transaction(write=False) as conn:
        policies = [doc for _, doc in identities.attached_policies(conn, call.principal_arn)]
    context = {
        "aws:username": call.user_name,
        "aws:PrincipalArn": call.principal_arn,
        "aws:PrincipalAccount": call.account,
        "aws:RequestedRegion": call.region,
    }
    request = policy.Request(action=action, resource=resource, principal=call.principal_arn, context=context)
    return policy.evaluate(policies, request) is policy.Decision.ALLOW


def _require(call: Call, action: str, resource: str) -> None:
    if not _permitted(call, action, resource):
        raise s3.AccessDenied(
            f"User: {call.principal_arn} is not authorized to perform: {action} on resource: {resource} "
            f"because no identity-based policy allows the {action} action"
        )


def _checksum_in(params: dict, algorithm_member: str = "ChecksumAlgorithm", default: str | None = None) -> sums.Checksum | None:
    """The checksum a request asks for: a value it sent, or an algorithm to compute."""
    sent = [(name, params[f"Checksum{name}"]) for name in ALGORITHMS if params.get(f"Checksum{name}")]
    if len(sent) > 1:
        raise s3.InvalidRequest("Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.")
    named = params.get(algorithm_member)
    if named is not None and str(named).upper() not in ALGORITHMS:
        raise s3.InvalidRequest(
            f"Checksum algorithm {named} is not supported; use one of {', '.join(ALGORITHMS)}.",
            ArgumentName="x-amz-sdk-checksum-algorithm",
        )
    if sent:
        algorithm, value = sent[0]
        if named is not None and str(named).upper() != algorithm:
            raise s3.InvalidRequest(
                f"Value for x-amz-sdk-checksum-algorithm header is invalid: {named} does not match the "
                f"x-amz-checksum-{algorithm.lower()} header sent."
            )
        return sums.Checksum(algorithm, value)
    if named is not None:
        return sums.Checksum(str(named).upper())
    return sums.Checksum(default) if default else None


def _checksum_out(checksum: sums.Checksum | None, output: dict) -> dict:
    if checksum is not None and checksum.value and checksum.algorithm in ALGORITHMS:
        output[f"Checksum{checksum.algorithm}"] = checksum.value
        if checksum.type:
            output["ChecksumType"] = checksum.type
    return output


def _std_headers(params: dict) -> dict:
    return {name: params[member] for name, member in HEADER_MEMBERS.items() if params.get(member) is not None}


def _check_version(params: dict, member: str = "VersionId") -> None:
    version = params.get(member)
    if version is not None and version != "null":
        raise s3.InvalidArgument("Invalid version id specified", ArgumentName="versionId", ArgumentValue=version)


def _object_fields(info, params: dict) -> dict:
    """The members GetObject and HeadObject share."""
    out = {
        "ETag": info.etag,
        "LastModified": info.last_modified,
        "ContentLength": info.size,
        "ContentType": info.content_type or "binary/octet-stream",
        "Metadata": dict(info.metadata or {}),
        "AcceptRanges": "bytes",
    }
    for name, member in HEADER_MEMBERS.items():
        value = (info.headers or {}).get(name)
        if value is not None:
            out[member] = value
    if info.parts_count and params.get("PartNumber"):
        out["PartsCount"] = info.parts_count
    if params.get("ChecksumMode") == "ENABLED":
        _checksum_out(info.checksum, out)
    # response-* query parameters override the stored headers of this answer (S3 allows them on signed requests).
    for override, member in (
        ("ResponseCacheControl", "CacheControl"),
        ("ResponseContentDisposition", "ContentDisposition"),
        ("ResponseContentEncoding", "ContentEncoding"),
        ("ResponseContentLanguage", "ContentLanguage"),
        ("ResponseContentType", "ContentType"),
        ("ResponseExpires", "Expires"),
    ):
        if params.get(override) is not None:
            out[member] = params[override]
    return out


def _etags(header: str) -> list[str]:
    return [part.strip().removeprefix("W/").strip('"') for part in header.split(",") if part.strip()]


def _matches(header: str, etag: str) -> bool:
    wanted = _etags(header)
    return "*" in wanted or etag.strip('"') in wanted


def _seconds(moment: dt.datetime) -> dt.datetime:
    moment = moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)
    return moment.replace(microsecond=0)


def check_conditions(info, *, if_match=None, if_none_match=None, if_modified_since=None, if_unmodified_since=None,
                     not_modified=s3.NotModified) -> None:
    """S3's precedence of the four conditional headers (RFC 7232 section 6, as S3 applies it)."""
    modified = _seconds(info.last_modified)
    if if_match is not None:
        if not _matches(if_match, info.etag):
            raise s3.PreconditionFailed(Condition="If-Match")
    elif if_unmodified_since is not None and modified > _seconds(if_unmodified_since):
        raise s3.PreconditionFailed(Condition="If-Unmodified-Since")
    if if_none_match is not None:
        if _matches(if_none_match, info.etag):
            raise not_modified(Condition="If-None-Match")
    elif if_modified_since is not None and modified <= _seconds(if_modified_since):
        raise not_modified(Condition="If-Modified-Since")


_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The inclusive (start, end) a Range header asks of an object of ``size`` bytes, or None for all of it."""
    if header is None:
        return None
    found = _RANGE.match(header.strip())
    if found is None or (not found.group(1) and not found.group(2)):
        return None  # not one byte range: S3 answers the whole object
    first, last = found.groups()
    if first:
        start = int(first)
        end = min(int(last), size - 1) if last else size - 1
        if last and int(last) < start:
            return None  # a syntactically invalid range is ignored (RFC 7233 section 2.1)
        if start >= size:
            raise s3.InvalidRange(RangeRequested=header, ActualObjectSize=size)
        return start, end
    suffix = int(last)
    if suffix == 0 or size == 0:
        raise s3.InvalidRange(RangeRequested=header, ActualObjectSize=size)
    return max(size - suffix, 0), size - 1


def parse_copy_source(source: str) -> tuple[str, str]:
    """``bucket/key[?versionId=...]`` (URL-encoded, with or without a leading ``/``) as (bucket, key)."""
    text, _, query = source.partition("?")
    if query:
        name, _, version = query.partition("=")
        if name != "versionId":
            raise s3.InvalidArgument("Invalid copy source: the only query parameter allowed is versionId.",
                                     ArgumentName="x-amz-copy-source", ArgumentValue=source)
        if unquote(version) != "null":
            raise s3.InvalidArgument("Invalid version id specified", ArgumentName="x-amz-copy-source", ArgumentValue=source)
    text = unquote(text).lstrip("/")
    bucket, _, key = text.partition("/")
    if not bucket or not key:
        raise s3.InvalidArgument(
            "Copy Source must mention the source bucket and key: sourcebucket/sourcekey",
            ArgumentName="x-amz-copy-source",
            ArgumentValue=source,
        )
    return bucket, key


def _copy_source_range(header: str | None) -> tuple[int | None, int | None]:
    if header is None:
        return None, None
    found = re.match(r"^bytes=(\d+)-(\d+)$", header.strip())
    if found is None or int(found.group(2)) < int(found.group(1)):
        raise s3.InvalidArgument(
            "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the "
            "zero-based offsets of the first and last bytes to copy",
            ArgumentName="x-amz-copy-source-range",
            ArgumentValue=header,
        )
    return int(found.group(1)), int(found.group(2))


def _copy_source(call: Call, store, params: dict):
    """The copy's source: its bucket, key and head, once the caller may read it and its conditions hold."""
    src_bucket, src_key = parse_copy_source(params["CopySource"])
    _require(call, "s3:GetObject", object_arn(src_bucket, src_key))
    source = store.head_object(src_bucket, src_key)
    _copy_conditions(source, params)
    return src_bucket, src_key, source


def _copy_conditions(info, params: dict) -> None:
    check_conditions(
        info,
        if_match=params.get("CopySourceIfMatch"),
        if_none_match=params.get("CopySourceIfNoneMatch"),
        if_modified_since=params.get("CopySourceIfModifiedSince"),
        if_unmodified_since=params.get("CopySourceIfUnmodifiedSince"),
        not_modified=s3.PreconditionFailed,
    )


def _encode(value: str | None, params: dict) -> str | None:
    if value is None or params.get("EncodingType") != "url":
        return value
    return quote(value, safe="/")


# Continuation tokens are opaque to the client: the key to resume after, encoded.
def _token(key: str) -> str:
    return base64.urlsafe_b64encode(b"1:" + key.encode("utf-8")).decode("ascii")


def _untoken(token: str) -> str:
    try:
        raw = base64.urlsafe_b64decode(token.encode("ascii") + b"=" * (-len(token) % 4))
        if not raw.startswith(b"1:"):
            raise ValueError
        return raw[2:].decode("utf-8")
    except (ValueError, binascii.Error, UnicodeError):
        raise s3.InvalidArgument(
            "The continuation token provided is incorrect", ArgumentName="continuation-token", ArgumentValue=token
        ) from None


def _max_keys(params: dict, member: str = "MaxKeys", limit: int = MAX_KEYS) -> int:
    value = params.get(member)
    if value is None:
        return limit
    if value < 0:
        raise s3.InvalidArgument(
            f"Argument {member[0].lower()}{member[1:]} must be an integer between 0 and 2147483647",
            ArgumentName=member, ArgumentValue=str(value),
        )
    return min(value, limit)


# --- buckets ---------------------------------------------------------------------------


@operation("CreateBucket", service="s3", action="s3:CreateBucket", resource=_bucket, streams=True)
def create_bucket(call: Call, params: dict) -> dict:
    constraint = (params.get("CreateBucketConfiguration") or {}).get("LocationConstraint")
    if call.region == US_EAST_1:
        if constraint == US_EAST_1:
            raise InvalidLocationConstraint(LocationConstraint=constraint)
        if constraint and constraint != "EU":
            raise _illegal_location(constraint)
    elif constraint != call.region:
        raise _illegal_location(constraint)
    _store(call).create_bucket(params["Bucket"], region=call.region, owner=call.account)
    return {"Location": f"/{params['Bucket']}", "BucketArn": bucket_arn(params["Bucket"])}


class InvalidLocationConstraint(s3.S3Error):
    code = "InvalidLocationConstraint"
    default_message = "The specified location-constraint is not valid"


class IllegalLocationConstraint(s3.S3Error):
    code = "IllegalLocationConstraintException"


def _illegal_location(constraint: str | None) -> s3.S3Error:
    said = constraint or "unspecified"
    return IllegalLocationConstraint(
        f"The {said} location constraint is incompatible for the region specific endpoint this request was sent to."
    )


def _own_bucket(call: Call, store: ObjectStore, name: str):
    found = store.head_bucket(name)
    if found.owner != call.account:
        raise s3.AccessDenied()
    return found


@operation("HeadBucket", service="s3", action="s3:ListBucket", resource=_bucket, writes=False, streams=True)
def head_bucket(call: Call, params: dict) -> dict:
    found = _own_bucket(call, _store(call), params["Bucket"])
    return {"BucketRegion": found.region, "BucketArn": bucket_arn(found.name)}


@operation("DeleteBucket", service="s3", action="s3:DeleteBucket", resource=_bucket, streams=True)
def delete_bucket(call: Call, params: dict) -> dict:
    store = _store(call)
    _own_bucket(call, store, params["Bucket"])
    store.delete_bucket(params["Bucket"])
    return {}


@operation("ListBuckets", service="s3", action="s3:ListAllMyBuckets", writes=False, streams=True)
def list_buckets(call: Call, params: dict) -> dict:
    buckets = _store(call).list_buckets(owner=call.account)
    prefix = params.get("Prefix") or ""
    if prefix:
        buckets = [b for b in buckets if b.name.startswith(prefix)]
    if params.get("BucketRegion"):
        buckets = [b for b in buckets if b.region == params["BucketRegion"]]
    if params.get("ContinuationToken"):
        after = _untoken(params["ContinuationToken"])
        buckets = [b for b in buckets if b.name > after]
    limit = params.get("MaxBuckets")
    if limit is not None and not 1 <= limit <= 10000:
        raise s3.InvalidArgument("Argument max-buckets must be an integer between 1 and 10000",
                                 ArgumentName="max-buckets", ArgumentValue=str(limit))
    out: dict = {"Owner": _owner(call.account)}
    if prefix:
        out["Prefix"] = prefix
    if limit is not None and len(buckets) > limit:
        buckets = buckets[:limit]
        out["ContinuationToken"] = _token(buckets[-1].name)
    out["Buckets"] = [{"Name": b.name, "CreationDate": b.created, "BucketRegion": b.region,
                       "BucketArn": bucket_arn(b.name)} for b in buckets]
    return out


@operation("GetBucketLocation", service="s3", action="s3:GetBucketLocation", resource=_bucket, writes=False, streams=True)
def get_bucket_location(call: Call, params: dict) -> dict:
    found = _own_bucket(call, _store(call), params["Bucket"])
    # us-east-1 buckets answer an empty LocationConstraint, as S3 does.
    return {"LocationConstraint": None if found.region == US_EAST_1 else found.region}


@operation("GetBucketVersioning", service="s3", action="s3:GetBucketVersioning", resource=_bucket, writes=False,
           streams=True)
def get_bucket_versioning(call: Call, params: dict) -> dict:
    _own_bucket(call, _store(call), params["Bucket"])
    return {}  # versioning has never been enabled: no Status


# --- objects ---------------------------------------------------------------------------


@operation("PutObject", service="s3", action="s3:PutObject", resource=_object, streams=True)
def put_object(call: Call, params: dict) -> dict:
    store = _store(call)
    body = params.get("Body")
    if body is None:
        body = io.BytesIO(b"")
    checksum = _checksum_in(params, default=DEFAULT_CHECKSUM)
    info = store.put_object(
        params["Bucket"],
        params["Key"],
        body,
        content_type=params.get("ContentType"),
        metadata=params.get("Metadata") or {},
        headers=_std_headers(params),
        content_md5=params.get("ContentMD5"),
        checksum=checksum,
        on_commit=call.audit,
    )
    return _checksum_out(info.checksum, {"ETag": info.etag, "Size": info.size})


@operation("GetObject", service="s3", action="s3:GetObject", resource=_object, writes=False, streams=True)
def get_object(call: Call, params: dict) -> dict:
    store = _store(call)
    _check_version(params)
    if params.get("PartNumber") is not None:
        raise s3.NotImplemented("GetObject with partNumber is not implemented by this Charter server; use a Range.",
                                Header="partNumber")
    if params.get("Range") is None:  # the whole object: one look-up, the conditions checked on what opened
        info, chunks = store.open_object(params["Bucket"], params["Key"])
        try:
            _conditions(info, params)
        except Exception:
            chunks.close()
            raise
        return {**_object_fields(info, params), "Body": chunks}
    info = store.head_object(params["Bucket"], params["Key"])
    _conditions(info, params)
    wanted = byte_range(params.get("Range"), info.size)
    if wanted is None:
        info, chunks = store.open_object(params["Bucket"], params["Key"])
        _conditions(info, params)  # the object opened may be newer than the one first looked at
        return {**_object_fields(info, params), "Body": chunks}
    start, end = wanted
    info, chunks = store.open_object(params["Bucket"], params["Key"], start=start, end=end)
    _conditions(info, params)
    out = _object_fields(info, {**params, "ChecksumMode": None})  # a part of the object has no whole-object checksum
    out.update(ContentLength=end - start + 1, ContentRange=f"bytes {start}-{end}/{info.size}", Body=chunks)
    return out


def _conditions(info, params: dict) -> None:
    check_conditions(
        info,
        if_match=params.get("IfMatch"),
        if_none_match=params.get("IfNoneMatch"),
        if_modified_since=params.get("IfModifiedSince"),
        if_unmodified_since=params.get("IfUnmodifiedSince"),
    )


@operation("HeadObject", service="s3", action="s3:GetObject", resource=_object, writes=False, streams=True)
def head_object(call: Call, params: dict) -> dict:
    _check_version(params)
    info = _store(call).head_object(params["Bucket"], params["Key"])
    _conditions(info, params)
    out = _object_fields(info, params)
    wanted = byte_range(params.get("Range"), info.size)
    if wanted is not None:
        start, end = wanted
        out.update(ContentLength=end - start + 1, ContentRange=f"bytes {start}-{end}/{info.size}")
    return out


@operation("DeleteObject", service="s3", action="s3:DeleteObject", resource=_object, streams=True)
def delete_object(call: Call, params: dict) -> dict:
    _check_version(params)
    _store(call).delete_object(params["Bucket"], params["Key"])
    return {}


@operation("DeleteObjects", service="s3", action="", resource=_bucket, streams=True)
def delete_objects(call: Call, params: dict) -> dict:
    # Authorized key by key below (s3:DeleteObject on each object), as S3 does: action="" here.
    store = _store(call)
    bucket = params["Bucket"]
    wanted = params["Delete"].get("Objects") or []
    if not wanted or len(wanted) > MAX_DELETE_KEYS:
        raise s3.MalformedXML(f"A DeleteObjects request names 1 to {MAX_DELETE_KEYS} keys, not {len(wanted)}.")
    store.head_bucket(bucket)
    allowed, refused = [], []
    for item in wanted:
        key = item["Key"]
        if item.get("VersionId") not in (None, "null"):
            refused.append({"Key": key, "VersionId": item["VersionId"], "Code": "NoSuchVersion",
                            "Message": "The specified version does not exist."})
        elif _permitted(call, "s3:DeleteObject", object_arn(bucket, key)):
            allowed.append(key)
        else:
            refused.append({"Key": key, "Code": "AccessDenied", "Message": "Access Denied"})
    deleted = []
    for key, error in store.delete_objects(bucket, allowed) if allowed else []:
        if error is None:
            deleted.append({"Key": key})
        else:
            refused.append({"Key": key, "Code": error.code, "Message": error.message})
    out: dict = {"Errors": refused} if refused else {}
    if not params["Delete"].get("Quiet") and deleted:
        out["Deleted"] = deleted
    return out


@operation("CopyObject", service="s3", action="s3:PutObject", resource=_object, streams=True)
def copy_object(call: Call, params: dict) -> dict:
    store = _store(call)
    src_bucket, src_key, source = _copy_source(call, store, params)
    directive = params.get("MetadataDirective") or "COPY"
    if directive not in ("COPY", "REPLACE"):
        raise s3.InvalidArgument("Unknown metadata directive.", ArgumentName="x-amz-metadata-directive",
                                 ArgumentValue=directive)
    algorithm = params.get("ChecksumAlgorithm")
    if (src_bucket, src_key) == (params["Bucket"], params["Key"]) and directive == "COPY" and algorithm is None:
        raise s3.InvalidRequest(
            "This copy request is illegal because it is trying to copy an object to itself without changing the "
            "object's metadata, storage class, website redirect location or encryption attributes."
        )
    replace = directive == "REPLACE"
    info = store.copy_object(
        src_bucket,
        src_key,
        params["Bucket"],
        params["Key"],
        metadata=(params.get("Metadata") or {}) if replace else None,
        content_type=params.get("ContentType") if replace else None,
        headers=_std_headers(params) if replace else None,
        checksum_algorithm=str(algorithm).upper() if algorithm else None,
    )
    result = _checksum_out(info.checksum, {"ETag": info.etag, "LastModified": info.last_modified})
    return {"CopyObjectResult": result}


# --- listing -------------------------------------------------------------------------


def _contents(infos, params: dict, owner: dict | None) -> list[dict]:
    out = []
    for info in infos:
        item = {
            "Key": _encode(info.key, params),
            "LastModified": info.last_modified,
            "ETag": info.etag,
            "Size": info.size,
            "StorageClass": "STANDARD",
        }
        if info.checksum is not None:
            item["ChecksumAlgorithm"] = [info.checksum.algorithm]
            item["ChecksumType"] = info.checksum.type
        if owner is not None:
            item["Owner"] = owner
        out.append(item)
    return out


def _listing_condition_keys(params: dict) -> dict:
    """s3:ListBucket's own condition keys: a policy may allow listing only under a prefix (``s3:prefix``)."""
    return {"s3:prefix": params.get("Prefix") or "", "s3:delimiter": params.get("Delimiter")}


@operation("ListObjectsV2", service="s3", action="s3:ListBucket", resource=_bucket, writes=False, streams=True,
           conditions=_listing_condition_keys)
def list_objects_v2(call: Call, params: dict) -> dict:
    store = _store(call)
    bucket = _own_bucket(call, store, params["Bucket"])
    max_keys = _max_keys(params)
    start_after = params.get("StartAfter") or ""
    token = params.get("ContinuationToken")
    if token is not None:
        start_after = max(start_after, _untoken(token), key=lambda k: k.encode("utf-8"))
    listing = store.list_objects(
        bucket.name, prefix=params.get("Prefix") or "", delimiter=params.get("Delimiter") or None,
        start_after=start_after, max_keys=max_keys,
    ) if max_keys else None
    owner = _owner(bucket.owner) if params.get("FetchOwner") else None
    contents = _contents(listing.contents, params, owner) if listing else []
    prefixes = [{"Prefix": _encode(p, params)} for p in listing.common_prefixes] if listing else []
    out = {
        "Name": bucket.name,
        "Prefix": _encode(params.get("Prefix") or "", params),
        "MaxKeys": max_keys,
        "KeyCount": len(contents) + len(prefixes),
        "IsTruncated": bool(listing and listing.is_truncated),
        "Contents": contents or None,
        "CommonPrefixes": prefixes or None,
    }
    if params.get("Delimiter"):
        out["Delimiter"] = _encode(params["Delimiter"], params)
    if params.get("EncodingType"):
        out["EncodingType"] = params["EncodingType"]
    if token is not None:
        out["ContinuationToken"] = token
    if params.get("StartAfter"):
        out["StartAfter"] = _encode(params["StartAfter"], params)
    if listing and listing.is_truncated and listing.next_key is not None:
        out["NextContinuationToken"] = _token(listing.next_key)
    return out


@operation("ListObjects", service="s3", action="s3:ListBucket", resource=_bucket, writes=False, streams=True,
           conditions=_listing_condition_keys)
def list_objects(call: Call, params: dict) -> dict:
    store = _store(call)
    bucket = _own_bucket(call, store, params["Bucket"])
    max_keys = _max_keys(params)
    listing = store.list_objects(
        bucket.name, prefix=params.get("Prefix") or "", delimiter=params.get("Delimiter") or None,
        start_after=params.get("Marker") or "", max_keys=max_keys,
    ) if max_keys else None
    contents = _contents(listing.contents, params, _owner(bucket.owner)) if listing else []
    prefixes = [{"Prefix": _encode(p, params)} for p in listing.common_prefixes] if listing else []
    out = {
        "Name": bucket.name,
        "Prefix": _encode(params.get("Prefix") or "", params),
        "Marker": _encode(params.get("Marker") or "", params),
        "MaxKeys": max_keys,
        "IsTruncated": bool(listing and listing.is_truncated),
        "Contents": contents or None,
        "CommonPrefixes": prefixes or None,
    }
    if params.get("Delimiter"):
        out["Delimiter"] = _encode(params["Delimiter"], params)
        if listing and listing.is_truncated and listing.next_key is not None:
            out["NextMarker"] = _encode(listing.next_key, params)  # only with a delimiter, as S3
    if params.get("EncodingType"):
        out["EncodingType"] = params["EncodingType"]
    return out


# --- multipart uploads -----------------------------------------------------------------


@operation("CreateMultipartUpload", service="s3", action="s3:PutObject", resource=_object, streams=True)
def create_multipart_upload(call: Call, params: dict) -> dict:
    checksum = _checksum_in(params)
    upload_id = _store(call).create_upload(
        params["Bucket"],
        params["Key"],
        content_type=params.get("ContentType"),
        metadata=params.get("Metadata") or {},
        headers=_std_headers(params),
        checksum_algorithm=checksum.algorithm if checksum else None,
        checksum_type=params.get("ChecksumType"),
        owner=call.account,
    )
    out = {"Bucket": params["Bucket"], "Key": params["Key"], "UploadId": upload_id}
    if checksum is not None:
        out["ChecksumAlgorithm"] = checksum.algorithm
        out["ChecksumType"] = params.get("ChecksumType") or (
            sums.FULL_OBJECT if checksum.algorithm == "CRC64NVME" else sums.COMPOSITE
        )
    return out


@operation("UploadPart", service="s3", action="s3:PutObject", resource=_object, streams=True)
def upload_part(call: Call, params: dict) -> dict:
    body = params.get("Body") or io.BytesIO(b"")
    part = _store(call).upload_part(
        params["Bucket"], params["Key"], params["UploadId"], params["PartNumber"], body,
        content_md5=params.get("ContentMD5"), checksum=_checksum_in(params),
    )
    out = _checksum_out(part.checksum, {"ETag": part.etag})
    out.pop("ChecksumType", None)
    return out


@operation("UploadPartCopy", service="s3", action="s3:PutObject", resource=_object, streams=True)
def upload_part_copy(call: Call, params: dict) -> dict:
    store = _store(call)
    src_bucket, src_key, source = _copy_source(call, store, params)
    start, end = _copy_source_range(params.get("CopySourceRange"))
    if end is not None and end >= source.size:
        raise s3.InvalidArgument(
            f"Range specified is not valid for source object of size: {source.size}",
            ArgumentName="x-amz-copy-source-range", ArgumentValue=params.get("CopySourceRange"),
        )
    part = store.upload_part_copy(
        params["Bucket"], params["Key"], params["UploadId"], params["PartNumber"], src_bucket, src_key,
        start=start, end=end,
    )
    result = _checksum_out(part.checksum, {"ETag": part.etag, "LastModified": part.last_modified})
    result.pop("ChecksumType", None)
    return {"CopyPartResult": result}


@operation("CompleteMultipartUpload", service="s3", action="s3:PutObject", resource=_object, streams=True)
def complete_multipart_upload(call: Call, params: dict) -> dict:
    parts = (params.get("MultipartUpload") or {}).get("Parts") or []
    if not parts:
        raise s3.MalformedXML(
            "The XML you provided was not well-formed or did not validate against our published schema: "
            "a CompleteMultipartUpload request names at least one part."
        )
    listed = []
    for part in parts:
        if part.get("PartNumber") is None or part.get("ETag") is None:
            raise s3.MalformedXML("Every <Part> of a CompleteMultipartUpload request has a PartNumber and an ETag.")
        value = next((part[f"Checksum{a}"] for a in ALGORITHMS if part.get(f"Checksum{a}")), None)
        listed.append((part["PartNumber"], part["ETag"], value))
    info = _store(call).complete_upload(params["Bucket"], params["Key"], params["UploadId"], listed)
    out = {
        "Location": f"/{params['Bucket']}/{quote(params['Key'])}",
        "Bucket": params["Bucket"],
        "Key": params["Key"],
        "ETag": info.etag,
    }
    return _checksum_out(info.checksum, out)


@operation("AbortMultipartUpload", service="s3", action="s3:AbortMultipartUpload", resource=_object, streams=True)
def abort_multipart_upload(call: Call, params: dict) -> dict:
    _store(call).abort_upload(params["Bucket"], params["Key"], params["UploadId"])
    return {}


@operation("ListParts", service="s3", action="s3:ListMultipartUploadParts", resource=_object, writes=False,
           streams=True)
def list_parts(call: Call, params: dict) -> dict:
    marker = params.get("PartNumberMarker") or 0
    max_parts = _max_keys(params, "MaxParts")
    parts, truncated, next_marker = _store(call).list_parts(
        params["Bucket"], params["Key"], params["UploadId"], part_number_marker=marker, max_parts=max_parts
    )
    owner = _owner(call.account)
    out = {
        "Bucket": params["Bucket"],
        "Key": params["Key"],
        "UploadId": params["UploadId"],
        "PartNumberMarker": marker,
        "MaxParts": max_parts,
        "IsTruncated": truncated,
        "Initiator": {"ID": call.principal_arn, "DisplayName": call.user_name},
        "Owner": owner,
        "StorageClass": "STANDARD",
        "Parts": [
            _checksum_out(p.checksum, {"PartNumber": p.part_number, "LastModified": p.last_modified, "ETag": p.etag,
                                       "Size": p.size})
            for p in parts
        ] or None,
    }
    for part in out["Parts"] or []:
        part.pop("ChecksumType", None)
    if truncated and next_marker is not None:
        out["NextPartNumberMarker"] = next_marker
    return out


@operation("ListMultipartUploads", service="s3", action="s3:ListBucketMultipartUploads", resource=_bucket,
           writes=False, streams=True)
def list_multipart_uploads(call: Call, params: dict) -> dict:
    store = _store(call)
    bucket = _own_bucket(call, store, params["Bucket"])
    max_uploads = _max_keys(params, "MaxUploads")
    uploads, truncated = store.list_uploads(
        bucket.name, prefix=params.get("Prefix") or "", key_marker=params.get("KeyMarker") or "",
        upload_id_marker=params.get("UploadIdMarker") or "", max_uploads=max_uploads,
    )
    out = {
        "Bucket": bucket.name,
        "KeyMarker": _encode(params.get("KeyMarker") or "", params),
        "UploadIdMarker": params.get("UploadIdMarker") or "",
        "Prefix": _encode(params.get("Prefix") or "", params),
        "MaxUploads": max_uploads,
        "IsTruncated": truncated,
        "Uploads": [
            {
                "Key": _encode(u.key, params),
                "UploadId": u.upload_id,
                "Initiated": u.initiated,
                "StorageClass": "STANDARD",
                "Owner": _owner(u.owner),
                "Initiator": _owner(u.owner),
            }
            for u in uploads
        ] or None,
    }
    if params.get("EncodingType"):
        out["EncodingType"] = params["EncodingType"]
    if truncated and uploads:
        out["NextKeyMarker"] = _encode(uploads[-1].key, params)
        out["NextUploadIdMarker"] = uploads[-1].upload_id
    return out
