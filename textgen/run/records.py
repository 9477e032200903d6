"""The run's JSON records, typed: corpus.json, lineage.json and state.json.

Each record is read and checked here, and only here: a damaged file is one
`CheckpointError` that names it and the fix, never a `KeyError` somewhere
else. Each is written here too, atomically. Fields added after a record was
first written have defaults, so older runs still read.

    corpus.json   `CorpusRecord`: the corpus files, their checksums and
                  encodings, the encoded-cache key and the encoding's figures
    lineage.json  `Lineage`: fine-tuned runs only; its bases, nearest first
                  (no file: the run was not fine-tuned)
    state.json    `TrainState`: a readable copy of the progress in last.npz
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from textgen.errors import CheckpointError
from textgen.fileio import atomic_write_text

_REQUIRED = object()
R = TypeVar("R")


class _Damaged(ValueError):
    """A record's content does not have the shape textgen writes (internal)."""


def _get(raw: dict[str, Any], key: str, kind: type | tuple[type, ...],
         default: Any = _REQUIRED) -> Any:
    """`raw[key]`, checked to be a `kind`; `default` when absent (if given)."""
    if key not in raw:
        if default is _REQUIRED:
            raise _Damaged(f"no {key!r}")
        return default
    value = raw[key]
    if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
        raise _Damaged(f"{key!r} is {value!r}")  # JSON true is not a number
    if not isinstance(value, kind):
        raise _Damaged(f"{key!r} is {value!r}")
    return value


def _read_json(path: Path) -> dict[str, Any] | None:
    """The JSON object in `path`; None when the file does not exist.

    Raises:
        _Damaged: not UTF-8, not JSON, or not an object.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as e:  # a UnicodeDecodeError is a ValueError
        raise _Damaged(str(e)) from e
    try:
        raw = json.loads(text)
    except ValueError as e:
        raise _Damaged(f"not JSON: {e}") from e
    if not isinstance(raw, dict):
        raise _Damaged("not a JSON object")
    return raw


def _read_record(path: Path, parse: Callable[[dict[str, Any]], R], fix: str) -> R | None:
    """The record in `path` as `parse` makes it; None when the file does not exist.

    Raises:
        CheckpointError: the file is damaged; the message ends with `fix`.
    """
    try:
        raw = _read_json(path)
        return None if raw is None else parse(raw)
    except ValueError as e:
        raise CheckpointError(f"{path} is damaged ({e}); {fix}") from e


def _write_json(path: Path, content: dict[str, Any]) -> None:
    atomic_write_text(path, json.dumps(content, indent=2, ensure_ascii=False) + "\n")


# === state.json ===


@dataclass
class TrainState:
    """Where training stands; enough to continue exactly."""

    epoch: int = 0  # epochs completed
    step: int = 0  # optimizer steps taken, over all epochs
    batch_in_epoch: int = 0  # next batch index inside the current epoch
    best_val_loss: float | None = None  # nats per token
    last_val_loss: float | None = None
    # The steps those figures were measured at (None in runs from before they were kept).
    best_val_step: int | None = None
    last_val_step: int | None = None
    elapsed_s: float = 0.0  # training wall time, summed over resumed sessions
    tokens_seen: int = 0
    best_val_bpc: float | None = None  # bits per character at the best validation
    last_val_bpc: float | None = None
    first_loss: float | None = None  # the run's first training loss (the explosion guard)
    bad_validations: int = 0  # validations in a row without a new best (early stopping)
    # The best loss of the validations train.patience counts (epoch ends, eval_every; not
    # a stop's), what each is judged against; None: best_val_loss (runs from before).
    patience_bar: float | None = None
    plateau_warned: bool = False  # the loss-plateau warning was given (once per run)

    def to_dict(self) -> dict[str, Any]:
        """Returns a JSON-friendly dict."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> TrainState:
        """Reads what `to_dict` wrote; fields it lacks (added since) keep their defaults.

        Raises:
            ValueError: a field has the wrong type.
        """
        state = cls()
        for f in dataclasses.fields(cls):
            default = getattr(state, f.name)
            if isinstance(default, bool):
                value = _get(raw, f.name, bool, default)
            elif isinstance(default, int):
                value = _get(raw, f.name, int, default)
            elif isinstance(default, float):
                value = float(_get(raw, f.name, (int, float), default))
            elif f.name.endswith("_step"):  # the optional steps
                value = _get(raw, f.name, (int, type(None)), None)
            else:  # the optional losses
                value = _get(raw, f.name, (int, float, type(None)), None)
                value = None if value is None else float(value)
            setattr(state, f.name, value)
        return state


def read_state(path: Path) -> TrainState | None:
    """The progress saved in state.json at `path`; None before the first save.

    Raises:
        CheckpointError: the file is damaged.
    """
    return _read_record(path, TrainState.from_dict, "it is rewritten from the 'last' "
                        "checkpoint by `textgen train --resume`, or delete it")


def write_state(path: Path, state: TrainState) -> None:
    """Writes state.json atomically."""
    _write_json(path, state.to_dict())


# === corpus.json ===


@dataclass
class CorpusFile:
    """One corpus file as it was read when the run was made."""

    path: Path  # absolute
    sha256: str
    n_bytes: int
    encoding: str  # the codec it was decoded with ("utf-8-sig", "gb18030", ...)

    def to_dict(self) -> dict[str, Any]:
        """The entry as corpus.json holds it."""
        return {"path": str(self.path), "sha256": self.sha256, "bytes": self.n_bytes,
                "encoding": self.encoding}


