"""The command line, through click's CliRunner and real subprocesses."""

import csv
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from tests.conftest import TINY_SETS, TINY_TEXT
from textgen.cli import cli

ROOT = Path(__file__).resolve().parents[1]


def invoke(*args, input=None):
    return CliRunner().invoke(cli, [str(a) for a in args], input=input)


def sets(*extra):
    return [x for s in [*TINY_SETS, *extra] for x in ("--set", s)]


def assert_user_error(result, needle):
    """One error line on stderr naming the problem, non-zero exit, no traceback."""
    assert result.exit_code != 0, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1 and result.stderr.rstrip().endswith(errors[0]), result.stderr
    assert needle in errors[0], errors[0]
    assert "Traceback" not in result.output


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny run trained for 12 steps through the CLI."""
    root = tmp_path_factory.mktemp("cli")
    corpus = root / "tiny.txt"
    from tests.conftest import TINY_TEXT

    corpus.write_text(TINY_TEXT, encoding="utf-8")
    run = root / "run"
    result = invoke("train", corpus, "--out", run, "--max-steps", 12, *sets())
    assert result.exit_code == 0, result.output
    return run


def test_train_writes_the_run_directory(trained):
    for name in ["config.json", "vocab.json", "corpus.json", "state.json", "metrics.csv",
                 "checkpoints/last.npz"]:
        assert (trained / name).is_file(), name
    assert '"step": 12' in (trained / "state.json").read_text(encoding="utf-8")


def test_sample_is_reproducible_and_streams_prime_first(trained):
    a = invoke("sample", trained, "--length", 200, "--seed", 1, "--prime", "All:")
    b = invoke("sample", trained, "--length", 200, "--seed", 1, "--prime", "All:")
    c = invoke("sample", trained, "--length", 200, "--seed", 2, "--prime", "All:")
    assert a.exit_code == 0, a.output
    assert a.stdout == b.stdout != c.stdout
    assert a.stdout.startswith("All:") and len(a.stdout) >= 204
    greedy = invoke("sample", trained, "--length", 50, "--temperature", 0, "--seed", 5,
                    "--prime", "All")
    assert greedy.stdout == invoke("sample", trained, "--length", 50, "--temperature", 0,
                                   "--prime", "All").stdout


def test_unknown_prompt_characters(trained):
    assert_user_error(invoke("sample", trained, "--prime", "Zebra你"), "never saw")
    ok = invoke("sample", trained, "--prime", "All你", "--drop-unknown", "--length", 5)
    assert ok.exit_code == 0 and ok.stdout.startswith("All")


def test_resume_continues_from_the_saved_step(trained):
    result = invoke("train", "--resume", trained, "--max-steps", 20)
    assert result.exit_code == 0, result.output
    assert "resuming" in result.stderr and "step 12" in result.stderr
    with open(trained / "metrics.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    # 12: the row written when the first session stopped
    assert [int(r["step"]) for r in rows if r["train_loss"]] == [5, 10, 12, 15, 20]
    assert [int(r["step"]) for r in rows if r["val_loss"]] == [12, 20]  # each stop validates


def test_resume_with_nothing_left_to_do_says_so(tmp_path, tiny_corpus):
    out = tmp_path / "r"
    assert invoke("train", tiny_corpus, "--out", out, "--max-steps", 4, *sets()).exit_code == 0
    result = invoke("train", "--resume", out, "--max-steps", 3)
    assert result.exit_code == 0, result.output
    assert "nothing to do" in result.stderr and "--max-steps 3" in result.stderr
    assert "resuming" not in result.stderr


def test_info(trained):
    result = invoke("info", trained)
    assert result.exit_code == 0, result.output
    assert "rnn_0" in result.stdout and "LSTM" in result.stdout
    assert "vocabulary" in result.stdout and "step" in result.stdout


def test_user_errors_are_one_line(trained, tmp_path, tiny_corpus):
    empty = tmp_path / "empty.txt"
    empty.write_text("", encoding="utf-8")
    binary = tmp_path / "bin.txt"
    binary.write_bytes(b"\x00\x01\x02abc")
    latin = tmp_path / "latin.txt"
    latin.write_bytes(b"ok " * 10 + b"\xff\xff\xff")
    # Every stop validates, so a run without 'best' is one stopped before any step.
    no_best = tmp_path / "no-best"
    shutil.copytree(trained, no_best)
    (no_best / "checkpoints" / "best.npz").unlink()
    out = tmp_path / "r"
    cases = [
        (["train", tmp_path / "missing.txt", "--out", out], "no such file or directory"),
        (["train", empty, "--out", out], "file is empty"),
        (["train", binary, "--out", out], "NUL bytes"),
        (["train", latin, "--out", out], "at byte 30"),
        (["train", tiny_corpus, "--out", out, "--set", "model.unitz=3"], "valid keys:"),
        (["train", tiny_corpus, "--out", out, "--set", "model.units=lots"], "must be int"),
        (["train", tiny_corpus, "--out", out, "--set", "data.batch_size=512"],
         "corpus too small"),
        (["train", "--resume", trained, "--set", "model.units=64"],
         "--resume cannot change model.units"),
        (["train", "--resume", tmp_path], "not a textgen run directory"),
        (["train", tiny_corpus, "--out", trained], "already holds a run"),
        (["train"], "give a CORPUS"),
        (["sample", tmp_path / "nothing"], "no such run directory"),
        (["sample", no_best, "--checkpoint", "best"], "no 'best' checkpoint"),
        (["sample", trained, "--temperature", -1], "--temperature"),
        (["sample", trained, "--temperature", "inf"], "temperature"),
        (["train", tiny_corpus, "--out", out, "--set", "train.lr=nan"], "finite"),
        (["train", tiny_corpus, "--out", out, "--set", "model.cell=gru", "--set",
          "model.weight_drop=0.2"], "model.weight_drop works with LSTM layers only"),
        (["sample", trained, "--length", "many"], "--length"),
        (["sample", trained, "--seed", -1], "--seed"),
        (["train", tiny_corpus, "--out", tiny_corpus / "sub"], "cannot create the run directory"),
        (["train", "--resume", tmp_path / "nothing"], "no such run directory"),
    ]
    for args, needle in cases:
        assert_user_error(invoke(*args), needle)


def test_a_corpus_directory_says_what_it_read_and_skipped(tmp_path):
    from tests.conftest import TINY_TEXT

    d = tmp_path / "texts"
    d.mkdir()
    (d / "a.md").write_text(TINY_TEXT, encoding="utf-8")
    (d / "b.txt").write_bytes(b"\x00binary")
    assert_user_error(invoke("train", d, "--out", tmp_path / "r"), "no usable *.txt file")
    result = invoke("train", d, "--glob", "*.md", "--out", tmp_path / "r", "--max-steps", 1,
                    *sets())
    assert result.exit_code == 0, result.output
    assert "read 1 corpus file(s); skipped 1:" in result.stderr and "b.txt" in result.stderr
    assert_user_error(invoke("train", "--resume", tmp_path / "r", "--glob", "*"),
                      "--resume takes no")
    assert_user_error(invoke("train", "--resume", tmp_path / "r", "--encoding", "cp1252"),
                      "--resume takes no")


def test_encoding_option_and_resume_with_the_recorded_encoding(tmp_path, monkeypatch):
    from tests.conftest import TINY_TEXT

    corpus = tmp_path / "fr.txt"
    corpus.write_bytes((TINY_TEXT.replace("e", "é")).encode("cp1252"))
    run = tmp_path / "r"
    assert_user_error(invoke("train", corpus, "--out", run, *sets()), "pass --encoding")
    ok = invoke("train", corpus, "--out", run, "--encoding", "cp1252", "--max-steps", 2, *sets())
    assert ok.exit_code == 0, ok.output
    assert "decoded it as CP1252" in ok.stderr
    assert "é" in json.loads((run / "vocab.json").read_text(encoding="utf-8"))["tokens"]
    # A new, empty cache: resume re-reads the file with the encoding it recorded.
    monkeypatch.setenv("TEXTGEN_CACHE_DIR", str(tmp_path / "new-cache"))
    resumed = invoke("train", "--resume", run, "--max-steps", 4)
    assert resumed.exit_code == 0, resumed.output


def test_resume_reads_files_as_recorded_even_if_detection_changed(tmp_path, monkeypatch):
    import textgen.data.corpus

    corpus = tmp_path / "zh.txt"
    corpus.write_bytes(("第一回 甄士隐梦幻识通灵 贾雨村风尘怀闺秀\n" * 30).encode("gb18030"))
    run = tmp_path / "r"
    assert invoke("train", corpus, "--out", run, "--max-steps", 2, *sets()).exit_code == 0
    # As if a later textgen no longer took this file for GB18030 by itself:
    monkeypatch.setattr(textgen.data.corpus, "MIN_COMMON_CHINESE", 2.0)
    monkeypatch.setattr(textgen.data.corpus, "MIN_SHARE_IN_RUNS", 2.0)
    assert_user_error(invoke("train", corpus, "--out", tmp_path / "r2", *sets()), "not Chinese")
    monkeypatch.setenv("TEXTGEN_CACHE_DIR", str(tmp_path / "new-cache"))
    resumed = invoke("train", "--resume", run, "--max-steps", 4)
    assert resumed.exit_code == 0, resumed.output


def test_gb18030_corpus_is_reported(tmp_path):
    corpus = tmp_path / "gbk.txt"
    corpus.write_bytes(("第一回 甄士隐梦幻识通灵 贾雨村风尘怀闺秀\n" * 30).encode("gb18030"))
    result = invoke("train", corpus, "--out", tmp_path / "r", "--max-steps", 2, *sets())
    assert result.exit_code == 0, result.output
    assert "GB18030" in result.stderr


def _checkpoint_step(run: Path) -> int:
    """The global step stored in the 'last' checkpoint itself (state.json may lag it)."""
    with np.load(run / "checkpoints" / "last.npz") as npz:
        return json.loads(str(npz["meta"]))["state"]["step"]


def _spawn(*args, tmp_path):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "textgen", *map(str, args)], cwd=ROOT, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8",
        # A suite started in the background (`cmd &`) inherits SIGINT ignored, and so
        # would the child until textgen installs its own handler: give it the default.
        preexec_fn=_default_sigint,
    )


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _wait_for_step(run: Path, proc, above: int, timeout=120) -> None:
    """Waits until the 'last' checkpoint holds a step greater than `above`."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if _checkpoint_step(run) > above:
                return
        except (OSError, ValueError, KeyError):
            pass  # not written yet
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "no checkpoint appeared"
        time.sleep(0.05)


