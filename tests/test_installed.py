"""Installed models: packaged from a run, found by name, checked, never written to."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import TINY_TEXT
from tests.test_cli import invoke
from textgen.errors import CheckpointError, UnknownModel
from textgen.run import installed
from textgen.run.packaging import write_model

CARD = "# tiny-base\n\nA tiny test model.\n"


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory, request) -> Path:
    """A folder of one packaged tiny model, `tiny-base` (shared: do not modify it)."""
    char_run = request.getfixturevalue("char_run")
    root = tmp_path_factory.mktemp("models")
    write_model(char_run, "best", root / "tiny-base", "tiny-base", CARD,
                {"language": "English", "trained_on": "tiny.txt", "val_bits_per_char": 2.5})
    return root


@pytest.fixture
def models(models_dir, monkeypatch) -> Path:
    """$TEXTGEN_MODELS names the tiny model's folder; returns the model's directory."""
    monkeypatch.setenv(installed.MODELS_ENV, str(models_dir))
    return models_dir / "tiny-base"


def _files(path: Path) -> dict[str, bytes]:
    return {p.relative_to(path).as_posix(): p.read_bytes()
            for p in sorted(path.rglob("*")) if p.is_file()}


def test_packaging_stores_float16_and_reads_back_float32(models, char_run):
    from textgen.run.checkpoint_file import read_npz

    raw = np.load(models / "checkpoints" / "last.npz")
    kinds = {raw[k].dtype for k in raw.files if k.startswith("model/")}
    assert np.dtype(np.float16) in kinds and np.dtype(np.float32) not in kinds
    ckpt = read_npz(models / "checkpoints" / "last.npz", ("model/",))
    original = read_npz(char_run / "checkpoints" / "best.npz", ("model/",))
    for key, value in ckpt.weights().items():
        assert value.dtype == np.float32
        np.testing.assert_allclose(value, original.weights()[key], rtol=1e-3, atol=1e-3)
    manifest = installed.verify(models)
    assert set(manifest.files) == {"config.json", "vocab.json", "card.md",
                                   "checkpoints/last.npz"}
    assert manifest.summary["parameters"] > 0 and manifest.summary["tokenizer"] == "char"
    cfg = json.loads((models / "config.json").read_text(encoding="utf-8"))
    assert cfg["train"]["max_steps"] == 0 and cfg["train"]["epochs"] == 10  # fine-tune defaults
    assert cfg["data"]["max_vocab"] >= 20000  # room to grow the vocabulary


def test_a_name_resolves_and_a_path_wins(models, tmp_path, monkeypatch):
    assert installed.resolve("tiny-base") == models
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tiny-base").mkdir()  # a folder of that name here: the path wins
    assert installed.resolve("tiny-base") == Path("tiny-base")
    assert installed.resolve("runs/gone") == Path("runs/gone")  # a path: the caller says so


def test_an_unknown_name_says_did_you_mean_and_lists(models):
    with pytest.raises(UnknownModel) as e:
        installed.resolve("tiny-bse")
    assert "did you mean 'tiny-base'?" in str(e.value)
    assert "tiny-base" in str(e.value).split("Installed models: ")[1]


def test_no_models_installed_says_how_to_get_them(monkeypatch, tmp_path):
    monkeypatch.setenv(installed.MODELS_ENV, str(tmp_path))
    monkeypatch.setattr(installed, "entry_points", lambda group: [])
    with pytest.raises(UnknownModel, match="quickstart.py demo"):
        installed.resolve("en-base")


@pytest.mark.parametrize("victim", ["checkpoints/last.npz", "vocab.json", "card.md"])
def test_a_flipped_byte_names_the_file_and_the_fix(models_dir, tmp_path, monkeypatch, victim):
    import shutil

    copy = tmp_path / "m" / "tiny-base"
    shutil.copytree(models_dir / "tiny-base", copy)
    monkeypatch.setenv(installed.MODELS_ENV, str(copy.parent))
    data = bytearray((copy / victim).read_bytes())
    data[len(data) // 2] ^= 0x01
    (copy / victim).write_bytes(bytes(data))
    with pytest.raises(CheckpointError) as e:
        installed.resolve("tiny-base")
    assert victim.split("/")[-1] in str(e.value) and "reinstall" in str(e.value)
    result = invoke("sample", "tiny-base", "--length", "5")
    assert result.exit_code == 1 and "is damaged" in result.output
    assert "Traceback" not in result.output


def test_a_missing_file_is_named(models_dir, tmp_path, monkeypatch):
    import shutil

    copy = tmp_path / "m" / "tiny-base"
    shutil.copytree(models_dir / "tiny-base", copy)
    monkeypatch.setenv(installed.MODELS_ENV, str(copy.parent))
    (copy / "vocab.json").unlink()
    with pytest.raises(CheckpointError, match="vocab.json is missing"):
        installed.resolve("tiny-base")


def test_commands_take_a_name_and_write_nothing_to_the_model(models, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    before = _files(models)
    listing = invoke("models")
    assert listing.exit_code == 0 and "tiny-base" in listing.output
    assert "English" in listing.output and "2.500" in listing.output
    card = invoke("models", "tiny-base")
    assert card.exit_code == 0 and card.output == CARD
    sample = invoke("sample", "tiny-base", "--length", "40", "--seed", "1")
    assert sample.exit_code == 0 and len(sample.stdout) >= 40
    info = invoke("info", "tiny-base")
    assert info.exit_code == 0 and "model        tiny-base" in info.output
    no_split = invoke("eval", "tiny-base")
    assert no_split.exit_code == 1 and "give a text" in no_split.output
    text = tmp_path / "t.txt"
    text.write_text(TINY_TEXT, encoding="utf-8")
    scored = invoke("eval", "tiny-base", text)
    assert scored.exit_code == 0 and "bits/character" in scored.output
    tuned = invoke("finetune", "tiny-base", text, "--out", tmp_path / "mine", "--max-steps", 2)
    assert tuned.exit_code == 0, tuned.output
    lineage = json.loads((tmp_path / "mine" / "lineage.json").read_text(encoding="utf-8"))
    assert Path(lineage["chain"][0]["run"]) == models.resolve()
    assert "fine-tuned from model tiny-base (" in invoke("info", tmp_path / "mine").output
    refused = invoke("finetune", "tiny-base", text, "--out", models / "inside")
    assert refused.exit_code == 1
    resumed = invoke("train", "--resume", models)
    assert resumed.exit_code == 1 and "textgen finetune tiny-base" in resumed.output
    over = invoke("train", text, "--out", models, "--max-steps", 1)
    assert over.exit_code == 1 and "textgen finetune tiny-base" in over.output
    assert _files(models) == before  # nothing written, nothing added
    unknown = invoke("sample", "tiny-bse")
    assert unknown.exit_code == 1 and "did you mean 'tiny-base'?" in unknown.output


def test_the_python_api_loads_a_model_by_name(models):
    import textgen

    gen = textgen.load("tiny-base")
    assert gen.run_path == models
    assert len(gen.generate("All:", 30, seed=1)) >= 30


def test_serve_names_a_model_by_its_name(models):
    from textgen.serve.models import load_models

    served = load_models([installed.resolve("tiny-base")])
    assert list(served) == ["tiny-base"]
    assert served["tiny-base"].facts["tokenizer"] == "char"


# === The real shipped bases (installed by the README's set-up) ===

SHIPPED = ("en-base", "zh-base")
COMMON_EN = {"the", "and", "of", "to", "a", "in", "that", "is", "was", "he", "it", "with",
             "for", "as", "his", "her", "you", "i", "not", "be", "on", "by", "at", "which"}


@pytest.mark.parametrize("name", SHIPPED)
def test_each_shipped_base_is_installed_verified_and_samples(name, monkeypatch):
    monkeypatch.delenv(installed.MODELS_ENV, raising=False)
    found = installed.installed()
    assert name in found, f"{name} is not installed: run python3 quickstart.py test"
    manifest = installed.verify(found[name])
    assert manifest.size_bytes <= 40 * 1024 * 1024
    # A real subprocess, from an empty directory, as a user would run it.
    out = subprocess.run(
        [sys.executable, "-m", "textgen", "sample", name, "--length", "300", "--seed", "1"],
        capture_output=True, text=True, encoding="utf-8", cwd=Path(found[name]).anchor,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert len(text) >= 300
    if name == "zh-base":
        cjk = sum("\u4e00" <= ch <= "\u9fff" for ch in text)
        assert cjk > 0.5 * len(text.replace("\n", ""))  # Chinese, not mojibake
    else:
        assert sum(ch.isascii() for ch in text) > 0.95 * len(text)
        words = re.findall(r"[a-z]+", text.lower())
        assert sum(w in COMMON_EN for w in words) >= 5, text  # English words, not noise
