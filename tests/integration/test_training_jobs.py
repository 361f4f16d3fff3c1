"""Training jobs through boto3, run for real by the job engine on the LocalExecutor.

Each test creates a job the way a data scientist's code does and reads back
what SageMaker would give: Describe's statuses and transitions, the log in
CloudWatch Logs, metrics, the model artifact in S3, the events, the errors.
"""

from __future__ import annotations

import io
import json
import tarfile
import time

import pytest
from botocore.exceptions import ClientError

from conftest import start_server, stop_server
from jobs_support import execution_role, log_messages, training_request, wait_for

GROUP = "/aws/sagemaker/TrainingJobs"


@pytest.fixture(scope="module")
def server(tmp_path_factory, database_url_factory):
    # 4 CPUs declared on a 2-core CI machine so that two small jobs run side by side; 1 GiB of
    # memory so that a job over its instance's memory is quick to provoke.
    made = start_server(tmp_path_factory.mktemp("training-home"), database_url_factory(),
                        {"CHARTER_LOCAL_CPUS": "4", "CHARTER_LOCAL_MEMORY_MIB": "1024"})
    made.client(service="s3").create_bucket(Bucket="jobs")
    yield made
    stop_server(made)


@pytest.fixture(scope="module")
def role(server):
    return execution_role(server)


def describe(sm, name):
    return lambda: sm.describe_training_job(TrainingJobName=name)


def test_a_job_runs_logs_reports_metrics_and_uploads_its_model(server, role):
    sm, s3 = server.client(), server.client(service="s3")
    s3.put_object(Bucket="jobs", Key="data/train/part-1.csv", Body=b"1,2\n")
    s3.put_object(Bucket="jobs", Key="data/train/nested/part-2.csv", Body=b"3,4\n")
    script = "\n".join([
        "import json, os",
        "hp = json.load(open('/opt/ml/input/config/hyperparameters.json'))",
        "rc = json.load(open('/opt/ml/input/config/resourceconfig.json'))",
        "files = sorted(os.path.relpath(os.path.join(d, f), '/opt/ml/input/data/train')",
        "               for d, _, fs in os.walk('/opt/ml/input/data/train') for f in fs)",
        "print('files', files, 'host', rc['current_host'], 'epochs', hp['epochs'], flush=True)",
        "for epoch in range(3):",
        "    print(f'epoch={epoch}\\ttrain_loss={1.0 / (epoch + 1):.3f}', flush=True)",
        "open('/opt/ml/model/model.txt', 'w').write('weights')",
        "os.makedirs('/opt/ml/output/data', exist_ok=True)",
        "open('/opt/ml/output/data/report.txt', 'w').write('done')",
        "import boto3; print('buckets', [b['Name'] for b in boto3.client('s3').list_buckets()['Buckets']])",
    ])
    request = training_request(
        server, "basic", role, script,
        channels=[{"ChannelName": "train", "ContentType": "text/csv",
                   "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://jobs/data/train"}}}],
        HyperParameters={"epochs": "3"},
        MetricDefinitions=[{"Name": "train:loss", "Regex": "train_loss=([0-9.]+)"}],
        Tags=[{"Key": "team", "Value": "fraud"}],
    )
    arn = sm.create_training_job(**request)["TrainingJobArn"]
    assert arn == "arn:aws:sagemaker:us-east-1:123456789012:training-job/basic"
    job = wait_for(describe(sm, "basic"), "TrainingJobStatus")
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    assert job["SecondaryStatus"] == "Completed"
    assert [t["Status"] for t in job["SecondaryStatusTransitions"]] == [
        "Starting", "Downloading", "Training", "Uploading", "Completed"]
    assert all("EndTime" in t for t in job["SecondaryStatusTransitions"])
    assert job["TrainingStartTime"] <= job["TrainingEndTime"]
    assert job["BillableTimeInSeconds"] >= 1 and job["TrainingTimeInSeconds"] >= 1
    assert job["FinalMetricDataList"][0]["MetricName"] == "train:loss"
    assert job["FinalMetricDataList"][0]["Value"] == pytest.approx(0.333)
    assert "_Job" not in job and "_Execution" not in job and "_Lease" not in job

    model_uri = job["ModelArtifacts"]["S3ModelArtifacts"]
    assert model_uri == "s3://jobs/output/basic/output/model.tar.gz"
    body = s3.get_object(Bucket="jobs", Key="output/basic/output/model.tar.gz")["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body)) as archive:
        assert archive.extractfile("model.txt").read() == b"weights"
    body = s3.get_object(Bucket="jobs", Key="output/basic/output/output.tar.gz")["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body)) as archive:
        assert archive.extractfile("report.txt").read() == b"done"

    streams = log_messages(server, GROUP, "basic/")
    (stream, lines), = streams.items()
    assert stream.startswith("basic/algo-1-")
    assert lines[0] == "files ['nested/part-2.csv', 'part-1.csv'] host algo-1 epochs 3"
    assert "epoch=2#011train_loss=0.333" in lines  # a tab as SageMaker's log pipeline shows it
    assert "buckets ['jobs']" in lines  # the container acts as its role, through Charter's endpoint

    stats = server.client(service="cloudwatch").get_metric_statistics(
        Namespace=GROUP, MetricName="train:loss", Dimensions=[{"Name": "TrainingJobName", "Value": "basic"}],
        StartTime=job["CreationTime"].timestamp() - 60, EndTime=time.time() + 60, Period=60,
        Statistics=["Minimum", "Maximum", "SampleCount"])
    assert sum(p["SampleCount"] for p in stats["Datapoints"]) == 3
    assert min(p["Minimum"] for p in stats["Datapoints"]) == pytest.approx(0.333)

    assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "fraud"}]
    summaries = sm.list_training_jobs(NameContains="basic", StatusEquals="Completed")["TrainingJobSummaries"]
    assert [s["TrainingJobName"] for s in summaries] == ["basic"]
    assert summaries[0]["SecondaryStatus"] == "Completed"
    assert sm.list_training_jobs(WarmPoolStatusEquals="Available")["TrainingJobSummaries"] == []
    newest = sm.list_training_jobs(SortBy="CreationTime", SortOrder="Descending", MaxResults=1)
    oldest = sm.list_training_jobs(SortBy="Name", SortOrder="Ascending", CreationTimeBefore=job["CreationTime"].timestamp() + 1)
    assert newest["TrainingJobSummaries"][0]["TrainingJobName"] == "basic" and "NextToken" not in oldest
    sm.get_waiter("training_job_completed_or_stopped").wait(TrainingJobName="basic")


