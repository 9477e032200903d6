"""The `Tokenizer` contract shared by the character and word tokenizers.

A tokenizer turns text into token ids and back. Id 0 is always the reserved
`<unk>` token (tokens outside the vocabulary); it is never sampled. Every other
id is a piece of text, so `decode(encode(text)) == text` whenever all of the
text's tokens are in the vocabulary.

The vocabulary is built from the corpus (`fit`), saved as `vocab.json` in the
run directory, and loaded back with `load_tokenizer`.
"""

from __future__ import annotations

import functools
import json
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

if TYPE_CHECKING:
    from textgen.config import DataConfig

UNK = "<unk>"
UNK_ID = 0


class Tokenizer(ABC):
    """Maps text to token ids and back with a fixed vocabulary.

    Args:
        tokens: the vocabulary; `tokens[0]` must be `<unk>`.
        settings: tokenizer options saved with the vocabulary (e.g. jieba's HMM flag).
    """

    kind: ClassVar[str]

    def __init__(self, tokens: list[str], settings: dict[str, Any] | None = None):
        if not tokens or tokens[0] != UNK:
            raise ValueError(f"tokens[0] must be {UNK!r}. Received: {tokens[:1]!r}")
        if len(set(tokens)) != len(tokens):
            raise ValueError("tokens must be unique")
        self.tokens = list(tokens)
        self.settings = dict(settings or {})
        self._ids = {t: i for i, t in enumerate(self.tokens)}

    @classmethod
    def settings_for(cls, cfg: DataConfig) -> dict[str, Any]:
        """The options this kind of tokenizer is built with, from the data config
        (saved with the vocabulary). None by default; the word tokenizer's are jieba's."""
        return {}

    # === Splitting (one job per subclass) ===

    @abstractmethod
    def split(self, text: str) -> list[str]:
        """Cuts text into token strings whose concatenation is exactly `text`."""

    # === Vocabulary ===

    @property
    def vocab_size(self) -> int:
        """Number of ids, `<unk>` included."""
        return len(self.tokens)

    @property
    def reserved_ids(self) -> list[int]:
        """Ids that stand for no text and are never sampled."""
        return [UNK_ID]

    @property
    def dtype(self) -> type[np.unsignedinteger]:
        """The smallest unsigned integer type that holds every id."""
        return np.uint16 if self.vocab_size <= 1 << 16 else np.uint32

    def token_to_id(self, token: str) -> int:
        """Returns the id of `token`, or `UNK_ID` if it is not in the vocabulary."""
        return self._ids.get(token, UNK_ID)

    def id_to_token(self, token_id: int) -> str:
        """Returns the text of `token_id` (`<unk>` for id 0)."""
        return self.tokens[token_id]

    def token_lengths(self) -> np.ndarray:
        """Characters per id, shape (V,); `<unk>` counts as one character."""
        lengths = np.array([len(t) for t in self.tokens], dtype=np.int64)
        lengths[UNK_ID] = 1
        return lengths

    # === Encoding ===

    def encode(self, text: str) -> np.ndarray:
        """Returns the ids of `text`, shape (N,), dtype `self.dtype`."""
        ids = self._ids
        return np.fromiter((ids.get(t, UNK_ID) for t in self.split(text)), dtype=self.dtype)

    def encode_chunks(
        self, chunks: Iterable[str], workers: int | None = 1
    ) -> Iterator[np.ndarray]:
        """Encodes a corpus given as text chunks, yielding ids piece by piece.

        `workers` lets a subclass use several processes (see `WordTokenizer`).
        """
        for chunk in chunks:
            yield self.encode(chunk)

    def decode(self, ids: Iterable[int]) -> str:
        """Returns the text of a sequence of ids."""
        tokens = self.tokens
        return "".join(tokens[int(i)] for i in ids)

    def encode_prompt(self, text: str) -> tuple[np.ndarray, list[str]]:
        """Encodes a prompt, cutting tokens the vocabulary lacks into known pieces.

        A word the vocabulary lacks is replaced by the longest known tokens that
        spell it, left to right (a word model that never saw 春眠 as one word
        still knows 春 and 眠), so only characters that no token covers are unknown.

        Returns:
            The ids (N,) int64, with `UNK_ID` for each unknown character, and the
            distinct unknown characters in order of appearance.
        """
        ids: list[int] = []
        unknown: list[str] = []
        for token in self.split(text):
            known = self._ids.get(token)
            if known is not None:
                ids.append(known)
                continue
            i = 0
            while i < len(token):
                for n in range(min(self._longest, len(token) - i), 0, -1):
                    piece = self._ids.get(token[i : i + n])
                    if piece is not None:
                        ids.append(piece)
                        i += n
                        break
                else:
                    ids.append(UNK_ID)
                    unknown.append(token[i])
                    i += 1
        return np.array(ids, dtype=np.int64), list(dict.fromkeys(unknown))

    @functools.cached_property
    def _longest(self) -> int:
        """Characters in the longest token (for `encode_prompt`'s matching)."""
        return max((len(t) for t in self.tokens[1:]), default=1)

    def unknown_tokens(self, text: str) -> list[str]:
        """Returns the distinct tokens of `text` that are not in the vocabulary, in order."""
        return list(dict.fromkeys(t for t in self.split(text) if t not in self._ids))

    # === Building ===

    @classmethod
    def count(
        cls, chunks: Iterable[str], *, workers: int | None = 1, **settings: Any
    ) -> Counter[str]:
        """Counts the tokens of a corpus given as text chunks.

        `workers` lets a subclass use several processes (see `WordTokenizer`).
        """
        probe = cls([UNK], settings)
        counts: Counter[str] = Counter()
        for chunk in chunks:
            counts.update(probe.split(chunk))
        return counts

    @classmethod
    def from_counts(
        cls, counts: Counter[str], max_vocab: int, min_freq: int = 1, **settings: Any
    ) -> Tokenizer:
        """Builds a vocabulary from token counts.

        Keeps the `max_vocab - 1` most frequent tokens seen at least `min_freq`
        times (ties broken by the token text, so ids are reproducible), then
        orders them with `_order`.
        """
        kept = [t for t, c in counts.items() if c >= min_freq and t != UNK]
        kept.sort(key=lambda t: (-counts[t], t))
        kept = cls._order(kept[: max_vocab - 1], counts)
        return cls([UNK, *kept], settings)

    @classmethod
    def _order(cls, tokens: list[str], counts: Counter[str]) -> list[str]:
        """Orders the kept tokens into ids 1..V-1 (most frequent first by default)."""
        return tokens

    def coverage(self, counts: Counter[str]) -> float:
        """Share of the counted corpus tokens that are in the vocabulary."""
        total = sum(counts.values())
        known = sum(c for t, c in counts.items() if t in self._ids)
        return known / total if total else 1.0

    # === Serialisation ===

    def get_config(self) -> dict[str, Any]:
        """Returns everything needed to rebuild this tokenizer (JSON friendly)."""
        return {"kind": self.kind, "settings": self.settings, "tokens": self.tokens}

    def save(self, path: Path) -> None:
        """Writes `vocab.json` atomically, as UTF-8 (tokens readable, not escaped)."""
        from textgen.fileio import atomic_write_text

        atomic_write_text(path, json.dumps(self.get_config(), ensure_ascii=False, indent=1))
