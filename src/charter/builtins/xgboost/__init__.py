"""The built-in ``xgboost`` image: SageMaker's XGBoost algorithm, and the XGBoost framework's script mode.

``charter container run xgboost train --root DIR`` does what SageMaker's XGBoost
container (``sagemaker-xgboost``, release 1.7; aws/sagemaker-xgboost-container) does
with the job in ``DIR/opt/ml`` (specs/containers.md, section 1):

- **Script mode**, when ``hyperparameters.json`` names an entry point
  (``sagemaker_program``, which the SageMaker SDK's ``XGBoost`` estimator sets): the
  user's script runs under :mod:`charter.builtins.script_mode` with XGBoost importable.
- **Algorithm mode** otherwise: the built-in algorithm trains on the ``train`` channel
  (and evaluates on the optional ``validation`` channel) in CSV, libsvm or Parquet, with
  the container's hyperparameters and their checks (``hyperparameters.py``), prints
  XGBoost's evaluation line each round (read by :data:`METRIC_DEFINITIONS`), keeps
  checkpoints in ``/opt/ml/checkpoints`` and resumes from them, trains one model across
  hosts when the job has several (``distributed.py``), and writes the model to
  ``/opt/ml/model/xgboost-model`` (``training.py``).

Importing this package loads nothing heavy: XGBoost, NumPy and the data readers are
imported when ``train`` runs.
"""

from __future__ import annotations

import json
from pathlib import Path

from .metric_definitions import METRIC_DEFINITIONS

__all__ = ["METRIC_DEFINITIONS", "SCRIPT_MODE_KEY", "is_script_mode", "train"]

# The hyperparameter by which the SageMaker SDK's framework estimators name the entry point.
SCRIPT_MODE_KEY = "sagemaker_program"


def is_script_mode(root: Path) -> bool:
    """Whether the job at ``root`` runs a user's script (its hyperparameters name ``sagemaker_program``)."""
    path = Path(root) / "opt" / "ml" / "input" / "config" / "hyperparameters.json"
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False  # absent or unreadable: algorithm mode reports what is wrong with it
    return isinstance(document, dict) and SCRIPT_MODE_KEY in document


def train(root: Path):
    """Train in the container at ``root`` (training entry point): script mode or the built-in algorithm.

    Algorithm mode returns a :class:`~.training.TrainingResult`; script mode returns what
    :func:`charter.builtins.script_mode.train` returns.
    """
    root = Path(root)
    if is_script_mode(root):
        from charter.builtins import script_mode

        return script_mode.train(root, framework="xgboost")
    from .training import run

    return run(root)
