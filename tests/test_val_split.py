"""Validation text from every file: the tail of each, with old runs kept on their old rule."""

import json
import os
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import TINY_TEXT, tiny_config
from textgen.config import Config
from textgen.data import cache
from textgen.data.batches import split_corpus, split_ids, validation_tails
from textgen.data.corpus import scan_corpus
from textgen.data.encode import EncodeOptions, encode_corpus
from textgen.evaluate.perplexity import evaluate
from textgen.run.directory import RunDir
from textgen.run.opening import new_run, open_run
from textgen.run.report import describe_run
from textgen.train.trainer import Trainer

POEMS = "春眠不觉晓，处处闻啼鸟。\n夜来风雨声，花落知多少。\n" * 60  # no final newline below


@pytest.fixture
def two_files(tmp_path: Path) -> list[Path]:
    """An English file, then a Chinese one: the last file alone is not the corpus."""
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text(TINY_TEXT.rstrip("\n"), encoding="utf-8")  # the joining newline is a's
    b.write_text(POEMS, encoding="utf-8")
    return [a, b]


def test_each_file_gives_its_tail_and_short_files_train_whole():
    ids = np.arange(1000)
    s = split_corpus(ids, [600, 50, 350], 0.1, "each-file", seq_len=10)
    assert s.val_tokens == (60, 0, 35)  # 5 tokens of the middle file: less than a chunk
    np.testing.assert_array_equal(s.val, np.r_[540:600, 965:1000])
    np.testing.assert_array_equal(s.train, np.r_[0:540, 600:965])
    # No file long enough: the tail of the whole, as before.
    s = split_corpus(ids, [500, 500], 0.01, "each-file", seq_len=10)
    assert s.val_tokens == (0, 10) and s.val.base is not None  # a view, not a copy
    np.testing.assert_array_equal(s.val, split_ids(ids, 0.01)[1])
    # The old rule: the tail of the whole, whatever the files.
    old = split_corpus(ids, [950, 50], 0.1, "last-file", seq_len=10)
    np.testing.assert_array_equal(old.val, split_ids(ids, 0.1)[1])
    assert old.val_tokens == (50, 50) == validation_tails([950, 50], 0.1, "last-file")
    # Unknown boundaries: one file, the same split as the old rule.
    np.testing.assert_array_equal(split_corpus(ids, [], 0.1).val, split_ids(ids, 0.1)[1])


def test_the_encoding_knows_each_file_and_caches_it(two_files, tmp_path):
    corpus = scan_corpus(two_files)
    opts = EncodeOptions(cache_dir=tmp_path / "cache")
    enc = encode_corpus(corpus, Config().data, opts)
    assert enc.tokenizer.decode(enc.ids) == corpus.read_text()
    n_a = len(TINY_TEXT.rstrip("\n")) + 1  # a token a character, and the joining newline
    assert enc.file_tokens == (n_a, len(POEMS)) and not enc.cached
    assert encode_corpus(corpus, Config().data, opts).file_tokens == enc.file_tokens
    # An entry from before the boundaries were kept is encoded again, not trusted...
    meta_path = next((tmp_path / "cache").glob("*[0-9a-f].json"))
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    del meta["file_tokens"]
    meta_path.write_text(json.dumps(meta), encoding="utf-8")
    again = encode_corpus(corpus, Config().data, opts)
    assert not again.cached and again.file_tokens == enc.file_tokens
    assert "file_tokens" in json.loads(meta_path.read_text(encoding="utf-8"))
    # ... and counts that do not add up are damage: a miss.
    meta["file_tokens"] = [1, 2]
    meta_path.write_text(json.dumps(meta), encoding="utf-8")
    assert cache.read_entry(meta_path.with_suffix("")) is None


def test_two_files_validate_on_both_and_eval_agrees(two_files, tmp_path):
    cfg = tiny_config(train__max_steps=10, train__eval_every=5)
    run, enc, _ = new_run(cfg, two_files, tmp_path / "run")
    assert json.loads(run.config.read_text(encoding="utf-8"))["data"]["val_split"] == "each-file"
    trainer = Trainer(cfg, enc, run)
    val = enc.tokenizer.decode(trainer.val_batches._x.reshape(-1))
    assert "Citizen" in val and "春" in val  # text from both files
    tails = enc.split(cfg.data).val_tokens
    assert all(tails) and len(enc.split(cfg.data).val) == sum(tails)
    trainer.fit()
    state = RunDir(run.path).read_state()
    assert evaluate(run.path).loss == pytest.approx(state.best_val_loss, rel=1e-5)
    line = next(x for x in describe_run(run.path).splitlines() if x.startswith("val split"))
    assert line.endswith(f"the last 10% of each file (data.val_split = each-file): "
                         f"{sum(tails):,} tokens, from a.txt {tails[0]:,}, b.txt {tails[1]:,}")


