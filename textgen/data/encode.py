"""From a checked corpus to stateful batches of token ids.

1. `encode_corpus` builds the vocabulary and encodes the corpus into a compact
   NumPy array (uint16 when the vocabulary fits, else uint32), cached on disk
   keyed by the corpus content and the tokenizer settings.
2. `split_ids` keeps a contiguous tail for validation.
3. `StatefulBatches` lays a split out the char-rnn way: the stream is cut into
   B contiguous rows and walked along time in chunks of T, so row i of batch
   k+1 continues row i of batch k and the LSTM state can carry across batches.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from textgen.config import DataConfig
from textgen.data.corpus import Corpus
from textgen.data.tokenizers import Tokenizer, load_tokenizer, tokenizer_class
from textgen.errors import CorpusTooSmall
from textgen.fileio import atomic_write, atomic_write_text

CACHE_VERSION = 1
MIN_BATCHES_PER_EPOCH = 50  # char-rnn warns below this: the model sees too few updates.


def default_cache_dir() -> Path:
    """`$TEXTGEN_CACHE_DIR`, else `~/.cache/textgen`."""
    env = os.environ.get("TEXTGEN_CACHE_DIR")
    return Path(env) if env else Path.home() / ".cache" / "textgen"


def tokenizer_settings(cfg: DataConfig) -> dict[str, Any]:
    """Returns the options the tokenizer of `cfg.tokenizer` is built with."""
    if cfg.tokenizer == "word":
        from textgen.data.tokenizers.word import WordTokenizer

        return WordTokenizer.settings_from(cfg.jieba_hmm, cfg.user_dict)
    return {}


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
            "version": CACHE_VERSION,
            "n_tokens": int(self.ids.size),
            "n_chars": self.n_chars,
            "coverage": self.coverage,
            "unk_chars": self.unk_chars,
            "unk_nats": self.unk_nats,
        }


def cache_key(
    corpus: Corpus,
    cfg: DataConfig,
    settings: dict[str, Any] | None = None,
    vocabulary: list[str] | None = None,
) -> str:
    """Hashes what the encoded ids depend on: corpus bytes and tokenizer settings.

    Args:
        corpus: the checked corpus.
        cfg: the data config.
        settings: the tokenizer settings; `tokenizer_settings(cfg)` if None.
        vocabulary: a given vocabulary (fine-tuning), instead of one built from
            the corpus with `max_vocab`/`min_freq`.
    """
    spec: dict[str, Any] = {
        "version": CACHE_VERSION,
        "corpus": corpus.fingerprint,
        "tokenizer": cfg.tokenizer,
        "settings": tokenizer_settings(cfg) if settings is None else settings,
    }
    if vocabulary is None:
        spec |= {"max_vocab": cfg.max_vocab, "min_freq": cfg.min_freq}
    else:
        spec["vocabulary"] = hashlib.sha256("\0".join(vocabulary).encode()).hexdigest()
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:32]


def count_tokens(
    corpus: Corpus,
    cfg: DataConfig,
    settings: dict[str, Any] | None = None,
    progress: Callable[[int], None] | None = None,
    workers: int | None = 1,
) -> Counter[str]:
    """Counts the corpus's tokens with the tokenizer of `cfg` (see `encode_corpus`)."""
    settings = tokenizer_settings(cfg) if settings is None else settings
    cls = tokenizer_class(cfg.tokenizer)
    return cls.count(_counting(corpus.iter_text(), progress), workers=workers, **settings)


def encode_corpus(
    corpus: Corpus,
    cfg: DataConfig,
    cache_dir: Path | None = None,
    progress: Callable[[int], None] | None = None,
    settings: dict[str, Any] | None = None,
    workers: int | None = 1,
    vocabulary: Tokenizer | None = None,
    counts: Counter[str] | None = None,
) -> EncodedCorpus:
    """Builds the vocabulary and encodes the corpus, reusing the on-disk cache.

    Args:
        corpus: a checked corpus (`textgen.data.corpus.scan_corpus`).
        cfg: the data config (tokenizer kind and vocabulary limits).
        cache_dir: where encoded corpora are kept; `default_cache_dir()` if None.
        progress: called with the number of characters processed, per chunk.
        settings: tokenizer settings; read from `cfg` (user dictionary file
            included) if None. A resumed run passes those saved in its vocab.json.
        workers: processes for word segmentation: 1 (the default, safe anywhere),
            a number, or None to choose by corpus size. More than one needs the
            program's entry point guarded by `if __name__ == "__main__":`.
        vocabulary: encode with this tokenizer's vocabulary instead of building one
            (fine-tuning); tokens it lacks become `<unk>`.
        counts: the corpus's token counts, when the caller has them already.

    Returns:
        The encoded corpus. Its ids are memory-mapped when read from the cache.
    """
    settings = tokenizer_settings(cfg) if settings is None else settings
    fixed = None if vocabulary is None else vocabulary.tokens
    stem = (Path(cache_dir) if cache_dir else default_cache_dir()) / cache_key(
        corpus, cfg, settings, fixed
    )
    cached = _read_cache(stem)
    if cached is not None:
        return cached

    cls = tokenizer_class(cfg.tokenizer)
    if counts is None:
        counts = count_tokens(corpus, cfg, settings, progress, workers)
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

    def pieces() -> Iterator[np.ndarray]:
        seen[0] = 0
        chunks = _counting(corpus.iter_text(), progress, seen)
        return tok.encode_chunks(chunks, workers)

    warning = None
    try:
        ids = _write_cached_ids(stem.with_suffix(".npy"), pieces(), n_tokens, tok.dtype)
    except OSError as e:  # the cache only saves time: training goes on without it
        warning = e
        ids = np.empty(n_tokens, dtype=tok.dtype)
        _fill(ids, pieces())
    enc = EncodedCorpus(ids, tok, seen[0], tok.coverage(counts), unk_chars, unk_nats,
                        cached=False)
    if warning is None:
        try:
            # The meta file is written last: a cache entry without it is ignored.
            tok.save(stem.with_suffix(".vocab.json"))
            atomic_write_text(stem.with_suffix(".json"), json.dumps(enc.meta()))
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


