"""The clarify built-in's inputs: analysis_config.json checks, dataset layouts, model files.

Every bad configuration must be refused with a message that names the field at fault;
the dataset must be read the way Clarify reads each ``dataset_type``; the model must be
found where the configuration (or the processing input ``model``) puts it.
"""

from __future__ import annotations

import copy
import json
import tarfile

import numpy as np
import pandas as pd
import pytest

from charter.builtins import ClientError
from charter.builtins.clarify import config as cfg
from charter.builtins.clarify import data, predictor
from charter.builtins.clarify.config import ValidationError

GOOD = {
    "version": "1.0",
    "dataset_type": "text/csv",
    "headers": ["age", "sex", "hours", "income"],
    "label": "income",
    "label_values_or_threshold": [">50K"],
    "facet": [{"name_or_index": "sex", "value_or_threshold": ["Female"]}],
    "group_variable": "hours",
    "probability_threshold": 0.6,
    "methods": {
        "pre_training_bias": {"methods": "all"},
        "post_training_bias": {"methods": ["DPPL", "DI", "DCAcc"]},
        "shap": {"num_samples": 100, "agg_method": "median", "use_logit": False, "save_local_shap_values": True, "seed": 7},
        "pdp": {"grid_resolution": 10, "top_k_features": 3},
        "report": {"name": "bias_report", "title": "Income model"},
    },
    "predictor": {"model_path": "model/model.joblib", "label_headers": [">50K"]},
}

# What the SageMaker Python SDK's SageMakerClarifyProcessor writes for a shadow endpoint.
SDK_STYLE = {
    "dataset_type": "text/csv",
    "headers": ["age", "sex", "hours", "income"],
    "label": "income",
    "label_values_or_threshold": [1],
    "facet": [{"name_or_index": "sex", "value_or_threshold": [0]}],
    "methods": {
        "shap": {"baseline": [[40, 1, 38]], "num_samples": 100, "agg_method": "mean_abs", "use_logit": False,
                 "save_local_shap_values": True},
        "post_training_bias": {"methods": "all"},
        "report": {"name": "report", "title": "Analysis Report"},
    },
    "predictor": {"model_name": "income-model", "instance_type": "ml.m5.xlarge", "initial_instance_count": 1,
                  "accept_type": "text/csv", "content_type": "text/csv"},
}


def with_change(path: str, value, document=GOOD):
    """A copy of ``document`` with the dotted ``path`` set to ``value`` (``DELETE`` removes it)."""
    changed = copy.deepcopy(document)
    *parents, last = path.split(".")
    node = changed
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if value is DELETE:
        del node[last]
    elif isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return changed


DELETE = object()


# --------------------------------------------------------------------------- good configurations


def test_a_full_configuration_is_read_into_its_parts():
    config = cfg.parse(GOOD)
    assert config.dataset_type == "text/csv"
    assert config.headers == ("age", "sex", "hours", "income")
    assert config.label == "income" and config.label_values_or_threshold == [">50K"]
    assert config.facets == (cfg.Facet("sex", ["Female"]),)
    assert config.group_variable == "hours"
    assert config.probability_threshold == 0.6
    assert config.pre_training_bias == ("all",)
    assert config.post_training_bias == ("DPPL", "DI", "DCAcc")
    assert config.shap.num_samples == 100 and config.shap.agg_method == "median" and config.shap.seed == 7
    assert config.pdp.grid_resolution == 10 and config.pdp.top_k_features == 3 and config.pdp.features is None
    assert config.report == cfg.Report("bias_report", "Income model")
    assert config.predictor.model_path == "model/model.joblib"
    assert config.predictor.label_headers == (">50K",)
    assert config.needs_model


def test_the_sdk_processor_layout_is_accepted():
    config = cfg.parse(SDK_STYLE)
    assert config.predictor.model_name == "income-model"
    assert config.shap.baseline == [[40, 1, 38]]
    assert config.pre_training_bias is None and config.post_training_bias == ("all",)
    assert config.report.title == "Analysis Report"