def test_subprocess_ctrl_c_saves_and_kill_resumes(tiny_corpus, tmp_path):
    run = tmp_path / "run"
    args = ["train", tiny_corpus, "--out", run, "--epochs", 500, *sets("train.epochs=500")]
    proc = _spawn(*args, tmp_path=tmp_path)
    _wait_for_step(run, proc, above=0)  # past the step-0 checkpoint, training for real
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert f"Continue with: textgen train --resume {run}" in err
    assert "Traceback" not in err
    saved = _checkpoint_step(run)
    assert saved > 0

    # SIGTERM (kill PID, a job scheduler) stops the same way.
    proc = _spawn("train", "--resume", run, tmp_path=tmp_path)
    _wait_for_step(run, proc, above=saved)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0 and "checkpoint saved" in err, err
    assert _checkpoint_step(run) > saved
    saved = _checkpoint_step(run)

    # SIGKILL at an arbitrary moment: the run resumes from its last checkpoint.
    proc = _spawn("train", "--resume", run, tmp_path=tmp_path)
    _wait_for_step(run, proc, above=saved)  # a newer checkpoint, then SIGKILL mid-training
    proc.kill()
    proc.communicate(timeout=30)
    killed_at = _checkpoint_step(run)
    assert killed_at > saved
    result = invoke("train", "--resume", run, "--max-steps", killed_at + 3)
    assert result.exit_code == 0, result.output
    assert f"step {killed_at:,}" in result.stderr
    assert not list(run.glob("**/*.tmp"))  # a write cut short by the kill is cleaned up


