"""What the training loop tells its caller: progress events, epoch summaries, the result.

`Trainer.fit` calls a `Reporter` as it goes (the CLI's is a tqdm bar,
`textgen.cli.progress.TqdmReporter`) and returns a `TrainResult`.
"""

from __future__ import annotations

from dataclasses import dataclass

from textgen.run.directory import TrainState


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
        """A validation inside an epoch (`train.eval_every`, or training stopping there)
        finished; `summary.epoch` is the epoch in progress, `summary.train_loss` the mean
        since the epoch began."""
