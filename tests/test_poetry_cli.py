"""`textgen sample --form/--acrostic/--rhyme/...` and `Generator.generate(form=...)`:
the poem options end to end, the jsonl checks, the relaxation note and the errors."""

import json

import numpy as np
import pytest

from tests.test_cli import assert_user_error, invoke
from textgen.generate.generator import Generator


@pytest.fixture(scope="module")
def tang(tang_run):
    """The tiny Tang model's run directory (tests/conftest.py)."""
    return tang_run


def test_sample_writes_exactly_the_poem(tang):
    result = invoke("sample", tang, "--form", "七绝", "--acrostic", "春夏秋冬", "--seed", 1,
                    "--no-prime")
    assert result.exit_code == 0, result.output
    couplets = result.stdout.strip("\n").split("\n")
    assert len(couplets) == 2, result.stdout
    lines = [half for c in couplets for half in c.rstrip("。").split("，")]
    assert [line[0] for line in lines] == list("春夏秋冬")
    assert all(len(line) == 7 for line in lines)


def test_jsonl_records_the_constraints_and_the_checks(tang):
    result = invoke("sample", tang, "--form", "五律", "--tones", "strict", "--rhyme-group",
                    "七阳", "--no-repeat", "-n", 3, "--seed", 2, "--format", "jsonl")
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(records) == 3
    for r in records:
        assert r["finish_reason"] == "complete"
        assert r["poem"]["constraints"] == {
            "form": "五律", "acrostic": None, "rhyme": "pingshui", "rhyme_group": "七阳",
            "tones": "strict", "no_repeat": True, "lines": 8, "chars": 5}
        check = r["poem"]["check"]
        assert check["shape_ok"] and check["heads_ok"] and check["rhyme_ok"]
        assert "七阳" in check["rhyme_group"]
        assert isinstance(r["relaxed"], list)
        if not r["relaxed"]:
            assert check["tone_violations"] == []


def test_a_relaxation_is_noted_on_stderr(tang):
    # A prime that fits no strict template and 平-only heads: a soft rule must give.
    result = invoke("sample", tang, "--form", "五绝", "--prime", "雲山風天秋，",
                    "--tones", "strict", "--acrostic", "雲山風天", "-n", 4, "--seed", 0,
                    "--format", "jsonl")
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    relaxed = [r["relaxed"] for r in records]
    notes = [line for line in result.stderr.splitlines() if "relaxed" in line]
    assert any(relaxed) and len(notes) == sum(bool(r) for r in relaxed)
    causes = {"rules": "(the rules together allowed no character there)",
              "probability": "(no allowed character had probability left)"}
    for note, r in zip(notes, [r for r in relaxed if r], strict=True):
        assert all(causes[x["cause"]] in note for x in r[:5]), note
    assert all(x["rule"] == "tones" for r in relaxed for x in r)  # tones give first
    for r in records:
        assert r["poem"]["check"]["shape_ok"] and r["poem"]["check"]["heads_ok"]


@pytest.mark.parametrize("args, needle", [
    (["--form", "六绝"], "'六绝' is not one of"),
    (["--form", "五绝", "--acrostic", "春夏秋冬雨"], "5 heads but a 五绝 has 4 lines"),
    (["--form", "五绝", "--acrostic", "春㐀"], "heads the model never saw"),
    (["--form", "五绝", "--rhyme", "none", "--rhyme-group", "七阳"], "needs rhyme"),
    (["--tones", "strict"], "give a --form"),
    (["--form", "五绝", "--prime", "秦川雄帝宅。"], "does not begin a 五绝"),
    (["--tones", "strict", "-i"], "give a --form"),
    (["--form", "五绝", "--prime", "秦川雄帝宅，", "--length", 0],
     "--length 0 is shorter than the 19 characters the poem still needs: give --length 19"),
    (["--form", "五绝", "--max-chars", 10], "--max-chars 10 is shorter than the 25"),
    (["--form", "五绝", "--max-lines", 1], "--max-lines would cut the poem short: leave it "
                                           "out with --form or --acrostic"),
    (["--form", "五绝", "--stop", "。"], "--stop would cut the poem short"),
    (["--form", "五绝", "--prime", "秦川雄帝宅，函谷壯皇居。", "--rhyme-group", "七阳"],
     "not the --rhyme-group 七阳"),
])
def test_impossible_requests_are_one_error_line(tang, args, needle):
    assert_user_error(invoke("sample", tang, *args), needle)


def _lines(poem: str) -> list[str]:
    return [half for c in poem.strip("\n").split("\n") for half in c.rstrip("。").split("，")]


