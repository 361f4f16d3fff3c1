"""The web console's frame: sign-in, sessions, CSRF, throttling, pages authorized and audited as the user.

A browser is an ``httpx.Client`` with a cookie jar against a real server (no
JavaScript yet: the Chromium tests come with the pages).  Each test that fails
sign-ins does it from a loopback address of its own (127.0.0.x), so the
per-address throttle of one test does not reach another.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import uuid

import httpx
import pytest
import sqlalchemy as sa

from charter.iam.passwords import scrypt_hash
from conftest import REGION, start_server, stop_server

ACCOUNT = "123456789012"
PASSWORD = "Corr3ct-horse!"
PER_USER, PER_ADDRESS, WINDOW = 3, 5, 6


@pytest.fixture(scope="module")
def server(tmp_path_factory, database_url_factory):
    """A server of its own, with a small throttle: 3 failures per user, 5 per address, within 6 seconds."""
    started = start_server(
        tmp_path_factory.mktemp("console-home"),
        database_url_factory(),
        {
            "CHARTER_CONSOLE_SIGNIN_FAILURES_PER_USER": str(PER_USER),
            "CHARTER_CONSOLE_SIGNIN_FAILURES_PER_ADDRESS": str(PER_ADDRESS),
            "CHARTER_CONSOLE_SIGNIN_WINDOW_SECONDS": str(WINDOW),
        },
    )
    yield started
    stop_server(started)


@pytest.fixture(scope="module")
def iam(server):
    return server.client(service="iam")


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def make_user(iam, *statements: dict, password: str = PASSWORD) -> str:
    """An IAM user with a console password (CreateLoginProfile) and one policy of ``statements``."""
    name = unique("person")
    iam.create_user(UserName=name)
    if statements:
        arn = iam.create_policy(
            PolicyName=f"{name}-policy", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": list(statements)})
        )["Policy"]["Arn"]
        iam.attach_user_policy(UserName=name, PolicyArn=arn)
    iam.create_login_profile(UserName=name, Password=password)
    return name


READ_SAGEMAKER = {"Effect": "Allow", "Action": ["sagemaker:List*", "sagemaker:Describe*"], "Resource": "*"}


class Browser:
    """A person's browser: cookies, forms with their CSRF token, from one client address."""

    def __init__(self, endpoint: str, address: str = "127.0.0.1"):
        self.client = httpx.Client(
            base_url=endpoint,
            transport=httpx.HTTPTransport(local_address=address),
            headers={"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
                     "User-Agent": "console-test-browser"},
            timeout=30,
        )

    def get(self, path: str, **kwargs) -> httpx.Response:
        return self.client.get(path, **kwargs)

    def token(self, path: str = "/console/sign-in") -> str:
        return csrf_of(self.get(path).text)

    def post(self, path: str, data: dict, token: str | None = None) -> httpx.Response:
        return self.client.post(path, data={"csrf_token": token if token is not None else self.token(), **data})

    def sign_in(self, user: str, password: str = PASSWORD, next_path: str | None = None) -> httpx.Response:
        data = {"user_name": user, "password": password}
        if next_path:
            data["next"] = next_path
        return self.post("/console/sign-in", data)


def set_password(server, user: str, password: str) -> subprocess.CompletedProcess:
    """``charter iam set-password USER --password-stdin``, the password on standard input."""
    return subprocess.run(
        [sys.executable, "-m", "charter.cli.main", "iam", "set-password", user, "--password-stdin"],
        input=f"{password}\n", env=server.env, capture_output=True, text=True, timeout=120,
    )


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page)[1]


def alert_of(page: str) -> str:
    found = re.search(r'<div class="alert" role="alert"[^>]*>(.*?)</div>', page, re.S)
    return re.sub(r"<[^>]+>", " ", found[1]) if found else ""


def nav_of(page: str) -> str:
    return re.search(r'<nav class="sidenav" aria-label="Console">(.*?)</nav>', page, re.S)[1]


