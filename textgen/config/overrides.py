"""Reading config files and `--set section.key=value`, checked against the schema.

Every value, from a TOML preset, a saved `config.json` or a `--set` string,
goes through `set_value`: the key must be a field of the config's dataclasses
(the message lists the valid ones), and the value is converted to the field's
type and checked against its `choices`/`min`/`max`/`codec`/`duration` metadata.
This module works on any config made of dataclass sections, so that the schema
(`textgen.config.schema`) can use it without this module knowing the schema.
"""

from __future__ import annotations

import codecs
import dataclasses
import json
import math
import re
import tomllib
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any

from textgen.errors import ConfigError


def read_config_file(path: Path) -> dict[str, Any]:
    """Reads a config file's sections as written (JSON by suffix, else TOML), unchecked.

    Raises:
        ConfigError: the file is missing, unreadable, not UTF-8 or not valid.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as e:
        raise ConfigError(f"config file not found: {path}") from e
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: not UTF-8 text; save the config file as UTF-8") from e
    except OSError as e:
        raise ConfigError(f"{path}: cannot read the config file ({e.strerror or e})") from e
    kind = "JSON" if path.suffix == ".json" else "TOML"
    try:
        raw = json.loads(text) if kind == "JSON" else tomllib.loads(text)
    except ValueError as e:  # tomllib.TOMLDecodeError is a ValueError
        raise ConfigError(f"{path}: not valid {kind}: {e}") from e
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected sections of key = value, got {type(raw).__name__}")
    return raw


def parse_assignment(item: str) -> tuple[str, str]:
    """Splits one `--set` string, "section.key=value", into ("section.key", "value").

    The value stays a string; `set_value` converts it to the key's type.

    Raises:
        ConfigError: no `=` in `item`.
    """
    dotted, sep, value = item.partition("=")
    if not sep:
        raise ConfigError(f"--set expects section.key=value, got {item!r}")
    return dotted.strip(), value


def assignments(
    raw: dict[str, Any], source: str, sections: Collection[str] | None = None
) -> Iterator[tuple[str, Any, str]]:
    """The keys of a file's sections as ("section.key", value, source), in order.

    Args:
        raw: `{"section": {"key": value}}`, as `read_config_file` returns it.
        source: where `raw` came from, for error messages.
        sections: the valid section names; when given, another is refused
            before any of its keys (else an unknown key is `set_value`'s error).

    Raises:
        ConfigError: an unknown section, or a section that is not a table.
    """
    for section, values in raw.items():
        if sections is not None and section not in sections:
            raise ConfigError(
                f"{source}: unknown section [{section}]; valid sections: {', '.join(sections)}"
            )
        if not isinstance(values, dict):
            raise ConfigError(f"{source}: [{section}] must be a table of key = value")
        for key, value in values.items():
            yield f"{section}.{key}", value, source


def apply_overrides(cfg: Any, overrides: list[str]) -> list[str]:
    """Applies `--set section.key=value` strings to `cfg`.

    Returns:
        The dotted keys that were set, in order.

    Raises:
        ConfigError: a string that is not `section.key=value`, an unknown key or
            a bad value.
    """
    keys = []
    for item in overrides:
        dotted, value = parse_assignment(item)
        set_value(cfg, dotted, value, source="--set")
        keys.append(dotted)
    return keys


def set_value(cfg: Any, dotted: str, value: Any, source: str = "--set") -> None:
    """Sets `section.key` on `cfg` after checking the key and the value's type.

    Args:
        cfg: a config whose fields are dataclass sections (`textgen.config.Config`).
        dotted: "section.key".
        value: a TOML/JSON value, or a `--set` string (converted to the key's type).
        source: where the value came from, for error messages.

    Raises:
        ConfigError: unknown key (the message lists the valid ones) or bad value.
    """
    section, f = _field(cfg, dotted)
    setattr(getattr(cfg, section), f.name, _coerce(dotted, f, value, source))


def section_names(cfg: Any) -> list[str]:
    """The sections of a config, e.g. ["data", "model", "train"]."""
    return [f.name for f in dataclasses.fields(cfg)]


def keys_of(cfg: Any) -> list[str]:
    """Every settable key of a config as `section.key`."""
    return [
        f"{s}.{f.name}" for s in section_names(cfg) for f in dataclasses.fields(getattr(cfg, s))
    ]


def parse_duration(text: str, name: str = "train.max_time") -> float:
    """Seconds in a duration such as "90s", "30m", "2h" or "1h30m" ("" = 0: no limit).

    Raises:
        ConfigError: not a duration.
    """
    text = text.strip().lower()
    if not text:
        return 0.0
    if re.fullmatch(r"[0-9]+(?:\.[0-9]+)?", text):  # a bare number: seconds
        return float(text)
    number = r"([0-9]+(?:\.[0-9]+)?)"
    match = re.fullmatch(f"(?:{number}h)?(?:{number}m)?(?:{number}s)?", text)
    if not match or not any(match.groups()):
        raise ConfigError(
            f"{name} must be a duration such as 90s, 30m, 2h or 1h30m; got {text!r}"
        )
    h, m, s = (float(g) if g else 0.0 for g in match.groups())
    return h * 3600 + m * 60 + s


def _field(cfg: Any, dotted: str) -> tuple[str, dataclasses.Field]:
    section, _, key = dotted.partition(".")
    if section in section_names(cfg):
        for f in dataclasses.fields(getattr(cfg, section)):
            if f.name == key:
                return section, f
    raise ConfigError(f"unknown config key '{dotted}'; valid keys: {', '.join(keys_of(cfg))}")


def _coerce(dotted: str, f: dataclasses.Field, value: Any, source: str) -> Any:
    """Converts `value` (TOML value or `--set` string) to the field's type, or fails."""
    kind = {"int": int, "float": float, "bool": bool, "str": str}[f.type]  # type: ignore[index]
    bad = ConfigError(
        f"{source}: {dotted} must be {kind.__name__}, got {value!r} ({f.metadata['help']})"
    )
    if isinstance(value, str) and kind is not str:
        text = value.strip().lower()
        if kind is bool:
            if text not in ("true", "false", "1", "0", "yes", "no"):
                raise bad
            return text in ("true", "1", "yes")
        try:
            value = int(text) if kind is int else float(text)
        except ValueError:
            raise bad from None
    if kind is bool and not isinstance(value, bool):
        raise bad
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise bad
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad
        value = float(value)
        if not math.isfinite(value):
            raise ConfigError(f"{source}: {dotted} must be a finite number, got {value!r}")
    if kind is str and not isinstance(value, str):
        raise bad
    meta = f.metadata
    if meta.get("duration"):
        parse_duration(value, f"{source}: {dotted}")
    if meta.get("codec") and value != "auto":
        try:
            if not codecs.lookup(value)._is_text_encoding:  # rot13, base64, zlib, ...
                raise LookupError(value)
        except LookupError:
            raise ConfigError(
                f"{source}: {dotted} must be 'auto' or a text encoding Python knows "
                f"(e.g. 'cp1252', 'latin-1', 'big5'), got {value!r}"
            ) from None
    if "choices" in meta and value not in meta["choices"]:
        raise ConfigError(
            f"{source}: {dotted} must be one of {', '.join(map(repr, meta['choices']))}, "
            f"got {value!r}"
        )
    if "min" in meta and value < meta["min"]:
        raise ConfigError(f"{source}: {dotted} must be >= {meta['min']}, got {value!r}")
    if "max" in meta and value > meta["max"]:
        raise ConfigError(f"{source}: {dotted} must be <= {meta['max']}, got {value!r}")
    return value
