"""The Model Dashboard's rows: every model package group and model of an account, with its governance facts.

SageMaker's Model Dashboard shows, for each model, its registered versions,
their approval status, its model card (risk rating and review status), where
it is deployed and the state of its monitors.  No API operation answers that
join, so the console reads it from here (``Visit.read``), after its gate has
authorized the page (``sagemaker:ListModelPackageGroups``).

A row is one of:

* a **model package group** (``kind="group"``): its newest version (the
  highest ``ModelPackageVersion``), that version's approval status, and how
  many versions it has;
* a **SageMaker model** (``kind="model"``, CreateModel): no versions.

**Which card a row shows.**  The store records what each model card documents
(``store/derived.py``): a card whose content has ``model_package_details``
documents that group, at the version it names; otherwise a card whose
``model_overview.model_id`` is a model's ARN (or name) documents that model.
A group's row shows the card of its highest documented version (the newest
version that has a card; a card naming the group but no version comes after
those that name one), and among cards of the same version the one modified
last.  A model's row shows the card modified last among those naming it.
The risk rating and status are that card's.

**Last modified** is the newer of the group's own modification time and its
newest version's (a new version, an approval of it); a model's own otherwise.

**Deployed** and **monitors** are ``None`` on every row: Charter has no
endpoints or monitoring schedules yet, and the issues that add them fill
these in.

Search (the name contains a text, without regard to case), filters (kind,
the newest version's approval status, the card's risk rating and status;
``"none"`` selects rows with no version or no card), sort (name, last
modified, approval, risk) and pages of 25 by offset.

How it is read: one SQL query computes every matching row's sort key, counts
the rows (a window over them) and returns the page's keys; then one query per
detail (the rows, their newest versions, version counts, cards) reads the
page's 25 rows alone.  The first query is linear in the number of groups, but
each group costs one step down a covering index and no document is parsed: its
newest version's approval and time from (parent, version, approval,
modified_at), its card's risk and status from (subject, subject_version,
modified_at, id, risk, status) (migration 0010; the store fills the columns,
``store/derived.py``).  ``benchmarks/console.py`` measures it with 10,000
groups and 100,000 versions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Connection, Select, case, func, literal, null, select, union_all
from sqlalchemy.sql.elements import ColumnElement

from ..errors import ValidationException
from ..store.schema import resources
from .model_cards import STATUSES as CARD_STATUSES
from .model_package_groups import TYPE as GROUP_TYPE
from .model_packages import APPROVED, PENDING, REJECTED
from .models import TYPE as MODEL_TYPE

GROUP, MODEL = "group", "model"
KINDS = (GROUP, MODEL)
APPROVALS = (APPROVED, PENDING, REJECTED)
RISKS = ("High", "Medium", "Low", "Unknown")
NONE = "none"  # a filter value: rows without a version / without a card
SORTS = ("name", "modified", "approval", "risk")
#: The direction a column sorts in when its header is first chosen.
FIRST_DIRECTION = {"name": "ascending", "modified": "descending", "approval": "ascending", "risk": "descending"}
PAGE_SIZE = 25
MAX_SEARCH = 256

_TYPES = {GROUP: GROUP_TYPE, MODEL: MODEL_TYPE}
PACKAGE_TYPE = "model-package"
# Rank orders for the approval and risk sorts, by direction; values not listed (no version, no
# card) rank after every listed one in both directions.
_RANKS = {
    ("approval", "ascending"): (APPROVED, PENDING, REJECTED),
    ("approval", "descending"): (REJECTED, PENDING, APPROVED),
    ("risk", "ascending"): ("Low", "Medium", "High", "Unknown"),
    ("risk", "descending"): ("High", "Medium", "Low", "Unknown"),
}


@dataclass(frozen=True)
class DashboardQuery:
    """What the dashboard is asked for: search, filters, sort, page, and what the viewer may list."""

    search: str = ""
    kind: str | None = None  # group | model
    approval: str | None = None  # one of APPROVALS, or NONE
    risk: str | None = None  # one of RISKS, or NONE
    card_status: str | None = None  # one of model_cards.STATUSES, or NONE
    sort: str = "modified"
    direction: str = "descending"
    page: int = 1
    page_size: int = PAGE_SIZE
    #: What the viewer may list (sagemaker:ListModels, ListModelPackages, ListModelCards):
    #: without one, its rows or columns are left out, and filtering on them finds nothing.
    models: bool = True
    versions: bool = True
    cards: bool = True

    def check(self) -> None:
        """Raise ValidationException naming the first value that is not understood."""
        for label, value, allowed in (
            ("kind", self.kind, KINDS),
            ("approval status", self.approval, (*APPROVALS, NONE)),
            ("risk rating", self.risk, (*RISKS, NONE)),
            ("model card status", self.card_status, (*CARD_STATUSES, NONE)),
            ("sort", self.sort, SORTS),
            ("sort direction", self.direction, ("ascending", "descending")),
        ):
            if value is not None and value not in allowed:
                raise ValidationException(
                    f"The dashboard cannot filter or sort by {label} {value!r}: choose one of {', '.join(allowed)}."
                )
        for flag, members, permission in ((self.versions, (self.approval, self.sort == "approval"), "ListModelPackages"),
                                          (self.cards, (self.risk, self.card_status, self.sort == "risk"), "ListModelCards")):
            if not flag and any(members):
                raise ValidationException(
                    f"Filtering or sorting by what model {'versions' if permission == 'ListModelPackages' else 'cards'} "
                    f"say needs sagemaker:{permission}, which this dashboard was not given."
                )
        if self.kind == MODEL and not self.models:
            raise ValidationException("Listing models needs sagemaker:ListModels, which this dashboard was not given.")
        if self.page < 1:
            raise ValidationException(f"Page {self.page} does not exist: pages are numbered from 1.")
        if not 1 <= self.page_size <= 100:
            raise ValidationException(f"A page holds 1 to 100 rows, not {self.page_size}.")
        if len(self.search) > MAX_SEARCH:
            raise ValidationException(f"Search for at most {MAX_SEARCH} characters.")

    @property
    def filtered(self) -> bool:
        return bool(self.search or self.kind or self.approval or self.risk or self.card_status)


@dataclass(frozen=True)
class CardFacts:
    name: str
    arn: str
    status: str | None
    risk: str | None
    version: int | None  # the group's version the card documents


@dataclass(frozen=True)
class DashboardRow:
    kind: str  # group | model
    name: str
    arn: str
    description: str | None
    created_at: float
    last_modified: float
    latest_version: int | None = None
    versions: int | None = None  # how many versions a group holds
    approval: str | None = None  # the newest version's ModelApprovalStatus
    latest_arn: str | None = None
    card: CardFacts | None = None
    #: Where the model is deployed and the state of its monitors: None until endpoints and
    #: monitoring schedules exist in Charter.
    deployed: Any = None
    monitors: Any = None


@dataclass(frozen=True)
class DashboardPage:
    rows: list[DashboardRow]
    total: int  # rows matching the query, on every page
    query: DashboardQuery
    #: Whether the account holds any group or model at all (to tell "nothing yet" from "no match").
    anything: bool = True

    @property
    def first(self) -> int:
        return (self.query.page - 1) * self.query.page_size + 1 if self.rows else 0

    @property
    def last(self) -> int:
        return self.first + len(self.rows) - 1 if self.rows else 0

    @property
    def has_previous(self) -> bool:
        return self.query.page > 1

    @property
    def has_next(self) -> bool:
        return self.query.page * self.query.page_size < self.total

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.query.page_size))


# --- the query for the page's keys -------------------------------------------------------

# Built once: the aliases every query uses (an alias costs more to build than the lookup it serves).
_ROWS = {GROUP: resources.alias("g"), MODEL: resources.alias("m")}
_PACKAGE, _CARD = resources.alias("p"), resources.alias("c")


class _Branch:
    """One kind's rows (groups or models) as SQL: the columns to filter and sort on."""

    def __init__(self, kind: str, account: str, region: str, query: DashboardQuery, dialect: str):
        self.kind, self.query, self.dialect = kind, query, dialect
        self.row = _ROWS[kind]
        self.scope: list[ColumnElement] = [
            self.row.c.account == account,
            self.row.c.region == region,
            self.row.c.resource_type == _TYPES[kind],
        ]
        self.account, self.region = account, region
        self.where = [*self.scope, *self.name_matches(self.row)]

    def name_matches(self, table) -> list[ColumnElement]:
        """The search as a condition on ``table``'s name (none without a search)."""
        if not self.query.search:
            return []
        needle = self.query.search.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return [func.lower(table.c.name).like(f"%{needle}%", escape="\\")]

    def _latest(self, column: str) -> ColumnElement:
        """A column of the group's newest version (NULL for a model, or when versions are not shown)."""
        if self.kind != GROUP or not self.query.versions:
            return null()
        return (
            select(_PACKAGE.c[column])
            .where(_PACKAGE.c.parent == self.row.c.arn)
            .order_by(_PACKAGE.c.version.desc())
            .limit(1)
            .scalar_subquery()
        )

    def _card(self, column: str) -> ColumnElement:
        """A column of the row's card (see the module docstring for which card)."""
        if not self.query.cards:
            return null()
        return (
            select(_CARD.c[column])
            .where(_CARD.c.subject == self.row.c.arn)
            .order_by(_CARD.c.subject_version.desc(), _CARD.c.modified_at.desc(), _CARD.c.id.desc())
            .limit(1)
            .scalar_subquery()
        )

    def approval(self) -> ColumnElement:
        return self._latest("approval")

    def risk(self) -> ColumnElement:
        return self._card("risk")

    def card_status(self) -> ColumnElement:
        return self._card("status")

    def modified(self) -> ColumnElement:
        own = self.row.c.modified_at
        if self.kind != GROUP or not self.query.versions:
            return own
        # The newer of two times, reading the newest version once: GREATEST skips a NULL (no
        # version); SQLite's two-argument max() would answer NULL, hence the coalesce.
        if self.dialect == "postgresql":
            return func.greatest(self._latest("modified_at"), own)
        return func.max(func.coalesce(self._latest("modified_at"), 0), own)

    def filters(self) -> list[ColumnElement]:
        out = list(self.where)
        for value, column in ((self.query.approval, self.approval), (self.query.risk, self.risk),
                              (self.query.card_status, self.card_status)):
            if value == NONE:
                out.append(column().is_(None))
            elif value is not None:
                out.append(column() == value)
        return out

    def sort_key(self) -> ColumnElement:
        sort = self.query.sort
        if sort == "name":
            return func.lower(self.row.c.name)  # as a person reads a list: case aside
        if sort == "modified":
            return self.modified()
        ranks = _RANKS[(sort, self.query.direction)]
        value = self.approval() if sort == "approval" else self.risk()
        return case({label: rank for rank, label in enumerate(ranks)}, value=value, else_=len(ranks))

    def keys(self) -> Select:
        return select(
            literal(self.kind).label("kind"), self.row.c.id.label("id"), self.row.c.name.label("name"),
            self.sort_key().label("sort_key"),
        ).where(*self.filters())

    def count(self) -> Select:
        return select(func.count()).select_from(self.row).where(*self.filters())

    def exists(self) -> Select:
        return select(self.row.c.id).where(*self.scope).limit(1)


