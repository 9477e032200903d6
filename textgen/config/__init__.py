"""Configuration: the typed schema of every key, its checks, and the presets.

Owns `schema` (the `Config` dataclasses with their defaults and the reasons for
them, TOML reading, `--set` overrides, the checks that need no corpus) and
`lookup` (finding a shipped preset, `presets/*.toml`, by name). It reads no
corpus: choosing a preset from a corpus is `textgen.data.profile`'s job.
"""

from textgen.config.schema import (
    Config,
    DataConfig,
    ModelConfig,
    TrainConfig,
    apply_overrides,
    check_combinations,
    check_fits_in_memory,
    parse_duration,
    read_config_file,
    set_value,
    valid_keys,
)

__all__ = [
    "Config",
    "DataConfig",
    "ModelConfig",
    "TrainConfig",
    "apply_overrides",
    "check_combinations",
    "check_fits_in_memory",
    "parse_duration",
    "read_config_file",
    "set_value",
    "valid_keys",
]
