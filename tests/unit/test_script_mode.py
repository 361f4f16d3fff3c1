"""Script mode: a user's SKLearn/PyTorch ``entry_point`` runs as SageMaker's framework images run it.

Each test lays out a container root as the platform does for a training job
(``opt/ml/input/config/*.json`` with hyperparameters JSON-encoded the way the SageMaker SDK
writes them, channels under ``opt/ml/input/data``), hands the SDK's ``sourcedir.tar.gz``
(or a directory) to ``sagemaker_submit_directory``, and runs the image through
``charter.builtins.run`` or ``python -m charter.builtins`` (what executors start).  What
the script receives (argv, ``SM_*``) and what a failure leaves behind
(``opt/ml/output/failure``, the exit status) must match specs/containers.md, section 2.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import signal
import socket
import subprocess
import sys
import tarfile
import threading
import zipfile
from pathlib import Path

import pytest

from charter import builtins
from charter.builtins.script_mode import ExecuteUserScriptError, requirements
from charter.builtins.script_mode.arguments import decode, to_cmd_args
from charter.builtins.script_mode.code import fetch
from charter.builtins.script_mode.environment import TrainingEnvironment, env_value
from charter.builtins.script_mode.failures import InstallRequirementsError
from charter.builtins.script_mode.logs import Log
from charter.builtins.script_mode.runner import EntryPointType, error_message
from charter.builtins.script_mode.torch_distributed import launch
from charter.datasets import DataUnavailable, data_file

ADULT_COLUMNS = ["age", "workclass", "fnlwgt", "education", "education-num", "marital-status", "occupation",
                 "relationship", "race", "sex", "capital-gain", "capital-loss", "hours-per-week",
                 "native-country", "income"]

# The user script most tests run: it records what it was given, as a user debugging would.
DUMP_SCRIPT = """\
import json, os, sys
print("hello from the script", flush=True)
print("a warning on stderr", file=sys.stderr, flush=True)
record = {"argv": sys.argv[1:], "cwd": os.getcwd(), "prefix": sys.prefix,
          "env": {k: v for k, v in os.environ.items()
                  if k.startswith("SM_") or k in ("SAGEMAKER_JOB_NAME", "CURRENT_HOST", "SAGEMAKER_REGION",
                                                 "SAGEMAKER_BASE_DIR", "PYTHONUNBUFFERED", "MASTER_ADDR",
                                                 "MASTER_PORT", "WORLD_SIZE", "RANK")}}
with open(os.path.join(os.environ["SM_MODEL_DIR"], "record.json"), "w") as f:
    json.dump(record, f)
"""

RESOURCE_CONFIG = {
    "current_host": "algo-1", "hosts": ["algo-1"], "network_interface_name": "eth0",
    "current_instance_type": "ml.m5.xlarge", "current_group_name": "homogeneousCluster",
    "instance_groups": [{"instance_group_name": "homogeneousCluster", "instance_type": "ml.m5.xlarge",
                         "hosts": ["algo-1"]}],
}


def sdk_hyperparameters(**values) -> dict[str, str]:
    """What the SageMaker SDK puts in HyperParameters: every value JSON-encoded."""
    return {key: json.dumps(value) for key, value in values.items()}


def sourcedir(tmp_path: Path, files: dict[str, str | bytes], name: str = "sourcedir.tar.gz") -> Path:
    """The SDK's ``sourcedir.tar.gz`` of ``files``."""
    archive = tmp_path / name
    with tarfile.open(archive, "w:gz") as tar:
        for member, content in files.items():
            data = content.encode() if isinstance(content, str) else content
            info = tarfile.TarInfo(member)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    return archive


def container(tmp_path: Path, hyperparameters: dict[str, str], channels: dict[str, dict[str, str]] | None = None,
              resource_config: dict | None = None, name: str = "job") -> Path:
    """A training container's root as the platform lays it out; channels map file names to content."""
    root = tmp_path / name
    config = root / "opt" / "ml" / "input" / "config"
    config.mkdir(parents=True)
    (config / "hyperparameters.json").write_text(json.dumps(hyperparameters))
    (config / "resourceconfig.json").write_text(json.dumps(resource_config or RESOURCE_CONFIG))
    channels = channels or {}
    (config / "inputdataconfig.json").write_text(json.dumps({
        channel: {"ContentType": "text/csv", "TrainingInputMode": "File", "S3DistributionType": "FullyReplicated",
                  "RecordWrapperType": "None"} for channel in channels}))
    for channel, files in channels.items():
        folder = root / "opt" / "ml" / "input" / "data" / channel
        folder.mkdir(parents=True)
        for file, content in files.items():
            (folder / file).write_text(content)
    return root


