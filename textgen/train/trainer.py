"""Training: a stateful loop with exact resume.

The loop is written out rather than hidden in `fit()` because stateful training
needs control `fit()` does not give: the LSTM state is reset at each epoch start
and around validation, progress is saved *inside* an epoch (batch index,
optimizer moments, RNG and LSTM state), and Ctrl-C finishes the current step,
validates, saves, and returns. Every stop validates (a limit reached, Ctrl-C,
SIGTERM), so that 'best' and 'last' are judged on the same footing.

The loop's helpers each have a module: the learning rate (`schedule`), when to
stop or warn (`guards`), metrics.csv and TensorBoard (`logs`), samples during
training (`samples`), checkpoint writes and rotation (`saving`), and what the
caller is told (`reporter`). The figures themselves are `textgen.model.metrics`'.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np

from textgen.backend import keras, tf
from textgen.config import Config, check_combinations, parse_duration
from textgen.data.batches import (
    MIN_BATCHES_PER_EPOCH,
    StatefulBatches,
    validation_batches,
)
from textgen.data.encode import EncodedCorpus
from textgen.data.stats import CorpusStats
from textgen.errors import CheckpointError, TrainingDiverged
from textgen.interrupt import sigint_flag
from textgen.model.metrics import ScoredText
from textgen.model.network import build_model, recurrent_layers, reset_states
from textgen.model.precision import resolve_precision
from textgen.run.directory import RunDir, TrainState
from textgen.run.keras_checkpoint import load_checkpoint
from textgen.train import guards
from textgen.train.logs import MetricsLog, StepWindow, truncate_metrics
from textgen.train.reporter import EpochSummary, Reporter, TrainResult
from textgen.train.samples import append_samples, training_samples
from textgen.train.saving import CheckpointSaver
from textgen.train.schedule import learning_rate

__all__ = ["EpochSummary", "Reporter", "TrainResult", "Trainer", "freeze", "learning_rate"]


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
        split = enc.split(d)  # data.val_split's rule: the tail of each file, or of the whole
        train_ids, val_ids = split.train, split.val
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
        self.log = MetricsLog(run)
        self.saver = CheckpointSaver(run, cfg.train.keep)
        self.state = TrainState()
        self._epoch_losses: list[float] = []  # this epoch's (or this session's) step losses
        self._window = StepWindow(d.batch_size * d.seq_len)  # steps since the last metrics row

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
        truncate_metrics(self.run, self.state.step)

    def nothing_to_do(self) -> str | None:
        """Why `fit` would train nothing (after `resume`): the run stopped early, or
        it is at its `train.max_steps` or past its `train.epochs`. The message says what
        to change; None when there is training to do.
        """
        return guards.nothing_to_do(self.state, self.cfg, self.total_steps(), self.run.path)

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

        A stop inside an epoch (`train.max_steps`, `train.max_time`, Ctrl-C or
        SIGTERM: those save first) validates, as an epoch end does, unless this step
        has been; a second Ctrl-C skips that (the steps are saved) and raises.

        Returns:
            The final progress and why training stopped, which 'last' holds (saved
            once, but for a signal's stop: an epoch end's save is not repeated).
        """
        reporter = reporter or Reporter()
        self.saver.forget()  # weights may have been set since an earlier `fit`
        if not self.run.has_checkpoint("last"):
            # A step-0 checkpoint makes the run resumable from its first moment.
            self.saver.save_last(self.model, self.state, self.optimizer, rotate=False)
        cfg, reason = self.cfg.train, "done"
        if cfg.tensorboard:
            self.log.open_tensorboard()
        self._deadline = time.monotonic() + self.max_seconds if self.max_seconds else None
        reporter.start(self.state.step, self.total_steps())
        first_step = self.state.step
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
            st = self.state
            if st.step > first_step and st.last_val_step != st.step:  # not twice a step
                if reason == "interrupted":  # a signal's sender may not wait: steps first
                    self.saver.save_last_if_changed(self.model, st, self.optimizer)
                try:
                    self._validate_mid_epoch(reporter, scheduled=False)
                except KeyboardInterrupt:  # a second Ctrl-C: keep the steps, then go
                    self.saver.save_last_if_changed(self.model, st, self.optimizer)
                    raise
        if self.state.step > first_step:  # a fit that trained nothing writes nothing
            self.saver.save_last_if_changed(self.model, self.state, self.optimizer)
        self.log.flush()
        return TrainResult(self.state, reason)

    @property
    def early_stopped(self) -> bool:
        """Whether `train.patience` validations in a row brought no new best."""
        return guards.early_stopped(self.state, self.cfg.train.patience)

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
        window = self._window = StepWindow(self.batches.batch_size * self.batches.seq_len)
        while st.batch_in_epoch < len(self.batches):
            stop = self._stop_reason(interrupted)
            if stop:
                return stop
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
            # A stop validates before its save (`fit`): saving here too would write twice.
            if st.step % cfg.save_every == 0 and not (inside and self._stop_reason(interrupted)):
                self.saver.save_last(self.model, st, self.optimizer)
        return "done"

    def _stop_reason(self, interrupted: Callable[[], bool]) -> str | None:
        """Why training must stop before the next step: "max_steps", "interrupted",
        "max_time"; None to go on."""
        if self.cfg.train.max_steps and self.state.step >= self.cfg.train.max_steps:
            return "max_steps"
        if interrupted():
            return "interrupted"
        if self._deadline is not None and time.monotonic() >= self._deadline:
            return "max_time"
        return None

    def _write_samples(self, reporter: Reporter) -> None:
        """Samples from the current weights; appends them to samples.txt (`samples`)."""
        weights = {v.path: v.numpy() for v in self.model.variables
                   if "seed_generator" not in v.path}
        step = self.state.step
        samples = training_samples(self.run.path, weights, step, self.cfg.train.sample_length,
                                   self.cfg.train.seed)
        append_samples(self.run.samples, step, samples)
        self.log.samples(step, samples)
        reporter.samples(step, samples)

    def _diverged(self, loss: float) -> TrainingDiverged:
        """The error for a loss that became NaN/inf or exploded; 'last' stays as it was."""
        step = self.saver.saved_step
        if step is None:  # nothing saved in this session: 'last' is what it resumed from
            try:
                saved = self.run.read_state()
            except CheckpointError:  # state.json damaged meanwhile: still say it diverged
                saved = None
            step = saved.step if saved else 0
        return guards.diverged(loss, self.state, self._explosion_limit(), step,
                               self.run.path, self.cfg.train.lr)

    def _explosion_limit(self) -> float:
        return guards.explosion_limit(self.state.first_loss, self._uniform_loss)

    def corpus_report(self) -> list[str]:
        """Lines about the training split (token shares, unigram loss) and warnings."""
        return self.stats.report() + self.stats.warnings()

    def _check_plateau(self, val_loss: float, reporter: Reporter) -> None:
        """Warns once when, after real training, validation is still at the unigram loss."""
        message = guards.plateau_warning(self.state, val_loss, self.val_unigram,
                                         self.cfg.train.lr)
        if message:
            self.state.plateau_warned = True
            reporter.warning(message)

    def _log_window(self) -> None:
        """Appends a metrics row for the steps since the last one."""
        w = self._window
        self._log(self.state.step, self._epoch_position(), w.mean_loss(), None, None,
                  w.tokens_per_s())
        w.clear()

    def _epoch_position(self) -> float:
        """Epochs done, with the current one's fraction (for metrics rows)."""
        return self.state.epoch + self.state.batch_in_epoch / len(self.batches)

    def _validate_mid_epoch(self, reporter: Reporter, scheduled: bool = True) -> None:
        """Validates inside an epoch (`train.eval_every`, or a stop: not `scheduled`);
        the LSTM state that training carries is put back afterwards."""
        layers = recurrent_layers(self.model)
        carried = [[s.numpy() for s in layer.states] for layer in layers]
        try:
            result = self.evaluate()
        finally:  # also when a second Ctrl-C cuts it short: 'last' is saved after it
            for layer, saved in zip(layers, carried, strict=True):
                for s, value in zip(layer.states, saved, strict=True):
                    s.assign(value)
        if result is None:
            return
        st = self.state
        is_best = self._record_validation(*result, reporter, scheduled)
        losses = self._epoch_losses
        train_loss = float(np.mean(losses)) if losses else float("nan")
        self._log(st.step, self._epoch_position(), None, *result, None)
        reporter.validated(EpochSummary(st.epoch + 1, st.step, train_loss, *result, is_best))

    def _record_validation(self, val_loss: float, val_bpc: float, reporter: Reporter,
                           scheduled: bool = True) -> bool:
        """Notes a validation result; saves 'best' when it is the lowest so far. Only
        `scheduled` ones (not a stop's) count for `train.patience`, against their best."""
        st = self.state
        st.last_val_loss, st.last_val_bpc, st.last_val_step = val_loss, val_bpc, st.step
        is_best = st.best_val_loss is None or val_loss < st.best_val_loss
        bar = st.best_val_loss if st.patience_bar is None else st.patience_bar
        if scheduled and (bar is None or val_loss < bar):
            st.patience_bar, st.bad_validations = val_loss, 0
        elif scheduled:
            st.bad_validations += 1
        if is_best:
            st.best_val_loss, st.best_val_bpc, st.best_val_step = val_loss, val_bpc, st.step
            self.saver.save_best(self.model, st)
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
        self.saver.save_last(self.model, st, self.optimizer)
        losses = self._epoch_losses
        train_loss = float(np.mean(losses)) if losses else float("nan")
        self._log(st.step, float(st.epoch), train_loss, val_loss, val_bpc, None)
        reporter.epoch_end(EpochSummary(st.epoch, st.step, train_loss, val_loss, val_bpc, is_best))

    def _log(self, step: int, epoch: float, train_loss: float | None,
             val_loss: float | None, val_bpc: float | None,
             tokens_per_s: float | None) -> None:
        self.log.row(step, epoch, train_loss, val_loss, val_bpc, tokens_per_s,
                     float(self.optimizer.learning_rate), self.state.elapsed_s)


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
