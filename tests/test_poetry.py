"""Poetry constraints: the 平水韵 table, forms and templates as data, each rule on a tiny
model (shape, heads, rhyme, tones, no repeats), relaxation and its order, the errors,
and the checker. Untrained models still give 100% shape compliance: that is the point."""

import numpy as np
import pytest

from tests.conftest import DATA, train_run
from textgen.errors import InvalidArgument
from textgen.generate.context import Context
from textgen.generate.generator import Generator
from textgen.generate.poetry.check import check_poem
from textgen.generate.poetry.forms import FORMS, Layout, loose_templates, strict_templates
from textgen.generate.poetry.lexicon import lexicon
from textgen.generate.poetry.spec import PoemSpec
from textgen.generate.poetry.table import PING_GROUPS, _raw, group_index, load_table
from textgen.generate.samplers import SamplerSettings

EXCERPTS = DATA / "excerpts"


@pytest.fixture(scope="module")
def tang(tang_run):
    """A tiny char model of Tang poems (traditional characters; tests/conftest.py)."""
    return Generator(tang_run)


@pytest.fixture(scope="module")
def xiyou(tmp_path_factory):
    """A tiny char model of 西游记 (simplified characters)."""
    text = (EXCERPTS / "xiyouji.txt").read_text(encoding="utf-8")
    return Generator(train_run(tmp_path_factory.mktemp("xiyou"), text=text, steps=10,
                               model__units=32))


def poems(gen, n=6, seed=0, prime="", settings=None, **spec):
    """n samples of a poem, with the Poem constraint that wrote them."""
    run = gen.run(prime, 400, settings or SamplerSettings(temperature=1.3), n=n, seed=seed,
                  **spec)
    samples = run.finish()
    return samples, run.constraints[-1]


# === The table ===

def test_the_table_has_the_30_ping_groups_and_known_characters():
    table = load_table("traditional")
    assert len(PING_GROUPS) == 30 and len(_raw()[0]) > 3000
    # 静夜思 rhymes 光 霜 鄉 in 七阳; 春晓's 曉 鳥 少 are 仄 (上声): no 平 rhyme.
    for char in "光霜鄉":
        assert table.tones(char)[0] and group_index("七阳") in table.groups(char)
    for char in "曉鳥":
        assert table.tones(char) == (False, True)
    # 入声 characters are 仄 although modern pinyin gives them a level tone.
    for char in "白月石國":
        assert table.tones(char) == (False, True), char


def test_simplified_characters_take_their_traditional_readings():
    simple = load_table("simplified")
    assert "乡" not in _raw()[0] and "乡" in simple.ping
    assert group_index("七阳") in simple.groups("乡")
    assert simple.tones("国") == (False, True)


def test_the_lexicon_matches_the_vocabulary_script(tang, xiyou):
    assert lexicon(tang.vocabulary).table.script == "traditional"
    assert lexicon(xiyou.vocabulary).table.script in ("simplified", "both")
    lex = lexicon(tang.vocabulary)
    assert not lex.han[lex.id("，")] and lex.han[lex.id("風")]
    assert lex.ping[lex.id("風")] and not lex.ze[lex.id("風")]


@pytest.mark.parametrize("name", ["七阳", "七陽", "下平聲七陽", "下平七阳"])
def test_rhyme_groups_are_named_in_either_script(name):
    assert PING_GROUPS[group_index(name)] == "七阳"


# === Forms as data ===

def test_the_strict_templates_are_the_standard_ones():
    five = strict_templates(4, 5)
    assert five["仄起首句不入韵"] == "仄仄平平仄" "平平仄仄平" "平平平仄仄" "仄仄仄平平"
    assert five["平起首句入韵"] == "平平仄仄平" "仄仄仄平平" "仄仄平平仄" "平平仄仄平"
    seven = strict_templates(8, 7)
    assert seven["平起首句入韵"][:14] == "平平仄仄仄平平" "仄仄平平仄仄平"
    for lines, chars in ((4, 5), (8, 7)):
        for tpl in strict_templates(lines, chars).values():
            rows = [tpl[i:i + chars] for i in range(0, len(tpl), chars)]
            assert len(rows) == lines and all(row[-1] == "平" for row in rows[1::2])


def test_loose_templates_alternate_246_and_never_end_on_three_ping():
    for n in (5, 7):
        for tpl in loose_templates(n):
            even = tpl[1:n - 1:2]
            assert all(a != b for a, b in zip(even, even[1:], strict=False)), tpl
            assert "仄" in tpl[-3:], tpl  # never 三平尾


