"""Constraints: masks that see each row's text, line position and the vocabulary,
applied to every token (the first of an empty prompt too), on char and word models."""

import numpy as np
import pytest

from textgen.errors import InvalidArgument, TextgenError
from textgen.generate.constraints import (
    Constraint,
    Context,
    MaxLineLength,
    StartsWith,
    Vocabulary,
)
from textgen.generate.generator import Generator
from textgen.generate.samplers import Sampler, SamplerSettings, TopK

VOCAB = Vocabulary(["<unk>", "a", "b", "\n", "ab\nc", "ba", "\nb"])


def test_the_context_follows_text_and_line_position_incrementally():
    ctx = Context(VOCAB, "xy\nzz", rows=2)
    assert ctx.step == 0 and ctx.ids.shape == (2, 0)
    assert ctx.line_chars.tolist() == [2, 2]  # the prompt's last line
    for ids in ([1, 5], [4, 3], [2, 6]):
        ctx.advance(np.array(ids))
    assert ctx.ids.tolist() == [[1, 4, 2], [5, 3, 6]]
    assert [ctx.text(0), ctx.text(1)] == ["aab\ncb", "ba\n\nb"]
    assert ctx.line_chars.tolist() == [2, 1]  # "cb", "b"
    for _ in range(40):  # past the first buffer: it grows
        ctx.advance(np.array([1, 3]))
    assert ctx.line_chars.tolist() == [42, 0]
    assert ctx.text(0) == "aab\ncb" + "a" * 40 and ctx.ids.shape == (2, 43)


def test_a_constraint_masks_before_top_k_so_top_k_picks_among_allowed_tokens():
    ctx = Context(VOCAB, "", rows=1)
    logits = np.log(np.array([[0.05, 0.5, 0.3, 0.1, 0.02, 0.02, 0.01]]))  # (1, 7)
    s = Sampler([TopK(1)], greedy=True, banned_ids=[0], constraints=[StartsWith("\n")])
    assert s.sample(logits, [np.random.default_rng(0)], None, ctx).tolist() == [3]
    with pytest.raises(InvalidArgument, match="needs the generation's context"):
        s.sample(logits, [np.random.default_rng(0)])
    with pytest.raises(TextgenError, match="no usable score"):
        Sampler([], constraints=[StartsWith("z")]).sample(logits, [np.random.default_rng(0)],
                                                          None, ctx)


def test_max_line_length_forces_a_break_and_always_allows_one():
    ctx = Context(VOCAB, "abc", rows=1)
    allowed = np.broadcast_to(MaxLineLength(4).allowed(ctx), (1, 7))[0]
    # col 3: "a", "b" fit; "ab\nc" fits (2 before its break) only at col <= 2; "\n..." always.
    assert allowed.tolist() == [False, True, True, True, False, False, True]
    assert MaxLineLength(2).allowed(ctx)[0].tolist() == [False, False, False, True, False,
                                                         False, True]


@pytest.mark.parametrize("bad", [lambda: StartsWith(""), lambda: MaxLineLength(0),
                                 lambda: MaxLineLength(True)])
def test_bad_constraint_arguments_are_invalid_argument(bad):
    with pytest.raises(InvalidArgument):
        bad()


@pytest.fixture(scope="module")
def char_gen(char_run):
    return Generator(char_run, "last")


@pytest.fixture(scope="module")
def word_gen(served_runs):
    return Generator(served_runs["words"], "last")


def drawn_tokens(gen, generation):
    """The token strings each row drew (from the generation's context)."""
    return [[gen.tokenizer.id_to_token(int(i)) for i in row] for row in generation.context.ids]


@pytest.mark.parametrize("prompt", ["", "All:"])
@pytest.mark.parametrize("greedy", [True, False])
def test_starts_with_holds_on_a_char_model_from_the_first_token(char_gen, prompt, greedy):
    settings = SamplerSettings(temperature=0 if greedy else 1.0)
    run = char_gen.run(prompt, 60, settings, n=3, seed=1, constraints=[StartsWith("aeiou \n")])
    samples = run.finish()
    for s in samples:
        assert len(s.text) == 60 and set(s.text) <= set("aeiou \n"), s.text
    assert run.context.step == 60
    plain = char_gen.generate(prompt, 60, settings=settings, seed=1)
    assert set(plain) - set("aeiou \n")  # unconstrained, other characters come


def test_the_first_token_of_an_empty_prompt_obeys_and_still_varies_by_seed(char_gen):
    greedy = SamplerSettings(temperature=0)
    firsts = {char_gen.generate("", 1, settings=greedy, seed=s,
                                constraints=[StartsWith("FA")]) for s in range(12)}
    assert firsts == {"F", "A"}  # obeyed, and drawn (not greedy) as before


def test_starts_with_allows_the_word_tokens_starting_with_the_characters(word_gen):
    tok = word_gen.tokenizer
    words = [t for t in tok.tokens[1:] if len(t) >= 2 and "\n" not in t]
    chars = "".join(dict.fromkeys(w[0] for w in words[:8]))
    for prompt in ("", "那猴王"):
        run = word_gen.run(prompt, 80, n=2, seed=3, constraints=[StartsWith(chars)])
        samples = run.finish()
        drawn = drawn_tokens(word_gen, run)
        assert all(t[0] in chars for row in drawn for t in row), drawn
        assert any(len(t) >= 2 for row in drawn for t in row)  # whole words, not just chars
        assert ["".join(row) for row in drawn] == [s.text for s in samples]


@pytest.mark.parametrize("which, prompt", [("char", "All:"), ("char", ""), ("word", "那猴王")])
def test_lines_are_at_most_n_characters_then_a_break(char_gen, word_gen, which, prompt):
    gen = char_gen if which == "char" else word_gen
    n = 7
    samples = gen.run(prompt, 300, SamplerSettings(temperature=1.2), n=2, seed=2,
                      constraints=[MaxLineLength(n)]).finish()
    for s in samples:
        lines = (prompt + s.text).split("\n")
        assert max(map(len, lines)) <= n, lines
        assert len(lines) > 300 // (n * (4 if which == "word" else 1)) // 2  # breaks came


class EveryOther(Constraint):
    """A rule on the step and the row's own text: even steps repeat the row's first token."""

    def allowed(self, context):
        mask = np.ones((context.rows, len(context.vocab.tokens)), bool)
        if context.step and context.step % 2 == 0:
            mask[:] = False
            mask[np.arange(context.rows), context.ids[:, 0]] = True
        return mask


def test_a_custom_constraint_sees_step_and_ids(char_gen):
    run = char_gen.run("All:", 21, n=3, seed=4, constraints=[EveryOther()])
    for s in run.finish():
        assert set(s.text[2::2]) == {s.text[0]}