def test_the_failure_file_is_the_failure_reason(server, role):
    sm = server.client()
    script = ("import sys; open('/opt/ml/output/failure', 'w').write('ValueError: column x is missing');"
              "print('about to fail'); sys.exit(3)")
    sm.create_training_job(**training_request(server, "fails", role, script))
    job = wait_for(describe(sm, "fails"), "TrainingJobStatus")
    assert job["TrainingJobStatus"] == "Failed"
    assert job["FailureReason"] == "ValueError: column x is missing"
    assert job["SecondaryStatusTransitions"][-1]["Status"] == "Failed"
    assert "ModelArtifacts" not in job
    with pytest.raises(Exception, match="Failed"):
        sm.get_waiter("training_job_completed_or_stopped").wait(
            TrainingJobName="fails", WaiterConfig={"Delay": 1, "MaxAttempts": 3})

    script = "import sys; sys.exit(7)"
    sm.create_training_job(**training_request(server, "exits", role, script))
    job = wait_for(describe(sm, "exits"), "TrainingJobStatus")
    assert job["FailureReason"] == "AlgorithmError: the container on algo-1 ended with exit code 7; see its log."


def test_missing_data_fails_with_a_client_error_naming_the_channel(server, role):
    sm = server.client()
    channels = [{"ChannelName": "train",
                 "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://jobs/nothing-here/"}}}]
    sm.create_training_job(**training_request(server, "no-data", role, "print(1)", channels=channels))
    job = wait_for(describe(sm, "no-data"), "TrainingJobStatus")
    assert job["TrainingJobStatus"] == "Failed"
    assert job["FailureReason"].startswith("ClientError: Channel train: no objects were found at s3://jobs/nothing-here/")


