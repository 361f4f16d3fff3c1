"""The resource document store: every SageMaker resource in one table.

A resource is its describe document (JSON) plus typed columns for what is
looked up or sorted (ARN, type, name, parent, version, status, times) and its
tags.  Services add behaviour on top; list, pagination, sorting, filters and
tags are implemented once, here (ARCHITECTURE.md rule 2).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

from sqlalchemy import Connection, and_, bindparam, cast, delete, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import IntegrityError

from ..errors import ValidationException
from . import derived
from .schema import resource_policies, resources, tags


@dataclass
class Resource:
    id: int
    arn: str
    resource_type: str
    name: str
    parent: str | None
    version: int | None
    status: str | None
    created_at: float
    modified_at: float
    document: dict[str, Any]


class AlreadyExists(Exception):
    """A resource with this ARN is stored already (the unique constraint fired)."""


def _row(row) -> Resource:
    return Resource(
        id=row.id,
        arn=row.arn,
        resource_type=row.resource_type,
        name=row.name,
        parent=row.parent,
        version=row.version,
        status=row.status,
        created_at=row.created_at,
        modified_at=row.modified_at,
        document=json.loads(row.document),
    )


def _dump(document: dict) -> str:
    return json.dumps(document, separators=(",", ":"), default=_json_default)


def _json_default(value):
    if hasattr(value, "timestamp"):
        return value.timestamp()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    raise TypeError(f"cannot store {type(value).__name__} in a resource document")


def create(
    conn: Connection,
    *,
    arn: str,
    account: str,
    region: str,
    resource_type: str,
    name: str,
    document: dict,
    parent: str | None = None,
    version: int | None = None,
    status: str | None = None,
    created_at: float | None = None,
    tags_: Iterable[dict] = (),
) -> Resource:
    now = created_at if created_at is not None else time.time()
    values = dict(
        arn=arn,
        account=account,
        region=region,
        resource_type=resource_type,
        name=name,
        parent=parent,
        version=version,
        status=status,
        created_at=now,
        modified_at=now,
        document=_dump(document),
    )
    try:
        with conn.begin_nested():
            statement = insert(resources).values(**values, **derived.columns(resource_type, arn, document))
            new_id = conn.execute(statement.returning(resources.c.id)).scalar_one()
    except IntegrityError as exc:
        raise AlreadyExists(arn) from exc
    put_tags(conn, new_id, tags_)
    return Resource(id=new_id, document=document, **{k: v for k, v in values.items() if k not in ("document", "account", "region")})


# Built once: the statements every request runs cost more to build than to execute.
_GET = select(resources).where(resources.c.arn == bindparam("arn"))
_GET_FOR_UPDATE = _GET.with_for_update()
_GET_TAGS = select(tags.c.key, tags.c.value).where(tags.c.resource_id == bindparam("resource_id")).order_by(tags.c.key)


def get(conn: Connection, arn: str, *, for_update: bool = False) -> Resource | None:
    row = conn.execute(_GET_FOR_UPDATE if for_update else _GET, {"arn": arn}).first()
    return _row(row) if row else None


def save(conn: Connection, resource: Resource, *, status: str | None = None) -> None:
    """Write back a changed document (and status), stamping the modification time.

    The columns :mod:`.derived` reads from the document are written with it.
    """
    if status is not None:
        resource.status = status
    resource.modified_at = time.time()
    conn.execute(
        update(resources)
        .where(resources.c.id == resource.id)
        .values(document=_dump(resource.document), status=resource.status, modified_at=resource.modified_at,
                **derived.columns(resource.resource_type, resource.arn, resource.document))
    )


def remove(conn: Connection, resource: Resource) -> None:
    conn.execute(delete(tags).where(tags.c.resource_id == resource.id))
    conn.execute(delete(resource_policies).where(resource_policies.c.resource_id == resource.id))
    conn.execute(delete(resources).where(resources.c.id == resource.id))


def remove_children(conn: Connection, parent_arn: str) -> int:
    """Delete every resource whose parent is ``parent_arn`` (tags and policies go with them)."""
    children = select(resources.c.id).where(resources.c.parent == parent_arn)
    conn.execute(delete(tags).where(tags.c.resource_id.in_(children)))
    conn.execute(delete(resource_policies).where(resource_policies.c.resource_id.in_(children)))
    return conn.execute(delete(resources).where(resources.c.parent == parent_arn)).rowcount


def count_children(conn: Connection, parent_arn: str) -> int:
    return conn.execute(select(func.count()).select_from(resources).where(resources.c.parent == parent_arn)).scalar_one()


# --- tags -------------------------------------------------------------------


_DELETE_TAG = delete(tags).where(and_(tags.c.resource_id == bindparam("rid"), tags.c.key == bindparam("tag_key")))
_INSERT_TAG = insert(tags)
_COUNT_TAGS = select(func.count()).select_from(tags).where(tags.c.resource_id == bindparam("resource_id"))


def put_tags(conn: Connection, resource_id: int, new_tags: Iterable[dict]) -> None:
    """Add or overwrite tags (AddTags semantics: a key given again replaces its value)."""
    latest = {tag["Key"]: tag.get("Value", "") for tag in new_tags}  # a key given twice: the last value counts
    if not latest:
        return
    conn.execute(_DELETE_TAG, [{"rid": resource_id, "tag_key": key} for key in latest])
    conn.execute(_INSERT_TAG, [{"resource_id": resource_id, "key": key, "value": value} for key, value in latest.items()])


def delete_tags(conn: Connection, resource_id: int, keys: Iterable[str]) -> None:
    keys = list(keys)
    if keys:
        conn.execute(delete(tags).where(and_(tags.c.resource_id == resource_id, tags.c.key.in_(keys))))


def get_tags(conn: Connection, resource_id: int) -> list[dict]:
    rows = conn.execute(_GET_TAGS, {"resource_id": resource_id})
    return [{"Key": key, "Value": value} for key, value in rows]


def count_tags(conn: Connection, resource_id: int) -> int:
    return conn.execute(_COUNT_TAGS, {"resource_id": resource_id}).scalar_one()


# --- listing ----------------------------------------------------------------

SORT_COLUMNS = {
    "Name": resources.c.name,
    "CreationTime": resources.c.created_at,
    "LastModifiedTime": resources.c.modified_at,
    "Status": func.coalesce(resources.c.status, ""),
    # Plain column, so that SQLite and PostgreSQL walk the unique (parent, version)
    # index; only children (which all carry a version) are sorted by it.
    "Version": resources.c.version,
}


@dataclass
class ListQuery:
    """What a List* operation asks for, in store terms."""

    account: str
    region: str
    resource_type: str
    parent: str | None = None
    name_contains: str | None = None
    created_after: float | None = None
    created_before: float | None = None
    modified_after: float | None = None
    modified_before: float | None = None
    status: str | None = None
    sort_by: str = "CreationTime"
    ascending: bool = False
    document_equals: dict[str, str] = field(default_factory=dict)  # top-level document member -> string value
    has_parent: bool | None = None  # True: only rows with a parent; False: only rows without one
    extra: dict[str, Any] = field(default_factory=dict)  # other filters, only fingerprinted

    def fingerprint(self) -> str:
        parts = dict(self.__dict__)
        return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class TokenCodec:
    """Opaque, tamper-checked NextTokens: the sort position, signed with the server key."""

    def __init__(self, key: bytes):
        self._key = key

    def encode(self, payload: dict) -> str:
        body = base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode().rstrip("=")
        mac = hmac.new(self._key, body.encode(), hashlib.sha256).hexdigest()[:32]
        return f"{body}.{mac}"

    def decode(self, token: str) -> dict:
        if not token.isascii():  # every token this codec writes is base64url and hex
            raise ValidationException("The NextToken is invalid: it was not issued by this server or has been altered.")
        body, _, mac = token.rpartition(".")
        expected = hmac.new(self._key, body.encode(), hashlib.sha256).hexdigest()[:32]
        if not body or not hmac.compare_digest(mac, expected):
            raise ValidationException("The NextToken is invalid: it was not issued by this server or has been altered.")
        try:
            return json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        except ValueError as exc:  # pragma: no cover - a valid MAC over a bad body cannot happen
            raise ValidationException("The NextToken is invalid.") from exc


_MEMBER_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")


def document_member(conn: Connection, member: str):
    """A top-level member of the stored document as SQL text, on SQLite and PostgreSQL."""
    if not _MEMBER_NAME.match(member):
        raise ValueError(f"not a document member name: {member!r}")
    if conn.dialect.name == "postgresql":
        return func.jsonb_extract_path_text(cast(resources.c.document, JSONB), member)
    return func.json_extract(resources.c.document, f"$.{member}")


def list_page(
    conn: Connection,
    query: ListQuery,
    codec: TokenCodec,
    *,
    max_results: int = 10,
    next_token: str | None = None,
) -> tuple[list[Resource], str | None]:
    """One page of resources and the token for the next (None on the last page).

    Keyset pagination on (sort column, id): a client walking pages never sees a
    row twice or misses one that existed throughout, however many are added.
    """
    c = resources.c
    sort_col = SORT_COLUMNS.get(query.sort_by)
    if sort_col is None:
        raise ValidationException(f"Cannot sort by {query.sort_by}.")
    if query.sort_by == "Version" and query.parent is None:
        raise ValueError("sorting by Version is only defined among the children of one parent")
    if query.parent is not None:
        # The parent's ARN already fixes account and region. Leaving them out
        # lets SQLite (which has no statistics) walk the (parent, ...) indexes
        # instead of reading every parent's children through the scope index.
        conditions = [c.parent == query.parent, c.resource_type == query.resource_type]
    else:
        conditions = [c.account == query.account, c.region == query.region, c.resource_type == query.resource_type]
    if query.name_contains:
        conditions.append(func.lower(c.name).like(f"%{_like_escape(query.name_contains.lower())}%", escape="\\"))
    if query.created_after is not None:
        conditions.append(c.created_at > query.created_after)
    if query.created_before is not None:
        conditions.append(c.created_at < query.created_before)
    if query.modified_after is not None:
        conditions.append(c.modified_at > query.modified_after)
    if query.modified_before is not None:
        conditions.append(c.modified_at < query.modified_before)
    if query.status is not None:
        conditions.append(c.status == query.status)
    if query.has_parent is not None:
        conditions.append(c.parent.is_not(None) if query.has_parent else c.parent.is_(None))
    for member, value in query.document_equals.items():
        conditions.append(document_member(conn, member) == value)

    fingerprint = query.fingerprint()
    if next_token:
        position = codec.decode(next_token)
        if position.get("f") != fingerprint:
            raise ValidationException(
                "The NextToken was issued for a request with different filters or sorting; "
                "repeat the original request's parameters, or start again without a NextToken."
            )
        last_key, last_id = position["k"], position["i"]
        if query.ascending:
            conditions.append(or_(sort_col > last_key, and_(sort_col == last_key, c.id > last_id)))
        else:
            conditions.append(or_(sort_col < last_key, and_(sort_col == last_key, c.id < last_id)))

    order = (sort_col.asc(), c.id.asc()) if query.ascending else (sort_col.desc(), c.id.desc())
    statement = select(resources, sort_col.label("sort_key")).where(*conditions).order_by(*order).limit(max_results + 1)
    rows = conn.execute(statement).all()
    page = rows[:max_results]
    token = None
    if len(rows) > max_results:
        last = page[-1]
        token = codec.encode({"k": last.sort_key, "i": last.id, "f": fingerprint})
    return [_row(row) for row in page], token


def tags_by_resource(conn: Connection, resource_ids: Sequence[int]) -> dict[int, list[dict]]:
    out: dict[int, list[dict]] = {rid: [] for rid in resource_ids}
    if resource_ids:
        rows = conn.execute(
            select(tags.c.resource_id, tags.c.key, tags.c.value).where(tags.c.resource_id.in_(list(resource_ids)))
        )
        for rid, key, value in rows:
            out[rid].append({"Key": key, "Value": value})
    return out


# --- resource-based policies --------------------------------------------------


_GET_POLICY = select(resource_policies.c.document).where(resource_policies.c.resource_id == bindparam("resource_id"))


def get_policy(conn: Connection, resource_id: int) -> dict | None:
    row = conn.execute(_GET_POLICY, {"resource_id": resource_id}).first()
    return json.loads(row[0]) if row else None


def put_policy(conn: Connection, resource_id: int, document: dict) -> None:
    conn.execute(delete(resource_policies).where(resource_policies.c.resource_id == resource_id))
    conn.execute(insert(resource_policies).values(resource_id=resource_id, document=_dump(document)))


def delete_policy(conn: Connection, resource_id: int) -> bool:
    return conn.execute(delete(resource_policies).where(resource_policies.c.resource_id == resource_id)).rowcount > 0
