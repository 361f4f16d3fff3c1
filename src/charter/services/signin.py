"""Console sign-in: IAM users with their console passwords, throttled failures, sessions that end.

The web console (:mod:`charter.console`) signs a person in as an IAM user of
the account, with the password of the user's login profile (CreateLoginProfile,
or ``charter iam set-password``); the pages then act as that user, under the
user's own policies.  What happens over HTTP (cookies, forms, CSRF) is the
console's; this module is the domain under it:

* :func:`sign_in` checks a password and answers who signed in, or why not.
  Failures count against the user name and against the client address
  (``user:<account>:<name>``, ``address:<ip>``; IPv6 addresses by their /64,
  which one client usually holds whole).  Once either has
  :attr:`Limits.per_user` / :attr:`Limits.per_address` failures within
  :attr:`Limits.window_seconds`, further tries are refused without checking the
  password, until the window has passed since the failure that filled the
  count.  Unknown user names count like known ones and cost the same hash
  check, so neither the answer nor its timing says which names exist.  A
  successful sign-in clears the user's count (not the address's: one good
  account must not reset the count of an address that guesses at others), and
  replaces a stored hash that is not argon2id of today's cost (older scrypt
  ones) with a fresh argon2id hash of the password just checked.
* The password is checked outside any transaction: a hash costs tens of
  milliseconds and 64 MiB, and SQLite's one writer must not wait on it.
* :func:`session_principal` says whether a signed-in session still holds: its
  user and login profile still exist, it began after the password was last set,
  and it was not signed out (:func:`sign_out`).
"""

from __future__ import annotations

import ipaddress
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import Connection, delete, insert, select, update

from ..errors import ValidationException
from ..iam import identities, passwords
from ..store.sessions_schema import console_signin_failures, console_signouts, login_profiles
from .iam import PasswordPolicyViolation, check_password_policy

if TYPE_CHECKING:  # pragma: no cover
    from ..instance import Instance
    from ..settings import Settings


@dataclass(frozen=True)
class Limits:
    """How many failed sign-ins, within what window, refuse the next tries."""

    per_user: int
    per_address: int
    window_seconds: float

    @classmethod
    def from_settings(cls, settings: "Settings") -> "Limits":
        return cls(
            per_user=settings.console_signin_failures_per_user,
            per_address=settings.console_signin_failures_per_address,
            window_seconds=settings.console_signin_window_seconds,
        )


@dataclass(frozen=True)
class SignIn:
    """The outcome of one sign-in attempt.

    ``refusal``: ``None`` (signed in as ``principal``), ``"credentials"`` (no
    such user, no login profile, or the wrong password: one answer for all
    three), ``"throttled"`` (too many failures; ``throttled_by`` is ``"user"``
    or ``"address"`` and ``retry_at`` the epoch time tries are taken again), or
    ``"reset-required"`` (the right password, but the user must get a new one
    first).  After a refused ``"credentials"`` attempt ``retry_at`` is set when
    that failure filled a count.
    """

    principal: identities.Principal | None
    refusal: str | None = None
    retry_at: float | None = None
    throttled_by: str | None = None
    #: The ARN of the user the name given belongs to, signed in or not: for the audit log only
    #: (None when no user has that name; the person is told the same either way).
    user_arn: str | None = None


def _user_subject(account: str, user_name: str) -> str:
    # IAM user names are unique whatever their case, so "Alice" and "alice" share one count.
    return f"user:{account}:{user_name.lower()}"[:320]


def _address_subject(address: str | None) -> str:
    if not address:
        return "address:unknown"
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return f"address:{address}"[:320]
    if parsed.version == 6:
        if parsed.ipv4_mapped is not None:
            return f"address:{parsed.ipv4_mapped}"
        return f"address:{ipaddress.ip_network(f'{parsed}/64', strict=False)}"
    return f"address:{parsed}"


def _retry_at(conn: Connection, subject: str, limit: int, window: float, now: float) -> float | None:
    """When ``subject`` may try again, if its failures within the window have reached ``limit``; else None."""
    c = console_signin_failures.c
    times = conn.execute(
        select(c.time).where(c.subject == subject, c.time > now - window).order_by(c.time.desc()).limit(limit)
    ).scalars().all()
    if len(times) < limit:
        return None
    return times[limit - 1] + window  # the oldest failure of the newest `limit` leaves the window then


def _throttled(conn: Connection, subjects: dict[str, tuple[str, int]], window: float, now: float):
    """(which count, retry time) of the count that refuses tries now, the later of two; or (None, None)."""
    found = [(by, at) for by, (subject, limit) in subjects.items()
             if (at := _retry_at(conn, subject, limit, window, now)) is not None]
    if not found:
        return None, None
    return max(found, key=lambda item: item[1])