def test_stop_sends_sigterm_and_the_job_ends_stopped_with_its_model(server, role):
    sm = server.client()
    script = "\n".join([
        "import signal, sys, time",
        "def handler(signum, frame):",
        "    open('/opt/ml/model/checkpoint.txt', 'w').write('saved on SIGTERM')",
        "    print('got SIGTERM', flush=True); sys.exit(0)",
        "signal.signal(signal.SIGTERM, handler)",
        "print('waiting', flush=True)",
        "time.sleep(120)",
    ])
    sm.create_training_job(**training_request(server, "stopped", role, script))
    wait_for(describe(sm, "stopped"), "SecondaryStatus", until=("Training",))
    _wait_for_line(server, "stopped/", "waiting")
    sm.stop_training_job(TrainingJobName="stopped")
    assert sm.describe_training_job(TrainingJobName="stopped")["TrainingJobStatus"] in ("Stopping", "Stopped")
    job = wait_for(describe(sm, "stopped"), "TrainingJobStatus")
    assert job["TrainingJobStatus"] == "Stopped"
    assert [t["Status"] for t in job["SecondaryStatusTransitions"]][-3:] == ["Stopping", "Uploading", "Stopped"]
    assert job["ModelArtifacts"]["S3ModelArtifacts"].endswith("/stopped/output/model.tar.gz")
    assert "got SIGTERM" in next(iter(log_messages(server, GROUP, "stopped/").values()))
    with pytest.raises(ClientError, match="is in status Stopped"):
        sm.stop_training_job(TrainingJobName="stopped")


def test_max_runtime_stops_the_job(server, role):
    sm = server.client()
    request = training_request(server, "too-long", role, "import time; print('start', flush=True); time.sleep(60)")
    request["StoppingCondition"] = {"MaxRuntimeInSeconds": 2}
    sm.create_training_job(**request)
    job = wait_for(describe(sm, "too-long"), "TrainingJobStatus", timeout=60)
    assert job["TrainingJobStatus"] == "Stopped"
    assert job["SecondaryStatus"] == "MaxRuntimeExceeded"
    assert job["TrainingTimeInSeconds"] < 30


def test_a_job_over_its_memory_is_killed_with_sagemakers_reason(server, role):
    # The server declares 1 GiB, so every instance type's limit here is 1 GiB.
    sm = server.client()
    script = ("import time; print('allocating', flush=True); blocks = [bytearray(64 * 2**20) for _ in range(40)]; "
              "time.sleep(5); print('survived')")
    sm.create_training_job(**training_request(server, "hungry", role, script))
    job = wait_for(describe(sm, "hungry"), "TrainingJobStatus", timeout=60)
    assert job["TrainingJobStatus"] == "Failed"
    assert job["FailureReason"].startswith("OutOfMemoryError: Please use an instance type with more memory")
    assert "survived" not in next(iter(log_messages(server, GROUP, "hungry/").values()))


def test_network_isolation_leaves_loopback_only_and_no_credentials(server, role):
    sm = server.client()
    port = server.endpoint.rsplit(":", 1)[1]
    script = "\n".join([
        "import os, socket",
        "def reach(host, port):",
        "    try:",
        "        socket.create_connection((host, port), timeout=2).close(); return 'reached'",
        "    except OSError as error:",
        "        return 'unreachable'",
        "def resolve(name):",
        "    try:",
        "        socket.getaddrinfo(name, 80); return 'resolved'",
        "    except OSError:",
        "        return 'unresolved'",
        f"print('charter', reach('127.0.0.1', {port}), flush=True)",
        "print('outside', reach('1.1.1.1', 53), flush=True)",
        "print('dns', resolve('pypi.org'), flush=True)",
        "print('keys', 'AWS_ACCESS_KEY_ID' in os.environ, 'AWS_SESSION_TOKEN' in os.environ, flush=True)",
        "print('host', socket.gethostname(), flush=True)",
    ])
    sm.create_training_job(**training_request(server, "isolated", role, script, EnableNetworkIsolation=True))
    sm.create_training_job(**training_request(server, "connected", role, script))
    isolated = wait_for(describe(sm, "isolated"), "TrainingJobStatus")
    connected = wait_for(describe(sm, "connected"), "TrainingJobStatus")
    assert isolated["TrainingJobStatus"] == connected["TrainingJobStatus"] == "Completed"
    assert isolated["EnableNetworkIsolation"] is True
    lines = next(iter(log_messages(server, GROUP, "isolated/").values()))
    assert lines[:2] == ["charter unreachable", "outside unreachable"]
    assert "dns unresolved" in lines and "keys False False" in lines and "host algo-1" in lines
    lines = next(iter(log_messages(server, GROUP, "connected/").values()))
    assert lines[0] == "charter reached" and "keys True True" in lines


