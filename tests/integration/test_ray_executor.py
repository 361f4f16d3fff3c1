"""Jobs on a real Ray cluster: the RayExecutor (CHARTER_RAY_ADDRESS).

The test starts a cluster of two Ray nodes on this machine (a head and a worker,
two CPUs each, each with its own temporary folder), then a Charter server whose
jobs run on it.  A two-host job gets one host per node, each a detached actor that
runs the host as the LocalExecutor would; the hosts find each other as algo-1 and
algo-2, their logs reach CloudWatch Logs, their model files come back into one
model.tar.gz; distributed XGBoost and torch.distributed (torchrun, as the PyTorch
image starts it) train across the two nodes; Stop stops them; a server killed with
SIGKILL and started again re-attaches to a job still running on the cluster.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

from conftest import start_server, stop_server
from jobs_support import execution_role, log_messages, training_request, wait_for
from pg import free_port

ray = pytest.importorskip("ray")

pytestmark = pytest.mark.once("the executor's side; the engine's database paths (claims, leases, re-attaching "
                              "after a kill) are the same for every executor and run on both in test_job_recovery.py")

GROUP = "/aws/sagemaker/TrainingJobs"
RAY = Path(sys.executable).with_name("ray")
XGBOOST_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
RAY_ENV = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}


@dataclass
class Cluster:
    address: str
    temp_dirs: list[str]


def _stop_cluster(temp_dirs: list[str]) -> None:
    """End this cluster's processes only: those whose command line names one of its temporary folders, and
    everything below them (workers, the hosts' supervisors and jobs). ``ray stop`` would end every Ray
    process of the machine, other clusters' included."""
    found: dict[int, psutil.Process] = {}
    for process in psutil.process_iter(["cmdline"]):
        command = " ".join(process.info["cmdline"] or [])
        if process.pid != os.getpid() and any(folder in command for folder in temp_dirs):
            found[process.pid] = process
            try:
                found.update((child.pid, child) for child in process.children(recursive=True))
            except psutil.Error:
                pass
    for process in found.values():
        try:
            process.terminate()
        except psutil.Error:
            pass
    _, alive = psutil.wait_procs(list(found.values()), timeout=3)  # some of Ray's take their time: no need
    for process in alive:
        try:
            process.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(alive, timeout=10)
    for folder in temp_dirs:
        shutil.rmtree(folder, ignore_errors=True)


def _ray_start(*args: str) -> None:
    result = subprocess.run([str(RAY), "start", *args], env=RAY_ENV, capture_output=True, text=True, timeout=180)
    if result.returncode != 0:
        raise RuntimeError(f"ray start {' '.join(args)} failed ({result.returncode}):\n{result.stderr[-2000:]}")


@pytest.fixture(scope="module")
def cluster():
    if not RAY.exists():
        pytest.skip(f"no `ray` command beside {sys.executable}")
    # Short folders: Ray's sockets live under them, and a socket path has at most 107 bytes.
    temp_dirs = [tempfile.mkdtemp(prefix="chray-", dir="/tmp") for _ in range(2)]
    port = free_port()
    common = ["--num-cpus", "2", "--node-ip-address", "127.0.0.1", "--disable-usage-stats",
              "--object-store-memory", str(100 * 1024 * 1024)]
    try:
        _ray_start("--head", "--port", str(port), "--include-dashboard", "false", "--temp-dir", temp_dirs[0], *common)
        _ray_start("--address", f"127.0.0.1:{port}", "--temp-dir", temp_dirs[1], *common)
    except (RuntimeError, OSError, subprocess.SubprocessError) as problem:
        _stop_cluster(temp_dirs)
        pytest.skip(f"a local Ray cluster could not be started here: {problem}")
    address = f"127.0.0.1:{port}"
    # This process is a driver too: to look at what the server left on the cluster, and to drive the
    # executor directly.
    ray.init(address=address, namespace="charter", log_to_driver=False, logging_level="warning")
    deadline = time.time() + 60
    while len([n for n in ray.nodes() if n["Alive"]]) < 2:
        assert time.time() < deadline, "the worker node never joined the cluster"
        time.sleep(0.2)
    try:
        yield Cluster(address, temp_dirs)
    finally:
        ray.shutdown()
        _stop_cluster(temp_dirs)


@pytest.fixture(scope="module")
def server(cluster, tmp_path_factory, database_url_factory):
    made = start_server(tmp_path_factory.mktemp("ray-home"), database_url_factory(),
                        {"CHARTER_RAY_ADDRESS": cluster.address, "RAY_USAGE_STATS_ENABLED": "0"})
    made.client(service="s3").create_bucket(Bucket="jobs")
    yield made
    stop_server(made)


@pytest.fixture(scope="module")
def role(server):
    return execution_role(server)


def _charter_actors(job: str) -> list[str]:
    return [a["name"] for a in ray.util.list_named_actors(all_namespaces=True)
            if a["namespace"] == "charter" and a["name"].startswith(f"charter-{job}-")]


def _two_hosts(request: dict) -> dict:
    request["ResourceConfig"]["InstanceCount"] = 2
    return request


def _untar(body: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(body)) as archive:
        return {m.name: archive.extractfile(m).read() for m in archive.getmembers() if m.isfile()}


PEERS = """
import json, os, socket, time
rc = json.load(open('/opt/ml/input/config/resourceconfig.json'))
me, port = rc['current_host'], int(os.environ['PEER_PORT'])
addresses = {h: socket.gethostbyname(h) for h in rc['hosts']}
print(me, 'of', rc['hosts'], 'resolves', sorted(addresses), flush=True)
if me == 'algo-1':
    listener = socket.create_server(('0.0.0.0', port))
    listener.settimeout(60)
    peer, _ = listener.accept()
    print('algo-1 heard', peer.recv(100).decode(), flush=True)
    peer.sendall(b'welcome')
    import boto3  # the host acts as the job's role, through Charter's endpoint
    print('algo-1 sees buckets', [b['Name'] for b in boto3.client('s3').list_buckets()['Buckets']], flush=True)
else:
    deadline = time.time() + 60
    while True:
        try:
            peer = socket.create_connection(('algo-1', port), timeout=5)
            break
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.2)
    peer.sendall(b'hello from algo-2')
    print('algo-2 heard', peer.recv(100).decode(), flush=True)
open(f'/opt/ml/model/{me}.txt', 'w').write(me)
"""


def test_a_two_host_job_runs_on_two_nodes_whose_hosts_reach_each_other(server, role):
    sm, s3 = server.client(), server.client(service="s3")
    request = _two_hosts(training_request(server, "peers", role, PEERS, Environment={"PEER_PORT": str(free_port())}))
    sm.create_training_job(**request)
    job = wait_for(lambda: sm.describe_training_job(TrainingJobName="peers"), "TrainingJobStatus", timeout=120)
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    assert [t["Status"] for t in job["SecondaryStatusTransitions"]] == [
        "Starting", "Downloading", "Training", "Uploading", "Completed"]

    streams = log_messages(server, GROUP, "peers/")
    by_host = {name.split("/")[1].rsplit("-", 1)[0]: lines for name, lines in streams.items()}
    assert sorted(by_host) == ["algo-1", "algo-2"]
    assert by_host["algo-1"] == ["algo-1 of ['algo-1', 'algo-2'] resolves ['algo-1', 'algo-2']",
                                 "algo-1 heard hello from algo-2", "algo-1 sees buckets ['jobs']"]
    assert by_host["algo-2"] == ["algo-2 of ['algo-1', 'algo-2'] resolves ['algo-1', 'algo-2']",
                                 "algo-2 heard welcome"]

    body = s3.get_object(Bucket="jobs", Key="output/peers/output/model.tar.gz")["Body"].read()
    assert _untar(body) == {"algo-1.txt": b"algo-1", "algo-2.txt": b"algo-2"}
    assert _charter_actors("peers") == []  # the hosts' actors end with the job
    assert not [pg for pg in ray.util.placement_group_table().values()
                if pg["name"].startswith("charter-peers-") and pg["state"] != "REMOVED"]


ISOLATED = """
import json, os, socket, time
rc = json.load(open('/opt/ml/input/config/resourceconfig.json'))
me, port = rc['current_host'], 7777
if me == 'algo-1':
    listener = socket.create_server((socket.gethostbyname('algo-1'), port))
    listener.settimeout(60)
    peer, _ = listener.accept()
    print('algo-1 heard', peer.recv(100).decode(), flush=True)
else:
    deadline = time.time() + 60
    while True:
        try:
            peer = socket.create_connection(('algo-1', port), timeout=5)
            break
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.2)
    peer.sendall(b'hello')
    try:
        socket.create_connection(('1.1.1.1', 53), timeout=2)
        print('algo-2 reached the outside', flush=True)
    except OSError:
        print('algo-2 reached nothing else', 'AWS_ACCESS_KEY_ID' in os.environ, flush=True)
"""


def test_a_network_isolated_job_has_its_hosts_on_one_node_and_only_each_other(server, role):
    if os.geteuid() != 0:
        pytest.skip("network isolation needs Linux namespaces, which Charter makes only as root")
    sm = server.client()
    request = _two_hosts(training_request(server, "isolated", role, ISOLATED, EnableNetworkIsolation=True))
    sm.create_training_job(**request)
    job = wait_for(lambda: sm.describe_training_job(TrainingJobName="isolated"), "TrainingJobStatus", timeout=120)
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    lines = sorted(line for lines in log_messages(server, GROUP, "isolated/").values() for line in lines)
    assert lines == ["algo-1 heard hello", "algo-2 reached nothing else False"]


def test_the_executor_ships_trees_to_its_nodes_and_brings_outputs_back(cluster, tmp_path):
    """The executor on its own, told to ship every tree (as to nodes on other machines): one host per node,
    the staged tree laid out there, what the host wrote brought back, the input data not."""
    from charter.runtime.executors import HostLaunch, Launch
    from charter.runtime.executors.ray import RayExecutor
    from charter.runtime.instance_types import lookup

    script = "\n".join([
        "import json, socket",
        "rc = json.load(open('/opt/ml/input/config/resourceconfig.json'))",
        "print(rc['current_host'], 'read', open('/opt/ml/input/data/train/part.csv').read().strip(), flush=True)",
        "open(f\"/opt/ml/model/{rc['current_host']}.txt\", 'w').write('weights')",
    ])
    hosts = []
    for index, name in enumerate(["algo-1", "algo-2"]):
        root = tmp_path / "shipped-0123" / name
        ml = root / "opt" / "ml"
        for folder in ("input/config", "input/data/train", "model", "code"):
            (ml / folder).mkdir(parents=True)
        (ml / "input/config/resourceconfig.json").write_text(json.dumps({"current_host": name,
                                                                        "hosts": ["algo-1", "algo-2"]}))
        (ml / "input/data/train/part.csv").write_text(f"{index},{index * 2}\n")
        (ml / "code/train.py").write_text(script)
        hosts.append(HostLaunch(name, root, [sys.executable, "/opt/ml/code/train.py"], {"PATH": os.environ["PATH"]}))
    executor = RayExecutor(cluster.address, in_place=False)
    ml_m5_large = lookup("ml.m5.large")
    assert executor.admit("arn:shipped", ml_m5_large, 2)
    handle = executor.submit(Launch("arn:shipped", hosts, ml_m5_large, max_runtime_seconds=120, grace_seconds=5))
    try:
        json.dumps(handle)  # the engine keeps it in the job's document
        assert len({h["NodeId"] for h in handle["Hosts"]}) == 2  # SPREAD: one host per node
        assert all(not h["InPlace"] and h["RemoteDirectory"] != h["Directory"] for h in handle["Hosts"])
        deadline = time.time() + 60
        while any(state.running for state in executor.poll(handle)):
            assert time.time() < deadline
            time.sleep(0.2)
        assert [(s.name, s.exit_code, s.reason) for s in executor.poll(handle)] == [
            ("algo-1", 0, None), ("algo-2", 0, None)]
        chunks = executor.read_logs(handle, {}, final=True)
        assert [[line for _, line in c.lines] for c in chunks] == [["algo-1 read 0,0"], ["algo-2 read 1,2"]]
        assert executor.recover(handle) == "ended"
        (hosts[0].directory / "opt/ml/input/data/train/part.csv").unlink()
    finally:
        executor.collect(handle)
        executor.release("arn:shipped")
    for host in hosts:
        assert (host.directory / f"opt/ml/model/{host.name}.txt").read_text() == "weights"
        assert json.loads((host.directory / "exit.json").read_text())["ExitCode"] == 0
    assert not (hosts[0].directory / "opt/ml/input/data/train/part.csv").exists()  # inputs stay where they were
    assert _charter_actors("shipped-0123") == []
    for entry in handle["Hosts"]:
        assert not Path(entry["RemoteDirectory"]).exists()
    # With the actors gone, the executor still answers from what came back.
    assert executor.recover(handle) == "ended"
    assert [[line for _, line in c.lines] for c in executor.read_logs(handle, {}, final=True)] == [
        ["algo-1 read 0,0"], ["algo-2 read 1,2"]]


def test_stop_a_job_on_the_cluster(server, role):
    sm = server.client()
    script = "import time; print('working', flush=True); time.sleep(300)"
    sm.create_training_job(**_two_hosts(training_request(server, "halt", role, script)))
    deadline = time.time() + 90
    while len([lines for lines in log_messages(server, GROUP, "halt/").values() if "working" in lines]) < 2:
        assert time.time() < deadline, "the hosts never got going"
        time.sleep(0.2)
    assert len(_charter_actors("halt")) == 2
    sm.stop_training_job(TrainingJobName="halt")
    job = wait_for(lambda: sm.describe_training_job(TrainingJobName="halt"), "TrainingJobStatus", timeout=60)
    assert job["TrainingJobStatus"] == "Stopped"
    assert _charter_actors("halt") == []


def test_a_host_whose_actor_died_fails_the_job_and_its_peer_is_stopped(server, role):
    sm = server.client()
    script = "import time; print('up', flush=True); time.sleep(20)"
    sm.create_training_job(**_two_hosts(training_request(server, "node-lost", role, script)))
    deadline = time.time() + 90
    while len([lines for lines in log_messages(server, GROUP, "node-lost/").values() if "up" in lines]) < 2:
        assert time.time() < deadline, "the hosts never got going"
        time.sleep(0.2)
    # As when its node leaves the cluster: the actor of algo-2 is gone.
    (victim,) = [name for name in _charter_actors("node-lost") if name.endswith("-algo-2")]
    ray.kill(ray.get_actor(victim, namespace="charter"), no_restart=True)
    job = wait_for(lambda: sm.describe_training_job(TrainingJobName="node-lost"), "TrainingJobStatus", timeout=60)
    assert job["TrainingJobStatus"] == "Failed"
    assert job["FailureReason"].startswith("InternalServerError: the training job's processes ended while Charter")
    assert _charter_actors("node-lost") == []


def test_a_job_on_the_cluster_survives_a_killed_server(cluster, tmp_path, database_url_factory):
    home, database_url, port = tmp_path / "home", database_url_factory(), free_port()
    extra = {"CHARTER_RAY_ADDRESS": cluster.address, "RAY_USAGE_STATS_ENABLED": "0"}
    server = start_server(home, database_url, extra, port=port)
    try:
        server.client(service="s3").create_bucket(Bucket="jobs")
        role = execution_role(server)
        sm = server.client()
        script = "\n".join([
            "import json, time",
            "me = json.load(open('/opt/ml/input/config/resourceconfig.json'))['current_host']",
            "for i in range(50):",
            "    print(f'{me} line {i}', flush=True)",
            "    time.sleep(0.1)",
            "open(f'/opt/ml/model/{me}.txt', 'w').write('ok')",
        ])
        sm.create_training_job(**_two_hosts(training_request(server, "survivor", role, script)))
        deadline = time.time() + 90
        while not any("algo-1 line 10" in lines for lines in log_messages(server, GROUP, "survivor/").values()):
            assert time.time() < deadline, "the job never got going"
            time.sleep(0.1)
        server.process.send_signal(signal.SIGKILL)
        server.process.wait(timeout=10)
        time.sleep(1)  # the hosts go on writing while no server watches
        assert len(_charter_actors("survivor")) == 2  # detached: the server's death is not theirs
        server = start_server(home, database_url, extra, port=port)
        sm = server.client()
        job = wait_for(lambda: sm.describe_training_job(TrainingJobName="survivor"), "TrainingJobStatus", timeout=120)
        assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
        streams = log_messages(server, GROUP, "survivor/")
        by_host = {name.split("/")[1].rsplit("-", 1)[0]: lines for name, lines in streams.items()}
        assert by_host == {h: [f"{h} line {i}" for i in range(50)] for h in ("algo-1", "algo-2")}
        body = server.client(service="s3").get_object(Bucket="jobs", Key="output/survivor/output/model.tar.gz")
        assert sorted(_untar(body["Body"].read())) == ["algo-1.txt", "algo-2.txt"]
    finally:
        server.process.kill()
        server.process.wait()


def test_built_in_xgboost_trains_one_model_across_two_hosts(server, role):
    sm, s3 = server.client(), server.client(service="s3")
    for part in range(2):  # one file per host (ShardedByS3Key): label first, then two features
        points = [((i * 37 + part * 11) % 100 / 100, (i * 53 + part * 7) % 100 / 100) for i in range(100)]
        rows = [f"{int(x + y > 1.0)},{x:.3f},{y:.3f}" for x, y in points]
        s3.put_object(Bucket="jobs", Key=f"xgb/train/part-{part}.csv", Body="\n".join(rows).encode())
    sm.create_training_job(
        TrainingJobName="xgb-two-hosts",
        RoleArn=role,
        AlgorithmSpecification={"TrainingImage": XGBOOST_IMAGE, "TrainingInputMode": "File"},
        HyperParameters={"objective": "binary:logistic", "num_round": "10", "max_depth": "3"},
        InputDataConfig=[{"ChannelName": "train", "ContentType": "text/csv", "DataSource": {"S3DataSource": {
            "S3DataType": "S3Prefix", "S3Uri": "s3://jobs/xgb/train/", "S3DataDistributionType": "ShardedByS3Key"}}}],
        OutputDataConfig={"S3OutputPath": "s3://jobs/xgb/output"},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 2, "VolumeSizeInGB": 5},
        StoppingCondition={"MaxRuntimeInSeconds": 300},
        Environment={"XGBOOST_TRACKER_PORT": str(free_port())},
    )
    job = wait_for(lambda: sm.describe_training_job(TrainingJobName="xgb-two-hosts"), "TrainingJobStatus",
                   timeout=150)
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    streams = log_messages(server, GROUP, "xgb-two-hosts/")
    ranks = sorted(line for lines in streams.values() for line in lines if " is rank " in line)
    assert ranks == ["Host algo-1 is rank 0 of 2", "Host algo-2 is rank 1 of 2"]
    body = s3.get_object(Bucket="jobs", Key="xgb/output/xgb-two-hosts/output/model.tar.gz")["Body"].read()
    assert "xgboost-model" in _untar(body)


