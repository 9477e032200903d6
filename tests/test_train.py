import csv

import numpy as np
import pytest

from tests.conftest import tiny_config
from textgen.errors import IncompatibleCheckpoint
from textgen.model.network import recurrent_layers
from textgen.run.directory import RunDir
from textgen.run.opening import new_run, open_run
from textgen.train.reporter import Reporter
from textgen.train.trainer import Trainer


def _train(corpus, out, max_steps, resume=False, **cfg):
    if resume:
        config, run, enc = open_run(out, [f"train.max_steps={max_steps}"])
        trainer = Trainer(config, enc, run)
        trainer.resume()
    else:
        config = tiny_config(train__max_steps=max_steps, **cfg)
        run, enc, _ = new_run(config, [corpus], out)
        trainer = Trainer(config, enc, run)
    result = trainer.fit()
    return trainer, result


def _variables(trainer):
    return [v.numpy() for v in trainer.model.variables + trainer.optimizer.variables]


# Inside the first epoch; across an epoch boundary; the bfloat16 path too; with weight
# drop (its random generator) and weight decay.
@pytest.mark.parametrize(("n", "precision", "regularise"), [
    (7, "float32", False), (30, "float32", False), (30, "mixed_bfloat16", False),
    (7, "float32", True),
])
def test_resume_is_exact(tiny_corpus, tmp_path, n, precision, regularise):
    kw = dict(data__batch_size=8, data__seq_len=24, model__dropout=0.1, train__epochs=5,
              train__precision=precision, train__eval_every=4)
    if regularise:
        kw.update(model__weight_drop=0.3, train__weight_decay=0.5)
    straight, r1 = _train(tiny_corpus, tmp_path / "a", 2 * n, **kw)
    _, half = _train(tiny_corpus, tmp_path / "b", n, **kw)
    assert half.stop_reason == "max_steps" and half.state.step == n
    resumed, r2 = _train(tiny_corpus, tmp_path / "b", 2 * n, resume=True)
    assert r1.state.step == r2.state.step == 2 * n
    assert r1.state.epoch == r2.state.epoch and r1.state.batch_in_epoch == r2.state.batch_in_epoch
    for a, b in zip(_variables(straight), _variables(resumed), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5)
    layers = zip(recurrent_layers(straight.model), recurrent_layers(resumed.model), strict=True)
    for la, lb in layers:
        for sa, sb in zip(la.states, lb.states, strict=True):
            np.testing.assert_allclose(sa.numpy(), sb.numpy(), atol=1e-5)


def test_weight_decay_shrinks_the_weights(tiny_corpus, tmp_path):
    def norm(trainer):
        return sum(float(np.sum(v.numpy() ** 2)) for v in trainer.model.trainable_variables)

    plain, _ = _train(tiny_corpus, tmp_path / "a", 5)
    decayed, _ = _train(tiny_corpus, tmp_path / "b", 5, train__weight_decay=20.0)
    # 5 steps at lr 2e-3 x 20: each weight times about (1 - 0.04)^5 = 0.82, squared 0.66.
    assert norm(decayed) < 0.8 * norm(plain)


def test_epochs_write_metrics_best_checkpoint_and_reset_state(tiny_corpus, tmp_path):
    trainer, result = _train(tiny_corpus, tmp_path / "r", 0, train__epochs=2)
    run = RunDir(tmp_path / "r")
    assert result.stop_reason == "done" and result.state.epoch == 2
    assert run.has_checkpoint("last") and run.has_checkpoint("best")
    with open(run.metrics, encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["step", "epoch", "train_loss", "val_loss", "val_bpc",
                             "tokens_per_s", "lr", "elapsed_s"]
    epoch_rows = [r for r in rows if r["val_loss"]]
    assert [float(r["epoch"]) for r in epoch_rows] == [1.0, 2.0]
    for r in epoch_rows:  # char model: bits/char = nats/token / ln 2 (same token count)
        assert float(r["val_bpc"]) == pytest.approx(float(r["val_loss"]) / np.log(2), rel=1e-3)
    assert float(epoch_rows[1]["val_loss"]) < float(rows[0]["train_loss"])  # it learned
    # After validation the state is zero again, so the next epoch starts fresh.
    assert all(not np.any(s.numpy()) for layer in recurrent_layers(trainer.model)
               for s in layer.states)
    # Validation does not depend on whatever state training left behind.
    before = trainer.evaluate()
    for layer in recurrent_layers(trainer.model):
        for s in layer.states:
            s.assign(np.ones(s.shape, dtype=np.float32))
    assert trainer.evaluate() == pytest.approx(before, rel=1e-6)


def test_resume_drops_metrics_rows_after_the_checkpoint(tiny_corpus, tmp_path):
    _train(tiny_corpus, tmp_path / "r", 10)
    run = RunDir(tmp_path / "r")
    with open(run.metrics, "a", encoding="utf-8") as f:
        f.write("999,9.0,1.0,,,1.0,0.002,1.0\n")  # a row logged after the last save
    _train(tiny_corpus, tmp_path / "r", 15, resume=True)
    with open(run.metrics, encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["step"]) for r in rows if r["train_loss"]] == [5, 10, 15]
    assert [int(r["step"]) for r in rows if r["val_loss"]] == [10, 15]  # each stop validates


