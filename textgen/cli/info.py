"""`textgen info` (a run's summary) and `textgen presets` (the shipped configs)."""

from __future__ import annotations

from pathlib import Path

import click

from textgen.cli.options import RUN_OR_MODEL


@click.command()
@click.argument("run_dir", type=RUN_OR_MODEL)
def info(run_dir: Path) -> None:
    """Show the model, vocabulary, corpus and training progress of RUN_DIR."""
    from textgen.run.report import describe_run

    notices: list[str] = []
    text = describe_run(run_dir, notices)
    for notice in notices:  # damage worked around: on stderr, as every command says it
        click.echo(notice, err=True)
    click.echo(text)


@click.command("presets")
@click.argument("name", required=False)
def presets_command(name: str | None) -> None:
    """List the presets that ship with textgen, or print preset NAME's TOML.

    Use one with `textgen train CORPUS --config NAME`; to change one, save its
    TOML (`textgen presets NAME > mine.toml`), edit it and pass --config mine.toml.
    """
    from textgen.config import lookup as presets

    if name:
        click.echo(presets.resolve(name).read_text(encoding="utf-8"), nl=False)
        return
    width = max(map(len, presets.names()))
    for preset in presets.names():
        click.echo(f"{preset:<{width}}  {presets.summary(preset)}")

