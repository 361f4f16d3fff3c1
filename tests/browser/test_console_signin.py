"""Signing in to the console in Chromium: the form, a wrong password, a CSRF-less post, the frame's accessibility."""

from __future__ import annotations

from browser_support import PASSWORD, assert_accessible, shot, sign_in


def test_sign_in_and_out(page, console):
    user = console.make_user("data-scientist")
    page.goto(console.url + "/")
    assert "/console/sign-in" in page.url  # sent to sign in first
    assert_accessible(page)
    sign_in(page, console, user)
    assert page.get_by_role("heading", name=f"Welcome, {user}").is_visible()
    assert page.get_by_text(f"Signed in as {user}").is_visible()
    assert_accessible(page)
    shot(page, "home-data-scientist")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/sign-in?signed-out=1")
    assert page.get_by_text("You have signed out.").is_visible()
    assert not page.problems, page.problems


def test_wrong_password_is_refused(page, console):
    user = console.make_user("data-scientist")
    page.goto(console.url + "/sign-in")
    page.get_by_label("IAM user name").fill(user)
    page.get_by_label("Password").fill(PASSWORD + "x")
    page.get_by_role("button", name="Sign in").click()
    alert = page.get_by_role("alert")
    assert "The user name or password is incorrect." in alert.inner_text()
    assert "/sign-in" in page.url
    assert page.get_by_label("IAM user name").input_value() == user  # the name stays, the password does not
    assert page.get_by_label("Password").input_value() == ""
    assert_accessible(page)


def test_a_form_without_its_token_is_refused(page, console):
    user = console.make_user("data-scientist")
    sign_in(page, console, user)
    # A page on another site posting to the console carries no CSRF token of this session.
    answer = page.request.post(console.url + "/sign-out", form={"csrf_token": "forged"})
    assert answer.status == 403
    assert "This form could not be accepted" in answer.text()
    page.reload()
    assert page.get_by_text(f"Signed in as {user}").is_visible()  # still signed in: nothing was done


def test_narrow_screen(browser, console):
    context = browser.new_context(viewport={"width": 390, "height": 844}, color_scheme="dark")
    narrow = context.new_page()
    try:
        sign_in(narrow, console, console.make_user("data-scientist"))
        width = narrow.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 390, f"the page scrolls sideways at 390 px ({width} px wide)"
        shot(narrow, "home-390px-dark")
        assert_accessible(narrow)
    finally:
        context.close()


def test_a_user_who_must_reset_chooses_a_new_password(page, console):
    user = console.make_user("data-scientist")
    console.cli("iam", "set-password", user, "--password-stdin", "--reset-required", stdin=f"{PASSWORD}\n")
    page.goto(console.url + "/sign-in")
    page.get_by_label("IAM user name").fill(user)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Change password").wait_for()
    assert "you must choose a new one" in page.get_by_role("status").inner_text()
    assert_accessible(page)
    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_label("New password", exact=True).fill("Fresh-st4rt!")
    page.get_by_label("New password again").fill("Fresh-st4rt!")
    page.get_by_role("button", name="Change password").click()
    page.wait_for_url(lambda url: "/change-password" not in url)
    assert page.get_by_text("Your password has been changed.").is_visible()
    assert page.get_by_text(f"Signed in as {user}").is_visible()
    # The one error the browser saw is the sign-in's 403 that asked for a new password.
    assert all("/console/sign-in" in problem for problem in page.problems), page.problems
