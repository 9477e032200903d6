"""Generation: read a prompt once, then write one token at a time, for N rows at once.

The network runs in NumPy (`textgen.model.numpy_lm`), so generating never imports
TensorFlow. A prompt is read in one pass; then each new token of every row is
one `step` that carries the recurrent state forward, so a long sample costs the
same per token as a short one (no window is re-read).

Samples of one call are rows of one batch. Row i draws its tokens from its own
random generator seeded with `seed + i`, so sample i is the same whatever the
number of samples, and a sample can be redrawn alone with its own seed (up to
float rounding: BLAS sums a batch's products in another order than one row's,
so after thousands of tokens a draw can tip the other way).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from textgen.config import Config
from textgen.data.tokenizers import UNK_ID, load_tokenizer
from textgen.errors import InvalidArgument, TextgenError, UnknownTokens
from textgen.generate.samplers import Sampler, SamplerSettings
from textgen.model.numpy_lm import RecurrentLM, State
from textgen.run.checkpoint_file import Checkpoint
from textgen.run.directory import RunDir
from textgen.run.records import TrainState
from textgen.run.repair import load as load_run


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
        finish_reason: "length" (the token or character limit), "stop" (a stop string)
            or "cancelled" (`Generation.cancel` was called).
        tokens: tokens generated.
    """

    text: str
    prime: str
    seed: int
    finish_reason: str
    tokens: int


