"""The unmodified SageMaker SDK's ``SageMakerClarifyProcessor`` on Charter, with a real model.

A scikit-learn pipeline is fitted here on German credit and saved as the SKLearn
estimator saves it (``model.joblib`` in ``model.tar.gz``), uploaded to S3 and
registered as a SageMaker model with the scikit-learn image.  Then a data
scientist's script, in a process of its own with only ``AWS_ENDPOINT_URL`` and keys
(real AWS unreachable behind a dead proxy), runs ``run_bias`` (pre- and
post-training, facets ``sex`` and ``age`` > 25) and ``run_explainability`` (kernel
SHAP) with ``ModelConfig(model_name=...)``: the Clarify container describes the
model through the SageMaker API, downloads its artifact and calls it.

The results are read back from S3 and checked against the German credit table
itself: the pre-training metrics from the labels, the post-training ones from the
model's own predictions, the SHAP values for every feature with local values that
add up to each prediction.
"""

from __future__ import annotations

import io
import json
import tarfile

import numpy as np
import pandas as pd
import pytest

from charter.datasets import fairness
from conftest import REGION, start_server, stop_server
from jobs_support import S3_ACCESS, TRUST, execution_role, log_messages, run_sdk, sdk_answer
from real_data import need

pytest.importorskip("sagemaker", reason="the SageMaker Python SDK is in the test extras: make install")
pytest.importorskip("sklearn", reason="scikit-learn (test-only dependency) is not installed")
pytestmark = pytest.mark.once("the SDK's and the container's side; models and processing jobs are stored on both "
                              "databases in test_models.py and test_processing_jobs.py")

BUCKET = f"sagemaker-{REGION}-123456789012"
MODEL = "german-credit-lr"
# What the Clarify job's role needs beyond S3: to read the model it is told to explain.
DESCRIBE_MODELS = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["sagemaker:DescribeModel"], "Resource": "*"}]}


@pytest.fixture(scope="module")
def server(tmp_path_factory, database_url_factory):
    made = start_server(tmp_path_factory.mktemp("sdk-clarify-home"), database_url_factory(),
                        {"CHARTER_LOCAL_CPUS": "4"})
    yield made
    stop_server(made)