def test_create_refuses_what_sagemaker_refuses(server, role):
    sm = server.client()
    with pytest.raises(ClientError, match="Could not assume role") as error:
        sm.create_training_job(**training_request(server, "bad-role", "arn:aws:iam::123456789012:role/Nobody", "print(1)"))
    assert error.value.response["Error"]["Code"] == "ValidationException"
    sm.create_training_job(**training_request(server, "twice", role, "print(1)"))
    with pytest.raises(ClientError, match="already exists") as error:
        sm.create_training_job(**training_request(server, "twice", role, "print(1)"))
    assert error.value.response["Error"]["Code"] == "ResourceInUse"
    channel = {"ChannelName": "train", "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://jobs/a"}}}
    with pytest.raises(ClientError, match="Channel names must be unique"):
        sm.create_training_job(**training_request(server, "dup-channel", role, "print(1)", channels=[channel, channel]))
    with pytest.raises(ClientError, match="S3OutputPath"):
        sm.create_training_job(**training_request(server, "bad-output", role, "print(1)", output="s3://jobs/a/../b"))
    for part in ("AlgorithmSpecification", "ResourceConfig"):  # optional in botocore's model, needed here
        request = training_request(server, f"no-{part.lower()}", role, "print(1)")
        request.pop(part)
        with pytest.raises(ClientError, match=f"{part} is required") as error:
            sm.create_training_job(**request)
        assert error.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(ClientError, match="does not exist") as error:
        sm.describe_training_job(TrainingJobName="never-made")
    assert error.value.response["Error"]["Code"] == "ResourceNotFound"
    with pytest.raises(ClientError, match="does not exist"):
        sm.stop_training_job(TrainingJobName="never-made")


def test_an_unknown_image_fails_saying_what_to_do(server, role):
    sm = server.client()
    request = training_request(server, "custom-image", role, "print(1)", image="123456789012.dkr.ecr.us-east-1.amazonaws.com/mine:1")
    request["AlgorithmSpecification"].pop("ContainerEntrypoint")
    sm.create_training_job(**request)
    job = wait_for(describe(sm, "custom-image"), "TrainingJobStatus")
    assert job["TrainingJobStatus"] == "Failed"
    assert "install Docker or Podman" in job["FailureReason"]


def test_state_changes_go_out_as_eventbridge_events(server, role):
    events = server.cli("events", "recent", "--type", "SageMaker Training Job State Change", "--limit", "500").stdout
    seen = [json.loads(line) for line in events.splitlines() if line.strip()]
    basic = [e["detail"] for e in seen if e["resources"] == ["arn:aws:sagemaker:us-east-1:123456789012:training-job/basic"]]
    assert [e["SecondaryStatus"] for e in basic][-1] == "Completed"
    assert {"Starting", "Downloading", "Training", "Uploading", "Completed"} <= {e["SecondaryStatus"] for e in basic}
    assert all("_Job" not in e for e in basic)


def _wait_for_line(server, prefix: str, text: str, timeout: float = 30) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if any(text in lines for lines in log_messages(server, GROUP, prefix).values()):
            return
        time.sleep(0.2)
    raise AssertionError(f"{text!r} never appeared in {prefix}")


