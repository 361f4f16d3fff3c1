"""Console passwords (CreateLoginProfile, ``charter iam set-password``): hashed, never stored or returned as given.

New hashes are argon2id (RFC 9106) in the PHC string format argon2-cffi
writes, ``$argon2id$v=19$m=65536,t=3,p=4$<salt>$<hash>``, with argon2-cffi's
default cost: RFC 9106's second recommended option (64 MiB, three passes,
four lanes), tens of milliseconds per check.  The parameters travel in the
string, so they can rise later without invalidating stored hashes.

Hashes written before argon2id are scrypt (RFC 7914),
``scrypt$<n>$<r>$<p>$<salt>$<digest>`` (salt and digest in base64).  They
still verify; :func:`needs_rehash` says so for them (and for argon2id hashes
of weaker parameters than today's), and the console's sign-in replaces them
with a fresh argon2id hash of the password it has just checked.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_HASHER = PasswordHasher()  # argon2id, RFC 9106's low-memory recommended parameters

# The scrypt parameters Charter used to write (verification reads them from the stored string).
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1


def hash_password(password: str) -> str:
    """The argon2id hash of ``password``, with a fresh random salt."""
    return _HASHER.hash(password)


def verify_password(password: str, stored: str) -> bool:
    """True when ``password`` is the one ``stored`` was made from (argon2id or scrypt; constant-time)."""
    if stored.startswith("$argon2"):
        try:
            return _HASHER.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False
    if stored.startswith("scrypt$"):
        return _verify_scrypt(password, stored)
    return False


def needs_rehash(stored: str) -> bool:
    """True when ``stored`` is not an argon2id hash of today's parameters (so a fresh hash should replace it)."""
    if not stored.startswith("$argon2id$"):
        return True
    try:
        return _HASHER.check_needs_rehash(stored)
    except (InvalidHashError, ValueError):
        return True


def burn(password: str) -> None:
    """Costs what checking a real hash costs, for a user who has none (so timing does not tell who exists)."""
    verify_password(password, _decoy())


@cache
def _decoy() -> str:
    return hash_password(secrets.token_urlsafe(16))


def scrypt_hash(password: str) -> str:
    """A hash in the scrypt form Charter wrote before argon2id (kept to test that old hashes still verify)."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P, dklen=32)
    return (
        f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}$"
        f"{base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"
    )


def _verify_scrypt(password: str, stored: str) -> bool:
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