def test_defaults_follow_clarify():
    config = cfg.parse({
        "dataset_type": "text/csv", "label": 3, "label_values_or_threshold": 1,
        "facet": [{"name_or_index": 0}], "methods": {"pre_training_bias": {}},
    })
    assert config.label == 3 and config.label_values_or_threshold == [1]
    assert config.facets == (cfg.Facet(0, None),)  # no values: one group per facet value
    assert config.pre_training_bias == ("all",)
    assert config.probability_threshold == 0.5
    assert config.report == cfg.Report("report", "Analysis Report")
    assert not config.needs_model


def test_report_settings_are_read_from_the_top_level_too():
    document = with_change("methods.report", DELETE)
    document["report"] = {"name": "old_style", "title": "Old"}
    assert cfg.parse(document).report == cfg.Report("old_style", "Old")


def test_post_training_bias_from_a_predicted_label_column_needs_no_model():
    document = with_change("methods", {"post_training_bias": {"methods": "all"}})
    document["predicted_label"] = "income_pred"
    config = cfg.parse(document)
    assert config.predicted_label == "income_pred" and not config.needs_model


# --------------------------------------------------------------------------- bad configurations


BAD = [
    ("methods.shap.agg_method", "max",
     "analysis_config.json: methods.shap.agg_method must be one of mean_abs, median, mean_sq (got 'max')"),
    ("dataset_type", DELETE, "analysis_config.json: dataset_type is required"),
    ("dataset_type", "text/tsv", "dataset_type must be one of text/csv, application/jsonlines, application/x-parquet"),
    ("dataset_type", "application/x-image", "dataset_type 'application/x-image' is not supported"),
    ("version", "2.0", "version must be \"1.0\""),
    ("headers", ["a", "b", "a"], "headers names column 'a' more than once"),
    ("headers", "age,sex", "headers must be a non-empty list of column names"),
    ("label", True, "label must be a column name or a zero-based column index"),
    ("label", DELETE, "label is required for methods.pre_training_bias"),
    ("label_values_or_threshold", DELETE, "label_values_or_threshold is required for methods.pre_training_bias"),
    ("label_values_or_threshold", [], "label_values_or_threshold must list at least one value"),
    ("label_values_or_threshold", [{"a": 1}], "label_values_or_threshold[0] must be a string, number or boolean"),
    ("probability_threshold", "0.5", "probability_threshold must be a number"),
    ("facet", DELETE, "facet is required for methods.pre_training_bias"),
    ("facet", {"name_or_index": "sex"}, "facet must be a non-empty list"),
    ("facet.0.name_or_index", DELETE, "facet[0].name_or_index is required"),
    ("facet.0.name_or_index", -1, "facet[0].name_or_index must be a column name or a zero-based column index"),
    ("facet.0.value_or_threshold", [], "facet[0].value_or_threshold must list at least one value"),
    ("facet.0.values", ["Female"], "facet[0].values is not a facet[0] setting"),
    ("group_variable", 1.5, "group_variable must be a column name or a zero-based column index"),
    ("excluded_columns", "hours", "excluded_columns must be a list"),
    ("lable", "income", "lable is not an analysis configuration setting"),
    ("time_series_data_config", {}, "time_series_data_config is not supported"),
    ("methods", DELETE, "methods is required"),
    ("methods", {"report": {"name": "r"}}, "methods has no analysis to run"),
    ("methods.explain", {}, "methods.explain is not a methods setting"),
    ("methods.pre_training_bias.methods", ["CI", "XYZ"], "methods.pre_training_bias.methods has unknown metric 'XYZ'"),
    ("methods.post_training_bias.methods", [], "methods.post_training_bias.methods must be \"all\" or a non-empty list"),
    ("methods.post_training_bias.metrics", "all", "methods.post_training_bias.metrics is not a methods.post_training_bias setting"),
    ("methods.shap.num_samples", 0, "methods.shap.num_samples must be a positive integer (got 0)"),
    ("methods.shap.num_clusters", 2.5, "methods.shap.num_clusters must be a positive integer"),
    ("methods.shap.use_logit", "yes", "methods.shap.use_logit must be true or false"),
    ("methods.shap.seed", "7", "methods.shap.seed must be an integer"),
    ("methods.shap.baseline", [[1, 2], [3]], "methods.shap.baseline[1] must be a row of 2 feature values"),
    ("methods.shap.baseline", 5, "methods.shap.baseline must be a list of rows"),
    ("methods.shap.text_config", {"granularity": "token"}, "methods.shap.text_config is not supported"),
    ("methods.shap.features_to_explain", [], "methods.shap.features_to_explain must be a non-empty list"),
    ("methods.pdp.grid_resolution", "15", "methods.pdp.grid_resolution must be a positive integer"),
    ("methods.pdp.features", ["age", "age"], "methods.pdp.features lists 'age' twice"),
    # checked here once; the SHAP and PDP kernels get typed configurations and trust them
    ("methods.shap.num_clusters", -1, "methods.shap.num_clusters must be a positive integer (got -1)"),
    ("methods.shap.save_local_shap_values", 1, "methods.shap.save_local_shap_values must be true or false (got 1)"),
    ("methods.shap.seed", 1.5, "methods.shap.seed must be an integer (got 1.5)"),
    ("methods.shap.num_sample", 10, "methods.shap.num_sample is not a methods.shap setting"),
    ("methods.shap.features_to_explain", ["age", 1.5], "methods.shap.features_to_explain[1] must be a column name"),
    ("methods.pdp.top_k_features", True, "methods.pdp.top_k_features must be a positive integer (got True)"),
    ("methods.pdp.features", "age", "methods.pdp.features must be a non-empty list of feature names or indices"),
    ("methods.pdp.grid", 3, "methods.pdp.grid is not a methods.pdp setting"),
    ("methods.report.name", "../r", "methods.report.name must be a file name prefix without slashes"),
    ("methods.report.title", "", "methods.report.title must be a non-empty string"),
    ("predictor.endpoint_name", "income-endpoint", "predictor.endpoint_name names endpoint 'income-endpoint', but endpoints are not available yet"),
    ("predictor.model_path", 3, "predictor.model_path must be a non-empty string"),
    ("predictor.label_headers", [], "predictor.label_headers must be a non-empty list"),
    ("predictor.accept_type", "text/plain", "predictor.accept_type must be one of"),
    ("predictor.instance", "ml.m5.xlarge", "predictor.instance is not a predictor setting"),
    ("features", "data.features", "features is a JSON Lines setting"),
]


