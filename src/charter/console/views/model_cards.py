"""Model cards in the console: list, read, create and edit, review status, versions and diffs, PDF export.

Every read and change is the SageMaker API's own operation called as the
signed-in user (:meth:`Visit.call`): ListModelCards, DescribeModelCard,
CreateModelCard, UpdateModelCard, DeleteModelCard, ListModelCardVersions,
CreateModelCardExportJob, DescribeModelCardExportJob, ListModelCardExportJobs,
and S3 GetObject for the exported PDF.  So the card editor validates exactly as
the API does (the content schema, the name pattern, "content or status, never
both", Archived being final), and a persona that may not update a card sees no
Edit button and is refused if it posts anyway.

The editor's form is generated from the content schema
(:mod:`charter.console.schema_form`); the card is read through the same display
tree the PDF export draws (:func:`charter.render.model_card.card_view`).

Routes, under ``/console/model-cards``::

    /                            the cards: search, status filter, sort, pages
    /new                         a new card (the form); POST creates it
    /{name}                      the card as a document (?version=N for an older one)
    /{name}/edit                 the form; POST saves the next version
    /{name}/versions             every version, what changed, who changed it
    /{name}/diff?a=1&b=3         two versions field by field
    /{name}/status               POST: move the review status (Archived asks first)
    /{name}/archive              the confirmation before archiving
    /{name}/delete               the confirmation; POST deletes
    /{name}/exports              the PDF exports; POST starts one
    /{name}/exports/{job}        an export's status (polled by htmx until it ends)
    /{name}/exports/{job}/pdf    the PDF, as a download
"""

from __future__ import annotations

import base64
import datetime as dt
import difflib
import functools
import json
import re
import secrets
import urllib.parse

from markupsafe import Markup
from starlette.responses import StreamingResponse

from ... import arns
from ...errors import AwsError
from ...iam.policy import Decision
from ...render.formatting import format_number
from ...render.model_card import SECTIONS, card_view, label_of, parse_content
from ...services.model_cards import STATUSES, content_schema
from ...store.artifacts import parse as parse_uri  # a pure URI parser: reads nothing stored
from .. import schema_form
from ..visit import Visit
from . import view

PAGE = "model-cards"
ROOT = "/model-cards"
PAGE_SIZE = 20
VERSIONS_SHOWN = 25
TYPE = "model-card"

#: The label of the button that moves a card to each status.
MOVES = {
    "Draft": "Return to draft",
    "PendingReview": "Submit for review",
    "Approved": "Approve",
    "Archived": "Archive…",
}
STATUS_WORDS = {"PendingReview": "Pending review"}
SORTS = {"created": ("CreationTime", "Descending"), "created-asc": ("CreationTime", "Ascending"),
         "name": ("Name", "Ascending"), "name-desc": ("Name", "Descending")}
_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
_WORDS = re.compile(r"\S+\s*|\s+")
_FREE_MAPS = {"metadata", "custom_details"}  # keys chosen by the card's author: shown as written
# What a section of the form is for, where the schema's own words do not say enough.
SECTION_HELP = {
    "model_package_details": "Give the model package ARN of the registered version this card documents: Charter "
                             "fills in the rest of this section from the Model Registry when you save.",
    "evaluation_details": "Each evaluation is an object with a name, observations, datasets and metric groups.",
}


@functools.cache
def form_tree() -> tuple:
    """The editor's form, generated once from the content schema."""
    return schema_form.form_tree(content_schema())


# --- small helpers --------------------------------------------------------------------------


def _card_arn(visit: Visit, name: str) -> str:
    return arns.sagemaker_arn(visit.console.region, visit.console.account, TYPE, name)


def _path(name: str, *rest: str) -> str:
    return "/".join([f"/console{ROOT}/{urllib.parse.quote(name, safe='')}", *rest])


def _name_param(visit: Visit) -> str:
    return visit.params["name"]


def _int(value, default=None):
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _words(status: str | None) -> str:
    return STATUS_WORDS.get(status or "", status or "")


def _describe(visit: Visit, name: str, version: int | None = None) -> dict:
    params: dict = {"ModelCardName": name}
    if version is not None:
        params["ModelCardVersion"] = version
    return visit.call("sagemaker", "DescribeModelCard", params)


