"""The unmodified SageMaker Python SDK runs jobs on Charter: ``Estimator.fit()`` and ``Processor.run()``.

Each scenario is a script a data scientist would write, run in a process of its
own with only ``AWS_ENDPOINT_URL``, keys and the SDK config file Charter writes
(real AWS unreachable behind a dead proxy): an SKLearn estimator on Adult with
``logs=True`` (its log streams to the terminal), the built-in XGBoost algorithm
on Adult with validation metrics, and SKLearnProcessor with code.
"""

from __future__ import annotations

import json

import pytest

from charter.datasets import fairness
from conftest import REGION, start_server, stop_server
from jobs_support import execution_role, run_sdk, sdk_answer
from real_data import need

pytest.importorskip("sagemaker", reason="the SageMaker Python SDK is in the test extras: make install")
pytestmark = pytest.mark.once("the SDK's side; the jobs' database paths are tested on both in test_training_jobs.py "
                              "and test_processing_jobs.py")

BUCKET = f"sagemaker-{REGION}-123456789012"


@pytest.fixture(scope="module")
def server(tmp_path_factory, database_url_factory):
    made = start_server(tmp_path_factory.mktemp("sdk-jobs-home"), database_url_factory(), {"CHARTER_LOCAL_CPUS": "4"})
    yield made
    stop_server(made)


@pytest.fixture(scope="module")
def role(server):
    return execution_role(server)


@pytest.fixture(scope="module")
def adult(tmp_path_factory):
    """Adult as the SageMaker examples prepare it: numeric, label first, no header (what XGBoost reads),
    split into train and validation files."""
    frame = need(fairness.adult, "train", drop_missing=True)
    frame = frame.drop(columns=["fnlwgt", "education"])
    label = (frame.pop("income").str.strip().str.rstrip(".") == ">50K").astype(int)
    import pandas as pd

    numeric = pd.get_dummies(frame, dtype=float)
    numeric.insert(0, "label", label)
    folder = tmp_path_factory.mktemp("adult")
    cut = int(len(numeric) * 0.8)
    numeric.iloc[:cut].to_csv(folder / "train.csv", header=False, index=False)
    numeric.iloc[cut:].to_csv(folder / "validation.csv", header=False, index=False)
    return folder


TRAIN_PY = '''
import argparse, json, os
import joblib
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import accuracy_score

parser = argparse.ArgumentParser()
parser.add_argument("--max-iter", type=int, default=100)
parser.add_argument("--model-dir", default=os.environ["SM_MODEL_DIR"])
parser.add_argument("--train", default=os.environ["SM_CHANNEL_TRAIN"])
parser.add_argument("--validation", default=os.environ["SM_CHANNEL_VALIDATION"])
args = parser.parse_args()

train = pd.read_csv(os.path.join(args.train, "train.csv"), header=None)
validation = pd.read_csv(os.path.join(args.validation, "validation.csv"), header=None)
model = HistGradientBoostingClassifier(max_iter=args.max_iter).fit(train.iloc[:, 1:], train.iloc[:, 0])
accuracy = accuracy_score(validation.iloc[:, 0], model.predict(validation.iloc[:, 1:]))
print(f"hosts={os.environ['SM_HOSTS']} rows={len(train)}")
print(f"validation-accuracy={accuracy:.4f}")
joblib.dump(model, os.path.join(args.model_dir, "model.joblib"))
'''


def test_sklearn_estimator_fit_on_adult_with_logs(server, role, adult, tmp_path):
    source = tmp_path / "source"
    source.mkdir()
    (source / "train.py").write_text(TRAIN_PY)
    result = run_sdk(server, f"""
        import json
        import sagemaker
        from sagemaker.sklearn import SKLearn

        session = sagemaker.Session()
        train = session.upload_data("{adult / 'train.csv'}", key_prefix="adult/train")
        validation = session.upload_data("{adult / 'validation.csv'}", key_prefix="adult/validation")
        estimator = SKLearn(
            entry_point="train.py", source_dir="{source}", framework_version="1.2-1", py_version="py3",
            instance_type="ml.m5.large", instance_count=1, role="{role}", hyperparameters={{"max-iter": 50}},
            metric_definitions=[{{"Name": "validation:accuracy", "Regex": "validation-accuracy=([0-9.]+)"}}],
            base_job_name="sklearn-adult", sagemaker_session=session,
        )
        estimator.fit({{"train": train, "validation": validation}}, logs=True)
        job = estimator.latest_training_job.describe()
        print(json.dumps({{"model": estimator.model_data, "status": job["TrainingJobStatus"],
                          "metrics": job.get("FinalMetricDataList", []), "name": job["TrainingJobName"]}}, default=str))
    """)
    answer = sdk_answer(result)
    assert answer["status"] == "Completed"
    assert answer["model"] == f"s3://{BUCKET}/{answer['name']}/output/model.tar.gz"
    accuracy = answer["metrics"][0]["Value"]
    assert accuracy > 0.84  # gradient boosting on Adult: about 0.86-0.87 (published: 0.85-0.87)
    # logs=True: the SDK printed the secondary statuses and the job's own lines as they came.
    assert "Training - Training image download completed. Training in progress." in result.stdout
    assert f"validation-accuracy={accuracy:.4f}" in result.stdout
    assert "hosts=[\"algo-1\"]" in result.stdout
    assert "Completed - Training job completed" in result.stdout


