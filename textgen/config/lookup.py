"""Presets: the commented TOML configs that ship inside the package (`presets/`).

A preset is found by name (`--config char-small`) or by path. Which preset
suits a corpus when the user names none is `textgen.data.profile`'s choice.
"""

from __future__ import annotations

from pathlib import Path

from textgen.config.schema import Config
from textgen.errors import ConfigError

PRESET_DIR = Path(__file__).with_name("presets")  # package data (configs/ in the repository)


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
