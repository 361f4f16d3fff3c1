"""The Model Dashboard page: every model package group and model, with versions, approvals, cards.

One GET route, ``/console/model-dashboard``: the whole page, or (for htmx's
search-as-you-type and the sort and page links) only the results region,
``model_dashboard_results.html``.  The filters live in the URL's query
(``q``, ``kind``, ``approval``, ``risk``, ``card``, ``sort``, ``order``,
``page``), so a filtered view can be bookmarked, shared and reloaded, and the
form works as a plain GET form without JavaScript.

The rows come from :func:`charter.services.model_dashboard.dashboard_page`.
What the viewer may list decides what is shown: without
``sagemaker:ListModels`` the models are left out, without
``ListModelPackages`` the version and approval columns, without
``ListModelCards`` the card columns; the page says which permission would
show them.
"""

from __future__ import annotations

import urllib.parse

from ...errors import ValidationException
from ...iam.policy import Decision
from ...services import model_dashboard as dashboard
from ...services.model_cards import STATUSES as CARD_STATUSES
from . import view

PATH = "/console/model-dashboard"
#: Query members of the page, in the order its URLs carry them.
MEMBERS = ("q", "kind", "approval", "risk", "card", "sort", "order", "page")
# What each filter value reads as in the form.
APPROVAL_LABELS = {"Approved": "Approved", "PendingManualApproval": "Pending manual approval",
                   "Rejected": "Rejected", dashboard.NONE: "No versions yet"}
RISK_LABELS = {**{risk: risk for risk in dashboard.RISKS}, dashboard.NONE: "No model card"}
CARD_LABELS = {"Draft": "Draft", "PendingReview": "Pending review", "Approved": "Approved", "Archived": "Archived",
               dashboard.NONE: "No model card"}
KIND_LABELS = {dashboard.GROUP: "Model groups", dashboard.MODEL: "Models"}
#: The sortable columns: (sort value, header).
SORTABLE = {"name": "Name", "approval": "Approval", "risk": "Risk", "modified": "Last modified"}
_ORDERS = {"asc": "ascending", "desc": "descending"}

assert set(CARD_LABELS) == {*CARD_STATUSES, dashboard.NONE}


def _url(state: dict[str, str], **changes) -> str:
    """The page's URL for ``state`` with ``changes`` (empty values and page 1 left out)."""
    merged = {**state, **{k: str(v) for k, v in changes.items()}}
    pairs = [(k, merged[k]) for k in MEMBERS if merged.get(k) and not (k == "page" and merged[k] == "1")]
    return PATH + ("?" + urllib.parse.urlencode(pairs) if pairs else "")


def _state(visit, allowed: dict[str, bool]) -> dict[str, str]:
    """The page's query members as given (stripped); filters on what the viewer may not list dropped."""
    state = {k: (visit.query.get(k) or "").strip() for k in MEMBERS}
    if not allowed["versions"]:
        state["approval"] = ""
        if state["sort"] == "approval":
            state["sort"] = ""
    if not allowed["cards"]:
        state["risk"] = state["card"] = ""
        if state["sort"] == "risk":
            state["sort"] = ""
    if not allowed["models"] and state["kind"] == dashboard.MODEL:
        state["kind"] = ""
    return state


def _query(state: dict[str, str], allowed: dict[str, bool]) -> dashboard.DashboardQuery:
    sort = state["sort"] or "modified"
    order = state["order"]
    if order and order not in _ORDERS:
        raise ValidationException(f"The sort order {order!r} is not understood: use asc or desc.")
    page = state["page"] or "1"
    if not page.isdigit() or int(page) < 1:
        raise ValidationException(f"Page {page!r} does not exist: pages are numbered 1, 2, 3 and so on.")
    return dashboard.DashboardQuery(
        search=state["q"],
        kind=state["kind"] or None,
        approval=state["approval"] or None,
        risk=state["risk"] or None,
        card_status=state["card"] or None,
        sort=sort,
        direction=_ORDERS[order] if order else dashboard.FIRST_DIRECTION.get(sort, "ascending"),
        page=min(int(page), 10**6),
        models=allowed["models"],
        versions=allowed["versions"],
        cards=allowed["cards"],
    )


def _headers(state: dict[str, str], query: dashboard.DashboardQuery) -> dict[str, dict]:
    """Each sortable column's link (the other direction when it is the current sort) and aria-sort."""
    out = {}
    for sort, title in SORTABLE.items():
        current = query.sort == sort
        if current:
            direction = "descending" if query.direction == "ascending" else "ascending"
        else:
            direction = dashboard.FIRST_DIRECTION[sort]
        order = "asc" if direction == "ascending" else "desc"
        out[sort] = {
            "title": title,
            "url": _url(state, sort=sort, order=order, page=1),
            "aria_sort": query.direction if current else None,
            "arrow": ("▲" if query.direction == "ascending" else "▼") if current else "",
            "next": direction,
        }
    return out


@view("/model-dashboard", page="model-dashboard")
def model_dashboard(visit):
    """The dashboard, or its results region for an htmx request."""
    decisions = visit.decisions([("sagemaker:ListModels", "*"), ("sagemaker:ListModelPackages", "*"),
                                 ("sagemaker:ListModelCards", "*")])
    allowed = dict(zip(("models", "versions", "cards"), (d is Decision.ALLOW for d in decisions)))
    state = _state(visit, allowed)
    query = _query(state, allowed)
    found = visit.read(dashboard.dashboard_page, visit.console.account, visit.console.region, query)
    query = found.query  # a page past the end became the last page
    context = dict(
        found=found, state=state, may=allowed, headers=_headers(state, query),
        previous_url=_url(state, page=query.page - 1) if found.has_previous else None,
        next_url=_url(state, page=query.page + 1) if found.has_next else None,
        clear_url=PATH, approval_labels=APPROVAL_LABELS, risk_labels=RISK_LABELS, card_labels=CARD_LABELS,
        kind_labels=KIND_LABELS if allowed["models"] else {dashboard.GROUP: KIND_LABELS[dashboard.GROUP]},
        filtered=query.filtered,
    )
    template = "model_dashboard_results.html" if visit.htmx else "model_dashboard.html"
    response = visit.render(template, title="Model Dashboard", **context)
    response.headers["Vary"] = "HX-Request"
    return response
