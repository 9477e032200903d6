"""The warning at the end of training when a model has not learnt (issue 22)."""

from __future__ import annotations

import os
import random
import shutil
import signal
from pathlib import Path

import pytest

from tests.conftest import tiny_config
from tests.test_cli import invoke, sets
from textgen.config import lookup
from textgen.run.directory import TrainState
from textgen.run.opening import new_run
from textgen.train import guards
from textgen.train.reporter import Reporter, TrainResult
from textgen.train.trainer import Trainer

EXCERPTS = Path(__file__).parent / "data" / "excerpts"
NOT_LEARNT = "warning: the model has learnt little"


def _random_text(n: int = 1500, seed: int = 0) -> str:
    """Characters drawn independently: nothing to learn beyond their frequencies."""
    rng = random.Random(seed)
    return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz .,\n") for _ in range(n))


def _corpus(tmp_path: Path, text: str, name: str = "c.txt") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _trainer(tmp_path: Path, text: str, preset_model: str | None = None,
             **overrides) -> Trainer:
    """A tiny trainer; with `preset_model`, that preset's model (batch shape kept tiny)."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    cfg = tiny_config(**overrides)
    if preset_model:
        preset = lookup.load(preset_model)
        cfg.model, cfg.data.tokenizer = preset.model, preset.data.tokenizer
    run, enc, _ = new_run(cfg, [_corpus(tmp_path, text)], tmp_path / "run")
    return Trainer(cfg, enc, run)


def _warning(trainer: Trainer, result: TrainResult, with_preset: bool = True) -> str | None:
    baseline = guards.Baseline.of(trainer.val_unigram, trainer.val_text, trainer.val_batches)
    return guards.unlearnt_warning(result, trainer.cfg, trainer.run.path, baseline,
                                   len(trainer.batches),
                                   enc=trainer.enc if with_preset else None)


def test_a_run_that_learnt_nothing_is_told_so_at_its_end(tmp_path):
    corpus = _corpus(tmp_path, _random_text())
    result = invoke("train", corpus, "--out", tmp_path / "r", *sets("train.epochs=1"))
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if line.startswith(NOT_LEARNT)]
    assert len(warnings) == 1, result.stderr
    (line,) = warnings
    assert "best validation" in line and "bits/char" in line and "the unigram loss" in line
    assert f"textgen train --resume {tmp_path / 'r'} --epochs" in line  # the fix, as a command
    # The tiny model is not the preset that suits ~1,500 characters of text.
    assert "char-small suits this corpus (a new run with --config char-small)" in line
    assert result.stderr.rstrip().endswith(line)  # the last word, after "stopped at step"


def test_a_run_that_learnt_gets_no_warning(tmp_path):
    result = invoke("train", _corpus(tmp_path, "abcd" * 2000), "--out", tmp_path / "r",
                    *sets("train.epochs=1", "train.lr=0.01"))
    assert result.exit_code == 0, result.output
    assert "stopped at step" in result.stderr and NOT_LEARNT not in result.stderr


def test_chinese_verse_on_another_model_is_pointed_to_its_preset(tmp_path):
    corpus = tmp_path / "poems.txt"
    shutil.copy(EXCERPTS / "tang-poems.txt", corpus)
    result = invoke("train", corpus, "--config", "char-small", "--out", tmp_path / "r",
                    *sets("train.epochs=1", "data.batch_size=16"))
    assert result.exit_code == 0, result.output
    assert NOT_LEARNT in result.stderr
    assert "poems-zh suits this corpus (a new run with --config poems-zh)" in result.stderr


def test_the_preset_in_use_is_not_suggested_again(tmp_path):
    # char-small's own model on text that char-small suits.
    trainer = _trainer(tmp_path, _random_text(), "char-small", train__epochs=1)
    message = _warning(trainer, trainer.fit())
    assert message and "suits this corpus" not in message
    fine_tuned = _trainer(tmp_path / "f", _random_text(), train__epochs=1)
    message = _warning(fine_tuned, fine_tuned.fit(), with_preset=False)
    assert message and "suits this corpus" not in message


class _CtrlC(Reporter):
    """Presses Ctrl-C (a real SIGINT to this process) after `at` steps."""

    def __init__(self, at: int):
        self.at = at

    def step(self, step, loss, tokens_per_s):
        if step == self.at:
            os.kill(os.getpid(), signal.SIGINT)


@pytest.mark.parametrize("overrides, reporter, reason, fix", [
    ({"train__max_steps": 6}, None, "max_steps", "--max-steps 1000"),
    ({"train__patience": 2, "train__epochs": 3}, None, "early_stop",
     "--set train.patience=0"),
    ({"train__epochs": 50}, _CtrlC(7), "interrupted", "train on where it was interrupted"),
    ({"train__epochs": 100000, "train__max_time": "1s"}, None, "max_time", "--max-time 1m"),
])
def test_every_stop_gets_the_warning_with_its_own_fix(tmp_path, overrides, reporter, reason,
                                                      fix):
    # lr 0: the model keeps its initial weights, so it learns nothing however it stops.
    trainer = _trainer(tmp_path, _random_text(), train__lr=0.0, train__eval_every=2,
                       **overrides)
    result = trainer.fit(reporter)
    assert result.stop_reason == reason
    message = _warning(trainer, result)
    assert message and message.startswith(NOT_LEARNT) and fix in message


def test_the_share_that_counts_as_not_learnt(tmp_path):
    trainer = _trainer(tmp_path, _random_text(), train__epochs=1)
    unigram = trainer.val_unigram
    baseline = guards.Baseline(unigram, None)

    def warned(best: float | None, last: float | None = None) -> str | None:
        state = TrainState(epoch=1, step=22, best_val_loss=best, last_val_loss=last)
        return guards.unlearnt_warning(TrainResult(state, "done"), trainer.cfg,
                                       trainer.run.path, baseline, 22)

    share = guards.LEARNT_SHARE
    assert warned((share - 0.01) * unigram) is None
    assert f"within {1 - share:.0%} of the unigram loss" in warned((share + 0.01) * unigram)
    assert "no lower than the unigram loss" in warned(1.1 * unigram)
    assert warned(None) is None  # no validation: nothing to judge by
    assert "Its last validation" in warned(None, unigram)
    # The suggested epochs: 4x the steps (at least 1,000), at 22 steps per epoch.
    assert "--epochs 46" in warned(unigram)
