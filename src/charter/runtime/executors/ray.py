"""RayExecutor: each host of a job a detached actor on a Ray cluster, running the host as LocalExecutor does.

For when one machine is not enough (ARCHITECTURE.md rule 3).  The server
connects to the cluster at ``Settings.ray_address`` (``CHARTER_RAY_ADDRESS``, or
``charter server --ray`` for a cluster of this machine's own) in the ``charter``
namespace.  For one job:

* **Capacity.**  ``admit`` reserves, from the cluster's CPUs and memory (what
  its live nodes declare), one share per host: the instance type's vCPUs and
  memory, capped by the biggest node.  A job bigger than the whole cluster runs
  when it would be alone, its hosts' shares shrunk evenly until they fit.
* **Placement.**  ``submit`` makes a placement group with one bundle per host
  (``SPREAD``: hosts land on different nodes when there are several, and share
  one node when there is only one; ``STRICT_PACK`` for a network-isolated job,
  whose hosts share one loopback-only network namespace), then one *detached*
  actor per host, named ``charter-<job>-<host>`` and scheduled in its bundle.
  Group and actors are detached so that they outlive the server process.
* **Staging.**  The engine staged each host's tree on the server's machine; an
  actor whose node sees that directory (the same machine, or a shared disk) uses
  it in place, any other gets it as a tar through the object store, in chunks,
  and lays it out under the node's temporary directory.
* **Starting.**  Once every actor has said which node IP it runs on, each host
  gets a hosts file naming ``algo-k`` as the IP of the node of host ``k``
  (specs/containers.md: the hosts resolve each other; a network-isolated job's
  hosts, all on one node, get LocalExecutor's loopback addresses in their shared
  namespace instead), and starts exactly as a LocalExecutor host does
  (:mod:`.supervise`, sandbox namespaces where the node allows them, pinned
  CPUs, a memory limit, SIGTERM then SIGKILL).
* **Following.**  ``poll``, ``stop`` and ``read_logs`` are calls to the actors,
  which answer from the supervisor's ``exit.json``, its liveness and the host's
  log file.  ``recover`` looks the actors up by name: a restarted server finds
  them, or (an actor gone with its node) calls the host lost.
* **Collecting.**  ``collect`` has each remote actor send back, as a tar, every
  file of its tree that is new or changed since staging (the model, outputs,
  checkpoints, the log and the exit record; never the staged input data), which
  is unpacked into the host's directory on the server; then the actors are
  killed and the placement group removed.

The handle (plain JSON) names the placement group, and for each host its
actor, node, node IP and directories, so another server process re-attaches
from the handle alone.  A handle a LocalExecutor made (a job that ran before the
installation moved to Ray) is followed by a LocalExecutor.

What needs the server's disk works only for hosts whose node sees it: Pipe
input mode (the server feeds the FIFOs) is refused for a shipped tree, and
checkpoints and ``Continuous`` outputs of a shipped host reach S3 when the job
ends rather than while it runs.  The server is a Ray driver, and Ray ends a
driver that cannot reach the cluster's GCS for ``gcs_rpc_server_reconnect_timeout_s``
(60 s by default): a head that is down longer takes the server with it (the jobs,
detached, go on; a restarted server re-attaches once the head answers again).
"""

from __future__ import annotations

import fcntl
import ipaddress
import json
import logging
import math
import os
import shutil
import socket
import stat
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psutil
import ray
from ray.exceptions import ActorUnavailableError, GetTimeoutError, RayActorError, RayError, RayTaskError
from ray.util.placement_group import get_placement_group, placement_group, remove_placement_group
from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

from ..instance_types import InstanceType
from . import HostLaunch, HostState, Launch, LogChunk, recovery
from .local import LOG_FILE, IsolationUnavailable, LocalExecutor, namespaces_available
from .supervise import EXIT_FILE, write_json

log = logging.getLogger("charter.executor.ray")

NAMESPACE = "charter"
MIB = 1024 * 1024
CHUNK = 32 * MIB  # bytes of a tree per object-store transfer
ORIGIN_FILE = ".charter-origin"  # written by the server into a host's directory; proves a node sees it
CALL_SECONDS = 60.0  # an actor that does not answer a poll or log read within this is asked again later
START_SECONDS = 300.0  # actors starting (a worker process each) on a busy cluster
PLACEMENT_SECONDS = 120.0
_RESOURCE_STEP = 1e-4  # Ray's resolution for fractional resources
UNANSWERED = object()  # an actor that did not answer this time


