"""Load test of `textgen serve` on loopback: throughput, time to first piece, errors, memory.

Usage:
    python scripts/bench_serve.py [--run runs/quickstart] [--clients 32] [--seconds 30]
        [--length 200] [--workers 2] [--no-baseline]

Starts `textgen serve RUN --workers W --queue CLIENTS` (so every client fits in
the line: any error is a real one) on a free loopback port, then runs, one
after another, each for --seconds:

- 1 client, streaming: a request's own speed (tokens/s of one generation);
- CLIENTS clients, streaming (`/api/generate`, server-sent events);
- CLIENTS clients, not streaming (`/v1/completions`, one JSON answer).

Each client sends `length`-token requests back to back (temperature 1, a new
seed each time). Reported: requests/s, time to first piece (streaming) and to
the whole answer, p50/p99; tokens/s over all clients; errors (a status other
than 200, or a stream without its final event); the server's resident memory
before and after the phase. The clients run in this process, on the same CPUs
as the server.

The baseline, in the same run: one client's generation the stock Keras way, a
stateful batch-1 Keras model called once per token through a `tf.function`
(what a server built on `model.predict`/`model(x)` per token does), on the same
weights and sampler.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.serving import start_server  # noqa: E402


def rss_mb(pid: int) -> float:
    """Resident memory of process `pid` in MB (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def one_request(client: httpx.AsyncClient, stream: bool, length: int, seed: int) -> dict:
    """Sends one request; returns its timings, tokens and whether it failed."""
    start = time.perf_counter()
    first = None
    if stream:
        body = {"prompt": "", "length": length, "seed": seed, "stream": True}
        done = None
        async with client.stream("POST", "/api/generate", json=body) as r:
            if r.status_code != 200:
                await r.aread()
                return {"error": f"HTTP {r.status_code}"}
            buffer = b""
            async for chunk in r.aiter_raw():
                buffer += chunk
                while b"\n\n" in buffer:
                    block, buffer = buffer.split(b"\n\n", 1)
                    head, _, data = block.decode("utf-8").partition("\ndata: ")
                    if head == "event: piece" and first is None:
                        first = time.perf_counter() - start
                    elif head == "event: done":
                        done = json.loads(data)
        if done is None:
            return {"error": "stream ended without its final event"}
        tokens = sum(done["tokens"])
    else:
        r = await client.post("/v1/completions", json={"prompt": "", "max_tokens": length,
                                                       "seed": seed})
        if r.status_code != 200:
            return {"error": f"HTTP {r.status_code}"}
        tokens = r.json()["usage"]["completion_tokens"]
    return {"first": first, "total": time.perf_counter() - start, "tokens": tokens}


async def phase(url: str, clients: int, seconds: float, stream: bool, length: int) -> dict:
    """`clients` clients sending requests back to back for `seconds`."""
    results: list[dict] = []
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=clients + 4, max_keepalive_connections=clients + 4)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:

        async def worker(i: int) -> None:
            seed = i * 100_000
            while time.perf_counter() < deadline:
                seed += 1
                try:
                    results.append(await one_request(client, stream, length, seed))
                except httpx.HTTPError as e:
                    results.append({"error": type(e).__name__})

        start = time.perf_counter()
        await asyncio.gather(*(worker(i) for i in range(clients)))
        wall = time.perf_counter() - start
    ok = [r for r in results if "error" not in r]
    errors = [r["error"] for r in results if "error" in r]
    return {"wall": wall, "requests": len(ok), "errors": errors,
            "first": [r["first"] for r in ok if r["first"] is not None],
            "total": [r["total"] for r in ok], "tokens": sum(r["tokens"] for r in ok)}


def pct(values: list[float], q: float) -> str:
    if not values:
        return "-"
    values = sorted(values)
    return f"{values[min(len(values) - 1, int(q * len(values)))] * 1000:,.0f}"


def keras_baseline(run: Path, length: int) -> float:
    """Tokens/s of one generation the stock Keras way (median of 3)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_sample import keras_step

    from textgen.config import Config
    from textgen.data.tokenizers import load_tokenizer
    from textgen.run.directory import RunDir

    run_dir = RunDir(run)
    cfg = Config.load(run_dir.config)
    vocab = load_tokenizer(run_dir.vocab).vocab_size
    generate = keras_step(run, cfg, vocab)
    generate(5)  # tracing
    times = []
    for _ in range(3):
        start = time.perf_counter()
        generate(length)
        times.append(time.perf_counter() - start)
    return length / statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, default=Path("runs/quickstart"),
                        help="a trained run (python3 quickstart.py demo makes runs/quickstart)")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--length", type=int, default=200, help="tokens per request")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-baseline", action="store_true", help="skip the Keras baseline")
    args = parser.parse_args()
    if not (args.run / "checkpoints").is_dir():
        sys.exit(f"{args.run}: not a trained run; run python3 quickstart.py demo or pass --run")
    server = start_server(args.run, "--workers", args.workers, "--queue", args.clients)
    pid = server.proc.pid
    print(f"textgen serve {args.run} --workers {args.workers} --queue {args.clients}; "
          f"{args.length} tokens per request; {args.seconds:g} s per phase", flush=True)
    print(f"{'phase':<26} {'req':>5} {'req/s':>6} {'first p50':>9} {'p99':>6} "
          f"{'whole p50':>9} {'p99':>6} {'tokens/s':>9} {'errors':>6} {'RSS MB':>13}")
    print(f"{'':<26} {'':>5} {'':>6} {'ms':>9} {'ms':>6} {'ms':>9} {'ms':>6}")
    try:
        for name, clients, stream in [("1 client, streaming", 1, True),
                                      (f"{args.clients} clients, streaming", args.clients, True),
                                      (f"{args.clients} clients, not streaming", args.clients,
                                       False)]:
            before = rss_mb(pid)
            r = asyncio.run(phase(server.url, clients, args.seconds, stream, args.length))
            after = rss_mb(pid)
            print(f"{name:<26} {r['requests']:>5} {r['requests'] / r['wall']:>6.1f} "
                  f"{pct(r['first'], 0.5):>9} {pct(r['first'], 0.99):>6} "
                  f"{pct(r['total'], 0.5):>9} {pct(r['total'], 0.99):>6} "
                  f"{r['tokens'] / r['wall']:>9,.0f} {len(r['errors']):>6} "
                  f"{before:>6.0f}→{after:<6.0f}", flush=True)
            if r["errors"]:
                print(f"  errors: {sorted(set(r['errors']))}")
    finally:
        code = server.stop()
    print(f"server stopped with exit code {code}")
    if not args.no_baseline:
        rate = keras_baseline(args.run, args.length)
        print(f"{'baseline: Keras per token':<26} {'':>5} {'':>6} {'':>9} {'':>6} "
              f"{args.length / rate * 1000:>9,.0f} {'':>6} {rate:>9,.0f}   (1 client, in process)")


if __name__ == "__main__":
    main()
