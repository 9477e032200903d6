"""The run directory: its paths, its lock, and reading its files without Keras.

    RUN_DIR/
      config.json          resolved configuration (all keys, defaults filled in)
      vocab.json           the tokenizer: kind, settings and tokens (UTF-8, readable)
      corpus.json          the corpus files, their checksums and the encoded-cache key
      checkpoints/last.npz newest training state: weights, optimizer, RNN state, progress
      checkpoints/best.npz the weights with the lowest validation loss so far
      checkpoints/previous.npz  the 'last' before the newest save: the fallback
                           when last.npz is damaged
      state.json           readable copy of the progress stored in last.npz
      metrics.csv          one row per logging step and per epoch
      lineage.json         fine-tuned runs only: the base run, checkpoint hash, vocabulary

A checkpoint is ONE `.npz` file written atomically, so weights, optimizer
moments and progress can never disagree after a crash. Arrays are stored in the
order Keras lists variables, with their paths and shapes kept for checking.

Damage is detected, not trusted: every array in a checkpoint carries the CRC-32
checksum the zip format records at save time, checked as it is read, and each
checkpoint holds copies of config.json and vocab.json as they were when it was
saved. A damaged checkpoint falls back to the previous one (`FALLBACKS`), a
damaged or edited config.json or vocab.json to the checkpoint's copy, each
with a notice.

This module needs only NumPy: sampling reads checkpoints through it without
importing TensorFlow. Writing checkpoints from a Keras model, and loading them
into one, is `textgen.run.keras_checkpoint`.
"""

from __future__ import annotations

import dataclasses
import io
import json
import math
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from textgen.errors import CheckpointError, IncompatibleCheckpoint, TextgenError

if TYPE_CHECKING:
    from textgen.config import Config
    from textgen.data.tokenizers.base import Tokenizer

FORMAT_VERSION = 1
# Which checkpoints stand in for a damaged one, in order.
FALLBACKS = {"last": ("previous",), "best": ("last", "previous")}
RUN_FILES = ("config.json", "vocab.json")  # copied into every checkpoint


@dataclass
class TrainState:
    """Where training stands; enough to continue exactly."""

    epoch: int = 0  # epochs completed
    step: int = 0  # optimizer steps taken, over all epochs
    batch_in_epoch: int = 0  # next batch index inside the current epoch
    best_val_loss: float | None = None  # nats per token
    last_val_loss: float | None = None
    elapsed_s: float = 0.0  # training wall time, summed over resumed sessions
    tokens_seen: int = 0
    best_val_bpc: float | None = None  # bits per character at the best validation
    last_val_bpc: float | None = None
    first_loss: float | None = None  # the run's first training loss (the explosion guard)
    bad_validations: int = 0  # validations in a row without a new best (early stopping)
    plateau_warned: bool = False  # the loss-plateau warning was given (once per run)

    def to_dict(self) -> dict[str, Any]:
        """Returns a JSON-friendly dict."""
        return dataclasses.asdict(self)


@dataclass
class Checkpoint:
    """What a checkpoint file holds, as NumPy arrays.

    Attributes:
        path: the `.npz` file.
        state: the training progress at the time of the save.
        model_paths: Keras variable paths, in order: `arrays["model/i"]` is `model_paths[i]`.
        arrays: the arrays that were asked for, by key (`model/i`, `optimizer/i`,
            `rnn_state/<layer>/j`).
        files: the text of config.json and vocab.json when it was saved (empty in
            checkpoints written before textgen kept copies).
        notice: set when this checkpoint stands in for a damaged one: what happened.
    """

    path: Path
    state: TrainState
    model_paths: list[str]
    arrays: dict[str, np.ndarray]
    files: dict[str, str] = dataclasses.field(default_factory=dict)
    notice: str = ""

    def weights(self) -> dict[str, np.ndarray]:
        """The model's weights by Keras path (the dropout seed generators' states left out)."""
        return {p: self.arrays[f"model/{i}"] for i, p in enumerate(self.model_paths)
                if "seed_generator" not in p}

    def weight(self, variable_path: str) -> np.ndarray:
        """Returns the model variable saved under Keras path `variable_path`.

        Raises:
            IncompatibleCheckpoint: the checkpoint has no such variable.
        """
        try:
            return self.arrays[f"model/{self.model_paths.index(variable_path)}"]
        except (ValueError, KeyError) as e:
            raise IncompatibleCheckpoint(
                f"{self.path} has no weight {variable_path!r}; it does not match the run's "
                "config.json. Restore the run's files, or train a new run"
            ) from e


