"""Times textgen's training loop against stock Keras `fit`, on the same batches, in tokens/s.

Usage:
    python scripts/bench_train.py [--config configs/char-small.toml]
        [--corpus corpora/tiny-shakespeare.txt] [--steps 20] [--repeat 5] [--warmup 3]
        [--set section.key=value ...]

Both sides train the same model (`textgen.model.build_model`, same initial
weights, same Adam with `global_clipnorm`, same loss) on the same stateful
batches (`textgen.data.StatefulBatches`), for the same number of optimizer steps:

- textgen: `Trainer.fit()` with `train.max_steps`, i.e. the real loop (host sync
  via `float(loss)`, per-step bookkeeping, Ctrl-C polling), not just the compiled
  `_train_step`, so that its loop overhead is measured like `fit`'s is.
- Keras: `model.compile(...)` then `model.fit(x, y, batch_size=B, shuffle=False,
  epochs=1, verbose=0)`. The B x T batches are stacked in order into x of shape
  (n_steps * B, T), so fit's consecutive slices of B rows are exactly textgen's
  batches and row i of batch k+1 continues row i of batch k (char-rnn layout).

Each side first takes `--warmup` steps in a call of its own (tracing, graph
building), excluded from timing. Then come `--repeat` rounds, one call per side
per round, alternating which side goes first so that background load hits both
alike. A round runs `--steps` + 1 steps and times the first `--steps`: from just
before step 0 to just before the extra step (after a host sync on both sides).
So what either loop does once per call or epoch (Keras: data adapter, callback
and thread-pool setup and teardown, which cost 0.01-0.5 s here; textgen: signal
handler, final checkpoint save) stays out, and only the steady per-step cost is
compared. Periodic checkpoints and metrics rows are pushed past the run (they
happen once per hundreds of steps) unless set with --set. As a check that both
did the same work, the mean training loss of every round is compared.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
from bench_common import NEVER, base_parser  # noqa: E402

from textgen.backend import keras, tf  # noqa: E402
from textgen.config import Config, apply_overrides  # noqa: E402
from textgen.corpus import scan_corpus  # noqa: E402
from textgen.data import StatefulBatches, encode_corpus  # noqa: E402
from textgen.model import build_model  # noqa: E402
from textgen.rundir import RunDir  # noqa: E402
from textgen.train import Reporter, Trainer  # noqa: E402


class StepClock(Reporter):
    """Timestamps the start of a `Trainer.fit` call's loop and the end of each step."""

    def __init__(self) -> None:
        self.start = 0.0
        self.ends: list[float] = []
        self.losses: list[float] = []

    def epoch_start(self, epoch: int, n_batches: int, start_batch: int) -> None:
        """Called just before the loop's first step."""
        self.start, self.ends, self.losses = time.perf_counter(), [], []

    def step(self, step: int, loss: float, tokens_per_s: float) -> None:
        """Called after each step; `loss` was already synced to the host."""
        self.ends.append(time.perf_counter())
        self.losses.append(loss)


class BatchClock(keras.callbacks.Callback):
    """Timestamps the start of batch 0 and of batch `n` of a `fit` call.

    Only `on_train_batch_begin` is overridden: overriding `on_train_batch_end`
    would switch off Keras's asynchronous callback dispatch and slow stock `fit`.
    Reading the optimizer's step counter waits for every queued step (a no-op on
    CPU, where steps run synchronously; on a GPU the host could run ahead).
    """

    def __init__(self, n: int) -> None:
        super().__init__()
        self.n = n
        self.times: dict[int, float] = {}

    def on_train_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if batch in (0, self.n):
            keras.ops.convert_to_numpy(self.model.optimizer.iterations)  # host sync
            self.times[batch] = time.perf_counter()


def textgen_round(trainer: Trainer, n_steps: int) -> tuple[float, float]:
    """Runs `n_steps` more steps of `Trainer.fit` and times all but the last.

    Returns:
        (seconds from loop start to the end of step n_steps - 1, mean loss of all).
    """
    # The real `Trainer.fit` (stopped by `train.max_steps`) rather than a bare loop over
    # the compiled `trainer._train_step`: the loop's own per-step work (float(loss) sync,
    # bookkeeping, Ctrl-C polling) is part of its cost, as fit's callbacks are of fit's.
    clock = StepClock()
    trainer.cfg.train.max_steps = trainer.state.step + n_steps
    result = trainer.fit(clock)
    assert result.stop_reason == "max_steps" and len(clock.ends) == n_steps, result
    return clock.ends[-2 if n_steps > 1 else -1] - clock.start, float(np.mean(clock.losses))


def keras_round(model: keras.Model, x: np.ndarray, y: np.ndarray, B: int) -> tuple[float, float]:
    """Runs one `fit` epoch over x, y (consecutive B-row blocks are the batches).

    Returns:
        (seconds from the start of batch 0 to the start of the last batch, mean loss).
    """
    n = x.shape[0] // B - 1
    clock = BatchClock(n)
    history = model.fit(x, y, batch_size=B, shuffle=False, epochs=1, verbose=0,
                        callbacks=[clock])
    return clock.times[n] - clock.times[0], float(history.history["loss"][-1])


