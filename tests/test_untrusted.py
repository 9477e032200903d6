"""Runs from elsewhere and absurd input: refused with one clear line, never executed or
allocated."""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import TINY_TEXT, edit_checkpoint_meta, train_run
from tests.test_cli import assert_user_error, invoke, sets
from textgen.config import Config, check_fits_in_memory
from textgen.errors import ConfigError


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    return train_run(tmp_path_factory.mktemp("shared"), steps=6)


@pytest.fixture
def run(pristine, tmp_path) -> Path:
    """A copy of a run as someone might share it: only 'last', no fallback."""
    copy = tmp_path / "run"
    shutil.copytree(pristine, copy)
    (copy / "checkpoints" / "previous.npz").unlink(missing_ok=True)
    (copy / "checkpoints" / "best.npz").unlink(missing_ok=True)  # saved at the stop
    return copy


def _rewrite(path: Path, change) -> None:
    """Rewrites the .npz with `change(members)` applied to its raw .npy members."""
    with zipfile.ZipFile(path) as z:
        members = {name: z.read(name) for name in z.namelist()}
    change(members)
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)


def _npy(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, array, allow_pickle=True)
    return buf.getvalue()


def _huge_header(members: dict[str, bytes]) -> None:
    """model/1.npy claims 10**12 floats (4 TB) but keeps its few real bytes."""
    raw = members["model/1.npy"]
    start, end = raw.index(b"'shape': (") + len(b"'shape': ("), raw.index(b"), }")
    shape = b"1000000000000,"
    raw = raw[:start] + shape + raw[end:].replace(b" " * (len(shape) - (end - start)), b"", 1)
    members["model/1.npy"] = raw


CRAFTED = {
    "an object array (pickle)": lambda m: m.__setitem__(
        "model/1.npy", _npy(np.array([{"run": "code"}], dtype=object))),
    "a 4 TB array in a few bytes": _huge_header,
    "a newer format": None,  # see below
}


@pytest.mark.parametrize("craft, needle", [
    ("an object array (pickle)", "Python objects"),
    ("a 4 TB array in a few bytes", "do not hold"),
])
def test_crafted_checkpoints_are_refused(run, craft, needle):
    _rewrite(run / "checkpoints" / "last.npz", CRAFTED[craft])
    for command in ("sample", "info", "eval"):
        assert_user_error(invoke(command, run), needle)
    assert_user_error(invoke("train", "--resume", run), needle)


def test_a_crafted_size_is_refused_for_its_size_before_any_allocation(run):
    import tracemalloc

    from textgen.errors import CheckpointError
    from textgen.run.checkpoint_file import read_npz

    path = run / "checkpoints" / "last.npz"
    _rewrite(path, _huge_header)
    with zipfile.ZipFile(path) as z:
        stored = z.getinfo("model/1.npy").file_size
    tracemalloc.start()
    try:
        with pytest.raises(CheckpointError) as e:
            read_npz(path, ("model/",))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # The header check said why, naming the shape and the bytes really there...
    assert str(e.value) == (
        f"{path} is damaged or not a textgen checkpoint (model/1 declares shape "
        f"(1000000000000,) of float32, which its {stored:,} bytes do not hold)")
    assert peak < 64 * 2**20  # ...before NumPy reserved the 4 TB the header claims


def test_a_checkpoint_from_a_newer_textgen(run):
    edit_checkpoint_meta(run / "checkpoints" / "last.npz",
                         lambda meta: meta.update({"format": 99}))
    assert_user_error(invoke("sample", run), "written by a newer textgen")


def test_a_crafted_vocabulary_and_config_must_match_the_weights(run):
    """Files and the checkpoint's copies changed alike: the shapes still disagree."""
    def craft(meta: dict) -> None:
        vocab = json.loads(meta["files"]["vocab.json"])
        vocab["tokens"] += ["ξ", "ψ"]
        config = json.loads(meta["files"]["config.json"])
        config["model"]["units"] = 10**6  # 4 * 10**12 parameters
        for name, raw in (("vocab.json", vocab), ("config.json", config)):
            meta["files"][name] = json.dumps(raw)
            (run / name).write_text(json.dumps(raw), encoding="utf-8")

    edit_checkpoint_meta(run / "checkpoints" / "last.npz", craft)
    assert_user_error(invoke("sample", run), "vocabulary")
    assert_user_error(invoke("train", "--resume", run), "GiB")


def test_a_model_too_big_for_memory_is_refused_before_building():
    cfg = Config()
    check_fits_in_memory(cfg, 65, ram_bytes=2**30)  # char-medium-sized: fine in 1 GiB
    cfg.model.units = 10**6
    with pytest.raises(ConfigError, match=r"needs about .* GiB .* lower model.units"):
        check_fits_in_memory(cfg, 65, ram_bytes=24 * 2**30)


@pytest.mark.parametrize("args, needle", [
    (["--set", "data.batch_size=0"], "data.batch_size"),
    (["--set", "model.units=-1"], "model.units"),
    (["--set", "data.seq_len=10000000"], "data.seq_len"),
    (["--set", "model.units=1000000"], "GiB"),
    (["--epochs", "-3"], "--epochs"),
    (["--set", "train.lr=nan"], "finite"),
])
def test_absurd_options(tmp_path, args, needle):
    corpus = tmp_path / "c.txt"
    corpus.write_text(TINY_TEXT, encoding="utf-8")
    result = invoke("train", corpus, "--out", tmp_path / "r", *sets(), *args)
    assert_user_error(result, needle)
    assert not (tmp_path / "r").exists()  # a failed start leaves nothing behind


def test_a_huge_learning_rate_stops_with_advice(tmp_path):
    corpus = tmp_path / "c.txt"
    corpus.write_text(TINY_TEXT, encoding="utf-8")
    result = invoke("train", corpus, "--out", tmp_path / "r", *sets("train.lr=1e9",
                    "train.clip_norm=0"), "--max-steps", 40)
    assert_user_error(result, "train.lr")


def test_sampling_options_out_of_range(pristine):
    assert_user_error(invoke("sample", pristine, "--temperature", "nan"), "temperature")
    assert_user_error(invoke("sample", pristine, "--prime", "\x01\x02"), "never saw")


def test_a_config_syntax_error_names_the_line(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[model]\nunits = 128\nlayers = = 2\n", encoding="utf-8")
    corpus = tmp_path / "c.txt"
    corpus.write_text(TINY_TEXT, encoding="utf-8")
    assert_user_error(invoke("train", corpus, "--config", bad), "line 3")
