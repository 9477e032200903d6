"""Tokenizers: text <-> token ids. See `base.Tokenizer` for the contract.

This package's `__init__` is the registry: `data.tokenizer`'s names map to the
classes here (the word tokenizer, which needs jieba, is imported only when
asked for). To add a tokenizer, subclass `Tokenizer` in a module of its own and
add its name to `KINDS`.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

from textgen.config import DataConfig
from textgen.data.tokenizers.base import UNK, UNK_ID, Tokenizer
from textgen.data.tokenizers.char import CharTokenizer
from textgen.errors import CheckpointError, InvalidArgument

# data.tokenizer -> (module, class): imported on first use.
KINDS = {
    "char": ("textgen.data.tokenizers.char", "CharTokenizer"),
    "word": ("textgen.data.tokenizers.word", "WordTokenizer"),
}

__all__ = [
    "KINDS",
    "UNK",
    "UNK_ID",
    "CharTokenizer",
    "Tokenizer",
    "load_tokenizer",
    "tokenizer_class",
    "tokenizer_from_config",
    "tokenizer_settings",
]


def tokenizer_class(kind: str) -> type[Tokenizer]:
    """Returns the tokenizer class for `data.tokenizer` ("char" or "word")."""
    if kind not in KINDS:
        raise InvalidArgument(
            f"`tokenizer` must be {' or '.join(map(repr, KINDS))}. Received: tokenizer={kind!r}"
        )
    module, name = KINDS[kind]
    return getattr(importlib.import_module(module), name)


def tokenizer_settings(cfg: DataConfig) -> dict[str, Any]:
    """Returns the options the tokenizer of `cfg.tokenizer` is built with."""
    return tokenizer_class(cfg.tokenizer).settings_for(cfg)


def load_tokenizer(path: Path) -> Tokenizer:
    """Loads a tokenizer saved with `Tokenizer.save`.

    Raises:
        CheckpointError: the file is missing or not a textgen vocabulary.
    """
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise CheckpointError(f"{path} is missing; is this a textgen run directory?") from e
    except OSError as e:
        raise CheckpointError(f"{path}: cannot read it ({e.strerror or e})") from e
    except ValueError as e:
        raise CheckpointError(f"{path} is not a valid textgen vocabulary ({e})") from e
    return tokenizer_from_config(raw, str(path))


def tokenizer_from_config(raw: dict[str, Any], source: str = "vocab.json") -> Tokenizer:
    """Builds a tokenizer from `Tokenizer.get_config()`'s dict (vocab.json's content).

    Raises:
        CheckpointError: not a textgen vocabulary.
    """
    try:
        return tokenizer_class(raw["kind"])(raw["tokens"], raw.get("settings", {}))
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise CheckpointError(f"{source} is not a valid textgen vocabulary ({e})") from e
