"""Stateful batches: a split of token ids laid out the char-rnn way.

`split_ids` keeps a contiguous tail for validation. `StatefulBatches` cuts a
split into B contiguous rows and walks them along time in chunks of T, so row i
of batch k+1 continues row i of batch k and the LSTM state can carry across
batches.
"""

from __future__ import annotations

import numpy as np

from textgen.errors import CorpusTooSmall

MIN_BATCHES_PER_EPOCH = 50  # char-rnn warns below this: the model sees too few updates.


def split_ids(ids: np.ndarray, val_frac: float) -> tuple[np.ndarray, np.ndarray]:
    """Splits ids into (train, val), val being the contiguous tail of `val_frac`."""
    n_val = int(ids.size * val_frac)
    return ids[: ids.size - n_val], ids[ids.size - n_val :]


class StatefulBatches:
    """Batches for a stateful RNN: row i of batch k+1 continues row i of batch k.

    The stream of N tokens is cut into B contiguous rows of `n_batches * T`
    tokens (the ragged end is dropped); batch k is columns [k*T, (k+1)*T) of
    every row. Targets are the inputs shifted by one token.

    Args:
        ids: token ids, shape (N,).
        batch_size: B, rows per batch (the model's fixed batch size).
        seq_len: T, tokens per row per batch.

    Raises:
        CorpusTooSmall: N - 1 < B * T, not even one batch.
    """

    def __init__(self, ids: np.ndarray, batch_size: int, seq_len: int):
        self.batch_size, self.seq_len = batch_size, seq_len
        self.n_batches = (ids.size - 1) // (batch_size * seq_len)
        if self.n_batches < 1:
            raise CorpusTooSmall(
                f"corpus too small: {ids.size:,} tokens cannot fill one batch of "
                f"data.batch_size={batch_size} x data.seq_len={seq_len} "
                f"(needs {batch_size * seq_len + 1:,}); lower them, e.g. "
                f"--set data.batch_size={max(1, batch_size // 4)} "
                f"--set data.seq_len={max(1, seq_len // 2)}"
            )
        span = self.n_batches * seq_len
        self._x = ids[: batch_size * span].reshape(batch_size, span)  # (B, n_batches*T)
        self._y = ids[1 : batch_size * span + 1].reshape(batch_size, span)

    def __len__(self) -> int:
        return self.n_batches

    def __getitem__(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Returns (inputs, targets) of batch k, each (B, T) int32."""
        if not 0 <= k < self.n_batches:
            raise IndexError(k)
        cols = slice(k * self.seq_len, (k + 1) * self.seq_len)
        return self._x[:, cols].astype(np.int32), self._y[:, cols].astype(np.int32)

    def n_tokens(self) -> int:
        """Target tokens per epoch."""
        return self.n_batches * self.batch_size * self.seq_len

    def count(self, token_ids: list[int]) -> int:
        """How many targets are one of `token_ids` (e.g. `<unk>`)."""
        return int(np.isin(self._y, token_ids).sum())

    def target_chars(self, char_lengths: np.ndarray) -> float:
        """Characters covered by all targets, given characters per token id."""
        return float(char_lengths[self._y].sum())


def validation_batches(
    ids: np.ndarray, batch_size: int, seq_len: int
) -> StatefulBatches | None:
    """Stateful batches over the validation tail, shortening T if the tail is short.

    Returns:
        None when the tail cannot give every one of the B rows even one token.
    """
    if ids.size - 1 < batch_size:
        return None
    return StatefulBatches(ids, batch_size, min(seq_len, (ids.size - 1) // batch_size))
