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

from collections.abc import Sequence

import numpy as np

from textgen.data.tokenizers.han import HAN_RUN
from textgen.errors import InvalidArgument
from textgen.generate.constraints import Constraint
from textgen.generate.context import Context, Vocabulary
from textgen.generate.poetry.check import check_poem
from textgen.generate.poetry.forms import Layout
from textgen.generate.poetry.lexicon import Lexicon, lexicon
from textgen.generate.poetry.rules import Acrostic, NoRepeat, PoemRule, PoemShape, Rhyme, Tones
from textgen.generate.poetry.spec import PoemSpec
from textgen.generate.poetry.table import PING_GROUPS


class Poem(Constraint):
    """A poem's rules composed: hard ones (shape, heads), soft ones relaxed in order.

    Args:
        spec: the poem asked for.
        layout: its text positions.
        hard: rules never relaxed.
        soft: rules in the order they are relaxed (first relaxed first).

        lex: the vocabulary's `Lexicon` (for `report`).
        rows: the rows of the generation it will rule (`begin`).

    Attributes:
        relaxed: per row, the rules relaxed and where: {"rule", "line", "char"}
            (1-based) and "cause" ("rules": the rules together allowed no
            character; "probability": no allowed character had probability left),
            for the generation last seen; one empty list per row before any token.
    """

    def __init__(self, spec: PoemSpec, layout: Layout, hard: list[PoemRule],
                 soft: list[PoemRule], lex: Lexicon | None = None, rows: int = 1):
        self.spec, self.layout, self.hard, self.soft = spec, layout, hard, soft
        self._context: Context | None = None
        self._lexicon = lex
        self.begin(rows)

    def begin(self, rows: int) -> None:
        """Starts a generation of `rows` rows: nothing relaxed yet in any of them."""
        self.relaxed: list[list[dict]] = [[] for _ in range(rows)]
        self._context = None

    @classmethod
    def build(cls, spec: PoemSpec, vocab: Vocabulary) -> Poem:
        """The rules of `spec` for a model's vocabulary.

        Raises:
            InvalidArgument: the spec asks for no poem, or the vocabulary has no Han
                characters, or lacks a head or the punctuation.
        """
        if not spec.active:
            raise InvalidArgument("a poem needs a `form` or an `acrostic`")
        if not any(len(t) == 1 and HAN_RUN.fullmatch(t) for t in vocab.tokens):
            raise InvalidArgument("the model knows no Han (Chinese) characters; poetry forms "
                                  "need a Chinese character model")
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
        return cls(spec, layout, hard, soft, lex)

    def check_prime(self, prime: str) -> None:
        """Checks that a prime can begin the poem.

        Raises:
            InvalidArgument: the prime does not fit the shape or the heads, its even
                lines do not rhyme (when rhymed), or it is already the whole poem.
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
        if self.spec.rhymed:
            self._check_prime_rhyme(prime)

    def _check_prime_rhyme(self, prime: str) -> None:
        """Refuses a prime whose even lines' endings cannot rhyme (by 平水韵, in the
        asked-for group, none twice)."""
        table = self._lexicon.table
        wanted = self.spec.group
        groups = frozenset(range(len(PING_GROUPS))) if wanted is None else frozenset([wanted])
        used: list[str] = []
        for i, line in enumerate(self.layout.split(prime)):
            if len(line) < self.layout.chars or not self.layout.rhymes(i):
                continue
            end, why = line[-1], ""
            if not table.groups(end):
                why = "which has no 平声 reading"
            elif end in used:
                why = "already a rhyme: a rhyme never repeats"
            elif not groups & table.groups(end):
                names = "/".join(PING_GROUPS[g] for g in sorted(table.groups(end)))
                why = (f"in {names}, not the `rhyme_group` {self.spec.rhyme_group}"
                       if wanted is not None and not used else
                       f"in {names}, which does not rhyme with {''.join(used)}")
            if why:
                raise InvalidArgument(
                    f"the prime's line {i + 1} ends on {end!r}, {why}; an even line must "
                    f"rhyme (or give `rhyme` 'none'). Received: prime={prime!r}")
            groups &= table.groups(end)
            used.append(end)

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
            self.begin(context.rows)
            self._context = context
        hard = np.ones(logits.shape, bool)  # (B, V)
        for rule in self.hard:
            hard &= rule.allowed(context)
        soft = [rule.allowed(context) for rule in self.soft]  # each (B, V)
        usable = np.isfinite(logits)  # (B, V): the bans already ran
        mask = hard.copy()
        for m in soft:
            mask &= m
        for r in np.flatnonzero(~(mask & usable).any(axis=1)):
            cause = "probability" if mask[r].any() else "rules"
            mask[r] = self._relax(r, hard[r] & usable[r], [m[r] for m in soft], context, cause)
        np.copyto(logits, -np.inf, where=~mask)

    def _relax(self, row: int, base: np.ndarray, soft: list[np.ndarray],
               context: Context, cause: str) -> np.ndarray:
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
                                      "char": slot.col + 1, "cause": cause})
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


def poem_of(constraints: Sequence[Constraint]) -> Poem | None:
    """The poem among a generation's constraints (`Generator.run(form=...)`), or None."""
    return next((c for c in constraints if isinstance(c, Poem)), None)
