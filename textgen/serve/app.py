"""The web application: the playground page, textgen's JSON API and an OpenAI-compatible one.

Routes (all JSON unless said):
    GET  /                 the playground page (HTML, self-contained, works offline)
    GET  /healthz          liveness and pool load (no key needed)
    GET  /api/models       the models and their facts
    POST /api/generate     {model, prompt, length, temperature, top_k, top_p,
                            repetition_penalty, seed, n, stop, stream, drop_unknown}
    POST /api/cancel       {id}: stop a streaming generation (its `start` event gave the id)
    GET  /v1/models        OpenAI's model list
    POST /v1/completions   OpenAI's completions (streaming: `data: {...}` lines, `data: [DONE]`)

Errors are `{"error": {"message", "type", "param", "code"}}` with the matching status.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import sys
import time
import traceback
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.requests import Request as HttpRequest
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from textgen import __version__
from textgen.errors import TextgenError
from textgen.generate.generator import Prime, Sample
from textgen.serve.jobs import Done, Job, Piece, Pool
from textgen.serve.models import Model
from textgen.serve.params import ApiError, Limits, Request, native_request, openai_request

DISCONNECT_POLL_S = 0.25  # how often a non-streaming request checks that its client is there


@dataclass
class ServeConfig:
    """How the server behaves (the `textgen serve` options).

    Attributes:
        limits: caps on what one request may ask.
        workers: generations per model that run at once (stepped as one batch).
        queue: requests that may wait beyond those (more get 503).
        api_key: when set, /api/* and /v1/* need `Authorization: Bearer <key>`.
        loopback_only: answer only requests addressed to this machine by name
            (Host: localhost, 127.0.0.1 or [::1]): a web page cannot reach a
            loopback server through a DNS name it controls (DNS rebinding).
    """

    limits: Limits = field(default_factory=Limits)
    workers: int = 32
    queue: int = 32
    api_key: str | None = None
    loopback_only: bool = True


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
                             "limits": vars(self.config.limits)})

    async def openai_models(self, request: HttpRequest) -> Response:
        return JSONResponse({"object": "list", "data": [
            {"id": name, "object": "model", "created": self.started, "owned_by": "textgen"}
            for name in self.models]})

    # === Generating ===

    async def generate(self, request: HttpRequest) -> Response:
        return await self._answer(request, native_request, self._native_events,
                                  self._native_result)

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
        return await self._answer(request, openai_request, self._openai_events,
                                  self._openai_result)

    async def _answer(self, request: HttpRequest, parse: Callable, events: Callable,
                      result: Callable) -> Response:
        """Parses a request with `parse`, starts its job, and answers with `events`
        (streaming) or `result` (one JSON body): the shape both APIs share."""
        req = parse(await self._json(request), self.config.limits, self.default)
        job = await self._start(req)
        if req.stream:
            return _JobStream(events(job), job, self.pool)
        return JSONResponse(result(job, await self._collect(job, request)))

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
            self.pool.start(job, await anyio.to_thread.run_sync(_encode, model, req))
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

    def _native_result(self, job: Job, done: Done) -> dict[str, Any]:
        return {**_job_facts(job), "texts": [s.text for s in done.samples],
                "finish_reasons": [s.finish_reason for s in done.samples],
                "tokens": [s.tokens for s in done.samples]}

    async def _native_events(self, job: Job) -> AsyncIterator[str]:
        yield _sse({"id": job.id, **_job_facts(job)}, "start")
        while True:
            out = []
            for event in await job.next_events():
                if isinstance(event, Piece):
                    out.append(_sse({"index": event.index, "text": event.text}, "piece"))
                elif event.error is not None:
                    out.append(_sse(_error_body(event.error), "error"))
                else:
                    out.append(_sse(self._native_result(job, event), "done"))
            if isinstance(event, Done):
                self.pool.close(job)  # before the last write: the client may ask again at once
                yield "".join(out)
                return
            yield "".join(out)

    def _openai_result(self, job: Job, done: Done) -> dict[str, Any]:
        completion = sum(s.tokens for s in done.samples)
        return {
            **_openai_head(job),
            "choices": [{"text": s.text, "index": i, "logprobs": None,
                         "finish_reason": _openai_reason(s)}
                        for i, s in enumerate(done.samples)],
            "usage": {"prompt_tokens": int(job.prime.ids.size), "completion_tokens": completion,
                      "total_tokens": int(job.prime.ids.size) + completion},
        }

    async def _openai_events(self, job: Job) -> AsyncIterator[str]:
        head = _openai_head(job)
        while True:
            out = []
            for event in await job.next_events():
                if isinstance(event, Piece):
                    out.append(_sse({**head, "choices": [{"text": event.text, "index": event.index,
                                                          "logprobs": None,
                                                          "finish_reason": None}]}))
                elif event.error is not None:
                    out.append(_sse(_error_body(event.error)))
                else:
                    out += [_sse({**head, "choices": [{"text": "", "index": i, "logprobs": None,
                                                       "finish_reason": _openai_reason(s)}]})
                            for i, s in enumerate(event.samples)]
            if isinstance(event, Done):
                self.pool.close(job)
                yield "".join(out) + "data: [DONE]\n\n"
                return
            yield "".join(out)


def _encode(model: Model, req: Request) -> Prime:
    """Encodes the prompt (off the event loop: a word model segments it with jieba)."""
    try:
        prime = model.generator.encode_prime(req.prompt, drop_unknown=True)
    except TextgenError as e:
        raise ApiError(400, f"`prompt`: {e}", "prompt") from None
    if prime.dropped and not req.drop_unknown:
        shown = " ".join(repr(t) for t in prime.dropped[:20])
        raise ApiError(400, f"the prompt has {len(prime.dropped)} character(s) model "
                       f"{model.name!r} never saw: {shown}; rephrase it, or send "
                       '"drop_unknown": true to leave them out', "prompt")
    return prime


def _openai_reason(sample: Sample) -> str:
    """OpenAI's finish reasons are "stop" and "length": a cancelled sample stopped."""
    return "stop" if sample.finish_reason == "cancelled" else sample.finish_reason


def _job_facts(job: Job) -> dict[str, Any]:
    gen = job.model.generator
    return {"model": job.model.name, "prompt": job.prime.text, "dropped": job.prime.dropped,
            "seed": job.seed, "seeds": [job.seed + i for i in range(job.request.n)],
            "checkpoint": gen.checkpoint, "step": gen.step}


def _openai_head(job: Job) -> dict[str, Any]:
    return {"id": f"cmpl-{job.id}", "object": "text_completion",
            "created": int(time.time()), "model": job.model.name}


def _sse(data: dict[str, Any], event: str | None = None) -> str:
    """One server-sent event; JSON keeps every character whole (no escapes needed)."""
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(data, ensure_ascii=False)}\n\n"


def _error_body(error: BaseException) -> dict[str, Any]:
    if isinstance(error, ApiError):
        return error.body()
    _log_bug(error)
    return ApiError(500, f"internal error: {type(error).__name__}").body()


def _log_bug(error: BaseException) -> None:
    traceback.print_exception(error, file=sys.stderr)


class _JobStream(StreamingResponse):
    """Server-sent events of one job; the job is cancelled however the response ends
    (finished, client gone, server stopping)."""

    def __init__(self, events: AsyncIterator[str], job: Job, pool: Pool):
        super().__init__(events, media_type="text/event-stream",
                         headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
        self.job, self.pool = job, pool

    async def __call__(self, scope, receive, send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.pool.close(self.job)


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
    _log_bug(exc)
    return JSONResponse(ApiError(500, f"internal error: {type(exc).__name__}").body(), 500)
