"""Presets: the commented TOML configs that ship inside the package (`presets/`).

A preset is found by name (`--config char-small`) or by path. Which preset
suits a corpus when the user names none is `textgen.data.profile`'s choice.

Each shipped preset states its measured speed in one comment line that
`step_cost` reads (a comment, so that `Config.load` and users' copies ignore it):

    # step-seconds: float32 0.037, mixed_bfloat16 0.036 (2 CPU cores, ...; where measured)

seconds per training step by `train.precision`, then the machine and the source
of the figures in parentheses (`scripts/bench_presets.py` measures them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from textgen.config.schema import Config
from textgen.errors import ConfigError

PRESET_DIR = Path(__file__).with_name("presets")  # package data (configs/ in the repository)
_STEP_SECONDS = re.compile(r"^# step-seconds: (?P<figures>[^(]*?) \((?P<where>[^)]*)\)\s*$",
                           re.MULTILINE)


def names() -> list[str]:
    """The shipped presets' names, sorted."""
    return sorted(p.stem for p in PRESET_DIR.glob("*.toml"))


def summary(name: str) -> str:
    """A preset's one-line description: its first comment line, after "name: "."""
    first = (PRESET_DIR / f"{name}.toml").read_text(encoding="utf-8").splitlines()[0]
    return first.lstrip("# ").removeprefix(f"{name}:").strip()


def resolve(value: str | Path) -> Path:
    """The config file that `--config VALUE` names: a file path, else a preset name.

    Raises:
        ConfigError: neither an existing file nor a preset.
    """
    path = Path(value)
    if path.is_file():
        return path
    text = str(value)
    if text in names():
        return PRESET_DIR / f"{text}.toml"
    if path.suffix or "/" in text or "\\" in text:
        raise ConfigError(f"config file not found: {text}")
    raise ConfigError(f"no preset or config file named {text!r}; presets: {', '.join(names())} "
                      "(`textgen presets` describes them), or give a TOML file's path")


def load(value: str | Path) -> Config:
    """The config of preset name or file `value` (see `resolve`)."""
    return Config.load(resolve(value))


@dataclass(frozen=True)
class StepCost:
    """A preset's measured seconds per training step, and where they were measured.

    Attributes:
        seconds: (precision, seconds per step) pairs, e.g. ("float32", 0.037).
        where: the machine and the source of the figures, e.g. "2 CPU cores, Xeon
            with AMX; scripts/bench_presets.py, 2026-11-25".
    """

    seconds: tuple[tuple[str, float], ...]
    where: str

    def per_step(self, precision: str) -> float | None:
        """Seconds per step in `precision` ("float32" or "mixed_bfloat16"); None when
        that precision was not measured."""
        return dict(self.seconds).get(precision)


def step_cost(name: str) -> StepCost | None:
    """The measured speed of shipped preset `name` (its `# step-seconds:` line); None
    when it has no such line.

    Raises:
        ConfigError: `name` is not a shipped preset, or its line is malformed.
    """
    if name not in names():
        raise ConfigError(f"no preset named {name!r}; presets: {', '.join(names())}")
    match = _STEP_SECONDS.search((PRESET_DIR / f"{name}.toml").read_text(encoding="utf-8"))
    if match is None:
        return None
    try:
        pairs = tuple((precision, float(value)) for precision, value in
                      (item.split() for item in match["figures"].split(",")))
    except ValueError:
        raise ConfigError(f"preset {name}: its step-seconds line must read like "
                          "'float32 0.037, mixed_bfloat16 0.036 (where)'; got "
                          f"{match['figures']!r}") from None
    return StepCost(pairs, match["where"])
