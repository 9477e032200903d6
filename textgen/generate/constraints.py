"""Constraints: rules on which tokens may come next, applied to every token drawn.

A constraint is a filter (`textgen.generate.samplers.Filter`) whose `allowed`
returns a mask of the tokens each row may take next; the sampler sets the others
to -inf before the other filters run, the first token included. Rules look at
the generation's `Context`: each row's ids and text so far, its position in the
current line, the step, and the vocabulary's token strings (so that a rule on
characters can allow the word tokens that start with them).

The context (`textgen.generate.context`) keeps the per-token cost low.

Example:
    >>> gen = textgen.load("runs/poems")                                # doctest: +SKIP
    >>> gen.generate("", 200, constraints=[MaxLineLength(20)])          # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np

from textgen.errors import InvalidArgument
from textgen.generate.context import Context, Vocabulary
from textgen.generate.samplers import Filter

__all__ = ["Constraint", "Context", "MaxLineLength", "StartsWith", "Vocabulary"]


class Constraint(Filter):
    """Base class: a rule that allows some tokens next and masks the others.

    Subclasses implement `allowed`; the sampler applies every constraint after
    the bans and before penalties, temperature, top-k and top-p, to every token
    including the first. A row left with no allowed token is an error. A rule
    that knows when a text is whole (a poem's form) also implements `complete`.
    """

    wants_context = True

    def allowed(self, context: Context) -> np.ndarray:
        """The tokens each row may take next: (B, V) bool, or (V,) for every row."""
        raise NotImplementedError

    def complete(self, context: Context) -> np.ndarray | None:
        """The rows whose text this rule has completed (B,) bool, or None (never): a
        completed row ends after its last token (finish reason "complete"), as a
        poem ends with its form."""
        return None

    def __call__(self, logits, history, context=None):
        if context is None:
            raise InvalidArgument(
                f"{type(self).__name__} needs the generation's context: pass it in "
                "`constraints` to Generator.run (or give Sampler.sample a Context)")
        np.copyto(logits, -np.inf, where=~self.allowed(context))  # (B, V), broadcast


class StartsWith(Constraint):
    """Only tokens whose text starts with one of `chars` (a word token counts by its
    first character).

    Args:
        chars: the allowed first characters.
    """

    def __init__(self, chars: str):
        if not isinstance(chars, str) or not chars:
            raise InvalidArgument(f"`chars` must be a non-empty string. Received: chars={chars!r}")
        self.chars = chars

    def allowed(self, context):
        return context.vocab.starting_with(self.chars)  # (V,)


class MaxLineLength(Constraint):
    """Lines of at most `n` characters: a token that would carry a line past `n`
    is masked, so at the limit only a line break (or a token starting with one) may
    come. A token that starts with a line break is always allowed (a prompt's line
    may already be longer).

    Args:
        n: the most characters in a line (the line break not counted).
    """

    def __init__(self, n: int):
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise InvalidArgument(f"`n` must be an integer >= 1. Received: n={n!r}")
        self.n = n

    def allowed(self, context):
        heads = context.vocab.line_heads  # (V,) characters before a token's first break
        return (context.line_chars[:, None] + heads[None, :] <= self.n) | (heads == 0)  # (B, V)
