import numpy as np
import pytest

from textgen.config import ModelConfig
from textgen.model.network import build_model, recurrent_layers, reset_states
from textgen.run.directory import RunDir, TrainState
from textgen.run.keras_checkpoint import load_checkpoint, save_checkpoint


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_the_parameter_table_matches_keras(cell):
    # The classic novel model: Embedding(V, 512) -> LSTM(1024).
    classic = ModelConfig(embedding_dim=512, units=1024, layers=1)
    assert classic.parameter_table(50)[1] == ("rnn_0", "LSTM", 6_295_552)
    cfg = ModelConfig(embedding_dim=4, units=5, layers=3, cell=cell)
    model = build_model(cfg, 6, batch_size=2)
    table = cfg.parameter_table(6)
    assert [(name, n) for name, _, n in table] == [
        (layer.name, layer.count_params()) for layer in model.layers if layer.weights]
    assert sum(n for _, _, n in table) == model.count_params()


def test_weights_load_into_a_model_of_another_batch_size(tmp_path):
    cfg = ModelConfig(embedding_dim=4, units=6, layers=2, dropout=0.1)
    train = build_model(cfg, vocab_size=7, batch_size=3)
    x = np.random.default_rng(0).integers(0, 7, size=(3, 5)).astype(np.int32)
    expected = train(x, training=False).numpy()  # (3, 5, 7)
    run = RunDir(tmp_path)
    save_checkpoint(run, "last", train, TrainState(step=3))
    single = build_model(cfg, vocab_size=7, batch_size=1)
    assert load_checkpoint(run, "last", single).step == 3
    for row in range(3):
        reset_states(single)
        np.testing.assert_allclose(single(x[row : row + 1]).numpy()[0], expected[row], atol=1e-5)


def test_state_carries_across_calls_and_resets():
    model = build_model(ModelConfig(embedding_dim=4, units=6, layers=1), 7, batch_size=1)
    x = np.array([[1, 2, 3, 4]], dtype=np.int32)
    whole = model(x).numpy()[0, -1]
    reset_states(model)
    for t in range(4):
        last = model(x[:, t : t + 1]).numpy()[0, -1]
    np.testing.assert_allclose(last, whole, atol=1e-5)
    reset_states(model)
    assert all(not np.any(s.numpy()) for layer in recurrent_layers(model) for s in layer.states)


def test_gru_option():
    model = build_model(ModelConfig(embedding_dim=4, units=6, layers=1, cell="gru"), 7, 2)
    assert type(model.get_layer("rnn_0")).__name__ == "GRU"
    assert model(np.zeros((2, 3), dtype=np.int32)).shape == (2, 3, 7)
