"""Do the base models pay? Bits/char on new text: a base as it is, fine-tuned, or scratch.

For each held-out corpus in scripts/bases/bench-corpora/ (English and Chinese,
about 10 KB, 100 KB and 1 MB; none of them in a base's training mix), the last
10% is the test text, never trained on, and the rest the training text. On the
same machine, in one run, through the real command line:

  zero-shot   the base (en-base or zh-base) with no training
  unigram     each test character guessed by its training-text frequency
  base + N m  `textgen finetune BASE train.txt`, for 1, 2 and 5 minutes
              (one run continued with `textgen train --resume`: 1, +1, +3)
  scratch N m `textgen train train.txt --max-time Nm`, the automatic preset
              for that budget, for 2, 10 and 30 minutes (three runs)

A name ending in "-s" (zh-100k-s) is that corpus turned into simplified script
by OpenCC (t2s): the bench corpora are traditional, and zh-base must fine-tune
either script as well (issue 23); `--skip-scratch` leaves out the scratch runs.

Each trained run is scored with `textgen eval RUN test.txt` (its 'best'
checkpoint when it has one). Targets (issue 23): base + 2 m beats scratch 10 m
on all six corpora, and scratch 30 m on the 10 KB and 100 KB ones.
Also times `textgen sample en-base --length 200` (wall, median of 5).

Results go to a JSON file as they come (`--results`), so a stopped benchmark
continues where it stopped; the table is printed from it.

Usage:
    python scripts/bench_bases.py [--only en-10k zh-10k] [--results runs/bench-bases.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPORA = ROOT / "scripts" / "bases" / "bench-corpora"
FINETUNE_MINUTES = (1, 2, 5)
SCRATCH_MINUTES = (2, 10, 30)
TEXTGEN = [sys.executable, "-m", "textgen"]

sys.path.insert(0, str(ROOT / "scripts" / "bases"))
from export import unigram_bits  # noqa: E402  (scripts/bases is not a package)


def textgen(*args: object, cwd: Path | None = None) -> str:
    """Runs a textgen command; returns its stdout (stops the benchmark if it fails)."""
    out = subprocess.run([*TEXTGEN, *map(str, args)], capture_output=True, text=True,
                         encoding="utf-8", cwd=cwd)
    if out.returncode:
        sys.exit(f"textgen {' '.join(map(str, args))} failed:\n{out.stderr[-2000:]}")
    return out.stdout


def bits(run: str | Path, test: Path) -> float:
    """Bits/char of a run or model on the test text."""
    return json.loads(textgen("eval", run, test, "--format", "json"))["bits_per_char"]


def corpus_text(name: str) -> str:
    """A bench corpus's text; NAME-s is NAME in simplified script (OpenCC t2s)."""
    if name.endswith("-s"):
        import opencc  # opencc-python-reimplemented, a textgen dependency

        return opencc.OpenCC("t2s").convert(corpus_text(name[:-2]))
    return (CORPORA / f"{name}.txt").read_text(encoding="utf-8")


def split(text: str, work: Path) -> tuple[Path, Path, str, str]:
    """Writes train.txt (the first 90%, cut at a line) and test.txt (the rest)."""
    cut = text.rfind("\n", 0, int(len(text) * 0.9)) + 1 or int(len(text) * 0.9)
    train, test = work / "train.txt", work / "test.txt"
    train.write_text(text[:cut], encoding="utf-8")
    test.write_text(text[cut:], encoding="utf-8")
    return train, test, text[:cut], text[cut:]


