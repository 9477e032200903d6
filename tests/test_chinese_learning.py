"""Regression test for the Chinese plateau: a small 2-layer character model on Chinese
must leave the unigram loss within a few hundred steps (docs/RESULTS.md)."""

from pathlib import Path

from tests.conftest import tiny_config
from textgen.data.encode import EncodeOptions
from textgen.run.opening import new_run
from textgen.train.trainer import Trainer

XIYOUJI = Path(__file__).resolve().parents[1] / "corpora" / "xiyouji.txt"


def test_a_small_chinese_character_model_leaves_the_unigram_loss(tmp_path):
    corpus = tmp_path / "xiyouji-150k.txt"
    corpus.write_text(XIYOUJI.read_text(encoding="utf-8")[:150_000], encoding="utf-8")
    # char-small's shapes: 3,450 characters, Embedding 64 -> 2 x LSTM 128.
    cfg = tiny_config(model__embedding_dim=64, model__units=128, data__batch_size=32,
                      data__seq_len=64, data__val_frac=0.05, train__lr=0.003,
                      train__max_steps=300, train__epochs=100, train__eval_every=0)
    run, enc, _ = new_run(cfg, [corpus], tmp_path / "run",
                          EncodeOptions(cache_dir=tmp_path / "cache"))
    trainer = Trainer(cfg, enc, run)
    assert enc.tokenizer.vocab_size > 3000
    trainer.fit()
    val_loss, _ = trainer.evaluate()
    unigram = trainer.val_unigram  # guessing by the training split's frequencies
    # Keras's default initialisers (model.init = "keras") stay above it: 6.35 vs 6.23.
    assert val_loss < 0.95 * unigram, (val_loss, unigram)
