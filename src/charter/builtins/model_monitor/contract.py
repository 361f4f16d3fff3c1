"""The ``model-monitor`` image's environment contract, read once and parsed once.

Every job of the image (data quality, model quality, bias drift, feature attribution
drift) is configured by environment variables: the common ones of the Developer Guide
page "Container Contract Inputs" (model-monitor-byoc-contract-inputs) and a few of its
own.  :func:`read` takes the environment once, at the image's entry point, and hands
the jobs a :class:`Contract`; each variable is parsed the first time a job asks for it
and kept, and every problem is a :class:`~charter.builtins.ClientError` that names the
variable.

Variables that name a container path (``/opt/ml/...``) are resolved under the container
root, which plays ``/``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import datetime
from functools import cached_property
from pathlib import Path

from .. import ClientError
from .capture import parse_time

__all__ = ["Contract", "read", "DEFAULT_OUTPUT", "ANALYSIS_TYPES"]

DEFAULT_OUTPUT = "/opt/ml/processing/output"
ANALYSIS_TYPES = ("DATA_QUALITY", "MODEL_QUALITY", "MODEL_BIAS", "FEATURE_ATTRIBUTION_DRIFT")


def read(root: Path, env: Mapping[str, str] | None = None) -> "Contract":
    """The contract of the job in container ``root``: ``env``, or this process's environment."""
    return Contract(Path(root), dict(os.environ if env is None else env))


class Contract:
    """The job's environment variables, and the parsed values every job shares."""

    def __init__(self, root: Path, env: Mapping[str, str]) -> None:
        self.root = root
        self.env = env

    # --- reading variables -----------------------------------------------------------

    def get(self, name: str, default: str | None = None) -> str | None:
        """The variable's value; ``default`` when it is unset or empty."""
        value = self.env.get(name)
        return value if value else default

    def required(self, name: str, hint: str) -> str:
        value = self.env.get(name)
        if not value:
            raise ClientError(f"environment variable {name} is not set; {hint}")
        return value

    def host(self, container_path: str) -> Path:
        """Where container path ``container_path`` lies on this machine (under the root)."""
        return self.root / container_path.lstrip("/")

    def existing(self, name: str, hint: str) -> Path:
        """A required variable naming a file or directory that exists in the container."""
        value = self.required(name, hint)
        path = self.host(value)
        if not path.exists():
            raise ClientError(f"environment variable {name}: {value} does not exist in the container")
        return path

    def optional_file(self, name: str) -> Path | None:
        """An optional variable naming a file in the container; None when unset."""
        value = self.env.get(name)
        if not value:
            return None
        path = self.host(value)
        if not path.is_file():
            raise ClientError(f"environment variable {name}: {value} is not a file in the container")
        return path

    # --- what every job shares ------------------------------------------------------------

    @cached_property
    def analysis_type(self) -> str:
        """``analysis_type``: ``DATA_QUALITY`` when unset."""
        return self.env.get("analysis_type") or "DATA_QUALITY"

    @cached_property
    def output(self) -> Path:
        """``output_path``: where the reports go (default ``/opt/ml/processing/output``)."""
        return self.host(self.env.get("output_path") or DEFAULT_OUTPUT)

    @cached_property
    def start(self) -> datetime | None:
        """``start_time``: the monitoring period's start (captured events before it are ignored)."""
        return parse_time(self.env["start_time"], "start_time") if self.env.get("start_time") else None

    @cached_property
    def end(self) -> datetime | None:
        """``end_time``: the monitoring period's end (exclusive)."""
        return parse_time(self.env["end_time"], "end_time") if self.env.get("end_time") else None

    @cached_property
    def publish_metrics(self) -> bool:
        """``publish_cloudwatch_metrics``: ``Enabled`` (default) or ``Disabled``."""
        publish = self.env.get("publish_cloudwatch_metrics", "Enabled")
        if publish not in ("Enabled", "Disabled"):
            raise ClientError(f"environment variable publish_cloudwatch_metrics must be Enabled or Disabled; got {publish!r}")
        return publish == "Enabled"

    @cached_property
    def endpoint(self) -> str | None:
        """``sagemaker_endpoint_name``: the metrics' ``Endpoint`` dimension."""
        return self.env.get("sagemaker_endpoint_name")

    @cached_property
    def schedule(self) -> str | None:
        """``sagemaker_monitoring_schedule_name``: the metrics' ``MonitoringSchedule`` dimension."""
        return self.env.get("sagemaker_monitoring_schedule_name")

    @property
    def dimensions(self) -> list[dict[str, str]]:
        """The CloudWatch dimensions of every metric the job writes (page model-monitor-byoc-cloudwatch)."""
        out = []
        if self.endpoint:
            out.append({"Name": "Endpoint", "Value": self.endpoint})
        if self.schedule:
            out.append({"Name": "MonitoringSchedule", "Value": self.schedule})
        return out
