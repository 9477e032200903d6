"""`--best-of N`: each poem line drawn N times, the most probable kept (on the tiny
Tang model of tests/conftest.py)."""

import json

import numpy as np
import pytest

from tests.test_cli import assert_user_error, invoke
from textgen.generate.generator import Generator
from textgen.generate.poetry import PoemSpec, check_poem


@pytest.fixture(scope="module")
def gen(tang_run):
    return Generator(tang_run)


def mean_logprob(gen, prime: str, text: str) -> float:
    """The model's mean log-probability per character of `text` after `prime`, read
    one token at a time (independently of the sampler)."""
    logits, state = gen.start(gen.encode_prime(prime))
    total = 0.0
    for char in text:
        i = gen.tokenizer.token_to_id(char)
        z = logits[0] - logits[0].max()
        total += float(z[i] - np.log(np.exp(z).sum()))
        logits, state = gen.net.step(np.array([i]), state)
    return total / len(text)


def test_the_best_of_eight_lines_are_more_probable_and_keep_the_form(gen):
    kw = dict(form="五绝", acrostic="春秋", seed=11, n=6)
    plain = gen.run("", 100, **kw).samples
    best = gen.run("", 100, best_of=8, **kw)
    spec = PoemSpec(form="五绝", acrostic="春秋")
    for s in best.samples:
        check = check_poem(s.text, spec)
        assert check.shape_ok and check.heads_ok and s.finish_reason == "complete"
    scored = [mean_logprob(gen, "", s.text) for s in best.samples]
    # Its own figure is the model's (an independent reading agrees).
    np.testing.assert_allclose(best.mean_logprob, scored, rtol=1e-4)
    baseline = [mean_logprob(gen, "", s.text) for s in plain]
    # (A 20-step model is nearly uniform, about -7.3 nats a character: small gains.)
    assert np.mean(scored) > np.mean(baseline) + 0.08, (scored, baseline)
    assert min(scored) > np.mean(baseline), (scored, baseline)
    # The same seed gives the same poems; each poem streams a line at a time.
    again = gen.run("", 100, best_of=8, **kw)
    pieces = list(again)
    assert [s.text for s in again.samples] == [s.text for s in best.samples]
    assert len(pieces) == 6 * 4 and pieces[0][1].endswith("，")


def test_a_prime_begins_each_poem_and_best_of_needs_a_poem(gen):
    out = gen.run("秦川雄", 100, form="五绝", best_of=3, seed=1).samples[0]
    assert check_poem("秦川雄" + out.text, PoemSpec(form="五绝")).shape_ok
    assert len("秦川雄" + out.text) == 25
    from textgen.errors import InvalidArgument

    with pytest.raises(InvalidArgument, match="give a `form` or an `acrostic`"):
        gen.run("", 10, best_of=2)
    with pytest.raises(InvalidArgument, match="`best_of` must be an integer >= 1"):
        gen.run("", 10, form="五绝", best_of=0)


def test_the_cli_takes_best_of(tang_run):
    result = invoke("sample", tang_run, "--form", "七绝", "--best-of", 3, "-n", 2, "--seed", 2,
                    "--format", "jsonl")
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(records) == 2 and all(r["poem"]["check"]["shape_ok"] for r in records)
    assert all(r["finish_reason"] == "complete" for r in records)
    assert_user_error(invoke("sample", tang_run, "--best-of", 2), "--best-of chooses among")
    assert_user_error(invoke("sample", tang_run, "--form", "五绝", "--best-of", 2, "-i"),
                      "--best-of does not work with --interactive")