def test_the_layout_puts_punctuation_and_breaks_in_place():
    text = "".join(s.text or "字" for s in Layout(4, 5).slots)
    assert text == "字字字字字，字字字字字。\n字字字字字，字字字字字。"


# === Each rule on a tiny model ===

@pytest.mark.parametrize("form", list(FORMS))
def test_every_sample_has_the_form_exactly_and_ends_there(tang, form):
    lines, chars = FORMS[form]
    samples, poem = poems(tang, form=form, tones="none", rhyme="none")
    for s in samples:
        assert s.finish_reason == "complete"
        couplets = s.text.split("\n")
        assert len(couplets) == lines // 2, s.text
        for couplet in couplets:
            first, second = couplet.split("，")
            assert len(first) == chars and second[:-1] and len(second) == chars + 1
            assert second.endswith("。")
        assert check_poem(s.text, poem.spec).shape_ok


def test_a_simplified_model_keeps_the_form_too(xiyou):
    samples, poem = poems(xiyou, form="七绝")
    for s in samples:
        check = poem.report(0, s.text)["check"]
        assert check["shape_ok"] and check["rhyme_ok"], s.text


def test_a_prime_is_the_poems_beginning_and_counts_toward_its_lines(tang):
    samples, poem = poems(tang, prime="秦川雄帝宅，", form="五绝", rhyme="none", tones="none")
    for s in samples:
        assert check_poem(s.prime + s.text, poem.spec).shape_ok
        assert (s.prime + s.text).count("，") == 2 and len(s.text) == 25 - 6  # 4 x 6 + 1 break


@pytest.mark.parametrize("form, heads", [("七绝", "春夏秋冬"), ("五律", "山水"),
                                         (None, "風花雪月夜")])
def test_acrostic_lines_start_with_their_heads(tang, form, heads):
    samples, poem = poems(tang, form=form, acrostic=heads)
    for s in samples:
        lines = poem.layout.split(s.text)
        assert len(lines) == poem.spec.lines
        assert all(line[0] == h for line, h in zip(lines, heads, strict=False)), s.text
        assert all(len(line) == (7 if form is None else FORMS[form][1]) for line in lines)


def test_rhymes_share_one_group_and_never_repeat(tang):
    table = lexicon(tang.vocabulary).table
    samples, poem = poems(tang, n=8, form="七律", tones="none")
    assert not any(poem.relaxed)
    for s in samples:
        lines = poem.layout.split(s.text)
        ends = [line[-1] for line in lines[1::2]]
        assert len(set(ends)) == len(ends), s.text
        assert set.intersection(*[set(table.groups(e)) for e in ends]), s.text
        assert all(table.tones(e)[0] for e in ends)
        first = lines[0][-1]
        if table.tones(first) == (True, False):  # a 平-only line 1 joins the rhyme
            assert first not in ends, s.text
            assert set.intersection(*[set(table.groups(e)) for e in [first, *ends]]), s.text
        assert check_poem(s.text, poem.spec, table).rhyme_ok, s.text


def test_a_rhyme_group_can_be_chosen(tang):
    table = lexicon(tang.vocabulary).table
    samples, poem = poems(tang, form="五绝", rhyme_group="七陽", tones="none")
    for s in samples:
        for end in [line[-1] for line in poem.layout.split(s.text)[1::2]]:
            assert group_index("七阳") in table.groups(end), s.text
        assert "七阳" in poem.report(0, s.text)["check"]["rhyme_group"]


@pytest.mark.parametrize("form", ["五绝", "七律"])
def test_strict_tones_follow_one_template_at_every_position(tang, form):
    table = lexicon(tang.vocabulary).table
    templates = strict_templates(*FORMS[form])
    samples, poem = poems(tang, form=form, tones="strict")
    for i, s in enumerate(samples):
        if poem.relaxed[i]:
            continue
        chars = "".join(poem.layout.split(s.text))
        fits = [name for name, tpl in templates.items() if all(
            (t == "平" and table.tones(c)[0]) or (t == "仄" and table.tones(c)[1])
            for t, c in zip(tpl, chars, strict=True))]
        assert fits, s.text
        check = check_poem(s.text, poem.spec, table)
        assert check.tone_violations == [] and check.template in templates
    assert sum(not r for r in poem.relaxed) >= 3  # most rows needed no relaxation


