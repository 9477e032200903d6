"""Atomic writes: the new content, its permissions, and a rename that survives a power loss."""

from __future__ import annotations

import os
import stat

import pytest

from textgen import fileio


@pytest.mark.skipif(os.name != "posix", reason="only POSIX can open a directory to fsync it")
def test_the_directory_is_fsynced_after_the_rename(tmp_path, monkeypatch):
    synced = []  # (is a directory, the target's content at that moment)
    real_fsync = os.fsync
    target = tmp_path / "run" / "state.json"

    def fsync(fd):
        is_dir = stat.S_ISDIR(os.fstat(fd).st_mode)
        synced.append((is_dir, target.read_bytes() if target.exists() else None))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    fileio.atomic_write_text(target, "new\n")
    assert target.read_text(encoding="utf-8") == "new\n"
    # The file's data first, then its directory once the rename has happened.
    assert synced == [(False, None), (True, b"new\n")]
    synced.clear()
    fileio.atomic_write(target, lambda f: f.write(b"newer\n"), keep_old=target.with_name("old"))
    assert synced[-1] == (True, b"newer\n")
    assert target.with_name("old").read_bytes() == b"new\n"


def test_a_directory_that_cannot_be_opened_is_skipped(tmp_path, monkeypatch):
    real_open = os.open

    def no_directories(path, flags, *args):
        if os.path.isdir(path):
            raise PermissionError("not here")
        return real_open(path, flags, *args)

    monkeypatch.setattr(os, "open", no_directories)
    fileio.atomic_write_text(tmp_path / "a.txt", "x")
    assert (tmp_path / "a.txt").read_text(encoding="utf-8") == "x"
