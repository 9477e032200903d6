"""Generation: prime the stateful model on a prompt, then one token at a time.

The model is rebuilt with batch size 1 and the trained weights. The prompt is
fed once; after that each new token is a single (1, 1) step that carries the
LSTM state forward, so a long sample costs the same per token as a short one
(no window is re-read).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from textgen import samplers
from textgen.backend import tf
from textgen.checkpoints import RunDir, TrainState
from textgen.config import Config
from textgen.errors import InvalidArgument, TextgenError, UnknownTokens
from textgen.model import build_model, reset_states
from textgen.tokenizers import load_tokenizer


class TextGenerator:
    """Writes text with a trained run.

    Args:
        run_path: the run directory.
        checkpoint: "last" or "best".

    Raises:
        CheckpointError: the run or checkpoint is missing or damaged.
    """

    def __init__(self, run_path: Path, checkpoint: str = "last"):
        run = RunDir(run_path)
        run.require(checkpoint)
        self.cfg = Config.load(run.config)
        self.tokenizer = load_tokenizer(run.vocab)
        self.model = build_model(self.cfg.model, self.tokenizer.vocab_size, batch_size=1)
        self.state: TrainState = run.load_checkpoint(checkpoint, self.model)
        self._logits = tf.function(
            lambda ids: self.model(ids, training=False)[:, -1, :],  # (1, T) -> (1, V)
            input_signature=[tf.TensorSpec((1, None), tf.int32)],
        )

    def prime_ids(self, prime: str, drop_unknown: bool = False) -> np.ndarray:
        """Encodes the prompt, refusing (or dropping) tokens the model never saw.

        Raises:
            TextgenError: the prompt is not valid Unicode (undecodable terminal input).
            UnknownTokens: the prompt has unknown tokens and `drop_unknown` is False.
        """
        try:
            prime.encode("utf-8")
        except UnicodeEncodeError as e:
            raise TextgenError(
                "the prompt is not valid UTF-8 (check your terminal's encoding, "
                "e.g. export LANG=C.UTF-8)"
            ) from e
        unknown = self.tokenizer.unknown_tokens(prime)
        if unknown and not drop_unknown:
            shown = " ".join(repr(t) for t in unknown[:20])
            raise UnknownTokens(
                f"the prompt has {len(unknown)} token(s) the model never saw: {shown}; "
                "rephrase it, or pass --drop-unknown to leave them out"
            )
        ids = self.tokenizer.encode(prime)
        return ids[ids != 0] if drop_unknown else ids

    def generate(
        self,
        prime: str = "",
        length: int = 500,
        temperature: float = 1.0,
        seed: int | None = None,
        drop_unknown: bool = False,
    ) -> Iterator[str]:
        """Yields the prompt's text, then `length` generated tokens as text pieces.

        Args:
            prime: text to continue; it is read after an unprinted paragraph break
                ("\n\n"), which makes the first generated tokens better.
            length: number of tokens to generate (characters for a char model).
            temperature: 0 is greedy; otherwise softmax temperature (> 0).
            seed: seeds the sampling RNG; the same seed gives the same text.
            drop_unknown: leave unknown prompt tokens out instead of failing.
        """
        if length < 0:
            raise InvalidArgument(f"`length` must be >= 0. Received: length={length}")
        sampler = samplers.get(temperature, self.tokenizer.reserved_ids)
        rng = np.random.default_rng(seed)
        ids = self.prime_ids(prime, drop_unknown)
        if ids.size:
            yield self.tokenizer.decode(ids)
        # A zero LSTM state is rare in training (only at epoch starts), so the
        # first tokens after it come out garbled. Reading a paragraph break
        # first, unprinted, puts the state where text usually starts.
        newline = self.tokenizer.token_to_id("\n")
        warmup = [newline, newline] if newline else []
        if not warmup and not ids.size:
            start = int(rng.integers(1, self.tokenizer.vocab_size))
            yield self.tokenizer.id_to_token(start)
            warmup = [start]
        context = np.concatenate([np.array(warmup, dtype=np.int64), ids.astype(np.int64)])
        reset_states(self.model)
        logits = self._logits(context[None, :].astype(np.int32))  # (1, V)
        step = np.zeros((1, 1), dtype=np.int32)
        for _ in range(length):
            token = sampler(logits.numpy()[0], rng)
            yield self.tokenizer.id_to_token(token)
            step[0, 0] = token
            logits = self._logits(step)


