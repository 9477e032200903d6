"""The typed run records: read and checked in one place, damage one clear error."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.test_cli import invoke
from textgen.errors import CheckpointError
from textgen.run import records
from textgen.run.directory import RunDir
from textgen.run.records import CorpusFile, CorpusRecord, Lineage, LineageEntry, TrainState
from textgen.serve.models import load_models


@pytest.fixture
def run(char_run, tmp_path) -> Path:
    copy = tmp_path / "run"
    shutil.copytree(char_run, copy)
    return copy


def test_each_record_round_trips(tmp_path):
    corpus = CorpusRecord([CorpusFile(Path("/c/a.txt"), "ab" * 32, 12, "gb18030")], "k" * 8,
                          n_tokens=10, n_chars=12, coverage=0.5, unk_chars=1.5, unk_nats=2.0,
                          vocab_size=7, vocabulary="given", version=2)
    records.write_corpus(tmp_path / "corpus.json", corpus)
    assert records.read_corpus(tmp_path / "corpus.json") == corpus
    lineage = Lineage([LineageEntry("/r/base", "best", "f" * 64, 30, "extend", 2, ["é", "你"])])
    records.write_lineage(tmp_path / "lineage.json", lineage)
    assert records.read_lineage(tmp_path / "lineage.json") == lineage
    assert "你" in (tmp_path / "lineage.json").read_text(encoding="utf-8")  # readable UTF-8
    state = TrainState(epoch=2, step=40, best_val_loss=1.25, plateau_warned=True,
                       best_val_step=30, last_val_step=40)
    records.write_state(tmp_path / "state.json", state)
    assert records.read_state(tmp_path / "state.json") == state
    assert type(records.read_state(tmp_path / "state.json").best_val_step) is int
    # Written before the steps were kept: None, as unknown; a wrong type is damage.
    assert TrainState.from_dict({"step": 3}).best_val_step is None
    with pytest.raises(ValueError, match="last_val_step"):
        TrainState.from_dict({"last_val_step": True})


def test_a_missing_record_is_none(tmp_path):
    assert records.read_corpus(tmp_path / "corpus.json") is None
    assert records.read_lineage(tmp_path / "lineage.json") is None  # not fine-tuned
    assert records.read_state(tmp_path / "state.json") is None  # before the first save


def test_the_run_records_read_back(char_run):
    run = RunDir(char_run)
    corpus = run.read_corpus()
    assert corpus.files[0].path.is_absolute() and corpus.files[0].encoding
    assert corpus.vocabulary == "built" and not corpus.given_vocabulary
    assert corpus.vocab_size == len(json.loads(run.vocab.read_text(encoding="utf-8"))["tokens"])
    assert run.read_state().step > 0 and run.read_lineage() is None


def test_older_records_keep_their_defaults(tmp_path):
    (tmp_path / "corpus.json").write_text(json.dumps({
        "files": [{"path": "/c/a.txt", "sha256": "x", "bytes": 3, "encoding": "utf-8"}],
        "cache_key": "k", "n_tokens": 3, "n_chars": 3, "coverage": 1}), encoding="utf-8")
    old = records.read_corpus(tmp_path / "corpus.json")
    assert old.unk_nats == 0.0 and old.vocabulary == "built" and old.coverage == 1.0
    (tmp_path / "state.json").write_text('{"epoch": 1, "step": 5}', encoding="utf-8")
    assert records.read_state(tmp_path / "state.json") == TrainState(epoch=1, step=5)


DAMAGE = {
    "not JSON": "{ cut",
    "not an object": "[1, 2]",
    "a key missing": "{}",
    "a wrong type": None,  # filled per record below
}
WRONG_TYPE = {
    "corpus.json": '{"files": [], "cache_key": 3, "n_tokens": 1, "n_chars": 1, "coverage": 1}',
    "lineage.json": '{"chain": [{"run": "/r", "checkpoint": "best", "sha256": "x", '
                    '"step": "7", "vocab": "unk"}]}',
    "state.json": '{"step": true}',
}
READERS = {"corpus.json": records.read_corpus, "lineage.json": records.read_lineage,
           "state.json": records.read_state}


@pytest.mark.parametrize("name", READERS)
@pytest.mark.parametrize("damage", DAMAGE)
def test_damage_is_one_error_naming_the_file_and_the_fix(tmp_path, name, damage):
    path = tmp_path / name
    text = DAMAGE[damage] or WRONG_TYPE[name]
    if name == "state.json" and damage == "a key missing":
        text = '{"step": null}'  # every state field has a default; null is no int
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CheckpointError) as e:
        READERS[name](path)
    message = str(e.value)
    assert str(path) in message and "is damaged" in message and "\n" not in message
    assert "restore it" in message or "delete it" in message


def test_info_and_resume_say_which_record_is_damaged(run):
    (run / "corpus.json").write_text('{"files": 3}', encoding="utf-8")
    (run / "lineage.json").write_text("[]", encoding="utf-8")
    out = invoke("info", run)
    assert out.exit_code == 0, out.output
    assert "corpus.json is damaged" in out.stdout and "lineage.json is damaged" in out.stdout
    resumed = invoke("train", "--resume", run, "--max-steps", 1)
    assert resumed.exit_code == 1 and "corpus.json is damaged" in resumed.stderr


def test_resume_rewrites_a_damaged_state_json_from_the_checkpoint(run):
    step = RunDir(run).read_checkpoint("last").state.step
    (run / "state.json").write_text("{ cut", encoding="utf-8")
    with pytest.raises(CheckpointError, match="state.json is damaged"):
        RunDir(run).read_state()
    from textgen.run.repair import repair

    assert any("state.json is damaged" in n for n in repair(RunDir(run)))
    assert RunDir(run).read_state().step == step


def test_the_server_tells_a_damaged_record_and_serves_on(run):
    best = load_models([run])["run"].facts["best_val_bits_per_char"]
    (run / "state.json").write_text("{ cut", encoding="utf-8")
    (run / "lineage.json").write_text('{"chain": 1}', encoding="utf-8")
    model = load_models([run])["run"]
    assert model.facts["lineage"] == []
    assert any("lineage.json is damaged" in n for n in model.notices)
    # The figure comes from the checkpoint's own copy of the progress: nothing lost.
    assert best is not None and model.facts["best_val_bits_per_char"] == best
