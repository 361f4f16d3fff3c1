"""Waiting for the other hosts of a multi-host job to be reachable by name.

SageMaker starts every host's container at about the same time, and a host's name
(``algo-2``) may resolve only once its container is up, so the toolkit blocks until each
host in ``resourceconfig.json`` resolves before it starts the user's script (AWS: "Running
your training image", distributed training).  Charter waits too, but within a bound, and
then lets the script's own connection attempt report what is wrong.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Sequence

from .logs import Log

__all__ = ["resolves", "wait_for_hosts"]


def resolves(host: str) -> bool:
    try:
        socket.getaddrinfo(host, None)
    except (OSError, UnicodeError):
        return False
    return True


def wait_for_hosts(hosts: Sequence[str], log: Log, timeout: float = 300.0) -> bool:
    """Block until every host resolves (retrying with backoff), at most ``timeout`` seconds;
    whether they all did."""
    deadline = time.monotonic() + timeout
    for host in hosts:
        delay = 0.1
        while not resolves(host):
            if time.monotonic() >= deadline:
                log.warning(f"host {host} does not resolve after {timeout:.0f} s; starting anyway")
                return False
            time.sleep(min(delay, max(deadline - time.monotonic(), 0)))
            delay = min(delay * 2, 30.0)
    return True
