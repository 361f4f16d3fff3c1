"""The console's requests: sign-in, sessions, CSRF, pages authorized and audited as the signed-in user.

Mounted at ``/console`` by :mod:`charter.api.app` (unsigned requests only: a
signed request to ``/console/...`` is S3's, for a bucket named ``console``).

* **Sign-in** (``/console/sign-in``): an IAM user's name and console password
  (:mod:`charter.services.signin` checks it and counts failures).  Success sets
  the session cookie (:mod:`charter.console.sessions`: signed, expiring,
  HttpOnly, SameSite=Lax, Secure when the request came over TLS) and redirects
  to the page first asked for.  A wrong password is answered 401 with one
  message whatever was wrong; too many failures, 429 with ``Retry-After`` and
  the time to try again.
* **CSRF**: every unsafe request (POST and the like) must carry the token of its
  form (``csrf_token``) or, from htmx, the ``X-CSRF-Token`` header; otherwise it
  gets the 403 page and does nothing.
* **Pages**: each needs the IAM action :mod:`charter.console.pages` names and is
  decided by the access layer's policy evaluation (:meth:`Access.decide`), as
  the API would decide that user's call; a refusal is the 403 page, saying
  which permission is missing and how to get it.  The navigation marks the
  pages the user cannot open.
* **Audit**: every page opened, sign-in, sign-out and refusal is a row of the
  audit log with source ``console`` (the sign-in form and static files are
  not: they are the same for everyone).  An unknown user name is recorded as
  ``HIDDEN_DUE_TO_SECURITY_REASONS``, as CloudTrail records it, since it is
  often a password typed in the wrong field.

Every answer carries a Content-Security-Policy that allows only this origin's
scripts and styles (htmx's inline indicator styles and eval are switched off in
``htmx-config``), and pages that show an account's data are ``no-store``.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from .. import __version__
from ..api.access import Access, record_failure, start_event
from ..errors import AwsError, ClientError
from ..iam.policy import Decision
from ..instance import Instance
from ..services import signin
from ..render.formatting import format_number, format_time
from .pages import BY_SLUG, PAGES, Page, groups
from .views import View, load_views
from .visit import Visit
from .sessions import (
    PRESESSION_COOKIE,
    SESSION_COOKIE,
    CsrfTokens,
    Session,
    SessionCookies,
    anonymous_seed,
    new_presession,
    session_seed,
)

log = logging.getLogger("charter.console")

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
HTMX_VERSION = "2.0.11"  # static/VENDORED.md

#: The largest form body read: a model card's form carries its content, which the API takes up to
#: 100,000 characters (urlencoded, up to three bytes each); a sign-in form is well under 1 KiB.
MAX_FORM = 320 << 10
#: The most fields one form may post (the model card form has about 50).
MAX_FIELDS = 256
_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_HIDDEN_USER = "HIDDEN_DUE_TO_SECURITY_REASONS"
NOTICE_COOKIE = "charter_notice"

_SECURITY_HEADERS = [
    (b"content-security-policy",
     b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
     b"form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
]


class CsrfRefused(ClientError):
    code = "InvalidCsrfToken"
    status = 403


class SignInThrottled(ClientError):
    code = "Throttling"
    status = 429


class FailedAuthentication(ClientError):
    code = "FailedAuthentication"
    status = 401


class PasswordResetRequired(ClientError):
    code = "PasswordResetRequired"
    status = 403


@dataclass
class _Visitor:
    """Who is asking, as far as the cookies tell before the database is asked."""

    session: Session | None  # a valid, unexpired session cookie
    principal: object | None = None  # the user, once the session is found to hold


def _when(epoch: float, now: float) -> str:
    """``08:14:05 UTC (in 4 minutes)``: a retry time a person can act on."""
    at = dt.datetime.fromtimestamp(epoch, dt.timezone.utc).strftime("%H:%M:%S UTC")
    seconds = max(1, round(epoch - now))
    span = f"{seconds} seconds" if seconds < 90 else f"{round(seconds / 60)} minutes"
    return f"{at} (in {span})"


def format_duration(seconds) -> str:
    """``1 h 02 min``, ``3 min 05 s``, ``12 s``: how long something took."""
    if seconds is None:
        return "—"
    seconds = max(0, int(round(float(seconds))))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def _safe_next(value: str | None) -> str:
    """Where to go after signing in: a console path of this server only, never elsewhere."""
    if (
        not value
        or not value.startswith("/console/")
        or value.startswith(("/console/sign-in", "/console/sign-out", "/console/static/"))
        or any(ch in value for ch in "\\\r\n\t")
    ):
        return "/console/"
    return value


class Console:
    """The console's ASGI app (:attr:`app`), acting through the API's access layer."""

    def __init__(self, instance: Instance, access: Access, faces: dict | None = None):
        self.instance = instance
        self.access = access
        #: The API's faces by botocore service name ("sagemaker", "iam", "s3", "logs", ...): what
        #: :meth:`Visit.call` calls.
        self.faces = faces or {}
        settings = instance.settings
        self.region = settings.region
        self.account = settings.account_id
        self.cookies = SessionCookies(instance.keyring.derive("console-session"), settings.console_session_seconds)
        self.csrf = CsrfTokens(instance.keyring.derive("console-csrf"))
        self.notices = CsrfTokens(instance.keyring.derive("console-notice"))
        self.limits = signin.Limits.from_settings(settings)
        self.templates = Environment(
            loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True
        )
        self.templates.filters.update(when=format_time, number=format_number, duration=format_duration)
        self.views = load_views()
        routes = [
            Route("/", self.home, methods=["GET"]),
            Route("/sign-in", self.sign_in_form, methods=["GET"]),
            Route("/sign-in", self.sign_in, methods=["POST"]),
            Route("/sign-out", self.sign_out, methods=["POST"]),
            Route("/change-password", self.change_password_form, methods=["GET"]),
            Route("/change-password", self.change_password, methods=["POST"]),
            Mount("/static", StaticFiles(directory=STATIC)),
            *[Route(v.path, self._gate(v), methods=[v.method]) for v in self.views],
            Route("/{slug}", self.page, methods=["GET"]),
            Route("/{rest:path}", self.elsewhere, methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]),
        ]
        self._starlette = Starlette(routes=routes, exception_handlers={Exception: self._crash})
        self.app = self._headers

    async def _headers(self, scope, receive, send) -> None:
        """The security headers on every answer; ``no-store`` on all but static files."""
        static = scope.get("path", "").startswith("/console/static/")

        async def send_with_headers(message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(n, v) for n, v in _SECURITY_HEADERS if n not in present]
                if not static and b"cache-control" not in present:
                    extra.append((b"cache-control", b"no-store"))
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self._starlette(scope, receive, send_with_headers)

    # --- rendering --------------------------------------------------------------------

    def _endpoint(self, request: Request) -> str:
        return f"{request.url.scheme}://{request.headers.get('host') or request.url.netloc}"

    def _render(self, request: Request, template: str, status: int = 200, *, visitor: _Visitor | None = None,
                allowed: dict[str, bool] | None = None, csrf: str | None = None, **context) -> HTMLResponse:
        user = visitor.principal if visitor is not None else None
        if csrf is None and visitor is not None and visitor.session is not None:
            csrf = self.csrf.token(session_seed(visitor.session))
        nav = [
            (group, [{"page": page, "allowed": (allowed or {}).get(page.slug, True)} for page in items])
            for group, items in groups()
        ]
        body = self.templates.get_template(template).render(
            user=user, csrf=csrf, nav=nav, region=self.region, account=self.account, version=__version__,
            htmx_version=HTMX_VERSION, endpoint=self._endpoint(request), **context,
        )
        return HTMLResponse(body, status_code=status)

    def _error_page(self, request: Request, status: int, heading: str, lines: list[str], *, visitor=None,
                    allowed=None, actions=(), snippet=None, links=(), request_id=None, headers=None) -> HTMLResponse:
        response = self._render(
            request, "error.html", status, visitor=visitor, allowed=allowed, title=heading, heading=heading,
            lines=lines, actions=list(actions), snippet=snippet, links=list(links), request_id=request_id,
            current=None,
        )
        for name, value in (headers or {}).items():
            response.headers[name] = value
        return response

    # --- who is asking ------------------------------------------------------------------

    def _secure(self, request: Request) -> bool:
        return request.url.scheme in ("https", "wss")

    def _set_cookie(self, response: Response, request: Request, name: str, value: str, max_age: int) -> None:
        response.set_cookie(
            name, value, max_age=max_age, path="/console", httponly=True, samesite="lax", secure=self._secure(request)
        )

    def _clear_cookie(self, response: Response, request: Request, name: str) -> None:
        response.delete_cookie(name, path="/console", httponly=True, samesite="lax", secure=self._secure(request))

    def _presession(self, request: Request) -> tuple[str, bool]:
        """The browser's pre-session value (what forms before a sign-in are tied to), and whether it is new."""
        presession = request.cookies.get(PRESESSION_COOKIE)
        return (new_presession(), True) if presession is None else (presession, False)

    def _keep_presession(self, response: Response, request: Request, presession: str) -> None:
        # It outlives the throttle's window, so a form left open through a pause still posts.
        self._set_cookie(response, request, PRESESSION_COOKIE, presession, int(self.limits.window_seconds) + 3600)

    def _visitor(self, request: Request, now: float) -> _Visitor:
        return _Visitor(self.cookies.read(request.cookies.get(SESSION_COOKIE), now))

    def _holds(self, conn, visitor: _Visitor) -> bool:
        """Whether the visitor's session still holds (fills ``visitor.principal``)."""
        session = visitor.session
        if session is None:
            return False
        visitor.principal = signin.session_principal(
            conn, principal_arn=session.principal_arn, session_id=session.session_id, issued_at=session.issued_at
        )
        return visitor.principal is not None

    def _to_sign_in(self, request: Request, *, ended: bool) -> Response:
        """Off to the sign-in form, coming back here after (an htmx request navigates the whole page)."""
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        query = {"next": here} if _safe_next(here) != "/console/" else {}
        if ended:
            query["ended"] = "1"
        target = "/console/sign-in" + (f"?{urllib.parse.urlencode(query)}" if query else "")
        if request.headers.get("hx-request"):
            response: Response = Response(status_code=204, headers={"HX-Redirect": target})
        else:
            response = RedirectResponse(target, status_code=303)
        if ended:
            self._clear_cookie(response, request, SESSION_COOKIE)
        return response

    def _event(self, request: Request, operation: str, principal=None, user_name: str | None = None):
        event = start_event(
            operation, request.client.host if request.client else None, request.headers.get("user-agent"), source="console"
        )
        event.region = self.region
        if principal is not None:
            event.principal_arn, event.user_name = principal.arn, principal.name
        elif user_name is not None:
            event.user_name = user_name[:128]
        return event

    def _audit(self, event, error: AwsError | None = None, *, status: int | None = None) -> None:
        """Records ``event`` (with ``error``, if refused) and the HTTP ``status`` the person was answered."""
        if error is not None:
            record_failure(event, error)
            if isinstance(error, CsrfRefused):
                event.outcome = "Denied"
        if status is not None:
            event.status_code = status
        self.access.audit(event)

    # --- forms and CSRF ---------------------------------------------------------------------

    async def _form(self, request: Request) -> dict[str, str] | None:
        """The urlencoded form posted; {} for another content type; None when it is too large."""
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > MAX_FORM:
            return None
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_FORM:
                return None
            chunks.append(chunk)
        media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if media != "application/x-www-form-urlencoded":
            return {}
        try:
            parsed = urllib.parse.parse_qs(b"".join(chunks).decode("utf-8", "replace"), keep_blank_values=True,
                                           max_num_fields=MAX_FIELDS)
        except ValueError:
            return {}
        return {name: values[0] for name, values in parsed.items()}

    def _token(self, request: Request, form: dict[str, str]) -> str | None:
        return form.get("csrf_token") or request.headers.get("x-csrf-token")

    def _csrf_refused(self, request: Request, operation: str, visitor: _Visitor | None = None) -> Response:
        event = self._event(request, operation, visitor.principal if visitor else None)
        error = CsrfRefused("The request carried no valid CSRF token for this browser's session.")
        self._audit(event, error)
        signed_in = visitor is not None and visitor.principal is not None
        return self._error_page(
            request, 403, "This form could not be accepted",
            ["The form you sent did not come with a valid security token for this browser, so nothing was done. "
             "This happens when a form was left open across a sign-in or sign-out, or came from another site."],
            visitor=visitor if signed_in else None,
            actions=["Go back, reload the page, and send the form again."],
            links=[("/console/", "Console home")] if signed_in else [("/console/sign-in", "Sign in")],
            request_id=event.request_id,
        )

    def _too_large(self, request: Request) -> Response:
        return self._error_page(request, 413, "That form is too large",
                                [f"The console reads forms of up to {MAX_FORM // 1024} KiB."])

    # --- pages ------------------------------------------------------------------------------

    async def home(self, request: Request) -> Response:
        return await run_in_threadpool(self._signed_in_page, request, None)

    async def page(self, request: Request) -> Response:
        page = BY_SLUG.get(request.path_params["slug"])
        if page is None:
            return await run_in_threadpool(self._not_found, request)
        return await run_in_threadpool(self._signed_in_page, request, page)

    def _signed_in_page(self, request: Request, page: Page | None) -> Response:
        now = time.time()
        visitor = self._visitor(request, now)
        if visitor.session is None:
            return self._to_sign_in(request, ended=SESSION_COOKIE in request.cookies)
        client = request.client.host if request.client else None
        with self.instance.transaction(write=False) as conn:
            if not self._holds(conn, visitor):
                return self._to_sign_in(request, ended=True)
            decisions = self.access.decide(conn, visitor.principal, [(p.action, "*") for p in PAGES], self.region, client)
        allowed = {p.slug: d is Decision.ALLOW for p, d in zip(PAGES, decisions)}
        event = self._event(request, page.operation if page else "ViewHome", visitor.principal)
        if page is None:
            self._audit(event)
            notice = self._read_notice(request)
            response = self._render(request, "home.html", visitor=visitor, allowed=allowed, title="Home",
                                    current="home", flash=notice)
            if notice is not None:
                self._clear_cookie(response, request, NOTICE_COOKIE)
            return response
        if not allowed[page.slug]:
            decision = decisions[PAGES.index(page)]
            self._audit(event, self.access.denial(visitor.principal, page.action, "*", decision), status=403)
            return self._denied(request, visitor, allowed, page, decision, event.request_id)
        self._audit(event)
        return self._render(request, "coming.html", visitor=visitor, allowed=allowed, title=page.title,
                            current=page.slug, page=page)

    # --- views: the gate every page's routes go through ----------------------------------------

    def _gate(self, view: View):
        async def endpoint(request: Request) -> Response:
            form: dict[str, str] = {}
            if request.method in _UNSAFE:
                form = await self._form(request)
                if form is None:
                    return self._too_large(request)
            return await run_in_threadpool(self._through_gate, request, view, form)

        endpoint.__name__ = view.handler.__name__
        return endpoint

    def _through_gate(self, request: Request, view: View, form: dict[str, str]) -> Response:
        """A session that holds, CSRF for an unsafe method, the page's own action; then the view."""
        page = BY_SLUG[view.page]
        unsafe = request.method in _UNSAFE
        now = time.time()
        visitor = self._visitor(request, now)
        client = request.client.host if request.client else None
        with self.instance.transaction(write=False) as conn:
            holds = self._holds(conn, visitor)
            decisions = (
                self.access.decide(conn, visitor.principal, [(p.action, "*") for p in PAGES], self.region, client)
                if holds else []
            )
        if not holds:
            if unsafe:
                seed = anonymous_seed(request.cookies.get(PRESESSION_COOKIE))
                if not self.csrf.valid(seed, self._token(request, form)):
                    return self._csrf_refused(request, view.operation or f"{request.method} {request.url.path}"[:128])
            return self._to_sign_in(request, ended=SESSION_COOKIE in request.cookies)
        seed = session_seed(visitor.session)
        if unsafe and not self.csrf.valid(seed, self._token(request, form)):
            return self._csrf_refused(request, view.operation or f"{request.method} {request.url.path}"[:128], visitor)
        allowed = {p.slug: d is Decision.ALLOW for p, d in zip(PAGES, decisions)}
        event = self._event(request, view.operation or page.operation, visitor.principal)
        if not allowed[page.slug]:
            decision = decisions[PAGES.index(page)]
            self._audit(event, self.access.denial(visitor.principal, page.action, "*", decision), status=403)
            return self._denied(request, visitor, allowed, page, decision, event.request_id)
        notice = self._read_notice(request)
        visit = Visit(self, request, visitor.principal, page, allowed, self.csrf.token(seed), form, event, notice,
                      visitor.session)
        try:
            response = view.handler(visit)
        except AwsError as error:
            if not unsafe:
                self._audit(event, error)
            response = self._refusal(visit, error)
        else:
            # A page opened is one row. The htmx fragments it then fetches (a search as it is typed, a
            # log tail polled every two seconds) are that page at work, not new visits: recorded only
            # when refused. Changes are always recorded, by the API operation that makes them.
            if not unsafe and not visit.htmx:
                self._audit(event)
        if notice is not None and NOTICE_COOKIE not in response.headers.get("set-cookie", ""):
            self._clear_cookie(response, request, NOTICE_COOKIE)
        return response

    def _refusal(self, visit: Visit, error: AwsError) -> Response:
        """What a person sees when a call of theirs was refused: the API's message, and what to do."""
        denied = error.status == 403 or "AccessDenied" in error.code
        # A person is told by the HTTP status too: SageMaker's AccessDeniedException is a 400 on the
        # wire, but to a browser a refusal is 403 and a missing thing 404.
        status = 403 if denied else error.status if 400 <= error.status < 600 else 400
        missing = status == 404 or error.code in ("ResourceNotFound", "NoSuchKey", "NoSuchBucket", "NoSuchEntity")
        if missing:
            status = 404
        heading = ("You do not have permission to do that" if denied
                   else "That could not be found" if missing else "That could not be done")
        actions = (["Ask an administrator for the permission named above (Role Manager shows what each persona "
                    "may do)."] if denied else [])
        if visit.htmx:
            return visit.console._render(visit.request, "alert.html", status, heading=heading,
                                         message=error.message, code=error.code, actions=actions)
        return self._error_page(
            visit.request, status, heading, [error.message, f"(error {error.code})"], visitor=visit,
            allowed=visit.allowed, actions=actions, links=[(visit.page.path, visit.page.title)],
            request_id=visit.event.request_id if visit.event is not None else None,
        )

    # --- notices carried over a redirect ---------------------------------------------------------------

    def set_notice(self, response: Response, request: Request, text: str) -> None:
        value = urllib.parse.quote(text[:300], safe="")
        self._set_cookie(response, request, NOTICE_COOKIE, f"{value}.{self.notices.token(value)}", 120)

    def _read_notice(self, request: Request) -> str | None:
        raw = request.cookies.get(NOTICE_COOKIE)
        if not raw or "." not in raw:
            return None
        value, _, mac = raw.rpartition(".")
        if not self.notices.valid(value, mac):
            return None
        return urllib.parse.unquote(value)

    def _denied(self, request, visitor: _Visitor, allowed, page: Page, decision: Decision, request_id: str) -> Response:
        user = visitor.principal
        why = (
            f"A policy attached to your user {user.name} explicitly denies {page.action}; a deny wins over any allow."
            if decision is Decision.EXPLICIT_DENY
            else f"None of the policies attached to your user {user.name} allows {page.action}."
        )
        usable = [(p.path, p.title) for p in PAGES if allowed.get(p.slug)]
        snippet = (
            "cat > allow.json <<'EOF'\n"
            '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", '
            f'"Action": "{page.action}", "Resource": "*"}}]}}\n'
            "EOF\n"
            f"charter iam attach-policy {user.name} allow.json"
        )
        actions = [
            f"Ask an administrator to allow {page.action} for the user {user.name}: the commands below do it"
            + (", once the policy that denies it is removed." if decision is Decision.EXPLICIT_DENY else "."),
            "Or open one of the pages you do have access to." if usable else "Or sign in as another user.",
        ]
        return self._error_page(
            request, 403, f"You do not have access to {page.title}",
            [f"{page.title} needs the IAM permission {page.action}, and you are signed in as {user.name}.", why],
            visitor=visitor, allowed=allowed, actions=actions, snippet=snippet,
            links=[("/console/", "Console home"), *usable], request_id=request_id,
        )

    def _not_found(self, request: Request) -> Response:
        now = time.time()
        visitor = self._visitor(request, now)
        with self.instance.transaction(write=False) as conn:
            signed_in = self._holds(conn, visitor)
        return self._error_page(
            request, 404, "There is no such page",
            [f"The console has no page at {request.url.path}."],
            visitor=visitor if signed_in else None,
            links=[("/console/", "Console home")],
        )

    async def elsewhere(self, request: Request) -> Response:
        """Any other path or method: CSRF first for unsafe methods, then 404 or 405."""
        if request.method in _UNSAFE:
            form = await self._form(request)
            if form is None:
                return self._too_large(request)
            return await run_in_threadpool(self._unsafe_elsewhere, request, form)
        if request.method in ("GET", "HEAD"):
            return await run_in_threadpool(self._not_found, request)
        return self._error_page(request, 405, "That is not something this page does",
                                [f"{request.method} is not answered here."], headers={"Allow": "GET"})

    def _unsafe_elsewhere(self, request: Request, form: dict[str, str]) -> Response:
        now = time.time()
        visitor = _Visitor(self.cookies.read(request.cookies.get(SESSION_COOKIE), now, expired_too=True))
        with self.instance.transaction(write=False) as conn:
            self._holds(conn, visitor)
        seed = session_seed(visitor.session) if visitor.session else anonymous_seed(request.cookies.get(PRESESSION_COOKIE))
        if not self.csrf.valid(seed, self._token(request, form)):
            return self._csrf_refused(request, f"{request.method} {request.url.path}"[:128], visitor)
        return self._error_page(
            request, 405, "That is not something this page does",
            [f"{request.method} is not answered at {request.url.path}."],
            visitor=visitor if visitor.principal else None, headers={"Allow": "GET"},
        )

    # --- sign-in and sign-out ---------------------------------------------------------------------

    async def sign_in_form(self, request: Request) -> Response:
        return await run_in_threadpool(self._sign_in_form, request)

    def _sign_in_form(self, request: Request, *, status: int = 200, error: str | None = None,
                      error_detail: str | None = None, user_name: str = "", next_path: str | None = None,
                      headers: dict | None = None) -> Response:
        now = time.time()
        if error is None:
            visitor = self._visitor(request, now)
            if visitor.session is not None:
                with self.instance.transaction(write=False) as conn:
                    if self._holds(conn, visitor):
                        return RedirectResponse(_safe_next(request.query_params.get("next")), status_code=303)
        presession, fresh = self._presession(request)
        notice = None
        if request.query_params.get("signed-out"):
            notice = "You have signed out."
        elif request.query_params.get("ended"):
            notice = "Your session has ended (it expired, was signed out, or your password changed). Sign in again."
        response = self._render(
            request, "signin.html", status, title="Sign in", current=None,
            csrf=self.csrf.token(anonymous_seed(presession)), error=error, error_detail=error_detail,
            user_name=user_name, next=_safe_next(next_path or request.query_params.get("next")), notice=notice,
        )
        if fresh:
            self._keep_presession(response, request, presession)
        for name, value in (headers or {}).items():
            response.headers[name] = value
        return response

    async def sign_in(self, request: Request) -> Response:
        form = await self._form(request)
        if form is None:
            return self._too_large(request)
        return await run_in_threadpool(self._sign_in, request, form)

    def _sign_in(self, request: Request, form: dict[str, str]) -> Response:
        if not self.csrf.valid(anonymous_seed(request.cookies.get(PRESESSION_COOKIE)), self._token(request, form)):
            return self._csrf_refused(request, "ConsoleLogin")
        user_name = form.get("user_name", "").strip()[:128]
        next_path = _safe_next(form.get("next"))
        client = request.client.host if request.client else None
        result = signin.sign_in(
            self.instance, user_name=user_name, password=form.get("password", ""), address=client, limits=self.limits
        )
        event = self._event(request, "ConsoleLogin", result.principal,
                            user_name if result.user_arn else _HIDDEN_USER)
        event.principal_arn = result.user_arn
        now = time.time()
        if result.refusal is None:
            self._audit(event)
            return self._start_session(request, result.principal, next_path, now)
        if result.refusal == "throttled":
            whom = "this user name" if result.throttled_by == "user" else "your network address"
            message = f"Too many failed sign-ins for {whom}. Try again after {_when(result.retry_at, now)}."
            self._audit(event, SignInThrottled(message))
            return self._sign_in_form(
                request, status=429, error=message, user_name=user_name, next_path=next_path,
                error_detail="Nothing was checked this time. An administrator can also set a new password "
                             "with charter iam set-password, which lifts the pause for the user.",
                headers={"Retry-After": str(max(1, round(result.retry_at - now)))},
            )
        if result.refusal == "reset-required":
            message = "Your password is right, but you must choose a new one before you sign in."
            self._audit(event, PasswordResetRequired(message))
            return self._change_password_form(request, status=403, notice=message, user_name=user_name,
                                              next_path=next_path)
        message = "The user name or password is incorrect."
        detail = "Names and passwords are case-sensitive."
        if result.retry_at is not None:
            whom = "this user name" if result.throttled_by == "user" else "your network address"
            detail = (f"That was one failure too many for {whom}: sign-in is paused until "
                      f"{_when(result.retry_at, now)}.")
        self._audit(event, FailedAuthentication(message))
        return self._sign_in_form(request, status=401, error=message, error_detail=detail, user_name=user_name,
                                  next_path=next_path)

    def _start_session(self, request: Request, principal, next_path: str, now: float) -> Response:
        """A new session for ``principal`` (a cookie) and off to ``next_path``."""
        cookie, session = self.cookies.issue(principal.arn, now)
        response = RedirectResponse(next_path, status_code=303)
        self._set_cookie(response, request, SESSION_COOKIE, cookie, int(session.expires_at - now))
        # A new pre-session value: a token from before the sign-in is no good after it.
        self._keep_presession(response, request, new_presession())
        return response

    # --- changing one's password (IAM ChangePassword; also how a reset-required user gets in) ---------

    async def change_password_form(self, request: Request) -> Response:
        return await run_in_threadpool(self._change_password_form, request)

    def _change_password_form(self, request: Request, *, status: int = 200, error: str | None = None,
                              notice: str | None = None, user_name: str | None = None,
                              next_path: str | None = None) -> Response:
        visitor = self._visitor(request, time.time())
        if visitor.session is not None:
            with self.instance.transaction(write=False) as conn:
                self._holds(conn, visitor)
        signed_in = visitor.principal is not None
        presession, fresh = self._presession(request)
        response = self._render(
            request, "change_password.html", status, visitor=visitor if signed_in else None, title="Change password",
            current=None, csrf=self.csrf.token(anonymous_seed(presession)), error=error, notice=notice,
            user_name=visitor.principal.name if signed_in else (user_name or request.query_params.get("user", "")),
            next=_safe_next(next_path or request.query_params.get("next")),
        )
        if fresh:
            self._keep_presession(response, request, presession)
        return response

    async def change_password(self, request: Request) -> Response:
        form = await self._form(request)
        if form is None:
            return self._too_large(request)
        return await run_in_threadpool(self._change_password, request, form)

    def _change_password(self, request: Request, form: dict[str, str]) -> Response:
        # The form is tied to the browser's pre-session, so it works signed in or not (a reset-required
        # user has no session yet).
        if not self.csrf.valid(anonymous_seed(request.cookies.get(PRESESSION_COOKIE)), self._token(request, form)):
            return self._csrf_refused(request, "ChangePassword")
        user_name = form.get("user_name", "").strip()[:128]
        next_path = _safe_next(form.get("next"))
        new, again = form.get("new_password", ""), form.get("confirm_password", "")

        def again_with(status: int, message: str) -> Response:
            return self._change_password_form(request, status=status, error=message, user_name=user_name,
                                              next_path=next_path)

        if new != again:
            return again_with(400, "The new password and its confirmation differ. Type the same password in both.")
        client = request.client.host if request.client else None
        try:
            result = signin.change_password(self.instance, user_name=user_name, old_password=form.get("password", ""),
                                            new_password=new, address=client, limits=self.limits)
        except AwsError as error:  # the password policy
            event = self._event(request, "ChangePassword", user_name=user_name)
            self._audit(event, error)
            return again_with(error.status, error.message)
        event = self._event(request, "ChangePassword", result.principal,
                            user_name if result.user_arn else _HIDDEN_USER)
        event.principal_arn = result.user_arn
        now = time.time()
        if result.refusal is None:
            self._audit(event)
            response = self._start_session(request, result.principal, next_path, now)
            self.set_notice(response, request, "Your password has been changed.")
            return response
        if result.refusal == "throttled":
            message = f"Too many failed sign-ins. Try again after {_when(result.retry_at, now)}."
            self._audit(event, SignInThrottled(message))
            response = again_with(429, message)
            response.headers["Retry-After"] = str(max(1, round(result.retry_at - now)))
            return response
        message = "The user name or current password is incorrect."
        self._audit(event, FailedAuthentication(message))
        return again_with(401, message)

    async def sign_out(self, request: Request) -> Response:
        form = await self._form(request)
        if form is None:
            return self._too_large(request)
        return await run_in_threadpool(self._sign_out, request, form)

    def _sign_out(self, request: Request, form: dict[str, str]) -> Response:
        now = time.time()
        # An expired session may still sign out (its form's token is tied to it).
        visitor = _Visitor(self.cookies.read(request.cookies.get(SESSION_COOKIE), now, expired_too=True))
        with self.instance.transaction(write=False) as conn:
            self._holds(conn, visitor)
        seed = session_seed(visitor.session) if visitor.session else anonymous_seed(request.cookies.get(PRESESSION_COOKIE))
        if not self.csrf.valid(seed, self._token(request, form)):
            return self._csrf_refused(request, "ConsoleLogout", visitor)
        if visitor.session is not None:
            with self.instance.transaction() as conn:
                signin.sign_out(conn, session_id=visitor.session.session_id, expires_at=visitor.session.expires_at)
            self._audit(self._event(request, "ConsoleLogout", visitor.principal,
                                    None if visitor.principal else _HIDDEN_USER))
        target = "/console/sign-in?signed-out=1"
        if request.headers.get("hx-request"):
            response: Response = Response(status_code=204, headers={"HX-Redirect": target})
        else:
            response = RedirectResponse(target, status_code=303)
        self._clear_cookie(response, request, SESSION_COOKIE)
        return response

    # --- faults -----------------------------------------------------------------------------------

    async def _crash(self, request: Request, exc: Exception) -> Response:
        event = self._event(request, f"{request.method} {request.url.path}"[:128])
        log.exception("console request %s %s failed (request id %s)", request.method, request.url.path,
                      event.request_id, exc_info=exc)
        self._audit(event, AwsError(f"{type(exc).__name__}: the console could not answer.", code="InternalFailure"),
                    status=500)
        return self._error_page(request, 500, "Something went wrong",
                                ["The console could not answer this request. The server's log has the details."],
                                request_id=event.request_id)
