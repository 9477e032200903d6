"""Word-level models end to end: train on Chinese with jieba, sample, bits per character."""

import csv
import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import TINY_SETS
from textgen.cli import cli

EXCERPT = Path(__file__).parent / "data" / "excerpts" / "hongloumeng.txt"


def test_word_model_trains_reports_bpc_and_samples_chinese(tmp_path):
    run = tmp_path / "run"
    sets = [x for s in [*TINY_SETS, "data.tokenizer=word", "train.epochs=1",
                        "data.max_vocab=2000"] for x in ("--set", s)]
    result = CliRunner().invoke(cli, ["train", str(EXCERPT), "--out", str(run), *sets])
    assert result.exit_code == 0, result.output
    assert "word tokens; vocabulary 2,000, coverage" in result.stderr
    assert "bits/char" in result.stdout
    assert "Building prefix dict" not in result.output  # jieba kept quiet

    with open(run / "metrics.csv", encoding="utf-8") as f:
        epoch_row = [r for r in csv.DictReader(f) if r["val_loss"]][-1]
    nats_per_token, bpc = float(epoch_row["val_loss"]), float(epoch_row["val_bpc"])
    # A word covers more than one character, so bits/char < bits/token.
    assert 0 < bpc < nats_per_token / math.log(2)
    # textgen eval reproduces the epoch's validation figures (the only epoch: best).
    scored = json.loads(CliRunner().invoke(cli, ["eval", str(run), "--format", "json"]).stdout)
    assert scored["loss"] == pytest.approx(nats_per_token, rel=1e-4)
    assert scored["bits_per_char"] == pytest.approx(bpc, rel=1e-4)
    # Words beyond the 2,000 kept are <unk>, and bits/char pay for their characters.
    model_only = scored["loss"] * scored["tokens"] / scored["characters"] / math.log(2)
    assert scored["unknown"] > 0 and scored["spelling_bits_per_char"] > 0.05
    assert scored["bits_per_char"] == pytest.approx(
        model_only + scored["spelling_bits_per_char"], rel=1e-6)
    # Copy detection works on word models too (n-grams are of characters).
    copied = json.loads(CliRunner().invoke(cli, ["eval", str(run), "--novelty", "--samples", 2,
                                                 "--length", 30, "--format", "json"]).stdout)
    assert copied["ngrams"] > 0 and 0.0 <= copied["copied_share"] <= 1.0
    assert all(len(t) >= 30 for t in copied["texts"])  # 30 words are more characters

    sample = CliRunner().invoke(cli, ["sample", str(run), "--length", 100, "--seed", 1,
                                      "--prime", "士隐"])
    assert sample.exit_code == 0, sample.output
    text = sample.stdout
    assert text.startswith("士隐") and "<unk>" not in text
    assert sum("\u4e00" <= ch <= "\u9fff" for ch in text) > 50
    again = CliRunner().invoke(cli, ["sample", str(run), "--length", 100, "--seed", 1,
                                     "--prime", "士隐"])
    assert again.stdout == text


def test_resume_needs_no_user_dictionary_file(tmp_path):
    user_dict = tmp_path / "names.txt"
    user_dict.write_text("甄士隐 10 nr\n", encoding="utf-8")
    run = tmp_path / "run"
    sets = [x for s in [*TINY_SETS, "data.tokenizer=word", f"data.user_dict={user_dict}"]
            for x in ("--set", s)]
    first = CliRunner().invoke(cli, ["train", str(EXCERPT), "--out", str(run),
                                     "--max-steps", 3, *sets])
    assert first.exit_code == 0, first.output
    assert "甄士隐" in (run / "vocab.json").read_text(encoding="utf-8")
    user_dict.unlink()  # vocab.json keeps the dictionary's text
    resumed = CliRunner().invoke(cli, ["train", "--resume", str(run), "--max-steps", 6])
    assert resumed.exit_code == 0, resumed.output
    assert "resuming" in resumed.stderr
