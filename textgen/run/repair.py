"""Loading a run read-only, working around damage; repairing it before a resume.

Each checkpoint holds copies of config.json and vocab.json as they were when it
was saved. `read_files` reads the run's own files and falls back to those
copies when a file is missing, not JSON, or edited where it may not be;
`load` gives a checkpoint with the config and tokenizer it was trained with,
and the notices of what was worked around; `repair` puts back, before a
resume, what `load` only works around. Which checkpoint stands in for a
damaged one is `textgen.run.checkpoint_file.FALLBACKS`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textgen.errors import CheckpointError, TextgenError
from textgen.fileio import atomic_write_bytes, atomic_write_text
from textgen.run.checkpoint_file import RUN_FILES, Checkpoint
from textgen.run.directory import RunDir
from textgen.run.records import write_state

if TYPE_CHECKING:
    from textgen.config import Config
    from textgen.data.tokenizers.base import Tokenizer


@dataclass
class LoadedRun:
    """A checkpoint with the config and tokenizer it was trained with (`load`)."""

    cfg: Config
    tokenizer: Tokenizer
    checkpoint: Checkpoint
    notices: list[str]  # damage worked around: a fallback checkpoint, a file's copy


def load(run: RunDir, name: str, prefixes: tuple[str, ...] = ("model/",),
         data: bytes | None = None) -> LoadedRun:
    """Reads checkpoint `name` of `run` with the config and vocabulary it was trained with.

    Read-only: damaged files are worked around (see `RunDir.read_checkpoint` and
    `read_files`), never rewritten; `LoadedRun.notices` says what was.

    Args:
        run: the run directory.
        name: "last" or "best".
        prefixes: which arrays to read (see `RunDir.read_checkpoint`).
        data: the checkpoint file's bytes, already read (no checkpoint fallback then).

    Raises:
        CheckpointError: no such run or checkpoint, or damage with no fallback.
        ConfigError: a config.json this textgen cannot use.
    """
    from textgen.config import Config
    from textgen.data.tokenizers import tokenizer_from_config

    run.require(name)
    ckpt = run.read_checkpoint(name, prefixes, data)
    config, vocab, replaced = read_files(run, ckpt)
    notices = [ckpt.notice] if ckpt.notice else []
    return LoadedRun(Config.from_saved(config, str(run.config)),
                     tokenizer_from_config(vocab, str(run.vocab)), ckpt,
                     notices + list(replaced.values()))


def repair(run: RunDir) -> list[str]:
    """Before a resume: puts back what `load` would only work around.

    A damaged 'last' checkpoint is replaced by the 'previous' one, a damaged or
    edited config.json or vocab.json by the checkpoint's copy, and a damaged
    state.json by the checkpoint's progress. Only call this when no other
    process is writing to the run.

    Returns:
        Notices of what was repaired (none when all was well).

    Raises:
        CheckpointError: damage with no fallback.
    """
    ckpt = run.read_checkpoint("last")  # every array, so every checksum is checked
    notices = [ckpt.notice] if ckpt.notice else []
    if ckpt.path != run.checkpoint("last"):
        atomic_write_bytes(run.checkpoint("last"), ckpt.path.read_bytes())
    for name, notice in read_files(run, ckpt)[2].items():
        atomic_write_text(run.path / name, ckpt.files[name])
        notices.append(f"{notice}; restored it")
    try:
        run.read_state()
    except CheckpointError as e:
        write_state(run.state, ckpt.state)
        notices.append(f"warning: {e}; rewrote it from {ckpt.path.name}")
    return notices


def read_files(
    run: RunDir, ckpt: Checkpoint
) -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
    """config.json and vocab.json (parsed) as checkpoint `ckpt` was trained with them.

    Each file is read from the run directory. When it is missing or not JSON,
    or differs from the copy inside the checkpoint where it may not (vocab.json
    anywhere; config.json in its data and model sections: train keys may
    change on --resume), the checkpoint's copy is used, with a notice.

    Returns:
        The config's sections, the vocabulary's content, and a notice for
        each file replaced by its copy, by file name.

    Raises:
        CheckpointError: a file is unusable and the checkpoint holds no copy of
            it (checkpoints saved before textgen kept copies).
    """
    parsed, replaced = [], {}
    for name in RUN_FILES:
        path = run.path / name
        saved = _json_or_none(ckpt.files.get(name, ""))
        if not isinstance(saved, dict):
            saved = None  # no copy, or one that cannot be used: no copy
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            problem = "" if isinstance(raw, dict) else "is not a JSON object"
        except FileNotFoundError:
            raw, problem = None, "is missing"
        except (OSError, ValueError) as e:
            raw, problem = None, f"is damaged ({e})"
        if saved is not None and not problem:
            if name == "vocab.json" and raw != saved:
                problem = "differs from the vocabulary the model was trained with"
            elif name == "config.json" and _shape(raw) != _shape(saved):
                problem = "differs from the data and model settings the model was " \
                          "trained with"
        if problem and saved is None:
            raise CheckpointError(f"{path} {problem}; restore it from a backup, "
                                  "or train a new run")
        if problem:
            raw = saved
            replaced[name] = (f"warning: {path} {problem}; using the copy saved in "
                              f"{ckpt.path.name}")
        parsed.append(raw)
    return parsed[0], parsed[1], replaced


def _json_or_none(text: str) -> Any:
    """`text` parsed as JSON, or None when it is not JSON."""
    try:
        return json.loads(text)
    except ValueError:
        return None


def _shape(config: dict[str, Any]) -> dict[str, Any]:
    """A config's data and model sections as this textgen reads them: keys added since
    a copy was saved take the value that copy's run was trained with, so old copies
    and new files compare equal when they describe the same model and data."""
    from textgen.config import Config

    try:
        full = Config.from_saved(config).to_dict()
    except TextgenError:  # not a config this textgen can read: compare it as it is
        full = config
    return {k: full.get(k) for k in ("data", "model")}