@pytest.mark.parametrize("path,value,message", BAD, ids=[b[0] + ":" + repr(b[1])[:20] for b in BAD])
def test_a_bad_configuration_names_the_field(path, value, message):
    with pytest.raises(ValidationError) as caught:
        cfg.parse(with_change(path, value))
    assert message in str(caught.value)
    assert str(caught.value).startswith("analysis_config.json: ")
    assert isinstance(caught.value, ClientError)  # reported as ClientError by the container


def test_baseline_and_num_clusters_exclude_each_other():
    document = with_change("methods.shap.baseline", [[30, "Male", 40]])
    document["methods"]["shap"]["num_clusters"] = 3
    with pytest.raises(ValidationError, match="methods.shap.num_clusters cannot be given together with methods.shap.baseline"):
        cfg.parse(document)


def test_pdp_without_features_needs_shap():
    document = with_change("methods.shap", DELETE)
    with pytest.raises(ValidationError, match=r"methods.pdp.features is required when methods.shap is not given"):
        cfg.parse(document)


def test_the_file_must_be_a_json_object():
    with pytest.raises(ValidationError, match="analysis_config.json: is not valid JSON"):
        cfg.loads("{'dataset_type': 'text/csv'}")
    with pytest.raises(ValidationError, match="analysis_config.json: must hold a JSON object"):
        cfg.loads("[1, 2]")


def test_a_missing_file_says_where_it_was_expected(tmp_path):
    with pytest.raises(ValidationError, match="/opt/ml/processing/input/config"):
        cfg.load(tmp_path / "analysis_config.json")


# --------------------------------------------------------------------------- datasets


def container(tmp_path, files: dict[str, str | bytes]):
    base = tmp_path / "opt/ml/processing/input/data"
    for name, content in files.items():
        path = base / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return tmp_path


def csv_config(**changes):
    document = {"dataset_type": "text/csv", "label": "y", "label_values_or_threshold": [1],
                "facet": [{"name_or_index": "g", "value_or_threshold": ["b"]}], "methods": {"pre_training_bias": {}}}
    document.update(changes)
    return cfg.parse(document)


