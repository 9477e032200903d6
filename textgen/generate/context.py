"""What filters see of a generation: per-row state and the vocabulary's token strings.

A `Context` is made for each generation (B rows) and advanced after every
token. It does O(B) work per step, and computes a row's text or the rows' line
positions only when a filter asks, from where it last stopped (never the whole
sample again), so filters that do not ask cost nothing. `Vocabulary` holds the
token strings with per-token tables (lengths, line breaks) computed once per
model, on first use.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property

import numpy as np


class Vocabulary:
    """A model's token strings by id, with per-token tables computed once, on first use.

    Args:
        tokens: the token strings, by id (V,).
    """

    def __init__(self, tokens: Sequence[str]):
        self.tokens = tuple(tokens)
        self._starting: dict[str, np.ndarray] = {}

    @cached_property
    def lengths(self) -> np.ndarray:
        """Characters per token (V,) int64."""
        return np.fromiter(map(len, self.tokens), np.int64, len(self.tokens))

    @cached_property
    def line_heads(self) -> np.ndarray:
        """Characters before each token's first line break, its length if none (V,)."""
        return np.fromiter((t.find("\n") if "\n" in t else len(t) for t in self.tokens),
                           np.int64, len(self.tokens))

    @cached_property
    def line_tails(self) -> np.ndarray:
        """Characters after each token's last line break, -1 if none (V,)."""
        return np.fromiter((len(t) - t.rfind("\n") - 1 if "\n" in t else -1
                            for t in self.tokens), np.int64, len(self.tokens))

    def starting_with(self, chars: str) -> np.ndarray:
        """Which tokens start with one of `chars` (V,) bool (cached per `chars`)."""
        mask = self._starting.get(chars)
        if mask is None:
            wanted = set(chars)
            mask = np.fromiter((t[:1] in wanted for t in self.tokens), bool, len(self.tokens))
            self._starting[chars] = mask
        return mask


class Context:
    """The per-row state of one generation that filters may look at.

    Attributes:
        vocab: the vocabulary's token strings and tables.
        prompt: the prompt's text (the same for every row).
        rows: B, the number of rows (samples).
        step: tokens drawn per row so far (0 while the first is chosen).
        history: (B, W) each row's recent tokens for the repetition penalty, -1 for none.
    """

    def __init__(self, vocab: Vocabulary, prompt: str, rows: int,
                 history: np.ndarray | None = None, line_start: int | None = None):
        self.vocab, self.prompt, self.rows = vocab, prompt, rows
        self.history = history
        self.step = 0
        self._ids = np.zeros((rows, 16), np.int64)  # (B, capacity), grown by doubling
        self._texts = [""] * rows
        self._texted = [0] * rows  # steps already in each row's text
        if line_start is None:
            line_start = (len(prompt) - prompt.rfind("\n") - 1) if "\n" in prompt else len(prompt)
        self._line = np.full(rows, line_start, np.int64)  # (B,) as of step `_lined`
        self._lined = 0

    def advance(self, ids: np.ndarray) -> None:
        """Records the tokens just drawn, one per row (B,); O(B) per step."""
        if self.step == self._ids.shape[1]:
            self._ids = np.concatenate([self._ids, np.zeros_like(self._ids)], axis=1)
        self._ids[:, self.step] = ids
        self.step += 1

    @property
    def ids(self) -> np.ndarray:
        """The tokens drawn so far (B, step) int64 (a view: do not modify)."""
        return self._ids[:, : self.step]

    def text(self, row: int) -> str:
        """The text row `row` has generated so far (what the model read, stop strings
        and held-back text included); extended from where it was last asked."""
        done = self._texted[row]
        if done < self.step:
            tokens = self.vocab.tokens
            self._texts[row] += "".join(tokens[i] for i in self._ids[row, done : self.step])
            self._texted[row] = self.step
        return self._texts[row]

    @property
    def line_chars(self) -> np.ndarray:
        """Characters since the last line break in each row (B,) int64, the prompt's
        last line included; updated from where it was last asked."""
        if self._lined < self.step:
            lengths, tails = self.vocab.lengths, self.vocab.line_tails
            line = self._line
            for k in range(self._lined, self.step):
                ids = self._ids[:, k]
                tail = tails[ids]
                line = np.where(tail >= 0, tail, line + lengths[ids])
            self._line, self._lined = line, self.step
        return self._line
