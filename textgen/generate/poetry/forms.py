"""Poem forms as data: line counts and lengths, the text layout, and the 平仄 templates.

A poem of L lines of N characters is laid out as the corpora write verse: a
couplet per text line, "，" after odd lines, "。" after even lines, and a line
break after each couplet but the last (`Layout`). The tone rules are data too:
templates, strings of 平 / 仄 / 中 (either), that a poem (strict) or each line
(loose) must match, interpreted by `mismatches` and `next_tones`.

The strict templates come from the four 五言 line types (A 仄仄平平仄, B 平平仄仄平,
C 平平平仄仄, D 仄仄仄平平; a 七言 line puts two characters of the other tone
before them) in the cycle A B C D (仄起 for 五言) or C D A B (平起), the first
line taking the 平-ending type of its start when it rhymes (首句入韵: A→D, C→B).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from itertools import product

PING, ZE, EITHER = "平", "仄", "中"

FORMS: dict[str, tuple[int, int]] = {  # name: (lines, characters per line)
    "五绝": (4, 5), "七绝": (4, 7), "五律": (8, 5), "七律": (8, 7),
}

_TYPES_5 = {"A": "仄仄平平仄", "B": "平平仄仄平", "C": "平平平仄仄", "D": "仄仄仄平平"}
_CYCLES = ("ABCD", "CDAB")
_RHYMED_FIRST = {"A": "D", "C": "B"}  # the first line's type when it rhymes


def _other(tone: str) -> str:
    return ZE if tone == PING else PING


def _line(kind: str, chars: int) -> str:
    five = _TYPES_5[kind]
    return five if chars == 5 else _other(five[0]) * 2 + five


def strict_templates(lines: int, chars: int) -> dict[str, str]:
    """The standard 平仄 templates of a poem by name ("仄起首句不入韵"), each a string
    of lines x chars tones (5 or 7 characters a line, any number of lines)."""
    out = {}
    for cycle, rhymed in product(_CYCLES, (False, True)):
        kinds = [cycle[i % 4] for i in range(lines)]
        if rhymed:
            kinds[0] = _RHYMED_FIRST[kinds[0]]
        first = _line(kinds[0], chars)
        name = f"{first[1]}起首句{'入韵' if rhymed else '不入韵'}"
        out[name] = "".join(_line(k, chars) for k in kinds)
    return out


def loose_templates(chars: int) -> list[str]:
    """The line templates of the loose rule: 二四六分明 (the 2nd, 4th and 6th
    characters alternate) and no 三平尾 (the last three not all 平)."""
    out = []
    for start in (PING, ZE):
        base = [EITHER] * chars
        for k, i in enumerate(range(1, chars - 1, 2)):
            base[i] = start if k % 2 == 0 else _other(start)
        tail = range(chars - 3, chars)
        free = [i for i in tail if base[i] == EITHER]
        if any(base[i] == ZE for i in tail):
            out.append("".join(base))
            continue
        for tones in product((PING, ZE), repeat=len(free)):
            line = list(base)
            for i, t in zip(free, tones, strict=True):
                line[i] = t
            if any(line[i] == ZE for i in tail):
                out.append("".join(line))
    return out


def mismatches(template: str, tones: list[tuple[bool, bool]]) -> list[int]:
    """The positions where characters with these (平, 仄) readings do not match the
    start of `template` (a polyphonic character matches either; one in neither class
    only 中)."""
    return [i for i, (want, (ping, ze)) in enumerate(zip(template, tones, strict=False))
            if (want == PING and not ping) or (want == ZE and not ze)]


def next_tones(templates: list[str], tones: list[tuple[bool, bool]]) -> set[str]:
    """The tones the next character may have under the templates the characters so
    far fit best (all of them when they fit; the fewest mismatches when a prime or
    a relaxed step broke every one): a subset of {平, 仄, 中}."""
    k = len(tones)
    scored = [(len(mismatches(t, tones)), t) for t in templates if k < len(t)]
    best = min((n for n, _ in scored), default=0)
    return {t[k] for n, t in scored if n == best}


@dataclass(frozen=True)
class Slot:
    """One character position of a layout.

    Attributes:
        text: the punctuation or line break it must be, or "" for a poem character.
        line: the poem line (0-based) it belongs to.
        col: the character's place in its line (0-based; punctuation: the line length).
    """

    text: str
    line: int
    col: int


@dataclass(frozen=True)
class Layout:
    """The text of a poem of `lines` lines of `chars` characters: what each position holds.

    Attributes:
        lines: poem lines.
        chars: characters per line.
        newline: the break after each couplet ("" for a vocabulary without one).
    """

    lines: int
    chars: int
    newline: str = "\n"

    @cached_property
    def slots(self) -> tuple[Slot, ...]:
        """Every position of the poem's text, in order (its length is the poem's)."""
        out = []
        for line in range(self.lines):
            out += [Slot("", line, col) for col in range(self.chars)]
            last = line == self.lines - 1
            out.append(Slot("。" if line % 2 or last else "，", line, self.chars))
            if line % 2 and not last and self.newline:
                out.append(Slot(self.newline, line, self.chars + 1))
        return tuple(out)

    def split(self, text: str) -> list[str]:
        """The poem lines' characters in `text` (laid out as the layout says; the last
        possibly unfinished); punctuation and breaks left out."""
        out: list[str] = []
        for slot, char in zip(self.slots, text, strict=False):
            if slot.text:
                continue
            if slot.col == 0:
                out.append("")
            out[-1] += char
        return out

    def rhymes(self, line: int) -> bool:
        """Whether `line` (0-based) must rhyme: every even line (the 2nd, 4th, ...)."""
        return line % 2 == 1
