"""ASGI assembly: every path of the one endpoint, and which face answers it.

The service a signed request is addressed to is the one in its SigV4
credential scope (``.../us-east-1/s3/aws4_request``), so one port serves
them all:

* ``sagemaker``: ``POST /`` with ``X-Amz-Target: SageMaker.<Operation>`` is
  the control plane (:mod:`charter.api.gateway`); the paths of botocore's
  sagemaker-runtime model are :mod:`charter.api.sagemaker_runtime` (both
  sign as ``sagemaker``);
* ``s3``, ``logs``, ``sts``, ``iam``, ``monitoring``: the faces of
  :mod:`charter.api.faces`, each in the protocol its clients speak;
* ``GET /`` unsigned: a browser is redirected to the web console, anything else
  gets the landing document (:mod:`charter.api.landing`); ``GET /health``: the
  health check;
* ``/console/...`` unsigned: the web console (:mod:`charter.console`), mounted
  here (a signed request there is S3's, for a bucket named ``console``);
* anything else: an AWS-shaped error (:mod:`charter.api.unknown`).

S3 request bodies are streamed to the face as they arrive and S3 answers
stream back, so an object of any size passes in bounded memory; every other
service's body is read whole, up to :data:`MAX_BODY` bytes: a longer one is
refused with 413 ``RequestEntityTooLarge`` in the face's own protocol (and
audited) before more of it is read.

No route table: the router's default endpoint takes every method and every
path (one that holds a newline, ``%0A``, in an S3 key included), so no request
ever gets Starlette's own plain-text 404 or 405.  The API faces speak ``WireRequest``/``WireResponse``;
this module is the only one of theirs that sees ASGI (the console, a set of
pages rather than an AWS protocol, is a Starlette app of its own).  The HTTP server (uvicorn) writes the
``Date`` header of every response, so a face's own ``date`` is dropped here.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import logging
import pkgutil

import anyio.from_thread
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Mount, Router

from .. import runtime
from ..console import create_console
from ..errors import ClientError, InternalFailure
from ..iam import sigv4
from ..instance import Instance
from . import faces as faces_package
from . import landing, rest_json
from .access import Access, new_event, record_failure
from .faces import Face
from .gateway import Gateway
from .sagemaker_runtime import SageMakerRuntime
from .unknown import UnknownRequest
from .wire import BodyStream, WireRequest, WireResponse

log = logging.getLogger("charter.app")

# Headers the HTTP server owns; a face's value would be a second copy.
_SERVER_HEADERS = frozenset({"date", "server"})

#: Signing names whose request bodies are streamed rather than read whole.
_STREAMED = frozenset({"s3"})

#: The largest body read whole (every face but S3's).  AWS's own request limits are
#: smaller (1 MiB for PutLogEvents and PutMetricData, 6 MiB for InvokeEndpoint);
#: this bound only keeps one request from holding the server's memory.
MAX_BODY = 16 << 20
#: How much of a streamed body one pull from a worker thread gathers.
_GATHER = 1 << 20


class RequestEntityTooLarge(ClientError):
    code = "RequestEntityTooLarge"
    status = 413


def load_faces(access: Access) -> dict[str, Face]:
    """Every face module's face (``faces/<name>.py`` declaring ``SPEC``), by signing name."""
    found: dict[str, Face] = {}
    for module in pkgutil.iter_modules(faces_package.__path__):
        spec = getattr(importlib.import_module(f"{faces_package.__name__}.{module.name}"), "SPEC", None)
        if spec is None or spec.service == "sagemaker":
            continue
        face = Face(access, spec)
        found[face.signing_name] = face
    return found


