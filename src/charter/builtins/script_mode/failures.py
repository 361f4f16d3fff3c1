"""How a failed step of script mode ends the container (specs/containers.md, section 2, step 5).

SageMaker's toolkit reports a failed command (the user's script, ``pip install``) in one
shape, which becomes the job's ``FailureReason``::

    AlgorithmError: ExecuteUserScriptError:
    ExitCode 1
    ErrorMessage "ValueError: ..."
    Command "/usr/bin/python3 train.py --epochs 10"

with an ``ExtraInfo "..."`` line before ``Command`` where the toolkit knows more (exit
137: the kernel's OOM killer).  The container then exits with the child's status.

:class:`ScriptModeFailure` is a :class:`SystemExit` carrying that status: it passes
through :func:`charter.builtins.run` (which turns ordinary exceptions into status 1 and
its own failure text), so ``python -m charter.builtins sklearn train ROOT`` and
``charter container run`` exit with the user's code, and an in-process caller can catch
it and read :attr:`ScriptModeFailure.code`.
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "ExecuteUserScriptError",
    "InstallModuleError",
    "InstallRequirementsError",
    "ScriptModeFailure",
    "write_failure",
]

_OOM = "OutOfMemory: Process killed by SIGKILL (signal 9)"


class ScriptModeFailure(SystemExit):
    """A command script mode ran exited non-zero; ``code`` is the container's exit status."""

    code: int

    def __init__(self, return_code: int, error_message: str, command: str, extra_info: str | None = None,
                 exit_status: int | None = None):
        """``return_code`` is the failed command's status (``ExitCode``); ``exit_status`` the
        container's, by default the same."""
        super().__init__(return_code if exit_status is None else exit_status)
        self.return_code = return_code
        self.error_message = error_message
        self.command = command
        self.extra_info = extra_info if extra_info is not None else (_OOM if return_code == 137 else None)

    def __str__(self) -> str:
        lines = [f"{type(self).__name__}:", f"ExitCode {self.return_code}", f'ErrorMessage "{self.error_message}"']
        if self.extra_info:
            lines.append(f'ExtraInfo "{self.extra_info}"')
        lines.append(f'Command "{self.command}"')
        return "\n".join(lines)

    @property
    def failure_reason(self) -> str:
        """The text for ``/opt/ml/output/failure``, with the category SageMaker prefixes."""
        return f"AlgorithmError: {self}"


class ExecuteUserScriptError(ScriptModeFailure):
    """The user's entry point exited non-zero; the container exits with its status."""


class InstallRequirementsError(ScriptModeFailure):
    """``pip install -r requirements.txt`` failed."""


class InstallModuleError(ScriptModeFailure):
    """``pip install .`` of a user's package (a code directory with ``setup.py``) failed."""


def write_failure(output_dir: Path, text: str) -> bool:
    """Write ``output_dir/failure`` unless the user's script already wrote one (its own
    reason is the better one, as the toolkit judges); whether it was written."""
    path = output_dir / "failure"
    if path.exists():
        return False
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError:
        return False
    return True
