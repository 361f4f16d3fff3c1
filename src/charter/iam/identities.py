"""Users, roles, access keys and the policies attached to them.

IAM-style principals live in the database; a user's persona (Role Manager) is
materialised as a managed policy ``charter-persona-<user>`` attached to it, so
what a user may do is always "the policies attached", whatever made them.

Every principal has a *unique id*, as IAM gives one (IAM User Guide, "IAM
identifiers", unique identifiers): ``AIDA`` for a user, ``AROA`` for a role,
then 17 upper-case letters and digits.  It is chosen once, stored, and never
reused, so a user deleted and created again under the same name is a different
principal.  It is what ``aws:userid`` and a resource's
``CreatedBy.IamIdentity.PrincipalId`` carry, not the name.
"""

from __future__ import annotations

import functools
import json
import secrets
import string
import time
from dataclasses import dataclass

from sqlalchemy import Connection, bindparam, delete, insert, select

from .. import arns
from ..errors import ValidationException
from ..store.schema import access_keys, policies, policy_attachments, principals
from .keyring import Keyring

_KEY_ALPHABET = string.ascii_uppercase + string.digits

#: The prefix of each kind's unique id (IAM User Guide, "Understanding unique ID prefixes").
UNIQUE_ID_PREFIXES = {"user": "AIDA", "role": "AROA"}
_UNIQUE_ID_LENGTH = 17  # characters after the prefix


@dataclass(frozen=True)
class Principal:
    arn: str
    kind: str
    name: str
    account: str
    persona: str | None
    activities: list[str]
    unique_id: str

    @property
    def caller_id(self) -> str:
        """What AWS reports as the caller's id (``aws:userid``, ``PrincipalId``).

        A user's unique id; for a role, ``<role id>:<session name>`` as for an
        assumed-role session (Charter's roles sign with their own keys, so the
        role's name stands in for the session name).
        """
        if self.kind == "role":
            return f"{self.unique_id}:{self.name}"
        return self.unique_id


@dataclass(frozen=True)
class AccessKey:
    access_key_id: str
    secret_access_key: str
    principal_arn: str


def new_access_key_id() -> str:
    # AWS user keys start with AKIA followed by 16 upper-case letters and digits.
    return "AKIA" + "".join(secrets.choice(_KEY_ALPHABET) for _ in range(16))


def new_unique_id(kind: str) -> str:
    """A fresh IAM unique id: ``AIDA`` (user) or ``AROA`` (role) and 17 upper-case letters and digits."""
    return UNIQUE_ID_PREFIXES[kind] + "".join(secrets.choice(_KEY_ALPHABET) for _ in range(_UNIQUE_ID_LENGTH))


def new_secret() -> str:
    return secrets.token_urlsafe(30)[:40]


def _principal(row) -> Principal:
    return Principal(
        arn=row.arn,
        kind=row.kind,
        name=row.name,
        account=row.account,
        persona=row.persona,
        activities=json.loads(row.activities or "[]"),
        unique_id=row.unique_id,
    )


def create_principal(
    conn: Connection,
    *,
    account: str,
    kind: str,
    name: str,
    persona: str | None = None,
    activities: list[str] | None = None,
    path: str = "/",
) -> Principal:
    if kind not in ("user", "role"):
        raise ValueError(kind)
    if not name or len(name) > 64 or not all(ch.isalnum() or ch in "+=,.@_-" for ch in name):
        raise ValidationException(
            f"The {kind} name '{name}' is not valid: use 1-64 letters, digits or the characters +=,.@_-"
        )
    arn = arns.iam_arn(account, kind, path.lstrip("/") + name)  # IAM writes a path into the ARN
    if get_principal(conn, arn) or find_principal(conn, account, kind, name, any_path=True):
        raise ValidationException(f"A {kind} named {name} already exists.")
    # 36^17 ids: a collision is practically impossible, and the unique index would refuse one.
    unique_id = new_unique_id(kind)
    conn.execute(
        insert(principals).values(
            arn=arn,
            kind=kind,
            name=name,
            account=account,
            persona=persona,
            activities=json.dumps(activities or []),
            created_at=time.time(),
            unique_id=unique_id,
        )
    )
    return Principal(arn, kind, name, account, persona, list(activities or []), unique_id)


def get_principal(conn: Connection, arn: str) -> Principal | None:
    row = conn.execute(select(principals).where(principals.c.arn == arn)).first()
    return _principal(row) if row else None


def find_principal(conn: Connection, account: str, kind: str, name: str, *, any_path: bool = False) -> Principal | None:
    """The ``kind`` named ``name``; ``any_path``: whatever its path (names are unique in an account)."""
    if not any_path:
        return get_principal(conn, arns.iam_arn(account, kind, name))
    row = conn.execute(
        select(principals).where(principals.c.account == account, principals.c.kind == kind, principals.c.name == name)
    ).first()
    return _principal(row) if row else None


