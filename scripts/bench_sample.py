"""Generation speed: textgen's NumPy path against a hand-written NumPy step and the Keras ways.

Usage:
    python scripts/bench_sample.py [--config configs/char-medium.toml] [--vocab 65 4000]
        [--tokens 2000] [--keras-tokens 300] [--window 100] [--window-tokens 20]
        [--repeat 3] [--prime-chars 10000] [--cli-length 200]

For each vocabulary size V, a run directory with the preset's shapes and random
weights (speed does not depend on what the weights learnt) is written to a
temporary directory, and the same generation task (continue a paragraph break,
temperature 1) is timed five ways, in interleaved rounds, median of `--repeat`:

- textgen, batch 1 / batch 16: `Generator.run(..., n=1 or 16).finish()`, the
  NumPy runtime plus sampling and decoding. Batch 16 counts all rows' tokens.
- numpy reference: the obvious hand-written NumPy loop over the same weights
  (embedding row, `x @ W + h @ U + b`, gates, `h @ D + d`, softmax, `rng.choice`).
- Keras (1, 1) step: textgen 0.1's path, a batch-1 stateful Keras model called
  through a `tf.function` once per token, sampled with the same sampler.
- Keras predict window: the Keras/TF-tutorial/textgenrnn loop, `model.predict`
  on the last `--window` tokens for every new token (non-stateful copy).

Then: reading a `--prime-chars` prompt (textgen `Generator.start` vs one Keras
call on the whole prompt), and `textgen sample RUN --length N` end to end in a
fresh process (import, load, generate, print) against the same job done the
Keras way in a fresh process. Tracing and warm-up are excluded from the
in-process timings, never from the end-to-end ones.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
from bench_common import ROOT, base_parser  # noqa: E402

from textgen.backend import keras, tf  # noqa: E402
from textgen.config import Config, ModelConfig, apply_overrides  # noqa: E402
from textgen.data.tokenizers import UNK, CharTokenizer  # noqa: E402
from textgen.generate.generator import Generator  # noqa: E402
from textgen.generate.samplers import SamplerSettings  # noqa: E402
from textgen.model.network import build_model, reset_states  # noqa: E402
from textgen.run.directory import RunDir, TrainState  # noqa: E402
from textgen.run.keras_checkpoint import load_checkpoint, save_checkpoint  # noqa: E402

SEED = 1


def make_run(cfg: Config, vocab_size: int, path: Path) -> None:
    """Writes a run directory with the preset's shapes, V tokens and random weights."""
    first = 0x4E00 if vocab_size > 200 else 0x21  # CJK for big vocabularies, else ASCII
    tokens = [UNK, "\n", " ", *(chr(first + i) for i in range(vocab_size - 3))]
    keras.utils.set_random_seed(0)
    model = build_model(cfg.model, vocab_size, batch_size=1)
    run = RunDir(path)
    path.mkdir(parents=True)
    cfg.save(run.config)
    CharTokenizer(tokens).save(run.vocab)
    save_checkpoint(run, "last", model, TrainState())


def numpy_reference(run: Path, cfg: ModelConfig) -> Callable[[int], None]:
    """The obvious NumPy loop: per token, per layer x @ W + h @ U + b, gates, logits."""
    ckpt = RunDir(run).read_checkpoint("last", prefixes=("model/",))
    emb = ckpt.weight("embedding/embeddings")
    layers = [[ckpt.weight(f"rnn_{i}/lstm_cell/{n}") for n in ("kernel", "recurrent_kernel",
                                                                "bias")]
              for i in range(cfg.layers)]
    D, d = ckpt.weight("logits/kernel"), ckpt.weight("logits/bias")
    H = cfg.units

    def sigmoid(x):
        return 1 / (1 + np.exp(-x))

    def generate(n: int) -> None:
        rng = np.random.default_rng(SEED)
        hs = [np.zeros(H, np.float32) for _ in layers]
        cs = [np.zeros(H, np.float32) for _ in layers]
        token = 1  # "\n"
        for _ in range(n):
            x = emb[token]
            for i, (W, U, b) in enumerate(layers):
                z = x @ W + hs[i] @ U + b
                cs[i] = sigmoid(z[H:2 * H]) * cs[i] + sigmoid(z[:H]) * np.tanh(z[2 * H:3 * H])
                hs[i] = x = sigmoid(z[3 * H:]) * np.tanh(cs[i])
            z = (x @ D + d).astype(np.float64)
            p = np.exp(z - z.max())
            p[0] = 0  # never <unk>
            token = int(rng.choice(p.size, p=p / p.sum()))

    return generate


def keras_step(run: Path, cfg: Config, vocab_size: int) -> Callable[[int], None]:
    """textgen 0.1's sampling: a compiled (1, 1) step of the batch-1 stateful Keras model."""
    model = build_model(cfg.model, vocab_size, batch_size=1)
    load_checkpoint(RunDir(run), "last", model)
    fn = tf.function(lambda ids: model(ids, training=False)[:, -1, :],
                     input_signature=[tf.TensorSpec((1, None), tf.int32)])
    sampler = SamplerSettings().build([0])

    def generate(n: int) -> None:
        rngs = [np.random.default_rng(SEED)]
        reset_states(model)
        step = np.array([[1, 1]], dtype=np.int32)  # the "\n\n" warm-up
        for _ in range(n):
            logits = fn(step).numpy()  # (1, V)
            step = sampler.sample(logits, rngs)[None, :].astype(np.int32)

    return generate