def bench_corpus(name: str, results: dict, save, keep: Path | None = None,
                 scratch: bool = True) -> None:
    """Fills results[name] with every figure of one corpus (skipping those it has).

    The runs go into keep/NAME when keep is given (to read their metrics after),
    else into a temporary folder.
    """
    base = "zh-base" if name.startswith("zh") else "en-base"
    row = results.setdefault(name, {"base": base})
    with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as tmp:
        work = Path(keep / name if keep else tmp)
        work.mkdir(parents=True, exist_ok=True)
        train, test, train_text, test_text = split(corpus_text(name), work)
        row["chars"] = len(train_text) + len(test_text)
        row.setdefault("unigram", unigram_bits(train_text, test_text))
        if "zero_shot" not in row:
            row["zero_shot"] = bits(base, test)
            save()
        if any(f"base_{m}m" not in row for m in FINETUNE_MINUTES):
            ft, done = work / "ft", 0
            shutil.rmtree(ft, ignore_errors=True)  # a stopped benchmark's partial run
            for m in FINETUNE_MINUTES:
                leg = f"{(m - done) * 60}s"
                if done == 0:
                    textgen("finetune", base, train, "--out", ft, "--max-time", leg,
                            "--epochs", 1000)  # the time is the limit, not epochs
                else:
                    textgen("train", "--resume", ft, "--max-time", leg, "--epochs", 1000)
                done = m
                row[f"base_{m}m"] = bits(ft, test)
                print(f"{name}: base + {m} min {row[f'base_{m}m']:.3f}", file=sys.stderr)
                save()
        for m in SCRATCH_MINUTES if scratch else ():
            if f"scratch_{m}m" in row:
                continue
            run = work / f"scratch-{m}"
            shutil.rmtree(run, ignore_errors=True)
            textgen("train", train, "--out", run, "--max-time", f"{m}m", "--epochs", 1000)
            row[f"scratch_{m}m"] = bits(run, test)
            print(f"{name}: scratch {m} min {row[f'scratch_{m}m']:.3f}", file=sys.stderr)
            save()


def sample_time(results: dict, save) -> None:
    """Wall seconds of `textgen sample en-base --length 200`, median of 5 (from /)."""
    if "sample_wall_s" in results:
        return
    walls = []
    for _ in range(5):
        t = time.perf_counter()
        textgen("sample", "en-base", "--length", 200, "--seed", 1, cwd=Path("/"))
        walls.append(time.perf_counter() - t)
    results["sample_wall_s"] = statistics.median(walls)
    save()


def table(results: dict) -> str:
    """The Markdown table of docs/RESULTS.md, with the targets checked."""
    head = (["corpus", "chars", "unigram", "zero-shot"]
            + [f"base + {m} m" for m in FINETUNE_MINUTES]
            + [f"scratch {m} m" for m in SCRATCH_MINUTES] + ["targets"])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, r in results.items():
        if not isinstance(r, dict):
            continue
        cells = [name, f"{r.get('chars', 0):,}"] + [
            f"{r[k]:.3f}" if k in r else "-" for k in
            ["unigram", "zero_shot", *(f"base_{m}m" for m in FINETUNE_MINUTES),
             *(f"scratch_{m}m" for m in SCRATCH_MINUTES)]]
        ok = []
        if "base_2m" in r and "scratch_10m" in r:
            ok.append(("beats" if r["base_2m"] < r["scratch_10m"] else "LOSES TO") + " 10 m")
        if "base_2m" in r and "scratch_30m" in r and not name.removesuffix("-s").endswith("1m"):
            ok.append(("beats" if r["base_2m"] < r["scratch_30m"] else "LOSES TO") + " 30 m")
        lines.append("| " + " | ".join(cells + ["; ".join(ok) or "-"]) + " |")
    if "sample_wall_s" in results:
        lines.append(f"\n`textgen sample en-base --length 200`: {results['sample_wall_s']:.2f} s "
                     "wall (median of 5).")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="*", help="corpus names (default: all six)")
    ap.add_argument("--results", type=Path, default=ROOT / "runs" / "bench-bases.json")
    ap.add_argument("--keep", type=Path, help="keep the runs in this folder (default: deleted)")
    ap.add_argument("--skip-scratch", action="store_true", help="only the base's figures")
    args = ap.parse_args()
    names = args.only or sorted(p.stem for p in CORPORA.glob("*.txt"))
    results = (json.loads(args.results.read_text(encoding="utf-8"))
               if args.results.exists() else {})
    results["machine"] = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"
    args.results.parent.mkdir(parents=True, exist_ok=True)

    def save() -> None:
        args.results.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")

    sample_time(results, save)
    for name in names:
        bench_corpus(name, results, save, args.keep, scratch=not args.skip_scratch)
    print(table(results))


if __name__ == "__main__":
    main()
