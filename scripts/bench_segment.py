"""Times word segmentation in one process against several, per corpus.

Usage:
    python scripts/bench_segment.py [CORPUS.txt ...] [--workers N] [--repeat R] [--scale K]

With no corpus, times every `*.txt` in ../shared/corpora. `--scale K` repeats each
text K times, to see where several processes start to pay. jieba is loaded in
this process first (a real run loads it anyway); the times with several
processes include starting them ("spawn": a new Python that loads jieba). Runs
are interleaved and the best of R is kept, since other work on the machine adds
noise. Also checks that both ways give the same counts and ids.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from textgen.data.tokenizers.base import UNK, Tokenizer  # noqa: E402
from textgen.data.tokenizers.han import han_count  # noqa: E402
from textgen.data.tokenizers.word import (  # noqa: E402
    WordTokenizer,
    _encode_piece,
    _line_pieces,
    _pool_map,
)

DEFAULT_DIR = Path(__file__).resolve().parents[2] / "shared" / "corpora"


def bench(path: Path, n: int, repeat: int, scale: int) -> str:
    """Times one corpus and returns its table row."""
    text = path.read_text(encoding="utf-8") * scale
    tok = WordTokenizer.from_counts(WordTokenizer.count([text], workers=1), 1 << 30)
    runs = {
        "count 1": lambda: WordTokenizer.count([text], workers=1),
        "count n": lambda: WordTokenizer.count([text], workers=n),
        "encode 1": lambda: Tokenizer.encode(tok, text),  # the base class: this process
        "encode n": lambda: np.concatenate(
            [ids for _, ids in _pool_map(_encode_piece, _line_pieces(text), tok, n)]
        ),
    }
    best = dict.fromkeys(runs, float("inf"))
    out = {}
    for _ in range(repeat):  # interleaved, so that noise hits every column alike
        for key, fn in runs.items():
            start = time.perf_counter()
            out[key] = fn()
            best[key] = min(best[key], time.perf_counter() - start)
    assert out["count 1"] == out["count n"], f"{path.name}: counts differ"
    assert np.array_equal(out["encode 1"], out["encode n"]), f"{path.name}: ids differ"
    name = path.name if scale == 1 else f"{path.name} x{scale}"
    mb = len(text.encode("utf-8")) / 1e6
    sizes = f"{mb:>5.2f} {len(text):>10,} {han_count(text):>10,} {out['encode 1'].size:>10,}"
    cells = [f"{best[k]:>6.2f}" for k in runs]
    return f"{name:<28} {sizes} | {cells[0]} {cells[1]} | {cells[2]} {cells[3]}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpora", nargs="*", type=Path, help="UTF-8 text files")
    parser.add_argument("--workers", type=int, default=os.cpu_count(), help="processes")
    parser.add_argument("--repeat", type=int, default=3, help="runs per cell; best is kept")
    parser.add_argument("--scale", type=int, default=1, help="repeat each text K times")
    args = parser.parse_args()
    n = args.workers

    start = time.perf_counter()
    WordTokenizer([UNK]).split("预热")
    print(
        f"jieba load {time.perf_counter() - start:.2f} s; {os.cpu_count()} CPUs; load average "
        f"{os.getloadavg()[0]:.2f}; seconds, best of {args.repeat}\n"
    )
    print(f"{'':<28} {'':>5} {'':>10} {'':>10} {'':>10} | {'count':<13} | encode")
    print(
        f"{'corpus':<28} {'MB':>5} {'chars':>10} {'Han':>10} {'tokens':>10} | "
        f"{'1 proc':>6} {f'{n} proc':>6} | {'1 proc':>6} {f'{n} proc':>6}"
    )
    for path in args.corpora or sorted(DEFAULT_DIR.glob("*.txt")):
        print(bench(path, n, args.repeat, args.scale), flush=True)


if __name__ == "__main__":
    main()
