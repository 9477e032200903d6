"""The corpus profile that picks a preset when the user names none.

`choose` looks at the corpus: Chinese poetry or lyrics (short lines of Han
characters), Chinese prose, or other text (English, code, ...) by size, and
trains a small corpus for more epochs so that it gets enough steps.

Given a time budget (`train.max_time`), it also considers time: each preset's
measured seconds per step (`lookup.step_cost`, measured on a reference machine:
2 CPU cores) say how long its first `USEFUL_STEPS` steps take on this corpus, and
the choice steps down `SMALLER` to the largest preset whose useful training fits
the budget, else the smallest. Without a budget the choice is as above.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from textgen.config import Config, apply_overrides, parse_duration
from textgen.config.lookup import load, step_cost
from textgen.data.corpus import Corpus, scan_corpus
from textgen.data.encode import EncodedCorpus
from textgen.data.tokenizers.han import han_count

SAMPLE_CHARS = 2_000_000  # the profile reads at most this much of the corpus
HAN_SHARE = 0.3  # Han characters among non-space ones: the text is Chinese
POEM_LINE = 40  # mean characters per non-blank line at most: verse or lyrics
SMALL_CORPUS = 400_000  # characters; below, char-small's 230k parameters are enough
MIN_STEPS = 1_000  # a small corpus gets more epochs, up to MAX_EPOCHS, to train this long
MAX_EPOCHS = 200
PATIENCE = 5  # ... and stops early once validation stops improving
# A preset fits a time budget when this many of its steps do (or its whole plan, if
# shorter): fewer leave a large model near the unigram loss, where a small one that
# trains for the whole budget has learnt the corpus's look (the issue-22 code corpus:
# char-medium 3.70 bits/char after 120 steps, char-small 2.29 after 70 s).
USEFUL_STEPS = MIN_STEPS
# Where a time budget sends each choice, largest first: the same kind of model, smaller.
SMALLER = {
    "char-medium": ("char-medium", "char-small"),
    "novel-zh": ("novel-zh", "poems-zh"),  # poems-zh: a smaller Chinese character model
}
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
        return cls.of_text(
            text, n if whole else round(corpus.n_bytes * n / len(text.encode("utf-8"))))

    @classmethod
    def of_text(cls, text: str, n_chars: int) -> CorpusProfile:
        """Profiles `text`, a sample of a corpus of `n_chars` characters."""
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
    """A preset picked for a corpus: its name, why, keys set on top of it, and how long
    it is expected to train (`auto_config` fills `timing` in)."""

    name: str
    reason: str
    sets: tuple[str, ...] = ()
    timing: str = ""


def choose(profile: CorpusProfile, budget_s: float = 0.0,
           precision: str = "float32") -> Choice:
    """Picks the preset that suits a corpus (see the module docstring).

    Args:
        profile: the corpus's `CorpusProfile`.
        budget_s: the time budget in seconds (`train.max_time`; 0: none).
        precision: whose measured speed counts: "mixed_bfloat16" when asked for
            by name, else "float32" (the slower figure; "auto" may be faster).

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
    if budget_s:
        name, why = _within(budget_s, profile, name, why, precision)
    cfg = load(name)
    per_epoch = _steps_per_epoch(profile.n_chars, cfg)
    epochs = _epochs(per_epoch, cfg)
    sets: tuple[str, ...] = ()
    if epochs != cfg.train.epochs:
        sets = (f"train.epochs={epochs}", f"train.patience={PATIENCE}")
        why += (f"; {epochs} epochs instead of {cfg.train.epochs} for a corpus this small, "
                f"stopping early after {PATIENCE} epochs without a better validation loss")
    return Choice(name, f"{size} of {why}", sets)


def _steps_per_epoch(n_chars: int, cfg: Config) -> float:
    """Training steps in one epoch of a corpus of `n_chars` characters (about one token
    each: the automatic choices are character models)."""
    return n_chars * (1 - cfg.data.val_frac) / (cfg.data.batch_size * cfg.data.seq_len)


def _epochs(per_epoch: float, cfg: Config) -> int:
    """The preset's epochs, or more for a small corpus so that it trains `MIN_STEPS`."""
    if per_epoch * cfg.train.epochs >= MIN_STEPS:
        return cfg.train.epochs
    return min(MAX_EPOCHS, math.ceil(MIN_STEPS / max(per_epoch, 1e-9)))