def test_python_dash_m_and_help():
    result = subprocess.run([sys.executable, "-m", "textgen", "--help"], cwd=ROOT,
                            capture_output=True, text=True, encoding="utf-8")
    assert result.returncode == 0
    for command in ("train", "sample", "info"):
        assert command in result.stdout


def test_undecodable_terminal_prompt_is_a_clear_error(trained):
    # What Python makes of invalid UTF-8 bytes on the command line (surrogateescape).
    assert_user_error(invoke("sample", trained, "--prime", "All\udcff"), "not valid UTF-8")


def test_ctrl_c_while_sampling_stops_quietly(trained, tmp_path):
    proc = _spawn("sample", trained, "--length", 1_000_000, "--prime", "All:", tmp_path=tmp_path)
    assert proc.stdout.read(4) == "All:"  # generation has started
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "Traceback" not in err and "interrupted" in err


def test_a_failed_start_can_be_retried_in_the_same_directory(tmp_path, tiny_corpus):
    out = tmp_path / "r"
    too_big = invoke("train", tiny_corpus, "--out", out, *sets("data.batch_size=512"))
    assert_user_error(too_big, "corpus too small")
    assert not out.exists()  # nothing written before the data was checked, not even a lock
    assert_user_error(invoke("sample", out), "no such run directory")
    given = tmp_path / "empty"
    given.mkdir()  # a directory the user made stays, empty
    assert_user_error(invoke("train", tmp_path / "missing.txt", "--out", given), "no such file")
    assert given.is_dir() and not list(given.iterdir())
    ok = invoke("train", tiny_corpus, "--out", out, "--max-steps", 2, *sets())
    assert ok.exit_code == 0, ok.output


