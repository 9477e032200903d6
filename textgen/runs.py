"""Opening a run: a new one from a corpus, or an existing one to resume.

`new_run` checks the corpus, encodes it (or reuses the cache) and writes the
run directory's config, vocabulary and corpus record. `open_run` reads them
back for `--resume`, re-encoding from the recorded files only when the cache
is gone, and refuses when anything that shapes the model or data changed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from textgen.checkpoints import RunDir
from textgen.config import Config, apply_overrides
from textgen.corpus import scan_corpus
from textgen.data import EncodedCorpus, cache_key, encode_corpus, load_cached
from textgen.errors import CheckpointError, IncompatibleCheckpoint, TextgenError
from textgen.fileio import atomic_write_text
from textgen.tokenizers import load_tokenizer

# Keys that may change on --resume without making the run a different experiment.
RESUME_KEYS = ("train.epochs", "train.max_steps", "train.save_every", "train.log_every")

Progress = Callable[[int], None]


def new_run(
    cfg: Config,
    corpus_paths: list[Path],
    out: Path,
    cache_dir: Path | None = None,
    progress: Progress | None = None,
) -> tuple[RunDir, EncodedCorpus, list[str]]:
    """Creates run directory `out` for training `cfg` on `corpus_paths`.

    Returns:
        The run directory, the encoded corpus, and notices for the user (files
        that were decoded as GB18030 rather than UTF-8).

    Raises:
        TextgenError: `out` already holds a run, or the corpus is unusable.
    """
    run = RunDir(out)
    if run.has_checkpoint("last") or run.config.exists():
        raise TextgenError(
            f"{out} already holds a run; continue it with `textgen train --resume {out}` "
            "or pick another --out"
        )
    corpus = scan_corpus(corpus_paths, cfg.data.normalize)
    enc = encode_corpus(corpus, cfg.data, cache_dir, progress)
    run.path.mkdir(parents=True, exist_ok=True)
    cfg.save(run.config)
    enc.tokenizer.save(run.vocab)
    record = {
        "files": [
            {"path": str(f.path.resolve()), "sha256": f.sha256, "bytes": f.n_bytes,
             "encoding": f.encoding}
            for f in corpus.files
        ],
        "cache_key": cache_key(corpus, cfg.data),
        **enc.meta(),
        "vocab_size": enc.tokenizer.vocab_size,
    }
    atomic_write_text(run.corpus, json.dumps(record, indent=2, ensure_ascii=False) + "\n")
    notices = [
        f"note: {f.path} is not UTF-8; decoded it as GB18030" for f in corpus.fallback_files
    ]
    return run, enc, notices


def open_run(
    path: Path,
    overrides: list[str] | None = None,
    cache_dir: Path | None = None,
    progress: Progress | None = None,
) -> tuple[Config, RunDir, EncodedCorpus]:
    """Opens an existing run for `--resume`.

    Args:
        path: the run directory.
        overrides: `--set` strings; only `RESUME_KEYS` may change.
        cache_dir: the encoded-corpus cache.
        progress: re-encoding progress, when the cache must be rebuilt.

    Raises:
        CheckpointError: not a run directory, or no 'last' checkpoint.
        IncompatibleCheckpoint: an override changes the model or data, or the
            corpus files changed since the run started.
    """
    run = RunDir(path)
    run.require("last")
    cfg = Config.load(run.config)
    before = cfg.to_dict()
    changed = apply_overrides(cfg, overrides or [])
    after = cfg.to_dict()
    for key in changed:
        section, name = key.split(".")
        if key not in RESUME_KEYS and before[section][name] != after[section][name]:
            raise IncompatibleCheckpoint(
                f"--resume cannot change {key} (the run was trained with "
                f"{before[section][name]!r}); only {', '.join(RESUME_KEYS)} may change. "
                "Start a new run with --out to try other settings"
            )
    return cfg, run, _reload_corpus(run, cfg, cache_dir, progress)


def _reload_corpus(run: RunDir, cfg: Config, cache_dir, progress) -> EncodedCorpus:
    try:
        record = json.loads(run.corpus.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise CheckpointError(f"{run.corpus} is missing or damaged; cannot resume") from e
    paths = [Path(f["path"]) for f in record["files"]]
    try:
        corpus = scan_corpus(paths, cfg.data.normalize)
    except TextgenError as e:
        # The files are gone or changed; the encoded cache is enough to resume.
        enc = load_cached(record["cache_key"], cache_dir)
        if enc is None:
            raise IncompatibleCheckpoint(f"cannot re-read the run's corpus: {e}") from e
        return enc
    if cache_key(corpus, cfg.data) != record["cache_key"]:
        raise IncompatibleCheckpoint(
            f"the corpus files of {run.path} changed since training started "
            f"({', '.join(map(str, paths))}); restore them or start a new run"
        )
    enc = encode_corpus(corpus, cfg.data, cache_dir, progress)
    if enc.tokenizer.tokens != load_tokenizer(run.vocab).tokens:
        raise IncompatibleCheckpoint(
            f"{run.vocab} does not match the vocabulary of the corpus; restore it"
        )
    return enc
