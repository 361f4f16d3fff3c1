"""The audit log in the console: every API call and console action, filtered, paged, exported as CSV.

* ``/console/audit-log``: the events newest first, filtered by user, operation,
  resource (contains), outcome, source and a UTC time range, a page at a time
  (keyset pages, :mod:`charter.services.audit_log`); the user and operation of
  a row are links that filter by them.
* ``/console/audit-log.csv``: the same filters, every matching event, streamed
  as a CSV download (its own audit row, ``ExportAuditLog``).

Both need ``cloudtrail:LookupEvents`` (the page's action), as CloudTrail's event
history does; the rows are read through :func:`Visit.read` since no API
operation of Charter answers them.
"""

from __future__ import annotations

import datetime as dt
import re
import urllib.parse

from starlette.responses import Response, StreamingResponse

from ...errors import ValidationException
from ...services import audit_log
from . import view

PAGE_SIZE = 50
SIZES = (10, 25, 50, 100, 200)
MAX_FIELD = 256
#: How many earlier pages the "Previous" link can walk back through.
MAX_BACK = 20
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MINUTE = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}$")


def _moment(text: str, label: str, *, end: bool) -> float | None:
    """Epoch seconds of a datetime-local value read as UTC; for the end of a range, the end of what it names.

    "To 10:30" includes events at 10:30:59 (a datetime-local input names minutes),
    "to 2026-05-01" includes all of that day.
    """
    text = text.strip()
    if not text:
        return None
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationException(
            f"{label} “{text[:40]}” is not a date and time. Use the picker, or type it as 2026-05-01T14:30 (UTC)."
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    seconds = moment.timestamp()
    if end:
        seconds += 86400 if _DATE.match(text) else 60 if _MINUTE.match(text) else 1
    return seconds


FIELDS = ("user", "operation", "resource", "outcome", "source", "from", "to")


def _shown(visit) -> dict:
    """The filters as the form shows them (what was typed, trimmed)."""
    return {name: (visit.query.get(name) or "").strip()[:MAX_FIELD] for name in FIELDS}


def _filters(shown: dict) -> audit_log.Filters:
    """The filters as the service reads them (raises ValidationException, saying what to fix)."""
    return audit_log.Filters(
        user=shown["user"], operation=shown["operation"], resource=shown["resource"], outcome=shown["outcome"],
        source=shown["source"], since=_moment(shown["from"], "From", end=False),
        until=_moment(shown["to"], "To", end=True),
    )


def _query(**values) -> str:
    return urllib.parse.urlencode([(k, v) for k, v in values.items() if v not in (None, "", [])], doseq=True)


def _clock(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


@view("/audit-log", page="audit-log")
def audit_log_page(visit) -> Response:
    size = visit.query.get("size") or ""
    size = int(size) if size.isdigit() and int(size) in SIZES else PAGE_SIZE
    shown = _shown(visit)
    context = dict(filters=shown, outcomes=audit_log.OUTCOMES, sources=audit_log.SOURCES, sizes=SIZES, size=size,
                   rows=[], error=None, prev_url=None, next_url=None, first_page=True, filtered=False,
                   export_url="/console/audit-log.csv", clock=_clock)
    try:
        filters = _filters(shown)
        after_text = visit.query.get("after") or ""
        after = audit_log.Cursor.parse(after_text) if after_text else None
    except ValidationException as error:
        context.update(error=error.message, filtered=True)
        return visit.render("audit_log.html", 400, title="Audit log", **context)
    back = visit.query.getlist("back")[-MAX_BACK:]  # the cursors of the pages before this one ("" is the first)
    found = visit.read(audit_log.page, filters, after=after, limit=size)
    keep = dict(shown, size=size if size != PAGE_SIZE else "")

    def filter_url(**change) -> str:
        return "/console/audit-log?" + _query(**dict(keep, **change))

    context.update(
        rows=found.rows, filtered=filters.any, first_page=after is None, filter_url=filter_url,
        next_url=("/console/audit-log?" + _query(**keep, after=str(found.next), back=[*back, after_text])
                  if found.next else None),
        prev_url=("/console/audit-log?" + _query(**keep, after=back[-1] if back else None, back=back[:-1])
                  if after is not None else None),
        export_url="/console/audit-log.csv" + ("?" + _query(**shown) if filters.any else ""),
    )
    return visit.render("audit_log.html", title="Audit log", **context)


@view("/audit-log.csv", page="audit-log", operation="ExportAuditLog")
def audit_log_csv(visit) -> Response:
    filters = _filters(_shown(visit))  # a ValidationException is the gate's page, saying what to fix
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return StreamingResponse(
        audit_log.csv_chunks(visit.read, filters),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="charter-audit-log-{stamp}.csv"'},
    )