def test_csv_with_a_header_row_names_its_columns(tmp_path):
    root = container(tmp_path, {"train.csv": "x,g,y\n1.5,a,1\n2.5,b,0\n3.0,b,1\n"})
    dataset = data.load(root, csv_config())
    assert list(dataset.frame.columns) == ["x", "g", "y"]
    assert dataset.features == ["x", "g"] and dataset.label == "y" and dataset.facets == ["g"]
    assert dataset.frame["x"].dtype == np.float64 and dataset.frame["y"].dtype == np.int64
    assert dataset.column("g").tolist() == ["a", "b", "b"]


def test_csv_files_of_a_prefix_with_and_without_the_configured_header(tmp_path):
    root = container(tmp_path, {
        "part-0.csv": "1.5,a,1\n2.5,b,0\n",  # no header row
        "part-1.csv": "x,g,y\n3.0,b,1\n",  # the configured headers as first row
        "_SUCCESS": "", ".hidden.csv": "junk\n",
    })
    dataset = data.load(root, csv_config(headers=["x", "g", "y"]))
    assert len(dataset) == 3 and dataset.frame["x"].tolist() == [1.5, 2.5, 3.0]
    assert [f.name for f in dataset.files] == ["part-0.csv", "part-1.csv"]


def test_csv_columns_by_index_and_excluded_columns(tmp_path):
    root = container(tmp_path, {"d.csv": "id,x,g,z,y\nr1,1,a,5,1\nr2,2,b,6,0\n"})
    dataset = data.load(root, csv_config(label=4, facet=[{"name_or_index": 2, "value_or_threshold": ["b"]}],
                                         joinsource_name_or_index="id", excluded_columns=[3]))
    assert dataset.label == "y" and dataset.facets == ["g"] and dataset.joinsource == "id"
    assert dataset.features == ["x", "g"]


def test_csv_column_count_must_match_headers(tmp_path):
    root = container(tmp_path, {"d.csv": "1,a,1\n"})
    with pytest.raises(ValidationError, match="analysis_config.json: headers has 4 names but d.csv has 3 columns"):
        data.load(root, csv_config(headers=["x", "g", "y", "w"]))


@pytest.mark.parametrize("field,change,message", [
    ("label", {"label": "income"}, "label names column 'income', which the dataset does not have; its columns are: x, g, y"),
    ("facet", {"facet": [{"name_or_index": 7}]}, "facet[0].name_or_index is column index 7, but the dataset has 3 columns"),
    ("group", {"group_variable": "region"}, "group_variable names column 'region'"),
    ("excluded", {"excluded_columns": ["x", "g"]}, "excluded_columns leaves no feature columns"),
])
def test_columns_the_dataset_lacks_are_named(tmp_path, field, change, message):
    root = container(tmp_path, {"d.csv": "x,g,y\n1,a,1\n"})
    with pytest.raises(ValidationError) as caught:
        data.load(root, csv_config(**change))
    assert message in str(caught.value)


def test_a_missing_dataset_says_where_it_belongs(tmp_path):
    with pytest.raises(ClientError, match="processing input named 'dataset'"):
        data.load(tmp_path, csv_config())


def test_json_lines_with_a_features_path_and_the_label_last_in_headers(tmp_path):
    lines = [{"data": {"features": {"values": [1.5, "a"]}, "label": 1}},
             {"data": {"features": {"values": [2.5, "b"]}, "label": 0}}]
    root = container(tmp_path, {"d.jsonl": "\n".join(json.dumps(r) for r in lines) + "\n"})
    config = cfg.parse({"dataset_type": "application/jsonlines", "headers": ["x", "g", "y"], "features": "data.features.values",
                        "label": "data.label", "label_values_or_threshold": [1],
                        "facet": [{"name_or_index": "g", "value_or_threshold": ["b"]}], "methods": {"pre_training_bias": {}}})
    dataset = data.load(root, config)
    assert list(dataset.frame.columns) == ["x", "g", "y"] and dataset.label == "y"
    assert dataset.frame["x"].tolist() == [1.5, 2.5] and dataset.features == ["x", "g"]