def test_the_cli_lists_describes_follows_and_stops_jobs(server, role):
    listed = server.cli("jobs", "list", "--kind", "training", "--json").stdout
    names = [job["TrainingJobName"] for job in json.loads(listed)]
    assert "basic" in names and "fails" in names
    table = server.cli("jobs", "list").stdout
    assert "basic" in table and "Completed" in table
    described = server.cli("jobs", "describe", "basic").stdout
    assert "Transitions" in described and "Uploading" in described and "train:loss" in described
    assert server.cli("jobs", "logs", "basic").stdout.splitlines()[0] == (
        "files ['nested/part-2.csv', 'part-1.csv'] host algo-1 epochs 3")
    failed = server.cli("jobs", "describe", "fails", check=False)
    assert "column x is missing" in failed.stdout

    sm = server.client()
    script = "import time\nfor i in range(8):\n    print(f'tick {i}', flush=True)\n    time.sleep(0.25)\n"
    sm.create_training_job(**training_request(server, "followed", role, script))
    followed = server.cli("jobs", "logs", "followed", "--follow", "--poll", "0.3")
    assert [line for line in followed.stdout.splitlines() if line.startswith("tick")] == [f"tick {i}" for i in range(8)]
    assert "Completed" in followed.stderr

    sm.create_training_job(**training_request(server, "cli-stop", role, "import time; print('up', flush=True); time.sleep(60)"))
    wait_for(describe(sm, "cli-stop"), "SecondaryStatus", until=("Training",))
    assert "Stopping training job cli-stop" in server.cli("jobs", "stop", "cli-stop").stdout
    assert wait_for(describe(sm, "cli-stop"), "TrainingJobStatus")["TrainingJobStatus"] == "Stopped"
    missing = server.cli("jobs", "describe", "nope", check=False)
    assert missing.returncode == 2 and "no training or processing job is named 'nope'" in missing.stderr


def test_the_aws_cli_creates_waits_for_and_describes_a_job(server, role, tmp_path):
    import aws_cli

    s3 = server.client(service="s3")
    rows = "".join(f"{i % 2},{i},{(i * 7) % 11}\n" for i in range(200))
    s3.put_object(Bucket="jobs", Key="cli/train/data.csv", Body=rows.encode())
    request = {
        "TrainingJobName": "from-the-cli",
        "RoleArn": role,
        "AlgorithmSpecification": {"TrainingImage": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
                                   "TrainingInputMode": "File"},
        "HyperParameters": {"objective": "binary:logistic", "num_round": "5"},
        "InputDataConfig": [{"ChannelName": "train", "ContentType": "text/csv",
                             "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://jobs/cli/train/"}}}],
        "OutputDataConfig": {"S3OutputPath": "s3://jobs/cli/output"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 5},
        "StoppingCondition": {"MaxRuntimeInSeconds": 300},
    }
    (tmp_path / "request.json").write_text(json.dumps(request))
    created = aws_cli.run(server.endpoint, "sagemaker", "create-training-job", "--cli-input-json",
                          f"file://{tmp_path / 'request.json'}")
    assert json.loads(created.stdout)["TrainingJobArn"].endswith(":training-job/from-the-cli")
    aws_cli.run(server.endpoint, "sagemaker", "wait", "training-job-completed-or-stopped",
                "--training-job-name", "from-the-cli")
    described = json.loads(aws_cli.run(server.endpoint, "sagemaker", "describe-training-job",
                                       "--training-job-name", "from-the-cli").stdout)
    assert described["TrainingJobStatus"] == "Completed", described.get("FailureReason")
    assert {m["MetricName"] for m in described["FinalMetricDataList"]} >= {"train:logloss"}
    listed = json.loads(aws_cli.run(server.endpoint, "sagemaker", "list-training-jobs", "--name-contains", "cli",
                                    "--sort-by", "Name").stdout)
    assert [s["TrainingJobName"] for s in listed["TrainingJobSummaries"]] == ["cli-stop", "from-the-cli"]


