"""Checkpoints of the XGBoost algorithm: one model file per boosting round, and resuming from the latest.

SageMaker copies ``CheckpointConfig.S3Uri`` into the checkpoint folder before the job
starts and syncs it back while the job runs (specs/containers.md, section 1).  As
SageMaker's XGBoost container does (aws/sagemaker-xgboost-container, ``checkpointing.py``),
the algorithm writes ``xgboost-checkpoint.<N>`` after round ``N`` (counted from 0), keeps
the five most recent, and when it starts with checkpoints present resumes from the one
with the highest ``N``: rounds ``0..N`` are done, ``num_round - N - 1`` are left.

A checkpoint is written to a temporary name and renamed, so a sync never copies half a
file; an older checkpoint that the platform is still uploading (a ``<name>.sagemaker-uploading``
marker without ``<name>.sagemaker-uploaded``) is left for a later round to delete.

The folder is ``LocalPath`` of ``input/config/checkpointconfig.json`` where that file
exists (SageMaker writes it when the job has a ``CheckpointConfig``), else
``opt/ml/checkpoints`` if that folder exists; otherwise the job keeps no checkpoints.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from .. import ClientError

__all__ = ["CHECKPOINT_NAME", "KEEP", "checkpoint_dir", "latest_checkpoint"]

CHECKPOINT_NAME = "xgboost-checkpoint"
KEEP = 5
_PATTERN = re.compile(rf"^{re.escape(CHECKPOINT_NAME)}\.([0-9]+)$")
_TEMPORARY_SUFFIX = ".sagemaker-ignore"  # what SageMaker's uploader skips


def checkpoint_dir(root: Path) -> Path | None:
    """The job's checkpoint folder inside container root ``root``, or None when it keeps none."""
    ml = root / "opt" / "ml"
    config = ml / "input" / "config" / "checkpointconfig.json"
    if config.is_file():
        try:
            document = json.loads(config.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as error:
            raise ClientError(f"checkpointconfig.json is not valid JSON: {error}") from None
        local = document.get("LocalPath") if isinstance(document, dict) else None
        if local:
            # A container path: the container root plays "/" (a real container has root == "/").
            path = root / str(local).lstrip("/")
            path.mkdir(parents=True, exist_ok=True)
            return path
    default = ml / "checkpoints"
    return default if default.is_dir() else None


def checkpoints(folder: Path) -> list[tuple[int, Path]]:
    """The checkpoints in ``folder``, by round."""
    found = []
    for entry in folder.iterdir() if folder.is_dir() else ():
        match = _PATTERN.match(entry.name)
        if match and entry.is_file():
            found.append((int(match.group(1)), entry))
    return sorted(found)


def latest_checkpoint(folder: Path | None) -> tuple[bytes, int] | None:
    """(model bytes, rounds done) of the most recent checkpoint that loads, or None."""
    if folder is None:
        return None
    import xgboost as xgb

    for round_index, path in reversed(checkpoints(folder)):
        data = path.read_bytes()
        try:
            xgb.Booster(model_file=bytearray(data))
        except xgb.core.XGBoostError:
            continue  # cut short by a crash mid-sync: fall back to the one before
        return data, round_index + 1
    return None


def _uploading(path: Path) -> bool:
    return Path(f"{path}.sagemaker-uploading").exists() and not Path(f"{path}.sagemaker-uploaded").exists()


def save_checkpoint(folder: Path, booster, round_index: int) -> Path:
    """Write ``booster`` as the checkpoint of round ``round_index`` and delete all but the :data:`KEEP` newest."""
    target = folder / f"{CHECKPOINT_NAME}.{round_index}"
    temporary = folder / f".{CHECKPOINT_NAME}.{round_index}.ubj{_TEMPORARY_SUFFIX}"
    temporary.write_bytes(bytes(booster.save_raw(raw_format="ubj")))
    os.replace(temporary, target)
    for older, path in checkpoints(folder)[:-KEEP]:
        if older < round_index and not _uploading(path):
            try:
                path.unlink()
            except OSError:
                pass  # gone already, or the platform holds it: the next round tries again
    return target
