"""The `textgen` command line: thin click commands over the library.

Only this module talks to the terminal. Library errors (`TextgenError`) become
one line on stderr and exit code 1; anything else is a bug and keeps its
traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from textgen import __version__
from textgen.errors import TextgenError

if TYPE_CHECKING:  # annotations only: importing these loads TensorFlow
    from textgen.checkpoints import RunDir
    from textgen.config import Config
    from textgen.data import EncodedCorpus

CHECKPOINTS = click.Choice(["last", "best"])


class OneLineUsageError(click.ClickException):
    """A usage error shown as one line (click's default adds two lines of usage)."""

    exit_code = 2


class TextgenGroup(click.Group):
    """A click group that turns user errors into one line: `Error: <problem>; <fix>`."""

    def invoke(self, ctx: click.Context):  # noqa: D102
        try:
            return super().invoke(ctx)
        except TextgenError as e:
            raise click.ClickException(str(e)) from None
        except click.UsageError as e:
            where = e.ctx.command_path if e.ctx else "textgen"
            raise OneLineUsageError(f"{e.format_message()} (see '{where} --help')") from None
        except KeyboardInterrupt:
            # Training handles Ctrl-C itself (it saves first); anywhere else
            # (encoding, sampling) there is nothing to save: stop quietly.
            click.echo("\ninterrupted", err=True)
            ctx.exit(130)


def _utf8_stdio() -> None:
    """Writes UTF-8 to stdout/stderr whatever the locale says (no mojibake, no crash)."""
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure") and (stream.encoding or "").lower() != "utf-8":
            stream.reconfigure(encoding="utf-8")


@click.group(cls=TextgenGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="textgen")
def cli() -> None:
    """Train LSTM language models on your own text and write new text in its style.

    \b
    Quick tour:
      textgen train corpora/tiny-shakespeare.txt --config configs/char-small.toml --out runs/demo
      textgen sample runs/demo --length 500 --temperature 0.8
      textgen train --resume runs/demo --epochs 20
      textgen info runs/demo
    """
    _utf8_stdio()


@cli.command()
@click.argument("corpus", nargs=-1, type=click.Path(path_type=Path))
@click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path),
              help="TOML preset (see configs/); defaults apply to keys it leaves out.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Run directory to create. [default: runs/<corpus name>, made unique]")
@click.option("--set", "overrides", multiple=True, metavar="SECTION.KEY=VALUE",
              help="Override one config key, e.g. --set model.units=256 (repeatable).")
@click.option("--epochs", type=click.IntRange(min=1), help="Shortcut for --set train.epochs=N.")
@click.option("--max-steps", type=click.IntRange(min=0),
              help="Stop at this global step (0 = no limit); shortcut for train.max_steps.")
@click.option("--resume", type=click.Path(file_okay=False, path_type=Path),
              help="Continue the run in this directory exactly where it stopped.")
def train(
    corpus: tuple[Path, ...],
    config_file: Path | None,
    out: Path | None,
    overrides: tuple[str, ...],
    epochs: int | None,
    max_steps: int | None,
    resume: Path | None,
) -> None:
    """Train a model on CORPUS (text files, or directories of *.txt files).

    Checkpoints go to the run directory every train.save_every steps, at each
    epoch end and on Ctrl-C; a stopped or killed run continues with --resume.
    """
    from textgen.checkpoints import RunDir
    from textgen.config import Config, apply_overrides
    from textgen.runs import new_run, open_run

    sets = list(overrides)
    if epochs is not None:
        sets.append(f"train.epochs={epochs}")
    if max_steps is not None:
        sets.append(f"train.max_steps={max_steps}")
    if resume:
        if corpus or config_file or out:
            raise click.UsageError("--resume takes no CORPUS, --config or --out")
        RunDir(resume).require("last")  # a clear error before anything is created
    elif not corpus:
        raise click.UsageError("give a CORPUS file or directory (or --resume RUN_DIR)")
    path = resume or out or _default_out(corpus[0])
    with RunDir(path).lock(), _EncodeBar() as bar:
        # workers=None: the console script's entry point is guarded, so jieba
        # may use worker processes.
        if resume:
            cfg, run, enc = open_run(resume, sets, progress=bar.update, workers=None)
        else:
            cfg = Config.load(config_file) if config_file else Config()
            apply_overrides(cfg, sets)
            run, enc, notices = new_run(cfg, list(corpus), path, progress=bar.update,
                                        workers=None)
            for notice in notices:
                click.echo(notice, err=True)
        bar.close()
        _train(cfg, run, enc, resumed=bool(resume))


