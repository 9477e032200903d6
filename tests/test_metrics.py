"""The one home of the figures: bits, perplexity, bits per character with <unk> charged."""

import math

import numpy as np
import pytest

from tests.conftest import train_run
from textgen.data.batches import StatefulBatches
from textgen.evaluate.perplexity import evaluate
from textgen.model import metrics
from textgen.run.directory import RunDir


def test_bits_perplexity_and_bits_per_char():
    assert metrics.bits(math.log(2)) == pytest.approx(1.0)
    assert metrics.perplexity(math.log(7)) == pytest.approx(7.0)
    # 10 nats over 5 characters, plus 4 nats of spelling: 14 nats = 14 / ln 2 bits.
    assert metrics.bits_per_char(10.0, 5.0, 4.0) == pytest.approx(14 / math.log(2) / 5)
    assert metrics.bits_per_char(10.0, 5.0) == pytest.approx(10 / math.log(2) / 5)


def test_scored_text_counts_characters_and_charges_each_unk():
    class Enc:  # what ScoredText.of reads of an EncodedCorpus
        class tokenizer:  # noqa: N801
            reserved_ids = [0]

        def char_lengths(self):
            return np.array([3.0, 1.0, 2.0])  # <unk> stands for 3 characters on average

        def spelling_cost(self, n_unknown):
            return 5.0 * n_unknown

    ids = np.array([1, 0, 2, 0, 1, 2, 2, 1, 0])  # targets: 0 2 0 1 2 2 1 0
    scored = metrics.ScoredText.of(StatefulBatches(ids, 2, 4), Enc())
    assert scored.unknown == 3 and scored.spelling_nats == 15.0
    assert scored.characters == 3 * 3 + 3 * 2 + 2 * 1
    assert scored.bits_per_char(2.0) == pytest.approx(17 / math.log(2) / 17)


def test_training_and_eval_give_the_same_bits_per_char_with_unk_charged(tmp_path):
    run = train_run(tmp_path, steps=40, data__tokenizer="word", data__max_vocab=12,
                    train__eval_every=20)
    state = RunDir(run).read_state()
    result = evaluate(run, checkpoint="best")
    assert result.unknown > 0 and result.spelling_nats > 0  # <unk> targets, charged
    assert result.loss == pytest.approx(state.best_val_loss, rel=1e-5)
    assert result.bits_per_char == pytest.approx(state.best_val_bpc, rel=1e-5)
