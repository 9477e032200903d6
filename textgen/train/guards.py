"""When training must stop or should warn.

- explosion: a NaN/inf loss, or one far above the run's first loss, stops training
  with `TrainingDiverged` before anything is saved;
- plateau: after real training, a validation loss still near the unigram loss
  (guessing tokens by frequency alone) is warned about once per run;
- early stop: `train.patience` validations in a row without a new best.

The functions take the run's progress (`TrainState`) and plain settings; the
trainer acts on what they decide.
"""

from __future__ import annotations

import math
from pathlib import Path

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

