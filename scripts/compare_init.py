"""Initial weights against the Chinese plateau: model.init "keras" vs "pytorch", all else equal.

Usage:
    python scripts/compare_init.py [--steps 417] [--every 139]
        [--case NAME CORPUS CONFIG CHARS ...]

For each case, trains textgen twice from the same seed (the only difference
being `model.init`) and prints the validation loss (nats/token, the run's own
validation tail) every --every steps, next to the unigram loss of that tail.
The cases are the plateau's reproduction (the first 300,000 characters of
红楼梦 with char-small's shapes) and two English runs the fix must not hurt
(tiny-shakespeare with char-small, and one epoch of char-medium). The unigram
loss is the training split's token frequencies scored on the validation tail.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import NEVER, ROOT  # noqa: E402

from textgen.config import Config  # noqa: E402
from textgen.data.encode import EncodeOptions  # noqa: E402
from textgen.run.opening import new_run  # noqa: E402
from textgen.train.reporter import Reporter  # noqa: E402
from textgen.train.trainer import Trainer  # noqa: E402

SHARED = ROOT.parent / "shared" / "corpora"
CASES = [  # name, corpus, preset, characters (0 = all), steps (0 = --steps), eval every
    ("红楼梦 300k chars, char-small", SHARED / "hongloumeng.txt", "char-small", 300_000, 0, 0),
    ("tiny-shakespeare, char-small", ROOT / "corpora" / "tiny-shakespeare.txt", "char-small",
     0, 0, 0),
    ("tiny-shakespeare, char-medium (1 epoch)", ROOT / "corpora" / "tiny-shakespeare.txt",
     "char-medium", 0, 165, 55),
]


class Validations(Reporter):
    def __init__(self) -> None:
        self.rows: list[tuple[int, float]] = []

    def validated(self, summary) -> None:
        self.rows.append((summary.step, summary.val_loss))

    epoch_end = validated


def run_case(corpus: Path, preset: str, chars: int, init: str, steps: int, every: int,
             tmp: Path) -> tuple[list[tuple[int, float]], float, float]:
    text = corpus.read_text(encoding="utf-8")
    source = tmp / f"{corpus.stem}-{chars}.txt"
    source.write_text(text[:chars] if chars else text, encoding="utf-8")
    cfg = Config.load(ROOT / "configs" / f"{preset}.toml")
    cfg.model.init = init
    cfg.train.max_steps, cfg.train.eval_every = steps, every
    cfg.train.epochs = 1000
    cfg.train.save_every = cfg.train.log_every = NEVER
    run, enc, _ = new_run(cfg, [source], tmp / f"run-{init}-{preset}-{corpus.stem}",
                          EncodeOptions(cache_dir=tmp / "cache"))
    trainer = Trainer(cfg, enc, run)
    seen = Validations()
    start = time.perf_counter()
    trainer.fit(seen)
    return seen.rows, trainer.val_unigram, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=417)
    parser.add_argument("--every", type=int, default=139)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="compare_init_") as tmp:
        for name, corpus, preset, chars, steps, every in CASES:
            steps, every = steps or args.steps, every or args.every
            print(f"\n{name} ({preset}, {steps} steps): validation nats/token", flush=True)
            for init in ("keras", "pytorch"):
                rows, unigram, seconds = run_case(corpus, preset, chars, init, steps, every,
                                                  Path(tmp))
                shown = "  ".join(f"{s}: {v:.3f}" for s, v in rows)
                print(f"  model.init={init:<8} {shown}   (unigram {unigram:.3f}; {seconds:.0f} s)",
                      flush=True)


if __name__ == "__main__":
    main()