def record_of(root: Path) -> dict:
    return json.loads((root / "opt" / "ml" / "model" / "record.json").read_text())


def failure_of(root: Path) -> str:
    return (root / "opt" / "ml" / "output" / "failure").read_text()


@pytest.fixture(autouse=True)
def _plain_host(monkeypatch):
    # No GPUs and no shared cache unless a test asks: what the script is told is then fixed.
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    monkeypatch.delenv("CHARTER_VENV_CACHE", raising=False)
    monkeypatch.delenv("SAGEMAKER_PROGRAM", raising=False)
    monkeypatch.delenv("SAGEMAKER_TRAINING_MODULE", raising=False)


# -- what the script receives -------------------------------------------------------------------

def test_the_script_gets_sagemakers_arguments_and_environment(tmp_path, monkeypatch, capfd):
    monkeypatch.setenv("TRAINING_JOB_NAME", "adult-rf-1")
    code = sourcedir(tmp_path, {"train.py": DUMP_SCRIPT})
    hps = sdk_hyperparameters(
        sagemaker_program="train.py", sagemaker_submit_directory=code.as_uri(), sagemaker_region="us-west-2",
        sagemaker_container_log_level=20, sagemaker_job_name="adult-rf-1",
        sagemaker_estimator_class_name="SKLearn", _tuning_objective_metric="validation:accuracy",
        epochs=10, lr=0.1, flag=True, name="x", k=3, layers=[1, 2], opts={"b": 2, "a": "z"})
    hps["raw"] = "not json"  # a value the SDK did not encode stays a string
    root = container(tmp_path, hps, {"train": {"a.csv": "1,2\n"}, "test": {"b.csv": "3,4\n"}})

    assert builtins.run("sklearn", "train", root) == 0

    ml = str(root / "opt" / "ml")
    record = record_of(root)
    args = ["--epochs", "10", "--flag", "True", "-k", "3", "--layers", "[1, 2]", "--lr", "0.1",
            "--name", "x", "--opts", "a=z,b=2", "--raw", "not json"]
    assert record["argv"] == args
    assert record["cwd"] == f"{ml}/code"
    user_hps = {"epochs": 10, "flag": True, "k": 3, "layers": [1, 2], "lr": 0.1, "name": "x",
                "opts": {"a": "z", "b": 2}, "raw": "not json"}
    framework_params = {"sagemaker_estimator_class_name": "SKLearn"}
    input_data_config = json.loads((root / "opt/ml/input/config/inputdataconfig.json").read_text())

    def compact(value) -> str:
        return json.dumps(value, sort_keys=True, separators=(",", ":"))

    cpus = len(os.sched_getaffinity(0))
    env = record["env"]
    training_env = json.loads(env.pop("SM_TRAINING_ENV"))
    assert env == {
        "SM_MODEL_DIR": f"{ml}/model",
        "SM_CHANNELS": '["test","train"]',
        "SM_CHANNEL_TRAIN": f"{ml}/input/data/train",
        "SM_CHANNEL_TEST": f"{ml}/input/data/test",
        "SM_HPS": compact(user_hps),
        "SM_HP_EPOCHS": "10", "SM_HP_LR": "0.1", "SM_HP_FLAG": "true", "SM_HP_NAME": "x", "SM_HP_K": "3",
        "SM_HP_LAYERS": "[1,2]", "SM_HP_OPTS": '{"a":"z","b":2}', "SM_HP_RAW": "not json",
        "SM_USER_ARGS": compact(args),
        "SM_OUTPUT_DATA_DIR": f"{ml}/output/data",
        "SM_OUTPUT_DIR": f"{ml}/output",
        "SM_OUTPUT_INTERMEDIATE_DIR": f"{ml}/output/intermediate",
        "SM_INPUT_DIR": f"{ml}/input",
        "SM_INPUT_CONFIG_DIR": f"{ml}/input/config",
        "SM_INPUT_DATA_CONFIG": compact(input_data_config),
        "SM_RESOURCE_CONFIG": compact(RESOURCE_CONFIG),
        "SM_HOSTS": '["algo-1"]',
        "SM_CURRENT_HOST": "algo-1",
        "SM_NUM_CPUS": str(cpus), "SM_NUM_GPUS": "0", "SM_NUM_NEURONS": "0",
        "SM_CURRENT_INSTANCE_TYPE": "ml.m5.xlarge",
        "SM_CURRENT_INSTANCE_GROUP": "homogeneousCluster",
        "SM_CURRENT_INSTANCE_GROUP_HOSTS": '["algo-1"]',
        "SM_INSTANCE_GROUPS": '["homogeneousCluster"]',
        "SM_INSTANCE_GROUPS_DICT": compact({"homogeneousCluster": RESOURCE_CONFIG["instance_groups"][0]}),
        "SM_DISTRIBUTION_INSTANCE_GROUPS": "[]",
        "SM_IS_HETERO": "false",
        "SM_NETWORK_INTERFACE_NAME": "eth0",
        "SM_MODULE_NAME": "train",
        "SM_MODULE_DIR": code.as_uri(),
        "SM_USER_ENTRY_POINT": "train.py",
        "SM_FRAMEWORK_PARAMS": compact(framework_params),
        "SM_FRAMEWORK_MODULE": "sagemaker_sklearn_container.training:main",
        "SM_LOG_LEVEL": "20",
        "SAGEMAKER_JOB_NAME": "adult-rf-1",
        "CURRENT_HOST": "algo-1",
        "SAGEMAKER_REGION": "us-west-2",
        "SAGEMAKER_BASE_DIR": ml,
        "PYTHONUNBUFFERED": "1",
    }
    assert training_env == {
        "additional_framework_parameters": framework_params,
        "channel_input_dirs": {"train": f"{ml}/input/data/train", "test": f"{ml}/input/data/test"},
        "current_host": "algo-1", "current_instance_group": "homogeneousCluster",
        "current_instance_group_hosts": ["algo-1"], "current_instance_type": "ml.m5.xlarge",
        "distribution_hosts": [], "distribution_instance_groups": [],
        "framework_module": "sagemaker_sklearn_container.training:main",
        "hosts": ["algo-1"], "hyperparameters": user_hps,
        "input_config_dir": f"{ml}/input/config", "input_data_config": input_data_config,
        "input_dir": f"{ml}/input", "instance_groups": ["homogeneousCluster"],
        "instance_groups_dict": {"homogeneousCluster": RESOURCE_CONFIG["instance_groups"][0]},
        "is_hetero": False, "is_master": True, "is_modelparallel_enabled": False,
        "is_smddpmprun_installed": False, "is_smddprun_installed": False,
        "job_name": "adult-rf-1", "log_level": 20, "master_hostname": "algo-1",
        "model_dir": f"{ml}/model", "module_dir": code.as_uri(), "module_name": "train",
        "network_interface_name": "eth0", "num_cpus": cpus, "num_gpus": 0, "num_neurons": 0,
        "output_data_dir": f"{ml}/output/data", "output_dir": f"{ml}/output",
        "output_intermediate_dir": f"{ml}/output/intermediate", "resource_config": RESOURCE_CONFIG,
        "topology": [], "user_entry_point": "train.py",
    }
    # The script ran on the Python Charter runs on (no requirements.txt), its output passed through.
    assert record["prefix"] == sys.prefix
    out, err = capfd.readouterr()
    assert "hello from the script" in out and "a warning on stderr" in err
    assert (root / "opt/ml/code/train.py").read_text() == DUMP_SCRIPT
    assert (root / "opt/ml/output/success").exists() and not (root / "opt/ml/output/failure").exists()