def stacked(batches: StatefulBatches, first: int, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Stacks batches [first, first+count) into fit-ready arrays of shape (count*B, T)."""
    xs, ys = zip(*(batches[k] for k in range(first, first + count)), strict=True)
    return np.concatenate(xs), np.concatenate(ys)  # (count*B, T) each


def check_layout(x: np.ndarray, y: np.ndarray, B: int) -> None:
    """Asserts fit's batch k+1 continues its batch k row by row (char-rnn layout)."""
    if x.shape[0] >= 2 * B:
        # The first input of row i in batch 1 is the token after row i of batch 0.
        assert np.array_equal(x[B : 2 * B, 0], y[:B, -1]), "stacked batches do not continue"


def parse_args() -> argparse.Namespace:
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20,
                        help="timed steps per round (each round runs one more, untimed)")
    parser.add_argument("--repeat", type=int, default=5, help="timed rounds per loop")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first")
    args = parser.parse_args()
    for name in ("steps", "repeat", "warmup"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be >= 1, got {getattr(args, name)}")
    return args


def main() -> None:
    args = parse_args()
    cfg = Config.load(args.config)
    cfg.train.save_every = cfg.train.log_every = NEVER  # no I/O inside timed rounds
    apply_overrides(cfg, args.overrides)
    W, N, R = args.warmup, args.steps, args.repeat
    B, T = cfg.data.batch_size, cfg.data.seq_len

    with tempfile.TemporaryDirectory(prefix="bench_train_") as tmp:
        os.environ["TEXTGEN_CACHE_DIR"] = str(Path(tmp) / "cache")
        enc = encode_corpus(scan_corpus([args.corpus], cfg.data.normalize), cfg.data)
        trainer = Trainer(cfg, enc, RunDir(Path(tmp) / "run"))
        total = W + (N + 1) * R
        if total > len(trainer.batches):
            sys.exit(f"error: --warmup + (--steps + 1) x --repeat = {total} steps, but an epoch "
                     f"has only {len(trainer.batches)} batches; use fewer or a larger corpus")
        V = enc.tokenizer.vocab_size

        model = build_model(cfg.model, V, B)
        model.set_weights(trainer.model.get_weights())  # same starting point
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate=cfg.train.lr,
                                            global_clipnorm=cfg.train.clip_norm or None),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        )
        x, y = stacked(trainer.batches, 0, total)  # (total*B, T)
        check_layout(x, y, B)

        print(f"TensorFlow {tf.__version__}, Keras {keras.__version__}; CPUs: {os.cpu_count()}; "
              f"GPUs: {len(tf.config.list_physical_devices('GPU'))}; "
              f"load average: {os.getloadavg()[0]:.2f}")
        print(f"{args.config.name} on {args.corpus.name}: B={B} T={T} V={V}, "
              f"{model.count_params():,} parameters, {len(trainer.batches)} batches/epoch; "
              f"Keras jit_compile={model.jit_compile}")

        start = time.perf_counter()
        textgen_round(trainer, W)
        warm_textgen = time.perf_counter() - start
        start = time.perf_counter()
        keras_round(model, x[: W * B], y[: W * B], B)
        warm_keras = time.perf_counter() - start
        print(f"warm-up ({W} steps, untimed): textgen {warm_textgen:.1f} s, "
              f"Keras fit {warm_keras:.1f} s\n")

        times: dict[str, list[float]] = {"textgen": [], "keras": []}
        loss_gap = 0.0
        for r in range(R):
            rows = slice((W + r * (N + 1)) * B, (W + (r + 1) * (N + 1)) * B)
            order = ["textgen", "keras"] if r % 2 == 0 else ["keras", "textgen"]
            losses = {}
            for side in order:
                if side == "textgen":
                    seconds, losses[side] = textgen_round(trainer, N + 1)
                else:
                    seconds, losses[side] = keras_round(model, x[rows], y[rows], B)
                times[side].append(seconds)
            loss_gap = max(loss_gap, abs(losses["textgen"] - losses["keras"]))

    tokens = N * B * T
    print(f"{R} timed rounds of {N} steps x B {B} x T {T} = {tokens:,} tokens each "
          f"({total} optimizer steps per loop in all); best and median round:")
    print(f"{'loop':<30} {'steps':>5} | {'ms/step':>8} {'median':>8} | {'tokens/s':>9} "
          f"{'median':>9}")
    rate = {}
    for side, label in (("textgen", "textgen Trainer.fit"), ("keras", "Keras Model.fit")):
        best, med = min(times[side]), statistics.median(times[side])
        rate[side] = (tokens / best, tokens / med)
        print(f"{label:<30} {N * R:>5} | {1e3 * best / N:>8.1f} {1e3 * med / N:>8.1f} | "
              f"{rate[side][0]:>9,.0f} {rate[side][1]:>9,.0f}")
    print(f"{'ratio textgen / Keras':<30} {'':>5} | {'':>8} {'':>8} | "
          f"{rate['textgen'][0] / rate['keras'][0]:>8.2f}x "
          f"{rate['textgen'][1] / rate['keras'][1]:>8.2f}x")
    print(f"\nsame work: largest gap between the two loops' mean round losses: {loss_gap:.2e} "
          "nats/token")
    tolerance = 1e-2
    if cfg.model.dropout > 0:
        # Each loop draws its own dropout masks, so the losses only agree roughly.
        tolerance = 0.1
        print(f"(model.dropout={cfg.model.dropout}: the loops draw different dropout masks, "
              "so their losses agree only roughly)")
    if loss_gap > tolerance:
        print("warning: the two loops' losses differ; they may not be training alike")


if __name__ == "__main__":
    main()
