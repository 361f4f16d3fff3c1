"""What the job tests share: a server of their own, a SageMaker execution role, waiting for a job."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time

from conftest import ADMIN_KEY, ADMIN_SECRET, REGION

SKLEARN_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}
S3_ACCESS = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
TERMINAL = ("Completed", "Failed", "Stopped")


def execution_role(server, name: str = "SageMakerExecution") -> str:
    """A role SageMaker may assume, allowed everything in S3 (what the SDK's examples give their jobs)."""
    iam = server.client(service="iam")
    try:
        arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
    except iam.exceptions.EntityAlreadyExistsException:
        return iam.get_role(RoleName=name)["Role"]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName="s3", PolicyDocument=json.dumps(S3_ACCESS))
    return arn


def wait_for(describe, status_key: str, timeout: float = 120, *, until=TERMINAL) -> dict:
    deadline = time.time() + timeout
    while True:
        job = describe()
        if job[status_key] in until:
            return job
        if time.time() > deadline:
            raise AssertionError(f"the job is still {job[status_key]} after {timeout} s: {job}")
        time.sleep(0.25)


def upload_script(server, name: str, script: str, bucket: str = "jobs") -> str:
    """Put ``script`` in S3 as ``code/<name>/script.py``; the prefix to give as a ``code`` channel."""
    server.client(service="s3").put_object(Bucket=bucket, Key=f"code/{name}/script.py", Body=script.encode())
    return f"s3://{bucket}/code/{name}/"


def training_request(server, name: str, role: str, script: str, *, image: str = SKLEARN_IMAGE, channels=None,
                     output: str = "s3://jobs/output", instance_type: str = "ml.m5.large", **extra) -> dict:
    """A CreateTrainingJob request whose container runs the Python ``script``, given as a ``code`` channel
    (ContainerEntrypoint members are at most 256 characters, so a script goes as data, as the SDK sends it)."""
    code = {"ChannelName": "code",
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": upload_script(server, name, script)}}}
    request = {
        "TrainingJobName": name,
        "RoleArn": role,
        "AlgorithmSpecification": {"TrainingImage": image, "TrainingInputMode": "File",
                                   "ContainerEntrypoint": ["python3", "/opt/ml/input/data/code/script.py"]},
        "InputDataConfig": [code],
        "OutputDataConfig": {"S3OutputPath": output},
        "ResourceConfig": {"InstanceType": instance_type, "InstanceCount": 1, "VolumeSizeInGB": 5},
        "StoppingCondition": {"MaxRuntimeInSeconds": 300},
    }
    if channels:
        request["InputDataConfig"] += channels
    for key, value in extra.items():
        if key in ("MetricDefinitions",):
            request["AlgorithmSpecification"][key] = value
        else:
            request[key] = value
    return request


def log_messages(server, group: str, prefix: str) -> dict[str, list[str]]:
    """Every message of the streams of ``group`` whose names start with ``prefix``, by stream."""
    logs = server.client(service="logs")
    try:
        streams = logs.describe_log_streams(logGroupName=group, logStreamNamePrefix=prefix)["logStreams"]
    except logs.exceptions.ResourceNotFoundException:
        return {}  # no job has written a line yet
    found = {}
    for stream in streams:
        name = stream["logStreamName"]
        messages, token = [], None
        while True:
            kwargs = {"nextToken": token} if token else {"startFromHead": True}
            page = logs.get_log_events(logGroupName=group, logStreamName=name, **kwargs)
            messages += [e["message"] for e in page["events"]]
            if page["nextForwardToken"] == token:
                break
            token = page["nextForwardToken"]
        found[name] = messages
    return found


def run_sdk(server, script: str, timeout: int = 420) -> subprocess.CompletedProcess:
    """Run an SDK ``script`` as a data scientist's process would: only AWS_ENDPOINT_URL, the admin's keys and
    the SDK config file Charter writes, real AWS unreachable behind a dead proxy.  Fails the test on a non-zero exit."""
    env = {key: value for key, value in server.env.items() if not key.startswith(("AWS_", "CHARTER_"))}
    env.update(
        AWS_ENDPOINT_URL=server.endpoint,
        AWS_ACCESS_KEY_ID=ADMIN_KEY,
        AWS_SECRET_ACCESS_KEY=ADMIN_SECRET,
        AWS_DEFAULT_REGION=REGION,
        SAGEMAKER_USER_CONFIG_OVERRIDE=str(server.home / "sagemaker-config.yaml"),
        HTTPS_PROXY="http://127.0.0.1:9",
        NO_PROXY="127.0.0.1,localhost",
    )
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], env=env, capture_output=True, text=True,
                            timeout=timeout)
    assert result.returncode == 0, f"{result.stdout[-6000:]}\n{result.stderr[-6000:]}"
    return result


def sdk_answer(result) -> dict:
    """The JSON document an SDK script printed last (after the dots and "!" the SDK prints while it waits)."""
    last = result.stdout.strip().splitlines()[-1]
    return json.loads(last.lstrip(".!*"))