def test_arguments_follow_the_toolkits_rules():
    assert to_cmd_args({"use-gpu": True, "lr": 0.1, "x": [1, 2], "d": {"k2": "v2", "k1": 1}, "n": None}) == [
        "-d", "k1=1,k2=v2", "--lr", "0.1", "-n", "", "--use-gpu", "True", "-x", "[1, 2]"]
    assert decode({"a": "10", "b": '"x"', "c": "not json", "d": "[1, 2]", "e": 5}) == {
        "a": 10, "b": "x", "c": "not json", "d": [1, 2], "e": 5}
    assert [env_value(v) for v in ("s", None, 3, True, {"b": 1, "a": [1, "x"]})] == [
        "s", "", "3", "true", '{"a":[1,"x"],"b":1}']


def test_a_directory_and_the_network_isolation_code_channel_are_code_too(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    (source / "train.py").write_text(DUMP_SCRIPT)
    root = container(tmp_path, sdk_hyperparameters(sagemaker_program="train.py", sagemaker_submit_directory=str(source)))
    assert builtins.run("sklearn", "train", root) == 0
    assert record_of(root)["argv"] == []

    # With network isolation the SDK sends the code as channel "code" and names its container path.
    isolated = container(tmp_path, sdk_hyperparameters(
        sagemaker_program="train.py", sagemaker_submit_directory="/opt/ml/input/data/code/sourcedir.tar.gz"),
        name="isolated")
    channel = isolated / "opt/ml/input/data/code"
    channel.mkdir(parents=True)
    sourcedir(channel, {"train.py": "print('isolated')\n"})
    base = isolated / "opt" / "ml"
    assert fetch("/opt/ml/input/data/code/sourcedir.tar.gz", base / "code", base) == base / "code"
    assert (base / "code/train.py").read_text() == "print('isolated')\n"


def test_code_is_downloaded_from_s3(tmp_path, monkeypatch):
    moto = pytest.importorskip("moto")
    import boto3

    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                        ("AWS_DEFAULT_REGION", "us-east-1")):
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    archive = sourcedir(tmp_path, {"train.py": "print('from s3')\n", "lib/util.py": "X = 1\n"})
    with moto.mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="code")
        s3.upload_file(str(archive), "code", "job-1/source/sourcedir.tar.gz")
        base = tmp_path / "opt" / "ml"
        fetch("s3://code/job-1/source/sourcedir.tar.gz", base / "code", base)
        with pytest.raises(builtins.ClientError, match="could not download"):
            fetch("s3://code/nope/sourcedir.tar.gz", tmp_path / "other" / "code", base)
    assert (base / "code/train.py").read_text() == "print('from s3')\n"
    assert (base / "code/lib/util.py").read_text() == "X = 1\n"


