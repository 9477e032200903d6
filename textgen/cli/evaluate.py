"""`textgen eval` (loss, perplexity, bits per character, or --novelty) and `textgen plot`."""

from __future__ import annotations

import json
from pathlib import Path

import click

from textgen.cli.options import RUN_OR_MODEL, OneLineUsageError, checkpoint_option


@click.command("eval")
@click.argument("run_dir", type=RUN_OR_MODEL)
@click.argument("text", nargs=-1, type=click.Path(path_type=Path))
@checkpoint_option("Which weights to score (or, with --novelty, to sample from).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="json: one object, for scripts.")
@click.option("--encoding", default=None,
              help="Encoding of TEXT: 'auto' or a codec name. [default: the run's]")
@click.option("--glob", "pattern", default="*.txt", show_default=True,
              help="Which files of a TEXT directory to read.")
@click.option("--novelty", is_flag=True,
              help="Instead: write samples and report how much of them is copied verbatim "
                   "from the training corpus.")
@click.option("--samples", type=click.IntRange(min=1), default=5, show_default=True,
              help="--novelty: how many samples.")
@click.option("--length", type=click.IntRange(min=1), default=500, show_default=True,
              help="--novelty: tokens per sample.")
@click.option("--ngram", type=click.IntRange(min=1), default=None,
              help="--novelty: n-gram length in characters, also the shortest line "
                   "counted. [default: 5 for Han text, 20 otherwise]")
@click.option("--temperature", type=click.FloatRange(min=0.0), default=1.0, show_default=True,
              help="--novelty: sampling temperature.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="--novelty: sample i uses seed + i.")
def eval_command(run_dir: Path, text: tuple[Path, ...], checkpoint: str | None, fmt: str,
                 encoding: str | None, pattern: str, novelty: bool, samples: int, length: int,
                 ngram: int | None, temperature: float, seed: int) -> None:
    """Score RUN_DIR on its validation split, or on TEXT files if given.

    Prints the loss in nats per token, the perplexity and bits per character,
    streaming the text through the model in order with the state carried, as
    training validates. Bits per character compare character and word models.

    With --novelty, writes samples instead and reports the share of their
    character n-grams found verbatim in the training corpus, the share of
    their whole lines found there as whole lines, and the longest passage of
    a sample that occurs in the corpus as it is: a memorising model copies
    long passages.
    """
    if novelty:
        if text:
            raise OneLineUsageError("--novelty checks samples against the run's own corpus; "
                                    "leave out TEXT")
        print_novelty(run_dir, samples, length, ngram, temperature, seed, checkpoint, fmt)
        return
    from textgen.evaluate.perplexity import evaluate
    from textgen.run.directory import checkpoint_label

    result = evaluate(run_dir, list(text) or None, checkpoint, encoding=encoding,
                      pattern=pattern)
    for notice in result.notices:
        click.echo(notice, err=True)
    if fmt == "json":
        figures = {k: _unsigned(v) if isinstance(v, float) else v
                   for k, v in result.to_dict().items()}
        click.echo(json.dumps(figures, ensure_ascii=False, indent=2))
        return
    share = result.unknown / result.tokens
    click.echo(
        f"{result.run} ({checkpoint_label(result.checkpoint, result.step)}) on "
        f"{result.text}: {result.tokens:,} tokens, {result.characters:,.0f} characters"
        + (f" (the last {result.skipped:,} tokens, short of a whole chunk, are not scored)"
           if result.skipped else "") + "\n"
        f"  loss {result.loss:.4f} nats/token, perplexity {result.perplexity:.2f}, "
        f"{result.bits_per_char:.4f} bits/character\n"
        f"  <unk>: {result.unknown:,} tokens ({share:.2%})"
        + (f"; spelling out their characters adds "
           f"{_unsigned(result.spelling_bits_per_char):.4f} bits/character"
           if result.unknown else "")
    )


def _unsigned(x: float) -> float:
    """`x` without a sign on zero: a cost of nothing prints as 0.0000, never -0.0000
    (a one-character spelling code costs -ln 1 = -0.0 nats)."""
    return x + 0.0


def print_novelty(run_dir: Path, samples: int, length: int, ngram: int | None,
                  temperature: float, seed: int, checkpoint: str | None, fmt: str) -> None:
    from textgen.evaluate.novelty import novelty
    from textgen.run.directory import checkpoint_label

    r = novelty(run_dir, samples, length, ngram, temperature, seed, checkpoint)
    for notice in r.notices:
        click.echo(notice, err=True)
    if fmt == "json":
        click.echo(json.dumps(r.to_dict(), ensure_ascii=False, indent=2))
        return
    click.echo(
        f"{r.run} ({checkpoint_label(r.checkpoint, r.step)}): {r.samples} samples, "
        f"{r.characters:,} characters at temperature {temperature:g}\n"
        f"  {r.copied_share:.2%} of their {r.ngrams:,} {r.n}-character n-grams occur "
        "verbatim in the training corpus" + _RULES[r.n_rule] + "\n"
        f"  {r.lines_copied:,} of their {r.lines:,} whole lines of {r.n}+ characters "
        f"({r.lines_copied_share:.2%}) occur in it as whole lines\n"
        f"  longest passage found verbatim in the corpus: {r.longest:,} characters"
        + (f": {r.passage!r}" if r.passage else "")
    )


# Why n is what it is, when --ngram did not say (textgen.evaluate.novelty.default_ngram).
_RULES = {"given": "", "han": " (Han text: n = 5; --ngram sets it)", "alphabetic": ""}


@click.command()
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="PNG file to write. [default: RUN_DIR/loss.png of the first run]")
def plot(run_dirs: tuple[Path, ...], output: Path | None) -> None:
    """Draw training and validation loss against steps into a PNG.

    Several runs are overlaid in one figure, each in its own colour: the thin
    line is the training loss, the dotted one the validation loss.
    """
    from textgen.evaluate.plot import plot_runs

    if output is not None and not output.parent.is_dir():
        raise OneLineUsageError(f"--output {output}: no directory {output.parent}; create "
                                f"it first (mkdir -p {output.parent}) or give another path")
    out = plot_runs(list(run_dirs), output or run_dirs[0] / "loss.png")
    click.echo(f"wrote {out}", err=True)

