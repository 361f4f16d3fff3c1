"""The demo workspace ``make run`` starts with: a few model package groups to look at."""

from __future__ import annotations

from ..instance import ADMIN_USER, Instance
from ..services import Call, load_all
from ..store import resources as store

DEMO_GROUPS = [
    ("customer-churn", "Churn classifier for the retention team (demo)."),
    ("credit-risk", "Credit default model, German credit data (demo)."),
    ("demand-forecast", "Hourly electricity demand forecaster (demo)."),
]


class SeedReport(list):
    """The names of the groups created; ``lines()`` is what the server prints about them."""

    def lines(self) -> list[str]:
        return [f"Demo workspace: created {', '.join(self)}."] if self else []


def seed(instance: Instance) -> SeedReport:
    """Create the demo groups that do not exist yet; returns the names created."""
    handlers = load_all()
    settings = instance.settings
    created = SeedReport()
    with instance.transaction() as conn:
        call = Call(
            account=settings.account_id,
            region=settings.region,
            principal_arn=f"arn:aws:iam::{settings.account_id}:user/{ADMIN_USER}",
            user_name=ADMIN_USER,
            request_id="demo-seed",
            conn=conn,
            codec=instance.codec,
        )
        for name, description in DEMO_GROUPS:
            if store.get(conn, call.arn("model-package-group", name)) is not None:
                continue
            handlers["CreateModelPackageGroup"].handler(
                call,
                {
                    "ModelPackageGroupName": name,
                    "ModelPackageGroupDescription": description,
                    "Tags": [{"Key": "charter:demo", "Value": "true"}],
                },
            )
            created.append(name)
    return created
