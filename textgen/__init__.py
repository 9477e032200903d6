"""textgen: train LSTM language models on your own text and write in its style.

Importing the package is cheap, and so is generating: Keras and TensorFlow load
only when a model is trained (through `textgen.backend`, which pins the
TensorFlow backend); generation runs in NumPy.

The public API is `load`, `Generator`, `SamplerSettings` and the errors
(`TextgenError` and its kinds). The package is laid out by stage, data flowing
one way (docs/ARCHITECTURE.md): `config` -> `data` -> `model` -> `run` ->
`generate` -> `evaluate` -> `train` | `serve` -> `cli`.

Example:
    >>> import textgen                                          # doctest: +SKIP
    >>> gen = textgen.load("runs/demo")                         # doctest: +SKIP
    >>> print(gen.generate("ROMEO:", length=200, seed=1))       # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textgen.errors import (
    CheckpointError,
    ConfigError,
    CorpusError,
    CorpusTooSmall,
    IncompatibleCheckpoint,
    InvalidArgument,
    TextgenError,
    TrainingDiverged,
    UnknownModel,
    UnknownTokens,
)

__version__ = "0.1.0"

__all__ = [
    "CheckpointError",
    "ConfigError",
    "CorpusError",
    "CorpusTooSmall",
    "Generator",
    "IncompatibleCheckpoint",
    "InvalidArgument",
    "SamplerSettings",
    "TextgenError",
    "TrainingDiverged",
    "UnknownModel",
    "UnknownTokens",
    "load",
]

if TYPE_CHECKING:
    from pathlib import Path

    from textgen.generate.generator import Generator
    from textgen.generate.samplers import SamplerSettings

# Loaded on first use, so that `import textgen` (and `textgen --help`) stays cheap.
_LAZY = {
    "Generator": "textgen.generate.generator",
    "SamplerSettings": "textgen.generate.samplers",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'textgen' has no attribute {name!r}")


def load(run_dir: str | Path, checkpoint: str | None = None) -> Generator:
    """Loads a trained run for generation (NumPy only; TensorFlow is not imported).

    Args:
        run_dir: the run directory that `textgen train` wrote, or an installed
            model's name ("en-base", "zh-base"; `textgen models` lists them).
        checkpoint: "best" (lowest validation loss), "last" (newest) or "step-N" (a
            step checkpoint that `train.keep` kept); None, as every command: 'best'
            when the run has one, else 'last'. `Generator.checkpoint` and
            `Generator.step` say which was used.

    Returns:
        A `textgen.Generator`: `generate(prime, length, ...)` returns the text (a
        list with `n > 1`), `stream(prime, length, ...)` yields it piece by piece.
        Both take `settings=SamplerSettings(...)`, `seed`, `stop`, `max_chars`.

    Raises:
        InvalidArgument: `checkpoint` is not a checkpoint name.
        CheckpointError: no such run, or no such checkpoint in it yet, or a model
            whose files do not match its manifest.
        UnknownModel: neither a path nor an installed model's name.
    """
    from textgen.generate.generator import Generator

    return Generator(run_dir, checkpoint)
