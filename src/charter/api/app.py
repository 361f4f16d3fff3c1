"""ASGI assembly: every path of the one endpoint, and which face answers it.

* ``POST /``: the SageMaker control plane (JSON 1.1, :mod:`charter.api.gateway`);
* ``POST /endpoints/<name>/invocations`` and the other paths of botocore's
  sagemaker-runtime model: :mod:`charter.api.sagemaker_runtime`;
* ``GET /`` unsigned: the landing page for a person (:mod:`charter.api.landing`);
* ``GET /health``: the health check;
* anything else, any method: an AWS-shaped error (:mod:`charter.api.unknown`).

One catch-all route takes every method, so no request ever gets Starlette's own
plain-text 404 or 405.  The faces speak ``WireRequest``/``WireResponse``; this
module is the only one that sees ASGI.

The HTTP server (uvicorn) writes the ``Date`` header of every response, its own
error answers included; the faces' own ``date`` header is dropped here so that
each response carries exactly one.
"""

from __future__ import annotations

import contextlib
import logging

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .. import runtime
from ..errors import InternalFailure
from ..instance import Instance
from . import landing, rest_json
from .gateway import Gateway, WireRequest, WireResponse
from .sagemaker_runtime import SageMakerRuntime
from .unknown import UnknownRequest

log = logging.getLogger("charter.app")

# Headers the HTTP server owns; a face's value would be a second copy.
_SERVER_HEADERS = frozenset({"date", "server"})


class _Wire:
    """The catch-all ASGI endpoint: builds the WireRequest and picks the face."""

    def __init__(self, instance: Instance):
        self.instance = instance
        self.gateway = Gateway(instance)
        self.runtime = SageMakerRuntime(self.gateway)
        self.unknown = UnknownRequest(self.gateway)

    async def __call__(self, scope, receive, send) -> None:
        request = Request(scope, receive)
        try:
            response = await self._respond(request)
        except Exception:  # a bug: still an AWS-shaped, retryable answer
            log.exception("the request %s %s failed before a face answered", request.method, request.url.path)
            answer = rest_json.error_response(InternalFailure("Charter could not complete the request."), "-")
            response = _starlette(answer)
        await response(scope, receive, send)

    async def _respond(self, request: Request) -> Response:
        path = request.scope.get("raw_path", b"/").decode("latin-1").split("?", 1)[0] or "/"
        signed = "authorization" in request.headers or "X-Amz-Credential" in request.query_params
        if path == "/" and request.method in ("GET", "HEAD") and not signed:
            return self._landing(request)
        if path == "/health" and request.method in ("GET", "HEAD"):
            return JSONResponse({"status": "ok", "service": "charter"})

        wire = await _wire_request(request, path)
        if path == "/" and wire.method == "POST":
            answer = await run_in_threadpool(self.gateway.handle, wire)
        elif (found := self.runtime.match(wire.method, path)) is not None:
            answer = await run_in_threadpool(self.runtime.handle, wire, *found)
        else:
            answer = await run_in_threadpool(self.unknown.handle, wire)
        return _starlette(answer)

    def _landing(self, request: Request) -> Response:
        endpoint = f"{request.url.scheme}://{request.headers.get('host') or request.url.netloc}"
        media_type, body = landing.render(self.instance.settings, endpoint, request.headers.get("accept", ""))
        return Response(body, media_type=media_type)


async def _wire_request(request: Request, path: str) -> WireRequest:
    headers: dict[str, str] = {}
    for name, value in request.headers.items():  # repeated headers join with "," as SigV4 expects
        headers[name] = f"{headers[name]},{value}" if name in headers else value
    return WireRequest(
        method=request.method,
        path=path,
        query_string=request.scope.get("query_string", b"").decode("latin-1"),
        headers=headers,
        body=await request.body(),
        source_ip=request.client.host if request.client else None,
    )


def _starlette(answer: WireResponse) -> Response:
    headers = {name: value for name, value in answer.headers.items() if name.lower() not in _SERVER_HEADERS}
    return Response(answer.body, status_code=answer.status, headers=headers)


def create_app(instance: Instance) -> Starlette:
    wire = _Wire(instance)

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        workers = [factory(instance) for factory in runtime.load_all().values()]
        for worker in workers:
            worker.start()
        try:
            yield
        finally:
            for worker in reversed(workers):
                worker.stop()

    app = Starlette(routes=[Route("/{path:path}", wire)], lifespan=lifespan)
    app.state.instance = instance
    app.state.gateway = wire.gateway
    return app
