"""Is the model writing or copying? What of its samples occurs verbatim in the corpus.

`novelty` writes a few samples and streams the corpus the run was trained on
(the whole of it, validation text included) once through a suffix automaton of
the samples (`textgen.evaluate.matching`). That gives, exactly:

- the longest substring of any sample that occurs verbatim in the corpus (one
  passage, found as it is, not a chain of overlapping pieces);
- the share of the samples' n-grams (runs of n characters) found in the corpus;
- the share of the samples' whole lines found in the corpus as whole lines
  (verse and lyrics copy line by line).

A model that has memorised its corpus reproduces long passages verbatim; one
that has learnt its style reuses short phrases at most.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from textgen.data.encode import EncodeOptions
from textgen.data.tokenizers.han import han_count
from textgen.errors import InvalidArgument
from textgen.evaluate.matching import CopyFinder
from textgen.generate.generator import Generator
from textgen.generate.samplers import SamplerSettings
from textgen.run.directory import RunDir
from textgen.run.opening import reload_corpus

DECODE_CHUNK = 1 << 20  # token ids decoded (and streamed through the automaton) at a time
# The n-gram length should make a chance match rare: n characters carrying some 30-35
# bits. The models trained here spend about 1.7-2.4 bits per character on English
# and 6.4-7 on Chinese (docs/RESULTS.md): 20 Latin characters (a few words) and 5
# Han characters (a line of five-character verse) both come to about that. With 20
# for Chinese, a copied five-character line would never count.
NGRAM_ALPHABETIC = 20
NGRAM_HAN = 5
HAN_MAJORITY = 0.5  # Han characters among a sample's non-space characters: "Han text"


@dataclass
class Copies:
    """What of some texts occurs verbatim in a corpus (see `find_copies`)."""

    n: int  # n-gram length in characters
    ngrams: int  # n-grams checked
    copied: int  # n-grams found verbatim in the corpus
    longest: int  # characters of the longest substring of a text found verbatim
    passage: str  # that substring (the first such, in the first text that has it)
    lines: int  # whole lines checked: complete, and at least n characters long
    lines_copied: int  # of those, found in the corpus as whole lines


@dataclass
class Novelty:
    """The result of `novelty`."""

    run: str
    checkpoint: str  # the one used: "previous" when it stood in for a damaged "last"
    step: int  # the checkpoint's training step
    n: int  # n-gram length in characters
    n_rule: str  # how n was chosen: "given", "han" or "alphabetic" (the script default)
    samples: int
    characters: int  # characters sampled in all
    ngrams: int  # n-grams checked
    copied: int  # n-grams found verbatim in the corpus
    longest: int  # characters of the longest substring of a sample found verbatim
    passage: str  # that substring
    lines: int  # complete lines of at least n characters in the samples
    lines_copied: int  # of those, found in the corpus as whole lines
    texts: list[str]  # the samples
    notices: list[str] = field(default_factory=list)  # damage worked around (run.repair.load)

    @property
    def copied_share(self) -> float:
        """Share of the samples' n-grams that occur in the corpus."""
        return self.copied / self.ngrams if self.ngrams else 0.0

    @property
    def lines_copied_share(self) -> float:
        """Share of the samples' whole lines that occur in the corpus as whole lines."""
        return self.lines_copied / self.lines if self.lines else 0.0

    def to_dict(self) -> dict[str, Any]:
        """All fields and the shares, JSON-ready."""
        return asdict(self) | {"copied_share": self.copied_share,
                               "lines_copied_share": self.lines_copied_share}


def novelty(
    run_path: str | Path,
    samples: int = 5,
    length: int = 500,
    n: int | None = None,
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
        n: n-gram length in characters; None chooses by script (`default_ngram`).
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
        if value is not None and value < 1:
            raise InvalidArgument(f"`{name}` must be at least 1. Received: {name}={value}")
    run = RunDir(Path(run_path))
    gen = Generator(run.path, run.pick_checkpoint(checkpoint))
    texts = gen.generate("", length, n=samples, seed=seed,
                         settings=SamplerSettings(temperature=temperature))
    texts = [texts] if isinstance(texts, str) else texts
    n, rule = (n, "given") if n is not None else default_ngram(texts)
    enc = reload_corpus(run, gen.cfg, encode_options, tokenizer=gen.tokenizer)
    found = find_copies(texts, _corpus_text(enc), n)
    return Novelty(
        run=str(run.path), checkpoint=gen.checkpoint, step=gen.step, n=n, n_rule=rule,
        samples=len(texts),
        characters=sum(len(t) for t in texts), ngrams=found.ngrams, copied=found.copied,
        longest=found.longest, passage=found.passage, lines=found.lines,
        lines_copied=found.lines_copied, texts=texts, notices=list(gen.notices),
    )


def default_ngram(texts: list[str]) -> tuple[int, str]:
    """The n-gram length that suits the script of `texts`, and which rule chose it.

    Returns:
        (`NGRAM_HAN`, "han") when most non-space characters are Han, else
        (`NGRAM_ALPHABETIC`, "alphabetic").
    """
    text = "".join(texts)
    letters = sum(not c.isspace() for c in text)
    if letters and han_count(text) / letters > HAN_MAJORITY:
        return NGRAM_HAN, "han"
    return NGRAM_ALPHABETIC, "alphabetic"


def find_copies(texts: list[str], corpus: Iterable[str], n: int) -> Copies:
    """Measures, exactly, what of `texts` occurs verbatim in `corpus`.

    Args:
        texts: the samples.
        corpus: the corpus as text chunks, in order (a match may span chunks).
        n: n-gram length in characters.

    Returns:
        The n-gram, longest-passage and whole-line figures.
    """
    finder = CopyFinder(texts)
    for chunk in corpus:
        finder.feed(chunk)
    ngrams = copied = longest = lines = lines_copied = 0
    passage = ""
    for text, matched in zip(texts, finder.matched(), strict=True):
        m = np.asarray(matched, dtype=np.int64)  # (len(text),)
        ngrams += max(len(text) - n + 1, 0)
        copied += int((m[n - 1 :] >= n).sum())  # the n-gram ending at i is copied
        if m.size and m.max() > longest:
            end = int(m.argmax())
            longest = int(m[end])
            passage = text[end + 1 - longest : end + 1]
        checked, whole = _whole_lines(text, m, n)
        lines += checked
        lines_copied += whole
    return Copies(n, ngrams, copied, longest, passage, lines, lines_copied)


def _whole_lines(text: str, matched: np.ndarray, n: int) -> tuple[int, int]:
    """(complete lines of at least n characters, those copied whole) in one sample.

    A line is complete when a newline ends it; it is copied whole when the corpus
    holds it with that newline and the one before it (at a sample's start, where
    there is none, with its ending newline only).
    """
    checked = copied = 0
    start = 0  # where the current line begins
    for end in (i for i, c in enumerate(text) if c == "\n"):
        if end - start >= n:
            checked += 1
            needed = end - start + 1 + (start > 0)  # the line, its newline, the one before
            copied += int(matched[end] >= needed)
        start = end + 1
    return checked, copied


def _corpus_text(enc) -> Iterator[str]:
    """The encoded corpus decoded back to text, chunk by chunk (whole tokens each)."""
    for start in range(0, enc.ids.size, DECODE_CHUNK):
        yield enc.tokenizer.decode(np.asarray(enc.ids[start : start + DECODE_CHUNK]))