def _permissions(visit: Visit, name: str) -> dict[str, bool]:
    """What the user may do to card ``name``: each button is shown only where this says so."""
    arn = _card_arn(visit, name)
    checks = {
        "edit": ("sagemaker:UpdateModelCard", arn),  # not "update": Jinja would find dict.update
        "delete": ("sagemaker:DeleteModelCard", arn),
        "export": ("sagemaker:CreateModelCardExportJob", f"{arn}/export-job/*"),
        "versions": ("sagemaker:ListModelCardVersions", arn),
        "exports": ("sagemaker:ListModelCardExportJobs", "*"),
    }
    decisions = visit.decisions(list(checks.values()))
    return {key: decision is Decision.ALLOW for key, decision in zip(checks, decisions)}


def _moves(status: str) -> list[tuple[str, str]]:
    """The status moves a card in ``status`` offers: (status, button label), none from Archived."""
    if status == "Archived":
        return []
    return [(target, MOVES[target]) for target in STATUSES if target != status]


def _svg_src(svg: str) -> str:
    """A chart as an image address: inline SVG carries style attributes the console's CSP refuses."""
    return "data:image/svg+xml;base64," + base64.b64encode(str(svg).encode("utf-8")).decode("ascii")


def _tone(tone: str) -> str:
    return {"good": "good", "caution": "wait", "bad": "bad"}.get(tone, "quiet")


def _head(visit: Visit, card: dict, tab: str, **extra) -> dict:
    """What every page of one card shows above its content: name, status, tabs, buttons."""
    name = card["ModelCardName"]
    content, _ = parse_content(card)
    uses = content.get("intended_uses")
    risk = uses.get("risk_rating") if isinstance(uses, dict) else None
    visit.event.resource_arn = card.get("ModelCardArn")
    allowed = _permissions(visit, name)
    return {
        "card": card, "name": name, "tab": tab, "risk": risk, "can": allowed,
        # Not beside the editor: a status move there would drop what is being typed.
        "moves": _moves(card.get("ModelCardStatus")) if allowed["edit"] and tab != "edit" else [],
        "archived": card.get("ModelCardStatus") == "Archived",
        "base": _path(name), "words": _words, **extra,
    }


# --- the list ----------------------------------------------------------------------------------


def _trail_link(params: dict, token: str | None, trail: list[str]) -> str:
    query = {k: v for k, v in params.items() if v}
    if token:
        query["token"] = token
    if trail:
        query["trail"] = "~".join(trail)
    return f"/console{ROOT}" + (f"?{urllib.parse.urlencode(query)}" if query else "")


@view(ROOT, page=PAGE)
def list_cards(visit: Visit):
    """ListModelCards with the search, status filter and sort asked for, a page at a time."""
    q = visit.query
    search = (q.get("q") or "").strip()
    status = q.get("status") if q.get("status") in STATUSES else ""
    sort = q.get("sort") if q.get("sort") in SORTS else "created"
    token = q.get("token") or None
    trail = [t for t in (q.get("trail") or "").split("~") if t][:50]
    params: dict = {"MaxResults": PAGE_SIZE, "SortBy": SORTS[sort][0], "SortOrder": SORTS[sort][1]}
    problem = None
    if search and not _NAME.match(search):
        problem = ("Search by name with letters, digits and hyphens only (the characters a model card name "
                   "may hold).")
    elif search:
        params["NameContains"] = search
    if status:
        params["ModelCardStatus"] = status
    if token:
        params["NextToken"] = token
    rows: list[dict] = []
    next_token = None
    if problem is None:
        answer = visit.call("sagemaker", "ListModelCards", params)
        rows = answer.get("ModelCardSummaries") or []
        next_token = answer.get("NextToken")
    details = _metadata(visit, rows)
    kept = {"q": search, "status": status, "sort": sort if sort != "created" else ""}
    previous = None
    if token:  # the trail holds the tokens of the pages before this one ("-": the first page)
        before = trail[-1] if trail else "-"
        previous = _trail_link(kept, None if before == "-" else before, trail[:-1])
    following = _trail_link(kept, next_token, trail + [token or "-"]) if next_token else None
    creatable = visit.can("sagemaker:CreateModelCard", _card_arn(visit, "*"))
    return visit.render(
        "model_cards.html", title="Model cards", rows=rows, details=details, search=search, chosen_status=status,
        sort=sort, statuses=STATUSES, words=_words, problem=problem, previous=previous, following=following,
        filtered=bool(search or status), creatable=creatable, page_size=PAGE_SIZE,
    )