def audit_rows(server, user: str, want: int, timeout: float = 10.0) -> list[dict]:
    """The console's audit rows of ``user``, once there are ``want`` (rows are written within a second)."""
    deadline = time.monotonic() + timeout
    while True:
        lines = server.cli("audit", "tail", "--source", "console", "--user", user, "--json", "--limit", "100").stdout
        rows = [json.loads(line) for line in lines.splitlines()]
        if len(rows) >= want or time.monotonic() > deadline:
            return rows
        time.sleep(0.3)


# --- the root and the frame ---------------------------------------------------------------------


def test_a_browser_at_the_root_goes_to_the_console_and_the_api_still_answers_there(server):
    browser = Browser(server.endpoint)
    answer = browser.get("/")
    assert answer.status_code == 302 and answer.headers["location"] == "/console/"
    assert browser.get("/console/").headers["location"] == "/console/sign-in"  # not signed in yet
    assert browser.get("/console").status_code in (307, 308)  # the trailing slash

    # A script (no text/html) still gets the landing document, naming the console.
    document = httpx.get(f"{server.endpoint}/").json()
    assert document["service"] == "Charter" and document["console"] == f"{server.endpoint}/console/"
    # Signed requests at / are the API's, as before.
    sm = server.client()
    assert "ModelPackageGroupSummaryList" in sm.list_model_package_groups()
    assert server.client(service="sts").get_caller_identity()["Account"] == ACCOUNT
    # A signed request under /console is S3's: a bucket named "console".
    s3 = server.client(service="s3")
    s3.create_bucket(Bucket="console")
    s3.put_object(Bucket="console", Key="sign-in", Body=b"an object, not a page")
    assert s3.get_object(Bucket="console", Key="sign-in")["Body"].read() == b"an object, not a page"


def test_the_sign_in_page_is_an_accessible_frame_with_its_own_assets(server):
    browser = Browser(server.endpoint)
    page = browser.get("/console/sign-in")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    assert '<html lang="en">' in html and 'name="viewport"' in html
    assert '<a class="skip-link" href="#main">' in html and '<main id="main" tabindex="-1">' in html
    assert '<label for="user_name">' in html and 'autocomplete="current-password"' in html
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store" and page.headers["x-frame-options"] == "DENY"

    css = browser.get("/console/static/console.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    for rule in ("prefers-color-scheme: dark", ":focus-visible", "max-width: 48rem", ".skip-link:focus"):
        assert rule in css.text
    htmx = browser.get("/console/static/htmx.min.js")
    assert htmx.status_code == 200 and 'version:"2.0.11"' in htmx.text


# --- signing in ------------------------------------------------------------------------------------


def test_signing_in_with_the_right_password_shows_the_navigation(server, iam):
    user = make_user(iam, READ_SAGEMAKER)
    browser = Browser(server.endpoint)
    answer = browser.sign_in(user)
    assert answer.status_code == 303 and answer.headers["location"] == "/console/"

    home = browser.get("/console/")
    assert home.status_code == 200
    assert f"Signed in as <b>{user}</b>" in home.text
    nav = nav_of(home.text)
    for heading in ("Governance", "Training"):
        assert f">{heading}</h2>" in nav
    for title in ("Model Dashboard", "Model registry", "Model cards", "Role Manager", "Training jobs",
                  "Processing jobs", "Audit log", "Artifacts"):
        assert f">{title}" in nav
    # Pages the user's policy does not allow are marked; the others are not.
    assert 'href="/console/role-manager" class="no-access"' in nav
    assert 'href="/console/model-dashboard">' in nav

    dashboard = browser.get("/console/model-dashboard")
    assert dashboard.status_code == 200
    assert "Model Dashboard</h1>" in dashboard.text and "Coming to the console" not in dashboard.text
    assert 'href="/console/model-dashboard" aria-current="page"' in dashboard.text
    assert browser.get("/console/no-such-page").status_code == 404


def test_a_page_asked_for_before_signing_in_is_where_the_sign_in_leads(server, iam):
    user = make_user(iam, READ_SAGEMAKER)
    browser = Browser(server.endpoint)
    redirected = browser.get("/console/training-jobs")
    assert redirected.status_code == 303
    assert redirected.headers["location"] == "/console/sign-in?next=%2Fconsole%2Ftraining-jobs"
    form = browser.get(redirected.headers["location"]).text
    assert 'name="next" value="/console/training-jobs"' in form
    assert browser.sign_in(user, next_path="/console/training-jobs").headers["location"] == "/console/training-jobs"
    # Never to another site.
    other = Browser(server.endpoint)
    assert other.sign_in(user, next_path="//evil.example/console/").headers["location"] == "/console/"


def test_the_session_cookie_is_signed_http_only_and_lax_and_expires(server, iam):
    user = make_user(iam, READ_SAGEMAKER)
    browser = Browser(server.endpoint)
    answer = browser.sign_in(user)
    cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith("charter_session="))
    flags = [part.strip().lower() for part in cookie.split(";")]
    assert "httponly" in flags and "samesite=lax" in flags and "path=/console" in flags
    assert "max-age=43200" in flags  # 12 hours, the default
    assert "secure" not in flags  # plain HTTP here: a Secure cookie would never come back

    value = cookie.split(";", 1)[0].split("=", 1)[1]
    version, claims, mac = value.split(".")
    tampered = ".".join([version, claims, ("A" if mac[0] != "A" else "B") + mac[1:]])
    forged = Browser(server.endpoint)
    forged.client.cookies.set("charter_session", tampered, path="/console")
    assert forged.get("/console/").status_code == 303


