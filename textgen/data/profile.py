"""The corpus profile that picks a preset when the user names none.

`choose` looks at the corpus: Chinese poetry or lyrics (short lines of Han
characters), Chinese prose, or other text (English, code, ...) by size, and
trains a small corpus for more epochs so that it gets enough steps.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

from textgen.config import Config, apply_overrides
from textgen.config.lookup import load
from textgen.data.corpus import Corpus, scan_corpus
from textgen.data.tokenizers.han import han_count

SAMPLE_CHARS = 2_000_000  # the profile reads at most this much of the corpus
HAN_SHARE = 0.3  # Han characters among non-space ones: the text is Chinese
POEM_LINE = 40  # mean characters per non-blank line at most: verse or lyrics
SMALL_CORPUS = 400_000  # characters; below, char-small's 230k parameters are enough
MIN_STEPS = 1_000  # a small corpus gets more epochs, up to MAX_EPOCHS, to train this long
MAX_EPOCHS = 200
PATIENCE = 5  # ... and stops early once validation stops improving
_CODE_SYMBOLS = re.compile(r"[{}\[\]()=<>;_#*/\\|+]")
_INDENTED = re.compile(r"(?:  |\t)\S", re.MULTILINE)


@dataclass(frozen=True)
class CorpusProfile:
    """What the automatic preset choice looks at, measured on the corpus.

    Attributes:
        n_chars: characters in the corpus (estimated from its size in bytes when
            it is longer than the sample read).
        han_share: Han characters among the non-space characters.
        distinct: distinct characters in the sample.
        mean_line: mean length of the non-blank lines, in characters.
        code: the text looks like source code (symbols and indented lines).
    """

    n_chars: int
    han_share: float
    distinct: int
    mean_line: float
    code: bool

    @classmethod
    def of(cls, corpus: Corpus, sample_chars: int = SAMPLE_CHARS) -> CorpusProfile:
        """Profiles the first `sample_chars` characters of `corpus`."""
        parts, n = [], 0
        for chunk in corpus.iter_text():
            parts.append(chunk[: sample_chars - n])
            n += len(parts[-1])
            if n >= sample_chars:
                break
        text = "".join(parts)
        whole = n < sample_chars
        n_chars = n if whole else round(corpus.n_bytes * n / len(text.encode("utf-8")))
        lines = [line for line in text.split("\n") if line.strip()]
        solid = len(text) - sum(map(str.isspace, text)) or 1
        indented = len(_INDENTED.findall(text)) / max(len(lines), 1)
        return cls(
            n_chars=n_chars,
            han_share=han_count(text) / solid,
            distinct=len(set(text)),
            mean_line=sum(map(len, lines)) / max(len(lines), 1),
            code=len(_CODE_SYMBOLS.findall(text)) / solid > 0.04 and indented > 0.3,
        )


@dataclass(frozen=True)
class Choice:
    """A preset picked for a corpus: its name, why, and keys set on top of it."""

    name: str
    reason: str
    sets: tuple[str, ...] = ()


def choose(profile: CorpusProfile) -> Choice:
    """Picks the preset that suits a corpus (see the module docstring).

    Args:
        profile: the corpus's `CorpusProfile`.

    Returns:
        The preset's name, a one-line reason, and `--set` strings that fit its
        epochs to a small corpus.
    """
    size = f"{profile.n_chars:,} characters"
    if profile.han_share >= HAN_SHARE:
        kind = f"Chinese ({profile.han_share:.0%} Han characters, {profile.distinct:,} distinct)"
        if profile.mean_line <= POEM_LINE:
            name = "poems-zh"
            why = f"{kind} in short lines ({profile.mean_line:.0f} characters on average): verse"
        else:
            name, why = "novel-zh", f"{kind} prose"
    else:
        kind = "source code" if profile.code else "text"
        small = profile.n_chars < SMALL_CORPUS
        name = "char-small" if small else "char-medium"
        why = f"{kind}, {'under' if small else 'over'} {SMALL_CORPUS:,} characters"
    cfg = load(name)
    steps = profile.n_chars * (1 - cfg.data.val_frac) / (cfg.data.batch_size * cfg.data.seq_len)
    sets: tuple[str, ...] = ()
    if steps * cfg.train.epochs < MIN_STEPS:
        epochs = min(MAX_EPOCHS, math.ceil(MIN_STEPS / max(steps, 1e-9)))
        sets = (f"train.epochs={epochs}", f"train.patience={PATIENCE}")
        why += (f"; {epochs} epochs instead of {cfg.train.epochs} for a corpus this small, "
                f"stopping early after {PATIENCE} epochs without a better validation loss")
    return Choice(name, f"{size} of {why}", sets)


def auto_config(
    corpus_paths: list[Path], overrides: list[str], pattern: str = "*.txt"
) -> tuple[Config, Choice]:
    """The config of the preset `choose` picks for a corpus, with `overrides` applied.

    Args:
        corpus_paths: corpus files and directories.
        overrides: the user's `--set` strings (their data.encoding and
            data.normalize decide how the corpus is read).
        pattern: which files of a corpus directory to read.

    Raises:
        TextgenError: the corpus is unusable, or an override is invalid.
    """
    probe = Config()
    apply_overrides(probe, overrides)
    corpus = scan_corpus(corpus_paths, probe.data.normalize, probe.data.encoding, pattern)
    choice = choose(CorpusProfile.of(corpus))
    cfg = load(choice.name)
    apply_overrides(cfg, [*choice.sets, *overrides])
    return cfg, choice
