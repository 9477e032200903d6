"""Tests that each catch one specific way the core could silently break.

Issue 12's mutation run found these changes survived the suite; each test here
fails when its mutation is applied.
"""

import json
import os

import numpy as np
import pytest

from tests.conftest import TINY_TEXT, tiny_config, train_run
from textgen.config import Config, DataConfig, apply_overrides
from textgen.data.batches import split_ids
from textgen.data.cache import cache_key
from textgen.data.corpus import scan_corpus
from textgen.data.tokenizers import CharTokenizer
from textgen.errors import ConfigError, TrainingDiverged
from textgen.fileio import atomic_write
from textgen.generate.generator import Generator
from textgen.model.network import build_model, reset_states
from textgen.run.directory import RunDir, TrainState
from textgen.run.keras_checkpoint import save_checkpoint
from textgen.run.opening import new_run, open_run
from textgen.train.trainer import Reporter, Trainer, learning_rate


def test_the_state_is_reset_at_each_epoch_start_even_without_validation(tiny_corpus, tmp_path):
    cfg = tiny_config(data__val_frac=0.0, train__epochs=2)
    run, enc, _ = new_run(cfg, [tiny_corpus], tmp_path / "r")
    trainer = Trainer(cfg, enc, run)
    trainer.cfg.train.max_steps = len(trainer.batches)  # exactly one epoch
    trainer.fit()
    # The loss of epoch 2's first step, from the trained weights and a zero state:
    probe = build_model(cfg.model, enc.tokenizer.vocab_size, cfg.data.batch_size)
    probe.set_weights(trainer.model.get_weights())
    reset_states(probe)
    x, y = trainer.batches[0]
    want = float(trainer.loss_fn(y, probe(x, training=True))) / y.size

    class Losses(Reporter):
        def __init__(self):
            self.seen: list[float] = []

        def step(self, step, loss, tokens_per_s):
            self.seen.append(loss)

    reporter = Losses()
    trainer.cfg.train.max_steps += 1
    trainer.fit(reporter)
    assert reporter.seen[0] == pytest.approx(want, rel=1e-5)


def test_the_recurrent_state_is_zero_when_each_epoch_starts(tiny_corpus, tmp_path):
    """The reset itself, seen from inside one `fit`: every layer's carried (h, c) is
    zero as each epoch begins, and not zero as the one before ends."""
    from textgen.model.network import recurrent_layers

    cfg = tiny_config(data__val_frac=0.0, train__epochs=3)  # no validation resets it
    run, enc, _ = new_run(cfg, [tiny_corpus], tmp_path / "r")
    trainer = Trainer(cfg, enc, run)

    def largest() -> float:
        return max(float(np.abs(np.asarray(s)).max())
                   for layer in recurrent_layers(trainer.model) for s in layer.states)

    class States(Reporter):
        def __init__(self):
            self.at_start: list[float] = []
            self.last_step = 0.0

        def epoch_start(self, epoch, n_batches, start_batch):
            self.at_start.append(largest())

        def step(self, step, loss, tokens_per_s):
            self.last_step = largest()

    reporter = States()
    trainer.fit(reporter)
    assert len(reporter.at_start) == 3 and trainer.state.epoch == 3
    assert reporter.at_start == [0.0, 0.0, 0.0], reporter.at_start
    assert reporter.last_step > 0  # the state was carried within each epoch


def test_the_trainer_never_trains_on_the_validation_tail(tiny_corpus, tmp_path):
    cfg = tiny_config(data__val_frac=0.3)
    run, enc, _ = new_run(cfg, [tiny_corpus], tmp_path / "r")
    trainer = Trainer(cfg, enc, run)
    train_ids, val_ids = split_ids(np.asarray(enc.ids), 0.3)
    n = len(trainer.batches) * cfg.data.seq_len
    inputs = np.concatenate([trainer.batches[k][0] for k in range(len(trainer.batches))], 1)
    targets = np.concatenate([trainer.batches[k][1] for k in range(len(trainer.batches))], 1)
    assert inputs.shape == (cfg.data.batch_size, n)
    # Row i is a contiguous stretch of the training split; no target reaches the tail.
    np.testing.assert_array_equal(inputs.reshape(-1), train_ids[: inputs.size])
    assert inputs.size + 1 <= train_ids.size and targets.size + 1 <= train_ids.size
    assert val_ids.size > 0


