"""Laying out a container root for a built-in run from a terminal (``charter clarify run``, ``charter forecast``)."""

from __future__ import annotations

import shutil
from pathlib import Path

__all__ = ["link_or_copy"]


def link_or_copy(source: Path, target: Path) -> None:
    """Stage ``source`` at ``target``: a symbolic link where possible (big datasets), else a copy."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        target.symlink_to(source.resolve(), target_is_directory=source.is_dir())
    except OSError:
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            shutil.copy2(source, target)