# --- sizes ------------------------------------------------------------------------


@dataclass(frozen=True)
class HostShare:
    """What one host of a job asks of the cluster: a bundle of CPUs, memory (bytes) and GPUs."""

    cpus: float
    memory_bytes: int
    gpus: int = 0

    def bundle(self) -> dict[str, float]:
        bundle = {"CPU": self.cpus, "memory": float(self.memory_bytes)}
        if self.gpus:
            bundle["GPU"] = float(self.gpus)
        return bundle


def _slots(nodes: list[dict], share: HostShare) -> int:
    """How many hosts of ``share`` the ``nodes`` hold at once."""
    total = 0
    for node in nodes:
        fits = [math.floor(node.get("CPU", 0) / share.cpus + 1e-9), math.floor(node.get("memory", 0) / share.memory_bytes + 1e-9)]
        if share.gpus:
            fits.append(math.floor(node.get("GPU", 0) / share.gpus + 1e-9))
        total += max(0, min(fits))
    return total


def host_share(instance_type: InstanceType, count: int, nodes: list[dict], *, one_node: bool = False) -> HostShare:
    """Each of ``count`` hosts' share of a cluster of ``nodes`` (each a dict of Ray resources: CPU, memory, GPU).

    The instance type's vCPUs, memory and GPUs, capped by the biggest node (a host runs on one node); when
    the cluster cannot hold ``count`` such hosts at once, CPUs and memory are scaled down together by the
    largest factor that makes them fit, so that a job bigger than the cluster still runs (alone).  With
    ``one_node`` every host must fit on one node (the biggest).
    """
    nodes = [n for n in nodes if n.get("CPU", 0) > 0 and n.get("memory", 0) > 0]
    if not nodes:
        raise RuntimeError("the Ray cluster has no node with CPUs and memory to run a job's hosts on")
    if one_node:
        nodes = [max(nodes, key=lambda n: (n["CPU"], n["memory"]))]
    cpus = min(float(instance_type.vcpus), max(n["CPU"] for n in nodes))
    memory = min(instance_type.memory_mib * MIB, max(n["memory"] for n in nodes))
    most_gpus = max(n.get("GPU", 0) for n in nodes)
    gpus = int(min(instance_type.gpus, most_gpus)) if instance_type.gpus and most_gpus else 0
    wanted = HostShare(cpus, int(memory), gpus)
    if _slots(nodes, wanted) >= count:
        return wanted
    # Scaling factors at which some node holds exactly k hosts: the best one is among them.
    factors = sorted({min(n["CPU"] / (k * cpus), n["memory"] / (k * memory))
                      for n in nodes for k in range(1, count + 1)}, reverse=True)
    for factor in factors:
        if factor >= 1:
            continue
        share = HostShare(max(_RESOURCE_STEP, math.floor(cpus * factor / _RESOURCE_STEP) * _RESOURCE_STEP),
                          max(MIB, int(memory * factor)), gpus)
        if _slots(nodes, share) >= count:
            return share
    return HostShare(_RESOURCE_STEP, MIB, gpus)


# --- on a node: one host ------------------------------------------------------------


def _node_root() -> Path:
    """Where hosts whose trees were shipped here live on this node."""
    return Path(tempfile.gettempdir()) / "charter-ray"


class _NodeCpus:
    """Which CPUs of this machine the hosts running on it are pinned to (a small registry in a locked file).

    Ray counts CPUs but does not say which ones a bundle holds; each host takes the least-used CPUs,
    so hosts of different jobs on one machine do not pile onto the same cores.
    """

    def __init__(self, root: Path):
        self.root = root

    def claim(self, count: int) -> list[int]:
        available = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
        if not available or count <= 0:
            return []
        me = psutil.Process()
        with self._locked() as claims:
            used: dict[int, int] = {}
            for claim in claims.values():
                for cpu in claim["Cpus"]:
                    used[cpu] = used.get(cpu, 0) + 1
            chosen = sorted(sorted(available, key=lambda cpu: (used.get(cpu, 0), cpu))[:count])
            claims[str(me.pid)] = {"CreateTime": me.create_time(), "Cpus": chosen}
        return chosen

    def release(self) -> None:
        with self._locked() as claims:
            claims.pop(str(os.getpid()), None)

    class _Registry:
        def __init__(self, path: Path):
            self.path = path

        def __enter__(self) -> dict:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.lock = open(self.path.with_suffix(".lock"), "a")
            fcntl.flock(self.lock, fcntl.LOCK_EX)
            try:
                claims = json.loads(self.path.read_text())
            except (OSError, ValueError):
                claims = {}
            self.claims = {pid: claim for pid, claim in claims.items() if _alive(int(pid), claim["CreateTime"])}
            return self.claims

        def __exit__(self, *exc) -> None:
            try:
                write_json(self.path, self.claims)
            finally:
                fcntl.flock(self.lock, fcntl.LOCK_UN)
                self.lock.close()

    def _locked(self) -> "_NodeCpus._Registry":
        return self._Registry(self.root / "cpus.json")


