"""Typed configuration: defaults, TOML presets and `--set section.key=value`.

One source of truth for every key name: the dataclass field below is what the
TOML preset, the `--set` flag, `config.json` in the run directory and the README
all call it. Each field's `metadata["help"]` is shown in error messages and docs.
"""

from __future__ import annotations

import codecs
import dataclasses
import json
import math
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from textgen.errors import ConfigError


def parse_duration(text: str, name: str = "train.max_time") -> float:
    """Seconds in a duration such as "90s", "30m", "2h" or "1h30m" ("" = 0: no limit).

    Raises:
        ConfigError: not a duration.
    """
    import re

    text = text.strip().lower()
    if not text:
        return 0.0
    if re.fullmatch(r"[0-9]+(?:\.[0-9]+)?", text):  # a bare number: seconds
        return float(text)
    number = r"([0-9]+(?:\.[0-9]+)?)"
    match = re.fullmatch(f"(?:{number}h)?(?:{number}m)?(?:{number}s)?", text)
    if not match or not any(match.groups()):
        raise ConfigError(
            f"{name} must be a duration such as 90s, 30m, 2h or 1h30m; got {text!r}"
        )
    h, m, s = (float(g) if g else 0.0 for g in match.groups())
    return h * 3600 + m * 60 + s


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
    val_frac: float = _opt(0.05, "share of the corpus (its tail) kept for validation",
                           min=0.0, max=0.5)
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
        for section, values in raw.items():
            if section not in _sections():
                raise ConfigError(
                    f"{source}: unknown section [{section}]; valid sections: "
                    f"{', '.join(_sections())}"
                )
            if not isinstance(values, dict):
                raise ConfigError(f"{source}: [{section}] must be a table of key = value")
            for key, value in values.items():
                set_value(cfg, f"{section}.{key}", value, source=source)
        return cfg

    def save(self, path: Path) -> None:
        """Writes the config as JSON (atomically)."""
        from textgen.fileio import atomic_write_text

        atomic_write_text(path, json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n")

    @classmethod
    def load(cls, path: Path) -> Config:
        """Reads a config saved by `save` (JSON) or a TOML preset, by file suffix."""
        return cls.from_dict(read_config_file(path), source=str(path))


def read_config_file(path: Path) -> dict[str, Any]:
    """Reads a config file's sections as written (JSON by suffix, else TOML), unchecked.

    Raises:
        ConfigError: the file is missing, unreadable, not UTF-8 or not valid.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as e:
        raise ConfigError(f"config file not found: {path}") from e
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: not UTF-8 text; save the config file as UTF-8") from e
    except OSError as e:
        raise ConfigError(f"{path}: cannot read the config file ({e.strerror or e})") from e
    kind = "JSON" if path.suffix == ".json" else "TOML"
    try:
        raw = json.loads(text) if kind == "JSON" else tomllib.loads(text)
    except ValueError as e:  # tomllib.TOMLDecodeError is a ValueError
        raise ConfigError(f"{path}: not valid {kind}: {e}") from e
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected sections of key = value, got {type(raw).__name__}")
    return raw


def check_combinations(cfg: Config) -> None:
    """Refuses settings that are valid alone but not together.

    Raises:
        ConfigError: more layers to freeze than the model has, or weight drop on a GRU.
    """
    if cfg.model.weight_drop and cfg.model.cell != "lstm":
        raise ConfigError(
            f"model.weight_drop works with LSTM layers only, but model.cell is "
            f"'{cfg.model.cell}'; set model.weight_drop=0 or model.cell='lstm'"
        )
    if cfg.train.freeze_layers > cfg.model.layers:
        raise ConfigError(
            f"train.freeze_layers={cfg.train.freeze_layers} but the model has "
            f"{cfg.model.layers} recurrent layer(s); freeze at most {cfg.model.layers}"
        )


def check_fits_in_memory(cfg: Config, vocab_size: int, ram_bytes: int | None = None) -> None:
    """Refuses a model that could not train in this machine's memory.

    Counts 16 bytes per parameter (the weight, its gradient and Adam's two
    moments, in float32) and the activations of one batch kept for
    backpropagation (about 6·H per token per recurrent layer, 3·V for the
    logits and their gradient), so that an absurd size (`model.units=1000000`)
    is a clear error instead of a crash while allocating.

    Args:
        cfg: the config.
        vocab_size: V.
        ram_bytes: the memory to fit in; None asks the operating system (no
            check where it cannot tell).

    Raises:
        ConfigError: the estimate exceeds 90% of the memory.
    """
    if ram_bytes is None:
        try:
            ram_bytes = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        except (AttributeError, ValueError, OSError):
            return
    params = sum(n for _, _, n in cfg.model.parameter_table(vocab_size))
    m, d = cfg.model, cfg.data
    per_token = m.embedding_dim + m.layers * 6 * m.units + 3 * vocab_size
    need = 16 * params + 4 * d.batch_size * d.seq_len * per_token
    if need > 0.9 * ram_bytes:
        raise ConfigError(
            f"this model needs about {need / 2**30:,.1f} GiB to train ({params:,} parameters, "
            f"batches of {d.batch_size:,} x {d.seq_len:,} tokens, vocabulary "
            f"{vocab_size:,}) but the machine has {ram_bytes / 2**30:,.1f} GiB; lower "
            "model.units, model.layers, data.batch_size or data.seq_len"
        )


def _sections() -> dict[str, type]:
    return {f.name: f.default_factory for f in dataclasses.fields(Config)}  # type: ignore[misc]


def valid_keys() -> list[str]:
    """Returns every settable key as `section.key`."""
    return [
        f"{s}.{f.name}" for s, cls in _sections().items() for f in dataclasses.fields(cls)
    ]


def _field(dotted: str) -> tuple[str, dataclasses.Field]:
    section, _, key = dotted.partition(".")
    if section in _sections():
        for f in dataclasses.fields(_sections()[section]):
            if f.name == key:
                return section, f
    raise ConfigError(f"unknown config key '{dotted}'; valid keys: {', '.join(valid_keys())}")


def _coerce(dotted: str, f: dataclasses.Field, value: Any, source: str) -> Any:
    """Converts `value` (TOML value or `--set` string) to the field's type, or fails."""
    kind = {"int": int, "float": float, "bool": bool, "str": str}[f.type]  # type: ignore[index]
    bad = ConfigError(
        f"{source}: {dotted} must be {kind.__name__}, got {value!r} ({f.metadata['help']})"
    )
    if isinstance(value, str) and kind is not str:
        text = value.strip().lower()
        if kind is bool:
            if text not in ("true", "false", "1", "0", "yes", "no"):
                raise bad
            return text in ("true", "1", "yes")
        try:
            value = int(text) if kind is int else float(text)
        except ValueError:
            raise bad from None
    if kind is bool and not isinstance(value, bool):
        raise bad
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise bad
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad
        value = float(value)
        if not math.isfinite(value):
            raise ConfigError(f"{source}: {dotted} must be a finite number, got {value!r}")
    if kind is str and not isinstance(value, str):
        raise bad
    meta = f.metadata
    if meta.get("duration"):
        parse_duration(value, f"{source}: {dotted}")
    if meta.get("codec") and value != "auto":
        try:
            if not codecs.lookup(value)._is_text_encoding:  # rot13, base64, zlib, ...
                raise LookupError(value)
        except LookupError:
            raise ConfigError(
                f"{source}: {dotted} must be 'auto' or a text encoding Python knows "
                f"(e.g. 'cp1252', 'latin-1', 'big5'), got {value!r}"
            ) from None
    if "choices" in meta and value not in meta["choices"]:
        raise ConfigError(
            f"{source}: {dotted} must be one of {', '.join(map(repr, meta['choices']))}, "
            f"got {value!r}"
        )
    if "min" in meta and value < meta["min"]:
        raise ConfigError(f"{source}: {dotted} must be >= {meta['min']}, got {value!r}")
    if "max" in meta and value > meta["max"]:
        raise ConfigError(f"{source}: {dotted} must be <= {meta['max']}, got {value!r}")
    return value


def set_value(cfg: Config, dotted: str, value: Any, source: str = "--set") -> None:
    """Sets `section.key` on `cfg` after checking the key and the value's type.

    Raises:
        ConfigError: unknown key (the message lists the valid ones) or bad value.
    """
    section, f = _field(dotted)
    setattr(getattr(cfg, section), f.name, _coerce(dotted, f, value, source))


def apply_overrides(cfg: Config, overrides: list[str]) -> list[str]:
    """Applies `--set section.key=value` strings to `cfg`.

    Returns:
        The dotted keys that were set, in order.
    """
    keys = []
    for item in overrides:
        dotted, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"--set expects section.key=value, got {item!r}")
        set_value(cfg, dotted.strip(), value, source="--set")
        keys.append(dotted.strip())
    return keys
