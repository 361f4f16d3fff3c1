"""Running work: background workers started with the server (and, later, executors).

A module here registers a worker factory with ``@background``; the API server
starts every registered worker when it starts and stops them when it stops.
Workers keep their state in the database, so a restart picks up where the last
process left off (ARCHITECTURE.md rule 6).
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import TYPE_CHECKING, Callable, Protocol

if TYPE_CHECKING:  # pragma: no cover
    from ..instance import Instance


class Worker(Protocol):
    def start(self) -> None: ...

    def stop(self) -> None: ...


WORKERS: dict[str, Callable[["Instance"], Worker]] = {}


def background(name: str):
    """Register a factory ``Instance -> Worker`` started with the server."""

    def register(factory):
        WORKERS[name] = factory
        return factory

    return register


def load_all() -> dict[str, Callable[["Instance"], Worker]]:
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
    return WORKERS