def test_builtin_xgboost_on_adult_with_validation_metrics(server, role, adult):
    result = run_sdk(server, f"""
        import json
        import sagemaker
        from sagemaker import image_uris
        from sagemaker.estimator import Estimator
        from sagemaker.inputs import TrainingInput

        session = sagemaker.Session()
        train = session.upload_data("{adult / 'train.csv'}", key_prefix="xgb/train")
        validation = session.upload_data("{adult / 'validation.csv'}", key_prefix="xgb/validation")
        image = image_uris.retrieve("xgboost", session.boto_region_name, version="1.7-1")
        estimator = Estimator(image_uri=image, role="{role}", instance_count=1, instance_type="ml.m5.large",
                              sagemaker_session=session, base_job_name="xgb-adult")
        estimator.set_hyperparameters(objective="binary:logistic", num_round=60, max_depth=5, eta=0.2,
                                      eval_metric="auc")
        estimator.fit({{"train": TrainingInput(train, content_type="text/csv"),
                        "validation": TrainingInput(validation, content_type="text/csv")}}, logs=False)
        job = estimator.latest_training_job.describe()
        print(json.dumps({{"image": image, "model": estimator.model_data, "status": job["TrainingJobStatus"],
                          "metrics": {{m["MetricName"]: m["Value"] for m in job.get("FinalMetricDataList", [])}}}},
                         default=str))
    """)
    answer = sdk_answer(result)
    assert answer["status"] == "Completed", answer
    assert answer["image"].endswith(".dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1")
    assert answer["metrics"]["validation:auc"] > 0.9  # published XGBoost AUC on Adult is about 0.92
    assert answer["metrics"]["train:auc"] >= answer["metrics"]["validation:auc"]
    s3 = server.client(service="s3")
    key = answer["model"].split(f"s3://{BUCKET}/", 1)[1]
    import io
    import tarfile

    body = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body)) as archive:
        assert "xgboost-model" in archive.getnames()


PREPROCESS_PY = '''
import os
import pandas as pd
frame = pd.read_csv("/opt/ml/processing/input/adult/train.csv", header=None)
positives = frame[frame[0] == 1]
os.makedirs("/opt/ml/processing/output/positives", exist_ok=True)
positives.to_csv("/opt/ml/processing/output/positives/positives.csv", header=False, index=False)
print(f"kept {len(positives)} of {len(frame)} rows")
'''


def test_sklearn_processor_runs_code(server, role, adult, tmp_path):
    code = tmp_path / "preprocess.py"
    code.write_text(PREPROCESS_PY)
    result = run_sdk(server, f"""
        import json
        import sagemaker
        from sagemaker.processing import ProcessingInput, ProcessingOutput
        from sagemaker.sklearn.processing import SKLearnProcessor

        session = sagemaker.Session()
        data = session.upload_data("{adult / 'train.csv'}", key_prefix="processing/adult")
        processor = SKLearnProcessor(framework_version="1.2-1", role="{role}", instance_type="ml.m5.large",
                                     instance_count=1, sagemaker_session=session, base_job_name="keep-positives")
        processor.run(code="{code}",
                      inputs=[ProcessingInput(source=data, destination="/opt/ml/processing/input/adult")],
                      outputs=[ProcessingOutput(source="/opt/ml/processing/output/positives",
                                                destination="s3://{BUCKET}/processing/positives")],
                      logs=True)
        job = processor.latest_job.describe()
        print(json.dumps({{"status": job["ProcessingJobStatus"], "name": job["ProcessingJobName"]}}))
    """)
    answer = sdk_answer(result)
    assert answer["status"] == "Completed"
    assert "kept " in result.stdout  # the job's log, streamed by the SDK
    s3 = server.client(service="s3")
    body = s3.get_object(Bucket=BUCKET, Key="processing/positives/positives.csv")["Body"].read().decode()
    rows = body.splitlines()
    assert rows and all(row.startswith("1,") for row in rows)