@pytest.fixture(scope="module")
def role(server):
    iam = server.client(service="iam")
    arn = iam.create_role(RoleName="ClarifyExecution", AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
    iam.put_role_policy(RoleName="ClarifyExecution", PolicyName="s3", PolicyDocument=json.dumps(S3_ACCESS))
    iam.put_role_policy(RoleName="ClarifyExecution", PolicyName="models", PolicyDocument=json.dumps(DESCRIBE_MODELS))
    return arn


@pytest.fixture(scope="module")
def german(tmp_path_factory):
    """German credit as a Clarify user prepares it: the 21 columns plus the derived ``sex``, label
    ``class`` (1 = good), a CSV without a header row (the headers go in DataConfig), and a model
    fitted on 70% of it, in a model.tar.gz as the SKLearn estimator writes one."""
    import joblib
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    table = need(fairness.german)
    features = [c for c in table.columns if c != "class"]
    text = [c for c in features if table[c].dtype.kind not in "biuf"]
    numeric = [c for c in features if c not in text]
    train = np.random.default_rng(7).permutation(len(table)) < 700
    model = make_pipeline(
        make_column_transformer((OneHotEncoder(handle_unknown="ignore"), text), (StandardScaler(), numeric)),
        LogisticRegression(max_iter=2000),
    ).fit(table.loc[train, features], table.loc[train, "class"])

    folder = tmp_path_factory.mktemp("german")
    table.to_csv(folder / "german.csv", header=False, index=False)
    joblib.dump(model, folder / "model.joblib")
    with tarfile.open(folder / "model.tar.gz", "w:gz") as archive:
        archive.add(folder / "model.joblib", arcname="model.joblib")
    return table, features, model, folder


@pytest.fixture(scope="module")
def registered(server, role, german):
    """The model in S3 and registered as a SageMaker model, as a user does it with the SDK."""
    _, _, _, folder = german
    answer = sdk_answer(run_sdk(server, f"""
        import json
        import sagemaker
        from sagemaker import image_uris
        from sagemaker.model import Model

        session = sagemaker.Session()
        data = session.upload_data("{folder / 'model.tar.gz'}", key_prefix="clarify/german/model")
        image = image_uris.retrieve("sklearn", session.boto_region_name, version="1.2-1")
        Model(image_uri=image, model_data=data, role="{role}", name="{MODEL}",
              sagemaker_session=session).create(instance_type="ml.m5.large")
        described = session.sagemaker_client.describe_model(ModelName="{MODEL}")
        print(json.dumps(described["PrimaryContainer"]))
    """))
    assert answer["ModelDataUrl"] == f"s3://{BUCKET}/clarify/german/model/model.tar.gz"
    assert "sagemaker-scikit-learn:1.2-1" in answer["Image"]
    return answer


def _setup(role: str, german, output: str) -> str:
    """The first lines of every Clarify script: session, processor, data and model configs."""
    table, _, _, folder = german
    return f"""
        import json
        import sagemaker
        from sagemaker import clarify

        session = sagemaker.Session()
        data = session.upload_data("{folder / 'german.csv'}", key_prefix="clarify/german/data")
        processor = clarify.SageMakerClarifyProcessor(
            role="{role}", instance_count=1, instance_type="ml.m5.large", sagemaker_session=session)
        data_config = clarify.DataConfig(
            s3_data_input_path=data, s3_output_path="s3://{BUCKET}/clarify/german/{output}",
            label="class", headers={list(table.columns)!r}, dataset_type="text/csv")
        model_config = clarify.ModelConfig(
            model_name="{MODEL}", instance_type="ml.m5.large", instance_count=1,
            accept_type="text/csv", content_type="text/csv")
    """


def _object(server, key: str) -> bytes:
    return server.client(service="s3").get_object(Bucket=BUCKET, Key=key)["Body"].read()


def _metrics(section: dict, facet: str) -> dict[str, float]:
    (group,) = section["facets"][facet]
    return {m["name"]: m["value"] for m in group["metrics"]}


def test_run_bias_pre_and_post_training_with_a_sagemaker_model(server, role, german, registered):
    table, features, model, _ = german
    answer = sdk_answer(run_sdk(server, _setup(role, german, "bias") + """
        bias_config = clarify.BiasConfig(
            label_values_or_threshold=[1], facet_name=["sex", "age"], facet_values_or_threshold=[["female"], [25]])
        processor.run_bias(
            data_config, bias_config, model_config=model_config,
            model_predicted_label_config=clarify.ModelPredictedLabelConfig(probability_threshold=0.5),
            pre_training_methods="all", post_training_methods="all", logs=False)
        job = processor.latest_job.describe()
        print(json.dumps({"status": job["ProcessingJobStatus"], "name": job["ProcessingJobName"],
                          "outputs": [o["S3Output"]["S3Uri"] for o in job["ProcessingOutputConfig"]["Outputs"]]}))
    """))
    assert answer["status"] == "Completed", answer
    assert answer["name"].startswith("Clarify-Bias")
    assert answer["outputs"] == [f"s3://{BUCKET}/clarify/german/bias"]
    # The job described the model and fetched its artifact; its log and its report say which.
    (messages,) = log_messages(server, "/aws/sagemaker/ProcessingJobs", answer["name"]).values()
    assert any(f"Pipeline classifier from SageMaker model '{MODEL}' ({registered['ModelDataUrl']})" in m
               for m in messages), messages

    analysis = json.loads(_object(server, "clarify/german/bias/analysis.json"))
    label = table["class"].to_numpy()
    good = label == 1
    female = (table["sex"] == "female").to_numpy()
    older = (table["age"] > 25).to_numpy()

    pre = analysis["pre_training_bias_metrics"]
    assert pre["label"] == "class" and set(pre["facets"]) == {"sex", "age"}
    sex = _metrics(pre, "sex")
    # Class imbalance and the difference in positive proportions of labels, from the table itself.
    assert sex["CI"] == pytest.approx((np.sum(~female) - np.sum(female)) / len(table))
    assert sex["DPL"] == pytest.approx(good[~female].mean() - good[female].mean())
    age = _metrics(pre, "age")
    assert age["CI"] == pytest.approx((np.sum(~older) - np.sum(older)) / len(table))  # the facet is age > 25
    assert age["DPL"] == pytest.approx(good[~older].mean() - good[older].mean())
    assert age["DPL"] < 0  # applicants over 25 are more often good risks (German credit's known age bias)

    # Post-training: the model's predicted labels (class 1 when its probability exceeds 0.5).
    probability = model.predict_proba(table[features])[:, list(model.classes_).index(1)]
    predicted_good = probability > 0.5
    post = analysis["post_training_bias_metrics"]
    assert set(post["facets"]) == {"sex", "age"}
    for facet, group in (("sex", female), ("age", older)):
        values = _metrics(post, facet)
        assert values["DPPL"] == pytest.approx(predicted_good[~group].mean() - predicted_good[group].mean())
        assert values["DI"] == pytest.approx(predicted_good[group].mean() / predicted_good[~group].mean())
        assert 0 < values["DI"] < 2
    assert 0.6 < predicted_good.mean() < 0.95  # the model is not trivial and not all-bad

    html = _object(server, "clarify/german/bias/report.html").decode()
    assert "<svg" in html and "Facet sex" in html and f"SageMaker model &#39;{MODEL}&#39;" in html
    assert _object(server, "clarify/german/bias/report.pdf").startswith(b"%PDF-")


def test_run_explainability_with_kernel_shap(server, role, german, registered):
    table, features, model, _ = german
    answer = sdk_answer(run_sdk(server, _setup(role, german, "shap") + """
        shap_config = clarify.SHAPConfig(num_samples=64, num_clusters=1, agg_method="mean_abs",
                                         save_local_shap_values=True, seed=3)
        processor.run_explainability(data_config, model_config, shap_config, logs=False)
        job = processor.latest_job.describe()
        print(json.dumps({"status": job["ProcessingJobStatus"], "name": job["ProcessingJobName"]}))
    """))
    assert answer["status"] == "Completed", answer
    assert answer["name"].startswith("Clarify-Explainability")

    analysis = json.loads(_object(server, "clarify/german/shap/analysis.json"))
    shap = analysis["explanations"]["kernel_shap"]
    (output,) = shap
    values = shap[output]["global_shap_values"]
    assert list(values) == features
    assert all(v >= 0 for v in values.values()) and sum(values.values()) > 0.05
    top = max(values, key=values.get)
    assert top in ("checking_status", "duration", "credit_history", "credit_amount", "savings", "purpose")

    local = pd.read_csv(io.BytesIO(_object(server, "clarify/german/shap/explanations_shap/out.csv")))
    assert list(local.columns) == features and len(local) == len(table)
    # With no label value configured, what is explained is the probability of classes_[1] (2: a bad risk).
    probability = model.predict_proba(table[features])[:, 1]
    # Kernel SHAP's efficiency: the local values add up to each prediction from the expected value.
    np.testing.assert_allclose(local.sum(axis=1) + shap[output]["expected_value"], probability, atol=1e-6)
    assert _object(server, "clarify/german/shap/report.pdf").startswith(b"%PDF-")


def test_a_model_the_job_cannot_get_fails_it_saying_why(server, role, german, registered):
    """A model that does not exist, and a role that may not describe models: each job fails with the reason."""
    s3_only = execution_role(server)  # allowed S3, not sagemaker:DescribeModel
    result = run_sdk(server, _setup(role, german, "missing") + f"""
        from sagemaker.exceptions import UnexpectedStatusException
        shap_config = clarify.SHAPConfig(num_samples=8, num_clusters=1)
        missing = clarify.ModelConfig(model_name="no-such-model", instance_type="ml.m5.large", instance_count=1)
        processor.run_explainability(data_config, missing, shap_config, wait=False, logs=False)
        jobs = [processor.latest_job]
        denied = clarify.SageMakerClarifyProcessor(
            role="{s3_only}", instance_count=1, instance_type="ml.m5.large", sagemaker_session=session)
        denied.run_explainability(data_config, model_config, shap_config, wait=False, logs=False)
        jobs.append(denied.latest_job)
        described = []
        for job in jobs:
            try:
                job.wait(logs=False)
            except UnexpectedStatusException:
                pass
            described.append(job.describe())
        print(json.dumps([{{"status": d["ProcessingJobStatus"], "exit": d.get("ExitMessage", "")}} for d in described]))
    """)
    answer = sdk_answer(result)
    missing, denied = answer
    assert missing["status"] == denied["status"] == "Failed"
    assert missing["exit"].startswith("ClientError: model: predictor.model_name 'no-such-model': there is no such model")
    assert 'Could not find model "arn:aws:sagemaker:us-east-1:123456789012:model/no-such-model"' in missing["exit"]
    assert f"predictor.model_name '{MODEL}': the job's role may not call sagemaker:DescribeModel" in denied["exit"]
