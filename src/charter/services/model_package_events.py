"""A model package's state-change events, newest first: its approval history as the outbox recorded it.

Every change of a version's status, approval status or life-cycle stage emits
``SageMaker Model Package State Change`` (:mod:`charter.services.model_packages`),
whose detail is the package's describe document at that moment: who changed it
(``LastModifiedBy``), when, to what, and the reviewer's ``ApprovalDescription``.
Read together they are the version's approval history, which the describe
document alone cannot give (it keeps only the latest decision).

No SageMaker operation reads EventBridge's events back, so the console reads
them here (read-only), for a version the user has just been allowed to describe.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import Connection, select

from ..store.schema import events
from .model_packages import EVENT_DETAIL_TYPE

#: The most events a version's history shows.
DEFAULT_LIMIT = 20


@dataclass(frozen=True)
class StateChange:
    """One ``SageMaker Model Package State Change`` of a version, as its event's detail told it."""

    time: str  # the event's time, ISO 8601
    approval: str | None  # ModelApprovalStatus after the change
    status: str | None  # ModelPackageStatus after the change (Completed, Deleting, ...)
    by: str | None  # the IAM identity of LastModifiedBy (or CreatedBy for the first event)
    comment: str | None  # ApprovalDescription after the change
    stage: str | None  # ModelLifeCycle Stage/StageStatus, where the version has one


def state_changes(conn: Connection, *, account: str, region: str, package_arn: str,
                  limit: int = DEFAULT_LIMIT) -> list[StateChange]:
    """The newest ``limit`` state-change events of the package ``package_arn``, newest first."""
    # The event table is not indexed by resource: narrow by type and scope, then by the quoted ARN
    # (quoted, so version 1 does not also match version 10), and check the envelope's resources exactly.
    query = (
        select(events.c.document)
        .where(
            events.c.detail_type == EVENT_DETAIL_TYPE,
            events.c.account == account,
            events.c.region == region,
            events.c.document.contains(json.dumps(package_arn), autoescape=True),
        )
        .order_by(events.c.id.desc())
        .limit(limit)
    )
    found: list[StateChange] = []
    for (document,) in conn.execute(query):
        envelope = json.loads(document)
        if package_arn not in envelope.get("resources", ()):
            continue
        detail = envelope.get("detail") or {}
        who = (detail.get("LastModifiedBy") or detail.get("CreatedBy") or {}).get("IamIdentity") or {}
        life_cycle = detail.get("ModelLifeCycle") or {}
        stage = " / ".join(part for part in (life_cycle.get("Stage"), life_cycle.get("StageStatus")) if part)
        found.append(StateChange(
            time=envelope.get("time", ""),
            approval=detail.get("ModelApprovalStatus"),
            status=detail.get("ModelPackageStatus"),
            by=who.get("Arn"),
            comment=detail.get("ApprovalDescription"),
            stage=stage or None,
        ))
    return found
