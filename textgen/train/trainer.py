"""Training: a stateful loop with exact resume.

The loop is written out rather than hidden in `fit()` because stateful training
needs control `fit()` does not give: the LSTM state is reset at each epoch start
and around validation, progress is saved *inside* an epoch (batch index,
optimizer moments, RNG and LSTM state), and Ctrl-C finishes the current step,
saves, and returns.
"""

from __future__ import annotations

import csv
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from textgen.backend import keras, tf
from textgen.config import Config, check_combinations, parse_duration
from textgen.data.encode import (
    MIN_BATCHES_PER_EPOCH,
    EncodedCorpus,
    StatefulBatches,
    split_ids,
    validation_batches,
)
from textgen.data.stats import CorpusStats
from textgen.errors import TextgenError, TrainingDiverged
from textgen.fileio import atomic_write_text
from textgen.generate.samplers import SamplerSettings
from textgen.interrupt import sigint_flag
from textgen.model.metrics import ScoredText
from textgen.model.network import build_model, recurrent_layers, reset_states
from textgen.model.precision import resolve_precision
from textgen.run.directory import RunDir, TrainState
from textgen.run.keras_checkpoint import load_checkpoint, save_checkpoint

EXPLOSION = 3.0  # a training loss above this times the run's first loss has exploded
PLATEAU_STEPS = 1000  # steps before a loss plateau is worth a warning
PLATEAU_SHARE = 0.95  # validation above this share of the unigram loss: a plateau
SAMPLE_TEMPERATURES = (0.5, 0.8, 1.0)  # train.sample_every: from safe to adventurous

METRICS_COLUMNS = [
    "step", "epoch", "train_loss", "val_loss", "val_bpc", "tokens_per_s", "lr", "elapsed_s",
]


@dataclass
class EpochSummary:
    """What one finished epoch achieved."""

    epoch: int  # 1-based number of the epoch just finished
    step: int
    train_loss: float  # mean nats per token over the epoch (since the resume, if resumed)
    val_loss: float | None  # nats per token
    val_bpc: float | None  # bits per character of the validation text
    is_best: bool


@dataclass
class TrainResult:
    """How a call to `train` ended."""

    state: TrainState
    stop_reason: str  # "done", "max_steps", "max_time", "early_stop" or "interrupted"


class Reporter:
    """Receives training progress. The default ignores it; the CLI draws a tqdm bar."""

    def start(self, step: int, total_steps: int) -> None:
        """Training begins (or resumes) at global `step` and will stop at `total_steps`."""

    def epoch_start(self, epoch: int, n_batches: int, start_batch: int) -> None:
        """Epoch `epoch` (0-based) begins at `start_batch` of `n_batches`."""

    def step(self, step: int, loss: float, tokens_per_s: float) -> None:
        """One optimizer step finished with training loss `loss` (nats/token)."""

    def epoch_end(self, summary: EpochSummary) -> None:
        """An epoch finished (after validation)."""

    def warning(self, message: str) -> None:
        """Something about the run the user should know (e.g. a loss plateau)."""

    def samples(self, step: int, samples: list[tuple[float, str]]) -> None:
        """Samples were written at `step`: (temperature, text) pairs."""

    def validated(self, summary: EpochSummary) -> None:
        """A validation inside an epoch (`train.eval_every`) finished; `summary.epoch`
        is the epoch in progress, `summary.train_loss` the mean since the epoch began."""


def learning_rate(cfg: Config, step: int, epoch: int, steps_per_epoch: int) -> float:
    """The learning rate of the optimizer step after global `step` (0-based), in `epoch`.

    Args:
        cfg: the config (`train.lr`, `train.schedule` and its settings, `train.epochs`).
        step: optimizer steps taken so far.
        epoch: the 0-based epoch the step belongs to.
        steps_per_epoch: batches per epoch (for the cosine's length).
    """
    t = cfg.train
    if t.schedule == "constant":
        return t.lr
    if t.schedule == "decay":
        return t.lr * t.lr_decay ** max(epoch - t.decay_after, 0)
    # cosine: linear warm-up, then from lr down to lr/10 at the end of train.epochs
    # (not of --max-steps, which ends one session only: a resume must see the same curve).
    if step < t.warmup_steps:
        return t.lr * (step + 1) / t.warmup_steps
    total = max(t.epochs * steps_per_epoch, t.warmup_steps + 1)
    progress = min((step - t.warmup_steps) / max(total - t.warmup_steps, 1), 1.0)
    return t.lr * (0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * progress)))


