"""A 100 MB corpus end to end: encoding time, peak memory of `textgen train`, input pipeline speed.

Usage:
    python scripts/bench_bigcorpus.py [--mb 100] [--config configs/char-small.toml]
        [--steps 30] [--windows 4] [--corpora corpora/*.txt]

1. Builds a corpus of about --mb MB in a temporary directory by concatenating
   the shipped corpora (Chinese and English, so the character vocabulary is
   large) over and over.
2. Runs the real command, first on the first corpus alone (the baseline: what
   TensorFlow and the model take), then `textgen train BIG --config CONFIG --set
   train.max_steps=STEPS` (no cache hit: a fresh TEXTGEN_CACHE_DIR), as a child
   process, and reports its wall time, the encoding time it printed, and its
   peak resident memory (ru_maxrss of the child).
3. In one fresh process, compares training throughput on the real corpus
   (memory-mapped ids, read batch by batch) with synthetic batches (random ids
   of the same vocabulary, in memory): --windows windows of --steps steps,
   alternating which goes first; the input pipeline costs the difference.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import NEVER, ROOT  # noqa: E402

MB = 1 << 20


def build_corpus(path: Path, sources: list[Path], mb: float) -> int:
    """Concatenates `sources` until `path` holds at least `mb` MB; returns its size."""
    texts = [p.read_bytes() for p in sources]
    size = 0
    with open(path, "wb") as f:
        while size < mb * MB:
            for t in texts:
                f.write(t.rstrip(b"\n") + b"\n\n")
                size += len(t) + 2
    return path.stat().st_size


def run_cli(corpus: Path, config: Path, steps: int, tmp: Path) -> dict:
    """`textgen train` on `corpus` in a child process; wall time, stderr and peak RSS."""
    env = os.environ | {"TEXTGEN_CACHE_DIR": str(tmp / "cache")}
    cmd = [sys.executable, "-m", "textgen", "train", str(corpus), "--config", str(config),
           "--out", str(tmp / "run"), "--set", f"train.max_steps={steps}"]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, encoding="utf-8", env=env,
                          cwd=ROOT)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"textgen train failed:\n{proc.stderr[-3000:]}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    return {"seconds": seconds, "peak": peak, "stderr": proc.stderr}


def pipeline_worker(corpus: Path, config: Path, steps: int, windows: int) -> dict:
    """Tokens/s of `Trainer.fit` on the real (memory-mapped) ids vs synthetic in-memory ids."""
    import numpy as np
    from bench_train import TextgenLoop

    from textgen.config import Config
    from textgen.data.corpus import scan_corpus
    from textgen.data.encode import EncodedCorpus, EncodeOptions, encode_corpus
    from textgen.run.directory import RunDir
    from textgen.train.trainer import Trainer

    cfg = Config.load(config)
    cfg.train.save_every = cfg.train.log_every = NEVER
    cfg.data.val_frac = 0.0
    with tempfile.TemporaryDirectory(prefix="bench_big_") as tmp:
        opts = EncodeOptions(cache_dir=Path(tmp) / "cache")
        start = time.perf_counter()
        enc = encode_corpus(scan_corpus([corpus]), cfg.data, opts)
        encode_s = time.perf_counter() - start
        again = encode_corpus(scan_corpus([corpus]), cfg.data, opts)
        assert again.cached and isinstance(again.ids, np.memmap)
        n = (windows * (steps + 1) + 2) * cfg.data.batch_size * cfg.data.seq_len + 1
        rng = np.random.default_rng(0)
        fake = EncodedCorpus(rng.integers(0, enc.tokenizer.vocab_size, n).astype(enc.ids.dtype),
                             enc.tokenizer, n, 1.0, 1.0, 0.0, cached=False)
        loops = {}
        for name, e in (("real", again), ("synthetic", fake)):
            trainer = Trainer(cfg, e, RunDir(Path(tmp) / name))
            trainer.model.set_weights(loops["real"].trainer.model.get_weights()
                                      if loops else trainer.model.get_weights())
            loops[name] = TextgenLoop(trainer)
            loops[name].run(0, 2)  # warm-up
        rates: dict[str, list[float]] = {"real": [], "synthetic": []}
        tokens = steps * cfg.data.batch_size * cfg.data.seq_len
        for w in range(windows):
            for name in (["real", "synthetic"] if w % 2 == 0 else ["synthetic", "real"]):
                seconds, _ = loops[name].run(0, steps + 1)
                rates[name].append(tokens / seconds)
    return {"encode_s": encode_s, "n_tokens": int(enc.ids.size), "V": enc.tokenizer.vocab_size,
            "real": statistics.median(rates["real"]),
            "synthetic": statistics.median(rates["synthetic"])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=100.0, help="corpus size in MB")
    parser.add_argument("--config", type=Path, default=ROOT / "configs" / "char-small.toml")
    parser.add_argument("--steps", type=int, default=30, help="training steps (per window)")
    parser.add_argument("--windows", type=int, default=4, help="timed windows per side")
    parser.add_argument("--corpora", type=Path, nargs="+",
                        default=sorted((ROOT / "corpora").glob("*.txt")))
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(pipeline_worker(Path(args.worker[0]), args.config, args.steps,
                                         int(args.worker[1]))))
        return
    with tempfile.TemporaryDirectory(prefix="bench_big_") as tmp:
        tmp = Path(tmp)
        big = tmp / "big.txt"
        size = build_corpus(big, args.corpora, args.mb)
        print(f"corpus: {size / MB:.1f} MB from {', '.join(p.name for p in args.corpora)}; "
              f"{args.config.name}, {os.cpu_count()} cores", flush=True)
        # The same command on one small corpus first (ru_maxrss of children is a running
        # maximum): what TensorFlow and the model take whatever the corpus size.
        small = run_cli(args.corpora[0], args.config, args.steps, tmp / "small")
        print(f"textgen train on {args.corpora[0].name} alone "
              f"({args.corpora[0].stat().st_size / MB:.1f} MB): peak RSS "
              f"{small['peak'] / MB:,.0f} MB")
        cli = run_cli(big, args.config, args.steps, tmp)
        first = next((ln for ln in cli["stderr"].splitlines() if ln.startswith("corpus:")), "")
        print(f"textgen train (max_steps={args.steps}, no cache): {cli['seconds']:.1f} s wall, "
              f"peak RSS {cli['peak'] / MB:,.0f} MB ({cli['peak'] / size:.2f}x the corpus)")
        print(f"  {first}")
        proc = subprocess.run([sys.executable, __file__, "--config", str(args.config),
                               "--steps", str(args.steps), "--worker", str(big),
                               str(args.windows)], capture_output=True, text=True,
                              encoding="utf-8")
        if proc.returncode != 0:
            sys.exit(f"worker failed:\n{proc.stderr[-3000:]}")
        r = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"encoding alone (scan, count, encode into the cache): {r['encode_s']:.1f} s for "
          f"{r['n_tokens']:,} tokens, vocabulary {r['V']:,}")
    print(f"{'batches':<34} {'tokens/s':>10}")
    print(f"{'real corpus (memory-mapped ids)':<34} {r['real']:>10,.0f}")
    print(f"{'synthetic (random ids in memory)':<34} {r['synthetic']:>10,.0f}")
    print(f"{'real / synthetic':<34} {r['real'] / r['synthetic']:>9.1%}")


if __name__ == "__main__":
    main()