def test_interactive_replies_are_poems_while_a_form_is_set(tang):
    script = ["", "/acrostic 秋冬", "", "/form off", "/acrostic off", "/length 12", "雲山",
              "/form 七絕", "", "/tones strict", "/tones bogus", "/form 六绝", "/settings"]
    result = invoke("sample", tang, "-i", "--form", "五绝", "--acrostic", "春夏", "--seed", 4,
                    input="\n".join(script) + "\n")
    assert result.exit_code == 0, result.output
    out = result.stdout.split("\n")
    first, second = "\n".join(out[0:2]), "\n".join(out[2:4])
    assert [x[0] for x in _lines(first)[:2]] == ["春", "夏"] and len(_lines(first)) == 4
    assert [x[0] for x in _lines(second)[:2]] == ["秋", "冬"]
    assert all(len(x) == 5 for x in _lines(first) + _lines(second))
    free = out[4]  # free text again: 12 characters after the prompt, not shown
    assert len(free) == 12 and not free.startswith("雲山")
    # The 七绝 after the free reply starts on a line of its own.
    last = "\n".join(out[5:7])
    assert [len(x) for x in _lines(last)] == [7] * 4, result.stdout
    assert "/tones bogus: `tones` must be one of strict, loose, none" in result.stderr
    assert "/form 六绝: `form` must be one of" in result.stderr
    assert "form 七绝, rhyme pingshui, tones strict" in result.stderr
    # Off again with rules still set: free text, and it says the rules went too.
    result = invoke("sample", tang, "-i", "--form", "五绝", "--tones", "strict", "--seed", 4,
                    "--length", 9, input="/rhyme off\n/form off\n雲\n")
    assert result.exit_code == 0, result.output
    assert "rhyme none, tones strict" in result.stderr
    assert "(free text: tones, rhyme off too)" in result.stderr
    assert len(result.stdout.strip("\n")) == 9  # a free reply of --length characters


def test_an_interactive_poem_after_a_mid_line_reply_starts_on_a_new_line(tang):
    from textgen.generate.generation import Generation
    from textgen.generate.interactive import Session
    from textgen.generate.poetry.spec import PoemSpec
    from textgen.generate.samplers import SamplerSettings

    gen = Generator(tang)
    for seed in range(20):  # a reply that ends inside a line
        session = Session(gen, SamplerSettings(1.0), length=2, seed=seed)
        reply = session.handle("雲山").generation
        session.finished(reply)
        if not session.at_line_start:
            break
    assert not session.at_line_start
    session.handle("/form 五绝")
    session.handle("/temperature 0")
    generation = session.handle("").generation
    # What it must be: the conversation, then a line break read, then the poem.
    logits, state = gen.start(gen.encode_prime("\n"), reply.state)
    np.testing.assert_allclose(generation.logits, logits, rtol=1e-5)  # it read the break
    poem = "".join(p for _, p in generation)
    rule = gen.poem(PoemSpec(form="五绝"))
    expected = Generation(gen, gen.encode_prime(""), logits, state, 99, SamplerSettings(0), 1,
                          None, (), None, False, constraints=[rule]).samples[0].text
    assert poem == expected


def test_an_interactive_poem_the_model_cannot_write_fails_at_once(tang):
    assert_user_error(invoke("sample", tang, "-i", "--form", "五绝", "--acrostic", "㐀",
                             input="\n"), "heads the model never saw")


@pytest.mark.parametrize("form", ["七絕", "五絕"])
def test_traditional_form_names_are_accepted(tang, form):
    result = invoke("sample", tang, "--form", form, "--seed", 1, "--format", "jsonl")
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["poem"]["constraints"]["form"] == form.replace("絕", "绝")
    assert record["finish_reason"] == "complete" and record["poem"]["check"]["shape_ok"]


def test_help_lists_the_poem_options():
    result = invoke("sample", "--help")
    for option in ("--form", "--acrostic", "--rhyme", "--rhyme-group", "--tones",
                   "--no-repeat"):
        assert option in result.output


def test_the_python_api_takes_the_same_options(tang):
    gen = Generator(tang)
    text = gen.generate("", 200, form="五绝", acrostic="山水", seed=3)
    lines = [half for c in text.split("\n") for half in c.rstrip("。").split("，")]
    assert len(lines) == 4 and lines[0][0] == "山" and lines[1][0] == "水"
    pieces = "".join(gen.stream("秦川雄帝宅，", 200, form="五绝", seed=3))
    assert len("秦川雄帝宅，" + pieces) == 25
