"""Progress on the terminal: the training bar and the corpus-encoding bar (stderr)."""

from __future__ import annotations

import sys

import click


class TqdmReporter:
    """A `textgen.train.reporter.Reporter`: one tqdm bar for the run on stderr (its steps up to
    `--max-steps`/`--epochs`, with the ETA), and a summary line per validation.

    (Duck-typed rather than subclassed, so that `textgen --help` does not import
    TensorFlow.)
    """

    def __init__(self, epochs: int):
        self.epochs = epochs
        self._bar = None

    def start(self, step: int, total_steps: int) -> None:
        from tqdm import tqdm

        # Redirected to a log file, a bar redrawn 10 times a second floods it.
        interval = 0.1 if sys.stderr.isatty() else 30.0
        self._bar = tqdm(total=total_steps, initial=step, unit="step", file=sys.stderr,
                         dynamic_ncols=True, mininterval=interval)

    def epoch_start(self, epoch: int, n_batches: int, start_batch: int) -> None:
        self._bar.set_description(f"epoch {epoch + 1}/{self.epochs}", refresh=False)

    def step(self, step: int, loss: float, tokens_per_s: float) -> None:
        self._bar.update(1)
        self._bar.set_postfix(loss=f"{loss:.3f}", tok_s=f"{tokens_per_s:,.0f}", refresh=False)

    def epoch_end(self, summary) -> None:
        self._print(f"epoch {summary.epoch}/{self.epochs}", summary)

    def validated(self, summary) -> None:
        self._print(f"  (in epoch {summary.epoch})", summary)

    def samples(self, step: int, samples: list[tuple[float, str]]) -> None:
        self._echo("\n".join(f"--- sample at step {step:,}, temperature {t} ---\n{text}"
                              for t, text in samples))

    def warning(self, message: str) -> None:
        self._echo(message, err=True)

    def _print(self, where: str, summary) -> None:
        line = f"{where}  step {summary.step:,}  train {summary.train_loss:.4f}"
        if summary.val_loss is not None:
            line += (f"  val {summary.val_loss:.4f} nats/token, {summary.val_bpc:.4f} bits/char"
                     f"{'  (best)' if summary.is_best else ''}")
        self._echo(line)

    def _echo(self, text: str, err: bool = False) -> None:
        """Prints `text` above the bar (cleared, then redrawn below it)."""
        if self._bar is not None:
            self._bar.clear()
        click.echo(text, err=err)
        if self._bar is not None:
            self._bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


class EncodeBar:
    """A tqdm bar for corpus encoding that appears only if encoding takes place."""

    def __enter__(self) -> EncodeBar:
        self._bar = None
        return self

    def update(self, n: int) -> None:
        if self._bar is None:
            from tqdm import tqdm

            self._bar = tqdm(desc="encoding corpus", unit="char", unit_scale=True,
                             file=sys.stderr, leave=False, disable=None)  # None: TTY only
        self._bar.update(n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __exit__(self, *exc) -> None:
        self.close()

