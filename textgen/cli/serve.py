"""`textgen serve`: the playground page and HTTP API over trained runs."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import click

from textgen.cli.options import RUN_OR_MODEL, OneLineUsageError, checkpoint_option
from textgen.serve.config import Limits, ServeConfig


def _declared(cls: type) -> list:
    """The fields of `cls` that are options (their metadata has help)."""
    return [f for f in dataclasses.fields(cls) if "help" in f.metadata]


def config_options(command):
    """Adds an option per field of `Limits` and `ServeConfig` that declares one
    (default, minimum and help come from the field: the defaults live there only)."""
    for f in reversed(_declared(Limits) + _declared(ServeConfig)):
        command = click.option(f"--{f.name.replace('_', '-')}", f.name,
                               type=click.IntRange(min=f.metadata["low"]), default=f.default,
                               show_default=True, help=f.metadata["help"])(command)
    return command



@click.command()
@click.argument("run_dirs", nargs=-1, required=True, type=RUN_OR_MODEL)
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. The default is reachable from this machine only; "
                   "0.0.0.0 opens it to your network (use --api-key).")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
              help="Port to listen on (0 = any free port; the URL printed says which).")
@checkpoint_option("Which weights to serve, of every run.")
@config_options
@click.option("--api-key", envvar="TEXTGEN_API_KEY", default=None, metavar="KEY",
              help="Require 'Authorization: Bearer KEY' on the API (also read from "
                   "$TEXTGEN_API_KEY). The page asks for it.")
def serve(run_dirs: tuple[Path, ...], host: str, port: int, checkpoint: str | None,
          api_key: str | None, **options: int) -> None:
    """Serve the models of RUN_DIRS: a playground page and an HTTP API.

    Each model is named by its run directory's name. Open the printed URL in a
    browser, or call the API: POST /api/generate (JSON or server-sent events),
    POST /v1/completions (OpenAI-compatible), GET /api/models. Ctrl-C stops.
    """
    from textgen.run.directory import checkpoint_label
    from textgen.serve import server
    from textgen.serve.app import create_app
    from textgen.serve.models import load_models

    if api_key is not None and not api_key.strip():
        raise OneLineUsageError("--api-key (or $TEXTGEN_API_KEY) is empty; give a key or "
                                "leave it out")
    models = load_models(list(run_dirs), checkpoint)
    for model in models.values():
        for notice in model.notices:
            click.echo(f"warning: {model.name}: {notice}", err=True)
    limits = Limits(**{f.name: options.pop(f.name) for f in _declared(Limits)})
    config = ServeConfig(limits, api_key=api_key, loopback_only=server.is_loopback(host),
                         **options)
    sock = server.listen(host, port)
    if not server.is_loopback(host):
        click.echo(f"warning: listening on {host}, not only this machine: anyone who can reach "
                   "it can use the models" + ("" if api_key else " (no --api-key is set)"),
                   err=True)
    names = ", ".join(
        f"{m.name} ({checkpoint_label(m.facts['checkpoint'], m.facts['step'])}; "
        f"{m.facts['tokenizer']})" for m in models.values())
    click.echo(f"serving {names}\n{server.url_of(sock)}  (Ctrl-C stops)")
    sys.stdout.flush()
    server.run(create_app(models, config), sock)
    click.echo("stopped", err=True)

