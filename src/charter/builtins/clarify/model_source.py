"""Fetching the model that ``predictor.model_name`` names, as the platform would.

SageMaker Clarify deploys a shadow endpoint from the SageMaker model named in
``analysis_config.json``.  Charter does not serve endpoints yet, so the built-in
does what that deployment starts with and then loads the model itself
(``predictor.py``): it asks the SageMaker API for the model (``DescribeModel``),
takes its artifact and downloads it from S3.  Both calls are plain boto3 with the
container's environment -- the job role's credentials and ``AWS_ENDPOINT_URL`` the
platform gives every job that is not network-isolated (``specs/containers.md``) --
so this module knows nothing of Charter beyond the container contract.

Where the artifact is, in the model's one container (``PrimaryContainer``, or a
``Containers`` list of one; an inference pipeline of several is refused):

* ``ModelDataUrl``: an S3 object, normally ``model.tar.gz`` as a training job writes it;
* ``ModelDataSource.S3DataSource``: an object (``S3Object``; ``CompressionType`` Gzip
  means a ``.tar.gz``) or every object under a prefix (``S3Prefix``);
* ``ModelPackageName``: the model package's first inference container, read with
  ``DescribeModelPackage``, gives one of the two above.

The job's role is the one that needs ``sagemaker:DescribeModel`` (and
``DescribeModelPackage`` for a packaged model) and ``s3:GetObject`` on the artifact,
where SageMaker would use the model's own role for the download.  Every failure is
a :class:`~charter.builtins.clarify.predictor.ModelError` saying which step failed
and why: no such model, no artifact, nothing stored at it, no permission, no API.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from urllib.parse import unquote, urlsplit

from .. import ClientError


class ModelSourceError(ClientError):
    """The model named by ``predictor.model_name`` cannot be fetched; the message says why."""

    def __init__(self, model_name: str, problem: str):
        super().__init__(f"model: predictor.model_name {model_name!r}: {problem}")


_VIRTUAL_HOSTED = re.compile(r"^(?P<bucket>.+)\.s3(?:[.-][a-z0-9-]+)*\.amazonaws\.com(?:\.cn)?$")
_PATH_STYLE = re.compile(r"^s3(?:[.-][a-z0-9-]+)*\.amazonaws\.com(?:\.cn)?$")


def s3_location(uri: str) -> tuple[str, str] | None:
    """(bucket, key) of an ``s3://`` URI or an S3 ``https://`` address; None for anything else."""
    split = urlsplit(uri)
    scheme, host = split.scheme.lower(), split.netloc
    if scheme == "s3" and host:
        return host, split.path.lstrip("/")
    if scheme == "https":
        hostname = split.hostname or ""
        if match := _VIRTUAL_HOSTED.match(hostname):
            return match["bucket"], unquote(split.path.lstrip("/"))
        if _PATH_STYLE.match(hostname):
            bucket, _, key = split.path.lstrip("/").partition("/")
            if bucket:
                return bucket, unquote(key)
    return None


