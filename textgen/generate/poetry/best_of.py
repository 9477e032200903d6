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
a line at a time, or read `samples`), for `n` poems of one request.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from textgen.generate.constraints import Constraint
from textgen.generate.generation import Generation, Model, Prime, Sample
from textgen.generate.poetry.poem import poem_of
from textgen.generate.samplers import SamplerSettings
from textgen.model.numpy_lm import State

PUNCTUATION = ("，", "。")  # what ends a poem line


class BestOfPoem:
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

    def cancel(self) -> None:
        """Ends the poems before their next line (safe from any thread)."""
        self.cancelled = True

    def settings_dict(self) -> dict:
        """The sampler settings as a plain dict (for JSON output)."""
        from dataclasses import asdict

        return asdict(self.settings)

    @property
    def done(self) -> bool:
        """Whether every poem is written."""
        return self._samples is not None

    @property
    def samples(self) -> list[Sample]:
        """The finished poems (written first if they are not)."""
        if self._samples is None:
            self.finish()
        return self._samples

    def finish(self) -> list[Sample]:
        """Writes the poems to the end; returns them."""
        for _ in self:
            pass
        return self._samples

    def __iter__(self) -> Iterator[tuple[int, str]]:
        if self._iterator is None:
            self._iterator = self._run()
        return self._iterator

    def _run(self) -> Iterator[tuple[int, str]]:
        samples, relaxed = [], []
        for row, seed in enumerate(self.seeds):
            logits, state = self._start
            text, ids, notes, logprob, reason = "", [], [], 0.0, "complete"
            for k in range(len(self._poem.layout.slots)):
                if len(self.prime.text) + len(text) >= len(self._poem.layout.slots):
                    break
                if self.cancelled:
                    reason = "cancelled"
                    break
                line, line_ids, lp, line_notes, logits, state = self._line(
                    text, ids, logits, state, int(np.random.SeedSequence([seed, k])
                                                  .generate_state(1)[0] % 2**31))
                text, ids, logprob = text + line, ids + line_ids, logprob + lp
                notes += line_notes
                yield row, line
            samples.append(Sample(text, self.prime.text, seed, reason, len(ids)))
            relaxed.append(notes)
            self.mean_logprob.append(logprob / len(ids) if ids else float("nan"))
        self._poem.relaxed = relaxed  # what each poem relaxed, for its report
        self._samples = samples

    def _line(self, text: str, ids: list[int], logits: np.ndarray, state: State, seed: int
              ) -> tuple[str, list[int], float, list[dict], np.ndarray, State]:
        """The best of `best_of` candidates for the next poem line after `text`.

        Returns:
            Its text, token ids, summed log-probability (nats), what it relaxed,
            and the logits (1, V) and state after it.
        """
        so_far = Prime(self.prime.text + text, np.concatenate(
            [self.prime.ids, np.asarray(ids, np.int64)]).astype(np.int64), self.prime.dropped)
        n = self._best_of
        length = self._line_length(len(so_far.text))
        free = self._free_start and not text
        line = Generation(self.gen, so_far, logits, state, length, self.settings, n, seed, (),
                          None, free, constraints=self.constraints)
        scores, drawn = np.zeros(n), []
        net = self.gen.net
        while True:
            logp = _log_softmax(line.logits)  # (n, V): the model's, before any rule
            picked, _ = line.pick()
            if picked is None:
                break
            scores += logp[np.arange(n), picked]
            drawn.append(picked)
            line.absorb(*net.step(picked, line.state))
        best = int(np.argmax(scores))
        notes = list(self._poem.relaxed[best])
        best_ids = [int(d[best]) for d in drawn]
        return (line.samples[best].text, best_ids, float(scores[best]), notes,
                line.logits[best : best + 1], line.state.split([1] * n)[best])

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


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    """(B, V) log-probabilities of (B, V) logits."""
    z = logits - logits.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))
