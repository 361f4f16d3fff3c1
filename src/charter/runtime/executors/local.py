"""LocalExecutor: each host of a job a process tree on this machine, bounded like its instance type.

Capacity is this machine's CPUs and memory (``Settings.local_cpus`` and
``local_memory_mib`` to declare less or more).  A job is admitted when its
instance type times its instance count fits in what running jobs leave free; a
job bigger than the whole machine runs when it would be alone.  Each host gets
CPUs of its own (its process tree is pinned to them, ``sched_setaffinity``) and a
memory limit of its instance type's memory, enforced by its supervisor
(:mod:`.supervise`): cgroups v2 where the machine delegates them, else by
watching the tree's resident memory and killing it over the limit.

Where the machine allows it (root, util-linux ``unshare``), each host runs in
mount and UTS namespaces of its own (:mod:`.sandbox`): its tree at ``/opt/ml``,
its name ``algo-N``, the job's hosts in ``/etc/hosts``.  Network isolation adds a
network namespace with loopback only (one shared by the job's hosts, so they
still reach each other).  Without namespaces a host runs in its directory with
``SAGEMAKER_BASE_DIR`` pointing there and ``/opt/ml`` in its command rewritten;
a job that asks for network isolation then fails rather than run unisolated.

A supervisor runs in a session of its own and outlives the server; the handle
names each supervisor by pid *and* start time, so a restarted server re-attaches
to the same processes (and never to a recycled pid).
"""

from __future__ import annotations

import functools
import json
import logging
import os
import select
import shutil
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import psutil

from ..instance_types import InstanceType
from . import ROOT, HostLaunch, HostState, Launch, LogChunk, recovery
from .inherited import inherited
from .supervise import EXIT_FILE, PLAN_FILE, write_json

log = logging.getLogger("charter.executor.local")

LOG_FILE = "output.log"
MAX_READ = 1024 * 1024  # bytes of log read per host per call
CONTAINER_ML = "/opt/ml"


class IsolationUnavailable(RuntimeError):
    """Network isolation was asked for on a machine where Charter cannot make network namespaces."""


