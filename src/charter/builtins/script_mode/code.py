"""Bringing the user's code into ``root/opt/ml/code`` (specs/containers.md, section 2, step 3).

``sagemaker_submit_directory`` names where the SDK put the code:

- ``s3://bucket/<job>/source/sourcedir.tar.gz``, downloaded with boto3 (the container's
  environment carries ``AWS_ENDPOINT_URL`` and credentials, so a plain S3 client reaches
  Charter's own S3 face or the external store);
- ``/opt/ml/input/data/code/sourcedir.tar.gz``, the ``code`` channel the SDK uses with
  network isolation, or any other local tarball;
- a local directory, copied; a single local file, copied in;
- any of the local forms written as a ``file://`` URI.

As in the toolkit, a code directory that already holds files is left alone (the platform
or a previous attempt put the code there), and with no submit directory at all the code
must already be in place.
"""

from __future__ import annotations

import os
import shutil
import tarfile
import tempfile
from pathlib import Path
from urllib.parse import unquote, urlparse

from .. import ClientError

__all__ = ["fetch", "local_path"]

_CONTAINER_BASE = "/opt/ml"


def local_path(location: str, base_dir: Path) -> Path:
    """A local location as a path on this machine: ``file://`` URIs are unwrapped, and a path
    under the container's ``/opt/ml`` is read under ``base_dir`` when that is elsewhere (the
    job runs without a mount namespace, e.g. in tests)."""
    if location.startswith("file://"):
        location = unquote(urlparse(location).path)
    path = Path(location)
    if str(base_dir) != _CONTAINER_BASE and (location == _CONTAINER_BASE or location.startswith(_CONTAINER_BASE + "/")):
        path = base_dir / os.path.relpath(location, _CONTAINER_BASE)
    return path


def _s3_download(uri: str, destination: Path) -> None:
    import boto3
    from botocore.exceptions import BotoCoreError
    from botocore.exceptions import ClientError as S3Error

    parsed = urlparse(uri)
    bucket, key = parsed.netloc, parsed.path.lstrip("/")
    if not bucket or not key:
        raise ClientError(f"sagemaker_submit_directory {uri!r} is not an s3://bucket/key URI")
    # S3_ENDPOINT_URL is the toolkit's own override; AWS_ENDPOINT_URL is read by boto3 itself.
    client = boto3.client("s3", endpoint_url=os.environ.get("S3_ENDPOINT_URL") or None)
    try:
        client.download_file(bucket, key, str(destination))
    except (S3Error, BotoCoreError) as error:
        raise ClientError(f"could not download the code from {uri}: {error}") from None


def _extract(archive: Path, code_dir: Path) -> None:
    try:
        with tarfile.open(archive, mode="r:*") as tar:
            # The "data" filter refuses members that would land outside code_dir.
            if hasattr(tarfile, "data_filter"):
                tar.extractall(code_dir, filter="data")
            else:  # pragma: no cover - Pythons before 3.11.4
                tar.extractall(code_dir)
    except (tarfile.TarError, OSError) as error:
        raise ClientError(f"could not extract the code archive {archive.name}: {error}") from None


def fetch(submit_directory: str | None, code_dir: Path, base_dir: Path) -> Path:
    """Fill ``code_dir`` from ``submit_directory`` (see the module docstring); ``code_dir``.

    Problems the user can fix (no such object, no such path, a broken archive) raise
    :class:`~charter.builtins.ClientError`.
    """
    code_dir.mkdir(parents=True, exist_ok=True)
    if any(code_dir.iterdir()):
        return code_dir
    if not submit_directory:
        raise ClientError(
            f"no code to run: the hyperparameter sagemaker_submit_directory is not set and {code_dir} is empty"
        )
    if submit_directory.startswith("s3://"):
        with tempfile.TemporaryDirectory(prefix="charter-code-") as scratch:
            archive = Path(scratch) / "sourcedir.tar.gz"
            _s3_download(submit_directory, archive)
            _extract(archive, code_dir)
        return code_dir
    source = local_path(submit_directory, base_dir)
    if source.is_dir():
        if source.resolve() != code_dir.resolve():
            shutil.copytree(source, code_dir, dirs_exist_ok=True)
    elif source.is_file():
        if tarfile.is_tarfile(source):
            _extract(source, code_dir)
        else:
            shutil.copy2(source, code_dir / source.name)
    else:
        raise ClientError(f"sagemaker_submit_directory {submit_directory!r} does not exist ({source})")
    return code_dir
