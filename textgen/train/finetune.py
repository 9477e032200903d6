"""Fine-tuning: a new run that starts from a trained run (the base) on a new corpus.

The base is only read, never written: its checkpoint is read once into memory
(so a base that is training at the same moment, whose checkpoints are replaced
atomically, is read whole), hashed, and its weights copied into the new run.

The architecture and tokenizer come from the base. The vocabulary is the base's,
and for tokens of the new corpus that the base never saw (`--vocab`):

    extend  append them after the base's ids; the embedding and the output layer
            grow by as many rows/columns (existing weights kept bit for bit)
    unk     map them to <unk>
    strict  refuse, listing them

This module needs no Keras; `textgen.run.keras_checkpoint.assign_weights` puts the
weights into the training model.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from textgen.config import Config, assignments, parse_assignment, set_value
from textgen.data.encode import EncodedCorpus, EncodeOptions
from textgen.data.tokenizers import UNK, Tokenizer
from textgen.errors import (
    CheckpointError,
    ConfigError,
    IncompatibleCheckpoint,
    TextgenError,
)
from textgen.model.numpy_lm import RecurrentLM
from textgen.run.checkpoint_file import FALLBACKS
from textgen.run.directory import RunDir
from textgen.run.installed import resolve
from textgen.run.opening import new_run
from textgen.run.records import Lineage, LineageEntry
from textgen.run.repair import LoadedRun
from textgen.run.repair import load as load_run

# A quarter of train.lr's default: the base already sits in a good region, and
# large steps on a small corpus wash out what it learnt (catastrophic forgetting).
FINETUNE_LR = 5e-4
# Epochs by the corpus's size, unless given: at least FINETUNE_MIN_STEPS optimizer
# steps (a 10 KB corpus is one batch an epoch, and 10 epochs barely move a base),
# at most FINETUNE_MAX_EPOCHS, never fewer than train.epochs' default. Early
# stopping ends it when validation stops improving: en-base on a 10 KB poem
# corpus is best at step 29 and worse every step after (bench_bases, RESULTS.md).
FINETUNE_MIN_STEPS = 300
FINETUNE_MAX_EPOCHS = 100
FINETUNE_PATIENCE = 5
AUTO_EPOCHS = 0  # train.epochs until `start` knows the corpus (see `auto_epochs`)
# What fixes the shapes of the weights, or how text becomes the base's tokens.
LOCKED_KEYS = (
    "model.embedding_dim", "model.units", "model.layers", "model.cell",
    "data.tokenizer", "data.jieba_hmm", "data.user_dict",
)
VOCAB_MODES = ("extend", "unk", "strict")


@dataclass
class Base:
    """A trained run read for fine-tuning.

    Attributes:
        run: its directory.
        cfg: its config (the checkpoint's copy when config.json is damaged or edited).
        tokenizer: its vocabulary (likewise, vocab.json's copy in the checkpoint).
        checkpoint: "best", "last" or "step-N": the checkpoint the weights came from.
        sha256: the checkpoint file's SHA-256 (of the bytes the weights came from).
        step: the checkpoint's training step.
        weights: its model weights by Keras variable path.
        chain: the base's own lineage (its bases, nearest first), or [].
        notices: damage worked around while reading it (a file replaced by the
            checkpoint's copy, a damaged lineage.json); the base itself is not repaired.
    """

    run: RunDir
    cfg: Config
    tokenizer: Tokenizer
    checkpoint: str
    sha256: str
    step: int
    weights: dict[str, np.ndarray]
    chain: list[LineageEntry] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)


def load_base(path: Path, checkpoint: str | None = None) -> Base:
    """Reads a base run for fine-tuning, without writing anything to it.

    config.json and vocab.json are read as `textgen sample` reads them: a damaged
    or edited file is replaced by the checkpoint's copy, with a notice.

    Args:
        path: the base run directory, or an installed model's name (`textgen models`).
        checkpoint: "best", "last" or "step-N"; None: best when the base has one, else
            last (`RunDir.pick_checkpoint`).

    Raises:
        CheckpointError: not a run, no such checkpoint, or damage with no fallback.
        IncompatibleCheckpoint: the checkpoint does not fit the base's config.
    """
    run = RunDir(resolve(path))
    asked = run.pick_checkpoint(checkpoint)
    name, data, loaded = _read_base(run, asked)
    cfg, tok, ckpt = loaded.cfg, loaded.tokenizer, loaded.checkpoint
    notices = list(loaded.notices)
    if tok.kind != cfg.data.tokenizer:
        raise IncompatibleCheckpoint(
            f"{run.path}: config.json says data.tokenizer={cfg.data.tokenizer!r} but "
            f"vocab.json holds a {tok.kind!r} vocabulary; restore the base's files"
        )
    # Checks every shape against the config and the vocabulary.
    RecurrentLM.from_weights(ckpt.weights(), cfg.model, tok.vocab_size, str(ckpt.path))
    try:
        history = run.read_lineage()
    except CheckpointError as e:  # a damaged lineage loses history, not the base
        history = None
        notices.append(f"warning: {e}; the new run's lineage starts at this base")
    return Base(run, cfg, tok, name, hashlib.sha256(data).hexdigest(), ckpt.state.step,
                ckpt.weights(), history.chain if history else [], notices)


def _read_base(run: RunDir, name: str) -> tuple[str, bytes, LoadedRun]:
    """Reads checkpoint `name` of a base (each file read once, so that it is whole even
    while the base trains), or the first readable of its stand-ins (`FALLBACKS`)
    when it is missing or damaged, as `sample` does.

    Returns:
        The checkpoint used, its bytes, and what they hold (with a notice when a
        stand-in was used).
    """
    first: CheckpointError | None = None
    for candidate in (name, *FALLBACKS.get(name, ())):
        file = run.checkpoint(candidate)
        try:
            data = file.read_bytes()
            loaded = load_run(run, candidate, prefixes=("model/",), data=data)
        except OSError as e:
            why = ("does not exist" if isinstance(e, FileNotFoundError)
                   else f"cannot be read ({e.strerror or e})")
            first = first or CheckpointError(f"{file} {why}")
            continue
        except IncompatibleCheckpoint:
            raise
        except CheckpointError as e:
            first = first or e
            continue
        if candidate != name:
            loaded.notices.insert(0, f"warning: {first}; using the '{candidate}' checkpoint "
                                     f"(step {loaded.checkpoint.state.step:,}) instead")
        return candidate, data, loaded
    assert first is not None
    raise first


def finetune_config(
    base: Config, preset: dict[str, Any] | None, overrides: list[str], source: str = "config"
) -> Config:
    """The new run's config: the base's model and data settings, fine-tuning defaults,
    then a preset's keys and `--set` overrides; the architecture cannot change.

    The fine-tuning defaults: `FINETUNE_LR`, early stopping after
    `FINETUNE_PATIENCE` validations without improvement, and, unless a preset or
    override gives train.epochs, `AUTO_EPOCHS`, which `start` turns into epochs
    by the corpus's size (`auto_epochs`).

    Args:
        base: the base run's config.
        preset: a TOML preset's sections, or None.
        overrides: `--set section.key=value` strings.
        source: the preset's name, for error messages.

    Raises:
        ConfigError: a bad key or value, or one that would change a `LOCKED_KEYS` key.
    """
    cfg = Config()
    cfg.model = dataclasses.replace(base.model)
    cfg.data = dataclasses.replace(base.data)
    cfg.data.encoding = "auto"  # the new corpus's encoding is its own, not the base's
    cfg.data.val_split = Config().data.val_split  # a new run: today's split, whatever the base's
    cfg.train.lr = FINETUNE_LR
    cfg.train.patience = FINETUNE_PATIENCE
    items = list(assignments(preset or {}, source))
    items += [(*parse_assignment(item), "--set") for item in overrides]
    if not any(dotted == "train.epochs" for dotted, _, _ in items):
        cfg.train.epochs = AUTO_EPOCHS
    before = cfg.to_dict()
    for dotted, value, source in items:
        set_value(cfg, dotted, value, source=source)  # checks the key and the value
        section, key = dotted.split(".")
        now = getattr(getattr(cfg, section), key)
        if dotted in LOCKED_KEYS and now != before[section][key]:
            raise ConfigError(
                f"fine-tuning keeps the base's architecture and tokenizer: {source} cannot "
                f"change {dotted} (the base has {before[section][key]!r}); leave it out, "
                "or train a new model with `textgen train`"
            )
    return cfg


class Vocabulary:
    """Makes the new run's vocabulary from the base's and the new corpus's counts.

    Args:
        base: the base's tokenizer.
        mode: "extend", "unk" or "strict".
        max_vocab: `extend` never grows the vocabulary past this (or past the base's).
        min_freq: `extend` adds only tokens seen at least this often.

    After the call, `added` and `unseen` say what happened.
    """

    def __init__(self, base: Tokenizer, mode: str, max_vocab: int, min_freq: int):
        if mode not in VOCAB_MODES:
            raise ConfigError(f"--vocab must be one of {', '.join(VOCAB_MODES)}, got {mode!r}")
        self.base, self.mode = base, mode
        self.max_vocab, self.min_freq = max_vocab, min_freq
        self.added: list[str] = []
        self.unseen: list[str] = []
        self.coverage = 1.0

    def __call__(self, counts: Counter[str]) -> Tokenizer:
        """Returns the new run's tokenizer for a corpus with these token counts.

        Raises:
            TextgenError: `strict`, and the corpus has tokens the base never saw.
        """
        known = set(self.base.tokens)
        order = sorted(counts, key=lambda t: (-counts[t], t))
        self.unseen = [t for t in order if t not in known and t != UNK]
        total = sum(counts.values())
        self.coverage = 1 - sum(counts[t] for t in self.unseen) / total if total else 1.0
        if self.unseen and self.mode == "strict":
            shown = " ".join(repr(t) for t in self.unseen[:30])
            more = f" and {len(self.unseen) - 30:,} more" if len(self.unseen) > 30 else ""
            raise TextgenError(
                f"--vocab strict: the corpus has {len(self.unseen):,} token(s) the base "
                f"never saw: {shown}{more}; use --vocab extend to add them or --vocab unk "
                "to map them to <unk>"
            )
        if self.mode == "extend":
            room = max(0, max(self.max_vocab, self.base.vocab_size) - self.base.vocab_size)
            self.added = [t for t in self.unseen if counts[t] >= self.min_freq][:room]
        return type(self.base)([*self.base.tokens, *self.added], self.base.settings)


def grow_weights(
    weights: dict[str, np.ndarray], n_new: int, seed: int = 0
) -> dict[str, np.ndarray]:
    """Adds `n_new` tokens to the embedding and the output layer; keeps the rest exactly.

    New embedding rows are the mean of the existing ones (a neutral input) plus
    a little noise (a tenth of the rows' spread), so that new tokens differ from
    each other even in a frozen embedding. New output columns are zero with the
    lowest existing bias, so a new token starts as rare as the rarest known one
    and rises as the corpus teaches it.

    Args:
        weights: model weights by Keras path (not modified).
        n_new: tokens appended after the existing ids.
        seed: seeds the noise.

    Returns:
        The weights with embedding (V + n, E), logits kernel (H, V + n), bias (V + n,).
    """
    out = dict(weights)
    if n_new == 0:
        return out
    emb = weights["embedding/embeddings"]  # (V, E)
    kernel, bias = weights["logits/kernel"], weights["logits/bias"]  # (H, V), (V,)
    noise = np.random.default_rng(seed).normal(0, 0.1 * emb.std(), (n_new, emb.shape[1]))
    out["embedding/embeddings"] = np.concatenate(
        [emb, (emb.mean(axis=0) + noise).astype(emb.dtype)])
    out["logits/kernel"] = np.concatenate(
        [kernel, np.zeros((kernel.shape[0], n_new), kernel.dtype)], axis=1)
    out["logits/bias"] = np.concatenate([bias, np.full(n_new, bias.min(), bias.dtype)])
    return out


@dataclass
class Start:
    """A fine-tuned run, created and ready to train.

    Attributes:
        run: its directory (config, vocabulary, corpus record and lineage written).
        enc: its corpus, encoded with the new vocabulary.
        notices: what the user should know about the corpus (see `new_run`).
        vocab: what happened to the tokens the base never saw.
        weights: the base's weights, grown to the new vocabulary, by Keras path;
            `textgen.run.keras_checkpoint.assign_weights` puts them into the training model.
    """

    run: RunDir
    enc: EncodedCorpus
    notices: list[str]
    vocab: Vocabulary
    weights: dict[str, np.ndarray]


def check_out(base: Base, out: Path) -> None:
    """Refuses a new run's directory inside the base run: the base is never written to.

    `start` checks it too; call it first to refuse before taking `out`'s lock
    (which would create a lock file inside the base).

    Raises:
        TextgenError: `out` is the base run or inside it.
    """
    if Path(out).resolve().is_relative_to(base.run.path.resolve()):
        raise TextgenError(f"the new run's directory {out} is inside the base run; the base "
                           "is never written to, pick a directory outside it")


def start(
    base: Base,
    cfg: Config,
    corpus_paths: list[Path],
    out: Path,
    mode: str = "extend",
    encode_options: EncodeOptions | None = None,
    pattern: str = "*.txt",
) -> Start:
    """Creates the fine-tuned run directory `out` from `base` and a new corpus.

    Args:
        base: the base run (`load_base`).
        cfg: the new run's config (`finetune_config`).
        corpus_paths: the new corpus's files and directories.
        out: the run directory to create.
        mode: "extend", "unk" or "strict" (see `Vocabulary`).
        encode_options, pattern: as in `textgen.run.opening.new_run`.

    Raises:
        TextgenError: `out` is the base run or inside it (the base is never written
            to), as `new_run`, or `strict` meeting tokens the base never saw.
    """
    check_out(base, out)
    vocab = Vocabulary(base.tokenizer, mode, cfg.data.max_vocab, cfg.data.min_freq)
    run, enc, notices = new_run(
        cfg, corpus_paths, out, encode_options, vocabulary=vocab,
        lineage=lambda: lineage(base, vocab), settings=base.tokenizer.settings,
        pattern=pattern, adjust=auto_epochs,
    )
    weights = grow_weights(base.weights, len(vocab.added), cfg.train.seed)
    return Start(run, enc, notices, vocab, weights)


def auto_epochs(cfg: Config, batches_per_epoch: int) -> None:
    """Sets `cfg.train.epochs` by the corpus's size when it is `AUTO_EPOCHS`: enough
    epochs for `FINETUNE_MIN_STEPS` steps, between train.epochs' default and
    `FINETUNE_MAX_EPOCHS` (early stopping, `train.patience`, may end it sooner)."""
    if cfg.train.epochs == AUTO_EPOCHS:
        need = -(-FINETUNE_MIN_STEPS // max(batches_per_epoch, 1))
        cfg.train.epochs = min(max(need, Config().train.epochs), FINETUNE_MAX_EPOCHS)


def lineage(base: Base, vocab: Vocabulary) -> Lineage:
    """What `lineage.json` records: this run's base, then the base's own bases."""
    entry = LineageEntry(
        run=str(base.run.path.resolve()), checkpoint=base.checkpoint, sha256=base.sha256,
        step=base.step, vocab=vocab.mode, tokens_added=len(vocab.added),
        added_examples=vocab.added[:20],
    )
    return Lineage([entry, *base.chain])


def vocabulary_report(vocab: Vocabulary) -> list[str]:
    """Lines that say what happened to the tokens the base never saw."""
    lines = []
    if vocab.mode == "extend":
        shown = " ".join(repr(t) for t in vocab.added[:10])
        more = " ..." if len(vocab.added) > 10 else ""
        lines.append(f"vocabulary: added {len(vocab.added):,} token(s) the base never saw"
                     + (f": {shown}{more}" if vocab.added else ""))
    left = len(vocab.unseen) - len(vocab.added)
    if left:
        cover = (f"; the base's vocabulary covers {vocab.coverage:.2%} of the corpus"
                 if vocab.mode == "unk" else
                 f" (over data.max_vocab={vocab.max_vocab:,} or under data.min_freq="
                 f"{vocab.min_freq}); raise --set data.max_vocab=N to add more")
        lines.append(f"vocabulary: {left:,} unseen token(s) become <unk>{cover}")
    return lines
