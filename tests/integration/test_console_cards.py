"""Model cards in the console, as a person uses them: list, read, create, edit, review, diff, export, delete.

One server for the module; an admin-like MLOps engineer does the work through
the console's forms (an ``httpx`` client with cookies and each form's CSRF
token), boto3 checks what the API then answers, and an auditor (read-only
persona) finds no Edit button and is refused when posting anyway.
"""

from __future__ import annotations

import html
import json
import re
import time
import uuid

import pytest

from charter.iam.personas import build_policy
from conftest import start_server, stop_server
from test_console_frame import PASSWORD, Browser, csrf_of

pytestmark = pytest.mark.once(
    "the page's side; the model card operations and export jobs it calls are tested on both databases in test_model_cards.py and test_model_card_export.py"
)

ACCOUNT = "123456789012"
BUCKET = f"sagemaker-us-east-1-{ACCOUNT}"
EVALUATION = [{
    "name": "Holdout evaluation",
    "evaluation_observation": "Scored on the 30% held out.",
    "metric_groups": [{"name": "Binary classification", "metric_data": [
        {"name": "auc", "type": "number", "value": 0.8125},
        {"name": "Confusion matrix", "type": "matrix", "value": [[120, 30], [25, 125]],
         "x_axis_name": ["predicted good", "predicted bad"], "y_axis_name": ["good", "bad"]},
    ]}],
}]
CONTENT = {
    "model_overview": {"model_description": "Scores loan applications.", "model_owner": "Risk analytics",
                       "model_version": 2.0, "problem_type": "Binary classification"},
    "intended_uses": {"purpose_of_model": "Decide which applications go to manual underwriting.",
                      "risk_rating": "High"},
    "evaluation_details": EVALUATION,
    "additional_information": {"custom_details": {"review_board": "Credit committee"}},
}


@pytest.fixture(scope="module")
def server(tmp_path_factory, database_url_factory):
    started = start_server(tmp_path_factory.mktemp("console-cards"), database_url_factory())
    yield started
    stop_server(started)


@pytest.fixture(scope="module")
def sm(server):
    return server.client()


def person(server, persona: str, buckets: tuple[str, ...] = ()) -> str:
    """A user with the Role Manager policy of ``persona`` (what ``charter iam create-user --persona`` attaches)."""
    name = f"{persona}-{uuid.uuid4().hex[:6]}"
    iam = server.client(service="iam")
    iam.create_user(UserName=name)
    document = build_policy(persona, account=ACCOUNT, buckets=buckets, username=name)
    arn = iam.create_policy(PolicyName=f"{name}-policy", PolicyDocument=json.dumps(document))["Policy"]["Arn"]
    iam.attach_user_policy(UserName=name, PolicyArn=arn)
    iam.create_login_profile(UserName=name, Password=PASSWORD)
    return name


@pytest.fixture(scope="module")
def engineer(server):
    """The MLOps engineer's browser, signed in."""
    browser = Browser(server.endpoint)
    # Artifact access to the default bucket, where the console exports PDFs.
    assert browser.sign_in(person(server, "mlops-engineer", (BUCKET,))).status_code == 303
    return browser


def form_of(page: str) -> dict[str, str]:
    """The values a browser would post from the page's model card form (inputs, selects, textareas)."""
    found = re.search(r'<form method="post" class="form mc-form".*?</form>', page, re.DOTALL)[0]
    values: dict[str, str] = {}
    for tag in re.finditer(r"<input [^>]*>", found):
        name, value = re.search(r'name="([^"]+)"', tag[0]), re.search(r'value="([^"]*)"', tag[0])
        if name:
            values[name[1]] = html.unescape(value[1]) if value else ""
    for select in re.finditer(r'<select [^>]*name="([^"]+)"[^>]*>(.*?)</select>', found, re.DOTALL):
        chosen = re.search(r'<option value="([^"]*)" selected', select[2])
        values[select[1]] = html.unescape(chosen[1]) if chosen else ""
    for area in re.finditer(r'<textarea [^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', found, re.DOTALL):
        values[area[1]] = html.unescape(area[2]).replace("\n", "\r\n")  # as browsers post line breaks
    return values


