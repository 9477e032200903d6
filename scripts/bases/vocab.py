"""The fixed character sets every base's vocabulary holds, whatever its corpus has.

A base is fine-tuned on text nobody has seen yet; a character it has an id for
starts from a trained output bias (rare, but known) instead of a new row, and a
prompt with it is not `<unk>`. So each base's vocabulary is a fixed set (below)
plus the characters its corpus has at least `min_freq` times.

    en  printable ASCII, tab and newline, and every printable character of
        Windows-1252 (Latin-1's letters and signs, plus its typographic
        punctuation: curly quotes, dashes, ellipsis, bullets, the euro sign),
        and a few more typographic marks (prime, minus, non-breaking hyphen).
    zh  printable ASCII, tab and newline, and all of GB2312: its 6,763 Chinese
        characters and 682 symbols (CJK punctuation, full-width forms, ...).
        Traditional forms come from the corpus (its Tang and Song poems are
        in traditional script).
"""

from __future__ import annotations

import unicodedata


def _printable(ch: str) -> bool:
    return unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")


ASCII = "\t\n" + "".join(chr(c) for c in range(0x20, 0x7F))


def cp1252_printable() -> str:
    """Every printable character Windows-1252 can encode (no soft hyphen)."""
    chars = bytes(range(0x80, 0x100)).decode("cp1252", errors="ignore")
    return "".join(ch for ch in chars if _printable(ch) and ch != "\u00ad")


def gb2312() -> str:
    """The 7,445 characters of GB2312 (rows 1-9 symbols, rows 16-87 hanzi)."""
    out = []
    for row in range(0xA1, 0xFF):
        for cell in range(0xA1, 0xFF):
            try:
                ch = bytes((row, cell)).decode("gb2312")
            except UnicodeDecodeError:
                continue
            if _printable(ch):
                out.append(ch)
    return "".join(out)


def gb2312_hanzi() -> str:
    """GB2312's 6,763 Chinese characters (rows 16-87)."""
    return "".join(ch for ch in gb2312() if "\u4e00" <= ch <= "\u9fff")


EXTRA_EN = "\u2032\u2033\u2212\u2010\u2011\u2012\u2015\u2027\u00a0"


def fixed_set(lang: str) -> set[str]:
    """The characters base `lang` ("en" or "zh") always has in its vocabulary."""
    if lang == "en":
        return set(ASCII + cp1252_printable() + EXTRA_EN)
    if lang == "zh":
        return set(ASCII + gb2312())
    raise ValueError(f"lang must be 'en' or 'zh'. Received: {lang!r}")
