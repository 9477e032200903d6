"""`textgen serve` against a real server on a loopback port: JSON, streaming, the OpenAI
shim through the `openai` client, every error status, auth, limits and cancelling."""

from __future__ import annotations

import json
import math
import socket

import httpx
import openai
import pytest

from tests.serving import events, start_server, wait_for
from tests.test_cli import assert_user_error, invoke
from textgen.generate.generator import Generator
from textgen.generate.samplers import SamplerSettings
from textgen.run.directory import RunDir

KEY = "test-key-123"
LONG = 200_000  # tokens: a generation that runs until it is cancelled


@pytest.fixture(scope="module")
def server(served_runs):
    srv = start_server(*served_runs.values(), "--workers", 2, "--queue", 2, "--max-length", LONG,
                       "--max-prompt", 500, "--api-key", KEY)
    yield srv
    assert srv.stop() == 0, srv.stderr


@pytest.fixture
def runs(served_runs):
    return served_runs


@pytest.fixture
def client(server):
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {KEY}"},
                      timeout=60) as c:
        yield c
    assert wait_for(lambda: idle(server)), "a test left a generation running"


def health(server) -> dict:
    return httpx.get(f"{server.url}/healthz").json()


def idle(server) -> bool:
    return health(server)["requests"] == 0


def local(run, prompt, length, seed, n=1, **settings):
    gen = Generator(run, RunDir(run).pick_checkpoint(None))
    texts = gen.generate(prompt, length, n=n, seed=seed, settings=SamplerSettings(**settings))
    return texts if n > 1 else [texts]


def test_models_lists_each_run_with_its_facts(client, runs):
    models = {m["name"]: m for m in client.get("/api/models").json()["models"]}
    assert list(models) == ["en", "zh", "words", "tuned"]
    assert [models[n]["tokenizer"] for n in models] == ["char", "char", "word", "char"]
    for name, facts in models.items():
        run = RunDir(runs[name])
        assert facts["checkpoint"] == run.pick_checkpoint(None)
        assert facts["step"] == run.read_checkpoint(facts["checkpoint"]).state.step > 0
        assert facts["vocab_size"] == len(
            json.loads((runs[name] / "vocab.json").read_text(encoding="utf-8"))["tokens"])
    assert models["en"]["layers"] == 2 and models["en"]["units"] == 32
    assert models["en"]["best_val_bits_per_char"] > 0
    assert models["tuned"]["lineage"][0]["base"] == runs["en"].resolve().name
    assert models["en"]["lineage"] == []
    listed = client.get("/v1/models").json()
    assert [m["id"] for m in listed["data"]] == ["en", "zh", "words", "tuned"]


def test_generate_gives_what_the_library_gives(client, runs):
    body = {"model": "en", "prompt": "All:\n", "length": 80, "seed": 7, "n": 2,
            "temperature": 0.7, "top_p": 0.9}
    out = client.post("/api/generate", json=body).json()
    assert out["texts"] == local(runs["en"], "All:\n", 80, 7, n=2, temperature=0.7, top_p=0.9)
    assert out["seeds"] == [7, 8] and out["finish_reasons"] == ["length", "length"]
    assert out["tokens"] == [80, 80]
    # Temperature really reaches the sampler: greedy differs from hot.
    greedy = client.post("/api/generate", json={**body, "temperature": 0, "n": 1}).json()
    assert greedy["texts"] == local(runs["en"], "All:\n", 80, 7, temperature=0)
    assert greedy["texts"][0] != out["texts"][0]


def test_concurrent_requests_are_stepped_together_and_each_gets_its_own_text(client, runs):
    import concurrent.futures

    bodies = [{"model": "en", "prompt": p, "length": 150, "seed": seed, "temperature": t,
               "top_k": k, "n": n}
              for p, seed, t, k, n in [("All:", 1, 0.8, 0, 1), ("First", 2, 1.2, 5, 2),
                                       ("", 3, 0.5, 0, 1), ("Speak", 4, 1.0, 0, 1)]]
    with concurrent.futures.ThreadPoolExecutor(4) as pool:  # 2 run, 2 wait, then join
        answers = list(pool.map(lambda b: client.post("/api/generate", json=b).json(), bodies))
    for body, answer in zip(bodies, answers, strict=True):
        assert answer["texts"] == local(runs["en"], body["prompt"], 150, body["seed"],
                                        n=body["n"], temperature=body["temperature"],
                                        top_k=body["top_k"])
    assert client.get("/healthz").json()["largest_batch"] >= 2


