"""Atomic file writes: a crash or kill at any moment leaves the old file or the new one.

Everything textgen writes into a run directory goes through here: write to a
temporary file in the same directory, flush and fsync it, then `os.replace` it
over the target (atomic on POSIX and Windows), then fsync the directory, so
that the rename itself survives a power loss (POSIX; Windows cannot open a
directory, and its NTFS journals the rename).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def atomic_write(
    path: Path, write: Callable[[BinaryIO], None], keep_old: Path | None = None
) -> None:
    """Calls `write(fileobj)` on a temporary file, then renames it to `path`.

    Args:
        path: the final file.
        write: writes the content to the binary file object it is given.
        keep_old: once the new content is safely on disk, and before it replaces
            `path`, the old `path` (if any) becomes this file. `path` itself never
            goes missing: the old one is linked (or copied) there first.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give normal permissions
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        if keep_old is not None and path.exists():
            _keep_copy(path, Path(keep_old))
            if Path(keep_old).parent.resolve() != path.parent.resolve():
                fsync_directory(Path(keep_old).parent)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_directory(path.parent)


def fsync_directory(folder: Path) -> None:
    """Flushes `folder`'s entries (renames, new files) to disk, where the OS allows.

    A no-op where a directory cannot be opened (Windows) or fsynced (some
    network filesystems): the rename is done either way, only its durability
    across a power loss is then up to the filesystem.
    """
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _keep_copy(path: Path, keep: Path) -> None:
    """Makes `keep` a copy of `path` atomically: a hard link where the filesystem
    allows one (instant), else a byte copy."""
    fd, tmp = tempfile.mkstemp(dir=keep.parent, prefix=f".{keep.name}.", suffix=".tmp")
    os.close(fd)
    try:
        try:
            os.unlink(tmp)
            os.link(path, tmp)
        except OSError:
            shutil.copyfile(path, tmp)
        os.replace(tmp, keep)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Writes `data` to `path` atomically."""
    atomic_write(path, lambda f: f.write(data))


def atomic_write_text(path: Path, text: str) -> None:
    """Writes `text` to `path` as UTF-8, atomically, keeping newlines as given."""
    atomic_write_bytes(path, text.encode("utf-8"))
