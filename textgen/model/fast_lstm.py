"""A faster LSTM for CPU training: one input matmul per sequence, hand-written BPTT.

Keras's LSTM on a CPU runs its cell once per time step, and autodiff then
differentiates every step on its own: per step it multiplies the input by the
kernel, and in the backward pass accumulates two weight gradients per step.
`FastLSTM` is a drop-in subclass (same weights, same variable paths, so
checkpoints are unchanged) whose inner loop does what cuDNN and PyTorch do:

- forward: the input projection of all T steps is one (B*T, E) x (E, 4H)
  matmul; the loop does only the recurrent (B, H) x (H, 4H) matmul per step;
- backward (custom gradient): the loop does only the (B, 4H) x (4H, H) matmul
  per step; the recurrent kernel's gradient is one (H, T*B) x (T*B, 4H) matmul
  after the loop, and the input kernel's comes from the input projection.

Under a mixed (bfloat16) dtype policy the matmuls take bfloat16 operands while
the cell state and gate arithmetic stay float32.

It also adds AWD-LSTM's weight drop (`weight_drop`): while training, one
random mask per batch zeroes that share of the recurrent kernel (and scales the
rest by 1 / (1 - p)); the gradient reaches the kept weights through the mask.

On a GPU, with a mask, or with cell dropout, Keras's own path (cuDNN when
possible) is used unchanged, except that weight drop always takes this path.
"""

from __future__ import annotations

from textgen.backend import keras, tf

# Shapes: B batch rows, T time steps, E input size, H units; Z = 4H gate pre-activations
# in Keras's order (input i, forget f, candidate g, output o).


def lstm_sequence(
    xz: tf.Tensor, h0: tf.Tensor, c0: tf.Tensor, u: tf.Tensor
) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """Runs the LSTM recurrence over precomputed input projections.

    Args:
        xz: (T, B, 4H) float32, the input projection x @ W + b of every step.
        h0: (B, H) float32, the initial output state.
        c0: (B, H) float32, the initial cell state.
        u: (H, 4H), the recurrent kernel; float32, or bfloat16 for bfloat16 matmuls.

    Returns:
        (hs, h, c): hs (T, B, H) float32 the outputs of every step; h, c (B, H) the
        final states. Differentiable in all four arguments (custom gradient).
    """
    return _lstm_sequence(xz, h0, c0, u)


@tf.custom_gradient
def _lstm_sequence(xz, h0, c0, u):
    # XLA fuses the loops' small float32 ops (a gain for small layers, level for large
    # ones); its CPU bfloat16 matmul is much slower than oneDNN's, so bfloat16 runs plain.
    jit = u.dtype == tf.float32
    # The forward pass runs outside the tape: the gradient is `grad`, not autodiff's.
    hs, h, c, cs, acts = _FORWARD[jit](*(tf.stop_gradient(a) for a in (xz, h0, c0, u)))

    def grad(d_hs, d_h, d_c):
        d_hs = tf.zeros_like(hs) if d_hs is None else d_hs
        d_h = tf.zeros_like(h0) if d_h is None else d_h
        d_c = tf.zeros_like(c0) if d_c is None else d_c
        return _BACKWARD[jit](d_hs, d_h, d_c, hs, cs, acts, h0, c0, u)

    return (hs, h, c), grad


def _forward(xz, h0, c0, u):
    """The recurrence; also returns what the backward pass needs (cs, activated gates)."""
    mm = u.dtype  # matmul operand dtype
    n_steps = tf.shape(xz)[0]
    hs = tf.TensorArray(tf.float32, size=n_steps)  # h_t, t = 0..T-1
    cs = tf.TensorArray(tf.float32, size=n_steps)  # c_t
    acts = tf.TensorArray(tf.float32, size=n_steps)  # activated gates [i f g o], (B, 4H)

    def step(t, h, c, hs, cs, acts):
        z = xz[t] + _cast(tf.matmul(_cast(h, mm), u), tf.float32)  # (B, 4H)
        zi, zf, zg, zo = tf.split(z, 4, axis=1)
        i, f, g, o = tf.sigmoid(zi), tf.sigmoid(zf), tf.tanh(zg), tf.sigmoid(zo)
        c = f * c + i * g
        h = o * tf.tanh(c)
        gates = tf.concat([i, f, g, o], axis=1)
        return t + 1, h, c, hs.write(t, h), cs.write(t, c), acts.write(t, gates)

    _, h, c, hs, cs, acts = tf.while_loop(
        lambda t, *_: t < n_steps, step, (0, h0, c0, hs, cs, acts)
    )
    return hs.stack(), h, c, cs.stack(), acts.stack()  # (T,B,H), (B,H) x 2, (T,B,H), (T,B,4H)