def test_stop_strings_end_samples(client):
    out = client.post("/api/generate", json={"model": "en", "prompt": "All:", "length": 500,
                                             "seed": 1, "stop": ["\n\n"]}).json()
    assert out["finish_reasons"] == ["stop"] and "\n\n" not in out["texts"][0]
    assert out["tokens"][0] < 500


def test_max_lines_ends_samples_in_both_apis(client, runs):
    body = {"model": "en", "prompt": "All:", "length": 2000, "seed": 3, "n": 2, "max_lines": 2}
    out = client.post("/api/generate", json=body).json()
    gen = Generator(runs["en"], RunDir(runs["en"]).pick_checkpoint(None))
    assert out["texts"] == gen.generate("All:", 2000, n=2, seed=3, max_lines=2)
    assert all(t.count("\n") == 2 and t.endswith("\n") for t in out["texts"])
    assert out["finish_reasons"] == ["length", "length"]
    with client.stream("POST", "/api/generate", json={**body, "n": 1, "stream": True}) as r:
        pieces = [e["text"] for name, e in events(r) if name == "piece"]
    assert "".join(pieces) == out["texts"][0]
    openai_body = {"model": "en", "prompt": "All:", "max_tokens": 2000, "seed": 3,
                   "max_lines": 2}
    completion = client.post("/v1/completions", json=openai_body).json()
    assert completion["choices"][0]["text"] == out["texts"][0]
    assert completion["choices"][0]["finish_reason"] == "length"


def test_streaming_pieces_arrive_before_the_end_and_stop_cancels(client, server):
    body = {"model": "en", "prompt": "All:", "length": LONG, "seed": 3, "stream": True}
    with client.stream("POST", "/api/generate", json=body) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        it = events(r)
        name, start = next(it)
        assert name == "start" and start["model"] == "en" and start["seed"] == 3
        pieces = []
        for name, data in it:
            if name == "piece":
                pieces.append(data["text"])
            if len(pieces) == 20:
                break
        assert not idle(server)  # 20 pieces in, the generation is still running
        cancel = client.post("/api/cancel", json={"id": start["id"]})
        assert cancel.json() == {"id": start["id"], "cancelled": True}
        rest = list(it)
    done = rest[-1][1]
    assert rest[-1][0] == "done" and done["finish_reasons"] == ["cancelled"]
    pieces += [d["text"] for n, d in rest if n == "piece"]
    assert "".join(pieces) == done["texts"][0]
    assert 20 <= done["tokens"][0] < LONG
    assert client.post("/api/cancel", json={"id": start["id"]}).status_code == 404


@pytest.mark.parametrize("model, prompt", [("zh", "孙悟空"), ("words", "那猴王")])
def test_chinese_streams_whole_characters(client, runs, model, prompt):
    body = {"model": model, "prompt": prompt, "length": 200, "seed": 5, "stream": True,
            "temperature": 1.0}
    with client.stream("POST", "/api/generate", json=body) as r:
        got = list(events(r))  # each event is decoded as strict UTF-8 on its own
    pieces = [d["text"] for n, d in got if n == "piece"]
    done = got[-1][1]
    assert got[-1][0] == "done" and "".join(pieces) == done["texts"][0]
    assert done["texts"] == local(runs[model], prompt, 200, 5)
    assert sum(ch >= "\u4e00" for ch in done["texts"][0]) > 20
    tokens = set(json.loads((runs[model] / "vocab.json").read_text(encoding="utf-8"))["tokens"])
    assert all(p in tokens for p in pieces)  # one whole token per piece, never a fragment


def test_the_openai_client_works_unchanged(server, runs):
    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key=KEY)
    r = client.completions.create(model="en", prompt="All:", max_tokens=60, seed=2, n=2,
                                  temperature=0.8)
    assert [c.text for c in r.choices] == local(runs["en"], "All:", 60, 2, n=2, temperature=0.8)
    assert [c.finish_reason for c in r.choices] == ["length", "length"]
    assert r.usage.completion_tokens == 120 and r.usage.prompt_tokens == 4
    pieces, reasons = [], []
    for chunk in client.completions.create(model="zh", prompt="孙悟空", max_tokens=50, seed=4,
                                           stream=True):
        pieces.append(chunk.choices[0].text)
        reasons.append(chunk.choices[0].finish_reason)
    assert "".join(pieces) == local(runs["zh"], "孙悟空", 50, 4)[0]
    assert reasons[-1] == "length" and set(reasons[:-1]) == {None} and len(pieces) > 10
    stopped = client.completions.create(model="en", prompt="All:", max_tokens=300, seed=1,
                                        stop="\n\n")
    assert stopped.choices[0].finish_reason == "stop"
    # top_k is taken as an extension (as vLLM does): top_k=1 is the greedy choice.
    greedy = client.completions.create(model="en", prompt="All:", max_tokens=40, seed=5,
                                       extra_body={"top_k": 1})
    assert greedy.choices[0].text == local(runs["en"], "All:", 40, 5, temperature=0)[0]
    with pytest.raises(openai.NotFoundError, match="no model named 'gpt-4'"):
        client.completions.create(model="gpt-4", prompt="a")
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=f"{server.url}/v1", api_key="wrong").models.list()


