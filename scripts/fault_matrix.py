"""The fault matrix: the real `textgen` command under kills, damage, full disks, races
and bad input, with tiny models in temporary directories. Prints one row per case
(case, expected, observed, pass/FAIL) and exits 1 if any case fails.

    python scripts/fault_matrix.py             # every case (about 5 minutes on 2 cores)
    python scripts/fault_matrix.py --fast      # the subset the test suite runs (what the
                                               # unit tests do not already cover)
    python scripts/fault_matrix.py --kills 40  # more random SIGKILLs

docs/RELIABILITY.md holds the last full run, with its date and machine.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import signal
import struct
import subprocess
import sys
import tempfile
import time
import traceback
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TINY = ["data.seq_len=16", "data.batch_size=4", "data.val_frac=0.1", "model.embedding_dim=8",
        "model.units=16", "model.layers=2", "train.save_every=5", "train.log_every=5",
        "train.precision=float32"]
TEXT = ("First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n\n"
        "First Citizen:\nYou are all resolved rather to die than to famish?\n\n") * 40


def sets(*extra: str) -> list[str]:
    return [x for s in [*TINY, *extra] for x in ("--set", s)]


def textgen(*args, cwd: Path | None = None, timeout: float = 300, limit_fsize: int = 0,
            stdin: str | None = None) -> subprocess.CompletedProcess:
    """Runs `python -m textgen ARGS` to completion."""
    return subprocess.run([sys.executable, "-m", "textgen", *map(str, args)], cwd=cwd or ROOT,
                          capture_output=True, text=True, encoding="utf-8", timeout=timeout,
                          input=stdin, env=_env(), preexec_fn=_limits(limit_fsize))


def spawn(*args, log: Path | None = None) -> subprocess.Popen:
    """Starts `python -m textgen ARGS` in the background (output piped, or into `log` for
    a long run, whose progress bar would fill a pipe that nobody reads)."""
    out = subprocess.PIPE if log is None else open(log, "w")  # noqa: SIM115 -- the child's
    return subprocess.Popen([sys.executable, "-m", "textgen", *map(str, args)], cwd=ROOT,
                            stdout=out, stderr=subprocess.STDOUT if log else subprocess.PIPE,
                            text=True, encoding="utf-8", env=_env(), preexec_fn=_limits(0))


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONUNBUFFERED": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}


def _limits(fsize: int) -> Callable[[], None]:
    def apply() -> None:
        signal.signal(signal.SIGINT, signal.SIG_DFL)  # even when started in the background
        if fsize:
            # A full disk: writes past `fsize` bytes fail with EFBIG (SIGXFSZ ignored,
            # so the process sees the error instead of being killed by it).
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
    return apply


def one_error_line(p: subprocess.CompletedProcess, needle: str = "") -> str:
    """Checks a user error: non-zero exit, one `Error:` line last on stderr, no traceback."""
    errors = [line for line in p.stderr.splitlines() if line.startswith("Error: ")]
    assert p.returncode != 0, f"exit 0: {p.stdout[-300:]}"
    assert "Traceback" not in p.stderr, p.stderr[-600:]
    assert len(errors) == 1 and p.stderr.rstrip().endswith(errors[0]), p.stderr[-600:]
    assert needle.lower() in errors[0].lower(), errors[0]
    return errors[0][:110]


def ok(p: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert p.returncode == 0 and "Traceback" not in p.stderr, p.stderr[-800:]
    return p


def step_of(run: Path, name: str = "last") -> int:
    sys.path.insert(0, str(ROOT))
    from textgen.run.directory import RunDir

    return RunDir(run).read_checkpoint(name, prefixes=()).state.step


def wait_for_step(run: Path, proc: subprocess.Popen, above: int, timeout: float = 120) -> None:
    """Waits until the run's 'last' checkpoint is past step `above` (the trainer alive)."""
    deadline = time.monotonic() + timeout
    while step_of(run) <= above:
        assert proc.poll() is None, proc.communicate()[1][-500:]
        assert time.monotonic() < deadline, "no progress"
        time.sleep(0.02)


@dataclass
class Case:
    name: str
    expected: str
    run: Callable[[Path], str]
    fast: bool


CASES: list[Case] = []


def case(name: str, expected: str, fast: bool = False):
    def register(fn: Callable[[Path], str]) -> Callable[[Path], str]:
        CASES.append(Case(name, expected, fn, fast))
        return fn
    return register


