"""Training speed and peak memory: textgen against stock Keras `fit` and PyTorch, in one table.

Usage:
    python scripts/bench_train.py [--config configs/char-medium.toml] [--vocab 65 4000]
        [--steps 10] [--repeat 3] [--warmup 2] [--rounds 1] [--quality 0]
        [--set section.key=value ...]

Rows, for each vocabulary size and each precision (float32, mixed_bfloat16):

- Keras fit: the baseline. The same stateful model built from stock
  `keras.layers.LSTM` (`build_model(fast=False)`), `model.compile(Adam with
  global_clipnorm, sparse cross-entropy)`, `model.fit(x, y, batch_size=B,
  shuffle=False)` where x stacks textgen's batches in order, so fit's
  consecutive slices of B rows are textgen's batches (char-rnn layout).
- textgen: `Trainer.fit()`, the real loop (host sync, bookkeeping, Ctrl-C
  polling), with `train.precision` set to the row's precision. The row marked
  "default" is what `train.precision = "auto"` picks on this machine.
- PyTorch (when `import torch` works): `nn.Embedding` -> `nn.LSTM` -> `nn.Linear`
  with Adam and `clip_grad_norm_`, state carried across batches, bfloat16 by
  `torch.autocast`; `torch.set_num_threads(os.cpu_count())`.
- matmul limit: the model's training FLOPs per token (6 x the multiply-adds of
  its matrices; the recurrent, input and output ones) divided by the GFLOP/s a
  large matmul of the model's own shape reaches in that precision: the speed of
  a loop that did nothing but multiply matrices.

Vocabulary 65 is the character vocabulary of --corpus (tiny-shakespeare); a
larger --vocab V trains characters of --big-corpus (西游记, ~4,400 distinct)
capped at `data.max_vocab = V`.

Every row runs in a fresh process (so its peak RSS is its own). A process
takes --warmup untimed steps, then --repeat timed windows of --steps steps
each; the row shows the median window. With --rounds > 1 each row runs again
in a later round, in reverse order, and the median over all windows is shown.
All timed windows start after a host sync and end after one.

--quality E instead trains E epochs (from the same initial weights, with the
state reset at each epoch start and a constant learning rate) with stock Keras
float32, textgen float32 and textgen mixed_bfloat16, and prints each one's
validation loss (nats/char, state reset first, the same validation batches).
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
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
from bench_common import NEVER, ROOT, base_parser  # noqa: E402

from textgen.model.precision import PRECISIONS  # noqa: E402  (no TensorFlow in the parent)

SHORT = {"float32": "float32", "mixed_bfloat16": "bfloat16"}


# === The worker: one row, in its own process ===

def worker(spec: dict[str, Any]) -> dict[str, Any]:
    """Measures one row; returns window seconds, losses and peak RSS."""
    from textgen.config import Config, apply_overrides
    from textgen.data.batches import StatefulBatches, split_ids
    from textgen.data.corpus import scan_corpus
    from textgen.data.encode import encode_corpus

    cfg = Config.load(Path(spec["config"]))
    cfg.train.save_every = cfg.train.log_every = NEVER  # no I/O inside timed windows
    apply_overrides(cfg, spec["overrides"])
    cfg.train.precision = spec["precision"]
    if spec["vocab"] is not None:
        cfg.data.max_vocab = spec["vocab"]
    W, N, R = spec["warmup"], spec["steps"], spec["repeat"]
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench_train_") as tmp:
        os.environ["TEXTGEN_CACHE_DIR"] = str(Path(tmp) / "cache")
        enc = encode_corpus(scan_corpus([Path(spec["corpus"])], cfg.data.normalize), cfg.data)
        out["V"] = V = enc.tokenizer.vocab_size
        side = spec["side"]
        if side == "torch":
            # No TensorFlow in this process: the two runtimes' thread pools crash together.
            train_ids, _ = split_ids(enc.ids, cfg.data.val_frac)
            batches = StatefulBatches(train_ids, cfg.data.batch_size, cfg.data.seq_len)
            loop: Any = TorchLoop(cfg, V, batches, spec["precision"])
        else:
            from textgen.model.precision import resolve_precision
            from textgen.run.directory import RunDir
            from textgen.train.trainer import Trainer

            trainer = Trainer(cfg, enc, RunDir(Path(tmp) / "run"))
            batches = trainer.batches
            out["auto"] = resolve_precision("auto")
            if side == "matmul":
                out["tokens_per_s"] = matmul_limit(cfg, V, trainer.precision)
                return out
            if side == "quality":
                return out | quality(trainer, spec)
            loop = {"textgen": TextgenLoop, "keras": KerasLoop}[side](trainer)
        if W + (N + 1) * R > len(batches):
            raise SystemExit(f"error: {W + (N + 1) * R} steps needed, an epoch has only "
                             f"{len(batches)} batches; use fewer steps")
        loop.run(0, W)
        windows, losses = [], []
        for r in range(R):
            seconds, loss = loop.run(W + r * (N + 1), N + 1)
            windows.append(seconds)
            losses.append(loss)
        tokens = N * cfg.data.batch_size * cfg.data.seq_len
        out["tokens_per_s"] = [tokens / s for s in windows]
        out["loss"] = float(np.mean(losses))
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


class TextgenLoop:
    """Runs `Trainer.fit` for a number of steps, timing all but the last."""

    def __init__(self, trainer):
        from textgen.train.reporter import Reporter

        class Clock(Reporter):
            def epoch_start(self, epoch, n_batches, start_batch):
                self.t0, self.ends, self.losses = time.perf_counter(), [], []

            def step(self, step, loss, tokens_per_s):  # `loss` is synced to the host
                self.ends.append(time.perf_counter())
                self.losses.append(loss)

        self.trainer, self.clock = trainer, Clock()

    def run(self, first: int, n: int) -> tuple[float, float]:
        """Steps `first`..`first+n-1`; returns (seconds for n-1 of them, mean loss)."""
        t = self.trainer
        t.cfg.train.max_steps = t.state.step + n
        result = t.fit(self.clock)
        assert result.stop_reason == "max_steps" and len(self.clock.ends) == n, result
        return self.clock.ends[max(n - 2, 0)] - self.clock.t0, float(np.mean(
            self.clock.losses))


class KerasLoop:
    """Stock `model.fit` on the same weights and batches (the baseline)."""

    def __init__(self, trainer, total: int | None = None):
        from textgen.backend import keras
        from textgen.model.network import build_model

        cfg = trainer.cfg
        B = cfg.data.batch_size
        self.model = build_model(cfg.model, trainer.enc.tokenizer.vocab_size, B,
                                 precision=trainer.precision, fast=False)
        self.model.set_weights(trainer.model.get_weights())  # same starting point
        self.model.compile(
            optimizer=keras.optimizers.Adam(learning_rate=cfg.train.lr,
                                            global_clipnorm=cfg.train.clip_norm or None),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        )
        total = total or len(trainer.batches)
        xs, ys = zip(*(trainer.batches[k] for k in range(total)), strict=True)
        self.x, self.y, self.B = np.concatenate(xs), np.concatenate(ys), B  # (total*B, T)
        # Row i of fit's batch k+1 continues row i of its batch k.
        assert total < 2 or np.array_equal(self.x[B:2 * B, 0], self.y[:B, -1])

        class Clock(keras.callbacks.Callback):
            # Only on_train_batch_begin: overriding on_train_batch_end would switch off
            # Keras's asynchronous callback dispatch and slow stock fit.
            def on_train_batch_begin(self, batch, logs=None):
                if batch in (0, self.n):
                    keras.ops.convert_to_numpy(self.model.optimizer.iterations)  # host sync
                    self.times[batch] = time.perf_counter()

        self.clock = Clock()

    def run(self, first: int, n: int) -> tuple[float, float]:
        rows = slice(first * self.B, (first + n) * self.B)
        self.clock.n, self.clock.times = n - 1, {}
        history = self.model.fit(self.x[rows], self.y[rows], batch_size=self.B,
                                 shuffle=False, epochs=1, verbose=0, callbacks=[self.clock])
        times = self.clock.times
        return times[max(n - 1, 0)] - times[0], float(history.history["loss"][-1])


class TorchLoop:
    """PyTorch `nn.LSTM` on the same batches (bfloat16 through `torch.autocast`)."""

    def __init__(self, cfg, V: int, batches, precision: str):
        import torch

        torch.set_num_threads(os.cpu_count() or 1)
        torch.manual_seed(0)
        m = cfg.model
        cell = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[m.cell]
        self.torch, self.cfg, self.batches = torch, cfg, batches
        self.emb = torch.nn.Embedding(V, m.embedding_dim)
        self.rnn = cell(m.embedding_dim, m.units, m.layers, batch_first=True,
                        dropout=m.dropout if m.layers > 1 else 0.0)
        self.out = torch.nn.Linear(m.units, V)
        self.params = [p for mod in (self.emb, self.rnn, self.out) for p in mod.parameters()]
        self.opt = torch.optim.Adam(self.params, lr=cfg.train.lr)
        self.bf16 = precision == "mixed_bfloat16"
        self.state = None

    def step(self, k: int) -> float:
        torch = self.torch
        x, y = (torch.from_numpy(a.astype(np.int64)) for a in self.batches[k])
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16):
            h, state = self.rnn(self.emb(x), self.state)
            logits = self.out(h)  # (B, T, V)
        loss = torch.nn.functional.cross_entropy(logits.float().flatten(0, 1), y.flatten())
        self.opt.zero_grad()
        loss.backward()
        if self.cfg.train.clip_norm:
            torch.nn.utils.clip_grad_norm_(self.params, self.cfg.train.clip_norm)
        self.opt.step()
        self.state = tuple(s.detach() for s in state) if isinstance(state, tuple) else (
            state.detach())
        return loss.item()  # host sync

    def run(self, first: int, n: int) -> tuple[float, float]:
        start, ends, losses = time.perf_counter(), [], []
        for k in range(first, first + n):
            losses.append(self.step(k))
            ends.append(time.perf_counter())
        return ends[max(n - 2, 0)] - start, float(np.mean(losses))


def flops_per_token(cfg, V: int) -> float:
    """Training FLOPs per token: 6 x multiply-adds (forward 2, backward 4) of the matrices."""
    m = cfg.model
    gates = {"lstm": 4, "gru": 3}[m.cell]
    macs, x = 0, m.embedding_dim
    for _ in range(m.layers):
        macs += gates * m.units * (x + m.units)
        x = m.units
    macs += m.units * V
    return 6.0 * macs


def matmul_limit(cfg, V: int, precision: str) -> float:
    """Tokens/s of a loop that only multiplies matrices at a large matmul's GFLOP/s."""
    from textgen.backend import tf

    dtype = tf.bfloat16 if precision == "mixed_bfloat16" else tf.float32
    rows = cfg.data.batch_size * cfg.data.seq_len
    k, n, reps = cfg.model.units, 4 * cfg.model.units, 10
    a = tf.cast(tf.random.normal((reps, rows, k)), dtype)  # distinct inputs: no CSE
    b = tf.cast(tf.random.normal((k, n)), dtype)

    @tf.function
    def run(a, b):
        return tf.add_n([tf.reduce_sum(tf.cast(tf.matmul(a[i], b)[:1, :1], tf.float32))
                         for i in range(reps)])

    run(a, b).numpy()
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        run(a, b).numpy()
        best = min(best, time.perf_counter() - start)
    flops_per_s = 2.0 * rows * k * n * reps / best
    return [flops_per_s / flops_per_token(cfg, V)]


