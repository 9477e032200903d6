"""Step time of every preset in configs/, as `textgen train` reports it, for the presets' comments.

Usage:
    python scripts/bench_presets.py [--steps 60] [--precision auto float32]

For each preset and precision, runs `textgen train CORPUS --config PRESET --set
train.max_steps=STEPS --set train.log_every=STEPS/3` in a fresh process (a fresh
cache, so the encoding is included in the wall time) and reads the throughput
of the last two `metrics.csv` rows (the first window includes graph tracing).
The corpus is the one each preset's comment names.
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_common import ROOT  # noqa: E402

from textgen.config import Config  # noqa: E402

CORPUS = {
    "char-small": "tiny-shakespeare.txt",
    "char-medium": "tiny-shakespeare.txt",
    "novel-zh": "xiyouji.txt",
    "novel-zh-word": "xiyouji.txt",
    "poems-zh": "tang-poems.txt",
}


def measure(preset: Path, precision: str, steps: int, tmp: Path) -> dict:
    """Trains `steps` steps of `preset`; returns tokens/s, s/step and steps per epoch."""
    run = tmp / f"{preset.stem}-{precision}"
    env = os.environ | {"TEXTGEN_CACHE_DIR": str(tmp / "cache" / run.name)}
    log_every = max(steps // 3, 1)
    cmd = [sys.executable, "-m", "textgen", "train", str(ROOT / "corpora" / CORPUS[preset.stem]),
           "--config", str(preset), "--out", str(run), "--set", f"train.max_steps={steps}",
           "--set", f"train.log_every={log_every}", "--set", f"train.precision={precision}"]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, encoding="utf-8", env=env)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"{preset.name} failed:\n{proc.stderr[-2000:]}")
    with open(run / "metrics.csv", encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["tokens_per_s"]]
    rate = statistics.mean(float(r["tokens_per_s"]) for r in rows[1:])
    info = next(ln for ln in proc.stderr.splitlines() if ln.startswith("training "))
    per_epoch = int(info.split(" batches per epoch")[0].rsplit(", ", 1)[1].replace(",", ""))
    resolved = info.rsplit(", ", 1)[1].strip()
    return {"rate": rate, "wall": wall, "per_epoch": per_epoch, "resolved": resolved}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60, help="training steps per preset")
    parser.add_argument("--precision", nargs="+", default=["auto", "float32"])
    parser.add_argument("--presets", type=Path, nargs="+",
                        default=sorted((ROOT / "configs").glob("*.toml")))
    args = parser.parse_args()
    print(f"{'preset':<16} {'precision':<16} {'tokens/s':>9} {'s/step':>7} {'steps/epoch':>11} "
          f"{'s/epoch':>8} {'wall s':>7}", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench_presets_") as tmp:
        for preset in args.presets:
            cfg = Config.load(preset)
            tokens = cfg.data.batch_size * cfg.data.seq_len
            for precision in args.precision:
                r = measure(preset, precision, args.steps, Path(tmp))
                label = precision if precision != "auto" else f"auto={r['resolved']}"
                step = tokens / r["rate"]
                print(f"{preset.stem:<16} {label:<16} {r['rate']:>9,.0f} {step:>7.3f} "
                      f"{r['per_epoch']:>11,} {step * r['per_epoch']:>8,.0f} {r['wall']:>7.1f}",
                      flush=True)


if __name__ == "__main__":
    main()
