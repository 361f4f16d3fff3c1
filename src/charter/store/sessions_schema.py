"""Tables of STS sessions and of the IAM API's details about users and roles.

Created by migration 0006; the console's tables (failed sign-ins, signed-out
sessions) and ``login_profiles.password_changed_at`` by migration 0009.  Users and roles themselves are rows of
``principals`` (:mod:`charter.store.schema`); what the IAM API adds about
them (a path, a description, a role's trust policy and longest session, tags,
a console password) lives beside them here, keyed by the
principal's ARN and removed with it.

A session's secret is stored encrypted (as long-term keys are) and its
session token only as a SHA-256 digest: a token is 256 random bits, so a
digest is as good as the token for checking one and useless to whoever reads
the table.

Inline policies (PutRolePolicy) are not here: they are rows of ``policies``
attached to their principal like any managed policy, under an ARN of their
own (:func:`charter.iam.sessions.inline_policy_arn`), so authorization reads
one list of documents whatever made them.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Double, ForeignKey, Index, Integer, String, Table, Text

from .schema import metadata

sts_sessions = Table(
    "sts_sessions",
    metadata,
    Column("access_key_id", String(128), primary_key=True),  # ASIA...
    Column("secret_ciphertext", Text, nullable=False),
    Column("token_sha256", String(64), nullable=False),
    Column("role_arn", String(2048), ForeignKey("principals.arn", ondelete="CASCADE"), nullable=False),
    Column("session_name", String(64), nullable=False),
    Column("assumed_by", String(2048), nullable=False),  # the caller of AssumeRole
    Column("source_identity", String(64)),
    Column("created_at", Double, nullable=False),
    Column("expires_at", Double, nullable=False),
    Index("ix_sts_sessions_expires", "expires_at"),
    Index("ix_sts_sessions_role", "role_arn"),
)

iam_details = Table(
    "iam_details",
    metadata,
    Column("principal_arn", String(2048), ForeignKey("principals.arn", ondelete="CASCADE"), primary_key=True),
    Column("path", String(512), nullable=False, default="/"),
    Column("description", Text),
    Column("trust_policy", Text),  # roles: the AssumeRolePolicyDocument, as given
    Column("max_session_duration", Integer),  # roles: seconds
    Column("tags", Text),  # JSON list of {"Key", "Value"}
)

login_profiles = Table(
    "login_profiles",
    metadata,
    Column("principal_arn", String(2048), ForeignKey("principals.arn", ondelete="CASCADE"), primary_key=True),
    Column("password_hash", Text, nullable=False),  # $argon2id$v=19$m=...,t=...,p=...$<salt>$<hash>, or older scrypt$...
    Column("password_reset_required", Boolean, nullable=False, default=False),
    Column("created_at", Double, nullable=False),
    # When the password was last set: console sessions signed in before it end (None: never changed).
    Column("password_changed_at", Double),
)

# One row per failed console sign-in, under each subject it counts against (``user:<account>:<name>``
# and ``address:<ip>``); rows older than the throttle window are deleted as new ones come.
console_signin_failures = Table(
    "console_signin_failures",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("subject", String(320), nullable=False),
    Column("time", Double, nullable=False),
    Index("ix_console_signin_failures_subject_time", "subject", "time"),
)

# Console sessions ended by signing out before their cookie expired: the cookie alone is signed
# and self-contained, so a copy of it would otherwise still open the console until it expires.
console_signouts = Table(
    "console_signouts",
    metadata,
    Column("session_id", String(64), primary_key=True),
    Column("expires_at", Double, nullable=False),
    Index("ix_console_signouts_expires", "expires_at"),
)
