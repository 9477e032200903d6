"""Word tokenizer: jieba for Chinese, a small regex for everything else.

Text is first cut into runs of Han characters and the rest. Han runs go to
jieba (precise mode, optional HMM for unknown words, optional user dictionary);
the rest is cut by `_OTHER` into words (letters with inner apostrophes, so
"don't" stays whole), numbers ("3.11"), runs of spaces/tabs, and single
characters (each "\\n", "\\r", punctuation mark or emoji alone). Nothing is
dropped or rewritten, so `"".join(split(text)) == text` for any text.

User-dictionary words therefore only match inside Han runs ("T恤" never does),
and every "\\n" ends a token, so a text cut after newlines splits the same.
"""

from __future__ import annotations

import functools
import io
import itertools
import logging
import multiprocessing
import os
import re
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jieba
import numpy as np

from textgen.data.tokenizers.base import UNK, Tokenizer
from textgen.data.tokenizers.han import HAN_RUN, han_count
from textgen.errors import ConfigError

if TYPE_CHECKING:
    from textgen.config import DataConfig

_OTHER = re.compile(
    r"""
    [^\W\d_]+(?:['’][^\W\d_]+)*  # a word: letters, apostrophes only inside (don't, o’er)
    | \d+(?:\.\d+)*              # a number: 42, 3.11
    | [^\S\r\n]+                 # a run of spaces/tabs (one token, so indentation is cheap)
    | [\s\S]                     # anything else alone: \n, \r, punctuation, emoji
    """,
    re.VERBOSE,
)
SETTINGS_KEYS = ("jieba_hmm", "user_dict", "user_dict_text")

PIECE_CHARS = 1 << 16  # large texts are cut after newlines into pieces of about this size
# jieba takes ~3.5 us per Han character, the regex ~0.1 us per other character,
# so only Han text is worth sharing among processes, and only when there is
# enough of it to repay starting them (~0.8 s: each loads Python and jieba);
# on 2 CPUs the break-even is near 400 K Han characters.
# See scripts/bench_segment.py.
PARALLEL_MIN_HAN = 500_000


@functools.cache
def _segmenter(user_dict_text: str) -> jieba.Tokenizer:
    """Returns a jieba instance with `user_dict_text` loaded, built once per process.

    A private instance, so the user dictionary never leaks into jieba's global one.
    """
    seg = jieba.Tokenizer()
    logger = jieba.default_logger
    level = logger.level
    logger.setLevel(logging.ERROR)  # hide "Building prefix dict ..." but keep errors
    try:
        seg.initialize()
        if user_dict_text:
            seg.load_userdict(io.StringIO(user_dict_text))
    finally:
        logger.setLevel(level)
    return seg


class WordTokenizer(Tokenizer):
    """Chinese words (jieba) and non-Chinese words, numbers, whitespace and punctuation.

    Settings (saved in `vocab.json`):
        jieba_hmm: let jieba guess words missing from its dictionary (default True).
        user_dict: path of the jieba user dictionary, for information ("" for none).
        user_dict_text: the dictionary's content, so that a saved run segments the
            same way once the file is gone.

    Example:
        >>> tok = WordTokenizer.from_counts(WordTokenizer.count(["我爱北京。I don't."]), 100)
        >>> tok.split("我爱北京。I don't.")
        ['我', '爱', '北京', '。', 'I', ' ', "don't", '.']
    """

    kind = "word"

    def __init__(self, tokens: list[str], settings: dict[str, Any] | None = None):
        merged = {"jieba_hmm": True, "user_dict": "", "user_dict_text": "", **(settings or {})}
        if set(merged) != set(SETTINGS_KEYS):
            raise ValueError(f"`settings` keys must be {SETTINGS_KEYS}. Received: {sorted(merged)}")
        merged["jieba_hmm"] = bool(merged["jieba_hmm"])
        super().__init__(tokens, merged)

    @classmethod
    def settings_for(cls, cfg: DataConfig) -> dict[str, Any]:
        """jieba's HMM flag and the user dictionary's text (`settings_from`)."""
        return cls.settings_from(cfg.jieba_hmm, cfg.user_dict)

    @staticmethod
    def settings_from(jieba_hmm: bool = True, user_dict: str | Path = "") -> dict[str, Any]:
        """Returns tokenizer settings, with the user dictionary's content read in.

        Args:
            jieba_hmm: let jieba guess words missing from its dictionary.
            user_dict: path of a jieba user dictionary (UTF-8, one "word [freq] [tag]"
                per line), or "" for none.

        Raises:
            ConfigError: the dictionary file is missing, unreadable or not UTF-8.
        """
        text = ""
        if user_dict:
            try:
                text = Path(user_dict).read_text(encoding="utf-8-sig")  # BOM-tolerant
            except (OSError, UnicodeDecodeError) as e:
                why = "not UTF-8" if isinstance(e, UnicodeDecodeError) else e.strerror or str(e)
                raise ConfigError(
                    f"user_dict {user_dict}: cannot read it ({why}); give a UTF-8 jieba "
                    'dictionary file ("word [freq] [tag]" per line), or user_dict = "" for none'
                ) from e
        return {"jieba_hmm": bool(jieba_hmm), "user_dict": str(user_dict), "user_dict_text": text}

    def split(self, text: str) -> list[str]:
        """Cuts text into words, numbers, whitespace runs and single characters.

        Returns:
            Token strings whose concatenation is exactly `text`.
        """
        cut = _segmenter(self.settings["user_dict_text"]).cut
        hmm = self.settings["jieba_hmm"]
        out: list[str] = []
        # re.split with one group alternates: rest, Han run, rest, ..., Han run, rest.
        for i, part in enumerate(HAN_RUN.split(text)):
            if i % 2:
                out.extend(cut(part, cut_all=False, HMM=hmm))
            elif part:
                out.extend(_OTHER.findall(part))
        return out

    def encode_chunks(
        self, chunks: Iterable[str], workers: int | None = 1
    ) -> Iterator[np.ndarray]:
        """Encodes a corpus given as chunks; one pool of processes serves them all.

        Args:
            chunks: text chunks.
            workers: as in `count`.

        Yields:
            The ids of consecutive pieces of the text, shape (n,) each.
        """
        pieces, workers = _pieces_and_workers(chunks, workers)
        if workers <= 1:
            yield from map(self.encode, pieces)
        else:
            for _, ids in _pool_map(_encode_piece, pieces, self, workers):
                yield ids

    @classmethod
    def count(
        cls,
        chunks: Iterable[str],
        *,
        progress: Callable[[int], None] | None = None,
        workers: int | None = 1,
        **settings: Any,
    ) -> Counter[str]:
        """Counts the tokens of a corpus, with several processes when asked.

        Worker processes are started with "spawn", which imports the caller's
        `__main__` again and runs any unguarded top-level code there. So the
        default is one process; only a program whose entry point is guarded with
        `if __name__ == "__main__":` (the `textgen` command is) should pass
        `workers=None` or a number.

        Args:
            chunks: the corpus as text chunks; the counts are those of `split` on
                each chunk (pieces cut after newlines split the same way).
            progress: called after each piece of text with its number of
                characters (an increment, as `tqdm.update` takes).
            workers: processes to use (default 1); None means one per CPU when the
                text holds enough Han characters to gain from it (`PARALLEL_MIN_HAN`).
            **settings: tokenizer settings (see `settings_from`).

        Returns:
            Token -> number of occurrences.
        """
        probe = cls([UNK], settings)
        pieces, workers = _pieces_and_workers(chunks, workers)
        if workers <= 1:
            results: Iterable[tuple[int, Any]] = ((len(p), probe.split(p)) for p in pieces)
        else:
            results = _pool_map(_count_piece, pieces, probe, workers)
        counts: Counter[str] = Counter()
        for n_chars, tokens in results:
            counts.update(tokens)
            if progress is not None:
                progress(n_chars)
        return counts


