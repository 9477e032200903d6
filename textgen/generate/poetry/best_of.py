"""`BestOfPoem`: poems written a line at a time, the most probable of N candidates kept.

A constraint costs probability: the form masks what the model would have said,
and a line drawn under it may be one the model finds unlikely. With `best_of` N,
each poem line (its characters and its punctuation, and the couplet's line
break) is drawn N times at once from the poem so far, and the candidate with the
highest mean log-probability per character under the model (the unconstrained
distribution, at temperature 1) is kept; the next line continues from it. The
rules see the whole poem so far (they are worked out from its text), so a
rhyme chosen in line 2 holds in line 4 whichever candidates came before.

A `BestOfPoem` reads like a `Generation` (iterate it for `(row, text)` pieces,
a line at a time, or read `samples`), for `n` poems of one request. The n x N
candidates of a line are read by the network as one batch.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from textgen.generate.constraints import Constraint
from textgen.generate.generation import Generation, LazySamples, Model, Prime, Sample
from textgen.generate.poetry.poem import poem_of
from textgen.generate.samplers import SamplerSettings
from textgen.model.numpy_lm import State

PUNCTUATION = ("，", "。")  # what ends a poem line


class BestOfPoem(LazySamples):
    """`n` poems, each line the most probable of `best_of` candidates.

    Args:
        gen: the model.
        prime: the poem's beginning, encoded (it may be empty).
        logits: (1, V) after the prime; state: the state after it.
        settings: how each candidate is drawn (temperature, top-k, ...).
        n: poems.
        seed: poem i uses seed + i (its candidates' seeds come from it).
        constraints: the rules every token obeys, the `Poem` among them (its
            `relaxed` is filled in per poem).
        best_of: candidates per line (>= 1).
        free_start: the prime is empty: the first token is drawn as a free start.

    Attributes:
        seeds: each poem's seed.
        constraints: as given, like a `Generation`'s (for the poem's checks).
        mean_logprob: per poem, the mean log-probability per character (nats) of
            its generated text under the model, once written (nan when cancelled
            before its first line).
    """

    def __init__(self, gen: Model, prime: Prime, logits: np.ndarray, state: State,
                 settings: SamplerSettings, n: int, seed: int, constraints: list[Constraint],
                 best_of: int, free_start: bool):
        self.gen, self.prime, self.settings = gen, prime, settings
        self.seeds = [seed + i for i in range(n)]
        self.constraints = list(constraints)
        poem = poem_of(self.constraints)
        assert poem is not None, "a BestOfPoem writes a poem"
        self._poem, self._best_of, self._free_start = poem, best_of, free_start
        self._start = (logits, state)
        self._samples: list[Sample] | None = None
        self._iterator: Iterator[tuple[int, str]] | None = None
        self.cancelled = False
        self.mean_logprob: list[float] = []

    def _run(self) -> Iterator[tuple[int, str]]:
        n = len(self.seeds)
        poems = [_Written(*self._start, self._own_constraints()) for _ in range(n)]
        slots = len(self._poem.layout.slots)
        k = 0
        while len(self.prime.text) + len(poems[0].text) < slots and not self.cancelled:
            yield from self._lines(poems, k)
            k += 1
        reason = "complete" if len(self.prime.text) + len(poems[0].text) >= slots else "cancelled"
        self._samples = [Sample(p.text, self.prime.text, seed, reason, len(p.ids))
                         for p, seed in zip(poems, self.seeds, strict=True)]
        self.mean_logprob = [p.logprob / len(p.ids) if p.ids else float("nan") for p in poems]
        self._poem.relaxed = [p.relaxed for p in poems]  # what each relaxed, for its report

    def _own_constraints(self) -> list[Constraint]:
        """The constraints with a poem's own copy of the `Poem` (its `relaxed`; the
        rules themselves keep no state)."""
        return [copy.copy(c) if c is self._poem else c for c in self.constraints]

    def _lines(self, poems: list[_Written], k: int) -> Iterator[tuple[int, str]]:
        """Line k of every poem: `best_of` candidates each, all stepped as one batch
        (one `net.step` for n x best_of rows); each poem keeps its most probable."""
        m = self._best_of
        lines = []
        for i, p in enumerate(poems):
            so_far = Prime(self.prime.text + p.text, np.concatenate(
                [self.prime.ids, np.asarray(p.ids, np.int64)]).astype(np.int64),
                self.prime.dropped)
            seed = int(np.random.SeedSequence([self.seeds[i], k]).generate_state(1)[0] % 2**31)
            lines.append(Generation(
                self.gen, so_far, p.logits, p.state, self._line_length(len(so_far.text)),
                self.settings, m, seed, (), None, self._free_start and not p.text,
                constraints=p.constraints))
        scores, drawn = np.zeros((len(poems), m)), []
        net = self.gen.net
        while True:
            picked = []
            for i, line in enumerate(lines):
                logp = _log_softmax(line.logits)  # (m, V): the model's, before any rule
                ids, _ = line.pick()
                if ids is None:
                    break
                scores[i] += logp[np.arange(m), ids]
                picked.append(ids)
            if len(picked) < len(lines):  # every candidate line has the same length
                break
            drawn.append(np.stack(picked))  # (n, m)
            logits, state = net.step(np.concatenate(picked),
                                     State.concat([line.state for line in lines]))
            for line, part_logits, part in zip(lines, np.split(logits, len(lines)),
                                               state.split([m] * len(lines)), strict=True):
                line.absorb(part_logits, part)
        for i, (p, line) in enumerate(zip(poems, lines, strict=True)):
            best = int(np.argmax(scores[i]))
            text = line.samples[best].text
            p.text += text
            p.ids += [int(d[i, best]) for d in drawn]
            p.logprob += float(scores[i, best])
            p.relaxed += list(poem_of(p.constraints).relaxed[best])
            p.logits, p.state = line.logits[best : best + 1], line.state.split([1] * m)[best]
            yield i, text

    def _line_length(self, pos: int) -> int:
        """Characters from `pos` to the end of its poem line (its punctuation and the
        couplet's line break included)."""
        slots = self._poem.layout.slots
        end = pos
        while end < len(slots) - 1 and slots[end].text not in PUNCTUATION:
            end += 1
        newline = self._poem.layout.newline  # "" when the model knows no line break
        if newline and end + 1 < len(slots) and slots[end + 1].text == newline:
            end += 1
        return end - pos + 1


@dataclass
class _Written:
    """One poem as written so far: its text and ids, the model's state after them,
    its summed log-probability, what it relaxed, and its own constraints."""

    logits: np.ndarray  # (1, V)
    state: State
    constraints: list[Constraint]
    text: str = ""
    ids: list[int] = field(default_factory=list)
    logprob: float = 0.0
    relaxed: list[dict] = field(default_factory=list)


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    """(B, V) log-probabilities of (B, V) logits."""
    z = logits - logits.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))
