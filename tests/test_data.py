import json
import math
from pathlib import Path

import numpy as np
import pytest

from textgen.config import DataConfig
from textgen.data.batches import StatefulBatches, split_ids, validation_batches
from textgen.data.cache import cache_key
from textgen.data.corpus import scan_corpus
from textgen.data.encode import EncodeOptions, encode_corpus, load_cached, spelling_nats
from textgen.errors import CorpusTooSmall


def test_row_i_of_batch_k_plus_1_continues_row_i_of_batch_k():
    ids = np.arange(1000, dtype=np.uint16)
    b = StatefulBatches(ids, batch_size=4, seq_len=10)
    assert len(b) == (1000 - 1) // 40
    for k in range(len(b) - 1):
        x0, y0 = b[k]
        x1, _ = b[k + 1]
        assert x0.shape == (4, 10) and x0.dtype == np.int32
        np.testing.assert_array_equal(y0, x0 + 1)  # target = input shifted by one
        np.testing.assert_array_equal(x1[:, 0], x0[:, -1] + 1)  # rows continue
    # Every row is one contiguous slice of the stream.
    rows = np.concatenate([b[k][0] for k in range(len(b))], axis=1)
    span = len(b) * 10
    np.testing.assert_array_equal(rows, np.arange(4 * span).reshape(4, span))


def test_too_small_corpus_says_how_to_fix():
    with pytest.raises(CorpusTooSmall, match=r"lower them, e.g. --set data.batch_size=16"):
        StatefulBatches(np.arange(100), batch_size=64, seq_len=100)


def test_validation_is_the_contiguous_tail_and_shrinks_seq_len():
    ids = np.arange(1000)
    train, val = split_ids(ids, 0.05)
    assert train.size == 950 and val[0] == 950 and val[-1] == 999
    vb = validation_batches(val, batch_size=4, seq_len=100)
    assert vb is not None and vb.seq_len == 12
    assert validation_batches(np.arange(3), batch_size=4, seq_len=100) is None


def test_encoding_is_cached_and_keyed_by_tokenizer_settings(tmp_path):
    opts = EncodeOptions(cache_dir=tmp_path / "cache")
    p = tmp_path / "c.txt"
    p.write_text("abracadabra\n" * 100, encoding="utf-8")
    corpus = scan_corpus([p])
    cfg = DataConfig()
    first = encode_corpus(corpus, cfg, opts)
    second = encode_corpus(corpus, cfg, opts)
    assert not first.cached and second.cached
    np.testing.assert_array_equal(first.ids, second.ids)
    assert second.tokenizer.tokens == first.tokenizer.tokens
    assert first.ids.dtype == np.uint16 and first.n_chars == 1200
    capped = encode_corpus(corpus, DataConfig(max_vocab=3), opts)
    assert not capped.cached and capped.tokenizer.vocab_size == 3
    assert capped.coverage < 1.0
    assert first.unk_nats == 0.0 and capped.unk_nats > 0  # spelling cost of an <unk>
    assert encode_corpus(corpus, DataConfig(max_vocab=3), opts).unk_nats == (
        capped.unk_nats)  # kept in the cache


def test_cache_entries_from_before_the_unk_charge_are_re_encoded_or_kept(tmp_path):
    opts = EncodeOptions(cache_dir=tmp_path / "cache")
    p = tmp_path / "c.txt"
    p.write_text("abcabcabd" * 50, encoding="utf-8")
    corpus, cfg = scan_corpus([p]), DataConfig(max_vocab=3)
    first = encode_corpus(corpus, cfg, opts)
    key = cache_key(corpus, cfg)
    meta_file = tmp_path / "cache" / f"{key}.json"

    def age():  # as written before entries had unk_nats
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
        del meta["unk_nats"]
        meta_file.write_text(json.dumps(meta), encoding="utf-8")

    age()
    again = encode_corpus(corpus, cfg, opts)  # same key: an old run resumes
    assert not again.cached and again.unk_nats == first.unk_nats > 0
    age()
    kept = load_cached(key, tmp_path / "cache")  # standing in for vanished files
    assert kept is not None and kept.unk_nats == 0.0
    np.testing.assert_array_equal(kept.ids, first.ids)
    # New content misses the cache.
    p.write_text("abracadabra!\n" * 100, encoding="utf-8")
    assert not encode_corpus(scan_corpus([p]), cfg, opts).cached


def test_new_encodings_stream_into_the_cache_and_are_memory_mapped(tmp_path):
    p = tmp_path / "c.txt"
    text = "天地玄黄 the quick brown fox\n" * 3000
    p.write_text(text, encoding="utf-8")
    cache = tmp_path / "cache"
    enc = encode_corpus(scan_corpus([p]), DataConfig(), EncodeOptions(cache_dir=cache))
    assert not enc.cached and isinstance(enc.ids, np.memmap)  # never a second copy in RAM
    assert enc.tokenizer.decode(enc.ids) == text
    assert not list(cache.glob(".*.tmp"))  # the atomic write left no temporary file
    # Without a writable cache the ids are built in memory, identical, with a warning.
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    mem = encode_corpus(scan_corpus([p]), DataConfig(), EncodeOptions(cache_dir=blocker / "cache"))
    assert mem.cache_warning and not isinstance(mem.ids, np.memmap)
    np.testing.assert_array_equal(mem.ids, enc.ids)
    assert mem.n_chars == enc.n_chars == len(text)


