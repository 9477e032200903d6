"""The layer rule (pyproject.toml [tool.importlinter], docs/ARCHITECTURE.md) holds,
and the checker really fails when a lower stage imports a higher one."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT = "from importlinter.cli import lint_imports_command; lint_imports_command()"


def _lint(root: Path) -> subprocess.CompletedProcess:
    """Runs import-linter on the `textgen` package under `root`, with its pyproject.toml."""
    return subprocess.run([sys.executable, "-c", LINT, "--no-cache"], cwd=root,
                          env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, timeout=300)


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """A copy of the package and its contracts to break."""
    shutil.copytree(ROOT / "textgen", tmp_path / "textgen",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    return tmp_path


def test_the_package_keeps_its_layers():
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 kept, 0 broken" in result.stdout


def test_a_lower_stage_importing_a_higher_one_is_caught(copy: Path):
    stats = copy / "textgen" / "data" / "stats.py"
    stats.write_text(stats.read_text(encoding="utf-8") + "\nimport textgen.generate.samplers\n",
                     encoding="utf-8")
    result = _lint(copy)
    assert result.returncode != 0
    assert "textgen.data is not allowed to import textgen.generate" in result.stdout


def test_a_cycle_inside_a_stage_is_caught(copy: Path):
    char = copy / "textgen" / "data" / "tokenizers" / "base.py"
    char.write_text(char.read_text(encoding="utf-8") +
                    "\nfrom textgen.data.tokenizers import char  # noqa\n", encoding="utf-8")
    result = _lint(copy)
    assert result.returncode != 0
    assert "no import cycles between sibling modules BROKEN" in result.stdout


def test_a_new_root_module_must_be_given_a_stage(copy: Path):
    (copy / "textgen" / "helpers.py").write_text('"""Unplaced."""\n', encoding="utf-8")
    result = _lint(copy)
    assert result.returncode != 0
    assert "helpers" in result.stdout


def test_import_textgen_stays_cheap():
    code = ("import sys, textgen; textgen.SamplerSettings; from textgen.samplers import TopP; "
            "print(sorted(m for m in ('tensorflow', 'keras', 'jieba', 'textgen.train') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT).stdout
    assert out.strip() == "[]"
