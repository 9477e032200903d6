"""`textgen info`: a readable summary of a run directory (returned as text).

Needs no TensorFlow: the parameter counts come from the config's shapes.
"""

from __future__ import annotations

from pathlib import Path

from textgen.config import Config
from textgen.data import cache
from textgen.data.batches import validation_tails
from textgen.data.tokenizers import load_tokenizer
from textgen.errors import CheckpointError
from textgen.run.checkpoint_file import read_npz
from textgen.run.directory import RunDir, refuse_a_file, short_name
from textgen.run.installed import is_model, read_manifest
from textgen.run.records import CorpusRecord
from textgen.run.repair import load


def describe_run(path: Path, notices: list[str] | None = None) -> str:
    """Returns the layer table, vocabulary, corpus and progress of a run.

    Args:
        path: the run directory.
        notices: when given, the damage worked around while reading the run
            (`warning: ...` lines) is appended to it instead of heading the text.

    Raises:
        CheckpointError: `path` is not a textgen run directory.
    """
    refuse_a_file(path)
    run = RunDir(path)
    if not run.is_textgen_run(with_corpus=False):
        raise CheckpointError(f"{path} is not a textgen run directory (no config.json/vocab.json)")
    warnings: list[str] = []
    if run.has_checkpoint("last") or run.has_checkpoint("previous"):
        # What the checkpoint holds, and the files it was trained with; every array
        # is read, so its checksum is checked: `info` doubles as a health check.
        loaded = load(run, "last", prefixes=("",))
        cfg, tok, state = loaded.cfg, loaded.tokenizer, loaded.checkpoint.state
        warnings = loaded.notices
    else:
        cfg, tok, state = Config.load_saved(run.config), load_tokenizer(run.vocab), None
    table = cfg.model.parameter_table(tok.vocab_size)
    if notices is not None:
        notices += warnings
        warnings = []
    lines = [*warnings, f"run {run.path}", "", f"{'layer':<12} {'kind':<10} {'parameters':>14}"]
    for name, kind, n in table:
        lines.append(f"{name:<12} {kind:<10} {n:>14,}")
    lines.append(f"{'total':<23} {sum(n for _, _, n in table):>14,}")
    lines += ["", f"tokenizer    {tok.kind}, vocabulary {tok.vocab_size:,} (incl. <unk>)"]
    model = read_manifest(run.path) if is_model(run.path) else None
    if model is not None:  # ships without its corpus, and trains no further
        lines.append(f"model        {model.name}, packaged by textgen {model.textgen_version}; "
                     f"`textgen models {model.name}` prints its card")
        lines.append(f"trained on   {model.summary.get('trained_on', 'not recorded')}")
    else:
        lines += _corpus_lines(run, cfg)
    if state is None:
        lines.append("progress     no checkpoint yet")
    elif model is not None:
        lines.append(f"progress     step {state.step:,}, {state.tokens_seen:,} tokens seen, "
                     f"{_duration(state.elapsed_s)} of training (the last leg)")
    else:
        lines.append(
            f"progress     epoch {state.epoch}/{cfg.train.epochs} done, step {state.step:,}, "
            f"{state.tokens_seen:,} tokens seen, {_duration(state.elapsed_s)} of training"
        )
    steps = _checkpoint_steps(run)
    if state is not None:
        # Runs from before the steps were kept: best.npz was saved at its validation.
        best_step = state.best_val_step if state.best_val_step is not None else (
            steps.get("best") if state.best_val_loss is not None else None)
        lines.append(
            f"validation   best {_val(state.best_val_loss, state.best_val_bpc, best_step)}; "
            f"last {_val(state.last_val_loss, state.last_val_bpc, state.last_val_step)}")
    shown = [f"{name} (damaged)" if step is None else
             name if name.startswith("step-") else f"{name} (step {step:,})"
             for name, step in steps.items()]
    lines.append(f"checkpoints  {', '.join(shown) or 'none'}")
    lines += [f"{'lineage' if i == 0 else '':<12} {line}"
              for i, line in enumerate(describe_lineage(run))]
    return "\n".join(lines)


