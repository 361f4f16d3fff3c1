"""Administering identities: users and roles with Role Manager personas, keys, policies.

Used by the CLI (``charter iam ...``) and by the bootstrap; not a SageMaker
operation, so nothing here registers a handler.
"""

from __future__ import annotations

from sqlalchemy import Connection

from .. import arns
from ..errors import ValidationException
from ..iam import identities, personas, policy
from ..iam.keyring import Keyring


def create_principal_with_persona(
    conn: Connection,
    *,
    account: str,
    kind: str,
    name: str,
    persona: str,
    activities: list[str] | None = None,
    buckets: list[str] | None = None,
) -> identities.Principal:
    try:
        document = personas.build_policy(
            persona, activities or (), account=account, buckets=buckets or (), username=name
        )
    except ValueError as exc:
        raise ValidationException(str(exc)) from exc
    principal = identities.create_principal(
        conn, account=account, kind=kind, name=name, persona=persona, activities=list(activities or [])
    )
    policy_arn = identities.persona_policy_arn(principal)
    identities.put_policy(conn, arn=policy_arn, name=policy_arn.rsplit("/", 1)[-1], document=document)
    identities.attach_policy(conn, principal, policy_arn)
    return principal


def create_user(
    conn: Connection,
    keyring: Keyring,
    *,
    account: str,
    name: str,
    persona: str,
    activities: list[str] | None = None,
    buckets: list[str] | None = None,
    access_key_id: str | None = None,
    secret: str | None = None,
) -> tuple[identities.Principal, identities.AccessKey]:
    user = create_principal_with_persona(
        conn, account=account, kind="user", name=name, persona=persona, activities=activities, buckets=buckets
    )
    key = identities.create_access_key(conn, keyring, user, access_key_id=access_key_id, secret=secret)
    return user, key


def attach_policy_document(conn: Connection, principal: identities.Principal, name: str, document: dict | str) -> str:
    """Validate a policy document, store it as a managed policy and attach it."""
    parsed = policy.validate_policy(document)
    policy_arn = arns.iam_arn(principal.account, "policy", name)
    identities.put_policy(conn, arn=policy_arn, name=name, document=parsed)
    identities.attach_policy(conn, principal, policy_arn)
    return policy_arn


def require_principal(conn: Connection, account: str, kind: str, name: str) -> identities.Principal:
    principal = identities.find_principal(conn, account, kind, name)
    if principal is None:
        raise ValidationException(f"The {kind} {name} does not exist.")
    return principal
