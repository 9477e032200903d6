"""The sampling settings, each declared once: name, type, default, range and help.

Everything that offers a setting is derived from `SETTINGS`: the fields of
`SamplerSettings` and their validation, the `textgen sample` options (`--top-k`),
the interactive session's commands (`/top-k 40`), the HTTP fields of both APIs
(`"top_k": 40`), and which settings the first token of an empty prompt keeps.
To add a setting: declare it here, add its field to `SamplerSettings` (an import-time
check makes sure the two agree) and its filter to `SamplerSettings.build`.

This module imports nothing heavy: the command line reads it to build its options.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from textgen.errors import InvalidArgument


@dataclass(frozen=True)
class Setting:
    """One sampling setting.

    Attributes:
        name: the `SamplerSettings` field and HTTP field (`top_k`); the option and
            the interactive command use dashes (`--top-k`, `/top-k`).
        kind: `int` or `float`.
        default: the value when none is given (also what turns the setting off,
            where it can be).
        low: the smallest allowed value (excluded when `low_open`).
        high: the largest allowed value, or None for no limit.
        low_open: whether `low` itself is refused.
        off: the value that turns the setting off, named in error messages (None: none).
        help: the `textgen sample` option's help text.
        metavar: the value's placeholder in the interactive help (`/top-k K`).
        summary: the interactive help line.
        first_token: kept for the first token of an empty prompt; settings that are
            not go back to their default for that token, so that each seed starts
            differently even when greedy.
        sweep: `textgen sample` takes a comma-separated list of values, one block each.
    """

    name: str
    kind: type
    default: float
    low: float
    help: str
    metavar: str
    summary: str
    high: float | None = None
    low_open: bool = False
    off: float | None = None
    first_token: bool = False
    sweep: bool = False

    @property
    def option(self) -> str:
        """The command-line option and interactive command name (`top-k`)."""
        return self.name.replace("_", "-")

    def rule(self) -> str:
        """What a valid value is, in words ("an integer >= 0 (0 = off)")."""
        if self.kind is int:
            text = f"an integer {'>' if self.low_open else '>='} {self.low:g}"
        elif self.high is not None:
            text = f"a number in {'(' if self.low_open else '['}{self.low:g}, {self.high:g}]"
        else:
            text = f"a finite number {'>' if self.low_open else '>='} {self.low:g}"
        return text if self.off is None else f"{text} ({self.off:g} = off)"

    def valid(self, value: object) -> bool:
        """Whether `value` is of the setting's type and in its range."""
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        if self.kind is int and not isinstance(value, int):
            return False
        if not math.isfinite(value):
            return False
        if value < self.low or (self.low_open and value == self.low):
            return False
        return self.high is None or value <= self.high

    def check(self, value: object) -> None:
        """Raises InvalidArgument naming the setting and echoing `value` unless it is valid."""
        if not self.valid(value):
            raise InvalidArgument(f"`{self.name}` must be {self.rule()}. "
                                  f"Received: {self.name}={value!r}")


SETTINGS: tuple[Setting, ...] = (
    Setting("temperature", float, 1.0, 0, sweep=True, metavar="T",
            help="0 = always the likeliest token; lower is safer, higher is wilder. "
                 "A list (0.5,1.0) prints one block per temperature.",
            summary="0 = always the likeliest token; higher is wilder"),
    Setting("top_k", int, 0, 0, off=0, metavar="K",
            help="Draw only from the K likeliest tokens (0 = off).",
            summary="keep the K likeliest tokens (0 = off)"),
    Setting("top_p", float, 1.0, 0, high=1, low_open=True, metavar="P",
            help="Draw only from the likeliest tokens that together hold probability P "
                 "(nucleus sampling; 1 = off).",
            summary="keep the likeliest tokens holding probability P (1 = off)"),
    Setting("repetition_penalty", float, 1.0, 1, off=1, metavar="R",
            help="Make tokens used in the last --repetition-window tokens R times less "
                 "likely (1 = off; try 1.2).",
            summary="make recently used tokens R times less likely (1 = off)"),
    Setting("repetition_window", int, 64, 1, metavar="W",
            help="How many recent tokens --repetition-penalty looks at.",
            summary="how many recent tokens the penalty looks at"),
)

BY_NAME: dict[str, Setting] = {s.name: s for s in SETTINGS}