def keras_window(run: Path, cfg: Config, vocab_size: int, window: int) -> Callable[[int], None]:
    """The Keras-example loop: `predict` on the last `window` tokens for every new token."""
    stateful = build_model(cfg.model, vocab_size, batch_size=1)
    load_checkpoint(RunDir(run), "last", stateful)
    rnn = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU}[cfg.model.cell]
    ids = keras.Input(batch_shape=(1, window), dtype="int32")
    x = keras.layers.Embedding(vocab_size, cfg.model.embedding_dim, name="embedding")(ids)
    for i in range(cfg.model.layers):
        last = i == cfg.model.layers - 1
        x = rnn(cfg.model.units, return_sequences=not last, name=f"rnn_{i}")(x)
    model = keras.Model(ids, keras.layers.Dense(vocab_size, name="logits")(x))
    for layer in model.layers:
        if layer.weights:
            layer.set_weights(stateful.get_layer(layer.name).get_weights())
    sampler = SamplerSettings().build([0])

    def generate(n: int) -> None:
        rngs = [np.random.default_rng(SEED)]
        context = [1] * window
        for _ in range(n):
            logits = model.predict(np.array([context[-window:]], np.int32), verbose=0)
            context.append(int(sampler.sample(logits, rngs)[0]))

    return generate


KERAS_E2E = """
import sys, numpy as np
from textgen.backend import tf
from textgen.config import Config
from textgen.run.keras_checkpoint import load_checkpoint
from textgen.model.network import build_model
from textgen.run.directory import RunDir
from textgen.generate.samplers import SamplerSettings
from textgen.data.tokenizers import load_tokenizer
run = RunDir(sys.argv[1]); n = int(sys.argv[2])
cfg = Config.load(run.config); tok = load_tokenizer(run.vocab)
model = build_model(cfg.model, tok.vocab_size, batch_size=1)
load_checkpoint(run, "last", model)
fn = tf.function(lambda ids: model(ids, training=False)[:, -1, :],
                 input_signature=[tf.TensorSpec((1, None), tf.int32)])
sampler, rngs = SamplerSettings().build([0]), [np.random.default_rng(1)]
step = np.array([[1, 1]], dtype=np.int32)
for _ in range(n):
    token = sampler.sample(fn(step).numpy(), rngs)
    sys.stdout.write(tok.id_to_token(int(token[0])))
    step = token[None, :].astype(np.int32)
"""


def wall(cmd: list[str]) -> float:
    """Seconds a command takes end to end (it must succeed)."""
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
    return time.perf_counter() - start


def median_times(ways: dict[str, tuple[Callable[[int], None], int]], repeat: int) -> dict:
    """Median seconds of each way over `repeat` interleaved rounds (after a warm-up call)."""
    for fn, _ in ways.values():
        fn(2)
    times: dict[str, list[float]] = {name: [] for name in ways}
    for r in range(repeat):
        order = list(ways) if r % 2 == 0 else list(reversed(ways))
        for name in order:
            fn, n = ways[name]
            start = time.perf_counter()
            fn(n)
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def parse_args() -> argparse.Namespace:
    parser = base_parser(__doc__.splitlines()[0])
    parser.set_defaults(config=ROOT / "configs" / "char-medium.toml")
    parser.add_argument("--vocab", type=int, nargs="+", default=[65, 4000],
                        help="vocabulary sizes, one table each")
    parser.add_argument("--tokens", type=int, default=2000, help="tokens per row, NumPy ways")
    parser.add_argument("--keras-tokens", type=int, default=300, help="tokens, Keras (1, 1) step")
    parser.add_argument("--window", type=int, default=100, help="Keras predict window")
    parser.add_argument("--window-tokens", type=int, default=20, help="tokens, predict window")
    parser.add_argument("--repeat", type=int, default=3, help="timed rounds (median)")
    parser.add_argument("--prime-chars", type=int, default=10_000, help="prompt length to read")
    parser.add_argument("--cli-length", type=int, default=200, help="tokens, end-to-end runs")
    return parser.parse_args()


