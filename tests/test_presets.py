"""Presets: shipped inside the package, found by name, chosen from the corpus."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.conftest import TINY_TEXT
from tests.test_cli import assert_user_error, invoke
from textgen.config import Config
from textgen.config import lookup as presets
from textgen.data import profile
from textgen.data.corpus import scan_corpus
from textgen.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
EXCERPTS = Path(__file__).parent / "data" / "excerpts"
SHIPPED = {"char-small", "char-medium", "char-large", "novel-zh", "novel-zh-word", "poems-zh"}


def test_presets_live_in_the_package_and_configs_points_there():
    assert set(presets.names()) == SHIPPED
    assert presets.PRESET_DIR == Path(presets.__file__).parent / "presets"
    # configs/ in the repository is the same directory, so old paths keep working.
    assert (ROOT / "configs").resolve() == presets.PRESET_DIR.resolve()
    for name in presets.names():
        Config.load(presets.resolve(name))
        assert presets.summary(name) and "\n" not in presets.summary(name)


def test_config_is_a_file_or_a_name(tmp_path, monkeypatch):
    assert presets.resolve("char-small") == presets.PRESET_DIR / "char-small.toml"
    own = tmp_path / "char-small"  # a file of that name in the working directory wins
    own.write_text("[model]\nunits = 7\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert presets.load("char-small").model.units == 7
    os.remove(own)
    assert presets.load("char-small").model.units == 128
    with pytest.raises(ConfigError, match=r"no preset or config file named 'char-tiny'.*"
                                          r"char-small"):
        presets.resolve("char-tiny")
    with pytest.raises(ConfigError, match="config file not found: mine.toml"):
        presets.resolve("mine.toml")


def test_presets_command_lists_and_prints():
    listed = invoke("presets")
    assert listed.exit_code == 0
    lines = listed.stdout.splitlines()
    assert [line.split()[0] for line in lines] == presets.names()
    for name, line in zip(presets.names(), lines, strict=True):
        assert presets.summary(name) in line
    shown = invoke("presets", "poems-zh")
    assert tomllib.loads(shown.stdout) == tomllib.loads(
        presets.resolve("poems-zh").read_text(encoding="utf-8"))
    assert_user_error(invoke("presets", "nope"), "no preset or config file named 'nope'")


def _profile(tmp_path: Path, text: str, name: str = "corpus.txt", **kw) -> profile.CorpusProfile:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return profile.CorpusProfile.of(scan_corpus([path]), **kw)


def _code() -> str:
    return "".join(p.read_text(encoding="utf-8") for p in sorted((ROOT / "textgen").glob("*.py")))


def test_profile_measures_the_text(tmp_path):
    english = _profile(tmp_path, TINY_TEXT)
    assert english.n_chars == len(TINY_TEXT) and english.han_share == 0 and not english.code
    poems = profile.CorpusProfile.of(scan_corpus([EXCERPTS / "tang-poems.txt"]))
    assert poems.han_share > 0.8 and poems.mean_line < 20 and poems.distinct > 1000
    novel = profile.CorpusProfile.of(scan_corpus([EXCERPTS / "xiyouji.txt"]))
    assert novel.han_share > 0.8 and novel.mean_line > 60
    assert _profile(tmp_path, _code(), "code.py").code
    # Past the sample, the size is estimated from the bytes (UTF-8: 3 per Han character).
    text = (EXCERPTS / "hongloumeng.txt").read_text(encoding="utf-8")
    estimated = profile.CorpusProfile.of(scan_corpus([EXCERPTS / "hongloumeng.txt"]),
                                         sample_chars=2000).n_chars
    assert abs(estimated - len(text)) < 0.1 * len(text)


@pytest.mark.parametrize("make, preset, words", [
    (lambda: TINY_TEXT * 20, "char-small", "text"),  # 150 K characters of English
    (lambda: TINY_TEXT * 60, "char-medium", "text"),  # 460 K
    (lambda: _code(), "char-small", "source code"),
    (lambda: (EXCERPTS / "xiyouji.txt").read_text(encoding="utf-8"), "novel-zh", "prose"),
    (lambda: (EXCERPTS / "tang-poems.txt").read_text(encoding="utf-8"), "poems-zh", "verse"),
])
def test_choice_follows_language_shape_and_size(tmp_path, make, preset, words):
    choice = profile.choose(_profile(tmp_path, make()))
    assert choice.name == preset and words in choice.reason


def test_a_small_corpus_gets_enough_steps(tmp_path):
    big = profile.choose(_profile(tmp_path, TINY_TEXT * 140))  # 1 MB: the preset as it is
    assert big.sets == ()
    small = profile.choose(_profile(tmp_path, TINY_TEXT))  # 7.5 K characters
    epochs = int(dict(s.split("=") for s in small.sets)["train.epochs"])
    cfg = presets.load("char-small")
    steps = len(TINY_TEXT) * (1 - cfg.data.val_frac) / (cfg.data.batch_size * cfg.data.seq_len)
    assert epochs > cfg.train.epochs and (epochs == profile.MAX_EPOCHS
                                          or epochs * steps >= profile.MIN_STEPS)
    assert "train.patience=5" in small.sets and f"{epochs} epochs" in small.reason


def test_train_without_config_says_which_preset(tmp_path):
    corpus = tmp_path / "poems.txt"
    shutil.copy(EXCERPTS / "tang-poems.txt", corpus)
    run = tmp_path / "run"
    result = invoke("train", corpus, "--out", run, "--max-steps", 1, "--set", "train.epochs=3",
                    "--set", "model.units=16", "--set", "train.precision=float32")
    assert result.exit_code == 0, result.output
    assert "no --config given: using preset poems-zh" in result.stderr
    saved = json.loads((run / "config.json").read_text(encoding="utf-8"))
    poems = presets.load("poems-zh")
    assert saved["data"]["max_vocab"] == poems.data.max_vocab  # the preset's keys
    assert saved["model"]["units"] == 16 and saved["train"]["epochs"] == 3  # --set wins
    assert saved["train"]["patience"] == profile.PATIENCE  # the small-corpus adjustment


def test_train_by_name_from_another_directory(tmp_path, monkeypatch):
    (tmp_path / "text.txt").write_text(TINY_TEXT, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = invoke("train", "text.txt", "--config", "char-small", "--out", "run",
                    "--max-steps", 1, "--set", "data.batch_size=4")
    assert result.exit_code == 0, result.output
    saved = json.loads((tmp_path / "run" / "config.json").read_text(encoding="utf-8"))
    assert saved["model"]["units"] == 128 and saved["data"]["seq_len"] == 64
    assert_user_error(invoke("train", "text.txt", "--config", "char-smal"),
                      "no preset or config file named 'char-smal'")


def test_the_built_wheel_ships_the_presets(tmp_path):
    """Build the wheel, install it alone into a fresh virtual environment (the test
    environment's packages stay visible for its dependencies) and train by preset
    name in an empty directory, far from the source tree."""
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "textgen", src / "textgen",
                    ignore=shutil.ignore_patterns("__pycache__"))
    wheels = tmp_path / "wheels"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", wheels, src],
                   check=True, capture_output=True, cwd=tmp_path)
    env_dir = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", env_dir], check=True)
    python = env_dir / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    (site,) = (Path(p) for p in subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True, capture_output=True, text=True).stdout.split())
    import numpy

    (site / "deps.pth").write_text(str(Path(numpy.__file__).parents[1]) + "\n")
    (wheel,) = wheels.glob("textgen-*.whl")
    subprocess.run([*pip, "--python", python, "install", "--no-deps", "--no-index", wheel],
                   check=True, capture_output=True)
    work = tmp_path / "empty"
    work.mkdir()
    (work / "text.txt").write_text(TINY_TEXT, encoding="utf-8")
    where = subprocess.run([python, "-c", "import textgen; print(textgen.__file__)"], cwd=work,
                           check=True, capture_output=True, text=True).stdout.strip()
    assert Path(where).is_relative_to(site), where  # the wheel's copy, not the checkout
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    listed = subprocess.run([python, "-m", "textgen", "presets"], cwd=work, env=env,
                            capture_output=True, text=True)
    assert listed.returncode == 0 and "char-small" in listed.stdout, listed.stderr
    trained = subprocess.run(
        [python, "-m", "textgen", "train", "text.txt", "--config", "char-small", "--out", "run",
         "--max-steps", "2", "--set", "data.batch_size=4"],
        cwd=work, env=env, capture_output=True, text=True, timeout=300)
    assert trained.returncode == 0, trained.stderr[-2000:]
    assert json.loads((work / "run" / "state.json").read_text(encoding="utf-8"))["step"] == 2


def test_every_preset_states_its_measured_step_time(tmp_path, monkeypatch):
    for name in presets.names():
        cost = presets.step_cost(name)
        assert cost is not None and cost.where and "2 CPU cores" in cost.where, name
        assert all(seconds > 0 for _, seconds in cost.seconds)
    # The presets the automatic choice picks are timed in float32 (its figure).
    for name in ("char-small", "char-medium", "poems-zh", "novel-zh"):
        assert presets.step_cost(name).per_step("float32") is not None
    assert presets.step_cost("char-small").per_step("float32") == 0.037  # as its comment says
    monkeypatch.setattr(presets, "PRESET_DIR", tmp_path)
    (tmp_path / "odd.toml").write_text("# odd: x\n# step-seconds: fast (here)\n",
                                       encoding="utf-8")
    with pytest.raises(ConfigError, match="step-seconds line must read like"):
        presets.step_cost("odd")
    (tmp_path / "bare.toml").write_text("# bare: no figures\n", encoding="utf-8")
    assert presets.step_cost("bare") is None


def test_a_time_budget_picks_the_largest_preset_that_fits(tmp_path):
    big = _profile(tmp_path, TINY_TEXT * 60)  # 460 K characters: char-medium's size
    assert profile.choose(big).name == "char-medium"
    medium = presets.step_cost("char-medium").per_step("float32")
    assert profile.USEFUL_STEPS * medium > 150  # what the budget below cannot hold
    short = profile.choose(big, budget_s=150)  # --max-time 2m30s (issue 22)
    assert short.name == "char-small"
    assert "char-medium would take about 13 min for its first 1,000 steps" in short.reason
    assert "more than train.max_time (2.5 min), so the smaller char-small" in short.reason
    assert profile.choose(big, budget_s=10 * 3600) == profile.choose(big)  # room: unchanged
    # bfloat16's measured speed fits 1,000 char-medium steps in 10 minutes; float32's not.
    assert profile.choose(big, 600, "mixed_bfloat16").name == "char-medium"
    assert profile.choose(big, 600).name == "char-small"
    novel = profile.CorpusProfile.of(scan_corpus([EXCERPTS / "xiyouji.txt"]))
    assert profile.choose(novel, budget_s=30).name == "poems-zh"
    verse = profile.CorpusProfile.of(scan_corpus([EXCERPTS / "tang-poems.txt"]))
    assert profile.choose(verse, budget_s=1).name == "poems-zh"  # nothing fits: the smallest


def test_train_with_max_time_picks_a_preset_that_fits_and_says_how_long(tmp_path):
    corpus = tmp_path / "big.txt"
    corpus.write_text(TINY_TEXT * 60, encoding="utf-8")
    result = invoke("train", corpus, "--out", tmp_path / "run", "--max-time", "2m30s",
                    "--max-steps", 30, "--set", "train.precision=float32")
    assert result.exit_code == 0, result.output
    assert "no --config given: using preset char-small" in result.stderr
    cfg = json.loads((tmp_path / "run" / "config.json").read_text(encoding="utf-8"))
    assert cfg["model"]["units"] == presets.load("char-small").model.units
    timing = next(line for line in result.stderr.splitlines()
                  if line.startswith("expected time: "))
    assert "about 1 s for 30 steps at 27 steps/s, char-small's float32 speed" in timing
    assert "reference machine (2 CPU cores" in timing
    # Without --max-steps: the preset's epochs, and what --max-time cuts off.
    plan = profile.timing("char-small", presets.load("char-small"), 10_000_000)
    assert "steps/s" in plan and "stops it after" not in plan
    limited = presets.load("char-small")
    limited.train.max_time = "1m"
    assert "train.max_time (60 s) stops it after about 1,622 steps" in profile.timing(
        "char-small", limited, 10_000_000)
    limited.model.units = 16
    assert "expected time: not known" in profile.timing("char-small", limited, 10_000_000)
