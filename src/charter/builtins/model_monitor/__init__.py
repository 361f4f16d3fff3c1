"""The built-in ``model-monitor`` image: SageMaker Model Monitor's prebuilt data-quality analyzer.

``charter container run model-monitor process --root DIR`` runs it on the container root DIR,
configured, like ``sagemaker-model-monitor-analyzer``, by environment variables
(``analyzer.py``): a baselining job writes ``statistics.json`` and a suggested
``constraints.json``; a monitoring job reads endpoint data capture (``capture.py``) or a
dataset, and writes ``statistics.json``, ``constraint_violations.json``, CloudWatch metric
data under ``/opt/ml/output/metrics/cloudwatch`` and ``report.html`` (``report.py``).

Only ``process`` is defined: Model Monitor runs as processing jobs.
"""

from __future__ import annotations

from pathlib import Path

from .. import register

__all__ = ["process"]

# Registering is idempotent, so the builtins package may list this image as well (it should,
# so that ``charter container run model-monitor`` finds it without importing this module first).
register(
    "model-monitor",
    "charter.builtins.model_monitor",
    "SageMaker Model Monitor data quality: baseline statistics/constraints, violations, metrics and a report",
)


def process(root: Path) -> None:
    """Run the baselining or monitoring job configured by the environment (processing entry point)."""
    from .analyzer import run

    summary = run(Path(root))
    print(f"model-monitor {summary['mode']}: wrote {', '.join(summary['files'])} to {summary['output']}")
