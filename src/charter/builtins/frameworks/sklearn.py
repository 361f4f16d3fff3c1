"""The ``sklearn`` image: SageMaker's scikit-learn framework container (``sagemaker-scikit-learn``).

``train`` runs the estimator's ``entry_point`` in script mode (specs/containers.md,
section 2) on the Python Charter runs on, where scikit-learn, pandas and joblib are
installed.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["train"]


def train(root: Path) -> None:
    """Run the user's training script of the container at ``root`` (training entry point)."""
    from ..script_mode import train as script_mode_train

    script_mode_train(Path(root), "sklearn")
