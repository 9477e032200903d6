"""The network: Embedding -> N x stateful LSTM/GRU [-> Dropout] -> Dense logits.

Shapes: B batch rows, T time steps, E embedding size, H hidden units, V vocab.
Layer names are fixed ("embedding", "rnn_0", ..., "logits") so that weights
saved from a model of one batch size load into a model of another (training
uses B rows, sampling uses 1).
"""

from __future__ import annotations

import functools

from textgen.backend import keras
from textgen.config import ModelConfig
from textgen.model.fast_lstm import FastLSTM


def build_model(
    cfg: ModelConfig,
    vocab_size: int,
    batch_size: int,
    precision: str = "float32",
    fast: bool = True,
) -> keras.Model:
    """Builds the stateful language model.

    Args:
        cfg: the model config.
        vocab_size: V, the tokenizer's vocabulary size.
        batch_size: B, fixed because the recurrent state is kept per row.
        precision: "float32" or "mixed_bfloat16" (bfloat16 matmuls, float32 weights
            and logits); see `textgen.model.precision`.
        fast: use `FastLSTM` (same weights, faster CPU training, weight drop) for LSTM
            layers; False builds stock `keras.layers.LSTM` (the benchmark baseline,
            which has no weight drop).

    Returns:
        A Keras model mapping token ids (B, T) int32 to logits (B, T, V) float32.
        T may vary between calls.
    """
    if cfg.cell == "gru":
        rnn = keras.layers.GRU
    elif fast:
        rnn = functools.partial(FastLSTM, weight_drop=cfg.weight_drop)
    elif cfg.weight_drop:
        raise ValueError("weight drop needs FastLSTM (fast=True)")
    else:
        rnn = keras.layers.LSTM
    ids = keras.Input(batch_shape=(batch_size, None), dtype="int32", name="ids")  # (B, T)
    x = keras.layers.Embedding(
        vocab_size, cfg.embedding_dim, name="embedding", dtype=precision,
        **_initializers(cfg, "embedding"),
    )(ids)  # (B, T, E)
    for i in range(cfg.layers):
        x = rnn(cfg.units, return_sequences=True, stateful=True, name=f"rnn_{i}",
                dtype=precision)(x)  # (B, T, H)
        if cfg.dropout > 0:
            x = keras.layers.Dropout(cfg.dropout, name=f"dropout_{i}", dtype=precision)(x)
    logits = keras.layers.Dense(vocab_size, name="logits", dtype=precision,
                                **_initializers(cfg, "logits"))(x)  # (B, T, V)
    if precision != "float32":
        # The softmax and loss need float32: bfloat16 keeps only ~3 significant digits.
        logits = keras.layers.Activation("linear", dtype="float32", name="logits_float32")(
            logits
        )
    return keras.Model(ids, logits, name="textgen_lm")


def _initializers(cfg: ModelConfig, layer: str) -> dict[str, keras.initializers.Initializer]:
    """The initializer arguments of the embedding or output layer for `model.init`.

    "pytorch" is what `nn.Embedding` (N(0, 1)) and `nn.Linear` (U(+-1/sqrt(fan_in)) for
    the kernel and the bias) start from; "keras" keeps Keras's defaults.
    """
    if cfg.init == "keras":
        return {}
    if layer == "embedding":
        return {"embeddings_initializer": keras.initializers.RandomNormal(0.0, 1.0)}
    limit = 1.0 / cfg.units**0.5
    uniform = keras.initializers.RandomUniform(-limit, limit)
    return {"kernel_initializer": uniform, "bias_initializer": uniform}


def recurrent_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """Returns the stateful recurrent layers, bottom first."""
    return [layer for layer in model.layers if layer.name.startswith("rnn_")]


def reset_states(model: keras.Model) -> None:
    """Zeroes the carried state of every recurrent layer (Keras 3: per layer)."""
    for layer in recurrent_layers(model):
        layer.reset_state()
