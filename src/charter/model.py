"""botocore's service models: the API contract, loaded once and shared by every layer.

Charter does not keep its own description of the SageMaker API: every operation,
shape, enum, length and pattern is read from the models installed with botocore
(``botocore/data/<service>/<version>/service-2.json``).  Loading one is slow (the
SageMaker model is several megabytes of JSON), so each is loaded on first use and
then kept for the life of the process.

This module sits below every layer (it imports nothing of Charter), so the wire
faces (request validation in :mod:`charter.api.shapes`), the services (``Search``
reads resource shapes) and tools (the coverage page) all use the same objects.
"""

from __future__ import annotations

import threading

import botocore.model
import botocore.session

__all__ = ["service_model"]

_lock = threading.Lock()
_session: botocore.session.Session | None = None
_models: dict[str, botocore.model.ServiceModel] = {}


def service_model(name: str = "sagemaker") -> botocore.model.ServiceModel:
    """botocore's service model for ``name`` (loaded once, then cached)."""
    model = _models.get(name)
    if model is not None:
        return model
    global _session
    with _lock:
        model = _models.get(name)
        if model is None:
            if _session is None:
                _session = botocore.session.get_session()
            model = _models[name] = _session.get_service_model(name)
    return model
