"""Copy detection: samples of a memorising model are found in its corpus; others are not."""

import json
import shutil

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


def _chained_ngram_longest(text: str, corpus: str, n: int) -> int:
    """What novelty reported before: the longest run of consecutive copied n-grams."""
    best = run = 0
    for i in range(len(text) - n + 1):
        run = run + 1 if text[i : i + n] in corpus else 0
        best = max(best, run + n - 1 if run else 0)
    return best


def test_the_longest_passage_is_one_that_occurs_not_a_chain_of_ngrams():
    # Every 4-gram of the sample occurs in the corpus, but in two places: chaining
    # them made up a 12-character "copy" that the corpus never holds.
    corpus, sample = "..abcdefgh..|..efghijkl..", "abcdefghijkl"
    assert _chained_ngram_longest(sample, corpus, 4) == 12
    found = nov.find_copies([sample], [corpus], 4)
    assert found.copied == found.ngrams == 9
    assert (found.longest, found.passage) == (8, "abcdefgh")
    assert found.passage in corpus and sample[:9] not in corpus and sample[3:] not in corpus


def test_runs_of_spaces_are_not_stretched_by_chaining():
    """The issue's case: code indented in the sample far deeper than any run in the corpus."""
    corpus = "def f():\n" + " " * 56 + "return 1\n"
    sample = "x = 1\n" + " " * 366 + "y"
    found = nov.find_copies([sample], [corpus[i : i + 7] for i in range(0, len(corpus), 7)], 20)
    assert _chained_ngram_longest(sample, corpus, 20) == 367  # "\\n" and 366 spaces
    assert found.longest == 57 and found.passage == "\n" + " " * 56


def test_matches_span_corpus_chunks_and_stay_inside_one_sample():
    corpus = "0123456789"
    found = nov.find_copies(["x34567y", "89x"], list(corpus), 3)  # one character a chunk
    assert (found.longest, found.passage) == (5, "34567")
    assert (found.ngrams, found.copied) == (6, 3)  # 345, 456, 567
    # Text that runs from one sample into the next is never a match.
    assert nov.find_copies(["ab", "cd"], ["abcd"], 2).longest == 2


def test_chinese_verse_copied_line_by_line_is_counted_by_default():
    corpus = "静夜思\n床前明月光，\n疑是地上霜。\n举头望明月，\n低头思故乡。\n"
    sample = "春风又一年，\n疑是地上霜。\n举头望明月，\n花开落满城。\n"
    n, rule = nov.default_ngram([sample])
    assert (n, rule) == (nov.NGRAM_HAN, "han") and n <= 6  # a five-character line counts
    found = nov.find_copies([sample], [corpus], n)
    assert found.lines == 4 and found.lines_copied == 2
    assert found.copied > 0 and found.passage == "，\n疑是地上霜。\n举头望明月，\n"
    # The old fixed 20 characters saw none of it.
    assert nov.find_copies([sample], [corpus], 20).copied == 0
    # A line found only inside a longer one is not copied whole.
    assert nov.find_copies(["\n明月光，\n"], [corpus], 4).lines_copied == 0
    assert nov.default_ngram(["the cat sat on the mat\n"]) == (20, "alphabetic")


def test_novelty_from_the_command_line(parrot):
    out = invoke("eval", parrot, "--novelty", "--samples", 2, "--length", 60,
                 "--temperature", 0)
    assert out.exit_code == 0, out.output
    assert "20-character n-grams occur verbatim" in out.stdout
    data = json.loads(invoke("eval", parrot, "--novelty", "--samples", 1, "--length", 40,
                             "--format", "json").stdout)
    assert {"run", "checkpoint", "n", "samples", "characters", "ngrams", "copied", "longest",
            "passage", "texts", "notices", "copied_share"} <= set(data)  # the keys kept
    assert {"n_rule", "lines", "lines_copied", "lines_copied_share"} <= set(data)
    assert data["n"] == 20 and data["n_rule"] == "alphabetic"
    assert data["passage"] in "the cat sat on the mat.\n" * 400
    given = json.loads(invoke("eval", parrot, "--novelty", "--samples", 1, "--length", 40,
                              "--ngram", 7, "--format", "json").stdout)
    assert given["n"] == 7 and given["n_rule"] == "given"
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