class ModelSource:
    """Fetches one SageMaker model's artifact with boto3 clients of the container's environment."""

    def __init__(self, model_name: str, *, sagemaker=None, s3=None):
        self.name = model_name
        self._sagemaker = sagemaker
        self._s3 = s3
        self.description: dict | None = None
        self._container: dict | None = None

    # -- clients

    def _client(self, service: str):
        import boto3
        from botocore.config import Config

        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        config = Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=10, read_timeout=120)
        return boto3.session.Session(region_name=region).client(service, config=config)

    @property
    def sagemaker(self):
        if self._sagemaker is None:
            self._sagemaker = self._client("sagemaker")
        return self._sagemaker

    @property
    def s3(self):
        if self._s3 is None:
            self._s3 = self._client("s3")
        return self._s3

    def _fail(self, problem: str) -> ModelSourceError:
        return ModelSourceError(self.name, problem)

    def _api_error(self, action: str, error: Exception) -> ModelSourceError:
        """A boto3 failure of ``action`` as a sentence a user can act on."""
        from botocore.exceptions import ClientError as BotoClientError
        from botocore.exceptions import EndpointConnectionError, NoCredentialsError, NoRegionError

        if isinstance(error, NoCredentialsError):
            return self._fail(
                f"the job has no AWS credentials to call {action} with (a job with network isolation gets none); "
                "run it without network isolation, or stage the model as the processing input 'model' "
                "(/opt/ml/processing/input/model)"
            )
        if isinstance(error, NoRegionError):
            return self._fail(f"no AWS region is set in the job's environment (AWS_REGION) to call {action} in")
        if isinstance(error, EndpointConnectionError):
            return self._fail(f"could not reach the API for {action}: {error}")
        if isinstance(error, BotoClientError):
            code = error.response.get("Error", {}).get("Code", "")
            message = error.response.get("Error", {}).get("Message", "")
            if code in ("AccessDenied", "AccessDeniedException", "403"):
                return self._fail(f"the job's role may not call {action} ({code}: {message}); allow it in the "
                                  "role's policy")
            return self._fail(f"{action} failed ({code}: {message})")
        return self._fail(f"{action} failed: {type(error).__name__}: {error}")

    # -- the model's artifact

    def describe(self) -> dict:
        from botocore.exceptions import BotoCoreError
        from botocore.exceptions import ClientError as BotoClientError

        try:
            self.description = self.sagemaker.describe_model(ModelName=self.name)
        except BotoClientError as error:
            message = error.response.get("Error", {}).get("Message", "")
            if "Could not find model" in message:
                raise self._fail(f"there is no such model ({message}); create it with CreateModel "
                                 "(e.g. sagemaker.Session().create_model) or correct the name") from None
            raise self._api_error("sagemaker:DescribeModel", error) from None
        except BotoCoreError as error:
            raise self._api_error("sagemaker:DescribeModel", error) from None
        return self.description

    def container(self) -> dict:
        """The model's one container, with its artifact (a packaged model's taken from its package)."""
        if self._container is not None:
            return self._container
        described = self.description if self.description is not None else self.describe()
        containers = described.get("Containers") or ([described["PrimaryContainer"]]
                                                     if described.get("PrimaryContainer") else [])
        if not containers:
            raise self._fail("the model has no container")
        if len(containers) > 1:
            raise self._fail(
                f"the model is an inference pipeline of {len(containers)} containers; Charter's Clarify loads a "
                "single model file, so give a model of one container (or predictor.model_path)"
            )
        container = containers[0]
        if not (container.get("ModelDataUrl") or container.get("ModelDataSource")) and container.get("ModelPackageName"):
            container = self._package_container(container["ModelPackageName"])
        self._container = container
        return container

    def _package_container(self, package: str) -> dict:
        from botocore.exceptions import BotoCoreError
        from botocore.exceptions import ClientError as BotoClientError

        try:
            described = self.sagemaker.describe_model_package(ModelPackageName=package)
        except (BotoClientError, BotoCoreError) as error:
            raise self._api_error(f"sagemaker:DescribeModelPackage ({package})", error) from None
        containers = (described.get("InferenceSpecification") or {}).get("Containers") or []
        if not containers:
            raise self._fail(f"its model package {package} has no inference containers")
        return containers[0]

    def artifact(self) -> tuple[str, bool]:
        """The artifact's URI and whether it is a prefix of files (rather than one object)."""
        container = self.container()
        if container.get("ModelDataUrl"):
            return container["ModelDataUrl"], False
        source = (container.get("ModelDataSource") or {}).get("S3DataSource")
        if source and source.get("S3Uri"):
            return source["S3Uri"], source.get("S3DataType") == "S3Prefix"
        image = container.get("Image") or "no image"
        raise self._fail(
            f"the model ({image}) has no ModelDataUrl or ModelDataSource, so there is no model file to load; "
            "Clarify on Charter needs the model artifact (a model.tar.gz holding a joblib or pickle model)"
        )

    def download(self, target: Path) -> Path:
        """Download the artifact into the directory ``target``; the file (or directory) to load."""
        uri, prefix = self.artifact()
        where = s3_location(uri)
        if where is None:
            raise self._fail(f"its model data {uri!r} is not an S3 URI (expected s3://bucket/key)")
        bucket, key = where
        target = Path(target)
        target.mkdir(parents=True, exist_ok=True)
        if not prefix:
            name = key.rsplit("/", 1)[-1] or "model.tar.gz"
            path = target / name
            self._get(bucket, key, path, uri)
            return path
        folder = target / "model"
        count = 0
        paginator = self.s3.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=bucket, Prefix=key):
                for item in page.get("Contents", []):
                    relative = item["Key"][len(key):].lstrip("/")
                    if not relative or relative.endswith("/") or ".." in relative.split("/"):
                        continue
                    self._get(bucket, item["Key"], folder / relative, f"s3://{bucket}/{item['Key']}")
                    count += 1
        except ModelSourceError:
            raise
        except Exception as error:
            raise self._api_error(f"s3:ListBucket on {uri}", error) from None
        if not count:
            raise self._fail(f"nothing is stored under its model data prefix {uri}")
        return folder

    def _get(self, bucket: str, key: str, path: Path, uri: str) -> None:
        from botocore.exceptions import BotoCoreError
        from botocore.exceptions import ClientError as BotoClientError

        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            body = self.s3.get_object(Bucket=bucket, Key=key)["Body"]
            with path.open("wb") as handle:
                shutil.copyfileobj(body, handle, 1 << 20)
        except BotoClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code in ("NoSuchKey", "404", "NoSuchBucket"):
                raise self._fail(f"nothing is stored at its model data {uri} ({code})") from None
            raise self._api_error(f"s3:GetObject on {uri}", error) from None
        except BotoCoreError as error:
            raise self._api_error(f"s3:GetObject on {uri}", error) from None
