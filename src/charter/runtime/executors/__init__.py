"""Executors: where a job's hosts run (ARCHITECTURE.md rule 3).

The job engine hands an executor a :class:`Launch` (one :class:`HostLaunch` per
host ``algo-1`` .. ``algo-N``, the instance type, isolation, time limits) and
from then on follows the job only through the :class:`Executor` protocol:

* ``admit`` reserves the job's instance type from the capacity it has, or says
  there is no room yet (the job stays queued);
* ``submit`` starts every host and answers a *handle*: plain JSON the engine
  keeps in the job's document, so that after a restart ``recover`` can find the
  hosts again from the handle alone;
* ``poll`` says, for each host, whether it still runs and how it ended;
* ``stop`` asks every host to stop (SIGTERM, then SIGKILL after the grace period);
* ``read_logs`` gives the lines each host wrote since the offsets the engine
  last stored, and the new offsets, so no line is shipped twice or lost;
* ``recover`` re-attaches to a job submitted by an earlier server process:
  ``running`` (follow it on), ``ended`` (collect what it left) or ``lost``;
* ``collect`` brings each ended host's tree back into its ``HostLaunch.directory``
  on this machine (nothing to do where the hosts ran here), so the engine uploads
  outputs the same way whatever ran them.

:class:`~.local.LocalExecutor` runs hosts as process trees on this machine;
:class:`~.ray.RayExecutor` runs each host as a detached actor on a node of a Ray
cluster, which starts it the way LocalExecutor does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from ..instance_types import InstanceType

#: The token in a command that stands for the container root (``/`` inside a sandbox).
ROOT = "{container_root}"


@dataclass
class HostLaunch:
    name: str  # algo-1
    directory: Path  # holds this host's opt/ml tree, its log and its exit record
    command: list[str]  # argv as the container sees it: /opt/ml paths, ROOT for the root
    environment: dict[str, str]


@dataclass
class Launch:
    job_arn: str
    hosts: list[HostLaunch]
    instance_type: InstanceType
    isolated: bool = False
    max_runtime_seconds: float | None = None
    grace_seconds: float = 120.0
    started_at: float | None = None  # the job's start: MaxRuntime counts from it, across restarts


@dataclass
class HostState:
    name: str
    running: bool
    exit_code: int | None = None
    signal: int | None = None
    reason: str | None = None  # OutOfMemory, MaxRuntimeExceeded, Stopped, StartFailed, Lost
    message: str | None = None
    peak_memory_bytes: int = 0


@dataclass
class LogChunk:
    host: str
    lines: list[tuple[int, str]] = field(default_factory=list)  # (timestamp ms, text)
    offset: int = 0  # where the next read starts


def recovery(states: list[HostState]) -> str:
    """What ``Executor.recover`` answers for hosts in ``states``: running, lost or ended."""
    if any(s.running for s in states):
        return "running"
    if any(s.reason == "Lost" for s in states):
        return "lost"
    return "ended"


class Executor(Protocol):
    name: str

    def admit(self, job_arn: str, instance_type: InstanceType, count: int) -> bool: ...

    def release(self, job_arn: str) -> None: ...

    def submit(self, launch: Launch) -> dict: ...

    def poll(self, handle: dict) -> list[HostState]: ...

    def wait(self, handle: dict, seconds: float) -> None:
        """Block for at most ``seconds``, returning early when a host may have ended."""
        ...

    def stop(self, handle: dict) -> None: ...

    def read_logs(self, handle: dict, offsets: dict[str, int], *, final: bool = False) -> list[LogChunk]: ...

    def recover(self, handle: dict) -> str: ...

    def collect(self, handle: dict) -> None: ...
