"""When training must stop, should warn, or has nothing left to do.

- explosion: a NaN/inf loss, or one far above the run's first loss, stops training
  with `TrainingDiverged` before anything is saved;
- plateau: after real training, a validation loss still near the unigram loss
  (guessing tokens by frequency alone) is warned about once per run;
- not learnt: at the end of any training (however it stopped), a best validation
  loss still within `LEARNT_SHARE` of the unigram loss gets a warning with fixes;
- early stop: `train.patience` validations in a row without a new best;
- nothing to do: a resume of a run that stopped early or reached its limits.

The functions take the run's progress (`TrainState`) and plain settings; the
trainer acts on what they decide.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from textgen.config import Config, parse_duration
from textgen.data.batches import StatefulBatches
from textgen.data.encode import EncodedCorpus
from textgen.data.profile import suited_preset
from textgen.errors import TrainingDiverged
from textgen.model.metrics import ScoredText
from textgen.run.directory import TrainState
from textgen.train.reporter import TrainResult

EXPLOSION = 3.0  # a training loss above this times the run's first loss has exploded
PLATEAU_STEPS = 1000  # steps before a loss plateau is worth a warning
PLATEAU_SHARE = 0.95  # validation above this share of the unigram loss: a plateau
# At the end, validation above this share of the unigram loss has learnt little: models
# that learnt their corpus end far lower (char-small on tiny-shakespeare at ~0.6 of it,
# poems-zh on the Tang poems at ~0.75), while char-small's 8.63 bits/char on Chinese
# poems (issue 22) was 0.92 of it.
LEARNT_SHARE = 0.9


def explosion_limit(first_loss: float, uniform_loss: float) -> float:
    """Above this the loss has exploded: 3x the run's first loss, and never below 1.5x
    the loss of a uniform guess (a fine-tuned or resumed run may start very low, and a
    fresh model starts at about the uniform guess)."""
    return max(EXPLOSION * first_loss, 1.5 * uniform_loss)


def diverged(loss: float, state: TrainState, limit: float, saved_step: int,
             run_path: Path, lr: float) -> TrainingDiverged:
    """The error for a loss that became NaN/inf or exploded; 'last' stays as it was.

    Args:
        loss: the step's training loss (nats/token).
        state: progress before the step (`state.step` steps taken).
        limit: the explosion limit (`explosion_limit`).
        saved_step: the step of the 'last' checkpoint on disk.
        run_path: the run directory.
        lr: the run's `train.lr`.
    """
    what = (f"became {loss}" if not math.isfinite(loss) else
            f"exploded to {loss:.3f} (above {limit:.3f}: {EXPLOSION:g}x its first value "
            f"{state.first_loss:.3f}, and well above a uniform guess)")
    return TrainingDiverged(
        f"training loss {what} at step {state.step + 1:,}; nothing was saved after step "
        f"{saved_step:,}. Resume with a lower rate (textgen train --resume {run_path} "
        f"--set train.lr={lr / 4:g}); if it fails again, start a new run with a lower "
        "train.lr"
    )


def plateau_warning(state: TrainState, val_loss: float, unigram: float,
                    lr: float) -> str | None:
    """The warning to give when, after real training, validation is still at the
    unigram loss; None when there is none (or it was given already)."""
    if state.plateau_warned or state.step < PLATEAU_STEPS or val_loss < PLATEAU_SHARE * unigram:
        return None
    return (
        f"warning: after {state.step:,} steps the validation loss ({val_loss:.3f} nats/token) "
        f"is still near the unigram loss ({unigram:.3f}: guessing tokens by their "
        "frequency alone), so the model has learnt little context. Likely fixes: a "
        f"lower or higher train.lr (now {lr:g}; try 0.002 to 0.01), more "
        "steps, model.units of at least 256, or for Chinese data.tokenizer=word"
    )


def early_stopped(state: TrainState, patience: int) -> bool:
    """Whether `patience` validations in a row brought no new best (0: never)."""
    return bool(patience) and state.bad_validations >= patience


def nothing_to_do(state: TrainState, cfg: Config, total_steps: int,
                  run_path: Path) -> str | None:
    """Why a resumed run has nothing to train, with what to change; None if it has.

    Args:
        state: the resumed progress.
        cfg: the run's config with this session's overrides.
        total_steps: the step at which this session would stop.
        run_path: the run directory (named in the message).
    """
    t = cfg.train
    if early_stopped(state, t.patience):
        return (f"nothing to do for {run_path}: it stopped early (no better validation "
                f"loss in {t.patience} validations). Train on with a larger --set "
                "train.patience=N (or 0, off); the best weights are in the 'best' "
                "checkpoint, the default")
    if total_steps > state.step:
        return None
    why = (f"it is at step {state.step:,}, at or past --max-steps {t.max_steps:,}"
           if t.max_steps and t.max_steps <= state.step else
           f"it has finished its {t.epochs} epochs (step {state.step:,})")
    return (f"nothing to do for {run_path}: {why}. Train longer with --epochs N (more "
            f"than {state.epoch}) or --max-steps N (more than {state.step})")


@dataclass(frozen=True)
class Baseline:
    """The unigram loss of the validation text (guessing by frequency) in both units.

    Attributes:
        nats: nats per token (`Trainer.val_unigram`).
        bpc: bits per character of the validation targets, `<unk>`s charged as
            validation charges them; None without validation batches.
    """

    nats: float
    bpc: float | None

    @classmethod
    def of(cls, unigram: float, val_text: ScoredText | None,
           val_batches: StatefulBatches | None) -> Baseline:
        """From the trainer's figures: its unigram loss and validation layout."""
        if val_text is None or val_batches is None:
            return cls(unigram, None)
        return cls(unigram, val_text.bits_per_char(unigram * val_batches.n_tokens()))


