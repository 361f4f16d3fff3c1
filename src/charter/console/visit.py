"""One request to a console view, as its handler sees it.

A :class:`Visit` is made by the gate (:mod:`charter.console.app`) once the
session holds and the page's IAM action is allowed.  It carries who is asking
and what they sent, and everything a view needs to answer:

* :meth:`Visit.call`: an operation of any face (``"sagemaker"``, ``"iam"``,
  ``"s3"``, ``"logs"``, ...) called as the signed-in user through
  :meth:`charter.api.faces.Face.invoke`: validated against the operation's
  input shape, authorized by the user's policies, handled by the service that
  answers the API, and for a write recorded in the audit log (source
  ``console``) in the same transaction.  The console reads and writes nothing
  any other way.
* :meth:`Visit.can`: whether the user may take an action (to show or hide a
  button; the call itself is still refused if they post anyway).
* :meth:`Visit.render`, :meth:`Visit.redirect` (with a notice shown on the
  next page), :attr:`Visit.htmx` (an htmx request that wants a fragment).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from ..iam.policy import Decision

if TYPE_CHECKING:  # pragma: no cover
    from .app import Console
    from .pages import Page


@dataclass
class Visit:
    console: "Console"
    request: Request
    principal: Any  # charter.iam.identities.Principal
    page: "Page"
    allowed: dict[str, bool]  # page slug -> may open (for the navigation)
    csrf: str
    form: dict[str, str] = field(default_factory=dict)
    #: The page view's audit row (a GET); a handler may name the resource it showed.
    event: Any = None
    notice: str | None = None  # shown once, carried over a redirect
    session: Any = None  # the session cookie's claims (console.sessions.Session)

    # --- what was asked ---------------------------------------------------------------

    @property
    def query(self):
        return self.request.query_params

    @property
    def params(self) -> dict[str, str]:
        return self.request.path_params

    @property
    def htmx(self) -> bool:
        """An htmx request for a fragment (not a boosted whole-page navigation)."""
        return bool(self.request.headers.get("hx-request")) and not self.request.headers.get("hx-boosted")

    @property
    def source_ip(self) -> str | None:
        return self.request.client.host if self.request.client else None

    # --- acting as the user -------------------------------------------------------------

    def call(self, service: str, operation: str, params: dict | None = None, *, record: bool | None = None) -> dict:
        """``operation`` of ``service``'s face, as the signed-in user (see the module docstring)."""
        face = self.console.faces[service]
        event = self.console._event(self.request, operation, self.principal)
        return face.invoke(self.principal, operation, params, event, record=record)

    def read(self, function, /, *args, **kwargs):
        """``function(conn, *args, **kwargs)`` of a service module, in a read transaction.

        For what the console shows that no API operation answers (the Model
        Dashboard's joined rows, the audit log's filters): the view has been
        authorized by its page's action, and the function belongs to
        :mod:`charter.services`, never the store.
        """
        with self.console.instance.transaction(write=False) as conn:
            return function(conn, *args, **kwargs)

    def can(self, action: str, resource: str = "*") -> bool:
        """Whether the user's policies allow ``action`` on ``resource`` (nothing is recorded)."""
        return self.decisions([(action, resource)])[0] is Decision.ALLOW

    def decisions(self, checks: list[tuple[str, str]]) -> list[Decision]:
        with self.console.instance.transaction(write=False) as conn:
            return self.console.access.decide(conn, self.principal, checks, self.console.region, self.source_ip)

    # --- answering -----------------------------------------------------------------------

    def render(self, template: str, status: int = 200, **context) -> HTMLResponse:
        """``template`` (under console/templates) with the frame's context: user, navigation, CSRF, notice."""
        return self.console._render(
            self.request, template, status, visitor=self, allowed=self.allowed, csrf=self.csrf,
            current=self.page.slug, page=self.page, flash=self.notice, **context,
        )

    def redirect(self, url: str, notice: str | None = None) -> Response:
        """To ``url`` after a change (303, or HX-Redirect for htmx), with ``notice`` shown there once."""
        if self.request.headers.get("hx-request") and not self.request.headers.get("hx-boosted"):
            response: Response = Response(status_code=204, headers={"HX-Redirect": url})
        else:
            response = RedirectResponse(url, status_code=303)
        if notice:
            self.console.set_notice(response, self.request, notice)
        return response
