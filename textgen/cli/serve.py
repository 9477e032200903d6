"""`textgen serve`: the playground page and HTTP API over trained runs."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from textgen.cli.options import CHECKPOINTS, OneLineUsageError


@click.command()
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. The default is reachable from this machine only; "
                   "0.0.0.0 opens it to your network (use --api-key).")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
              help="Port to listen on (0 = any free port; the URL printed says which).")
@click.option("--checkpoint", type=CHECKPOINTS, default=None,
              help="Which weights to serve. [default: best where a run has one, else last]")
@click.option("--max-length", type=click.IntRange(min=1), default=2000, show_default=True,
              help="Most tokens one sample may ask for.")
@click.option("--max-n", type=click.IntRange(min=1), default=4, show_default=True,
              help="Most samples one request may ask for.")
@click.option("--max-prompt", type=click.IntRange(min=1), default=10_000, show_default=True,
              help="Longest prompt, in characters (longer gets 413).")
@click.option("--workers", type=click.IntRange(min=1), default=32, show_default=True,
              help="Generations per model that run at once, stepped together as one batch.")
@click.option("--queue", type=click.IntRange(min=0), default=32, show_default=True,
              help="Requests that may wait beyond those; more get 503 (busy).")
@click.option("--api-key", envvar="TEXTGEN_API_KEY", default=None, metavar="KEY",
              help="Require 'Authorization: Bearer KEY' on the API (also read from "
                   "$TEXTGEN_API_KEY). The page asks for it.")
def serve(run_dirs: tuple[Path, ...], host: str, port: int, checkpoint: str | None,
          max_length: int, max_n: int, max_prompt: int, workers: int, queue: int,
          api_key: str | None) -> None:
    """Serve the models of RUN_DIRS: a playground page and an HTTP API.

    Each model is named by its run directory's name. Open the printed URL in a
    browser, or call the API: POST /api/generate (JSON or server-sent events),
    POST /v1/completions (OpenAI-compatible), GET /api/models. Ctrl-C stops.
    """
    from textgen.serve import server
    from textgen.serve.app import ServeConfig, create_app
    from textgen.serve.models import load_models
    from textgen.serve.params import Limits

    if api_key is not None and not api_key.strip():
        raise OneLineUsageError("--api-key (or $TEXTGEN_API_KEY) is empty; give a key or "
                                "leave it out")
    models = load_models(list(run_dirs), checkpoint)
    for model in models.values():
        for notice in model.notices:
            click.echo(f"warning: {model.name}: {notice}", err=True)
    config = ServeConfig(Limits(max_length, max_n, max_prompt), workers, queue, api_key,
                         loopback_only=server.is_loopback(host))
    sock = server.listen(host, port)
    if not server.is_loopback(host):
        click.echo(f"warning: listening on {host}, not only this machine: anyone who can reach "
                   "it can use the models" + ("" if api_key else " (no --api-key is set)"),
                   err=True)
    names = ", ".join(f"{m.name} ({m.facts['tokenizer']}, step {m.facts['step']:,})"
                      for m in models.values())
    click.echo(f"serving {names}\n{server.url_of(sock)}  (Ctrl-C stops)")
    sys.stdout.flush()
    server.run(create_app(models, config), sock)
    click.echo("stopped", err=True)

