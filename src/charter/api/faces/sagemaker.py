"""The SageMaker control plane: JSON 1.1, ``X-Amz-Target: SageMaker.<Operation>``."""

from __future__ import annotations

from ..protocols.json import JsonProtocol
from . import FaceSpec

SPEC = FaceSpec(
    service="sagemaker",
    protocols=[JsonProtocol],
    iam_prefix="sagemaker",
    passes_roles_to="sagemaker.amazonaws.com",
)