def test_loose_tones_alternate_246_and_avoid_three_ping_tails(tang):
    table = lexicon(tang.vocabulary).table
    samples, poem = poems(tang, n=8, form="七绝")
    for i, s in enumerate(samples):
        assert not poem.relaxed[i]
        for line in poem.layout.split(s.text):
            tones = [table.tones(c) for c in line]
            for a, b in ((1, 3), (3, 5)):  # some reading of each makes them differ
                assert (tones[a][0] and tones[b][1]) or (tones[a][1] and tones[b][0]), line
            assert not all(p and not z for p, z in tones[-3:]), line


def test_no_repeat_keeps_characters_unique_within_lines(tang):
    samples, poem = poems(tang, n=8, form="七律", no_repeat=True, tones="none",
                          settings=SamplerSettings(temperature=0.3))
    for s in samples:
        for line in poem.layout.split(s.text):
            assert len(set(line)) == len(line), line
    plain, p2 = poems(tang, n=8, form="七律", tones="none",
                      settings=SamplerSettings(temperature=0.3))
    assert any(len(set(line)) < len(line) for s in plain for line in p2.layout.split(s.text))


def test_rules_compose_with_top_k_top_p_and_the_repetition_penalty(tang):
    settings = SamplerSettings(temperature=0.8, top_k=5, top_p=0.9, repetition_penalty=1.3)
    samples, poem = poems(tang, form="五律", acrostic="一二三四五六七八", settings=settings)
    for s in samples:
        check = poem.report(0, s.text)["check"]
        assert check["shape_ok"] and check["heads_ok"], s.text


# === Relaxation: tones before rhyme, never shape or heads ===

def _rule_masks(poem, context):
    return {rule.name: rule.allowed(context)[0] for rule in [*poem.hard, *poem.soft]}


def _filtered(poem, context, finite):
    logits = np.where(finite, 0.0, -np.inf)[None, :]  # (1, V)
    poem(logits, None, context)
    return np.isfinite(logits[0])


def test_relaxation_drops_tones_before_rhyme_and_keeps_what_it_can(tang):
    poem = tang.poem(PoemSpec(form="五绝"))  # loose tones
    # The next character ends line 2, so it rhymes (平); after 谷 仄, 雲 皇 平, the
    # loose rule (二四 分明, no 三平尾) wants 仄 there: the two rules conflict.
    prompt = "秦川雄帝宅，函谷雲皇"
    table = lexicon(tang.vocabulary).table
    assert [table.tones(c) for c in "谷雲皇"] == [(False, True), (True, False), (True, False)]
    ctx = Context(tang.vocabulary, prompt, rows=1)
    m = _rule_masks(poem, ctx)
    shape, tones, rhyme = m["shape"], m["tones"], m["rhyme"]
    cases = {  # which tokens have probability -> what is relaxed
        "rhyme only": (shape & rhyme & ~tones, ["tones"]),
        "tones only": (shape & tones & ~rhyme, ["rhyme"]),
        "neither": (shape & ~tones & ~rhyme, ["tones", "rhyme"]),
    }
    for name, (finite, relaxed) in cases.items():
        assert finite.any(), name
        kept = _filtered(poem, Context(tang.vocabulary, prompt, rows=1), finite)
        assert kept.any() and not (kept & ~finite).any(), name
        assert [r["rule"] for r in poem.relaxed[0]] == relaxed, name
        assert poem.relaxed[0][0]["line"] == 2 and poem.relaxed[0][0]["char"] == 5
        assert {r["cause"] for r in poem.relaxed[0]} == {"probability"}, name
    # Either rule alone could give: tones gives first, so the rhyming token is kept.
    rhymes, toned = shape & rhyme & ~tones, shape & tones & ~rhyme
    one_each = np.zeros_like(shape)
    one_each[[np.flatnonzero(rhymes)[0], np.flatnonzero(toned)[0]]] = True
    kept = _filtered(poem, Context(tang.vocabulary, prompt, rows=1), one_each)
    assert kept.tolist() == (one_each & rhymes).tolist()
    assert [r["rule"] for r in poem.relaxed[0]] == ["tones"]
    both = shape & tones & rhyme
    _filtered(poem, Context(tang.vocabulary, prompt, rows=1), both | ~shape)
    assert poem.relaxed[0] == []


