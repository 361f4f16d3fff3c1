"""Administering identities: users and roles with Role Manager personas, keys, policies.

Used by the CLI (``charter iam ...``) and by the bootstrap, which the server's
composition root runs at start-up (:func:`bootstrap_admin`); not a SageMaker
operation, so nothing here registers a handler.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Connection

from .. import arns
from ..errors import ValidationException
from ..iam import identities, personas, policy
from ..iam.keyring import Keyring

if TYPE_CHECKING:  # pragma: no cover
    from ..instance import Instance

ADMIN_USER = "admin"


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


def bootstrap_admin(instance: "Instance") -> identities.AccessKey | None:
    """Make sure the admin user and its keys exist.

    Keys come from CHARTER_ROOT_ACCESS_KEY_ID / CHARTER_ROOT_SECRET_ACCESS_KEY when
    set; otherwise they are generated on first start and written to
    CHARTER_HOME/credentials (profile ``charter``).  Returns the keys when they
    were created now (so the caller prints them once), else None.
    """
    settings = instance.settings
    with instance.transaction() as conn:
        admin = identities.find_principal(conn, settings.account_id, "user", ADMIN_USER)
        wanted = settings.root_access_key_id
        if admin is not None:
            if wanted and identities.lookup_key(conn, instance.keyring, wanted) is None:
                return identities.create_access_key(
                    conn, instance.keyring, admin, access_key_id=wanted, secret=settings.root_secret_access_key
                )
            return None
        _, key = create_user(
            conn,
            instance.keyring,
            account=settings.account_id,
            name=ADMIN_USER,
            persona="admin",
            access_key_id=wanted,
            secret=settings.root_secret_access_key if wanted else None,
        )
    if not wanted:
        instance.write_credentials(key)
    return key
