"""PyTorch across hosts, as SageMaker's PyTorch training container sets it up.

For every job the PyTorch image exports ``MASTER_ADDR`` (the first host of the
distribution group, ``algo-1``), ``MASTER_PORT=7777`` and NCCL settings
(``NCCL_SOCKET_IFNAME`` from resourceconfig, ``NCCL_IB_DISABLE=1``, ``NCCL_DEBUG=WARN``),
plus ``SM_DLC_TORCH_VERSION``.  When the estimator's ``distribution`` turns on
``torch_distributed`` (``sagemaker_torch_distributed_enabled``) — or data-parallel
(``sagemaker_distributed_dataparallel_enabled``, ``sagemaker_pytorch_ddp_enabled``), whose
smddp library Charter does not have, so it gets the same native launcher — each host runs

    torchrun --nnodes N --nproc_per_node P [--master_addr M --master_port 7777 --node_rank I] entry args

(the multi-node options only when N > 1), with P the GPUs (else Neuron cores, else 1) per
host unless ``sagemaker_mpi_num_of_processes_per_host`` says otherwise.  Without such a
flag the script runs once per host; Charter then also exports ``WORLD_SIZE`` and ``RANK``
(host count and index) on multi-host jobs, so a script's own
``torch.distributed.init_process_group()`` with the default ``env://`` method works.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Sequence
from dataclasses import dataclass, field

from .. import ClientError
from .environment import TrainingEnvironment
from .logs import Log
from .network import resolves
from .runner import EntryPointType

__all__ = ["MASTER_PORT", "Launch", "launch"]

MASTER_PORT = "7777"
_TORCHRUN_FLAGS = (
    "sagemaker_torch_distributed_enabled",
    "sagemaker_distributed_dataparallel_enabled",
    "sagemaker_pytorch_ddp_enabled",
)


@dataclass(frozen=True)
class Launch:
    """How to start the entry point: the command (``None``: the plain one) and extra variables."""

    command: list[str] | None
    env: dict[str, str] = field(default_factory=dict)


def _processes_per_host(env: TrainingEnvironment) -> int:
    configured = env.framework_params.get("sagemaker_mpi_num_of_processes_per_host")
    if configured:
        return int(configured)
    return env.num_gpus or env.num_neurons or 1


def _torch_version() -> str | None:
    try:
        return importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:
        return None


def launch(env: TrainingEnvironment, python: str, entry: str, kind: EntryPointType, args: Sequence[str],
           log: Log) -> Launch:
    """The PyTorch image's way to start ``entry`` in ``env`` (see the module docstring)."""
    hosts = env.distribution_hosts or env.hosts
    master = env.master_hostname
    if len(env.hosts) == 1 and not resolves(master):
        # One host is its own master; without the platform's host names (a job run by hand)
        # algo-1 may not resolve, and loopback reaches the same process group.
        master = "127.0.0.1"
    extra = {
        "NCCL_SOCKET_IFNAME": env.network_interface_name,
        "NCCL_IB_DISABLE": "1",
        "NCCL_DEBUG": "WARN",
        "MASTER_ADDR": master,
        "MASTER_PORT": MASTER_PORT,
    }
    version = _torch_version()
    if version:
        extra["SM_DLC_TORCH_VERSION"] = version

    params = env.framework_params
    distributed = env.current_instance_group in env.distribution_instance_groups
    if distributed and params.get("sagemaker_mpi_enabled"):
        log.warning("MPI distribution (mpirun) is not available in Charter; running the script once per host")
    elif distributed and any(params.get(flag) for flag in _TORCHRUN_FLAGS):
        if kind is not EntryPointType.PYTHON_PROGRAM:
            raise ClientError("torch_distributed runs a Python script: make the entry point a .py file "
                              "(packages and shell scripts are not supported with torchrun)")
        extra["NCCL_PROTO"] = "simple"
        command = [python, "-m", "torch.distributed.run", "--nnodes", str(len(hosts)),
                   "--nproc_per_node", str(_processes_per_host(env))]
        if len(hosts) > 1:
            command += ["--master_addr", master, "--master_port", MASTER_PORT,
                        "--node_rank", str(hosts.index(env.current_host))]
        log.info("Starting distributed training through torchrun")
        return Launch(command + [entry] + list(args), extra)

    if len(env.hosts) > 1:
        extra["WORLD_SIZE"] = str(len(env.hosts))
        extra["RANK"] = str(env.hosts.index(env.current_host))
    return Launch(None, extra)
