"""An image Charter has not built in runs under the machine's container engine.

No Docker daemon runs on the test machines, so the engine here is a stand-in
``docker`` on the server's PATH that answers ``docker info`` and, for ``docker
run``, does what the image would: it prints the command line it was given and
the job variables it received, then writes a model file into the tree mounted
at /opt/ml.  What is tested is Charter's side: that it chose the engine, the
command it built (the tree bound at /opt/ml, the host name, the environment
passed by name, ``--network none`` for isolation, ``train``) and that the
job's outputs are collected as for any other image.
"""

from __future__ import annotations

import io
import os
import stat
import tarfile

import pytest

from conftest import start_server, stop_server
from jobs_support import execution_role, log_messages, wait_for

FAKE_DOCKER = """#!/bin/sh
if [ "$1" = info ]; then exit 0; fi
echo "docker $*"
echo "job $TRAINING_JOB_NAME"
mount=""
previous=""
for arg in "$@"; do
    if [ "$previous" = "-v" ]; then mount="${arg%%:/opt/ml}"; fi
    previous="$arg"
done
mkdir -p "$mount/model"
echo "built by the image" > "$mount/model/weights.txt"
"""
IMAGE = "111122223333.dkr.ecr.eu-west-1.amazonaws.com/team/custom-trainer:3"


@pytest.fixture(scope="module")
def server(tmp_path_factory, database_url_factory):
    bin_dir = tmp_path_factory.mktemp("fake-bin")
    docker = bin_dir / "docker"
    docker.write_text(FAKE_DOCKER)
    docker.chmod(docker.stat().st_mode | stat.S_IEXEC)
    made = start_server(tmp_path_factory.mktemp("engine-home"), database_url_factory(),
                        {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"})
    made.client(service="s3").create_bucket(Bucket="jobs")
    yield made
    stop_server(made)


def test_an_unknown_image_runs_under_the_container_engine(server):
    sm = server.client()
    role = execution_role(server)
    sm.create_training_job(
        TrainingJobName="custom", RoleArn=role,
        AlgorithmSpecification={"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        OutputDataConfig={"S3OutputPath": "s3://jobs/output"},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 5},
        StoppingCondition={"MaxRuntimeInSeconds": 120}, EnableNetworkIsolation=True,
        Environment={"MODE": "fast"},
    )
    job = wait_for(lambda: sm.describe_training_job(TrainingJobName="custom"), "TrainingJobStatus")
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    (lines,) = log_messages(server, "/aws/sagemaker/TrainingJobs", "custom/").values()
    command = lines[0].split()
    assert command[:5] == ["docker", "run", "--rm", "--hostname", "algo-1"]
    assert command[5] == "-v" and command[6].endswith("/algo-1/opt/ml:/opt/ml")
    passed = {command[i + 1] for i, part in enumerate(command) if part == "-e"}
    assert {"MODE", "TRAINING_JOB_NAME", "TRAINING_JOB_ARN"} <= passed
    assert "AWS_ACCESS_KEY_ID" not in passed  # isolated: no credentials
    assert command[-4:] == ["--network", "none", IMAGE, "train"]
    assert lines[1] == "job custom"
    body = server.client(service="s3").get_object(Bucket="jobs", Key="output/custom/output/model.tar.gz")["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body)) as archive:
        assert archive.extractfile("weights.txt").read() == b"built by the image\n"