def _newest_first(conn: Connection, branches: list[_Branch], query: DashboardQuery) -> tuple[list[tuple[str, int]], int]:
    """The page's keys for the default view (last modified, newest first, no filter on versions or cards).

    Reads about a page's worth of rows rather than every group.  A group's
    last-modified time is the newer of its own and its newest version's, so
    with N = the rows up to this page's end and T the N-th newest time of the
    rows themselves, every row of the first N has a time of at least T: either
    its own (it is among the rows modified at T or later) or its newest
    version's (its group is among the parents of the packages modified at T or
    later, which the (account, region, type, modified_at) index finds; a
    version is named after its group, so the search applies to it as well).
    Those candidates' times are then computed exactly and sorted as the full
    query sorts them.
    """
    wanted = query.page * query.page_size
    candidates: list = []
    total = 0
    for branch in branches:
        row = branch.row
        total += conn.execute(branch.count()).scalar_one()
        threshold = conn.execute(
            select(row.c.modified_at).where(*branch.where).order_by(row.c.modified_at.desc())
            .limit(1).offset(wanted - 1)
        ).scalar()
        if threshold is None:  # fewer rows than the page's end: every one is a candidate
            ids = [i for (i,) in conn.execute(select(row.c.id).where(*branch.where))]
        else:
            ids = [i for (i,) in conn.execute(select(row.c.id).where(*branch.where, row.c.modified_at >= threshold))]
            if branch.kind == GROUP and query.versions:
                changed = [parent for (parent,) in conn.execute(
                    select(_PACKAGE.c.parent).distinct().where(
                        _PACKAGE.c.account == branch.account, _PACKAGE.c.region == branch.region,
                        _PACKAGE.c.resource_type == PACKAGE_TYPE, _PACKAGE.c.modified_at >= threshold,
                        *branch.name_matches(_PACKAGE))
                )]
                if changed:
                    ids += [i for (i,) in conn.execute(select(row.c.id).where(*branch.where, row.c.arn.in_(changed)))]
        if ids:
            keyed = branch.keys().where(row.c.id.in_(sorted(set(ids)))).subquery("rows")
            candidates += conn.execute(select(keyed.c.kind, keyed.c.id, keyed.c.name, keyed.c.sort_key)).all()
    # The full query's order: newest first, then name, kind and id.
    candidates.sort(key=lambda c: (-c.sort_key, c.name, c.kind, c.id))
    start = (query.page - 1) * query.page_size
    return [(c.kind, c.id) for c in candidates[start:start + query.page_size]], total


