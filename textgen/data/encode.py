"""From a checked corpus to a compact array of token ids, encoded once.

`encode_corpus` builds the vocabulary and encodes the corpus into a NumPy array
(uint16 when the vocabulary fits, else uint32), kept in the on-disk cache
(`textgen.data.cache`) keyed by the corpus content and the tokenizer settings.
How it runs (the cache directory, a progress callback, worker processes) travels
as one `EncodeOptions` from the command down to here. `textgen.data.batches`
then lays the ids out for a stateful model.
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from textgen.config import DataConfig
from textgen.data import cache
from textgen.data.batches import Split, split_corpus
from textgen.data.corpus import Corpus
from textgen.data.tokenizers import Tokenizer, tokenizer_class, tokenizer_settings

Progress = Callable[[int], None]


@dataclass(frozen=True)
class EncodeOptions:
    """How a corpus is encoded; none of it changes the ids.

    Attributes:
        cache_dir: where encoded corpora are kept; None is `cache.default_cache_dir()`
            (`$TEXTGEN_CACHE_DIR`, else `~/.cache/textgen`).
        progress: called with the number of characters processed, per chunk.
        workers: processes for word segmentation: 1 (the default, safe anywhere),
            a number, or None to choose by corpus size. More than one needs the
            program's entry point guarded by `if __name__ == "__main__":`.
    """

    cache_dir: Path | None = None
    progress: Progress | None = None
    workers: int | None = 1


@dataclass
class EncodedCorpus:
    """A corpus as token ids, with what is needed to report on it."""

    ids: np.ndarray  # (N,) uint16 or uint32
    tokenizer: Tokenizer
    n_chars: int  # characters in the whole corpus text
    coverage: float  # share of corpus tokens that are in the vocabulary
    unk_chars: float  # mean characters per out-of-vocabulary token (for bits/char)
    # Nats to spell out one out-of-vocabulary token character by character (see
    # `spelling_nats`); bits per character charge it for every <unk> target.
    unk_nats: float
    cached: bool  # True when read back from the cache
    cache_warning: str | None = None  # why the cache could not be written, if it could not
    # Tokens of each corpus file, in order, adding up to N (the newline put between
    # two files counts as the first's); empty when unknown (a cache entry from
    # before they were kept, standing in for files that are gone): one file then.
    file_tokens: tuple[int, ...] = field(default=())

    def split(self, cfg: DataConfig) -> Split:
        """The training and validation streams by `cfg.val_split`'s rule (`split_corpus`)."""
        return split_corpus(self.ids, self.file_tokens, cfg.val_frac, cfg.val_split,
                            cfg.seq_len)

    def char_lengths(self) -> np.ndarray:
        """Characters per token id, shape (V,), float; `<unk>` gets its corpus mean."""
        lengths = self.tokenizer.token_lengths().astype(np.float64)
        lengths[self.tokenizer.reserved_ids] = self.unk_chars
        return lengths

    def spelling_cost(self, n_unknown: int) -> float:
        """Nats to add for `n_unknown` <unk> targets so that bits/char stay honest.

        A model that predicts `<unk>` has not said which characters came: a word
        model whose rare words are `<unk>` would otherwise look better per character
        the more words it leaves out of its vocabulary.
        """
        return n_unknown * self.unk_nats

    def meta(self) -> dict[str, Any]:
        """Scalar facts about the encoding (saved next to the cached ids)."""
        return {
            "version": cache.CACHE_VERSION,
            "n_tokens": int(self.ids.size),
            "n_chars": self.n_chars,
            "coverage": self.coverage,
            "unk_chars": self.unk_chars,
            "unk_nats": self.unk_nats,
            "file_tokens": list(self.file_tokens),
        }


def count_tokens(
    corpus: Corpus,
    cfg: DataConfig,
    options: EncodeOptions | None = None,
    *,
    settings: dict[str, Any] | None = None,
) -> Counter[str]:
    """Counts the corpus's tokens with the tokenizer of `cfg` (see `encode_corpus`)."""
    options = options or EncodeOptions()
    settings = tokenizer_settings(cfg) if settings is None else settings
    cls = tokenizer_class(cfg.tokenizer)
    return cls.count(_counting(corpus.iter_text(), options.progress),
                     workers=options.workers, **settings)


