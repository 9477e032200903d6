"""Samplers on rigged logits: each filter's job, the choice, seeds and validation."""

import re

import numpy as np
import pytest

from textgen.errors import InvalidArgument
from textgen.generate.samplers import (
    Filter,
    RepetitionPenalty,
    Sampler,
    SamplerSettings,
    Temperature,
    TopK,
    TopP,
    softmax,
)

RIGGED = np.log(np.array([[0.05, 0.4, 0.3, 0.15, 0.1]]))  # (1, 5)


def rngs(seed=0, n=1):
    return [np.random.default_rng(seed + i) for i in range(n)]


def draws(sampler, logits, n=3000, history=None):
    rng = rngs(1)
    return np.array([int(sampler.sample(logits, rng, history)[0]) for _ in range(n)])


def test_greedy_takes_the_max_but_never_a_banned_id():
    logits = np.array([[9.0, 1.0, 3.0, 2.0], [0.0, 5.0, 1.0, 7.0]])
    greedy = SamplerSettings(temperature=0).build()
    assert greedy.sample(logits, rngs(n=2)).tolist() == [0, 3]
    banned = SamplerSettings(temperature=0).build(banned_ids=[0, 3])
    assert banned.sample(logits, rngs(n=2)).tolist() == [2, 1]


def test_random_draws_follow_the_distribution_and_never_the_banned_id():
    counts = np.bincount(draws(SamplerSettings().build(banned_ids=[0]), RIGGED), minlength=5)
    assert counts[0] == 0  # <unk> is never drawn
    p = np.array([0.4, 0.3, 0.15, 0.1]) / 0.95
    np.testing.assert_allclose(counts[1:] / counts.sum(), p, atol=0.03)


def test_top_k_never_draws_outside_the_k_most_likely():
    seen = set(draws(SamplerSettings(top_k=2).build(), RIGGED).tolist())
    assert seen == {1, 2}
    z = RIGGED.copy()
    TopK(3)(z, None)
    assert np.isfinite(z).sum() == 3 and np.isfinite(z[0, [1, 2, 3]]).all()


def test_top_p_keeps_the_smallest_set_reaching_p():
    z = RIGGED.copy()
    TopP(0.7)(z, None)  # 0.4 + 0.3 reaches 0.7: exactly two tokens
    assert np.isfinite(z[0]).tolist() == [False, True, True, False, False]
    z = RIGGED.copy()
    TopP(0.71)(z, None)  # just over: the third most likely joins
    assert np.isfinite(z[0]).tolist() == [False, True, True, True, False]
    z = RIGGED.copy()
    TopP(0.01)(z, None)  # the most likely token is always kept
    assert np.isfinite(z[0]).tolist() == [False, True, False, False, False]
    assert set(draws(SamplerSettings(top_p=0.7).build(), RIGGED).tolist()) == {1, 2}


def test_repetition_penalty_lowers_only_recent_tokens():
    history = np.array([[2, 4, -1]])  # -1: no token
    z = RIGGED.copy()
    RepetitionPenalty(2.0, window=64)(z, history)
    p_before, p_after = softmax(RIGGED)[0], softmax(z)[0]
    assert p_after[2] < p_before[2] and p_after[4] < p_before[4]
    assert p_after[1] > p_before[1]
    # The penalised token's odds against an unpenalised one drop by exactly 2x.
    np.testing.assert_allclose((p_before[2] / p_before[1]) / (p_after[2] / p_after[1]), 2.0)
    z = RIGGED.copy()
    RepetitionPenalty(2.0, window=1)(z, np.array([[2, 4]]))  # only the last token counts
    np.testing.assert_allclose(z[0, :4], RIGGED[0, :4])
    assert z[0, 4] < RIGGED[0, 4]
    greedy = SamplerSettings(temperature=0, repetition_penalty=1.5).build()
    assert greedy.sample(RIGGED, rngs(), history=np.array([[1]]))[0] == 2  # 0.4/1.5 < 0.3


def test_temperature_towards_zero_approaches_greedy_without_overflow():
    logits = np.array([[0.0, 1.0, 0.5]], dtype=np.float32)
    cold = SamplerSettings(temperature=1e-3).build()
    assert set(draws(cold, logits, n=300).tolist()) == {1}
    z = np.array(logits, dtype=np.float64)
    Temperature(1e-6)(z, None)
    assert np.isfinite(softmax(z)).all()
    hot = set(draws(SamplerSettings(temperature=5).build(), logits, n=300).tolist())
    assert hot == {0, 1, 2}


def test_each_row_depends_only_on_its_own_generator():
    s = SamplerSettings(temperature=1.5).build()
    logits = np.repeat(RIGGED, 3, axis=0)  # (3, V)
    in_batch, alone = rngs(7, 3), [np.random.default_rng(8)]
    batch = [s.sample(logits, in_batch)[1] for _ in range(50)]  # row 1 uses seed 8
    assert batch == [s.sample(RIGGED, alone)[0] for _ in range(50)]
    assert len(set(batch)) > 1


def test_filters_compose_in_a_sampler():
    s = Sampler([Temperature(0.5), TopK(3), TopP(0.5)], banned_ids=[1])
    z = s.filtered(RIGGED)
    assert not np.isfinite(z[0, [0, 1, 4]]).any()  # banned, then outside the top 3


@pytest.mark.parametrize("kwargs, name", [
    ({"temperature": -0.1}, "temperature"),
    ({"temperature": float("nan")}, "temperature"),
    ({"top_k": -1}, "top_k"),
    ({"top_k": True}, "top_k"),
    ({"top_p": 0.0}, "top_p"),
    ({"top_p": 1.5}, "top_p"),
    ({"repetition_penalty": 0.5}, "repetition_penalty"),
    ({"repetition_penalty": float("inf")}, "repetition_penalty"),
    ({"repetition_window": 0}, "repetition_window"),
])
def test_bad_settings_name_the_setting_and_the_value(kwargs, name):
    value = re.escape(repr(kwargs[name]))
    with pytest.raises(InvalidArgument, match=rf"^`{name}` must be (?!None).+\. Received: "
                                              rf"{name}={value}$"):
        SamplerSettings(**kwargs)