def test_a_secure_cookie_when_the_console_is_reached_over_tls(server, iam):
    user = make_user(iam, READ_SAGEMAKER)
    # Behind a TLS-terminating proxy (uvicorn takes X-Forwarded-Proto from loopback). The client here
    # speaks plain HTTP to it, so it would not send Secure cookies back: they go by hand.
    proxied = {"X-Forwarded-Proto": "https"}
    form = httpx.get(f"{server.endpoint}/console/sign-in", headers=proxied)
    presession = form.headers["set-cookie"]
    assert "secure" in [part.strip().lower() for part in presession.split(";")]
    answer = httpx.post(
        f"{server.endpoint}/console/sign-in",
        data={"csrf_token": csrf_of(form.text), "user_name": user, "password": PASSWORD},
        headers={**proxied, "Cookie": presession.split(";", 1)[0]},
    )
    assert answer.status_code == 303
    cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith("charter_session="))
    assert "secure" in [part.strip().lower() for part in cookie.split(";")]


def test_a_wrong_password_is_refused_with_a_message(server, iam):
    user = make_user(iam, READ_SAGEMAKER)
    browser = Browser(server.endpoint, "127.0.0.11")
    answer = browser.sign_in(user, "Wrong-horse-1")
    assert answer.status_code == 401
    assert "The user name or password is incorrect." in alert_of(answer.text)
    assert "charter_session" not in answer.headers.get("set-cookie", "")
    assert f'value="{user}"' in answer.text  # the name stays filled in
    # An unknown user gets the very same answer.
    unknown = browser.sign_in(unique("nobody"), "Wrong-horse-1")
    assert unknown.status_code == 401 and "The user name or password is incorrect." in alert_of(unknown.text)
    assert browser.get("/console/").status_code == 303


