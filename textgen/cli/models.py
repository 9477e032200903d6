"""`textgen models`: the installed base models, or one model's card."""

from __future__ import annotations

import click


@click.command("models")
@click.argument("name", required=False)
def models_command(name: str | None) -> None:
    """List the installed models, or print model NAME's card (how it was made, how
    good it is, its limits).

    A model's name works wherever a run directory does: `textgen sample en-base`,
    `textgen finetune en-base my.txt`, `textgen eval`, `info`, `serve`, and
    `textgen.load("en-base")` in Python. A path that exists wins over a name.
    """
    from textgen.run import installed

    if name:
        path = installed.resolve(name)
        if not installed.is_model(path):
            raise click.ClickException(f"{path} is a run directory, not an installed model; "
                                       f"`textgen info {path}` describes it")
        click.echo((path / installed.CARD).read_text(encoding="utf-8"), nl=False)
        return
    found = installed.installed()
    if not found:
        click.echo(installed.NOT_INSTALLED, err=True)
        return
    rows = [("name", "language", "tokenizer", "parameters", "size", "trained on",
             "val bits/char")]
    for model, path in sorted(found.items()):
        try:
            m = installed.read_manifest(path)
        except installed.CheckpointError as e:
            rows.append((model, "?", "?", "?", "?", f"unreadable: {e}", ""))
            continue
        s = m.summary
        bpc = s.get("val_bits_per_char")
        rows.append((model, str(s.get("language", "?")), str(s.get("tokenizer", "?")),
                     f"{s.get('parameters', 0) / 1e6:.1f}M", f"{m.size_bytes / 1e6:.1f} MB",
                     str(s.get("trained_on", "?")), f"{bpc:.3f}" if bpc else "?"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    click.echo("\n`textgen models NAME` prints a model's card; `textgen sample NAME` writes "
               "with it.")
