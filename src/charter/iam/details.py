"""What the IAM API records about a user or role beyond ``principals``: path, description, trust policy, tags.

Rows of ``iam_details`` (:mod:`charter.store.sessions_schema`); a principal
made before the IAM API existed (by ``charter iam create-user``) has none and
reads as path ``/``, no description, no tags, and, for a role, no trust policy
(so nobody may assume it) and the default longest session of one hour.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from sqlalchemy import Connection, delete, insert, select

from ..store.sessions_schema import iam_details

#: A role's MaxSessionDuration when CreateRole names none (IAM API Reference, CreateRole).
DEFAULT_MAX_SESSION_DURATION = 3600


@dataclass
class Details:
    path: str = "/"
    description: str | None = None
    trust_policy: str | None = None
    max_session_duration: int = DEFAULT_MAX_SESSION_DURATION
    tags: list[dict] = field(default_factory=list)


def get(conn: Connection, principal_arn: str) -> Details:
    row = conn.execute(select(iam_details).where(iam_details.c.principal_arn == principal_arn)).first()
    if row is None:
        return Details()
    return Details(
        path=row.path,
        description=row.description,
        trust_policy=row.trust_policy,
        max_session_duration=row.max_session_duration or DEFAULT_MAX_SESSION_DURATION,
        tags=json.loads(row.tags or "[]"),
    )


def put(conn: Connection, principal_arn: str, details: Details) -> None:
    conn.execute(
        insert(iam_details).values(
            principal_arn=principal_arn,
            path=details.path,
            description=details.description,
            trust_policy=details.trust_policy,
            max_session_duration=details.max_session_duration,
            tags=json.dumps(details.tags),
        )
    )


def all_of(conn: Connection, principal_arns: list[str]) -> dict[str, Details]:
    """The details of many principals at once (listing), by ARN; missing ones get the defaults."""
    found = {arn: Details() for arn in principal_arns}
    if principal_arns:
        for row in conn.execute(select(iam_details).where(iam_details.c.principal_arn.in_(principal_arns))):
            found[row.principal_arn] = Details(
                row.path, row.description, row.trust_policy,
                row.max_session_duration or DEFAULT_MAX_SESSION_DURATION, json.loads(row.tags or "[]"),
            )
    return found


def replace(conn: Connection, principal_arn: str, details: Details) -> None:
    conn.execute(delete(iam_details).where(iam_details.c.principal_arn == principal_arn))
    put(conn, principal_arn, details)
