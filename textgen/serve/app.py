"""The web application: the playground page, textgen's JSON API and an OpenAI-compatible one.

Routes (all JSON unless said):
    GET  /                 the playground page (HTML, self-contained, works offline)
    GET  /healthz          liveness and pool load (no key needed)
    GET  /api/models       the models and their facts
    POST /api/generate     {model, prompt, length, seed, n, stop, max_lines, stream, drop_unknown,
                            each sampling setting: temperature, top_k, top_p,
                            repetition_penalty, repetition_window, and each poem
                            option: form, acrostic, rhyme, rhyme_group, tones, no_repeat}
    POST /api/cancel       {id}: stop a streaming generation (its `start` event gave the id)
    GET  /v1/models        OpenAI's model list
    POST /v1/completions   OpenAI's completions (streaming: `data: {...}` lines, `data: [DONE]`)

Both generating routes share one handler and one server-sent-event loop
(`textgen.serve.stream`); they differ only in their `Dialect`. Errors are
`{"error": {"message", "type", "param", "code"}}` with the matching status.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Callable
from importlib import resources
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.requests import Request as HttpRequest
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from textgen import __version__
from textgen.generate.poetry.spec import POEM_OPTIONS
from textgen.serve.config import ServeConfig
from textgen.serve.jobs import Done, Job, Pool
from textgen.serve.models import Model
from textgen.serve.params import ApiError, Request
from textgen.serve.stream import Dialect, JobStream, Native, OpenAI, log_bug

__all__ = ["ServeConfig", "create_app"]

NATIVE, OPENAI = Native(), OpenAI()  # how each API words a generation
# What the page builds its poem controls from (a model whose facts say "poetry").
POEM_FIELDS = [{"name": o.name, "choices": o.choices, "flag": o.flag, "summary": o.summary}
               for o in POEM_OPTIONS]

DISCONNECT_POLL_S = 0.25  # how often a non-streaming request checks that its client is there


def create_app(models: dict[str, Model], config: ServeConfig) -> Starlette:
    """Builds the application for the loaded models.

    Args:
        models: the models by name (see `textgen.serve.models.load_models`).
        config: limits, pool size and key.
    """
    pool = Pool(config.workers, config.queue)
    api = _Api(models, config, pool)
    routes = [
        Route("/", api.page),
        Route("/healthz", api.healthz),
        Route("/api/models", api.list_models),
        Route("/api/generate", api.generate, methods=["POST"]),
        Route("/api/cancel", api.cancel, methods=["POST"]),
        Route("/v1/models", api.openai_models),
        Route("/v1/completions", api.completions, methods=["POST"]),
    ]
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        pool.shutdown()  # cancels what still runs (uvicorn has closed the connections)

    app = Starlette(
        routes=routes,
        exception_handlers={ApiError: _api_error, HTTPException: _http_error,
                            Exception: _internal_error},
        lifespan=lifespan,
    )
    app.add_middleware(_GuardMiddleware, api_key=config.api_key,
                       loopback_only=config.loopback_only)
    app.state.pool = pool
    return app


class _Api:
    """The route handlers, sharing the models, limits and pool."""

    def __init__(self, models: dict[str, Model], config: ServeConfig, pool: Pool):
        self.models, self.config, self.pool = models, config, pool
        self.default = next(iter(models)) if len(models) == 1 else None
        self.started = int(time.time())
        self.max_body = 4 * config.limits.max_prompt + 65_536  # UTF-8 and JSON escapes

    # === Page and facts ===

    async def page(self, request: HttpRequest) -> Response:
        html = resources.files("textgen.serve").joinpath("page.html").read_text("utf-8")
        return HTMLResponse(html, headers={"Cache-Control": "no-store"})

    async def healthz(self, request: HttpRequest) -> Response:
        return JSONResponse({"status": "ok", "version": __version__,
                             "models": list(self.models), **self.pool.stats()})

    async def list_models(self, request: HttpRequest) -> Response:
        return JSONResponse({"models": [m.facts for m in self.models.values()],
                             "limits": vars(self.config.limits),
                             "poem_options": POEM_FIELDS})

    async def openai_models(self, request: HttpRequest) -> Response:
        return JSONResponse({"object": "list", "data": [
            {"id": name, "object": "model", "created": self.started, "owned_by": "textgen"}
            for name in self.models]})

    # === Generating ===

    async def generate(self, request: HttpRequest) -> Response:
        return await self._answer(request, NATIVE)

    async def cancel(self, request: HttpRequest) -> Response:
        body = await self._json(request)
        job_id = body.get("id") if isinstance(body, dict) else None
        if not isinstance(job_id, str):
            raise ApiError(400, "`id` must be the id of a generation (its start event)", "id")
        job = self.pool.get(job_id)
        if job is None:
            raise ApiError(404, "no running generation has this id (it may have finished)", "id")
        job.cancel()
        return JSONResponse({"id": job_id, "cancelled": True})

    async def completions(self, request: HttpRequest) -> Response:
        return await self._answer(request, OPENAI)

    async def _answer(self, request: HttpRequest, dialect: Dialect) -> Response:
        """Parses a request in `dialect`, starts its job, and answers with its events
        (streaming) or its result (one JSON body): the shape both APIs share."""
        req = dialect.parse(await self._json(request), self.config.limits, self.default)
        job = await self._start(req)
        if req.stream:
            return JobStream(job, dialect, self.pool)
        return JSONResponse(dialect.result(job, await self._collect(job, request)))

    # === Helpers ===

    async def _json(self, request: HttpRequest) -> Any:
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > self.max_body:
            raise ApiError(413, f"the request body is over {self.max_body:,} bytes")
        body = bytearray()
        try:
            async for chunk in request.stream():
                body += chunk
                if len(body) > self.max_body:
                    raise ApiError(413, f"the request body is over {self.max_body:,} bytes")
        except ClientDisconnect:
            raise ApiError(400, "the client went away before sending the whole body") from None
        try:
            return json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise ApiError(400, "the request body must be JSON (UTF-8), e.g. "
                           '{"model": "...", "prompt": "..."}') from None

    async def _start(self, req: Request) -> Job:
        model = self.models.get(req.model)
        if model is None:
            raise ApiError(404, f"no model named {req.model!r}; this server has: "
                           + ", ".join(self.models), "model")
        job = self.pool.open(model, req)  # 503 before any work when the server is full
        try:
            # The prompt is encoded and read on a worker thread: not on the event
            # loop, and not on the model's batcher, which keeps stepping the others.
            await anyio.to_thread.run_sync(job.prepare)
            self.pool.start(job)
        except BaseException:
            self.pool.close(job)
            raise
        return job

    async def _collect(self, job: Job, request: HttpRequest) -> Done:
        """Waits for a job's end, then frees its slot; cancels it if the client goes away."""
        checked = time.monotonic()
        try:
            while True:
                ready = await job.next_events(DISCONNECT_POLL_S)
                if ready and isinstance(ready[-1], Done):
                    if ready[-1].error is not None:
                        raise ready[-1].error
                    return ready[-1]
                if time.monotonic() - checked >= DISCONNECT_POLL_S:
                    checked = time.monotonic()
                    if await request.is_disconnected():
                        job.cancel()
        finally:
            self.pool.close(job)


LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}


class _GuardMiddleware:
    """Refuses requests addressed to another host name when serving loopback only (421),
    and requires `Authorization: Bearer <key>` on /api/ and /v1/ when a key is set (401)."""

    def __init__(self, app: Callable, api_key: str | None, loopback_only: bool):
        self.app, self.loopback_only = app, loopback_only
        self.key = api_key.encode("utf-8") if api_key else None

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        error = None
        if self.loopback_only and _host_name(headers.get(b"host", b"")) not in LOOPBACK_NAMES:
            error = ApiError(421, "this server answers requests to localhost or 127.0.0.1 "
                             "only (it was started with a loopback --host)")
        elif self.key and scope.get("path", "").startswith(("/api/", "/v1/")):
            scheme, _, token = headers.get(b"authorization", b"").partition(b" ")
            if scheme.lower() != b"bearer" or not hmac.compare_digest(token.strip(), self.key):
                error = ApiError(401, "this server needs an API key: send the header "
                                 "'Authorization: Bearer <key>'", headers={
                                     "WWW-Authenticate": "Bearer"})
        if error is None:
            await self.app(scope, receive, send)
            return
        response = JSONResponse(error.body(), error.status, headers=error.headers)
        await response(scope, receive, send)


def _host_name(host: bytes) -> str:
    """The name in a Host header, without its port ("[::1]:8000" -> "::1")."""
    text = host.decode("latin-1").strip().lower()
    if text.startswith("["):
        return text[1:].split("]", 1)[0]
    return text.rsplit(":", 1)[0] if text.count(":") == 1 else text


async def _api_error(request: HttpRequest, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return JSONResponse(exc.body(), exc.status, headers=exc.headers)


async def _http_error(request: HttpRequest, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = {404: f"no such endpoint: {request.url.path} (see GET / for the page, "
                    "/api/models, /api/generate, /v1/completions)",
               405: f"{request.method} is not allowed on {request.url.path}"}
    return JSONResponse(ApiError(exc.status_code, message.get(exc.status_code, exc.detail)).body(),
                        exc.status_code, headers=exc.headers)


async def _internal_error(request: HttpRequest, exc: Exception) -> Response:
    log_bug(exc)
    return JSONResponse(ApiError(500, f"internal error: {type(exc).__name__}").body(), 500)