def text_of(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def make_card(sm, name: str, content: dict = CONTENT, status: str = "Draft") -> None:
    sm.create_model_card(ModelCardName=name, Content=json.dumps(content), ModelCardStatus=status)


def test_the_list_searches_filters_and_reads_a_card_as_a_document(server, sm, engineer):
    empty = engineer.get("/console/model-cards?q=nothing-like-this")
    assert empty.status_code == 200 and "No model cards match" in empty.text
    make_card(sm, "credit-risk-v2", status="PendingReview")
    make_card(sm, "churn-v1", {"intended_uses": {"risk_rating": "Low"}})

    listed = engineer.get("/console/model-cards")
    assert listed.status_code == 200
    rows = re.findall(r'<tr>\s*<td><a href="/console/model-cards/([^"]+)">', listed.text)
    assert rows[:2] == ["churn-v1", "credit-risk-v2"]  # newest first
    assert '<span class="badge bad">High</span>' in listed.text  # the risk rating, read from each card
    assert 'href="/console/model-cards/new"' in listed.text  # the engineer may create cards

    found = engineer.get("/console/model-cards?q=credit&status=PendingReview")
    assert re.findall(r'<tr>\s*<td><a href="/console/model-cards/([^"]+)">', found.text) == ["credit-risk-v2"]
    assert "No model cards match" in engineer.get("/console/model-cards?status=Approved").text
    refused = engineer.get("/console/model-cards?q=no spaces")
    assert refused.status_code == 200 and "letters, digits and hyphens" in refused.text

    for number in range(21):  # one more than a page holds
        make_card(sm, f"paged-{number:02d}", {})
    first = engineer.get("/console/model-cards?q=paged&sort=name")
    names = re.findall(r'<tr>\s*<td><a href="/console/model-cards/([^"]+)">', first.text)
    assert names == [f"paged-{n:02d}" for n in range(20)] and 'rel="prev"' not in first.text
    second = engineer.get(html.unescape(re.search(r'href="([^"]+)" rel="next"', first.text)[1]))
    assert re.findall(r'<tr>\s*<td><a href="/console/model-cards/([^"]+)">', second.text) == ["paged-20"]
    assert 'rel="next"' not in second.text
    back = engineer.get(html.unescape(re.search(r'href="([^"]+)" rel="prev"', second.text)[1]))
    assert re.findall(r'<tr>\s*<td><a href="/console/model-cards/([^"]+)">', back.text) == names

    card = engineer.get("/console/model-cards/credit-risk-v2")
    assert card.status_code == 200
    words = text_of(card.text)
    for expected in ("Model overview", "Intended uses", "Decide which applications go to manual underwriting.",
                     "Holdout evaluation", "Credit committee", "Risk rating High"):
        assert expected in words
    assert '<img src="data:image/svg+xml;base64,' in card.text  # the confusion matrix, drawn
    assert "style=" not in card.text  # nothing the CSP would refuse
    missing = engineer.get("/console/model-cards/no-such-card")
    assert "That could not be found" in missing.text and "does not exist" in missing.text


def test_creating_through_the_generated_form_validated_as_the_api_validates(server, sm, engineer):
    blank = engineer.get("/console/model-cards/new")
    assert blank.status_code == 200
    form = form_of(blank.text)
    # The form is generated from the schema: sections as fieldsets, enums as selects, lists as textareas.
    for name in ("content.model_overview.model_name", "content.intended_uses.risk_rating",
                 "content.training_details.objective_function.function.function",
                 "content.model_overview.model_artifact", "content.evaluation_details"):
        assert name in form
    assert len(form) < 64  # the console reads at most 64 fields of a form

    bad = {**form, "ModelCardName": "fraud-v1", "content.model_overview.model_version": "0",
           "content.business_details.business_problem": "Chargebacks cost too much."}
    answer = engineer.post("/console/model-cards/new", bad, csrf_of(blank.text))
    assert answer.status_code == 400
    assert "at $.model_overview.model_version: 0 is less than the minimum of 1" in html.unescape(answer.text)
    marked = re.search(r'<input id="f-model_overview-model_version" [^>]*>', answer.text)[0]
    assert 'aria-invalid="true"' in marked and 'value="0"' in marked  # marked, and as typed
    assert "Chargebacks cost too much." in answer.text and 'value="fraud-v1"' in answer.text  # kept as typed
    named = engineer.post("/console/model-cards/new", {**form, "ModelCardName": "no spaces"}, csrf_of(blank.text))
    assert named.status_code == 400 and "modelCardName" in named.text

    good = {**bad, "content.model_overview.model_version": "3",
            "content.model_overview.model_artifact": "s3://models/fraud/model.tar.gz\r\ns3://models/fraud/extra.tar.gz",
            "content.intended_uses.risk_rating": "Medium",
            "content.additional_information.custom_details": "review_board: Fraud desk"}
    created = engineer.post("/console/model-cards/new", good, csrf_of(blank.text))
    assert created.status_code == 303 and created.headers["location"] == "/console/model-cards/fraud-v1"
    card = sm.describe_model_card(ModelCardName="fraud-v1")
    assert (card["ModelCardVersion"], card["ModelCardStatus"]) == (1, "Draft")
    assert json.loads(card["Content"]) == {
        "model_overview": {"model_version": 3,
                           "model_artifact": ["s3://models/fraud/model.tar.gz", "s3://models/fraud/extra.tar.gz"]},
        "intended_uses": {"risk_rating": "Medium"},
        "business_details": {"business_problem": "Chargebacks cost too much."},
        "additional_information": {"custom_details": {"review_board": "Fraud desk"}},
    }
    again = engineer.post("/console/model-cards/new", good, csrf_of(blank.text))
    assert again.status_code == 400 and "already exists" in again.text and "Choose another name." in again.text


def test_an_edit_is_version_2_and_the_diff_shows_the_change(server, sm, engineer):
    make_card(sm, "edited-v1")
    page = engineer.get("/console/model-cards/edited-v1/edit")
    assert page.status_code == 200 and "Save version 2" in page.text
    form = form_of(page.text)
    form["content.intended_uses.purpose_of_model"] = "Decide which applications get a second look."
    saved = engineer.post("/console/model-cards/edited-v1/edit", form, csrf_of(page.text))
    assert saved.status_code == 303 and saved.headers["location"] == "/console/model-cards/edited-v1?version=2"

    card = sm.describe_model_card(ModelCardName="edited-v1")
    assert card["ModelCardVersion"] == 2
    content = json.loads(card["Content"])
    assert content["intended_uses"]["purpose_of_model"] == "Decide which applications get a second look."
    # What the form did not touch is exactly as it was: the float, the metric groups, the map.
    expected = {**CONTENT, "intended_uses": {**CONTENT["intended_uses"],
                                             "purpose_of_model": "Decide which applications get a second look."}}
    assert content == expected and isinstance(content["model_overview"]["model_version"], float)

    unchanged = engineer.post("/console/model-cards/edited-v1/edit", form_of(engineer.get(
        "/console/model-cards/edited-v1/edit").text), csrf_of(page.text))
    assert unchanged.status_code == 303
    assert sm.describe_model_card(ModelCardName="edited-v1")["ModelCardVersion"] == 2  # no empty version
    stale = engineer.post("/console/model-cards/edited-v1/edit", {**form, "base_version": "1"}, csrf_of(page.text))
    assert stale.status_code == 409 and "someone saved version 2" in stale.text

    versions = engineer.get("/console/model-cards/edited-v1/versions")
    assert "Content edited (1 field)" in versions.text and "Created as Draft" in versions.text
    diff = engineer.get("/console/model-cards/edited-v1/diff?a=1&b=2")
    assert diff.status_code == 200
    row = re.search(r'<tr class="mc-changed">(.*?)</tr>', diff.text, re.DOTALL)[1]
    assert "Intended uses › Purpose of the model" in row
    assert "Decide which applications <del>go to manual underwriting.</del>" in row
    assert "Decide which applications <ins>get a second look.</ins>" in row
    assert len(re.findall(r'<tr class="mc-', diff.text)) == 1  # only the field that changed


def test_status_moves_and_an_archived_card_is_read_only(server, sm, engineer):
    make_card(sm, "reviewed-v1")
    card = engineer.get("/console/model-cards/reviewed-v1")
    token = csrf_of(card.text)
    assert 'value="PendingReview"' in card.text and ">Submit for review<" in card.text
    for status in ("PendingReview", "Approved"):
        moved = engineer.post("/console/model-cards/reviewed-v1/status", {"status": status}, token)
        assert moved.status_code == 303
    assert sm.describe_model_card(ModelCardName="reviewed-v1")["ModelCardStatus"] == "Approved"

    asked = engineer.post("/console/model-cards/reviewed-v1/status", {"status": "Archived"}, token)
    assert asked.headers["location"] == "/console/model-cards/reviewed-v1/archive"  # confirm first
    assert sm.describe_model_card(ModelCardName="reviewed-v1")["ModelCardStatus"] == "Approved"
    confirm = engineer.get(asked.headers["location"])
    assert "neither its content nor its status can change again" in confirm.text
    done = engineer.post("/console/model-cards/reviewed-v1/status", {"status": "Archived", "confirm": "archive"}, token)
    assert done.status_code == 303
    described = sm.describe_model_card(ModelCardName="reviewed-v1")
    assert (described["ModelCardStatus"], described["ModelCardVersion"]) == ("Archived", 4)

    archived = engineer.get("/console/model-cards/reviewed-v1")
    assert "This card is archived" in archived.text
    assert 'href="/console/model-cards/reviewed-v1/edit"' not in archived.text and 'name="status"' not in archived.text
    edit = engineer.get("/console/model-cards/reviewed-v1/edit")
    assert "accepts no more changes" in edit.text and 'class="form mc-form"' not in edit.text
    forced = engineer.post("/console/model-cards/reviewed-v1/edit",
                           {"content.intended_uses.risk_rating": "Low"}, token)
    assert forced.status_code == 400 and "Model Card is in Archived state" in forced.text
    assert sm.describe_model_card(ModelCardName="reviewed-v1")["ModelCardVersion"] == 4


def test_export_to_pdf_and_download_it(server, sm, engineer):
    make_card(sm, "exported-v1", status="Approved")
    page = engineer.get("/console/model-cards/exported-v1/exports")
    assert "No exports yet" in page.text
    started = engineer.post("/console/model-cards/exported-v1/exports", {"version": "1"}, csrf_of(page.text))
    assert started.status_code == 303
    job_page = engineer.get(started.headers["location"])
    assert job_page.status_code == 200 and 'hx-trigger="every 2s"' in job_page.text or "Completed" in job_page.text

    deadline = time.monotonic() + 90
    while True:  # what htmx does every 2 s: the status fragment, until the export ends
        fragment = engineer.get(started.headers["location"], headers={"HX-Request": "true"})
        assert fragment.status_code == 200 and "<html" not in fragment.text
        if "hx-trigger" not in fragment.text or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert '<span class="badge good">Completed</span>' in fragment.text, fragment.text
    link = re.search(r'href="([^"]+/pdf)"', fragment.text)[1]
    pdf = engineer.get(link)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-"), text_of(pdf.text)[-1500:]
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"] == 'attachment; filename="exported-v1-v1.pdf"'
    assert "Completed" in engineer.get("/console/model-cards/exported-v1/exports").text


def test_a_persona_that_may_not_update_sees_no_edit_and_is_refused(server, sm, engineer):
    make_card(sm, "audited-v1")
    auditor = Browser(server.endpoint)
    assert auditor.sign_in(person(server, "auditor")).status_code == 303
    card = auditor.get("/console/model-cards/audited-v1")
    assert card.status_code == 200 and "Purpose of the model" in card.text  # reads it
    assert "/edit" not in card.text and 'name="status"' not in card.text and "/delete" not in card.text
    assert 'href="/console/model-cards/new"' not in auditor.get("/console/model-cards").text
    assert "do not include sagemaker:CreateModelCard" in auditor.get("/console/model-cards/new").text

    token = csrf_of(card.text)
    edit = auditor.post("/console/model-cards/audited-v1/edit", {"content.intended_uses.risk_rating": "Low"}, token)
    # The API's refusal, as a page (SageMaker answers AccessDeniedException with HTTP 400).
    assert "You do not have permission to do that" in edit.text and "sagemaker:UpdateModelCard" in edit.text
    status = auditor.post("/console/model-cards/audited-v1/status", {"status": "Approved"}, token)
    assert "You do not have permission to do that" in status.text
    assert sm.describe_model_card(ModelCardName="audited-v1")["ModelCardVersion"] == 1

    # The engineer deletes it, after the confirmation page.
    confirm = engineer.get("/console/model-cards/audited-v1/delete")
    assert "cannot be undone" in confirm.text
    deleted = engineer.post("/console/model-cards/audited-v1/delete", {}, csrf_of(confirm.text))
    assert deleted.status_code == 303 and deleted.headers["location"] == "/console/model-cards"
    assert "Model card audited-v1 was deleted" in engineer.get("/console/model-cards").text
    assert "audited-v1" not in [c["ModelCardName"] for c in sm.list_model_cards()["ModelCardSummaries"]]
