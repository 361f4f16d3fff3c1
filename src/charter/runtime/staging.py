"""Staging: a job's inputs into each host's ``/opt/ml`` tree before it starts, its outputs back after.

Exactly the layout of specs/containers.md: training hosts get their config files
(``hyperparameters.json``, ``inputdataconfig.json``, ``resourceconfig.json``), each
channel's objects under ``input/data/<channel>/`` and the checkpoints to resume
from; processing hosts get ``/opt/ml/config/processingjobconfig.json`` and
``resourceconfig.json`` and each input at its ``LocalPath``.  Afterwards the
model and output data of every host go up as ``model.tar.gz`` and
``output.tar.gz`` (one tar for all hosts), processing outputs as trees of
objects, checkpoints as files.

Channel data as SageMaker selects it: ``S3Prefix`` is every object whose key
starts with the URI (its path after the prefix kept under the channel folder);
``ManifestFile`` is a JSON list whose first entry gives a prefix and the rest the
keys under it; ``ShardedByS3Key`` deals the objects (sorted by key) to the hosts
in turn, ``FullyReplicated`` gives each host all of them.  ``File`` and
``FastFile`` modes both copy the objects before the job starts (FastFile's
streaming is an optimisation a local copy makes unnecessary).

Everything here is the platform's side of the contract: it runs with the job's
authority, outside the container, which is why a network-isolated job still
gets its data.  Problems the user can fix raise :class:`StagingError`, whose
message becomes the job's ``FailureReason`` (prefixed ``ClientError:``).
"""

from __future__ import annotations

import json
import os
import tarfile
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from ..store import artifacts

if TYPE_CHECKING:  # pragma: no cover
    from ..instance import Instance

CONTAINER = "/opt/ml"


class StagingError(Exception):
    """A job's input or output cannot be staged; the message says what to fix."""


def host_path(root: Path, container_path: str) -> Path:
    """Where a path of the container (``/opt/ml/...``) lies in a host's directory ``root``."""
    relative = os.path.normpath(container_path).lstrip("/")
    if relative.startswith(".."):
        raise StagingError(f"The path {container_path} climbs out of the container.")
    return root / relative


def hosts(count: int) -> list[str]:
    return [f"algo-{i}" for i in range(1, count + 1)]


def resource_config(host_index: int, count: int, instance_type: str, *, training: bool) -> dict:
    """``resourceconfig.json`` of host ``host_index`` (0-based), as specs/containers.md gives it."""
    names = hosts(count)
    config = {"current_host": names[host_index], "hosts": names}
    if training:
        config.update({
            "current_group_name": "homogeneousCluster",
            "current_instance_type": instance_type,
            "instance_groups": [
                {"instance_group_name": "homogeneousCluster", "instance_type": instance_type, "hosts": names}
            ],
            "network_interface_name": "eth0",
        })
    return config


def _write_json(path: Path, value) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value))


# --- objects of an input ------------------------------------------------------------


def _relative(prefix_key: str, key: str) -> str:
    """The path an object gets under its channel folder: its key after the prefix."""
    if key == prefix_key:
        return key.rsplit("/", 1)[-1]
    rest = key[len(prefix_key):]
    if prefix_key.endswith("/") or rest.startswith("/"):
        return rest.lstrip("/")
    # The prefix ends inside a name (s3://b/data/train matching data/train_2.csv): keep the whole name.
    return key[len(prefix_key.rsplit("/", 1)[0]) + 1:] if "/" in prefix_key else key


def _objects(instance: "Instance", uri: str, data_type: str, what: str) -> list[tuple[str, str]]:
    """(object URI, relative path) of every object an input names."""
    try:
        location = artifacts.parse(uri)
    except Exception as error:  # ValidationException: its message is the reason
        raise StagingError(f"{what}: {getattr(error, 'message', error)}") from None
    if data_type == "ManifestFile":
        try:
            manifest = json.loads(artifacts.read_bytes(instance, uri))
        except artifacts.ArtifactNotFound:
            raise StagingError(f"{what}: the manifest file {uri} does not exist.") from None
        except ValueError as error:
            raise StagingError(f"{what}: the manifest file {uri} is not JSON: {error}") from None
        if not (isinstance(manifest, list) and manifest and isinstance(manifest[0], dict) and "prefix" in manifest[0]):
            raise StagingError(
                f'{what}: the manifest file {uri} must be a JSON list starting with {{"prefix": "s3://bucket/prefix/"}} '
                "followed by the keys relative to it."
            )
        prefix = manifest[0]["prefix"]
        found = []
        for entry in manifest[1:]:
            if not isinstance(entry, str):
                raise StagingError(f"{what}: the manifest file {uri} lists {entry!r}, which is not a relative key.")
            found.append((prefix.rstrip("/") + "/" + entry.lstrip("/") if not prefix.endswith("/") else prefix + entry,
                          entry.lstrip("/")))
        return found
    if data_type == "AugmentedManifestFile":
        raise StagingError(
            f"{what}: AugmentedManifestFile input is not supported by Charter yet; use S3Prefix or ManifestFile."
        )
    try:
        listed = artifacts.list_prefix(instance, uri)
    except artifacts.ArtifactNotFound as missing:
        raise StagingError(f"{what}: {missing}") from None
    prefix_key = location.key if location.scheme == "s3" else location.path
    return [(item.uri, _relative(prefix_key, item.key)) for item in listed if not item.key.endswith("/")]