@pytest.mark.parametrize("body, status, param", [
    ({"model": "en", "length": LONG + 1}, 400, "length"),
    ({"model": "en", "temperature": math.nan}, 400, "temperature"),
    ({"model": "en", "temperature": -1}, 400, "temperature"),
    ({"model": "en", "top_k": -1}, 400, "top_k"),
    ({"model": "en", "top_p": 0}, 400, "top_p"),
    ({"model": "en", "n": 99}, 400, "n"),
    ({"model": "en", "seed": "x"}, 400, "seed"),
    ({"model": "en", "stop": [""]}, 400, "stop"),
    ({"model": "en", "stream": "yes"}, 400, "stream"),
    ({"model": "en", "max_lines": 0}, 400, "max_lines"),
    ({"model": "en", "max_lines": "2"}, 400, "max_lines"),
    ({"model": "en", "lenght": 5}, 400, "lenght"),
    ({"prompt": "a"}, 400, "model"),  # several models: naming one is required
    ({"model": "en", "prompt": "春"}, 400, "prompt"),  # never seen by the model
    ({"model": "en", "prompt": "a" * 501}, 413, "prompt"),
    ({"model": "fr"}, 404, "model"),
])
def test_bad_requests_get_a_status_and_name_the_parameter(client, body, status, param):
    r = client.post("/api/generate", content=json.dumps(body))
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert error["param"] == param and error["code"] == status and error["message"]


def _heads(run, k=4) -> str:
    """k Han characters the model knows (acrostic heads)."""
    tokens = json.loads((run / "vocab.json").read_text(encoding="utf-8"))["tokens"]
    return "".join([t for t in tokens if len(t) == 1 and "\u4e00" <= t <= "\u9fff"][:k])


def test_poems_through_both_apis_are_the_librarys_poems_with_their_checks(client, runs):
    heads = _heads(runs["zh"])
    facts = {m["name"]: m for m in client.get("/api/models").json()["models"]}
    assert [facts[n]["poetry"] for n in ("en", "zh", "words")] == [False, True, False]
    body = {"model": "zh", "form": "五絕", "acrostic": heads, "tones": "none", "seed": 5,
            "n": 2}  # no length: the poem sets it
    out = client.post("/api/generate", json=body).json()
    gen = Generator(runs["zh"], RunDir(runs["zh"]).pick_checkpoint(None))
    assert out["texts"] == gen.generate("", 1000, n=2, seed=5, form="五绝", acrostic=heads,
                                        tones="none")
    assert out["finish_reasons"] == ["complete", "complete"]
    for text, poem in zip(out["texts"], out["poems"], strict=True):
        lines = [line for line in text.replace("，", "\n").replace("。", "\n").split("\n")
                 if line]
        assert [len(line) for line in lines] == [5] * 4 and [x[0] for x in lines] == list(heads)
        assert poem["check"]["shape_ok"] and poem["check"]["heads_ok"]
        assert poem["constraints"]["form"] == "五绝" and poem["constraints"]["rhyme"] == "pingshui"
        assert poem["check"]["rhyme_ok"] or poem["relaxed"], poem  # kept, or said it was not
    # OpenAI's API: the same poem, a natural end ("stop"), checks as an extension.
    completion = client.post("/v1/completions", json={
        "model": "zh", "prompt": "", "form": "五绝", "acrostic": heads, "tones": "none",
        "seed": 5}).json()
    assert completion["choices"][0]["text"] == out["texts"][0]
    assert completion["choices"][0]["finish_reason"] == "stop"
    assert completion["choices"][0]["poem"]["check"]["heads_ok"]
    # Streamed, the pieces make the same poem; without a poem, no "poems" key.
    with client.stream("POST", "/api/generate", json={**body, "n": 1, "stream": True}) as r:
        got = list(events(r))
    assert "".join(e["text"] for name, e in got if name == "piece") == out["texts"][0]
    assert got[-1][1]["poems"][0]["check"]["shape_ok"]
    plain = client.post("/api/generate", json={"model": "zh", "length": 5}).json()
    assert "poems" not in plain
    # Streamed OpenAI chunks: the finish chunk carries the checks too.
    with client.stream("POST", "/v1/completions", json={
            "model": "zh", "form": "五绝", "seed": 5, "stream": True}) as r:
        chunks = [json.loads(line[6:]) for line in r.iter_lines()
                  if line.startswith("data: {")]
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"][0]["poem"]["check"]["shape_ok"]