def test_damaged_cache_is_rebuilt(tmp_path):
    opts = EncodeOptions(cache_dir=tmp_path / "cache")
    p = tmp_path / "c.txt"
    p.write_text("hello there\n" * 50, encoding="utf-8")
    corpus = scan_corpus([p])
    want = np.array(encode_corpus(corpus, DataConfig(), opts).ids)  # a copy
    for npy in (tmp_path / "cache").glob("*.npy"):
        npy.write_bytes(b"garbage")
    again = encode_corpus(corpus, DataConfig(), opts)
    assert not again.cached
    np.testing.assert_array_equal(again.ids, want)


def test_library_default_never_spawns_from_an_unguarded_script(tmp_path):
    """Worker processes re-import __main__; the library default must not start any."""
    import subprocess
    import sys

    script = tmp_path / "unguarded.py"  # no `if __name__ == "__main__":` on purpose
    excerpt = Path(__file__).parent / "data" / "excerpts" / "hongloumeng.txt"
    script.write_text(
        "from pathlib import Path\n"
        "from textgen.data.tokenizers import word\n"
        "word.PARALLEL_MIN_HAN = 1000  # this text would pick several processes\n"
        "from textgen.config import DataConfig\n"
        "from textgen.data.corpus import scan_corpus\n"
        "from textgen.data.encode import EncodeOptions, encode_corpus\n"
        f"c = scan_corpus([Path({str(excerpt)!r})])\n"
        f"e = encode_corpus(c, DataConfig(tokenizer='word'), "
        f"EncodeOptions(cache_dir=Path({str(tmp_path / 'c')!r})))\n"
        "print(e.ids.size)\n",
        encoding="utf-8",
    )
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         encoding="utf-8", cwd=Path(__file__).resolve().parents[1], timeout=120)
    assert out.returncode == 0 and out.stderr == "", out.stderr
    assert int(out.stdout) > 1000


def test_spelling_nats_is_the_unigram_code_length_of_the_oov_characters_and_lengths():
    # "ab" once and "a" once: characters a, a, b (2/3, 1/3); lengths 2 and 1 (1/2 each).
    expected = (-2 * math.log(2 / 3) - math.log(1 / 3) + 2 * math.log(2)) / 2
    assert spelling_nats({"ab": 1, "a": 1}) == pytest.approx(expected)
    assert spelling_nats({"aa": 5}) == 0.0  # nothing to choose: no cost
    assert spelling_nats({}) == 0.0
    # Rarer, more varied words cost more to spell than a repeated one.
    assert spelling_nats({"天地": 1, "玄黄": 1}) > spelling_nats({"天地": 2})


def _entry(tmp_path):
    opts = EncodeOptions(cache_dir=tmp_path / "cache")
    """A corpus, its encoding (a copy of the ids) and the stem of its cache entry."""
    p = tmp_path / "c.txt"
    p.write_text("hello there\n" * 50, encoding="utf-8")
    corpus = scan_corpus([p])
    want = np.array(encode_corpus(corpus, DataConfig(), opts).ids)
    return corpus, want, tmp_path / "cache" / cache_key(corpus, DataConfig())


@pytest.mark.parametrize("suffix, content", [
    (".npy", b""),  # truncated to nothing
    (".npy", b"\x93NUMPY\x01\x00"),  # a header cut short
    (".npy", b"PK\x03\x04garbage"),  # a broken zip (an .npz by mistake)
    (".json", b"[1, 2]"),  # JSON, but not an entry's meta
    (".json", b'{"version": 1, "n_tokens": "600", "n_chars": 600, "coverage": 1.0,'
              b' "unk_chars": 1.0, "unk_nats": 0.0}'),  # a count of the wrong type
    (".json", b'{"version": 1, "n_tokens": 600, "n_chars": 600, "coverage": "all",'
              b' "unk_chars": 1.0}'),  # a figure of the wrong type
    (".json", b"\xff\xfe not utf-8"),
    (".vocab.json", b'{"kind": "char", "tokens": 7}'),
    (".vocab.json", b'{"kind": "bpe", "tokens": ["<unk>"]}'),
])
def test_a_damaged_or_foreign_cache_entry_is_re_encoded(tmp_path, suffix, content):
    opts = EncodeOptions(cache_dir=tmp_path / "cache")
    corpus, want, stem = _entry(tmp_path)
    stem.with_suffix(suffix).write_bytes(content)
    again = encode_corpus(corpus, DataConfig(), opts)
    assert not again.cached
    np.testing.assert_array_equal(again.ids, want)
    assert encode_corpus(corpus, DataConfig(), opts).cached  # rewritten


def test_an_npz_in_place_of_the_ids_is_re_encoded(tmp_path):
    opts = EncodeOptions(cache_dir=tmp_path / "cache")
    corpus, want, stem = _entry(tmp_path)
    with open(stem.with_suffix(".npy"), "wb") as f:
        np.savez(f, ids=want)
    again = encode_corpus(corpus, DataConfig(), opts)
    assert not again.cached
    np.testing.assert_array_equal(again.ids, want)


def test_a_bug_while_reading_the_cache_propagates_instead_of_re_encoding(
    tmp_path, monkeypatch
):
    opts = EncodeOptions(cache_dir=tmp_path / "cache")
    from textgen.data import cache

    corpus, _, _ = _entry(tmp_path)

    def broken(path):
        raise TypeError("a bug in the reader")

    monkeypatch.setattr(cache, "load_tokenizer", broken)
    with pytest.raises(TypeError, match="a bug in the reader"):
        encode_corpus(corpus, DataConfig(), opts)
