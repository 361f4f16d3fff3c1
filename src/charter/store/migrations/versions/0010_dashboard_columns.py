"""Typed columns for the Model Dashboard: a package's approval, a card's risk and what it documents.

``resources`` gains ``approval`` (a model package's ModelApprovalStatus),
``risk`` (a model card's ``intended_uses.risk_rating``), ``subject`` and
``subject_version`` (the model package group, and its version, or the model
that a model card documents), which the store fills from the document on
every write (``store/derived.py``), and three indexes: two covering ones, so
that the dashboard's per-row lookups read no document (a group's or a
model's cards, newest documented version first: (subject, subject_version,
modified_at, id, risk, status); a group's newest version with its approval
and time: (parent, version, approval, modified_at)), and (account, region,
resource_type, modified_at), for the resources of a type modified last (the
dashboard's first page, newest first).

Existing rows are filled in here: packages with one UPDATE reading the JSON in
SQL, cards (a few per model, their content a JSON string inside the
document) through the same function the store uses, so a backfilled row is
what a write would have made.  Downgrading drops the columns and the indexes.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-08
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_BATCH = 500
COLUMNS = (("approval", sa.String(32)), ("risk", sa.String(16)), ("subject", sa.String(2048)),
           ("subject_version", sa.Integer))


def upgrade() -> None:
    # Plain ALTER TABLE on both databases (SQLite 3.35+ drops columns in place): a batch copy of
    # ``resources`` on SQLite would drop the old table, and its ON DELETE CASCADE would empty ``tags``.
    for name, type_ in COLUMNS:
        op.add_column("resources", sa.Column(name, type_))
    op.create_index("ix_resources_subject", "resources",
                    ["subject", "subject_version", "modified_at", "id", "risk", "status"])
    op.create_index("ix_resources_parent_latest", "resources", ["parent", "version", "approval", "modified_at"])
    op.create_index("ix_resources_scope_modified", "resources", ["account", "region", "resource_type", "modified_at"])

    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        approval = "CAST(document AS jsonb) ->> 'ModelApprovalStatus'"
    else:
        approval = "json_extract(document, '$.ModelApprovalStatus')"
    conn.execute(sa.text(f"UPDATE resources SET approval = {approval} WHERE resource_type = 'model-package'"))

    from charter.store.derived import card_columns

    rows = conn.execute(sa.text("SELECT id, arn, document FROM resources WHERE resource_type = 'model-card'")).all()
    update = sa.text(
        "UPDATE resources SET risk = :risk, subject = :subject, subject_version = :subject_version WHERE id = :id"
    )
    changes = [{"id": row_id, **card_columns(arn, json.loads(document))} for row_id, arn, document in rows]
    for start in range(0, len(changes), _BATCH):
        conn.execute(update, changes[start : start + _BATCH])


def downgrade() -> None:
    op.drop_index("ix_resources_scope_modified", "resources")
    op.drop_index("ix_resources_parent_latest", "resources")
    op.drop_index("ix_resources_subject", "resources")
    for name, _ in reversed(COLUMNS):
        op.execute(f"ALTER TABLE resources DROP COLUMN {name}")
