"""Every stop validates: --max-steps, --max-time and Ctrl-C/SIGTERM leave a 'best'
judged at the step 'last' holds, and `info` says at which step each figure was taken."""

from __future__ import annotations

import csv
import os
import signal

import numpy as np
import pytest

from tests.conftest import edit_checkpoint_meta, tiny_config
from textgen.run.directory import RunDir
from textgen.run.opening import new_run, open_run
from textgen.run.records import TrainState
from textgen.run.report import describe_run
from textgen.train.reporter import Reporter
from textgen.train.trainer import Trainer


def _new(corpus, out, **kw) -> Trainer:
    # eval_every 0: without the stop's validation there would be none before an epoch end.
    cfg = tiny_config(train__eval_every=0, **kw)
    run, enc, _ = new_run(cfg, [corpus], out)
    return Trainer(cfg, enc, run)


def _resumed(out, *sets) -> Trainer:
    cfg, run, enc = open_run(out, list(sets))
    trainer = Trainer(cfg, enc, run)
    trainer.resume()
    return trainer


def _validation_steps(run: RunDir) -> list[int]:
    with open(run.metrics, encoding="utf-8") as f:
        return [int(r["step"]) for r in csv.DictReader(f) if r["val_loss"]]


def _assert_validated_at_the_stop(trainer: Trainer, state: TrainState) -> None:
    """'last' and state.json hold the final state, validated at its own step, and 'best'
    is the weights of that validation when it was the best."""
    run = RunDir(trainer.run.path)
    assert state.last_val_step == state.step > 0
    assert state.last_val_loss is not None and state.best_val_loss is not None
    assert run.read_checkpoint("last").state == state == run.read_state()
    best = run.read_checkpoint("best")
    assert best.state.step == state.best_val_step
    if state.best_val_step == state.step:  # the stop's validation was the best
        last = run.read_checkpoint("last")
        for key, value in best.arrays.items():
            if key.startswith("model/"):
                np.testing.assert_array_equal(value, last.arrays[key])
    assert state.step in _validation_steps(run)


def test_a_stop_by_max_steps_validates_and_saves_best(tiny_corpus, tmp_path):
    trainer = _new(tiny_corpus, tmp_path / "r", train__max_steps=7)
    assert 7 < len(trainer.batches)  # the stop falls inside the first epoch
    result = trainer.fit()
    assert result.stop_reason == "max_steps"
    _assert_validated_at_the_stop(trainer, result.state)
    assert result.state.best_val_step == 7 and _validation_steps(trainer.run) == [7]
    # A resume that trains on validates at its own stop; one with nothing to train
    # does not validate step 14 again.
    again = _resumed(tmp_path / "r", "train.max_steps=14")
    second = again.fit()
    _assert_validated_at_the_stop(again, second.state)
    assert _validation_steps(again.run) == [7, 14]
    idle = _resumed(tmp_path / "r", "train.max_steps=14")
    assert idle.fit().state == second.state
    assert _validation_steps(idle.run) == [7, 14]


def test_a_stop_on_a_validated_step_does_not_validate_it_again(tiny_corpus, tmp_path):
    cfg = tiny_config(train__eval_every=7, train__max_steps=7, train__save_every=7)
    run, enc, _ = new_run(cfg, [tiny_corpus], tmp_path / "r")
    trainer = Trainer(cfg, enc, run)
    result = trainer.fit()
    _assert_validated_at_the_stop(trainer, result.state)
    assert _validation_steps(trainer.run) == [7]


def test_a_stop_by_max_time_validates_and_saves_best(tiny_corpus, tmp_path):
    # A budget far shorter than the 1000 epochs: whatever step the time runs out at,
    # that step is validated (nothing is asserted about time itself).
    trainer = _new(tiny_corpus, tmp_path / "r", train__epochs=1000, train__max_time="1")
    result = trainer.fit()
    assert result.stop_reason == "max_time"
    _assert_validated_at_the_stop(trainer, result.state)


class _Signals(Reporter):
    """Sends this process `signum` after training step `at`, and again (a user who
    insists) when the validation that follows has finished, if `twice`."""

    def __init__(self, signum: int, at: int, twice: bool = False):
        self.signum, self.at, self.twice, self.validations = signum, at, twice, []

    def step(self, step, loss, tokens_per_s):
        if step == self.at:
            os.kill(os.getpid(), self.signum)

    def validated(self, summary):
        self.validations.append(summary.step)
        if self.twice:
            os.kill(os.getpid(), self.signum)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_and_sigterm_validate_before_saving(tiny_corpus, tmp_path, signum):
    trainer = _new(tiny_corpus, tmp_path / "r")
    seen = _Signals(signum, at=3)
    result = trainer.fit(seen)
    assert result.stop_reason == "interrupted" and result.state.step == 3
    assert seen.validations == [3]
    _assert_validated_at_the_stop(trainer, result.state)
    assert "validation   best" in describe_run(trainer.run.path)


