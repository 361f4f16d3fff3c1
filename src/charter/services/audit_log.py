"""Reading the audit log: filtered, newest first, a page at a time, and as CSV.

Charter has no CloudTrail API, so the console's audit-log page (authorized by
``cloudtrail:LookupEvents``, as CloudTrail's own console is) reads the table of
:mod:`charter.store.audit` through these functions.  They only read.

* :func:`page`: the events matching a :class:`Filters`, newest first, ``limit``
  at a time.  Pages are keyset pages on ``(time, id)``: a :class:`Cursor` names
  the last row shown and the next page starts below it, so a page costs the
  same however deep it is and rows written meanwhile neither repeat nor shift
  it (rows keep their request's time, so ``id`` alone is not in time order).
* :func:`csv_chunks`: every matching event as CSV text (RFC 4180: a header
  row, CRLF line ends, fields quoted where they hold a comma, quote or line
  break), read a batch per transaction so an export of any size holds neither
  the whole log in memory nor a transaction open while the client reads.
  A cell that begins with ``=``, ``+``, ``-``, ``@`` (or a tab or carriage
  return) is prefixed with ``'``: a spreadsheet would otherwise run it as a
  formula (OWASP, "CSV Injection"), and an error message or user agent is
  whatever a caller sent.

Filters: ``user`` is a user name, or a principal ARN when it starts with
``arn:`` (exact, as IAM names are case-sensitive); ``operation`` is exact;
``resource`` matches any ARN containing it, ignoring case; ``outcome`` is
Success, Failed or Denied; ``source`` is api or console; ``since`` and
``until`` are epoch seconds, ``since <= time < until``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sqlalchemy import Connection, and_, func, or_, select

from ..errors import ValidationException
from ..store.schema import audit_events

OUTCOMES = ("Success", "Failed", "Denied")
SOURCES = ("api", "console")
MAX_PAGE = 1000
EXPORT_BATCH = 1000

#: The CSV's columns: (header, AuditRow attribute).
CSV_COLUMNS = (
    ("time", "iso_time"),
    ("user_name", "user_name"),
    ("principal_arn", "principal_arn"),
    ("access_key_id", "access_key_id"),
    ("operation", "operation"),
    ("resource_arn", "resource_arn"),
    ("region", "region"),
    ("outcome", "outcome"),
    ("status_code", "status_code"),
    ("error_code", "error_code"),
    ("error_message", "error_message"),
    ("source", "source"),
    ("source_ip", "source_ip"),
    ("user_agent", "user_agent"),
    ("request_id", "request_id"),
)

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_CURSOR = re.compile(r"^(\d+(?:\.\d+)?(?:e[+-]?\d+)?):(\d+)$")


@dataclass(frozen=True)
class Filters:
    user: str = ""
    operation: str = ""
    resource: str = ""
    outcome: str = ""
    source: str = ""
    since: float | None = None
    until: float | None = None

    def __post_init__(self):
        if self.outcome and self.outcome not in OUTCOMES:
            raise ValidationException(f"Outcome must be one of {', '.join(OUTCOMES)}, not {self.outcome!r}.")
        if self.source and self.source not in SOURCES:
            raise ValidationException(f"Source must be one of {', '.join(SOURCES)}, not {self.source!r}.")
        if self.since is not None and self.until is not None and self.since >= self.until:
            raise ValidationException("The start of the time range must be before its end.")

    @property
    def any(self) -> bool:
        """Whether anything is filtered at all."""
        return any((self.user, self.operation, self.resource, self.outcome, self.source)) or (
            self.since is not None or self.until is not None
        )


@dataclass(frozen=True)
class Cursor:
    """The last row of a page: the next page holds the rows below it, in (time, id) order."""

    time: float
    id: int

    def __str__(self) -> str:
        return f"{self.time!r}:{self.id}"

    @classmethod
    def parse(cls, text: str) -> "Cursor":
        found = _CURSOR.match(text or "")
        if not found:
            raise ValidationException("That page of the audit log is not one this console made; start from the newest.")
        return cls(float(found[1]), int(found[2]))


@dataclass(frozen=True)
class AuditRow:
    id: int
    time: float
    request_id: str
    operation: str
    outcome: str
    status_code: int
    source: str
    principal_arn: str | None
    user_name: str | None
    access_key_id: str | None
    resource_arn: str | None
    region: str | None
    error_code: str | None
    error_message: str | None
    source_ip: str | None
    user_agent: str | None

    @property
    def iso_time(self) -> str:
        """``2026-05-01T08:14:05.123Z``: the time to the millisecond, as CloudTrail writes eventTime."""
        moment = dt.datetime.fromtimestamp(self.time, dt.timezone.utc)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass(frozen=True)
class Page:
    rows: list[AuditRow]
    next: Cursor | None  # where the following page starts; None on the last page


def _where(query, filters: Filters):
    c = audit_events.c
    if filters.user:
        column = c.principal_arn if filters.user.startswith("arn:") else c.user_name
        query = query.where(column == filters.user)
    if filters.operation:
        query = query.where(c.operation == filters.operation)
    if filters.resource:
        query = query.where(func.lower(c.resource_arn).contains(filters.resource.lower(), autoescape=True))
    if filters.outcome:
        query = query.where(c.outcome == filters.outcome)
    if filters.source:
        query = query.where(c.source == filters.source)
    if filters.since is not None:
        query = query.where(c.time >= filters.since)
    if filters.until is not None:
        query = query.where(c.time < filters.until)
    return query


def page(conn: Connection, filters: Filters, *, after: Cursor | None = None, limit: int = 50) -> Page:
    """Up to ``limit`` events matching ``filters``, newest first, below ``after`` (the top when None)."""
    limit = max(1, min(int(limit), MAX_PAGE))
    c = audit_events.c
    query = _where(select(audit_events), filters)
    if after is not None:
        query = query.where(or_(c.time < after.time, and_(c.time == after.time, c.id < after.id)))
    found = conn.execute(query.order_by(c.time.desc(), c.id.desc()).limit(limit + 1)).all()
    fields = AuditRow.__dataclass_fields__
    rows = [AuditRow(**{name: getattr(row, name) for name in fields}) for row in found[:limit]]
    more = len(found) > limit
    return Page(rows, Cursor(rows[-1].time, rows[-1].id) if more else None)


def guard_cell(value) -> str:
    """A CSV cell that a spreadsheet shows as text, never runs as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_chunks(read: Callable, filters: Filters, *, batch: int = EXPORT_BATCH) -> Iterator[str]:
    """The matching events as CSV, newest first, a chunk of text per batch.

    ``read(function, *args, **kwargs)`` runs ``function(conn, ...)`` in a read
    transaction of its own (the console's ``Visit.read``), once per batch.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([header for header, _ in CSV_COLUMNS])
    cursor: Cursor | None = None
    while True:
        found: Page = read(page, filters, after=cursor, limit=batch)
        for row in found.rows:
            writer.writerow([guard_cell(getattr(row, name)) for _, name in CSV_COLUMNS])
        yield out.getvalue()
        out.seek(0)
        out.truncate()
        if found.next is None:
            return
        cursor = found.next
