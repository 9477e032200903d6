"""The run directory: its paths, which checkpoint to use, and its lock.

    RUN_DIR/
      config.json          resolved configuration (all keys, defaults filled in)
      vocab.json           the tokenizer: kind, settings and tokens (UTF-8, readable)
      corpus.json          the corpus files, their checksums and the encoded-cache key
      checkpoints/last.npz newest training state: weights, optimizer, RNN state, progress
      checkpoints/best.npz the weights with the lowest validation loss so far
      checkpoints/previous.npz  the 'last' before the newest save: the fallback
                           when last.npz is damaged
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

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from textgen.errors import CheckpointError
from textgen.run import checkpoint_file, records
from textgen.run.checkpoint_file import Checkpoint
from textgen.run.lock import run_lock
from textgen.run.records import CorpusRecord, Lineage, TrainState


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
        """Path of checkpoint `name` ("last", "best" or "step-NNNNNNNNN")."""
        return checkpoint_file.checkpoint_path(self.checkpoints, name)

    def pick_checkpoint(self, name: str | None = None) -> str:
        """`name`, or when None the 'best' checkpoint if there is one, else 'last'.

        Raises:
            CheckpointError: the run or that checkpoint does not exist (see `require`).
        """
        name = name or ("best" if self.has_checkpoint("best") else "last")
        self.require(name)
        return name

    def step_checkpoints(self) -> list[Path]:
        """The step checkpoints that `train.keep` keeps (`step-NNNNNNNNN.npz`), oldest first."""
        return sorted(self.checkpoints.glob("step-*.npz"))

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
                fix = "no validation has run yet; use --checkpoint last, or train longer"
            else:
                fix = "training never started; run the original `textgen train` command again"
            raise CheckpointError(f"{self.path} has no '{name}' checkpoint yet; {fix}")
        return path

    def read_checkpoint(
        self, name: str, prefixes: tuple[str, ...] = ("",), data: bytes | None = None
    ) -> Checkpoint:
        """Checkpoint `name`, or its fallback when damaged: see
        `textgen.run.checkpoint_file.read_checkpoint`."""
        return checkpoint_file.read_checkpoint(self.checkpoints, name, prefixes, data)

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
