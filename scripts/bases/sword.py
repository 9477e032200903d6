"""Reads a SWORD zText Bible module (such as Debian's sword-text-web) as plain text.

A zText module keeps each testament in three files:
  <t>.bzs  block index: 12-byte records (offset, compressed size, size), u32 LE
  <t>.bzz  the blocks, each zlib-compressed
  <t>.bzv  verse index: 10-byte records (block u32, offset u32, size u16) LE,
           one per index slot (module, testament, book and chapter headings, verses)
The entries, read in index order, make one OSIS document. `books` splits it at
the `<div type="book">` milestones and turns each book into readable prose: notes
dropped, paragraphs and poetry lines kept, a "Chapter N" line at each chapter.
"""

from __future__ import annotations

import html
import re
import struct
import textwrap
import zlib
from collections.abc import Iterator
from pathlib import Path

_BOOK = re.compile(r'<div\b[^>]*\btype="book"[^>]*/>')
_ATTR = re.compile(r'(\w+)="([^"]*)"')

# (pattern, replacement) applied in order to the OSIS of one book.
_RULES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"<note\b.*?</note>", re.S), "\x01"),  # a note may stand between words
    (re.compile(r'<chapter\b[^>]*\bsID="Ps\.(\d+)"[^>]*/>'), r"\n\nPsalm \1\n\n"),
    (re.compile(r'<chapter\b[^>]*\bsID="[^"]*?\.(\d+)"[^>]*/>'), r"\n\nChapter \1\n\n"),
    (re.compile(r'<title\b[^>]*type="main"[^>]*>(.*?)</title>', re.S), r"\1 "),
    (re.compile(r"<title\b[^>]*>(.*?)</title>", re.S), r"\n\n\1\n\n"),
    (re.compile(r"<speaker\b[^>]*>(.*?)</speaker>", re.S), r"\n\n\1\n\n"),
    (re.compile(r'<div\b[^>]*type="(?:x-p|introduction|x-indent-\d)"[^>]*/>'), "\n\n"),
    (re.compile(r"<lg\b[^>]*/>"), "\n\n"),
    (re.compile(r"<l\b[^>]*\beID=[^>]*/>|<lb\b[^>]*/>|</?item\b[^>]*>"), "\n"),
    (re.compile(r"<[^>]+>"), ""),
]


def entries(testament: Path) -> Iterator[str]:
    """Yields the text of every non-empty verse-index entry of one testament.

    Args:
        testament: path without suffix, e.g. `.../engWEB2015eb/ot`.
    """
    bzs = testament.with_suffix(".bzs").read_bytes()
    bzz = testament.with_suffix(".bzz").read_bytes()
    bzv = testament.with_suffix(".bzv").read_bytes()
    cache: dict[int, bytes] = {}
    for block, offset, size in struct.iter_unpack("<IIH", bzv):
        if not size:
            continue
        if block not in cache:
            start, length, _ = struct.unpack_from("<III", bzs, block * 12)
            cache[block] = zlib.decompress(bzz[start:start + length])
        yield cache[block][offset:offset + size].decode("utf-8")


def to_text(osis: str) -> str:
    """Turns the OSIS markup of one book into plain text: one space between words,
    a blank line between paragraphs (wrapped at 76 columns like the other prose
    of the mix), a line per poetry line."""
    for pattern, repl in _RULES:
        osis = pattern.sub(repl, osis)
    osis = re.sub(r"(?<=\w)\x01(?=\w)", " ", osis).replace("\x01", "")
    lines = (textwrap.fill(" ".join(line.split()), width=76)
             for line in html.unescape(osis).split("\n"))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() + "\n"


def books(module: Path) -> Iterator[tuple[str, str]]:
    """Yields (OSIS book id, plain text) for every book of a zText module, in order.

    Front matter and anything else outside a book (preface, glossary) is skipped.

    Args:
        module: the module's data folder (holding ot.bz* and nt.bz*).
    """
    for testament in ("ot", "nt"):
        osis = "".join(entries(module / testament))
        book, start = "", 0
        for m in _BOOK.finditer(osis):
            attrs = dict(_ATTR.findall(m.group(0)))
            if "sID" in attrs:
                book, start = attrs.get("osisID", "?"), m.end()
            elif "eID" in attrs and book:
                yield book, to_text(osis[start:m.start()])
                book = ""
