"""The `textgen` group: error mapping, UTF-8 output, and the commands' registry.

Library errors (`TextgenError`) become one line on stderr and exit code 1;
anything else is a bug and keeps its traceback. Each command lives in a module
of its own beside this one and imports the library lazily, so `textgen --help`
never loads TensorFlow.
"""

from __future__ import annotations

import sys

import click

from textgen import __version__
from textgen.cli.evaluate import eval_command, plot
from textgen.cli.finetune import finetune
from textgen.cli.info import info, presets_command
from textgen.cli.models import models_command
from textgen.cli.options import OneLineUsageError
from textgen.cli.sample import sample
from textgen.cli.serve import serve
from textgen.cli.train import train
from textgen.errors import TextgenError


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
        except MemoryError:
            raise click.ClickException(
                "out of memory; ask for less (fewer --num-samples, a shorter prime, a "
                "smaller model or batch)") from None
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
      textgen models                        # the base models that come with textgen
      textgen sample en-base --prime "It was" --length 300
      textgen finetune en-base my-own-text.txt --out runs/mine
      textgen train corpora/tiny-shakespeare.txt --config char-small --out runs/demo
      textgen sample runs/demo --length 500 --temperature 0.8
      textgen sample runs/demo --prime "ROMEO:" --top-p 0.9 -n 3 --stop '\\n\\n'
      textgen sample runs/demo --interactive
      textgen train --resume runs/demo --epochs 20
      textgen finetune runs/demo my-own-text.txt --out runs/mine
      textgen info runs/demo
      textgen serve runs/demo runs/mine     # a web page and an API on 127.0.0.1:8000
    """
    _utf8_stdio()



for command in (train, finetune, sample, info, presets_command, models_command, eval_command,
                plot, serve):
    cli.add_command(command)


def main() -> None:
    """Console-script entry point."""
    cli()