def test_shape_and_heads_are_never_relaxed(tang):
    from textgen.errors import TextgenError
    from textgen.generate.samplers import Sampler

    poem = tang.poem(PoemSpec(form="五绝", acrostic="春"))
    ctx = Context(tang.vocabulary, "", rows=1)
    heads = _rule_masks(poem, ctx)["heads"]
    logits = np.where(heads, -np.inf, 0.0)[None, :]  # only the head has no probability
    with pytest.raises(TextgenError, match="no usable score"):
        Sampler([], constraints=[poem]).sample(logits, [np.random.default_rng(0)], None, ctx)
    assert poem.relaxed == [[]]
    # At a Han slot, only tokens that are not Han characters have a score.
    ctx = Context(tang.vocabulary, "春", rows=1)
    shape = _rule_masks(poem, ctx)["shape"]
    han = lexicon(tang.vocabulary).han
    assert shape[han].all() and not shape[~han].any()
    logits = np.where(han, -np.inf, 0.0)[None, :]
    with pytest.raises(TextgenError, match="no usable score"):
        Sampler([], constraints=[poem]).sample(logits, [np.random.default_rng(0)], None, ctx)
    assert poem.relaxed == [[]]


def test_a_prime_that_breaks_the_tones_leaves_the_rest_closest_to_a_template(tang):
    samples, poem = poems(tang, prime="雲山風天秋，", form="五绝", tones="strict")
    assert sum(len(r) for r in poem.relaxed) <= 2, poem.relaxed
    table = lexicon(tang.vocabulary).table
    for s, relaxed in zip(samples, poem.relaxed, strict=True):
        check = check_poem(s.prime + s.text, poem.spec, table)
        assert check.shape_ok
        if not relaxed:  # the prime is line 1: the rest follows the template exactly
            assert check.tone_violations and all(line == 1 for line, _ in
                                                 check.tone_violations), check


# === Impossible requests: one clear error ===

@pytest.mark.parametrize("spec, needle", [
    (dict(form="六绝"), "`form` must be one of"),
    (dict(form="五绝", acrostic="春夏秋冬雨"), "5 heads but a 五绝 has 4 lines"),
    (dict(form="五绝", acrostic="春a"), "`acrostic` must be Han characters"),
    (dict(form="五绝", rhyme_group="八阳"), "`rhyme_group` must be one of"),
    (dict(form="五绝", rhyme="none", rhyme_group="七阳"), "needs rhyme 'pingshui'"),
    (dict(form="五绝", tones="wild"), "`tones` must be one of"),
    (dict(tones="strict"), "give a `form`"),
])
def test_impossible_specs_are_invalid_arguments(spec, needle):
    with pytest.raises(InvalidArgument, match=needle):
        PoemSpec(**spec)


def test_heads_the_model_never_saw_and_primes_that_do_not_fit(tang):
    with pytest.raises(InvalidArgument, match="heads the model never saw: 㐀"):
        tang.run("", 50, form="五绝", acrostic="春㐀")
    with pytest.raises(InvalidArgument, match="character 6 is '。' where line 1 needs '，'"):
        tang.run("秦川雄帝宅。", 50, form="五绝")
    with pytest.raises(InvalidArgument, match="needs '春'"):
        tang.run("秦", 50, form="五绝", acrostic="春")
    with pytest.raises(InvalidArgument, match="a whole 五绝"):
        tang.run("秦川雄帝宅，函谷壯皇居。\n綺殿千尋起，離宮百雉餘。", 50, form="五绝")


def test_a_word_model_is_refused(tmp_path):
    text = (EXCERPTS / "xiyouji.txt").read_text(encoding="utf-8")
    gen = Generator(train_run(tmp_path, text=text, steps=2, data__tokenizer="word"))
    with pytest.raises(InvalidArgument, match="character-level model"):
        gen.generate("", 50, form="五绝")


# === The checker on known poems ===

def test_the_checker_on_well_known_poems():
    quiet_night = "床前明月光，疑是地上霜。\n举头望明月，低头思故乡。"
    check = check_poem(quiet_night, PoemSpec(form="五绝"))
    assert check.shape_ok and check.rhyme_ok and check.rhyme_group == "七阳"
    spring = "春眠不觉晓，处处闻啼鸟。\n夜来风雨声，花落知多少。"
    assert not check_poem(spring, PoemSpec(form="五绝")).rhyme_ok  # a 仄 rhyme
    stork = "白日依山尽，黄河入海流。\n欲穷千里目，更上一层楼。"
    check = check_poem(stork, PoemSpec(form="五绝", tones="strict"))
    assert check.rhyme_group == "十一尤" and check.template == "仄起首句不入韵"
    assert check.tone_violations == [[3, 1]]  # 欲 (入声) where the template has 平
    assert not check_poem(stork[:-1], PoemSpec(form="五绝")).shape_ok
    assert not check_poem(stork, PoemSpec(form="五绝", acrostic="黄")).heads_ok