def _make_old(run: Path, cache_dir: Path) -> None:
    """What a textgen from before data.val_split left: no key, no file boundaries."""
    raw = json.loads((run / "config.json").read_text(encoding="utf-8"))
    raw["data"].pop("val_split", None)
    (run / "config.json").write_text(json.dumps(raw), encoding="utf-8")
    for meta_path in cache_dir.glob("*[0-9a-f].json"):
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        meta.pop("file_tokens", None)
        meta_path.write_text(json.dumps(meta), encoding="utf-8")


def test_an_old_run_keeps_the_tail_of_the_whole_and_resumes_exactly(two_files, tmp_path):
    def train(out, steps, resume=False, old=False):
        if resume:
            cfg, run, enc = open_run(out, [f"train.max_steps={steps}"])
            trainer = Trainer(cfg, enc, run)
            trainer.resume()
        else:
            cfg = tiny_config(train__max_steps=steps, train__eval_every=4,
                              data__val_split="last-file")  # what the old textgen did
            run, enc, _ = new_run(cfg, two_files, out)
            if old:  # its checkpoints then copy a config.json without the key, too
                _make_old(run.path, Path(os.environ["TEXTGEN_CACHE_DIR"]))
            trainer = Trainer(cfg, enc, run)
        trainer.fit()
        return trainer

    straight = train(tmp_path / "a", 12)
    train(tmp_path / "b", 6, old=True)
    _make_old(tmp_path / "b", Path(os.environ["TEXTGEN_CACHE_DIR"]))  # the cache, once more
    resumed = train(tmp_path / "b", 12, resume=True)
    assert resumed.cfg.data.val_split == "last-file"
    old_val = split_ids(np.asarray(resumed.enc.ids), resumed.cfg.data.val_frac)[1]
    assert "Citizen" not in resumed.enc.tokenizer.decode(old_val)  # the Chinese file's tail
    for a, b in zip(straight.model.variables, resumed.model.variables, strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-5)
    state = RunDir(tmp_path / "b").read_state()
    assert evaluate(tmp_path / "b").loss == pytest.approx(state.best_val_loss, rel=1e-5)
    assert "the last 10% of the corpus as a whole (data.val_split = last-file): " \
        f"{old_val.size:,} tokens, from b.txt {old_val.size:,}" in describe_run(tmp_path / "b")
    # Its checkpoints' copies of config.json lack the key the resumed config.json now
    # writes out: that is the same config, not damage (no warning, nothing restored).
    from textgen.run.repair import load, repair

    for name in ("last", "previous", "best"):
        assert load(RunDir(tmp_path / "b"), name).notices == [], name
    assert repair(RunDir(tmp_path / "b")) == []


def test_a_saved_config_without_the_key_reads_as_the_old_rule(tmp_path):
    assert Config().data.val_split == "each-file"  # new runs, presets
    assert Config.from_saved({"data": {"seq_len": 8}}).data.val_split == "last-file"
    assert Config.from_saved({"data": {"val_split": "each-file"}}).data.val_split == "each-file"
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"data": {}, "model": {}, "train": {}}), encoding="utf-8")
    assert Config.load_saved(path).data.val_split == "last-file"
    assert Config.load(path).data.val_split == "each-file"  # a config file for a new run


def test_a_fine_tune_of_an_old_base_is_a_new_run_with_the_new_rule():
    from textgen.train.finetune import finetune_config

    old_base = Config.from_saved({"data": {"seq_len": 8}})
    assert finetune_config(old_base, None, []).data.val_split == "each-file"
    chosen = finetune_config(old_base, None, ["data.val_split=last-file"])
    assert chosen.data.val_split == "last-file" and chosen.data.seq_len == 8


def test_word_tokens_are_counted_per_file_too(two_files, tmp_path):
    cfg = Config().data
    cfg.tokenizer = "word"
    enc = encode_corpus(scan_corpus(two_files), cfg, EncodeOptions(cache_dir=tmp_path / "c"))
    first = two_files[0].read_text(encoding="utf-8") + "\n"
    assert enc.file_tokens == (enc.tokenizer.encode(first).size,
                               enc.tokenizer.encode(POEMS).size)
    assert sum(enc.file_tokens) == enc.ids.size