def fetch_input(instance: "Instance", *, uri: str, data_type: str, distribution: str, target: Path,
                host_index: int, host_count: int, what: str) -> int:
    """Copy the objects of one input into ``target``; the number of objects this host got."""
    objects = _objects(instance, uri, data_type, what)
    if not objects:
        raise StagingError(f"{what}: no objects were found at {uri}. Check the URI and that the data was uploaded.")
    if distribution == "ShardedByS3Key":
        objects = [o for i, o in enumerate(sorted(objects)) if i % host_count == host_index]
    target.mkdir(parents=True, exist_ok=True)
    for object_uri, relative in objects:
        try:
            artifacts.download(instance, object_uri, host_path(target, relative))
        except artifacts.ArtifactNotFound:
            raise StagingError(f"{what}: {object_uri} does not exist.") from None
        except artifacts.ArtifactError as error:
            raise StagingError(f"{what}: {error}") from None
    return len(objects)


# --- training -----------------------------------------------------------------------


def stage_training(instance: "Instance", spec: dict, host_index: int, root: Path) -> None:
    """Lay out host ``host_index``'s tree under ``root`` for a training job whose spec is ``spec``."""
    count = spec["InstanceCount"]
    ml = host_path(root, CONTAINER)
    for folder in ("input/config", "input/data", "model", "output/data", "output/intermediate", "code"):
        (ml / folder).mkdir(parents=True, exist_ok=True)
    _write_json(ml / "input/config/hyperparameters.json", spec.get("HyperParameters") or {})
    _write_json(ml / "input/config/inputdataconfig.json", spec.get("InputDataConfig") or {})
    _write_json(ml / "input/config/resourceconfig.json",
                resource_config(host_index, count, spec["InstanceType"], training=True))
    for channel in spec.get("Channels") or []:
        what = f"Channel {channel['Name']}"
        if channel.get("Mode") == "Pipe":
            # Staged beside the tree, not in it: the algorithm sees only the pipes (runtime/pipes.py).
            target = pipe_source(root, channel["Name"])
            first = ml / "input/data" / f"{channel['Name']}_0"
            if not first.exists():
                os.mkfifo(first, 0o644)  # there before the algorithm starts; the feeder writes it
            if channel["S3DataType"] == "AugmentedManifestFile":
                fetch_augmented_manifest(instance, channel, target, what)
                continue
        else:
            target = ml / "input/data" / channel["Name"]
            if channel["S3DataType"] == "AugmentedManifestFile":
                raise StagingError(f"{what}: an AugmentedManifestFile channel needs InputMode Pipe.")
        fetch_input(
            instance, uri=channel["S3Uri"], data_type=channel["S3DataType"], distribution=channel["Distribution"],
            target=target, host_index=host_index, host_count=count, what=what,
        )
    checkpoint = spec.get("Checkpoint")
    if checkpoint:
        # SageMaker tells the container where its checkpoints live (the XGBoost container reads it).
        _write_json(ml / "input/config/checkpointconfig.json", checkpoint)
        local = host_path(root, checkpoint["LocalPath"])
        local.mkdir(parents=True, exist_ok=True)
        try:
            for item in artifacts.list_prefix(instance, checkpoint["S3Uri"].rstrip("/") + "/"):
                artifacts.download(instance, item.uri, local / _relative(
                    artifacts.parse(checkpoint["S3Uri"].rstrip("/") + "/").key, item.key))
        except artifacts.ArtifactNotFound:
            pass  # nothing to resume from yet


def pipe_source(root: Path, channel: str) -> Path:
    """Where a Pipe-mode channel's objects are staged on a host, outside its /opt/ml tree."""
    return root / ".pipe" / channel


