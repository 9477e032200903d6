"""The NumPy forward pass gives the Keras model's logits, step by step and over long reads."""

import numpy as np
import pytest

from textgen.config import ModelConfig
from textgen.errors import IncompatibleCheckpoint
from textgen.model import numpy_lm as runtime
from textgen.model.network import build_model, reset_states
from textgen.model.numpy_lm import RecurrentLM
from textgen.run.directory import RunDir, TrainState
from textgen.run.keras_checkpoint import save_checkpoint

V = 11


def keras_and_numpy(tmp_path, cell, layers, batch=2):
    """A Keras model with random weights (biases too) and the runtime built from its checkpoint."""
    cfg = ModelConfig(embedding_dim=5, units=7, layers=layers, cell=cell, dropout=0.1)
    model = build_model(cfg, V, batch)
    rng = np.random.default_rng(layers)
    for v in model.trainable_variables:
        v.assign(rng.normal(0, 0.6, v.shape).astype("float32"))
    run = RunDir(tmp_path)
    save_checkpoint(run, "last", model, TrainState(step=1))
    ckpt = run.read_checkpoint("last", prefixes=("model/",))
    return model, RecurrentLM.from_weights(ckpt.weights(), cfg, V)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("layers", [1, 2, 3])
def test_step_and_read_equal_the_keras_logits(tmp_path, cell, layers):
    model, lm = keras_and_numpy(tmp_path, cell, layers)
    ids = np.random.default_rng(0).integers(0, V, size=(2, 40)).astype(np.int32)
    reset_states(model)
    want = model(ids, training=False).numpy()  # (2, 40, V)
    state = lm.zero_state(2)
    for t in range(ids.shape[1]):
        logits, state = lm.step(ids[:, t], state)
        np.testing.assert_allclose(logits, want[:, t], atol=1e-4)
    logits, _ = lm.read(ids, lm.zero_state(2))
    np.testing.assert_allclose(logits, want[:, -1], atol=1e-4)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_state_carries_through_a_long_read_in_chunks(tmp_path, cell, monkeypatch):
    model, lm = keras_and_numpy(tmp_path, cell, layers=2)
    rng = np.random.default_rng(1)
    prime = rng.integers(0, V, size=(2, 700)).astype(np.int32)
    more = rng.integers(0, V, size=(2, 5)).astype(np.int32)
    reset_states(model)
    model(prime, training=False)  # Keras carries the state into the next call
    want = model(more, training=False).numpy()[:, -1]  # (2, V)
    monkeypatch.setattr(runtime, "READ_CHUNK", 64)  # several chunks, one partial
    _, state = lm.read(prime, lm.zero_state(2))
    logits, state = lm.read(more[:, :-1], state)
    logits, _ = lm.step(more[:, -1], state)
    np.testing.assert_allclose(logits, want, atol=1e-4)


def test_without_the_lookup_table_the_logits_are_the_same(tmp_path, monkeypatch):
    model, lm = keras_and_numpy(tmp_path, "lstm", layers=2)
    monkeypatch.setattr(runtime, "TABLE_MAX_BYTES", 0)  # as for a huge vocabulary
    ckpt = RunDir(tmp_path).read_checkpoint("last", prefixes=("model/",))
    slow = RecurrentLM.from_weights(ckpt.weights(), ModelConfig(5, 7, 2, "lstm", 0.1), V)
    assert lm.table is not None and slow.table is None
    ids = np.array([[1, 2, 3, 4, 5]])
    np.testing.assert_allclose(slow.read(ids, slow.zero_state(1))[0],
                               lm.read(ids, lm.zero_state(1))[0], atol=1e-5)


def test_a_batch_row_equals_the_same_row_alone(tmp_path):
    _, lm = keras_and_numpy(tmp_path, "lstm", layers=2)
    _, state = lm.read(np.array([[1, 2, 3]]), lm.zero_state(1))
    wide = state.repeat(4)
    ids = np.array([5, 6, 7, 8])
    batch_logits, _ = lm.step(ids, wide)
    alone, _ = lm.step(ids[2:3], state)
    np.testing.assert_allclose(batch_logits[2], alone[0], atol=1e-5)
    assert wide.batch_size == 4 and state.batch_size == 1  # `step` modifies no state


def test_a_checkpoint_of_another_architecture_is_refused(tmp_path):
    keras_and_numpy(tmp_path, "lstm", layers=1)
    ckpt = RunDir(tmp_path).read_checkpoint("last", prefixes=("model/",))
    with pytest.raises(IncompatibleCheckpoint, match="rnn_1/lstm_cell/kernel"):
        RecurrentLM.from_weights(ckpt.weights(), ModelConfig(5, 7, 2, "lstm"), V)
    with pytest.raises(IncompatibleCheckpoint, match="gru_cell"):
        RecurrentLM.from_weights(ckpt.weights(), ModelConfig(5, 7, 1, "gru"), V)
    with pytest.raises(IncompatibleCheckpoint, match=r"embedding/embeddings has shape \(11, 5\)"):
        RecurrentLM.from_weights(ckpt.weights(), ModelConfig(6, 7, 1, "lstm"), V)


def test_weights_the_config_does_not_describe_are_refused(tmp_path):
    keras_and_numpy(tmp_path, "lstm", layers=2)
    ckpt = RunDir(tmp_path).read_checkpoint("last", prefixes=("model/",))
    with pytest.raises(IncompatibleCheckpoint, match="does not describe.*rnn_1"):
        RecurrentLM.from_weights(ckpt.weights(), ModelConfig(5, 7, 1, "lstm"), V)


def test_states_concatenate_and_split_back_and_a_batch_steps_like_its_rows():
    from textgen.model.numpy_lm import State

    rng = np.random.default_rng(0)
    states = [State([(rng.normal(size=(6, b)).astype(np.float32),
                      rng.normal(size=(6, b)).astype(np.float32)) for _ in range(2)])
              for b in (1, 3, 2)]
    joined = State.concat(states)
    assert joined.batch_size == 6
    for back, orig in zip(joined.split([1, 3, 2]), states, strict=True):
        for a, b in zip(back.layers, orig.layers, strict=True):
            for x, y in zip(a, b, strict=True):
                np.testing.assert_array_equal(x, y)
