"""`textgen sample`: text from a trained run, to stdout or a file, or interactively."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from textgen.cli.options import RUN_OR_MODEL, TemperatureList, checkpoint_option, unescape
from textgen.generate.poetry.spec import POEM_OPTIONS, PoemOption
from textgen.generate.settings import SETTINGS, Setting


def _option(setting: Setting) -> click.Option:
    """The `textgen sample` option of a sampling setting (its declaration's range and help)."""
    if setting.sweep:
        kind, default = TemperatureList(), f"{setting.default}"
    elif setting.kind is int:
        kind, default = click.IntRange(min=setting.low, max=setting.high,
                                       min_open=setting.low_open), setting.default
    else:
        kind, default = click.FloatRange(min=setting.low, max=setting.high,
                                         min_open=setting.low_open), setting.default
    return click.option(f"--{setting.option}", setting.name, type=kind, default=default,
                        show_default=True, help=setting.help)


def setting_options(command):
    """Adds one option per declared sampling setting (`textgen.generate.settings`)."""
    for setting in reversed(SETTINGS):
        command = _option(setting)(command)
    return command


class _Spellings(click.Choice):
    """A choice that also takes other spellings of its values (七絕 for 七绝)."""

    def __init__(self, choices, normalize):
        super().__init__(choices)
        self.normalize = normalize

    def convert(self, value, param, ctx):
        return super().convert(self.normalize(value), param, ctx)


def _poem_option(opt: PoemOption) -> click.Option:
    """The `textgen sample` option of a poem option (`textgen.generate.poetry.spec`)."""
    if opt.flag:
        return click.option(opt.option, opt.name, is_flag=True, help=opt.help)
    if opt.choices and opt.normalize:
        kind = _Spellings(opt.choices, opt.normalize)
    else:
        kind = click.Choice(opt.choices) if opt.choices else str
    return click.option(opt.option, opt.name, type=kind, default=None, metavar=opt.metavar,
                        help=opt.help)


def poem_options(command):
    """Adds one option per declared poem option (--form, --acrostic, ...)."""
    for opt in reversed(POEM_OPTIONS):
        command = _poem_option(opt)(command)
    return command


@click.command()
@click.argument("run_dir", type=RUN_OR_MODEL)
@checkpoint_option("Which weights to sample from.")
@click.option("--prime", default="", help="Text to start from (printed first).")
@click.option("--prime-file", type=click.Path(dir_okay=False, path_type=Path),
              help="Read the text to start from from this UTF-8 file.")
@click.option("--length", type=click.IntRange(min=0), default=500, show_default=True,
              help="Tokens to generate per sample (characters for a char model).")
@click.option("--max-chars", type=click.IntRange(min=1), default=None,
              help="Also stop a sample after this many characters.")
@click.option("--max-lines", type=click.IntRange(min=1), default=None,
              help="Also stop a sample after this many lines (its last line break kept): "
                   "a stanza of verse or lyrics.")
@setting_options
@poem_options
@click.option("--best-of", type=click.IntRange(min=1), default=1, show_default=True,
              help="With --form or --acrostic: draw each poem line N times and keep the "
                   "most probable (under the model), for more fluent poems; N times the "
                   "work.")
@click.option("-n", "--num-samples", type=click.IntRange(min=1), default=1, show_default=True,
              help="Independent samples, generated together as one batch.")
@click.option("--seed", type=click.IntRange(min=0), default=None,
              help="Random seed; sample i uses SEED+i, so the same seed gives the same text.")
@click.option("--stop", multiple=True, metavar="STRING",
              help=r"End a sample where STRING appears (not printed); repeatable. "
                   r"\n, \t and \\ are read as newline, tab and backslash: --stop '\n\n' "
                   "ends at a blank line.")
@click.option("--no-prime", is_flag=True, help="Print only the continuation, not the prime.")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the samples to this file (UTF-8) instead of stdout.")
@click.option("--format", "fmt", type=click.Choice(["text", "jsonl"]), default="text",
              show_default=True,
              help="jsonl: one JSON object per sample (text, prime, seed, settings, "
                   "checkpoint, finish reason; with a poem its constraints, checks and "
                   "what was relaxed).")
@click.option("--drop-unknown", is_flag=True,
              help="Leave out prompt characters the model never saw instead of failing.")
@click.option("-i", "--interactive", is_flag=True,
              help="Type beginnings, get continuations, with the model loaded once "
                   "(/help lists the commands).")
def sample(run_dir: Path, checkpoint: str | None, prime: str, prime_file: Path | None,
           temperature: list[float], num_samples: int, stop: tuple[str, ...],
           no_prime: bool, output: Path | None, fmt: str, interactive: bool,
           **options) -> None:
    """Write new text with the model trained in RUN_DIR, to stdout as it is generated.

    Generation runs in NumPy (no TensorFlow), one token at a time with the
    network's state carried along, so it starts fast and every token costs the same.
    """
    from textgen.cli.sample_output import (
        SampleWriter,
        in_cli_words,
        read_prime_file,
        settings_from,
        untrained_warning,
    )
    from textgen.errors import InvalidArgument, UnknownTokens
    from textgen.generate.generator import Generator
    from textgen.run.directory import checkpoint_label

    if prime_file is not None:
        if prime:
            raise click.UsageError("give --prime or --prime-file, not both")
        prime = read_prime_file(prime_file)
    if options["length"] == 0 and not interactive and (no_prime or not prime):
        raise click.UsageError("--length 0 generates nothing, and there is no prime to "
                               "print; give --length 1 or more")
    stops = tuple(unescape(s) for s in stop)
    gen = Generator(run_dir, checkpoint)
    for notice in [*gen.notices, *untrained_warning(gen)]:
        click.echo(notice, err=True)
    if not (interactive and sys.stdin.isatty()):  # the interactive greeting says it there
        click.echo(f"sampling {gen.run_path} ({checkpoint_label(gen.checkpoint, gen.step)})",
                   err=True)
    poem = {o.name: options.pop(o.name) for o in POEM_OPTIONS}
    best_of = options.pop("best_of")
    if interactive:
        if best_of > 1:
            raise click.UsageError("--best-of does not work with --interactive yet; leave "
                                   "one of them out")
        if output or fmt != "text" or num_samples != 1 or len(temperature) != 1:
            raise click.UsageError(
                "--interactive writes one reply at a time to the terminal; leave out "
                "--output, --format, --num-samples and temperature lists")
        run_interactive(gen, prime, settings_from(temperature[0], options), stops, options, poem)
        return
    writer = SampleWriter(gen, fmt, output, show_prime=not no_prime,
                          labelled=num_samples > 1 or len(temperature) > 1)
    for t in temperature:
        try:
            generation = gen.run(prime, options["length"], settings_from(t, options),
                                 num_samples, options["seed"], stops, options["max_chars"],
                                 options["drop_unknown"], max_lines=options["max_lines"],
                                 best_of=best_of, **poem)
        except UnknownTokens as e:
            raise UnknownTokens(in_cli_words(str(e))) from None
        except InvalidArgument as e:
            raise InvalidArgument(in_cli_words(str(e))) from None
        if t == temperature[0] and generation.prime.dropped:
            click.echo(f"note: left out {len(generation.prime.dropped)} character(s) the "
                       f"model never saw: {' '.join(map(repr, generation.prime.dropped))}",
                       err=True)
        writer.write(generation)
    writer.close()


def run_interactive(gen, prime: str, settings, stops: tuple[str, ...], options: dict,
                    poem: dict) -> None:
    """Runs the interactive loop on stdin/stdout (see `textgen.generate.interactive`)."""
    from textgen.cli.sample_output import in_cli_words, relaxed_note
    from textgen.errors import InvalidArgument
    from textgen.generate.interactive import Session

    try:
        session = Session(gen, settings, options["length"], options["seed"], stops,
                          options["max_chars"], options["drop_unknown"],
                          max_lines=options["max_lines"], poem=poem)
    except InvalidArgument as e:
        raise InvalidArgument(in_cli_words(str(e))) from None
    stdin = sys.stdin
    if hasattr(stdin, "reconfigure"):  # UTF-8 whatever the locale; bad bytes get a message
        stdin.reconfigure(encoding="utf-8", errors="surrogateescape")
    tty = stdin.isatty()
    if tty:
        from textgen.run.directory import checkpoint_label

        click.echo(f"textgen {gen.run_path} ({checkpoint_label(gen.checkpoint, gen.step)}). "
                   "Type a beginning; /help for commands, Ctrl-D to leave.", err=True)
    lines = [prime] if prime else []
    try:
        while True:
            if lines:
                line = lines.pop()
            else:
                if tty:
                    click.echo("> ", nl=False, err=True)
                line = stdin.readline()
                if not line:
                    break
                line = line.rstrip("\n").removesuffix("\r")
            reply = session.handle(line)
            if reply.message:
                click.echo(in_cli_words(reply.message, "start again with", options=False), err=True)
            if reply.quit:
                break
            if reply.generation is not None:
                last = "\n"
                for _, piece in reply.generation:
                    click.echo(piece, nl=False)
                    sys.stdout.flush()
                    last = piece
                session.finished(reply.generation)
                if not last.endswith("\n"):
                    click.echo()
                if note := relaxed_note(reply.generation, 0):
                    click.echo(note, err=True)
                sys.stdout.flush()
    except KeyboardInterrupt:
        click.echo()

