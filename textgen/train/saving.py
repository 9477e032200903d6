"""What training writes to the run's checkpoints, and when.

- 'last': every `train.save_every` steps, at each epoch end, and when `fit`
  returns (Ctrl-C, SIGTERM, a limit reached); with `train.keep` = N a copy named
  after the step goes beside it, and only the N newest copies are kept;
- 'best': at each validation with a new lowest loss: epoch ends, every
  `train.eval_every` steps, and every stop (before its 'last').

A state already on disk is not written again: the epoch end's 'last' is what a
normal end of training leaves, serialised and fsynced once.
"""

from __future__ import annotations

from typing import Any

from textgen.backend import keras
from textgen.run.directory import RunDir, TrainState, step_checkpoint_name
from textgen.run.keras_checkpoint import save_checkpoint


class CheckpointSaver:
    """Saves a training run's 'last' (with step-checkpoint rotation) and 'best'.

    Args:
        run: the run directory.
        keep: step checkpoints to keep beside 'last' (`train.keep`; 0: none).
    """

    def __init__(self, run: RunDir, keep: int):
        self.run, self.keep = run, keep
        self._saved: dict[str, Any] | None = None  # the state 'last' holds, if known

    def save_last(self, model: keras.Model, state: TrainState,
                  optimizer: keras.optimizers.Optimizer, rotate: bool = True) -> None:
        """Saves 'last' and, with `keep` and `rotate`, a step checkpoint (dropping the
        oldest beyond `keep`)."""
        save_checkpoint(self.run, "last", model, state, optimizer)
        self._saved = state.to_dict()
        if rotate and self.keep:
            step_name = step_checkpoint_name(state.step)
            save_checkpoint(self.run, step_name, model, state, optimizer)
            for old in self.run.step_checkpoints()[:-self.keep]:
                old.unlink(missing_ok=True)

    def save_last_if_changed(self, model: keras.Model, state: TrainState,
                             optimizer: keras.optimizers.Optimizer) -> None:
        """Saves as `save_last` unless 'last' already holds `state` (saved since `forget`).

        The model and optimizer change only with the state (a step), so an equal
        state means an equal checkpoint.
        """
        if self._saved is None or self._saved != state.to_dict():
            self.save_last(model, state, optimizer)

    def forget(self) -> None:
        """Stops trusting what was saved before (weights may have been set since)."""
        self._saved = None

    @property
    def saved_step(self) -> int | None:
        """The step 'last' was saved at by this saver since `forget`, if it was."""
        return None if self._saved is None else int(self._saved["step"])

    def save_best(self, model: keras.Model, state: TrainState) -> None:
        """Saves 'best' (weights and progress, without the optimizer's moments)."""
        save_checkpoint(self.run, "best", model, state)