def corpus(tmp: Path, text: str = TEXT, name: str = "c.txt") -> Path:
    path = tmp / name
    path.write_text(text, encoding="utf-8")
    return path


def trained(tmp: Path, steps: int = 12) -> Path:
    run = tmp / "run"
    ok(textgen("train", corpus(tmp), "--out", run, "--max-steps", steps, *sets()))
    return run


# === Crashes and kills ===

KILLS = 20
READS = 20


@case("SIGKILL at random moments", "every kill resumes; the step never goes back; "
      "sample reads a whole checkpoint", fast=True)
def kills(tmp: Path) -> str:
    run = tmp / "run"
    ok(textgen("train", corpus(tmp), "--out", run, "--max-steps", 1, *sets()))
    rng, last, mid_save = random.Random(0), 1, 0
    for _ in range(KILLS):
        # A checkpoint every step: many kills land inside a save.
        proc = spawn("train", "--resume", run, "--max-steps", 10**6, "--set",
                     "train.save_every=1", "--set", "train.epochs=100000")
        wait_for_step(run, proc, last)
        time.sleep(rng.uniform(0, 0.5))
        proc.kill()
        proc.communicate()
        mid_save += bool(list(run.glob("**/.*.tmp")))
        now = step_of(run)
        assert now >= last, f"step went back from {last} to {now}"
        p = ok(textgen("sample", run, "--length", 10, "--checkpoint", "last"))
        assert "warning" not in p.stderr, p.stderr  # 'last' itself whole, not a fallback
        last = now
    ok(textgen("train", "--resume", run, "--max-steps", last + 2))
    assert step_of(run) == last + 2, f"resumed to {step_of(run)}, not {last + 2}"
    assert not list(run.glob("**/*.tmp")), list(run.glob("**/*.tmp"))
    return f"{KILLS} kills ({mid_save} left a half-written file behind), reached step {last + 2}"


@case("SIGINT and SIGTERM while training", "checkpoint saved, exit 0, resumable")
def interrupts(tmp: Path) -> str:
    run = trained(tmp, 2)
    seen = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        before = step_of(run)
        proc = spawn("train", "--resume", run, "--max-steps", 10**6, "--set",
                     "train.epochs=100000")
        wait_for_step(run, proc, before)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0 and "checkpoint saved" in err, err[-500:]
        seen.append(f"{signal.Signals(sig).name} saved step {step_of(run)}")
    ok(textgen("train", "--resume", run, "--max-steps", step_of(run) + 1))
    return "; ".join(seen)


