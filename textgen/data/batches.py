"""Stateful batches: a split of token ids laid out the char-rnn way.

`split_corpus` keeps a tail of each file for validation (`split_ids` the tail of
the whole). `StatefulBatches` cuts a split into B contiguous rows and walks them
along time in chunks of T, so row i of batch k+1 continues row i of batch k and
the LSTM state can carry across batches.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from textgen.errors import CorpusTooSmall

MIN_BATCHES_PER_EPOCH = 50  # char-rnn warns below this: the model sees too few updates.


def split_ids(ids: np.ndarray, val_frac: float) -> tuple[np.ndarray, np.ndarray]:
    """Splits ids into (train, val), val being the contiguous tail of `val_frac`."""
    n_val = int(ids.size * val_frac)
    return ids[: ids.size - n_val], ids[ids.size - n_val :]


@dataclass(frozen=True)
class Split:
    """A corpus cut into training and validation streams (see `split_corpus`)."""

    train: np.ndarray  # (N_train,) the files' heads, in order
    val: np.ndarray  # (N_val,) the validation tails, in order
    val_tokens: tuple[int, ...]  # (F,) validation tokens taken from each file


def split_corpus(
    ids: np.ndarray,
    file_tokens: Sequence[int],
    val_frac: float,
    rule: str = "each-file",
    seq_len: int = 1,
) -> Split:
    """Keeps a tail of the corpus for validation, by `data.val_split`'s rule.

    "each-file": the last `val_frac` of every file, so the validation text
    speaks for all of them. A file whose tail would be shorter than one chunk
    (`seq_len` tokens) gives none and trains whole: a few tokens cut off each of
    many short files would make a validation stream of scraps. When no file is
    long enough, the tail of the whole corpus is kept instead ("last-file").
    The training stream is the files' heads joined in order, the validation
    stream their tails joined in order; each is contiguous within a file.

    "last-file": the last `val_frac` of the corpus as a whole (in effect, of its
    last file): the rule of runs from before "each-file".

    Args:
        ids: the corpus's token ids, shape (N,).
        file_tokens: tokens of each file in `ids`, in order, shape (F,), adding up
            to N; empty when the boundaries are unknown (one file, then).
        val_frac: the share kept for validation.
        rule: "each-file" or "last-file".
        seq_len: T, tokens per chunk.

    Returns:
        The two streams (views of `ids` when each is one piece, else copies) and
        what each file gave.
    """
    sizes = list(file_tokens) or [int(ids.size)]
    assert sum(sizes) == ids.size, (sum(sizes), ids.size)
    tails = validation_tails(sizes, val_frac, rule, seq_len)
    ends = np.cumsum(sizes).tolist()  # (F,)
    heads = [(b - n, b - t) for b, n, t in zip(ends, sizes, tails, strict=True)]
    vals = [(b - t, b) for b, t in zip(ends, tails, strict=True)]
    return Split(_joined(ids, heads), _joined(ids, vals), tails)


def validation_tails(
    file_tokens: Sequence[int], val_frac: float, rule: str = "each-file", seq_len: int = 1
) -> tuple[int, ...]:
    """Validation tokens taken from the end of each file (see `split_corpus`).

    Args:
        file_tokens: tokens of each file, in order, shape (F,).

    Returns:
        Shape (F,): the last t_i tokens of file i are validation text.
    """
    if rule not in ("each-file", "last-file"):
        raise ValueError(f"`rule` must be 'each-file' or 'last-file'. Received: rule={rule!r}")
    if rule == "each-file":
        tails = tuple(t if t >= seq_len else 0 for t in (int(n * val_frac) for n in file_tokens))
        if any(tails):
            return tails
    # The tail of the whole, [N - n_val, N), cut at the files it falls in.
    rest = int(sum(file_tokens) * val_frac)
    tails = []
    for n in reversed(file_tokens):
        tails.append(min(n, rest))
        rest -= tails[-1]
    return tuple(reversed(tails))


def _joined(ids: np.ndarray, spans: list[tuple[int, int]]) -> np.ndarray:
    """The spans [a, b) of `ids` end to end: a view when they make one span, else a copy."""
    merged: list[list[int]] = []
    for a, b in spans:
        if b <= a:
            continue
        if merged and merged[-1][1] == a:
            merged[-1][1] = b
        else:
            merged.append([a, b])
    if len(merged) <= 1:
        a, b = merged[0] if merged else (0, 0)
        return ids[a:b]
    return np.concatenate([ids[a:b] for a, b in merged])


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
