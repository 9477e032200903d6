"""The models a server offers: run directories loaded once, named by their directory's name."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textgen.errors import CheckpointError, TextgenError
from textgen.generate.generator import Generator
from textgen.generate.poetry.spec import PoemSpec
from textgen.run.directory import RunDir


@dataclass
class Model:
    """One served model.

    Attributes:
        name: what requests call it (the run directory's name).
        generator: the loaded weights and tokenizer (NumPy; shared by requests,
            each of which has its own recurrent state).
        facts: what `GET /api/models` shows about it.
        notices: damage worked around while loading (for the server's console only:
            they name files).
    """

    name: str
    generator: Generator
    facts: dict[str, Any]
    notices: list[str]


def load_models(run_dirs: list[Path], checkpoint: str | None = None) -> dict[str, Model]:
    """Loads each run for generation.

    Args:
        run_dirs: run directories; each is named by its last path component.
        checkpoint: "best", "last" or "step-N"; None: best where a run has one, else
            last (`RunDir.pick_checkpoint`).

    Returns:
        The models by name, in the order given.

    Raises:
        TextgenError: two runs with the same name, or a run that cannot be loaded
            (no such run, no checkpoint, damage with no fallback).
    """
    models: dict[str, Model] = {}
    for path in run_dirs:
        name = path.name or path.resolve().name
        if name in models:
            raise TextgenError(
                f"two runs are named {name!r}; models are named by their directory, so "
                f"rename or link one (e.g. ln -s {path.resolve()} {name}-2, then serve "
                f"{name}-2)")
        picked = RunDir(path).pick_checkpoint(checkpoint)
        gen = Generator(path, picked)
        gen.encode_prime("warm up 热身", drop_unknown=True)  # loads jieba now, not per request
        notices = list(gen.notices)
        if gen.step == 0:
            notices.append(f"{path} has had no training step yet (its '{gen.checkpoint}' "
                           "checkpoint is at step 0): its text is random noise; train it first "
                           f"(textgen train --resume {path})")
        models[name] = Model(name, gen, describe(name, gen, notices), notices)
    return models


def describe(name: str, gen: Generator, notices: list[str] | None = None) -> dict[str, Any]:
    """The facts about a loaded model that clients see (no filesystem paths).

    Args:
        name: the model's name.
        gen: the loaded model.
        notices: a damaged lineage.json is told here (the lineage is left out).
    """
    notices = [] if notices is None else notices
    shape = gen.cfg.model
    run = RunDir(gen.run_path)
    best = _best_bpc(gen)
    return {
        "name": name,
        "tokenizer": gen.tokenizer.kind,
        "vocab_size": gen.tokenizer.vocab_size,
        "cell": shape.cell,
        "layers": shape.layers,
        "units": shape.units,
        "embedding_dim": shape.embedding_dim,
        "checkpoint": gen.checkpoint,
        "step": gen.step,
        "best_val_bits_per_char": best,
        "lineage": _lineage(run, notices),
        "poetry": _writes_poems(gen),
    }


def _writes_poems(gen: Generator) -> bool:
    """Whether the model can write classical poems (`form`, `acrostic`): a character
    model that knows Han characters and the lines' punctuation."""
    try:
        gen.poem(PoemSpec(form="五绝", rhyme="none", tones="none"))
    except TextgenError:
        return False
    return True


def _best_bpc(gen: Generator) -> float | None:
    """The run's best validation bits per character as of the served checkpoint (its own
    copy of the progress, so a damaged state.json loses nothing), None before any."""
    best = gen.state.best_val_bpc
    return None if best is None else round(best, 4)


def _lineage(run: RunDir, notices: list[str]) -> list[dict[str, Any]]:
    """A fine-tuned run's bases, nearest first: name, checkpoint and step ([] if none)."""
    try:
        lineage = run.read_lineage()
    except CheckpointError as e:
        notices.append(f"warning: {e}; serving {run.path.name} without its lineage")
        return []
    return [{"base": Path(e.run).name, "checkpoint": e.checkpoint, "step": e.step}
            for e in (lineage.chain if lineage else [])]