def _pieces_and_workers(chunks: Iterable[str], workers: int | None) -> tuple[Iterator[str], int]:
    """Cuts chunks into line-aligned pieces and picks the number of processes.

    With `workers=None`, reads ahead just far enough to see whether the text
    holds `PARALLEL_MIN_HAN` Han characters (one process per CPU) or not (one),
    and never more than `4 * PARALLEL_MIN_HAN` characters, so text with little
    Chinese is not read into memory whole just to decide.
    """
    pieces: Iterator[str] = (p for chunk in chunks for p in _line_pieces(chunk))
    if workers is None:
        head, n_han, n_chars = [], 0, 0
        for piece in pieces:
            head.append(piece)
            n_han += han_count(piece)
            n_chars += len(piece)
            if n_han >= PARALLEL_MIN_HAN or n_chars >= 4 * PARALLEL_MIN_HAN:
                break
        workers = _workers_for(n_han)
        pieces = itertools.chain(head, pieces)
    return pieces, workers


def _line_pieces(text: str, size: int = PIECE_CHARS) -> Iterator[str]:
    """Cuts `text` after newlines into pieces of about `size` characters.

    A line longer than `size` stays whole.
    """
    start = 0
    while len(text) - start > size:
        cut = text.rfind("\n", start, start + size) + 1
        if cut <= start:
            cut = text.find("\n", start + size) + 1 or len(text)
        yield text[start:cut]
        start = cut
    if start < len(text):
        yield text[start:]


def _workers_for(n_han: int) -> int:
    """Processes worth using for text with `n_han` Han characters (1: this one only)."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    if not cpus or cpus < 2 or multiprocessing.current_process().daemon:
        return 1  # pool workers are daemonic, and daemons may not start processes
    return cpus if n_han >= PARALLEL_MIN_HAN else 1


def _pool_map(
    task: Callable[[str], Any], pieces: Iterable[str], tok: WordTokenizer, workers: int
) -> Iterator[tuple[int, Any]]:
    """Yields `(len(piece), task(piece))` for each piece, in order, computed by a pool."""
    # "spawn", not "fork": the caller may run other threads (TensorFlow's), and
    # forking a threaded process can leave the child stuck on a lock they held.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, context, _init_worker, (tok.tokens, tok.settings)) as pool:
        pending: deque[tuple[int, Future[Any]]] = deque()
        for piece in pieces:
            pending.append((len(piece), pool.submit(task, piece)))
            if len(pending) > 2 * workers:  # a few pieces in flight bound the memory
                n_chars, future = pending.popleft()
                yield n_chars, future.result()
        for n_chars, future in pending:
            yield n_chars, future.result()


_worker_tok: WordTokenizer | None = None  # a pool worker's tokenizer, set by _init_worker


def _init_worker(tokens: list[str], settings: dict[str, Any]) -> None:
    global _worker_tok
    _worker_tok = WordTokenizer(tokens, settings)
    _worker_tok.split("预热")  # load jieba now, not inside the first task


def _count_piece(text: str) -> Counter[str]:
    assert _worker_tok is not None, "_init_worker did not run"
    return Counter(_worker_tok.split(text))


def _encode_piece(text: str) -> np.ndarray:
    assert _worker_tok is not None, "_init_worker did not run"
    return _worker_tok.encode(text)