def _alive(pid: int, create_time: float) -> bool:
    try:
        return abs(psutil.Process(pid).create_time() - create_time) < 1.0
    except psutil.Error:
        return False


class _NodeStarter(LocalExecutor):
    """LocalExecutor's start of one host, on a node of the cluster: the CPUs, memory and peers' addresses given."""

    def __init__(self, cpus: list[int], memory_mib: int, addresses: dict[str, str] | None, watch_seconds: float):
        super().__init__(memory_mib=memory_mib, watch_seconds=watch_seconds)
        self._cpus = cpus
        self._addresses = addresses

    def _host_cpus(self, job_arn: str, index: int, count: int) -> list[int]:
        return self._cpus

    def _hosts_file(self, launch: Launch, directory: Path) -> Path:
        if self._addresses is None:  # one loopback-only network namespace: LocalExecutor's addresses
            return super()._hosts_file(launch, directory)
        lines = ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback"]
        lines += [f"{self._addresses[h.name]}\t{h.name}" for h in launch.hosts]
        path = directory / "hosts"
        path.write_text("\n".join(lines) + "\n")
        return path


def _keep_safe(member: tarfile.TarInfo, path: str) -> tarfile.TarInfo | None:
    """tarfile's ``data`` filter, skipping (rather than refusing the whole tar for) a member it rejects."""
    try:
        return tarfile.data_filter(member, path)
    except tarfile.FilterError:
        return None


def _files(directory: Path) -> dict[str, tuple[int, int]]:
    """Every regular file and symlink under ``directory``: relative path -> (size, mtime in ns)."""
    found = {}
    for folder, subfolders, names in os.walk(directory):
        for name in names + [d for d in subfolders if os.path.islink(os.path.join(folder, d))]:
            path = os.path.join(folder, name)
            info = os.lstat(path)
            if stat.S_ISREG(info.st_mode) or stat.S_ISLNK(info.st_mode):
                found[os.path.relpath(path, directory)] = (info.st_size, info.st_mtime_ns)
    return found


def _endpoint_here(endpoint: str, server_ip: str) -> str:
    """Charter's endpoint as a host on this node reaches it: a loopback URL that does not answer here (another
    machine) becomes the server machine's address (which answers where the server listens on it)."""
    parts = urlsplit(endpoint)
    try:
        loopback = parts.hostname == "localhost" or ipaddress.ip_address(parts.hostname or "").is_loopback
    except ValueError:
        loopback = False
    if not loopback or not parts.port:
        return endpoint
    try:
        with socket.create_connection((parts.hostname, parts.port), timeout=1):
            return endpoint  # the server's own machine (or its network namespace)
    except OSError:
        return urlunsplit(parts._replace(netloc=f"{server_ip}:{parts.port}"))