class Generator:
    """Writes text with a trained run, without TensorFlow.

    Args:
        run_path: the run directory.
        checkpoint: "last" or "best".
        weights: the model's weights by Keras variable path, to sample from weights in
            memory (training's samples) instead of a checkpoint file.
        step: the training step of `weights`.

    Raises:
        CheckpointError: the run or checkpoint is missing or damaged.
        IncompatibleCheckpoint: the checkpoint does not fit the run's config or vocabulary.

    Example:
        >>> gen = Generator("runs/demo")                                   # doctest: +SKIP
        >>> gen.generate("ROMEO:", 200, settings=SamplerSettings(0.8), seed=1)  # doctest: +SKIP
    """

    def __init__(self, run_path: str | Path, checkpoint: str = "last",
                 weights: dict[str, np.ndarray] | None = None, step: int = 0):
        if checkpoint not in ("last", "best"):
            raise InvalidArgument(
                f"`checkpoint` must be 'last' or 'best'. Received: checkpoint={checkpoint!r}")
        run = RunDir(Path(run_path))
        self.run_path = run.path
        self.checkpoint = checkpoint
        # Damage worked around while loading (a fallback checkpoint, a file's copy).
        self.notices: list[str] = []
        if weights is None:
            loaded = load_run(run, checkpoint)
            self.cfg, self.tokenizer, ckpt = loaded.cfg, loaded.tokenizer, loaded.checkpoint
            self.notices = loaded.notices
            self.checkpoint = ckpt.path.stem  # the one used: a fallback says so
        else:  # weights in memory (samples during training), by Keras variable path
            self.cfg = Config.load(run.config)
            self.tokenizer = load_tokenizer(run.vocab)
            paths = list(weights)
            ckpt = Checkpoint(run.path, TrainState(step=step), paths,
                              {f"model/{i}": weights[p] for i, p in enumerate(paths)})
        self.step = ckpt.state.step
        self.net = RecurrentLM.from_weights(ckpt.weights(), self.cfg.model,
                                            self.tokenizer.vocab_size, str(ckpt.path))
        newline = self.tokenizer.token_to_id("\n")
        # A zero state is rare in training (only at epoch starts), so the first
        # tokens after it come out garbled. Reading a paragraph break first,
        # unprinted, puts the state where text usually starts.
        self.warmup = np.array([newline, newline] if newline else [], dtype=np.int64)

    # === Prompts ===

    def encode_prime(self, prime: str, drop_unknown: bool = False) -> Prime:
        """Encodes a prompt; a word the vocabulary lacks falls back to known pieces of it.

        Raises:
            TextgenError: the prompt is not valid Unicode (undecodable terminal input).
            UnknownTokens: some characters are covered by no token and `drop_unknown`
                is False.
        """
        try:
            prime.encode("utf-8")
        except UnicodeEncodeError as e:
            raise TextgenError(
                "the prompt is not valid UTF-8 (check your terminal's encoding, "
                "e.g. export LANG=C.UTF-8)"
            ) from e
        ids, unknown = self.tokenizer.encode_prompt(prime)
        if unknown and not drop_unknown:
            shown = " ".join(repr(t) for t in unknown[:20])
            raise UnknownTokens(
                f"the prompt has {len(unknown)} character(s) the model never saw: {shown}; "
                "rephrase it, or pass --drop-unknown to leave them out"
            )
        if unknown:
            ids = ids[ids != UNK_ID]
            prime = self.tokenizer.decode(ids)
        return Prime(prime, ids, unknown)

    def start(self, prime: Prime, state: State | None = None) -> tuple[np.ndarray, State]:
        """Reads a prompt into a state (a fresh one, warm-up included, when None).

        Returns:
            The next-token logits (1, V) and the state after the prompt. With
            nothing to read (no prompt, no newline in the vocabulary) the logits
            are all zero: every token equally likely.
        """
        if state is None:
            state = self.net.zero_state(1)
            ids = np.concatenate([self.warmup, prime.ids])
        else:
            ids = prime.ids
        if ids.size == 0:
            return np.zeros((1, self.net.vocab_size), np.float32), state
        return self.net.read(ids[None, :], state)

    # === Generating ===

    def run(
        self,
        prime: str | Prime = "",
        length: int = 500,
        settings: SamplerSettings | None = None,
        n: int = 1,
        seed: int | None = None,
        stop: Sequence[str] = (),
        max_chars: int | None = None,
        drop_unknown: bool = False,
    ) -> Generation:
        """Starts a batch of `n` samples; iterate the result for text as it comes.

        Args:
            prime: text to continue ("" starts where a text usually starts, with a
                first token drawn at temperature 1, so each seed begins differently).
            length: tokens to generate per sample (characters for a char model).
            settings: temperature, top-k, top-p, repetition penalty.
            n: samples, generated together as one batch.
            seed: sample i uses `seed + i`; None draws a random seed.
            stop: strings that end a sample (not included in its text).
            max_chars: also end a sample after this many characters.
            drop_unknown: leave out prompt characters no token covers, instead of failing.

        Raises:
            InvalidArgument: a negative length, n < 1, an empty stop string, ...
            UnknownTokens: see `encode_prime`.
        """
        if isinstance(prime, str):
            prime = self.encode_prime(prime, drop_unknown)
        logits, state = self.start(prime)
        return Generation(
            self, prime, logits, state, length, settings or SamplerSettings(), n, seed, stop,
            max_chars, free_start=prime.ids.size == 0,
        )

    def generate(self, prime: str = "", length: int = 500, n: int = 1, **kwargs) -> str | list[str]:
        """Returns the continuation of `prime` (a list of `n` when n > 1).

        Keyword arguments are those of `run`.
        """
        gen = self.run(prime, length, n=n, **kwargs)
        gen.finish()
        texts = [s.text for s in gen.samples]
        return texts if n > 1 else texts[0]

    def stream(self, prime: str = "", length: int = 500, **kwargs) -> Iterator[str]:
        """Yields the continuation of `prime` piece by piece, as it is generated.

        Keyword arguments are those of `run` (one sample).
        """
        for _, piece in self.run(prime, length, n=1, **kwargs):
            yield piece


