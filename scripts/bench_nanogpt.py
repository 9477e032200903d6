"""nanoGPT's CPU recipe on textgen's validation tail: the baseline of docs/RESULTS.md.

Runs nanoGPT's own, unmodified `train.py` (from a checkout of
https://github.com/karpathy/nanoGPT, MIT licence; not shipped with textgen) with
the CPU recipe of its README (a 4-layer, 4-head, 128-wide character transformer,
64-character context, batch 12, dropout 0, cosine decay to the last iteration,
compile off), on the same corpus and the same split as textgen: the last
`data.val_frac` (5%) of the characters is the validation text. nanoGPT keeps the
checkpoint whose (noisy, 20-batch) validation estimate is best, as textgen keeps
its best; this script then scores that checkpoint on the *whole* validation tail
with sliding 64-character windows (stride 32; every character after the first
window is predicted from at least 32 characters of context) and prints nats and
bits per character beside the wall time of the training command.

    python scripts/bench_nanogpt.py --nanogpt ~/src/nanoGPT --iters 2600
    python scripts/bench_nanogpt.py --nanogpt ~/src/nanoGPT --iters 13000 --corpus my.txt

Needs torch (CPU build is enough): `pip install torch`. Choose --iters for the
wall time you want (about 22 iterations a second on the 2-core machine of
docs/RESULTS.md).
"""

from __future__ import annotations

import argparse
import math
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from textgen.data.batches import split_ids  # noqa: E402
from textgen.data.corpus import scan_corpus  # noqa: E402

RECIPE = ["--device=cpu", "--compile=False", "--eval_iters=20", "--log_interval=100",
          "--block_size=64", "--batch_size=12", "--n_layer=4", "--n_head=4", "--n_embd=128",
          "--dropout=0.0"]


def prepare(corpus: Path, data_dir: Path, val_frac: float) -> np.ndarray:
    """Writes nanoGPT's train.bin, val.bin and meta.pkl; returns the validation ids."""
    text = scan_corpus([corpus]).read_text()  # textgen's reading: UTF-8, CRLF -> LF
    chars = sorted(set(text))
    stoi = {c: i for i, c in enumerate(chars)}
    ids = np.array([stoi[c] for c in text], dtype=np.uint16)
    train, val = split_ids(ids, val_frac)  # exactly textgen's split
    data_dir.mkdir(parents=True)
    train.tofile(data_dir / "train.bin")
    val.tofile(data_dir / "val.bin")
    with open(data_dir / "meta.pkl", "wb") as f:
        pickle.dump({"vocab_size": len(chars), "itos": dict(enumerate(chars)), "stoi": stoi}, f)
    return val


def score(work: Path, out_dir: str, val: np.ndarray, block: int = 64, stride: int = 32) -> float:
    """Mean nats per character of nanoGPT's saved checkpoint over all of `val`."""
    import torch

    sys.path.insert(0, str(work))
    from model import GPT, GPTConfig  # nanoGPT's model.py

    ckpt = torch.load(work / out_dir / "ckpt.pt", map_location="cpu", weights_only=False)
    model = GPT(GPTConfig(**ckpt["model_args"]))
    state = {k.removeprefix("_orig_mod."): v for k, v in ckpt["model"].items()}
    model.load_state_dict(state)
    model.eval()
    data = torch.from_numpy(val.astype(np.int64))
    total, count, scored = 0.0, 0, 0  # targets data[1..scored] are counted
    starts = [*range(0, len(data) - 1 - block, stride), len(data) - 1 - block]
    with torch.no_grad():
        for i in range(0, len(starts), 256):
            batch = starts[i:i + 256]
            x = torch.stack([data[s:s + block] for s in batch])  # (b, block)
            y = torch.stack([data[s + 1:s + 1 + block] for s in batch])  # (b, block)
            logits, _ = model(x, y)  # with targets, nanoGPT returns every position
            nll = torch.nn.functional.cross_entropy(
                logits.transpose(1, 2), y, reduction="none")  # (b, block)
            for row, s in zip(nll, batch, strict=True):
                first = max(0, scored - s)  # each character is scored once
                total += float(row[first:].sum())
                count += block - first
                scored = s + block
    return total / count


def main() -> None:
    """Prepares the data, runs nanoGPT's train.py with the recipe, scores the result."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nanogpt", type=Path, required=True,
                        help="a checkout of github.com/karpathy/nanoGPT")
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpora" / "tiny-shakespeare.txt")
    parser.add_argument("--iters", type=int, default=2000, help="max_iters (= lr_decay_iters)")
    parser.add_argument("--val-frac", type=float, default=0.05)
    parser.add_argument("--keep", type=Path, help="copy the work directory here afterwards")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name in ("train.py", "model.py", "configurator.py"):
            shutil.copy(args.nanogpt / name, work / name)
        shutil.copytree(args.nanogpt / "config", work / "config")
        val = prepare(args.corpus, work / "data" / "shakespeare_char", args.val_frac)
        cmd = [sys.executable, "train.py", "config/train_shakespeare_char.py", *RECIPE,
               f"--max_iters={args.iters}", f"--lr_decay_iters={args.iters}"]
        print("$", " ".join(cmd[1:]), flush=True)
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, cwd=work, capture_output=True, text=True,
                              env={**os.environ, "PYTHONUNBUFFERED": "1"})
        wall = time.perf_counter() - t0
        evals = [line for line in proc.stdout.splitlines() if line.startswith("step ")]
        print("\n".join(evals[-3:]))
        if proc.returncode:
            sys.exit(proc.stdout[-2000:] + proc.stderr[-2000:])
        nats = score(work, "out-shakespeare-char", val)
        if args.keep:
            shutil.copytree(work, args.keep, dirs_exist_ok=True)
    print(f"nanoGPT CPU recipe, {args.iters:,} iterations on {args.corpus.name}: "
          f"{wall / 60:.1f} min ({wall:.0f} s) wall; validation tail ({len(val):,} chars, "
          f"{args.val_frac:.0%}): {nats:.3f} nats/char = {nats / math.log(2):.3f} bits/char")


if __name__ == "__main__":
    main()