def test_json_lines_of_flat_objects(tmp_path):
    root = container(tmp_path, {"d.jsonl": '{"x": 1, "g": "a", "y": 1}\n\n{"x": 2, "g": "b", "y": 0}\n'})
    config = cfg.parse({"dataset_type": "application/jsonlines", "label": "y", "label_values_or_threshold": [1],
                        "facet": [{"name_or_index": "g"}], "methods": {"pre_training_bias": {}}})
    dataset = data.load(root, config)
    assert dataset.features == ["x", "g"] and dataset.column("y").tolist() == [1, 0]


def test_json_lines_feature_count_must_match_headers(tmp_path):
    root = container(tmp_path, {"d.jsonl": '{"f": [1, 2, 3], "y": 1}\n'})
    config = cfg.parse({"dataset_type": "application/jsonlines", "headers": ["a", "b", "y"], "features": "f", "label": "y",
                        "label_values_or_threshold": [1], "facet": [{"name_or_index": "a"}], "methods": {"pre_training_bias": {}}})
    with pytest.raises(ValidationError, match="headers names 2 features but d.jsonl line 1 has 3"):
        data.load(root, config)


def test_parquet_with_replacement_headers(tmp_path):
    frame = pd.DataFrame({"c0": [1.0, 2.0], "c1": ["a", "b"], "c2": [1, 0]})
    path = tmp_path / "opt/ml/processing/input/data/d.parquet"
    path.parent.mkdir(parents=True)
    frame.to_parquet(path)
    dataset = data.load(tmp_path, csv_config(dataset_type="application/x-parquet", headers=["x", "g", "y"]))
    assert list(dataset.frame.columns) == ["x", "g", "y"] and dataset.column("g").tolist() == ["a", "b"]


# --------------------------------------------------------------------------- models


def test_feature_codes_round_trip_text_columns():
    frame = pd.DataFrame({"x": [1.5, 2.0, 3.0], "g": ["b", None, "a"], "n": [3, 4, 5]})
    codec = predictor.FeatureCodec(frame)
    encoded = codec.encode(frame)
    assert codec.categorical == ["g"]
    assert encoded[:, 1].tolist()[0] == 1.0 and np.isnan(encoded[1, 1]) and encoded[2, 1] == 0.0
    decoded = codec.decode(encoded)
    assert decoded["g"].tolist() == ["b", None, "a"] and decoded["x"].tolist() == [1.5, 2.0, 3.0]
    assert codec.decode_value(2, 4.0) == 4 and codec.decode_value(1, 0.0) == "a"
    with pytest.raises(ValidationError, match="methods.shap.baseline has value 'c' for feature 'g'"):
        codec.encode_rows([[1.0, "c", 3]], "methods.shap.baseline")


def _fitted_model():
    from sklearn.linear_model import LogisticRegression

    X = np.array([[0.0], [1.0], [2.0], [3.0]])
    return LogisticRegression().fit(X, [0, 0, 1, 1])


def test_model_paths_resolve_inside_the_container(tmp_path):
    import joblib

    model_dir = tmp_path / "opt/ml/processing/input/model"
    model_dir.mkdir(parents=True)
    joblib.dump(_fitted_model(), model_dir / "clf.joblib")
    in_container = cfg.Predictor(model_path="/opt/ml/processing/input/model/clf.joblib")
    relative = cfg.Predictor(model_path="model/clf.joblib")
    assert predictor.model_location(tmp_path, in_container) == model_dir / "clf.joblib"
    assert predictor.model_location(tmp_path, relative) == model_dir / "clf.joblib"
    assert predictor.model_location(tmp_path, None) == model_dir  # the staged processing input
    with pytest.raises(ValidationError, match="predictor.model_path names 'nope.pkl', and there is no file"):
        predictor.model_location(tmp_path, cfg.Predictor(model_path="nope.pkl"))


def test_a_model_tar_gz_holding_one_model_file_loads(tmp_path):
    import joblib

    joblib.dump(_fitted_model(), tmp_path / "model.joblib")
    with tarfile.open(tmp_path / "model.tar.gz", "w:gz") as archive:
        archive.add(tmp_path / "model.joblib", arcname="model.joblib")
    model = predictor.load_model(tmp_path / "model.tar.gz")
    assert model.predict([[3.0]]).tolist() == [1]


