"""User-facing errors.

Library code raises these; the command line (`textgen/cli/app.py`) turns them
into one line on stderr and a non-zero exit code, the server into an HTTP error.
Anything that is *not* a `TextgenError` is a bug and keeps its traceback.
"""

from __future__ import annotations


class TextgenError(Exception):
    """A problem the user can fix. The message names the problem and the fix."""


class CorpusError(TextgenError):
    """A corpus file is missing, empty, binary or cannot be decoded."""


class CorpusTooSmall(TextgenError):
    """The corpus cannot fill even one batch of `batch_size x seq_len` tokens."""


class ConfigError(TextgenError):
    """A config file or `--set` override is invalid."""


class CheckpointError(TextgenError):
    """A run directory has no usable checkpoint."""


class IncompatibleCheckpoint(CheckpointError):
    """A checkpoint does not match the model or config it is loaded into."""


class CorpusChanged(IncompatibleCheckpoint):
    """A run's corpus files changed, or are gone and no longer cached (`--resume` can
    adopt them with --allow-changed-corpus; `eval` cannot score its validation split)."""


class UnknownModel(TextgenError):
    """A RUN_DIR argument is neither an existing path nor an installed model's name."""


class UnknownTokens(TextgenError):
    """A prompt holds tokens the model's vocabulary does not have."""


class TrainingDiverged(TextgenError):
    """The training loss became NaN or infinite; the last checkpoint is kept intact."""


class InvalidArgument(TextgenError, ValueError):
    """A library argument has an invalid value (also a `ValueError`)."""
