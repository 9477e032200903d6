"""FastLSTM computes what keras.layers.LSTM computes: same loss, gradients and carried state."""

import numpy as np
import pytest

from textgen.backend import keras, tf
from textgen.config import ModelConfig
from textgen.model.fast_lstm import FastLSTM, lstm_sequence
from textgen.model.network import build_model, recurrent_layers
from textgen.run.directory import RunDir, TrainState
from textgen.run.keras_checkpoint import load_checkpoint, save_checkpoint

V, B, T = 11, 3, 9
CFG = ModelConfig(embedding_dim=5, units=6, layers=2)


def _pair(precision="float32"):
    """A stock-Keras model and a FastLSTM model with the same random weights and state."""
    stock = build_model(CFG, V, B, precision=precision, fast=False)
    fast = build_model(CFG, V, B, precision=precision)
    rng = np.random.default_rng(0)
    for v in stock.trainable_variables:
        v.assign(rng.normal(0, 0.5, v.shape).astype("float32"))  # biases too
    fast.set_weights(stock.get_weights())
    for a, b in zip(recurrent_layers(stock), recurrent_layers(fast), strict=True):
        assert isinstance(b, FastLSTM) and not isinstance(a, FastLSTM)
        for sa, sb in zip(a.states, b.states, strict=True):
            s = rng.normal(0, 0.5, sa.shape).astype("float32")  # a carried, non-zero state
            sa.assign(s)
            sb.assign(s)
    return stock, fast


def _loss_and_grads(model, x, y):
    with tf.GradientTape() as tape:
        logits = model(x, training=True)
        loss = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(
            y, logits, from_logits=True))
    grads = tape.gradient(loss, model.trainable_variables)
    return float(loss), [tf.convert_to_tensor(g).numpy() for g in grads]


@pytest.mark.parametrize(("precision", "tol"), [("float32", 1e-5), ("mixed_bfloat16", 3e-2)])
def test_loss_gradients_and_state_equal_keras_lstm(precision, tol):
    stock, fast = _pair(precision)
    rng = np.random.default_rng(1)
    for _ in range(2):  # the second call starts from the state the first one left
        x = rng.integers(0, V, (B, T)).astype(np.int32)
        y = rng.integers(0, V, (B, T)).astype(np.int32)
        (loss_a, grads_a), (loss_b, grads_b) = (_loss_and_grads(m, x, y) for m in (stock, fast))
        assert loss_b == pytest.approx(loss_a, rel=tol)
        for v, ga, gb in zip(stock.trainable_variables, grads_a, grads_b, strict=True):
            scale = max(np.abs(ga).max(), 1e-3)
            assert np.abs(ga - gb).max() <= tol * scale, v.path
        for la, lb in zip(recurrent_layers(stock), recurrent_layers(fast), strict=True):
            for sa, sb in zip(la.states, lb.states, strict=True):
                np.testing.assert_allclose(sb.numpy(), sa.numpy(), atol=tol)


def test_the_sequence_gradient_includes_the_final_state():
    """All four inputs get autodiff's gradients when the loss uses hs, h_T and c_T."""
    rng = np.random.default_rng(2)
    H = 4
    xz, h0, c0 = (tf.constant(rng.normal(size=s).astype("float32"))
                  for s in ((T, B, 4 * H), (B, H), (B, H)))
    u = tf.constant(rng.normal(0, 0.5, (H, 4 * H)).astype("float32"))
    w = tf.constant(rng.normal(size=(T, B, H)).astype("float32"))

    def naive(xz, h0, c0, u):
        h, c, out = h0, c0, []
        for t in range(T):
            i, f, g, o = tf.split(xz[t] + h @ u, 4, axis=1)
            c = tf.sigmoid(f) * c + tf.sigmoid(i) * tf.tanh(g)
            h = tf.sigmoid(o) * tf.tanh(c)
            out.append(h)
        return tf.stack(out), h, c

    results = []
    for fn in (naive, lstm_sequence):
        with tf.GradientTape() as tape:
            tape.watch([xz, h0, c0, u])
            hs, h, c = fn(xz, h0, c0, u)
            loss = tf.reduce_sum(hs * w) + tf.reduce_sum(h * h) + tf.reduce_sum(tf.sin(c))
        results.append([float(loss)] + [g.numpy() for g in tape.gradient(loss, [xz, h0, c0, u])])
    for a, b in zip(*results, strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-5)


def test_a_stock_keras_checkpoint_loads_into_the_fast_model(tmp_path):
    stock, _ = _pair()
    run = RunDir(tmp_path)
    save_checkpoint(run, "last", stock, TrainState(step=3))
    fast = build_model(CFG, V, B)
    assert load_checkpoint(run, "last", fast).step == 3
    x = np.random.default_rng(3).integers(0, V, (B, T)).astype(np.int32)
    np.testing.assert_allclose(fast(x).numpy(), stock(x).numpy(), atol=1e-5)


