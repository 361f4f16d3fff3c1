"""What a job inherits from the server's own process environment.

Not Charter's configuration (that is only ``Settings``): the handful of
variables a process needs to run at all on this machine (where programs are,
the locale, the time zone, the Python path of an installation from source).
A job's environment is otherwise built from its request, never copied from
the server's, so secrets in the server's environment never reach a job.
"""

from __future__ import annotations

import os

PASSED = ("PATH", "LANG", "LC_ALL", "TZ", "PYTHONPATH")


def inherited(names: tuple[str, ...] = PASSED) -> dict[str, str]:
    """The variables of ``names`` that are set (and not empty) in this process."""
    return {name: os.environ[name] for name in names if os.environ.get(name)}


def home() -> str:
    return os.environ.get("HOME") or "/tmp"
