"""The ``pytorch`` image: SageMaker's PyTorch training container (``pytorch-training``).

``train`` runs the estimator's ``entry_point`` in script mode (specs/containers.md,
section 2) with the PyTorch image's distributed set-up: ``MASTER_ADDR``/``MASTER_PORT``
and NCCL variables always, ``torchrun`` across the hosts when the estimator's
``distribution`` enables ``torch_distributed`` (see
:mod:`charter.builtins.script_mode.torch_distributed`).
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["train"]


def train(root: Path) -> None:
    """Run the user's training script of the container at ``root`` (training entry point)."""
    from ..script_mode import train as script_mode_train

    script_mode_train(Path(root), "pytorch")