def fetch_augmented_manifest(instance: "Instance", channel: dict, target: Path, what: str) -> None:
    """The manifest's lines, and every object a ``-ref`` attribute of them names."""
    from .pipes import ref_name

    target.mkdir(parents=True, exist_ok=True)
    try:
        artifacts.download(instance, channel["S3Uri"], target / "manifest.jsonl")
    except artifacts.ArtifactNotFound:
        raise StagingError(f"{what}: the augmented manifest {channel['S3Uri']} does not exist.") from None
    names = channel.get("AttributeNames") or []
    if not names:
        raise StagingError(f"{what}: an AugmentedManifestFile channel needs AttributeNames.")
    for number, line in enumerate((target / "manifest.jsonl").read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            raise StagingError(f"{what}: line {number} of {channel['S3Uri']} is not JSON.") from None
        for name in names:
            if name not in entry:
                raise StagingError(f"{what}: line {number} of {channel['S3Uri']} has no attribute {name}.")
            if name.endswith("-ref"):
                try:
                    artifacts.download(instance, entry[name], target / "objects" / ref_name(entry[name]))
                except (artifacts.ArtifactNotFound, Exception) as error:
                    raise StagingError(f"{what}: line {number} names {entry[name]}, which cannot be read: "
                                       f"{getattr(error, 'message', error)}") from None


def _tar(roots: list[Path], target: Path) -> None:
    seen: set[str] = set()
    with tarfile.open(target, "w:gz") as archive:
        for root in roots:
            if not root.is_dir():
                continue
            for path in sorted(root.rglob("*")):
                name = path.relative_to(root).as_posix()
                if path.is_symlink() or name in seen or not (path.is_file() or path.is_dir()):
                    continue
                seen.add(name)
                archive.add(path, arcname=name, recursive=False)


def upload_tar(instance: "Instance", roots: list[Path], uri: str, scratch: Path) -> None:
    scratch.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(suffix=".tar.gz", dir=scratch)
    os.close(fd)
    try:
        _tar(roots, Path(temp))
        artifacts.upload(instance, Path(temp), uri, content_type="application/x-tar")
    finally:
        Path(temp).unlink(missing_ok=True)


def sync_tree(instance: "Instance", local: Path, uri: str, seen: dict[str, tuple[int, int]]) -> int:
    """Upload the files under ``local`` that are new or changed since ``seen`` to ``uri``/<path>; how many."""
    if not local.is_dir():
        return 0
    sent = 0
    for path in sorted(local.rglob("*")):
        if path.is_symlink() or not path.is_file():
            continue
        stat = path.stat()
        relative = path.relative_to(local).as_posix()
        mark = (stat.st_size, stat.st_mtime_ns)
        if seen.get(relative) == mark:
            continue
        artifacts.upload(instance, path, uri.rstrip("/") + "/" + relative)
        seen[relative] = mark
        sent += 1
    return sent


def collect_training(instance: "Instance", spec: dict, roots: list[Path], scratch: Path) -> dict:
    """Upload the model and output data of every host; the job's ``ModelArtifacts``."""
    base = artifacts.join(spec["S3OutputPath"], spec["TrainingJobName"], "output")
    model_uri = f"{base}/model.tar.gz"
    ml = [host_path(root, CONTAINER) for root in roots]
    upload_tar(instance, [m / "model" for m in ml], model_uri, scratch)
    if any(any((m / "output/data").rglob("*")) for m in ml if (m / "output/data").is_dir()):
        upload_tar(instance, [m / "output/data" for m in ml], f"{base}/output.tar.gz", scratch)
    checkpoint = spec.get("Checkpoint")
    if checkpoint:
        for root in roots:
            sync_tree(instance, host_path(root, checkpoint["LocalPath"]), checkpoint["S3Uri"], {})
    return {"S3ModelArtifacts": model_uri}


# --- processing ---------------------------------------------------------------------


def stage_processing(instance: "Instance", spec: dict, host_index: int, root: Path) -> None:
    count = spec["InstanceCount"]
    ml = host_path(root, CONTAINER)
    (ml / "config").mkdir(parents=True, exist_ok=True)
    (ml / "output").mkdir(parents=True, exist_ok=True)
    _write_json(ml / "config/processingjobconfig.json", spec["ProcessingJobConfig"])
    _write_json(ml / "config/resourceconfig.json",
                resource_config(host_index, count, spec["InstanceType"], training=False))
    for item in spec.get("Inputs") or []:
        fetch_input(
            instance, uri=item["S3Uri"], data_type=item["S3DataType"], distribution=item["Distribution"],
            target=host_path(root, item["LocalPath"]), host_index=host_index, host_count=count,
            what=f"ProcessingInput {item['Name']}",
        )
    for output in spec.get("Outputs") or []:
        host_path(root, output["LocalPath"]).mkdir(parents=True, exist_ok=True)


def collect_processing(instance: "Instance", spec: dict, roots: list[Path], seen: dict) -> None:
    """Upload every output's tree from every host (what ``Continuous`` outputs already sent is skipped)."""
    for output in spec.get("Outputs") or []:
        for root in roots:
            marks = seen.setdefault(f"{output['Name']}@{root.name}", {})
            sync_tree(instance, host_path(root, output["LocalPath"]), output["S3Uri"], marks)


def read_message(roots: list[Path], name: str, limit: int = 1024) -> str | None:
    """The first ``limit`` bytes of ``/opt/ml/output/<name>`` of the hosts, concatenated (None if none wrote one)."""
    texts = []
    for root in roots:
        path = host_path(root, f"{CONTAINER}/output/{name}")
        if path.is_file():
            texts.append(path.read_bytes()[:limit].decode("utf-8", errors="replace"))
    return "".join(texts)[:limit] if texts else None
