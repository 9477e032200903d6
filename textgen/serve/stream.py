"""How each API words a generation, and the one server-sent-event loop both use.

textgen's API (`/api/generate`) and the OpenAI-compatible one (`/v1/completions`)
differ only in words: how a request is parsed, what the JSON answer holds and
what each event looks like. A `Dialect` says those words; `events` is the one
streaming loop (drain the job's events, write them in one go, free the slot
before the last write), and `JobStream` the response that cancels the job
however it ends.
"""

from __future__ import annotations

import json
import sys
import time
import traceback
from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.responses import StreamingResponse

from textgen.generate.generation import Sample
from textgen.serve.jobs import Done, Job, Piece, Pool
from textgen.serve.params import ApiError, Limits, Request, native_request, openai_request


class Dialect:
    """One API's words for a generation (subclasses fill them in)."""

    #: Parses a request body: (body, limits, default model) -> Request; raises ApiError.
    parse: Callable[[Any, Limits, str | None], Request]
    end = ""  # written after the last event

    def result(self, job: Job, done: Done) -> dict[str, Any]:
        """The JSON answer of a finished job (not streaming)."""
        raise NotImplementedError

    def head(self, job: Job) -> dict[str, Any]:
        """What every event of the stream repeats (computed once per stream)."""
        return {}

    def opening(self, job: Job, head: dict[str, Any]) -> str:
        """The events written before any text ("" for none)."""
        return ""

    def piece(self, head: dict[str, Any], piece: Piece) -> str:
        """The event of a piece of text."""
        raise NotImplementedError

    def error(self, head: dict[str, Any], error: BaseException) -> str:
        """The event of an error that ended the job."""
        raise NotImplementedError

    def done(self, head: dict[str, Any], job: Job, done: Done) -> str:
        """The events of the job's end."""
        raise NotImplementedError


class Native(Dialect):
    """textgen's API: named events `start`, `piece`, `done` (or `error`)."""

    parse = staticmethod(native_request)

    def result(self, job, done):
        out = {**_job_facts(job), "texts": [s.text for s in done.samples],
               "finish_reasons": [s.finish_reason for s in done.samples],
               "tokens": [s.tokens for s in done.samples]}
        poems = job.poem_reports(done.samples)
        if poems is not None:  # per sample: constraints, checks, what was relaxed
            out["poems"] = poems
        return out

    def opening(self, job, head):
        return sse({"id": job.id, **_job_facts(job)}, "start")

    def piece(self, head, piece):
        return sse({"index": piece.index, "text": piece.text}, "piece")

    def error(self, head, error):
        return sse(error_body(error), "error")

    def done(self, head, job, done):
        return sse(self.result(job, done), "done")


class OpenAI(Dialect):
    """OpenAI's completions: `data: {...}` chunks, one finish chunk per sample, `[DONE]`."""

    parse = staticmethod(openai_request)
    end = "data: [DONE]\n\n"

    def result(self, job, done):
        completion = sum(s.tokens for s in done.samples)
        prompt = int(job.prime.ids.size)
        choices = _with_poems(job, done, [
            {"text": s.text, "index": i, "logprobs": None, "finish_reason": _openai_reason(s)}
            for i, s in enumerate(done.samples)])
        return {
            **self.head(job),
            "choices": choices,
            "usage": {"prompt_tokens": prompt, "completion_tokens": completion,
                      "total_tokens": prompt + completion},
        }

    def head(self, job):
        return {"id": f"cmpl-{job.id}", "object": "text_completion",
                "created": int(time.time()), "model": job.model.name}

    def piece(self, head, piece):
        return sse({**head, "choices": [{"text": piece.text, "index": piece.index,
                                         "logprobs": None, "finish_reason": None}]})

    def error(self, head, error):
        return sse(error_body(error))

    def done(self, head, job, done):
        choices = _with_poems(job, done, [
            {"text": "", "index": i, "logprobs": None, "finish_reason": _openai_reason(s)}
            for i, s in enumerate(done.samples)])
        return "".join(sse({**head, "choices": [choice]}) for choice in choices)


async def events(job: Job, dialect: Dialect, pool: Pool) -> AsyncIterator[str]:
    """The stream of one job in `dialect`: every event that is ready, in one write."""
    head = dialect.head(job)
    opening = dialect.opening(job, head)
    if opening:
        yield opening
    while True:
        ready = await job.next_events()  # at least one
        out = []
        for event in ready:
            if isinstance(event, Piece):
                out.append(dialect.piece(head, event))
            elif event.error is not None:
                out.append(dialect.error(head, event.error))
            else:
                out.append(dialect.done(head, job, event))
        if isinstance(ready[-1], Done):
            pool.close(job)  # before the last write: the client may ask again at once
            yield "".join(out) + dialect.end
            return
        yield "".join(out)


class JobStream(StreamingResponse):
    """Server-sent events of one job; the job is cancelled however the response ends
    (finished, client gone, server stopping)."""

    def __init__(self, job: Job, dialect: Dialect, pool: Pool):
        super().__init__(events(job, dialect, pool), media_type="text/event-stream",
                         headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
        self.job, self.pool = job, pool

    async def __call__(self, scope, receive, send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.pool.close(self.job)


def sse(data: dict[str, Any], event: str | None = None) -> str:
    """One server-sent event; JSON keeps every character whole (no escapes needed)."""
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(data, ensure_ascii=False)}\n\n"


def error_body(error: BaseException) -> dict[str, Any]:
    """The JSON error body of an exception (a bug is logged and answered as a 500)."""
    if isinstance(error, ApiError):
        return error.body()
    log_bug(error)
    return ApiError(500, f"internal error: {type(error).__name__}").body()


def log_bug(error: BaseException) -> None:
    """Prints a bug's traceback on the server's console."""
    traceback.print_exception(error, file=sys.stderr)


def _openai_reason(sample: Sample) -> str:
    """OpenAI's finish reasons are "stop" and "length": a cancelled sample stopped, and
    so did a complete poem (its natural end, as a model's end-of-text token is)."""
    return "stop" if sample.finish_reason in ("cancelled", "complete") else sample.finish_reason


def _with_poems(job: Job, done: Done, choices: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """OpenAI's choices, each with its poem's checks as `poem` (an extension, like
    the poem options) when the request asked for a poem."""
    for choice, poem in zip(choices, job.poem_reports(done.samples) or (), strict=False):
        choice["poem"] = poem
    return choices


def _job_facts(job: Job) -> dict[str, Any]:
    gen = job.model.generator
    return {"model": job.model.name, "prompt": job.prime.text, "dropped": job.prime.dropped,
            "seed": job.seed, "seeds": [job.seed + i for i in range(job.request.n)],
            "checkpoint": gen.checkpoint, "step": gen.step}