def test_a_shell_entry_point_and_a_package_run_as_the_toolkit_runs_them(tmp_path):
    shell = sourcedir(tmp_path, {"train.sh": 'echo "args: $@"\npython -c "import sys; print(sys.prefix)" > "$SM_MODEL_DIR/prefix"\n'},
                      name="shell.tar.gz")
    root = container(tmp_path, sdk_hyperparameters(sagemaker_program="train.sh", sagemaker_submit_directory=str(shell),
                                                   name="a b"), name="shell")
    assert builtins.run("sklearn", "train", root) == 0
    # `python` inside the script is the framework's Python.
    assert (root / "opt/ml/model/prefix").read_text().strip() == sys.prefix

    package = sourcedir(tmp_path, {
        "setup.py": "from setuptools import setup\nsetup(name='userpkg', version='1.0', py_modules=['train', 'helper'])\n",
        "helper.py": "VALUE = 7\n",
        "train.py": DUMP_SCRIPT + "import helper\nassert __name__ == '__main__' and helper.VALUE == 7\n",
    }, name="package.tar.gz")
    root = container(tmp_path, sdk_hyperparameters(sagemaker_program="train.py", sagemaker_submit_directory=str(package),
                                                   epochs=1), name="package")
    assert builtins.run("sklearn", "train", root) == 0
    record = record_of(root)
    assert record["argv"] == ["--epochs", "1"]
    assert record["prefix"] == str(root / "opt/ml/.venv")  # installed with pip into the job's own environment


# -- failures --------------------------------------------------------------------------------------

def test_a_failing_script_exits_with_its_code_and_reports_like_sagemaker(tmp_path):
    code = sourcedir(tmp_path, {"train.py": "import sys\nprint('loading data', file=sys.stderr)\n"
                                            "print('no rows in the train channel', file=sys.stderr)\nsys.exit(7)\n"})
    root = container(tmp_path, sdk_hyperparameters(sagemaker_program="train.py", sagemaker_submit_directory=str(code),
                                                   epochs=10))
    with pytest.raises(ExecuteUserScriptError) as failure:
        builtins.run("sklearn", "train", root)
    assert failure.value.code == 7
    assert failure_of(root) == (
        "AlgorithmError: ExecuteUserScriptError:\n"
        "ExitCode 7\n"
        'ErrorMessage "loading data\nno rows in the train channel"\n'
        f'Command "{sys.executable} train.py --epochs 10"')
    assert not (root / "opt/ml/output/success").exists()


