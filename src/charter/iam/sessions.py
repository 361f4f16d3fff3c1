"""STS sessions: temporary credentials of an assumed role.

``AssumeRole`` gives its caller an access key id (``ASIA`` and 16 upper-case
letters and digits, as AWS's temporary keys), a secret and a session token,
valid until an expiry time.  A request signed with them must carry the token
(``X-Amz-Security-Token``); :func:`lookup` accepts the key only with its own
token and only before its expiry, by the server's clock (AWS STS API
Reference, "AssumeRole"; IAM User Guide, "Using temporary credentials").

A session acts as its role: the role's policies decide what it may do, but
the caller is named as the session, ``arn:aws:sts::<account>:assumed-role/
<role>/<session>``, with the id ``<role's AROA id>:<session>`` (``aws:userid``),
which is what the audit log and GetCallerIdentity show.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
import time
from dataclasses import dataclass
from typing import Callable

from sqlalchemy import Connection, delete, insert, select

from .. import arns
from ..errors import ExpiredToken
from ..store.schema import principals
from ..store.sessions_schema import sts_sessions
from .identities import Principal, _principal, new_secret
from .keyring import Keyring

_KEY_ALPHABET = string.ascii_uppercase + string.digits
#: Expired sessions are forgotten this long after their expiry (so a late request still hears "expired").
_KEEP_EXPIRED_SECONDS = 24 * 3600


@dataclass(frozen=True)
class SessionPrincipal(Principal):
    """The caller of a request signed with a session's credentials: the role, as that session."""

    session_name: str = ""
    role_arn: str = ""

    @property
    def caller_id(self) -> str:
        return f"{self.unique_id}:{self.session_name}"


@dataclass(frozen=True)
class Credentials:
    access_key_id: str
    secret_access_key: str
    session_token: str
    expiration: float  # epoch seconds


def new_session_key_id() -> str:
    return "ASIA" + "".join(secrets.choice(_KEY_ALPHABET) for _ in range(16))


def is_session_key(access_key_id: str) -> bool:
    return access_key_id.startswith("ASIA")


def assumed_role_arn(role: Principal, session_name: str) -> str:
    """``arn:aws:sts::<account>:assumed-role/<role name>/<session name>`` (the role's path is not part of it)."""
    return f"arn:{arns.PARTITION}:sts::{role.account}:assumed-role/{role.name}/{session_name}"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create(
    conn: Connection,
    keyring: Keyring,
    role: Principal,
    *,
    session_name: str,
    duration_seconds: int,
    assumed_by: str,
    source_identity: str | None = None,
    now: float | None = None,
) -> Credentials:
    """Stores a new session of ``role`` lasting ``duration_seconds``; its credentials."""
    now = time.time() if now is None else now
    conn.execute(delete(sts_sessions).where(sts_sessions.c.expires_at < now - _KEEP_EXPIRED_SECONDS))
    credentials = Credentials(
        access_key_id=new_session_key_id(),
        secret_access_key=new_secret(),
        session_token=secrets.token_urlsafe(96),
        expiration=float(int(now + duration_seconds)),  # whole seconds, as STS answers
    )
    conn.execute(
        insert(sts_sessions).values(
            access_key_id=credentials.access_key_id,
            secret_ciphertext=keyring.encrypt(credentials.secret_access_key),
            token_sha256=_digest(credentials.session_token),
            role_arn=role.arn,
            session_name=session_name,
            assumed_by=assumed_by,
            source_identity=source_identity,
            created_at=now,
            expires_at=credentials.expiration,
        )
    )
    return credentials


_SESSION = select(sts_sessions, principals).join(principals, principals.c.arn == sts_sessions.c.role_arn)


def lookup(
    conn: Connection,
    keyring: Keyring,
    access_key_id: str,
    session_token: str | None,
    clock: Callable[[], float] = time.time,
) -> tuple[str, SessionPrincipal] | None:
    """The secret and caller of a session key presented with ``session_token``, or None.

    None (an unrecognized key) when there is no such session or the token is
    not the session's own; :class:`~charter.errors.ExpiredToken` once the
    session's expiry has passed by ``clock``.
    """
    if session_token is None:
        return None  # a temporary key never signs without its token
    row = conn.execute(_SESSION.where(sts_sessions.c.access_key_id == access_key_id)).first()
    if row is None or not hmac.compare_digest(row.token_sha256, _digest(session_token)):
        return None
    if clock() >= row.expires_at:
        raise ExpiredToken()
    role = _principal(row)
    session = SessionPrincipal(
        arn=assumed_role_arn(role, row.session_name),
        kind="role",
        name=role.name,
        account=role.account,
        persona=role.persona,
        activities=role.activities,
        unique_id=role.unique_id,
        session_name=row.session_name,
        role_arn=role.arn,
    )
    return keyring.decrypt(row.secret_ciphertext), session


def role_arn_of(conn: Connection, principal_arn: str) -> str:
    """The role ARN whose policies govern ``principal_arn``: itself, or an assumed-role session's role."""
    if not principal_arn.startswith(f"arn:{arns.PARTITION}:sts::") or ":assumed-role/" not in principal_arn:
        return principal_arn
    account = principal_arn.split(":")[4]
    role_name = principal_arn.split(":assumed-role/", 1)[1].split("/", 1)[0]
    found = conn.execute(
        select(principals.c.arn).where(
            principals.c.account == account, principals.c.kind == "role", principals.c.name == role_name
        )
    ).first()
    return found.arn if found else principal_arn


def inline_policy_arn(principal: Principal, policy_name: str) -> str:
    """Where an inline policy (PutRolePolicy, PutUserPolicy) is stored among the managed ones.

    Not a policy ARN IAM would ever make (``inline-policy`` is no IAM resource
    type), so it cannot clash with a managed policy and is never listed as one.
    """
    owner = principal.arn.split(":", 5)[5]  # role/[path/]name
    return f"arn:{arns.PARTITION}:iam::{principal.account}:inline-policy/{owner}/{policy_name}"


def is_inline_policy_arn(policy_arn: str) -> bool:
    return ":inline-policy/" in policy_arn