# === Review fixes: rows, rhyme state, limits, vocabularies, the table ===

def test_relaxed_has_one_empty_list_per_row_before_any_token(tang):
    run = tang.run("秦川雄帝宅，", 100, form="五绝", n=3)
    assert run.constraints[-1].relaxed == [[], [], []]
    run.finish()
    assert len(run.constraints[-1].relaxed) == 3


def test_relaxation_when_the_rules_alone_leave_nothing_says_so(tang):
    poem = tang.poem(PoemSpec(form="五绝", acrostic="雲山", tones="strict"))
    prompt = "雲山風天秋，"  # fits no template; line 2 must start with 山
    ctx = Context(tang.vocabulary, prompt, rows=1)
    m = _rule_masks(poem, ctx)
    assert not (m["heads"] & m["tones"]).any()  # the rules conflict here
    kept = _filtered(poem, Context(tang.vocabulary, prompt, rows=1), m["shape"])
    assert kept.tolist() == m["heads"].tolist()
    assert poem.relaxed[0] == [{"rule": "tones", "line": 2, "char": 1, "cause": "rules"}]


def _rhyme_groups(tang, group, lines, rows=8):
    from textgen.generate.poetry.rules import Rhyme

    rule = Rhyme(Layout(rows, 5), None if group is None else group_index(group))
    groups, used = rule.state(lines, lexicon(tang.vocabulary))
    return {PING_GROUPS[g] for g in groups}, used


def test_the_rhyme_state_never_narrows_to_nothing(tang):
    table = lexicon(tang.vocabulary).table
    assert table.tones("風") == (True, False) and table.groups("風") == {group_index("一东")}
    # A 平-only line 1 of another group than the asked-for one stays outside the rhyme.
    assert _rhyme_groups(tang, "七阳", ["秦川雄帝風"]) == ({"七阳"}, set())
    # Without a group it chooses the rhyme (首句入韵).
    assert _rhyme_groups(tang, None, ["秦川雄帝風"]) == ({"一东"}, {"風"})
    # A 仄 (or other group's) ending at a rhyme position (relaxed, or a prime given to
    # the rule alone) leaves the rhyme open: the next rhyming line picks it up.
    groups, _ = _rhyme_groups(tang, None, ["白日依山盡", "黃河入海月"])
    assert len(groups) == 30
    assert _rhyme_groups(tang, "七阳", ["白日依山盡", "黃河入海流"])[0] == {"七阳"}
    assert _rhyme_groups(tang, None, ["白日依山盡", "黃河入海流", "欲窮千里目",
                                      "更上一層月"])[0] == {"十一尤"}
    # The even lines decide; a 平-only line 1 that does not rhyme with them stays out.
    assert _rhyme_groups(tang, None, ["秦川雄帝風", "黃河入海流"]) == ({"十一尤"}, {"流"})


def test_after_a_relaxed_rhyme_the_next_rhyming_line_rhymes_again(tang):
    poem = tang.poem(PoemSpec(form="五律", tones="none"))
    prompt = "白日依山盡，黃河入海月。\n欲窮千里目，更上一層"  # line 2 ended 仄
    rhyme = _rule_masks(poem, Context(tang.vocabulary, prompt, rows=1))["rhyme"]
    assert rhyme.any() and not rhyme[lexicon(tang.vocabulary).ze & ~lexicon(
        tang.vocabulary).ping].any()
    _filtered(poem, Context(tang.vocabulary, prompt, rows=1), np.ones_like(rhyme))
    assert poem.relaxed[0] == []


def test_a_line_1_of_another_group_than_the_rhyme_group_stays_outside(tang):
    samples, poem = poems(tang, prime="秦川雄帝風，", form="五绝", rhyme_group="七阳",
                          tones="none")
    assert not any(poem.relaxed), poem.relaxed
    table = lexicon(tang.vocabulary).table
    for s in samples:
        check = check_poem(s.prime + s.text, poem.spec, table)
        assert check.rhyme_ok and check.rhyme_group == "七阳", s.text


