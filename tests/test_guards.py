"""Guards and reports around training: exploding loss, loss plateau, a corpus of tables."""

import json

import numpy as np
import pytest

from tests.conftest import TINY_TEXT, edit_checkpoint_meta, tiny_config
from tests.test_cli import assert_user_error, invoke, sets
from textgen.errors import TrainingDiverged
from textgen.run.directory import RunDir
from textgen.run.opening import new_run
from textgen.train.reporter import Reporter
from textgen.train.trainer import Trainer


class _Warnings(Reporter):
    def __init__(self):
        self.messages = []

    def warning(self, message):
        self.messages.append(message)


def _trainer(tmp_path, text=TINY_TEXT, **overrides):
    tmp_path.mkdir(parents=True, exist_ok=True)
    corpus = tmp_path / "c.txt"
    corpus.write_text(text, encoding="utf-8")
    cfg = tiny_config(**overrides)
    run, enc, _ = new_run(cfg, [corpus], tmp_path / "run")
    return Trainer(cfg, enc, run)


def test_an_exploding_loss_stops_training_and_keeps_the_last_good_checkpoint(tmp_path):
    trainer = _trainer(tmp_path, train__lr=10.0, train__clip_norm=0.0, train__max_steps=50)
    with pytest.raises(TrainingDiverged, match=r"exploded to .* 3x its first value"):
        trainer.fit()
    assert RunDir(trainer.run.path).read_state().step == 0  # the step-0 checkpoint, untouched
    assert trainer.state.first_loss == pytest.approx(np.log(trainer.enc.tokenizer.vocab_size),
                                                     rel=0.1)


def test_a_run_that_starts_low_is_not_taken_for_an_explosion(tmp_path):
    """Fine-tuned and resumed runs can start far below the uniform guess; 3x a tiny
    first loss is not an explosion while the loss stays below a uniform guess."""
    trainer = _trainer(tmp_path, train__max_steps=10)
    trainer.state.first_loss = 0.05  # as if the run had started nearly perfect
    assert trainer.fit().stop_reason == "max_steps"


def test_the_explosion_guard_is_a_one_line_error_with_the_fix(tmp_path, tiny_corpus):
    result = invoke("train", tiny_corpus, "--out", tmp_path / "r",
                    *sets("train.lr=10", "train.clip_norm=0"))
    assert_user_error(result, "exploded")
    assert "--set train.lr=2.5" in result.stderr


def test_a_model_stuck_at_the_unigram_loss_is_warned_about_once(tmp_path, monkeypatch):
    import textgen.train.guards

    monkeypatch.setattr(textgen.train.guards, "PLATEAU_STEPS", 20)  # a tiny run's "long training"
    early = _trainer(tmp_path / "e", train__lr=0.0, train__max_steps=19, train__eval_every=5)
    seen = _Warnings()
    early.fit(seen)
    assert seen.messages == []  # too early to tell
    stuck = _trainer(tmp_path / "a", train__lr=0.0, train__epochs=2)
    seen = _Warnings()
    stuck.fit(seen)
    assert len(seen.messages) == 1 and "near the unigram loss" in seen.messages[0]
    learning = _trainer(tmp_path / "b", "abcd" * 2000, train__lr=0.01, train__epochs=1)
    seen = _Warnings()
    learning.fit(seen)
    assert seen.messages == []
    assert learning.stats.unigram_loss() == pytest.approx(np.log(4), rel=1e-3)


def test_a_corpus_of_tables_is_warned_about_before_training(tmp_path):
    table = ("│ name  │ value │\n├───────┼───────┤\n│ alpha │ 12    │\n") * 120
    corpus = tmp_path / "tables.txt"
    corpus.write_text(table, encoding="utf-8")
    result = invoke("train", corpus, "--out", tmp_path / "r", "--max-steps", 1, *sets())
    assert result.exit_code == 0, result.output
    assert "a few symbols dominate the corpus (box-drawing characters" in result.stderr
    assert "unigram loss (guessing by frequency)" in result.stderr
    prose = tmp_path / "prose.txt"
    prose.write_text(TINY_TEXT, encoding="utf-8")
    quiet = invoke("train", prose, "--out", tmp_path / "p", "--max-steps", 1, *sets())
    assert quiet.exit_code == 0 and "warning: a few symbols" not in quiet.stderr
    # Words: a space is one token in two, but a sixth of the characters; no warning.
    words = invoke("train", prose, "--out", tmp_path / "w", "--max-steps", 1,
                   *sets("data.tokenizer=word"))
    assert words.exit_code == 0, words.output
    assert "spaces and tabs" not in words.stderr and "whitespace 1" in words.stderr