@pytest.mark.parametrize("kwargs", [
    {}, {"return_sequences": False}, {"go_backwards": True}, {"activation": "relu"},
    {"use_bias": False}, {"return_state": True},
])
def test_other_layer_options_give_keras_results(kwargs):
    """Options the fast loop does not implement fall back to Keras's; the rest match it."""
    x = tf.constant(np.random.default_rng(4).normal(size=(B, T, 5)).astype("float32"))
    stock, fast = keras.layers.LSTM(6, **kwargs), FastLSTM(6, **kwargs)
    stock.build(x.shape)
    fast.build(x.shape)
    fast.set_weights([w + 0.1 for w in stock.get_weights()])
    stock.set_weights(fast.get_weights())
    for a, b in zip(tf.nest.flatten(stock(x)), tf.nest.flatten(fast(x)), strict=True):
        np.testing.assert_allclose(b.numpy(), a.numpy(), atol=1e-5)


def test_masks_dropout_and_gpus_fall_back_to_keras():
    layer = build_model(CFG, V, B).get_layer("rnn_0")
    assert layer._fast_path_applies(None, True) == (not tf.config.list_logical_devices("GPU"))
    assert not layer._fast_path_applies(tf.ones((B, T), bool), True)
    for options in ({"dropout": 0.5}, {"recurrent_dropout": 0.5}):
        dropping = FastLSTM(4, **options)
        assert not dropping._fast_path_applies(None, True)  # training: Keras draws masks
        assert dropping._fast_path_applies(None, False) != bool(
            tf.config.list_logical_devices("GPU"))


def test_saved_keras_models_with_the_fast_layer_load(tmp_path):
    model = build_model(CFG, V, B)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert isinstance(loaded.get_layer("rnn_0"), FastLSTM)


def test_weight_drop_masks_the_recurrent_kernel_while_training_only():
    """DropConnect: a new mask per call; the dropped weights get exactly no gradient."""
    cfg = ModelConfig(embedding_dim=5, units=32, layers=1, weight_drop=0.5)
    model = build_model(cfg, V, B)
    plain = build_model(ModelConfig(embedding_dim=5, units=32, layers=1), V, B)
    for a, b in zip(plain.trainable_variables, model.trainable_variables, strict=True):
        a.assign(b)
    layer = model.get_layer("rnn_0")
    assert layer._fast_path_applies(None, True)  # also on a GPU: cuDNN has no weight drop
    x = np.random.default_rng(5).integers(0, V, (B, T)).astype(np.int32)
    y = np.random.default_rng(6).integers(0, V, (B, T)).astype(np.int32)
    # Inference uses every weight: the same as the model without weight drop.
    np.testing.assert_allclose(model(x).numpy(), plain(x).numpy(), atol=1e-6)
    kernel = layer.cell.recurrent_kernel
    zero_grads = []
    for _ in range(2):
        _, grads = _loss_and_grads(model, x, y)
        g = grads[[v.path for v in model.trainable_variables].index(kernel.path)]
        zero_grads.append(g == 0)
    for zeros in zero_grads:
        assert 0.4 < zeros.mean() < 0.6  # about half of the (32, 128) kernel is dropped
    assert (zero_grads[0] != zero_grads[1]).any()  # a fresh mask for each batch
    _, plain_grads = _loss_and_grads(plain, x, y)
    assert (plain_grads[[v.path for v in plain.trainable_variables].index(
        plain.get_layer("rnn_0").cell.recurrent_kernel.path)] == 0).mean() < 0.01
    # A frozen layer (fine-tuning) keeps all its weights: training gives inference's output.
    layer.trainable = False
    outputs = []
    for training in (True, False):
        for s in layer.states:
            s.assign(tf.zeros_like(s))
        outputs.append(model(x, training=training).numpy())
    np.testing.assert_allclose(outputs[0], outputs[1], atol=1e-6)
    # Where Keras's own loop would run, weight drop is refused rather than skipped.
    backwards = FastLSTM(4, weight_drop=0.2, go_backwards=True)
    with pytest.raises(ValueError, match="weight drop"):
        backwards(tf.zeros((B, T, 5)), training=True)


def test_weight_drop_is_saved_with_the_layer(tmp_path):
    model = build_model(ModelConfig(embedding_dim=5, units=6, layers=1, weight_drop=0.3), V, B)
    model.save(tmp_path / "m.keras")
    assert keras.models.load_model(tmp_path / "m.keras").get_layer("rnn_0").weight_drop == 0.3
    with pytest.raises(ValueError, match="weight drop"):
        build_model(ModelConfig(weight_drop=0.3), V, B, fast=False)