def test_files_that_are_not_models_are_refused(tmp_path):
    (tmp_path / "model.pkl").write_bytes(b"not a pickle")
    with pytest.raises(ClientError, match="model: model.pkl is not a joblib or pickle model file"):
        predictor.load_model(tmp_path / "model.pkl")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ClientError, match="no model file in"):
        predictor.load_model(empty)


def test_a_job_without_a_model_says_how_to_give_one(tmp_path):
    root = container(tmp_path, {"d.csv": "x,g,y\n1,a,1\n2,b,0\n"})
    config = csv_config(methods={"shap": {}})
    dataset = data.load(root, config)
    codec = predictor.FeatureCodec(dataset.feature_frame())
    with pytest.raises(ValidationError, match="predictor is needed for methods.shap/methods.pdp: give predictor.model_name"):
        predictor.open_model(root, config, codec)


# --------------------------------------------------------------------------- models named by predictor.model_name
#
# The built-in fetches them with boto3 (DescribeModel, then S3); here botocore's own
# Stubber answers those calls, so no server is involved.


def _clients():
    import boto3
    from botocore.stub import Stubber

    session = boto3.session.Session(aws_access_key_id="AKIATEST", aws_secret_access_key="secret",
                                    region_name="us-east-1")
    sagemaker, s3 = session.client("sagemaker"), session.client("s3")
    return sagemaker, Stubber(sagemaker), s3, Stubber(s3)


def _model_description(name="income-model", **container):
    return {"ModelName": name, "ModelArn": f"arn:aws:sagemaker:us-east-1:123456789012:model/{name}",
            "CreationTime": 0, "ExecutionRoleArn": "arn:aws:iam::123456789012:role/R",
            "PrimaryContainer": {"Image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3",
                                 **container}}


def _tarball(tmp_path, name="model.joblib", content=None) -> bytes:
    import io

    import joblib

    path = tmp_path / name
    if content is None:
        joblib.dump(_fitted_model(), path)
    else:
        path.write_bytes(content)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        archive.add(path, arcname=name)
    return buffer.getvalue()


def _body(data: bytes):
    import io

    from botocore.response import StreamingBody

    return StreamingBody(io.BytesIO(data), len(data))


def _named_model_job(tmp_path):
    root = container(tmp_path / "job", {"d.csv": "x,y\n0,0\n1,0\n2,1\n3,1\n"})
    config = cfg.parse({"dataset_type": "text/csv", "label": "y", "label_values_or_threshold": [1],
                        "methods": {"shap": {"num_samples": 8}}, "predictor": {"model_name": "income-model"}})
    codec = predictor.FeatureCodec(data.load(root, config).feature_frame())
    return root, config, codec


def test_a_named_model_is_described_downloaded_and_loaded(tmp_path):
    from charter.builtins.clarify.model_source import ModelSource

    root, config, codec = _named_model_job(tmp_path)
    sagemaker, sm_stub, s3, s3_stub = _clients()
    url = "s3://models/income/output/model.tar.gz"
    sm_stub.add_response("describe_model", _model_description(ModelDataUrl=url), {"ModelName": "income-model"})
    s3_stub.add_response("get_object", {"Body": _body(_tarball(tmp_path))},
                         {"Bucket": "models", "Key": "income/output/model.tar.gz"})
    with sm_stub, s3_stub:
        model = predictor.open_model(root, config, codec,
                                     source=ModelSource("income-model", sagemaker=sagemaker, s3=s3))
    assert model.is_classifier and model.description == (
        f"LogisticRegression classifier from SageMaker model 'income-model' ({url})")
    assert model.predict(np.array([[0.0], [3.0]])).predicted_label.tolist() == [0, 1]
    sm_stub.assert_no_pending_responses()


