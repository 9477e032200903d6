"""The server reads a long prompt off the model's batching thread: a running stream
keeps stepping while another request's prompt is read (an in-process server whose
model records its steps and holds the long prompt's read until it sees them)."""

from __future__ import annotations

import threading

import httpx
import pytest
import uvicorn

from tests.serving import events, wait_for
from textgen.serve import server
from textgen.serve.app import create_app
from textgen.serve.config import Limits, ServeConfig
from textgen.serve.models import load_models

LONG_PROMPT = "All:\n" * 2000  # 10,000 characters, the default --max-prompt
LONG = 200_000  # tokens: a stream that runs until it is closed
STEPS = 5  # batch steps the long read waits to see
GUARD_S = 20  # only against a hang: the read goes on after this even if it saw none


@pytest.fixture
def instrumented(char_run):
    """The served model, its steps counted; reading LONG_PROMPT waits for STEPS steps."""
    models = load_models([char_run])
    gen = next(iter(models.values())).generator
    seen = threading.Condition()
    counts = {"steps": 0, "during_read": None}
    net_step, start = gen.net.step, gen.start

    def step(ids, state):
        with seen:
            counts["steps"] += 1
            seen.notify_all()
        return net_step(ids, state)

    def read(prime, state=None):
        if prime.text == LONG_PROMPT:
            with seen:
                before = counts["steps"]
                seen.wait_for(lambda: counts["steps"] >= before + STEPS, GUARD_S)
                counts["during_read"] = counts["steps"] - before
        return start(prime, state)

    gen.net.step, gen.start = step, read
    return models, counts


@pytest.fixture
def url(instrumented):
    models, _ = instrumented
    sock = server.listen("127.0.0.1", 0)
    app = create_app(models, ServeConfig(Limits(max_length=LONG)))
    srv = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    assert wait_for(lambda: srv.started, timeout=30)
    yield server.url_of(sock).rstrip("/")
    srv.should_exit = True
    thread.join(30)


def test_a_stream_keeps_stepping_while_another_prompt_is_read(url, instrumented):
    _, counts = instrumented
    answers = {}
    with httpx.Client(base_url=url, timeout=60) as client:
        body = {"prompt": "All:", "length": LONG, "seed": 1, "stream": True}
        with client.stream("POST", "/api/generate", json=body) as r:
            assert r.status_code == 200, r.read()
            it = events(r)
            assert next(it)[0] == "start"
            assert next(it)[0] == "piece"  # the stream is running

            def long_request():
                answers["long"] = client.post("/api/generate", json={
                    "prompt": LONG_PROMPT, "length": 5, "seed": 2})

            other = threading.Thread(target=long_request)
            other.start()
            other.join(GUARD_S + 30)
            pieces = [next(it) for _ in range(3)]  # and still running afterwards
    assert answers["long"].status_code == 200, answers["long"].text
    assert answers["long"].json()["prompt"] == LONG_PROMPT
    # The batch went on stepping the stream while the long prompt was being read.
    assert counts["during_read"] >= STEPS
    assert all(name == "piece" for name, _ in pieces)
