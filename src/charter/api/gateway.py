"""The SageMaker JSON 1.1 gateway: the control plane's face.

``POST /`` with ``X-Amz-Target: SageMaker.<Operation>`` takes the generic
request cycle of :mod:`charter.api.faces` (authenticate, parse and validate
against the operation's input shape, authorize with iam:PassRole, dispatch to
the handler registered under the operation's name, serialize, audit); nothing
here knows any particular operation (ARCHITECTURE.md rule 1).
"""

from __future__ import annotations

from ..instance import Instance
from .access import Access
from .faces import Face
from .faces.sagemaker import SPEC
from .wire import WireRequest, WireResponse

__all__ = ["Gateway", "WireRequest", "WireResponse", "TARGET_PREFIX", "JSON_11"]

TARGET_PREFIX = "SageMaker."
JSON_11 = "application/x-amz-json-1.1"


class Gateway(Face):
    def __init__(self, instance: Instance, access: Access | None = None):
        super().__init__(access or Access(instance), SPEC)