def quality(trainer, spec: dict[str, Any]) -> dict[str, Any]:
    """Trains `spec["quality"]` epochs with one loop; returns its validation loss.

    Both loops reset the LSTM state at each epoch start (Keras through a callback)
    and keep the learning rate constant (`train.lr_decay` is set to 1 for both).
    """
    from textgen.backend import keras
    from textgen.model.network import reset_states
    from textgen.train.reporter import Reporter as TextgenReporter

    epochs = spec["quality"]
    trainer.cfg.train.lr_decay = 1.0
    if spec["loop"] == "keras":
        loop = KerasLoop(trainer)

        class ResetAtEpochStart(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                reset_states(self.model)

        history = loop.model.fit(loop.x, loop.y, batch_size=loop.B, shuffle=False,
                                 epochs=epochs, verbose=0, callbacks=[ResetAtEpochStart()])
        model, train_loss = loop.model, history.history["loss"][-1]
    else:
        trainer.cfg.train.epochs = epochs
        losses: list[float] = []

        class Losses(TextgenReporter):
            def step(self, step, loss, tokens_per_s):
                losses.append(loss)

        trainer.fit(Losses())
        model, train_loss = trainer.model, float(np.mean(losses[-len(trainer.batches):]))
    reset_states(model)
    vb, total = trainer.val_batches, 0.0
    for k in range(len(vb)):
        x, y = vb[k]
        logits = np.asarray(model(x, training=False), dtype=np.float64)  # (B, T, V)
        logits -= logits.max(-1, keepdims=True)
        logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
        total -= np.take_along_axis(logp, y[..., None].astype(np.int64), -1).sum()
    bpc = trainer.val_text.bits_per_char(total)  # <unk> charged
    return {"val_loss": total / vb.n_tokens(), "val_bpc": bpc,
            "train_loss": train_loss}


# === The parent: runs the rows and prints the table ===

def rows_for(args: argparse.Namespace, torch_ok: bool) -> list[dict[str, Any]]:
    """The rows to measure, in order."""
    rows = []
    for vocab in args.vocab:
        corpus = args.corpus if vocab <= 65 else args.big_corpus
        for precision in PRECISIONS:
            sides = ["keras", "textgen"] + (["torch"] if torch_ok else []) + ["matmul"]
            rows += [{"side": s, "precision": precision, "vocab": None if vocab <= 65 else vocab,
                      "corpus": str(corpus)} for s in sides]
    return rows


def spawn(spec: dict[str, Any]) -> dict[str, Any]:
    """Runs one worker process and returns its result."""
    proc = subprocess.run([sys.executable, __file__, "--worker", json.dumps(spec)],
                          capture_output=True, text=True, encoding="utf-8")
    if proc.returncode != 0:
        sys.exit(f"worker {spec['side']} {spec['precision']} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def parse_args() -> argparse.Namespace:
    parser = base_parser(__doc__.splitlines()[0])
    parser.set_defaults(config=ROOT / "configs" / "char-medium.toml")
    parser.add_argument("--big-corpus", type=Path, default=ROOT / "corpora" / "xiyouji.txt",
                        help="corpus for vocabularies over 65 (capped at data.max_vocab)")
    parser.add_argument("--vocab", type=int, nargs="+", default=[65, 4000],
                        help="vocabulary sizes: 65 = --corpus's characters")
    parser.add_argument("--steps", type=int, default=10, help="steps per timed window")
    parser.add_argument("--repeat", type=int, default=3, help="timed windows per process")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps first")
    parser.add_argument("--rounds", type=int, default=1, help="processes per row")
    parser.add_argument("--quality", type=int, default=0,
                        help="instead of timing, train this many epochs and compare val loss")
    parser.add_argument("--no-torch", action="store_true", help="skip PyTorch even if present")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    for name in ("steps", "repeat", "warmup", "rounds"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be >= 1, got {getattr(args, name)}")
    return args


def header(args: argparse.Namespace) -> None:
    import platform

    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    print(f"{args.config.name}; CPU: {cpu}, {os.cpu_count()} cores; "
          f"load average {os.getloadavg()[0]:.2f}")


def main_quality(args: argparse.Namespace, base: dict[str, Any]) -> None:
    header(args)
    print(f"validation loss after {args.quality} epochs on {args.corpus.name}, same initial "
          "weights and batches:")
    print(f"{'loop':<28} {'train (last epoch)':>18} {'val nats/char':>14} {'val bits/char':>14} "
          f"{'vs Keras':>9}")
    ref = None
    for loop, precision in (("keras", "float32"), ("textgen", "float32"),
                            ("textgen", "mixed_bfloat16")):
        r = spawn(base | {"side": "quality", "loop": loop, "precision": precision,
                          "vocab": None, "corpus": str(args.corpus)})
        ref = r["val_loss"] if ref is None else ref
        label = f"{'Keras fit' if loop == 'keras' else 'textgen'} {SHORT[precision]}"
        print(f"{label:<28} {r['train_loss']:>18.4f} {r['val_loss']:>14.4f} {r['val_bpc']:>14.4f} "
              f"{r['val_loss'] - ref:>+9.4f}", flush=True)


def main() -> None:
    args = parse_args()
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return
    base = {"config": str(args.config), "overrides": args.overrides, "steps": args.steps,
            "repeat": args.repeat, "warmup": args.warmup, "quality": args.quality}
    if args.quality:
        main_quality(args, base)
        return
    torch_ok = False
    if not args.no_torch:
        torch_ok = subprocess.run([sys.executable, "-c", "import torch"],
                                  capture_output=True).returncode == 0
    rows = rows_for(args, torch_ok)
    results: list[list[float]] = [[] for _ in rows]
    facts: list[dict[str, Any]] = [{} for _ in rows]
    header(args)
    print(f"{len(rows)} rows x {args.rounds} round(s): {args.warmup} warm-up steps, then "
          f"{args.repeat} windows of {args.steps} steps per process"
          f"{'' if torch_ok else '; PyTorch not installed'}", flush=True)
    for r in range(args.rounds):
        order = list(range(len(rows)))[:: 1 if r % 2 == 0 else -1]
        for i in order:
            out = spawn(base | rows[i])
            results[i] += out["tokens_per_s"]
            facts[i] = out
            print(f"  {rows[i]['side']:<8} {rows[i]['precision']:<15} V={out['V']:<5} "
                  f"{statistics.median(out['tokens_per_s']):>9,.0f} tokens/s", flush=True)
    auto = next(f["auto"] for f in facts if "auto" in f)
    print()
    print(f"{'V':>5} {'precision':<9} {'loop':<30} {'tokens/s':>9} {'x Keras f32':>11} "
          f"{'peak RSS':>9} {'loss':>7}")
    for vocab in args.vocab:
        idx = [i for i, row in enumerate(rows)
               if (row["vocab"] or 65) == (vocab if vocab > 65 else 65)]
        baseline = next(statistics.median(results[i]) for i in idx
                        if rows[i]["side"] == "keras" and rows[i]["precision"] == "float32")
        for i in idx:
            row, out = rows[i], facts[i]
            label = {"keras": "Keras fit (stock LSTM)", "torch": "PyTorch nn.LSTM",
                     "matmul": "matmul limit"}.get(row["side"], "textgen")
            if row["side"] == "textgen" and row["precision"] == auto:
                label += " (default: auto)"
            rate = statistics.median(results[i])
            rss = "" if row["side"] == "matmul" else f"{out['peak_rss_mb']:,.0f} MB"
            loss = f"{out['loss']:.3f}" if "loss" in out else ""
            print(f"{out['V']:>5} {SHORT[row['precision']]:<9} {label:<30} {rate:>9,.0f} "
                  f"{rate / baseline:>10.2f}x {rss:>9} {loss:>7}")
    print(f"\n`train.precision = \"auto\"` resolves to {auto} on this machine. 'loss' is the "
          "mean training loss of the timed windows (the same batches for every loop).")


if __name__ == "__main__":
    main()
