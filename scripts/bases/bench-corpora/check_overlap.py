"""Share of a corpus's lines (of at least N characters) found verbatim in a training mix.

Usage:
    python check_overlap.py CORPUS N MIX_DIR [MIX_DIR ...]
"""

from __future__ import annotations

import glob
import os
import subprocess
import sys
import tempfile


def main() -> None:
    corpus, n, mixes = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    with open(corpus, encoding="utf-8") as f:
        long_lines = [line.strip() for line in f if len(line.strip()) >= n]
    files = sorted(f for m in mixes for f in glob.glob(os.path.join(m, "*.txt")))
    with tempfile.NamedTemporaryFile("w", delete=False, encoding="utf-8") as t:
        t.write("\n".join(set(long_lines)) + "\n")
    out = subprocess.run(["grep", "-F", "-o", "-h", "-f", t.name, *files], capture_output=True,
                         env={**os.environ, "LC_ALL": "C.UTF-8"}).stdout.decode("utf-8", "replace")
    os.unlink(t.name)
    found = set(out.split("\n")) & set(long_lines)
    hits = sum(line in found for line in long_lines)
    share = hits / max(len(long_lines), 1)
    print(f"{os.path.basename(corpus)}: {hits}/{len(long_lines)} lines of >= {n} chars "
          f"found in the mix = {share:.4%}")
    for line in sorted(found)[:5]:
        print("   e.g.", line[:80])


if __name__ == "__main__":
    main()
