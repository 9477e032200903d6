"""One checkpoint everywhere: sample, eval, eval --novelty, serve, finetune and
`textgen.load` take the same default (best if the run has one, else last), say which
checkpoint and step they used, and take any step checkpoint that train.keep kept."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import textgen
from tests.test_cli import assert_user_error, invoke, sets
from textgen.errors import CheckpointError, InvalidArgument
from textgen.run.directory import DEFAULT_CHECKPOINT, RunDir
from textgen.run.report import describe_run
from textgen.serve.models import load_models
from textgen.train.finetune import load_base


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    """A run whose best (step 7) is older than its last (step 12): the second session
    trains at learning rate 0, so its stop's validation ties and is no new best.
    Its step checkpoints (train.keep=3) are step-7, step-10 and step-12."""
    from tests.conftest import TINY_TEXT

    root = tmp_path_factory.mktemp("choice")
    corpus = root / "tiny.txt"
    corpus.write_text(TINY_TEXT, encoding="utf-8")
    path = root / "run"
    first = invoke("train", corpus, "--out", path, "--max-steps", 7,
                   *sets("train.keep=3", "train.eval_every=0"))
    assert first.exit_code == 0, first.output
    second = invoke("train", "--resume", path, "--max-steps", 12, "--set", "train.lr=0")
    assert second.exit_code == 0, second.output
    r = RunDir(path)
    assert r.read_checkpoint("best").state.step == 7
    assert r.read_checkpoint("last").state.step == 12
    return path


@pytest.fixture
def no_best(run, tmp_path) -> Path:
    """A copy of `run` stopped before its first validation, as it were: no best.npz."""
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    (copy / "checkpoints" / "best.npz").unlink()
    return copy


def _used(run: Path) -> dict[str, tuple[str, int]]:
    """Which checkpoint (name, step) each command and the API took by default."""
    sampled = invoke("sample", run, "--length", 5, "--seed", 1)
    evaluated = invoke("eval", run)
    novel = invoke("eval", run, "--novelty", "--samples", 1, "--length", 30)
    for result in (sampled, evaluated, novel):
        assert result.exit_code == 0, result.output
    gen = textgen.load(run)
    facts = load_models([run])[run.name].facts
    base = load_base(run)
    return {
        "sample": sampled.stderr, "eval": evaluated.stdout, "novelty": novel.stdout,
        "load": (gen.checkpoint, gen.step), "serve": (facts["checkpoint"], facts["step"]),
        "finetune": (base.checkpoint, base.step),
    }


def test_every_command_and_load_take_best_by_default_and_say_so(run):
    used = _used(run)
    assert f"sampling {run} (best checkpoint, step 7)" in used["sample"], used["sample"]
    assert f"{run} (best checkpoint, step 7) on validation split" in used["eval"]
    assert f"{run} (best checkpoint, step 7): 1 samples" in used["novelty"]
    assert used["load"] == used["serve"] == used["finetune"] == ("best", 7)


def test_without_a_best_every_command_and_load_take_last(no_best):
    used = _used(no_best)  # textgen.load used to refuse such a run
    assert f"sampling {no_best} (last checkpoint, step 12)" in used["sample"]
    assert f"{no_best} (last checkpoint, step 12) on validation split" in used["eval"]
    assert f"{no_best} (last checkpoint, step 12): 1 samples" in used["novelty"]
    assert used["load"] == used["serve"] == used["finetune"] == ("last", 12)


def test_finetune_says_which_checkpoint_of_the_base_it_starts_from(run, tmp_path):
    mine = tmp_path / "mine.txt"
    mine.write_text("Speak, speak. " * 200, encoding="utf-8")
    result = invoke("finetune", run, mine, "--out", tmp_path / "ft", "--max-steps", 1,
                    "--checkpoint", "step-10")
    assert result.exit_code == 0, result.output
    assert f"fine-tuning {run} (step-10 checkpoint, step 10)" in result.stderr


@pytest.mark.parametrize("command", ["sample", "eval", "serve", "finetune"])
def test_help_says_the_default_and_the_choices(command):
    shown = " ".join(invoke(command, "--help").stdout.split())
    assert f"[default: {DEFAULT_CHECKPOINT}]" in shown, shown
    assert "--checkpoint last|best|step-N" in shown and "step-N = the step checkpoint" in shown


def test_a_step_checkpoint_can_be_chosen_everywhere(run):
    # (The steps are read from each file's own progress.)
    gen = textgen.load(run, "step-10")
    assert (gen.checkpoint, gen.step) == ("step-10", 10)
    assert textgen.load(run, "step-000000010").step == 10  # the file's own name works too
    sampled = invoke("sample", run, "--checkpoint", "step-10", "--length", 5)
    assert sampled.exit_code == 0 and "(step-10 checkpoint, step 10)" in sampled.stderr
    evaluated = invoke("eval", run, "--checkpoint", "step-12", "--format", "json")
    assert evaluated.exit_code == 0, evaluated.output
    assert '"checkpoint": "step-12"' in evaluated.stdout and '"step": 12' in evaluated.stdout
    facts = load_models([run], "step-7")[run.name].facts
    assert (facts["checkpoint"], facts["step"]) == ("step-7", 7)
    base = load_base(run, "step-10")
    assert (base.checkpoint, base.step) == ("step-10", 10)


def test_a_missing_step_checkpoint_is_one_line_listing_what_the_run_has(run):
    has = "it has: last, best, step-7, step-10, step-12"
    for args in (["sample", run], ["eval", run], ["eval", run, "--novelty"],
                 ["serve", run], ["finetune", run, run / "config.json"]):
        result = invoke(*args, "--checkpoint", "step-5")
        assert_user_error(result, f"{run} has no 'step-5' checkpoint; {has}")
    with pytest.raises(CheckpointError, match=has):
        textgen.load(run, "step-5")


def test_a_name_that_is_no_checkpoint_is_refused(run):
    for bad in ("step-x", "newest", "step-", "previous"):
        result = invoke("sample", run, "--checkpoint", bad)
        assert_user_error(result, "is not a checkpoint; give last, best or step-N")
        assert result.exit_code == 2
    with pytest.raises(InvalidArgument, match="`checkpoint` must be 'last', 'best' or"):
        textgen.load(run, "newest")


def test_info_names_each_checkpoint_and_validation_step(run):
    lines = describe_run(run).splitlines()
    assert ("checkpoints  last (step 12), previous (step 10), best (step 7), step-7, "
            "step-10, step-12") in lines, lines
    line = next(x for x in lines if x.startswith("validation"))
    best, last = line.split(";")
    assert best.endswith("at step 7") and last.endswith("at step 12"), line
