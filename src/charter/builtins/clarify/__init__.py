"""The built-in ``clarify`` image: SageMaker Clarify's bias and explainability processing job.

``charter container run clarify process --root DIR`` runs it on the container root DIR:
it reads ``DIR/opt/ml/processing/input/config/analysis_config.json`` (``config.py``) and
the dataset under ``DIR/opt/ml/processing/input/data`` (``data.py``), gets predictions
from a model file (``predictor.py``), computes the requested bias metrics, SHAP values
and partial dependence with :mod:`charter.analytics`, and writes ``analysis.json`` in
Clarify's layout plus ``report.html`` and ``report.pdf`` to
``DIR/opt/ml/processing/output`` (``analysis.py``, ``report.py``).

Only ``process`` is defined: Clarify is a processing image.
"""

from __future__ import annotations

from pathlib import Path

from .analysis import STAGES, AnalysisResult, Progress, run
from .config import ValidationError

__all__ = ["STAGES", "AnalysisResult", "Progress", "ValidationError", "process", "run"]


def process(root: Path, progress: Progress | None = None) -> None:
    """Run the analysis configured in the container at ``root`` (processing entry point)."""
    run(Path(root), progress)
