"""The training logs: RUN_DIR/metrics.csv, and TensorBoard with `train.tensorboard`.

A row goes to metrics.csv every `train.log_every` steps (the mean loss and the
throughput of the steps since the last row), at each validation and at each
epoch end. A resume first drops the rows logged after its checkpoint
(`truncate_metrics`), so the file never holds steps that were trained twice.
"""

from __future__ import annotations

import csv
import time

import numpy as np

from textgen.backend import tf
from textgen.errors import TextgenError
from textgen.fileio import atomic_write_text
from textgen.run.directory import RunDir

METRICS_COLUMNS = [
    "step", "epoch", "train_loss", "val_loss", "val_bpc", "tokens_per_s", "lr", "elapsed_s",
]


class MetricsLog:
    """Appends metrics rows to a run's metrics.csv and, once opened, to TensorBoard.

    Args:
        run: the run directory.
    """

    def __init__(self, run: RunDir):
        self.run = run
        self.board = None  # the TensorBoard writer, once `open_tensorboard` made it

    def open_tensorboard(self) -> None:
        """Starts writing TensorBoard summaries too (RUN_DIR/tensorboard).

        Raises:
            TextgenError: the tensorboard package is missing.
        """
        if self.board is None:
            self.board = tensorboard_writer(self.run)

    def row(self, step: int, epoch: float, train_loss: float | None, val_loss: float | None,
            val_bpc: float | None, tokens_per_s: float | None, lr: float,
            elapsed_s: float) -> None:
        """Appends one row; None leaves a column empty (and out of TensorBoard)."""
        new = not self.run.metrics.exists()
        with open(self.run.metrics, "a", encoding="utf-8", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            if new:
                w.writerow(METRICS_COLUMNS)
            fmt = lambda v, p=6: "" if v is None else f"{v:.{p}f}"  # noqa: E731
            w.writerow([
                step, f"{epoch:.4f}", fmt(train_loss), fmt(val_loss), fmt(val_bpc),
                fmt(tokens_per_s, 1), f"{lr:.6g}", f"{elapsed_s:.2f}",
            ])
        if self.board is not None:
            scalars = {"loss/train": train_loss, "loss/validation": val_loss,
                       "bits_per_char/validation": val_bpc, "tokens_per_s": tokens_per_s,
                       "learning_rate": lr}
            with self.board.as_default(step=step):
                for name, value in scalars.items():
                    if value is not None:
                        tf.summary.scalar(name, value)
            self.board.flush()

    def samples(self, step: int, samples: list[tuple[float, str]]) -> None:
        """Shows (temperature, text) samples in TensorBoard (when it is open)."""
        if self.board is None:
            return
        with self.board.as_default(step=step):
            for t, text in samples:
                tf.summary.text(f"sample/temperature_{t}", text)

    def flush(self) -> None:
        """Writes out what TensorBoard buffered."""
        if self.board is not None:
            self.board.flush()


def tensorboard_writer(run: RunDir):
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


def truncate_metrics(run: RunDir, step: int) -> None:
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


class StepWindow:
    """Loss and throughput over the steps since the last metrics row.

    Args:
        tokens_per_step: B * T, the tokens one optimizer step trains on.
    """

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
