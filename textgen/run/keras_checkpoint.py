"""Saving a Keras model's training state into a run's checkpoint, and loading it back.

The file layout and the Keras-free reading live in `textgen.run.checkpoint_file`; this
module is the Keras side: which variables go into a checkpoint (weights,
seed-generator states, optimizer moments, the LSTM states that Keras 3 keeps
outside `model.variables`) and how they are assigned back.
"""

from __future__ import annotations

import json

import numpy as np

from textgen.backend import keras
from textgen.errors import CheckpointError, IncompatibleCheckpoint, TrainingDiverged
from textgen.fileio import atomic_write
from textgen.model.network import recurrent_layers
from textgen.run.checkpoint_file import FORMAT_VERSION, RUN_FILES
from textgen.run.directory import RunDir
from textgen.run.records import TrainState, write_state


def save_checkpoint(
    run: RunDir,
    name: str,
    model: keras.Model,
    state: TrainState,
    optimizer: keras.optimizers.Optimizer | None = None,
) -> None:
    """Writes checkpoint `name` of `run` atomically (and `state.json` for "last").

    Args:
        run: the run directory.
        name: "last", "best" or "step-NNNNNNNNN" (`train.keep`).
        model: the training model; its weights, RNG and recurrent states are saved.
        state: training progress.
        optimizer: saved too when given (needed for exact resume).

    Raises:
        TrainingDiverged: a trainable weight is NaN or infinite (nothing is written).
    """
    arrays: dict[str, np.ndarray] = {}
    for i, v in enumerate(model.variables):
        arrays[f"model/{i}"] = np.asarray(v.numpy())
        if v.trainable and not np.isfinite(arrays[f"model/{i}"]).all():
            # Never replace a good checkpoint with a diverged one.
            raise TrainingDiverged(
                f"the weights became NaN or infinite at step {state.step:,}; the "
                f"'{name}' checkpoint was not overwritten. Resume with a lower "
                f"train.lr, or start a new run"
            )
    for layer in recurrent_layers(model):
        for j, s in enumerate(layer.states):
            arrays[f"rnn_state/{layer.name}/{j}"] = np.asarray(s.numpy())
    if optimizer is not None:
        for i, v in enumerate(optimizer.variables):
            arrays[f"optimizer/{i}"] = np.asarray(v.numpy())
    meta = {
        "format": FORMAT_VERSION,
        "state": state.to_dict(),
        "model_paths": [v.path for v in model.variables],
        # Copies to fall back on when the run's own files are damaged or edited.
        "files": _run_files(run),
    }
    arrays["meta"] = np.array(json.dumps(meta, ensure_ascii=False))
    # The 'last' being replaced stays as 'previous': the fallback if the new one is
    # ever damaged on disk.
    keep = run.checkpoint("previous") if name == "last" else None
    try:
        atomic_write(run.checkpoint(name), lambda f: np.savez(f, **arrays), keep_old=keep)
        if name == "last":
            write_state(run.state, state)
    except OSError as e:  # a full disk, a file-size limit, a directory made read-only
        raise CheckpointError(
            f"cannot write the '{name}' checkpoint of {run.path} ({e.strerror or e}); the "
            "checkpoints already there are intact. Free some disk space (or make the "
            f"directory writable), then continue with `textgen train --resume {run.path}`"
        ) from e


def _run_files(run: RunDir) -> dict[str, str]:
    """The text of the run's config.json and vocab.json (those that are readable)."""
    files = {}
    for name in RUN_FILES:
        try:
            text = (run.path / name).read_text(encoding="utf-8")
            if isinstance(json.loads(text), dict):
                files[name] = text
        except (OSError, ValueError):  # UnicodeDecodeError and JSON errors are ValueErrors
            pass  # no copy of a file that is already damaged
    return files


def load_checkpoint(
    run: RunDir,
    name: str,
    model: keras.Model,
    optimizer: keras.optimizers.Optimizer | None = None,
) -> TrainState:
    """Loads checkpoint `name` of `run` into `model` (and `optimizer`).

    The recurrent state is restored only when the batch size matches (an exact
    resume); a model of another batch size starts from a zero state.

    Returns:
        The saved training progress.

    Raises:
        CheckpointError: missing or unreadable checkpoint.
        IncompatibleCheckpoint: its shapes do not match `model`.
    """
    ckpt = run.read_checkpoint(name)
    data = ckpt.arrays
    _assign(model.variables, data, "model", ckpt.path)
    for layer in recurrent_layers(model):
        saved = [data.get(f"rnn_state/{layer.name}/{j}") for j in range(len(layer.states))]
        pairs = list(zip(saved, layer.states, strict=True))
        if all(s is not None and s.shape == tuple(v.shape) for s, v in pairs):
            for s, v in pairs:
                v.assign(s)
    if optimizer is not None:
        _assign(optimizer.variables, data, "optimizer", ckpt.path)
    return ckpt.state


def _assign(variables: list, data: dict[str, np.ndarray], prefix: str, path) -> None:
    saved = sorted(
        (k for k in data if k.startswith(prefix + "/")), key=lambda k: int(k.split("/")[1])
    )
    if len(saved) != len(variables):
        raise IncompatibleCheckpoint(
            f"{path} holds {len(saved)} {prefix} variables but the model built from "
            f"config.json/vocab.json has {len(variables)}; the run's config was changed "
            "since it was saved. Restore it, or start a new run"
        )
    for key, v in zip(saved, variables, strict=True):
        if tuple(data[key].shape) != tuple(v.shape):
            raise IncompatibleCheckpoint(
                f"{path}: {v.path} has shape {tuple(data[key].shape)} in the checkpoint but "
                f"{tuple(v.shape)} in the model built from config.json/vocab.json; restore "
                "the run's config and vocabulary, or start a new run"
            )
        v.assign(data[key])


def assign_weights(model: keras.Model, weights: dict[str, np.ndarray]) -> None:
    """Sets the model's weights from arrays keyed by Keras variable path (fine-tuning).

    Raises:
        IncompatibleCheckpoint: a trainable-by-default weight of the model is missing
            from `weights`, or has another shape.
    """
    for v in model.variables:
        if "seed_generator" in v.path:
            continue
        if v.path not in weights or tuple(weights[v.path].shape) != tuple(v.shape):
            got = weights[v.path].shape if v.path in weights else "nothing"
            raise IncompatibleCheckpoint(
                f"the base gives {got} for {v.path}, the new model needs {tuple(v.shape)}"
            )
        v.assign(weights[v.path])
