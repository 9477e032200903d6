"""Typed configuration: the dataclasses that hold every key, with its default and why.

One source of truth for every key name: the dataclass field below is what the
TOML preset, the `--set` flag, `config.json` in the run directory and the README
all call it. Each field's `metadata["help"]` is shown in error messages and docs;
`textgen.config.overrides` reads files and `--set` strings into these fields,
and `textgen.config.checks` refuses what is valid alone but not together.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from textgen.config.overrides import (
    assignments,
    keys_of,
    read_config_file,
    section_names,
    set_value,
)


def _opt(default: Any, help: str, **checks: Any) -> Any:
    """A dataclass field with a help text and optional `choices`/`min`/`max` checks."""
    return field(default=default, metadata={"help": help, **checks})


@dataclass
class DataConfig:
    """How the corpus becomes batches of token ids."""

    tokenizer: str = _opt(
        "char", "token unit: 'char' (any language) or 'word' (jieba for Chinese)",
        choices=("char", "word"),
    )
    # 100 steps of backprop-through-time: long enough for a line of verse,
    # short enough that a CPU step stays fast. State carries across batches anyway.
    seq_len: int = _opt(100, "tokens per training row (truncated BPTT length)", min=1)
    # Stateful training needs a fixed batch size; 64 rows keep a CPU busy.
    batch_size: int = _opt(64, "rows per batch (parallel streams through the corpus)", min=1)
    # A contiguous tail, so validation text is never seen during training.
    val_frac: float = _opt(0.05, "share of each corpus file (its tail) kept for validation",
                           min=0.0, max=0.5)
    # The tail of every file, so validation speaks for all of the corpus (poems and
    # ci, not ci alone). Runs from before this key validated on the tail of the
    # corpus as a whole: a config.json without the key reads as that (`SAVED_DEFAULTS`).
    val_split: str = _opt(
        "each-file", "which tail is kept for validation: 'each-file' (data.val_frac of "
        "every file) or 'last-file' (of the whole corpus: its last file)",
        choices=("each-file", "last-file"),
    )
    # Chinese has thousands of rare characters; capping keeps the softmax small.
    max_vocab: int = _opt(20000, "largest vocabulary; rarer tokens become <unk>", min=2)
    min_freq: int = _opt(1, "tokens seen fewer times than this become <unk>", min=1)
    jieba_hmm: bool = _opt(True, "word tokenizer: let jieba guess words not in its dictionary")
    user_dict: str = _opt("", "word tokenizer: path to a jieba user dictionary ('' = none)")
    normalize: str = _opt("none", "Unicode normalisation of the corpus: 'none' or 'nfkc'",
                          choices=("none", "nfkc"))
    # "auto" reads UTF-8, else GB18030 when the text reads as Chinese; a file in
    # another encoding (Latin-1, Windows-1252, Big5, ...) must be named.
    encoding: str = _opt("auto", "corpus encoding: 'auto' (UTF-8, or GB18030 for Chinese) "
                         "or a codec name such as 'cp1252' or 'big5'", codec=True)


@dataclass
class ModelConfig:
    """The network: Embedding -> layers x LSTM/GRU -> Dense over the vocabulary."""

    embedding_dim: int = _opt(256, "size of each token's embedding vector", min=1)
    units: int = _opt(512, "hidden units per recurrent layer", min=1)
    layers: int = _opt(2, "number of stacked recurrent layers", min=1)
    cell: str = _opt("lstm", "recurrent cell: 'lstm' or 'gru'", choices=("lstm", "gru"))
    # 0 for small corpora runs; 0.2-0.5 once the model overfits (val loss rises).
    dropout: float = _opt(0.0, "dropout after each recurrent layer", min=0.0, max=0.95)
    # AWD-LSTM's DropConnect: one random mask per batch zeroes this share of each
    # LSTM's recurrent weights, so the model cannot lean on any single hidden-to-hidden
    # path. With weight decay it is what lets tiny-shakespeare's 2 x 512 model go below
    # 1.45 nats/char instead of overfitting at 1.48 (docs/RESULTS.md).
    weight_drop: float = _opt(0.0, "LSTM only: share of the recurrent weights dropped "
                              "(one mask per batch) while training", min=0.0, max=0.95)
    # Keras's defaults (embedding U(+-0.05), a glorot output layer whose range shrinks as
    # the vocabulary grows) starve a model with thousands of characters of signal: it
    # sits at the unigram loss on Chinese. PyTorch's (embedding N(0, 1), output layer
    # U(+-1/sqrt(H))) learn (docs/RESULTS.md).
    init: str = _opt("pytorch", "initial weights of the embedding and output layer: "
                     "'pytorch' or 'keras' (Keras's defaults)", choices=("pytorch", "keras"))

    def parameter_table(self, vocab_size: int) -> list[tuple[str, str, int]]:
        """(layer name, kind, parameters) of the model, computed from the shapes.

        An LSTM layer has 4 gates x (kernel + recurrent kernel + bias):
        4·H·(H + X) + 4·H; Keras's GRU (reset_after) has 3·H·(H + X) + 2·3·H.
        """
        V, E, H = vocab_size, self.embedding_dim, self.units
        rows = [("embedding", "Embedding", V * E)]
        gates, biases = (4, 1) if self.cell == "lstm" else (3, 2)
        for i in range(self.layers):
            x = E if i == 0 else H
            rows.append((f"rnn_{i}", self.cell.upper(), gates * H * (H + x) + biases * gates * H))
        rows.append(("logits", "Dense", H * V + V))
        return rows


@dataclass
class TrainConfig:
    """The optimisation loop."""

    epochs: int = _opt(10, "passes over the training split", min=1)
    max_steps: int = _opt(0, "stop after this many optimizer steps in total (0 = no limit)",
                          min=0)
    max_time: str = _opt("", "stop this session after this long, e.g. '30m', '2h', '1h30m', "
                         "'90s' ('' = no limit)", duration=True)
    # Adam at 2e-3 is char-rnn's proven default for small LSTMs.
    lr: float = _opt(2e-3, "Adam learning rate", min=0.0)
    # "decay" is char-rnn's: x lr_decay per epoch after decay_after epochs (with the
    # default lr_decay of 1.0, a constant rate). "cosine" is nanoGPT's: a linear
    # warm-up, then a cosine from lr down to lr/10 at the end of train.epochs.
    schedule: str = _opt("decay", "learning-rate schedule: 'constant', 'decay' or 'cosine'",
                         choices=("constant", "decay", "cosine"))
    # char-rnn decays by 0.97 per epoch after the first few; 1.0 keeps it constant.
    lr_decay: float = _opt(1.0, "schedule 'decay': learning rate multiplier per epoch",
                           min=0.0, max=1.0)
    decay_after: int = _opt(0, "schedule 'decay': epochs at the full rate before decaying",
                            min=0)
    warmup_steps: int = _opt(0, "schedule 'cosine': steps of linear warm-up from 0", min=0)
    # Stop when validation has not improved this many times in a row (0 = never).
    patience: int = _opt(0, "early stopping: validations without improvement (0 = off)",
                         min=0)
    keep: int = _opt(0, "also keep the K most recent step checkpoints (0 = only last and "
                     "best)", min=0)
    # Samples while training show what the numbers mean: names, line breaks, words.
    sample_every: int = _opt(0, "write samples every this many steps into samples.txt "
                             "(0 = off)", min=0)
    sample_length: int = _opt(200, "tokens per sample written during training", min=1)
    tensorboard: bool = _opt(False, "write TensorBoard event files into RUN_DIR/tensorboard "
                             "(--tensorboard)")
    # Decoupled (AdamW): every step shrinks each weight by lr x weight_decay of itself.
    weight_decay: float = _opt(0.0, "decoupled weight decay (AdamW), times the learning "
                               "rate per step (0 = off)", min=0.0)
    # LSTMs occasionally explode; clipping the global norm at 5 is the classic fix.
    clip_norm: float = _opt(5.0, "clip gradients to this global norm (0 = off)", min=0.0)
    seed: int = _opt(1234, "random seed for weights, dropout and sampling", min=0)
    # Fine-tuning on a small corpus: keeping the lower layers as the base learnt
    # them guards against forgetting; the top layers adapt to the new style.
    freeze_embedding: bool = _opt(False, "keep the embedding fixed (fine-tuning)")
    freeze_layers: int = _opt(0, "keep the lowest N recurrent layers fixed (fine-tuning)",
                              min=0)
    # bfloat16 matmuls (float32 weights, optimizer and loss) train ~1.5x faster than
    # float32 on CPUs with AMX, to the same loss (docs/BENCHMARKS.md, textgen.model.precision).
    precision: str = _opt(
        "auto", "'float32', 'mixed_bfloat16', or 'auto' (bfloat16 on CPUs with AMX)",
        choices=("auto", "float32", "mixed_bfloat16"),
    )
    save_every: int = _opt(500, "write the 'last' checkpoint every this many steps", min=1)
    log_every: int = _opt(50, "append a metrics.csv row every this many steps", min=1)
    # Validation (and the 'best' checkpoint) also inside long epochs, so a big corpus
    # shows a validation figure within minutes rather than after an hour.
    eval_every: int = _opt(1000, "also validate every this many steps inside an epoch "
                           "(0 = only at epoch ends)", min=0)


# A run's saved config.json that lacks one of these keys was written before the key
# existed: it takes the value that reproduces what that textgen did, not the default
# a new run gets.
SAVED_DEFAULTS: dict[str, Any] = {"data.val_split": "last-file"}


@dataclass
class Config:
    """The whole resolved configuration of a run."""

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """Returns the config as nested plain dicts (JSON/TOML friendly)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any], source: str = "config") -> Config:
        """Builds a config from nested dicts, validating every key and value.

        Args:
            raw: `{"section": {"key": value}}`; missing keys keep their defaults.
            source: where `raw` came from, for error messages.

        Raises:
            ConfigError: on an unknown section or key, or a value of the wrong type.
        """
        cfg = cls()
        for dotted, value, where in assignments(raw, source, section_names(cfg)):
            set_value(cfg, dotted, value, source=where)
        return cfg

    @classmethod
    def from_saved(cls, raw: dict[str, Any], source: str = "config") -> Config:
        """Builds the config of an existing run (its config.json, or a checkpoint's copy).

        As `from_dict`, except that a key in `SAVED_DEFAULTS` that `raw` lacks takes
        its value there: the run was trained before the key existed.
        """
        cfg = cls.from_dict(raw, source)
        for dotted, value in SAVED_DEFAULTS.items():
            section, key = dotted.split(".")
            if key not in (raw.get(section) or {}):
                setattr(getattr(cfg, section), key, value)
        return cfg

    def save(self, path: Path) -> None:
        """Writes the config as JSON (atomically)."""
        from textgen.fileio import atomic_write_text

        atomic_write_text(path, json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n")

    @classmethod
    def load(cls, path: Path) -> Config:
        """Reads a config file (JSON or a TOML preset, by file suffix) for a new run."""
        return cls.from_dict(read_config_file(path), source=str(path))

    @classmethod
    def load_saved(cls, path: Path) -> Config:
        """Reads an existing run's config.json (see `from_saved`)."""
        return cls.from_saved(read_config_file(path), source=str(path))


def valid_keys() -> list[str]:
    """Returns every settable key as `section.key`."""
    return keys_of(Config())