def test_a_traceback_is_what_the_failure_quotes(tmp_path):
    code = sourcedir(tmp_path, {"train.py": "print('epoch 1')\ndef fit():\n    raise ValueError('lr must be positive')\nfit()\n"})
    root = container(tmp_path, sdk_hyperparameters(sagemaker_program="train.py", sagemaker_submit_directory=str(code)))
    with pytest.raises(ExecuteUserScriptError) as failure:
        builtins.run("sklearn", "train", root)
    assert failure.value.code == 1
    reason = failure_of(root)
    assert reason.startswith('AlgorithmError: ExecuteUserScriptError:\nExitCode 1\nErrorMessage "Traceback (most recent call last):\n')
    assert reason.endswith(f'ValueError: lr must be positive"\nCommand "{sys.executable} train.py"')
    # Long output keeps its end, so the reason fits the 1024 characters FailureReason shows.
    assert error_message("\n".join(f"line {i}" for i in range(1000))).endswith("line 999")
    assert len(error_message("x" * 5000)) <= 710


def test_the_scripts_own_failure_file_is_kept(tmp_path):
    script = "import os, sys\nopen(os.path.join(os.environ['SM_OUTPUT_DIR'], 'failure'), 'w').write('bad label column')\nsys.exit(2)\n"
    root = container(tmp_path, sdk_hyperparameters(sagemaker_program="train.py",
                                                   sagemaker_submit_directory=str(sourcedir(tmp_path, {"train.py": script}))))
    with pytest.raises(ExecuteUserScriptError):
        builtins.run("sklearn", "train", root)
    assert failure_of(root) == "bad label column"


def test_missing_entry_point_is_a_client_error(tmp_path):
    code = sourcedir(tmp_path, {"train.py": "pass\n"})
    root = container(tmp_path, sdk_hyperparameters(sagemaker_submit_directory=str(code)))
    assert builtins.run("sklearn", "train", root) == 2
    assert failure_of(root).startswith("ClientError: no entry point: set the hyperparameter sagemaker_program")
    root = container(tmp_path, sdk_hyperparameters(sagemaker_program="fit.py", sagemaker_submit_directory=str(code)),
                     name="other")
    assert builtins.run("sklearn", "train", root) == 2
    assert "'fit.py' is not in the code directory (it holds: train.py)" in failure_of(root)


