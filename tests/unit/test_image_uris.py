"""Every image URI the SageMaker SDK's ``image_uris.retrieve`` gives for an image Charter has built in,
in every region the SDK knows and several versions, names that built-in."""

from __future__ import annotations

import warnings

import pytest

from charter import builtins

image_uris = pytest.importorskip("sagemaker.image_uris", reason="the SageMaker Python SDK is in the test extras")

CASES = [
    ("xgboost", "xgboost", ["1.7-1", "1.5-1", "1.0-1", "1"], {}),
    ("sklearn", "sklearn", ["1.2-1", "1.0-1", "0.23-1"], {"py_version": "py3", "instance_type": "ml.m5.large"}),
    ("pytorch", "pytorch", ["2.1", "1.13"], {"instance_type": "ml.m5.large", "image_scope": "training"}),
    ("forecasting-deepar", "forecasting-deepar", [None], {}),
    ("clarify", "clarify", [None], {}),
    ("model-monitor", "model-monitor", [None], {}),
]


def _regions(config: dict, version: str | None):
    if "registries" in config:
        return list(config["registries"])
    if "versions" in config:
        entry = config["versions"].get(version) or next(iter(config["versions"].values()))
        if "registries" in entry:
            return list(entry["registries"])
    for scope in ("training", "processing", "inference"):
        if scope in config:
            return _regions(config[scope], version)
    return []


@pytest.mark.parametrize("framework, builtin, versions, extra", CASES, ids=[c[0] for c in CASES])
def test_every_region_and_version_resolves(framework, builtin, versions, extra):
    warnings.filterwarnings("ignore")
    config = image_uris.config_for_framework(framework)
    tried = 0
    for version in versions:
        for region in _regions(config, version):
            kwargs = dict(framework=framework, region=region, **extra)
            if version:
                kwargs["version"] = version
            if framework == "pytorch":
                kwargs["py_version"] = "py39" if version == "1.13" else "py310"
            try:
                uri = image_uris.retrieve(**kwargs)
            except ValueError:
                continue  # this version is not published in this region
            tried += 1
            assert builtins.resolve(uri).name == builtin, uri
    assert tried >= 20  # the SDK knows twenty-odd regions for each