def _metadata(visit: Visit, rows: list[dict]) -> dict[str, dict]:
    """Each listed card's risk rating and model (DescribeModelCard, metadata only) where the user may read it."""
    if not rows:
        return {}
    checks = [("sagemaker:DescribeModelCard", row["ModelCardArn"]) for row in rows]
    out: dict[str, dict] = {}
    for row, decision in zip(rows, visit.decisions(checks)):
        if decision is not Decision.ALLOW:
            continue
        try:
            card = visit.call("sagemaker", "DescribeModelCard",
                              {"ModelCardName": row["ModelCardName"], "IncludedData": "MetadataOnly"})
        except AwsError:
            continue  # deleted since the list was read: the row still links to it
        content, _ = parse_content(card)
        overview = content.get("model_overview") or {}
        package = content.get("model_package_details") or {}
        out[row["ModelCardName"]] = {
            "risk": (content.get("intended_uses") or {}).get("risk_rating"),
            "model": overview.get("model_name") or overview.get("model_id") or package.get("model_package_group_name"),
            "version": card.get("ModelCardVersion"),
        }
    return out


# --- a new card -----------------------------------------------------------------------------------


def _form_page(visit: Visit, *, mode: str, values: dict, status: int = 200, card: dict | None = None,
               error: str | None = None, problems: dict | None = None, name: str = "", card_status: str = "Draft",
               base_version=None, name_problem: str | None = None, warning: str | None = None):
    context = {"tab": "edit", "card": None, "words": _words} if card is None else _head(visit, card, "edit")
    return visit.render(
        "model_card_form.html", status, title=("New model card" if mode == "new" else f"Edit {card['ModelCardName']}"),
        mode=mode, tree=form_tree(), values=values, error=error, problems=problems or {}, new_name=name,
        new_status=card_status, statuses=[s for s in STATUSES if s != "Archived"], base_version=base_version,
        name_problem=name_problem, section_help=SECTION_HELP, warning=warning, **context,
    )


@view(f"{ROOT}/new", page=PAGE, operation="ViewNewModelCard")
def new_card_form(visit: Visit):
    start: dict = {}
    package = visit.query.get("package")
    if package:
        start = {"model_package_details": {"model_package_arn": package}}
    refused = None
    if not visit.can("sagemaker:CreateModelCard", _card_arn(visit, "*")):
        refused = ("Your permissions do not include sagemaker:CreateModelCard, so saving this form will be "
                   "refused. Ask an administrator for the permission (Role Manager's Manage models activity).")
    return _form_page(visit, mode="new", values=schema_form.form_values(form_tree(), start),
                      name=visit.query.get("name", "")[:63], warning=refused)


@view(f"{ROOT}/new", page=PAGE, method="POST")
def create_card(visit: Visit):
    form = visit.form
    name = form.get("ModelCardName", "").strip()
    status = form.get("ModelCardStatus") or "Draft"
    tree = form_tree()
    content, problems = schema_form.merge_form(tree, form, {})

    def again(message: str, code: int = 400, field_problems: dict | None = None, name_problem: str | None = None):
        return _form_page(visit, mode="new", values=_posted(tree, form), status=code, error=message,
                          problems=field_problems, name=name, card_status=status, name_problem=name_problem)

    if problems:
        return again(_fix_fields(len(problems)), field_problems=problems)
    if not name:
        return again("Give the card a name.", name_problem="A name is required.")
    try:
        visit.call("sagemaker", "CreateModelCard",
                   {"ModelCardName": name, "ModelCardStatus": status,
                    "Content": json.dumps(content, ensure_ascii=False)})
    except AwsError as error:
        if error.code not in ("ValidationException", "ConflictException"):
            raise
        named = "modelCardName" in error.message or error.code == "ConflictException"
        return again(error.message, error.status, schema_form.api_problems(tree, error.message),
                     name_problem="Choose another name." if error.code == "ConflictException" else
                     ("Letters, digits and hyphens, starting with a letter or digit, at most 63." if named else None))
    return visit.redirect(_path(name), notice=f"Model card {name} was created as version 1 ({_words(status)}).")