TORCH_IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.1.0-cpu-py310"
TORCH_SCRIPT = """
import os, torch, torch.distributed as dist
dist.init_process_group("gloo")
total = torch.tensor([float(dist.get_rank() + 1)])
dist.all_reduce(total)
print(f"{os.environ['SM_CURRENT_HOST']}: rank {dist.get_rank()} of {dist.get_world_size()} sum {total.item():g}",
      flush=True)
dist.destroy_process_group()
"""


def test_torch_distributed_runs_across_two_hosts_on_two_nodes(server, role):
    pytest.importorskip("torch")
    with socket.socket() as probe:  # the PyTorch image's MASTER_PORT, on algo-1's node (this machine)
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", 7777))
        except OSError:
            pytest.skip("port 7777 (the PyTorch image's MASTER_PORT) is in use")
    sm, s3 = server.client(), server.client(service="s3")
    source = io.BytesIO()
    with tarfile.open(fileobj=source, mode="w:gz") as archive:  # the SDK's sourcedir.tar.gz
        info = tarfile.TarInfo("train.py")
        info.size = len(TORCH_SCRIPT.encode())
        archive.addfile(info, io.BytesIO(TORCH_SCRIPT.encode()))
    s3.put_object(Bucket="jobs", Key="torch/sourcedir.tar.gz", Body=source.getvalue())
    hyperparameters = {key: json.dumps(value) for key, value in {
        "sagemaker_program": "train.py", "sagemaker_submit_directory": "s3://jobs/torch/sourcedir.tar.gz",
        "sagemaker_torch_distributed_enabled": True, "sagemaker_region": "us-east-1"}.items()}
    sm.create_training_job(
        TrainingJobName="torch-two-hosts", RoleArn=role, HyperParameters=hyperparameters,
        AlgorithmSpecification={"TrainingImage": TORCH_IMAGE, "TrainingInputMode": "File"},
        OutputDataConfig={"S3OutputPath": "s3://jobs/torch/output"},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 2, "VolumeSizeInGB": 5},
        StoppingCondition={"MaxRuntimeInSeconds": 300},
        Environment={"OMP_NUM_THREADS": "1"},
    )
    job = wait_for(lambda: sm.describe_training_job(TrainingJobName="torch-two-hosts"), "TrainingJobStatus",
                   timeout=240)
    streams = log_messages(server, GROUP, "torch-two-hosts/")
    assert job["TrainingJobStatus"] == "Completed", (job.get("FailureReason"), streams)
    lines = sorted(line for lines in streams.values() for line in lines if ": rank " in line)
    assert lines == ["algo-1: rank 0 of 2 sum 3", "algo-2: rank 1 of 2 sum 3"]