class Generation:
    """A batch of samples being written. Iterating yields `(row, text)` pieces in
    the order they are final; afterwards `samples`, `state` and `logits` are set.

    A piece is held back while it could be the start of a stop string, so no
    text after a stop string is ever yielded. `cancel()`, from any thread, ends
    the samples still running before their next token (finish reason "cancelled").
    """

    def __init__(
        self,
        gen: Generator,
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
    ):
        if length < 0:
            raise InvalidArgument(f"`length` must be >= 0. Received: length={length}")
        if n < 1:
            raise InvalidArgument(f"`n` must be >= 1. Received: n={n}")
        if max_chars is not None and max_chars < 1:
            raise InvalidArgument(f"`max_chars` must be >= 1. Received: max_chars={max_chars}")
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
        self._rows = [_Row(tuple(stop), max_chars) for _ in range(n)]
        self._free_start = free_start
        self.samples: list[Sample] = []
        self.last_token = ""  # the text of row 0's last generated token, once run
        self.cancelled = False
        self._k = 0  # tokens drawn per row so far
        self._sampler = None  # built when the first token is drawn
        self._last: np.ndarray | None = None  # the ids drawn last

    def cancel(self) -> None:
        """Ends the samples still running before their next token (safe from any thread)."""
        self.cancelled = True

    def settings_dict(self) -> dict:
        """The sampler settings as a plain dict (for JSON output)."""
        return asdict(self.settings)

    def finish(self) -> list[Sample]:
        """Runs to the end without looking at the pieces; returns the samples."""
        for _ in self:
            pass
        return self.samples

    def __iter__(self) -> Iterator[tuple[int, str]]:
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
        ids = (self._free if free else self._sampler).sample(self.logits, self._rngs,
                                                             self._recent)  # (n,)
        self._recent[:, :-1] = self._recent[:, 1:]
        self._recent[:, -1] = ids
        self._k += 1
        self._last = ids
        pieces = []
        for i, row in enumerate(rows):
            if not row.reason:
                piece = row.feed(tok.id_to_token(int(ids[i])))
                if piece:
                    pieces.append((i, piece))
        return ids, pieces

    def absorb(self, logits: np.ndarray, state: State) -> None:
        """Takes the network's output after reading the tokens `pick` drew:
        next-token logits (n, V) and the state."""
        self.logits, self.state = logits, state

    def _begin(self) -> None:
        banned = self.gen.tokenizer.reserved_ids
        self._sampler: Sampler | None = self.settings.build(banned)
        self._free = SamplerSettings().build(banned)  # the first token of an empty prompt
        self._rngs = [np.random.default_rng(s) for s in self.seeds]
        # The recent tokens the repetition penalty looks at (-1: none yet), oldest first.
        recent = np.full((len(self.seeds), self.settings.repetition_window), -1, np.int64)
        tail = self.prime.ids[-recent.shape[1] :]
        recent[:, recent.shape[1] - tail.size :] = tail
        self._recent = recent

    def _finish(self) -> list[tuple[int, str]]:
        if self.samples:
            return []
        if self._last is not None:
            self.last_token = self.gen.tokenizer.id_to_token(int(self._last[0]))
        pieces = [(i, piece) for i, row in enumerate(self._rows) if (piece := row.close())]
        self.samples = [
            Sample(row.text, self.prime.text, seed, row.reason, row.tokens)
            for row, seed in zip(self._rows, self.seeds, strict=True)
        ]
        return pieces


class _Row:
    """One sample's text: stop strings (with hold-back) and the character limit."""

    def __init__(self, stop: tuple[str, ...], max_chars: int | None):
        self.stop, self.max_chars = stop, max_chars
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
        if self.reason:
            return ""
        self.reason = "length"
        text, self.pending = self.pending, ""
        return self._emit(text)

    def _emit(self, text: str) -> str:
        if self.max_chars is not None:
            text = text[: self.max_chars - len(self.text)]
            if len(self.text) + len(text) >= self.max_chars and not self.reason:
                self.reason, self.pending = "length", ""
        self.text += text
        return text


def _overlap(text: str, stop: str) -> int:
    """Length of the longest end of `text` that is a proper beginning of `stop`."""
    for n in range(min(len(stop) - 1, len(text)), 0, -1):
        if text.endswith(stop[:n]):
            return n
    return 0
