"""How a language model's predictions are scored: nats, bits, perplexity, bits per character.

The one home of these figures: the training loop's validation
(`textgen.train.trainer`), `textgen eval` (`textgen.evaluate.perplexity`) and the
benchmark scripts all compute them here, so the same text gets the same numbers.

Nats per token are what the model's loss measures. Bits per character divide by
the characters the scored targets cover instead of their count, which makes
character and word models comparable; a `<unk>` target is charged the cost of
spelling out the characters behind it (`EncodedCorpus.spelling_cost`), so a
word model does not look better for leaving words out of its vocabulary.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from textgen.data.batches import StatefulBatches
from textgen.data.encode import EncodedCorpus

LN2 = math.log(2)  # nats per bit


def bits(nats: float) -> float:
    """Converts nats to bits."""
    return nats / LN2


def perplexity(nats_per_token: float) -> float:
    """exp(loss): the model is as unsure as a uniform choice among this many tokens."""
    return math.exp(nats_per_token)


def bits_per_char(nats: float, characters: float, spelling_nats: float = 0.0) -> float:
    """Bits per character of a scored text.

    Args:
        nats: the model's total negative log-likelihood of the targets.
        characters: the characters those targets cover.
        spelling_nats: what spelling out the `<unk>` targets' characters adds.
    """
    return bits(nats + spelling_nats) / characters


@dataclass(frozen=True)
class ScoredText:
    """What the targets of a batch layout cover: characters, `<unk>`s and their charge.

    Attributes:
        characters: characters covered by all targets (`<unk>` counts its corpus mean).
        unknown: targets that are `<unk>` (or another reserved id).
        spelling_nats: nats that spelling out those `<unk>` targets adds.
    """

    characters: float
    unknown: int
    spelling_nats: float

    @classmethod
    def of(cls, batches: StatefulBatches, enc: EncodedCorpus) -> ScoredText:
        """The targets of `batches`, with characters and `<unk>` costs from `enc`."""
        unknown = batches.count(enc.tokenizer.reserved_ids)
        return cls(batches.target_chars(enc.char_lengths()), unknown,
                   enc.spelling_cost(unknown))

    def bits_per_char(self, nats: float) -> float:
        """Bits per character when the model's total loss on the targets is `nats`."""
        return bits_per_char(nats, self.characters, self.spelling_nats)
