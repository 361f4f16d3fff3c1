"""The demo workspace ``charter server --demo`` (and so ``make run``) seeds on first start.

A newcomer should find a workspace that shows what Charter is for: a team's model
registry with versions approved, rejected and waiting for review, each with its
evaluation metrics in the artifact store; model cards at every stage of review, the
approved one exported to PDF; a user for each Role Manager persona, whose keys are
profiles of ``CHARTER_HOME/credentials``, to feel what each may and may not do; and,
where ``../shared/data`` is on the machine, a Clarify bias report and a Model Monitor
baseline computed from the German credit table, and a training job on the built-in
XGBoost algorithm that the job engine runs as soon as the server is up.

The workspace is a list of :class:`Step` s (:data:`STEPS`), each a function of the
:class:`Workspace` that makes one part of it, through the API as one of the demo's
users (``client.py``).  A step runs once per installation: the steps done are
recorded in ``CHARTER_HOME/demo.json``, so what a user deletes stays deleted, and a
step a later release appends to :data:`STEPS` runs once on the next start of an
existing workspace.  A step that fails is reported in the start-up output and in
``demo.json`` (``failed``), is not run again, and does not stop the server.
"""

from __future__ import annotations

import configparser
import datetime as dt
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..iam import identities
from ..instance import Instance
from ..store import artifacts

__all__ = ["BUCKET", "STEPS", "SeedReport", "Step", "Workspace", "seed"]

#: The bucket of the artifact store the demo writes to.
BUCKET = "charter-demo"
#: Tag on every resource the demo makes.
TAG = {"Key": "charter:demo", "Value": "true"}


def user_name(persona: str) -> str:
    """The demo user of a persona; also its profile in CHARTER_HOME/credentials."""
    return f"demo-{persona}"


@dataclass
class Workspace:
    """What the steps share: the installation, the API as each demo user, and what was made."""

    instance: Instance
    keys: dict[str, identities.AccessKey] = field(default_factory=dict)  # user name -> key
    results: dict[str, Any] = field(default_factory=dict)  # what a step made that a later one uses
    made: list[str] = field(default_factory=list)  # lines for the start-up output
    notes: list[str] = field(default_factory=list)

    @property
    def account(self) -> str:
        return self.instance.settings.account_id

    @property
    def region(self) -> str:
        return self.instance.settings.region

    def arn(self, resource_type: str, resource_id: str) -> str:
        from .. import arns

        return arns.sagemaker_arn(self.region, self.account, resource_type, resource_id)

    def client(self, persona: str):
        """The SageMaker API as the demo user of ``persona``."""
        from ..api.gateway import Gateway
        from .client import ApiClient

        name = user_name(persona)
        if "gateway" not in self.results:
            self.results["gateway"] = Gateway(self.instance)
        key = self.keys.get(name) or self._saved_key(name)
        return ApiClient(self.results["gateway"], key, self.region, name)

    def _saved_key(self, name: str) -> identities.AccessKey:
        """A demo user's key from its profile, for a step that runs after the users were made."""
        parser = configparser.ConfigParser()
        parser.read(self.instance.settings.credentials_file)
        if not parser.has_section(name):
            raise RuntimeError(f"the demo user {name} has no profile in {self.instance.settings.credentials_file}")
        section = parser[name]
        from .. import arns

        principal = arns.iam_arn(self.account, "user", name)
        return identities.AccessKey(section["aws_access_key_id"], section["aws_secret_access_key"], principal)

    def uri(self, *parts: str) -> str:
        return artifacts.join(f"s3://{BUCKET}/", *parts)

    def write(self, uri: str, data: bytes | str | dict) -> str:
        """Put an object in the artifact store; returns its URI."""
        if isinstance(data, dict):
            data = json.dumps(data, indent=2) + "\n"
        artifacts.write_bytes(self.instance, uri, data.encode() if isinstance(data, str) else data)
        return uri

    def where(self, uri: str) -> Path | str:
        """Where an artifact-store URI is kept: an object's file, or for a prefix the store's folder or URL."""
        if not artifacts.parse(uri).is_prefix:
            return artifacts.local_path(self.instance, uri)
        from ..store.objects import ObjectStore, local_root

        store = ObjectStore.open(self.instance)
        return store.external or local_root(self.instance.settings.artifact_root)


@dataclass(frozen=True)
class Step:
    """One part of the demo workspace: ``run`` makes it and returns nothing."""

    name: str
    description: str
    run: Callable[[Workspace], None]


class SeedReport(list):
    """The lines the server prints about the demo workspace (plain text, no markup)."""

    def lines(self) -> list[str]:
        return list(self)


def marker_file(instance: Instance) -> Path:
    return instance.settings.home / "demo.json"


def _load_marker(path: Path) -> dict:
    try:
        document = json.loads(path.read_text())
    except (OSError, ValueError):
        return {"steps": {}}
    return document if isinstance(document.get("steps"), dict) else {"steps": {}}


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def seed(instance: Instance, steps: list[Step] | None = None) -> SeedReport:
    """Run the demo steps this installation has not run yet; what to tell the user."""
    steps = STEPS if steps is None else steps
    path = marker_file(instance)
    marker = _load_marker(path)
    pending = [step for step in steps if step.name not in marker["steps"]]
    report = SeedReport()
    if not pending:
        when = marker.get("seeded_at", "earlier")
        report.append(f"Demo workspace: seeded {when}; it is made once, so what you deleted stays deleted ({path}).")
        return report

    workspace = Workspace(instance)
    started = time.perf_counter()
    for step in pending:
        try:
            step.run(workspace)
        except Exception as error:  # the server starts all the same; the user learns what is missing
            # Recorded all the same: a step run again would trip over what it made before failing.
            workspace.notes.append(f"the demo step '{step.name}' ({step.description}) failed: {error}")
            marker.setdefault("failed", {})[step.name] = str(error)
        marker["steps"][step.name] = _now()
    marker.setdefault("seeded_at", _now())
    path.write_text(json.dumps(marker, indent=2) + "\n")

    report.append(f"Demo workspace made in {time.perf_counter() - started:.1f} s (once: recorded in {path}):")
    report.extend(f"  {line}" for line in workspace.made)
    report.extend(f"  note: {note}" for note in workspace.notes)
    return report


def _steps() -> list[Step]:
    from . import analyses, cards, console, jobs, registry, users

    return [users.STEP, analyses.STEP, registry.STEP, cards.STEP, jobs.STEP, console.STEP]


STEPS: list[Step] = _steps()