def test_plain_resume_trains_past_an_earlier_step_limit(tiny_corpus, tmp_path):
    _train(tiny_corpus, tmp_path / "r", 4, train__epochs=1)
    cfg, run, enc = open_run(tmp_path / "r", [])
    assert cfg.train.max_steps == 0  # the limit ended the first session only
    trainer = Trainer(cfg, enc, run)
    trainer.resume()
    result = trainer.fit()
    assert result.stop_reason == "done" and result.state.epoch == 1
    assert result.state.step == len(trainer.batches)


def test_resume_refuses_model_changes_but_allows_a_new_learning_rate(tiny_corpus, tmp_path):
    _train(tiny_corpus, tmp_path / "r", 2)
    with pytest.raises(IncompatibleCheckpoint, match="cannot change model.units"):
        open_run(tmp_path / "r", ["model.units=32"])
    cfg, run, enc = open_run(tmp_path / "r", ["train.lr=0.0005", "train.max_steps=3"])
    assert cfg.train.lr == 0.0005
    trainer = Trainer(cfg, enc, run)
    trainer.resume()  # restores the optimizer, whose saved rate is the old 0.002
    trainer.fit()
    assert float(trainer.optimizer.learning_rate) == pytest.approx(0.0005)


def test_small_layouts_are_warned_about(tiny_corpus, tmp_path):
    cfg = tiny_config(data__batch_size=16, data__seq_len=16, data__val_frac=0.002)
    run, enc, _ = new_run(cfg, [tiny_corpus], tmp_path / "r")
    notices = Trainer(cfg, enc, run).notices()
    assert any(n.startswith("warning: only 27 batches per epoch") for n in notices), notices
    assert any("no validation" in n for n in notices), notices
    quiet = tiny_config(data__batch_size=2, data__seq_len=16)
    run, enc, _ = new_run(quiet, [tiny_corpus], tmp_path / "q")
    assert Trainer(quiet, enc, run).notices() == []


class _Seen(Reporter):
    def __init__(self):
        self.starts, self.validations = [], []

    def start(self, step, total_steps):
        self.starts.append((step, total_steps))

    def validated(self, summary):
        self.validations.append(summary)


