"""Training one XGBoost model across the hosts of a job (``InstanceCount`` > 1) with XGBoost's collective.

Every host of the job runs the algorithm (specs/containers.md, section 1: ``resourceconfig.json``
lists them, ``algo-1 .. algo-N``, and they reach each other by those names).  As in
SageMaker's XGBoost container (aws/sagemaker-xgboost-container, ``distributed.py``):

1. all hosts join a first group, whose tracker runs on the first host (sorted by name),
   to learn which of them have training (and, where configured, validation) data; a
   host without data then leaves the job, successfully;
2. the hosts with data join a second group on the next port, with its tracker on the
   first of them, and train together: every round's gradient statistics are summed
   across hosts, so they grow one model, which only the first of them (rank 0) saves.
   With one host left, it trains alone.

The tracker listens on port 9099 (the container's), then 9100, unless the environment
sets ``XGBOOST_TRACKER_PORT``: two multi-host jobs that share a network namespace need
different ports.  Workers wait for the peers' names to resolve and for the tracker to
answer for up to :data:`CONNECT_TIMEOUT` seconds before giving up.
"""

from __future__ import annotations

import os
import socket
import sys
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["CONNECT_TIMEOUT", "DEFAULT_PORT", "PORT_VARIABLE", "communicator", "hosts_with_data", "tracker_port"]

DEFAULT_PORT = 9099
PORT_VARIABLE = "XGBOOST_TRACKER_PORT"
CONNECT_TIMEOUT = 600.0


def _say(line: str) -> None:
    print(line, flush=True)


def tracker_port(environ: dict[str, str] | None = None) -> int:
    """The first group's tracker port (the second group's is the next one)."""
    value = (os.environ if environ is None else environ).get(PORT_VARIABLE, "")
    if value.strip().isdigit() and 0 < int(value) < 65535:
        return int(value)
    return DEFAULT_PORT


def resolve(host: str, deadline: float) -> str:
    """The IPv4 address of ``host``, retrying while the platform is still publishing the names."""
    delay = 0.1
    while True:
        try:
            return socket.gethostbyname(host)
        except OSError as error:
            if time.monotonic() > deadline:
                raise RuntimeError(f"host {host!r} of resourceconfig.json does not resolve: {error}") from None
            time.sleep(delay)
            delay = min(delay * 2, 5.0)


@contextmanager
def communicator(hosts: list[str], current: str, port: int, timeout: float = CONNECT_TIMEOUT) -> Iterator[int]:
    """Join the collective of ``hosts`` as ``current`` for the ``with`` block; yields this host's rank.

    The tracker runs on ``hosts[0]`` at ``port``; ranks follow the order of ``hosts``.
    """
    from xgboost import collective
    from xgboost.core import XGBoostError
    from xgboost.tracker import RabitTracker

    deadline = time.monotonic() + timeout
    for host in hosts:
        resolve(host, deadline)
    tracker_ip = resolve(hosts[0], deadline)
    index = hosts.index(current)
    tracker = None
    if index == 0:
        tracker = RabitTracker(n_workers=len(hosts), host_ip=tracker_ip, port=port, sortby="task",
                               timeout=int(timeout))
        tracker.start()
    # Zero-padded task ids sort like the host list, so rank i is hosts[i] (the tracker sorts them as text).
    arguments = {"dmlc_tracker_uri": tracker_ip, "dmlc_tracker_port": port, "dmlc_task_id": f"{index:06d}",
                 "dmlc_retry": 1}
    try:
        while True:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # XGBoost warns on each refused connection while it retries
                    collective.init(**arguments)
                break
            except XGBoostError as error:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"could not join the training group of {', '.join(hosts)} through the tracker "
                                       f"at {hosts[0]} ({tracker_ip}:{port}): {str(error).strip()[:300]}") from None
                time.sleep(0.5)
        try:
            yield collective.get_rank()
        finally:
            collective.finalize()
    finally:
        if tracker is not None:
            try:
                tracker.wait_for(timeout=int(timeout))
            except (ValueError, XGBoostError) as error:  # a worker died mid-job: report, keep the job's own error
                print(f"XGBoost tracker did not shut down cleanly: {error}", file=sys.stderr, flush=True)
            tracker.free()


def hosts_with_data(hosts: list[str], current: str, has_data: bool, port: int,
                    timeout: float = CONNECT_TIMEOUT) -> list[str]:
    """The hosts (of ``hosts``) that have data, agreed among all of them through a first group at ``port``."""
    import numpy as np
    from xgboost import collective

    _say(f"Distributed training with {len(hosts)} hosts: {', '.join(hosts)} (this is {current}); "
         f"tracker on {hosts[0]}:{port}")
    flags = np.zeros(len(hosts), dtype=np.float64)
    flags[hosts.index(current)] = 1.0 if has_data else 0.0
    with communicator(hosts, current, port, timeout):
        flags = collective.allreduce(flags, collective.Op.SUM)
    return [host for host, flag in zip(hosts, flags) if flag > 0]