def test_failed_sign_ins_are_throttled_per_user_until_the_window_passes(server, iam):
    user = make_user(iam, READ_SAGEMAKER)
    browser = Browser(server.endpoint, "127.0.0.12")
    for attempt in range(1, PER_USER + 1):
        answer = browser.sign_in(user, f"Wrong-horse-{attempt}")
        assert answer.status_code == 401
    assert "sign-in is paused until" in alert_of(answer.text)  # the failure that filled the count says so

    throttled = browser.sign_in(user)  # the right password, refused unchecked
    assert throttled.status_code == 429
    message = alert_of(throttled.text)
    assert "Too many failed sign-ins for this user name" in message
    assert re.search(r"Try again after \d\d:\d\d:\d\d UTC \(in \d+ seconds\)", message)
    retry_after = int(throttled.headers["Retry-After"])
    assert 0 < retry_after <= WINDOW

    # The count is the user's, wherever the tries come from; another user from the same address is fine.
    elsewhere = Browser(server.endpoint, "127.0.0.13")
    assert elsewhere.sign_in(user).status_code == 429
    assert Browser(server.endpoint, "127.0.0.12").sign_in(make_user(iam, READ_SAGEMAKER)).status_code == 303

    time.sleep(retry_after + 0.5)
    assert browser.sign_in(user).status_code == 303


def test_failed_sign_ins_are_throttled_per_client_address(server, iam):
    user = make_user(iam, READ_SAGEMAKER)
    guesser = Browser(server.endpoint, "127.0.0.14")
    for _ in range(PER_ADDRESS):  # a different (unknown) name each time: no user count fills
        assert guesser.sign_in(unique("guess"), "Wrong-horse-1").status_code == 401
    throttled = guesser.sign_in(user)
    assert throttled.status_code == 429
    assert "Too many failed sign-ins for your network address" in alert_of(throttled.text)
    assert Browser(server.endpoint, "127.0.0.15").sign_in(user).status_code == 303


def test_set_password_on_the_cli_signs_in_and_ends_older_sessions(server, iam):
    user = make_user(iam, READ_SAGEMAKER)
    old = Browser(server.endpoint)
    assert old.sign_in(user).status_code == 303

    weak = set_password(server, user, "short")
    assert weak.returncode != 0 and "password policy" in weak.stderr
    result = set_password(server, user, "N3w-console-pass")
    assert result.returncode == 0 and "Set a new console password" in result.stdout, result.stderr

    ended = old.get("/console/")
    assert ended.status_code == 303 and "ended=1" in ended.headers["location"]
    browser = Browser(server.endpoint)
    assert browser.sign_in(user).status_code == 401
    assert browser.sign_in(user, "N3w-console-pass").status_code == 303


def test_a_user_who_must_reset_chooses_a_new_password_and_is_signed_in(server, iam):
    user = unique("resetter")
    iam.create_user(UserName=user)
    iam.create_login_profile(UserName=user, Password=PASSWORD, PasswordResetRequired=True)
    browser = Browser(server.endpoint, "127.0.0.31")
    answer = browser.sign_in(user, next_path="/console/model-cards")
    assert answer.status_code == 403  # the right password, but a new one first
    assert "you must choose a new one" in answer.text and 'action="/console/change-password"' in answer.text
    form = {"user_name": user, "password": PASSWORD, "next": "/console/model-cards"}
    token = csrf_of(answer.text)

    mismatch = browser.post("/console/change-password", {**form, "new_password": "N3w-password!",
                                                          "confirm_password": "N3w-password?"}, token)
    assert mismatch.status_code == 400 and "differ" in alert_of(mismatch.text)
    weak = browser.post("/console/change-password", {**form, "new_password": "short", "confirm_password": "short"},
                        token)
    assert weak.status_code == 400 and "at least 8 characters" in alert_of(weak.text)
    wrong = browser.post("/console/change-password", {**form, "password": "not-it", "new_password": "N3w-password!",
                                                       "confirm_password": "N3w-password!"}, token)
    assert wrong.status_code == 401 and "incorrect" in alert_of(wrong.text)

    changed = browser.post("/console/change-password", {**form, "new_password": "N3w-password!",
                                                         "confirm_password": "N3w-password!"}, token)
    assert changed.status_code == 303 and changed.headers["location"] == "/console/model-cards"
    home = browser.get("/console/")
    assert f"Signed in as <b>{user}</b>" in home.text and "Your password has been changed." in home.text
    assert "Your password has been changed." not in browser.get("/console/").text  # shown once
    # The old password no longer signs in; the new one does, with no reset asked.
    assert Browser(server.endpoint, "127.0.0.32").sign_in(user).status_code == 401
    assert Browser(server.endpoint, "127.0.0.33").sign_in(user, "N3w-password!").status_code == 303
    rows = audit_rows(server, user, 1)
    assert any(r["operation"] == "ChangePassword" and r["outcome"] == "Success" for r in rows)


