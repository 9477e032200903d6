"""The fast subset of scripts/fault_matrix.py: kills inside saves, reads during saves,
a full disk, unwritable directories, strange text (the unit tests cover the rest)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_fast_fault_matrix():
    p = subprocess.run([sys.executable, "scripts/fault_matrix.py", "--fast"], cwd=ROOT,
                       capture_output=True, text=True, encoding="utf-8", timeout=900)
    assert p.returncode == 0, p.stdout + p.stderr[-3000:]
    rows = [line for line in p.stdout.splitlines() if line.startswith("| ") and "---" not in line]
    assert len(rows) == 7 and all(row.endswith("| pass |") for row in rows[1:]), p.stdout
