"""Checks of a whole config that need no corpus: settings valid alone but not together,
and a model too big for this machine's memory (given the vocabulary size).

Each key's own checks (type, range, choices) are made as it is set
(`textgen.config.overrides`); a corpus too small for one batch is found once it
is encoded (`textgen.data.batches`).
"""

from __future__ import annotations

import os

from textgen.config.schema import Config
from textgen.errors import ConfigError


def check_combinations(cfg: Config) -> None:
    """Refuses settings that are valid alone but not together.

    Raises:
        ConfigError: more layers to freeze than the model has, or weight drop on a GRU.
    """
    if cfg.model.weight_drop and cfg.model.cell != "lstm":
        raise ConfigError(
            f"model.weight_drop works with LSTM layers only, but model.cell is "
            f"'{cfg.model.cell}'; set model.weight_drop=0 or model.cell='lstm'"
        )
    if cfg.train.freeze_layers > cfg.model.layers:
        raise ConfigError(
            f"train.freeze_layers={cfg.train.freeze_layers} but the model has "
            f"{cfg.model.layers} recurrent layer(s); freeze at most {cfg.model.layers}"
        )


def check_fits_in_memory(cfg: Config, vocab_size: int, ram_bytes: int | None = None) -> None:
    """Refuses a model that could not train in this machine's memory.

    Counts 16 bytes per parameter (the weight, its gradient and Adam's two
    moments, in float32) and the activations of one batch kept for
    backpropagation (about 6·H per token per recurrent layer, 3·V for the
    logits and their gradient), so that an absurd size (`model.units=1000000`)
    is a clear error instead of a crash while allocating.

    Args:
        cfg: the config.
        vocab_size: V.
        ram_bytes: the memory to fit in; None asks the operating system (no
            check where it cannot tell).

    Raises:
        ConfigError: the estimate exceeds 90% of the memory.
    """
    if ram_bytes is None:
        try:
            ram_bytes = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        except (AttributeError, ValueError, OSError):
            return
    params = sum(n for _, _, n in cfg.model.parameter_table(vocab_size))
    m, d = cfg.model, cfg.data
    per_token = m.embedding_dim + m.layers * 6 * m.units + 3 * vocab_size
    need = 16 * params + 4 * d.batch_size * d.seq_len * per_token
    if need > 0.9 * ram_bytes:
        raise ConfigError(
            f"this model needs about {need / 2**30:,.1f} GiB to train ({params:,} parameters, "
            f"batches of {d.batch_size:,} x {d.seq_len:,} tokens, vocabulary "
            f"{vocab_size:,}) but the machine has {ram_bytes / 2**30:,.1f} GiB; lower "
            "model.units, model.layers, data.batch_size or data.seq_len"
        )
