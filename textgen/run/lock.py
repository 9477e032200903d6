"""The run's lock: one trainer per run directory at a time.

Two processes training the same run would overwrite each other's checkpoints;
the second one gets a clear error instead. The lock is `filelock`'s, an OS
lock on `RUN_DIR/.lock` (flock on POSIX, LockFileEx on Windows): the system
drops it when its holder dies, so a lock file left by a killed trainer never
blocks the next one. (On a file system without OS locks, filelock falls back to
the file's mere existence, which a killed trainer does leave behind; the error
then says to delete it.)
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from textgen.errors import TextgenError

LOCK_NAME = ".lock"


@contextmanager
def run_lock(path: Path) -> Iterator[None]:
    """Holds an exclusive lock on run directory `path` for the duration of the block.

    A start that fails before writing anything leaves nothing behind: the lock
    file it made is removed, and so is the directory if it made it.

    Raises:
        TextgenError: another process holds the lock, or the directory cannot
            be created.
    """
    path = Path(path)
    lock_file = path / LOCK_NAME
    made_dir, made_lock = not path.exists(), not lock_file.exists()
    lock = FileLock(lock_file, timeout=0)
    try:
        path.mkdir(parents=True, exist_ok=True)
        lock.acquire()
    except Timeout as e:  # before OSError: a Timeout is a TimeoutError
        raise TextgenError(
            f"another textgen process is training {path}; wait for it to "
            "finish or stop it (Ctrl-C saves) before starting this one (if none is, "
            f"the file system keeps no OS locks: delete {lock_file})"
        ) from e
    except OSError as e:
        raise TextgenError(
            f"cannot create the run directory {path} ({e.strerror or e}); "
            "pick a writable --out"
        ) from e
    try:
        yield
    finally:
        # Only the holder cleans up, and on POSIX while it still holds the lock
        # (Windows cannot delete a file that is open: there it lets go first).
        try:
            empty = made_lock and [q.name for q in path.iterdir()] == [LOCK_NAME]
        except OSError:
            empty = False
        if os.name != "posix":
            lock.release()
        try:
            if empty:
                lock_file.unlink()
                if made_dir:
                    path.rmdir()
        except OSError:
            pass  # cleaning up is a courtesy; never hide the real error
        lock.release()  # a second release is a no-op
