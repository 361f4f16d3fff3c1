"""Processing jobs through boto3, run for real: inputs staged at their LocalPath, outputs uploaded,
hosts algo-1..N that resolve each other, sharded inputs, the exit message, Stop."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from conftest import start_server, stop_server
from jobs_support import SKLEARN_IMAGE, execution_role, log_messages, upload_script, wait_for

GROUP = "/aws/sagemaker/ProcessingJobs"


@pytest.fixture(scope="module")
def server(tmp_path_factory, database_url_factory):
    made = start_server(tmp_path_factory.mktemp("processing-home"), database_url_factory(),
                        {"CHARTER_LOCAL_CPUS": "4"})
    made.client(service="s3").create_bucket(Bucket="jobs")
    yield made
    stop_server(made)


@pytest.fixture(scope="module")
def role(server):
    return execution_role(server)


def processing_request(server, name, role, script, *, inputs=(), outputs=(), count=1, **extra):
    code = {"InputName": "code", "S3Input": {
        "S3Uri": upload_script(server, name, script), "LocalPath": "/opt/ml/processing/input/code",
        "S3DataType": "S3Prefix", "S3InputMode": "File"}}
    request = {
        "ProcessingJobName": name,
        "RoleArn": role,
        "AppSpecification": {"ImageUri": SKLEARN_IMAGE,
                             "ContainerEntrypoint": ["python3", "/opt/ml/processing/input/code/script.py"]},
        "ProcessingResources": {"ClusterConfig": {"InstanceCount": count, "InstanceType": "ml.t3.medium",
                                                  "VolumeSizeInGB": 5}},
        "ProcessingInputs": [code, *inputs],
        "StoppingCondition": {"MaxRuntimeInSeconds": 300},
    }
    if outputs:
        request["ProcessingOutputConfig"] = {"Outputs": list(outputs)}
    request.update(extra)
    return request


def describe(sm, name):
    return lambda: sm.describe_processing_job(ProcessingJobName=name)


def test_inputs_in_outputs_out_and_the_exit_message(server, role):
    sm, s3 = server.client(), server.client(service="s3")
    for i in range(4):
        s3.put_object(Bucket="jobs", Key=f"raw/part-{i}.csv", Body=f"{i},{i * i}\n".encode())
    script = "\n".join([
        "import json, os, socket",
        "config = json.load(open('/opt/ml/config/processingjobconfig.json'))",
        "resources = json.load(open('/opt/ml/config/resourceconfig.json'))",
        "me = resources['current_host']",
        "names = sorted(os.listdir('/opt/ml/processing/input/raw'))",
        "print(me, 'got', names, 'of', config['ProcessingJobName'], flush=True)",
        "peers = {h: socket.gethostbyname(h) for h in resources['hosts']}",
        "print(me, 'resolves', sorted(peers), flush=True)",
        "os.makedirs('/opt/ml/processing/output/rows', exist_ok=True)",
        "with open(f'/opt/ml/processing/output/rows/{me}.txt', 'w') as out:",
        "    for name in names:",
        "        out.write(open(os.path.join('/opt/ml/processing/input/raw', name)).read())",
        "open('/opt/ml/output/message', 'w').write(f'{me} processed {len(names)} files')",
    ])
    raw = {"InputName": "raw", "S3Input": {"S3Uri": "s3://jobs/raw/", "LocalPath": "/opt/ml/processing/input/raw",
                                            "S3DataType": "S3Prefix", "S3InputMode": "File",
                                            "S3DataDistributionType": "ShardedByS3Key"}}
    rows = {"OutputName": "rows", "S3Output": {"S3Uri": "s3://jobs/processed", "LocalPath": "/opt/ml/processing/output",
                                               "S3UploadMode": "EndOfJob"}}
    arn = sm.create_processing_job(**processing_request(server, "shards", role, script, inputs=[raw], outputs=[rows],
                                                        count=2))["ProcessingJobArn"]
    assert arn.endswith(":processing-job/shards")
    job = wait_for(describe(sm, "shards"), "ProcessingJobStatus")
    assert job["ProcessingJobStatus"] == "Completed", job.get("FailureReason")
    assert job["ExitMessage"] == "algo-1 processed 2 filesalgo-2 processed 2 files"
    assert job["ProcessingStartTime"] <= job["ProcessingEndTime"]
    assert "_Job" not in job
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="jobs", Prefix="processed/")["Contents"])
    assert keys == ["processed/rows/algo-1.txt", "processed/rows/algo-2.txt"]
    one = s3.get_object(Bucket="jobs", Key="processed/rows/algo-1.txt")["Body"].read()
    two = s3.get_object(Bucket="jobs", Key="processed/rows/algo-2.txt")["Body"].read()
    assert sorted((one + two).decode().splitlines()) == ["0,0", "1,1", "2,4", "3,9"]
    streams = log_messages(server, GROUP, "shards/")
    assert sorted(name.rsplit("-", 1)[0] for name in streams) == ["shards/algo-1", "shards/algo-2"]
    for name, lines in streams.items():
        host = name.split("/")[1].rsplit("-", 1)[0]
        assert lines[0].startswith(f"{host} got ['part-")
        assert lines[1] == f"{host} resolves ['algo-1', 'algo-2']"
    summaries = sm.list_processing_jobs(StatusEquals="Completed")["ProcessingJobSummaries"]
    assert "shards" in [s["ProcessingJobName"] for s in summaries]
    sm.get_waiter("processing_job_completed_or_stopped").wait(ProcessingJobName="shards")


def test_a_failing_script_fails_the_job_and_uploads_nothing(server, role):
    sm, s3 = server.client(), server.client(service="s3")
    script = ("import os, sys; os.makedirs('/opt/ml/processing/output', exist_ok=True); "
              "open('/opt/ml/processing/output/partial.txt', 'w').write('x'); "
              "open('/opt/ml/output/message', 'w').write('bad row 7'); sys.exit(2)")
    out = {"OutputName": "out", "S3Output": {"S3Uri": "s3://jobs/never", "LocalPath": "/opt/ml/processing/output",
                                             "S3UploadMode": "EndOfJob"}}
    sm.create_processing_job(**processing_request(server, "broken", role, script, outputs=[out]))
    job = wait_for(describe(sm, "broken"), "ProcessingJobStatus")
    assert job["ProcessingJobStatus"] == "Failed"
    assert job["ExitMessage"] == "bad row 7"
    assert job["FailureReason"] == "bad row 7"
    assert s3.list_objects_v2(Bucket="jobs", Prefix="never/")["KeyCount"] == 0


def test_stop_a_processing_job(server, role):
    sm = server.client()
    script = "import time; print('working', flush=True); time.sleep(120)"
    sm.create_processing_job(**processing_request(server, "halt", role, script))
    import time

    deadline = time.time() + 30
    while not any("working" in lines for lines in log_messages(server, GROUP, "halt/").values()):
        assert time.time() < deadline
        time.sleep(0.2)
    sm.stop_processing_job(ProcessingJobName="halt")
    job = wait_for(describe(sm, "halt"), "ProcessingJobStatus")
    assert job["ProcessingJobStatus"] == "Stopped"


def test_create_refuses_paths_outside_processing(server, role):
    sm = server.client()
    bad = {"InputName": "raw", "S3Input": {"S3Uri": "s3://jobs/raw/", "LocalPath": "/etc/raw",
                                            "S3DataType": "S3Prefix", "S3InputMode": "File"}}
    with pytest.raises(ClientError, match="must be a path under /opt/ml/processing/"):
        sm.create_processing_job(**processing_request(server, "bad-path", role, "print(1)", inputs=[bad]))
    same = {"InputName": "code", "S3Input": {"S3Uri": "s3://jobs/raw/", "LocalPath": "/opt/ml/processing/x",
                                              "S3DataType": "S3Prefix", "S3InputMode": "File"}}
    with pytest.raises(ClientError, match="used more than once"):
        sm.create_processing_job(**processing_request(server, "dup", role, "print(1)", inputs=[same]))


def test_continuous_outputs_are_uploaded_while_the_job_runs(server, role):
    import time

    sm, s3 = server.client(), server.client(service="s3")
    script = ("import os, time; os.makedirs('/opt/ml/processing/output/live', exist_ok=True); "
              "open('/opt/ml/processing/output/live/early.txt', 'w').write('early'); print('written', flush=True); "
              "time.sleep(8); open('/opt/ml/processing/output/live/late.txt', 'w').write('late')")
    live = {"OutputName": "live", "S3Output": {"S3Uri": "s3://jobs/live", "LocalPath": "/opt/ml/processing/output",
                                               "S3UploadMode": "Continuous"}}
    sm.create_processing_job(**processing_request(server, "continuous", role, script, outputs=[live]))
    deadline = time.time() + 30
    while s3.list_objects_v2(Bucket="jobs", Prefix="live/")["KeyCount"] == 0:
        assert time.time() < deadline, "the early file was never uploaded"
        time.sleep(0.2)
    assert sm.describe_processing_job(ProcessingJobName="continuous")["ProcessingJobStatus"] == "InProgress"
    job = wait_for(describe(sm, "continuous"), "ProcessingJobStatus")
    assert job["ProcessingJobStatus"] == "Completed"
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="jobs", Prefix="live/")["Contents"])
    assert keys == ["live/live/early.txt", "live/live/late.txt"]
