"""Generation: read a prompt once, then write one token at a time, for N rows at once.

The network runs in NumPy (`textgen.model.numpy_lm`), so generating never imports
TensorFlow. A prompt is read in one pass; then each new token of every row is
one `step` that carries the recurrent state forward, so a long sample costs the
same per token as a short one (no window is re-read).

The token loop, stop strings and limits are `Generation`'s
(`textgen.generate.generation`). Samples of one call are rows of one batch.
Row i draws its tokens from its own random generator seeded with `seed + i`,
so sample i is the same whatever the number of samples, and a sample can be
redrawn alone with its own seed (up to float rounding: BLAS sums a batch's
products in another order than one row's, so after thousands of tokens a draw
can tip the other way).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from textgen.config import Config
from textgen.data.tokenizers import UNK_ID, load_tokenizer
from textgen.errors import InvalidArgument, TextgenError, UnknownTokens
from textgen.generate.constraints import Constraint
from textgen.generate.context import Vocabulary
from textgen.generate.generation import Generation, Prime, Sample
from textgen.generate.poetry.best_of import BestOfPoem
from textgen.generate.poetry.poem import Poem
from textgen.generate.poetry.spec import PoemSpec
from textgen.generate.samplers import SamplerSettings
from textgen.model.numpy_lm import RecurrentLM, State
from textgen.run.checkpoint_file import Checkpoint
from textgen.run.directory import RunDir, checkpoint_name, short_name
from textgen.run.installed import resolve
from textgen.run.records import TrainState
from textgen.run.repair import load as load_run

# How a prompt's unknown characters may be left out, in the API's words (the
# command line says --drop-unknown instead).
DROP_UNKNOWN_HINT = "pass drop_unknown=True"

# Generation, Prime and Sample moved to `generation`; importing them from here still works.
__all__ = ["Generation", "Generator", "Prime", "Sample"]


class Generator:
    """Writes text with a trained run, without TensorFlow.

    Args:
        run_path: the run directory.
        checkpoint: "last", "best" or "step-N" (one that `train.keep` kept); None
            takes 'best' when the run has one, else 'last' (`RunDir.pick_checkpoint`).
        weights: the model's weights by Keras variable path, to sample from weights in
            memory (training's samples) instead of a checkpoint file.
        step: the training step of `weights`.

    Raises:
        InvalidArgument: `checkpoint` is not a checkpoint name.
        CheckpointError: the run or checkpoint is missing or damaged.
        IncompatibleCheckpoint: the checkpoint does not fit the run's config or vocabulary.

    Example:
        >>> gen = Generator("runs/demo")                                   # doctest: +SKIP
        >>> gen.generate("ROMEO:", 200, settings=SamplerSettings(0.8), seed=1)  # doctest: +SKIP
    """

    def __init__(self, run_path: str | Path, checkpoint: str | None = None,
                 weights: dict[str, np.ndarray] | None = None, step: int = 0):
        # A model's name (`textgen models`) works as its directory does.
        run = RunDir(resolve(run_path) if weights is None else Path(run_path))
        self.run_path = run.path
        self.checkpoint = checkpoint_name(checkpoint or "last")
        # Damage worked around while loading (a fallback checkpoint, a file's copy).
        self.notices: list[str] = []
        if weights is None:
            self.checkpoint = run.pick_checkpoint(checkpoint)
            loaded = load_run(run, self.checkpoint)
            self.cfg, self.tokenizer, ckpt = loaded.cfg, loaded.tokenizer, loaded.checkpoint
            self.notices = loaded.notices
            self.checkpoint = short_name(ckpt.path.stem)  # the one used: a fallback says so
        else:  # weights in memory (samples during training), by Keras variable path
            self.cfg = Config.load(run.config)
            self.tokenizer = load_tokenizer(run.vocab)
            paths = list(weights)
            ckpt = Checkpoint(run.path, TrainState(step=step), paths,
                              {f"model/{i}": weights[p] for i, p in enumerate(paths)})
        self.state = ckpt.state  # the progress saved with these weights
        self.step = ckpt.state.step
        self.vocabulary = Vocabulary(self.tokenizer.tokens)  # token strings, for constraints
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
                f"rephrase it, or {DROP_UNKNOWN_HINT} to leave them out"
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
        constraints: Sequence[Constraint] = (),
        max_lines: int | None = None,
        form: str | None = None,
        acrostic: str | None = None,
        rhyme: str | None = None,
        rhyme_group: str | None = None,
        tones: str | None = None,
        no_repeat: bool = False,
        best_of: int = 1,
    ) -> Generation | BestOfPoem:
        """Starts a batch of `n` samples: reads the prompt and returns a lazy `Generation`.

        Iterate the result for `(row, text)` pieces as they come, or read its
        `samples` (which runs it to the end); `generate` and `stream` do one or the
        other for you.

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
            constraints: rules every token obeys, the first included
                (`textgen.generate.constraints`).
            max_lines: also end a sample with its `max_lines`-th line break (kept):
                N lines of verse or lyrics.
            form: a classical poem, "五绝", "七绝", "五律" or "七律": each sample is
                exactly the poem (the prime its beginning), ending with it (finish
                reason "complete"). A character model only. With a poem, `length`
                and `max_chars` must leave room for the rest of it, and `stop` and
                `max_lines` are refused: nothing cuts a poem short.
            acrostic: 藏头, the first character of each line (without `form`, one
                line of 7 characters per head).
            rhyme: "pingshui" (the default with `form`: the even lines rhyme by
                平水韵) or "none".
            rhyme_group: the 平声 group to rhyme in ("七阳"); None: the poem's first.
            tones: "strict", "loose" (the default with `form`) or "none".
            no_repeat: no character twice within a poem line.
            best_of: with a poem, draw each of its lines this many times and keep
                the most probable (`textgen.generate.poetry.best_of`; the result
                is a `BestOfPoem`, which yields a line at a time; at temperature 0
                every candidate is the same, and one is drawn).
            (The poem's rules and its checks: `textgen.generate.poetry`; the
            `Poem` constraint is the generation's last, with `relaxed` and `report`.)

        Raises:
            InvalidArgument: a negative length, n < 1, an empty stop string, ... (named
                as the argument: `length`, `max_lines`)
            InvalidArgument: also an impossible poem: an unknown form, more heads
                than lines, heads the model never saw, a word model, a prime that
                does not begin the poem.
            UnknownTokens: see `encode_prime`.
        """
        if isinstance(prime, str):
            prime = self.encode_prime(prime, drop_unknown)
        if isinstance(best_of, bool) or not isinstance(best_of, int) or best_of < 1:
            raise InvalidArgument(f"`best_of` must be an integer >= 1. Received: "
                                  f"best_of={best_of!r}")
        spec = PoemSpec(form, acrostic, rhyme, rhyme_group, tones, no_repeat)
        if best_of > 1 and not spec.active:
            raise InvalidArgument("`best_of` chooses among a poem's candidate lines: give a "
                                  f"`form` or an `acrostic` too. Received: best_of={best_of}")
        if spec.active:
            poem = self.poem(spec, prime.text)
            self._check_poem_limits(poem, prime.text, length, max_chars, max_lines, stop)
            max_chars = None  # it leaves room for the poem, which ends the sample first
            poem.begin(n)
            constraints = [*constraints, poem]
        logits, state = self.start(prime)
        if best_of > 1 and settings is not None and settings.temperature == 0:
            best_of = 1  # greedy: every candidate would be the same line
        if best_of > 1:
            seed = secrets.randbelow(2**31) if seed is None else seed
            return BestOfPoem(self, prime, logits, state, settings or SamplerSettings(), n,
                              seed, constraints, best_of, free_start=prime.ids.size == 0)
        return Generation(
            self, prime, logits, state, length, settings or SamplerSettings(), n, seed, stop,
            max_chars, free_start=prime.ids.size == 0, constraints=constraints,
            max_lines=max_lines,
        )

    def poem(self, spec: PoemSpec, prime: str = "") -> Poem:
        """The `Poem` constraint of `spec` for this model, checked against `prime`.

        Raises:
            InvalidArgument: a word-level model, or the poem is impossible (see `run`).
        """
        if self.cfg.data.tokenizer != "char":
            raise InvalidArgument(
                "poetry forms need a character-level model; this one is "
                f"{self.cfg.data.tokenizer}-level (train one with data.tokenizer=char)")
        poem = Poem.build(spec, self.vocabulary)
        poem.check_prime(prime)
        return poem

    @staticmethod
    def _check_poem_limits(poem: Poem, prime: str, length: int, max_chars: int | None,
                           max_lines: int | None, stop: Sequence[str]) -> None:
        """A poem is never cut short: refuses limits that would end it early."""
        for name, value in (("max_lines", max_lines), ("stop", tuple(stop) or None)):
            if value is not None:
                raise InvalidArgument(
                    f"`{name}` would cut the poem short: leave it out with `form` or "
                    f"`acrostic` (the sample is exactly the poem and ends with it). "
                    f"Received: {name}={value!r}")
        need = len(poem.layout.slots) - len(prime)
        for name, value in (("length", length), ("max_chars", max_chars)):
            if value is not None and value < need:
                raise InvalidArgument(
                    f"`{name}` {value} is shorter than the {need} characters the poem still "
                    f"needs: give `{name}` {need} or more, or leave it out. "
                    f"Received: {name}={value}")

    def generate(self, prime: str = "", length: int = 500, n: int = 1, **kwargs) -> str | list[str]:
        """Returns the continuation of `prime` (a list of `n` when n > 1).

        Keyword arguments are those of `run`.
        """
        texts = [s.text for s in self.run(prime, length, n=n, **kwargs).samples]
        return texts if n > 1 else texts[0]

    def stream(self, prime: str = "", length: int = 500, **kwargs) -> Iterator[str]:
        """Yields the continuation of `prime` piece by piece, as it is generated.

        Keyword arguments are those of `run` (one sample).
        """
        for _, piece in self.run(prime, length, n=1, **kwargs):
            yield piece
