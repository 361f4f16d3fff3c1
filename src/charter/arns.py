"""Building and parsing ARNs.

Format (specs/aws-protocol.md §3): ``arn:aws:sagemaker:<region>:<account>:<type>/<id>``.
AWS writes the name part of many SageMaker ARNs in lower case and treats those
names as unique case-insensitively; other types keep the case they were given.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import ValidationException

PARTITION = "aws"

# Resource types whose ARN AWS lower-cases (and whose names are unique without regard to case).
LOWERCASE_TYPES = frozenset(
    {
        "endpoint",
        "endpoint-config",
        "model",
        "model-package",
        "model-package-group",
        "training-job",
        "processing-job",
        "transform-job",
        "hyper-parameter-tuning-job",
        "automl-job",
        "compilation-job",
        "labeling-job",
    }
)

_ARN = re.compile(r"^arn:(?P<partition>aws[a-z-]*):(?P<service>[a-z0-9-]+):(?P<region>[a-z0-9-]*):(?P<account>[0-9]{12}|aws)?:(?P<resource>.+)$")


@dataclass(frozen=True)
class Arn:
    service: str
    region: str
    account: str
    resource_type: str
    resource_id: str
    partition: str = PARTITION

    def __str__(self) -> str:
        return f"arn:{self.partition}:{self.service}:{self.region}:{self.account}:{self.resource_type}/{self.resource_id}"

    @property
    def name(self) -> str:
        """The last path element (a model package's version, a group's name, ...)."""
        return self.resource_id.rsplit("/", 1)[-1]


def sagemaker_arn(region: str, account: str, resource_type: str, resource_id: str) -> str:
    if resource_type in LOWERCASE_TYPES:
        resource_id = resource_id.lower()
    return f"arn:{PARTITION}:sagemaker:{region}:{account}:{resource_type}/{resource_id}"


def iam_arn(account: str, kind: str, name: str) -> str:
    """``arn:aws:iam::<account>:user/<name>`` (IAM is global: no region)."""
    return f"arn:{PARTITION}:iam::{account}:{kind}/{name}"


def parse(arn: str) -> Arn:
    match = _ARN.match(arn)
    if not match or "/" not in match["resource"]:
        raise ValidationException(f"Invalid ARN \"{arn}\": expected arn:aws:<service>:<region>:<account>:<type>/<id>.")
    resource_type, resource_id = match["resource"].split("/", 1)
    return Arn(
        service=match["service"],
        region=match["region"],
        account=match["account"] or "",
        resource_type=resource_type,
        resource_id=resource_id,
        partition=match["partition"],
    )


def name_or_arn(value: str, resource_type: str) -> str:
    """The name from a ``...NameOrArn`` member, which may hold either."""
    if value.startswith("arn:"):
        parsed = parse(value)
        if parsed.resource_type != resource_type:
            raise ValidationException(f"ARN \"{value}\" does not name a {resource_type}.")
        return parsed.resource_id
    return value