def _train(cfg: Config, run: RunDir, enc: EncodedCorpus, resumed: bool) -> None:
    """Reports on the data, trains, and says how it ended (inside the run's lock)."""
    from textgen.train import Trainer

    tok = enc.tokenizer
    if enc.cache_warning:
        click.echo(enc.cache_warning, err=True)
    click.echo(
        f"corpus: {enc.n_chars:,} characters, {enc.ids.size:,} {cfg.data.tokenizer} tokens"
        f"{' (cached)' if enc.cached else ''}; vocabulary {tok.vocab_size:,}, "
        f"coverage {enc.coverage:.2%}",
        err=True,
    )
    trainer = Trainer(cfg, enc, run)
    for notice in trainer.notices():
        click.echo(notice, err=True)
    if resumed:
        trainer.resume()
        click.echo(f"resuming {run.path} at step {trainer.state.step:,} "
                   f"(epoch {trainer.state.epoch + 1})", err=True)
    else:
        click.echo(f"training {run.path}: {trainer.model.count_params():,} parameters, "
                   f"{len(trainer.batches):,} batches per epoch", err=True)
    reporter = TqdmReporter(cfg.train.epochs)
    try:
        result = trainer.fit(reporter)
    finally:
        reporter.close()
    st = result.state
    if result.stop_reason == "interrupted":
        click.echo(f"interrupted at step {st.step:,}; checkpoint saved. "
                   f"Continue with: textgen train --resume {run.path}", err=True)
    else:
        click.echo(f"stopped at step {st.step:,} ({result.stop_reason}); run saved in "
                   f"{run.path}. Sample with: textgen sample {run.path}", err=True)


class TqdmReporter:
    """A `textgen.train.Reporter`: a tqdm bar per epoch on stderr, a summary line per epoch.

    (Duck-typed rather than subclassed, so that `textgen --help` does not import
    TensorFlow.)
    """

    def __init__(self, epochs: int):
        self.epochs = epochs
        self._bar = None

    def epoch_start(self, epoch: int, n_batches: int, start_batch: int) -> None:
        from tqdm import tqdm

        # Redirected to a log file, a bar redrawn 10 times a second floods it.
        interval = 0.1 if sys.stderr.isatty() else 30.0
        self._bar = tqdm(total=n_batches, initial=start_batch, unit="batch", file=sys.stderr,
                         desc=f"epoch {epoch + 1}/{self.epochs}", dynamic_ncols=True,
                         mininterval=interval)

    def step(self, step: int, loss: float, tokens_per_s: float) -> None:
        self._bar.update(1)
        self._bar.set_postfix(step=step, loss=f"{loss:.3f}", tok_s=f"{tokens_per_s:,.0f}",
                              refresh=False)

    def epoch_end(self, summary) -> None:
        self.close()
        line = f"epoch {summary.epoch}/{self.epochs}  step {summary.step:,}  "
        line += f"train {summary.train_loss:.4f}"
        if summary.val_loss is not None:
            line += (f"  val {summary.val_loss:.4f} nats/token, {summary.val_bpc:.4f} bits/char"
                     f"{'  (best)' if summary.is_best else ''}")
        click.echo(line)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def _default_out(first: Path) -> Path:
    base = Path("runs") / (first.stem or "run")
    out, n = base, 1
    while out.exists():
        n += 1
        out = base.with_name(f"{base.name}-{n}")
    return out


class _EncodeBar:
    """A tqdm bar for corpus encoding that appears only if encoding takes place."""

    def __enter__(self) -> _EncodeBar:
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


@cli.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--checkpoint", type=CHECKPOINTS, default="last", show_default=True,
              help="'best' = lowest validation loss, 'last' = newest.")
@click.option("--prime", default="", help="Text to start from (printed first).")
@click.option("--length", type=click.IntRange(min=0), default=500, show_default=True,
              help="Tokens to generate (characters for a char model).")
@click.option("--temperature", type=click.FloatRange(min=0), default=1.0, show_default=True,
              help="0 = always the likeliest token; lower is safer, higher is wilder.")
@click.option("--seed", type=click.IntRange(min=0), default=None,
              help="Random seed; the same seed gives the same text.")
@click.option("--drop-unknown", is_flag=True,
              help="Leave out prompt characters the model never saw instead of failing.")
def sample(
    run_dir: Path,
    checkpoint: str,
    prime: str,
    length: int,
    temperature: float,
    seed: int | None,
    drop_unknown: bool,
) -> None:
    """Write new text with the model trained in RUN_DIR, to stdout as it is generated."""
    from textgen.generate import TextGenerator
    from textgen.interrupt import sigint_flag

    gen = TextGenerator(run_dir, checkpoint)
    pieces = gen.generate(prime, length, temperature, seed, drop_unknown)
    last = "\n"
    with sigint_flag() as interrupted:
        for piece in pieces:
            if interrupted():
                raise KeyboardInterrupt
            click.echo(piece, nl=False)
            sys.stdout.flush()
            last = piece or last
    if not last.endswith("\n"):
        click.echo()


@cli.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
def info(run_dir: Path) -> None:
    """Show the model, vocabulary, corpus and training progress of RUN_DIR."""
    from textgen.report import describe_run

    click.echo(describe_run(run_dir))


def main() -> None:
    """Console-script entry point."""
    cli()
