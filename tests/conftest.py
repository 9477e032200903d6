"""Shared fixtures: a private cache directory, a tiny corpus and a tiny config."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from textgen.config import Config

DATA = Path(__file__).parent / "data"

# A few hundred lines of real text: enough for several stateful batches of a tiny model.
TINY_TEXT = (
    "First Citizen:\nBefore we proceed any further, hear me speak.\n\n"
    "All:\nSpeak, speak.\n\n"
    "First Citizen:\nYou are all resolved rather to die than to famish?\n\n"
    "All:\nResolved. resolved.\n\n"
) * 40


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    """Every test gets its own encoded-corpus cache (never the user's ~/.cache)."""
    monkeypatch.setenv("TEXTGEN_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture
def tiny_corpus(tmp_path: Path) -> Path:
    """A ~8 KB English corpus file."""
    path = tmp_path / "tiny.txt"
    path.write_text(TINY_TEXT, encoding="utf-8")
    return path


def tiny_config(**overrides) -> Config:
    """A model small enough to train a few steps in well under a second."""
    cfg = Config()
    cfg.data.seq_len, cfg.data.batch_size, cfg.data.val_frac = 16, 4, 0.1
    cfg.model.embedding_dim, cfg.model.units, cfg.model.layers = 8, 16, 2
    cfg.train.epochs, cfg.train.save_every, cfg.train.log_every = 2, 5, 5
    # The same numerics on every machine ("auto" picks bfloat16 on some CPUs only);
    # tests of mixed_bfloat16 ask for it by name.
    cfg.train.precision = "float32"
    for dotted, value in overrides.items():
        section, key = dotted.split("__")
        setattr(getattr(cfg, section), key, value)
    return cfg


TINY_SETS = [
    "data.seq_len=16", "data.batch_size=4", "data.val_frac=0.1",
    "model.embedding_dim=8", "model.units=16", "model.layers=2",
    "train.epochs=2", "train.save_every=5", "train.log_every=5", "train.precision=float32",
]


def train_run(root: Path, text: str = TINY_TEXT, steps: int = 30, **overrides) -> Path:
    """Trains a tiny run through the library and returns its directory.

    `overrides` are `section__key=value` pairs, as in `tiny_config`.
    """
    from textgen.data.encode import EncodeOptions
    from textgen.run.opening import new_run
    from textgen.train.trainer import Trainer

    root.mkdir(parents=True, exist_ok=True)
    corpus = root / "corpus.txt"
    corpus.write_text(text, encoding="utf-8")
    cfg = tiny_config(**overrides)
    cfg.train.max_steps = steps
    run, enc, _ = new_run(cfg, [corpus], root / "run", EncodeOptions(cache_dir=root / "cache"))
    Trainer(cfg, enc, run).fit()
    return run.path


@pytest.fixture(scope="session")
def char_run(tmp_path_factory) -> Path:
    """A tiny character-level run trained past its first epoch, so it has a 'best'
    checkpoint (shared: do not modify it)."""
    return train_run(tmp_path_factory.mktemp("char_run"), steps=300, train__lr=0.01,
                     model__units=32, train__epochs=5)


@pytest.fixture(scope="session")
def tang_run(tmp_path_factory) -> Path:
    """A tiny char model of Tang poems (traditional characters), shared by the poetry
    tests (do not modify it)."""
    text = (DATA / "excerpts" / "tang-poems.txt").read_text(encoding="utf-8")
    return train_run(tmp_path_factory.mktemp("tang"), text=text, steps=20, model__units=32)


@pytest.fixture(scope="session")
def served_runs(tmp_path_factory, char_run):
    """Served run directories by name: English and Chinese characters, Chinese words,
    and a fine-tuned run."""
    from tests.test_cli import invoke

    root = tmp_path_factory.mktemp("served")
    zh_text = (DATA / "excerpts" / "xiyouji.txt").read_text(encoding="utf-8")
    names = {
        "en": char_run,
        "zh": train_run(root / "zh-train", text=zh_text, steps=30, model__units=32),
        "words": train_run(root / "words-train", text=zh_text, steps=10,
                           data__tokenizer="word"),
    }
    mine = root / "mine.txt"
    mine.write_text("Speak, speak. " * 200, encoding="utf-8")
    result = invoke("finetune", char_run, mine, "--out", root / "ft-train", "--max-steps", 2)
    assert result.exit_code == 0, result.output
    names["tuned"] = root / "ft-train"
    links = {}
    for name, path in names.items():
        links[name] = root / name
        links[name].symlink_to(path)
    return links


def edit_checkpoint_meta(path: Path, edit: Callable[[dict], None]) -> None:
    """Rewrites the JSON `meta` entry of checkpoint `path` in place through `edit` (to
    make a checkpoint as an older or newer textgen, or a crafted one, would write it)."""
    import numpy as np

    with np.load(path) as npz:
        arrays = {k: npz[k] for k in npz.files}
    meta = json.loads(str(arrays["meta"]))
    edit(meta)
    arrays["meta"] = np.array(json.dumps(meta))
    with open(path, "wb") as f:
        np.savez(f, **arrays)
