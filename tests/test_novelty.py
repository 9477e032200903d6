"""Copy detection: samples of a memorising model are found in its corpus; others are not."""

import json
import shutil

import numpy as np
import pytest

from tests.conftest import train_run
from tests.test_cli import invoke
from textgen.evaluate import novelty as nov


@pytest.fixture(scope="module")
def parrot(tmp_path_factory):
    """A run that has learnt its (very repetitive) corpus by heart."""
    return train_run(tmp_path_factory.mktemp("parrot"), "the cat sat on the mat.\n" * 400,
                     steps=80, train__lr=0.02)


def test_a_memorising_model_is_caught_copying(parrot):
    r = nov.novelty(parrot, samples=2, length=120, n=20, temperature=0.0)
    assert r.copied_share > 0.9 and r.longest >= 100
    assert r.passage in "the cat sat on the mat.\n" * 10
    assert r.ngrams == sum(len(t) - 19 for t in r.texts)


def test_hashes_match_text_and_chunks_lose_no_ngram(monkeypatch):
    a, b = nov.ngram_hashes("abcdefgh", 3), nov.ngram_hashes("xxdefxx", 3)
    assert a.size == 6 and np.isin(b, a).tolist() == [False, False, True, False, False]
    assert nov.ngram_hashes("ab", 3).size == 0

    class Enc:  # the corpus "0123456789" in tokens of one character
        ids = np.arange(10)

        class tokenizer:  # noqa: N801
            @staticmethod
            def decode(ids):
                return "".join(str(i) for i in ids)

    monkeypatch.setattr(nov, "DECODE_CHUNK", 3)  # n-grams straddle every chunk boundary
    chunked = np.concatenate(list(nov._corpus_hashes(Enc, 4)))
    assert set(chunked) == set(nov.ngram_hashes("0123456789", 4))


def test_novelty_from_the_command_line(parrot):
    out = invoke("eval", parrot, "--novelty", "--samples", 2, "--length", 60,
                 "--temperature", 0)
    assert out.exit_code == 0, out.output
    assert "20-character n-grams occur verbatim" in out.stdout
    data = json.loads(invoke("eval", parrot, "--novelty", "--samples", 1, "--length", 40,
                             "--format", "json").stdout)
    assert {"copied_share", "longest", "passage", "texts"} <= set(data)
    bad = invoke("eval", parrot, parrot / "config.json", "--novelty")
    assert bad.exit_code == 2 and "leave out TEXT" in bad.stderr


@pytest.mark.parametrize("damage", ["config truncated", "vocab edited"])
def test_novelty_reads_the_run_as_sample_does(parrot, tmp_path, damage):
    """A run that `sample` can use works for --novelty too, through the checkpoint's copies."""
    run = tmp_path / "run"
    shutil.copytree(parrot, run)
    if damage == "config truncated":
        (run / "config.json").write_bytes((run / "config.json").read_bytes()[:40])
    else:  # same size, other meaning: the corpus would re-encode to other ids
        vocab = json.loads((run / "vocab.json").read_text(encoding="utf-8"))
        i, j = vocab["tokens"].index("a"), vocab["tokens"].index("t")
        vocab["tokens"][i], vocab["tokens"][j] = "t", "a"
        (run / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    clean = nov.novelty(parrot, samples=1, length=60, temperature=0.0)
    r = nov.novelty(run, samples=1, length=60, temperature=0.0)
    assert r.texts == clean.texts and r.copied == clean.copied
    assert r.checkpoint == clean.checkpoint and len(r.notices) == 1
    assert "using the copy saved in" in r.notices[0]
    out = invoke("eval", run, "--novelty", "--samples", 1, "--length", 40)
    assert out.exit_code == 0, out.output
    assert "using the copy saved in" in out.stderr and "n-grams occur verbatim" in out.stdout


def test_novelty_reports_the_fallback_checkpoint(parrot, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(parrot, run)
    (run / "checkpoints" / "best.npz").unlink(missing_ok=True)
    (run / "checkpoints" / "last.npz").write_bytes(b"")
    r = nov.novelty(run, samples=1, length=30)
    assert r.checkpoint == "previous" and "using the 'previous' checkpoint" in r.notices[0]
