"""The poetry constraints, one rule each: shape, heads (藏头), rhyme, tones, no repeats.

Each rule is a `Constraint` usable alone (`constraints=[PoemShape(layout)]`);
`Poem` (`textgen.generate.poetry.poem`) composes them and relaxes the soft ones
when they leave no token. A rule reads each row's poem so far (the prompt and
the row's text: the prompt is the poem's beginning) and its next position in
the `Layout`; past the poem's end a rule allows every token (the row has ended).
"""

from __future__ import annotations

import numpy as np

from textgen.generate.constraints import Constraint
from textgen.generate.context import Context
from textgen.generate.poetry.forms import (
    EITHER,
    PING,
    ZE,
    Layout,
    Slot,
    loose_templates,
    next_tones,
    strict_templates,
)
from textgen.generate.poetry.lexicon import Lexicon, lexicon


class PoemRule(Constraint):
    """Base class: a rule on the next character of each row's poem.

    Subclasses implement `row_mask`. Args: `layout`, the poem's text positions.
    """

    name = "poem"

    def __init__(self, layout: Layout):
        self.layout = layout

    def poems(self, context: Context) -> list[str]:
        """Each row's poem so far: the prompt, then the row's text."""
        return [context.prompt + context.text(r) for r in range(context.rows)]

    def allowed(self, context: Context) -> np.ndarray:
        lex = lexicon(context.vocab)
        out = np.ones((context.rows, len(context.vocab.tokens)), bool)  # (B, V)
        slots = self.layout.slots
        for r, poem in enumerate(self.poems(context)):
            if len(poem) < len(slots):
                mask = self.row_mask(poem, slots[len(poem)], lex)
                if mask is not None:
                    out[r] = mask
        return out

    def row_mask(self, poem: str, slot: Slot, lex: Lexicon) -> np.ndarray | None:
        """The tokens (V,) bool allowed at `slot` after `poem`, or None for no rule there."""
        raise NotImplementedError


class PoemShape(PoemRule):
    """The form's shape: Han characters inside lines, ， and 。 in their places, a line
    break after each couplet; the poem is complete after its last 。."""

    name = "shape"

    def row_mask(self, poem: str, slot: Slot, lex: Lexicon) -> np.ndarray | None:
        return lex.one_hot(slot.text) if slot.text else lex.han

    def complete(self, context: Context) -> np.ndarray:
        """Rows whose poem is complete (B,) bool."""
        n = len(self.layout.slots)
        return np.array([len(p) >= n for p in self.poems(context)])


class Acrostic(PoemRule):
    """藏头: line i starts with the i-th of `heads` (lines past the heads are free).

    Args:
        heads: one character per line, from the first.
        layout: the poem's positions.
    """

    name = "heads"

    def __init__(self, heads: str, layout: Layout):
        super().__init__(layout)
        self.heads = heads

    def row_mask(self, poem: str, slot: Slot, lex: Lexicon) -> np.ndarray | None:
        if slot.text or slot.col or slot.line >= len(self.heads):
            return None
        return lex.one_hot(self.heads[slot.line])


class Rhyme(PoemRule):
    """平水韵 rhyme: the even lines end on 平声 characters of one group, never the
    same character twice; line 1 may rhyme (a 平-only ending joins the rhyme).

    Args:
        layout: the poem's positions.
        group: the 平声 group (index into `table.PING_GROUPS`); None: the first
            rhyming line's groups (a polyphonic ending keeps all of its groups open).
    """

    name = "rhyme"

    def __init__(self, layout: Layout, group: int | None = None):
        super().__init__(layout)
        self.group = group

    def state(self, lines: list[str], lex: Lexicon) -> tuple[frozenset[int], set[str]]:
        """The rhyme groups still open and the characters used at rhyme positions,
        after the complete lines of `lines`.

        The even lines' endings narrow the groups in turn, each only when some stay
        open: after a relaxed (non-rhyming) ending the next rhyming line picks the
        rhyme up again. A 平-only line 1 then joins when it shares a group with
        them, else it stays outside the rhyme (首句 may rhyme or not). The checker
        (`check_poem`) judges a finished poem the same way."""
        table = lex.table
        groups = frozenset(range(lex.groups.shape[1]) if self.group is None else [self.group])
        used: set[str] = set()
        done = [line for line in lines if len(line) == self.layout.chars]
        for i, line in enumerate(done):
            end = line[-1]
            if self.layout.rhymes(i):
                if groups & table.groups(end):
                    groups &= table.groups(end)
                used.add(end)
        if done:
            first = done[0][-1]
            ping, ze = table.tones(first)
            if ping and not ze and groups & table.groups(first):
                groups &= table.groups(first)
                used.add(first)
        return groups, used

    def row_mask(self, poem: str, slot: Slot, lex: Lexicon) -> np.ndarray | None:
        if slot.text or slot.col != self.layout.chars - 1:
            return None
        if not (self.layout.rhymes(slot.line) or slot.line == 0):
            return None
        groups, used = self.state(self.layout.split(poem), lex)
        mask = lex.rhyming(groups).copy()  # (V,)
        for char in used:
            mask &= ~lex.one_hot(char)
        if not self.layout.rhymes(slot.line):  # line 1: a 仄 ending does not rhyme
            mask |= lex.ze
        return mask


class Tones(PoemRule):
    """平仄: "strict" matches one of the form's standard templates at every position
    (the first characters choose it; after a prime that fits none, the closest);
    "loose" keeps 二四六分明 and no 三平尾 in each line. A polyphonic character
    counts as either tone; one the table lacks fits only where the tone is free.

    Args:
        layout: the poem's positions (5 or 7 characters a line).
        mode: "strict" or "loose".
    """

    name = "tones"

    def __init__(self, layout: Layout, mode: str = "loose"):
        super().__init__(layout)
        self.mode = mode
        if mode == "strict":
            self.templates = list(strict_templates(layout.lines, layout.chars).values())
        else:
            self.templates = loose_templates(layout.chars)

    def row_mask(self, poem: str, slot: Slot, lex: Lexicon) -> np.ndarray | None:
        if slot.text:
            return None
        lines = self.layout.split(poem)
        chars = "".join(lines) if self.mode == "strict" else (
            lines[-1] if lines and len(lines[-1]) < self.layout.chars else "")
        want = next_tones(self.templates, [lex.table.tones(c) for c in chars])
        if EITHER in want:
            return None
        mask = np.zeros(len(lex.han), bool)
        if PING in want:
            mask |= lex.ping
        if ZE in want:
            mask |= lex.ze
        return mask


class NoRepeat(PoemRule):
    """No character twice within a line."""

    name = "no_repeat"

    def row_mask(self, poem: str, slot: Slot, lex: Lexicon) -> np.ndarray | None:
        if slot.text or slot.col == 0:
            return None
        mask = np.ones(len(lex.han), bool)
        for char in self.layout.split(poem)[-1]:
            mask &= ~lex.one_hot(char)
        return mask
