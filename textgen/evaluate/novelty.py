"""Is the model writing or copying? The share of sampled n-grams found in the training text.

`novelty` writes a few samples and checks every run of `n` consecutive
characters in them against the corpus the run was trained on (the whole of it,
validation tail included). A model that has memorised its corpus reproduces
long passages verbatim; one that has learnt its style reuses short phrases at
most. 20 characters is a few words of English or a line of Chinese verse: long
enough that chance matches are rare.

The corpus is hashed in chunks (a 64-bit polynomial hash of each n-gram of
code points, in NumPy), so a large corpus is checked in bounded memory.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from textgen.data.encode import EncodeOptions
from textgen.errors import InvalidArgument
from textgen.generate.generator import Generator
from textgen.generate.samplers import SamplerSettings
from textgen.run.directory import RunDir
from textgen.run.opening import reload_corpus

DECODE_CHUNK = 1 << 20  # token ids decoded (and hashed) at a time
_BASE = np.uint64(1_000_003)


@dataclass
class Novelty:
    """The result of `novelty`."""

    run: str
    checkpoint: str  # the one used: "previous" when it stood in for a damaged "last"
    step: int  # the checkpoint's training step
    n: int  # n-gram length in characters
    samples: int
    characters: int  # characters sampled in all
    ngrams: int  # n-grams checked
    copied: int  # n-grams found verbatim in the corpus
    longest: int  # characters of the longest passage all of whose n-grams are copied
    passage: str  # that passage
    texts: list[str]  # the samples
    notices: list[str] = field(default_factory=list)  # damage worked around (run.repair.load)

    @property
    def copied_share(self) -> float:
        """Share of the samples' n-grams that occur in the corpus."""
        return self.copied / self.ngrams if self.ngrams else 0.0

    def to_dict(self) -> dict[str, Any]:
        """All fields and the share, JSON-ready."""
        return asdict(self) | {"copied_share": self.copied_share}


def novelty(
    run_path: str | Path,
    samples: int = 5,
    length: int = 500,
    n: int = 20,
    temperature: float = 1.0,
    seed: int = 0,
    checkpoint: str | None = None,
    encode_options: EncodeOptions | None = None,
) -> Novelty:
    """Samples from a run and measures how much of the samples is copied from its corpus.

    Args:
        run_path: the run directory.
        samples: how many samples to write.
        length: tokens per sample.
        n: n-gram length in characters.
        temperature: sampling temperature (1.0 shows what the model learnt).
        seed: sample i uses seed + i, so the result is reproducible.
        checkpoint: "best", "last" or "step-N"; None: best when the run has one, else
            last (`RunDir.pick_checkpoint`).
        encode_options: the encoded-corpus cache (see `EncodeOptions`).

    Raises:
        InvalidArgument: n, samples or length below 1.
        CheckpointError, IncompatibleCheckpoint: the run cannot be read.

    The run is read as `textgen sample` reads it: a damaged checkpoint falls back
    to the previous one, a damaged config.json or vocab.json to the checkpoint's
    copy; `Novelty.notices` says so.
    """
    for name, value in (("n", n), ("samples", samples), ("length", length)):
        if value < 1:
            raise InvalidArgument(f"`{name}` must be at least 1. Received: {name}={value}")
    run = RunDir(Path(run_path))
    gen = Generator(run.path, run.pick_checkpoint(checkpoint))
    texts = gen.generate("", length, n=samples, seed=seed,
                         settings=SamplerSettings(temperature=temperature))
    texts = [texts] if isinstance(texts, str) else texts
    hashes = [ngram_hashes(t, n) for t in texts]
    found = [np.zeros(h.size, bool) for h in hashes]
    everything = np.concatenate(hashes) if hashes else np.empty(0, np.uint64)
    if everything.size:
        hit = np.zeros(everything.size, bool)
        enc = reload_corpus(run, gen.cfg, encode_options, tokenizer=gen.tokenizer)
        for chunk_hashes in _corpus_hashes(enc, n):
            hit |= np.isin(everything, chunk_hashes)
        found = np.split(hit, np.cumsum([h.size for h in hashes])[:-1])
    longest, passage = 0, ""
    for text, f in zip(texts, found, strict=True):
        start, run_len = _longest_true_run(f)
        if run_len and run_len + n - 1 > longest:
            longest = run_len + n - 1
            passage = text[start : start + longest]
    return Novelty(
        run=str(run.path), checkpoint=gen.checkpoint, step=gen.step, n=n, samples=len(texts),
        characters=sum(len(t) for t in texts), ngrams=int(sum(h.size for h in hashes)),
        copied=int(sum(f.sum() for f in found)), longest=longest, passage=passage,
        texts=texts, notices=list(gen.notices),
    )


def ngram_hashes(text: str, n: int) -> np.ndarray:
    """64-bit hashes of every n-character window of `text`, shape (max(len - n + 1, 0),)."""
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    count = codes.size - n + 1
    if count <= 0:
        return np.empty(0, np.uint64)
    h = np.zeros(count, np.uint64)
    with np.errstate(over="ignore"):  # the hash wraps around 2**64 on purpose
        for j in range(n):
            h = h * _BASE + codes[j : j + count]
    return h


def _corpus_hashes(enc, n: int):
    """Yields the n-gram hashes of the encoded corpus, chunk by chunk (n-grams that
    straddle two chunks included)."""
    tail = ""
    for start in range(0, enc.ids.size, DECODE_CHUNK):
        text = tail + enc.tokenizer.decode(np.asarray(enc.ids[start : start + DECODE_CHUNK]))
        yield np.unique(ngram_hashes(text, n))
        tail = text[-(n - 1):] if n > 1 else ""


def _longest_true_run(flags: np.ndarray) -> tuple[int, int]:
    """(start, length) of the longest run of True in a boolean array; (0, 0) if none."""
    if not flags.any():
        return 0, 0
    padded = np.concatenate([[False], flags, [False]])
    edges = np.flatnonzero(padded[1:] != padded[:-1])  # run starts and ends, alternating
    starts, ends = edges[::2], edges[1::2]
    best = int(np.argmax(ends - starts))
    return int(starts[best]), int(ends[best] - starts[best])
