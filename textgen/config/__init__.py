"""Configuration: the typed schema of every key, its checks, and the presets.

Owns `schema` (the `Config` dataclasses with their defaults and the reasons for
them), `overrides` (reading TOML/JSON config files and `--set section.key=value`
strings into the schema, each value converted and checked), `checks` (what
needs no corpus: settings valid alone but not together, a model too big for the
machine) and `lookup` (finding a shipped preset, `presets/*.toml`, by name). It
reads no corpus: choosing a preset from a corpus is `textgen.data.profile`'s job.
"""

from textgen.config.checks import check_combinations, check_fits_in_memory
from textgen.config.overrides import (
    apply_overrides,
    assignments,
    parse_assignment,
    parse_duration,
    read_config_file,
    set_value,
)
from textgen.config.schema import Config, DataConfig, ModelConfig, TrainConfig, valid_keys

__all__ = [
    "Config",
    "DataConfig",
    "ModelConfig",
    "TrainConfig",
    "apply_overrides",
    "assignments",
    "check_combinations",
    "check_fits_in_memory",
    "parse_assignment",
    "parse_duration",
    "read_config_file",
    "set_value",
    "valid_keys",
]
