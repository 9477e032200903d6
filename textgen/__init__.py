"""textgen: train LSTM language models on your own text and write in its style.

Importing the package is cheap, and so is generating: Keras and TensorFlow load
only when a model is trained (through `textgen.backend`, which pins the
TensorFlow backend); generation runs in NumPy.

Example:
    >>> import textgen                                          # doctest: +SKIP
    >>> gen = textgen.load("runs/demo")                         # doctest: +SKIP
    >>> print(gen.generate("ROMEO:", length=200, seed=1))       # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

__version__ = "0.1.0"

if TYPE_CHECKING:
    from pathlib import Path

    from textgen.generate.generator import Generator


def load(run_dir: str | Path, checkpoint: str = "best") -> Generator:
    """Loads a trained run for generation (NumPy only; TensorFlow is not imported).

    Args:
        run_dir: the run directory that `textgen train` wrote.
        checkpoint: "best" (lowest validation loss) or "last" (newest).

    Returns:
        A `textgen.generate.generator.Generator`: `generate(prime, length, ...)` returns the
        text (a list with `n > 1`), `stream(prime, length, ...)` yields it piece by
        piece. Both take `settings=SamplerSettings(...)`, `seed`, `stop`, `max_chars`.

    Raises:
        CheckpointError: no such run, or no such checkpoint in it yet.
    """
    from textgen.generate.generator import Generator

    return Generator(run_dir, checkpoint)
