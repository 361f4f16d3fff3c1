"""What a SageMaker instance type gives a job: vCPUs, memory and accelerators.

An executor reserves a job's instance type from the host (LocalExecutor) or the
cluster (RayExecutor), so that ``ml.m5.xlarge`` means 4 vCPUs and 16 GiB here as
it does on AWS.  Most types follow EC2's naming: the size gives the vCPUs
(``large`` 2, ``xlarge`` 4, ``Nxlarge`` 4N) and the family the memory per vCPU
(general purpose ``m`` 4 GiB, compute ``c`` 2 GiB, memory ``r`` 8 GiB).  The
types that do not (older generations with odd sizes, burstable ``t3``, GPU and
Trainium types) are listed with their published figures (Amazon EC2 instance
types; SageMaker pricing, "instance details").
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class InstanceType:
    name: str
    vcpus: int
    memory_mib: int
    gpus: int = 0

    @property
    def memory_gib(self) -> float:
        return self.memory_mib / 1024


_GIB = 1024

#: Types whose figures do not follow the naming rule: name -> (vCPUs, GiB, GPUs).
_LISTED: dict[str, tuple[int, float, int]] = {
    "ml.t3.medium": (2, 4, 0),
    "ml.t3.large": (2, 8, 0),
    "ml.t3.xlarge": (4, 16, 0),
    "ml.t3.2xlarge": (8, 32, 0),
    "ml.m4.10xlarge": (40, 160, 0),
    "ml.c4.xlarge": (4, 7.5, 0),
    "ml.c4.2xlarge": (8, 15, 0),
    "ml.c4.4xlarge": (16, 30, 0),
    "ml.c4.8xlarge": (36, 60, 0),
    "ml.c5.9xlarge": (36, 72, 0),
    "ml.c5.18xlarge": (72, 144, 0),
    "ml.c5n.xlarge": (4, 10.5, 0),
    "ml.c5n.2xlarge": (8, 21, 0),
    "ml.c5n.4xlarge": (16, 42, 0),
    "ml.c5n.9xlarge": (36, 96, 0),
    "ml.c5n.18xlarge": (72, 192, 0),
    "ml.p2.xlarge": (4, 61, 1),
    "ml.p2.8xlarge": (32, 488, 8),
    "ml.p2.16xlarge": (64, 732, 16),
    "ml.p3.2xlarge": (8, 61, 1),
    "ml.p3.8xlarge": (32, 244, 4),
    "ml.p3.16xlarge": (64, 488, 8),
    "ml.p3dn.24xlarge": (96, 768, 8),
    "ml.p4d.24xlarge": (96, 1152, 8),
    "ml.p4de.24xlarge": (96, 1152, 8),
    "ml.p5.4xlarge": (16, 256, 1),
    "ml.p5.48xlarge": (192, 2048, 8),
    "ml.p5e.48xlarge": (192, 2048, 8),
    "ml.p5en.48xlarge": (192, 2048, 8),
    "ml.g4dn.xlarge": (4, 16, 1),
    "ml.g4dn.2xlarge": (8, 32, 1),
    "ml.g4dn.4xlarge": (16, 64, 1),
    "ml.g4dn.8xlarge": (32, 128, 1),
    "ml.g4dn.12xlarge": (48, 192, 4),
    "ml.g4dn.16xlarge": (64, 256, 1),
    "ml.g5.xlarge": (4, 16, 1),
    "ml.g5.2xlarge": (8, 32, 1),
    "ml.g5.4xlarge": (16, 64, 1),
    "ml.g5.8xlarge": (32, 128, 1),
    "ml.g5.12xlarge": (48, 192, 4),
    "ml.g5.16xlarge": (64, 256, 1),
    "ml.g5.24xlarge": (96, 384, 4),
    "ml.g5.48xlarge": (192, 768, 8),
    "ml.trn1.2xlarge": (8, 32, 1),
    "ml.trn1.32xlarge": (128, 512, 16),
    "ml.trn1n.32xlarge": (128, 512, 16),
    "ml.trn2.48xlarge": (192, 2048, 16),
}

#: GiB of memory per vCPU by family letter, for the types the rule covers.
_PER_VCPU = {"m": 4, "c": 2, "r": 8, "g": 4, "p": 8, "x": 16, "z": 8, "i": 8, "t": 4}
#: GPUs of the ``g6``/``g6e``/``g7``/``g7e`` sizes (the 12x, 24x and 48x sizes have several).
_MULTI_GPU = {"12xlarge": 4, "24xlarge": 4, "48xlarge": 8}

_NAME = re.compile(r"^ml\.(?P<family>[a-z]+)(?P<generation>\d+)(?P<suffix>[a-z-]*)\.(?P<size>medium|large|\d*xlarge)$")


def _vcpus(size: str) -> int:
    if size == "medium":
        return 1
    if size == "large":
        return 2
    multiple = size[: -len("xlarge")]
    return 4 * int(multiple) if multiple else 4


def lookup(name: str) -> InstanceType:
    """The figures of instance type ``name`` (``ml.m5.xlarge``); ValueError for a name that is not one."""
    if name in _LISTED:
        vcpus, gib, gpus = _LISTED[name]
        return InstanceType(name, vcpus, int(gib * _GIB), gpus)
    match = _NAME.match(name)
    if match is None or match.group("family")[0] not in _PER_VCPU:
        raise ValueError(f"{name!r} is not a SageMaker instance type (for example ml.m5.xlarge)")
    family = match.group("family")
    size = match.group("size")
    vcpus = _vcpus(size)
    gpus = 0
    if family in ("g", "p"):
        gpus = _MULTI_GPU.get(size, 1)
    return InstanceType(name, vcpus, int(vcpus * _PER_VCPU[family[0]] * _GIB), gpus)
