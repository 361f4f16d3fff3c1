"""Demo step ``analyses``: a Clarify bias report and a Model Monitor baseline of German credit.

Both run the built-in images exactly as a processing job (or ``charter container run``)
runs them, on a container root laid out in a temporary directory: ``clarify`` with an
``analysis_config.json`` asking for every pre-training bias metric of the facets ``sex``
(women) and ``age`` (over 25) against the label ``class`` (1: good credit), and
``model-monitor``'s baselining job (``dataset_format`` CSV with a header) on the
applicants' features.  Their outputs go to the artifact store under
``s3://charter-demo/clarify/credit-risk/`` and ``s3://charter-demo/monitoring/credit-risk/baseline/``,
where the registry step's credit-risk versions name them in ``ModelMetrics``.

The German credit table comes from ``../shared/data`` (:mod:`charter.datasets`); where it
is not on this machine the step makes nothing and says so.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from . import BUCKET, Step, Workspace

CLARIFY_CONFIG = {
    "dataset_type": "text/csv",
    "label": "class",
    "label_values_or_threshold": [1],
    "facet": [
        {"name_or_index": "sex", "value_or_threshold": ["female"]},
        {"name_or_index": "age", "value_or_threshold": [25]},
    ],
    "group_variable": "purpose",
    "methods": {
        "pre_training_bias": {"methods": "all"},
        "report": {"name": "report", "title": "Credit risk: pre-training bias of the German credit data"},
    },
}
INPUT = "opt/ml/processing/input"


def _quiet(stage: str, event: str, detail: str) -> None:
    """Progress callback: the start-up output reports the result, not the stages."""


def run(workspace: Workspace) -> None:
    from .. import builtins
    from ..builtins.model_monitor.analyzer import run as analyze
    from ..datasets import DataUnavailable, fairness

    try:
        table = fairness.german()
    except DataUnavailable as missing:
        workspace.notes.append(f"no Clarify report or Model Monitor baseline in the demo: {missing}")
        return

    root = Path(tempfile.mkdtemp(prefix="charter-demo-"))
    try:
        inputs = root / INPUT
        for folder in ("config", "data", "baseline"):
            (inputs / folder).mkdir(parents=True)
        table.to_csv(inputs / "data" / "german.csv", index=False)
        table.drop(columns=["class"]).to_csv(inputs / "baseline" / "german.csv", index=False)
        (inputs / "config" / "analysis_config.json").write_text(json.dumps(CLARIFY_CONFIG, indent=2))
        workspace.write(workspace.uri("datasets", "german-credit", "german.csv"), (inputs / "data" / "german.csv").read_bytes())

        if builtins.run("clarify", "process", root, progress=_quiet) != 0:
            message = root / "opt/ml/output/message"
            raise RuntimeError(f"the Clarify analysis failed: {message.read_text() if message.exists() else 'no message'}")
        clarify = workspace.uri("clarify", "credit-risk") + "/"
        output = root / "opt/ml/processing/output"
        for name in ("analysis.json", "report.html", "report.pdf"):
            workspace.write(clarify + name, (output / name).read_bytes())
        workspace.write(clarify + "analysis_config.json", CLARIFY_CONFIG)
        workspace.results["clarify"] = clarify

        analyze(root, {
            "dataset_format": json.dumps({"csv": {"header": True}}),
            "dataset_source": f"/{INPUT}/baseline",
            "output_path": "/opt/ml/processing/baseline",
        })
        baseline = workspace.uri("monitoring", "credit-risk", "baseline") + "/"
        for name in ("statistics.json", "constraints.json"):
            workspace.write(baseline + name, (root / "opt/ml/processing/baseline" / name).read_bytes())
        workspace.results["baseline"] = baseline
    finally:
        shutil.rmtree(root, ignore_errors=True)

    workspace.made.append(f"Clarify bias report of German credit: {clarify}report.pdf (and analysis.json, report.html)")
    workspace.made.append(f"Model Monitor baseline of German credit: {baseline}statistics.json and constraints.json")
    workspace.made.append(f"the artifact store keeps s3://charter-demo/... under {workspace.where(f's3://{BUCKET}/')}")


STEP = Step("analyses", "a Clarify bias report and a Model Monitor baseline of German credit", run)
