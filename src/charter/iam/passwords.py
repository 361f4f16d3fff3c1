"""Console passwords (CreateLoginProfile): hashed with scrypt, never stored or returned as given.

The stored form is ``scrypt$<n>$<r>$<p>$<salt>$<digest>`` (salt and digest in
base64), so the cost parameters can rise later without invalidating stored
hashes.  scrypt (RFC 7914) is memory-hard; n=2**14, r=8, p=1 is the interactive
login setting its author recommends and costs about 16 MiB and tens of
milliseconds per check.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

_N, _R, _P = 2**14, 8, 1
_LENGTH = 32


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=_LENGTH)
    return f"scrypt${_N}${_R}${_P}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    """True when ``password`` is the one ``stored`` was made from (constant-time comparison)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        computed = hashlib.scrypt(
            password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=len(expected)
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(computed, expected)


def check_login(conn, account: str, user_name: str, password: str):
    """The user whose console password ``password`` is, and whether it must be changed; or None.

    Returns ``(principal, password_reset_required)``.  A user without a login
    profile cannot sign in to the console, whatever the password.
    """
    from sqlalchemy import select

    from ..store.sessions_schema import login_profiles
    from .identities import find_principal

    user = find_principal(conn, account, "user", user_name)
    if user is None:
        return None
    row = conn.execute(select(login_profiles).where(login_profiles.c.principal_arn == user.arn)).first()
    if row is None or not verify_password(password, row.password_hash):
        return None
    return user, bool(row.password_reset_required)
