"""Opening a run: a new one from a corpus, or an existing one to resume.

`new_run` checks the corpus, encodes it (or reuses the cache) and writes the
run directory's config, vocabulary and corpus record. `open_run` reads them
back for `--resume`, re-encoding from the recorded files only when the cache
is gone, and refuses when anything that shapes the model or data changed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textgen.config import (
    Config,
    apply_overrides,
    check_combinations,
    check_fits_in_memory,
    read_config_file,
)
from textgen.data.batches import StatefulBatches
from textgen.data.cache import cache_key
from textgen.data.corpus import Corpus, scan_corpus, scan_recorded
from textgen.data.encode import (
    EncodedCorpus,
    EncodeOptions,
    count_tokens,
    encode_corpus,
    load_cached,
)
from textgen.data.tokenizers import UNK_ID, Tokenizer, load_tokenizer
from textgen.errors import (
    CheckpointError,
    CorpusChanged,
    IncompatibleCheckpoint,
    TextgenError,
)
from textgen.model.precision import resolve_precision
from textgen.run.directory import RunDir
from textgen.run.installed import refuse_a_model
from textgen.run.records import (
    CorpusFile,
    CorpusRecord,
    Lineage,
    write_corpus,
    write_lineage,
)
from textgen.run.repair import repair

# Keys that may change on --resume: how long to train, how often to save and log,
# and the step size (to recover from a diverging loss). The rest shapes the model
# or the data, and changing it makes a different experiment.
RESUME_KEYS = (
    "train.epochs", "train.max_steps", "train.save_every", "train.log_every",
    "train.lr", "train.clip_norm", "train.precision", "train.eval_every", "train.schedule",
    "train.lr_decay", "train.decay_after", "train.warmup_steps", "train.patience", "train.keep",
    "train.max_time", "train.sample_every", "train.sample_length", "train.tensorboard",
)


def new_run(
    cfg: Config,
    corpus_paths: list[Path],
    out: Path,
    encode_options: EncodeOptions | None = None,
    vocabulary: Callable[[Counter[str]], Tokenizer] | None = None,
    lineage: Callable[[], Lineage] | None = None,
    settings: dict[str, Any] | None = None,
    pattern: str = "*.txt",
    adjust: Callable[[Config, int], None] | None = None,
) -> tuple[RunDir, EncodedCorpus, list[str]]:
    """Creates run directory `out` for training `cfg` on `corpus_paths`.

    Args:
        cfg: the resolved config.
        corpus_paths: corpus files and directories.
        out: the run directory to create.
        encode_options: the encoded-corpus cache, encoding progress and worker
            processes (see `EncodeOptions`).
        vocabulary: fine-tuning: makes the run's vocabulary from the corpus's token
            counts (instead of building one with `data.max_vocab`/`data.min_freq`).
        lineage: fine-tuning: returns where the run comes from (called once the
            vocabulary is made), saved as `lineage.json`.
        settings: tokenizer settings to use (fine-tuning: the base's, its jieba user
            dictionary's text included); read from `cfg.data` if None.
        pattern: which files of a corpus directory to read (a glob).
        adjust: called with `cfg` and the training batches per epoch once the
            corpus is encoded, before the config is saved (fine-tuning sets its
            epochs by the corpus's size).

    Returns:
        The run directory, the encoded corpus, and notices for the user (files
        that were decoded as GB18030 rather than UTF-8).

    Raises:
        TextgenError: `out` already holds a run, or the corpus is unusable.
    """
    refuse_a_model(out)
    run = RunDir(out)
    if run.has_checkpoint("last"):
        raise TextgenError(
            f"{out} already holds a run; continue it with `textgen train --resume {out}` "
            "or pick another --out"
        )
    if run.path.exists() and not run.path.is_dir():
        raise TextgenError(f"--out {out} is a file; give a directory path")
    # Only an empty directory, or textgen's own files from a start that died
    # before its first checkpoint, may be written into: never a user's folder.
    if run.path.is_dir():
        names = {p.name for p in run.path.iterdir()} - {".lock"}
        ours = {"config.json", "vocab.json", "corpus.json", "lineage.json", "checkpoints",
                "tensorboard"}
        if names and not (names <= ours and run.is_textgen_run()):
            raise TextgenError(
                f"--out {out} exists and holds other files; pick a new directory"
            )
    check_combinations(cfg)
    # "auto" is decided once, here, and recorded: a resume keeps the run's numerics.
    cfg.train.precision = resolve_precision(cfg.train.precision)
    corpus = scan_corpus(corpus_paths, cfg.data.normalize, cfg.data.encoding, pattern)
    tok = None
    if vocabulary is not None:
        counts = count_tokens(corpus, cfg.data, encode_options, settings=settings)
        tok = vocabulary(counts)
        enc = encode_corpus(corpus, cfg.data, encode_options, settings=settings,
                            vocabulary=tok, counts=counts)
    else:
        enc = encode_corpus(corpus, cfg.data, encode_options, settings=settings)
    check_fits_in_memory(cfg, enc.tokenizer.vocab_size)
    # Fail on a corpus too small for one batch *before* writing the run directory.
    batches = StatefulBatches(enc.split(cfg.data).train, cfg.data.batch_size, cfg.data.seq_len)
    if adjust is not None:
        adjust(cfg, len(batches))
    record = corpus_record(corpus, cfg, enc, given=tok is not None)
    try:
        run.path.mkdir(parents=True, exist_ok=True)
        cfg.save(run.config)
        enc.tokenizer.save(run.vocab)
        write_corpus(run.corpus, record)
        if lineage is not None:
            write_lineage(run.lineage, lineage())
        else:
            run.lineage.unlink(missing_ok=True)  # left by a fine-tune that died starting
    except OSError as e:
        raise TextgenError(
            f"cannot write the run directory {out} ({e.strerror or e}); pick a writable --out"
        ) from e
    notices = [
        f"note: {f.path} is not UTF-8; decoded it as {f.encoding.upper()}"
        for f in corpus.fallback_files
    ]
    if corpus.skipped:
        shown = "; ".join(f"{q} ({why})" for q, why in corpus.skipped[:10])
        more = f"; and {len(corpus.skipped) - 10:,} more" if len(corpus.skipped) > 10 else ""
        notices.append(
            f"note: read {len(corpus.files):,} corpus file(s); skipped {len(corpus.skipped):,}: "
            f"{shown}{more}. Use --glob to choose a directory's files"
        )
    return run, enc, notices


def corpus_record(corpus: Corpus, cfg: Config, enc: EncodedCorpus, given: bool
                  ) -> CorpusRecord:
    """What `corpus.json` holds: each file's path, checksum and encoding, and the
    cache key of their encoding (so a resume can tell that they changed).

    Args:
        given: the vocabulary came with the run (fine-tuning, or a corpus changed
            under --allow-changed-corpus), not from the corpus.
    """
    meta = enc.meta()
    return CorpusRecord(
        files=[CorpusFile(f.path.resolve(), f.sha256, f.n_bytes, f.encoding)
               for f in corpus.files],
        cache_key=cache_key(corpus, cfg.data, enc.tokenizer.settings,
                            enc.tokenizer.tokens if given else None),
        n_tokens=meta["n_tokens"], n_chars=meta["n_chars"], coverage=meta["coverage"],
        unk_chars=meta["unk_chars"], unk_nats=meta["unk_nats"],
        vocab_size=enc.tokenizer.vocab_size, vocabulary="given" if given else "built",
        version=meta["version"],
    )


def open_run(
    path: Path,
    overrides: list[str] | None = None,
    encode_options: EncodeOptions | None = None,
    notify: Callable[[str], None] | None = None,
    allow_changed_corpus: bool = False,
) -> tuple[Config, RunDir, EncodedCorpus]:
    """Opens an existing run for `--resume`, first repairing what is damaged.

    Args:
        path: the run directory.
        overrides: `--set` strings; only `RESUME_KEYS` may change.
        encode_options: the encoded-corpus cache, and the progress and worker
            processes of a re-encoding, when the cache must be rebuilt.
        notify: called with each notice (what `repair` put back, a corpus
            read from the cache or adopted as changed).
        allow_changed_corpus: when the corpus files changed (or some vanished),
            train on them as they are now, with the run's vocabulary (see
            `reload_corpus`), instead of refusing.

    Raises:
        CheckpointError: not a run directory, or no 'last' checkpoint.
        TextgenError: a packaged model (`textgen.run.installed`), which is only read.
        IncompatibleCheckpoint: an override changes the model or data, or the
            corpus files changed since the run started.
    """
    refuse_a_model(path)
    run = RunDir(path)
    run.require("last")
    run.remove_stale_temp_files()
    for notice in repair(run):
        if notify is not None:
            notify(notice)
    cfg = Config.load_saved(run.config)
    if "precision" not in read_config_file(run.config).get("train", {}):
        cfg.train.precision = "float32"  # a run from before train.precision trained so
    before = cfg.to_dict()
    changed = apply_overrides(cfg, overrides or [])
    cfg.train.precision = resolve_precision(cfg.train.precision)
    after = cfg.to_dict()
    for key in changed:
        section, name = key.split(".")
        if key not in RESUME_KEYS and before[section][name] != after[section][name]:
            raise IncompatibleCheckpoint(
                f"--resume cannot change {key} (the run was trained with "
                f"{before[section][name]!r}); only {', '.join(RESUME_KEYS)} may change. "
                "Start a new run with --out to try other settings"
            )
    check_fits_in_memory(cfg, load_tokenizer(run.vocab).vocab_size)  # a crafted run's sizes
    if "train.max_steps" not in changed:
        # A step limit ends one session; a plain --resume trains on to train.epochs.
        cfg.train.max_steps = 0
    if "train.max_time" not in changed:
        cfg.train.max_time = ""  # so does a time budget
    enc = reload_corpus(run, cfg, encode_options, notify=notify,
                        allow_changed=allow_changed_corpus)
    cfg.save(run.config)  # so `textgen info` shows the epochs now aimed for
    return cfg, run, enc


def reload_corpus(
    run: RunDir,
    cfg: Config,
    encode_options: EncodeOptions | None = None,
    tokenizer: Tokenizer | None = None,
    notify: Callable[[str], None] | None = None,
    allow_changed: bool = False,
) -> EncodedCorpus:
    """The run's encoded corpus: re-read from its recorded files, or from the
    cache when the files are gone (the cache holds them exactly as they were).

    Args:
        encode_options: the encoded-corpus cache, and how to re-encode.
        tokenizer: the run's (`textgen.run.repair.load`); None reads vocab.json
            (as `open_run` has repaired it).
        notify: told when the cache stands in for vanished files, or a changed
            corpus is adopted.
        allow_changed: files that changed (or vanished, with no cache) are read
            as they are now and encoded with the run's vocabulary (characters it
            lacks become <unk>); corpus.json then records them, and training
            goes on from the same step, its place in the epoch kept if the new
            corpus is long enough.

    Raises:
        CheckpointError: corpus.json is missing or damaged.
        IncompatibleCheckpoint: the files changed since training started, or are
            gone and the cache no longer holds their encoding (and not
            `allow_changed`, or none of them is left).
    """
    record = run.read_corpus()
    if record is None:
        raise CheckpointError(f"{run.corpus} is missing; restore it from a backup, or "
                              "train a new run")
    paths = [f.path for f in record.files]
    record_key = record.cache_key
    # The tokenizer settings (a jieba user dictionary's text included) come from
    # the run's own vocab.json, so the dictionary file itself is no longer needed.
    saved = tokenizer or load_tokenizer(run.vocab)
    settings = saved.settings
    try:
        # Each file as it was read then (its encoding recorded), whatever the rules now.
        corpus = scan_recorded([(f.path, f.encoding) for f in record.files],
                               cfg.data.normalize)
    except TextgenError as e:
        # The files are gone or changed; the encoded cache is enough to resume.
        enc = load_cached(record_key, (encode_options or EncodeOptions()).cache_dir)
        if enc is not None:
            if notify is not None:
                notify(f"note: cannot re-read the run's corpus ({e}); using its encoding "
                       "from the cache, which holds the files as they were")
            return enc
        if not allow_changed:
            raise CorpusChanged(
                f"cannot re-read the run's corpus: {e}. Restore the files, or pass "
                "--allow-changed-corpus to train on them as they are now") from e
        return _adopt_changed(run, cfg, paths, saved, encode_options, notify)
    # A fine-tuned run's vocabulary was given (the base's, maybe grown), not built.
    given = saved if record.given_vocabulary else None
    fixed = None if given is None else given.tokens
    if cache_key(corpus, cfg.data, settings, fixed) != record_key:
        if allow_changed:
            return _adopt_changed(run, cfg, paths, saved, encode_options, notify)
        raise CorpusChanged(
            f"the corpus files of {run.path} changed since training started "
            f"({', '.join(map(str, paths))}); restore them, start a new run, or pass "
            "--allow-changed-corpus to train on them as they are now"
        )
    enc = encode_corpus(corpus, cfg.data, encode_options, settings=settings, vocabulary=given)
    if enc.tokenizer.tokens != saved.tokens:
        raise IncompatibleCheckpoint(
            f"{run.vocab} does not match the vocabulary of the corpus; restore it"
        )
    return enc


def _adopt_changed(run: RunDir, cfg: Config, paths: list[Path], vocab: Tokenizer,
                   encode_options: EncodeOptions | None,
                   notify: Callable[[str], None] | None) -> EncodedCorpus:
    """Encodes the run's files as they are now with its vocabulary, and records them."""
    present = [p for p in paths if p.is_file()]
    if not present:
        raise IncompatibleCheckpoint(
            f"none of the run's corpus files exist any more ({', '.join(map(str, paths))}); "
            "restore them to resume")
    corpus = scan_corpus(present, cfg.data.normalize, cfg.data.encoding)
    enc = encode_corpus(corpus, cfg.data, encode_options, settings=vocab.settings,
                        vocabulary=vocab)
    StatefulBatches(enc.split(cfg.data).train, cfg.data.batch_size,
                    cfg.data.seq_len)  # too small now: one clear error, nothing written
    write_corpus(run.corpus, corpus_record(corpus, cfg, enc, given=True))
    if notify is not None:
        gone = [str(p) for p in paths if p not in present]
        unknown = int((enc.ids == UNK_ID).sum())
        notify(f"note: the corpus changed since the run began; training on it as it is now "
               f"({enc.ids.size:,} tokens, {unknown:,} of them <unk>: tokens the run's "
               "vocabulary lacks)" + (f"; gone: {', '.join(gone)}" if gone else ""))
    return enc