@pytest.mark.parametrize("make, name, value", [
    (lambda: Temperature(0), "temperature", 0),
    (lambda: Temperature(-1.0), "temperature", -1.0),
    (lambda: Temperature(float("inf")), "temperature", float("inf")),
    (lambda: TopK(0), "top_k", 0),
    (lambda: TopK(True), "top_k", True),
    (lambda: TopK(1.5), "top_k", 1.5),
    (lambda: TopP(0.0), "top_p", 0.0),
    (lambda: RepetitionPenalty(0.9), "repetition_penalty", 0.9),
    (lambda: RepetitionPenalty(1.2, window=0), "repetition_window", 0),
])
def test_each_filter_checks_its_own_argument(make, name, value):
    with pytest.raises(InvalidArgument, match=rf"^`{name}` must be (?!None).+\. Received: "
                                              rf"{name}={re.escape(repr(value))}$"):
        make()


def test_filters_work_row_by_row_in_a_batch():
    logits = np.random.default_rng(0).normal(size=(4, 50)) * 3  # (4, 50)
    logits[2] -= 1000  # one row far below the others
    z = logits.copy()
    TopK(3)(z, None)
    for row, kept in zip(logits, np.isfinite(z), strict=True):
        assert set(np.flatnonzero(kept)) == set(np.argsort(-row)[:3])
    z = logits.copy()
    TopP(0.5)(z, None)
    for row, kept in zip(logits, np.isfinite(z), strict=True):
        p = np.sort(softmax(row[None])[0])[::-1]
        assert kept.sum() == np.searchsorted(np.cumsum(p), 0.5) + 1
    probs = softmax(logits)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    np.testing.assert_allclose(probs[2], softmax(logits[2:3])[0])
    # Drawing: each row from its own distribution, however far apart the rows are.
    s = Sampler([])
    picks = np.array([s.sample(logits, rngs(k, 4)) for k in range(200)])  # (200, 4)
    for i in range(4):
        top = np.argsort(-logits[i])[:5]
        share = np.isin(picks[:, i], top).mean()
        assert abs(share - probs[i, top].sum()) < 0.1, i  # the top 5's probability
        assert len(set(picks[:, i])) > 3


def test_edges_of_the_filters_and_the_choice():
    TopK(1)  # the smallest k is allowed
    z = RIGGED.copy()
    TopK(1)(z, None)
    assert np.isfinite(z[0]).tolist() == [False, True, False, False, False]
    tiny = np.array([[0.0, -40.0, 1.0]])  # a token of probability ~1e-18
    z = tiny.copy()
    TopP(1.0)(z, None)  # 1 = off: nothing is dropped, however unlikely
    assert np.isfinite(z).all()
    z = RIGGED.copy()
    RepetitionPenalty(2.0)(z, None)  # no history: nothing to penalise
    np.testing.assert_array_equal(z, RIGGED)
    z = RIGGED.copy()
    RepetitionPenalty(2.0)(z, np.array([[0]]))  # token 0 is a token like any other
    assert z[0, 0] < RIGGED[0, 0] and (z[0, 1:] == RIGGED[0, 1:]).all()
    close = np.array([[1.0, 1.1, 0.9]])
    assert {int(Sampler([], greedy=True).sample(close, rngs(k))[0]) for k in range(30)} == {1}
    greedy = SamplerSettings(temperature=0).build()
    assert {int(greedy.sample(close, rngs(k))[0]) for k in range(30)} == {1}
    assert len({int(Sampler([]).sample(close, rngs(k))[0]) for k in range(30)}) == 3
    one_row = Sampler([], greedy=True).sample(np.array([0.0, 2.0, 1.0]), rngs())  # (V,)
    assert one_row.tolist() == [1]


def test_a_tiny_temperature_is_greedy_not_nan(recwarn):
    logits = np.array([[5.0, 1.0, 3.0, -2.0]])
    for t in (1e-310, 1e-320):
        s = SamplerSettings(temperature=t).build(banned_ids=[0])
        assert {int(s.sample(logits, rngs(k))[0]) for k in range(20)} == {2}
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_a_row_without_any_allowed_token_is_an_error():
    from textgen.errors import TextgenError

    s = SamplerSettings().build(banned_ids=[0, 1])
    with pytest.raises(TextgenError, match="no usable score"):
        s.sample(np.array([[1.0, 2.0]]), rngs())
    with pytest.raises(TextgenError, match="no usable score"):
        SamplerSettings(temperature=0).build().sample(np.array([[np.nan, 1.0]]), rngs())


def test_a_users_two_argument_filter_still_works():
    """Filters written before constraints existed take (logits, history) only."""

    class OnlyEven(Filter):
        def __call__(self, logits, history):
            logits[:, 1::2] = -np.inf

    def only_first_three(logits, history):  # a plain callable works too
        logits[:, 3:] = -np.inf

    for chain in ([OnlyEven()], [only_first_three], [OnlyEven(), only_first_three]):
        sampler = Sampler(chain)
        ids = sampler.sample(np.zeros((4, 6)), [np.random.default_rng(i) for i in range(4)],
                             context=object())
        allowed = set(range(0, 6, 2)) if isinstance(chain[0], OnlyEven) else set(range(6))
        if only_first_three in chain:
            allowed &= {0, 1, 2}
        assert set(ids.tolist()) <= allowed
