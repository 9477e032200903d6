import numpy as np
import pytest

from textgen import samplers


def test_greedy_takes_argmax_but_never_a_banned_id():
    logits = np.array([9.0, 1.0, 3.0, 2.0])
    assert samplers.get(0.0)(logits, np.random.default_rng(0)) == 0
    assert samplers.get(0.0, banned_ids=[0])(logits, np.random.default_rng(0)) == 2


def test_random_sampler_follows_the_distribution_and_masks():
    rng = np.random.default_rng(1)
    s = samplers.get(1.0, banned_ids=[0])
    logits = np.log(np.array([0.9, 0.05, 0.05]))
    draws = [s(logits, rng) for _ in range(2000)]
    assert 0 not in draws
    assert 0.4 < np.mean(np.array(draws) == 1) < 0.6


def test_low_temperature_sharpens_and_is_stable():
    logits = np.array([0.0, 1.0, 0.5], dtype=np.float32)
    rng = np.random.default_rng(2)
    cold = samplers.get(0.01)
    assert all(cold(logits, rng) == 1 for _ in range(100))
    seq = lambda seed: [samplers.get(1.5)(logits, np.random.default_rng(seed)) for _ in range(5)]  # noqa: E731
    assert seq(7) == seq(7)


def test_negative_temperature_is_rejected():
    with pytest.raises(ValueError, match="temperature"):
        samplers.RandomSampler(-0.1)