def _corpus_lines(run: RunDir, cfg: Config) -> list[str]:
    """The corpus's size and files, from corpus.json (or what is wrong with it), and
    where the validation text comes from."""
    try:
        corpus: CorpusRecord | None = run.read_corpus()
    except CheckpointError as e:
        return [f"corpus       ({e})"]
    if corpus is None:
        return ["corpus       (corpus.json missing)"]
    return [
        f"corpus       {corpus.n_chars:,} characters, {corpus.n_tokens:,} tokens, "
        f"coverage {corpus.coverage:.2%}, {len(corpus.files)} file(s)",
        *(f"             {f.path} ({_encoding_name(f.encoding)})" for f in corpus.files),
        f"val split    {_split_text(corpus, cfg)}",
    ]


def _split_text(corpus: CorpusRecord, cfg: Config) -> str:
    """Which files the validation text comes from, and how much, by `data.val_split`.

    The tokens of each file are in the encoded-corpus cache entry's facts.
    """
    d = cfg.data
    if d.val_frac == 0:
        return "none (data.val_frac = 0)"
    share = f"{d.val_frac:.0%}" if d.val_frac >= 0.01 else f"{d.val_frac:.2%}"
    whose = "each file" if d.val_split == "each-file" else "the corpus as a whole"
    rule = f"the last {share} of {whose} (data.val_split = {d.val_split})"
    meta = cache.read_meta(cache.entry_stem(None, corpus.cache_key))
    sizes = meta.get("file_tokens") if meta else None
    if not sizes or len(sizes) != len(corpus.files):
        return f"{rule}; sizes unknown: the encoded-corpus cache entry is gone"
    tails = validation_tails(sizes, d.val_frac, d.val_split, d.seq_len)
    given = [(f.path.name, t) for f, t in zip(corpus.files, tails, strict=True) if t]
    if not given:
        return f"{rule}: none, the corpus is too short"
    shown = ", ".join(f"{name} {t:,}" for name, t in given[:3])
    more = f" and {len(given) - 3:,} more" if len(given) > 3 else ""
    text = f"{rule}: {sum(tails):,} tokens, from {shown}{more}"
    if d.val_split == "each-file" and len(given) < len(tails):
        text += (f"; {len(tails) - len(given):,} file(s) whose {share} is under "
                 f"data.seq_len = {d.seq_len:,} tokens train whole")
    return text


def _encoding_name(codec: str) -> str:
    """The recorded codec as users know it ("utf-8-sig" reads UTF-8 with or without a BOM)."""
    return "utf-8" if codec == "utf-8-sig" else codec


def _checkpoint_steps(run: RunDir) -> dict[str, int | None]:
    """The step of each checkpoint the run has (None: unreadable), by the name commands
    take: last, previous, best, then the step checkpoints oldest first."""
    names = ["last", "previous", "best"] + [short_name(p.stem) for p in run.step_checkpoints()]
    steps: dict[str, int | None] = {}
    for name in names:
        if run.has_checkpoint(name):
            try:  # no arrays: only the progress the file holds
                steps[name] = read_npz(run.checkpoint(name), prefixes=()).state.step
            except CheckpointError:
                if run.has_checkpoint(name):  # not a step checkpoint rotated away meanwhile
                    steps[name] = None
    return steps


def _val(loss: float | None, bpc: float | None, step: int | None = None) -> str:
    if loss is None:
        return "-"
    return (f"{loss:.4f} nats/token" + ("" if bpc is None else f", {bpc:.4f} bits/char")
            + ("" if step is None else f" at step {step:,}"))


def _duration(seconds: float) -> str:
    minutes, s = divmod(round(seconds), 60)
    hours, m = divmod(minutes, 60)
    return f"{hours}h {m:02d}m" if hours else f"{m}m {s:02d}s"


def describe_lineage(run: RunDir) -> list[str]:
    """Lines for `textgen info`: the chain of bases, nearest first ([] if not fine-tuned)."""
    try:
        lineage = run.read_lineage()
    except CheckpointError as e:
        return [f"({e})"]
    lines = []
    for i, e in enumerate(lineage.chain if lineage else []):
        added = f", +{e.tokens_added:,} tokens" if e.vocab == "extend" else ""
        base = Path(e.run)
        where = f"model {base.name} ({e.run})" if is_model(base) else e.run
        lines.append(
            f"{'fine-tuned from' if i == 0 else '  which came from'} {where} "
            f"({e.checkpoint} checkpoint, step {e.step:,}, sha256 "
            f"{e.sha256[:12]}; vocabulary {e.vocab}{added})"
        )
    return lines
