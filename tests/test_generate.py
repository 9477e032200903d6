"""Generation in NumPy: the Python API, seeds across batch sizes, stops, limits and prompts."""

import numpy as np
import pytest

import textgen
from textgen.errors import CheckpointError, InvalidArgument, UnknownTokens
from textgen.generate.generation import _Row
from textgen.generate.generator import Generator
from textgen.generate.samplers import SamplerSettings

GREEDY = SamplerSettings(temperature=0)


@pytest.fixture(scope="module")
def gen(char_run):
    return Generator(char_run, "last")


def test_the_python_api_loads_best_and_generates(char_run, tmp_path):
    model = textgen.load(char_run)  # "best" by default
    assert model.checkpoint == "best" and (char_run / "checkpoints" / "best.npz").exists()
    text = model.generate("All:", 80, seed=3)
    assert isinstance(text, str) and len(text) == 80  # a char model: one token, one char
    assert text == "".join(model.stream("All:", 80, seed=3))
    three = model.generate("All:", 40, n=3, seed=3)
    assert isinstance(three, list) and len(three) == 3 and three[0] == text[:40]
    assert len(set(three)) == 3
    with pytest.raises(CheckpointError, match="no such run directory"):
        textgen.load(tmp_path / "nope")


def test_sample_i_is_the_same_whatever_the_number_of_samples(gen):
    settings = SamplerSettings(temperature=1.2, top_k=10)
    one = gen.run("All", 60, settings, n=1, seed=5).finish()
    four = gen.run("All", 60, settings, n=4, seed=5).finish()
    seven = gen.run("All", 60, settings, n=1, seed=7).finish()
    assert four[0].text == one[0].text
    assert four[2].text == seven[0].text and four[2].seed == 7
    assert len({s.text for s in four}) == 4


def test_an_empty_prime_varies_with_the_seed_even_when_greedy(gen):
    texts = {gen.generate("", 30, settings=GREEDY, seed=s) for s in range(8)}
    assert len(texts) > 1
    assert gen.generate("", 30, settings=GREEDY, seed=4) == gen.generate(
        "", 30, settings=GREEDY, seed=4)


def test_temperature_changes_the_text_end_to_end(gen):
    cold = gen.generate("All", 200, settings=SamplerSettings(0.001), seed=1)
    greedy = gen.generate("All", 200, settings=GREEDY, seed=1)
    # Nearly greedy: the same text unless two tokens are tied within ~0.01 nats (then
    # either may win; at 0.05 a tiny model trained on another CPU met such a tie).
    assert cold[:50] == greedy[:50]
    hot = gen.generate("All", 200, settings=SamplerSettings(3.0), seed=1)
    assert len(set(hot)) > len(set(cold))  # a hot sample uses more different characters


def test_stop_strings_end_samples_and_are_not_included(gen):
    samples = gen.run("All:", 400, n=4, seed=1, stop=["\n\n"]).finish()
    assert all(s.finish_reason == "stop" and "\n\n" not in s.text for s in samples)
    assert all(s.tokens > len(s.text) for s in samples)  # the stop string's tokens were read


def test_max_chars_cuts_exactly():
    samples = []
    for length, limit in [(500, 17), (5, 17)]:
        row = _Row((), limit)
        for _ in range(length):
            row.feed("ab")
            if row.reason:
                break
        row.close()
        samples.append(row)
    assert samples[0].text == "ab" * 8 + "a" and samples[0].reason == "length"
    assert samples[1].text == "ab" * 5


def test_a_stop_string_split_across_tokens_is_found_and_held_back():
    row = _Row(("END",), None)
    assert row.feed("xE") == "x"  # "E" may start "END": held back
    assert row.feed("N") == ""
    assert row.feed("Dy") == "" and row.reason == "stop" and row.text == "x"
    row = _Row(("END", "\n\n"), None)
    assert [row.feed(p) for p in ["EN", "d", "\n", "a"]] == ["", "ENd", "", "\na"]
    assert row.close() == "" and row.text == "ENd\na" and row.reason == "length"


def test_unknown_prompt_characters_are_refused_or_dropped_and_reported(gen):
    with pytest.raises(UnknownTokens, match="never saw: 'é' '😀'"):
        gen.encode_prime("All é 😀")
    prime = gen.encode_prime("All é 😀!", drop_unknown=True)
    assert prime.dropped == ["é", "😀", "!"] and prime.text == "All  "
    assert gen.tokenizer.decode(prime.ids) == "All  "


@pytest.mark.parametrize("kwargs", [{"length": -1}, {"n": 0}, {"stop": [""]},
                                    {"max_chars": 0}])
def test_bad_arguments_are_invalid_argument(gen, kwargs):
    with pytest.raises(InvalidArgument):
        gen.run("All", **{"length": 5, **kwargs})


