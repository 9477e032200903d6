#!/usr/bin/env python3
"""Set up textgen in ./.venv and run the demo or the tests. Needs only Python 3.11+.

    python3 quickstart.py demo   # install, sample the base models, fine-tune one on Shakespeare
    python3 quickstart.py test   # install (Chromium too, as root on Debian), run ruff and tests

Idempotent: the virtual environment is reused, and dependencies are reinstalled
only when pyproject.toml changes. The demo run continues where it stopped.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".textgen-installed"
DEMO_RUN = ROOT / "runs" / "quickstart"


def run(*args: object) -> None:
    """Runs a command from the repository root; stops with its exit code if it fails."""
    print("+", " ".join(map(str, args)), flush=True)
    code = subprocess.call([str(a) for a in args], cwd=ROOT)
    if code:
        sys.exit(code)


def setup() -> None:
    """Creates .venv and installs textgen with its test extras and its base models,
    when needed."""
    if sys.version_info < (3, 11):  # noqa: UP036 -- may run under an older system python
        sys.exit(f"textgen needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    if not PY.exists():
        print(f"creating virtual environment in {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    want = _stamp()
    if not STAMP.exists() or STAMP.read_text() != want:
        pip = (PY, "-m", "pip", "install", "--disable-pip-version-check", "-q")
        run(*pip, "-e", ".[test]")
        # The base models (models/): a copy in the environment, never written to.
        run(*pip, "--no-deps", "--force-reinstall", "./models")
        STAMP.write_text(want)


def _stamp() -> str:
    """What the installed environment was made from: both pyproject files and every
    shipped model's manifest (new weights change it)."""
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes())
    for path in [ROOT / "models" / "pyproject.toml",
                 *sorted((ROOT / "models").rglob("manifest.json"))]:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def demo() -> None:
    """Samples from both base models, fine-tunes en-base on Shakespeare for a minute
    (or continues that run), then samples from the fine-tuned model."""
    tg = (PY, "-m", "textgen")
    run(*tg, "models")
    run(*tg, "sample", "en-base", "--prime", "It was", "--length", "300",
        "--temperature", "0.8", "--seed", "1")
    run(*tg, "sample", "zh-base", "--prime", "春风", "--length", "100",
        "--temperature", "0.8", "--seed", "1")
    if (DEMO_RUN / "checkpoints" / "last.npz").exists():
        run(*tg, "train", "--resume", DEMO_RUN, "--max-time", "60s")
    else:
        run(*tg, "finetune", "en-base", "corpora/tiny-shakespeare.txt", "--out", DEMO_RUN,
            "--max-time", "60s")
    run(*tg, "sample", DEMO_RUN, "--length", "600", "--temperature", "0.8", "--seed", "1",
        "--prime", "ROMEO:")


def browser() -> None:
    """Installs Chromium for the page test where it can (root with apt-get, as in CI);
    elsewhere the page test reports that it did not run."""
    if shutil.which("chromium") or shutil.which("chromium-browser"):
        return
    if os.name != "posix" or os.geteuid() != 0 or not shutil.which("apt-get"):
        print("note: no Chromium here and no root apt-get to install it: the browser test "
              "of `textgen serve` will be skipped (apt-get install chromium fonts-noto-cjk)",
              flush=True)
        return
    env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-qq"],
                ["apt-get", "install", "-y", "-qq", "chromium", "fonts-noto-cjk"]):
        print("+", " ".join(cmd), flush=True)
        if subprocess.call(cmd, env=env, stdout=subprocess.DEVNULL):
            print("note: installing Chromium failed: the browser test will be skipped",
                  flush=True)
            return


def test() -> None:
    """Runs the linter and the test suite."""
    browser()
    run(PY, "-m", "ruff", "check", ".")
    run(BIN / "lint-imports")  # the layer rule: pyproject.toml [tool.importlinter]
    run(PY, "-m", "pytest", "-q", *sys.argv[2:])


if __name__ == "__main__":
    commands = {"demo": demo, "test": test}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        sys.exit(f"usage: python3 {Path(__file__).name} demo|test [pytest args]")
    setup()
    commands[sys.argv[1]]()
