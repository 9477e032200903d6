"""Does fine-tuning help? Validation bits/char on a small new corpus: fine-tuned vs from scratch.

Usage:
    python scripts/bench_finetune.py [--pair zh en] [--steps 0 50 100 200 400]
        [--base-steps 2000] [--target-chars 50000] [--bases runs/bench-bases]

For each pair (zh: 红楼梦 -> 西游记; en: tiny-shakespeare -> Pride and Prejudice),
a character-level base model is trained on the first corpus (or reused from
`--bases`, where it is kept), then, on `--target-chars` characters of the second
corpus (taken from its middle, so not a title page), two runs train for the
same steps with the same model, batches and validation tail:

- scratch: `textgen train`'s way, a vocabulary built from the new corpus, random
  weights, its default learning rate (train.lr = 0.002);
- fine-tuned: `textgen finetune`'s way, the base's weights and vocabulary
  (extended by the characters it never saw), its default learning rate (0.0005).

Validation bits per character on the same tail are printed at each step count
(the state is reset around each validation, as in training).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import NEVER, ROOT  # noqa: E402

from textgen.config import Config  # noqa: E402
from textgen.run.directory import RunDir  # noqa: E402
from textgen.run.keras_checkpoint import assign_weights  # noqa: E402
from textgen.run.opening import new_run  # noqa: E402
from textgen.train import finetune as ft  # noqa: E402
from textgen.train.trainer import Trainer  # noqa: E402

SHARED = ROOT.parent / "shared" / "corpora"
PAIRS = {
    "zh": ("红楼梦 -> 西游记", SHARED / "hongloumeng.txt", SHARED / "xiyouji.txt"),
    "en": ("tiny-shakespeare -> Pride and Prejudice", ROOT / "corpora" / "tiny-shakespeare.txt",
           SHARED / "pride-and-prejudice.txt"),
}


def model_config(args: argparse.Namespace) -> Config:
    """The shared shapes: one LSTM layer (2-layer character models stall on Chinese,
    see issue 11), small enough to train a base in minutes on 2 CPU cores."""
    cfg = Config()
    cfg.model.embedding_dim, cfg.model.units, cfg.model.layers = 64, args.units, 1
    cfg.data.seq_len, cfg.data.batch_size, cfg.data.val_frac = 64, 16, 0.1
    cfg.data.max_vocab = 5000
    cfg.train.save_every = cfg.train.log_every = NEVER
    return cfg


def base_run(pair: str, corpus: Path, args: argparse.Namespace) -> Path:
    """Trains (or reuses) the base model of a pair; returns its run directory."""
    path = args.bases / f"{pair}-u{args.units}-s{args.base_steps}"
    if RunDir(path).has_checkpoint("last"):
        print(f"  base: reusing {path}")
        return path
    cfg = model_config(args)
    cfg.data.val_frac = 0.02
    cfg.train.epochs, cfg.train.max_steps = 1000, args.base_steps
    start = time.perf_counter()
    run, enc, _ = new_run(cfg, [corpus], path)
    trainer = Trainer(cfg, enc, run)
    trainer.fit()
    val = trainer.evaluate()
    print(f"  base: trained {path} for {args.base_steps} steps in "
          f"{time.perf_counter() - start:.0f} s; its own validation {val[1]:.3f} bits/char")
    return path


def target_text(path: Path, chars: int) -> str:
    """`chars` characters from the middle of a corpus, cut at line ends."""
    text = path.read_text(encoding="utf-8")
    start = text.index("\n", len(text) // 2 - chars // 2) + 1
    return text[start : text.rindex("\n", start, start + chars) + 1]


def curve(trainer: Trainer, steps: list[int]) -> list[float]:
    """Validation bits/char after each step count (0 = before any training)."""
    out = []
    for n in steps:
        if n:
            trainer.cfg.train.max_steps = n
            trainer.fit()
        out.append(trainer.evaluate()[1])
    return out


def compare(pair: str, args: argparse.Namespace, tmp: Path) -> None:
    title, base_corpus, target = PAIRS[pair]
    print(f"{pair}: {title}")
    base = ft.load_base(base_run(pair, base_corpus, args), "last")
    corpus = tmp / f"{pair}-target.txt"
    corpus.write_text(target_text(target, args.target_chars), encoding="utf-8")

    cfg = model_config(args)
    cfg.train.epochs = 1000
    run, enc, _ = new_run(cfg, [corpus], tmp / f"{pair}-scratch")
    scratch = curve(Trainer(cfg, enc, run), args.steps)

    cfg = ft.finetune_config(base.cfg, None, [])
    cfg.train.epochs, cfg.data.val_frac = 1000, 0.1
    new = ft.start(base, cfg, [corpus], tmp / f"{pair}-finetuned")
    trainer = Trainer(cfg, new.enc, new.run)
    assign_weights(trainer.model, new.weights)
    tuned = curve(trainer, args.steps)
    enc, vocab = new.enc, new.vocab

    missing = ", ".join(vocab.added[:8]) + (" ..." if len(vocab.added) > 8 else "")
    print(f"  target: {corpus.stat().st_size:,} bytes, {enc.n_chars:,} characters, "
          f"{len(trainer.batches)} batches per epoch; the base lacked {len(vocab.added)} "
          f"of its characters ({missing})")
    print(f"  {'steps':>6} | {'scratch bits/char':>17} | {'fine-tuned bits/char':>20} | "
          f"{'gain':>6}")
    for n, a, b in zip(args.steps, scratch, tuned, strict=True):
        print(f"  {n:>6} | {a:>17.3f} | {b:>20.3f} | {a - b:>+6.3f}")
    print()


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pair", nargs="+", choices=sorted(PAIRS), default=["zh", "en"])
    parser.add_argument("--steps", type=int, nargs="+", default=[0, 50, 100, 200, 400])
    parser.add_argument("--base-steps", type=int, default=2000, help="training steps of a base")
    parser.add_argument("--units", type=int, default=256, help="LSTM units")
    parser.add_argument("--target-chars", type=int, default=50_000)
    parser.add_argument("--bases", type=Path, default=ROOT / "runs" / "bench-bases",
                        help="where base runs are kept for reuse")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    print(f"CPUs: {os.cpu_count()}; load average {os.getloadavg()[0]:.2f}; model: "
          f"Embedding 64 -> LSTM {args.units}, batches of 16 x 64 characters\n")
    with tempfile.TemporaryDirectory(prefix="bench_finetune_") as tmp:
        os.environ["TEXTGEN_CACHE_DIR"] = str(Path(tmp) / "cache")
        for pair in args.pair:
            compare(pair, args, Path(tmp))


if __name__ == "__main__":
    main()