def list_principals(conn: Connection, account: str, kind: str | None = None) -> list[Principal]:
    query = select(principals).where(principals.c.account == account)
    if kind:
        query = query.where(principals.c.kind == kind)
    return [_principal(row) for row in conn.execute(query.order_by(principals.c.kind, principals.c.name))]


def delete_principal(conn: Connection, principal: Principal) -> None:
    conn.execute(delete(access_keys).where(access_keys.c.principal_arn == principal.arn))
    owned = [row.policy_arn for row in conn.execute(
        select(policy_attachments.c.policy_arn).where(policy_attachments.c.principal_arn == principal.arn))]
    conn.execute(delete(policy_attachments).where(policy_attachments.c.principal_arn == principal.arn))
    # The persona policy belongs to the user alone; other managed policies stay.
    persona_policy = persona_policy_arn(principal)
    if persona_policy in owned:
        conn.execute(delete(policies).where(policies.c.arn == persona_policy))
    conn.execute(delete(principals).where(principals.c.arn == principal.arn))


# --- access keys -----------------------------------------------------------


def create_access_key(
    conn: Connection, keyring: Keyring, principal: Principal, *, access_key_id: str | None = None, secret: str | None = None
) -> AccessKey:
    key = AccessKey(access_key_id or new_access_key_id(), secret or new_secret(), principal.arn)
    conn.execute(
        insert(access_keys).values(
            access_key_id=key.access_key_id,
            principal_arn=principal.arn,
            secret_ciphertext=keyring.encrypt(key.secret_access_key),
            status="Active",
            created_at=time.time(),
        )
    )
    return key


def lookup_key(
    conn: Connection, keyring: Keyring, access_key_id: str, session_token: str | None = None, clock=time.time
) -> tuple[str, Principal] | None:
    """The secret and owner of an active access key, or None.

    ``session_token`` is the request's ``X-Amz-Security-Token``: a long-term key
    signs without one, so a request that carries one is not this key's; a
    temporary key (``ASIA...``) is accepted only with its session's token and,
    by ``clock``, before its expiry (:func:`charter.iam.sessions.lookup`).
    """
    if session_token is not None or access_key_id.startswith("ASIA"):
        from . import sessions  # temporary credentials (STS AssumeRole)

        return sessions.lookup(conn, keyring, access_key_id, session_token, clock)
    row = conn.execute(_ACTIVE_KEY, {"access_key_id": access_key_id}).first()
    if row is None:
        return None
    return keyring.decrypt(row.secret_ciphertext), _principal(row)


# Built once: every signed request runs it.
_ACTIVE_KEY = (
    select(access_keys.c.secret_ciphertext, principals)
    .join(principals, principals.c.arn == access_keys.c.principal_arn)
    .where(access_keys.c.access_key_id == bindparam("access_key_id"), access_keys.c.status == "Active")
)


def list_access_keys(conn: Connection, principal: Principal) -> list[dict]:
    rows = conn.execute(select(access_keys).where(access_keys.c.principal_arn == principal.arn))
    return [{"AccessKeyId": r.access_key_id, "Status": r.status, "CreateDate": r.created_at} for r in rows]


# --- policies --------------------------------------------------------------


def persona_policy_arn(principal: Principal) -> str:
    return arns.iam_arn(principal.account, "policy", f"charter-persona-{principal.kind}-{principal.name}")


def put_policy(conn: Connection, *, arn: str, name: str, document: dict) -> None:
    conn.execute(delete(policies).where(policies.c.arn == arn))
    conn.execute(insert(policies).values(arn=arn, name=name, document=json.dumps(document), created_at=time.time()))


def attach_policy(conn: Connection, principal: Principal, policy_arn: str) -> None:
    conn.execute(
        delete(policy_attachments).where(
            policy_attachments.c.principal_arn == principal.arn, policy_attachments.c.policy_arn == policy_arn
        )
    )
    conn.execute(insert(policy_attachments).values(principal_arn=principal.arn, policy_arn=policy_arn))


_ATTACHED = (
    select(policies.c.arn, policies.c.document)
    .join(policy_attachments, policy_attachments.c.policy_arn == policies.c.arn)
    .where(policy_attachments.c.principal_arn == bindparam("principal_arn"))
    .order_by(policies.c.arn)
)


def attached_policies(conn: Connection, principal_arn: str) -> list[tuple[str, dict]]:
    if principal_arn.startswith("arn:aws:sts::"):  # an assumed-role session has its role's policies
        from .sessions import role_arn_of

        principal_arn = role_arn_of(conn, principal_arn)
    rows = conn.execute(_ATTACHED, {"principal_arn": principal_arn})
    return [(arn, _parsed_policy(document)) for arn, document in rows]


@functools.lru_cache(maxsize=1024)
def _parsed_policy(document: str) -> dict:
    """A stored policy's text, parsed once per distinct text; callers only read it."""
    return json.loads(document)
