"""Checks a finished poem against its constraints, independently of the masks that wrote it.

`check_poem` reads only the text, the `PoemSpec` and the rhyme table, so it
judges a poem from anywhere (a sample, a corpus, a test) and tells when the
sampler's rules and the text disagree. `textgen sample --format jsonl` writes
its result with each poem.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from textgen.data.tokenizers.han import HAN_RUN
from textgen.generate.poetry.forms import (
    Layout,
    loose_templates,
    mismatches,
    strict_templates,
)
from textgen.generate.poetry.spec import PoemSpec
from textgen.generate.poetry.table import PING_GROUPS, RhymeTable, detect_script, load_table


@dataclass
class PoemCheck:
    """What a poem's text does and does not keep of its constraints.

    Attributes:
        shape_ok: the lines, their lengths, punctuation and breaks are the form's,
            and the lines hold only Han characters.
        heads_ok: each line starts with its head (True without an acrostic).
        rhyme_ok: the rhyming lines end on 平声 characters sharing a group (the
            asked-for one, if any), no character twice (True when rhyme is off); line
            1 joins them when it ends on a 平-only character of their group.
        rhyme_group: the shared group ("七阳"; several joined by "/" when the endings
            are polyphonic), or None.
        template: the strict template matched best ("仄起首句入韵"), or None.
        tone_violations: the (line, character) positions, 1-based, whose tone breaks
            the tone rule (strict: the best template; loose: each line's best pattern).
    """

    shape_ok: bool
    heads_ok: bool
    rhyme_ok: bool
    rhyme_group: str | None
    template: str | None = None
    tone_violations: list[list[int]] = field(default_factory=list)

    def as_dict(self) -> dict:
        """A plain dict (for JSON output)."""
        return asdict(self)


def check_poem(text: str, spec: PoemSpec, table: RhymeTable | None = None,
               newline: str = "\n") -> PoemCheck:
    """Checks `text` (the whole poem, prime included) against `spec`.

    Args:
        text: the poem.
        spec: its constraints (a form or an acrostic).
        table: the rhyme table to judge by; None: the one of the text's script.
        newline: the break expected after each couplet.
    """
    layout = Layout(spec.lines, spec.chars, newline)
    if table is None:
        table = load_table(detect_script("".join(HAN_RUN.findall(text))))
    expected = "".join(s.text or "#" for s in layout.slots)
    shape_ok = len(text) == len(expected) and all(
        (e == "#" and HAN_RUN.fullmatch(c) is not None) or e == c
        for e, c in zip(expected, text, strict=False))
    lines = layout.split(text) if shape_ok else []
    heads = spec.acrostic or ""
    heads_ok = shape_ok and all(line[:1] == h for line, h in zip(lines, heads, strict=False))
    rhyme_ok, group = True, None
    if spec.rhymed:
        rhyme_ok, group = _rhyme(lines, layout, table, spec.group) if shape_ok else (False, None)
    template, violations = None, []
    if shape_ok and spec.tone_mode != "none":
        template, violations = _tones(lines, spec, table)
    return PoemCheck(shape_ok, heads_ok, rhyme_ok, group, template, violations)


def _rhyme(lines: list[str], layout: Layout, table: RhymeTable,
           wanted: int | None) -> tuple[bool, str | None]:
    ends = [line[-1] for i, line in enumerate(lines) if layout.rhymes(i)]
    groups = set(range(len(PING_GROUPS))) if wanted is None else {wanted}
    for end in ends:
        groups &= table.groups(end)
    first = lines[0][-1]
    first_ping, first_ze = table.tones(first)
    # Line 1 ending 平 rhymes (首句入韵) when it shares the rhyme's group; else it
    # stays outside the rhyme, as it may.
    if first_ping and not first_ze and groups & table.groups(first):
        groups &= table.groups(first)
        ends.insert(0, first)
    ok = bool(groups) and len(set(ends)) == len(ends)
    return ok, "/".join(PING_GROUPS[g] for g in sorted(groups)) or None


def _tones(lines: list[str], spec: PoemSpec, table: RhymeTable) -> tuple[str | None,
                                                                         list[list[int]]]:
    chars = spec.chars

    def where(positions: list[int], line0: int = 0) -> list[list[int]]:
        return [[line0 + p // chars + 1, p % chars + 1] for p in positions]

    if spec.tone_mode == "strict":
        tones = [table.tones(c) for c in "".join(lines)]
        scored = {name: mismatches(t, tones)
                  for name, t in strict_templates(spec.lines, chars).items()}
        name = min(scored, key=lambda n: len(scored[n]))
        return name, where(scored[name])
    out = []
    patterns = loose_templates(chars)
    for i, line in enumerate(lines):
        tones = [table.tones(c) for c in line]
        out += where(min((mismatches(p, tones) for p in patterns), key=len), i)
    return None, out