def _kinds(query: DashboardQuery) -> list[str]:
    kinds = [query.kind] if query.kind else list(KINDS)
    return [k for k in kinds if k != MODEL or query.models]


def _page_keys(conn: Connection, branches: list[_Branch], query: DashboardQuery) -> tuple[list[tuple[str, int]], int]:
    """The page's (kind, id) pairs in order, and how many rows match in all.

    One pass: the rows' sort keys are computed, counted (a window over all of
    them) and ordered, and only the page is returned.  An empty answer (a page
    past the end) says nothing of the count, which is then asked on its own.
    """
    if not branches:
        return [], 0
    if (query.sort, query.direction) == ("modified", "descending") and not (
            query.approval or query.risk or query.card_status):
        return _newest_first(conn, branches, query)
    if len(branches) > 1:
        keyed = union_all(*(b.keys() for b in branches)).subquery("rows")
    else:
        keyed = branches[0].keys().subquery("rows")
    # A rank sort is always ascending (the rank order carries the direction); name and kind break ties.
    if query.sort in ("approval", "risk") or query.direction == "ascending":
        first = keyed.c.sort_key.asc()
    else:
        first = keyed.c.sort_key.desc()
    statement = (
        select(keyed.c.kind, keyed.c.id, func.count().over().label("total"))
        .order_by(first, keyed.c.name.asc(), keyed.c.kind.asc(), keyed.c.id.asc())
        .limit(query.page_size)
        .offset((query.page - 1) * query.page_size)
    )
    rows = conn.execute(statement).all()
    if rows:
        return [(kind, row_id) for kind, row_id, _ in rows], rows[0].total
    return [], sum(conn.execute(b.count()).scalar_one() for b in branches)


