"""The `textgen` command line: thin click commands over the library.

Only this module talks to the terminal. Library errors (`TextgenError`) become
one line on stderr and exit code 1; anything else is a bug and keeps its
traceback.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from textgen import __version__
from textgen.errors import TextgenError

if TYPE_CHECKING:  # annotations only: importing these loads TensorFlow
    from textgen.config import Config
    from textgen.data import EncodedCorpus
    from textgen.rundir import RunDir
    from textgen.train import Trainer

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


def _training_options(command: Callable) -> Callable:
    """Adds the options `train` and `finetune` share: --glob, --encoding, --set, --epochs,
    --max-steps, --max-time, --tensorboard."""
    options = [
        click.option("--glob", "pattern", default="*.txt", show_default=True,
                     metavar="PATTERN",
                     help="Which files of a CORPUS directory to read, e.g. '*.md' or '*'."),
        click.option("--encoding", metavar="CODEC",
                     help="The corpus files' encoding, e.g. cp1252 or big5 (data.encoding). "
                          "[default: UTF-8, or GB18030 for Chinese]"),
        click.option("--set", "overrides", multiple=True, metavar="SECTION.KEY=VALUE",
                     help="Override one config key, e.g. --set train.lr=1e-4 (repeatable)."),
        click.option("--epochs", type=click.IntRange(min=1),
                     help="Shortcut for --set train.epochs=N."),
        click.option("--max-steps", type=click.IntRange(min=0),
                     help="Stop at this global step (0 = no limit); shortcut for "
                          "train.max_steps."),
        click.option("--max-time", metavar="DURATION",
                     help="Stop (and save) after this long, e.g. 30m, 2h, 1h30m; this "
                          "session only. Shortcut for train.max_time."),
        click.option("--tensorboard", is_flag=True, default=None,
                     help="Write TensorBoard event files into RUN_DIR/tensorboard "
                          "(train.tensorboard)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _with_shortcuts(overrides: tuple[str, ...], encoding: str | None,
                    **train_keys: object) -> list[str]:
    """`--set` strings plus the keys that the shortcut options given stand for."""
    sets = [*overrides, *(f"train.{k}={v}" for k, v in train_keys.items() if v is not None)]
    return sets + ([f"data.encoding={encoding}"] if encoding else [])


@cli.command()
@click.argument("corpus", nargs=-1, type=click.Path(path_type=Path))
@click.option("--config", "config_file", metavar="NAME|FILE",
              help="A preset by name (`textgen presets` lists them) or a TOML file; "
                   "defaults apply to keys it leaves out. [default: a preset chosen "
                   "from the corpus]")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Run directory to create. [default: runs/<corpus name>, made unique]")
@_training_options
@click.option("--resume", type=click.Path(file_okay=False, path_type=Path),
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
    Chinese prose, or other text by size) and says which and why.
    Checkpoints go to the run directory every train.save_every steps, at each
    epoch end and on Ctrl-C; a stopped or killed run continues with --resume.
    """
    from textgen import presets
    from textgen.config import apply_overrides
    from textgen.rundir import RunDir
    from textgen.runs import new_run, open_run

    sets = _with_shortcuts(overrides, encoding, epochs=epochs, max_steps=max_steps,
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
    path = resume or out or _default_out(corpus[0])
    with RunDir(path).lock(), _EncodeBar() as bar:
        # workers=None: the console script's entry point is guarded, so jieba
        # may use worker processes.
        if resume:
            cfg, run, enc = open_run(resume, sets, progress=bar.update, workers=None,
                                     notify=lambda notice: click.echo(notice, err=True),
                                     allow_changed_corpus=allow_changed_corpus)
        else:
            if config_file:
                cfg = presets.load(config_file)
                apply_overrides(cfg, sets)
            else:
                cfg, choice = presets.auto_config(list(corpus), sets, pattern)
                click.echo(f"no --config given: using preset {choice.name} for "
                           f"{choice.reason}. Choose another with --config NAME|FILE "
                           "(`textgen presets` lists them)", err=True)
            run, enc, notices = new_run(cfg, list(corpus), path, progress=bar.update,
                                        workers=None, pattern=pattern)
            for notice in notices:
                click.echo(notice, err=True)
        bar.close()
        _train(cfg, run, enc, resumed=bool(resume))


def _train(cfg: Config, run: RunDir, enc: EncodedCorpus, resumed: bool,
           init: Callable[[Trainer], None] | None = None) -> None:
    """Reports on the data, trains, and says how it ended (inside the run's lock).

    `init` sets the new model's weights before the first checkpoint (fine-tuning).
    """
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
    if init is not None:
        init(trainer)
    for notice in trainer.notices():
        click.echo(notice, err=True)
    if resumed:
        trainer.resume()
        st = trainer.state
        if trainer.early_stopped:
            click.echo(f"nothing to do for {run.path}: it stopped early (no better validation "
                       f"loss in {cfg.train.patience} validations). Train on with a larger --set "
                       f"train.patience=N (or 0, off); the best weights are in --checkpoint "
                       "best", err=True)
            return
        if trainer.total_steps() <= st.step:
            limit = cfg.train.max_steps
            why = (f"it is at step {st.step:,}, at or past --max-steps {limit:,}"
                   if limit and limit <= st.step else
                   f"it has finished its {cfg.train.epochs} epochs (step {st.step:,})")
            click.echo(f"nothing to do for {run.path}: {why}. Train longer with "
                       f"--epochs N (more than {st.epoch}) or --max-steps N (more than "
                       f"{st.step})", err=True)
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
                             f"{cfg.train.patience} validations; the best weights are in "
                             "--checkpoint best"}[result.stop_reason]
        click.echo(f"stopped at step {st.step:,} ({why}); run saved in "
                   f"{run.path}. Sample with: textgen sample {run.path}", err=True)


