"""`textgen finetune`: vocabulary growth, freezing, lineage, resume, and a base left untouched."""

import hashlib
import json
import os
import shutil
import threading
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import TINY_TEXT, edit_checkpoint_meta, train_run
from tests.test_cli import assert_user_error, invoke
from textgen.data.tokenizers import load_tokenizer
from textgen.errors import CheckpointError
from textgen.generate.generator import Generator
from textgen.run.directory import RunDir
from textgen.train.finetune import Vocabulary, grow_weights, load_base

# The tiny corpus with accents and a few Chinese characters the base never saw.
NEW_TEXT = TINY_TEXT.replace("Speak", "Speak 你好").replace("e", "é") * 2
EXCERPT = Path(__file__).parent / "data" / "excerpts" / "xiyouji.txt"


def weights(run: Path, name: str = "last") -> dict[str, np.ndarray]:
    ckpt = RunDir(run).read_checkpoint(name, prefixes=("model/",))
    return {p: ckpt.arrays[f"model/{i}"] for i, p in enumerate(ckpt.model_paths)
            if "seed_generator" not in p}  # their names depend on the process


def checksums(run: Path) -> dict[str, str]:
    return {str(p.relative_to(run)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(run.rglob("*")) if p.is_file() and p.name != ".lock"}


@pytest.fixture
def new_corpus(tmp_path) -> Path:
    path = tmp_path / "mine.txt"
    path.write_text(NEW_TEXT, encoding="utf-8")
    return path


def finetune(base, corpus, out, *args):
    result = invoke("finetune", base, corpus, "--out", out, *args)
    assert result.exit_code == 0, result.output
    return result


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_extend_keeps_the_base_rows_and_grows_the_vocabulary(tmp_path, new_corpus, cell):
    base = train_run(tmp_path / "base", steps=10, model__cell=cell)
    before = checksums(base)
    out = tmp_path / "new"
    # lr 0: two steps change nothing, so the new run holds exactly its initial weights.
    result = finetune(base, new_corpus, out, "--max-steps", 2, "--set", "train.lr=0",
                      "--checkpoint", "last")
    assert checksums(base) == before  # the base run is only read
    old, new = load_tokenizer(base / "vocab.json"), load_tokenizer(out / "vocab.json")
    added = new.tokens[old.vocab_size :]
    assert new.tokens[: old.vocab_size] == old.tokens and set(added) == {"é", "你", "好"}
    assert "added 3 token(s) the base never saw" in result.stderr
    w0, w1 = weights(base), weights(out)
    V = old.vocab_size
    emb, kernel, bias = (w1["embedding/embeddings"], w1["logits/kernel"], w1["logits/bias"])
    assert emb.shape == (V + 3, 8) and kernel.shape == (16, V + 3) and bias.shape == (V + 3,)
    assert np.array_equal(emb[:V], w0["embedding/embeddings"])  # bit for bit
    assert np.array_equal(kernel[:, :V], w0["logits/kernel"])
    assert np.array_equal(bias[:V], w0["logits/bias"])
    spread = emb[:V].std()
    assert np.abs(emb[V:] - emb[:V].mean(0)).max() < 0.5 * spread  # near the mean...
    assert len({row.tobytes() for row in emb[V:]}) == 3  # ...but each its own
    assert not kernel[:, V:].any() and np.all(bias[V:] == bias[:V].min())
    for path in w0:
        if path.startswith("rnn_"):
            assert np.array_equal(w0[path], w1[path]), path


def test_a_fine_tuned_model_writes_the_new_characters(tmp_path, char_run, new_corpus):
    out = tmp_path / "new"
    finetune(char_run, new_corpus, out, "--max-steps", 40, "--set", "train.lr=0.01")
    text = Generator(out).generate("All:", 400, seed=1)
    assert "é" in text
    assert Generator(out).generate("Spéak 你好", 5, seed=1)  # new characters in a prime too


def test_unk_and_strict(tmp_path, char_run, new_corpus):
    unk = finetune(char_run, new_corpus, tmp_path / "unk", "--vocab", "unk", "--max-steps", 1)
    assert load_tokenizer(tmp_path / "unk" / "vocab.json").tokens == load_tokenizer(
        char_run / "vocab.json").tokens
    assert "3 unseen token(s) become <unk>; the base's vocabulary covers 86.52%" in unk.stderr
    cfg = json.loads((tmp_path / "unk" / "config.json").read_text(encoding="utf-8"))
    assert cfg["train"]["lr"] == 0.0005 and "learning rate 0.0005" in unk.stderr
    strict = invoke("finetune", char_run, new_corpus, "--out", tmp_path / "s", "--vocab",
                    "strict")
    assert_user_error(strict, "never saw: 'é' '你' '好'")
    assert not (tmp_path / "s" / "config.json").exists()


def test_freezing_really_freezes(tmp_path, char_run, new_corpus):
    out = tmp_path / "frozen"
    finetune(char_run, new_corpus, out, "--max-steps", 3, "--freeze-embedding",
             "--freeze-layers", 1, "--set", "train.lr=0.01")
    base, new = weights(char_run, "best"), weights(out)
    V = base["embedding/embeddings"].shape[0]
    assert np.array_equal(new["embedding/embeddings"][:V], base["embedding/embeddings"])
    for name in ("kernel", "recurrent_kernel", "bias"):
        assert np.array_equal(new[f"rnn_0/lstm_cell/{name}"], base[f"rnn_0/lstm_cell/{name}"])
        assert not np.array_equal(new[f"rnn_1/lstm_cell/{name}"],
                                  base[f"rnn_1/lstm_cell/{name}"])
    # Resuming keeps the layers frozen (the setting is part of the run's config).
    assert invoke("train", "--resume", out, "--max-steps", 5).exit_code == 0
    assert np.array_equal(weights(out)["rnn_0/lstm_cell/kernel"], base["rnn_0/lstm_cell/kernel"])


def test_a_fine_tuned_run_resumes_exactly_and_is_fine_tuned_again(tmp_path, char_run,
                                                                   new_corpus):
    straight, split = tmp_path / "straight", tmp_path / "split"
    finetune(char_run, new_corpus, straight, "--max-steps", 8)
    finetune(char_run, new_corpus, split, "--max-steps", 4)
    assert invoke("train", "--resume", split, "--max-steps", 8).exit_code == 0
    a, b = weights(straight), weights(split)
    for path in a:
        np.testing.assert_allclose(a[path], b[path], atol=1e-6, err_msg=path)

    again = tmp_path / "again"
    finetune(split, new_corpus, again, "--max-steps", 2, "--checkpoint", "last")
    info = invoke("info", again)
    lines = [line for line in info.stdout.splitlines() if "fine-tuned from" in line
             or "came from" in line]
    assert len(lines) == 2 and str(split) in lines[0] and str(char_run) in lines[1]
    assert "step 8" in lines[0] and "+3 tokens" in lines[1]
    digest = hashlib.sha256((split / "checkpoints" / "last.npz").read_bytes()).hexdigest()
    assert digest[:12] in lines[0]


def test_a_word_model_extends_with_min_freq_and_max_vocab(tmp_path):
    base = train_run(tmp_path / "base", EXCERPT.read_text(encoding="utf-8")[:6000], steps=3,
                     data__tokenizer="word", data__max_vocab=300)
    old = load_tokenizer(base / "vocab.json")
    corpus = tmp_path / "mine.txt"
    corpus.write_text("孙悟空骑着筋斗云，飞过花果山。\n" * 12 + "一次性的词汇\n", encoding="utf-8")
    out = tmp_path / "new"
    finetune(base, corpus, out, "--max-steps", 1, "--set", "data.min_freq=2",
             "--set", f"data.max_vocab={old.vocab_size + 2}")
    new = load_tokenizer(out / "vocab.json")
    assert new.kind == "word" and new.tokens[: old.vocab_size] == old.tokens
    added = new.tokens[old.vocab_size :]
    counts = Counter(new.split(corpus.read_text(encoding="utf-8")))
    unseen = sorted((t for t in counts if t not in old.tokens), key=lambda t: (-counts[t], t))
    # The most frequent unseen words seen at least twice (min_freq), two of them (max_vocab).
    assert added == [t for t in unseen if counts[t] >= 2][:2]
    assert counts[unseen[-1]] == 1 and unseen[-1] not in added
    assert weights(out)["embedding/embeddings"].shape[0] == old.vocab_size + 2


def test_vocabulary_strategies_directly():
    from collections import Counter

    from textgen.data.tokenizers import CharTokenizer

    base = CharTokenizer(["<unk>", "a", "b"])
    counts = Counter({"a": 5, "c": 3, "d": 1, "b": 1})
    grown = Vocabulary(base, "extend", 100, 3)(counts)
    assert grown.tokens == ["<unk>", "a", "b", "c"]  # d is under min_freq; c just makes it
    assert Vocabulary(base, "extend", 3, 1)(counts).tokens == base.tokens  # max_vocab
    unk = Vocabulary(base, "unk", 100, 1)
    assert unk(counts).tokens == base.tokens and unk.unseen == ["c", "d"]
    assert unk.coverage == pytest.approx(6 / 10)
    w = {"embedding/embeddings": np.ones((3, 2)), "logits/kernel": np.ones((4, 3)),
         "logits/bias": np.array([0.0, -1.0, 2.0])}
    assert grow_weights(w, 0) == w
    assert grow_weights(w, 2)["logits/bias"].tolist() == [0, -1, 2, -1, -1]


@pytest.mark.parametrize("key, value", [
    ("model.embedding_dim", 9), ("model.units", 64), ("model.layers", 3),
    ("model.cell", "gru"), ("data.tokenizer", "word"), ("data.jieba_hmm", "false"),
    ("data.user_dict", "names.txt"),
])
def test_every_locked_key_is_refused(tmp_path, char_run, new_corpus, key, value):
    from textgen.train.finetune import LOCKED_KEYS

    assert key in LOCKED_KEYS
    result = invoke("finetune", char_run, new_corpus, "--out", tmp_path / "x", "--set",
                    f"{key}={value}")
    assert_user_error(result, f"--set cannot change {key} (the base has")
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("args, needle", [
    (["--set", "model.units=64"], "cannot change model.units (the base has 32)"),
    (["--set", "model.unitz=3"], "valid keys:"),
    (["--freeze-layers", 3], "train.freeze_layers=3 but the model has 2"),
    (["--checkpoint", "best", "--set", "train.lr=-1"], "train.lr must be >= 0"),
])
def test_incompatible_settings_are_one_line_errors(tmp_path, char_run, new_corpus, args,
                                                   needle):
    assert_user_error(invoke("finetune", char_run, new_corpus, "--out", tmp_path / "x",
                             *args), needle)
    assert not (tmp_path / "x" / "config.json").exists()


def test_a_missing_base_is_a_one_line_error(tmp_path, new_corpus):
    assert_user_error(invoke("finetune", tmp_path / "nope", new_corpus), "no such run directory")


def test_the_new_run_cannot_be_inside_the_base(char_run, new_corpus):
    before = checksums(char_run)
    for out in (char_run, char_run / "sub"):
        assert_user_error(invoke("finetune", char_run, new_corpus, "--out", out),
                          "inside the base run")
    assert checksums(char_run) == before and not (char_run / "sub").exists()


def test_the_new_run_cannot_be_a_base_that_is_training(char_run, new_corpus):
    """The refusal comes before --out's lock is taken (which would be the base's own)."""
    from textgen.run.directory import RunDir

    with RunDir(char_run).lock():  # as while the base trains
        assert_user_error(invoke("finetune", char_run, new_corpus, "--out", char_run),
                          "inside the base run")


def test_a_base_that_is_saving_is_read_whole(tmp_path, char_run):
    """While the base's 'last' checkpoint is replaced again and again (as a training
    base does), every read gets one whole version, and the recorded hash is the
    hash of the bytes the weights came from."""
    from textgen.train.finetune import load_base

    base = tmp_path / "base"
    shutil.copytree(char_run, base)
    versions = [base / "checkpoints" / "v0.npz", base / "checkpoints" / "v1.npz"]
    shutil.copy(base / "checkpoints" / "last.npz", versions[0])
    shutil.copy(base / "checkpoints" / "best.npz", versions[1])
    digests = [hashlib.sha256(v.read_bytes()).hexdigest() for v in versions]
    embeddings = [weights(base, "last"), weights(base, "best")]
    stop = threading.Event()

    def saver():
        i = 0
        while not stop.is_set():
            tmp = base / "checkpoints" / ".last.npz.tmp"
            shutil.copy(versions[i % 2], tmp)
            os.replace(tmp, base / "checkpoints" / "last.npz")
            i += 1

    thread = threading.Thread(target=saver)
    thread.start()
    try:
        for _ in range(40):
            loaded = load_base(base, "last")
            k = digests.index(loaded.sha256)  # one of the two whole versions
            np.testing.assert_array_equal(loaded.weights["logits/bias"],
                                          embeddings[k]["logits/bias"])
    finally:
        stop.set()
        thread.join()


def test_a_preset_sets_data_and_train_keys_but_not_the_model(tmp_path, char_run, new_corpus):
    preset = tmp_path / "ft.toml"
    preset.write_text("[train]\nlr = 1e-4\nepochs = 3\n[data]\nseq_len = 8\n", encoding="utf-8")
    finetune(char_run, new_corpus, tmp_path / "a", "--config", preset, "--max-steps", 1)
    cfg = json.loads((tmp_path / "a" / "config.json").read_text(encoding="utf-8"))
    assert (cfg["train"]["lr"], cfg["train"]["epochs"], cfg["data"]["seq_len"]) == (1e-4, 3, 8)
    assert cfg["model"]["units"] == 32 and cfg["data"]["batch_size"] == 4  # the base's
    preset.write_text("[model]\nunits = 64\n", encoding="utf-8")
    assert_user_error(invoke("finetune", char_run, new_corpus, "--out", tmp_path / "b",
                             "--config", preset), "ft.toml cannot change model.units")


def test_fine_tuning_sets_its_epochs_by_the_corpus_and_stops_early(tmp_path, char_run):
    from textgen.train import finetune as ft

    def epochs(corpus_chars: int, *sets: str) -> tuple[int, int, int]:
        corpus = tmp_path / f"c{corpus_chars}-{len(sets)}.txt"
        corpus.write_text((TINY_TEXT * 400)[:corpus_chars], encoding="utf-8")
        base = load_base(char_run)
        cfg = ft.finetune_config(base.cfg, None, list(sets))
        new = ft.start(base, cfg, [corpus], tmp_path / corpus.stem)
        saved = json.loads(new.run.config.read_text(encoding="utf-8"))["train"]
        batches = (int(new.enc.split(cfg.data).train.size) - 1) // (4 * 16)  # the base's B, T
        return saved["epochs"], saved["patience"], batches

    # One batch an epoch: as many epochs as the cap allows (early stopping ends it).
    assert epochs(100) == (ft.FINETUNE_MAX_EPOCHS, ft.FINETUNE_PATIENCE, 1)
    got, _, batches = epochs(1_000)  # ~14 batches an epoch: enough epochs for 300 steps
    assert got == -(-ft.FINETUNE_MIN_STEPS // batches) and 10 <= got < ft.FINETUNE_MAX_EPOCHS
    assert epochs(40_000)[0] == 10  # a big corpus: train.epochs' default
    assert epochs(100, "train.epochs=3", "train.patience=0")[:2] == (3, 0)  # as given


def test_unk_and_extend_runs_on_one_cache_get_their_own_ids(tmp_path, char_run, new_corpus):
    finetune(char_run, new_corpus, tmp_path / "u", "--vocab", "unk", "--max-steps", 1)
    finetune(char_run, new_corpus, tmp_path / "e", "--max-steps", 1)
    from textgen.run.opening import open_run

    ids = [open_run(tmp_path / name)[2].ids for name in ("u", "e")]
    V = load_tokenizer(char_run / "vocab.json").vocab_size
    assert (ids[0] == 0).sum() > 0 and ids[0].max() < V  # new characters are <unk>
    assert (ids[1] == 0).sum() == 0 and ids[1].max() >= V  # ...or new ids


def test_assign_weights_refuses_a_wrong_shape():
    from textgen.config import ModelConfig
    from textgen.errors import IncompatibleCheckpoint
    from textgen.model.network import build_model
    from textgen.run.keras_checkpoint import assign_weights

    model = build_model(ModelConfig(4, 5, 1), 7, 1)
    good = {v.path: np.zeros(v.shape) for v in model.variables}
    assign_weights(model, good)
    with pytest.raises(IncompatibleCheckpoint, match="logits/bias"):
        assign_weights(model, {**good, "logits/bias": np.zeros(8)})
    with pytest.raises(IncompatibleCheckpoint, match="embedding"):
        assign_weights(model, {k: v for k, v in good.items() if "embedding" not in k})


def _drop_file_copies(run: Path) -> None:
    """Makes the run's checkpoints like those saved before textgen kept file copies."""
    for path in (run / "checkpoints").glob("*.npz"):
        edit_checkpoint_meta(path, lambda meta: meta.pop("files"))


def test_a_damaged_base_is_a_one_line_error_and_writes_nothing(tmp_path, char_run, new_corpus):
    base = tmp_path / "base"
    shutil.copytree(char_run, base)
    _drop_file_copies(base)  # nothing to fall back on (see the test below)
    vocab = json.loads((base / "vocab.json").read_text(encoding="utf-8"))
    vocab["tokens"] = vocab["tokens"][:-1]
    (base / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    assert_user_error(invoke("finetune", base, new_corpus, "--out", tmp_path / "x"),
                      "has a vocabulary of")
    shutil.copy(char_run / "vocab.json", base / "vocab.json")
    cfg = json.loads((base / "config.json").read_text(encoding="utf-8"))
    cfg["data"]["tokenizer"] = "word"
    (base / "config.json").write_text(json.dumps(cfg), encoding="utf-8")
    assert_user_error(invoke("finetune", base, new_corpus, "--out", tmp_path / "x"),
                      "holds a 'char' vocabulary")
    assert not (tmp_path / "x").exists()


def test_a_damaged_or_edited_base_file_is_replaced_by_the_checkpoints_copy(tmp_path, char_run,
                                                                            new_corpus):
    """As `sample` does: the base's files are read through the checkpoint's copies."""
    base = tmp_path / "base"
    shutil.copytree(char_run, base)
    trained = json.loads((base / "vocab.json").read_text(encoding="utf-8"))["tokens"]
    vocab = json.loads((base / "vocab.json").read_text(encoding="utf-8"))
    i, j = vocab["tokens"].index("a"), vocab["tokens"].index("e")
    vocab["tokens"][i], vocab["tokens"][j] = "e", "a"  # same size: once used silently
    (base / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    (base / "config.json").write_bytes((base / "config.json").read_bytes()[:40])
    before = checksums(base)
    loaded = load_base(base)
    units = json.loads((char_run / "config.json").read_text(encoding="utf-8"))["model"]["units"]
    assert loaded.tokenizer.tokens == trained and loaded.cfg.model.units == units
    assert any("vocab.json differs" in n for n in loaded.notices)
    assert any("config.json is damaged" in n for n in loaded.notices)
    result = finetune(base, new_corpus, tmp_path / "new", "--max-steps", 1)
    assert "vocab.json differs from the vocabulary the model was trained with" in result.stderr
    assert "config.json is damaged" in result.stderr and "using the copy" in result.stderr
    new = load_tokenizer(tmp_path / "new" / "vocab.json")
    assert new.tokens[: len(trained)] == trained  # the base's vocabulary, not the edit
    assert checksums(base) == before  # the base is read, never repaired


def test_a_damaged_base_checkpoint_falls_back_as_sample_does(tmp_path, char_run):
    """A damaged 'best' gives 'last', a missing 'last' gives 'previous', with a notice;
    the weights then come from the stand-in, and its name and hash are recorded."""
    base = tmp_path / "base"
    shutil.copytree(char_run, base)
    ckpts = base / "checkpoints"
    shutil.copy(ckpts / "last.npz", ckpts / "previous.npz")
    (ckpts / "best.npz").write_bytes((ckpts / "best.npz").read_bytes()[:100])  # cut short
    before = checksums(base)
    loaded = load_base(base)
    assert checksums(base) == before  # read, never repaired
    assert loaded.checkpoint == "last" and any("'last' checkpoint" in n for n in loaded.notices)
    assert loaded.sha256 == hashlib.sha256((ckpts / "last.npz").read_bytes()).hexdigest()
    (ckpts / "last.npz").unlink()
    loaded = load_base(base, "last")
    assert loaded.checkpoint == "previous"
    assert any("'previous' checkpoint" in n for n in loaded.notices)
    (ckpts / "previous.npz").write_bytes(b"not a zip")
    with pytest.raises(CheckpointError, match="last.npz does not exist"):
        load_base(base, "last")


def test_a_damaged_base_lineage_is_a_warning_not_a_silent_loss(tmp_path, char_run, new_corpus):
    tuned = tmp_path / "tuned"
    finetune(char_run, new_corpus, tuned, "--max-steps", 1)
    (tuned / "lineage.json").write_text('{"chain": [{"run": 3}]}', encoding="utf-8")
    result = finetune(tuned, new_corpus, tmp_path / "again", "--max-steps", 1)
    assert "lineage.json is damaged" in result.stderr
    assert len(RunDir(tmp_path / "again").read_lineage().chain) == 1


def test_the_run_record_not_lineage_json_says_the_vocabulary_was_given(tmp_path, char_run,
                                                                      new_corpus):
    out = tmp_path / "new"
    finetune(char_run, new_corpus, out, "--max-steps", 2)
    (out / "lineage.json").unlink()  # lineage lost: the run still resumes
    result = invoke("train", "--resume", out, "--max-steps", 4)
    assert result.exit_code == 0, result.output


def test_a_word_base_keeps_its_own_user_dictionary(tmp_path):
    user_dict = tmp_path / "names.txt"
    user_dict.write_text("孙行者 10 nr\n", encoding="utf-8")
    text = EXCERPT.read_text(encoding="utf-8")[:6000]
    base = train_run(tmp_path / "base", text, steps=2, data__tokenizer="word",
                     data__user_dict=str(user_dict))
    user_dict.write_text("孙 10\n", encoding="utf-8")  # the file changed since the base
    corpus = tmp_path / "mine.txt"
    corpus.write_text("孙行者道：“师父！”\n" * 20, encoding="utf-8")
    finetune(base, corpus, tmp_path / "new", "--max-steps", 1)
    new = load_tokenizer(tmp_path / "new" / "vocab.json")
    assert new.settings["user_dict_text"] == "孙行者 10 nr\n"  # the base's, not the file's
    assert "孙行者" in new.split("孙行者道")


def test_a_plain_run_started_over_a_dead_fine_tune_start_drops_its_lineage(tmp_path, char_run,
                                                                          new_corpus):
    done = tmp_path / "done"
    finetune(char_run, new_corpus, done, "--max-steps", 1)
    dead = tmp_path / "dead"  # what a fine-tune that died before its first checkpoint leaves
    dead.mkdir()
    for name in ("config.json", "vocab.json", "corpus.json", "lineage.json"):
        shutil.copy(done / name, dead / name)
    result = invoke("train", new_corpus, "--out", dead, "--max-steps", 1,
                    "--set", "data.batch_size=4", "--set", "data.seq_len=16")
    assert result.exit_code == 0, result.output
    assert not (dead / "lineage.json").exists()
    assert "fine-tuned" not in invoke("info", dead).stdout


def test_the_base_encoding_is_not_forced_on_the_new_corpus(tmp_path, new_corpus):
    latin = tmp_path / "latin.txt"
    latin.write_bytes(TINY_TEXT.replace("e", "é").encode("cp1252"))
    base = tmp_path / "base"
    result = invoke("train", latin, "--out", base, "--encoding", "cp1252", "--max-steps", 2,
                    *[x for s in ["data.batch_size=4", "data.seq_len=16", "model.units=16",
                                  "model.embedding_dim=8"] for x in ("--set", s)])
    assert result.exit_code == 0, result.output
    out = tmp_path / "new"
    tuned = finetune(base, new_corpus, out, "--max-steps", 1)  # new_corpus is UTF-8
    assert "decoded it as" not in tuned.stderr
    assert "Ã" not in load_tokenizer(out / "vocab.json").tokens
    gbk = tmp_path / "gbk.txt"  # a Chinese corpus in GBK: detected, not read as cp1252
    text = EXCERPT.read_text(encoding="utf-8")[:3000]
    gbk.write_bytes(text.encode("gb18030"))
    tuned = finetune(base, gbk, tmp_path / "zh", "--max-steps", 1)
    assert "decoded it as GB18030" in tuned.stderr
    assert set(text) <= set(load_tokenizer(tmp_path / "zh" / "vocab.json").tokens)


def test_finetune_reads_the_files_its_glob_picks(tmp_path, char_run):
    d = tmp_path / "mine"
    d.mkdir()
    (d / "a.md").write_text(NEW_TEXT, encoding="utf-8")
    (d / "b.txt").write_text("x" * 10, encoding="utf-8")
    finetune(char_run, d, tmp_path / "new", "--glob", "*.md", "--max-steps", 1)
    record = json.loads((tmp_path / "new" / "corpus.json").read_text(encoding="utf-8"))
    assert [Path(f["path"]).name for f in record["files"]] == ["a.md"]


def test_the_library_never_writes_into_the_base(tmp_path, char_run, new_corpus):
    from textgen.errors import TextgenError
    from textgen.train import finetune as ft

    base = ft.load_base(char_run)
    cfg = ft.finetune_config(base.cfg, None, [])
    before = checksums(char_run)
    for out in (char_run, char_run / "sub", char_run / "sub" / ".." / "other"):
        with pytest.raises(TextgenError, match="inside the base run; the base is never"):
            ft.start(base, cfg, [new_corpus], out)
    assert checksums(char_run) == before and not (char_run / "sub").exists()
    outside = ft.start(base, cfg, [new_corpus], tmp_path / "ok")  # a sibling is fine
    assert outside.run.path == tmp_path / "ok"
