"""The engines that run training and processing jobs, started with the server.

Both kinds share one executor per installation, so that together they never
reserve more of the machine (or the cluster) than there is.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from . import background
from .engine import Engine
from .jobs import PROCESSING, TRAINING, ContainerJobs

if TYPE_CHECKING:  # pragma: no cover
    from ..instance import Instance
    from .executors import Executor

MAX_ATTEMPTS = 5  # server restarts a running job survives (each re-attach is an attempt)
_lock = threading.Lock()


def executor_for(instance: "Instance") -> "Executor":
    """The installation's executor: a RayExecutor on the cluster at ``Settings.ray_address`` when one is
    set, else a LocalExecutor over this machine's CPUs and memory."""
    with _lock:
        executor = instance.__dict__.get("_job_executor")
        if executor is None:
            settings = instance.settings
            if settings.ray_address:
                from .executors.ray import RayExecutor  # imports Ray: only where a cluster is configured

                executor = RayExecutor(settings.ray_address)
            else:
                from .executors.local import LocalExecutor

                executor = LocalExecutor(cpus=settings.local_cpus, memory_mib=settings.local_memory_mib)
            instance.__dict__["_job_executor"] = executor
        return executor


def _engine(instance: "Instance", kind) -> Engine:
    settings = instance.settings
    runner = ContainerJobs(instance, kind, executor_for(instance), poll=settings.job_poll_seconds)
    return Engine(instance, runner, lease=settings.job_lease_seconds, poll=1.0, max_attempts=MAX_ATTEMPTS)


@background("training-jobs")
def TrainingJobWorker(instance: "Instance") -> Engine:
    return _engine(instance, TRAINING)


@background("processing-jobs")
def ProcessingJobWorker(instance: "Instance") -> Engine:
    return _engine(instance, PROCESSING)