def test_an_old_scrypt_password_still_signs_in_and_is_rehashed_to_argon2id(server, iam):
    user = make_user(iam, READ_SAGEMAKER)
    engine = sa.create_engine(server.env["CHARTER_DATABASE_URL"])
    arn = f"arn:aws:iam::{ACCOUNT}:user/{user}"
    query = sa.text("SELECT password_hash FROM login_profiles WHERE principal_arn = :p")
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE login_profiles SET password_hash = :h WHERE principal_arn = :p"),
                         {"h": scrypt_hash(PASSWORD), "p": arn})
        assert Browser(server.endpoint).sign_in(user).status_code == 303
        with engine.connect() as conn:
            stored = conn.execute(query, {"p": arn}).scalar_one()
    finally:
        engine.dispose()
    assert stored.startswith("$argon2id$")
    assert Browser(server.endpoint).sign_in(user).status_code == 303  # and the new hash verifies


# --- CSRF ----------------------------------------------------------------------------------------


def test_a_post_without_a_valid_csrf_token_is_refused(server, iam):
    user = make_user(iam, READ_SAGEMAKER)
    browser = Browser(server.endpoint)
    browser.token()  # the sign-in form: this browser's pre-session cookie
    for token in ("", "not-the-token"):
        refused = browser.post("/console/sign-in", {"user_name": user, "password": PASSWORD}, token=token)
        assert refused.status_code == 403
        assert "This form could not be accepted" in refused.text and "nothing was done" in refused.text
        assert "charter_session" not in refused.headers.get("set-cookie", "")
    # A token from another browser's form is no good either.
    stranger = Browser(server.endpoint).token()
    assert browser.post("/console/sign-in", {"user_name": user, "password": PASSWORD}, token=stranger).status_code == 403

    assert browser.sign_in(user).status_code == 303
    # Signed in: a form's token is tied to the session, and a POST anywhere needs it.
    token = csrf_of(browser.get("/console/").text)
    assert browser.post("/console/sign-out", {}, token="forged").status_code == 403
    assert browser.post("/console/model-dashboard", {}, token="forged").status_code == 403
    assert browser.post("/console/model-dashboard", {}, token=token).status_code == 405
    assert browser.get("/console/").status_code == 200  # still signed in


# --- authority -------------------------------------------------------------------------------------


def test_a_page_the_users_policy_denies_is_the_403_page(server, iam):
    user = make_user(
        iam,
        READ_SAGEMAKER,
        {"Effect": "Deny", "Action": "sagemaker:ListModelCards", "Resource": "*"},
    )
    browser = Browser(server.endpoint)
    assert browser.sign_in(user).status_code == 303
    assert 'href="/console/model-cards" class="no-access"' in nav_of(browser.get("/console/").text)

    denied = browser.get("/console/model-cards")
    assert denied.status_code == 403
    text = re.sub(r"<[^>]+>", " ", denied.text)
    assert "You do not have access to Model cards" in text
    assert "sagemaker:ListModelCards" in text and "explicitly denies" in text
    assert f"charter iam attach-policy {user} allow.json" in text
    assert 'href="/console/model-dashboard"' in denied.text  # where the user can go instead

    implicit = browser.get("/console/role-manager")
    assert implicit.status_code == 403
    assert "None of the policies attached to your user" in implicit.text and "iam:ListRoles" in implicit.text

    # The API refuses the same user the same action, with the same evaluation.
    keys = iam.create_access_key(UserName=user)["AccessKey"]
    with pytest.raises(Exception) as refused:
        server.client(keys["AccessKeyId"], keys["SecretAccessKey"]).list_model_cards()
    assert "explicit deny" in str(refused.value)