def test_a_model_data_source_prefix_is_downloaded_file_by_file(tmp_path):
    import joblib

    from charter.builtins.clarify.model_source import ModelSource

    root, config, codec = _named_model_job(tmp_path)
    sagemaker, sm_stub, s3, s3_stub = _clients()
    joblib.dump(_fitted_model(), tmp_path / "m.joblib")
    source = {"S3DataSource": {"S3Uri": "s3://models/flat/", "S3DataType": "S3Prefix", "CompressionType": "None"}}
    sm_stub.add_response("describe_model", _model_description(ModelDataSource=source))
    s3_stub.add_response("list_objects_v2", {"Contents": [{"Key": "flat/model.joblib"}], "IsTruncated": False},
                         {"Bucket": "models", "Prefix": "flat/"})
    s3_stub.add_response("get_object", {"Body": _body((tmp_path / "m.joblib").read_bytes())},
                         {"Bucket": "models", "Key": "flat/model.joblib"})
    with sm_stub, s3_stub:
        model = predictor.open_model(root, config, codec, source=ModelSource("income-model", sagemaker=sagemaker, s3=s3))
    assert model.predict(np.array([[3.0]])).predicted_label.tolist() == [1]


def _fetch_error(tmp_path, describe: dict | None, *, error: tuple[str, str] | None = None, s3_answer=None) -> str:
    from charter.builtins.clarify.model_source import ModelSource

    root, config, codec = _named_model_job(tmp_path)
    sagemaker, sm_stub, s3, s3_stub = _clients()
    if error:
        sm_stub.add_client_error("describe_model", service_error_code=error[0], service_message=error[1])
    else:
        sm_stub.add_response("describe_model", describe)
    if s3_answer is not None:
        if isinstance(s3_answer, tuple):
            s3_stub.add_client_error("get_object", service_error_code=s3_answer[0], service_message=s3_answer[1],
                                     http_status_code=int(s3_answer[2]))
        else:
            s3_stub.add_response("get_object", {"Body": _body(s3_answer)})
    with sm_stub, s3_stub, pytest.raises(ClientError) as caught:
        predictor.open_model(root, config, codec, source=ModelSource("income-model", sagemaker=sagemaker, s3=s3))
    return str(caught.value)


def test_a_named_model_that_cannot_be_fetched_says_why(tmp_path):
    arn = "arn:aws:sagemaker:us-east-1:123456789012:model/income-model"
    missing = _fetch_error(tmp_path / "a", None, error=("ValidationException", f'Could not find model "{arn}".'))
    assert missing.startswith("model: predictor.model_name 'income-model': there is no such model")
    assert "create it with CreateModel" in missing

    denied = _fetch_error(tmp_path / "b", None, error=("AccessDeniedException", "not authorized"))
    assert "the job's role may not call sagemaker:DescribeModel (AccessDeniedException: not authorized)" in denied

    no_data = _fetch_error(tmp_path / "c", _model_description())
    assert "has no ModelDataUrl or ModelDataSource, so there is no model file to load" in no_data

    pipeline = _model_description()
    pipeline["Containers"] = [pipeline.pop("PrimaryContainer")] * 2
    assert "is an inference pipeline of 2 containers" in _fetch_error(tmp_path / "d", pipeline)

    url = "s3://models/gone/model.tar.gz"
    gone = _fetch_error(tmp_path / "e", _model_description(ModelDataUrl=url),
                        s3_answer=("NoSuchKey", "The specified key does not exist.", 404))
    assert f"nothing is stored at its model data {url} (NoSuchKey)" in gone

    xgboost = _fetch_error(tmp_path / "f", _model_description(ModelDataUrl=url),
                           s3_answer=_tarball(tmp_path, "xgboost-model", b"binary booster"))
    assert f"its model data {url} cannot be loaded (no model file in model.tar.gz" in xgboost
    assert "needs a scikit-learn style model saved with joblib or pickle" in xgboost


def test_a_job_without_credentials_is_told_why_it_cannot_describe_the_model(tmp_path, monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    root, config, codec = _named_model_job(tmp_path)
    with pytest.raises(ClientError, match="the job has no AWS credentials to call sagemaker:DescribeModel"):
        predictor.open_model(root, config, codec)


def test_s3_addresses_of_model_data():
    from charter.builtins.clarify.model_source import s3_location

    assert s3_location("s3://b/k/model.tar.gz") == ("b", "k/model.tar.gz")
    assert s3_location("https://b.s3.us-east-1.amazonaws.com/k/model.tar.gz") == ("b", "k/model.tar.gz")
    assert s3_location("https://s3.eu-west-1.amazonaws.com/b/k%20x/m.tar.gz") == ("b", "k x/m.tar.gz")
    assert s3_location("https://example.com/b/k") is None and s3_location("file:///m.tar.gz") is None