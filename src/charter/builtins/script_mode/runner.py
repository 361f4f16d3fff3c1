"""Running the user's entry point, or any step of script mode, as a child process.

specs/containers.md, section 2, step 4.  The entry point's kind decides the command, as
in the toolkit, checked in this order:

- a name ending ``.sh``: ``/bin/sh -c "./<entry> <args>"`` (made executable first);
- a code directory holding ``setup.py``: the package is installed, then
  ``python -m <entry without .py> <args>``;
- a name ending ``.py``: ``python <entry> <args>``;
- anything else: run by the shell like a ``.sh``.

The child runs in the code directory with the job's environment.  Its stdout is the
container's stdout, untouched; its stderr is copied through as it arrives (so lines reach
the log as they are printed) while its last few kilobytes are kept for the failure
message.  SIGTERM (StopTrainingJob, MaxRuntimeInSeconds) is forwarded to the child, and a
child killed by a signal reports ``128 + signal`` as a shell would.
"""

from __future__ import annotations

import codecs
import enum
import os
import shlex
import signal
import stat
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .failures import ScriptModeFailure

__all__ = [
    "Completed",
    "EntryPointType",
    "check",
    "describe",
    "entry_point_command",
    "entry_point_type",
    "error_message",
    "make_executable",
    "run",
]

_TAIL_BYTES = 16 * 1024  # stderr kept for the failure message
_MESSAGE_CHARS = 700  # of it quoted in ErrorMessage, so the whole reason fits SageMaker's 1024 characters
_PLAIN_LINES = 10  # quoted when the tail holds no Python traceback
_TRACEBACK = "Traceback (most recent call last):"


class EntryPointType(enum.Enum):
    PYTHON_PACKAGE = "PYTHON_PACKAGE"
    PYTHON_PROGRAM = "PYTHON_PROGRAM"
    COMMAND = "COMMAND"


def entry_point_type(code_dir: Path, entry: str) -> EntryPointType:
    """What kind of entry point ``entry`` is, in the toolkit's order (see the module docstring)."""
    if entry.endswith(".sh"):
        return EntryPointType.COMMAND
    if (code_dir / "setup.py").exists():
        return EntryPointType.PYTHON_PACKAGE
    if entry.endswith(".py"):
        return EntryPointType.PYTHON_PROGRAM
    return EntryPointType.COMMAND


def make_executable(path: Path) -> None:
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def entry_point_command(kind: EntryPointType, python: str, entry: str, args: Sequence[str]) -> list[str]:
    """The command that runs ``entry`` with ``args`` (relative to the code directory)."""
    if kind is EntryPointType.PYTHON_PACKAGE:
        return [python, "-m", entry.replace(".py", "")] + list(args)
    if kind is EntryPointType.PYTHON_PROGRAM:
        return [python, entry] + list(args)
    return ["/bin/sh", "-c", " ".join([f"./{entry}"] + [shlex.quote(a) for a in args])]


def describe(command: Sequence[str]) -> str:
    """A command as the toolkit prints it in ``Command "..."`` (a shell line quoted)."""
    if len(command) == 3 and list(command[:2]) == ["/bin/sh", "-c"]:
        return f'/bin/sh -c "{command[2]}"'
    return " ".join(command)


def error_message(stderr_tail: str) -> str:
    """What a failure quotes of the child's stderr: its last Python traceback when there is
    one, else its last lines; at most the last few hundred characters of either."""
    lines = stderr_tail.replace("\r\n", "\n").split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
    starts = [i for i, line in enumerate(lines) if line.startswith(_TRACEBACK)]
    chosen = lines[starts[-1]:] if starts else lines[-_PLAIN_LINES:]
    message = "\n".join(chosen).strip()
    if len(message) > _MESSAGE_CHARS:
        message = message[-_MESSAGE_CHARS:]
        cut = message.find("\n")
        if 0 <= cut < _MESSAGE_CHARS // 2:
            message = message[cut + 1:]
        message = "..." + message
    return message


@dataclass(frozen=True)
class Completed:
    """How a child ended: its exit status (``128 + n`` when killed by signal ``n``) and the
    tail of its stderr."""

    command: list[str]
    status: int
    stderr_tail: str


class _StderrCopier(threading.Thread):
    """Copies a pipe to this process's stderr as bytes arrive, keeping the last few KB."""

    def __init__(self, fd: int):
        super().__init__(name="script-mode-stderr", daemon=True)
        self.fd = fd
        self.tail = bytearray()
        self.stream = sys.stderr
        self.binary = getattr(self.stream, "buffer", None)
        self.decoder = codecs.getincrementaldecoder("utf-8")("replace")

    def _emit(self, chunk: bytes) -> None:
        try:
            if self.binary is not None:
                self.stream.flush()
                self.binary.write(chunk)
                self.binary.flush()
            else:
                self.stream.write(self.decoder.decode(chunk))
                self.stream.flush()
        except (OSError, ValueError):  # our own stderr went away: keep draining the child's
            pass

    def run(self) -> None:
        while True:
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            self._emit(chunk)
            self.tail += chunk
            if len(self.tail) > _TAIL_BYTES:
                del self.tail[: len(self.tail) - _TAIL_BYTES]
        os.close(self.fd)


def run(command: Sequence[str], cwd: Path, env: Mapping[str, str]) -> Completed:
    """Run ``command`` in ``cwd`` with exactly ``env`` until it exits (see the module docstring)."""
    command = list(command)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()  # our own lines first, then the child's
        except (OSError, ValueError):
            pass
    child: subprocess.Popen | None = None
    pending: list[int] = []
    forwarding = threading.current_thread() is threading.main_thread()

    def forward(signum, _frame):
        if child is None:
            pending.append(signum)
        elif child.poll() is None:
            child.send_signal(signum)

    previous = signal.signal(signal.SIGTERM, forward) if forwarding else None
    read_fd, write_fd = os.pipe()
    try:
        try:
            child = subprocess.Popen(command, cwd=cwd, env=dict(env), stdin=subprocess.DEVNULL, stderr=write_fd)
        finally:
            os.close(write_fd)
        copier = _StderrCopier(read_fd)
        copier.start()
        for signum in pending:
            child.send_signal(signum)
        try:
            status = child.wait()
        except KeyboardInterrupt:
            child.terminate()
            child.wait()
            raise
        # A grandchild may hold the pipe open after the child is gone: don't wait for it forever.
        copier.join(timeout=10)
    except BaseException:
        if child is None:
            os.close(read_fd)
        raise
    finally:
        if forwarding:
            signal.signal(signal.SIGTERM, previous)
    if status < 0:
        status = 128 - status
    return Completed(command, status, bytes(copier.tail).decode("utf-8", "replace"))


def check(command: Sequence[str], cwd: Path, env: Mapping[str, str], failure: type[ScriptModeFailure],
          exit_code: int | None = None) -> Completed:
    """:func:`run`, raising ``failure`` when the command exits non-zero.

    ``exit_code`` fixes the status the container then exits with (1 for installation steps,
    as the toolkit does); by default it is the child's own.
    """
    done = run(command, cwd, env)
    if done.status:
        raise failure(done.status, error_message(done.stderr_tail), describe(command), exit_status=exit_code)
    return done
