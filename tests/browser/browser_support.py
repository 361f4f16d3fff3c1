"""The console in a real browser: one Charter server and one headless Chromium for the browser tests.

Playwright's Python package drives Debian's own Chromium (``/usr/bin/chromium``,
which ``.ci/run`` installs; Playwright downloads no browser).  Test modules take
its fixtures by name, and import its helpers::

    from browser_support import assert_accessible, shot, sign_in

The module is a pytest plugin that ``tests/conftest.py`` registers once (there
is no ``tests/browser/conftest.py``: a second module named ``conftest`` would
shadow the integration tests' one).  Test modules must not import the fixtures
themselves: a session fixture imported into a module is that module's own, and
would start a second server and a second Chromium.

* ``console``: a server of its own for the whole browser session, with the
  admin's boto3 clients and :meth:`Console.make_user` for people who sign in;
* ``page``: a fresh browser context (1280 x 900, no cookies) and its page; a
  screenshot of how the test left it is written to
  ``test-artifacts/screenshots/<test>.png`` (git-ignored; CI keeps the folder);
* :func:`sign_in`, :func:`shot`, :func:`assert_accessible` (axe-core 4.14.1,
  vendored in ``vendor/``: no serious or critical violation allowed).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

HERE = Path(__file__).parent
REPO = HERE.parents[1]
INTEGRATION = HERE.parent / "integration"
AXE = HERE / "vendor" / "axe.min.js"
CHROMIUM = os.environ.get("CHARTER_TEST_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(os.environ.get("CHARTER_TEST_SCREENSHOTS", REPO / "test-artifacts" / "screenshots"))
PASSWORD = "Corr3ct-horse!"

if str(INTEGRATION) not in sys.path:
    sys.path.insert(0, str(INTEGRATION))  # server_process, for the integration tests' server starter
_spec = importlib.util.spec_from_file_location("integration_servers", INTEGRATION / "conftest.py")
servers = importlib.util.module_from_spec(_spec)
sys.modules["integration_servers"] = servers
_spec.loader.exec_module(servers)

__all__ = ["PASSWORD", "Console", "assert_accessible", "browser", "console", "page", "shot", "sign_in", "unique"]


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


@dataclass
class Console:
    """The browser tests' server: its URL, the admin's clients, and people who sign in."""

    server: object  # integration conftest's CharterServer
    clients: dict = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"{self.server.endpoint}/console"

    def client(self, service: str = "sagemaker"):
        if service not in self.clients:
            self.clients[service] = self.server.client(service=service)
        return self.clients[service]

    def cli(self, *args: str, stdin: str | None = None) -> str:
        result = subprocess.run([sys.executable, "-m", "charter.cli.main", *args], env=self.server.env, input=stdin,
                                capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise AssertionError(f"charter {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def make_user(self, persona: str | None = None, *statements: dict, password: str = PASSWORD,
                  name: str | None = None) -> str:
        """An IAM user with a console password: a Role Manager persona, or a policy of ``statements``."""
        name = name or unique("person")
        iam = self.client("iam")
        if persona is not None:
            self.cli("iam", "create-user", name, "--persona", persona)
        else:
            iam.create_user(UserName=name)
        if statements:
            arn = iam.create_policy(
                PolicyName=f"{name}-policy",
                PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": list(statements)}),
            )["Policy"]["Arn"]
            iam.attach_user_policy(UserName=name, PolicyArn=arn)
        iam.create_login_profile(UserName=name, Password=password)
        return name

    def admin(self) -> str:
        """A user allowed everything (``*`` on ``*``), who signs in with :data:`PASSWORD`."""
        if "admin" not in self.clients:
            self.clients["admin"] = self.make_user(None, {"Effect": "Allow", "Action": "*", "Resource": "*"},
                                                   name=unique("admin"))
        return self.clients["admin"]


@pytest.fixture(scope="session")
def console(tmp_path_factory, database_url_factory):
    server = servers.start_server(tmp_path_factory.mktemp("browser-home"), database_url_factory())
    yield Console(server)
    servers.stop_server(server)


@pytest.fixture(scope="session")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium; .ci/run does)")
    with sync_api.sync_playwright() as playwright:
        # --no-sandbox: CI runs as root, where Chromium's sandbox will not start.
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme="light")
    context.set_default_timeout(15_000)
    opened = context.new_page()
    problems: list[str] = []
    opened.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    opened.on("console", lambda message: problems.append(f"console {message.type}: {message.text} ({message.location.get('url')})")
              if message.type == "error" else None)
    opened.on("response", lambda response: problems.append(f"{response.status} {response.request.method} {response.url}")
              if response.status >= 400 else None)
    opened.problems = problems
    yield opened
    try:
        shot(opened, request.node.name)
    finally:
        context.close()


def shot(page, name: str) -> Path:
    """A full-page screenshot under ``test-artifacts/screenshots`` (its path).

    Playwright leaves empty ``style=""`` attributes on inputs it screenshots; htmx would settle them onto
    the next page's element of the same id, where the console's CSP (no inline styles) reports a
    violation the page never made, so they are taken off again.
    """
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / (re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") + ".png")
    page.screenshot(path=str(path), full_page=True)
    if not page.is_closed():
        page.evaluate("() => document.querySelectorAll('[style=\"\"]').forEach(e => e.removeAttribute('style'))")
    return path


def sign_in(page, console: Console, user: str, password: str = PASSWORD, *, next_path: str = "") -> None:
    """Signs ``user`` in through the sign-in form, as a person does, and waits for the page that follows."""
    page.goto(f"{console.url}/sign-in" + (f"?next={next_path}" if next_path else ""))
    page.get_by_label("IAM user name").fill(user)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/sign-in" not in url)


def accessibility_violations(page, impacts=("serious", "critical")) -> list[dict]:
    """axe-core's violations of the page as it is now, of the given impacts."""
    if not page.evaluate("() => Boolean(window.axe)"):
        page.evaluate(AXE.read_text() + "\n;0")  # evaluated by DevTools, which the page's CSP does not govern
    found = page.evaluate(
        "async () => { const r = await window.axe.run(document, {resultTypes: ['violations']});"
        " return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))})); }"
    )
    return [v for v in found if v["impact"] in impacts]


def assert_accessible(page, *, dark: bool = True) -> None:
    """No serious or critical axe-core violation on the page, in the light theme and (``dark``) the dark one."""
    schemes = ["light", "dark"] if dark else ["light"]
    for scheme in schemes:
        page.emulate_media(color_scheme=scheme)
        violations = accessibility_violations(page)
        assert not violations, f"{scheme} theme of {page.url}: " + json.dumps(violations, indent=1)
    page.emulate_media(color_scheme="light")
