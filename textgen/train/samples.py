"""Samples during training (`train.sample_every`): a look at what the model writes so far.

They come from the current weights through the NumPy model with their own random
numbers, so training is not disturbed, and are appended to RUN_DIR/samples.txt.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from textgen.generate.generator import Generator
from textgen.generate.samplers import SamplerSettings

SAMPLE_TEMPERATURES = (0.5, 0.8, 1.0)  # from safe to adventurous


def training_samples(run_path: Path, weights: dict[str, np.ndarray], step: int,
                     length: int, seed: int) -> list[tuple[float, str]]:
    """One sample per temperature of `SAMPLE_TEMPERATURES` from the given weights.

    Args:
        run_path: the run directory (its config and vocabulary).
        weights: the model's weights by Keras path (seed-generator states left out).
        step: the training step the weights belong to.
        length: tokens per sample (`train.sample_length`).
        seed: the samples' random seed (`train.seed`).

    Returns:
        (temperature, text) pairs.
    """
    gen = Generator(run_path, weights=weights, step=step)
    return [(t, gen.generate("", length, seed=seed, settings=SamplerSettings(temperature=t)))
            for t in SAMPLE_TEMPERATURES]


def append_samples(path: Path, step: int, samples: list[tuple[float, str]]) -> None:
    """Appends (temperature, text) samples to samples.txt under a header naming the step."""
    with open(path, "a", encoding="utf-8", newline="") as f:
        for t, text in samples:
            f.write(f"=== step {step:,}, temperature {t} ===\n{text}\n\n")