@cli.command()
@click.argument("base_run", type=click.Path(path_type=Path))
@click.argument("corpus", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Run directory to create. [default: runs/<corpus name>-finetuned]")
@click.option("--checkpoint", type=CHECKPOINTS, default=None,
              help="The base's checkpoint to start from. [default: best if it has one, "
                   "else last]")
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
@_training_options
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
    """
    from textgen import finetune as ft
    from textgen import presets
    from textgen.config import read_config_file
    from textgen.rundir import RunDir

    base = ft.load_base(base_run, checkpoint)
    sets = _with_shortcuts(overrides, encoding, freeze_embedding=freeze_embedding or None,
                           freeze_layers=freeze_layers, epochs=epochs, max_steps=max_steps,
                           max_time=max_time, tensorboard=tensorboard)
    preset = read_config_file(presets.resolve(config_file)) if config_file else None
    cfg = ft.finetune_config(base.cfg, preset, sets, str(config_file))
    path = out or _default_out(corpus[0], "-finetuned")
    if path.resolve().is_relative_to(base.run.path.resolve()):
        raise click.UsageError(f"--out {path} is inside the base run; the base is never "
                               "written to, pick a directory outside it")
    with RunDir(path).lock(), _EncodeBar() as bar:
        new = ft.start(base, cfg, list(corpus), path, vocab_mode, progress=bar.update,
                       workers=None, pattern=pattern)
        bar.close()
        for notice in new.notices:
            click.echo(notice, err=True)
        click.echo(f"fine-tuning {base.run.path} ({base.checkpoint} checkpoint, step "
                   f"{base.step:,}); learning rate {cfg.train.lr:g}", err=True)
        for line in ft.vocabulary_report(new.vocab):
            click.echo(line, err=True)
        if cfg.train.freeze_embedding and new.vocab.added:
            click.echo(f"note: with --freeze-embedding the {len(new.vocab.added):,} new tokens "
                       "keep their starting embeddings (near the mean of the others)", err=True)

        def init(trainer: Trainer) -> None:
            from textgen.checkpoints import assign_weights

            assign_weights(trainer.model, new.weights)

        _train(cfg, new.run, new.enc, resumed=False, init=init)


class TqdmReporter:
    """A `textgen.train.Reporter`: one tqdm bar for the run on stderr (its steps up to
    `--max-steps`/`--epochs`, with the ETA), and a summary line per validation.

    (Duck-typed rather than subclassed, so that `textgen --help` does not import
    TensorFlow.)
    """

    def __init__(self, epochs: int):
        self.epochs = epochs
        self._bar = None

    def start(self, step: int, total_steps: int) -> None:
        from tqdm import tqdm

        # Redirected to a log file, a bar redrawn 10 times a second floods it.
        interval = 0.1 if sys.stderr.isatty() else 30.0
        self._bar = tqdm(total=total_steps, initial=step, unit="step", file=sys.stderr,
                         dynamic_ncols=True, mininterval=interval)

    def epoch_start(self, epoch: int, n_batches: int, start_batch: int) -> None:
        self._bar.set_description(f"epoch {epoch + 1}/{self.epochs}", refresh=False)

    def step(self, step: int, loss: float, tokens_per_s: float) -> None:
        self._bar.update(1)
        self._bar.set_postfix(loss=f"{loss:.3f}", tok_s=f"{tokens_per_s:,.0f}", refresh=False)

    def epoch_end(self, summary) -> None:
        self._print(f"epoch {summary.epoch}/{self.epochs}", summary)

    def validated(self, summary) -> None:
        self._print(f"  (in epoch {summary.epoch})", summary)

    def samples(self, step: int, samples: list[tuple[float, str]]) -> None:
        self._echo("\n".join(f"--- sample at step {step:,}, temperature {t} ---\n{text}"
                              for t, text in samples))

    def warning(self, message: str) -> None:
        self._echo(message, err=True)

    def _print(self, where: str, summary) -> None:
        line = f"{where}  step {summary.step:,}  train {summary.train_loss:.4f}"
        if summary.val_loss is not None:
            line += (f"  val {summary.val_loss:.4f} nats/token, {summary.val_bpc:.4f} bits/char"
                     f"{'  (best)' if summary.is_best else ''}")
        self._echo(line)

    def _echo(self, text: str, err: bool = False) -> None:
        """Prints `text` above the bar (cleared, then redrawn below it)."""
        if self._bar is not None:
            self._bar.clear()
        click.echo(text, err=err)
        if self._bar is not None:
            self._bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def _default_out(first: Path, suffix: str = "") -> Path:
    base = Path("runs") / ((first.stem or "run") + suffix)
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


class TemperatureList(click.ParamType):
    """A comma-separated list of temperatures, each a finite number >= 0."""

    name = "T[,T...]"

    def convert(self, value, param, ctx) -> list[float]:
        if isinstance(value, list):
            return value
        out = []
        for item in str(value).split(","):
            try:
                t = float(item)
            except ValueError:
                t = float("nan")
            if not (t >= 0 and t != float("inf")):
                self.fail(f"{item.strip()!r} is not a number >= 0 (e.g. 0.8 or 0.5,1.0)",
                          param, ctx)
            out.append(t)
        return out


def _unescape(text: str) -> str:
    r"""Turns the escapes \n, \t, \r and \\ of a command-line string into characters."""
    table = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\"}
    out, i = [], 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text) and text[i + 1] in table:
            out.append(table[text[i + 1]])
            i += 2
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


@cli.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--checkpoint", type=CHECKPOINTS, default="last", show_default=True,
              help="'best' = lowest validation loss, 'last' = newest.")
@click.option("--prime", default="", help="Text to start from (printed first).")
@click.option("--prime-file", type=click.Path(dir_okay=False, path_type=Path),
              help="Read the text to start from from this UTF-8 file.")
@click.option("--length", type=click.IntRange(min=0), default=500, show_default=True,
              help="Tokens to generate per sample (characters for a char model).")
@click.option("--max-chars", type=click.IntRange(min=1), default=None,
              help="Also stop a sample after this many characters.")
@click.option("--temperature", type=TemperatureList(), default="1.0", show_default=True,
              help="0 = always the likeliest token; lower is safer, higher is wilder. "
                   "A list (0.5,1.0) prints one block per temperature.")
@click.option("--top-k", type=click.IntRange(min=0), default=0, show_default=True,
              help="Draw only from the K likeliest tokens (0 = off).")
@click.option("--top-p", type=click.FloatRange(min=0, max=1, min_open=True), default=1.0,
              show_default=True,
              help="Draw only from the likeliest tokens that together hold probability P "
                   "(nucleus sampling; 1 = off).")
@click.option("--repetition-penalty", type=click.FloatRange(min=1), default=1.0,
              show_default=True,
              help="Make tokens used in the last --repetition-window tokens R times less "
                   "likely (1 = off; try 1.2).")
@click.option("--repetition-window", type=click.IntRange(min=1), default=64, show_default=True,
              help="How many recent tokens --repetition-penalty looks at.")
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
                   "checkpoint, finish reason).")
@click.option("--drop-unknown", is_flag=True,
              help="Leave out prompt characters the model never saw instead of failing.")
@click.option("-i", "--interactive", is_flag=True,
              help="Type beginnings, get continuations, with the model loaded once "
                   "(/help lists the commands).")
def sample(run_dir: Path, checkpoint: str, prime: str, prime_file: Path | None,
           temperature: list[float], num_samples: int, stop: tuple[str, ...],
           no_prime: bool, output: Path | None, fmt: str, interactive: bool,
           **options) -> None:
    """Write new text with the model trained in RUN_DIR, to stdout as it is generated.

    Generation runs in NumPy (no TensorFlow), one token at a time with the
    network's state carried along, so it starts fast and every token costs the same.
    """
    from textgen.generate import Generator
    from textgen.sample_output import SampleWriter, read_prime_file, settings_from

    if prime_file is not None:
        if prime:
            raise click.UsageError("give --prime or --prime-file, not both")
        prime = read_prime_file(prime_file)
    stops = tuple(_unescape(s) for s in stop)
    gen = Generator(run_dir, checkpoint)
    for notice in gen.notices:
        click.echo(notice, err=True)
    if interactive:
        if output or fmt != "text" or num_samples != 1 or len(temperature) != 1:
            raise click.UsageError(
                "--interactive writes one reply at a time to the terminal; leave out "
                "--output, --format, --num-samples and temperature lists")
        _interactive(gen, prime, settings_from(temperature[0], options), stops, options)
        return
    writer = SampleWriter(gen, fmt, output, show_prime=not no_prime,
                          labelled=num_samples > 1 or len(temperature) > 1)
    for t in temperature:
        generation = gen.run(prime, options["length"], settings_from(t, options), num_samples,
                             options["seed"], stops, options["max_chars"],
                             options["drop_unknown"])
        if t == temperature[0] and generation.prime.dropped:
            click.echo(f"note: left out {len(generation.prime.dropped)} character(s) the "
                       f"model never saw: {' '.join(map(repr, generation.prime.dropped))}",
                       err=True)
        writer.write(generation)
    writer.close()


def _interactive(gen, prime: str, settings, stops: tuple[str, ...], options: dict) -> None:
    """Runs the interactive loop on stdin/stdout (see `textgen.interactive`)."""
    from textgen.interactive import Session

    session = Session(gen, settings, options["length"], options["seed"], stops,
                      options["max_chars"], options["drop_unknown"])
    stdin = sys.stdin
    if hasattr(stdin, "reconfigure"):  # UTF-8 whatever the locale; bad bytes get a message
        stdin.reconfigure(encoding="utf-8", errors="surrogateescape")
    tty = stdin.isatty()
    if tty:
        click.echo(f"textgen {gen.run_path} ({gen.checkpoint} checkpoint, step {gen.step:,}). "
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
                click.echo(reply.message, err=True)
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
                sys.stdout.flush()
    except KeyboardInterrupt:
        click.echo()


@cli.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
def info(run_dir: Path) -> None:
    """Show the model, vocabulary, corpus and training progress of RUN_DIR."""
    from textgen.report import describe_run

    click.echo(describe_run(run_dir))


@cli.command("presets")
@click.argument("name", required=False)
def presets_command(name: str | None) -> None:
    """List the presets that ship with textgen, or print preset NAME's TOML.

    Use one with `textgen train CORPUS --config NAME`; to change one, save its
    TOML (`textgen presets NAME > mine.toml`), edit it and pass --config mine.toml.
    """
    from textgen import presets

    if name:
        click.echo(presets.resolve(name).read_text(encoding="utf-8"), nl=False)
        return
    width = max(map(len, presets.names()))
    for preset in presets.names():
        click.echo(f"{preset:<{width}}  {presets.summary(preset)}")


@cli.command("eval")
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.argument("text", nargs=-1, type=click.Path(path_type=Path))
@click.option("--checkpoint", type=CHECKPOINTS, default=None,
              help="Which weights to score. [default: best if the run has one, else last]")
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
@click.option("--ngram", type=click.IntRange(min=1), default=20, show_default=True,
              help="--novelty: n-gram length in characters.")
@click.option("--temperature", type=click.FloatRange(min=0.0), default=1.0, show_default=True,
              help="--novelty: sampling temperature.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="--novelty: sample i uses seed + i.")
def eval_command(run_dir: Path, text: tuple[Path, ...], checkpoint: str | None, fmt: str,
                 encoding: str | None, pattern: str, novelty: bool, samples: int, length: int,
                 ngram: int, temperature: float, seed: int) -> None:
    """Score RUN_DIR on its validation split, or on TEXT files if given.

    Prints the loss in nats per token, the perplexity and bits per character,
    streaming the text through the model in order with the state carried, as
    training validates. Bits per character compare character and word models.

    With --novelty, writes samples instead and reports the share of their
    character n-grams found verbatim in the training corpus, and the longest
    copied passage: a memorising model copies long passages.
    """
    if novelty:
        if text:
            raise OneLineUsageError("--novelty checks samples against the run's own corpus; "
                                    "leave out TEXT")
        _print_novelty(run_dir, samples, length, ngram, temperature, seed, checkpoint, fmt)
        return
    from textgen.evaluate import evaluate

    result = evaluate(run_dir, list(text) or None, checkpoint, encoding=encoding,
                      pattern=pattern)
    for notice in result.notices:
        click.echo(notice, err=True)
    if fmt == "json":
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
        return
    share = result.unknown / result.tokens
    click.echo(
        f"{result.run} (checkpoint {result.checkpoint}, step {result.step:,}) on "
        f"{result.text}: {result.tokens:,} tokens, {result.characters:,.0f} characters"
        + (f" (the last {result.skipped:,} tokens, short of a whole chunk, are not scored)"
           if result.skipped else "") + "\n"
        f"  loss {result.loss:.4f} nats/token, perplexity {result.perplexity:.2f}, "
        f"{result.bits_per_char:.4f} bits/character\n"
        f"  <unk>: {result.unknown:,} tokens ({share:.2%})"
        + (f"; spelling out their characters adds "
           f"{result.spelling_bits_per_char:.4f} bits/character"
           if result.unknown else "")
    )


@cli.command()
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="PNG file to write. [default: RUN_DIR/loss.png of the first run]")
def plot(run_dirs: tuple[Path, ...], output: Path | None) -> None:
    """Draw training and validation loss against steps into a PNG.

    Several runs are overlaid in one figure, each in its own colour: the thin
    line is the training loss, the dotted one the validation loss.
    """
    from textgen.plot import plot_runs

    out = plot_runs(list(run_dirs), output or run_dirs[0] / "loss.png")
    click.echo(f"wrote {out}", err=True)


def _print_novelty(run_dir: Path, samples: int, length: int, ngram: int, temperature: float,
                   seed: int, checkpoint: str | None, fmt: str) -> None:
    from textgen.novelty import novelty

    r = novelty(run_dir, samples, length, ngram, temperature, seed, checkpoint)
    if fmt == "json":
        click.echo(json.dumps(r.to_dict(), ensure_ascii=False, indent=2))
        return
    click.echo(
        f"{r.run} (checkpoint {r.checkpoint}): {r.samples} samples, {r.characters:,} "
        f"characters at temperature {temperature:g}\n"
        f"  {r.copied_share:.2%} of their {r.ngrams:,} {r.n}-character n-grams occur "
        "verbatim in the training corpus\n"
        f"  longest copied passage: {r.longest} characters"
        + (f": {r.passage!r}" if r.passage else "")
    )


@cli.command()
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


def main() -> None:
    """Console-script entry point."""
    cli()