@dataclass
class LoadedRun:
    """A checkpoint with the config and tokenizer it was trained with (`RunDir.load`)."""

    cfg: Config
    tokenizer: Tokenizer
    checkpoint: Checkpoint
    notices: list[str]  # damage worked around: a fallback checkpoint, a file's copy


class RunDir:
    """Paths and I/O of one run directory.

    Args:
        path: the run directory (created on first write).
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        self.config = self.path / "config.json"
        self.samples = self.path / "samples.txt"
        self.vocab = self.path / "vocab.json"
        self.corpus = self.path / "corpus.json"
        self.state = self.path / "state.json"
        self.metrics = self.path / "metrics.csv"
        self.lineage = self.path / "lineage.json"  # fine-tuned runs: where they come from

    def checkpoint(self, name: str) -> Path:
        """Path of checkpoint `name` ("last", "best" or "step-NNNNNNNNN")."""
        return self.path / "checkpoints" / f"{name}.npz"

    def pick_checkpoint(self, name: str | None = None) -> str:
        """`name`, or when None the 'best' checkpoint if there is one, else 'last'.

        Raises:
            CheckpointError: the run or that checkpoint does not exist (see `require`).
        """
        name = name or ("best" if self.has_checkpoint("best") else "last")
        self.require(name)
        return name

    def step_checkpoints(self) -> list[Path]:
        """The step checkpoints that `train.keep` keeps (`step-NNNNNNNNN.npz`), oldest first."""
        return sorted((self.path / "checkpoints").glob("step-*.npz"))

    def has_checkpoint(self, name: str = "last") -> bool:
        """Whether checkpoint `name` exists."""
        return self.checkpoint(name).is_file()

    def require(self, name: str = "last") -> Path:
        """Returns checkpoint `name`'s path, or raises a `CheckpointError` that says why."""
        if not self.path.is_dir():
            raise CheckpointError(
                f"{self.path}: no such run directory; train one with `textgen train`"
            )
        if not self.is_textgen_run(with_corpus=False):
            raise CheckpointError(
                f"{self.path} is not a textgen run directory (no config.json/vocab.json)"
            )
        path = self.checkpoint(name)
        if not path.is_file() and not (name == "last" and self.has_checkpoint("previous")):
            if name == "best":
                fix = "no validation has run yet; use --checkpoint last, or train longer"
            else:
                fix = "training never started; run the original `textgen train` command again"
            raise CheckpointError(f"{self.path} has no '{name}' checkpoint yet; {fix}")
        return path

    def is_textgen_run(self, with_corpus: bool = True) -> bool:
        """Whether the directory holds textgen's run files (a checkpoint or not).

        A checkpoint counts for config.json and vocab.json: it holds copies of them.
        """
        files = self.config.is_file() and self.vocab.is_file() or any(
            self.has_checkpoint(n) for n in ("last", "previous"))
        return files and (self.corpus.is_file() or not with_corpus)

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Holds an exclusive lock on the run for the duration of the block.

        Two processes training the same run would overwrite each other's
        checkpoints; the second one gets a clear error instead. (POSIX only; on
        other systems the lock is a no-op.)

        A start that fails before writing anything leaves nothing behind: the
        lock file it made is removed, and so is the directory if it made it.

        Raises:
            TextgenError: another process holds the lock, or the directory
                cannot be created.
        """
        lock_file = self.path / ".lock"
        made_dir, made_lock = not self.path.exists(), not lock_file.exists()
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            handle = open(lock_file, "a+b")  # noqa: SIM115 -- held for the block
        except OSError as e:
            raise TextgenError(
                f"cannot create the run directory {self.path} ({e.strerror or e}); "
                "pick a writable --out"
            ) from e
        try:
            try:
                import fcntl

                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except ImportError:  # not POSIX
                pass
            except BlockingIOError as e:
                handle.close()
                raise TextgenError(
                    f"another textgen process is training {self.path}; wait for it to "
                    "finish or stop it (Ctrl-C saves) before starting this one"
                ) from e
        except BaseException:
            handle.close()
            raise
        try:
            yield
        finally:
            # Only the holder cleans up, and while it still holds the lock.
            try:
                if made_lock and [q.name for q in self.path.iterdir()] == [".lock"]:
                    lock_file.unlink()
                    if made_dir:
                        self.path.rmdir()
            except OSError:
                pass  # cleaning up is a courtesy; never hide the real error
            handle.close()  # also releases the lock

    def remove_stale_temp_files(self) -> list[Path]:
        """Deletes temporary files that a killed process left mid-write.

        Only call this when no other process is writing to the run (on resume).

        Returns:
            The files removed.
        """
        stale = [*self.path.glob(".*.tmp"), *(self.path / "checkpoints").glob(".*.tmp")]
        for path in stale:
            path.unlink(missing_ok=True)
        return stale

    def read_checkpoint(
        self, name: str, prefixes: tuple[str, ...] = ("",), data: bytes | None = None
    ) -> Checkpoint:
        """Reads checkpoint `name`'s progress and the arrays whose keys start with `prefixes`.

        Arrays are read lazily from the `.npz`, so asking only for "model/" skips
        the optimizer moments (two thirds of a `last` checkpoint). Every array
        read is checked against its checksum. When checkpoint `name` is missing or
        damaged, the first readable one of `FALLBACKS[name]` is returned instead,
        with `notice` saying so.

        Args:
            name: "last" or "best".
            prefixes: which arrays to read.
            data: the file's bytes, already read (then the file is not opened again,
                and there is no fallback).

        Raises:
            CheckpointError: missing, unreadable or damaged checkpoint, and no fallback.
            IncompatibleCheckpoint: a checkpoint format this textgen cannot read.
        """
        try:
            return self._read_one(name, prefixes, data)
        except IncompatibleCheckpoint:
            raise
        except CheckpointError as e:
            missing = data is None and not self.checkpoint(name).is_file()
            if data is not None or (missing and name != "last"):
                raise  # a 'best' never saved is not damage: no stand-in
            for other in FALLBACKS.get(name, ()):
                if not self.has_checkpoint(other):
                    continue
                try:
                    ckpt = self._read_one(other, prefixes)
                except CheckpointError:
                    continue
                ckpt.notice = (f"warning: {e}; using the '{other}' checkpoint (step "
                               f"{ckpt.state.step:,}) instead")
                return ckpt
            raise

    def _read_one(
        self, name: str, prefixes: tuple[str, ...], data: bytes | None = None
    ) -> Checkpoint:
        """`read_checkpoint` without the fallback."""
        path = self.checkpoint(name)
        if data is None and not path.is_file():
            raise CheckpointError(f"{path} does not exist; train (or resume) until one is saved")
        try:
            with np.load(path if data is None else io.BytesIO(data), allow_pickle=False) as npz:
                wanted = [k for k in npz.files if k != "meta" and k.startswith(prefixes)]
                _check_sizes(npz.zip, ["meta", *wanted])
                meta = json.loads(str(npz["meta"]))
                arrays = {k: npz[k] for k in wanted}
            raw = meta["state"]
            # Fields added since a checkpoint was written keep their defaults.
            state = TrainState(**{f.name: raw[f.name] for f in dataclasses.fields(TrainState)
                                  if f.name in raw})
            paths = [str(p) for p in meta["model_paths"]]
            files = {str(k): str(v) for k, v in meta.get("files", {}).items()}
        except (OSError, ValueError, KeyError, TypeError, AttributeError, EOFError,
                NotImplementedError, RuntimeError,  # an empty file, an odd zip
                zipfile.BadZipFile) as e:  # a bad CRC-32 is a BadZipFile
            raise CheckpointError(f"{path} is damaged or not a textgen checkpoint ({e})") from e
        if meta.get("format") != FORMAT_VERSION:
            newer = isinstance(meta.get("format"), int) and meta["format"] > FORMAT_VERSION
            raise IncompatibleCheckpoint(
                f"{path} has format {meta.get('format')}, this textgen reads {FORMAT_VERSION}"
                + ("; it was written by a newer textgen: upgrade this one" if newer else "")
            )
        return Checkpoint(path, state, paths, arrays, files)

    def load(self, name: str, prefixes: tuple[str, ...] = ("model/",)) -> LoadedRun:
        """Reads checkpoint `name` with the config and vocabulary it was trained with.

        Read-only: damaged files are worked around (see `read_checkpoint` and
        `read_files`), never rewritten; `LoadedRun.notices` says what was.

        Raises:
            CheckpointError: no such run or checkpoint, or damage with no fallback.
            ConfigError: a config.json this textgen cannot use.
        """
        from textgen.config import Config
        from textgen.data.tokenizers import tokenizer_from_config

        self.require(name)
        ckpt = self.read_checkpoint(name, prefixes)
        config, vocab, replaced = self.read_files(ckpt)
        notices = [ckpt.notice] if ckpt.notice else []
        return LoadedRun(Config.from_dict(config, str(self.config)),
                         tokenizer_from_config(vocab, str(self.vocab)), ckpt,
                         notices + list(replaced.values()))

    def repair(self) -> list[str]:
        """Before a resume: puts back what `load` would only work around.

        A damaged 'last' checkpoint is replaced by the 'previous' one, and a
        damaged or edited config.json or vocab.json by the checkpoint's copy.
        Only call this when no other process is writing to the run.

        Returns:
            Notices of what was repaired (none when all was well).

        Raises:
            CheckpointError: damage with no fallback.
        """
        from textgen.fileio import atomic_write_bytes, atomic_write_text

        ckpt = self.read_checkpoint("last")  # every array, so every checksum is checked
        notices = [ckpt.notice] if ckpt.notice else []
        if ckpt.path != self.checkpoint("last"):
            atomic_write_bytes(self.checkpoint("last"), ckpt.path.read_bytes())
        for name, notice in self.read_files(ckpt)[2].items():
            atomic_write_text(self.path / name, ckpt.files[name])
            notices.append(f"{notice}; restored it")
        return notices

    def read_files(
        self, ckpt: Checkpoint
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
            path = self.path / name
            saved = _json_or_none(ckpt.files.get(name, ""))
            if not isinstance(saved, dict):
                saved = None  # no copy, or one that cannot be used: no copy
            try:
                raw = json.loads(path.read_text(encoding="utf-8"))
                problem = "" if isinstance(raw, dict) else "not a JSON object"
            except FileNotFoundError:
                raw, problem = None, "is missing"
            except (OSError, ValueError) as e:
                raw, problem = None, f"is damaged ({e})"
            if saved is not None and not problem:
                if name == "vocab.json" and raw != saved:
                    problem = "differs from the vocabulary the model was trained with"
                elif name == "config.json" and any(
                    raw.get(k) != saved.get(k) for k in ("data", "model")
                ):
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

    def read_state(self) -> TrainState | None:
        """Returns the progress saved in `state.json`, or None before the first save."""
        try:
            raw = json.loads(self.state.read_text(encoding="utf-8"))
            state = TrainState()
            for f in dataclasses.fields(TrainState):
                default = getattr(state, f.name)
                value = raw.get(f.name, default)
                if value is not None and default is not None:
                    value = type(default)(value)  # int or float, or ValueError
                elif value is not None:
                    value = float(value)  # the optional val losses
                setattr(state, f.name, value)
            return state
        except (OSError, ValueError, TypeError, AttributeError):
            return None


def _json_or_none(text: str) -> Any:
    """`text` parsed as JSON, or None when it is not JSON."""
    try:
        return json.loads(text)
    except ValueError:
        return None


def _check_sizes(archive: zipfile.ZipFile, keys: list[str]) -> None:
    """Checks that each array's header agrees with the bytes stored for it.

    A crafted checkpoint may declare a terabyte-sized array in a few bytes;
    NumPy would allocate it before finding the data short. Object arrays (which
    only pickle could load) are refused too.

    Raises:
        ValueError: a header and its data disagree, or an array holds objects.
    """
    archive.fp.seek(0, 2)
    size = archive.fp.tell()  # of the whole file: a member cannot hold more
    for key in keys:
        info = archive.getinfo(f"{key}.npy")
        if (info.compress_type != zipfile.ZIP_STORED or info.compress_size != info.file_size
                or info.header_offset + info.compress_size > size):
            raise ValueError(f"{key} is stored in a way textgen never writes (compressed, "
                             "or larger than the file)")
        with archive.open(info) as f:
            version = np.lib.format.read_magic(f)
            read_header = {(1, 0): np.lib.format.read_array_header_1_0,
                           (2, 0): np.lib.format.read_array_header_2_0}.get(version)
            if read_header is None:
                raise ValueError(f"{key}: unknown .npy version {version}")
            shape, _, dtype = read_header(f)
            header = f.tell()
        if dtype.hasobject:
            raise ValueError(f"{key} holds Python objects, which textgen never writes")
        if header + math.prod(shape) * dtype.itemsize != info.file_size:
            raise ValueError(f"{key} declares shape {shape} of {dtype}, which its "
                             f"{info.file_size:,} bytes do not hold")
