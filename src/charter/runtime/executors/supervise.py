"""The supervisor of one host of one job: ``python -m charter.runtime.executors.supervise PLAN``.

LocalExecutor starts one supervisor per host, in a session of its own, so that
the server can die (even by SIGKILL) without taking its jobs along.  The
supervisor starts the container command with its output appended to the host's
log file (a file, not a pipe: the command keeps writing if the supervisor
itself goes), then watches it until it ends:

* **Memory.**  The resident memory of the whole process tree is summed every
  ``watch_seconds``; over the limit, the tree is killed and the exit record says
  ``OutOfMemory`` (where cgroups v2 is delegated the kernel enforces
  ``memory.max`` instead, and an ``oom_kill`` in ``memory.events`` says the same).
* **Time.**  At ``deadline`` (the job's ``MaxRuntimeInSeconds``) the command gets
  SIGTERM and, ``grace`` seconds later, SIGKILL: ``MaxRuntimeExceeded``.
* **Stop.**  SIGTERM to the supervisor is a StopTrainingJob/StopProcessingJob:
  the same two signals, ``Stopped``.

When the command ends, the supervisor writes ``exit.json`` atomically beside the
log (exit code, the signal that ended it, the reason, peak memory), which is how
an executor learns how a host ended, even one it re-attached to after a restart.
The plan is a JSON file written by the executor (:func:`write_plan`).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

EXIT_FILE = "exit.json"
PLAN_FILE = "plan.json"


def write_json(path: Path, value: dict) -> None:
    """Write ``value`` to ``path`` atomically (a reader sees all of it or nothing)."""
    temp = path.with_name(f".{path.name}.part")
    temp.write_text(json.dumps(value))
    os.replace(temp, path)


def _tree_rss(pid: int) -> int:
    import psutil

    try:
        parent = psutil.Process(pid)
        members = [parent, *parent.children(recursive=True)]
    except psutil.Error:
        return 0
    total = 0
    for member in members:
        try:
            total += member.memory_info().rss
        except psutil.Error:
            pass
    return total


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


class _Cgroup:
    """A cgroup v2 of the job's own, where this host delegates one (else does nothing)."""

    BASE = Path("/sys/fs/cgroup")

    def __init__(self, name: str, cpus: int | None, memory: int | None):
        self.path: Path | None = None
        controllers = self.BASE / "cgroup.controllers"
        try:
            available = controllers.read_text().split()
        except OSError:
            return
        if not {"cpu", "memory"} <= set(available):
            return
        try:
            parent = self.BASE / "charter"
            parent.mkdir(exist_ok=True)
            (parent / "cgroup.subtree_control").write_text("+cpu +memory")
            path = parent / name
            path.mkdir(exist_ok=True)
            if memory:
                (path / "memory.max").write_text(str(memory))
                (path / "memory.swap.max").write_text("0")
            if cpus:
                (path / "cpu.max").write_text(f"{cpus * 100000} 100000")
            self.path = path
        except OSError:
            self.path = None

    def add(self, pid: int) -> None:
        if self.path is not None:
            try:
                (self.path / "cgroup.procs").write_text(str(pid))
            except OSError:
                self.path = None

    def oom_killed(self) -> bool:
        if self.path is None:
            return False
        try:
            for line in (self.path / "memory.events").read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill" and int(value) > 0:
                    return True
        except (OSError, ValueError):
            pass
        return False

    def remove(self) -> None:
        if self.path is not None:
            try:
                self.path.rmdir()
            except OSError:
                pass


def supervise(plan: dict) -> int:
    host_dir = Path(plan["dir"])
    log_path = host_dir / plan.get("log", "output.log")
    memory = plan.get("memory_bytes")
    grace = float(plan.get("grace_seconds", 120))
    deadline = plan.get("deadline")
    watch = float(plan.get("watch_seconds", 0.5))
    cpus = plan.get("cpus") or None

    stop_requested = {"at": None, "reason": None}

    def on_term(_signum, _frame):
        if stop_requested["at"] is None:
            stop_requested["at"] = time.time()
            stop_requested["reason"] = "Stopped"

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # the server's terminal going away is no stop

    cgroup = _Cgroup(plan.get("cgroup_name") or host_dir.name, len(cpus) if cpus else None, memory)

    def prepare_child():
        # Runs in the child between fork and exec: the CPUs it may use.
        if cpus and hasattr(os, "sched_setaffinity"):
            try:
                os.sched_setaffinity(0, cpus)
            except OSError:
                pass

    log = open(log_path, "ab", buffering=0)
    started = time.time()
    try:
        child = subprocess.Popen(
            plan["command"],
            cwd=plan.get("cwd") or str(host_dir),
            env=plan["environment"],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: signals reach the whole tree
            preexec_fn=prepare_child,
        )
    except OSError as error:
        log.write(f"Could not start {plan['command'][0]}: {error.strerror or error}\n".encode())
        write_json(host_dir / EXIT_FILE, {
            "ExitCode": 127, "Signal": None, "Reason": "StartFailed",
            "Message": f"Could not start {plan['command'][0]}: {error.strerror or error}",
            "StartedAt": started, "EndedAt": time.time(), "PeakMemoryBytes": 0,
        })
        return 127
    cgroup.add(child.pid)
    write_json(host_dir / "child.json", {"Pid": child.pid, "StartedAt": started})

    reason = None
    peak = 0
    term_sent_at = None
    killed = False
    while True:
        try:
            code = child.wait(timeout=watch)
            break
        except subprocess.TimeoutExpired:
            pass
        now = time.time()
        rss = _tree_rss(child.pid)
        peak = max(peak, rss)
        if memory and rss > memory and not killed:
            reason = "OutOfMemory"
            _signal_group(child.pid, signal.SIGKILL)
            killed = True
            continue
        if reason is None and stop_requested["at"] is not None:
            reason = stop_requested["reason"]
        if reason is None and deadline is not None and now >= deadline:
            reason = "MaxRuntimeExceeded"
        if reason in ("Stopped", "MaxRuntimeExceeded") and term_sent_at is None:
            _signal_group(child.pid, signal.SIGTERM)
            term_sent_at = now
        if term_sent_at is not None and not killed and now - term_sent_at >= grace:
            _signal_group(child.pid, signal.SIGKILL)
            killed = True
    # The command's own children may outlive it; the job ends with its main process.
    _signal_group(child.pid, signal.SIGKILL)
    if reason is None and cgroup.oom_killed():
        reason = "OutOfMemory"
    cgroup.remove()
    log.close()
    write_json(host_dir / EXIT_FILE, {
        "ExitCode": code if code >= 0 else None,
        "Signal": -code if code < 0 else None,
        "Reason": reason,
        "StartedAt": started,
        "EndedAt": time.time(),
        "PeakMemoryBytes": peak,
    })
    return 0


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m charter.runtime.executors.supervise PLAN.json", file=sys.stderr)
        return 2
    return supervise(json.loads(Path(argv[0]).read_text()))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
