"""Times `TextGenerator.generate` against the sliding-window `model.predict` baseline, in tokens/s.

Usage:
    python scripts/bench_sample.py [--config configs/char-small.toml]
        [--corpus corpora/tiny-shakespeare.txt] [--lengths 200 1000] [--train-steps 5]
        [--window T] [--temperature 1.0] [--seed 0] [--set section.key=value ...]

A model is trained for a few steps (quality does not matter for speed) in a
temporary run directory, then the same continuation of the same prompt is
timed three ways:

- textgen: `TextGenerator.generate`, the batch-1 stateful model. The prompt is
  read once, then every new token is one compiled (1, 1) step carrying the LSTM
  state, so each token costs the same however long the text gets.
- predict: the textgenrnn / TensorFlow-tutorial way. A non-stateful copy of the
  model (same layers and weights; the last recurrent layer returns only its final
  output, as in textgenrnn) is given the last `--window` tokens (default
  `data.seq_len`) and `model.predict` is called once per new token, so the whole
  window is re-read for every token, through predict's per-call machinery.
- window call: the same sliding window through a compiled `tf.function` instead
  of `predict`. This separates the cost of re-reading the window from the cost of
  `predict` itself; it is not a stock Keras idiom.

All three use textgen's sampler with the same seed. The prompt is the corpus
start, at least `--window` tokens, so the window is always full. Each way is
warmed up (traced) before timing. tokens/s counts generated tokens only; the
time includes reading the prompt, sampling and decoding.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
from bench_common import NEVER, base_parser  # noqa: E402

from textgen import samplers  # noqa: E402
from textgen.backend import keras, tf  # noqa: E402
from textgen.config import Config, ModelConfig, apply_overrides  # noqa: E402
from textgen.generate import TextGenerator  # noqa: E402
from textgen.model import reset_states  # noqa: E402
from textgen.runs import new_run  # noqa: E402
from textgen.train import Trainer  # noqa: E402

TEXTGEN = "textgen generate (stateful)"


def window_model(cfg: ModelConfig, vocab_size: int, window: int) -> keras.Model:
    """The textgenrnn-style model: same layers as `build_model`, not stateful.

    Returns:
        A model mapping token ids (1, W) int32 to next-token logits (1, V).
    """
    rnn = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU}[cfg.cell]
    ids = keras.Input(batch_shape=(1, window), dtype="int32", name="ids")  # (1, W)
    x = keras.layers.Embedding(vocab_size, cfg.embedding_dim, name="embedding")(ids)  # (1,W,E)
    for i in range(cfg.layers):
        last = i == cfg.layers - 1
        x = rnn(cfg.units, return_sequences=not last, name=f"rnn_{i}")(x)  # (1,W,H) / (1,H)
        if cfg.dropout > 0:
            x = keras.layers.Dropout(cfg.dropout, name=f"dropout_{i}")(x)
    logits = keras.layers.Dense(vocab_size, name="logits")(x)  # (1, V)
    return keras.Model(ids, logits, name="window_lm")


def copy_weights(source: keras.Model, target: keras.Model) -> None:
    """Copies weights layer by layer, by name (the LSTM state is not a weight)."""
    for layer in target.layers:
        if layer.weights:
            layer.set_weights(source.get_layer(layer.name).get_weights())


def sliding_window(
    logits_fn: Callable[[np.ndarray], np.ndarray],
    gen: TextGenerator,
    context: np.ndarray,
    length: int,
    window: int,
    temperature: float,
    seed: int,
) -> str:
    """Generates `length` tokens, re-reading the last `window` tokens for each one.

    Args:
        logits_fn: maps ids (1, W) int32 to logits (1, V).
        gen: supplies the tokenizer.
        context: the token ids read so far, (N,) with N >= window.
        length: tokens to generate.

    Returns:
        The generated text.
    """
    sampler = samplers.get(temperature, gen.tokenizer.reserved_ids)
    rng = np.random.default_rng(seed)
    ids = np.empty(context.size + length, dtype=np.int32)
    ids[: context.size] = context
    out = []
    for n in range(context.size, ids.size):
        logits = logits_fn(ids[None, n - window : n])  # (1, W) -> (1, V)
        token = sampler(np.asarray(logits)[0], rng)
        ids[n] = token
        out.append(gen.tokenizer.id_to_token(token))
    return "".join(out)


def timed(fn: Callable[[int], str], length: int) -> float:
    """Returns the seconds `fn(length)` took."""
    start = time.perf_counter()
    fn(length)
    return time.perf_counter() - start


def parse_args() -> argparse.Namespace:
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--lengths", type=int, nargs="+", default=[200, 1000],
                        help="tokens to generate, one table block each")
    parser.add_argument("--train-steps", type=int, default=5, help="training steps first")
    parser.add_argument("--window", type=int, default=0,
                        help="baseline window in tokens (0 = data.seq_len)")
    parser.add_argument("--temperature", type=float, default=1.0, help="sampling temperature")
    parser.add_argument("--seed", type=int, default=0, help="sampling seed")
    args = parser.parse_args()
    if args.train_steps < 1 or min(args.lengths) < 1 or args.window < 0:
        parser.error("--train-steps and --lengths must be >= 1, --window >= 0")
    return args


def main() -> None:
    args = parse_args()
    cfg = Config.load(args.config)
    cfg.train.save_every = cfg.train.log_every = NEVER  # only the final 'last' checkpoint
    apply_overrides(cfg, args.overrides)
    cfg.train.max_steps = args.train_steps
    W = args.window or cfg.data.seq_len

    with tempfile.TemporaryDirectory(prefix="bench_sample_") as tmp:
        os.environ["TEXTGEN_CACHE_DIR"] = str(Path(tmp) / "cache")
        run, enc, _ = new_run(cfg, [args.corpus], Path(tmp) / "run")
        Trainer(cfg, enc, run).fit()
        gen = TextGenerator(run.path)
        # The prompt: the corpus start, long enough that the baseline's window is full.
        text = enc.tokenizer.decode(np.asarray(enc.ids[: 4 * W]))

    V = gen.tokenizer.vocab_size
    prompt_ids = gen.prime_ids(text, drop_unknown=True)
    newline = gen.tokenizer.token_to_id("\n")
    # What generate() reads before the first new token: an unprinted "\n\n", then the prompt.
    context = np.concatenate([[newline, newline] if newline else [], prompt_ids]).astype(np.int32)
    if context.size < W:
        sys.exit(f"error: the prompt has {context.size} tokens, fewer than --window {W}")

    base = window_model(gen.cfg.model, V, W)
    copy_weights(gen.model, base)
    compiled = tf.function(lambda ids: base(ids, training=False))  # (1, W) -> (1, V)
    # Check the copy: both models must give the same logits for the same W tokens.
    reset_states(gen.model)
    want = gen.model(context[None, -W:], training=False)[:, -1, :].numpy()  # (1, V)
    gap = float(np.abs(compiled(context[None, -W:]).numpy() - want).max())
    assert gap < 1e-3, f"the window model's logits differ from textgen's by {gap}"

    def run_textgen(n: int) -> str:
        return "".join(gen.generate(text, n, args.temperature, args.seed, drop_unknown=True))

    def predict(ids: np.ndarray) -> np.ndarray:
        return base.predict(ids, batch_size=1, verbose=0)  # as textgenrnn does

    ways: dict[str, Callable[[int], str]] = {
        TEXTGEN: run_textgen,
        "predict, sliding window": lambda n: sliding_window(
            predict, gen, context, n, W, args.temperature, args.seed),
        "tf.function, sliding window": lambda n: sliding_window(
            compiled, gen, context, n, W, args.temperature, args.seed),
    }
    for fn in ways.values():
        fn(3)  # warm-up: traces every function

    print(f"TensorFlow {tf.__version__}, Keras {keras.__version__}; CPUs: {os.cpu_count()}; "
          f"GPUs: {len(tf.config.list_physical_devices('GPU'))}; "
          f"load average: {os.getloadavg()[0]:.2f}")
    print(f"{args.config.name} on {args.corpus.name}: V={V}, {gen.model.count_params():,} "
          f"parameters; prompt {prompt_ids.size} tokens; baseline window W={W}; "
          f"logits check: max gap {gap:.1e}\n")
    print(f"{'length':>6}  {'way':<30} {'seconds':>8} {'tokens/s':>9} {'ms/token':>9} "
          f"{'textgen is':>11}")
    for n in args.lengths:
        seconds = {name: timed(fn, n) for name, fn in ways.items()}
        ours = seconds[TEXTGEN]
        for name, s in seconds.items():
            speedup = "" if name == TEXTGEN else f"{s / ours:>10.1f}x"
            print(f"{n:>6}  {name:<30} {s:>8.2f} {n / s:>9,.0f} {1e3 * s / n:>9.2f} "
                  f"{speedup:>11}")
        print()


if __name__ == "__main__":
    main()
