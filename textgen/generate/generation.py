"""A batch of samples being written: drawing each row's tokens, stop strings and limits.

`Generation` is what `Generator.run` returns: iterate it for `(row, text)`
pieces, or step it from outside (`pick`, then `absorb` the network's output),
as the server does to step many generations as one batch. Each row's text
goes through a `_Row`, which holds back text that could start a stop string
and cuts at the character limit.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Protocol

import numpy as np

from textgen.data.tokenizers import Tokenizer
from textgen.errors import InvalidArgument
from textgen.generate.constraints import Constraint
from textgen.generate.context import Context, Vocabulary
from textgen.generate.samplers import SamplerSettings
from textgen.model.numpy_lm import RecurrentLM, State


@dataclass
class Prime:
    """An encoded prompt.

    Attributes:
        text: the prompt as the model reads it (without the dropped characters).
        ids: its token ids (N,) int64.
        dropped: characters left out because no token of the vocabulary covers them.
    """

    text: str
    ids: np.ndarray
    dropped: list[str]


@dataclass
class Sample:
    """One finished sample.

    Attributes:
        text: the generated continuation (the prompt not included).
        prime: the prompt it continues.
        seed: the seed of its random generator (rerun with it to get this sample alone).
        finish_reason: "length" (the token, character or line limit), "stop" (a stop
            string), "complete" (a constraint's text is whole: a poem's form) or
            "cancelled" (`Generation.cancel` was called).
        tokens: tokens generated.
    """

    text: str
    prime: str
    seed: int
    finish_reason: str
    tokens: int


class Model(Protocol):
    """What a generation needs of its `Generator`."""

    net: RecurrentLM
    tokenizer: Tokenizer
    vocabulary: Vocabulary


class LazySamples:
    """What a batch of samples being written offers, however it is written
    (`Generation`, `textgen.generate.poetry.best_of.BestOfPoem`): iterate it for
    `(row, text)` pieces, or read `samples`. Subclasses set `settings`,
    `_samples` (None until done), `_iterator` (None) and `cancelled` (False), and
    define `_run`, the generator of pieces that sets `_samples` at its end."""

    settings: SamplerSettings
    _samples: list[Sample] | None
    _iterator: Iterator[tuple[int, str]] | None
    cancelled: bool

    def cancel(self) -> None:
        """Ends the samples still running before their next token (safe from any thread)."""
        self.cancelled = True

    def settings_dict(self) -> dict:
        """The sampler settings as a plain dict (for JSON output)."""
        return asdict(self.settings)

    @property
    def done(self) -> bool:
        """Whether every sample has ended (then `samples` is ready without running)."""
        return self._samples is not None

    @property
    def samples(self) -> list[Sample]:
        """The finished samples, one per row: reading it runs the generation to its
        end first if it is not done (the pieces not yet taken are in their text)."""
        if self._samples is None:
            self.finish()
        return self._samples

    def finish(self) -> list[Sample]:
        """Runs to the end without looking at the pieces; returns the samples."""
        for _ in self:
            pass
        return self._samples

    def __iter__(self) -> Iterator[tuple[int, str]]:
        # One iterator per generation: iterating again (or `finish`, or `samples`)
        # goes on where the last loop stopped.
        if self._iterator is None:
            self._iterator = self._run()
        return self._iterator

    def _run(self) -> Iterator[tuple[int, str]]:
        raise NotImplementedError


class Generation(LazySamples):
    """A batch of samples being written. Iterating yields `(row, text)` pieces in
    the order they are final; afterwards `state` and `logits` are those after the text.

    A generation is lazy: `Generator.run` reads the prompt and nothing more. It is
    running while it is iterated (or stepped) and `done` once every row ended.
    Reading `samples` runs what is left to the end first, so
    `gen.run(...).samples` is the finished samples; `finish()` does the same.

    Args (beyond `Generator.run`'s, `max_lines` included): `logits` (1, V) and
    `state` after the prompt;
    `free_start`: the prompt is empty, so the first token is drawn with
    `settings.for_first_token()`. `constraints` apply to every token, the first too;
    `line_start`: the characters of the current line the model read before the
    text that follows (None: counted from the prompt; a conversation knows more).

    A piece is held back while it could be the start of a stop string, so no
    text after a stop string is ever yielded. `cancel()`, from any thread, ends
    the samples still running before their next token (finish reason "cancelled").
    """

    def __init__(
        self,
        gen: Model,
        prime: Prime,
        logits: np.ndarray,
        state: State,
        length: int,
        settings: SamplerSettings,
        n: int,
        seed: int | None,
        stop: Sequence[str],
        max_chars: int | None,
        free_start: bool,
        constraints: Sequence[Constraint] = (),
        max_lines: int | None = None,
        line_start: int | None = None,
    ):
        if length < 0:
            raise InvalidArgument(f"`length` must be >= 0. Received: length={length}")
        if n < 1:
            raise InvalidArgument(f"`n` must be >= 1. Received: n={n}")
        if max_chars is not None and max_chars < 1:
            raise InvalidArgument(f"`max_chars` must be >= 1. Received: max_chars={max_chars}")
        if max_lines is not None and (isinstance(max_lines, bool) or not isinstance(
                max_lines, int) or max_lines < 1):
            raise InvalidArgument(
                f"`max_lines` must be an integer >= 1. Received: max_lines={max_lines!r}")
        if any(not s for s in stop):
            raise InvalidArgument("a stop string must not be empty. Received: stop=''")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)
                                 or seed < 0):
            raise InvalidArgument(f"`seed` must be an integer >= 0. Received: seed={seed!r}")
        self.gen, self.prime, self.length, self.settings = gen, prime, length, settings
        self.seed = secrets.randbelow(2**31) if seed is None else seed
        self.seeds = [self.seed + i for i in range(n)]
        self.logits = np.repeat(logits, n, axis=0)  # (n, V)
        self.state = state.repeat(n)
        self._rows = [_Row(tuple(stop), max_chars, max_lines) for _ in range(n)]
        self._free_start = free_start
        self.constraints = list(constraints)
        self.context: Context | None = None  # what filters see; made with the first token
        self._line_start = line_start  # characters of the current line before the text
        self._samples: list[Sample] | None = None  # set when every row has ended
        self._iterator: Iterator[tuple[int, str]] | None = None
        self.last_token = ""  # the text of row 0's last generated token, once run
        self.cancelled = False
        self._k = 0  # tokens drawn per row so far
        self._sampler = None  # built when the first token is drawn
        self._last: np.ndarray | None = None  # the ids drawn last

    def _run(self) -> Iterator[tuple[int, str]]:
        net = self.gen.net
        while True:
            ids, pieces = self.pick()
            yield from pieces
            if ids is None:
                return
            # Read the new tokens, so that the state is always "after the text".
            self.absorb(*net.step(ids, self.state))

    # === Step by step (a server steps many generations as one batch) ===

    def pick(self) -> tuple[np.ndarray | None, list[tuple[int, str]]]:
        """Draws the next token of every row.

        Returns:
            The token ids (n,) to read next (then call `absorb` with the network's
            output for them), or None when the samples are finished; and the
            `(row, text)` pieces that became final.
        """
        if self._k == 0 and self._sampler is None:
            self._begin()
        rows = self._rows
        if self.cancelled:
            for row in rows:
                row.reason = row.reason or "cancelled"  # held-back text is dropped
        if self._k >= self.length or all(r.reason for r in rows):
            return None, self._finish()
        tok = self.gen.tokenizer
        free = self._k == 0 and self._free_start
        ids = (self._free if free else self._sampler).sample(
            self.logits, self._rngs, self._recent, self.context)  # (n,)
        self._recent[:, :-1] = self._recent[:, 1:]
        self._recent[:, -1] = ids
        self.context.advance(ids)
        self._k += 1
        self._last = ids
        pieces = []
        for i, row in enumerate(rows):
            if not row.reason:
                piece = row.feed(tok.id_to_token(int(ids[i])))
                if piece:
                    pieces.append((i, piece))
        for i in np.flatnonzero(self._completed()):
            if not rows[i].reason and (piece := rows[i].end("complete")):
                pieces.append((int(i), piece))
        return ids, pieces

    def _completed(self) -> np.ndarray:
        """The rows a constraint says are complete (B,) bool."""
        done = np.zeros(len(self._rows), bool)
        for c in self.constraints:
            rows = c.complete(self.context) if hasattr(c, "complete") else None
            if rows is not None:
                done |= rows
        return done

    def absorb(self, logits: np.ndarray, state: State) -> None:
        """Takes the network's output after reading the tokens `pick` drew:
        next-token logits (n, V) and the state."""
        self.logits, self.state = logits, state

    def _begin(self) -> None:
        banned = self.gen.tokenizer.reserved_ids
        self._sampler = self.settings.build(banned, self.constraints)
        # The first token of an empty prompt (the constraints apply to it too).
        self._free = self.settings.for_first_token().build(banned, self.constraints)
        self._rngs = [np.random.default_rng(s) for s in self.seeds]
        # The recent tokens the repetition penalty looks at (-1: none yet), oldest first.
        recent = np.full((len(self.seeds), self.settings.repetition_window), -1, np.int64)
        tail = self.prime.ids[-recent.shape[1] :]
        recent[:, recent.shape[1] - tail.size :] = tail
        self._recent = recent
        self.context = Context(self.gen.vocabulary, self.prime.text, len(self.seeds), recent,
                               line_start=self._line_start)

    def _finish(self) -> list[tuple[int, str]]:
        if self._samples is not None:
            return []
        if self._last is not None:
            self.last_token = self.gen.tokenizer.id_to_token(int(self._last[0]))
        pieces = [(i, piece) for i, row in enumerate(self._rows) if (piece := row.close())]
        self._samples = [
            Sample(row.text, self.prime.text, seed, row.reason, row.tokens)
            for row, seed in zip(self._rows, self.seeds, strict=True)
        ]
        return pieces


class _Row:
    """One sample's text: stop strings (with hold-back), the character and line limits."""

    def __init__(self, stop: tuple[str, ...], max_chars: int | None,
                 max_lines: int | None = None):
        self.stop, self.max_chars, self.max_lines = stop, max_chars, max_lines
        self.lines = 0  # line breaks in `text`
        self.text = ""  # final text so far
        self.pending = ""  # generated, but maybe the start of a stop string
        self.tokens = 0
        self.reason = ""  # "" while running, then "stop" or "length"

    def feed(self, piece: str) -> str:
        """Adds a generated token's text; returns the text that became final."""
        self.tokens += 1
        text = self.pending + piece
        hits = [i for i in (text.find(s) for s in self.stop) if i >= 0]
        if hits:
            cut = min(hits)
            # A stop string past the character limit: the limit ended the sample first.
            over = self.max_chars is not None and len(self.text) + cut > self.max_chars
            self.pending, self.reason = "", "length" if over else "stop"
            return self._emit(text[:cut])
        hold = max((_overlap(text, s) for s in self.stop), default=0)
        self.pending = text[len(text) - hold :]
        out = self._emit(text[: len(text) - hold])
        if self.max_chars is not None and len(self.text) + len(self.pending) >= self.max_chars:
            out += self.close()
        return out

    def close(self) -> str:
        """Ends the sample (token limit reached); returns the held-back text."""
        return self.end("length")

    def end(self, reason: str) -> str:
        """Ends the sample for `reason` unless it has ended; returns the held-back text."""
        if self.reason:
            return ""
        self.reason = reason
        text, self.pending = self.pending, ""
        return self._emit(text)

    def _emit(self, text: str) -> str:
        if self.max_chars is not None:
            text = text[: self.max_chars - len(self.text)]
            if len(self.text) + len(text) >= self.max_chars and not self.reason:
                self.reason, self.pending = "length", ""
        if self.max_lines is not None and "\n" in text:
            # The sample ends with its max_lines-th line break, which it keeps.
            cut = -1
            for _ in range(self.max_lines - self.lines):
                cut = text.find("\n", cut + 1)
                if cut < 0:
                    break
            if cut >= 0:
                # A stop string after the last line: the line limit ended the sample first.
                if cut + 1 < len(text) or not self.reason:
                    self.reason = "length"
                text, self.pending = text[: cut + 1], ""
            self.lines += text.count("\n")
        self.text += text
        return text


def _overlap(text: str, stop: str) -> int:
    """Length of the longest end of `text` that is a proper beginning of `stop`."""
    for n in range(min(len(stop) - 1, len(text)), 0, -1):
        if text.endswith(stop[:n]):
            return n
    return 0