def test_unwritable_cache_warns_and_trains(tmp_path, tiny_corpus, monkeypatch):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x", encoding="utf-8")
    monkeypatch.setenv("TEXTGEN_CACHE_DIR", str(blocker / "cache"))
    result = invoke("train", tiny_corpus, "--out", tmp_path / "r", "--max-steps", 2, *sets())
    assert result.exit_code == 0, result.output
    assert "warning: cannot write the encoded-corpus cache" in result.stderr


def test_diverging_loss_is_an_error_that_keeps_the_checkpoint(tmp_path, tiny_corpus):
    out = tmp_path / "r"
    result = invoke("train", tiny_corpus, "--out", out, *sets("train.lr=1e38",
                                                                "train.clip_norm=0"))
    assert_user_error(result, "training loss became")
    assert "--set train.lr=" in result.stderr
    assert (out / "checkpoints" / "last.npz").exists()  # the step-0 checkpoint, untouched


def test_out_never_overwrites_a_users_folder(tmp_path, tiny_corpus):
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "config.json").write_text('{"my_app": 1}', encoding="utf-8")
    result = invoke("train", tiny_corpus, "--out", folder, "--max-steps", 1, *sets())
    assert_user_error(result, "holds other files")
    assert (folder / "config.json").read_text(encoding="utf-8") == '{"my_app": 1}'


def test_a_run_being_trained_is_locked(trained):
    from textgen.run.directory import RunDir

    with RunDir(trained).lock():  # as if another process were training it
        assert_user_error(invoke("train", "--resume", trained, "--max-steps", 30),
                          "another textgen process is training")


