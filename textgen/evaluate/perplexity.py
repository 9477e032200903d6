"""How well a trained run predicts text: loss, perplexity and bits per character.

`evaluate` streams a text through the model the way training validates: the
token ids are laid out in B rows (the run's batch size) walked in T-token
chunks with the state carried from chunk to chunk and zero at the start
(`textgen.data.batches.validation_batches`). On the run's own validation split this is
exactly the computation of the training loop's validation, so the two figures
agree. It runs on the NumPy runtime: TensorFlow is not imported.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from textgen.config import Config
from textgen.data.batches import validation_batches
from textgen.data.corpus import scan_corpus
from textgen.data.encode import EncodedCorpus, EncodeOptions, encode_corpus
from textgen.data.tokenizers import Tokenizer
from textgen.errors import (
    CheckpointError,
    CorpusChanged,
    TextgenError,
)
from textgen.model import metrics
from textgen.model.numpy_lm import RecurrentLM
from textgen.run.directory import RunDir, short_name
from textgen.run.installed import is_model, resolve
from textgen.run.opening import reload_corpus
from textgen.run.repair import load

TEXT_ROW_CHUNKS = 8  # a given text is cut into rows of at least this many seq_len chunks


@dataclass
class Evaluation:
    """The result of `evaluate`."""

    run: str
    checkpoint: str  # "best", "last", "step-N", or the fallback that stood in for it
    step: int  # the checkpoint's training step
    text: str  # "validation split", or the files evaluated
    tokens: int  # target tokens scored
    skipped: int  # targets left out: the ragged end that fills no whole chunk of every row
    characters: float  # characters those targets cover
    unknown: int  # targets that were <unk> (scored like any token)
    nats: float  # total negative log-likelihood
    spelling_nats: float  # what spelling out the <unk> targets' characters adds (bits/char)
    notices: list[str] = field(default_factory=list)  # damage worked around (run.repair.load)

    @property
    def loss(self) -> float:
        """Mean nats per token."""
        return self.nats / self.tokens

    @property
    def perplexity(self) -> float:
        """exp(loss): the model is as unsure as a uniform choice among this many tokens."""
        return metrics.perplexity(self.loss)

    @property
    def bits_per_char(self) -> float:
        """Bits per character: comparable between character and word models.

        The characters behind `<unk>` targets are paid for (`spelling_nats`), so a
        model does not look better for leaving words out of its vocabulary.
        """
        return metrics.bits_per_char(self.nats, self.characters, self.spelling_nats)

    @property
    def spelling_bits_per_char(self) -> float:
        """The part of `bits_per_char` that pays for the `<unk>` targets' characters."""
        return metrics.bits_per_char(self.spelling_nats, self.characters)

    def to_dict(self) -> dict[str, Any]:
        """All fields and derived figures, JSON-ready."""
        return asdict(self) | {"loss": self.loss, "perplexity": self.perplexity,
                               "bits_per_char": self.bits_per_char,
                               "spelling_bits_per_char": self.spelling_bits_per_char}


