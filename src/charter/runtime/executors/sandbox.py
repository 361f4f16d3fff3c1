"""Inside a job's namespaces: make the host look like a SageMaker container, then exec its command.

``unshare --mount --uts [--net] --fork -- python -m charter.runtime.executors.sandbox SANDBOX``
runs this with fresh mount and UTS namespaces (and, for network isolation, a
network namespace holding only loopback).  Before the command starts it:

* binds the host's own ``opt/ml`` tree at ``/opt/ml``, so code that hard-codes
  SageMaker's paths (``/opt/ml/processing/input``, ``/opt/ml/model``) finds them
  (specs/containers.md, section 0);
* binds a hosts file that names every host of the job (``algo-1`` .. ``algo-N``),
  so the hosts resolve each other as the contract requires, and sets the host
  name to this host's;
* brings loopback up in a new network namespace (it starts down).

Mounts stay private to the namespace; nothing changes for the rest of the machine.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path


def _run(*argv: str) -> None:
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def enter(plan: dict) -> None:
    _run("mount", "--make-rprivate", "/")
    _run("mount", "--bind", plan["opt_ml"], "/opt/ml")
    if plan.get("hosts_file"):
        _run("mount", "--bind", plan["hosts_file"], "/etc/hosts")
    if plan.get("hostname"):
        socket.sethostname(plan["hostname"])
    if plan.get("loopback"):
        _run("ip", "link", "set", "lo", "up")


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m charter.runtime.executors.sandbox SANDBOX.json", file=sys.stderr)
        return 2
    plan = json.loads(Path(argv[0]).read_text())
    try:
        enter(plan)
    except (subprocess.CalledProcessError, OSError) as error:
        detail = getattr(error, "stderr", b"") or b""
        print(f"Charter could not set up the job's container: {error} {detail.decode(errors='replace').strip()}",
              file=sys.stderr)
        return 125
    os.chdir(plan.get("cwd") or "/opt/ml")
    command = plan["command"]
    try:
        os.execvp(command[0], command)  # with this process's environment, the job's
    except OSError as error:
        print(f"Could not start {command[0]}: {error.strerror or error}", file=sys.stderr)
        return 127


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
