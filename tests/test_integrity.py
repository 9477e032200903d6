"""Damaged runs: checksums catch the damage, and a copy or the previous checkpoint stands in."""

from __future__ import annotations

import json
import shutil
import struct
import zipfile
from pathlib import Path

import pytest

from tests.conftest import edit_checkpoint_meta, train_run
from tests.test_cli import assert_user_error, invoke
from textgen.errors import CheckpointError
from textgen.run.directory import RunDir
from textgen.run.repair import load, repair


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    """A tiny run saved several times, so it has 'last' and 'previous' (copy it to damage)."""
    return train_run(tmp_path_factory.mktemp("pristine"), steps=12, train__save_every=5)


def _notes(result) -> list[str]:
    """What a command said on stderr besides which checkpoint it used."""
    return [line for line in result.stderr.splitlines()
            if not line.startswith(("sampling ", "textgen "))]


@pytest.fixture
def run(pristine, tmp_path) -> Path:
    copy = tmp_path / "run"
    shutil.copytree(pristine, copy)
    return copy


def _flip_in_member(path: Path, member: str) -> None:
    """Flips one byte of `member`'s data inside the .npz (the zip stays well formed)."""
    info = zipfile.ZipFile(path).getinfo(member)
    raw = bytearray(path.read_bytes())
    name_len, extra_len = struct.unpack("<HH", raw[info.header_offset + 26:][:4])
    last = info.header_offset + 30 + name_len + extra_len + info.compress_size - 1
    raw[last] ^= 0xFF
    path.write_bytes(bytes(raw))


DAMAGE = {
    "truncated": lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]),
    "a byte flipped in a weight": lambda p: _flip_in_member(p, "model/1.npy"),
    "zeroed": lambda p: p.write_bytes(bytes(p.stat().st_size)),
    "deleted": lambda p: p.unlink(),
    "emptied": lambda p: p.write_bytes(b""),
}


def test_previous_is_the_last_but_one(pristine):
    run = RunDir(pristine)
    last, previous = run.read_checkpoint("last"), run.read_checkpoint("previous")
    assert last.state.step == 12 and 0 < previous.state.step < 12
    assert set(last.files) == {"config.json", "vocab.json"}
    assert last.files["vocab.json"] == (pristine / "vocab.json").read_text(encoding="utf-8")
    assert not last.notice


@pytest.mark.parametrize("damage", DAMAGE)
def test_a_damaged_last_falls_back_to_previous(run, damage):
    previous = RunDir(run).read_checkpoint("previous").state.step
    DAMAGE[damage](run / "checkpoints" / "last.npz")
    ckpt = RunDir(run).read_checkpoint("last", prefixes=("model/",))
    assert ckpt.path.name == "previous.npz" and ckpt.state.step == previous
    assert "using the 'previous' checkpoint" in ckpt.notice
    for args in (["sample", run, "--length", 20, "--checkpoint", "last"],
                 ["eval", run, "--checkpoint", "last"], ["info", run]):
        result = invoke(*args)
        assert result.exit_code == 0, result.output
        # Every command, info included, says it on stderr (info's stdout is its report).
        assert "using the 'previous' checkpoint" in result.stderr, (args, result.stderr)
        assert "using the 'previous' checkpoint" not in result.stdout, args
    resumed = invoke("train", "--resume", run, "--max-steps", previous + 3)
    assert resumed.exit_code == 0, resumed.output
    assert "using the 'previous' checkpoint" in resumed.stderr
    assert RunDir(run).read_checkpoint("last").state.step == previous + 3


def test_resume_replaces_a_damaged_last_before_training_on(run):
    DAMAGE["truncated"](run / "checkpoints" / "last.npz")
    assert repair(RunDir(run))  # says what it did
    assert RunDir(run).read_checkpoint("last").notice == ""  # 'last' is whole again
    assert repair(RunDir(run)) == []


def test_damage_without_a_fallback_is_one_clear_error(run):
    DAMAGE["truncated"](run / "checkpoints" / "last.npz")
    DAMAGE["zeroed"](run / "checkpoints" / "previous.npz")
    assert_user_error(invoke("sample", run, "--checkpoint", "last"), "last.npz is damaged")
    assert_user_error(invoke("train", "--resume", run), "last.npz is damaged")