@pytest.mark.parametrize("extra", [{"tones": "none"}, {"rhyme": "none"}, {"no_repeat": False},
                                   {"acrostic": "", "form": ""}])
def test_poem_options_that_ask_for_no_poem_change_nothing(client, extra):
    out = client.post("/api/generate", json={"model": "zh", "seed": 1, **extra}).json()
    plain = client.post("/api/generate", json={"model": "zh", "seed": 1}).json()
    assert out["texts"] == plain["texts"] and out["tokens"] == [200]  # the default length
    assert "poems" not in out


def test_poem_errors_use_each_apis_words(client):
    r = client.post("/v1/completions", json={"model": "zh", "form": "五绝", "max_tokens": 3})
    error = r.json()["error"]
    assert r.status_code == 400 and error["param"] == "max_tokens", error
    assert "`max_tokens` 3 is shorter than the 25 characters" in error["message"]
    r = client.post("/api/generate", json={"model": "zh", "form": "五绝", "prompt": "天。"})
    error = r.json()["error"]
    assert r.status_code == 400 and error["param"] == "prompt", error
    assert error["message"].startswith("the prompt does not begin a 五绝"), error


@pytest.mark.parametrize("body, param", [
    ({"form": "六绝"}, "form"),
    ({"form": 5}, "form"),
    ({"acrostic": "ab"}, "acrostic"),
    ({"form": "五绝", "acrostic": "春夏秋冬春"}, "acrostic"),  # more heads than lines
    ({"form": "五绝", "rhyme": "none", "rhyme_group": "七阳"}, "rhyme_group"),
    ({"form": "五绝", "rhyme_group": "八阳"}, "rhyme_group"),
    ({"tones": "strict"}, "tones"),  # rules without a poem
    ({"form": "五绝", "no_repeat": "yes"}, "no_repeat"),
    ({"form": "五绝", "stop": ["。"]}, "stop"),  # would cut the poem short
    ({"form": "五绝", "length": 3}, "length"),
    ({"form": "五绝", "model": "words"}, "form"),  # a word model writes no forms
    ({"acrostic": "\u9fa5\u9fa4", "model": "zh"}, "acrostic"),  # heads it never saw
])
def test_impossible_poems_get_a_400_naming_the_parameter(client, body, param):
    r = client.post("/api/generate", json={"model": "zh", **body})
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["param"] == param and error["message"], error


def test_other_errors_are_json_too(client, server):
    assert client.post("/api/generate", content=b"{not json").status_code == 400
    assert client.post("/api/generate", content=b"[1, 2]").status_code == 400
    big = client.post("/api/generate", content=b"{" + b" " * 200_000 + b"}")
    assert big.status_code == 413
    missing = client.get("/api/nothing")
    assert missing.status_code == 404 and "no such endpoint" in missing.json()["error"]["message"]
    assert client.get("/api/generate").status_code == 405
    dropped = client.post("/api/generate", json={"model": "en", "prompt": "春All:", "length": 5,
                                                 "drop_unknown": True}).json()
    assert dropped["dropped"] == ["春"] and dropped["prompt"] == "All:"


