"""Console session cookies and CSRF tokens: signed with keys derived from the server key.

A session cookie is ``v1.<claims>.<mac>``: the claims (base64url JSON: the
user's ARN ``sub``, a random session id ``sid``, issued-at ``iat`` and
expiry ``exp``, epoch seconds) and their HMAC-SHA256 under
``keyring.derive("console-session")``.  The cookie alone proves who signed in
and until when; whether the session still holds (the user and password
unchanged, not signed out) is :func:`charter.services.signin.session_principal`'s
question.

A CSRF token is the HMAC-SHA256, under ``keyring.derive("console-csrf")``, of
what ties a form to its browser: ``session:<sid>`` once signed in, otherwise
``anonymous:<value>`` of a random pre-session cookie set with the sign-in
form.  A cross-site page can make a browser post a form but can neither read
these cookies nor compute the token, and SameSite=Lax keeps the cookies off
its cross-site POSTs in the first place.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass

SESSION_COOKIE = "charter_session"
PRESESSION_COOKIE = "charter_presession"
_VERSION = "v1"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class Session:
    principal_arn: str
    session_id: str
    issued_at: float
    expires_at: float

    def expired(self, now: float) -> bool:
        return now >= self.expires_at


class SessionCookies:
    """Issues and reads signed, expiring session cookies."""

    def __init__(self, key: bytes, lifetime_seconds: float):
        self._key = key
        self.lifetime_seconds = lifetime_seconds

    def _mac(self, claims: str) -> str:
        return _b64(hmac.new(self._key, f"{_VERSION}.{claims}".encode(), hashlib.sha256).digest())

    def issue(self, principal_arn: str, now: float) -> tuple[str, Session]:
        session = Session(principal_arn, secrets.token_urlsafe(24), now, now + self.lifetime_seconds)
        claims = _b64(
            json.dumps(
                {"sub": session.principal_arn, "sid": session.session_id, "iat": session.issued_at, "exp": session.expires_at},
                separators=(",", ":"),
            ).encode()
        )
        return f"{_VERSION}.{claims}.{self._mac(claims)}", session

    def read(self, value: str | None, now: float, *, expired_too: bool = False) -> Session | None:
        """The session ``value`` carries, if its signature holds and (unless ``expired_too``) it has not expired."""
        if not value:
            return None
        try:
            version, claims, mac = value.split(".")
        except ValueError:
            return None
        if version != _VERSION or not hmac.compare_digest(mac, self._mac(claims)):
            return None
        try:
            data = json.loads(_unb64(claims))
            session = Session(str(data["sub"]), str(data["sid"]), float(data["iat"]), float(data["exp"]))
        except (ValueError, KeyError, TypeError):
            return None
        if session.expired(now) and not expired_too:
            return None
        return session


class CsrfTokens:
    """Tokens that tie a form to the browser it was served to."""

    def __init__(self, key: bytes):
        self._key = key

    def token(self, seed: str) -> str:
        return _b64(hmac.new(self._key, seed.encode(), hashlib.sha256).digest())

    def valid(self, seed: str | None, token: str | None) -> bool:
        if not seed or not token:
            return False
        return hmac.compare_digest(self.token(seed), token)


def session_seed(session: Session) -> str:
    return f"session:{session.session_id}"


def anonymous_seed(presession: str | None) -> str | None:
    return f"anonymous:{presession}" if presession else None


def new_presession() -> str:
    return secrets.token_urlsafe(24)