def test_a_failed_write_leaves_the_old_file_whole(tmp_path):
    target = tmp_path / "ck.npz"
    target.write_bytes(b"old complete file")

    def half_then_crash(f):
        f.write(b"new but")
        raise OSError("disk full")

    with pytest.raises(OSError):
        atomic_write(target, half_then_crash)
    assert target.read_bytes() == b"old complete file"
    assert os.listdir(tmp_path) == ["ck.npz"]  # no temporary file left


def test_a_diverged_model_never_overwrites_a_checkpoint(tmp_path):
    model = build_model(tiny_config().model, 7, 2)
    run = RunDir(tmp_path)
    save_checkpoint(run, "last", model, TrainState(step=3))
    before = run.checkpoint("last").read_bytes()
    model.get_layer("logits").weights[1].assign(np.full(7, np.nan, np.float32))
    with pytest.raises(TrainingDiverged, match="step 4"):
        save_checkpoint(run, "last", model, TrainState(step=4))
    assert run.checkpoint("last").read_bytes() == before


def test_lr_decay_starts_after_the_first_epoch():
    cfg = Config()
    cfg.train.lr, cfg.train.lr_decay = 0.01, 0.5
    assert [learning_rate(cfg, 0, e, 1) for e in range(3)] == [0.01, 0.005, 0.0025]


def test_resume_removes_stale_temporary_files(tiny_corpus, tmp_path):
    train_run(tmp_path, steps=2)
    stale = tmp_path / "run" / "checkpoints" / ".last.npz.x1y2.tmp"
    stale.write_bytes(b"half a checkpoint")
    open_run(tmp_path / "run")
    assert not stale.exists()


def test_decoding_keeps_carriage_returns():
    text = "a\r\nb\rc\n"
    tok = CharTokenizer.from_counts(CharTokenizer.count([text]), 100)
    assert tok.decode(tok.encode(text)) == text


@pytest.mark.parametrize("key, value", [
    ("max_vocab", 3), ("min_freq", 2), ("tokenizer", "word"),
    ("normalize", "nfkc"),
])
def test_the_encoded_cache_key_changes_with_every_setting(tmp_path, key, value):
    p = tmp_path / "c.txt"
    p.write_text("abc\n", encoding="utf-8")
    corpus = scan_corpus([p])
    base = cache_key(corpus, DataConfig(), {})
    if key == "normalize":
        other = cache_key(scan_corpus([p], "nfkc"), DataConfig(), {})
    else:
        other = cache_key(corpus, DataConfig(**{key: value}))  # settings from the config
    assert other != base
    word = DataConfig(tokenizer="word")
    names = tmp_path / "names.txt"
    names.write_text("孙行者 10\n", encoding="utf-8")
    with_dict = DataConfig(tokenizer="word", user_dict=str(names))
    assert cache_key(corpus, with_dict) != cache_key(corpus, word)
    names.write_text("猪八戒 10\n", encoding="utf-8")  # same path, other content
    assert cache_key(corpus, with_dict) != cache_key(corpus, word)
    assert len({cache_key(corpus, with_dict), cache_key(corpus, word),
                cache_key(corpus, DataConfig(tokenizer="word", jieba_hmm=False))}) == 3


@pytest.mark.parametrize("item", ["data.jieba_hmm=maybe", "data.jieba_hmm=2",
                                  "model.units=true", "train.epochs=1.5"])
def test_set_refuses_loose_booleans_and_integers(item):
    with pytest.raises(ConfigError, match="must be"):
        apply_overrides(Config(), [item])


def test_resume_refuses_data_changes(tiny_corpus, tmp_path):
    from textgen.errors import IncompatibleCheckpoint

    train_run(tmp_path, steps=2)
    for item in ["data.seq_len=8", "data.val_frac=0.2", "data.max_vocab=10",
                 "data.val_split=last-file"]:
        with pytest.raises(IncompatibleCheckpoint, match=item.split("=")[0]):
            open_run(tmp_path / "run", [item])


def test_a_vocabulary_without_newline_never_starts_with_unk(tmp_path):
    run = train_run(tmp_path, TINY_TEXT.replace("\n", " "), steps=2)
    assert "\n" not in json.loads((run / "vocab.json").read_text(encoding="utf-8"))["tokens"]
    gen = Generator(run)
    firsts = {gen.generate("", 1, seed=s) for s in range(60)}
    assert "<unk>" not in firsts and len(firsts) > 5  # uniform over the real tokens