def test_the_api_needs_the_key_but_the_page_and_health_do_not(server):
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": KEY}):
        r = httpx.post(f"{server.url}/api/generate", json={"model": "en"}, headers=headers)
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
        assert "Authorization: Bearer" in r.json()["error"]["message"]
        assert httpx.get(f"{server.url}/v1/models", headers=headers).status_code == 401
    assert httpx.get(f"{server.url}/healthz").json()["status"] == "ok"
    page = httpx.get(f"{server.url}/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "<script>" in page.text and "://" not in page.text  # nothing fetched from elsewhere


def test_a_loopback_server_answers_only_requests_addressed_to_it(server):
    # A page on another site cannot reach it through a DNS name it controls.
    port = server.url.rsplit(":", 1)[1]
    for host, status in [("evil.example", 421), (f"evil.example:{port}", 421),
                         (f"localhost:{port}", 200), (f"127.0.0.1:{port}", 200)]:
        r = httpx.get(f"{server.url}/healthz", headers={"Host": host})
        assert r.status_code == status, host


def test_a_full_pool_answers_503_and_frees_up(client, server):
    body = {"model": "en", "prompt": "All:", "length": LONG, "stream": True}
    streams, ids = [], []
    try:
        for _ in range(4):  # 2 workers + 2 waiting
            cm = client.stream("POST", "/api/generate", json=body)
            it = events(cm.__enter__())
            streams.append((cm, it))  # kept: a dropped reader closes its connection
            name, start = next(it)
            ids.append(start["id"])
        busy = client.post("/api/generate", json={**body, "stream": False})
        assert busy.status_code == 503 and busy.headers["retry-after"] == "2"
        assert "busy" in busy.json()["error"]["message"]
        assert health(server)["requests"] == 4
    finally:
        for job_id in ids:
            client.post("/api/cancel", json={"id": job_id})
        for cm, _ in streams:
            cm.__exit__(None, None, None)
    assert wait_for(lambda: idle(server))
    ok = client.post("/api/generate", json={"model": "en", "length": 5})
    assert ok.status_code == 200


def test_a_client_that_goes_away_stops_its_generation(client, server):
    body = {"model": "en", "prompt": "All:", "length": LONG, "stream": True}
    with client.stream("POST", "/api/generate", json=body) as r:
        it = events(r)
        assert next(it)[0] == "start"
        assert not idle(server)
    assert wait_for(lambda: idle(server), timeout=10)  # closing the stream cancelled it
    with pytest.raises(httpx.ReadTimeout):  # not streaming: the server watches the socket
        client.post("/api/generate", json={**body, "stream": False}, timeout=1.0)
    assert wait_for(lambda: idle(server), timeout=10)


def test_a_slow_reader_does_not_hold_a_worker(client, server):
    length = LONG  # ~8 MB of events: more than the socket buffers hold
    body = {"model": "en", "prompt": "All:", "length": length, "seed": 9, "stream": True}
    with client.stream("POST", "/api/generate", json=body) as r:
        # Nothing read yet; the worker finishes anyway, writing into memory. The
        # request keeps its slot (and its memory) until its answer is sent.
        assert wait_for(lambda: health(server)["generating"] == 0, timeout=180)
        assert health(server)["requests"] == 1
        got = list(events(r))
    assert got[-1][0] == "done" and got[-1][1]["tokens"] == [length]
    assert "".join(d["text"] for n, d in got if n == "piece") == got[-1][1]["texts"][0]


def test_ctrl_c_stops_the_server_cleanly_and_open_hosts_are_warned(runs):
    srv = start_server(runs["en"], "--host", "0.0.0.0", "--max-length", LONG)
    try:
        assert wait_for(lambda: any("anyone who can reach it" in line and "no --api-key" in line
                                    for line in srv.stderr), timeout=10)
        port = srv.url.rsplit(":", 1)[1]
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as c:
            with c.stream("POST", "/api/generate", json={"length": LONG, "stream": True}) as r:
                it = events(r)
                assert next(it)[0] == "start"
                code = srv.stop()
                last = list(it)[-1]  # the stream ended properly, not cut
    finally:
        srv.stop()
    assert last[0] == "done" and last[1]["finish_reasons"] == ["cancelled"]
    assert code == 0 and "stopped\n" in srv.stderr, srv.stderr
    assert not any("Traceback" in line for line in srv.stderr), srv.stderr


def test_start_up_errors_are_one_line(tmp_path, runs):
    assert_user_error(invoke("serve", tmp_path / "nope"), "nope")
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "en").symlink_to(runs["en"])
    twice = invoke("serve", runs["en"], tmp_path / "a" / "en")
    assert_user_error(twice, "two runs are named 'en'")
    # The suggested command names the real run, not a placeholder.
    assert "{name}" not in twice.stderr
    assert f"ln -s {(tmp_path / 'a' / 'en').resolve()} en-2" in twice.stderr, twice.stderr
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert_user_error(invoke("serve", runs["en"], "--port", port), "--port")
    assert_user_error(invoke("serve", runs["en"], "--workers", 0), "--workers")
    assert_user_error(invoke("serve", runs["en"], "--api-key", " "), "--api-key")
