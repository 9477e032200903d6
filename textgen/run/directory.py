"""The run directory: its paths, which checkpoint to use, and its lock.

    RUN_DIR/
      config.json          resolved configuration (all keys, defaults filled in)
      vocab.json           the tokenizer: kind, settings and tokens (UTF-8, readable)
      corpus.json          the corpus files, their checksums and the encoded-cache key
      checkpoints/last.npz newest training state: weights, optimizer, RNN state, progress
      checkpoints/best.npz the weights with the lowest validation loss so far
      checkpoints/previous.npz  the 'last' before the newest save: the fallback
                           when last.npz is damaged
      checkpoints/step-NNNNNNNNN.npz  `train.keep`: the newest step checkpoints
      state.json           readable copy of the progress stored in last.npz
      metrics.csv          one row per logging step and per epoch
      lineage.json         fine-tuned runs only: the base run, checkpoint hash, vocabulary

Where the rest lives: reading a checkpoint file and its fallback,
`textgen.run.checkpoint_file`; the typed records (corpus.json, lineage.json,
state.json), `textgen.run.records`; the lock, `textgen.run.lock`; config.json
and vocab.json with their copies inside the checkpoint, loading a run and
repairing it, `textgen.run.repair`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from textgen.errors import CheckpointError, InvalidArgument
from textgen.run import checkpoint_file, records
from textgen.run.checkpoint_file import Checkpoint
from textgen.run.lock import run_lock
from textgen.run.records import CorpusRecord, Lineage, TrainState

# What every command and `textgen.load` use when no checkpoint is named, said once
# for `--help`: the best weights when a validation has chosen them, else the newest
# (a run stopped before its first validation still samples).
DEFAULT_CHECKPOINT = "best if the run has one, else last"
CHOICES = "'last', 'best' or 'step-N' (a step checkpoint that train.keep kept)"
_STEP = re.compile(r"step-([0-9]+)")


def step_checkpoint_name(step: int) -> str:
    """The file name (without .npz) of the step checkpoint saved at `step`: zero-padded,
    so that the files sort by step."""
    return f"step-{step:09d}"


def checkpoint_name(name: str) -> str:
    """The checkpoint `name` means, as users give it and commands show it: "last",
    "best" or "step-N" ("step-000000120" and "step-120" both mean "step-120").

    Raises:
        InvalidArgument: `name` is none of these.
    """
    match = _STEP.fullmatch(name) if isinstance(name, str) else None
    if match:
        return f"step-{int(match.group(1))}"
    if name not in ("last", "best"):
        raise InvalidArgument(f"`checkpoint` must be {CHOICES}. Received: checkpoint={name!r}")
    return name


def short_name(stem: str) -> str:
    """A checkpoint file's name (without .npz) as users give it: "step-000000120" ->
    "step-120"; "last" and "best" stay."""
    match = _STEP.fullmatch(stem)
    return f"step-{int(match.group(1))}" if match else stem


def checkpoint_label(name: str, step: int) -> str:
    """How every command says which checkpoint it uses: "best checkpoint, step 216"."""
    return f"{short_name(name)} checkpoint, step {step:,}"


def _file_stem(name: str) -> str:
    """The file name (without .npz) of checkpoint `name` ("step-120" -> "step-000000120")."""
    match = _STEP.fullmatch(name)
    return step_checkpoint_name(int(match.group(1))) if match else name


class RunDir:
    """Paths and I/O of one run directory.

    Args:
        path: the run directory (created on first write).
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        self.config = self.path / "config.json"
        self.samples = self.path / "samples.txt"
        self.vocab = self.path / "vocab.json"
        self.corpus = self.path / "corpus.json"
        self.state = self.path / "state.json"
        self.metrics = self.path / "metrics.csv"
        self.lineage = self.path / "lineage.json"  # fine-tuned runs: where they come from
        self.checkpoints = self.path / "checkpoints"

    # === Checkpoints ===

    def checkpoint(self, name: str) -> Path:
        """Path of checkpoint `name` ("last", "best", "previous" or "step-N", the
        file's name zero-padded)."""
        return checkpoint_file.checkpoint_path(self.checkpoints, _file_stem(name))

    def pick_checkpoint(self, name: str | None = None) -> str:
        """The checkpoint to use: `name` ("last", "best", "step-N"), or when None the
        default of every command and of `textgen.load`: 'best' if the run has one,
        else 'last' (`DEFAULT_CHECKPOINT`).

        Returns:
            The checkpoint's name ("last", "best" or "step-N").

        Raises:
            InvalidArgument: `name` is not a checkpoint name.
            CheckpointError: the run or that checkpoint does not exist (see `require`).
        """
        if name is None:
            name = "best" if self.has_checkpoint("best") else "last"
        name = checkpoint_name(name)
        self.require(name)
        return name

    def step_checkpoints(self) -> list[Path]:
        """The step checkpoints that `train.keep` keeps (`step-NNNNNNNNN.npz`), oldest first."""
        return sorted(p for p in self.checkpoints.glob("step-*.npz") if _STEP.fullmatch(p.stem))

    def has_checkpoint(self, name: str = "last") -> bool:
        """Whether checkpoint `name` exists."""
        return self.checkpoint(name).is_file()

    def require(self, name: str = "last") -> Path:
        """Returns checkpoint `name`'s path, or raises a `CheckpointError` that says why."""
        refuse_a_file(self.path)
        if not self.path.is_dir():
            raise CheckpointError(
                f"{self.path}: no such run directory; train one with `textgen train`"
            )
        if not self.is_textgen_run(with_corpus=False):
            raise CheckpointError(
                f"{self.path} is not a textgen run directory (no config.json/vocab.json)"
            )
        path = self.checkpoint(name)
        if not path.is_file() and not (name == "last" and self.has_checkpoint("previous")):
            if name == "best":
                fix = ("it has not validated yet; use the 'last' checkpoint (--checkpoint last), "
                       "or train longer")
            elif _STEP.fullmatch(name):
                kept = self.checkpoint_names()
                hint = "" if any(_STEP.fullmatch(n) for n in kept) else (
                    " (train.keep = K keeps the K newest step checkpoints)")
                raise CheckpointError(
                    f"{self.path} has no '{short_name(name)}' checkpoint; it has: "
                    f"{', '.join(kept) or 'none'}{hint}")
            else:
                fix = "training never started; run the original `textgen train` command again"
            raise CheckpointError(f"{self.path} has no '{name}' checkpoint yet; {fix}")
        return path

    def checkpoint_names(self) -> list[str]:
        """The checkpoints the run has, as `--checkpoint` takes them: last, best, then
        the step checkpoints by their short names ("step-120"), oldest first."""
        names = [n for n in ("last", "best") if self.has_checkpoint(n)]
        return names + [short_name(p.stem) for p in self.step_checkpoints()]

    def read_checkpoint(
        self, name: str, prefixes: tuple[str, ...] = ("",), data: bytes | None = None
    ) -> Checkpoint:
        """Checkpoint `name`, or its fallback when damaged: see
        `textgen.run.checkpoint_file.read_checkpoint`."""
        return checkpoint_file.read_checkpoint(self.checkpoints, _file_stem(name), prefixes,
                                               data)

    # === The run's files ===

    def is_textgen_run(self, with_corpus: bool = True) -> bool:
        """Whether the directory holds textgen's run files (a checkpoint or not).

        A checkpoint counts for config.json and vocab.json: it holds copies of them.
        """
        files = self.config.is_file() and self.vocab.is_file() or any(
            self.has_checkpoint(n) for n in ("last", "previous"))
        return files and (self.corpus.is_file() or not with_corpus)

    def read_state(self) -> TrainState | None:
        """The progress saved in state.json; None before the first save.

        Raises:
            CheckpointError: state.json is damaged.
        """
        return records.read_state(self.state)

    def read_corpus(self) -> CorpusRecord | None:
        """The corpus record (corpus.json); None when the run has none.

        Raises:
            CheckpointError: corpus.json is damaged.
        """
        return records.read_corpus(self.corpus)

    def read_lineage(self) -> Lineage | None:
        """Where a fine-tuned run comes from (lineage.json); None when not fine-tuned.

        Raises:
            CheckpointError: lineage.json is damaged.
        """
        return records.read_lineage(self.lineage)

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Holds the run's lock for the block: see `textgen.run.lock.run_lock`.

        Raises:
            TextgenError: another process holds the lock, or the directory
                cannot be created.
        """
        with run_lock(self.path):
            yield

    def remove_stale_temp_files(self) -> list[Path]:
        """Deletes temporary files that a killed process left mid-write.

        Only call this when no other process is writing to the run (on resume).

        Returns:
            The files removed.
        """
        stale = [*self.path.glob(".*.tmp"), *self.checkpoints.glob(".*.tmp")]
        for path in stale:
            path.unlink(missing_ok=True)
        return stale


def refuse_a_file(path: Path) -> None:
    """Refuses a file given where a run directory is expected, naming the run it
    belongs to: every command says it the same way (through `RunDir.require`).

    Raises:
        CheckpointError: `path` is a file (a checkpoint, or another file of a run).
    """
    path = Path(path)
    if not path.is_file():
        return
    parent = path.parent
    if parent.name == "checkpoints" and path.suffix == ".npz":
        run = parent.parent
        hint = (f", and choose its '{path.stem}' checkpoint"
                if path.stem in ("last", "best") else "")
        raise CheckpointError(
            f"{path} is a checkpoint file, not a run directory; give its run directory, "
            f"{run}{hint}")
    if path.suffix == ".npz":
        raise CheckpointError(
            f"{path} is a checkpoint file, not a run directory; give the run directory it "
            "came from (the one holding config.json, vocab.json and checkpoints/)")
    if RunDir(parent).is_textgen_run(with_corpus=False):
        raise CheckpointError(f"{path} is a file of a run, not a run directory; give its "
                              f"run directory, {parent}")
    raise CheckpointError(f"{path} is a file, not a run directory; give a directory that "
                          "`textgen train` made")