def _damage(path: Path, how: str) -> None:
    data = path.read_bytes()
    if how == "cut":
        path.write_bytes(data[: len(data) // 2])
    elif how == "flip":  # the last byte of the first LSTM kernel (the zip stays well formed)
        info = zipfile.ZipFile(path).getinfo("model/1.npy")
        name_len, extra_len = struct.unpack("<HH", data[info.header_offset + 26:][:4])
        at = info.header_offset + 30 + name_len + extra_len + info.compress_size - 1
        path.write_bytes(data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1:])
    else:
        path.write_bytes(bytes(len(data)))


@case("damaged last.npz (cut, flipped, zeroed)", "sample, eval, info and resume fall back to "
      "previous.npz with a warning")
def damaged_checkpoint(tmp: Path) -> str:
    base = trained(tmp, 12)
    out = []
    for how in ("cut", "flip", "zero"):
        run = tmp / f"run-{how}"
        subprocess.run(["cp", "-r", base, run], check=True)
        _damage(run / "checkpoints" / "last.npz", how)
        for args in (["sample", run, "--length", 5, "--checkpoint", "last"],
                     ["eval", run, "--checkpoint", "last"],
                     ["info", run], ["train", "--resume", run, "--max-steps", 13]):
            p = ok(textgen(*args))
            assert "'previous' checkpoint" in p.stderr + p.stdout, (args, p.stderr[-300:])
        out.append(how)
    return f"{', '.join(out)}: fell back, resumed"


@case("damaged config.json, vocab.json, state.json", "the checkpoint's copies are used; "
      "resume restores the files")
def damaged_files(tmp: Path) -> str:
    run = trained(tmp, 6)
    for name in ("config.json", "vocab.json", "state.json"):
        _damage(run / name, "cut")
    p = ok(textgen("sample", run, "--length", 5))
    assert "config.json" in p.stderr and "vocab.json" in p.stderr, p.stderr
    ok(textgen("info", run))
    p = ok(textgen("train", "--resume", run, "--max-steps", 7))
    assert p.stderr.count("restored it") == 2, p.stderr
    json.loads((run / "state.json").read_text(encoding="utf-8"))
    return "sample/info warned; resume restored config.json and vocab.json, rewrote state.json"


@case("both checkpoints damaged", "one Error: line naming the file", fast=True)
def no_fallback(tmp: Path) -> str:
    run = trained(tmp, 12)
    _damage(run / "checkpoints" / "last.npz", "cut")
    _damage(run / "checkpoints" / "previous.npz", "zero")
    return one_error_line(textgen("sample", run, "--checkpoint", "last"), "damaged")


@case("disk full during a checkpoint save (RLIMIT_FSIZE)", "one Error: line; the "
      "checkpoints already there are intact and resume", fast=True)
def disk_full(tmp: Path) -> str:
    run = trained(tmp, 5)
    size = (run / "checkpoints" / "last.npz").stat().st_size
    before = step_of(run)
    p = textgen("train", "--resume", run, "--max-steps", 40, limit_fsize=size // 2)
    message = one_error_line(p, "cannot write")
    assert step_of(run) == before
    ok(textgen("train", "--resume", run, "--max-steps", before + 2))
    return message


@case("disk full while writing the encoded-corpus cache", "a notice; training goes on")
def cache_full(tmp: Path) -> str:
    os.environ["TEXTGEN_CACHE_DIR"] = str(tmp / "cache")
    try:  # the encoded ids (1 MB) exceed the limit; the tiny checkpoints do not
        p = ok(textgen("train", corpus(tmp, TEXT * 40), "--out", tmp / "run", "--max-steps", 1,
                       *sets(), limit_fsize=300_000))
    finally:
        del os.environ["TEXTGEN_CACHE_DIR"]
    notice = [line for line in p.stderr.splitlines() if "cache" in line]
    assert notice, p.stderr[-500:]
    return "trained; " + notice[0][:90]


@case("unwritable output directory; unwritable cache", "one Error: line before training; "
      "a notice for the cache, training goes on", fast=True)
def unwritable(tmp: Path) -> str:
    # Under a regular file nothing can be created, whatever the user's rights (even root's).
    blocker = _write(tmp / "a-file", b"x")
    message = one_error_line(textgen("train", corpus(tmp), "--out", blocker / "run", *sets()),
                             "writable")
    os.environ["TEXTGEN_CACHE_DIR"] = str(blocker / "cache")
    try:
        p = ok(textgen("train", corpus(tmp), "--out", tmp / "run", "--max-steps", 1, *sets()))
    finally:
        del os.environ["TEXTGEN_CACHE_DIR"]
    assert "cache" in p.stderr, p.stderr[-400:]
    return message


# === Concurrency and consistency ===

@case("two trainers on one run", "the second refuses; a dead holder's lock never blocks")
def two_trainers(tmp: Path) -> str:
    run = trained(tmp, 2)
    proc = spawn("train", "--resume", run, "--max-steps", 10**6, "--set", "train.epochs=100000")
    wait_for_step(run, proc, 2)
    message = one_error_line(textgen("train", "--resume", run), "another textgen process")
    proc.kill()
    proc.communicate()
    ok(textgen("train", "--resume", run, "--max-steps", step_of(run) + 1))
    return message


@case("resume after the corpus changed", "refused, naming the files")
def corpus_changed(tmp: Path) -> str:
    run = trained(tmp, 2)
    (tmp / "c.txt").write_text(TEXT + "more\n", encoding="utf-8")
    return one_error_line(textgen("train", "--resume", run), "changed")


@case("resume on a changed corpus with --allow-changed-corpus", "trains on the new text "
      "with the run's vocabulary; the next plain resume accepts it")
def corpus_changed_allowed(tmp: Path) -> str:
    run = trained(tmp, 2)
    (tmp / "c.txt").write_text(TEXT + "Жук\n" * 10, encoding="utf-8")
    p = ok(textgen("train", "--resume", run, "--max-steps", 4, "--allow-changed-corpus"))
    assert "30 of them <unk>" in p.stderr and step_of(run) == 4, p.stderr[-400:]
    ok(textgen("train", "--resume", run, "--max-steps", 5))
    return "trained 2 more steps (30 <unk>), then resumed plainly to step 5"


@case("textgen serve: a damaged last.npz, then SIGTERM mid-stream", "serves the previous "
      "checkpoint with a warning; the stream ends with its final event; exit 0; the run "
      "untouched")
def serve_faults(tmp: Path) -> str:
    import hashlib

    import httpx

    sys.path.insert(0, str(ROOT))
    from tests.serving import events, start_server

    run = trained(tmp, 12)
    _damage(run / "checkpoints" / "last.npz", "flip")

    def sums() -> dict[str, str]:
        return {str(f): hashlib.sha256(f.read_bytes()).hexdigest()
                for f in sorted(run.rglob("*")) if f.is_file()}

    before = sums()
    srv = start_server(run, "--checkpoint", "last", "--max-length", 100_000)
    try:
        assert any("'previous' checkpoint" in line for line in srv.stderr), srv.stderr
        with httpx.Client(base_url=srv.url, timeout=60) as c:
            assert c.post("/api/generate", json={"length": 20}).status_code == 200
            with c.stream("POST", "/api/generate",
                          json={"length": 100_000, "stream": True}) as r:
                it = events(r)
                assert next(it)[0] == "start"
                srv.proc.send_signal(signal.SIGTERM)
                last = list(it)[-1]
        code = srv.proc.wait(30)
    finally:
        srv.stop()
    assert last[0] == "done" and last[1]["finish_reasons"] == ["cancelled"], last
    assert code == 0, (code, srv.stderr)
    assert sums() == before, "the server wrote into the run"
    return "warned and served 'previous'; stream ended 'cancelled'; exit 0; run unchanged"


@case("sample/info/eval while the run saves every step", "every read finds a whole checkpoint",
      fast=True)
def reads_during_saves(tmp: Path) -> str:
    run = trained(tmp, 2)
    proc = spawn("train", "--resume", run, "--max-steps", 10**6, "--set",
                 "train.save_every=1", "--set", "train.epochs=100000")
    reads = 0
    try:
        wait_for_step(run, proc, 2)  # the trainer is saving before the reads begin
        start = step_of(run)
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline and reads < READS:
            for args in (["sample", run, "--length", 5, "--checkpoint", "last"], ["info", run]):
                p = ok(textgen(*args))
                assert "warning:" not in p.stderr + p.stdout, p.stderr  # never a torn file
                reads += 1
        assert step_of(run) > start, "the trainer saved nothing during the reads"
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=60)
    return f"{reads} reads while it saved steps {start} to {step_of(run)}, all whole"


@case("soak: 2,000 steps, a checkpoint every 10", "memory and open files stay flat")
def soak(tmp: Path) -> str:
    run = tmp / "run"
    proc = spawn("train", corpus(tmp), "--out", run, "--max-steps", 2000, *sets(
        "train.save_every=10", "train.epochs=100000", "train.eval_every=100"),
        log=tmp / "soak.log")
    samples = []  # (step, RSS MiB, open files)
    while proc.poll() is None:
        try:
            status = Path(f"/proc/{proc.pid}/status").read_text()
            rss = int(status.split("VmRSS:")[1].split()[0]) / 1024
            samples.append((step_of(run), rss, len(os.listdir(f"/proc/{proc.pid}/fd"))))
        except Exception:  # noqa: BLE001 -- no checkpoint yet, or the process just ended
            pass
        time.sleep(0.2)
    assert proc.returncode == 0, (tmp / "soak.log").read_text(encoding="utf-8")[-500:]
    assert step_of(run) == 2000
    settled = [s for s in samples if s[0] >= 200]  # after warm-up and the first validations
    first, last = settled[0], settled[-1]
    assert last[1] - first[1] < 50, f"RSS grew from {first[1]:.0f} to {last[1]:.0f} MiB"
    assert last[2] <= first[2], f"open files grew from {first[2]} to {last[2]}"
    return (f"step {first[0]:,} -> {last[0]:,}: RSS {first[1]:.0f} -> {last[1]:.0f} MiB, "
            f"open files {first[2]} -> {last[2]}")


# === Bad input ===

def _binary(t: Path) -> Path:
    return _write(t / "b.txt", os.urandom(5000))


def _empty_dir(t: Path) -> Path:
    (t / "empty").mkdir()
    return t / "empty"


def _non_text_dir(t: Path) -> Path:
    (t / "d").mkdir()
    _write(t / "d" / "x.txt", b"\x00\x01" * 900)
    _write(t / "d" / "y.bin", os.urandom(900))
    return t / "d"


def _mixed(t: Path) -> Path:
    return _write(t / "m.txt", "é".encode() + b"\xe9\xff\xfe abc" * 50)


BAD = {"random binary file": (_binary, "binary"), "empty directory": (_empty_dir, "no usable"),
       "directory of non-text files": (_non_text_dir, "no usable"),
       "mixed encodings in one file": (_mixed, "encoding")}


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@case("bad corpora (binary, empty dir, non-text dir, mixed encodings)",
      "one Error: line each, nothing created")
def bad_corpora(tmp: Path) -> str:
    out = []
    for label, (make, needle) in BAD.items():
        where = tmp / label.replace(" ", "-")
        where.mkdir()
        p = textgen("train", make(where), "--out", where / "run", *sets())
        one_error_line(p, needle)
        assert not (where / "run").exists(), label
        out.append(label.split()[0])
    return f"{len(out)} refused"


@case("absurd options", "one Error: line each")
def absurd(tmp: Path) -> str:
    c = corpus(tmp)
    cases = [(["--set", "data.batch_size=0"], "batch_size"),
             (["--set", "data.seq_len=10000000"], "seq_len"),
             (["--set", "model.units=-1"], "units"), (["--epochs", "-3"], "epochs"),
             (["--set", "train.lr=1e9", "--set", "train.clip_norm=0", "--max-steps", "60"],
              "lr")]
    for args, needle in cases:
        one_error_line(textgen("train", c, "--out", tmp / "r", *sets(), *args), needle)
    (tmp / "t").mkdir()
    run = trained(tmp / "t", 2)
    one_error_line(textgen("sample", run, "--temperature", "nan"), "temperature")
    one_error_line(textgen("sample", run, "--prime", "\x01\x02\x03"), "never saw")
    bad = tmp / "bad.toml"
    bad.write_text("[model]\nunits = = 3\n", encoding="utf-8")
    one_error_line(textgen("train", c, "--config", bad), "line 2")
    return f"{len(cases) + 3} refused"


@case("a 50 MB single line", "trains (character model)")
def one_long_line(tmp: Path) -> str:
    line = ("All work and no play makes Jack a dull boy. " * 1_200_000)[:50_000_000]
    c = corpus(tmp, line, "line.txt")
    t0 = time.perf_counter()
    ok(textgen("train", c, "--out", tmp / "run", "--max-steps", 2, *sets()))
    return f"trained 2 steps in {time.perf_counter() - t0:.0f} s"


@case("strange but valid text", "trains, samples; tokenize -> detokenize is exact", fast=True)
def strange_text(tmp: Path) -> str:
    text = ("👩‍👩‍👧‍👦 family, e\u0301 combining, עברית מימין לשמאל, 𠀀𪚥 astral, "
            "مرحبا بالعالم\n") * 120
    run = tmp / "run"
    ok(textgen("train", corpus(tmp, text), "--out", run, "--max-steps", 3, *sets()))
    sys.path.insert(0, str(ROOT))
    from textgen.data.tokenizers import load_tokenizer

    tok = load_tokenizer(run / "vocab.json")
    assert tok.decode(tok.encode(text)) == text
    ok(textgen("sample", run, "--length", 30, "--prime", "👩‍👩‍👧‍👦"))
    return "round trip exact; sampled from an emoji prompt"


def main() -> None:
    global KILLS, READS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="only the fast subset")
    parser.add_argument("--kills", type=int, default=None, help="SIGKILLs (default 20; 3 fast)")
    parser.add_argument("-k", dest="only", default="", help="run cases whose name has this")
    args = parser.parse_args()
    KILLS = args.kills or (3 if args.fast else 20)
    READS = 6 if args.fast else 20
    chosen = [c for c in CASES if (c.fast or not args.fast) and args.only in c.name]
    rows, failed, t0 = [], 0, time.perf_counter()
    for c in chosen:
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            try:
                observed, status = c.run(Path(tmp)), "pass"
            except Exception as e:  # noqa: BLE001 -- a failing case is a row, not a crash
                observed = f"{type(e).__name__}: {e}".replace("\n", " ")[:200]
                status, failed = "FAIL", failed + 1
                if os.environ.get("FAULT_MATRIX_DEBUG"):
                    traceback.print_exc()
        rows.append((c.name, c.expected, observed, status, time.perf_counter() - start))
        print(f"{status:4}  {c.name}  ({rows[-1][4]:.0f} s)", file=sys.stderr, flush=True)
    print("| case | expected | observed | result |\n|---|---|---|---|")
    for name, expected, observed, status, _ in rows:
        print(f"| {name} | {expected} | {observed.replace('|', '/')} | {status} |")
    print(f"\n{len(rows) - failed}/{len(rows)} passed in {time.perf_counter() - t0:.0f} s")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