def test_charter_server_ray_starts_a_head_of_its_own_and_finds_it_again(tmp_path, database_url_factory):
    from conftest import ADMIN_KEY, ADMIN_SECRET
    from server_process import clean_env, start

    if not RAY.exists():
        pytest.skip(f"no `ray` command beside {sys.executable}")
    home, database_url = tmp_path / "home", database_url_factory()
    env = clean_env(CHARTER_ROOT_ACCESS_KEY_ID=ADMIN_KEY, CHARTER_ROOT_SECRET_ACCESS_KEY=ADMIN_SECRET,
                    CHARTER_LOCAL_CPUS="1", RAY_USAGE_STATS_ENABLED="0")
    first = start(home, database_url, "--ray", env=env, timeout=180)
    head = None
    try:
        head = json.loads((home / "ray-head.json").read_text())
        assert f"Jobs run on the Ray cluster at {head['Address']} (started now)" in first.output
        from conftest import CharterServer

        server = CharterServer(first.endpoint, home, first.env, first.process, first.log_path)
        server.client(service="s3").create_bucket(Bucket="jobs")
        role = execution_role(server)
        sm = server.client()
        sm.create_training_job(**training_request(server, "on-own-head", role, "print('ran', flush=True)"))
        job = wait_for(lambda: sm.describe_training_job(TrainingJobName="on-own-head"), "TrainingJobStatus",
                       timeout=120)
        assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
        # Its host was an actor of that head (Ray names each actor's worker in the worker's log).
        logs = Path(head["TempDir"]).glob("session_*/logs/worker-*.out")
        assert any("HostActor" in path.read_text(errors="replace") for path in logs)
        first.stop()
        again = start(home, database_url, "--ray", env=env, timeout=120)
        again.stop()
        assert f"Jobs run on the Ray cluster at {head['Address']} (already running)" in again.output
    finally:
        first.stop()
        if head is not None:
            _stop_cluster([head["TempDir"]])
