"""Packaging a trained run as a model directory that textgen finds by name.

`write_model` cuts a run down to what sampling and fine-tuning read (see
`textgen.run.installed` for the layout): the config with fine-tuning's
defaults in its train section and room to grow the vocabulary, the
vocabulary, one checkpoint's weights stored as float16 (half the size; read
back as float32), the model card, and a manifest with every file's sha256.
Needs only NumPy.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from textgen.config import Config, TrainConfig
from textgen.errors import TextgenError
from textgen.fileio import atomic_write_text
from textgen.run.checkpoint_file import FORMAT_VERSION
from textgen.run.directory import RunDir
from textgen.run.installed import CARD, MANIFEST, MANIFEST_FORMAT, Manifest, sha256_of
from textgen.run.repair import load


def _version() -> str:
    """This textgen's version (of its installed distribution)."""
    try:
        return metadata.version("textgen")
    except metadata.PackageNotFoundError:
        return "unknown"


# A fine-tune adds the new corpus's unseen characters up to data.max_vocab.
VOCAB_ROOM = 20000


def model_config(cfg: Config, vocab_size: int) -> Config:
    """The config a model directory ships: the run's model, tokenizer and row shape;
    fine-tuning's defaults for the rest (a fine-tune starts from these)."""
    out = Config()
    out.model = dataclasses.replace(cfg.model)
    for key in ("tokenizer", "seq_len", "batch_size", "jieba_hmm", "user_dict", "normalize"):
        setattr(out.data, key, getattr(cfg.data, key))
    out.data.max_vocab = max(out.data.max_vocab, vocab_size + VOCAB_ROOM)
    out.train = TrainConfig()
    return out


def write_model(
    run_path: Path,
    checkpoint: str,
    out: Path,
    name: str,
    card: str,
    summary: dict[str, Any],
) -> Manifest:
    """Writes model directory `out` from checkpoint `checkpoint` of run `run_path`.

    Args:
        run_path: the trained run.
        checkpoint: "best", "last" or "step-N".
        out: the model directory to (re)create; written beside it, then renamed.
        name: the model's name ("en-base").
        card: the model card's Markdown text.
        summary: what `textgen models` shows (language, trained_on, val_bits_per_char,
            ...); parameters and tokenizer are added here.

    Returns:
        The manifest written.

    Raises:
        CheckpointError: the run or checkpoint cannot be read.
        TextgenError: `out` exists and is not a model directory.
    """
    loaded = load(RunDir(Path(run_path)), checkpoint, prefixes=("model/",))
    tok, ckpt = loaded.tokenizer, loaded.checkpoint
    if out.exists() and not (out / MANIFEST).is_file():
        raise TextgenError(f"{out} exists and is not a model directory; pick another path")
    cfg = model_config(loaded.cfg, tok.vocab_size)
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "checkpoints").mkdir(parents=True)
    config_text = json.dumps(cfg.to_dict(), indent=2, ensure_ascii=False) + "\n"
    vocab_text = json.dumps(tok.get_config(), ensure_ascii=False, indent=1)
    atomic_write_text(tmp / "config.json", config_text)
    atomic_write_text(tmp / "vocab.json", vocab_text)
    arrays = {k: _narrow(v) for k, v in ckpt.arrays.items()}
    state = dataclasses.replace(ckpt.state)
    meta = {"format": FORMAT_VERSION, "state": state.to_dict(), "model_paths": ckpt.model_paths,
            "files": {"config.json": config_text, "vocab.json": vocab_text}}
    arrays["meta"] = np.array(json.dumps(meta, ensure_ascii=False))
    with open(tmp / "checkpoints" / "last.npz", "wb") as f:
        np.savez(f, **arrays)
    atomic_write_text(tmp / CARD, card if card.endswith("\n") else card + "\n")
    n_params = int(sum(n for _, _, n in cfg.model.parameter_table(tok.vocab_size)))
    summary = {"tokenizer": cfg.data.tokenizer, "parameters": n_params,
               "vocab_size": tok.vocab_size, "step": ckpt.state.step, **summary}
    files = {p.relative_to(tmp).as_posix(): sha256_of(p)
             for p in sorted(tmp.rglob("*")) if p.is_file()}
    manifest = {"format": MANIFEST_FORMAT, "name": name, "textgen_version": _version(),
                "summary": summary, "files": files}
    atomic_write_text(tmp / MANIFEST, json.dumps(manifest, indent=1, ensure_ascii=False) + "\n")
    if out.exists():
        shutil.rmtree(out)
    tmp.rename(out)
    return Manifest(name, out, files, summary, _version())


def _narrow(array: np.ndarray) -> np.ndarray:
    """A float32 weight as float16 (what the model directory stores)."""
    if array.dtype == np.float32:
        if np.abs(array).max(initial=0.0) > np.finfo(np.float16).max:
            raise TextgenError("a weight is too large for float16; this run cannot be "
                               "packaged as a model")
        return array.astype(np.float16)
    return array