def test_deepar_on_m4_hourly_from_the_sdks_image_uri(server, role, tmp_path):
    from charter.datasets import m4

    data = need(m4.hourly).subset(range(0, 414, 14))  # 30 of the 414 series, spread over the file
    horizon = 48
    with open(tmp_path / "train.json", "w") as train, open(tmp_path / "test.json", "w") as test:
        for start, history, future in zip(data.starts, data.train, data.test):
            stamp = start.strftime("%Y-%m-%d %H:%M:%S")
            train.write(json.dumps({"start": stamp, "target": [float(v) for v in history[-24 * 21:]]}) + "\n")
            full = list(history[-24 * 21:]) + list(future[:horizon])
            test.write(json.dumps({"start": stamp, "target": [float(v) for v in full]}) + "\n")
    result = run_sdk(server, f"""
        import json
        import sagemaker
        from sagemaker import image_uris
        from sagemaker.estimator import Estimator

        session = sagemaker.Session()
        train = session.upload_data("{tmp_path / 'train.json'}", key_prefix="deepar/train")
        test = session.upload_data("{tmp_path / 'test.json'}", key_prefix="deepar/test")
        image = image_uris.retrieve("forecasting-deepar", session.boto_region_name)
        estimator = Estimator(image_uri=image, role="{role}", instance_count=1, instance_type="ml.c5.xlarge",
                              sagemaker_session=session, base_job_name="deepar-m4")
        estimator.set_hyperparameters(time_freq="H", prediction_length={horizon}, context_length=72, epochs=4,
                                      num_cells=20, num_layers=1, mini_batch_size=32, num_eval_samples=20)
        estimator.fit({{"train": train, "test": test}}, logs=False)
        job = estimator.latest_training_job.describe()
        print(json.dumps({{"image": image, "model": estimator.model_data, "status": job["TrainingJobStatus"],
                          "failure": job.get("FailureReason"),
                          "metrics": {{m["MetricName"]: m["Value"] for m in job.get("FinalMetricDataList", [])}}}},
                         default=str))
    """)
    answer = sdk_answer(result)
    assert answer["status"] == "Completed", answer["failure"]
    assert "forecasting-deepar" in answer["image"]
    metrics = answer["metrics"]
    assert {"test:RMSE", "test:mean_wQuantileLoss", "train:final_loss"} <= set(metrics)
    assert 0 < metrics["test:mean_wQuantileLoss"] < 1  # a few epochs: well short of the M4 test's 80
    assert answer["model"].endswith("/output/model.tar.gz")


def test_default_model_monitor_suggests_a_baseline_on_adult(server, role, tmp_path):
    frame = need(fairness.adult, "train", drop_missing=True).head(5000)
    frame.to_csv(tmp_path / "adult.csv", index=False)
    result = run_sdk(server, f"""
        import json
        import sagemaker
        from sagemaker.model_monitor import DefaultModelMonitor
        from sagemaker.model_monitor.dataset_format import DatasetFormat

        session = sagemaker.Session()
        data = session.upload_data("{tmp_path / 'adult.csv'}", key_prefix="monitor/baseline-data")
        monitor = DefaultModelMonitor(role="{role}", instance_count=1, instance_type="ml.m5.xlarge",
                                      sagemaker_session=session, base_job_name="adult-baseline")
        monitor.suggest_baseline(baseline_dataset=data, dataset_format=DatasetFormat.csv(header=True),
                                 output_s3_uri="s3://{BUCKET}/monitor/baseline", wait=True, logs=False)
        job = monitor.latest_baselining_job.describe()
        constraints = monitor.suggested_constraints().body_dict
        statistics = monitor.baseline_statistics().body_dict
        print(json.dumps({{"status": job["ProcessingJobStatus"], "constraints": constraints,
                          "statistics": statistics}}, default=str))
    """)
    answer = sdk_answer(result)
    assert answer["status"] == "Completed"
    features = {f["name"]: f for f in answer["statistics"]["features"]}
    assert features["age"]["inferred_type"] == "Integral"
    assert features["age"]["numerical_statistics"]["min"] == 17
    assert answer["statistics"]["dataset"]["item_count"] == 5000
    assert {c["name"] for c in answer["constraints"]["features"]} >= {"age", "income", "sex"}