def _posted(tree, form: dict) -> dict[str, str]:
    """What the person typed, to show again beside the error."""
    return {f.name: form.get(f.name, "") for f in schema_form.fields(tree)}


def _fix_fields(count: int) -> str:
    return ("Nothing was saved: " + ("one field needs" if count == 1 else f"{count} fields need")
            + " correcting (marked below).")


# --- reading a card -------------------------------------------------------------------------------


def _view_nodes(view_tree):
    """The card's display tree with each chart given an image address (see :func:`_svg_src`)."""
    for section in view_tree.sections:
        _charts_to_images(section.children)
    return view_tree


def _charts_to_images(nodes) -> None:
    for node in nodes:
        kind = getattr(node, "kind", None)
        if kind == "chart":
            node.src = _svg_src(node.svg)
        elif kind == "block":
            _charts_to_images(node.children)
        elif kind == "items":
            _charts_to_images(node.items)
        elif kind == "fields":
            _charts_to_images([f.node for f in node.fields])


@functools.lru_cache(maxsize=32)
def _document(card_json: str):
    """The display tree of a card version. A version never changes, and drawing its charts takes a
    matplotlib run each, so the tree is kept for the exact document it was drawn from."""
    return _view_nodes(card_view(json.loads(card_json)))


@view(f"{ROOT}/{{name}}", page=PAGE, operation="ViewModelCard")
def read_card(visit: Visit):
    name = _name_param(visit)
    wanted = _int(visit.query.get("version"))
    latest = _describe(visit, name)
    card = latest if wanted in (None, latest["ModelCardVersion"]) else _describe(visit, name, wanted)
    document = _document(json.dumps(card, sort_keys=True, default=str))
    head = _head(visit, latest, "card")
    return visit.render("model_card.html", title=f"Model card {name}", doc=document, shown=card,
                        latest_version=latest["ModelCardVersion"], sections=SECTIONS, tone=_tone, **head)


# --- editing ----------------------------------------------------------------------------------------


@view(f"{ROOT}/{{name}}/edit", page=PAGE, operation="ViewEditModelCard")
def edit_form(visit: Visit):
    card = _describe(visit, _name_param(visit))
    content, _ = parse_content(card)
    return _form_page(visit, mode="edit", card=card, values=schema_form.form_values(form_tree(), content),
                      base_version=card["ModelCardVersion"])


@view(f"{ROOT}/{{name}}/edit", page=PAGE, method="POST")
def save_card(visit: Visit):
    name = _name_param(visit)
    form = visit.form
    tree = form_tree()
    card = _describe(visit, name)
    base = _int(form.get("base_version"))

    def again(message: str, code: int = 400, problems: dict | None = None):
        return _form_page(visit, mode="edit", card=card, values=_posted(tree, form), status=code, error=message,
                          problems=problems, base_version=base)

    if base is not None and base != card["ModelCardVersion"]:
        return again(f"Nothing was saved: someone saved version {card['ModelCardVersion']} of this card after you "
                     f"opened version {base} to edit. Open the card again to see their changes, then make yours.", 409)
    original = json.loads(card.get("Content") or "{}")
    content, problems = schema_form.merge_form(tree, form, original)
    if problems:
        return again(_fix_fields(len(problems)), problems=problems)
    if content == original:
        return visit.redirect(_path(name), notice="Nothing had changed, so no new version was saved.")
    try:
        visit.call("sagemaker", "UpdateModelCard",
                   {"ModelCardName": name, "Content": json.dumps(content, ensure_ascii=False)})
    except AwsError as error:
        if error.code not in ("ValidationException", "ConflictException"):
            raise
        return again(error.message, error.status, schema_form.api_problems(tree, error.message))
    version = card["ModelCardVersion"] + 1
    return visit.redirect(_path(name) + f"?version={version}",
                          notice=f"Saved as version {version}. Versions shows what changed.")


