"""Samplers: pick the next token of each row from the model's logits.

A sampler is a chain of small logit filters, each with one job, followed by a
choice: the most likely token (temperature 0) or a random draw. Filters work on
float64 logits of shape (B, V) (float32 softmax underflows at low temperatures)
and run in the order the field uses (Hugging Face's `generate`):

    BanIds -> constraints -> RepetitionPenalty -> Temperature -> TopK -> TopP -> choose

Constraints (`textgen.generate.constraints`) mask the tokens a rule forbids,
before the other filters, so that top-k and top-p choose among allowed tokens.
Every filter is given the generation's `Context` (each row's text so far, its
position in the line, the vocabulary); most ignore it.

Example:
    >>> import numpy as np
    >>> s = Sampler([RepetitionPenalty(1.3, window=32), Temperature(0.8), TopK(40)],
    ...             banned_ids=[0])
    >>> rng = [np.random.default_rng(1)]
    >>> int(s.sample(np.log([[0.1, 0.6, 0.3]]), rng)[0]) in (1, 2)
    True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace

import numpy as np

from textgen.errors import InvalidArgument, TextgenError
from textgen.generate.context import Context
from textgen.generate.settings import BY_NAME, SETTINGS


def _check(ok: bool, name: str, value: object, rule: str) -> None:
    if not ok:
        raise InvalidArgument(f"`{name}` must be {rule}. Received: {name}={value!r}")


def _finite(value: float) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


class Filter:
    """Base class: rewrites logits (B, V) float64 in place; masked tokens get -inf.

    A filter is called as `filter(logits, history)`; one that sets `wants_context`
    (the constraints do) is also given the generation's `Context`:
    `filter(logits, history, context)`. So filters written for the two-argument
    call keep working.
    """

    wants_context = False

    def __call__(self, logits: np.ndarray, history: np.ndarray | None,
                 context: Context | None = None) -> None:
        """Filters `logits` (B, V); `history` (B, N) holds each row's recent tokens
        (-1 where a row has none yet), or None; `context` is the generation's
        per-row state (None when sampling outside a generation)."""
        raise NotImplementedError


class Temperature(Filter):
    """Divides logits by `temperature` (> 0): below 1 safer, above 1 wilder.

    Temperature 0 is not a filter: `Sampler` then takes the most likely token.
    """

    def __init__(self, temperature: float):
        _check(_finite(temperature) and temperature > 0, "temperature", temperature,
               "a finite number > 0 (0 means greedy: leave the filter out)")
        self.temperature = float(temperature)

    def __call__(self, logits, history, context=None):
        # Shift first, so that the best token stays at 0 and a tiny temperature
        # sends the others to -inf (never inf - inf = NaN).
        with np.errstate(over="ignore", invalid="ignore"):  # a row of -inf: caught later
            logits -= logits.max(axis=1, keepdims=True)
            logits /= self.temperature


class TopK(Filter):
    """Keeps the `k` most likely tokens of each row (exactly k; ties broken arbitrarily)."""

    def __init__(self, k: int):
        _check(isinstance(k, int) and not isinstance(k, bool) and k >= 1, "top_k", k,
               "an integer >= 1")
        self.k = k

    def __call__(self, logits, history, context=None):
        B, V = logits.shape
        if self.k >= V:
            return
        keep = np.argpartition(-logits, self.k - 1, axis=1)[:, : self.k]  # (B, k)
        kept = np.take_along_axis(logits, keep, axis=1)
        logits.fill(-np.inf)
        np.put_along_axis(logits, keep, kept, axis=1)


class TopP(Filter):
    """Nucleus sampling: keeps the fewest most likely tokens whose probabilities add
    up to at least `p` (the most likely token is always kept)."""

    def __init__(self, p: float):
        _check(_finite(p) and 0 < p <= 1, "top_p", p, "a number in (0, 1]")
        self.p = float(p)

    def __call__(self, logits, history, context=None):
        if self.p >= 1:
            return
        order = np.argsort(-logits, axis=1, kind="stable")  # (B, V), most likely first
        probs = np.take_along_axis(softmax(logits), order, axis=1)
        before = np.cumsum(probs, axis=1) - probs  # mass of the more likely tokens
        drop = before >= self.p  # never the first: its `before` is 0 < p
        rows = np.nonzero(drop)[0]
        logits[rows, order[drop]] = -np.inf


class RepetitionPenalty(Filter):
    """Makes each token seen in a row's last `window` tokens `penalty` times less likely.

    Logits drop by log(penalty): a token's probability (before renormalising) is
    divided by `penalty`, whatever the sign or offset of the logits. (Hugging
    Face's variant divides positive logits and multiplies negative ones, which
    depends on where the logits happen to sit.) 1.0 is off.
    """

    def __init__(self, penalty: float, window: int = 64):
        _check(_finite(penalty) and penalty >= 1, "repetition_penalty", penalty,
               "a finite number >= 1 (1 = off)")
        _check(isinstance(window, int) and not isinstance(window, bool) and window >= 1,
               "repetition_window", window, "an integer >= 1")
        self.penalty = float(penalty)
        self.window = window

    def __call__(self, logits, history, context=None):
        if history is None or self.penalty == 1 or history.shape[1] == 0:
            return
        recent = history[:, -self.window :]  # (B, W)
        rows = np.broadcast_to(np.arange(len(recent))[:, None], recent.shape)
        valid = recent >= 0
        seen = np.zeros(logits.shape, dtype=bool)
        seen[rows[valid], recent[valid]] = True
        logits[seen] -= math.log(self.penalty)


class BanIds(Filter):
    """Never picks `ids` (e.g. `<unk>`)."""

    def __init__(self, ids: Sequence[int]):
        self.ids = list(ids)

    def __call__(self, logits, history, context=None):
        logits[:, self.ids] = -np.inf


class Sampler:
    """Filters, then a choice: greedy when `greedy` is set, else a random draw.

    Args:
        filters: applied in order to float64 logits (B, V).
        greedy: take the most likely token instead of drawing.
        banned_ids: never returned (applied before the filters).
        constraints: masks applied after the bans and before `filters`
            (`textgen.generate.constraints.Constraint`).
    """

    def __init__(self, filters: Sequence[Filter] = (), greedy: bool = False,
                 banned_ids: Sequence[int] = (), constraints: Sequence[Filter] = ()):
        self.filters = (([BanIds(banned_ids)] if len(banned_ids) else []) + list(constraints)
                        + list(filters))
        self.greedy = greedy

    def filtered(self, logits: np.ndarray, history: np.ndarray | None = None,
                 context: Context | None = None) -> np.ndarray:
        """Returns the filtered logits (B, V) float64 (a copy; -inf = never drawn)."""
        out = np.array(logits, dtype=np.float64, ndmin=2)
        for f in self.filters:
            if getattr(f, "wants_context", False):  # plain callables too
                f(out, history, context)
            else:
                f(out, history)
        return out

    def sample(
        self,
        logits: np.ndarray,
        rngs: Sequence[np.random.Generator],
        history: np.ndarray | None = None,
        context: Context | None = None,
    ) -> np.ndarray:
        """Picks one token per row.

        Args:
            logits: (B, V) (or (V,) for one row).
            rngs: one generator per row, so each row's draws depend only on its own seed.
            history: (B, N) each row's recent tokens, -1 for none (for the penalty).
            context: the generation's per-row state, for constraints.

        Returns:
            Token ids (B,) int64.
        """
        z = self.filtered(logits, history, context)  # (B, V)
        best = z.max(axis=1, keepdims=True)  # (B, 1)
        if not np.isfinite(best).all():
            raise TextgenError(
                "the model gave no usable score to any allowed token (NaN or infinite "
                "logits); the checkpoint is damaged, or the bans and constraints leave "
                "no token"
            )
        if self.greedy:
            return np.argmax(z, axis=1)
        z -= best
        np.exp(z, out=z)  # unnormalised probabilities
        cdf = np.cumsum(z, axis=1, out=z)  # (B, V)
        u = np.fromiter((rng.random() for rng in rngs), np.float64, len(rngs))
        u *= cdf[:, -1]
        # The first id whose cumulative probability exceeds u; never a -inf (p = 0) id.
        ids = (cdf <= u[:, None]).sum(axis=1)
        return np.minimum(ids, z.shape[1] - 1)


def softmax(logits: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, safe for -inf entries (float64)."""
    z = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)


