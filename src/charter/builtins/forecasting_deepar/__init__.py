"""The built-in ``forecasting-deepar`` image: SageMaker's DeepAR forecasting algorithm.

``charter container run forecasting-deepar train --root DIR`` trains on the ``train``
(and optional ``test``) channel under ``DIR/opt/ml/input/data`` with the hyperparameters
in ``DIR/opt/ml/input/config/hyperparameters.json`` and writes the model to
``DIR/opt/ml/model``, logging the lines SageMaker's DeepAR logs (``training.py``);
``charter container run forecasting-deepar serve --root DIR`` serves that model over
``/ping`` and ``/invocations`` (``server.py``, ``inference.py``).  Formats, hyperparameters,
metrics and the inference JSON follow specs/deepar.md; the model is
:mod:`charter.analytics.forecasting.deepar`.

Nothing heavy is imported until a command runs, so listing images stays cheap.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

__all__ = ["METRIC_DEFINITIONS", "serve", "train"]

_NUMBER = r"([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)"

#: What SageMaker reads from DeepAR's log (specs/deepar.md, section 3): the test scores and the
#: final training loss, the tunable objectives, and each test quantile's weighted loss.
METRIC_DEFINITIONS = [
    {"Name": "test:RMSE", "Regex": r"#test_score \(algo-1, RMSE\): " + _NUMBER},
    {"Name": "test:mean_wQuantileLoss", "Regex": r"#test_score \(algo-1, mean_wQuantileLoss\): " + _NUMBER},
    {"Name": "train:final_loss", "Regex": r"#quality_metric: host=\S+, train final_loss <loss>=" + _NUMBER},
    *({"Name": f"test:wQuantileLoss[0.{q}]", "Regex": rf"#test_score \(algo-1, wQuantileLoss\[0\.{q}\]\): " + _NUMBER}
      for q in range(1, 10)),
]


def train(root: Path, progress: Callable[[Any], None] | None = None, seed: int = 0):
    """Train DeepAR in the container at ``root`` (training entry point).

    ``progress`` (for in-process callers) receives the kernel's ``EpochReport`` after each
    epoch; ``seed`` seeds the network's initialisation, the window sampling and the test
    forecasts.  Returns a :class:`~.training.TrainingResult`.
    """
    from .training import run

    return run(Path(root), progress=progress, seed=seed)


def serve(root: Path, host: str | None = None, port: int | None = None) -> None:
    """Serve the model in ``root/opt/ml/model`` over HTTP until stopped (serving entry point)."""
    from .server import run

    run(Path(root), host=host, port=port)