def test_ctrl_c_itself_saves(tiny_corpus, tmp_path):
    # No periodic save can happen (save_every is huge): a checkpoint past step 0
    # can only come from the Ctrl-C handler.
    run = tmp_path / "run"
    proc = _spawn("train", tiny_corpus, "--out", run, "--epochs", 500,
                  *sets("train.epochs=500", "train.save_every=1000000", "train.log_every=2"),
                  tmp_path=tmp_path)
    deadline = time.monotonic() + 120
    while not (run / "metrics.csv").exists():  # a row every 2 steps: training is under way
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "training did not start"
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    step = _checkpoint_step(run)
    assert step >= 2 and f"interrupted at step {step:,}; checkpoint saved" in err


def test_a_refused_second_start_never_cleans_up_the_first(tmp_path):
    from textgen.errors import TextgenError
    from textgen.run.directory import RunDir

    new = tmp_path / "new"
    with RunDir(new).lock():  # the first start, still before its first file
        with pytest.raises(TextgenError, match="another textgen process"):
            with RunDir(new).lock():
                pass
        assert (new / ".lock").exists()  # the first start's lock and directory stay
        with pytest.raises(TextgenError, match="another textgen process"):
            with RunDir(new).lock():  # so a third start is refused too
                pass
    assert not new.exists()  # the first start failed: it cleans up after itself


def _state(run):
    return json.loads((run / "state.json").read_text(encoding="utf-8"))


def test_resume_on_a_changed_corpus_refuses_unless_allowed(tmp_path, tiny_corpus, monkeypatch):
    run = tmp_path / "run"
    assert invoke("train", tiny_corpus, "--out", run, "--max-steps", 3, *sets()).exit_code == 0
    tiny_corpus.write_text(TINY_TEXT + "Жук: a new speaker.\n" * 30, encoding="utf-8")
    assert_user_error(invoke("train", "--resume", run, "--max-steps", 5),
                      "--allow-changed-corpus")
    assert _state(run)["step"] == 3
    vocab = (run / "vocab.json").read_text(encoding="utf-8")
    result = invoke("train", "--resume", run, "--max-steps", 5, "--allow-changed-corpus")
    assert result.exit_code == 0, result.output
    assert "the corpus changed since the run began" in result.stderr
    assert "90 of them <unk>" in result.stderr  # Ж, у and к (Cyrillic), 30 times each
    assert _state(run)["step"] == 5
    assert (run / "vocab.json").read_text(encoding="utf-8") == vocab  # the run's, kept
    record = json.loads((run / "corpus.json").read_text(encoding="utf-8"))
    assert record["files"][0]["sha256"] == hashlib.sha256(tiny_corpus.read_bytes()).hexdigest()
    # corpus.json now records the new text: a plain resume takes it as it is.
    result = invoke("train", "--resume", run, "--max-steps", 7)
    assert result.exit_code == 0 and _state(run)["step"] == 7, result.output
    assert "corpus changed" not in result.stderr


def test_resume_without_the_corpus_uses_the_cache_or_refuses(tmp_path, tiny_corpus, monkeypatch):
    run = tmp_path / "run"
    assert invoke("train", tiny_corpus, "--out", run, "--max-steps", 3, *sets()).exit_code == 0
    tiny_corpus.rename(tmp_path / "moved.txt")
    result = invoke("train", "--resume", run, "--max-steps", 4)
    assert result.exit_code == 0 and _state(run)["step"] == 4, result.output
    assert "using its encoding from the cache" in result.stderr
    monkeypatch.setenv("TEXTGEN_CACHE_DIR", str(tmp_path / "empty-cache"))
    assert_user_error(invoke("train", "--resume", run, "--max-steps", 5),
                      "--allow-changed-corpus")
    assert_user_error(invoke("train", "--resume", run, "--max-steps", 5,
                             "--allow-changed-corpus"), "none of the run's corpus files")
    assert_user_error(invoke("train", tmp_path / "moved.txt", "--allow-changed-corpus"),
                      "goes with --resume")