@dataclass(frozen=True)
class SamplerSettings:
    """The usual sampling settings, validated; `build` makes the standard chain.

    Each field is declared in `textgen.generate.settings.SETTINGS` (type, default,
    range, help), from which the command line, the interactive session and the
    HTTP APIs offer it.

    Attributes:
        temperature: 0 = greedy (always the most likely token); else > 0.
        top_k: keep only the k most likely tokens (0 = off).
        top_p: keep the smallest set of tokens holding this probability (1 = off).
        repetition_penalty: >= 1; tokens of the last `repetition_window` tokens are
            this many times less likely (1 = off).
        repetition_window: how many recent tokens the penalty looks at.

    Raises:
        InvalidArgument: a setting is out of range (the message names it).
    """

    temperature: float = BY_NAME["temperature"].default
    top_k: int = BY_NAME["top_k"].default
    top_p: float = BY_NAME["top_p"].default
    repetition_penalty: float = BY_NAME["repetition_penalty"].default
    repetition_window: int = BY_NAME["repetition_window"].default

    def __post_init__(self) -> None:
        for setting in SETTINGS:
            setting.check(getattr(self, setting.name))

    def for_first_token(self) -> SamplerSettings:
        """The settings for the first token of an empty prompt: those not marked
        `first_token` back at their defaults (temperature 1: each seed starts differently)."""
        return replace(self, **{s.name: s.default for s in SETTINGS if not s.first_token})

    def build(self, banned_ids: Sequence[int] = (),
              constraints: Sequence[Filter] = ()) -> Sampler:
        """Returns the sampler: bans, constraints, penalty, temperature, top-k, top-p,
        then the choice."""
        filters: list[Filter] = [RepetitionPenalty(self.repetition_penalty,
                                                   self.repetition_window)]
        if self.temperature > 0:
            filters.append(Temperature(self.temperature))
        if self.top_k:
            filters.append(TopK(self.top_k))
        filters.append(TopP(self.top_p))
        return Sampler(filters, greedy=self.temperature == 0, banned_ids=banned_ids,
                       constraints=constraints)


# Every declared setting is a field and every field is declared (in the same order,
# so that positional construction follows the declarations).
assert [f.name for f in fields(SamplerSettings)] == [s.name for s in SETTINGS]
