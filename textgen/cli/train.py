"""`textgen train`: a new run from a corpus, or `--resume` of a stopped one."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from textgen.cli.options import default_out, training_options, with_shortcuts
from textgen.cli.progress import EncodeBar, TqdmReporter

if TYPE_CHECKING:  # annotations only: importing these loads TensorFlow
    from textgen.config import Config
    from textgen.data.encode import EncodedCorpus
    from textgen.run.directory import RunDir
    from textgen.train.trainer import Trainer


@click.command()
@click.argument("corpus", nargs=-1, type=click.Path(path_type=Path))
@click.option("--config", "config_file", metavar="NAME|FILE",
              help="A preset by name (`textgen presets` lists them) or a TOML file; "
                   "defaults apply to keys it leaves out. [default: a preset chosen "
                   "from the corpus]")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Run directory to create. [default: runs/<corpus name>, made unique]")
@training_options
@click.option("--resume", type=click.Path(path_type=Path),
              help="Continue the run in this directory exactly where it stopped.")
@click.option("--allow-changed-corpus", is_flag=True,
              help="With --resume: if the corpus files changed (or some are gone), train on "
                   "them as they are now, with the run's vocabulary, instead of refusing.")
def train(
    corpus: tuple[Path, ...],
    config_file: str | None,
    out: Path | None,
    pattern: str,
    encoding: str | None,
    overrides: tuple[str, ...],
    epochs: int | None,
    max_steps: int | None,
    max_time: str | None,
    tensorboard: bool | None,
    resume: Path | None,
    allow_changed_corpus: bool,
) -> None:
    """Train a model on CORPUS (text files, or directories of *.txt files; see --glob).

    Without --config, textgen picks a preset from the corpus (Chinese verse,
    Chinese prose, or other text by size; with --max-time, one whose useful
    training fits it) and says which, why, and how long it should take.
    A run whose validation ends near guessing by frequency gets a warning
    with the fixes.
    Checkpoints go to the run directory every train.save_every steps, at each
    epoch end and on Ctrl-C; a stopped or killed run continues with --resume.
    """
    from textgen.config import apply_overrides
    from textgen.config import lookup as presets
    from textgen.data.encode import EncodeOptions
    from textgen.data.profile import auto_config
    from textgen.run.directory import RunDir
    from textgen.run.installed import refuse_a_model
    from textgen.run.opening import new_run, open_run

    sets = with_shortcuts(overrides, encoding, epochs=epochs, max_steps=max_steps,
                           max_time=max_time, tensorboard=tensorboard)
    if resume:
        if corpus or config_file or out or pattern != "*.txt" or encoding:
            raise click.UsageError(
                "--resume takes no CORPUS, --config, --out, --glob or --encoding")
        RunDir(resume).require("last")  # a clear error before anything is created
    elif not corpus:
        raise click.UsageError("give a CORPUS file or directory (or --resume RUN_DIR)")
    elif allow_changed_corpus:
        raise click.UsageError("--allow-changed-corpus goes with --resume")
    path = resume or out or default_out(corpus[0])
    refuse_a_model(path)  # before the lock, which would write into it
    with RunDir(path).lock(), EncodeBar() as bar:
        # workers=None: the console script's entry point is guarded, so jieba
        # may use worker processes.
        encode_options = EncodeOptions(progress=bar.update, workers=None)
        if resume:
            cfg, run, enc = open_run(resume, sets, encode_options,
                                     notify=lambda notice: click.echo(notice, err=True),
                                     allow_changed_corpus=allow_changed_corpus)
        else:
            if config_file:
                cfg = presets.load(config_file)
                apply_overrides(cfg, sets)
            else:
                cfg, choice = auto_config(list(corpus), sets, pattern)
                click.echo(f"no --config given: using preset {choice.name} for "
                           f"{choice.reason}. Choose another with --config NAME|FILE "
                           "(`textgen presets` lists them)", err=True)
                click.echo(choice.timing, err=True)
            run, enc, notices = new_run(cfg, list(corpus), path, encode_options,
                                        pattern=pattern)
            for notice in notices:
                click.echo(notice, err=True)
        bar.close()
        run_training(cfg, run, enc, resumed=bool(resume))


def run_training(cfg: Config, run: RunDir, enc: EncodedCorpus, resumed: bool,
           init: Callable[[Trainer], None] | None = None) -> None:
    """Reports on the data, trains, and says how it ended (inside the run's lock).

    `init` sets the new model's weights before the first checkpoint (fine-tuning).
    """
    from textgen.train.guards import Baseline, unlearnt_warning
    from textgen.train.trainer import Trainer

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
    if init is not None:
        init(trainer)
    for notice in trainer.notices():
        click.echo(notice, err=True)
    if resumed:
        trainer.resume()
        st = trainer.state
        reason = trainer.nothing_to_do()
        if reason:
            click.echo(reason, err=True)
            return
        click.echo(f"resuming {run.path} at step {st.step:,} "
                   f"(epoch {st.epoch + 1}), {trainer.precision}", err=True)
    else:
        for line in trainer.corpus_report():
            click.echo(line, err=True)
        click.echo(f"training {run.path}: {trainer.model.count_params():,} parameters, "
                   f"{len(trainer.batches):,} batches per epoch, {trainer.precision}", err=True)
    reporter = TqdmReporter(cfg.train.epochs)
    try:
        result = trainer.fit(reporter)
    except OSError as e:  # writing metrics.csv or samples.txt: a full disk, a lost mount
        raise click.ClickException(
            f"cannot write to {run.path} ({e.strerror or e}); its checkpoints are intact. "
            f"Free some disk space, then continue with `textgen train --resume {run.path}`"
        ) from e
    finally:
        reporter.close()
    st = result.state
    if result.stop_reason == "interrupted":
        click.echo(f"interrupted at step {st.step:,}; checkpoint saved. "
                   f"Continue with: textgen train --resume {run.path}", err=True)
    else:
        epochs = f"{cfg.train.epochs} epoch{'s' if cfg.train.epochs != 1 else ''}"
        why = {"done": f"{epochs} done", "max_steps": "--max-steps reached",
               "max_time": "--max-time reached",
               "early_stop": f"early stop: no better validation loss in "
                             f"{cfg.train.patience} validations; the best weights are in the "
                             "'best' checkpoint, which sample uses"}[result.stop_reason]
        click.echo(f"stopped at step {st.step:,} ({why}); run saved in "
                   f"{run.path}. Sample with: textgen sample {run.path}", err=True)
    baseline = Baseline.of(trainer.val_unigram, trainer.val_text, trainer.val_batches)
    # Fine-tuning keeps its base's model: another preset is no fix there.
    warning = unlearnt_warning(result, cfg, run.path, baseline, len(trainer.batches),
                               enc=None if init else enc)
    if warning:
        click.echo(warning, err=True)

