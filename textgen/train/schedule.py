"""The learning-rate schedules (`train.schedule`): constant, decay per epoch, or cosine."""

from __future__ import annotations

import math

from textgen.config import Config


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