def _write_cached_ids(
    path: Path, pieces: Iterator[np.ndarray], n_tokens: int, dtype: type
) -> np.ndarray:
    """Streams the ids into a .npy file (atomically) and returns it memory-mapped."""

    def write(f) -> None:
        header = {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)),
                  "fortran_order": False, "shape": (n_tokens,)}
        np.lib.format.write_array_header_1_0(f, header)
        written = 0
        for piece in pieces:
            f.write(np.ascontiguousarray(piece, dtype=dtype).tobytes())
            written += piece.size
        assert written == n_tokens, (written, n_tokens)

    atomic_write(path, write)
    return np.load(path, mmap_mode="r")


def load_cached(key: str, cache_dir: Path | None = None) -> EncodedCorpus | None:
    """Returns the cached encoding with `key` (see `cache_key`), or None."""
    return _read_cache((Path(cache_dir) if cache_dir else default_cache_dir()) / key,
                       lenient=True)


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


def _read_cache(stem: Path, lenient: bool = False) -> EncodedCorpus | None:
    """The cache entry at `stem`, or None when it is missing, damaged or incomplete.

    Entries written before bits/char charged `<unk>` lack `unk_nats`: exact (0)
    when the vocabulary covered the corpus, else a miss (re-encoded under the same
    key), or, when `lenient` (the entry stands in for vanished files), kept with no
    charge.
    """
    try:
        meta = json.loads(stem.with_suffix(".json").read_text(encoding="utf-8"))
        if meta.get("version") != CACHE_VERSION:
            return None
        tok = load_tokenizer(stem.with_suffix(".vocab.json"))
        ids = np.load(stem.with_suffix(".npy"), mmap_mode="r")
    except (OSError, ValueError, KeyError):
        return None
    except Exception:  # a damaged cache is rebuilt, never fatal
        return None
    if ids.size != meta["n_tokens"]:
        return None
    unk_nats = meta.get("unk_nats")
    if unk_nats is None:
        if meta["coverage"] < 1.0 and not lenient:
            return None
        unk_nats = 0.0
    return EncodedCorpus(
        ids, tok, meta["n_chars"], meta["coverage"], meta["unk_chars"], unk_nats, cached=True
    )


def split_ids(ids: np.ndarray, val_frac: float) -> tuple[np.ndarray, np.ndarray]:
    """Splits ids into (train, val), val being the contiguous tail of `val_frac`."""
    n_val = int(ids.size * val_frac)
    return ids[: ids.size - n_val], ids[ids.size - n_val :]


class StatefulBatches:
    """Batches for a stateful RNN: row i of batch k+1 continues row i of batch k.

    The stream of N tokens is cut into B contiguous rows of `n_batches * T`
    tokens (the ragged end is dropped); batch k is columns [k*T, (k+1)*T) of
    every row. Targets are the inputs shifted by one token.

    Args:
        ids: token ids, shape (N,).
        batch_size: B, rows per batch (the model's fixed batch size).
        seq_len: T, tokens per row per batch.

    Raises:
        CorpusTooSmall: N - 1 < B * T, not even one batch.
    """

    def __init__(self, ids: np.ndarray, batch_size: int, seq_len: int):
        self.batch_size, self.seq_len = batch_size, seq_len
        self.n_batches = (ids.size - 1) // (batch_size * seq_len)
        if self.n_batches < 1:
            raise CorpusTooSmall(
                f"corpus too small: {ids.size:,} tokens cannot fill one batch of "
                f"data.batch_size={batch_size} x data.seq_len={seq_len} "
                f"(needs {batch_size * seq_len + 1:,}); lower them, e.g. "
                f"--set data.batch_size={max(1, batch_size // 4)} "
                f"--set data.seq_len={max(1, seq_len // 2)}"
            )
        span = self.n_batches * seq_len
        self._x = ids[: batch_size * span].reshape(batch_size, span)  # (B, n_batches*T)
        self._y = ids[1 : batch_size * span + 1].reshape(batch_size, span)

    def __len__(self) -> int:
        return self.n_batches

    def __getitem__(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Returns (inputs, targets) of batch k, each (B, T) int32."""
        if not 0 <= k < self.n_batches:
            raise IndexError(k)
        cols = slice(k * self.seq_len, (k + 1) * self.seq_len)
        return self._x[:, cols].astype(np.int32), self._y[:, cols].astype(np.int32)

    def n_tokens(self) -> int:
        """Target tokens per epoch."""
        return self.n_batches * self.batch_size * self.seq_len

    def count(self, token_ids: list[int]) -> int:
        """How many targets are one of `token_ids` (e.g. `<unk>`)."""
        return int(np.isin(self._y, token_ids).sum())

    def target_chars(self, char_lengths: np.ndarray) -> float:
        """Characters covered by all targets, given characters per token id."""
        return float(char_lengths[self._y].sum())


def validation_batches(
    ids: np.ndarray, batch_size: int, seq_len: int
) -> StatefulBatches | None:
    """Stateful batches over the validation tail, shortening T if the tail is short.

    Returns:
        None when the tail cannot give every one of the B rows even one token.
    """
    if ids.size - 1 < batch_size:
        return None
    return StatefulBatches(ids, batch_size, min(seq_len, (ids.size - 1) // batch_size))