@functools.lru_cache(maxsize=None)
def namespaces_available() -> bool:
    """Whether jobs can get mount, UTS and network namespaces here (root and ``unshare``)."""
    if sys.platform != "linux" or shutil.which("unshare") is None or os.geteuid() != 0:
        return False
    try:
        Path(CONTAINER_ML).mkdir(parents=True, exist_ok=True)
        probe = subprocess.run(
            ["unshare", "--mount", "--uts", "--net", "--fork", "true"], capture_output=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return probe.returncode == 0


@dataclass
class _Reservation:
    cpus: list[int]
    memory_mib: int


def host_address(index: int) -> str:
    """The loopback address of host ``algo-<index>`` (1-based): 127.0.0.<index+1>, all on ``lo``."""
    return f"127.0.0.{index + 1}"


class LocalExecutor:
    name = "local"

    def __init__(self, *, cpus: int | None = None, memory_mib: int | None = None, python: str | None = None,
                 watch_seconds: float = 0.5):
        available = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else list(range(os.cpu_count() or 1))
        count = cpus or len(available)
        # Declaring more CPUs than there are lets jobs share them (each is still pinned to its slots' CPUs).
        self.cpu_ids = [available[i % len(available)] for i in range(count)]
        self.memory_mib = memory_mib or psutil.virtual_memory().total // (1024 * 1024)
        self.python = python or sys.executable
        self.watch_seconds = watch_seconds
        self._reserved: dict[str, _Reservation] = {}
        self._lock = threading.Lock()

    # --- capacity

    def _free_slots(self) -> list[int]:
        taken = {slot for r in self._reserved.values() for slot in r.cpus}
        return [slot for slot in range(len(self.cpu_ids)) if slot not in taken]

    def admit(self, job_arn: str, instance_type: InstanceType, count: int) -> bool:
        with self._lock:
            if job_arn in self._reserved:
                return True
            want_cpus = min(instance_type.vcpus * count, len(self.cpu_ids))
            want_memory = min(instance_type.memory_mib * count, self.memory_mib)
            free = self._free_slots()
            used_memory = sum(r.memory_mib for r in self._reserved.values())
            if self._reserved and (len(free) < want_cpus or self.memory_mib - used_memory < want_memory):
                return False
            # Alone, a job bigger than the machine gets all of it.
            slots = free[:want_cpus] if len(free) >= want_cpus else free
            self._reserved[job_arn] = _Reservation(slots, want_memory)
            return True

    def release(self, job_arn: str) -> None:
        with self._lock:
            self._reserved.pop(job_arn, None)

    def reserved(self) -> dict[str, int]:
        with self._lock:
            return {arn: len(r.cpus) for arn, r in self._reserved.items()}

    def _host_cpus(self, job_arn: str, index: int, count: int) -> list[int]:
        with self._lock:
            reservation = self._reserved.get(job_arn)
        if not reservation or not reservation.cpus:
            return []
        slots = reservation.cpus
        share = max(1, len(slots) // count)
        mine = slots[index * share:(index + 1) * share] or slots
        return sorted({self.cpu_ids[s] for s in mine})

    # --- running

    def submit(self, launch: Launch) -> dict:
        sandboxed = namespaces_available()
        if launch.isolated and not sandboxed:
            raise IsolationUnavailable(
                "EnableNetworkIsolation needs Linux network namespaces, which Charter can make only when it runs "
                "as root with util-linux's unshare installed; run the server as root, or create the job without "
                "network isolation."
            )
        started = launch.started_at or time.time()
        deadline = started + launch.max_runtime_seconds if launch.max_runtime_seconds else None
        netns = None
        if launch.isolated and len(launch.hosts) > 1:
            netns = f"charter-{uuid.uuid4().hex[:12]}"
            subprocess.run(["ip", "netns", "add", netns], check=True, capture_output=True)
            subprocess.run(["ip", "netns", "exec", netns, "ip", "link", "set", "lo", "up"], check=True,
                           capture_output=True)
        hosts = []
        for index, host in enumerate(launch.hosts):
            hosts.append(self._start_host(launch, host, index, sandboxed, deadline, netns))
        return {"Executor": self.name, "Hosts": hosts, "NetworkNamespace": netns, "StartedAt": started}

    def _hosts_file(self, launch: Launch, directory: Path) -> Path:
        lines = ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback"]
        lines += [f"{host_address(i)}\t{h.name}" for i, h in enumerate(launch.hosts)]
        path = directory / "hosts"
        path.write_text("\n".join(lines) + "\n")
        return path

    def _start_host(self, launch: Launch, host: HostLaunch, index: int, sandboxed: bool, deadline, netns) -> dict:
        directory = host.directory
        directory.mkdir(parents=True, exist_ok=True)
        opt_ml = directory / "opt" / "ml"
        opt_ml.mkdir(parents=True, exist_ok=True)
        environment = dict(host.environment)
        path = environment.get("PATH") or inherited().get("PATH", "/usr/bin:/bin")
        environment["PATH"] = f"{Path(self.python).parent}{os.pathsep}{path}"
        environment.setdefault("PYTHONUNBUFFERED", "1")
        if sandboxed:
            command = [part.replace(ROOT, "/") for part in host.command]
            sandbox = {
                "opt_ml": str(opt_ml),
                "hosts_file": str(self._hosts_file(launch, directory)),
                "hostname": host.name,
                "loopback": launch.isolated and netns is None,
                "command": command,
                "cwd": CONTAINER_ML,
            }
            write_json(directory / "sandbox.json", sandbox)
            namespaces = ["--mount", "--uts"] + (["--net"] if launch.isolated and netns is None else [])
            argv = ["unshare", *namespaces, "--fork", "--kill-child", "--",
                    self.python, "-m", "charter.runtime.executors.sandbox", str(directory / "sandbox.json")]
            if netns:
                argv = ["nsenter", f"--net=/run/netns/{netns}", *argv]
        else:
            # No namespaces: the tree stays where it is and the toolkits' SAGEMAKER_BASE_DIR points there.
            root = str(directory)
            argv = [part.replace(ROOT, root).replace(CONTAINER_ML, str(opt_ml)) for part in host.command]
            environment = {k: v.replace(CONTAINER_ML, str(opt_ml)) for k, v in environment.items()}
            environment["SAGEMAKER_BASE_DIR"] = str(opt_ml)
        memory = min(launch.instance_type.memory_mib, self.memory_mib) * 1024 * 1024
        plan = {
            "dir": str(directory),
            "log": LOG_FILE,
            "command": argv,
            "environment": environment,
            "cwd": str(directory),
            "memory_bytes": memory,
            "grace_seconds": launch.grace_seconds,
            "deadline": deadline,
            "watch_seconds": self.watch_seconds,
            "cpus": self._host_cpus(launch.job_arn, index, len(launch.hosts)),
            "cgroup_name": f"{directory.parent.name}-{host.name}",
        }
        write_json(directory / PLAN_FILE, plan)
        (directory / LOG_FILE).touch()
        with open(directory / "supervisor.log", "ab") as supervisor_log:
            process = subprocess.Popen(
                [self.python, "-m", "charter.runtime.executors.supervise", str(directory / PLAN_FILE)],
                cwd=str(directory),
                stdin=subprocess.DEVNULL,
                stdout=supervisor_log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # the server may die; the job must not die with it
                env={"PATH": environment["PATH"], **inherited(("PYTHONPATH",))},
            )
        threading.Thread(target=process.wait, daemon=True, name=f"charter-reap-{process.pid}").start()
        return {"Name": host.name, "Directory": str(directory), "Pid": process.pid,
                "CreateTime": psutil.Process(process.pid).create_time()}

    @staticmethod
    def _alive(entry: dict) -> bool:
        try:
            process = psutil.Process(entry["Pid"])
            return abs(process.create_time() - entry["CreateTime"]) < 1.0 and process.status() != psutil.STATUS_ZOMBIE
        except psutil.Error:
            return False

    def poll(self, handle: dict) -> list[HostState]:
        states = []
        for entry in handle["Hosts"]:
            record_path = Path(entry["Directory"]) / EXIT_FILE
            if record_path.exists():
                record = json.loads(record_path.read_text())
                states.append(HostState(
                    entry["Name"], False, record.get("ExitCode"), record.get("Signal"), record.get("Reason"),
                    record.get("Message"), int(record.get("PeakMemoryBytes") or 0),
                ))
            elif self._alive(entry):
                states.append(HostState(entry["Name"], True))
            elif record_path.exists():  # it finished between the two looks
                return self.poll(handle)
            else:
                states.append(HostState(entry["Name"], False, None, None, "Lost",
                                        "the host's supervisor process ended without recording how the job ended"))
        if not any(s.running for s in states) and handle.get("NetworkNamespace"):
            subprocess.run(["ip", "netns", "delete", handle["NetworkNamespace"]], capture_output=True)
        return states

    def wait(self, handle: dict, seconds: float) -> None:
        """Return after ``seconds``, or as soon as one of the job's supervisors ends (a pidfd per supervisor,
        so the engine sees a job end without waiting out its poll interval)."""
        descriptors = []
        try:
            for entry in handle["Hosts"]:
                try:
                    descriptors.append(os.pidfd_open(entry["Pid"]))
                except ProcessLookupError:
                    return  # ended already: look now
                except (AttributeError, OSError):  # no pidfds here (an old kernel): wait the whole interval
                    time.sleep(seconds)
                    return
            # Checked after the pidfds are open, so that each names the supervisor and not a recycled pid.
            if descriptors and all(self._alive(entry) for entry in handle["Hosts"]):
                select.select(descriptors, [], [], seconds)
        finally:
            for descriptor in descriptors:
                os.close(descriptor)

    def stop(self, handle: dict) -> None:
        for entry in handle["Hosts"]:
            if self._alive(entry):
                try:
                    os.kill(entry["Pid"], 15)
                except ProcessLookupError:
                    pass

    def read_logs(self, handle: dict, offsets: dict[str, int], *, final: bool = False) -> list[LogChunk]:
        chunks = []
        for entry in handle["Hosts"]:
            name = entry["Name"]
            offset = int(offsets.get(name, 0))
            path = Path(entry["Directory"]) / LOG_FILE
            try:
                with open(path, "rb") as handle_file:
                    handle_file.seek(offset)
                    data = handle_file.read(MAX_READ)
            except FileNotFoundError:
                data = b""
            if not final or len(data) == MAX_READ:
                cut = data.rfind(b"\n") + 1
                if cut == 0 and len(data) == MAX_READ:
                    cut = len(data)  # one enormous line: ship it in pieces rather than never
                data = data[:cut]
            now = int(time.time() * 1000)
            text = data.decode("utf-8", errors="replace")
            lines = text.split("\n")
            if lines and lines[-1] == "":
                lines.pop()
            chunks.append(LogChunk(name, [(now, line.rstrip("\r")) for line in lines], offset + len(data)))
        return chunks

    def recover(self, handle: dict) -> str:
        return recovery(self.poll(handle))

    def collect(self, handle: dict) -> None:
        """The hosts ran here: their trees already are where the engine collects them."""
