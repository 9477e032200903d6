"""Option declarations and parameter types that several commands share."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click


class CheckpointName(click.ParamType):
    """A checkpoint: last, best or step-N (N an integer; one that `train.keep` kept)."""

    name = "last|best|step-N"

    def convert(self, value, param, ctx) -> str:
        from textgen.errors import InvalidArgument
        from textgen.run.directory import checkpoint_name

        try:
            return checkpoint_name(value)
        except InvalidArgument:
            self.fail(f"{value!r} is not a checkpoint; give last, best or step-N (e.g. "
                      "step-1000, a step checkpoint that train.keep kept)", param, ctx)


CHECKPOINTS = CheckpointName()


class RunOrModel(click.ParamType):
    """A run directory, or the name of an installed model (`textgen models`); a path that
    exists wins over a name. An unknown name is one line with "did you mean" and the list;
    a model's files are checked against its manifest first."""

    name = "run_or_model"

    def convert(self, value, param, ctx) -> Path:
        from textgen.run.installed import resolve

        return resolve(value)  # a TextgenError: the group prints one line


RUN_OR_MODEL = RunOrModel()


def checkpoint_option(what: str) -> Callable:
    """The `--checkpoint` option of sample, eval, serve and finetune; `what` begins its help
    ("Which weights to score."). The default is decided once, `RunDir.pick_checkpoint`."""
    # The words of `textgen.run.directory.DEFAULT_CHECKPOINT`, which `--help` cannot
    # import without NumPy (tests/test_checkpoint_choice.py holds them equal).
    default = "best if the run has one, else last"
    return click.option(
        "--checkpoint", type=CHECKPOINTS, default=None, metavar=CHECKPOINTS.name,
        help=f"{what} best = lowest validation loss, last = newest, step-N = the step "
             f"checkpoint saved at step N (train.keep). [default: {default}]")


class OneLineUsageError(click.ClickException):
    """A usage error shown as one line (click's default adds two lines of usage)."""

    exit_code = 2


def training_options(command: Callable) -> Callable:
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


def with_shortcuts(overrides: tuple[str, ...], encoding: str | None,
                    **train_keys: object) -> list[str]:
    """`--set` strings plus the keys that the shortcut options given stand for."""
    sets = [*overrides, *(f"train.{k}={v}" for k, v in train_keys.items() if v is not None)]
    return sets + ([f"data.encoding={encoding}"] if encoding else [])


def default_out(first: Path, suffix: str = "") -> Path:
    base = Path("runs") / ((first.stem or "run") + suffix)
    out, n = base, 1
    while out.exists():
        n += 1
        out = base.with_name(f"{base.name}-{n}")
    return out


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


def unescape(text: str) -> str:
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