def test_python_m_charter_builtins_exits_with_the_scripts_code(tmp_path):
    code = sourcedir(tmp_path, {"train.py": "import sys\nprint('partial output', flush=True)\nsys.exit(5)\n"})
    root = container(tmp_path, sdk_hyperparameters(sagemaker_program="train.py", sagemaker_submit_directory=str(code)))
    done = subprocess.run([sys.executable, "-m", "charter.builtins", "sklearn", "train", str(root)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 5, done.stderr
    assert "partial output" in done.stdout
    assert failure_of(root).startswith("AlgorithmError: ExecuteUserScriptError:\nExitCode 5\n")
    assert "Reporting training FAILURE" in done.stderr


STOPPABLE_SCRIPT = """\
import os, signal, sys, time
def stop(*_):
    open(os.path.join(os.environ["SM_MODEL_DIR"], "checkpoint"), "w").write("saved")
    sys.exit(143)
signal.signal(signal.SIGTERM, stop)
print("epoch 1 done", flush=False)  # PYTHONUNBUFFERED: it reaches the log now, not at exit
time.sleep(60)
"""


def test_lines_arrive_as_printed_and_sigterm_reaches_the_script(tmp_path):
    code = sourcedir(tmp_path, {"train.py": STOPPABLE_SCRIPT})
    root = container(tmp_path, sdk_hyperparameters(sagemaker_program="train.py", sagemaker_submit_directory=str(code)))
    job = subprocess.Popen([sys.executable, "-m", "charter.builtins", "sklearn", "train", str(root)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert job.stdout.readline() == "epoch 1 done\n"  # while the script still runs
        os.kill(job.pid, signal.SIGTERM)  # StopTrainingJob, sent to the container's process only
        job.wait(timeout=30)
    finally:
        if job.poll() is None:
            os.killpg(job.pid, signal.SIGKILL)
    job.stdout.close()
    job.stderr.close()
    assert job.returncode == 143
    assert (root / "opt/ml/model/checkpoint").read_text() == "saved"


# -- requirements.txt -----------------------------------------------------------------------------

def _wheel(name: str, version: str, module_source: str) -> tuple[str, bytes]:
    """A pure-Python wheel, built by hand so pip installs it without a network or a build."""
    dist = f"{name}-{version}.dist-info"
    files = {f"{name}/__init__.py": module_source.encode(),
             f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode(),
             f"{dist}/WHEEL": b"Wheel-Version: 1.0\nGenerator: charter-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}

    def row(path: str, data: bytes) -> str:
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        return f"{path},sha256={digest},{len(data)}"

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as wheel:
        for path, data in files.items():
            wheel.writestr(path, data)
        wheel.writestr(f"{dist}/RECORD", "\n".join(row(p, d) for p, d in files.items()) + f"\n{dist}/RECORD,,\n")
    return f"{name}-{version}-py3-none-any.whl", buffer.getvalue()


REQUIREMENTS_SCRIPT = DUMP_SCRIPT + ("import importlib.util, tinypkg\n"
                                     "print('tinypkg', tinypkg.VALUE, 'sklearn', importlib.util.find_spec('sklearn').origin)\n")


def test_requirements_are_installed_once_and_the_environment_reused(tmp_path, monkeypatch, capfd):
    cache = tmp_path / "venvs"
    monkeypatch.setenv("CHARTER_VENV_CACHE", str(cache))
    wheel, data = _wheel("tinypkg", "0.1", "VALUE = 42\n")
    code = sourcedir(tmp_path, {"train.py": REQUIREMENTS_SCRIPT, f"wheels/{wheel}": data,
                                "requirements.txt": "--no-index\n--find-links ./wheels\ntinypkg==0.1\n"})

    first = container(tmp_path, sdk_hyperparameters(sagemaker_program="train.py", sagemaker_submit_directory=str(code)),
                      name="first")
    assert builtins.run("sklearn", "train", first) == 0
    out, err = capfd.readouterr()
    assert "tinypkg 42 sklearn" in out  # the user's package and the framework's, side by side
    assert "Successfully installed tinypkg-0.1" in out + err
    (link,) = [p for p in cache.iterdir() if p.is_symlink()]
    built = link.resolve()
    assert record_of(first)["prefix"] == str(built)
    marker = built / ".charter-requirements"
    stamp = marker.stat().st_mtime_ns

    second = container(tmp_path, sdk_hyperparameters(sagemaker_program="train.py", sagemaker_submit_directory=str(code)),
                       name="second")
    assert builtins.run("sklearn", "train", second) == 0
    out, err = capfd.readouterr()
    assert "tinypkg 42" in out and "Successfully installed" not in out + err
    assert "Reusing the environment" in err
    assert record_of(second)["prefix"] == str(built)
    assert sorted(p.name for p in cache.iterdir()) == sorted([link.name, built.name])  # nothing rebuilt
    assert marker.stat().st_mtime_ns == stamp

    # A different requirements.txt is a different environment; without the cache it is the job's own.
    monkeypatch.delenv("CHARTER_VENV_CACHE")
    third = container(tmp_path, sdk_hyperparameters(sagemaker_program="train.py", sagemaker_submit_directory=str(code)),
                      name="third")
    assert builtins.run("sklearn", "train", third) == 0
    assert record_of(third)["prefix"] == str(third / "opt/ml/.venv")


def test_jobs_racing_to_build_one_environment_share_the_winners(tmp_path):
    both_building = threading.Barrier(2)
    results = []

    def build(directory: Path) -> None:
        both_building.wait(timeout=10)
        (directory / "built-by").write_text(threading.current_thread().name)

    def job() -> None:
        results.append(requirements.cached(tmp_path, "key", build))

    threads = [threading.Thread(target=job, name=f"job{i}") for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    (path_a, reused_a), (path_b, reused_b) = results
    assert path_a == path_b == (tmp_path / "key").resolve()
    assert sorted([reused_a, reused_b]) == [False, True]
    assert len([p for p in tmp_path.iterdir() if not p.is_symlink()]) == 1  # the loser's build is gone


def test_a_failed_install_fails_the_job_like_sagemaker(tmp_path, monkeypatch):
    monkeypatch.setenv("CHARTER_VENV_CACHE", str(tmp_path / "venvs"))
    code = sourcedir(tmp_path, {"train.py": "pass\n", "requirements.txt": "--no-index\nno-such-package-xyz==1.0\n"})
    root = container(tmp_path, sdk_hyperparameters(sagemaker_program="train.py", sagemaker_submit_directory=str(code)))
    with pytest.raises(InstallRequirementsError) as failure:
        builtins.run("sklearn", "train", root)
    assert failure.value.code == 1
    reason = failure_of(root)
    assert reason.startswith("AlgorithmError: InstallRequirementsError:\nExitCode 1\nErrorMessage \"")
    assert "no-such-package-xyz" in reason and reason.endswith('-m pip install -r requirements.txt"')
    assert [p for p in (tmp_path / "venvs").iterdir()] == []  # a failed build is not published


# -- real training --------------------------------------------------------------------------------

SKLEARN_SCRIPT = """\
import argparse, os
import joblib
import pandas as pd
from sklearn.compose import make_column_transformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

parser = argparse.ArgumentParser()
parser.add_argument("--n-estimators", type=int, default=100)
parser.add_argument("--max-depth", type=int, default=None)
parser.add_argument("--model-dir", default=os.environ["SM_MODEL_DIR"])
parser.add_argument("--train", default=os.environ["SM_CHANNEL_TRAIN"])
parser.add_argument("--validation", default=os.environ["SM_CHANNEL_VALIDATION"])
args = parser.parse_args()

columns = COLUMNS
read = lambda folder: pd.read_csv(os.path.join(folder, "adult.csv"), names=columns, skipinitialspace=True)
train, validation = read(args.train), read(args.validation)
categorical = [c for c in columns[:-1] if not pd.api.types.is_numeric_dtype(train[c])]
model = make_pipeline(
    make_column_transformer((OneHotEncoder(handle_unknown="ignore"), categorical), remainder="passthrough"),
    RandomForestClassifier(n_estimators=args.n_estimators, max_depth=args.max_depth, random_state=0, n_jobs=1))
model.fit(train[columns[:-1]], train["income"])
print(f"validation:accuracy={model.score(validation[columns[:-1]], validation['income']):.4f}")
joblib.dump(model, os.path.join(args.model_dir, "model.joblib"))
""".replace("COLUMNS", repr(ADULT_COLUMNS))


def test_sklearn_trains_on_adult_and_writes_model_joblib(tmp_path, capfd):
    try:
        lines = data_file("adult", "adult.data").read_text().splitlines()
    except DataUnavailable as missing:
        pytest.skip(f"real data not available: {missing}")
    train, validation = "\n".join(lines[:3000]) + "\n", "\n".join(lines[3000:4500]) + "\n"
    code = sourcedir(tmp_path, {"train.py": SKLEARN_SCRIPT})
    root = container(tmp_path, sdk_hyperparameters(sagemaker_program="train.py", sagemaker_submit_directory=str(code),
                                                   **{"n-estimators": 50, "max-depth": 12}),
                     {"train": {"adult.csv": train}, "validation": {"adult.csv": validation}})

    assert builtins.run("sklearn", "train", root) == 0

    out, _ = capfd.readouterr()
    accuracy = float(out.split("validation:accuracy=")[1].split()[0])
    assert accuracy > 0.80  # the majority class alone scores about 0.76
    import joblib
    import pandas as pd

    model = joblib.load(root / "opt/ml/model/model.joblib")
    rows = pd.read_csv(io.StringIO(validation), names=ADULT_COLUMNS, skipinitialspace=True)
    assert model.score(rows[ADULT_COLUMNS[:-1]], rows["income"]) == pytest.approx(accuracy, abs=1e-4)


# -- PyTorch ----------------------------------------------------------------------------------------

TORCH_SCRIPT = DUMP_SCRIPT + """\
import torch, torch.distributed as dist
dist.init_process_group("gloo")
total = torch.tensor([float(dist.get_rank() + 1)])
dist.all_reduce(total)
print(f"rank {dist.get_rank()} of {dist.get_world_size()} sum {total.item():g} local {os.environ.get('LOCAL_RANK')}")
dist.destroy_process_group()
"""


def _environment(hosts: list[str], current: str, **framework_params) -> TrainingEnvironment:
    config = {"current_host": current, "hosts": hosts, "network_interface_name": "eth0",
              "current_group_name": "homogeneousCluster",
              "instance_groups": [{"instance_group_name": "homogeneousCluster", "instance_type": "ml.g5.xlarge",
                                   "hosts": hosts}]}
    return TrainingEnvironment(Path("/opt/ml"), {"epochs": 2}, framework_params, config, {}, num_gpus=4)


def test_pytorch_distribution_starts_torchrun_as_the_pytorch_image_does():
    env = _environment(["algo-1", "algo-2", "algo-3"], "algo-2", sagemaker_torch_distributed_enabled=True)
    started = launch(env, "/py", "train.py", EntryPointType.PYTHON_PROGRAM, ["--epochs", "2"], Log())
    assert started.command == ["/py", "-m", "torch.distributed.run", "--nnodes", "3", "--nproc_per_node", "4",
                               "--master_addr", "algo-1", "--master_port", "7777", "--node_rank", "1",
                               "train.py", "--epochs", "2"]
    assert {k: started.env[k] for k in ("MASTER_ADDR", "MASTER_PORT", "NCCL_SOCKET_IFNAME", "NCCL_IB_DISABLE")} == {
        "MASTER_ADDR": "algo-1", "MASTER_PORT": "7777", "NCCL_SOCKET_IFNAME": "eth0", "NCCL_IB_DISABLE": "1"}
    assert "WORLD_SIZE" not in started.env  # torchrun gives each worker its own

    # Without distribution each host runs the script once, told its place for env:// initialisation.
    plain = launch(_environment(["algo-1", "algo-2"], "algo-2"), "/py", "train.py", EntryPointType.PYTHON_PROGRAM,
                   [], Log())
    assert plain.command is None
    assert (plain.env["MASTER_ADDR"], plain.env["MASTER_PORT"], plain.env["WORLD_SIZE"], plain.env["RANK"]) == (
        "algo-1", "7777", "2", "1")
    with pytest.raises(builtins.ClientError, match="torch_distributed runs a Python script"):
        launch(env, "/py", "train.sh", EntryPointType.COMMAND, [], Log())


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the store binds: TIME_WAIT is no obstacle
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def test_pytorch_trains_across_two_hosts_with_torchrun(tmp_path):
    pytest.importorskip("torch")
    if not _port_free(7777):
        pytest.skip("port 7777 (the PyTorch image's MASTER_PORT) is in use")
    # Two "hosts" on this machine, named so that each resolves: the first sorted is the master.
    hosts = ["127.0.0.1", "localhost"]
    code = sourcedir(tmp_path, {"train.py": TORCH_SCRIPT})
    hps = sdk_hyperparameters(sagemaker_program="train.py", sagemaker_submit_directory=str(code),
                              sagemaker_torch_distributed_enabled=True, epochs=1)
    roots, children = [], []
    env = dict(os.environ, OMP_NUM_THREADS="1")
    for host in hosts:
        config = {"current_host": host, "hosts": hosts, "network_interface_name": "lo",
                  "current_group_name": "homogeneousCluster",
                  "instance_groups": [{"instance_group_name": "homogeneousCluster", "instance_type": "ml.c5.xlarge",
                                       "hosts": hosts}]}
        root = container(tmp_path, hps, resource_config=config, name=host)
        roots.append(root)
        children.append(subprocess.Popen([sys.executable, "-m", "charter.builtins", "pytorch", "train", str(root)],
                                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env))
    outputs = [child.communicate(timeout=120) for child in children]
    for child, (_, err) in zip(children, outputs, strict=True):
        assert child.returncode == 0, err[-3000:]
    assert "rank 0 of 2 sum 3 local 0" in outputs[0][0]
    assert "rank 1 of 2 sum 3 local 0" in outputs[1][0]
    torchrun = "--nnodes 2 --nproc_per_node 1 --master_addr 127.0.0.1 --master_port 7777 --node_rank 1 train.py --epochs 1"
    assert torchrun in outputs[1][1]
    assert record_of(roots[1])["argv"] == ["--epochs", "1"]
