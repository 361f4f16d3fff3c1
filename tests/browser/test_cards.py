"""Model cards in Chromium: read a card, edit it and see version 2 and the diff, move its status, export a PDF."""

from __future__ import annotations

import json
import re

from browser_support import assert_accessible, shot, sign_in, unique

BUCKET = "sagemaker-us-east-1-123456789012"  # where the console exports PDFs by default
CONTENT = {
    "model_overview": {"model_description": "Scores loan applications for manual underwriting.",
                       "model_owner": "Risk analytics", "problem_type": "Binary classification"},
    "intended_uses": {"purpose_of_model": "Decide which applications go to manual underwriting.",
                      "risk_rating": "High", "explanations_for_risk_rating": "Credit decisions are regulated."},
    "training_details": {"objective_function": {"function": {"function": "Maximize", "facet": "AUC"}}},
    "evaluation_details": [{"name": "Holdout evaluation", "metric_groups": [{"name": "Binary classification",
        "metric_data": [{"name": "auc", "type": "number", "value": 0.81},
                        {"name": "Confusion matrix", "type": "matrix", "value": [[120, 30], [25, 125]],
                         "x_axis_name": ["predicted good", "predicted bad"], "y_axis_name": ["good", "bad"]}]}]}],
}


def card(console, status: str = "Draft") -> str:
    name = unique("credit-risk")
    console.client().create_model_card(ModelCardName=name, Content=json.dumps(CONTENT), ModelCardStatus=status)
    return name


_ENGINEER: list[str] = []


def engineer(console) -> str:
    """One user for the module's tests, allowed SageMaker and S3 (each new user costs a password hash)."""
    if not _ENGINEER:
        _ENGINEER.append(console.make_user(None, {"Effect": "Allow", "Action": ["sagemaker:*", "s3:*"], "Resource": "*"}))
    return _ENGINEER[0]


def test_edit_a_card_and_see_the_new_version_and_the_diff(page, console):
    name = card(console)
    sign_in(page, console, engineer(console), next_path="/console/model-cards")
    page.get_by_label("Name contains").fill(name)
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url(f"**/model-cards?q={name}**")
    assert page.locator("table.mc-list tbody tr").count() == 1
    assert_accessible(page)
    shot(page, "model-cards-list")
    page.get_by_role("link", name=name).click()
    page.get_by_role("heading", name=name, level=1).wait_for()
    assert page.get_by_role("img", name="Confusion matrix: matrix").is_visible()
    assert_accessible(page)
    shot(page, "model-card-read")

    page.get_by_role("link", name="Edit", exact=True).click()
    purpose = page.get_by_label("Purpose of the model", exact=True)
    assert purpose.input_value() == CONTENT["intended_uses"]["purpose_of_model"]
    assert page.get_by_label("Risk rating", exact=True).input_value() == "High"
    assert_accessible(page)
    purpose.fill("Decide which applications get a second look.")
    page.get_by_label("Risk rating", exact=True).select_option("Medium")
    page.get_by_role("button", name="Save version 2").click()
    page.get_by_text("Saved as version 2").wait_for()
    assert page.get_by_text("Decide which applications get a second look.").is_visible()

    page.get_by_role("link", name="Versions").click()
    page.get_by_role("cell", name="Content edited (2 fields)").wait_for()
    assert_accessible(page)
    page.get_by_role("link", name="Show changes in version 2").click()
    page.get_by_role("heading", name="Version 1 and version 2").wait_for()
    changed = page.locator("tr.mc-changed", has_text="Purpose of the model")
    assert changed.locator("del").all_inner_texts() == ["go to manual underwriting."]
    assert changed.locator("ins").all_inner_texts() == ["get a second look."]
    assert page.locator("tr.mc-changed", has_text="Risk rating").locator("ins").inner_text() == "Medium"
    assert_accessible(page)
    shot(page, "model-card-diff")
    assert not page.problems, page.problems


def test_review_status_moves_and_archiving_asks_first(page, console):
    name = card(console)
    sign_in(page, console, engineer(console), next_path=f"/console/model-cards/{name}")
    page.get_by_role("button", name="Submit for review").click()
    page.get_by_text("The card is now Pending review.").wait_for()
    page.get_by_role("button", name="Approve").click()
    page.get_by_text("The card is now Approved.").wait_for()
    page.get_by_role("button", name="Archive…").click()
    page.get_by_role("heading", name=f"Archive {name}?").wait_for()
    assert_accessible(page)
    shot(page, "model-card-archive-confirm")
    page.get_by_role("button", name="Archive the card").click()
    page.get_by_text("accepts no more changes").first.wait_for()
    assert page.get_by_role("link", name="Edit", exact=True).count() == 0
    assert page.get_by_role("button", name="Return to draft").count() == 0
    assert console.client().describe_model_card(ModelCardName=name)["ModelCardStatus"] == "Archived"
    page.get_by_role("link", name="Delete").click()
    page.get_by_role("heading", name=f"Delete {name}?").wait_for()
    assert_accessible(page, dark=False)
    page.get_by_role("button", name="Delete the card").click()
    page.get_by_text(f"Model card {name} was deleted").wait_for()
    assert not page.problems, page.problems


def test_export_a_pdf_and_download_it(page, console):
    name = card(console, "Approved")
    sign_in(page, console, engineer(console), next_path=f"/console/model-cards/{name}")
    page.get_by_role("link", name="Export PDF").click()
    assert page.get_by_label("S3 output path").input_value() == f"s3://{BUCKET}/model-cards"
    assert_accessible(page)
    page.get_by_role("button", name="Export PDF").click()
    download_link = page.get_by_role("link", name="Download PDF")
    download_link.wait_for(timeout=60_000)  # the status polls every 2 s until the export completes
    with page.expect_download() as started:
        download_link.click()
    download = started.value
    assert re.fullmatch(rf"{name}-v1\.pdf", download.suggested_filename)
    with open(download.path(), "rb") as pdf:
        assert pdf.read(5) == b"%PDF-"
    assert_accessible(page)
    shot(page, "model-card-export")
    assert not page.problems, page.problems


def test_a_card_at_390_px(browser, console):
    name = card(console)
    context = browser.new_context(viewport={"width": 390, "height": 844}, color_scheme="dark")
    narrow = context.new_page()
    try:
        sign_in(narrow, console, engineer(console), next_path=f"/console/model-cards/{name}")
        for path in ("/edit", "/versions", ""):
            narrow.goto(f"{console.url}/model-cards/{name}{path}")
            width = narrow.evaluate("() => document.documentElement.scrollWidth")
            assert width <= 390, f"{path or 'the card'} scrolls sideways at 390 px ({width} px wide)"
        assert_accessible(narrow)  # the card; the editor is checked at 1280 px (axe does not depend on width)
        shot(narrow, "model-card-390px-dark")
    finally:
        context.close()
