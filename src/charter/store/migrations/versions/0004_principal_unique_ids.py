"""Principals get IAM unique ids; stored CreatedBy / LastModifiedBy follow UserContext's documentation.

Each existing user gets an ``AIDA...`` id and each role an ``AROA...`` id (17
upper-case letters and digits after the prefix), as new principals do.

Before this revision every resource's ``CreatedBy`` / ``LastModifiedBy`` read
``{"UserProfileName": <IAM user name>, "IamIdentity": {"Arn": ..., "PrincipalId":
<IAM user name>}}``.  botocore documents ``UserProfileName`` as a Studio user
profile (Charter has none yet) and ``IamIdentity`` as present on model package
groups, model packages, projects, hubs and hub content only.  So the stored
documents are rewritten, not left to disagree with new ones (a Search on
``CreatedBy.IamIdentity.PrincipalId`` would otherwise find only half):

* model package groups and model packages keep ``IamIdentity`` with its ARN;
  its ``PrincipalId`` becomes the principal's new unique id, or is dropped when
  that principal no longer exists (its id cannot be known);
  ``UserProfileName`` goes;
* model cards and their stored versions get ``{}``.

Only contexts in the old shape (a ``UserProfileName`` equal to the IAM
identity's name) are touched.  Downgrading drops the ids but does not restore
the old documents.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

import json
import secrets
import string

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_ALPHABET = string.ascii_uppercase + string.digits
_PREFIXES = {"user": "AIDA", "role": "AROA"}
_WITH_IAM_IDENTITY = ("model-package-group", "model-package")
_WITHOUT_IAM_IDENTITY = ("model-card", "model-card-version")
_FIELDS = ("CreatedBy", "LastModifiedBy")

principals = sa.table(
    "principals", sa.column("arn", sa.String), sa.column("kind", sa.String), sa.column("unique_id", sa.String)
)
resources = sa.table(
    "resources", sa.column("id", sa.Integer), sa.column("resource_type", sa.String), sa.column("document", sa.Text)
)


def _new_id(kind: str) -> str:
    return _PREFIXES.get(kind, "AIDA") + "".join(secrets.choice(_ALPHABET) for _ in range(17))


def _old_shape(context: object) -> bool:
    if not isinstance(context, dict):
        return False
    arn = (context.get("IamIdentity") or {}).get("Arn")
    return bool(arn) and context.get("UserProfileName") == arn.rsplit("/", 1)[-1]


def _rewritten(context: dict, keep_identity: bool, caller_ids: dict[str, str]) -> dict:
    if not keep_identity:
        return {}
    arn = context["IamIdentity"]["Arn"]
    identity = {"Arn": arn}
    if arn in caller_ids:
        identity["PrincipalId"] = caller_ids[arn]
    return {"IamIdentity": identity}


def upgrade() -> None:
    op.add_column("principals", sa.Column("unique_id", sa.String(32)))
    conn = op.get_bind()
    caller_ids: dict[str, str] = {}  # principal ARN -> PrincipalId, as identities.Principal.caller_id has it
    for arn, kind in conn.execute(sa.select(principals.c.arn, principals.c.kind)).all():
        unique_id = _new_id(kind)
        conn.execute(principals.update().where(principals.c.arn == arn).values(unique_id=unique_id))
        caller_ids[arn] = f"{unique_id}:{arn.rsplit('/', 1)[-1]}" if kind == "role" else unique_id
    op.create_index("uq_principals_unique_id", "principals", ["unique_id"], unique=True)

    rows = conn.execute(
        sa.select(resources.c.id, resources.c.resource_type, resources.c.document).where(
            resources.c.resource_type.in_(_WITH_IAM_IDENTITY + _WITHOUT_IAM_IDENTITY)
        )
    ).all()
    for row_id, resource_type, text in rows:
        document = json.loads(text)
        changed = False
        for field in _FIELDS:
            if _old_shape(document.get(field)):
                document[field] = _rewritten(document[field], resource_type in _WITH_IAM_IDENTITY, caller_ids)
                changed = True
        if changed:
            conn.execute(resources.update().where(resources.c.id == row_id).values(document=json.dumps(document)))


def downgrade() -> None:
    op.drop_index("uq_principals_unique_id", "principals")
    op.drop_column("principals", "unique_id")
