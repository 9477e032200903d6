"""The run's lock (filelock): one trainer per run, and a dead holder never blocks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import filelock
import pytest

from textgen.errors import TextgenError
from textgen.run import lock as run_lock_module
from textgen.run.directory import RunDir

HOLDER = textwrap.dedent("""
    import sys
    from textgen.run.directory import RunDir
    with RunDir(sys.argv[1]).lock():
        print("held", flush=True)
        sys.stdin.readline()
""")


def _holder(run):
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(run)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline() == "held\n"
    return proc


def test_the_lock_is_filelocks():
    assert run_lock_module.FileLock is filelock.FileLock


def test_another_process_holding_the_lock_is_one_clear_error(tmp_path):
    run = tmp_path / "run"
    proc = _holder(run)
    try:
        with pytest.raises(TextgenError, match="another textgen process is training") as e:
            with RunDir(run).lock():
                pass
        assert "\n" not in str(e.value)
    finally:
        proc.communicate("\n", timeout=30)
    assert not run.exists()  # the holder made it and left nothing behind
    with RunDir(run).lock():  # free again
        pass


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL")
def test_a_killed_holders_lock_never_blocks(tmp_path):
    run = tmp_path / "run"
    proc = _holder(run)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert (run / ".lock").exists()  # left behind by the dead holder
    with RunDir(run).lock():
        pass


def test_a_start_that_fails_before_writing_leaves_nothing(tmp_path):
    new = tmp_path / "a" / "new"
    with pytest.raises(RuntimeError), RunDir(new).lock():
        raise RuntimeError("the corpus was unusable")
    assert not new.exists()
    kept = tmp_path / "kept"
    with RunDir(kept).lock():
        (kept / "config.json").write_text("{}", encoding="utf-8")
    # A start that wrote something keeps its lock file (a later start reuses it).
    assert sorted(p.name for p in kept.iterdir()) == [".lock", "config.json"]


def test_a_directory_that_cannot_be_made_is_one_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    with pytest.raises(TextgenError, match="cannot create the run directory"):
        with RunDir(blocker / "run").lock():
            pass