def test_validation_inside_an_epoch_leaves_training_untouched(tiny_corpus, tmp_path):
    plain, _ = _train(tiny_corpus, tmp_path / "plain", 7, train__eval_every=0)
    config = tiny_config(train__max_steps=7, train__eval_every=3)
    run, enc, _ = new_run(config, [tiny_corpus], tmp_path / "mid")
    trainer, seen = Trainer(config, enc, run), _Seen()
    assert 7 < len(trainer.batches)  # the validations fall inside the first epoch
    result = trainer.fit(seen)
    # Same weights and carried state as without the validations in between.
    for a, b in zip(_variables(plain), _variables(trainer), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)
    for la, lb in zip(recurrent_layers(plain.model), recurrent_layers(trainer.model),
                      strict=True):
        for sa, sb in zip(la.states, lb.states, strict=True):
            np.testing.assert_allclose(sa.numpy(), sb.numpy(), atol=1e-6)
    # Every 3 steps, and at the stop (step 7).
    assert [v.step for v in seen.validations] == [3, 6, 7] and seen.starts == [(0, 7)]
    assert RunDir(run.path).has_checkpoint("best")  # before any epoch ended
    assert result.state.best_val_loss == min(v.val_loss for v in seen.validations)
    with open(run.metrics, encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [r["step"] for r in rows if r["val_loss"]] == ["3", "6", "7"]
    assert rows[-2]["step"] == "7" and rows[-2]["train_loss"]  # the row at the stop,
    assert rows[-1]["step"] == "7" and not rows[-1]["train_loss"]  # then its validation


def test_every_stop_writes_a_metrics_row_and_the_bar_knows_the_total(tiny_corpus, tmp_path):
    trainer, _ = _train(tiny_corpus, tmp_path / "r", 3)  # log_every is 5
    with open(trainer.run.metrics, encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [r["step"] for r in rows] == ["3", "3"] and float(rows[0]["train_loss"]) > 0
    assert rows[1]["val_loss"] and not rows[1]["train_loss"]  # the stop's validation
    config, run, enc = open_run(tmp_path / "r", ["train.epochs=1"])
    again, seen = Trainer(config, enc, run), _Seen()
    again.resume()
    again.fit(seen)
    assert seen.starts == [(3, len(again.batches))]  # the rest of epoch 1


def _count_last_saves(monkeypatch) -> list[int]:
    """Wraps the real checkpoint writer; returns the steps at which 'last' is written."""
    import textgen.train.saving as saving

    steps, real = [], saving.save_checkpoint

    def counting(run, name, model, state, optimizer=None):
        if name == "last":
            steps.append(state.step)
        real(run, name, model, state, optimizer)

    monkeypatch.setattr(saving, "save_checkpoint", counting)
    return steps


# A normal end: the last epoch done (the epoch end saved), max_steps on a step save,
# an early stop at an epoch end (validation only there).
@pytest.mark.parametrize(("kw", "reason", "saved_at"), [
    (dict(train__epochs=1, train__save_every=1000), "done", lambda n: [0, n]),
    (dict(train__max_steps=10, train__save_every=5), "max_steps", lambda n: [0, 5, 10]),
    (dict(train__epochs=4, train__lr=0.0, train__patience=1, train__save_every=1000),
     "early_stop", lambda n: [0, n, 2 * n]),
])
def test_a_normal_end_saves_last_once(tiny_corpus, tmp_path, monkeypatch, kw, reason,
                                      saved_at):
    steps = _count_last_saves(monkeypatch)
    config = tiny_config(**kw)
    run, enc, _ = new_run(config, [tiny_corpus], tmp_path / "r")
    trainer = Trainer(config, enc, run)
    result = trainer.fit()
    n = len(trainer.batches)
    assert result.stop_reason == reason
    assert steps == saved_at(n)  # the step-0 save, then each state once
    # What 'last' holds is the final state, and a resume starts from exactly it.
    ckpt = RunDir(run.path).read_checkpoint("last")
    assert ckpt.state == result.state == RunDir(run.path).read_state()
    for i, v in enumerate(trainer.model.variables):
        np.testing.assert_array_equal(ckpt.arrays[f"model/{i}"], v.numpy())
    for i, v in enumerate(trainer.optimizer.variables):
        np.testing.assert_array_equal(ckpt.arrays[f"optimizer/{i}"], v.numpy())
    cfg, run2, enc2 = open_run(tmp_path / "r", [])
    resumed = Trainer(cfg, enc2, run2)
    resumed.resume()
    assert resumed.state == result.state
    for a, b in zip(_variables(trainer), _variables(resumed), strict=True):
        np.testing.assert_array_equal(a, b)


def test_resume_after_a_finished_epoch_is_exact(tiny_corpus, tmp_path):
    """The epoch end's save is the only one: training on from it equals training straight."""
    straight, r1 = _train(tiny_corpus, tmp_path / "a", 0, train__epochs=2)
    _, first = _train(tiny_corpus, tmp_path / "b", 0, train__epochs=1)
    assert first.stop_reason == "done"
    config, run, enc = open_run(tmp_path / "b", ["train.epochs=2"])
    resumed = Trainer(config, enc, run)
    resumed.resume()
    r2 = resumed.fit()
    assert r1.state.step == r2.state.step and r2.state.epoch == 2
    for a, b in zip(_variables(straight), _variables(resumed), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5)
