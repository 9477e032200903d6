"""textgen eval: the training loop's validation loss, reproduced; any text scored."""

import json
import math
from pathlib import Path

import pytest

from tests.conftest import train_run
from tests.test_cli import assert_user_error, invoke
from textgen.evaluate.perplexity import evaluate
from textgen.run.directory import RunDir


def test_eval_reproduces_the_training_validation_loss(char_run):
    state = RunDir(char_run).read_state()
    result = evaluate(char_run)  # best, the run has one
    assert result.checkpoint == "best" and result.unknown == 0
    assert result.loss == pytest.approx(state.best_val_loss, rel=1e-5)
    assert result.perplexity == pytest.approx(math.exp(state.best_val_loss), rel=1e-4)
    assert result.bits_per_char == pytest.approx(result.loss / math.log(2), rel=1e-6)  # chars
    assert result.step == state.best_val_step
    # The run stopped at max_steps inside an epoch, and validated there: 'last' scores
    # the last validation figure, taken at its own step.
    last = evaluate(char_run, checkpoint="last")
    assert last.step == state.step == state.last_val_step
    assert last.loss == pytest.approx(state.last_val_loss, rel=1e-5)


def test_eval_scores_any_text_and_counts_unknown_tokens(char_run, tmp_path):
    text = tmp_path / "new.txt"
    text.write_text("Speak, speak. ☃☃ You are all resolved.\n" * 40, encoding="utf-8")
    result = evaluate(char_run, [text], "last")
    # The snowmen are not in the vocabulary: every one that is a target is <unk>.
    assert 0 < result.unknown <= 2 * 40 and result.unknown >= 2 * 40 - 2
    assert result.tokens < len(text.read_text(encoding="utf-8"))  # the ragged end is dropped
    again = evaluate(char_run, [text], "last")
    assert again.nats == result.nats  # deterministic


def test_eval_command_text_and_json(char_run):
    out = invoke("eval", char_run)
    assert out.exit_code == 0, out.output
    assert "(best checkpoint, step 300)" in out.stdout and "bits/character" in out.stdout
    data = json.loads(invoke("eval", char_run, "--format", "json").stdout)
    assert data["loss"] == pytest.approx(RunDir(char_run).read_state().best_val_loss, rel=1e-5)
    assert {"perplexity", "bits_per_char", "unknown", "tokens", "step"} <= set(data)


def test_eval_without_a_validation_split_says_what_to_do(tmp_path):
    run = train_run(tmp_path, steps=3, data__val_frac=0.0)
    assert_user_error(invoke("eval", run), "has no validation split")
    assert_user_error(invoke("eval", run, "--checkpoint", "best"), "no 'best' checkpoint")
    assert_user_error(invoke("eval", run, tmp_path / "nope.txt"), "nope.txt")


def test_a_short_text_gets_few_rows_and_says_what_is_left_out(char_run, tmp_path):
    text = tmp_path / "short.txt"
    text.write_text("Speak, speak. All: resolved.\n" * 12, encoding="utf-8")  # 348 chars
    result = evaluate(char_run, [text], "last")
    # T = 16, 347 targets: 2 rows of 10 chunks (320 targets), not 4 rows of 5, each
    # starting from a blank state.
    assert result.tokens == 320 and result.skipped == 347 - 320
    out = invoke("eval", char_run, text, "--checkpoint", "last")
    assert "the last 27 tokens, short of a whole chunk, are not scored" in out.stdout


def test_eval_of_a_text_never_prints_a_negative_zero(char_run, tmp_path):
    # The text's only unknown character is the snowman: spelling it costs -ln 1 = -0.0.
    text = tmp_path / "snow.txt"
    text.write_text("Speak, speak. ☃☃ You are all resolved.\n" * 40, encoding="utf-8")
    out = invoke("eval", char_run, text, "--checkpoint", "last")
    assert out.exit_code == 0, out.output
    assert "adds 0.0000 bits/character" in out.stdout and "-0.0" not in out.stdout
    data = json.loads(invoke("eval", char_run, text, "--checkpoint", "last",
                             "--format", "json").stdout)
    assert math.copysign(1, data["spelling_bits_per_char"]) == 1
    assert math.copysign(1, data["spelling_nats"]) == 1


def test_eval_charges_each_unk_at_least_the_training_corpus_rate(tmp_path):
    # A capped vocabulary leaves characters of the training corpus out: <unk> there
    # has a spelling cost, recorded in corpus.json.
    run = train_run(tmp_path, steps=3, data__max_vocab=12)
    rate = RunDir(run).read_corpus().unk_nats
    assert rate > 0
    # One repeated unknown character: the text's own spelling code would make it free.
    text = tmp_path / "snow.txt"
    text.write_text("Speak, speak. ☃ All: resolved.\n" * 40, encoding="utf-8")
    result = evaluate(run, [text], "last")
    assert result.unknown > 0
    assert result.spelling_nats == pytest.approx(result.unknown * rate)
    assert result.bits_per_char > result.nats / math.log(2) / result.characters
    # A damaged corpus.json is not needed to score a text: a warning, the text's own rate.
    (Path(run) / "corpus.json").write_text("{not json", encoding="utf-8")
    damaged = evaluate(run, [text], "last")
    assert damaged.nats == pytest.approx(result.nats)
    assert any("corpus.json" in n and "own rate" in n for n in damaged.notices)


def test_eval_of_a_run_whose_corpus_is_gone_says_what_eval_can_do(tmp_path):
    run = train_run(tmp_path, steps=3)
    (tmp_path / "corpus.txt").write_text("changed since\n" * 100, encoding="utf-8")
    changed = invoke("eval", run)
    assert_user_error(changed, "corpus files changed since training started")
    (tmp_path / "corpus.txt").unlink()  # and no cache holds it (each test has its own)
    gone = invoke("eval", run)
    assert_user_error(gone, "no validation split to score: cannot re-read the run's corpus")
    for result in (changed, gone):
        assert "--allow-changed-corpus" not in result.stderr  # eval has no such option
        assert f"score a text instead: textgen eval {run} FILE" in result.stderr
