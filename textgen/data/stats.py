"""What a corpus is made of, before training on it: token shares and the unigram loss.

A model learns whatever dominates its corpus. A text that is mostly table
borders, rulers or padding trains a model that draws tables; the report below
says so before any time is spent. The unigram loss (the cross-entropy of
always guessing by frequency) is the level a model that has learnt no context
sits at, and is what the plateau warning compares against.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import numpy as np

from textgen.data.tokenizers import Tokenizer

# Punctuation that ordinary prose is full of (Chinese prose is ~10% '，' and '。').
PROSE_PUNCTUATION = set(".,;:!?'\"()—…，。！？、；：“”‘’《》「」（）")
BOX_SHARE = 0.05  # box-drawing and block characters (tables, borders) together
SYMBOL_SHARE = 0.08  # any one other symbol (a ruler of '=' or '-'); code stays below
SPACE_SHARE = 0.40  # of the characters: spaces and tabs (prose ~17%, indented code ~35%)
COUNT_SLICE = 1 << 22  # ids counted at a time


@dataclass
class CorpusStats:
    """Token statistics of an encoded corpus."""

    counts: np.ndarray  # (V,) occurrences of each token id
    tokenizer: Tokenizer

    @classmethod
    def of(cls, ids: np.ndarray, tokenizer: Tokenizer) -> CorpusStats:
        """Counts the ids slice by slice: memory-mapped ids are never copied whole."""
        counts = np.zeros(tokenizer.vocab_size, np.int64)
        for start in range(0, ids.size, COUNT_SLICE):
            counts += np.bincount(ids[start : start + COUNT_SLICE],
                                  minlength=tokenizer.vocab_size)
        return cls(counts, tokenizer)

    @property
    def total(self) -> int:
        """Tokens in all."""
        return int(self.counts.sum())

    def unigram_loss(self, other: CorpusStats | None = None) -> float:
        """Nats per token of always predicting this corpus's token frequencies, scored on
        `other` (e.g. the validation tail; tokens unseen here count as seen once), or on
        this corpus itself (its unigram entropy)."""
        target = self.counts if other is None else other.counts
        p = (self.counts + (0 if other is None else 1)) / (
            self.total + (0 if other is None else self.counts.size))
        seen = target > 0
        return float(-(target[seen] * np.log(p[seen])).sum() / target.sum())

    def top(self, n: int = 10) -> list[tuple[str, float]]:
        """The `n` most frequent tokens and their shares."""
        order = np.argsort(-self.counts, kind="stable")[:n]
        return [(self.tokenizer.id_to_token(int(i)), self.counts[i] / self.total)
                for i in order if self.counts[i]]

    def share(self, predicate, by_characters: bool = False) -> float:
        """The share of tokens (or of characters) whose token satisfies `predicate`."""
        weights = self.counts * (self.tokenizer.token_lengths() if by_characters else 1)
        hits = [i for i in range(self.tokenizer.vocab_size) if self.counts[i]
                and predicate(self.tokenizer.id_to_token(i))]
        return float(weights[hits].sum() / weights.sum()) if hits else 0.0

    def warnings(self) -> list[str]:
        """What in the corpus would make the model learn the wrong thing."""
        out = []
        boxes = self.share(lambda t: t != "" and all("\u2500" <= ch <= "\u259f" for ch in t))
        heavy = [(t, s) for t, s in self.top(20) if _is_symbol(t) and s >= SYMBOL_SHARE]
        if boxes >= BOX_SHARE or heavy:
            what = [f"box-drawing characters {boxes:.0%}"] if boxes >= BOX_SHARE else []
            what += [f"{t!r} {s:.0%}" for t, s in heavy]
            out.append(
                f"warning: a few symbols dominate the corpus ({', '.join(what)}): tables, "
                "rulers or borders. The model will learn to draw them; remove them from "
                "the text if that is not what you want"
            )
        spaces = self.share(lambda t: t != "" and set(t) <= {" ", "\t"}, by_characters=True)
        if spaces >= SPACE_SHARE:
            out.append(
                f"warning: {spaces:.0%} of the corpus is spaces and tabs (prose has about "
                "17%): indentation, alignment or padding. The model will spend its "
                "capacity on them; consider collapsing runs of spaces"
            )
        return out

    def report(self) -> list[str]:
        """Readable lines: whitespace share and the most frequent tokens."""
        spaces = self.share(lambda t: t != "" and t.isspace(), by_characters=True)
        top = ", ".join(f"{t!r} {s:.1%}" for t, s in self.top(8))
        return [
            f"corpus: whitespace {spaces:.1%} of the characters; most frequent tokens: {top}",
            f"unigram loss (guessing by frequency): {self.unigram_loss():.3f} nats/token",
        ]


def _is_symbol(token: str) -> bool:
    """A token made only of symbols or punctuation that prose rarely repeats."""
    if not token or token.isspace():
        return False
    return all(
        ch not in PROSE_PUNCTUATION
        and unicodedata.category(ch)[0] in "SP"  # symbols (│ ─ = + |) and punctuation (- * #)
        for ch in token
    )