# --- the page's details --------------------------------------------------------------------


def _cards_of(conn: Connection, subjects: list[str]) -> dict[str, CardFacts]:
    """The card each subject ARN shows (the module docstring's rule)."""
    if not subjects:
        return {}
    c = resources.c
    rows = conn.execute(
        select(c.subject, c.name, c.arn, c.status, c.risk, c.subject_version, c.modified_at, c.id)
        .where(c.subject.in_(subjects), c.resource_type == "model-card")
    ).all()
    best: dict[str, tuple] = {}
    for row in rows:
        key = (row.subject_version or 0, row.modified_at, row.id)  # the order of _Branch._card
        if row.subject not in best or key > best[row.subject][0]:
            best[row.subject] = (key, CardFacts(row.name, row.arn, row.status, row.risk, row.subject_version or None))
    return {subject: facts for subject, (_, facts) in best.items()}


def _rows(conn: Connection, keys: list[tuple[str, int]], query: DashboardQuery) -> list[DashboardRow]:
    if not keys:
        return []
    r = resources.c
    stored = {row.id: row for row in conn.execute(
        select(r.id, r.arn, r.name, r.created_at, r.modified_at, r.document).where(r.id.in_([i for _, i in keys]))
    )}
    groups = [stored[i].arn for kind, i in keys if kind == GROUP and i in stored]
    latest: dict[str, Any] = {}
    counts: dict[str, int] = {}
    if groups and query.versions:
        newest = (
            select(_PACKAGE.c.id).where(_PACKAGE.c.parent == resources.c.arn)
            .order_by(_PACKAGE.c.version.desc()).limit(1).scalar_subquery()
        )
        ids = [pid for (pid,) in conn.execute(select(newest).where(r.arn.in_(groups))) if pid is not None]
        for row in conn.execute(select(r.id, r.parent, r.arn, r.version, r.approval, r.modified_at).where(r.id.in_(ids))):
            latest[row.parent] = row
        counts = dict(conn.execute(
            select(r.parent, func.count()).where(r.parent.in_(groups)).group_by(r.parent)
        ).all())
    cards = _cards_of(conn, [row.arn for row in stored.values()]) if query.cards else {}
    out = []
    for kind, row_id in keys:
        row = stored.get(row_id)
        if row is None:  # deleted between the two reads
            continue
        document = json.loads(row.document)
        newest = latest.get(row.arn)
        modified = max(row.modified_at, newest.modified_at) if newest is not None else row.modified_at
        out.append(DashboardRow(
            kind=kind,
            name=row.name,
            arn=row.arn,
            description=document.get("ModelPackageGroupDescription") if kind == GROUP else None,
            created_at=row.created_at,
            last_modified=modified,
            latest_version=newest.version if newest is not None else None,
            versions=counts.get(row.arn, 0) if kind == GROUP and query.versions else None,
            approval=newest.approval if newest is not None else None,
            latest_arn=newest.arn if newest is not None else None,
            card=cards.get(row.arn),
        ))
    return out


def dashboard_page(conn: Connection, account: str, region: str, query: DashboardQuery) -> DashboardPage:
    """One page of the Model Dashboard for ``account`` in ``region`` (see the module docstring)."""
    query.check()
    dialect = conn.dialect.name
    branches = [_Branch(kind, account, region, query, dialect) for kind in _kinds(query)]
    keys, total = _page_keys(conn, branches, query)
    if not keys and total:
        # A page past the end (rows deleted since, or a hand-made URL): show the last one.
        query = replace(query, page=-(-total // query.page_size))
        keys, total = _page_keys(conn, branches, query)
    anything = bool(total)
    if not anything:
        unfiltered = DashboardQuery(models=query.models, versions=query.versions, cards=query.cards)
        anything = any(conn.execute(_Branch(kind, account, region, unfiltered, dialect).exists()).first()
                       for kind in _kinds(unfiltered))
    return DashboardPage(rows=_rows(conn, keys, query), total=total, query=query, anything=anything)
