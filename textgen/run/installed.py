"""Installed models: base models found by name, checked against their manifest.

A model directory is a run directory cut down to what sampling and
fine-tuning read: config.json, vocab.json and one checkpoint
(checkpoints/last.npz, weights only, float16), plus `manifest.json` (format,
textgen version, a summary, and the sha256 of every file) and `card.md` (how it
was made, how good it is, its limits).

Models are found by name in two places, the first one that has a name wins:
  1. the folders in $TEXTGEN_MODELS (separated like PATH): each subfolder
     holding a manifest.json is a model of the subfolder's name;
  2. installed distributions that register `NAME = "package"` in the entry-point
     group `textgen.models`: the model is the folder `NAME` inside that package
     (textgen's own bases are the distribution in the repository's `models/`).

`resolve` is what every command calls on its RUN_DIR argument: an existing path
wins over a name; a name is verified (every file's checksum) before use; an
unknown name gets "Did you mean" and the list. Nothing here writes to a model.
"""

from __future__ import annotations

import difflib
import hashlib
import importlib
import json
import os
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from textgen.errors import CheckpointError, TextgenError, UnknownModel

__all__ = ["NOT_INSTALLED", "CheckpointError", "Manifest", "UnknownModel", "installed", "is_model",
           "read_manifest", "refuse_a_model", "resolve", "sha256_of", "unknown_message", "verify"]

ENTRY_POINT_GROUP = "textgen.models"
MODELS_ENV = "TEXTGEN_MODELS"
MANIFEST = "manifest.json"
CARD = "card.md"
MANIFEST_FORMAT = 1
NOT_INSTALLED = ("No models are installed: from a textgen clone, python3 quickstart.py demo "
                 "installs the bases (or pip install ./models)")
REINSTALL = ("reinstall it (from a textgen clone: python3 quickstart.py demo, or "
             "pip install --force-reinstall ./models)")


@dataclass(frozen=True)
class Manifest:
    """What `manifest.json` says of a model.

    Attributes:
        name: the model's name ("en-base").
        path: its directory.
        files: sha256 of every file, by path relative to the directory.
        summary: language, tokenizer, parameters, trained_on, val_bits_per_char, ...
        textgen_version: the textgen that wrote it.
    """

    name: str
    path: Path
    files: dict[str, str]
    summary: dict[str, Any]
    textgen_version: str

    @property
    def size_bytes(self) -> int:
        """Bytes of all its files on disk."""
        return sum((self.path / f).stat().st_size for f in self.files)


def installed() -> dict[str, Path]:
    """Every installed model's directory, by name ($TEXTGEN_MODELS first)."""
    found: dict[str, Path] = {}
    for folder in os.environ.get(MODELS_ENV, "").split(os.pathsep):
        if folder and Path(folder).is_dir():
            for sub in sorted(Path(folder).iterdir()):
                if (sub / MANIFEST).is_file():
                    found.setdefault(sub.name, sub)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in found:
            continue
        try:
            package = importlib.import_module(ep.value.split(":")[0])
        except ImportError:
            continue  # a broken distribution: its models are not there
        folder = Path(package.__file__).parent / ep.name
        if folder.is_dir():
            found[ep.name] = folder
    return found


def is_model(path: Path) -> bool:
    """True when `path` is a model directory (it has a manifest.json)."""
    return (path / MANIFEST).is_file()


def resolve(value: str | Path) -> Path:
    """The run or model directory that a RUN_DIR argument names.

    An existing path is returned as it is (a path wins over a name). Else an
    installed model's name returns its directory, verified (`verify`). Anything
    else that could be a name raises `UnknownModel`; a path with a separator is
    returned as it is, for the caller to say that no run is there.

    Raises:
        UnknownModel: not a path, and no installed model has this name.
        CheckpointError: the model's files do not match its manifest.
    """
    path = Path(value)
    if path.exists():
        return path
    text = str(value)
    models = installed()
    if text in models:
        verify(models[text])
        return models[text]
    if os.sep in text or (os.altsep and os.altsep in text) or text.startswith("."):
        return path
    raise UnknownModel(unknown_message(text, sorted(models)))


def unknown_message(name: str, names: list[str]) -> str:
    """"no run directory or model named X" with a "Did you mean" and the list."""
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.5)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    if names:
        listed = f" Installed models: {', '.join(names)} (`textgen models` describes them)"
    else:
        listed = " " + NOT_INSTALLED
    return f"no run directory or model named {name!r}{hint}.{listed}"


def refuse_a_model(path: Path) -> None:
    """Refuses to train in a model directory: models are only read.

    Raises:
        TextgenError: `path` is a model directory.
    """
    if is_model(path):
        raise TextgenError(
            f"{path} is a packaged model, which textgen only reads; train on from it in a "
            f"new run instead: textgen finetune {path.name} CORPUS --out NEW_RUN")


def read_manifest(path: Path) -> Manifest:
    """Reads a model directory's manifest.json (without checking the files).

    Raises:
        CheckpointError: no manifest, or not one this textgen reads.
    """
    file = path / MANIFEST
    try:
        raw = json.loads(file.read_text(encoding="utf-8"))
        files = {str(k): str(v) for k, v in raw["files"].items()}
        fmt = raw["format"]
    except FileNotFoundError as e:
        raise CheckpointError(f"{path} is not a model directory (no {MANIFEST})") from e
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        raise CheckpointError(f"{file} is damaged ({e}); {REINSTALL}") from e
    if fmt != MANIFEST_FORMAT:
        raise CheckpointError(f"{file} has format {fmt!r}, this textgen reads "
                              f"{MANIFEST_FORMAT}; upgrade textgen or {REINSTALL}")
    return Manifest(str(raw.get("name", path.name)), path, files,
                    dict(raw.get("summary", {})), str(raw.get("textgen_version", "")))


_verified: dict[tuple[str, float], Manifest] = {}


def verify(path: Path) -> Manifest:
    """Checks every file of model directory `path` against its manifest's sha256.

    Verified once per process (again if the manifest changes).

    Raises:
        CheckpointError: a file is missing or its bytes differ: names the file
            and how to reinstall.
    """
    key = (str(path.resolve()), (path / MANIFEST).stat().st_mtime
           if (path / MANIFEST).is_file() else 0.0)
    if key in _verified:
        return _verified[key]
    manifest = read_manifest(path)
    for rel, want in manifest.files.items():
        file = path / rel
        try:
            got = sha256_of(file)
        except OSError as e:
            raise CheckpointError(f"model {manifest.name!r}: {file} is missing or unreadable "
                                  f"({e.strerror or e}); {REINSTALL}") from e
        if got != want:
            raise CheckpointError(f"model {manifest.name!r}: {file} is damaged (its sha256 "
                                  f"differs from the manifest's); {REINSTALL}")
    _verified[key] = manifest
    return manifest


def sha256_of(path: Path) -> str:
    """The sha256 of a file's bytes, as hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