class Trainer:
    """Owns the model, optimizer, compiled steps and data of one run.

    Args:
        cfg: the resolved config.
        enc: the encoded corpus.
        run: the run directory (checkpoints and metrics go there).
    """

    def __init__(self, cfg: Config, enc: EncodedCorpus, run: RunDir):
        self.cfg, self.enc, self.run = cfg, enc, run
        d = cfg.data
        train_ids, val_ids = split_ids(enc.ids, d.val_frac)
        self.batches = StatefulBatches(train_ids, d.batch_size, d.seq_len)
        self.stats = CorpusStats.of(train_ids, enc.tokenizer)
        # The plateau is judged on the text validated on: the training split's token
        # frequencies scored on the validation tail (what guessing by frequency gets there).
        self.val_unigram = self.stats.unigram_loss(CorpusStats.of(val_ids, enc.tokenizer)) if (
            val_ids.size) else 0.0
        self._uniform_loss = math.log(enc.tokenizer.vocab_size)
        self.val_batches = validation_batches(val_ids, d.batch_size, d.seq_len)
        # Its characters and <unk> charge, for bits/char (None without validation).
        self.val_text = ScoredText.of(self.val_batches, enc) if self.val_batches else None
        keras.utils.set_random_seed(cfg.train.seed)
        self.precision = resolve_precision(cfg.train.precision)
        self.model = build_model(
            cfg.model, enc.tokenizer.vocab_size, d.batch_size, precision=self.precision
        )
        freeze(self.model, cfg)
        self.optimizer = keras.optimizers.Adam(
            learning_rate=cfg.train.lr, global_clipnorm=cfg.train.clip_norm or None,
            weight_decay=cfg.train.weight_decay or None,
        )
        self.optimizer.build(self.model.trainable_variables)
        self.loss_fn = keras.losses.SparseCategoricalCrossentropy(
            from_logits=True, reduction="sum"
        )
        self.max_seconds = parse_duration(cfg.train.max_time)
        self._board = None  # the TensorBoard writer, opened by `fit`
        self.state = TrainState()
        self._epoch_losses: list[float] = []  # this epoch's (or this session's) step losses
        self._window = _Window(d.batch_size * d.seq_len)  # steps since the last metrics row

    def notices(self) -> list[str]:
        """Warnings about the data layout worth showing before training."""
        out = []
        if len(self.batches) < MIN_BATCHES_PER_EPOCH:
            out.append(
                f"warning: only {len(self.batches)} batches per epoch (fewer than "
                f"{MIN_BATCHES_PER_EPOCH}); the corpus is small for data.batch_size="
                f"{self.cfg.data.batch_size} x data.seq_len={self.cfg.data.seq_len}. "
                "Consider smaller values"
            )
        if self.cfg.data.val_frac > 0 and self.val_batches is None:
            out.append(
                "warning: the validation tail is shorter than data.batch_size tokens; "
                "no validation (and no 'best' checkpoint). Raise data.val_frac"
            )
        return out

    def resume(self) -> None:
        """Restores model, optimizer, RNG, LSTM state and progress from 'last'."""
        self.state = load_checkpoint(self.run, "last", self.model, self.optimizer)
        _truncate_metrics(self.run, self.state.step)

    # === Compiled steps ===

    @tf.function
    def _train_step(self, x: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
        # x, y: (B, T) int32
        with tf.GradientTape() as tape:
            logits = self.model(x, training=True)  # (B, T, V)
            loss = self.loss_fn(y, logits) / tf.cast(tf.size(y), tf.float32)
        grads = tape.gradient(loss, self.model.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, self.model.trainable_variables, strict=True))
        return loss

    @tf.function
    def _eval_step(self, x: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
        return self.loss_fn(y, self.model(x, training=False))  # summed nats

    def evaluate(self) -> tuple[float, float] | None:
        """Mean nats per token and bits per character on the validation tail.

        Nats per token are the model's own loss; bits per character add the cost of
        spelling out the characters of `<unk>` targets (`EncodedCorpus.spelling_cost`).

        The state is reset before and after, so validation neither sees the
        training context nor leaks into the next training batch.
        """
        if self.val_batches is None:
            return None
        reset_states(self.model)
        total = 0.0
        for k in range(len(self.val_batches)):
            total += float(self._eval_step(*self.val_batches[k]))
        reset_states(self.model)
        return total / self.val_batches.n_tokens(), self.val_text.bits_per_char(total)

    # === The loop ===

    def fit(self, reporter: Reporter | None = None) -> TrainResult:
        """Trains until `train.epochs` or `train.max_steps`, or until Ctrl-C.

        Returns:
            The final progress and why training stopped. The 'last' checkpoint
            is always saved before returning.
        """
        reporter = reporter or Reporter()
        if not self.run.has_checkpoint("last"):
            # A step-0 checkpoint makes the run resumable from its first moment.
            save_checkpoint(self.run, "last", self.model, self.state, self.optimizer)
        cfg, reason = self.cfg.train, "done"
        if cfg.tensorboard and self._board is None:
            self._board = _tensorboard_writer(self.run)
        self._deadline = time.monotonic() + self.max_seconds if self.max_seconds else None
        reporter.start(self.state.step, self.total_steps())
        with sigint_flag() as interrupted:
            while self.state.epoch < cfg.epochs and reason == "done":
                if cfg.max_steps and self.state.step >= cfg.max_steps:
                    reason = "max_steps"
                    break
                if self.early_stopped:
                    reason = "early_stop"
                    break
                reason = self._run_epoch(reporter, interrupted)
                if reason == "done":
                    self._end_epoch(reporter)
                elif self._window.steps:
                    self._log_window()  # every stop leaves a metrics row for its last steps
        self._save_last()
        if self._board is not None:
            self._board.flush()
        return TrainResult(self.state, reason)

    @property
    def early_stopped(self) -> bool:
        """Whether `train.patience` validations in a row brought no new best."""
        patience = self.cfg.train.patience
        return bool(patience) and self.state.bad_validations >= patience

    def total_steps(self) -> int:
        """The global step at which this call of `fit` will stop (if not interrupted)."""
        st, n = self.state, len(self.batches)
        if self.early_stopped:
            return st.step
        total = st.step + max((self.cfg.train.epochs - st.epoch) * n - st.batch_in_epoch, 0)
        if self.cfg.train.max_steps:
            total = min(total, max(self.cfg.train.max_steps, st.step))
        return total

    def _run_epoch(self, reporter: Reporter, interrupted: Callable[[], bool]) -> str:
        """Runs the current epoch's remaining batches.

        Returns:
            "done" at the end of the epoch, else "max_steps" or "interrupted".
        """
        st, cfg = self.state, self.cfg.train
        if st.batch_in_epoch == 0:
            reset_states(self.model)
        reporter.epoch_start(st.epoch, len(self.batches), st.batch_in_epoch)
        self._epoch_losses = []
        window = self._window = _Window(self.batches.batch_size * self.batches.seq_len)
        while st.batch_in_epoch < len(self.batches):
            if cfg.max_steps and st.step >= cfg.max_steps:
                return "max_steps"
            if interrupted():
                return "interrupted"
            if self._deadline is not None and time.monotonic() >= self._deadline:
                return "max_time"
            self.optimizer.learning_rate.assign(
                learning_rate(self.cfg, st.step, st.epoch, len(self.batches)))
            loss = float(self._train_step(*self.batches[st.batch_in_epoch]))
            if st.first_loss is None:
                # A run from before first_loss was saved: the uniform guess stands in.
                st.first_loss = loss if st.step == 0 else self._uniform_loss
            if not math.isfinite(loss) or loss > self._explosion_limit():
                raise self._diverged(loss)
            st.step += 1
            st.batch_in_epoch += 1
            st.tokens_seen += window.tokens_per_step
            st.elapsed_s += window.add(loss)
            self._epoch_losses.append(loss)
            reporter.step(st.step, loss, window.tokens_per_s())
            if st.step % cfg.log_every == 0:
                self._log_window()
            inside = st.batch_in_epoch < len(self.batches)  # the epoch end validates anyway
            if cfg.eval_every and st.step % cfg.eval_every == 0 and inside:
                self._validate_mid_epoch(reporter)
            if self.early_stopped:
                return "early_stop"
            if cfg.sample_every and st.step % cfg.sample_every == 0:
                self._write_samples(reporter)
            if st.step % cfg.save_every == 0:
                self._save_last()
        return "done"

    def _write_samples(self, reporter: Reporter) -> None:
        """Samples from the current weights at a few temperatures (the NumPy runtime, its
        own random numbers: training is not disturbed); appends them to samples.txt."""
        from textgen.generate.generator import Generator

        weights = {v.path: v.numpy() for v in self.model.variables
                   if "seed_generator" not in v.path}
        gen = Generator(self.run.path, weights=weights, step=self.state.step)
        step, length = self.state.step, self.cfg.train.sample_length
        samples = [(t, gen.generate("", length, seed=self.cfg.train.seed,
                                    settings=SamplerSettings(temperature=t)))
                   for t in SAMPLE_TEMPERATURES]
        with open(self.run.samples, "a", encoding="utf-8", newline="") as f:
            for t, text in samples:
                f.write(f"=== step {step:,}, temperature {t} ===\n{text}\n\n")
        if self._board is not None:
            with self._board.as_default(step=step):
                for t, text in samples:
                    tf.summary.text(f"sample/temperature_{t}", text)
        reporter.samples(step, samples)

    def _save_last(self) -> None:
        """Saves 'last' and, with `train.keep`, a step checkpoint (dropping the oldest)."""
        save_checkpoint(self.run, "last", self.model, self.state, self.optimizer)
        keep = self.cfg.train.keep
        if keep:
            step_name = f"step-{self.state.step:09d}"
            save_checkpoint(self.run, step_name, self.model, self.state, self.optimizer)
            for old in self.run.step_checkpoints()[:-keep]:
                old.unlink(missing_ok=True)

    def _diverged(self, loss: float) -> TrainingDiverged:
        """The error for a loss that became NaN/inf or exploded; 'last' stays as it was."""
        st = self.state
        saved = self.run.read_state()
        what = (f"became {loss}" if not math.isfinite(loss) else
                f"exploded to {loss:.3f} (above {self._explosion_limit():.3f}: "
                f"{EXPLOSION:g}x its first value {st.first_loss:.3f}, and well above a "
                "uniform guess)")
        return TrainingDiverged(
            f"training loss {what} at step {st.step + 1:,}; nothing was saved after step "
            f"{saved.step if saved else 0:,}. Resume with a lower rate (textgen train "
            f"--resume {self.run.path} --set train.lr={self.cfg.train.lr / 4:g}); if it "
            "fails again, start a new run with a lower train.lr"
        )

    def _explosion_limit(self) -> float:
        """Above this the loss has exploded: 3x the run's first loss, and never below 1.5x
        the loss of a uniform guess (a fine-tuned or resumed run may start very low, and a
        fresh model starts at about the uniform guess)."""
        return max(EXPLOSION * self.state.first_loss, 1.5 * self._uniform_loss)

    def corpus_report(self) -> list[str]:
        """Lines about the training split (token shares, unigram loss) and warnings."""
        return self.stats.report() + self.stats.warnings()

    def _check_plateau(self, val_loss: float, reporter: Reporter) -> None:
        """Warns once when, after real training, validation is still at the unigram loss."""
        st, unigram = self.state, self.val_unigram
        if st.plateau_warned or st.step < PLATEAU_STEPS or val_loss < PLATEAU_SHARE * unigram:
            return
        st.plateau_warned = True
        reporter.warning(
            f"warning: after {st.step:,} steps the validation loss ({val_loss:.3f} nats/token) "
            f"is still near the unigram loss ({unigram:.3f}: guessing tokens by their "
            "frequency alone), so the model has learnt little context. Likely fixes: a "
            f"lower or higher train.lr (now {self.cfg.train.lr:g}; try 0.002 to 0.01), more "
            "steps, model.units of at least 256, or for Chinese data.tokenizer=word"
        )

    def _log_window(self) -> None:
        """Appends a metrics row for the steps since the last one."""
        w = self._window
        self._log(self.state.step, self._epoch_position(), w.mean_loss(), None, None,
                  w.tokens_per_s())
        w.clear()

    def _epoch_position(self) -> float:
        """Epochs done, with the current one's fraction (for metrics rows)."""
        return self.state.epoch + self.state.batch_in_epoch / len(self.batches)

    def _validate_mid_epoch(self, reporter: Reporter) -> None:
        """Validates inside an epoch without disturbing training: the LSTM state
        that training carries is put back afterwards."""
        layers = recurrent_layers(self.model)
        carried = [[s.numpy() for s in layer.states] for layer in layers]
        result = self.evaluate()
        for layer, saved in zip(layers, carried, strict=True):
            for s, value in zip(layer.states, saved, strict=True):
                s.assign(value)
        if result is None:
            return
        st = self.state
        is_best = self._record_validation(*result, reporter)
        train_loss = float(np.mean(self._epoch_losses))
        self._log(st.step, self._epoch_position(), None, *result, None)
        reporter.validated(EpochSummary(st.epoch + 1, st.step, train_loss, *result, is_best))

    def _record_validation(self, val_loss: float, val_bpc: float, reporter: Reporter) -> bool:
        """Notes a validation result; saves 'best' when it is the lowest so far."""
        st = self.state
        st.last_val_loss, st.last_val_bpc = val_loss, val_bpc
        is_best = st.best_val_loss is None or val_loss < st.best_val_loss
        st.bad_validations = 0 if is_best else st.bad_validations + 1
        if is_best:
            st.best_val_loss, st.best_val_bpc = val_loss, val_bpc
            save_checkpoint(self.run, "best", self.model, st)
        self._check_plateau(val_loss, reporter)
        return is_best

    def _end_epoch(self, reporter: Reporter) -> None:
        """Validates, updates the best checkpoint, saves 'last' and logs the epoch."""
        st = self.state
        result = self.evaluate()
        val_loss, val_bpc = result if result else (None, None)
        st.epoch += 1
        st.batch_in_epoch = 0
        is_best = result is not None and self._record_validation(*result, reporter)
        self._save_last()
        losses = self._epoch_losses
        train_loss = float(np.mean(losses)) if losses else float("nan")
        self._log(st.step, float(st.epoch), train_loss, val_loss, val_bpc, None)
        reporter.epoch_end(EpochSummary(st.epoch, st.step, train_loss, val_loss, val_bpc, is_best))

    def _log(self, step, epoch, train_loss, val_loss, val_bpc, tokens_per_s) -> None:
        new = not self.run.metrics.exists()
        with open(self.run.metrics, "a", encoding="utf-8", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            if new:
                w.writerow(METRICS_COLUMNS)
            fmt = lambda v, p=6: "" if v is None else f"{v:.{p}f}"  # noqa: E731
            w.writerow([
                step, f"{epoch:.4f}", fmt(train_loss), fmt(val_loss), fmt(val_bpc),
                fmt(tokens_per_s, 1), f"{float(self.optimizer.learning_rate):.6g}",
                f"{self.state.elapsed_s:.2f}",
            ])
        if self._board is not None:
            scalars = {"loss/train": train_loss, "loss/validation": val_loss,
                       "bits_per_char/validation": val_bpc, "tokens_per_s": tokens_per_s,
                       "learning_rate": float(self.optimizer.learning_rate)}
            with self._board.as_default(step=step):
                for name, value in scalars.items():
                    if value is not None:
                        tf.summary.scalar(name, value)
            self._board.flush()


def _tensorboard_writer(run: RunDir):
    """A summary writer into RUN_DIR/tensorboard.

    Raises:
        TextgenError: the tensorboard package is missing.
    """
    try:
        import tensorboard  # noqa: F401  (tf.summary's implementation)
    except ImportError as e:
        raise TextgenError(
            "--tensorboard needs the tensorboard package: pip install tensorboard"
        ) from e
    return tf.summary.create_file_writer(str(run.path / "tensorboard"))


def freeze(model: keras.Model, cfg: Config) -> None:
    """Makes the layers that `train.freeze_embedding`/`train.freeze_layers` name untrainable.

    Raises:
        ConfigError: more layers to freeze than the model has (or another combination
            that `check_combinations` refuses).
    """
    check_combinations(cfg)
    model.get_layer("embedding").trainable = not cfg.train.freeze_embedding
    for i in range(cfg.train.freeze_layers):
        model.get_layer(f"rnn_{i}").trainable = False


class _Window:
    """Loss and throughput over the steps since the last metrics row."""

    def __init__(self, tokens_per_step: int):
        self.tokens_per_step = tokens_per_step
        self.clear()
        self._last = self._start

    def clear(self) -> None:
        """Starts a new window."""
        self._losses: list[float] = []
        self._start = time.perf_counter()

    def add(self, loss: float) -> float:
        """Records one step's loss; returns the seconds since the previous step."""
        now = time.perf_counter()
        seconds, self._last = now - self._last, now
        self._losses.append(loss)
        return seconds

    @property
    def steps(self) -> int:
        """Steps in the window."""
        return len(self._losses)

    def mean_loss(self) -> float:
        """Mean training loss in the window."""
        return float(np.mean(self._losses))

    def tokens_per_s(self) -> float:
        """Training throughput in the window."""
        elapsed = max(self._last - self._start, 1e-9)
        return self.tokens_per_step * len(self._losses) / elapsed


def _truncate_metrics(run: RunDir, step: int) -> None:
    """Drops metrics rows logged after the checkpoint a resume starts from."""
    if not run.metrics.exists():
        return
    with open(run.metrics, encoding="utf-8", newline="") as f:
        rows = [r for r in csv.reader(f) if r]
    # A kill can leave a torn last line; keep only whole rows up to `step`.
    kept = [METRICS_COLUMNS] + [
        r for r in rows[1:] if len(r) == len(METRICS_COLUMNS) and r[0].isdigit()
        and int(r[0]) <= step
    ]
    if len(kept) != len(rows):
        lines = [",".join(r) for r in kept]
        atomic_write_text(run.metrics, "\n".join(lines) + "\n")
