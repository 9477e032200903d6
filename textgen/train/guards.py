"""When training must stop, should warn, or has nothing left to do.

- explosion: a NaN/inf loss, or one far above the run's first loss, stops training
  with `TrainingDiverged` before anything is saved;
- plateau: after real training, a validation loss still near the unigram loss
  (guessing tokens by frequency alone) is warned about once per run;
- early stop: `train.patience` validations in a row without a new best;
- nothing to do: a resume of a run that stopped early or reached its limits.

The functions take the run's progress (`TrainState`) and plain settings; the
trainer acts on what they decide.
"""

from __future__ import annotations

import math
from pathlib import Path

from textgen.config import Config
from textgen.errors import TrainingDiverged
from textgen.run.directory import TrainState

EXPLOSION = 3.0  # a training loss above this times the run's first loss has exploded
PLATEAU_STEPS = 1000  # steps before a loss plateau is worth a warning
PLATEAU_SHARE = 0.95  # validation above this share of the unigram loss: a plateau


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
                "train.patience=N (or 0, off); the best weights are in --checkpoint best")
    if total_steps > state.step:
        return None
    why = (f"it is at step {state.step:,}, at or past --max-steps {t.max_steps:,}"
           if t.max_steps and t.max_steps <= state.step else
           f"it has finished its {t.epochs} epochs (step {state.step:,})")
    return (f"nothing to do for {run_path}: {why}. Train longer with --epochs N (more "
            f"than {state.epoch}) or --max-steps N (more than {state.step})")
