"""ASGI assembly: the SageMaker control plane on ``POST /`` and a health check."""

from __future__ import annotations

import contextlib

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .. import runtime
from ..instance import Instance
from .gateway import Gateway, WireRequest


def create_app(instance: Instance) -> Starlette:
    gateway = Gateway(instance)

    async def control_plane(request: Request) -> Response:
        body = await request.body()
        headers = {}
        for name, value in request.headers.items():  # repeated headers join with "," as SigV4 expects
            headers[name] = f"{headers[name]},{value}" if name in headers else value
        wire = WireRequest(
            method=request.method,
            path=request.scope.get("raw_path", b"/").decode("latin-1").split("?", 1)[0] or "/",
            query_string=request.scope.get("query_string", b"").decode("latin-1"),
            headers=headers,
            body=body,
            source_ip=request.client.host if request.client else None,
        )
        answer = await run_in_threadpool(gateway.handle, wire)
        return Response(answer.body, status_code=answer.status, headers=answer.headers)

    async def health(_: Request) -> Response:
        return JSONResponse({"status": "ok", "service": "charter"})

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

    app = Starlette(
        routes=[Route("/", control_plane, methods=["POST"]), Route("/health", health, methods=["GET"])],
        lifespan=lifespan,
    )
    app.state.instance = instance
    app.state.gateway = gateway
    return app