class HostActor:
    """One host of one job, on the node Ray placed it on (a detached actor, created by :class:`RayExecutor`)."""

    def __init__(self, job: str, host: str):
        self.job = job
        self.host = host
        self.directory: Path | None = None
        self.in_place = False
        self.entry: dict | None = None  # the supervisor, as LocalExecutor's handle names it
        self.staged: dict[str, tuple[int, int]] = {}
        self.netns: str | None = None
        self._cpus = _NodeCpus(_node_root())
        self._local = LocalExecutor()  # its poll, stop and log reading, on this host's directory

    def where(self, server_directory: str, origin: str | None) -> dict:
        """Where this host runs: node IP and id, and its directory (the server's own where this node sees it)."""
        marker = Path(server_directory) / ORIGIN_FILE
        try:
            self.in_place = origin is not None and marker.read_text() == origin
        except OSError:
            self.in_place = False
        if self.in_place:
            self.directory = Path(server_directory)
        else:
            self.directory = _node_root() / self.job / self.host
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory.mkdir(parents=True)
        return {"NodeIp": ray.util.get_node_ip_address(), "NodeId": ray.get_runtime_context().get_node_id(),
                "Directory": str(self.directory), "InPlace": self.in_place}

    def _part(self, name: str) -> Path:
        return self.directory.parent / f".{self.host}.{name}"

    def receive(self, chunk: bytes) -> None:
        """One more piece of the host's staged tree (a tar), in order."""
        with open(self._part("tree.tar"), "ab") as part:
            part.write(chunk)

    def unpack(self) -> None:
        """Lay the received tree out in this host's directory."""
        part = self._part("tree.tar")
        if part.exists():
            with tarfile.open(part) as archive:
                archive.extractall(self.directory, filter=_keep_safe)
            part.unlink()
        self.staged = _files(self.directory)

    def make_netns(self, name: str) -> None:
        """The loopback-only network namespace the hosts of a network-isolated job share (all on this node)."""
        subprocess.run(["ip", "netns", "add", name], check=True, capture_output=True)
        subprocess.run(["ip", "netns", "exec", name, "ip", "link", "set", "lo", "up"], check=True, capture_output=True)
        self.netns = name

    def start(self, launch: Launch, index: int, plan: dict) -> dict:
        """Start the host as LocalExecutor does; the supervisor's pid and start time."""
        sandboxed = namespaces_available()
        if launch.isolated and not sandboxed:
            raise IsolationUnavailable(
                f"EnableNetworkIsolation needs Linux network namespaces, which the Ray node at "
                f"{ray.util.get_node_ip_address()} cannot make (its Ray must run as root, with util-linux's "
                "unshare installed); create the job without network isolation, or run Ray there as root."
            )
        host = launch.hosts[index]
        host = HostLaunch(host.name, self.directory, self._here(host.command, plan),
                          self._environment(host.environment, plan))
        hosts = list(launch.hosts)
        hosts[index] = host
        launch = Launch(launch.job_arn, hosts, launch.instance_type, launch.isolated, launch.max_runtime_seconds,
                        launch.grace_seconds, launch.started_at)
        cpus = self._cpus.claim(max(1, math.ceil(plan["cpus"] - 1e-9)))
        starter = _NodeStarter(cpus, max(1, plan["memory_bytes"] // MIB), plan["addresses"], plan["watch_seconds"])
        entry = starter._start_host(launch, host, index, sandboxed, plan["deadline"], plan["netns"])
        self.entry = entry
        return {"Pid": entry["Pid"], "CreateTime": entry["CreateTime"]}

    def _here(self, command: list[str], plan: dict) -> list[str]:
        """The command with the server's paths (its Python, the host's directory there) made this node's."""
        here = []
        for part in command:
            if part == plan["server_python"]:
                part = sys.executable
            elif not self.in_place:
                part = part.replace(plan["server_directory"], str(self.directory))
            here.append(part)
        return here

    def _environment(self, environment: dict[str, str], plan: dict) -> dict[str, str]:
        environment = dict(environment)
        if not self.in_place:
            environment = {k: v.replace(plan["server_directory"], str(self.directory)) for k, v in environment.items()}
        endpoint = environment.get("AWS_ENDPOINT_URL")
        if endpoint and plan.get("server_ip"):
            environment["AWS_ENDPOINT_URL"] = _endpoint_here(endpoint, plan["server_ip"])
        gpus = ray.get_gpu_ids()
        if gpus:
            environment["CUDA_VISIBLE_DEVICES"] = ",".join(str(g) for g in gpus)
        return environment

    def _handle(self) -> dict:
        return {"Hosts": [{"Name": self.host, "Directory": str(self.directory), **(self.entry or {})}]}

    def state(self) -> HostState:
        if self.entry is None:
            return HostState(self.host, False, None, None, "Lost", "the host's supervisor never started")
        (state,) = self._local.poll(self._handle())
        return state

    def stop(self) -> None:
        if self.entry is not None:
            self._local.stop(self._handle())

    def read_log(self, offset: int, final: bool) -> LogChunk:
        (chunk,) = self._local.read_logs(self._handle(), {self.host: offset}, final=final)
        return chunk

    def pack(self) -> tuple[int, dict | None]:
        """Tar what the host wrote (files new or changed since staging, but the exit record); its size, and the
        exit record (which the server writes last, once everything else is there)."""
        archive_path = self._part("outputs.tar")
        exit_record = None
        with tarfile.open(archive_path, "w") as archive:
            for relative, seen in sorted(_files(self.directory).items()):
                if relative == EXIT_FILE:
                    exit_record = json.loads((self.directory / EXIT_FILE).read_text())
                elif self.staged.get(relative) != seen:
                    archive.add(self.directory / relative, arcname=relative, recursive=False)
        return archive_path.stat().st_size, exit_record

    def chunk(self, offset: int) -> bytes:
        with open(self._part("outputs.tar"), "rb") as archive:
            archive.seek(offset)
            return archive.read(CHUNK)

    def cleanup(self) -> None:
        """Remove what this host left on the node (its tree, unless it was the server's own; its CPUs)."""
        self._cpus.release()
        if self.netns:
            subprocess.run(["ip", "netns", "delete", self.netns], capture_output=True)
        if self.directory is not None and not self.in_place:
            shutil.rmtree(self.directory, ignore_errors=True)
            for name in ("tree.tar", "outputs.tar"):
                self._part(name).unlink(missing_ok=True)
            try:
                self.directory.parent.rmdir()  # the job's folder, once its last host is gone
            except OSError:
                pass


# --- on the server -------------------------------------------------------------------


@dataclass
class _Reservation:
    share: HostShare
    count: int


def _unwrap(error: Exception) -> Exception:
    """The exception an actor raised, rather than Ray's wrapper with its remote traceback."""
    if isinstance(error, RayTaskError) and isinstance(getattr(error, "cause", None), Exception):
        return error.cause
    return error


class RayExecutor:
    name = "ray"

    def __init__(self, address: str | None, *, namespace: str = NAMESPACE, in_place: bool = True,
                 watch_seconds: float = 0.5, placement_seconds: float = PLACEMENT_SECONDS):
        self.address = address
        self.namespace = namespace
        self.in_place = in_place  # False: ship every tree, even to a node that could see it (tests)
        self.watch_seconds = watch_seconds
        self.placement_seconds = placement_seconds
        self._reserved: dict[str, _Reservation] = {}
        self._actors: dict[str, object] = {}
        self._lock = threading.Lock()
        self._remote = None
        self._local = LocalExecutor()  # reads what hosts left on this machine once their actors are gone

    # --- the cluster

    def _connect(self) -> None:
        with self._lock:
            if not ray.is_initialized():
                ray.init(address=self.address, namespace=self.namespace, log_to_driver=False,
                         logging_level=logging.WARNING)
            if self._remote is None:
                self._remote = ray.remote(HostActor)

    def _nodes(self) -> list[dict]:
        self._connect()
        return [node["Resources"] for node in ray.nodes() if node.get("Alive")]

    # --- capacity

    def admit(self, job_arn: str, instance_type: InstanceType, count: int) -> bool:
        with self._lock:
            if job_arn in self._reserved:
                return True
        nodes = self._nodes()
        share = host_share(instance_type, count, nodes)
        with self._lock:
            if job_arn in self._reserved:
                return True
            if self._reserved:
                used_cpus = sum(r.share.cpus * r.count for r in self._reserved.values())
                used_memory = sum(r.share.memory_bytes * r.count for r in self._reserved.values())
                if (sum(n.get("CPU", 0) for n in nodes) - used_cpus < share.cpus * count - 1e-9
                        or sum(n.get("memory", 0) for n in nodes) - used_memory < share.memory_bytes * count):
                    return False
            self._reserved[job_arn] = _Reservation(share, count)
            return True

    def release(self, job_arn: str) -> None:
        with self._lock:
            self._reserved.pop(job_arn, None)

    def reserved(self) -> dict[str, float]:
        with self._lock:
            return {arn: r.share.cpus * r.count for arn, r in self._reserved.items()}

    # --- running

    @staticmethod
    def _job_token(launch: Launch) -> str:
        # The engine gives each job a directory of its own (<name>-<token>) holding one folder per host.
        return launch.hosts[0].directory.parent.name

    def _actor_name(self, token: str, host: str) -> str:
        return f"charter-{token}-{host}"

    def submit(self, launch: Launch) -> dict:
        self._connect()
        token = self._job_token(launch)
        # Hosts that share a network namespace must share a machine; others spread over the nodes.
        together = launch.isolated and len(launch.hosts) > 1
        with self._lock:
            reservation = self._reserved.get(launch.job_arn)
        if reservation and not together:
            share = reservation.share
        else:  # (admission counted the cluster's total; one node may hold less)
            share = host_share(launch.instance_type, len(launch.hosts), self._nodes(), one_node=together)
        started = launch.started_at or time.time()
        deadline = started + launch.max_runtime_seconds if launch.max_runtime_seconds else None
        group_name = f"charter-{token}"
        names = [self._actor_name(token, h.name) for h in launch.hosts]
        self._remove(group_name, names)  # what an attempt that died before recording its handle left behind
        actors = []
        try:
            strategy = "STRICT_PACK" if together else "SPREAD"
            group = placement_group([share.bundle() for _ in launch.hosts], strategy=strategy, name=group_name,
                                    lifetime="detached")
            try:
                ray.get(group.ready(), timeout=self.placement_seconds)
            except GetTimeoutError:
                raise RuntimeError(
                    f"the Ray cluster could not place {len(launch.hosts)} host(s) of {share.cpus:g} CPUs and "
                    f"{share.memory_bytes / 2**30:.1f} GiB each ({strategy}) within {self.placement_seconds:.0f} s; "
                    "other work may hold its resources"
                ) from None
            for index, (host, name) in enumerate(zip(launch.hosts, names)):
                actors.append(self._remote.options(
                    name=name, namespace=self.namespace, lifetime="detached", max_restarts=0, max_concurrency=4,
                    num_cpus=share.cpus, memory=share.memory_bytes, num_gpus=share.gpus,
                    scheduling_strategy=PlacementGroupSchedulingStrategy(group, placement_group_bundle_index=index),
                ).remote(token, host.name))
            origins = {}
            for host in launch.hosts:
                origins[host.name] = uuid.uuid4().hex if self.in_place else None
                if origins[host.name]:
                    (host.directory / ORIGIN_FILE).write_text(origins[host.name])
            places = ray.get([actor.where.remote(str(host.directory), origins[host.name])
                              for actor, host in zip(actors, launch.hosts)], timeout=START_SECONDS)
            for actor, host, place in zip(actors, launch.hosts, places):
                if not place["InPlace"]:
                    self._ship(actor, host.directory)
            addresses = None if launch.isolated else {h.name: p["NodeIp"] for h, p in zip(launch.hosts, places)}
            netns = None
            if together:
                netns = f"charter-{uuid.uuid4().hex[:12]}"
                ray.get(actors[0].make_netns.remote(netns), timeout=CALL_SECONDS)
            plan = {
                "addresses": addresses, "netns": netns, "deadline": deadline, "cpus": share.cpus,
                "memory_bytes": share.memory_bytes, "watch_seconds": self.watch_seconds,
                "server_python": sys.executable, "server_ip": ray.util.get_node_ip_address(),
            }
            supervisors = ray.get([
                actor.start.remote(launch, index, {**plan, "server_directory": str(host.directory)})
                for index, (actor, host) in enumerate(zip(actors, launch.hosts))
            ], timeout=START_SECONDS)
        except Exception as error:
            for actor in actors:
                try:
                    ray.get(actor.cleanup.remote(), timeout=CALL_SECONDS)
                except Exception:
                    pass
            self._remove(group_name, names)
            raise _unwrap(error) from None
        with self._lock:
            self._actors.update(zip(names, actors))
        hosts = [
            {"Name": host.name, "Directory": str(host.directory), "Actor": name, "NodeId": place["NodeId"],
             "NodeIp": place["NodeIp"], "RemoteDirectory": place["Directory"], "InPlace": place["InPlace"],
             "Pid": supervisor["Pid"], "CreateTime": supervisor["CreateTime"]}
            for host, name, place, supervisor in zip(launch.hosts, names, places, supervisors)
        ]
        return {"Executor": self.name, "Namespace": self.namespace, "PlacementGroup": group_name,
                "NetworkNamespace": netns, "Hosts": hosts, "StartedAt": started}

    def _ship(self, actor, directory: Path) -> None:
        """Send a host's staged tree to its actor as a tar, a chunk at a time."""
        if any(path.is_fifo() for path in directory.rglob("*")):
            raise RuntimeError(
                "Pipe input mode needs the job's hosts to run where the Charter server can feed their pipes (a Ray "
                "node that sees the server's disk); use File input mode on this Ray cluster."
            )
        with tempfile.TemporaryFile() as archive_file:
            with tarfile.open(fileobj=archive_file, mode="w") as archive:
                # The whole tree, empty folders included (opt/ml/model must exist); symlinks stay links.
                archive.add(directory, arcname=".",
                            filter=lambda member: None if member.name == f"./{ORIGIN_FILE}" else member)
            archive_file.seek(0)
            while True:
                chunk = archive_file.read(CHUNK)
                if not chunk:
                    break
                ray.get(actor.receive.remote(chunk), timeout=START_SECONDS)
        ray.get(actor.unpack.remote(), timeout=START_SECONDS)

    def _actor(self, name: str):
        """The live actor ``name``, or None when Ray has none by that name."""
        with self._lock:
            actor = self._actors.get(name)
        if actor is not None:
            return actor
        self._connect()
        try:
            actor = ray.get_actor(name, namespace=self.namespace)
        except ValueError:
            return None
        with self._lock:
            self._actors[name] = actor
        return actor

    def _forget(self, name: str) -> None:
        with self._lock:
            self._actors.pop(name, None)

    def _ask(self, handle: dict, method: str, *args) -> list:
        """Call ``method`` of every host's actor at once: per host its answer, None when its actor is gone,
        or ``UNANSWERED`` when it did not answer in time (or its node is briefly out of reach)."""
        pending = []
        for entry in handle["Hosts"]:
            actor = self._actor(entry["Actor"])
            pending.append(getattr(actor, method).remote(*(a(entry) if callable(a) else a for a in args))
                           if actor is not None else None)
        answers = []
        for entry, ref in zip(handle["Hosts"], pending):
            if ref is None:
                answers.append(None)
                continue
            try:
                answers.append(ray.get(ref, timeout=CALL_SECONDS))
            except (GetTimeoutError, ActorUnavailableError):
                answers.append(UNANSWERED)
            except RayActorError:  # it died (with its node, or killed): it will not answer again
                self._forget(entry["Actor"])
                answers.append(None)
            except RayTaskError:
                log.exception("%s of the Ray actor %s failed; will ask again", method, entry["Actor"])
                answers.append(UNANSWERED)
        return answers

    def _is_local(self, handle: dict) -> bool:
        # A job a LocalExecutor started on this machine before the installation moved to Ray.
        return handle.get("Executor") == LocalExecutor.name

    def poll(self, handle: dict) -> list[HostState]:
        if self._is_local(handle):
            return self._local.poll(handle)
        states = []
        for entry, answer in zip(handle["Hosts"], self._ask(handle, "state")):
            if isinstance(answer, HostState):
                states.append(answer)
            elif answer is UNANSWERED:
                states.append(HostState(entry["Name"], True))  # busy, or its node is slow: ask again next time
            else:
                states.append(self._without_actor(entry))
        return states

    @staticmethod
    def _without_actor(entry: dict) -> HostState:
        """A host whose actor is gone: how it ended if its tree came back (or was the server's all along)."""
        record_path = Path(entry["Directory"]) / EXIT_FILE
        if record_path.exists():
            record = json.loads(record_path.read_text())
            return HostState(entry["Name"], False, record.get("ExitCode"), record.get("Signal"), record.get("Reason"),
                             record.get("Message"), int(record.get("PeakMemoryBytes") or 0))
        return HostState(entry["Name"], False, None, None, "Lost",
                         f"the Ray actor {entry['Actor']} that ran the host on node {entry['NodeIp']} is gone "
                         "(its node left the cluster?), and how the host ended is unknown")

    def wait(self, handle: dict, seconds: float) -> None:
        if self._is_local(handle):
            return self._local.wait(handle, seconds)
        time.sleep(seconds)  # the supervisors are on other machines: the next poll asks their actors

    def stop(self, handle: dict) -> None:
        if self._is_local(handle):
            return self._local.stop(handle)
        self._ask(handle, "stop")

    def read_logs(self, handle: dict, offsets: dict[str, int], *, final: bool = False) -> list[LogChunk]:
        if self._is_local(handle):
            return self._local.read_logs(handle, offsets, final=final)
        answers = self._ask(handle, "read_log", lambda e: int(offsets.get(e["Name"], 0)), final)
        chunks = []
        for entry, answer in zip(handle["Hosts"], answers):
            if isinstance(answer, LogChunk):
                chunks.append(answer)
            elif answer is None:  # no actor: the log as the server has it (in place, or brought back)
                (chunk,) = self._local.read_logs({"Hosts": [entry]}, offsets, final=final)
                chunks.append(chunk)
            else:
                chunks.append(LogChunk(entry["Name"], [], int(offsets.get(entry["Name"], 0))))
        return chunks

    def recover(self, handle: dict) -> str:
        return recovery(self.poll(handle))

    def collect(self, handle: dict) -> None:
        """Bring back what each remote host wrote into its directory here, then end its actor and the group."""
        if self._is_local(handle):
            return
        try:
            for entry in handle["Hosts"]:
                actor = self._actor(entry["Actor"])
                if actor is None or entry.get("InPlace"):
                    continue
                self._fetch(actor, Path(entry["Directory"]))
        finally:
            for entry in handle["Hosts"]:
                actor = self._actor(entry["Actor"])
                if actor is not None:
                    try:
                        ray.get(actor.cleanup.remote(), timeout=CALL_SECONDS)
                    except RayError:
                        pass
            self._remove(handle.get("PlacementGroup"), [e["Actor"] for e in handle["Hosts"]])

    def _fetch(self, actor, directory: Path) -> None:
        size, exit_record = ray.get(actor.pack.remote(), timeout=START_SECONDS)
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile() as archive_file:
            offset = 0
            while offset < size:
                chunk = ray.get(actor.chunk.remote(offset), timeout=START_SECONDS)
                if not chunk:
                    raise RuntimeError("a host's output archive ended early")
                archive_file.write(chunk)
                offset += len(chunk)
            archive_file.seek(0)
            with tarfile.open(fileobj=archive_file) as archive:
                archive.extractall(directory, filter=_keep_safe)
        if exit_record is not None:
            # Last: a host directory with its exit record is one whose files are all here.
            write_json(directory / EXIT_FILE, exit_record)

    def _remove(self, group_name: str | None, actor_names: list[str]) -> None:
        """End the actors ``actor_names`` and remove the placement group ``group_name``, those that exist."""
        for name in actor_names:
            actor = self._actor(name)
            self._forget(name)
            if actor is not None:
                try:
                    ray.kill(actor, no_restart=True)
                except (RayError, ValueError):
                    pass
        if group_name:
            try:
                remove_placement_group(get_placement_group(group_name))
            except (ValueError, RayError):
                pass


# --- a cluster of this machine's own (charter server --ray) ---------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _answers(address: str) -> bool:
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=2):
            return True
    except (OSError, ValueError):
        return False


def local_cluster(home: Path, *, cpus: int | None = None, memory_mib: int | None = None) -> tuple[str, bool]:
    """The address of a Ray head of this installation's own, and whether it was started now.

    Its address is kept in ``home/ray-head.json``; a head recorded there that still answers is used again,
    so jobs that ran under an earlier server process are found. Otherwise ``ray start --head`` starts one
    (with ``cpus`` and ``memory_mib`` when given) that goes on running after the server stops, as the
    jobs on it do.
    """
    record = home / "ray-head.json"
    try:
        known = json.loads(record.read_text())
    except (OSError, ValueError):
        known = None
    if known and _answers(known["Address"]):
        return known["Address"], False
    ray_command = Path(sys.executable).with_name("ray")
    if not ray_command.exists():
        ray_command = Path(shutil.which("ray") or "ray")
    port = _free_port()
    # Ray's sockets live under its temporary folder, whose path must stay short (a socket path is < 108 bytes).
    temp_dir = Path(tempfile.gettempdir()) / f"charter-ray-{uuid.uuid5(uuid.NAMESPACE_URL, str(home)).hex[:10]}"
    argv = [str(ray_command), "start", "--head", "--port", str(port), "--disable-usage-stats",
            "--include-dashboard", "false", "--temp-dir", str(temp_dir)]
    if cpus:
        argv += ["--num-cpus", str(cpus)]
    if memory_mib:
        argv += ["--memory", str(memory_mib * MIB)]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=180)
    if result.returncode != 0:
        raise RuntimeError(f"`ray start --head` failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    address = f"127.0.0.1:{port}"
    home.mkdir(parents=True, exist_ok=True)
    write_json(record, {"Address": address, "TempDir": str(temp_dir), "StartedAt": time.time()})
    return address, True
