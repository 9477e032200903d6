"""The on-disk cache of encoded corpora, so that a corpus is encoded only once.

An entry is three files named by `cache_key` (a hash of the corpus bytes and the
tokenizer settings) in the cache directory:

    KEY.npy         the token ids, shape (N,), uint16 or uint32 (memory-mapped on read)
    KEY.vocab.json  the tokenizer (`Tokenizer.save`)
    KEY.json        facts about the encoding (counts, and the tokens of each
                    corpus file), written last: an entry without it is
                    incomplete and ignored

A damaged or foreign entry reads as a miss (the corpus is encoded again); the
cache only saves time.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from textgen.config import DataConfig
from textgen.data.corpus import Corpus
from textgen.data.tokenizers import Tokenizer, load_tokenizer, tokenizer_settings
from textgen.errors import CheckpointError
from textgen.fileio import atomic_write, atomic_write_text

CACHE_VERSION = 1


def default_cache_dir() -> Path:
    """`$TEXTGEN_CACHE_DIR`, else `~/.cache/textgen`."""
    env = os.environ.get("TEXTGEN_CACHE_DIR")
    return Path(env) if env else Path.home() / ".cache" / "textgen"


def entry_stem(cache_dir: Path | None, key: str) -> Path:
    """The path of entry `key`'s files, less their suffixes."""
    return (Path(cache_dir) if cache_dir else default_cache_dir()) / key


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


# What reading a damaged, truncated or foreign entry raises; anything else is a bug
# and propagates, instead of hiding as a silent re-encoding on every run.
_DAMAGED = (OSError, ValueError, EOFError, zipfile.BadZipFile, CheckpointError)
_META_NUMBERS = ("n_chars", "coverage", "unk_chars")


def read_entry(
    stem: Path, lenient: bool = False
) -> tuple[np.ndarray, Tokenizer, dict[str, Any]] | None:
    """The cache entry at `stem`, or None when it is missing, damaged or incomplete.

    Entries written before bits/char charged `<unk>` lack `unk_nats`: exact (0)
    when the vocabulary covered the corpus, else a miss (re-encoded under the same
    key), or, when `lenient` (the entry stands in for vanished files), kept with no
    charge. Entries written before the files' boundaries were kept lack
    `file_tokens`: a miss, or, when `lenient`, kept with none (one file).

    Returns:
        (ids, tokenizer, meta): ids memory-mapped, shape (N,); meta as written
        (see `textgen.data.encode.EncodedCorpus.meta`), with `unk_nats` and
        `file_tokens` filled in.
    """
    try:
        meta = _read_meta(stem.with_suffix(".json"))
        if meta is None:
            return None
        tok = load_tokenizer(stem.with_suffix(".vocab.json"))
        ids = np.load(stem.with_suffix(".npy"), mmap_mode="r", allow_pickle=False)
    except _DAMAGED:
        return None
    if not isinstance(ids, np.ndarray) or ids.shape != (meta["n_tokens"],):
        return None  # an .npz archive, or ids of another length or shape
    if ids.dtype.kind != "u":
        return None  # not token ids (those are uint16 or uint32)
    if meta.get("unk_nats") is None:
        if meta["coverage"] < 1.0 and not lenient:
            return None
        meta["unk_nats"] = 0.0
    if meta.get("file_tokens") is None:
        if not lenient:
            return None
        meta["file_tokens"] = []
    return ids, tok, meta


def read_meta(stem: Path) -> dict[str, Any] | None:
    """The facts about entry `stem`'s encoding (its `.json` file) without reading its ids;
    None when it is missing, damaged or of another version."""
    try:
        return _read_meta(stem.with_suffix(".json"))
    except (OSError, ValueError):
        return None


def _read_meta(path: Path) -> dict[str, Any] | None:
    """The meta file of an entry of this `CACHE_VERSION`, or None if it is not one.

    Raises:
        OSError, ValueError: the file is missing, unreadable or not JSON.
    """
    meta = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(meta, dict) or meta.get("version") != CACHE_VERSION:
        return None
    if not _is_count(meta.get("n_tokens")) or not _is_count(meta.get("n_chars")):
        return None
    numbers = [meta.get(k) for k in _META_NUMBERS]
    if meta.get("unk_nats") is not None:
        numbers.append(meta["unk_nats"])
    if not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in numbers):
        return None
    files = meta.get("file_tokens")
    if files is not None and not (isinstance(files, list) and all(map(_is_count, files))
                                  and sum(files) == meta["n_tokens"]):
        return None
    return meta


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def write_ids(
    path: Path, pieces: Iterator[np.ndarray], n_tokens: int, dtype: type
) -> np.ndarray:
    """Streams the ids into a .npy file (atomically) and returns it memory-mapped.

    Args:
        path: the entry's `.npy` file.
        pieces: the ids in order, shape (n,) each; they must add up to `n_tokens`.
        n_tokens: N, known beforehand (the header comes first).
        dtype: the ids' dtype (uint16 or uint32).

    Returns:
        The ids, shape (N,), memory-mapped read-only.
    """

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


def write_entry(stem: Path, tokenizer: Tokenizer, meta: dict[str, Any]) -> None:
    """Completes the entry whose ids `write_ids` wrote: the vocabulary, then the meta file.

    Raises:
        OSError: the cache directory is not writable.
    """
    tokenizer.save(stem.with_suffix(".vocab.json"))
    # The meta file is written last: a cache entry without it is ignored.
    atomic_write_text(stem.with_suffix(".json"), json.dumps(meta))