class _Wire:
    """The catch-all ASGI endpoint: builds the WireRequest and picks the face."""

    def __init__(self, instance: Instance):
        self.instance = instance
        self.access = Access(instance)
        self.gateway = Gateway(instance, self.access)
        self.runtime = SageMakerRuntime(self.access)
        self.unknown = UnknownRequest(self.access)
        self.faces = load_faces(self.access)
        by_service = {"sagemaker": self.gateway, **{face.spec.service: face for face in self.faces.values()}}
        self.console = Router(routes=[Mount("/console", app=create_console(instance, self.access, by_service))])

    async def __call__(self, scope, receive, send) -> None:
        if _for_console(scope):
            try:
                await self.console(scope, receive, send)
            except Exception:  # noqa: BLE001 - the console answered it (a 500 page) and logged it
                pass
            return
        request = Request(scope, receive)
        try:
            response = await self._respond(request)
        except ClientDisconnect:
            return  # nobody is left to answer
        except Exception:  # a bug: still an AWS-shaped, retryable answer
            log.exception("the request %s %s failed before a face answered", request.method, request.url.path)
            answer = rest_json.error_response(InternalFailure("Charter could not complete the request."), "-")
            response = _starlette(answer)
        await response(scope, receive, send)

    async def _respond(self, request: Request) -> Response:
        path = request.scope.get("raw_path", b"/").decode("latin-1").split("?", 1)[0] or "/"
        query = request.scope.get("query_string", b"").decode("latin-1")
        authorization = request.headers.get("authorization")
        signed = authorization is not None or "X-Amz-Credential" in query
        if path == "/" and request.method in ("GET", "HEAD") and not signed:
            if landing.wants_html(request.headers.get("accept", "")):
                return RedirectResponse("/console/", status_code=302)  # a person, in a browser
            return self._landing(request)
        if path == "/health" and request.method in ("GET", "HEAD"):
            return JSONResponse({"status": "ok", "service": "charter"})

        service = sigv4.scope_service(authorization, query)
        if service in _STREAMED and service in self.faces:
            wire = _wire_request(request, path, query, b"", _stream(request))
        else:
            body = await _bounded_body(request)
            wire = _wire_request(request, path, query, body or b"")
            if body is None:
                return _starlette(await run_in_threadpool(self._too_large, service, wire))

        if service == "sagemaker" or service is None:
            if path == "/" and wire.method == "POST" and self.gateway.protocol_of(wire) is not None:
                answer = await run_in_threadpool(self.gateway.handle, wire)
            elif (found := self.runtime.match(wire.method, path)) is not None:
                answer = await run_in_threadpool(self.runtime.handle, wire, *found)
            elif service is None and path == "/" and wire.method == "POST" and "x-amz-target" in wire.headers:
                answer = await run_in_threadpool(self.gateway.handle, wire)
            else:
                answer = await run_in_threadpool(self.unknown.handle, wire)
        elif (face := self.faces.get(service)) is not None:
            answer = await run_in_threadpool(face.handle, wire)
        else:
            answer = await run_in_threadpool(self.unknown.handle, wire)
        return _starlette(answer)

    def _too_large(self, service: str | None, wire: WireRequest) -> WireResponse:
        """413 in the protocol of the face the request is addressed to; its signature cannot be checked."""
        face = self.faces.get(service) if service not in (None, "sagemaker") else self.gateway
        error = RequestEntityTooLarge(
            f"The request body is larger than this server reads for one request ({MAX_BODY:,} bytes); "
            "send the data in smaller requests."
        )
        event = new_event(wire, "(unknown)")
        record_failure(event, error)
        self.access.audit(event)
        if face is None:
            return rest_json.error_response(error, event.request_id)
        protocol = face.protocol_of(wire) or face.protocols[0]
        return protocol.error(face.spell(error), event.request_id)

    def _landing(self, request: Request) -> Response:
        endpoint = f"{request.url.scheme}://{request.headers.get('host') or request.url.netloc}"
        media_type, body = landing.render(self.instance.settings, endpoint)
        return Response(body, media_type=media_type)


def _for_console(scope) -> bool:
    """An unsigned HTTP request for ``/console`` or below it."""
    if scope["type"] != "http":
        return False
    path = scope.get("path", "")
    if path != "/console" and not path.startswith("/console/"):
        return False
    if b"X-Amz-Credential" in scope.get("query_string", b""):
        return False
    return not any(name == b"authorization" for name, _ in scope.get("headers", ()))


def _wire_request(request: Request, path: str, query: str, body: bytes, stream: BodyStream | None = None) -> WireRequest:
    headers: dict[str, str] = {}
    for name, value in request.headers.items():  # repeated headers join with "," as SigV4 expects
        headers[name] = f"{headers[name]},{value}" if name in headers else value
    return WireRequest(
        method=request.method,
        path=path,
        query_string=query,
        headers=headers,
        body=body,
        source_ip=request.client.host if request.client else None,
        stream=stream,
    )


async def _bounded_body(request: Request) -> bytes | None:
    """The whole body, or None once it is known to pass :data:`MAX_BODY`."""
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > MAX_BODY:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _stream(request: Request) -> BodyStream:
    """The request body as a :class:`BodyStream` a worker thread pulls from the event loop."""
    chunks = request.stream().__aiter__()

    async def next_chunk() -> bytes:
        # The HTTP server hands the body over in pieces of about 64 KiB; a worker thread's
        # trip to the event loop costs more than copying, so one trip gathers up to 1 MiB.
        gathered, size = [], 0
        while size < _GATHER:
            try:
                chunk = await chunks.__anext__()
            except StopAsyncIteration:
                break
            gathered.append(chunk)
            size += len(chunk)
        return b"".join(gathered)

    def pull() -> bytes:
        return anyio.from_thread.run(next_chunk)

    length = request.headers.get("content-length")
    return BodyStream(pull, int(length) if length and length.isdigit() else None)


def _starlette(answer: WireResponse) -> Response:
    headers = {name: value for name, value in answer.headers.items() if name.lower() not in _SERVER_HEADERS}
    if isinstance(answer.body, (bytes, bytearray)):
        return Response(answer.body, status_code=answer.status, headers=headers)
    return StreamingResponse(answer.body, status_code=answer.status, headers=headers)


def create_app(instance: Instance) -> Starlette:
    wire = _Wire(instance)

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        workers = [factory(instance) for factory in runtime.load_all().values()]
        for worker in workers:
            worker.start()
        # What start-up built (botocore's service models above all) lives as long as the
        # server: kept out of the collector's full passes, which would otherwise walk it
        # again and again and stall requests for tens of milliseconds each time.
        gc.freeze()
        try:
            yield
        finally:
            for worker in reversed(workers):
                worker.stop()
            wire.access.close()  # the last buffered audit rows

    app = Starlette(routes=[], lifespan=lifespan)
    app.router.default = wire  # every path: a route's pattern would not match one holding a newline
    app.state.instance = instance
    app.state.gateway = wire.gateway
    app.state.faces = wire.faces
    return app
