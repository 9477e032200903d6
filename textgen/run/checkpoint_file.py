"""A checkpoint file: what it holds, reading and checking it, and its fallback.

A checkpoint is ONE `.npz` file written atomically, so weights, optimizer
moments and progress can never disagree after a crash. Arrays are stored in the
order Keras lists variables, with their paths and shapes kept for checking.

Damage is detected, not trusted: every array carries the CRC-32 checksum the
zip format records at save time, checked as it is read, and each array's
`.npy` header is checked against the bytes stored for it before anything is
allocated. A damaged checkpoint falls back to the one `FALLBACKS` names, with
a notice: a damaged 'last' to 'previous' (the 'last' before the newest save),
a damaged 'best' to 'last', then 'previous'.

Needs only NumPy: sampling reads checkpoints without importing TensorFlow.
Writing them from a Keras model is `textgen.run.keras_checkpoint`; the copies
of config.json and vocab.json each one holds are used by `textgen.run.repair`.
"""

from __future__ import annotations

import dataclasses
import io
import json
import math
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from textgen.errors import CheckpointError, IncompatibleCheckpoint
from textgen.run.records import TrainState

FORMAT_VERSION = 1
# Which checkpoints stand in for a damaged one, in order.
FALLBACKS = {"last": ("previous",), "best": ("last", "previous")}
RUN_FILES = ("config.json", "vocab.json")  # copied into every checkpoint


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


def checkpoint_path(folder: Path, name: str) -> Path:
    """Path of checkpoint `name` ("last", "best", "previous" or "step-NNNNNNNNN") in `folder`."""
    return folder / f"{name}.npz"


def read_checkpoint(
    folder: Path, name: str, prefixes: tuple[str, ...] = ("",), data: bytes | None = None
) -> Checkpoint:
    """Reads checkpoint `name`'s progress and the arrays whose keys start with `prefixes`.

    Arrays are read lazily from the `.npz`, so asking only for "model/" skips
    the optimizer moments (two thirds of a `last` checkpoint). Every array
    read is checked against its checksum. When checkpoint `name` is missing or
    damaged, the first readable one of `FALLBACKS[name]` is returned instead,
    with `notice` saying so.

    Args:
        folder: the run's checkpoints folder.
        name: "last" or "best".
        prefixes: which arrays to read.
        data: the file's bytes, already read (then the file is not opened again,
            and there is no fallback).

    Raises:
        CheckpointError: missing, unreadable or damaged checkpoint, and no fallback.
        IncompatibleCheckpoint: a checkpoint format this textgen cannot read.
    """
    path = checkpoint_path(folder, name)
    try:
        return read_npz(path, prefixes, data)
    except IncompatibleCheckpoint:
        raise
    except CheckpointError as e:
        missing = data is None and not path.is_file()
        if data is not None or (missing and name != "last"):
            raise  # a 'best' never saved is not damage: no stand-in
        for other in FALLBACKS.get(name, ()):
            if not checkpoint_path(folder, other).is_file():
                continue
            try:
                ckpt = read_npz(checkpoint_path(folder, other), prefixes)
            except CheckpointError:
                continue
            ckpt.notice = (f"warning: {e}; using the '{other}' checkpoint (step "
                           f"{ckpt.state.step:,}) instead")
            return ckpt
        raise


def read_npz(path: Path, prefixes: tuple[str, ...] = ("",), data: bytes | None = None
             ) -> Checkpoint:
    """Reads one checkpoint file (`data`: its bytes, already read), with no fallback.

    Raises:
        CheckpointError: missing, unreadable or damaged.
        IncompatibleCheckpoint: a format this textgen cannot read.
    """
    if data is None and not path.is_file():
        raise CheckpointError(f"{path} does not exist; train (or resume) until one is saved")
    try:
        with np.load(path if data is None else io.BytesIO(data), allow_pickle=False) as npz:
            wanted = [k for k in npz.files if k != "meta" and k.startswith(prefixes)]
            _check_sizes(npz.zip, ["meta", *wanted])
            meta = json.loads(str(npz["meta"]))
            # A shipped model stores its weights as float16 (half the size); the
            # model computes in float32, so they are widened as they are read.
            arrays = {k: _widen(npz[k]) for k in wanted}
        # Fields added since a checkpoint was written keep their defaults.
        state = TrainState.from_dict(meta["state"])
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


def _widen(array: np.ndarray) -> np.ndarray:
    """A float16 array as float32; any other array as it is."""
    return array.astype(np.float32) if array.dtype == np.float16 else array


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