def encode_corpus(
    corpus: Corpus,
    cfg: DataConfig,
    options: EncodeOptions | None = None,
    *,
    settings: dict[str, Any] | None = None,
    vocabulary: Tokenizer | None = None,
    counts: Counter[str] | None = None,
) -> EncodedCorpus:
    """Builds the vocabulary and encodes the corpus, reusing the on-disk cache.

    Args:
        corpus: a checked corpus (`textgen.data.corpus.scan_corpus`).
        cfg: the data config (tokenizer kind and vocabulary limits).
        options: the cache directory, progress callback and worker processes;
            `EncodeOptions()` if None.
        settings: tokenizer settings; read from `cfg` (user dictionary file
            included) if None. A resumed run passes those saved in its vocab.json.
        vocabulary: encode with this tokenizer's vocabulary instead of building one
            (fine-tuning); tokens it lacks become `<unk>`.
        counts: the corpus's token counts, when the caller has them already.

    Returns:
        The encoded corpus. Its ids are memory-mapped when read from the cache.
    """
    options = options or EncodeOptions()
    settings = tokenizer_settings(cfg) if settings is None else settings
    fixed = None if vocabulary is None else vocabulary.tokens
    stem = cache.entry_stem(options.cache_dir, cache.cache_key(corpus, cfg, settings, fixed))
    cached = _from_cache(stem)
    if cached is not None:
        return cached

    cls = tokenizer_class(cfg.tokenizer)
    if counts is None:
        counts = count_tokens(corpus, cfg, options, settings=settings)
    if vocabulary is None:
        tok = cls.from_counts(counts, cfg.max_vocab, cfg.min_freq, **settings)
    else:
        tok = cls(vocabulary.tokens, settings)
    oov = {t: c for t, c in counts.items() if tok.token_to_id(t) == 0}
    n_oov = sum(oov.values())
    unk_chars = sum(len(t) * c for t, c in oov.items()) / n_oov if n_oov else 1.0
    unk_nats = spelling_nats(oov)

    # The token count is known from the counts, so the ids stream straight into the
    # cache file, which is then memory-mapped: memory stays at one chunk, whatever
    # the corpus size. Without a writable cache they go into one preallocated array.
    n_tokens = sum(counts.values())
    seen = [0]  # characters read, counted as the chunks stream past
    file_tokens: list[int] = []  # tokens of each file, counted as they stream past

    def pieces() -> Iterator[np.ndarray]:
        # File by file, so that each file's tokens are known. Tokens never span two
        # chunks, so these are the ids of the corpus encoded whole. (A word
        # tokenizer's worker pool then serves one file at a time, when the file
        # is large enough to want one.)
        seen[0] = 0
        file_tokens.clear()
        for chunks in _file_chunks(corpus):
            n = 0
            for ids in tok.encode_chunks(_counting(chunks, options.progress, seen),
                                         options.workers):
                n += ids.size
                yield ids
            file_tokens.append(n)

    warning = None
    try:
        ids = cache.write_ids(stem.with_suffix(".npy"), pieces(), n_tokens, tok.dtype)
    except OSError as e:  # the cache only saves time: training goes on without it
        warning = e
        ids = np.empty(n_tokens, dtype=tok.dtype)
        _fill(ids, pieces())
    enc = EncodedCorpus(ids, tok, seen[0], tok.coverage(counts), unk_chars, unk_nats,
                        cached=False, file_tokens=tuple(file_tokens))
    if warning is None:
        try:
            cache.write_entry(stem, tok, enc.meta())
        except OSError as e:
            warning = e
    if warning is not None:
        enc.cache_warning = (
            f"warning: cannot write the encoded-corpus cache in {stem.parent} ({warning}); "
            "set TEXTGEN_CACHE_DIR to a writable directory to skip encoding next time"
        )
    return enc


def spelling_nats(oov: Counter[str] | dict[str, int]) -> float:
    """Mean nats to spell one out-of-vocabulary token with a unigram character model.

    The code length of an `<unk>`'s characters: each character of the OOV tokens costs
    -ln p(c) under the frequencies of the characters in all OOV tokens, and each
    token's length costs -ln p(length) under the OOV tokens' length frequencies (so
    the spelling ends). A simple speller fitted to the corpus's OOV tokens: a
    character model with context would pay less, one that has not seen them more.
    0 when the vocabulary covers the corpus.

    Args:
        oov: out-of-vocabulary token -> occurrences.

    Returns:
        The mean over OOV occurrences, in nats.
    """
    n_tokens = sum(oov.values())
    if not n_tokens:
        return 0.0
    chars: Counter[str] = Counter()
    lengths: Counter[int] = Counter()
    for token, n in oov.items():
        for ch in token:
            chars[ch] += n
        lengths[len(token)] += n
    n_chars = sum(chars.values())
    char_nats = -sum(n * math.log(n / n_chars) for n in chars.values())
    length_nats = -sum(n * math.log(n / n_tokens) for n in lengths.values())
    return (char_nats + length_nats) / n_tokens


def _fill(ids: np.ndarray, pieces: Iterator[np.ndarray]) -> None:
    """Copies the encoded pieces, in order, into `ids`, which they must fill exactly."""
    pos = 0
    for piece in pieces:
        ids[pos : pos + piece.size] = piece
        pos += piece.size
    assert pos == ids.size, (pos, ids.size)


def load_cached(key: str, cache_dir: Path | None = None) -> EncodedCorpus | None:
    """Returns the cached encoding with `key` (see `cache.cache_key`), or None.

    For a run whose corpus files are gone: an entry from before bits/char charged
    `<unk>` is kept, uncharged (see `cache.read_entry`).
    """
    return _from_cache(cache.entry_stem(cache_dir, key), lenient=True)


def _from_cache(stem: Path, lenient: bool = False) -> EncodedCorpus | None:
    """The cache entry at `stem` as an encoded corpus, or None on a miss."""
    entry = cache.read_entry(stem, lenient)
    if entry is None:
        return None
    ids, tok, meta = entry
    return EncodedCorpus(ids, tok, meta["n_chars"], meta["coverage"], meta["unk_chars"],
                         meta["unk_nats"], cached=True,
                         file_tokens=tuple(meta["file_tokens"]))


def _file_chunks(corpus: Corpus) -> Iterator[Iterator[str]]:
    """The corpus's text chunks, file by file: `Corpus.iter_text` cut at its files.

    Each file's chunks are its own `iter_text`, followed, as there, by a newline
    when it is not the last file and does not end with one.
    """
    last = len(corpus.files) - 1
    for i, f in enumerate(corpus.files):
        yield _one_file(dataclasses.replace(corpus, files=(f,), skipped=()), i < last)


def _one_file(single: Corpus, joined: bool) -> Iterator[str]:
    end = ""
    for chunk in single.iter_text():
        end = chunk
        yield chunk
    if joined and not end.endswith("\n"):
        yield "\n"


def _counting(chunks, progress, seen: list[int] | None = None):
    """Passes chunks through, reporting half their length (two passes make 100%).

    When given, `seen[0]` accumulates the number of characters passed through.
    """
    for chunk in chunks:
        if progress is not None:
            progress(len(chunk) // 2)
        if seen is not None:
            seen[0] += len(chunk)
        yield chunk