# --- status ------------------------------------------------------------------------------------------


@view(f"{ROOT}/{{name}}/status", page=PAGE, method="POST")
def move_status(visit: Visit):
    name = _name_param(visit)
    target = visit.form.get("status", "")
    if target == "Archived" and visit.form.get("confirm") != "archive":
        return visit.redirect(_path(name, "archive"))
    visit.call("sagemaker", "UpdateModelCard", {"ModelCardName": name, "ModelCardStatus": target})
    done = f"The card is now {_words(target)}."
    return visit.redirect(_path(name), notice=done)


@view(f"{ROOT}/{{name}}/archive", page=PAGE, operation="ViewArchiveModelCard")
def archive_confirm(visit: Visit):
    card = _describe(visit, _name_param(visit))
    return visit.render("model_card_confirm.html", title=f"Archive {card['ModelCardName']}", action="archive",
                        **_head(visit, card, "card"))


# --- deleting -------------------------------------------------------------------------------------------


@view(f"{ROOT}/{{name}}/delete", page=PAGE, operation="ViewDeleteModelCard")
def delete_confirm(visit: Visit):
    card = _describe(visit, _name_param(visit))
    return visit.render("model_card_confirm.html", title=f"Delete {card['ModelCardName']}", action="delete",
                        **_head(visit, card, "card"))


@view(f"{ROOT}/{{name}}/delete", page=PAGE, method="POST")
def delete_card(visit: Visit):
    name = _name_param(visit)
    visit.call("sagemaker", "DeleteModelCard", {"ModelCardName": name})
    return visit.redirect(f"/console{ROOT}", notice=f"Model card {name} was deleted, with all its versions.")


# --- versions and diffs -----------------------------------------------------------------------------------


@view(f"{ROOT}/{{name}}/versions", page=PAGE, operation="ViewModelCardVersions")
def versions(visit: Visit):
    name = _name_param(visit)
    latest = _describe(visit, name)
    params: dict = {"ModelCardName": name, "MaxResults": VERSIONS_SHOWN, "SortOrder": "Descending"}
    if visit.query.get("token"):
        params["NextToken"] = visit.query["token"]
    answer = visit.call("sagemaker", "ListModelCardVersions", params)
    summaries = answer.get("ModelCardVersionSummaryList") or []
    documents = {s["ModelCardVersion"]: _describe(visit, name, s["ModelCardVersion"]) for s in summaries}
    older = {}
    lowest = min(documents, default=None)
    if lowest is not None and lowest > 1:
        older[lowest] = _describe(visit, name, lowest - 1)
    rows = []
    for summary in summaries:
        number = summary["ModelCardVersion"]
        document = documents[number]
        before = documents.get(number - 1) or older.get(number)
        rows.append({"summary": summary, "document": document, "change": _change(document, before),
                     "who": _who(document.get("LastModifiedBy"))})
    numbers = list(range(latest["ModelCardVersion"], 0, -1))
    following = None
    if answer.get("NextToken"):
        following = _path(name, "versions") + "?" + urllib.parse.urlencode({"token": answer["NextToken"]})
    return visit.render("model_card_versions.html", title=f"Versions of {name}", rows=rows, numbers=numbers,
                        following=following, **_head(visit, latest, "versions"))


def _who(user) -> str:
    if not isinstance(user, dict):
        return ""
    arn = (user.get("IamIdentity") or {}).get("Arn") or ""
    return user.get("UserProfileName") or arn.rsplit("/", 1)[-1] or user.get("DomainId") or ""


def _change(document: dict, before: dict | None) -> str:
    """What one version changed, in words."""
    if before is None:
        return f"Created as {_words(document.get('ModelCardStatus'))}"
    if document.get("ModelCardStatus") != before.get("ModelCardStatus"):
        return f"Status {_words(before.get('ModelCardStatus'))} → {_words(document.get('ModelCardStatus'))}"
    if document.get("Content") != before.get("Content"):
        changed = len(diff_rows(json.loads(before.get("Content") or "{}"), json.loads(document.get("Content") or "{}")))
        return f"Content edited ({changed} field{'s' if changed != 1 else ''})"
    return f"Status confirmed as {_words(document.get('ModelCardStatus'))}"


