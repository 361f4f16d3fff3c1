"""The model-monitor image's environment contract: read once, each variable parsed once."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from charter.builtins import ClientError
from charter.builtins.model_monitor import contract as contract_module
from charter.builtins.model_monitor.contract import read


def test_the_given_environment_is_used_and_the_process_one_only_without_it(tmp_path, monkeypatch):
    monkeypatch.setenv("output_path", "/from/process")
    assert read(tmp_path, {"output_path": "/given"}).output == tmp_path / "given"
    assert read(tmp_path).output == tmp_path / "from" / "process"
    monkeypatch.delenv("output_path")
    assert read(tmp_path).output == tmp_path / "opt/ml/processing/output"


def test_the_environment_is_copied_when_read(tmp_path):
    env = {"analysis_type": "MODEL_QUALITY"}
    contract = read(tmp_path, env)
    env["analysis_type"] = "MODEL_BIAS"
    assert contract.analysis_type == "MODEL_QUALITY"
    assert read(tmp_path, {}).analysis_type == "DATA_QUALITY"


def test_shared_values_are_parsed_once(tmp_path):
    contract = read(tmp_path, {"start_time": "2024-05-01T00:00:00Z", "publish_cloudwatch_metrics": "Disabled"})
    assert contract.start is contract.start and contract.start.year == 2024
    assert contract.end is None and contract.publish_metrics is False


def test_bad_values_name_the_variable(tmp_path):
    with pytest.raises(ClientError, match="publish_cloudwatch_metrics must be Enabled or Disabled; got 'yes'"):
        read(tmp_path, {"publish_cloudwatch_metrics": "yes"}).publish_metrics
    with pytest.raises(ClientError, match="environment variable dataset_source is not set; set it to the data"):
        read(tmp_path, {}).existing("dataset_source", "set it to the data")
    with pytest.raises(ClientError, match="dataset_source: /data/in does not exist in the container"):
        read(tmp_path, {"dataset_source": "/data/in"}).existing("dataset_source", "hint")
    (tmp_path / "dir").mkdir()
    with pytest.raises(ClientError, match="baseline_constraints: /dir is not a file in the container"):
        read(tmp_path, {"baseline_constraints": "/dir"}).optional_file("baseline_constraints")
    assert read(tmp_path, {"baseline_constraints": ""}).optional_file("baseline_constraints") is None


def test_metric_dimensions_follow_the_endpoint_and_schedule(tmp_path):
    assert read(tmp_path, {}).dimensions == []
    both = read(tmp_path, {"sagemaker_endpoint_name": "ep", "sagemaker_monitoring_schedule_name": "daily"})
    assert both.dimensions == [{"Name": "Endpoint", "Value": "ep"}, {"Name": "MonitoringSchedule", "Value": "daily"}]


def test_only_the_contract_reads_the_process_environment():
    package = Path(contract_module.__file__).parent
    readers = []
    for path in sorted(package.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv") and \
                    isinstance(node.value, ast.Name) and node.value.id == "os":
                readers.append(path.name)
    assert set(readers) == {"contract.py"}
