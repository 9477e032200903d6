"""Samplers: pick the next token from the model's logits.

A sampler's only job is `sampler(logits, rng) -> token id`. Temperature is
applied by the base class in float64 (float32 softmax underflows at low
temperatures). Reserved ids such as `<unk>` are masked out before sampling.
"""

from __future__ import annotations

import math

import numpy as np

from textgen.errors import InvalidArgument


class Sampler:
    """Base sampler: scales logits by 1/temperature and masks banned ids.

    Args:
        temperature: > 0; below 1 is more conservative, above 1 more surprising.
        banned_ids: ids that are never returned (e.g. `<unk>`).
    """

    def __init__(self, temperature: float = 1.0, banned_ids: list[int] | tuple = ()):
        if not (math.isfinite(temperature) and temperature >= 0):
            raise InvalidArgument(
                f"`temperature` must be a finite number >= 0. Received: temperature={temperature}"
            )
        self.temperature = temperature
        self.banned_ids = list(banned_ids)

    def masked(self, logits: np.ndarray) -> np.ndarray:
        """Returns float64 logits (V,) with banned ids at -inf."""
        out = np.asarray(logits, dtype=np.float64).copy()
        out[self.banned_ids] = -np.inf
        return out

    def __call__(self, logits: np.ndarray, rng: np.random.Generator) -> int:
        """Returns the next token id for logits of shape (V,)."""
        raise NotImplementedError


class GreedySampler(Sampler):
    """Always the most likely token (temperature 0)."""

    def __call__(self, logits: np.ndarray, rng: np.random.Generator) -> int:
        return int(np.argmax(self.masked(logits)))


class RandomSampler(Sampler):
    """Samples from softmax(logits / temperature)."""

    def __call__(self, logits: np.ndarray, rng: np.random.Generator) -> int:
        z = self.masked(logits) / self.temperature
        p = np.exp(z - z.max())
        p /= p.sum()
        return int(rng.choice(p.size, p=p))


def get(temperature: float, banned_ids: list[int] | tuple = ()) -> Sampler:
    """Returns the sampler for `temperature`: greedy at 0, random otherwise."""
    if temperature == 0:
        return GreedySampler(0.0, banned_ids)
    return RandomSampler(temperature, banned_ids)