def test_console_actions_land_in_the_audit_log_with_source_console(server, iam):
    user = make_user(iam, READ_SAGEMAKER)
    browser = Browser(server.endpoint, "127.0.0.16")
    browser.sign_in(user, "Wrong-horse-1")
    browser.sign_in(user)
    browser.get("/console/")
    browser.get("/console/model-dashboard")
    browser.get("/console/audit-log")  # denied: no cloudtrail:LookupEvents
    browser.post("/console/sign-out", {}, token=csrf_of(browser.get("/console/training-jobs").text))

    rows = audit_rows(server, user, 7)
    assert [(r["operation"], r["outcome"]) for r in rows] == [
        ("ConsoleLogin", "Failed"),
        ("ConsoleLogin", "Success"),
        ("ViewHome", "Success"),
        ("ViewModelDashboard", "Success"),
        ("ViewAuditLog", "Denied"),
        ("ViewTrainingJobs", "Success"),
        ("ConsoleLogout", "Success"),
    ]
    assert {r["source"] for r in rows} == {"console"}
    assert {r["principal_arn"] for r in rows} == {f"arn:aws:iam::{ACCOUNT}:user/{user}"}
    assert {r["source_ip"] for r in rows} == {"127.0.0.16"} and {r["region"] for r in rows} == {REGION}
    assert rows[0]["error_code"] == "FailedAuthentication" and rows[0]["status_code"] == 401
    denied = rows[4]
    assert denied["error_code"] == "AccessDeniedException" and denied["status_code"] == 403
    assert "cloudtrail:LookupEvents" in denied["error_message"]
    assert rows[1]["user_agent"] == "console-test-browser"

    # An API call of the same user is source api.
    api = server.cli("audit", "tail", "--source", "api", "--operation", "CreateLoginProfile", "--json",
                     "--limit", "500").stdout
    assert any(json.loads(line)["source"] == "api" for line in api.splitlines())


def test_an_unknown_user_name_is_hidden_in_the_audit_log(server):
    typed = unique("Maybe-a-Passw0rd")
    Browser(server.endpoint, "127.0.0.17").sign_in(typed, "Wrong-horse-1")
    rows = audit_rows(server, "HIDDEN_DUE_TO_SECURITY_REASONS", 1)
    assert rows and all(typed not in json.dumps(r) for r in rows)
    assert rows[-1]["operation"] == "ConsoleLogin" and rows[-1]["principal_arn"] is None


# --- signing out -----------------------------------------------------------------------------------


def test_sign_out_ends_the_session_even_for_a_copy_of_its_cookie(server, iam):
    user = make_user(iam, READ_SAGEMAKER)
    browser = Browser(server.endpoint)
    assert browser.sign_in(user).status_code == 303
    copied = browser.client.cookies.get("charter_session")

    token = csrf_of(browser.get("/console/").text)
    out = browser.post("/console/sign-out", {}, token=token)
    assert out.status_code == 303 and out.headers["location"] == "/console/sign-in?signed-out=1"
    assert 'charter_session=""' in out.headers["set-cookie"] or "Max-Age=0" in out.headers["set-cookie"]
    assert "You have signed out." in browser.get(out.headers["location"]).text
    assert browser.get("/console/").status_code == 303

    replay = Browser(server.endpoint)
    replay.client.cookies.set("charter_session", copied, path="/console")
    assert replay.get("/console/").status_code == 303