@pytest.mark.parametrize("prime, spec, needle", [
    ("秦川雄帝宅，函谷壯皇月。", {}, "line 2 ends on '月', which has no 平声 reading"),
    ("秦川雄帝宅，函谷壯皇居。", {"rhyme_group": "七阳"}, "not the `rhyme_group` 七阳"),
    ("秦川雄帝宅，函谷壯皇居。\n綺殿千尋起，離宮百雉居。", {"form": "五律"},
     "line 4 ends on '居', already a rhyme"),
    ("秦川雄帝宅，函谷壯皇居。\n綺殿千尋起，離宮百雉光。", {"form": "五律"},
     "line 4 ends on '光', in 七阳, which does not rhyme with 居"),
])
def test_a_prime_whose_rhymes_contradict_the_rhyme_is_refused(tang, prime, spec, needle):
    spec = {"form": "五绝"} | spec
    with pytest.raises(InvalidArgument, match=needle):
        tang.run(prime, 100, **spec)
    tang.run(prime, 100, **spec | {"rhyme": "none", "rhyme_group": None})  # unrhymed: fine


@pytest.mark.parametrize("limits, needle", [
    (dict(length=18), "`length` 18 is shorter than the 19 characters the poem still needs"),
    (dict(length=0), "`length` 0 is shorter than the 19"),
    (dict(max_chars=5), "`max_chars` 5 is shorter than the 19"),
    (dict(max_lines=1), "`max_lines` would cut the poem short"),
    (dict(stop=["。"]), "`stop` would cut the poem short"),
])
def test_limits_that_would_cut_a_poem_short_are_refused(tang, limits, needle):
    with pytest.raises(InvalidArgument, match=needle):
        tang.run("秦川雄帝宅，", **{"length": 100} | limits, form="五绝")


def test_a_length_that_fits_the_poem_exactly_completes_it(tang):
    (s,) = tang.run("秦川雄帝宅，", 19, form="五绝", max_chars=19, seed=0).samples
    assert s.finish_reason == "complete" and len(s.text) == 19


def test_a_model_without_han_characters_is_refused():
    from textgen.generate.context import Vocabulary
    from textgen.generate.poetry.poem import Poem

    with pytest.raises(InvalidArgument, match=r"knows no Han \(Chinese\) characters"):
        Poem.build(PoemSpec(form="五绝"), Vocabulary(list("abc ，。\n")))


def test_the_table_holds_only_han_characters():
    from textgen.data.tokenizers.han import HAN_RUN

    ping, ze = _raw()
    assert all(HAN_RUN.fullmatch(c) for c in set(ping) | ze)
    assert load_table("traditional").tones("a") == (False, False)


@pytest.mark.parametrize("script", ["traditional", "simplified"])
def test_characters_the_table_lacks_take_their_variants_readings(script):
    table = load_table(script)
    for char in "啼溪堤":
        assert table.tones(char) == (True, False), char
        assert {PING_GROUPS[g] for g in table.groups(char)} == {"八齐"}, char
    assert table.tones("爲") == (True, True)
    assert "四支" in {PING_GROUPS[g] for g in table.groups("爲")}
    for variant, char in (("羣", "群"), ("迴", "回"), ("峯", "峰"), ("卻", "卻")):
        assert table.tones(variant) == load_table("traditional").tones(char), variant


def test_the_package_exports_the_checker_and_stays_light():
    import subprocess
    import sys

    from textgen.generate.poetry import PoemSpec as Spec
    from textgen.generate.poetry import check_poem as check

    assert check is check_poem and Spec is PoemSpec
    out = subprocess.run([sys.executable, "-c", "import sys, textgen.cli, "
                          "textgen.generate.poetry; print('numpy' in sys.modules)"],
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_vocabulary_of_both_scripts_keeps_only_the_readings_they_share():
    from textgen.generate.context import Vocabulary

    east = group_index("一东")
    simplified = Vocabulary(["\n", "，", "。", "乡", "东", "红", "风", "泛"])
    mixed = Vocabulary(["\n", "，", "。", "乡", "东", "红", "风", "鄉", "東", "紅", "風", "泛"])
    simple, both = lexicon(simplified), lexicon(mixed)
    assert simple.table.script == "simplified" and both.table.script == "both"
    # 泛 stands for 汎 (平, 一东) only in simplified text; in traditional it is only 仄.
    assert east in simple.table.groups("泛") and simple.ping[simplified.tokens.index("泛")]
    assert both.table.groups("泛") == frozenset() and both.table.tones("泛") == (False, True)
    i = mixed.tokens.index("泛")
    assert not both.ping[i] and both.ze[i] and not both.groups[i].any()
    # What the scripts agree on stays: 東 and 东 rhyme in 一东 either way.
    for char in ("東", "东", "風", "风"):
        assert east in both.table.groups(char)