def _within(budget_s: float, profile: CorpusProfile, name: str, why: str,
            precision: str) -> tuple[str, str]:
    """The largest of `SMALLER[name]` whose useful training fits `budget_s`, else the
    smallest; with the reason extended when it is not `name`."""
    ladder = SMALLER.get(name, (name,))
    for candidate in ladder:
        _, seconds = _useful_training(candidate, profile, precision)
        if seconds is not None and seconds <= budget_s:
            break
    else:
        candidate = ladder[-1]
    if candidate == name:
        return name, why
    steps, seconds = _useful_training(name, profile, precision)
    takes = (f"would take about {duration(seconds)} for its first {steps:,} steps"
             if seconds is not None else f"has no measured {precision} speed")
    return candidate, (f"{why}; {name} {takes}, more than train.max_time "
                       f"({duration(budget_s)}), so the smaller {candidate}")


def _useful_training(name: str, profile: CorpusProfile,
                     precision: str) -> tuple[int, float | None]:
    """Preset `name`'s useful training on the corpus: its first `USEFUL_STEPS` steps
    (or all of them, if fewer) and the seconds they take at its measured speed (None
    when its speed in `precision` was not measured)."""
    cfg = load(name)
    per_epoch = _steps_per_epoch(profile.n_chars, cfg)
    steps = round(min(USEFUL_STEPS, per_epoch * _epochs(per_epoch, cfg)))
    cost = step_cost(name)
    per_step = cost.per_step(precision) if cost else None
    return steps, None if per_step is None else steps * per_step


def timing(name: str, cfg: Config, n_chars: int) -> str:
    """How long preset `name`, as `cfg` has it, is expected to train on a corpus of
    `n_chars` characters, at the speed measured on the preset's reference machine.

    Args:
        name: the shipped preset `cfg` was made from.
        cfg: its config with the user's overrides (epochs, max_steps, max_time).
        n_chars: characters in the corpus.
    """
    cost = step_cost(name)
    precision = _speed_of(cfg.train.precision)
    per_step = cost.per_step(precision) if cost else None
    preset = load(name)
    shape = (cfg.model, cfg.data.batch_size, cfg.data.seq_len, cfg.data.tokenizer)
    if shape != (preset.model, preset.data.batch_size, preset.data.seq_len,
                 preset.data.tokenizer):
        return (f"expected time: not known: your --set changes {name}'s model or batch "
                "shape, and only the preset as shipped was timed")
    if cost is None or per_step is None:
        return f"expected time: not known ({name}'s {precision} speed was not measured)"
    steps = round(_steps_per_epoch(n_chars, cfg) * cfg.train.epochs)
    if cfg.train.max_steps:
        steps = min(steps, cfg.train.max_steps)
    line = (f"expected time: about {duration(steps * per_step)} for {steps:,} steps at "
            f"{1 / per_step:.3g} steps/s, {name}'s {precision} speed measured on a "
            f"reference machine ({cost.where}); yours may be faster or slower, and "
            "validation adds to it")
    budget = parse_duration(cfg.train.max_time)
    if budget and steps * per_step > budget:
        line += (f". train.max_time ({duration(budget)}) stops it after about "
                 f"{budget / per_step:,.0f} steps")
    return line


def _speed_of(precision: str) -> str:
    """Whose measured figure applies: "auto" counts as float32, the slower one."""
    return "mixed_bfloat16" if precision == "mixed_bfloat16" else "float32"


def duration(seconds: float) -> str:
    """A rough, readable duration: "40 s", "2.5 min", "1.2 h"."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.2g} min" if seconds < 600 else f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.2g} h" if seconds < 10 * 3600 else f"{seconds / 3600:.0f} h"


def suited_preset(enc: EncodedCorpus, cfg: Config) -> str | None:
    """The preset `choose` picks for this corpus (within `cfg`'s train.max_time), when
    `cfg` trains another model (its model section or tokenizer differ); else None.

    The profile is taken from the encoded ids (the run's own corpus, also when
    resumed): the first `SAMPLE_CHARS` of them decoded, `<unk>` left out.
    """
    ids = enc.ids[:SAMPLE_CHARS]  # (N,)
    sample = enc.tokenizer.decode(ids[~np.isin(ids, enc.tokenizer.reserved_ids)])
    budget = parse_duration(cfg.train.max_time)
    name = choose(CorpusProfile.of_text(sample, enc.n_chars), budget,
                  _speed_of(cfg.train.precision)).name
    preset = load(name)
    same = (cfg.model, cfg.data.tokenizer) == (preset.model, preset.data.tokenizer)
    return None if same else name


def auto_config(
    corpus_paths: list[Path], overrides: list[str], pattern: str = "*.txt"
) -> tuple[Config, Choice]:
    """The config of the preset `choose` picks for a corpus, with `overrides` applied;
    the choice considers their train.max_time, and its `timing` their epochs.

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
    found = CorpusProfile.of(corpus)
    choice = choose(found, parse_duration(probe.train.max_time),
                    _speed_of(probe.train.precision))
    cfg = load(choice.name)
    apply_overrides(cfg, [*choice.sets, *overrides])
    return cfg, replace(choice, timing=timing(choice.name, cfg, found.n_chars))