def test_a_second_ctrl_c_during_that_validation_still_aborts_and_keeps_the_steps(
        tiny_corpus, tmp_path):
    trainer = _new(tiny_corpus, tmp_path / "r", train__save_every=1000)
    with pytest.raises(KeyboardInterrupt):
        trainer.fit(_Signals(signal.SIGINT, at=3, twice=True))
    saved = RunDir(trainer.run.path).read_checkpoint("last").state
    assert saved.step == 3  # not the step-0 save: the steps trained are kept
    assert saved == RunDir(trainer.run.path).read_state()


def test_info_names_the_step_of_each_checkpoint_and_validation_figure(tiny_corpus, tmp_path):
    trainer = _new(tiny_corpus, tmp_path / "r", train__max_steps=12, train__keep=2,
                   train__save_every=5)
    state = trainer.fit().state
    text = describe_run(trainer.run.path)
    line = next(x for x in text.splitlines() if x.startswith("validation"))
    assert line.count("at step 12") == 2, line  # best and last, both at the stop
    line = next(x for x in text.splitlines() if x.startswith("checkpoints"))
    assert line == ("checkpoints  last (step 12), previous (step 10), best (step 12), "
                    "step-10, step-12"), line
    assert state.best_val_step == 12


def _as_before_the_steps_were_kept(run: RunDir) -> None:
    """Rewrites 'last' as a textgen that kept no validation steps wrote it."""
    def drop(meta: dict) -> None:
        for new in ("best_val_step", "last_val_step"):
            del meta["state"][new]

    edit_checkpoint_meta(run.checkpoint("last"), drop)


def test_an_older_run_resumed_with_nothing_to_train_does_not_validate_again(
        tiny_corpus, tmp_path):
    trainer = _new(tiny_corpus, tmp_path / "r", train__epochs=1)
    n = trainer.fit().state.step  # validated at the epoch end
    _as_before_the_steps_were_kept(RunDir(trainer.run.path))
    again = _resumed(tmp_path / "r", f"train.max_steps={n}", "train.epochs=2")
    assert again.fit().stop_reason == "max_steps"
    assert _validation_steps(again.run) == [n]


def test_info_of_a_run_from_before_the_steps_were_kept(tiny_corpus, tmp_path):
    """Progress without best_val_step/last_val_step: best's step is best.npz's own, and
    no step is claimed for the last figure."""
    trainer = _new(tiny_corpus, tmp_path / "r", train__max_steps=7)
    trainer.fit()
    run = RunDir(trainer.run.path)
    _as_before_the_steps_were_kept(run)
    old = run.read_checkpoint("last").state
    assert old.best_val_step is None and old.last_val_step is None
    line = next(x for x in describe_run(run.path).splitlines() if x.startswith("validation"))
    best, last = line.split(";")
    assert best.endswith("at step 7") and "at step" not in last, line


def test_stop_validations_do_not_count_towards_patience(tiny_corpus, tmp_path):
    """A run stopped (and resumed) every few steps reaches early stopping no sooner:
    only epoch ends and train.eval_every count a validation without a new best."""
    out = tmp_path / "r"
    trainer = _new(tiny_corpus, out, train__max_steps=3, train__lr=0.0, train__patience=2,
                   train__epochs=50)
    trainer.fit()  # the first validation (at the stop) is the best
    for steps in (5, 7, 9, 11):  # four more stops inside the first epoch, none better
        trainer = _resumed(out, f"train.max_steps={steps}")
        result = trainer.fit()
        assert result.stop_reason == "max_steps"
        assert result.state.last_val_step == steps
    assert result.state.bad_validations == 0 and not trainer.early_stopped


def test_a_signal_stop_saves_the_steps_before_it_validates(tiny_corpus, tmp_path):
    """A scheduler's SIGKILL may follow its SIGTERM within seconds: the steps are on disk
    before the (possibly long) validation starts."""
    trainer = _new(tiny_corpus, tmp_path / "r", train__save_every=1000)
    on_disk = []

    class Peek(_Signals):
        def validated(self, summary):
            on_disk.append(RunDir(trainer.run.path).read_checkpoint("last").state.step)

    result = trainer.fit(Peek(signal.SIGTERM, at=3))
    assert result.stop_reason == "interrupted" and on_disk == [3]
    assert RunDir(trainer.run.path).read_checkpoint("last").state == result.state


def test_a_stops_new_best_does_not_raise_the_bar_patience_judges_by(tiny_corpus, tmp_path):
    """Patience 2: scheduled validations 1.00, then (a stop's 0.97), then 0.98 is still an
    improvement on the scheduled 1.00, as in an uninterrupted run; 'best' is the stop's."""
    trainer = _new(tiny_corpus, tmp_path / "r", train__patience=2)
    reporter = Reporter()
    for loss, scheduled, bad in [(1.00, True, 0), (0.97, False, 0), (0.98, True, 0),
                                 (0.99, True, 1), (0.96, False, 1), (0.975, True, 0)]:
        trainer._record_validation(loss, loss * 1.4, reporter, scheduled)
        assert trainer.state.bad_validations == bad, (loss, scheduled)
    assert trainer.state.best_val_loss == 0.96 and trainer.state.patience_bar == 0.975
    old = TrainState(best_val_loss=0.9)  # a state.json from before patience_bar
    assert TrainState.from_dict({k: v for k, v in old.to_dict().items()
                                 if k != "patience_bar"}).patience_bar is None
