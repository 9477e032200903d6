"""`Poem`: the poetry rules of a `PoemSpec` as one constraint that relaxes, and reports.

The shape and the heads are hard: never relaxed. The soft rules are relaxed in
a fixed order when, for a row, the allowed tokens have no probability left
(every allowed token's logit is -inf, or none is allowed): first no-repeat, then
tones, then rhyme; a rule is put back as soon as the row has a token without
it. Each relaxation is recorded per row (`relaxed`), so the output can say so.

Example:
    >>> spec = PoemSpec(form="五绝", acrostic="春夏秋冬")                # doctest: +SKIP
    >>> poem = Poem.build(spec, gen.vocabulary)                           # doctest: +SKIP
    >>> gen.run("", 100, constraints=[poem]).samples[0].text              # doctest: +SKIP
    '春风吹柳绿，...'
"""

from __future__ import annotations

import numpy as np

from textgen.data.tokenizers.han import HAN_RUN
from textgen.errors import InvalidArgument
from textgen.generate.constraints import Constraint
from textgen.generate.context import Context, Vocabulary
from textgen.generate.poetry.check import check_poem
from textgen.generate.poetry.forms import Layout
from textgen.generate.poetry.lexicon import lexicon
from textgen.generate.poetry.rules import Acrostic, NoRepeat, PoemRule, PoemShape, Rhyme, Tones
from textgen.generate.poetry.spec import PoemSpec


class Poem(Constraint):
    """A poem's rules composed: hard ones (shape, heads), soft ones relaxed in order.

    Args:
        spec: the poem asked for.
        layout: its text positions.
        hard: rules never relaxed.
        soft: rules in the order they are relaxed (first relaxed first).

    Attributes:
        relaxed: per row, the rules relaxed and where: {"rule", "line", "char"}
            (1-based), for the generation last seen.
    """

    def __init__(self, spec: PoemSpec, layout: Layout, hard: list[PoemRule],
                 soft: list[PoemRule]):
        self.spec, self.layout, self.hard, self.soft = spec, layout, hard, soft
        self.relaxed: list[list[dict]] = []
        self._context: Context | None = None
        self._lexicon = None

    @classmethod
    def build(cls, spec: PoemSpec, vocab: Vocabulary) -> Poem:
        """The rules of `spec` for a model's vocabulary.

        Raises:
            InvalidArgument: the spec asks for no poem, or the vocabulary lacks a
                head or the punctuation.
        """
        if not spec.active:
            raise InvalidArgument("a poem needs a `form` or an `acrostic`")
        lex = lexicon(vocab)
        layout = Layout(spec.lines, spec.chars, "\n" if lex.id("\n") is not None else "")
        for char in ("，", "。"):
            if lex.id(char) is None:
                raise InvalidArgument(f"the model never saw {char!r}, which a poem's lines "
                                      "end with: train it on punctuated verse")
        unseen = [h for h in dict.fromkeys(spec.acrostic or "") if lex.id(h) is None]
        if unseen:
            raise InvalidArgument(f"`acrostic` has heads the model never saw: {''.join(unseen)}."
                                  f" Received: acrostic={spec.acrostic!r}")
        hard: list[PoemRule] = [PoemShape(layout)]
        if spec.acrostic:
            hard.append(Acrostic(spec.acrostic, layout))
        soft: list[PoemRule] = []
        if spec.no_repeat:
            soft.append(NoRepeat(layout))
        if spec.tone_mode != "none":
            soft.append(Tones(layout, spec.tone_mode))
        if spec.rhymed:
            soft.append(Rhyme(layout, spec.group))
        poem = cls(spec, layout, hard, soft)
        poem._lexicon = lex
        return poem

    def check_prime(self, prime: str) -> None:
        """Checks that a prime can begin the poem.

        Raises:
            InvalidArgument: the prime does not fit the shape or the heads, or is
                already the whole poem.
        """
        slots = self.layout.slots
        if len(prime) >= len(slots):
            raise InvalidArgument(f"the prime is {len(prime)} characters: a whole "
                                  f"{self._name} or more ({len(slots)}); shorten it")
        heads = self.spec.acrostic or ""
        for k, char in enumerate(prime):
            slot = slots[k]
            if slot.text:
                want, ok = repr(slot.text), char == slot.text
            elif slot.col == 0 and slot.line < len(heads):
                want, ok = repr(heads[slot.line]), char == heads[slot.line]
            else:
                want, ok = "a Han character", HAN_RUN.fullmatch(char) is not None
            if not ok:
                raise InvalidArgument(
                    f"the prime does not begin a {self._name}: character {k + 1} is "
                    f"{char!r} where line {slot.line + 1} needs {want}. Received: prime={prime!r}")

    @property
    def _name(self) -> str:
        return self.spec.form or f"{self.layout.lines}-line acrostic"

    def allowed(self, context: Context) -> np.ndarray:
        """Every rule at once, none relaxed (B, V) bool."""
        mask = np.ones((context.rows, len(context.vocab.tokens)), bool)
        for rule in [*self.hard, *self.soft]:
            mask &= rule.allowed(context)
        return mask

    def __call__(self, logits, history, context=None):
        if context is None:
            super().__call__(logits, history, context)  # raises: needs the context
        if context is not self._context:
            self._context, self.relaxed = context, [[] for _ in range(context.rows)]
        hard = np.ones(logits.shape, bool)  # (B, V)
        for rule in self.hard:
            hard &= rule.allowed(context)
        soft = [rule.allowed(context) for rule in self.soft]  # each (B, V)
        usable = np.isfinite(logits)  # (B, V): the bans already ran
        mask = hard.copy()
        for m in soft:
            mask &= m
        for r in np.flatnonzero(~(mask & usable).any(axis=1)):
            mask[r] = self._relax(r, hard[r] & usable[r], [m[r] for m in soft], context)
        np.copyto(logits, -np.inf, where=~mask)

    def _relax(self, row: int, base: np.ndarray, soft: list[np.ndarray],
               context: Context) -> np.ndarray:
        """Row `row`'s mask with the fewest soft rules dropped, earliest first (V,).
        Nothing is dropped when the hard rules alone leave no token (the sampler
        then says so)."""
        if not base.any():
            return base
        kept = list(range(len(soft)))
        dropped = []
        while kept:  # drop rules in order until some token is left
            dropped.append(kept.pop(0))
            mask = base.copy()
            for k in kept:
                mask &= soft[k]
            if mask.any():
                break
        for k in dropped[:-1]:  # put back the earlier ones that the row can keep
            if (mask & soft[k]).any():
                mask &= soft[k]
                dropped.remove(k)
        pos = len(context.prompt) + len(context.text(row))
        slot = self.layout.slots[min(pos, len(self.layout.slots) - 1)]
        for k in sorted(dropped):
            self.relaxed[row].append({"rule": self.soft[k].name, "line": slot.line + 1,
                                      "char": slot.col + 1})
        return mask

    def complete(self, context: Context) -> np.ndarray:
        """Rows whose poem is complete (B,) bool: they end there."""
        return self.hard[0].complete(context)

    def report(self, row: int, poem: str) -> dict:
        """The row's constraints, the checks of its poem (prime included) and what was
        relaxed, as plain values (for JSON output)."""
        check = check_poem(poem, self.spec, self._lexicon.table, self.layout.newline)
        return {"constraints": self.spec.as_dict(), "check": check.as_dict(),
                "relaxed": list(self.relaxed[row]) if row < len(self.relaxed) else []}
