"""The console's views: each page's routes, registered by the module that draws them.

A view module (``views/model_dashboard.py``, ``views/jobs.py``, ...) declares its
routes with :func:`view`; :mod:`charter.console.app` mounts every one of them
behind the same gate (a session that holds, the page's own IAM action, CSRF on
every unsafe method) and hands the handler a :class:`~charter.console.visit.Visit`:
who is asking, the form posted, and :meth:`Visit.call`, the one way a view reads
or changes anything (the API's own operation, validated, authorized and audited
as the signed-in user).

A handler is a plain function ``handler(visit) -> Response``, run in a worker
thread; it may raise the AwsError a call raised, which the gate turns into a
page (or, for an htmx fragment, an alert) that says what went wrong.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class View:
    method: str  # GET or POST
    path: str  # under /console, Starlette's path syntax: "/model-registry/{group}"
    handler: Callable
    page: str  # the slug of the page (console.pages) it belongs to: its IAM action, its navigation entry
    #: The audit log's name for opening it (GET); None: the page's own (``ViewModelDashboard``).
    #: An unsafe method's row is the API operation's own, written by ``Visit.call``.
    operation: str | None = None


VIEWS: list[View] = []


def view(path: str, *, page: str, method: str = "GET", operation: str | None = None):
    """Registers the decorated ``handler(visit)`` for ``method path`` on ``page``."""

    def register(handler: Callable) -> Callable:
        VIEWS.append(View(method, path, handler, page, operation))
        return handler

    return register


def load_views() -> list[View]:
    """Imports every view module (each registers its routes); every view, in registration order."""
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
    return list(VIEWS)