def test_the_state_continues_from_one_call_to_the_next(gen):
    first = gen.run("All:", 30, GREEDY, seed=1)
    text = first.finish()[0].text
    continued, _ = gen.start(gen.encode_prime("\nAll:"), first.state)
    whole, _ = gen.start(gen.encode_prime("All:" + text + "\nAll:"))  # read in one go
    np.testing.assert_allclose(continued, whole, atol=1e-5)


def test_the_repetition_penalty_sees_the_generated_tokens(gen):
    # A huge penalty over a 10-token window: greedy text never repeats a token
    # within 10 tokens, the prompt's included.
    settings = SamplerSettings(temperature=0, repetition_penalty=1e9, repetition_window=10)
    text = "All:" + gen.generate("All:", 150, settings=settings)
    assert all(text[i] not in text[max(0, i - 10) : i] for i in range(4, len(text)))
    plain = "All:" + gen.generate("All:", 150, settings=GREEDY)
    assert any(plain[i] in plain[i - 10 : i] for i in range(10, len(plain)))


def test_a_huge_length_allocates_nothing_up_front(gen):
    pieces = gen.stream("All:", 10**15, seed=1)
    assert len([next(pieces) for _ in range(5)]) == 5


@pytest.mark.parametrize("seed", [-1, 1.5, True, "3"])
def test_a_bad_seed_is_invalid_argument(gen, seed):
    with pytest.raises(InvalidArgument, match="seed"):
        gen.run("All", 5, seed=seed)


def test_an_unknown_checkpoint_name_is_invalid_argument(char_run):
    with pytest.raises(InvalidArgument, match="'last', 'best' or 'step-N'"):
        Generator(char_run, "newest")


def test_the_earliest_stop_string_wins_and_a_limit_before_it_is_a_length_stop():
    row = _Row(("b", "a"), None)
    assert row.feed("xab") == "x" and row.reason == "stop"
    row = _Row(("\n",), 1)
    assert row.feed("bb\n") == "b" and row.reason == "length"  # the limit came first


def test_api_errors_use_the_api_words_not_the_command_line_flags(gen):
    with pytest.raises(UnknownTokens) as e:
        gen.run("All é", 5)
    assert "pass drop_unknown=True to leave them out" in str(e.value)
    assert "--" not in str(e.value)
    with pytest.raises(InvalidArgument, match=r"`max_lines` must be an integer >= 1\. "
                                              r"Received: max_lines=0"):
        gen.run("All", 5, max_lines=0)


def test_samples_are_there_when_read_whatever_the_state(gen):
    whole = gen.run("All:", 30, seed=4).finish()[0].text
    fresh = gen.run("All:", 30, seed=4)
    assert not fresh.done
    assert fresh.samples[0].text == whole and fresh.done  # reading it ran it to the end
    begun = gen.run("All:", 30, seed=4)
    first = [piece for _, piece in zip(range(5), begun, strict=False)]
    assert not begun.done and whole.startswith("".join(p for _, p in first))
    assert begun.samples[0].text == whole  # the rest ran: the text is all there
    assert begun.finish()[0].text == whole and begun.samples is begun.finish()


def test_max_lines_ends_a_sample_at_its_nth_line_break(gen):
    for n in (1, 3):
        samples = gen.run("All:", 2000, seed=2, n=3, max_lines=n).samples
        for s in samples:
            assert s.text.count("\n") == n and s.text.endswith("\n"), s.text
            assert s.finish_reason == "length"
    text = gen.generate("All:", 2000, seed=2, max_lines=2)
    assert text == "".join(gen.stream("All:", 2000, seed=2, max_lines=2))
    assert text == gen.generate("All:", 2000, seed=2, max_lines=3).rsplit("\n", 2)[0] + "\n"


def test_the_line_limit_with_stop_strings_and_the_character_limit():
    row = _Row((), None, 2)
    assert row.feed("a\nb") == "a\nb" and not row.reason
    assert row.feed("\ncc\n") == "\n" and row.reason == "length" and row.text == "a\nb\n"
    # A held-back newline (it may start a stop string) still counts, once final.
    row = _Row(("\n\n",), None, 1)
    assert row.feed("a\n") == "a" and not row.reason
    assert row.feed("b") == "\n" and row.reason == "length" and row.text == "a\n"
    row = _Row(("\n\n",), None, 1)
    assert row.feed("a\n") == "a" and row.feed("\n") == "" and row.reason == "stop"
    # A stop string after the last line: the line limit ended the sample first.
    row = _Row(("x",), None, 1)
    assert row.feed("a\nbx") == "a\n" and row.reason == "length"
    row = _Row((), 3, 5)
    assert row.feed("ab\ncd") == "ab\n" and row.reason == "length"  # characters first
