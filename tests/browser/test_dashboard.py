"""The Model Dashboard in Chromium: search as you type and filters update the table in place."""

from __future__ import annotations

import json

from browser_support import assert_accessible, shot, sign_in, unique

SPEC = {"Containers": [{"Image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"}],
        "SupportedContentTypes": ["text/csv"], "SupportedResponseMIMETypes": ["text/csv"]}


def registry(console, token: str) -> None:
    """Three groups named after ``token``: approved and high risk, pending and medium risk, nothing yet."""
    sm = console.client()
    for suffix, status, risk in (("credit", "Approved", "High"), ("churn", "PendingManualApproval", "Medium"),
                                 ("fraud", None, None)):
        group = f"{token}-{suffix}"
        sm.create_model_package_group(ModelPackageGroupName=group, ModelPackageGroupDescription=f"The {suffix} model")
        if status is None:
            continue
        arn = sm.create_model_package(ModelPackageGroupName=group, InferenceSpecification=SPEC,
                                      ModelApprovalStatus=status)["ModelPackageArn"]
        sm.create_model_card(ModelCardName=f"{group}-card", ModelCardStatus="Draft", Content=json.dumps({
            "intended_uses": {"risk_rating": risk}, "model_package_details": {"model_package_arn": arn}}))


def names(page) -> list[str]:
    return page.locator("table.md-table tbody td.md-name > a").all_inner_texts()


def test_search_and_filters_update_the_table_in_place(page, console):
    token = unique("dash")
    registry(console, token)
    sign_in(page, console, console.admin(), next_path="/console/model-dashboard")
    assert page.get_by_role("heading", name="Model Dashboard", level=1).is_visible()
    assert_accessible(page)
    page.evaluate("() => { window.stayedOnThePage = true; }")  # gone if the page were loaded again

    page.get_by_label("Search by name").press_sequentially(token[:8], delay=20)
    page.wait_for_function("() => window.location.search.includes('q=')")
    page.get_by_label("Search by name").fill(token)
    page.wait_for_function(f"() => document.querySelectorAll('td.md-name > a').length === 3 && "
                           f"[...document.querySelectorAll('td.md-name > a')].every(a => a.textContent.startsWith('{token}'))")
    assert sorted(names(page)) == [f"{token}-churn", f"{token}-credit", f"{token}-fraud"]
    assert page.get_by_role("status").filter(has_text="Showing 1–3 of 3 models that match").is_visible()

    page.get_by_label("Risk rating").select_option("High")
    page.wait_for_function("() => document.querySelectorAll('td.md-name > a').length === 1")
    assert names(page) == [f"{token}-credit"]
    assert "risk=High" in page.url and f"q={token}" in page.url  # the URL holds the filters
    assert page.evaluate("() => window.stayedOnThePage === true")

    page.get_by_label("Risk rating").select_option("")
    page.get_by_label("Approval of newest version").select_option("none")
    page.wait_for_function("() => document.querySelectorAll('td.md-name > a').length === 1 && "
                           "document.querySelector('td.md-name > a').textContent.endsWith('-fraud')")

    page.get_by_label("Approval of newest version").select_option("")
    page.wait_for_function("() => document.querySelectorAll('td.md-name > a').length === 3")
    page.get_by_role("link", name="Name (sort ascending)").click()
    page.wait_for_function("() => document.querySelector('th[aria-sort]')?.getAttribute('aria-sort') === 'ascending'")
    assert names(page) == [f"{token}-churn", f"{token}-credit", f"{token}-fraud"]
    page.get_by_role("link", name="Name (sort descending)").click()
    page.wait_for_function("() => document.querySelector('th[aria-sort]')?.getAttribute('aria-sort') === 'descending'")
    assert names(page) == [f"{token}-fraud", f"{token}-credit", f"{token}-churn"]
    # A new search keeps the sort chosen from the header.
    page.get_by_label("Search by name").fill(f"{token}-c")
    page.wait_for_function("() => document.querySelectorAll('td.md-name > a').length === 2")
    assert names(page) == [f"{token}-credit", f"{token}-churn"] and "order=desc" in page.url
    assert page.evaluate("() => window.stayedOnThePage === true")
    assert_accessible(page)
    shot(page, "dashboard-filtered")

    page.get_by_label("Search by name").fill(f"{token}-nothing-like-this")
    page.get_by_role("heading", name="No models match").wait_for()
    assert_accessible(page)

    page.goto(f"{console.url}/model-dashboard?q={token}&sort=name")  # a bookmarked view, loaded afresh
    assert names(page) == [f"{token}-churn", f"{token}-credit", f"{token}-fraud"]
    assert page.get_by_label("Search by name").input_value() == token
    assert not page.problems, page.problems


def test_at_390_px(browser, console):
    context = browser.new_context(viewport={"width": 390, "height": 844}, color_scheme="dark")
    narrow = context.new_page()
    try:
        registry(console, unique("narrow"))
        sign_in(narrow, console, console.admin(), next_path="/console/model-dashboard")
        narrow.locator("table.md-table").wait_for()
        width = narrow.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 390, f"the dashboard scrolls sideways at 390 px ({width} px wide)"
        shot(narrow, "dashboard-390px-dark")
        assert_accessible(narrow)
    finally:
        context.close()