def test_pipe_mode_streams_each_epoch_into_its_own_fifo(server, role):
    import gzip

    sm, s3 = server.client(), server.client(service="s3")
    s3.put_object(Bucket="jobs", Key="pipe/plain/a.txt", Body=b"alpha\n")
    s3.put_object(Bucket="jobs", Key="pipe/plain/b.txt", Body=b"beta\n")
    s3.put_object(Bucket="jobs", Key="pipe/zipped/c.txt.gz", Body=gzip.compress(b"gamma\n"))
    manifest = "".join(json.dumps({"source-ref": f"s3://jobs/pipe/plain/{n}.txt", "label": i}) + "\n"
                       for i, n in enumerate("ab"))
    s3.put_object(Bucket="jobs", Key="pipe/manifest.jsonl", Body=manifest.encode())
    script = "\n".join([
        "import os, stat, struct",
        "base = '/opt/ml/input/data'",
        "print('listing', sorted(os.listdir(base)), flush=True)",
        "for epoch in range(2):",
        "    path = f'{base}/plain_{epoch}'",
        "    assert stat.S_ISFIFO(os.stat(path).st_mode)",
        "    print('plain', epoch, open(path, 'rb').read(), flush=True)",
        "print('zipped', open(f'{base}/zipped_0', 'rb').read(), flush=True)",
        "data = open(f'{base}/records_0', 'rb').read()",
        "found = []",
        "while data:",
        "    magic, length = struct.unpack('<II', data[:8])",
        "    assert magic == 0xCED7230A",
        "    found.append(data[8:8 + length]); data = data[8 + length + (-length % 4):]",
        "print('records', found, flush=True)",
    ])

    def pipe(name, uri, **extra):
        source = {"S3DataType": extra.pop("data_type", "S3Prefix"), "S3Uri": uri}
        if "attributes" in extra:
            source["AttributeNames"] = extra.pop("attributes")
        return {"ChannelName": name, "InputMode": "Pipe", "DataSource": {"S3DataSource": source}, **extra}

    channels = [pipe("plain", "s3://jobs/pipe/plain/"),
                pipe("zipped", "s3://jobs/pipe/zipped/", CompressionType="Gzip"),
                pipe("records", "s3://jobs/pipe/manifest.jsonl", data_type="AugmentedManifestFile",
                     attributes=["source-ref", "label"], RecordWrapperType="RecordIO")]
    sm.create_training_job(**training_request(server, "piped", role, script, channels=channels))
    job = wait_for(describe(sm, "piped"), "TrainingJobStatus")
    lines = next(iter(log_messages(server, GROUP, "piped/").values()))
    assert job["TrainingJobStatus"] == "Completed", (job.get("FailureReason"), lines)
    assert lines[0] == "listing ['code', 'plain_0', 'records_0', 'zipped_0']"
    assert lines[1:] == ["plain 0 b'alpha\\nbeta\\n'", "plain 1 b'alpha\\nbeta\\n'", "zipped b'gamma\\n'",
                         "records [b'alpha\\n', b'0', b'beta\\n', b'1']"]


def test_checkpoints_are_restored_at_start_and_saved_back(server, role):
    sm, s3 = server.client(), server.client(service="s3")
    s3.put_object(Bucket="jobs", Key="checkpoints/resume/epoch-1.ckpt", Body=b"one")
    script = "\n".join([
        "import json, os",
        "config = json.load(open('/opt/ml/input/config/checkpointconfig.json'))",
        "found = sorted(os.listdir(config['LocalPath']))",
        "print('resuming from', found, 'at', config['LocalPath'], flush=True)",
        "open(os.path.join(config['LocalPath'], 'epoch-2.ckpt'), 'w').write('two')",
    ])
    sm.create_training_job(**training_request(
        server, "resume", role, script,
        CheckpointConfig={"S3Uri": "s3://jobs/checkpoints/resume", "LocalPath": "/opt/ml/checkpoints"}))
    job = wait_for(describe(sm, "resume"), "TrainingJobStatus")
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    assert job["CheckpointConfig"] == {"S3Uri": "s3://jobs/checkpoints/resume", "LocalPath": "/opt/ml/checkpoints"}
    lines = next(iter(log_messages(server, GROUP, "resume/").values()))
    assert lines == ["resuming from ['epoch-1.ckpt'] at /opt/ml/checkpoints"]
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="jobs", Prefix="checkpoints/resume/")["Contents"])
    assert keys == ["checkpoints/resume/epoch-1.ckpt", "checkpoints/resume/epoch-2.ckpt"]
    assert s3.get_object(Bucket="jobs", Key="checkpoints/resume/epoch-2.ckpt")["Body"].read() == b"two"