def test_an_edited_vocabulary_is_replaced_by_the_checkpoints_copy(run):
    before = invoke("sample", run, "--length", 60, "--seed", 3).stdout
    vocab = json.loads((run / "vocab.json").read_text(encoding="utf-8"))
    i, j = vocab["tokens"].index("a"), vocab["tokens"].index("e")
    vocab["tokens"][i], vocab["tokens"][j] = "e", "a"  # still valid JSON, wrong meaning
    (run / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    after = invoke("sample", run, "--length", 60, "--seed", 3)
    assert after.exit_code == 0 and after.stdout == before
    assert "vocab.json differs from the vocabulary the model was trained with" in after.stderr
    resumed = invoke("train", "--resume", run, "--max-steps", 14)
    assert resumed.exit_code == 0 and "restored it" in resumed.stderr, resumed.output
    assert _notes(invoke("sample", run, "--length", 5)) == []  # repaired on disk


@pytest.mark.parametrize("damage", ["truncate", "model change", "delete"])
def test_a_damaged_config_is_replaced_by_the_checkpoints_copy(run, damage):
    path = run / "config.json"
    if damage == "truncate":
        path.write_bytes(path.read_bytes()[:40])
    elif damage == "model change":
        raw = json.loads(path.read_text(encoding="utf-8"))
        raw["model"]["units"] = 999
        path.write_text(json.dumps(raw), encoding="utf-8")
    else:
        path.unlink()
    for args in (["sample", run, "--length", 20], ["eval", run]):
        result = invoke(*args)
        assert result.exit_code == 0, result.output
        assert "config.json" in result.stderr and "using the copy" in result.stderr
    assert invoke("train", "--resume", run, "--max-steps", 13).exit_code == 0
    assert json.loads(path.read_text(encoding="utf-8"))["model"]["units"] == 16


def test_train_keys_may_change_in_the_config(run):
    """--resume rewrites config.json with new train keys: that is not damage."""
    assert invoke("train", "--resume", run, "--max-steps", 13, "--set",
                  "train.lr=0.001").exit_code == 0
    result = invoke("sample", run, "--length", 5)
    assert result.exit_code == 0 and _notes(result) == []


def test_old_checkpoints_without_copies_still_load_and_fail_clearly(run):
    """Checkpoints saved before textgen kept copies have none to fall back on."""
    edit_checkpoint_meta(run / "checkpoints" / "last.npz", lambda meta: meta.pop("files"))
    assert invoke("sample", run, "--length", 5, "--checkpoint", "last").exit_code == 0
    (run / "config.json").write_text("{ not json", encoding="utf-8")
    with pytest.raises(CheckpointError, match="config.json is damaged"):
        load(RunDir(run), "last")


def test_a_missing_best_is_an_error_not_a_fallback(run):
    (run / "checkpoints" / "best.npz").unlink()  # every stop validates: the run had one
    with pytest.raises(CheckpointError, match="best.npz does not exist"):
        RunDir(run).read_checkpoint("best")


def test_a_damaged_copy_counts_as_none(run):
    """A copy that is not JSON is never used; the file on disk is, if it is good."""
    edit_checkpoint_meta(run / "checkpoints" / "last.npz",
                         lambda meta: meta["files"].update({"config.json": "{ cut sh"}))
    result = invoke("sample", run, "--length", 5, "--checkpoint", "last")
    assert result.exit_code == 0 and _notes(result) == [], result.output
    (run / "config.json").write_text("{ also cut", encoding="utf-8")
    assert_user_error(invoke("sample", run, "--checkpoint", "last"), "config.json is damaged")


@pytest.mark.parametrize("damage", [d for d in DAMAGE if d != "deleted"])
def test_a_damaged_best_falls_back_to_last_then_previous(char_run, tmp_path, damage):
    run = tmp_path / "run"
    shutil.copytree(char_run, run)  # char_run has validated: it has a 'best'
    last = RunDir(run).read_checkpoint("last").state.step
    DAMAGE[damage](run / "checkpoints" / "best.npz")
    ckpt = RunDir(run).read_checkpoint("best", prefixes=("model/",))
    assert ckpt.path.name == "last.npz" and ckpt.state.step == last
    assert "using the 'last' checkpoint" in ckpt.notice
    for args in (["sample", run, "--checkpoint", "best", "--length", 20],
                 ["eval", run, "--checkpoint", "best"]):
        result = invoke(*args)
        assert result.exit_code == 0, result.output
        assert "using the 'last' checkpoint" in result.stderr, (args, result.stderr)
    assert f"step {last:,}" in invoke("eval", run, "--checkpoint", "best").stdout
    previous = RunDir(run).read_checkpoint("previous").state.step
    DAMAGE["truncated"](run / "checkpoints" / "last.npz")
    ckpt = RunDir(run).read_checkpoint("best", prefixes=("model/",))
    assert ckpt.path.name == "previous.npz" and ckpt.state.step == previous