def test_info_shows_bits_per_char_time_and_plain_encoding_names(tmp_path, tiny_corpus):
    out = tmp_path / "r"
    assert invoke("train", tiny_corpus, "--out", out, *sets("train.epochs=1")).exit_code == 0
    info = invoke("info", out).stdout
    assert "bits/char" in info and "tokens seen" in info and "of training" in info
    assert "(utf-8)" in info and "utf-8-sig" not in info


def test_checkpoints_from_before_new_progress_fields_still_load(tmp_path, tiny_corpus):
    out = tmp_path / "r"
    assert invoke("train", tiny_corpus, "--out", out, "--max-steps", 2, *sets()).exit_code == 0
    def drop(meta: dict) -> None:
        for new in ("best_val_bpc", "last_val_bpc", "first_loss", "best_val_step",
                    "last_val_step"):
            del meta["state"][new]

    edit_checkpoint_meta(RunDir(out).checkpoint("last"), drop)
    assert RunDir(out).read_checkpoint("last").state.step == 2
    assert invoke("train", "--resume", out, "--max-steps", 3).exit_code == 0


def test_each_schedule_gives_its_learning_rate_at_given_steps():
    from textgen.config import Config
    from textgen.train.schedule import learning_rate

    cfg = Config()
    cfg.train.lr, cfg.train.epochs = 0.01, 4
    cfg.train.schedule = "constant"
    assert {learning_rate(cfg, s, e, 100) for s, e in ((0, 0), (250, 2))} == {0.01}
    cfg.train.schedule, cfg.train.lr_decay, cfg.train.decay_after = "decay", 0.5, 1
    assert [learning_rate(cfg, 0, e, 100) for e in range(4)] == [0.01, 0.01, 0.005, 0.0025]
    cfg.train.schedule, cfg.train.warmup_steps = "cosine", 10
    got = [learning_rate(cfg, s, s // 100, 100) for s in (0, 4, 9, 10, 205, 399, 10**6)]
    assert got[:3] == pytest.approx([0.001, 0.005, 0.01])  # linear warm-up
    assert got[3] == pytest.approx(0.01)  # the peak
    assert got[4] == pytest.approx(0.0055, rel=1e-2)  # halfway: between lr and lr/10
    assert got[5] == pytest.approx(0.001, rel=1e-3) and got[6] == pytest.approx(0.001)
    cfg.train.max_steps = 110  # a session's step limit does not bend the curve
    assert learning_rate(cfg, 205, 2, 100) == got[4]


def test_early_stopping_and_checkpoint_rotation(tmp_path):
    trainer = _trainer(tmp_path, train__lr=0.0, train__eval_every=2, train__patience=2,
                       train__save_every=2, train__keep=2, train__epochs=3)
    result = trainer.fit()
    # Validations at steps 2 (the best), 4 and 6 (no better): stop after the second.
    assert result.stop_reason == "early_stop" and result.state.step == 6
    kept = [p.name for p in RunDir(trainer.run.path).step_checkpoints()]
    assert kept == ["step-000000004.npz", "step-000000006.npz"]
    assert RunDir(trainer.run.path).read_checkpoint("step-000000004").state.step == 4


def test_durations_parse_and_bad_ones_are_refused():
    from textgen.config import parse_duration
    from textgen.errors import ConfigError

    assert [parse_duration(t) for t in ("", "90s", "90", "30m", "2h", "1h30m", "1.5h")] == [
        0, 90, 90, 1800, 7200, 5400, 5400]
    for bad in ("soon", "1h30", "-5m", "1e3s"):
        with pytest.raises(ConfigError, match="duration such as"):
            parse_duration(bad)


def test_max_time_stops_the_session_and_saves(tmp_path, tiny_corpus):
    out = tmp_path / "r"
    result = invoke("train", tiny_corpus, "--out", out, "--max-time", "1s",
                    *sets("train.epochs=1000"))
    assert result.exit_code == 0, result.output
    assert "--max-time reached" in result.stderr
    step = RunDir(out).read_state().step
    assert 0 < step < 1000 * 40
    assert json.loads((out / "config.json").read_text(encoding="utf-8"))["train"][
        "max_time"] == "1s"
    assert_user_error(invoke("train", tiny_corpus, "--out", tmp_path / "b", "--max-time",
                             "soon", *sets()), "duration such as")


def test_samples_during_training_leave_training_untouched(tmp_path):
    plain = _trainer(tmp_path / "a", train__max_steps=10)
    plain.fit()
    sampling = _trainer(tmp_path / "b", train__max_steps=10, train__sample_every=5,
                        train__sample_length=30)
    seen = []

    class Samples(Reporter):
        def samples(self, step, samples):
            seen.append((step, [t for t, _ in samples]))

    sampling.fit(Samples())
    assert seen == [(5, [0.5, 0.8, 1.0]), (10, [0.5, 0.8, 1.0])]
    text = sampling.run.samples.read_text(encoding="utf-8")
    assert text.count("=== step 5, temperature") == 3 and "=== step 10, temperature 1.0 ===" in text
    for a, b in zip(plain.model.variables, sampling.model.variables, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_tensorboard_event_files_hold_losses_and_samples(tmp_path):
    from textgen.backend import tf

    trainer = _trainer(tmp_path, train__max_steps=10, train__tensorboard=True,
                       train__sample_every=10, train__sample_length=20, train__eval_every=5)
    trainer.fit()
    files = list((trainer.run.path / "tensorboard").glob("events.out.tfevents.*"))
    assert len(files) == 1
    tags = {v.tag for e in tf.compat.v1.train.summary_iterator(str(files[0]))
            for v in e.summary.value}
    assert {"loss/train", "loss/validation", "bits_per_char/validation", "learning_rate",
            "tokens_per_s", "sample/temperature_0.5"} <= tags


def test_resuming_an_early_stopped_run_says_what_to_change(tmp_path, tiny_corpus):
    out = tmp_path / "r"
    first = invoke("train", tiny_corpus, "--out", out, *sets(
        "train.lr=0", "train.eval_every=2", "train.patience=2", "train.epochs=50"))
    assert first.exit_code == 0 and "early stop" in first.stderr and "'best' checkpoint" in \
        first.stderr
    step = RunDir(out).read_state().step
    again = invoke("train", "--resume", out, "--epochs", 60)
    assert again.exit_code == 0 and "stopped early" in again.stderr
    assert RunDir(out).read_state().step == step  # not one step more
    more = invoke("train", "--resume", out, "--set", "train.patience=4")
    assert more.exit_code == 0 and RunDir(out).read_state().step == step + 4


def test_the_library_says_when_a_resume_has_nothing_to_do(tmp_path):
    from textgen.run.opening import open_run

    trainer = _trainer(tmp_path / "a", train__max_steps=4)
    trainer.fit()
    cfg, run, enc = open_run(trainer.run.path, ["train.max_steps=3"])
    again = Trainer(cfg, enc, run)
    again.resume()
    reason = again.nothing_to_do()
    assert reason.startswith(f"nothing to do for {run.path}: it is at step 4, at or past "
                             "--max-steps 3") and "--max-steps N (more than 4)" in reason
    cfg, run, enc = open_run(trainer.run.path, ["train.max_steps=5"])
    more = Trainer(cfg, enc, run)
    more.resume()
    assert more.nothing_to_do() is None
    done = _trainer(tmp_path / "b", train__epochs=1)
    done.fit()
    cfg, run, enc = open_run(done.run.path, [])
    finished = Trainer(cfg, enc, run)
    finished.resume()
    assert "it has finished its 1 epochs" in finished.nothing_to_do()
    early = _trainer(tmp_path / "c", train__lr=0.0, train__patience=1, train__epochs=5)
    assert early.fit().stop_reason == "early_stop"
    cfg, run, enc = open_run(early.run.path, ["train.epochs=9"])
    stopped = Trainer(cfg, enc, run)
    stopped.resume()
    assert "it stopped early (no better validation loss in 1 validations)" in \
        stopped.nothing_to_do()


def test_fitting_a_run_with_nothing_to_do_writes_nothing(tmp_path):
    """A Python caller that fits anyway trains nothing and leaves every file as it was:
    'previous' stays the real fallback, and train.keep makes no new step checkpoint."""
    import hashlib

    from textgen.run.opening import open_run

    done = _trainer(tmp_path / "run", train__epochs=1, train__keep=2)
    done.fit()
    checkpoints = done.run.path / "checkpoints"

    def digests():
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(checkpoints.iterdir())}

    before = digests()
    cfg, run, enc = open_run(done.run.path, [])
    finished = Trainer(cfg, enc, run)
    finished.resume()
    assert finished.nothing_to_do() is not None
    result = finished.fit()
    assert result.state.step == done.state.step
    assert digests() == before