@view(f"{ROOT}/{{name}}/diff", page=PAGE, operation="ViewModelCardDiff")
def diff(visit: Visit):
    name = _name_param(visit)
    latest = _describe(visit, name)
    top = latest["ModelCardVersion"]
    a = _int(visit.query.get("a"), max(1, top - 1))
    b = _int(visit.query.get("b"), top)
    if a > b:
        a, b = b, a
    old = latest if a == top else _describe(visit, name, a)
    new = latest if b == top else _describe(visit, name, b)
    rows = diff_rows(json.loads(old.get("Content") or "{}"), json.loads(new.get("Content") or "{}"))
    status_change = (old.get("ModelCardStatus"), new.get("ModelCardStatus"))
    return visit.render("model_card_diff.html", title=f"{name}: version {a} and {b}", old=old, new=new, a=a, b=b,
                        rows=rows, status_change=status_change, numbers=list(range(top, 0, -1)),
                        who=_who, **_head(visit, latest, "versions"))


def _leaf_text(value) -> str:
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, (int, float)):
        return format_number(value) if isinstance(value, int) else json.dumps(value)
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "\n".join(value)
    return json.dumps(value, ensure_ascii=False)


def flatten(value, trail: tuple = (), *, free: bool = False) -> dict[tuple, str]:
    """A card's content as {labels from the root: the value as text}, lists of named objects by name."""
    out: dict[tuple, str] = {}
    if isinstance(value, dict) and value:
        for key, inner in value.items():
            label = key if free else label_of(key)
            out.update(flatten(inner, trail + (label,), free=key in _FREE_MAPS))
    elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        seen: dict[str, int] = {}
        for number, item in enumerate(value, 1):
            label = str(item.get("name") or f"#{number}")
            seen[label] = seen.get(label, 0) + 1
            if seen[label] > 1:
                label = f"{label} ({seen[label]})"
            out.update(flatten(item, trail + (label,)))
    elif value not in (None, "", [], {}):
        out[trail] = _leaf_text(value)
    return out


def _marked(old: str, new: str) -> tuple[Markup, Markup]:
    """``old`` and ``new`` with the words one has and the other lacks marked <del> and <ins>."""
    # Words with the space after them: a run of changed words is then one mark, not one per word.
    a, b = _WORDS.findall(old), _WORDS.findall(new)
    left: list[str] = []
    right: list[str] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        gone, came = "".join(a[i1:i2]), "".join(b[j1:j2])
        if op == "equal":
            left.append(str(Markup.escape(gone)))
            right.append(str(Markup.escape(came)))
            continue
        if gone:
            left.append(f"<del>{Markup.escape(gone)}</del>")
        if came:
            right.append(f"<ins>{Markup.escape(came)}</ins>")
    return Markup("".join(left)), Markup("".join(right))


def diff_rows(old_content: dict, new_content: dict) -> list[dict]:
    """The fields two versions' contents differ in, in the newer one's order: label, kind, old and new text."""
    old, new = flatten(old_content), flatten(new_content)
    order = list(new) + [key for key in old if key not in new]
    rows = []
    for key in order:
        before, after = old.get(key), new.get(key)
        if before == after:
            continue
        kind = "added" if before is None else "removed" if after is None else "changed"
        left, right = _marked(before or "", after or "")
        rows.append({"label": " › ".join(key), "kind": kind, "old": left, "new": right})
    return rows


# --- PDF exports ----------------------------------------------------------------------------------------


def _job_arn(visit: Visit, name: str, job: str) -> str:
    return arns.sagemaker_arn(visit.console.region, visit.console.account, TYPE, f"{name}/export-job/{job}")


def _job_name(name: str, version: int) -> str:
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d-%H%M%S")
    return f"{name[:30].rstrip('-')}-v{version}-{stamp}-{secrets.token_hex(2)}"


