from pathlib import Path

import numpy as np
import pytest

from textgen.data.tokenizers import UNK, CharTokenizer, load_tokenizer

EXCERPTS = Path(__file__).parent / "data" / "excerpts"  # ~30 KB of each shared corpus


def fit(text: str, max_vocab: int = 100_000, min_freq: int = 1) -> CharTokenizer:
    return CharTokenizer.from_counts(CharTokenizer.count([text]), max_vocab, min_freq)


@pytest.mark.parametrize("path", sorted(EXCERPTS.glob("*.txt")), ids=lambda p: p.stem)
def test_round_trip_on_every_corpus(path):
    text = path.read_text(encoding="utf-8")
    tok = fit(text)
    ids = tok.encode(text)
    assert ids.dtype == np.uint16
    assert tok.decode(ids) == text
    assert not (ids == 0).any()  # uncapped: nothing maps to <unk>


def test_astral_and_combining_characters_are_single_tokens():
    text = "𨣧e\u0301 🙂\n\t"
    tok = fit(text)
    assert tok.decode(tok.encode(text)) == text
    assert len(tok.encode("𨣧")) == 1


def test_ids_are_stable_and_sorted_by_code_point():
    a, b = fit("banana\n"), fit("\nnaanab")
    assert a.tokens == b.tokens == [UNK, "\n", "a", "b", "n"]


def test_capping_maps_rare_characters_to_unk():
    tok = fit("aaaabbbc", max_vocab=3)
    assert tok.tokens == [UNK, "a", "b"]
    assert tok.encode("abc").tolist() == [1, 2, 0]
    assert tok.reserved_ids == [0]
    assert fit("aaaabbbc", min_freq=3).tokens == [UNK, "a", "b"]
    assert tok.unknown_tokens("cabdc") == ["c", "d"]
    ids, unknown = tok.encode_prompt("cabdc")
    assert ids.tolist() == [0, 1, 2, 0, 0] and unknown == ["c", "d"]


def test_save_load_round_trip(tmp_path):
    tok = fit("你好，世界！\nhello")
    tok.save(tmp_path / "vocab.json")
    loaded = load_tokenizer(tmp_path / "vocab.json")
    assert isinstance(loaded, CharTokenizer) and loaded.tokens == tok.tokens
    assert "世" in (tmp_path / "vocab.json").read_text(encoding="utf-8")  # readable, not \\u


def test_large_vocab_uses_uint32():
    text = "".join(chr(0x20000 + i) for i in range(70_000))  # CJK Extension B and beyond
    tok = fit(text)
    assert tok.vocab_size > 65_536 and tok.dtype == np.uint32
    assert tok.decode(tok.encode(text)) == text


def test_the_config_offers_exactly_the_registered_tokenizers():
    """data.tokenizer's choices (config, which may not import data) and the registry agree."""
    import dataclasses

    from textgen.config import DataConfig
    from textgen.data.tokenizers import KINDS, tokenizer_class

    field = next(f for f in dataclasses.fields(DataConfig) if f.name == "tokenizer")
    assert set(field.metadata["choices"]) == set(KINDS)
    for kind in KINDS:
        assert tokenizer_class(kind).kind == kind
