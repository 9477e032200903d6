"""Rebuilds a base model's training mix from its sources: one cleaned file per source.

Each base (`en`, `zh`) has a list of `Source`s in `sources_<lang>.py`. A source
names where its raw text comes from (a folder under `--roots`), its licence, and
a `read` function that yields documents (a novel, a poem, a chapter) as plain
text. This script cleans every document (`clean`), drops paragraphs already seen
in an earlier source (exact duplicates after whitespace folding), and writes
`OUT/<source>.txt`, one file per source, so that textgen's `data.val_split =
"each-file"` keeps a validation tail of every source. `OUT/SOURCES.json` records
each source's licence, origin, raw and cleaned sizes and the cleaned file's
sha256; the mix itself is not committed, this script rebuilds it.

Raw inputs live under one folder per kind (`--roots`):
  shared/   the project's ../shared/corpora
  mirror/   git checkouts of public repositories (`git clone` or a mirror's work tree)
  deb/      Debian packages unpacked with `dpkg-deb -x PKG.deb deb/PKG`
  pypi/     source distributions unpacked with `tar xzf`
Each source's `obtain` says what to put there.

Usage:
    python scripts/bases/mix.py en --roots /work/basesrc --out /work/mix/en
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import re
import sys
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Source:
    """One source of a base's training mix.

    Attributes:
        name: file stem of its cleaned text (`OUT/<name>.txt`), e.g. "shakespeare".
        kind: what it is, for the model card ("plays", "verse", "novel", "technical").
        licence: its licence, e.g. "public domain", "MIT".
        origin: where it comes from (an address, a package and version).
        obtain: how to put its raw files under the roots (a shell command or two).
        read: yields its documents as text, given the roots folder.
    """

    name: str
    kind: str
    licence: str
    origin: str
    obtain: str
    read: Callable[[Path], Iterator[str]]


# Characters that are OCR or conversion junk in every language: the replacement
# character, the white square that stands for an unreadable glyph, private-use
# characters (a font's own glyphs, meaningless elsewhere), zero-width
# marks, soft hyphens and C0/C1 control characters other than newline and tab.
_JUNK = re.compile("[\ue000-\uf8ff\ufffd\u25a1\u200b\u200c\u200d\u2060\ufeff\u00ad"
                   "\x00-\x08\x0b-\x1f\x7f-\x9f]")
_TRAILING = re.compile(r"[ \t\u3000]+$", re.M)
_BLANKS = re.compile(r"\n{3,}")


def clean(text: str) -> str:
    """Common cleaning: NFC, LF newlines, junk characters out, no trailing spaces,
    at most one blank line in a row, exactly one newline at the end ('' if blank)."""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = _JUNK.sub("", text)
    text = _TRAILING.sub("", text)
    text = _BLANKS.sub("\n\n", text).strip("\n")
    return text + "\n" if text.strip() else ""


def _key(paragraph: str) -> str:
    return hashlib.blake2b(" ".join(paragraph.split()).encode(), digest_size=12).hexdigest()


def dedupe(text: str, seen: set[str], min_chars: int = 40) -> str:
    """Drops paragraphs (blank-line separated) of `text` already in `seen`, and adds
    the rest. Paragraphs shorter than `min_chars` (a speaker's name, "CHAPTER I")
    are always kept: they repeat in any real text."""
    kept = []
    for par in text.split("\n\n"):
        if len(par) >= min_chars:
            k = _key(par)
            if k in seen:
                continue
            seen.add(k)
        kept.append(par)
    return "\n\n".join(kept)


def build(lang: str, roots: Path, out: Path) -> list[dict]:
    """Writes `out/<source>.txt` for every source of `lang` and `out/SOURCES.json`.

    Returns:
        One record per source (name, kind, licence, origin, documents, raw and
        cleaned characters, sha256 of the cleaned file).
    """
    sources: list[Source] = importlib.import_module(f"sources_{lang}").SOURCES
    out.mkdir(parents=True, exist_ok=True)
    seen: set[str] = set()
    records = []
    for src in sources:
        raw_chars = docs = 0
        parts = []
        for doc in src.read(roots):
            raw_chars += len(doc)
            docs += 1
            doc = dedupe(clean(doc), seen)
            if doc.strip():
                parts.append(doc if doc.endswith("\n") else doc + "\n")
        if not parts:
            raise SystemExit(f"{src.name}: no text under {roots}; obtain it with: {src.obtain}")
        data = "\n".join(parts).encode("utf-8")
        (out / f"{src.name}.txt").write_bytes(data)
        records.append({
            "name": src.name, "kind": src.kind, "licence": src.licence, "origin": src.origin,
            "documents": docs, "raw_chars": raw_chars, "chars": len(data.decode("utf-8")),
            "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(),
        })
        print(f"{src.name:24} {docs:7,} docs {records[-1]['chars']:13,} chars", file=sys.stderr)
    (out / "SOURCES.json").write_text(json.dumps(records, indent=1, ensure_ascii=False) + "\n",
                                      encoding="utf-8")
    return records


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("lang", choices=("en", "zh"))
    ap.add_argument("--roots", type=Path, required=True, help="folder of raw sources")
    ap.add_argument("--out", type=Path, required=True, help="folder for the cleaned mix")
    args = ap.parse_args()
    sys.path.insert(0, str(Path(__file__).parent))
    recs = build(args.lang, args.roots, args.out)
    total = sum(r["chars"] for r in recs)
    print(f"{'total':24} {sum(r['documents'] for r in recs):7,} docs {total:13,} chars",
          file=sys.stderr)


if __name__ == "__main__":
    main()