def unlearnt_warning(result: TrainResult, cfg: Config, run_path: Path, baseline: Baseline,
                     steps_per_epoch: int, enc: EncodedCorpus | None = None) -> str | None:
    """The warning to give at the end of training when the model has learnt little: its
    best (else last) validation loss is still within `LEARNT_SHARE` of the unigram
    loss. None when it learnt more, or when there was no validation to judge by.

    Args:
        result: what `Trainer.fit` returned (any stop reason).
        cfg: the run's config (its train.* keys shape the suggested command).
        run_path: the run directory (named in the commands).
        baseline: the validation text's unigram loss (`Baseline.of`).
        steps_per_epoch: training batches per epoch.
        enc: the encoded corpus, to name the preset that suits it when the run trains
            another model; None to leave that out (fine-tuning keeps its base's model).

    Returns:
        One line naming the figure, the unigram figure and the fixes.
    """
    st = result.state
    which, val, bpc = "best", st.best_val_loss, st.best_val_bpc
    if val is None:
        which, val, bpc = "last", st.last_val_loss, st.last_val_bpc
    if val is None or baseline.nats <= 0 or val < LEARNT_SHARE * baseline.nats:
        return None
    figure = f"{val:.3f} nats/token"
    unigram = f"{baseline.nats:.3f}"
    if bpc is not None and baseline.bpc is not None:
        figure, unigram = f"{bpc:.2f} bits/char ({figure})", f"{baseline.bpc:.2f} ({unigram})"
    fixes = [_more_training(result, cfg, run_path, steps_per_epoch)]
    suits = suited_preset(enc, cfg) if enc is not None else None
    if suits:
        fixes.append(f"{suits} suits this corpus (a new run with --config {suits})")
    if st.step >= PLATEAU_STEPS:
        fixes.append(f"a lower or higher train.lr (now {cfg.train.lr:g}; try 0.002 to 0.01)")
    epochs = f"{st.epoch} epoch{'s' if st.epoch != 1 else ''}"
    near = ("no lower than" if val >= baseline.nats else
            f"within {1 - LEARNT_SHARE:.0%} of")
    return (
        f"warning: the model has learnt little. Its {which} validation, {figure}, is {near} "
        f"the unigram loss, {unigram}: guessing each token by its frequency alone. It "
        f"trained {st.step:,} steps ({epochs} done). Likely fixes: " + "; ".join(fixes)
    )


def _more_training(result: TrainResult, cfg: Config, run_path: Path,
                   steps_per_epoch: int) -> str:
    """The command that trains on, for how the run stopped."""
    st, resume = result.state, f"textgen train --resume {run_path}"
    # 4x what it had, and at least as long as the plateau warning waits.
    target = max(4 * st.step, PLATEAU_STEPS)
    epochs = max(st.epoch + 1, math.ceil(target / max(steps_per_epoch, 1)))
    if result.stop_reason == "interrupted":
        return f"train on where it was interrupted ({resume})"
    if result.stop_reason == "max_steps":
        return f"more steps ({resume} --max-steps {target})"
    if result.stop_reason == "max_time":
        minutes = math.ceil(4 * parse_duration(cfg.train.max_time) / 60)
        return f"more time ({resume} --max-time {minutes}m)"
    if result.stop_reason == "early_stop":
        return (f"more steps past the early stop ({resume} --epochs {epochs} --set "
                "train.patience=0)")
    return f"more steps ({resume} --epochs {epochs})"
