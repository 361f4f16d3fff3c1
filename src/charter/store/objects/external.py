"""The external object store: the ObjectStore calls made on a real S3 or S3-compatible service.

Selected by ``CHARTER_S3_ENDPOINT_URL`` (any S3-protocol endpoint: MinIO, Ceph,
a moto server) or an ``s3://`` ``CHARTER_ARTIFACT_ROOT`` (AWS itself); the
credentials and the region come from the usual AWS chain (environment, shared
files, instance roles), the region falling back to ``CHARTER_REGION``.  Buckets
and keys map one to one, so ``s3://bucket/key`` names the same object for every
Charter machine that points at the store, and for clients that use it directly.

Bodies are spooled to an anonymous temporary file in 1 MiB chunks while their
Content-MD5 and flexible checksum are checked, and only a verified body is sent
on (with the checksum, which the service checks again), so a bad upload never
replaces the previous object.  The service's errors come back as the same
:mod:`.errors` classes the local store raises.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from typing import BinaryIO, Iterator

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError as BotoClientError

from . import errors
from .base import (
    CHUNK,
    MAX_OBJECT_SIZE,
    Bucket,
    Listing,
    ObjectInfo,
    ObjectStore,
    PartInfo,
    Upload,
    check_bucket_name,
    check_part_number,
    key_bytes,
    read_chunks,
)
from .checksums import ALGORITHMS, COMPOSITE, FULL_OBJECT, Checksum, Digest, check_algorithm
from .errors import EntityTooLarge, InvalidPartOrder, InvalidRequest, MalformedXML, NoSuchBucket, NoSuchKey, S3Error

_HEADERS = {
    "cache_control": "CacheControl",
    "content_disposition": "ContentDisposition",
    "content_encoding": "ContentEncoding",
    "content_language": "ContentLanguage",
    "expires": "Expires",
}
_HTTP_ONLY = {"404": NoSuchKey, "NotFound": NoSuchKey}


def _error(exc: BotoClientError, *, bucket: str | None = None, key: str | None = None) -> S3Error:
    """The store error for a service error (HEAD answers carry only a status: 404 means no key here)."""
    error = exc.response.get("Error", {})
    code = str(error.get("Code", ""))
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 500)
    cls = getattr(errors, code, None)
    if not (isinstance(cls, type) and issubclass(cls, S3Error)):
        cls = _HTTP_ONLY.get(code)
    extra = {k: v for k, v in error.items() if k not in ("Code", "Message") and isinstance(v, str)}
    if cls is not None:
        return cls(error.get("Message") or None, **extra)
    return S3Error(error.get("Message") or code, code=code or "InternalError", status=status)


def _checksum_of(response: dict, parts_count: int | None = None) -> Checksum | None:
    """The object checksum in a response, in S3's form (some S3-compatible stores drop a composite's ``-N``)."""
    for algorithm in ALGORITHMS:
        value = response.get(f"Checksum{algorithm}")
        if value:
            kind = response.get("ChecksumType") or (
                COMPOSITE if "-" in value or (parts_count and algorithm != "CRC64NVME") else FULL_OBJECT
            )
            if kind == COMPOSITE and "-" not in value and parts_count:
                value = f"{value}-{parts_count}"
            return Checksum(algorithm, value, kind)
    return None


def _parts_count(etag: str) -> int | None:
    tail = etag.strip('"').rpartition("-")[2]
    return int(tail) if "-" in etag and tail.isdigit() else None


class _Spool:
    """A body copied to a temporary file while it is verified."""

    def __init__(self, body: BinaryIO, digest: Digest, limit: int = MAX_OBJECT_SIZE):
        self.file = tempfile.TemporaryFile()
        try:
            for chunk in read_chunks(body) if hasattr(body, "read") else body:
                digest.update(chunk)
                if digest.size > limit:
                    raise EntityTooLarge(MaxSizeAllowed=str(limit), ProposedSize=str(digest.size))
                self.file.write(chunk)
            digest.verify()
            self.file.seek(0)
        except BaseException:
            self.file.close()
            raise

    def __enter__(self):
        return self.file

    def __exit__(self, *exc):
        self.file.close()


class ExternalObjectStore(ObjectStore):
    """The object store on an external S3 service, through boto3."""

    def __init__(self, endpoint_url: str | None, *, region: str, client=None):
        self.endpoint_url = endpoint_url
        self.region = region
        self.client = client or boto3.session.Session().client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region,
            config=Config(
                retries={"max_attempts": 3, "mode": "standard"},
                # Checksums are the caller's: do not add one the caller did not ask for.
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
            ),
        )
        self.external = endpoint_url or f"https://s3.{region}.amazonaws.com"

    @classmethod
    def from_settings(cls, settings) -> "ExternalObjectStore":
        region = boto3.session.Session().region_name or settings.region
        return cls(settings.s3_endpoint_url, region=region)

    def _call(self, name: str, *, bucket: str | None = None, key: str | None = None, **params):
        try:
            return getattr(self.client, name)(**params)
        except BotoClientError as exc:
            raise _error(exc, bucket=bucket, key=key) from None

    # --- buckets -----------------------------------------------------------------------

    def create_bucket(self, name: str, *, region: str, owner: str) -> Bucket:
        check_bucket_name(name)
        params = {"Bucket": name}
        if region and region != "us-east-1":
            params["CreateBucketConfiguration"] = {"LocationConstraint": region}
        # us-east-1 answers 200 to its owner's second CreateBucket; this interface answers 409 everywhere.
        if any(bucket.name == name for bucket in self.list_buckets()):
            raise errors.BucketAlreadyOwnedByYou(BucketName=name)
        self._call("create_bucket", bucket=name, **params)
        return self.head_bucket(name)

    def ensure_bucket(self, name: str, *, region: str, owner: str) -> None:
        try:
            self._need_bucket(name)
        except NoSuchBucket:
            try:
                self.create_bucket(name, region=region, owner=owner)
            except (errors.BucketAlreadyOwnedByYou, errors.BucketAlreadyExists):
                pass

    def _need_bucket(self, name: str) -> dict:
        """One HEAD: NoSuchBucket before a body is spooled for a bucket that is not there."""
        try:
            return self.client.head_bucket(Bucket=name)
        except BotoClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code"))
            if code in ("404", "NoSuchBucket", "NotFound"):
                raise NoSuchBucket(BucketName=name) from None
            raise _error(exc) from None

    def head_bucket(self, name: str) -> Bucket:
        try:
            response = self.client.head_bucket(Bucket=name)
        except BotoClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code"))
            if code in ("404", "NoSuchBucket", "NotFound"):
                raise NoSuchBucket(BucketName=name) from None
            raise _error(exc) from None
        region = response.get("BucketRegion") or response.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get(
            "x-amz-bucket-region", self.region
        )
        for bucket in self.list_buckets():
            if bucket.name == name:
                return Bucket(name, region, bucket.owner, bucket.created)
        return Bucket(name, region, "", dt.datetime.now(dt.timezone.utc))

    def delete_bucket(self, name: str) -> None:
        self._call("delete_bucket", Bucket=name)

    def list_buckets(self, owner: str | None = None) -> list[Bucket]:
        response = self._call("list_buckets")
        owner_id = response.get("Owner", {}).get("ID", "")
        return sorted(
            (Bucket(b["Name"], b.get("BucketRegion", self.region), owner_id, b["CreationDate"]) for b in response["Buckets"]),
            key=lambda b: b.name.encode(),
        )

    # --- objects -----------------------------------------------------------------------

    @staticmethod
    def _header_params(headers: dict | None) -> dict:
        return {_HEADERS[k]: v for k, v in (headers or {}).items() if k in _HEADERS and v is not None}

    @staticmethod
    def _checksum_params(checksum: Checksum | None) -> dict:
        if checksum is None or checksum.value is None:
            return {}
        return {"ChecksumAlgorithm": checksum.algorithm, f"Checksum{checksum.algorithm}": checksum.value}

    def _info(self, bucket: str, key: str, response: dict) -> ObjectInfo:
        headers = {name: response[member] for name, member in _HEADERS.items() if response.get(member) is not None}
        etag = response.get("ETag", "")
        parts_count = response.get("PartsCount") or _parts_count(etag)
        return ObjectInfo(
            bucket=bucket,
            key=key,
            size=int(response.get("ContentLength", response.get("Size", 0))),
            etag=etag,
            last_modified=response["LastModified"].astimezone(dt.timezone.utc),
            content_type=response.get("ContentType"),
            metadata=dict(response.get("Metadata") or {}),
            headers=headers,
            checksum=_checksum_of(response, parts_count),
            parts_count=parts_count,
        )

    def put_object(self, bucket, key, body, *, content_type=None, metadata=None, headers=None, content_md5=None,
                   checksum=None, on_commit=None) -> ObjectInfo:  # no transaction here: on_commit is not called
        key_bytes(key)
        digest = Digest(checksum, content_md5)
        self._need_bucket(bucket)
        with _Spool(body, digest) as spooled:
            params = dict(Bucket=bucket, Key=key, Body=spooled, ContentLength=digest.size, Metadata=dict(metadata or {}),
                          **self._header_params(headers), **self._checksum_params(digest.result))
            if content_type:
                params["ContentType"] = content_type
            self._call("put_object", bucket=bucket, key=key, **params)
        return self.head_object(bucket, key)

    def head_object(self, bucket: str, key: str) -> ObjectInfo:
        key_bytes(key)
        try:
            response = self.client.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
        except BotoClientError as exc:
            if str(exc.response.get("Error", {}).get("Code")) in ("404", "NoSuchKey", "NotFound"):
                self._need_bucket(bucket)
                raise NoSuchKey(Key=key, BucketName=bucket) from None
            raise _error(exc) from None
        return self._info(bucket, key, response)

    def open_object(self, bucket: str, key: str, *, start: int | None = None, end: int | None = None):
        key_bytes(key)
        params = dict(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
        if start is not None or end is not None:
            params["Range"] = f"bytes={start or 0}-{'' if end is None else end}"
        response = self._call("get_object", bucket=bucket, key=key, **params)
        info = self._info(bucket, key, response)
        if "ContentRange" in response:  # the size of the whole object, not of the range
            total = response["ContentRange"].rpartition("/")[2]
            if total.isdigit():
                info = ObjectInfo(**{**info.__dict__, "size": int(total)})
        return info, self._chunks(response["Body"])

    @staticmethod
    def _chunks(body) -> Iterator[bytes]:
        try:
            yield from body.iter_chunks(CHUNK)
        finally:
            body.close()

    def delete_object(self, bucket: str, key: str) -> None:
        key_bytes(key)
        self._need_bucket(bucket)
        self._call("delete_object", Bucket=bucket, Key=key)

    def delete_objects(self, bucket: str, keys: list[str]):
        results: list = []
        valid = []
        for key in keys:
            try:
                key_bytes(key)
                valid.append(key)
            except Exception as error:
                results.append((key, error))
        failed: dict[str, S3Error] = {}
        for i in range(0, len(valid), 1000):
            batch = valid[i : i + 1000]
            response = self._call("delete_objects", Bucket=bucket, Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True})
            for error in response.get("Errors", []):
                cls = getattr(errors, error.get("Code", ""), None)
                failed[error["Key"]] = cls(error.get("Message")) if isinstance(cls, type) else S3Error(error.get("Message", ""))
        errors_by_key = dict(results)
        return [(key, errors_by_key.get(key, failed.get(key))) for key in keys]

    def copy_object(self, src_bucket, src_key, dst_bucket, dst_key, *, metadata=None, content_type=None, headers=None,
                    checksum_algorithm=None) -> ObjectInfo:
        key_bytes(src_key)
        key_bytes(dst_key)
        params = dict(Bucket=dst_bucket, Key=dst_key, CopySource={"Bucket": src_bucket, "Key": src_key})
        if metadata is not None or content_type is not None or headers is not None:
            params.update(MetadataDirective="REPLACE", Metadata=dict(metadata or {}), **self._header_params(headers))
            if content_type:
                params["ContentType"] = content_type
        if checksum_algorithm:
            params["ChecksumAlgorithm"] = check_algorithm(checksum_algorithm)
        self._call("copy_object", bucket=dst_bucket, key=dst_key, **params)
        return self.head_object(dst_bucket, dst_key)

    def list_objects(self, bucket, *, prefix="", delimiter=None, start_after="", max_keys=1000) -> Listing:
        params = dict(Bucket=bucket, Prefix=prefix or "", MaxKeys=max_keys)
        if delimiter:
            params["Delimiter"] = delimiter
        if start_after:
            params["StartAfter"] = start_after
        response = self._call("list_objects_v2", bucket=bucket, **params)
        contents = [
            ObjectInfo(
                bucket=bucket,
                key=item["Key"],
                size=item["Size"],
                etag=item["ETag"],
                last_modified=item["LastModified"].astimezone(dt.timezone.utc),
                checksum=Checksum(item["ChecksumAlgorithm"][0]) if item.get("ChecksumAlgorithm") else None,
                parts_count=_parts_count(item["ETag"]),
            )
            for item in response.get("Contents", [])
        ]
        prefixes = [p["Prefix"] for p in response.get("CommonPrefixes", [])]
        returned = [c.key for c in contents] + prefixes
        last = max(returned, key=lambda k: k.encode()) if returned else None
        return Listing(contents, prefixes, bool(response.get("IsTruncated")), last)

    # --- multipart uploads -------------------------------------------------------------

    def create_upload(self, bucket, key, *, content_type=None, metadata=None, headers=None, checksum_algorithm=None,
                      checksum_type=None, owner) -> str:
        key_bytes(key)
        params = dict(Bucket=bucket, Key=key, Metadata=dict(metadata or {}), **self._header_params(headers))
        if content_type:
            params["ContentType"] = content_type
        if checksum_algorithm:
            params["ChecksumAlgorithm"] = check_algorithm(checksum_algorithm)
            if checksum_type:
                params["ChecksumType"] = checksum_type
        elif checksum_type:
            raise InvalidRequest("A checksum type needs a checksum algorithm (x-amz-checksum-algorithm).")
        return self._call("create_multipart_upload", bucket=bucket, key=key, **params)["UploadId"]

    def _upload_algorithm(self, bucket, key, upload_id) -> str | None:
        response = self._call("list_parts", bucket=bucket, key=key, Bucket=bucket, Key=key, UploadId=upload_id, MaxParts=1)
        return response.get("ChecksumAlgorithm")

    def upload_part(self, bucket, key, upload_id, part_number, body, *, content_md5=None, checksum=None) -> PartInfo:
        key_bytes(key)
        check_part_number(part_number)
        algorithm = self._upload_algorithm(bucket, key, upload_id)
        if checksum is not None and algorithm and check_algorithm(checksum.algorithm) != algorithm:
            raise InvalidRequest(
                f"Checksum Type mismatch occurred, expected checksum Type: {algorithm.lower()}, "
                f"actual checksum Type: {checksum.algorithm.lower()}"
            )
        digest = Digest(checksum or (Checksum(algorithm) if algorithm else None), content_md5)
        with _Spool(body, digest) as spooled:
            params = dict(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=part_number, Body=spooled,
                          ContentLength=digest.size, **self._checksum_params(digest.result))
            response = self._call("upload_part", bucket=bucket, key=key, **params)
        return PartInfo(part_number, digest.size, response["ETag"], dt.datetime.now(dt.timezone.utc), digest.result)

    def upload_part_copy(self, bucket, key, upload_id, part_number, src_bucket, src_key, *, start=None, end=None) -> PartInfo:
        key_bytes(key)
        check_part_number(part_number)
        params = dict(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=part_number,
                      CopySource={"Bucket": src_bucket, "Key": src_key})
        if start is not None or end is not None:
            size = self.head_object(src_bucket, src_key).size
            params["CopySourceRange"] = f"bytes={start or 0}-{size - 1 if end is None else min(end, size - 1)}"
        result = self._call("upload_part_copy", bucket=bucket, key=key, **params)["CopyPartResult"]
        parts, _, _ = self.list_parts(bucket, key, upload_id, part_number_marker=part_number - 1, max_parts=1)
        size = parts[0].size if parts and parts[0].part_number == part_number else 0
        return PartInfo(part_number, size, result["ETag"], result["LastModified"], _checksum_of(result))

    def complete_upload(self, bucket, key, upload_id, parts) -> ObjectInfo:
        key_bytes(key)
        if not parts:
            raise MalformedXML("The XML you provided was not well-formed or did not validate against our published "
                               "schema: CompleteMultipartUpload needs at least one Part.")
        numbers = [number for number, _, _ in parts]
        if any(b <= a for a, b in zip(numbers, numbers[1:])):
            raise InvalidPartOrder(UploadId=upload_id)
        algorithm = self._upload_algorithm(bucket, key, upload_id)
        listed = []
        for number, etag, value in parts:
            part = {"PartNumber": number, "ETag": etag if etag.startswith('"') else f'"{etag}"'}
            if algorithm and value:
                part[f"Checksum{algorithm}"] = value
            listed.append(part)
        self._call("complete_multipart_upload", bucket=bucket, key=key, Bucket=bucket, Key=key, UploadId=upload_id,
                   MultipartUpload={"Parts": listed})
        return self.head_object(bucket, key)

    def abort_upload(self, bucket, key, upload_id) -> None:
        key_bytes(key)
        self._upload_algorithm(bucket, key, upload_id)  # NoSuchUpload for an unknown id, as S3's abort answers
        self._call("abort_multipart_upload", bucket=bucket, key=key, Bucket=bucket, Key=key, UploadId=upload_id)

    def list_parts(self, bucket, key, upload_id, *, part_number_marker=0, max_parts=1000):
        key_bytes(key)
        response = self._call("list_parts", bucket=bucket, key=key, Bucket=bucket, Key=key, UploadId=upload_id,
                              PartNumberMarker=part_number_marker or 0, MaxParts=max_parts)
        algorithm = response.get("ChecksumAlgorithm")
        parts = [
            PartInfo(
                p["PartNumber"], p["Size"], p["ETag"], p["LastModified"].astimezone(dt.timezone.utc),
                Checksum(algorithm, p[f"Checksum{algorithm}"]) if algorithm and p.get(f"Checksum{algorithm}") else None,
            )
            for p in response.get("Parts", [])
        ]
        return parts, bool(response.get("IsTruncated")), (parts[-1].part_number if parts else None)

    def list_uploads(self, bucket, *, prefix="", key_marker="", upload_id_marker="", max_uploads=1000):
        params = dict(Bucket=bucket, Prefix=prefix or "", MaxUploads=max_uploads)
        if key_marker:
            params["KeyMarker"] = key_marker
            if upload_id_marker:
                params["UploadIdMarker"] = upload_id_marker
        response = self._call("list_multipart_uploads", bucket=bucket, **params)
        uploads = [
            Upload(bucket, u["Key"], u["UploadId"], u["Initiated"].astimezone(dt.timezone.utc),
                   u.get("Owner", {}).get("ID", ""))
            for u in response.get("Uploads", [])
        ]
        return uploads, bool(response.get("IsTruncated"))


__all__ = ["ExternalObjectStore"]
