"""Writes a Python-source corpus from this interpreter's standard library, for results and tests.

Usage:
    python scripts/make_code_corpus.py OUT.txt [--chars 1000000]

Concatenates the standard library's top-level modules (`Lib/*.py`, sorted by
name; subpackages and tests left out) until about CHARS characters, each
file preceded by a `# ---- name.py ----` line. The source is CPython's, under
the PSF licence (permissive). The exact text depends on the Python version, so
record it beside any figure measured on the output.
"""

from __future__ import annotations

import argparse
import sys
import sysconfig
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--chars", type=int, default=1_000_000)
    args = parser.parse_args()
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    parts, total = [], 0
    for path in sorted(stdlib.glob("*.py")):
        text = path.read_text(encoding="utf-8")
        piece = f"# ---- {path.name} ----\n{text}"
        if not piece.endswith("\n"):
            piece += "\n"
        parts.append(piece)
        total += len(piece)
        if total >= args.chars:
            break
    args.out.write_text("".join(parts), encoding="utf-8", newline="\n")
    print(f"Python {sys.version.split()[0]}: {len(parts)} files of {stdlib}, {total:,} characters "
          f"-> {args.out}")


if __name__ == "__main__":
    main()
