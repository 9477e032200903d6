"""`textgen plot`: training and validation loss against steps, for one run or several.

Reads each run's `metrics.csv` and draws one PNG with matplotlib (headless:
the "Agg" backend, so it works without a display).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from textgen.errors import TextgenError
from textgen.fileio import atomic_write_bytes
from textgen.run.directory import RunDir


def read_curves(run: RunDir) -> tuple[list[tuple[int, float]], list[tuple[int, float]]]:
    """(train, val): (step, loss in nats/token) points from the run's metrics.csv.

    Train points are the mean over each logging window; val points are validations.

    Raises:
        TextgenError: the run has no metrics.csv yet.
    """
    if not run.metrics.is_file():
        raise TextgenError(f"{run.path} has no metrics.csv yet; train it first")
    train, val = [], []
    with open(run.metrics, encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            try:
                step = int(row["step"])
                # Window rows (with a throughput); an epoch row's train_loss is the
                # epoch's mean, which would draw a spike at each epoch end.
                if row.get("train_loss") and row.get("tokens_per_s"):
                    train.append((step, float(row["train_loss"])))
                if row.get("val_loss"):
                    val.append((step, float(row["val_loss"])))
            except (KeyError, ValueError):
                continue  # a torn last line after a kill
    return train, val


def plot_runs(paths: list[Path], output: Path) -> Path:
    """Draws the loss curves of `paths` into the PNG `output` (written atomically).

    Raises:
        TextgenError: `output`'s directory does not exist (it is not made: a typo
            in the path would scatter files), a run has no metrics, or none has
            any point to draw.
    """
    output = Path(output)
    if not output.parent.is_dir():
        raise TextgenError(f"cannot write {output}: no directory {output.parent}; create it "
                           "first or give another path")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5), dpi=100)
    drawn = 0
    for i, path in enumerate(paths):
        run = RunDir(Path(path))
        train, val = read_curves(run)
        color = f"C{i % 10}"
        label = run.path.name or str(run.path)
        if train:
            ax.plot(*zip(*train, strict=True), color=color, alpha=0.45, linewidth=1,
                    label=f"{label} train")
        if val:
            ax.plot(*zip(*val, strict=True), color=color, marker="o", markersize=3,
                    linewidth=1.6, label=f"{label} validation")
        drawn += len(train) + len(val)
    if not drawn:
        plt.close(fig)
        raise TextgenError("nothing to plot: the runs' metrics.csv have no rows yet")
    ax.set_xlabel("step")
    ax.set_ylabel("loss (nats per token)")
    ax.set_title("textgen: training and validation loss")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    atomic_write_bytes(output, buffer.getvalue())
    return output
