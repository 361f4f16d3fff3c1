"""The DeepAR image's ``serve`` command: the model in ``opt/ml/model`` behind SageMaker's container HTTP API.

Per the container contract (specs/containers.md, section 4):

- ``GET /ping``: 200 with an empty body once the model is loaded (503 while it loads,
  500 with the reason if it cannot be loaded);
- ``POST /invocations``: ``application/json`` or ``application/jsonlines`` bodies,
  answered as ``inference.py`` describes; a bad request is a 4xx whose plain-text body
  says what is wrong (it becomes the caller's ``ModelError`` message);
- ``GET /execution-parameters``: what batch transform should send (one record per request);
- port ``SAGEMAKER_BIND_TO_PORT``, else 8080; workers ``SAGEMAKER_MODEL_SERVER_WORKERS`` or
  ``MODEL_SERVER_WORKERS`` (default 1).

The socket is bound before the model (and torch) is loaded, in the background, so the
platform's first connection is accepted at once and ``/ping`` reports readiness.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from .. import ClientError
from .model_files import read_summary

if TYPE_CHECKING:
    from .inference import Forecaster, InferenceConfig

__all__ = ["DEFAULT_PORT", "app_from_environment", "create_app", "run"]

DEFAULT_PORT = 8080
DEFAULT_HOST = "127.0.0.1"
_MODEL_DIR_ENV = "CHARTER_DEEPAR_MODEL_DIR"  # hands the model directory to worker processes


class _Loader:
    """Loads the model (and the batch configuration from the environment) once, in a background thread.

    pandas and torch take seconds to import; doing it here keeps the socket answering from the start.
    """

    def __init__(self, model_dir: Path, jsonlines_config: "InferenceConfig | None"):
        self.model_dir = model_dir
        self.done = threading.Event()
        self.forecaster: Forecaster | None = None
        self.config = jsonlines_config
        self.error: str | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._load, name="deepar-model-loader", daemon=True)
            self._thread.start()

    def _load(self) -> None:
        try:
            from .inference import Forecaster, config_from_environment

            if self.config is None:
                self.config = config_from_environment()
            self.forecaster = Forecaster.load(self.model_dir)
        except Exception as error:  # reported by /ping and /invocations rather than lost in a thread
            self.error = f"{type(error).__name__}: {error}" if not isinstance(error, ClientError) else str(error)
        finally:
            self.done.set()

    def wait(self) -> Forecaster:
        self.start()
        self.done.wait()
        if self.forecaster is None:
            raise RuntimeError(f"the model could not be loaded: {self.error}")
        return self.forecaster


def create_app(model_dir: Path, jsonlines_config: "InferenceConfig | None" = None, workers: int = 1) -> Starlette:
    """The ASGI app serving the DeepAR model in ``model_dir``.

    ``jsonlines_config`` answers JSON Lines requests; by default it is read from
    ``DEEPAR_INFERENCE_CONFIG`` (a bad value makes ``/ping`` fail with the reason).
    """
    loader = _Loader(Path(model_dir), jsonlines_config)

    async def ping(request: Request) -> Response:
        loader.start()
        if not loader.done.is_set():
            return PlainTextResponse("the model is loading", status_code=503)
        if loader.forecaster is None:
            return PlainTextResponse(f"the model could not be loaded: {loader.error}", status_code=500)
        return Response(status_code=200)

    async def invocations(request: Request) -> Response:
        body = await request.body()
        try:
            forecaster = await run_in_threadpool(loader.wait)
        except RuntimeError as error:
            return PlainTextResponse(str(error), status_code=500)
        try:
            text, content_type = await run_in_threadpool(
                forecaster.answer, body, request.headers.get("content-type"), loader.config)
        except ClientError as error:  # inference.RequestError carries its HTTP status
            return PlainTextResponse(str(error), status_code=getattr(error, "status", 400))
        return Response(text, media_type=content_type)

    async def execution_parameters(request: Request) -> Response:
        return JSONResponse({"MaxConcurrentTransforms": workers, "BatchStrategy": "SINGLE_RECORD", "MaxPayloadInMB": 6})

    @contextlib.asynccontextmanager
    async def lifespan(app):
        loader.start()  # in the background: the socket is listening while torch loads
        yield

    return Starlette(
        routes=[
            Route("/ping", ping, methods=["GET"]),
            Route("/invocations", invocations, methods=["POST"]),
            Route("/execution-parameters", execution_parameters, methods=["GET"]),
        ],
        lifespan=lifespan,
    )


def app_from_environment() -> Starlette:
    """The app for a worker process (uvicorn factory): model directory and configuration from the environment."""
    return create_app(Path(os.environ[_MODEL_DIR_ENV]), None, _workers())


def _workers() -> int:
    for name in ("SAGEMAKER_MODEL_SERVER_WORKERS", "MODEL_SERVER_WORKERS"):
        text = os.environ.get(name, "").strip()
        if text:
            if not text.isdigit() or int(text) < 1:
                raise ClientError(f"{name} must be a positive integer (got {text!r})")
            return int(text)
    return 1


def _port() -> int:
    text = os.environ.get("SAGEMAKER_BIND_TO_PORT", "").strip()
    if not text:
        return DEFAULT_PORT
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ClientError(f"SAGEMAKER_BIND_TO_PORT must be a port number (got {text!r})")
    return int(text)


def run(root: Path, host: str | None = None, port: int | None = None) -> None:
    """Serve ``root/opt/ml/model`` until stopped (SIGTERM/SIGINT end it gracefully)."""
    import uvicorn

    model_dir = Path(root) / "opt" / "ml" / "model"
    summary = read_summary(model_dir)  # refuse a missing or foreign model before listening
    workers = _workers()
    host = host or os.environ.get("CHARTER_SERVE_HOST") or DEFAULT_HOST
    port = port if port is not None else _port()
    print(f"Serving DeepAR ({summary.time_freq}, prediction_length {summary.prediction_length}, "
          f"likelihood {summary.likelihood}) from {model_dir} on http://{host}:{port} with {workers} worker(s)",
          flush=True)
    sys.stdout.flush()
    if workers > 1:
        os.environ[_MODEL_DIR_ENV] = str(model_dir.resolve())
        uvicorn.run("charter.builtins.forecasting_deepar.server:app_from_environment", factory=True, host=host,
                    port=port, workers=workers, log_level="warning", access_log=False)
    else:
        uvicorn.run(create_app(model_dir, None, workers), host=host, port=port, log_level="warning",
                    access_log=False)