def _backward(d_hs, d_h, d_c, hs, cs, acts, h0, c0, u):
    """Backpropagation through time: gradients for xz, h0, c0 and u."""
    mm = u.dtype
    n_steps = tf.shape(hs)[0]
    u_t = tf.transpose(u)  # (4H, H)
    c_prev = tf.concat([c0[None], cs[:-1]], axis=0)  # (T, B, H)
    d_zs = tf.TensorArray(tf.float32, size=n_steps)

    def back(t, dh_next, dc_next, d_zs):
        i, f, g, o = tf.split(acts[t], 4, axis=1)
        tc = tf.tanh(cs[t])
        dh = d_hs[t] + dh_next
        dc = dc_next + dh * o * (1.0 - tc * tc)
        dz = tf.concat([
            dc * g * i * (1.0 - i),
            dc * c_prev[t] * f * (1.0 - f),
            dc * i * (1.0 - g * g),
            dh * tc * o * (1.0 - o),
        ], axis=1)  # (B, 4H)
        dh_prev = _cast(tf.matmul(_cast(dz, mm), u_t), tf.float32)  # (B, H)
        return t - 1, dh_prev, dc * f, d_zs.write(t, dz)

    _, dh0, dc0, d_zs = tf.while_loop(
        lambda t, *_: t >= 0, back, (n_steps - 1, d_h, d_c, d_zs)
    )
    d_xz = d_zs.stack()  # (T, B, 4H)
    h_prev = tf.concat([h0[None], hs[:-1]], axis=0)  # (T, B, H)
    n_units = tf.shape(h0)[1]
    d_u = tf.matmul(
        _cast(tf.reshape(h_prev, (-1, n_units)), mm),
        _cast(tf.reshape(d_xz, (-1, 4 * n_units)), mm),
        transpose_a=True,
    )  # (H, 4H)
    return d_xz, dh0, dc0, d_u


_FORWARD = {jit: tf.function(_forward, jit_compile=jit) for jit in (True, False)}
_BACKWARD = {jit: tf.function(_backward, jit_compile=jit) for jit in (True, False)}


def _cast(x, dtype: tf.DType) -> tf.Tensor:
    """`x` (a tensor or variable) as a tensor of `dtype`."""
    x = tf.convert_to_tensor(x)
    return x if x.dtype == dtype else tf.cast(x, dtype)


@keras.saving.register_keras_serializable(package="textgen")
class FastLSTM(keras.layers.LSTM):
    """`keras.layers.LSTM` with the fast CPU inner loop (see the module docstring).

    Takes the same arguments and holds the same weights as `keras.layers.LSTM`, plus
    `weight_drop` (the share of the recurrent kernel dropped per batch while training;
    a layer with weight drop also holds the state of its random generator).
    """

    def __init__(self, *args, weight_drop: float = 0.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.weight_drop = float(weight_drop)
        # Created only when used, so that models without weight drop keep their variables.
        self.seed_generator = keras.random.SeedGenerator() if self.weight_drop else None

    def get_config(self) -> dict:
        return {**super().get_config(), "weight_drop": self.weight_drop}

    def inner_loop(self, sequences, initial_state, mask, training=False):
        if not self._fast_path_applies(mask, training):
            if self._dropping(training):
                raise ValueError("weight drop needs FastLSTM's own loop: no mask, cuDNN, "
                                 "cell dropout, go_backwards or unroll")
            return super().inner_loop(sequences, initial_state, mask, training=training)
        cell = self.cell
        dtype = tf.as_dtype(self.compute_dtype)  # float32, or bfloat16 under mixed_bfloat16
        x = tf.transpose(sequences, (1, 0, 2))  # (T, B, E)
        n_steps, n_rows = tf.shape(x)[0], tf.shape(x)[1]
        w = _cast(cell.kernel, dtype)  # (E, 4H)
        xz = tf.matmul(tf.reshape(_cast(x, dtype), (n_steps * n_rows, -1)), w)  # (T*B, 4H)
        xz = tf.reshape(_cast(xz, tf.float32), (n_steps, n_rows, 4 * self.units))
        if cell.use_bias:
            xz = xz + _cast(cell.bias, tf.float32)
        h0, c0 = (_cast(s, tf.float32) for s in initial_state)
        u = cell.recurrent_kernel  # (H, 4H)
        if self._dropping(training):
            u = keras.random.dropout(_cast(u, tf.float32), self.weight_drop,
                                     seed=self.seed_generator)
        hs, h, c = lstm_sequence(xz, h0, c0, _cast(u, dtype))
        outputs = _cast(tf.transpose(hs, (1, 0, 2)), dtype)  # (B, T, H)
        return h, outputs, [h, c]  # the caller casts and stores the states

    def _fast_path_applies(self, mask, training) -> bool:
        cell = self.cell
        return (
            mask is None
            and self.use_cudnn is not True  # asked for cuDNN: Keras decides (or refuses)
            and not self.go_backwards
            and not self.unroll
            and not (training and (cell.dropout or cell.recurrent_dropout))
            and cell.activation is keras.activations.tanh
            and cell.recurrent_activation is keras.activations.sigmoid
            # cuDNN is faster on a GPU, but has no weight drop.
            and (self._dropping(training) or not tf.config.list_logical_devices("GPU"))
        )

    def _dropping(self, training) -> bool:
        """Whether this call drops recurrent weights (training, and not frozen)."""
        return bool(training and self.weight_drop and self.trainable)