def bench_vocab(args: argparse.Namespace, cfg: Config, V: int, run: Path) -> dict:
    """Prints the table of one vocabulary size; returns its rates and prompt-read time."""
    m = cfg.model
    make_run(cfg, V, run)
    gen = Generator(run)
    t1 = SamplerSettings()
    ways = {
        "textgen, batch 1": (lambda n: gen.run("", n, t1, 1, SEED).finish(), args.tokens),
        "textgen, batch 16 (all rows)": (lambda n: gen.run("", n, t1, 16, SEED).finish(),
                                         args.tokens),
        "numpy reference step, batch 1": (numpy_reference(run, m), args.tokens),
        "Keras (1, 1) step (textgen 0.1)": (keras_step(run, cfg, V), args.keras_tokens),
        f"Keras predict, {args.window}-token window": (
            keras_window(run, cfg, V, args.window), args.window_tokens),
    }
    seconds = median_times(ways, args.repeat)
    rows = {name: ways[name][1] * (16 if "16" in name else 1) for name in ways}
    rate = {name: rows[name] / s for name, s in seconds.items()}
    ref = rate["numpy reference step, batch 1"]
    print(f"V = {V:,}")
    print(f"  {'way':<36} {'tokens':>7} {'seconds':>8} {'tokens/s':>10} {'vs ref':>7}")
    for name, s in seconds.items():
        print(f"  {name:<36} {rows[name]:>7,} {s:>8.3f} {rate[name]:>10,.0f} "
              f"{rate[name] / ref:>6.2f}x")

    prime = gen.encode_prime("".join(gen.tokenizer.tokens[1 + i % (V - 1)]
                                     for i in range(args.prime_chars)))
    read = statistics.median(_timed(lambda: gen.start(prime)) for _ in range(args.repeat))
    model = build_model(m, V, batch_size=1)
    load_checkpoint(RunDir(run), "last", model)
    fn = tf.function(lambda ids: model(ids, training=False)[:, -1, :],
                     input_signature=[tf.TensorSpec((1, None), tf.int32)])
    ids = np.concatenate([[1, 1], prime.ids])[None, :].astype(np.int32)
    fn(ids[:, :10])  # trace once; any length then runs the same graph
    keras_read = statistics.median(
        _timed(lambda: (reset_states(model), fn(ids).numpy())) for _ in range(2))
    print(f"  reading a {args.prime_chars:,}-token prompt: textgen {read:.3f} s, "
          f"Keras (one compiled call, textgen 0.1) {keras_read:.3f} s")
    return {"rate": rate, "read": read, "keras_read": keras_read}


def bench_cli(args: argparse.Namespace, run: Path) -> float:
    """Prints and returns the end-to-end seconds of `textgen sample` in a fresh process."""
    cli = [sys.executable, "-m", "textgen", "sample", str(run), "--length",
           str(args.cli_length), "--seed", "1"]
    old = [sys.executable, "-c", KERAS_E2E, str(run), str(args.cli_length)]
    wall(cli)  # warm the file cache
    e2e = statistics.median(wall(cli) for _ in range(args.repeat))
    e2e_old = statistics.median(wall(old) for _ in range(args.repeat))
    print(f"  `textgen sample RUN --length {args.cli_length}` end to end: {e2e:.2f} s; "
          f"the Keras way in a fresh process: {e2e_old:.2f} s")
    return e2e


def main() -> None:
    args = parse_args()
    cfg = Config.load(args.config)
    apply_overrides(cfg, args.overrides)
    m = cfg.model
    print(f"TensorFlow {tf.__version__}, Keras {keras.__version__}, NumPy {np.__version__}; "
          f"CPUs: {os.cpu_count()}; load average {os.getloadavg()[0]:.2f}")
    print(f"{args.config.name}: Embedding {m.embedding_dim} -> {m.layers} x "
          f"{m.cell.upper()} {m.units}; batch 16 = 16 samples at once; medians of "
          f"{args.repeat} interleaved rounds\n")
    results: dict = {}
    with tempfile.TemporaryDirectory(prefix="bench_sample_") as tmp:
        for V in args.vocab:
            run = Path(tmp) / f"v{V}"
            results[V] = bench_vocab(args, cfg, V, run)
            if V == args.vocab[0]:
                results["e2e"] = bench_cli(args, run)
            print()
    _targets(args, results)


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _targets(args: argparse.Namespace, results: dict) -> None:
    small, big = args.vocab[0], args.vocab[-1]
    r, rb = results[small]["rate"], results[big]["rate"]
    ref = "numpy reference step, batch 1"
    checks = [
        (f"V={small}: batch 1 >= numpy reference", r["textgen, batch 1"] / r[ref], 1.0, ">="),
        (f"V={small}: batch 16 >= 8x batch 1",
         r["textgen, batch 16 (all rows)"] / r["textgen, batch 1"], 8.0, ">="),
        (f"V={big}: numpy reference / batch 1 <= 1.5", rb[ref] / rb["textgen, batch 1"], 1.5,
         "<="),
        (f"sample --length {args.cli_length} end to end < 1.0 s", results["e2e"], 1.0, "<"),
        (f"{args.prime_chars:,}-token prompt read < 0.5 s", results[small]["read"], 0.5, "<"),
    ]
    print("targets (issue 7)")
    for what, value, bound, op in checks:
        ok = {">=": value >= bound, "<=": value <= bound, "<": value < bound}[op]
        print(f"  {what:<44} measured {value:8.2f}  {'met' if ok else 'MISSED'}")
    print("\n" + json.dumps({str(k): v for k, v in results.items()}, default=float))


if __name__ == "__main__":
    main()