def evaluate(
    run_path: str | Path,
    texts: list[Path] | None = None,
    checkpoint: str | None = None,
    encode_options: EncodeOptions | None = None,
    encoding: str | None = None,
    pattern: str = "*.txt",
) -> Evaluation:
    """Scores a run's checkpoint on its validation split or on given texts.

    Args:
        run_path: the run directory, or an installed model's name.
        texts: files or directories to score; None scores the run's validation split.
        checkpoint: "best", "last" or "step-N"; None: best when the run has one, else
            last (`RunDir.pick_checkpoint`).
        encode_options: the encoded-corpus cache (see `EncodeOptions`).
        encoding: the texts' encoding ("auto" detects UTF-8/GB18030); None uses
            the run's `data.encoding`.
        pattern: which files of a directory in `texts` to read.

    Raises:
        CheckpointError: no such run or checkpoint.
        TextgenError: no validation split, or a text too short to score.
    """
    run = RunDir(resolve(run_path))
    checkpoint = run.pick_checkpoint(checkpoint)
    loaded = load(run, checkpoint)
    cfg, tok, ckpt = loaded.cfg, loaded.tokenizer, loaded.checkpoint
    notices = list(loaded.notices)
    net = RecurrentLM.from_weights(ckpt.weights(), cfg.model, tok.vocab_size, str(ckpt.path))
    B, T = cfg.data.batch_size, cfg.data.seq_len
    if texts:
        corpus = scan_corpus(texts, cfg.data.normalize, encoding or cfg.data.encoding, pattern)
        enc = encode_corpus(corpus, cfg.data, encode_options, settings=tok.settings,
                            vocabulary=tok)
        ids, label = enc.ids, ", ".join(str(p) for p in texts)
        if ids.size < 2:
            raise TextgenError(f"{label}: too short to evaluate (fewer than 2 tokens)")
        # Every row starts from a zero state and drops its ragged end, so a short text
        # gets few rows: each at least TEXT_ROW_CHUNKS chunks long (one row if short).
        B = max(1, min(B, (ids.size - 1) // (TEXT_ROW_CHUNKS * T)))
        # The text's own <unk> spelling code is fitted to it; never charge less than
        # the training corpus's (one repeated unknown word would otherwise be free).
        try:
            floor = _recorded_unk_nats(run)
        except CheckpointError as e:  # the text can still be scored, with its own rate
            floor = 0.0
            notices.append(f"warning: {e}; each <unk> is charged the text's own rate only")
        enc.unk_nats = max(enc.unk_nats, floor)
    elif is_model(run.path):
        raise TextgenError(
            f"{run.path} is an installed model: it comes without its training corpus, so "
            f"there is no validation split to score (its card, `textgen models "
            f"{run.path.name}`, gives its figures); give a text: textgen eval "
            f"{run.path.name} FILE")
    else:
        enc = _reload_for_validation(run, cfg, encode_options, tok)
        ids = enc.split(cfg.data).val  # as training split it (data.val_split)
        label = "validation split"
    batches = validation_batches(ids, B, T)
    if batches is None:
        raise TextgenError(
            f"{run.path} has no validation split (data.val_frac={cfg.data.val_frac}, or the "
            "tail is shorter than a batch); give a text to evaluate: "
            f"textgen eval {run.path} FILE"
        )
    scored = metrics.ScoredText.of(batches, enc)
    return Evaluation(
        run=str(run.path), checkpoint=short_name(ckpt.path.stem), step=ckpt.state.step, text=label,
        tokens=batches.n_tokens(), skipped=ids.size - 1 - batches.n_tokens(),
        characters=scored.characters, unknown=scored.unknown, nats=_score(net, batches),
        spelling_nats=scored.spelling_nats, notices=notices,
    )


def _reload_for_validation(run: RunDir, cfg: Config, encode_options: EncodeOptions | None,
                           tok: Tokenizer) -> EncodedCorpus:
    """The run's encoded corpus, whose tail is the validation split (`reload_corpus`).

    Raises:
        CorpusChanged: the corpus files are gone (and not in the cache) or changed:
            said with what `eval` can do (score a text), not with `train --resume`'s
            --allow-changed-corpus, which eval does not take.
    """
    try:
        return reload_corpus(run, cfg, encode_options, tokenizer=tok)
    except CorpusChanged as e:
        if isinstance(e.__cause__, TextgenError):
            why = (f"cannot re-read the run's corpus ({e.__cause__}) and the encoded "
                   "cache no longer holds it")
        else:
            why = "the run's corpus files changed since training started"
        raise CorpusChanged(
            f"{run.path}: no validation split to score: {why}. Restore the corpus files, "
            f"or score a text instead: textgen eval {run.path} FILE") from None


def _recorded_unk_nats(run: RunDir) -> float:
    """The training corpus's nats per <unk> (corpus.json), 0 when not recorded.

    Raises:
        CheckpointError: corpus.json is damaged.
    """
    record = run.read_corpus()
    return record.unk_nats if record is not None else 0.0


def _score(net: RecurrentLM, batches) -> float:
    """Total nats over all batches, the state carried across them from zero."""
    state = net.zero_state(batches.batch_size)
    total = 0.0
    for k in range(len(batches)):
        nats, state = net.score(*batches[k], state)
        total += nats
    return total
