"""The training environment script mode hands the user's process: paths, hosts, hyperparameters.

specs/containers.md, section 2.  :func:`load` reads the three configuration files under
``root/opt/ml/input/config``, decodes the hyperparameters and splits off the reserved
``sagemaker_*`` keys (step 2); :meth:`TrainingEnvironment.process_env` is what the
toolkit exports to the entry point: one ``SM_<KEY>`` variable per entry of the spec's
table (strings as they are, anything else compact JSON with sorted keys, ``None``
empty), ``SM_TRAINING_ENV`` (the whole environment as one JSON object, under the keys
``sagemaker-training-toolkit`` uses), and ``SAGEMAKER_JOB_NAME``, ``CURRENT_HOST`` and
``SAGEMAKER_REGION``.

Every path is the real one under ``root/opt/ml`` (``/opt/ml`` itself when the job runs in a
mount namespace with root ``/``); ``SAGEMAKER_BASE_DIR`` carries the same base to code that
uses the toolkit's own path helpers.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import ClientError
from .arguments import decode, to_cmd_args

__all__ = [
    "DISTRIBUTION_FLAGS",
    "FRAMEWORK_MODULES",
    "RESERVED_KEYS",
    "TrainingEnvironment",
    "env_value",
    "load",
]

# The hyperparameters the toolkit itself consumes; together with every other key that starts
# with "sagemaker_" (framework and distribution settings) they never reach the user's script.
RESERVED_KEYS = (
    "sagemaker_program",
    "sagemaker_submit_directory",
    "sagemaker_enable_cloudwatch_metrics",
    "sagemaker_region",
    "sagemaker_container_log_level",
    "sagemaker_job_name",
    "default_user_module_name",
    "_tuning_objective_metric",
    "sagemaker_s3_output",
)
_RESERVED_PREFIX = "sagemaker_"

# SAGEMAKER_TRAINING_MODULE of the framework images Charter stands in for (their Dockerfiles'
# ENV); it is what SM_FRAMEWORK_MODULE reports.
FRAMEWORK_MODULES = {
    "sklearn": "sagemaker_sklearn_container.training:main",
    "pytorch": "sagemaker_pytorch_container.training:main",
    "xgboost": "sagemaker_xgboost_container.training:main",
}

# Framework parameters that turn distribution on for the current instance group.
DISTRIBUTION_FLAGS = (
    "sagemaker_mpi_enabled",
    "sagemaker_parameter_server_enabled",
    "sagemaker_distributed_dataparallel_enabled",
    "sagemaker_pytorch_ddp_enabled",
    "sagemaker_pytorch_xla_multi_worker_enabled",
    "sagemaker_multi_worker_mirrored_strategy_enabled",
    "sagemaker_torch_distributed_enabled",
)

_DEFAULT_GROUP = "homogeneousCluster"


def env_value(value: Any) -> str:
    """One environment variable's value: strings as they are, ``None`` empty, bytes as
    Latin-1, anything else compact JSON with sorted keys (the toolkit's encoding)."""
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("latin1")
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def _read_json(path: Path, default: Any) -> Any:
    if not path.is_file():
        return default
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as error:
        raise ClientError(f"{path.name} is not valid JSON: {error}") from None


def detect_cpus() -> int:
    """The CPUs this process may run on (its affinity set, which an executor may narrow)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def detect_gpus(environ: Mapping[str, str]) -> int:
    """NVIDIA GPUs visible to the job: those ``CUDA_VISIBLE_DEVICES`` lists when it is set
    (an executor's assignment), else those ``nvidia-smi --list-gpus`` reports, else 0."""
    visible = environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        count = 0
        for entry in visible.split(","):
            entry = entry.strip()
            if not entry or entry.startswith("-"):  # CUDA stops at the first invalid index
                break
            count += 1
        return count
    if shutil.which("nvidia-smi") is None:
        return 0
    try:
        listing = subprocess.run(["nvidia-smi", "--list-gpus"], capture_output=True, text=True, timeout=30, check=True)
    except (OSError, subprocess.SubprocessError):
        return 0
    return sum(1 for line in listing.stdout.splitlines() if line.startswith("GPU "))


def detect_neurons() -> int:
    """AWS Neuron cores (``neuron-ls -j``), 0 where the Neuron tools are absent."""
    if shutil.which("neuron-ls") is None:
        return 0
    try:
        listing = subprocess.run(["neuron-ls", "-j"], capture_output=True, text=True, timeout=30, check=True)
        return sum(int(device.get("nc_count", 0)) for device in json.loads(listing.stdout))
    except (OSError, subprocess.SubprocessError, ValueError, TypeError, AttributeError):
        return 0


def _default_region() -> str:
    import boto3
    from botocore.exceptions import BotoCoreError

    try:
        return boto3.session.Session().region_name or ""
    except BotoCoreError:  # a broken AWS configuration: the toolkit then exports an empty region
        return ""


@dataclass(frozen=True)
class TrainingEnvironment:
    """A read-only snapshot of one training container's environment (specs/containers.md, section 2)."""

    base_dir: Path  # plays /opt/ml
    hyperparameters: dict[str, Any]  # the user's, decoded
    sagemaker_hyperparameters: dict[str, Any]  # every reserved key, decoded
    resource_config: dict[str, Any]
    input_data_config: dict[str, Any]
    framework_module: str | None = None
    job_name: str | None = None  # TRAINING_JOB_NAME
    region: str = ""
    num_cpus: int = 1
    num_gpus: int = 0
    num_neurons: int = 0
    program_override: str | None = field(default=None, repr=False)  # SAGEMAKER_PROGRAM
    modelparallel: bool = False

    # -- paths ---------------------------------------------------------------------------
    def _path(self, *parts: str) -> str:
        return str(self.base_dir.joinpath(*parts))

    @property
    def code_dir(self) -> Path:
        return self.base_dir / "code"

    @property
    def model_dir(self) -> str:
        return self._path("model")

    @property
    def input_dir(self) -> str:
        return self._path("input")

    @property
    def input_config_dir(self) -> str:
        return self._path("input", "config")

    @property
    def output_dir(self) -> str:
        return self._path("output")

    @property
    def output_data_dir(self) -> str:
        return self._path("output", "data")

    @property
    def output_intermediate_dir(self) -> str:
        return self._path("output", "intermediate")

    @property
    def channel_input_dirs(self) -> dict[str, str]:
        return {channel: self._path("input", "data", channel) for channel in self.input_data_config}

    # -- the reserved hyperparameters ------------------------------------------------------
    @property
    def framework_params(self) -> dict[str, Any]:
        """The ``sagemaker_*`` keys that are not the toolkit's own (distribution settings, ...)."""
        return {k: v for k, v in self.sagemaker_hyperparameters.items() if k not in RESERVED_KEYS}

    @property
    def user_entry_point(self) -> str | None:
        if self.program_override:
            return self.program_override
        program = self.sagemaker_hyperparameters.get("sagemaker_program")
        return None if program is None else str(program)

    @property
    def module_name(self) -> str | None:
        entry = self.user_entry_point
        return entry[:-3] if entry and entry.endswith(".py") else entry

    @property
    def module_dir(self) -> str:
        """Where the code comes from: ``sagemaker_submit_directory``, else the code directory."""
        return str(self.sagemaker_hyperparameters.get("sagemaker_submit_directory", self.code_dir))

    @property
    def log_level(self) -> int:
        level = self.sagemaker_hyperparameters.get("sagemaker_container_log_level", logging.INFO)
        try:
            return int(level)
        except (TypeError, ValueError):
            return logging.INFO

    @property
    def sagemaker_job_name(self) -> str:
        return str(self.sagemaker_hyperparameters.get("sagemaker_job_name", "") or "")

    # -- hosts and instance groups ---------------------------------------------------------
    @property
    def hosts(self) -> list[str]:
        hosts = self.resource_config.get("hosts")
        return list(hosts) if hosts else [self.current_host]

    @property
    def current_host(self) -> str:
        host = self.resource_config.get("current_host")
        if host:
            return str(host)
        hosts = self.resource_config.get("hosts") or ["algo-1"]
        return str(hosts[0])

    @property
    def network_interface_name(self) -> str:
        return str(self.resource_config.get("network_interface_name", "eth0"))

    @property
    def current_instance_type(self) -> str:
        return str(self.resource_config.get("current_instance_type", "local"))

    @property
    def current_instance_group(self) -> str:
        return str(self.resource_config.get("current_group_name", _DEFAULT_GROUP))

    @property
    def _groups(self) -> list[dict[str, Any]]:
        return list(self.resource_config.get("instance_groups") or [])

    @property
    def instance_groups(self) -> list[str]:
        return [group["instance_group_name"] for group in self._groups]

    @property
    def instance_groups_dict(self) -> dict[str, dict[str, Any]]:
        return {group["instance_group_name"]: group for group in self._groups}

    @property
    def current_instance_group_hosts(self) -> list[str]:
        for group in self._groups:
            if group["instance_group_name"] == self.current_instance_group:
                return list(group["hosts"])
        return []

    @property
    def is_hetero(self) -> bool:
        return len(self.instance_groups) > 1

    @property
    def distribution_instance_groups(self) -> list[str]:
        """The groups distribution applies to: as the SDK lists them, else the current group
        when any distribution flag is on, else none."""
        listed = self.framework_params.get("sagemaker_distribution_instance_groups")
        if listed is not None:
            return list(listed)
        if any(self.framework_params.get(flag, False) for flag in DISTRIBUTION_FLAGS):
            return [self.current_instance_group]
        return []

    @property
    def distribution_hosts(self) -> list[str]:
        if not self._groups:
            return self.hosts
        hosts: list[str] = []
        for group in self._groups:
            if group["instance_group_name"] in self.distribution_instance_groups:
                hosts.extend(group["hosts"])
        return hosts

    @property
    def master_hostname(self) -> str:
        return (self.distribution_hosts or self.hosts)[0]

    @property
    def is_master(self) -> bool:
        return self.current_host == self.master_hostname

    @property
    def topology(self) -> list[Any]:
        return list(self.resource_config.get("topology") or [])

    # -- what the user's process receives ---------------------------------------------------
    def to_cmd_args(self) -> list[str]:
        """The user's hyperparameters as the entry point's arguments (:mod:`.arguments`)."""
        return to_cmd_args(self.hyperparameters)

    def training_env(self) -> dict[str, Any]:
        """``SM_TRAINING_ENV``: the environment as one object, keyed as the toolkit keys it."""
        return {
            "additional_framework_parameters": self.framework_params,
            "channel_input_dirs": self.channel_input_dirs,
            "current_host": self.current_host,
            "current_instance_group": self.current_instance_group,
            "current_instance_group_hosts": self.current_instance_group_hosts,
            "current_instance_type": self.current_instance_type,
            "distribution_hosts": self.distribution_hosts,
            "distribution_instance_groups": self.distribution_instance_groups,
            "framework_module": self.framework_module,
            "hosts": self.hosts,
            "hyperparameters": self.hyperparameters,
            "input_config_dir": self.input_config_dir,
            "input_data_config": self.input_data_config,
            "input_dir": self.input_dir,
            "instance_groups": self.instance_groups,
            "instance_groups_dict": self.instance_groups_dict,
            "is_hetero": self.is_hetero,
            "is_master": self.is_master,
            "is_modelparallel_enabled": self.modelparallel,
            "is_smddpmprun_installed": shutil.which("smddpmprun") is not None,
            "is_smddprun_installed": shutil.which("smddprun") is not None,
            "job_name": self.job_name,
            "log_level": self.log_level,
            "master_hostname": self.master_hostname,
            "model_dir": self.model_dir,
            "module_dir": self.module_dir,
            "module_name": self.module_name,
            "network_interface_name": self.network_interface_name,
            "num_cpus": self.num_cpus,
            "num_gpus": self.num_gpus,
            "num_neurons": self.num_neurons,
            "output_data_dir": self.output_data_dir,
            "output_dir": self.output_dir,
            "output_intermediate_dir": self.output_intermediate_dir,
            "resource_config": self.resource_config,
            "topology": self.topology,
            "user_entry_point": self.user_entry_point,
        }

    def to_env_vars(self) -> dict[str, str]:
        """The ``SM_*`` variables of the spec's table, one per entry, encoded by :func:`env_value`."""
        entries: dict[str, Any] = {
            "hosts": self.hosts,
            "network_interface_name": self.network_interface_name,
            "hps": self.hyperparameters,
            "user_entry_point": self.user_entry_point,
            "framework_params": self.framework_params,
            "resource_config": self.resource_config,
            "input_data_config": self.input_data_config,
            "output_data_dir": self.output_data_dir,
            "channels": sorted(self.channel_input_dirs),
            "current_host": self.current_host,
            "current_instance_type": self.current_instance_type,
            "current_instance_group": self.current_instance_group,
            "current_instance_group_hosts": self.current_instance_group_hosts,
            "instance_groups": self.instance_groups,
            "instance_groups_dict": self.instance_groups_dict,
            "distribution_instance_groups": self.distribution_instance_groups,
            "is_hetero": self.is_hetero,
            "module_name": self.module_name,
            "log_level": self.log_level,
            "framework_module": self.framework_module,
            "input_dir": self.input_dir,
            "input_config_dir": self.input_config_dir,
            "output_dir": self.output_dir,
            "num_cpus": self.num_cpus,
            "num_gpus": self.num_gpus,
            "num_neurons": self.num_neurons,
            "model_dir": self.model_dir,
            "module_dir": self.module_dir,
            "training_env": self.training_env(),
            "user_args": self.to_cmd_args(),
            "output_intermediate_dir": self.output_intermediate_dir,
        }
        if self.topology:
            entries["topology"] = self.topology
        for channel, path in self.channel_input_dirs.items():
            entries[f"channel_{channel}"] = path
        for key, value in self.hyperparameters.items():
            entries[f"hp_{key}"] = value
        return {f"SM_{str(key).upper()}": env_value(value) for key, value in entries.items()}

    def process_env(self) -> dict[str, str]:
        """Everything script mode adds to the user process's environment: the ``SM_*``
        variables, the three the toolkit sets for itself, the framework module and the base
        directory."""
        env = self.to_env_vars()
        env["SAGEMAKER_JOB_NAME"] = self.sagemaker_job_name
        env["CURRENT_HOST"] = self.current_host
        env["SAGEMAKER_REGION"] = self.region
        env["SAGEMAKER_BASE_DIR"] = str(self.base_dir)
        if self.framework_module:
            env["SAGEMAKER_TRAINING_MODULE"] = self.framework_module
        return env


def load(root: Path, framework: str | None = None, environ: Mapping[str, str] | None = None) -> TrainingEnvironment:
    """The training environment of the container at ``root`` (``root/opt/ml`` plays ``/opt/ml``).

    ``framework`` (``sklearn``, ``pytorch``, ``xgboost``) names the image, whose training
    module ``SM_FRAMEWORK_MODULE`` reports unless ``SAGEMAKER_TRAINING_MODULE`` is set.
    Missing configuration files read as empty (one host, ``algo-1``); a file that is not JSON
    is a :class:`~charter.builtins.ClientError`.
    """
    environ = os.environ if environ is None else environ
    base = Path(root).absolute() / "opt" / "ml"
    config = base / "input" / "config"
    raw = _read_json(config / "hyperparameters.json", {})
    resource_config = _read_json(config / "resourceconfig.json", {})
    input_data_config = _read_json(config / "inputdataconfig.json", {})
    for name, value in (("hyperparameters.json", raw), ("resourceconfig.json", resource_config),
                        ("inputdataconfig.json", input_data_config)):
        if not isinstance(value, dict):
            raise ClientError(f"{name} must hold a JSON object, not {type(value).__name__}")
    values = decode(raw)
    reserved = {k: v for k, v in values.items() if k in RESERVED_KEYS or k.startswith(_RESERVED_PREFIX)}
    user = {k: v for k, v in values.items() if k not in reserved}
    region = reserved.get("sagemaker_region") or _default_region()
    mp_parameters = environ.get("SM_HP_MP_PARAMETERS")
    return TrainingEnvironment(
        base_dir=base,
        hyperparameters=user,
        sagemaker_hyperparameters=reserved,
        resource_config=resource_config,
        input_data_config=input_data_config,
        framework_module=environ.get("SAGEMAKER_TRAINING_MODULE") or FRAMEWORK_MODULES.get(framework or ""),
        job_name=environ.get("TRAINING_JOB_NAME"),
        region=str(region or ""),
        num_cpus=detect_cpus(),
        num_gpus=detect_gpus(environ),
        num_neurons=detect_neurons(),
        program_override=environ.get("SAGEMAKER_PROGRAM") or None,
        modelparallel=bool(mp_parameters and mp_parameters != "{}"),
    )
