"""The clarify built-in on the real German credit table, checked against smclarify.

``charter container run clarify process`` reads the 1,000 applicants as a CSV with a header
row (written here from ``../shared/data/german``), gets predictions from a scikit-learn
pipeline saved with joblib (fitted here on a 70% split), and writes analysis.json.  Every
pre- and post-training metric of every facet group in it must equal smclarify's on the same
columns within 1e-9: facet ``age`` with threshold 25 (continuous: the group age > 25),
``personal_status_sex`` with no value (one report per status), group variable ``purpose``,
label ``class`` with favourable value 1, FT on the numeric columns other than the facet
(what the built-in uses).

Needs ../shared/data (skipped with the reason otherwise), smclarify and scikit-learn.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import joblib
import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bias_oracle import compare_reports, oracle_report  # noqa: E402
from real_data import need  # noqa: E402
from synthetic_credit import Dataset  # noqa: E402  (the named-columns table the oracle reads)

from charter.datasets import fairness  # noqa: E402

FACETS = [("age", [25]), ("personal_status_sex", None)]
CONFIG = {
    "dataset_type": "text/csv",
    "label": "class",
    "label_values_or_threshold": [1],
    "facet": [{"name_or_index": name, "value_or_threshold": values} for name, values in FACETS if values]
    + [{"name_or_index": name} for name, values in FACETS if not values],
    "group_variable": "purpose",
    "methods": {"pre_training_bias": {"methods": "all"}, "post_training_bias": {"methods": "all"}},
    "predictor": {"model_name": "german-credit"},
}


def test_container_bias_on_german_credit_equals_smclarify(tmp_path):
    pytest.importorskip("smclarify", reason="smclarify (test-only dependency) is not installed")
    pytest.importorskip("sklearn", reason="scikit-learn (test-only dependency) is not installed")
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    table = need(fairness.german).drop(columns="sex")  # the file's own 21 columns
    features = [c for c in table.columns if c != "class"]
    text = [c for c in features if table[c].dtype.kind not in "biuf"]
    numeric = [c for c in features if c not in text]
    train = np.random.default_rng(0).permutation(len(table)) < 700
    model = make_pipeline(
        make_column_transformer((OneHotEncoder(handle_unknown="ignore"), text), (StandardScaler(), numeric)),
        LogisticRegression(max_iter=2000),
    ).fit(table.loc[train, features], table.loc[train, "class"])

    inputs = tmp_path / "opt/ml/processing/input"
    for folder in ("config", "data", "model"):
        (inputs / folder).mkdir(parents=True)
    (inputs / "config/analysis_config.json").write_text(json.dumps(CONFIG))
    table.to_csv(inputs / "data/german.csv", index=False)
    joblib.dump(model, inputs / "model/model.joblib")
    result = subprocess.run(
        [sys.executable, "-m", "charter.cli.main", "container", "run", "clarify", "process", "--root", str(tmp_path)],
        capture_output=True, text=True, timeout=300, env={**os.environ, "COLUMNS": "200"},
    )
    assert result.returncode == 0, result.stderr
    analysis = json.loads((tmp_path / "opt/ml/processing/output/analysis.json").read_text())

    # The predicted label the built-in derives: class 1 when its probability exceeds 0.5.
    good = model.predict_proba(table[features])[:, list(model.classes_).index(1)]
    columns = {c: table[c].to_numpy() if c in numeric or c == "class" else table[c].to_numpy(dtype=object)
               for c in table.columns}
    columns["predicted"] = np.where(good > 0.5, 1, 2)
    data = Dataset("german", columns, "class", [1], "predicted", numeric)
    for stage in ("pre_training", "post_training"):
        section = analysis[f"{stage}_bias_metrics"]
        assert section["label"] == "class" and list(section["facets"]) == [name for name, _ in FACETS]
        for name, values in FACETS:
            theirs = oracle_report(data, facet=name, facet_values=values, stage=stage, group="purpose",
                                   features=[c for c in numeric if c != name] if stage == "post_training" else None)
            ours = section["facets"][name]
            assert compare_reports(ours, theirs) == [], (stage, name)
            assert all("error" not in m for group in ours for m in group["metrics"])
    assert [g["value_or_threshold"] for g in analysis["pre_training_bias_metrics"]["facets"]["age"]] == ["(25, 75]"]
    assert len(analysis["post_training_bias_metrics"]["facets"]["personal_status_sex"]) == 4
