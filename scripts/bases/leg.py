"""Trains a base model's first leg: a new textgen run on the mix, with the base's vocabulary.

The vocabulary is the base's fixed character set (`vocab.py`) plus every
character the mix has at least `data.min_freq` times, so it does not depend on
which sources happened to be in the mix. Later legs continue from the committed
weights with `textgen finetune` (a fresh optimizer), and any leg continues
within a session with `textgen train --resume RUN`.

Usage (one core, in the background, for about two hours):
    taskset -c 1 python scripts/bases/leg.py en /work/mix/en --out /work/legs/en-1 \
        --max-time 105m
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import vocab  # noqa: E402  (scripts/bases is not a package)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("lang", choices=("en", "zh"))
    ap.add_argument("corpus", type=Path, help="the mix folder (scripts/bases/mix.py --out)")
    ap.add_argument("--out", type=Path, required=True, help="run directory to create")
    ap.add_argument("--max-time", default="", help="e.g. 105m")
    ap.add_argument("--set", dest="sets", action="append", default=[],
                    help="a config override, as for textgen train")
    args = ap.parse_args()

    from textgen.cli.train import run_training
    from textgen.config import apply_overrides
    from textgen.config import lookup as presets
    from textgen.data.tokenizers import UNK, CharTokenizer
    from textgen.run.directory import RunDir
    from textgen.run.opening import new_run

    cfg = presets.load(str(HERE / f"{args.lang}-base.toml"))
    sets = list(args.sets) + ([f"train.max_time={args.max_time}"] if args.max_time else [])
    apply_overrides(cfg, sets)
    fixed = vocab.fixed_set(args.lang)

    def vocabulary(counts: Counter[str]) -> CharTokenizer:
        common = [c for c, n in counts.most_common() if n >= cfg.data.min_freq and c not in fixed]
        room = cfg.data.max_vocab - 1 - len(fixed)
        tokens = sorted(fixed | set(common[:max(room, 0)]))
        print(f"vocabulary: {len(fixed):,} fixed + {min(len(common), room):,} from the "
              f"corpus ({len(common):,} seen {cfg.data.min_freq}+ times)", file=sys.stderr)
        return CharTokenizer([UNK, *tokens])

    with RunDir(args.out).lock():
        run, enc, notices = new_run(cfg, [args.corpus], args.out, vocabulary=vocabulary)
        for notice in notices:
            print(notice, file=sys.stderr)
        run_training(cfg, run, enc, resumed=False)


if __name__ == "__main__":
    main()