def sign_in(
    instance: "Instance",
    *,
    user_name: str,
    password: str,
    address: str | None,
    limits: Limits,
    account: str | None = None,
    now: float | None = None,
) -> SignIn:
    """Check ``password`` for the IAM user ``user_name`` of ``account``, counting failures (module docstring)."""
    account = account or instance.settings.account_id
    now = time.time() if now is None else now
    user_name = user_name.strip()
    subjects = {
        "user": (_user_subject(account, user_name), limits.per_user),
        "address": (_address_subject(address), limits.per_address),
    }
    with instance.transaction(write=False) as conn:
        user = identities.find_principal(conn, account, "user", user_name) if user_name else None
        user_arn = user.arn if user is not None else None
        by, retry_at = _throttled(conn, subjects, limits.window_seconds, now)
        if by is not None:
            return SignIn(None, "throttled", retry_at, by, user_arn)
        profile = None
        if user is not None:
            profile = conn.execute(select(login_profiles).where(login_profiles.c.principal_arn == user.arn)).first()

    if profile is None:
        passwords.burn(password)
        ok = False
    else:
        ok = passwords.verify_password(password, profile.password_hash)

    with instance.transaction() as conn:
        c = console_signin_failures.c
        if not ok:
            conn.execute(delete(console_signin_failures).where(c.time <= now - limits.window_seconds))
            conn.execute(insert(console_signin_failures), [{"subject": s, "time": now} for s, _ in subjects.values()])
            by, retry_at = _throttled(conn, subjects, limits.window_seconds, now)
            return SignIn(None, "credentials", retry_at, by, user_arn)
        conn.execute(delete(console_signin_failures).where(c.subject == subjects["user"][0]))
        if passwords.needs_rehash(profile.password_hash):
            # Only if the stored hash is still the one checked: a password set meanwhile stands.
            conn.execute(
                update(login_profiles)
                .where(login_profiles.c.principal_arn == user.arn, login_profiles.c.password_hash == profile.password_hash)
                .values(password_hash=passwords.hash_password(password))
            )
    if profile.password_reset_required:
        return SignIn(None, "reset-required", user_arn=user_arn)
    return SignIn(user, user_arn=user_arn)


def set_password(
    conn: Connection, *, account: str, user_name: str, password: str, reset_required: bool = False,
    now: float | None = None,
) -> bool:
    """Give the IAM user ``user_name`` this console password (IAM's password policy applies).

    Creates the user's login profile, or replaces its password; either way the
    user's console sessions that began before now end, and the user's count of
    failed sign-ins is cleared.  Returns True when the profile was created.
    """
    now = time.time() if now is None else now
    user = identities.find_principal(conn, account, "user", user_name)
    if user is None:
        raise ValidationException(f"The user {user_name} does not exist.")
    check_password_policy(password, user.name)
    values = {
        "password_hash": passwords.hash_password(password),
        "password_reset_required": reset_required,
        "password_changed_at": now,
    }
    exists = conn.execute(select(login_profiles.c.principal_arn).where(login_profiles.c.principal_arn == user.arn)).first()
    if exists:
        conn.execute(update(login_profiles).where(login_profiles.c.principal_arn == user.arn).values(**values))
    else:
        conn.execute(insert(login_profiles).values(principal_arn=user.arn, created_at=now, **values))
    conn.execute(
        delete(console_signin_failures).where(console_signin_failures.c.subject == _user_subject(account, user.name))
    )
    return not exists


def session_principal(
    conn: Connection, *, principal_arn: str, session_id: str, issued_at: float
) -> identities.Principal | None:
    """The user a console session belongs to, while the session still holds (module docstring); else None."""
    user = identities.get_principal(conn, principal_arn)
    if user is None or user.kind != "user":
        return None
    profile = conn.execute(
        select(login_profiles.c.password_changed_at).where(login_profiles.c.principal_arn == principal_arn)
    ).first()
    if profile is None or (profile.password_changed_at is not None and issued_at < profile.password_changed_at):
        return None
    ended = conn.execute(
        select(console_signouts.c.session_id).where(console_signouts.c.session_id == session_id)
    ).first()
    return None if ended else user


def sign_out(conn: Connection, *, session_id: str, expires_at: float, now: float | None = None) -> None:
    """End the console session ``session_id`` before its cookie expires (``expires_at``)."""
    now = time.time() if now is None else now
    c = console_signouts.c
    conn.execute(delete(console_signouts).where(c.expires_at < now))  # ended sessions that expired anyway
    if not conn.execute(select(c.session_id).where(c.session_id == session_id)).first():
        conn.execute(insert(console_signouts).values(session_id=session_id, expires_at=expires_at))


def change_password(
    instance: "Instance",
    *,
    user_name: str,
    old_password: str,
    new_password: str,
    address: str | None,
    limits: Limits,
    account: str | None = None,
    now: float | None = None,
) -> SignIn:
    """IAM's ChangePassword, as a person makes it in the console: the old password, then a new one.

    The old password is checked as a sign-in is (failures counted and
    throttled, one answer for every wrong credential); a user whose password
    must be reset may change it here, which is how they get in.  The new one
    must meet the password policy and differ from the old.  On success the
    profile no longer requires a reset, the user's earlier sessions end, and the
    outcome is that of a sign-in with the new password.
    """
    checked = sign_in(instance, user_name=user_name, password=old_password, address=address, limits=limits,
                      account=account, now=now)
    if checked.refusal not in (None, "reset-required"):
        return checked
    if new_password == old_password:
        raise PasswordPolicyViolation("The new password must differ from the current one.")
    account = account or instance.settings.account_id
    with instance.transaction() as conn:
        set_password(conn, account=account, user_name=user_name.strip(), password=new_password, now=now)
        user = identities.find_principal(conn, account, "user", user_name.strip())
    return SignIn(user, user_arn=checked.user_arn)