@dataclass
class CorpusRecord:
    """What corpus.json holds: the files, the cache key of their encoding, its figures.

    Attributes:
        files: the corpus files, in reading order.
        cache_key: the encoded-cache key (a resume tells from it that the files changed).
        n_tokens, n_chars: the encoded corpus's size.
        coverage: share of corpus tokens that are in the vocabulary.
        unk_chars: mean characters per out-of-vocabulary token (for bits/char).
        unk_nats: nats to spell out one <unk> token (0 in runs from before it was kept).
        vocab_size: the vocabulary's size, <unk> included (None in old records).
        vocabulary: "built" from the corpus, or "given" (fine-tuning, or a corpus
            changed under --allow-changed-corpus).
        version: the cache format the key was made with.
    """

    files: list[CorpusFile]
    cache_key: str
    n_tokens: int
    n_chars: int
    coverage: float
    unk_chars: float = 0.0
    unk_nats: float = 0.0
    vocab_size: int | None = None
    vocabulary: str = "built"
    version: int | None = None

    @property
    def given_vocabulary(self) -> bool:
        """Whether the vocabulary came with the run rather than from the corpus."""
        return self.vocabulary == "given"

    def to_dict(self) -> dict[str, Any]:
        """The record as corpus.json holds it."""
        return {
            "files": [f.to_dict() for f in self.files], "cache_key": self.cache_key,
            "version": self.version, "n_tokens": self.n_tokens, "n_chars": self.n_chars,
            "coverage": self.coverage, "unk_chars": self.unk_chars, "unk_nats": self.unk_nats,
            "vocab_size": self.vocab_size, "vocabulary": self.vocabulary,
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> CorpusRecord:
        """Reads what `to_dict` wrote.

        Raises:
            ValueError: a field is missing or has the wrong type.
        """
        files = []
        for entry in _get(raw, "files", list):
            if not isinstance(entry, dict):
                raise _Damaged(f"a file entry is {entry!r}")
            files.append(CorpusFile(Path(_get(entry, "path", str)),
                                    _get(entry, "sha256", str, ""),
                                    _get(entry, "bytes", int, 0), _get(entry, "encoding", str)))
        vocabulary = _get(raw, "vocabulary", str, "built")
        if vocabulary not in ("built", "given"):
            raise _Damaged(f"'vocabulary' is {vocabulary!r}")
        return cls(
            files=files, cache_key=_get(raw, "cache_key", str),
            n_tokens=_get(raw, "n_tokens", int), n_chars=_get(raw, "n_chars", int),
            coverage=float(_get(raw, "coverage", (int, float))),
            unk_chars=float(_get(raw, "unk_chars", (int, float), 0.0)),
            unk_nats=float(_get(raw, "unk_nats", (int, float), 0.0)),
            vocab_size=_get(raw, "vocab_size", (int, type(None)), None),
            vocabulary=vocabulary, version=_get(raw, "version", (int, type(None)), None),
        )


def read_corpus(path: Path) -> CorpusRecord | None:
    """The corpus record at `path` (a run's corpus.json); None when there is none.

    Raises:
        CheckpointError: the file is damaged.
    """
    return _read_record(path, CorpusRecord.from_dict,
                        "restore it from a backup, or train a new run")


def write_corpus(path: Path, record: CorpusRecord) -> None:
    """Writes corpus.json atomically."""
    _write_json(path, record.to_dict())


# === lineage.json ===


@dataclass
class LineageEntry:
    """One base of a fine-tuned run."""

    run: str  # the base run directory, absolute
    checkpoint: str  # "best" or "last"
    sha256: str  # of the checkpoint file the weights came from
    step: int
    vocab: str  # "extend", "unk" or "strict"
    tokens_added: int = 0
    added_examples: list[str] = field(default_factory=list)  # the first few tokens added

    def to_dict(self) -> dict[str, Any]:
        """The entry as lineage.json holds it."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, raw: Any) -> LineageEntry:
        """Reads what `to_dict` wrote.

        Raises:
            ValueError: a field is missing or has the wrong type.
        """
        if not isinstance(raw, dict):
            raise _Damaged(f"an entry is {raw!r}")
        examples = _get(raw, "added_examples", list, [])
        return cls(_get(raw, "run", str), _get(raw, "checkpoint", str), _get(raw, "sha256", str),
                   _get(raw, "step", int), _get(raw, "vocab", str),
                   _get(raw, "tokens_added", int, 0), [str(t) for t in examples])


@dataclass
class Lineage:
    """Where a fine-tuned run comes from: its base, then the base's bases."""

    chain: list[LineageEntry]

    def to_dict(self) -> dict[str, Any]:
        """The record as lineage.json holds it."""
        return {"chain": [e.to_dict() for e in self.chain]}


def read_lineage(path: Path) -> Lineage | None:
    """The lineage at `path` (a run's lineage.json); None when the run was not fine-tuned.

    Raises:
        CheckpointError: the file is damaged.
    """
    return _read_record(
        path, lambda raw: Lineage([LineageEntry.from_dict(e) for e in _get(raw, "chain", list)]),
        "restore it from a backup, or delete it (the run then forgets which base it came from)")


def write_lineage(path: Path, lineage: Lineage) -> None:
    """Writes lineage.json atomically."""
    _write_json(path, lineage.to_dict())
