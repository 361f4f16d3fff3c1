"""The toolkit's own log lines: timestamped, levelled, on stderr beside the user's output.

SageMaker's training toolkit logs through Python ``logging`` at the level the
``sagemaker_container_log_level`` hyperparameter names (default 20, INFO), and those lines
reach CloudWatch interleaved with the user script's (specs/containers.md, section 2).
"""

from __future__ import annotations

import logging
import sys
import time

__all__ = ["Log"]


class Log:
    """Writes ``<time> charter-script-mode <LEVEL> <message>`` lines to the current stderr.

    The stream is looked up at every line rather than held, so a caller that swaps
    ``sys.stderr`` (a test capturing output) sees every line.
    """

    def __init__(self, level: int = logging.INFO):
        self.level = level

    def _write(self, level: int, message: str) -> None:
        if level < self.level:
            return
        now = time.time()
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(now)) + f",{int(now % 1 * 1000):03d}"
        print(f"{stamp} charter-script-mode {logging.getLevelName(level):<8} {message}", file=sys.stderr, flush=True)

    def debug(self, message: str) -> None:
        self._write(logging.DEBUG, message)

    def info(self, message: str) -> None:
        self._write(logging.INFO, message)

    def warning(self, message: str) -> None:
        self._write(logging.WARNING, message)

    def error(self, message: str) -> None:
        self._write(logging.ERROR, message)