def _default_output(visit: Visit) -> str:
    return f"s3://{visit.console.instance.default_bucket}/model-cards"


def _exports_page(visit: Visit, card: dict, *, status: int = 200, error: str | None = None,
                  output: str | None = None, version=None):
    name = card["ModelCardName"]
    head = _head(visit, card, "exports")
    jobs: list[dict] = []
    if head["can"]["exports"]:
        jobs = visit.call("sagemaker", "ListModelCardExportJobs",
                          {"ModelCardName": name, "MaxResults": 50}).get("ModelCardExportJobSummaries") or []
    return visit.render("model_card_exports.html", status, title=f"Exports of {name}", jobs=jobs, error=error,
                        output=output or _default_output(visit), export_version=version or card["ModelCardVersion"],
                        numbers=list(range(card["ModelCardVersion"], 0, -1)), **head)


@view(f"{ROOT}/{{name}}/exports", page=PAGE, operation="ViewModelCardExports")
def exports(visit: Visit):
    return _exports_page(visit, _describe(visit, _name_param(visit)))


@view(f"{ROOT}/{{name}}/exports", page=PAGE, method="POST")
def start_export(visit: Visit):
    name = _name_param(visit)
    card = _describe(visit, name)
    version = _int(visit.form.get("version"), card["ModelCardVersion"])
    output = (visit.form.get("output") or "").strip() or _default_output(visit)
    job = _job_name(name, version)
    try:
        visit.call("sagemaker", "CreateModelCardExportJob", {
            "ModelCardName": name, "ModelCardVersion": version, "ModelCardExportJobName": job,
            "OutputConfig": {"S3OutputPath": output},
        })
    except AwsError as error:
        if error.code not in ("ValidationException", "ResourceNotFound", "ConflictException"):
            raise
        return _exports_page(visit, card, status=error.status, error=error.message, output=output, version=version)
    return visit.redirect(_path(name, "exports", job), notice=f"Exporting version {version} to PDF.")


def _export_job(visit: Visit, name: str, job: str) -> dict:
    return visit.call("sagemaker", "DescribeModelCardExportJob", {"ModelCardExportJobArn": _job_arn(visit, name, job)})


@view(f"{ROOT}/{{name}}/exports/{{job}}", page=PAGE, operation="ViewModelCardExportJob")
def export_job(visit: Visit):
    name, job_name = _name_param(visit), visit.params["job"]
    job = _export_job(visit, name, job_name)
    visit.event.resource_arn = job.get("ModelCardExportJobArn")
    context = {"job": job, "poll": _path(name, "exports", job_name),
               "download": _path(name, "exports", job_name, "pdf")}
    if visit.htmx:
        return visit.render("model_card_export_status.html", **context)
    card = _describe(visit, name)
    return visit.render("model_card_export.html", title=f"Export {job_name}", **context,
                        **_head(visit, card, "exports"))


@view(f"{ROOT}/{{name}}/exports/{{job}}/pdf", page=PAGE, operation="DownloadModelCardExport")
def download(visit: Visit):
    """The exported PDF from the artifact store (S3 GetObject as the user), as an attachment."""
    name, job_name = _name_param(visit), visit.params["job"]
    job = _export_job(visit, name, job_name)
    uri = (job.get("ExportArtifacts") or {}).get("S3ExportArtifacts")
    if job.get("Status") != "Completed" or not uri:
        return visit.redirect(_path(name, "exports", job_name),
                              notice="That export has no PDF yet: it is shown here once the export completes.")
    location = parse_uri(uri)
    visit.event.resource_arn = job.get("ModelCardExportJobArn")
    obj = visit.call("s3", "GetObject", {"Bucket": location.bucket, "Key": location.key})
    body = obj["Body"]
    filename = f"{name}-v{job.get('ModelCardVersion')}.pdf"
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    if obj.get("ContentLength") is not None:
        headers["Content-Length"] = str(obj["ContentLength"])

    def chunks():
        try:
            yield from body
        finally:
            close = getattr(body, "close", None)
            if close:
                close()

    return StreamingResponse(chunks(), media_type="application/pdf", headers=headers)
