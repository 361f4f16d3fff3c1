"""Demo step ``jobs``: a training job on the built-in XGBoost algorithm, as a data scientist starts one.

The German credit table's numeric coding (``german.data-numeric``: 24 attributes and the
class, 1 good and 2 bad) goes to ``s3://charter-demo/jobs/credit-risk/`` as SageMaker's
XGBoost reads CSV (label first, no header): 800 applicants to train on and 200 to
validate with.  Then ``demo-data-scientist`` calls CreateTrainingJob with the XGBoost
image URI ``sagemaker.image_uris.retrieve("xgboost", region, "1.7-1")`` gives and the
demo's execution role, exactly as the SDK's ``Estimator.fit()`` would; the job engine runs
it as soon as the server is up, so ``charter jobs list`` (or ``aws sagemaker
list-training-jobs``) shows it completed a few seconds later, with its validation AUC in
``FinalMetricDataList`` and its model in ``s3://charter-demo/jobs/output/``.
"""

from __future__ import annotations

from . import Step, Workspace, user_name
from .users import EXECUTION_ROLE

JOB_NAME = "credit-risk-xgboost"
XGBOOST_IMAGE = "683313688378.dkr.ecr.{region}.amazonaws.com/sagemaker-xgboost:1.7-1"


def _csv(rows: list[list[str]]) -> str:
    return "".join(",".join(row) + "\n" for row in rows)


def run(workspace: Workspace) -> None:
    from .. import arns
    from ..datasets import DataUnavailable, data_file

    try:
        lines = data_file("german", "german.data-numeric").read_text().splitlines()
    except DataUnavailable as missing:
        workspace.notes.append(f"no training job in the demo: {missing}")
        return
    rows = []
    for line in lines:
        values = line.split()
        if values:
            rows.append(["1" if values[-1] == "1" else "0", *values[:-1]])  # 1: good credit
    train, validation = rows[:800], rows[800:]
    workspace.write(workspace.uri("jobs", "credit-risk", "train", "train.csv"), _csv(train))
    workspace.write(workspace.uri("jobs", "credit-risk", "validation", "validation.csv"), _csv(validation))

    def channel(name: str) -> dict:
        return {"ChannelName": name, "ContentType": "text/csv", "DataSource": {"S3DataSource": {
            "S3DataType": "S3Prefix", "S3Uri": workspace.uri("jobs", "credit-risk", name) + "/",
            "S3DataDistributionType": "FullyReplicated"}}}

    workspace.client("data-scientist").call("CreateTrainingJob", {
        "TrainingJobName": JOB_NAME,
        "RoleArn": arns.iam_arn(workspace.account, "role", EXECUTION_ROLE),
        "AlgorithmSpecification": {"TrainingImage": XGBOOST_IMAGE.format(region=workspace.region),
                                   "TrainingInputMode": "File"},
        "HyperParameters": {"objective": "binary:logistic", "num_round": "50", "max_depth": "4", "eta": "0.2",
                            "eval_metric": "auc"},
        "InputDataConfig": [channel("train"), channel("validation")],
        "OutputDataConfig": {"S3OutputPath": workspace.uri("jobs", "output")},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 5},
        "StoppingCondition": {"MaxRuntimeInSeconds": 600},
        "Tags": [{"Key": "charter:demo", "Value": "true"}],
    })
    workspace.made.append(
        f"training job {JOB_NAME} (built-in XGBoost on German credit, started by {user_name('data-scientist')}): "
        f"`charter jobs describe {JOB_NAME}` once it completes"
    )


STEP = Step("jobs", "a built-in XGBoost training job on German credit", run)
