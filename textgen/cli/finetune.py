"""`textgen finetune`: a new run that starts from a trained base run's weights."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from textgen.cli.options import (
    RUN_OR_MODEL,
    checkpoint_option,
    default_out,
    training_options,
    with_shortcuts,
)
from textgen.cli.progress import EncodeBar
from textgen.cli.train import run_training

if TYPE_CHECKING:
    from textgen.train.trainer import Trainer


@click.command()
@click.argument("base_run", type=RUN_OR_MODEL)
@click.argument("corpus", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Run directory to create. [default: runs/<corpus name>-finetuned]")
@checkpoint_option("The base's checkpoint to start from.")
@click.option("--vocab", "vocab_mode", type=click.Choice(["extend", "unk", "strict"]),
              default="extend", show_default=True,
              help="Tokens the base never saw: extend = add them to the vocabulary, "
                   "unk = map them to <unk>, strict = refuse.")
@click.option("--freeze-embedding", is_flag=True,
              help="Keep the embedding as the base learnt it (train.freeze_embedding).")
@click.option("--freeze-layers", type=click.IntRange(min=0), default=None,
              help="Keep the lowest N recurrent layers as the base learnt them.")
@click.option("--config", "config_file", metavar="NAME|FILE",
              help="A preset name or TOML file of data and train keys (model keys must "
                   "match the base's).")
@training_options
def finetune(base_run: Path, corpus: tuple[Path, ...], out: Path | None,
             checkpoint: str | None, vocab_mode: str, freeze_embedding: bool,
             freeze_layers: int | None, config_file: str | None, pattern: str,
             encoding: str | None, overrides: tuple[str, ...], epochs: int | None,
             max_steps: int | None, max_time: str | None,
             tensorboard: bool | None) -> None:
    """Fine-tune the model of BASE_RUN on CORPUS (your own text), into a new run.

    The new run starts from the base's weights, with its architecture and
    tokenizer, and trains like `textgen train` (checkpoints, Ctrl-C, and
    `textgen train --resume NEW_RUN`). The base run is only read. The learning
    rate defaults to 0.0005, a quarter of training's default: the base is already
    good, and big steps on a small corpus would wash out what it learnt. The
    optimizer starts fresh (the base's Adam moments belong to its own corpus).
    Without --epochs it trains enough epochs for 300 steps or more (10 to 100),
    and it stops early once 5 validations in a row have not improved (the best
    weights are in the 'best' checkpoint, which sample and eval use).
    """
    from textgen.config import lookup as presets
    from textgen.config import read_config_file
    from textgen.data.encode import EncodeOptions
    from textgen.run.directory import RunDir, checkpoint_label
    from textgen.train import finetune as ft

    base = ft.load_base(base_run, checkpoint)
    for notice in base.notices:
        click.echo(notice, err=True)
    sets = with_shortcuts(overrides, encoding, freeze_embedding=freeze_embedding or None,
                           freeze_layers=freeze_layers, epochs=epochs, max_steps=max_steps,
                           max_time=max_time, tensorboard=tensorboard)
    preset = read_config_file(presets.resolve(config_file)) if config_file else None
    cfg = ft.finetune_config(base.cfg, preset, sets, str(config_file))
    path = out or default_out(corpus[0], "-finetuned")
    ft.check_out(base, path)  # before the lock, which would write into the base
    with RunDir(path).lock(), EncodeBar() as bar:
        # workers=None: the console script's entry point is guarded, so jieba
        # may use worker processes.
        new = ft.start(base, cfg, list(corpus), path, vocab_mode,
                       EncodeOptions(progress=bar.update, workers=None), pattern=pattern)
        bar.close()
        for notice in new.notices:
            click.echo(notice, err=True)
        click.echo(f"fine-tuning {base.run.path} ({checkpoint_label(base.checkpoint, base.step)}"
                   f"); learning rate {cfg.train.lr:g}", err=True)
        for line in ft.vocabulary_report(new.vocab):
            click.echo(line, err=True)
        if cfg.train.freeze_embedding and new.vocab.added:
            click.echo(f"note: with --freeze-embedding the {len(new.vocab.added):,} new tokens "
                       "keep their starting embeddings (near the mean of the others)", err=True)

        def init(trainer: Trainer) -> None:
            from textgen.run.keras_checkpoint import assign_weights

            assign_weights(trainer.model, new.weights)

        run_training(cfg, new.run, new.enc, resumed=False, init=init)

