"""Role Manager in Chromium: the wizard makes a user who signs in, within its persona; a permission explained."""

from __future__ import annotations

import re

from browser_support import assert_accessible, shot, sign_in, unique

NEW_PASSWORD = "Wiz4rd-made!"


def test_create_a_user_with_the_wizard_and_sign_in_as_that_user(page, console):
    sign_in(page, console, console.admin())
    page.goto(console.url + "/role-manager")
    assert_accessible(page)
    page.get_by_role("link", name="Create user or role").click()

    # 1: a persona.
    page.get_by_role("heading", name="Create a user or role").wait_for()
    assert_accessible(page)
    page.get_by_label("Data Scientist").check()
    page.get_by_role("button", name="Next: ML activities").click()

    # 2: the persona's activities, one taken away.
    tagging = page.get_by_label("Tagging")
    tagging.wait_for()
    assert page.get_by_label("Manage ML Jobs").is_checked() and tagging.is_checked()
    assert not page.get_by_label("Approve models").is_checked()
    assert_accessible(page)
    tagging.uncheck()
    page.get_by_role("button", name="Next: artifact access").click()

    # 3: where its data is; Back keeps what was chosen.
    scopes = page.get_by_label("Buckets and prefixes")
    scopes.fill("team-data/datasets/")
    assert_accessible(page)
    page.get_by_role("button", name="Back").click()
    assert not page.get_by_label("Tagging").is_checked()
    page.get_by_role("button", name="Next: artifact access").click()
    assert page.get_by_label("Buckets and prefixes").input_value() == "team-data/datasets/"
    page.get_by_role("button", name="Next: review").click()

    # 4: the policy previewed; a user with a password and a key.
    preview = page.locator("details.rm-policy[open] pre")
    assert "arn:aws:s3:::team-data/datasets/*" in preview.inner_text()
    assert "sagemaker:AddTags" not in preview.inner_text()
    name = unique("dana")
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Console password (optional)").fill(NEW_PASSWORD)
    assert_accessible(page)
    shot(page, "role-manager-wizard-review")
    page.get_by_role("button", name="Create").click()

    page.get_by_role("heading", name=f"User {name} is ready").wait_for()
    secret = page.locator("#secret-access-key").inner_text()
    assert len(secret) >= 30 and page.get_by_text("This is the only time the secret access key is shown").is_visible()
    assert_accessible(page)
    shot(page, "role-manager-created")

    # What it may do, explained; then the list, with the new user and its persona.
    page.get_by_role("link", name=f"See what {name} may do").click()
    row = page.get_by_role("row").filter(has_text="Read objects under s3://team-data/datasets/")
    assert "Allowed by statement ArtifactAccessObjects" in row.inner_text()
    assert secret not in page.content()
    assert_accessible(page)
    shot(page, "role-manager-identity")
    page.get_by_role("link", name="Role Manager", exact=True).first.click()
    page.wait_for_url("**/console/role-manager")
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=name))
    assert "data-scientist" in row.inner_text() and "(activities changed)" in row.inner_text()
    assert secret not in page.content()
    shot(page, "role-manager-list")

    # The new user signs in, opens what its persona allows, and is refused what it does not.
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/sign-in?signed-out=1")
    sign_in(page, console, name, NEW_PASSWORD)
    assert page.get_by_role("heading", name=f"Welcome, {name}").is_visible()
    answer = page.goto(console.url + "/role-manager")
    assert answer.status == 403
    assert page.get_by_role("heading", name="You do not have access to Role Manager").is_visible()
    assert page.get_by_text("iam:ListRoles").first.is_visible()
    assert_accessible(page)
    shot(page, "role-manager-denied-data-scientist")
    page.problems[:] = [p for p in page.problems if not p.endswith(("/console/role-manager", "/console/role-manager)"))]
    assert not page.problems, page.problems


def test_an_identity_explained_on_a_narrow_screen(browser, console):
    scientist = console.make_user("data-scientist")
    context = browser.new_context(viewport={"width": 390, "height": 844}, color_scheme="dark")
    narrow = context.new_page()
    try:
        sign_in(narrow, console, console.admin())
        narrow.goto(f"{console.url}/role-manager/user/{scientist}")
        row = narrow.get_by_role("row", name=re.compile("Approve or reject a model version"))
        assert "no statement of the attached policies allows it" in row.inner_text()
        row = narrow.get_by_role("row", name=re.compile("Start a training job"))
        assert f"Allowed by statement RunJobs of policy charter-persona-user-{scientist}" in row.inner_text()
        narrow.get_by_label("Action", exact=True).fill("sagemaker:CreateModelCard")
        narrow.get_by_label("Resource", exact=True).fill("arn:aws:sagemaker:us-east-1:123456789012:model-card/churn")
        narrow.get_by_role("button", name="Explain").click()
        narrow.locator("#asked").wait_for()
        assert "Allowed by statement ManageModelCards" in narrow.locator("#asked").inner_text()
        width = narrow.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 390, f"the identity page scrolls sideways at 390 px ({width} px wide)"
        assert_accessible(narrow)
        shot(narrow, "role-manager-identity-390px-dark")
        narrow.goto(console.url + "/role-manager/new")
        narrow.get_by_label("MLOps").check()
        narrow.get_by_role("button", name="Next: ML activities").click()
        narrow.get_by_label("Approve models").wait_for()
        width = narrow.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 390, f"the wizard scrolls sideways at 390 px ({width} px wide)"
        shot(narrow, "role-manager-wizard-390px-dark")
    finally:
        context.close()
