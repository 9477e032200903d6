"""Tests of `WordTokenizer`, with the real jieba (no mocks)."""

from __future__ import annotations

import random
import subprocess
import sys
from collections import Counter
from pathlib import Path

import jieba
import numpy as np
import pytest

from textgen.data.tokenizers import UNK, load_tokenizer
from textgen.data.tokenizers import word as word_module
from textgen.data.tokenizers.han import han_count
from textgen.data.tokenizers.word import WordTokenizer
from textgen.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]
# ~30 KB excerpts (whole lines) of each corpus in ../shared/corpora, from the start.
EXCERPTS = Path(__file__).parent / "data" / "excerpts"
CORPORA = [
    "hongloumeng.txt",
    "xiyouji.txt",
    "tang-poems.txt",
    "tiny-shakespeare.txt",
    "pride-and-prejudice.txt",
]
# "绛珠仙草" (Crimson Pearl Fairy Grass) is cut 绛/珠/仙草 by jieba's own dictionary.
TERM = "绛珠仙草"


def fit(text: str, max_vocab: int = 1 << 30, min_freq: int = 1, **settings) -> WordTokenizer:
    counts = WordTokenizer.count([text], workers=1, **settings)
    return WordTokenizer.from_counts(counts, max_vocab, min_freq, **settings)


def split(text: str, **settings) -> list[str]:
    return WordTokenizer([UNK], settings).split(text)


@pytest.fixture
def user_dict(tmp_path: Path) -> Path:
    path = tmp_path / "userdict.txt"
    path.write_text(f"{TERM} 10 n\n", encoding="utf-8")
    return path


# === Lossless splitting ===


@pytest.mark.parametrize("name", CORPORA)
def test_round_trip_on_corpus_excerpts(name):
    text = (EXCERPTS / name).read_text(encoding="utf-8")
    assert len(text) > 10_000
    tok = fit(text)
    ids = tok.encode(text)
    assert ids.dtype == np.uint16
    assert tok.decode(ids) == text
    assert not (ids == 0).any()  # uncapped: nothing maps to <unk>


ODD_TEXTS = [
    "",
    "\n",
    "\r\n\r\n",
    " \t \u3000\xa0",
    "👨‍👩‍👧 👍🏽 ❤️",  # ZWJ sequence, skin tone, variation selector
    "e\u0301te\u0301 naïve café",  # combining accent and precomposed letters
    "𠀀𠀁㐀\u9fff〇一二",  # Han beyond jieba's own range (Ext. B, Ext. A)
    "ｆｕｌｌ－ｗｉｄｔｈ　ＡＢＣ１２３！",
    "\ud800 lone surrogate",
    "tab\there\x0bvt\x0cff\u2028ls",
    "日本語のかな、한국어、русский текст.",
]


@pytest.mark.parametrize("text", ODD_TEXTS)
@pytest.mark.parametrize("hmm", [True, False])
def test_split_is_lossless_on_odd_text(text, hmm):
    assert "".join(split(text, jieba_hmm=hmm)) == text


def test_split_is_lossless_on_random_mixtures():
    rng = random.Random(0)
    pool = "红楼梦西游记天地人𠀀〇，。！？“”《》 \t\n\r\u3000abcXYZ'’-_.,!?0123456789é😀\u0301"
    for _ in range(300):
        text = "".join(rng.choice(pool) for _ in range(rng.randrange(60)))
        assert "".join(split(text)) == text, repr(text)


def test_tokens_never_cross_a_newline():
    text = (EXCERPTS / "hongloumeng.txt").read_text(encoding="utf-8")
    tokens = split(text)
    assert all(t == "\n" or "\n" not in t for t in tokens)
    # So counting line-aligned pieces counts the same tokens as the whole text.
    pieces = list(word_module._line_pieces(text, size=1000))
    assert len(pieces) > 5 and "".join(pieces) == text
    assert WordTokenizer.count(pieces, workers=1) == Counter(tokens)


# === How text is cut ===


def test_newlines_are_single_tokens():
    tokens = split("床前明月光，\n疑是地上霜。\n\n")
    assert tokens.count("\n") == 3
    assert tokens[-2:] == ["\n", "\n"]
    assert "，" in tokens and "。" in tokens


def test_mixed_chinese_and_english():
    assert split("我爱Python 3.11和TensorFlow!\r\n") == [
        "我", "爱", "Python", " ", "3.11", "和", "TensorFlow", "!", "\r", "\n",
    ]  # fmt: skip


def test_english_words_numbers_and_punctuation():
    assert split("Don't stop, o’er 42 times... 'tis") == [
        "Don't", " ", "stop", ",", " ", "o’er", " ", "42", " ", "times", ".", ".", ".",
        " ", "'", "tis",
    ]  # fmt: skip


def test_whitespace_runs_are_one_token():
    assert split("a  \t b\n\n\tc") == ["a", "  \t ", "b", "\n", "\n", "\t", "c"]
    assert split("\u3000\u3000第一回") == ["\u3000\u3000", "第一回"]


def test_full_and_half_width_punctuation_are_kept_as_written():
    tokens = split("你好，世界! 你好,世界！")
    assert tokens == ["你好", "，", "世界", "!", " ", "你好", ",", "世界", "！"]


def test_hmm_setting_changes_unknown_words():
    assert split("怡红快绿", jieba_hmm=True) == ["怡红", "快绿"]
    assert split("怡红快绿", jieba_hmm=False) == ["怡红", "快", "绿"]


# === Vocabulary ===


def test_vocabulary_is_most_frequent_first():
    tok = fit("我们\n我们\n我们\n你们\n你们\n他们")
    assert tok.tokens == [UNK, "\n", "我们", "你们", "他们"]


def test_capping_maps_rare_tokens_to_unk():
    text = "我们\n我们\n我们\n你们\n你们\n他们"
    tok = fit(text, max_vocab=3)
    assert tok.tokens == [UNK, "\n", "我们"]
    assert tok.reserved_ids == [0]
    assert tok.encode("他们\n我们").tolist() == [0, 1, 2]
    assert tok.unknown_tokens("他们\n你们") == ["他们", "你们"]
    assert fit(text, min_freq=2).tokens == [UNK, "\n", "我们", "你们"]


def test_prompt_words_the_model_never_saw_fall_back_to_known_pieces():
    # A vocabulary with the poem's characters and some words, but not 春眠 or 闻啼鸟.
    tok = WordTokenizer([UNK, "春", "眠", "不", "觉", "晓", "，", "处处", "闻", "啼", "鸟", "。",
                         "不觉", " ", "  "])
    poem = "春眠不觉晓，处处闻啼鸟。"
    assert "春眠" in tok.unknown_tokens(poem)  # jieba's words are unknown...
    ids, unknown = tok.encode_prompt(poem)
    assert unknown == [] and tok.decode(ids) == poem  # ...but their pieces are known
    assert tok.decode(ids[:2]).startswith("春")
    ids, unknown = tok.encode_prompt("春眠 😀晓   x")
    assert unknown == ["😀", "x"]
    assert ids.tolist().count(0) == 2  # one <unk> per uncovered character
    pieces = [tok.tokens[i] for i in ids]
    assert pieces[-4:] == ["晓", "  ", " ", UNK]  # the longest known pieces first
    assert "".join(pieces).replace(UNK, "?") == "春眠 ?晓   ?"


def test_unknown_settings_are_rejected():
    with pytest.raises(ValueError, match="jieba_hmm"):
        WordTokenizer([UNK], {"hmm": True})


# === User dictionary ===


def test_user_dictionary_keeps_a_term_whole(user_dict):
    settings = WordTokenizer.settings_from(True, str(user_dict))
    assert settings == {
        "jieba_hmm": True,
        "user_dict": str(user_dict),
        "user_dict_text": f"{TERM} 10 n\n",
    }
    assert split(f"她本是{TERM}。", **settings)[-2:] == [TERM, "。"]
    assert TERM not in split(TERM)  # other tokenizers are untouched ...
    assert TERM not in jieba.dt.FREQ  # ... and so is jieba's global one


def test_settings_from_without_user_dictionary():
    assert WordTokenizer.settings_from(False, "") == {
        "jieba_hmm": False,
        "user_dict": "",
        "user_dict_text": "",
    }


def test_settings_from_strips_a_byte_order_mark(tmp_path):
    path = tmp_path / "bom.txt"
    path.write_text(f"{TERM}\n", encoding="utf-8-sig")
    settings = WordTokenizer.settings_from(True, path)
    assert settings["user_dict_text"] == f"{TERM}\n"
    assert split(TERM, **settings) == [TERM]


def test_settings_from_reports_a_missing_or_bad_dictionary(tmp_path):
    missing = tmp_path / "nope.txt"
    with pytest.raises(ConfigError, match="nope.txt") as e:
        WordTokenizer.settings_from(True, str(missing))
    assert "\n" not in str(e.value)
    bad = tmp_path / "gbk.txt"
    bad.write_bytes(TERM.encode("gbk"))
    with pytest.raises(ConfigError, match="not UTF-8"):
        WordTokenizer.settings_from(True, str(bad))


def test_save_load_round_trip_survives_a_deleted_user_dictionary(tmp_path, user_dict):
    settings = WordTokenizer.settings_from(False, str(user_dict))
    text = f"她本是{TERM}，怡红快绿。\n"
    tok = fit(text, **settings)
    tok.save(tmp_path / "vocab.json")
    user_dict.unlink()
    loaded = load_tokenizer(tmp_path / "vocab.json")
    assert isinstance(loaded, WordTokenizer)
    assert loaded.tokens == tok.tokens and loaded.settings == settings
    assert loaded.split(text) == tok.split(text)
    assert TERM in loaded.split(text) and "快" in loaded.split(text)  # dict + no HMM
    assert loaded.decode(loaded.encode(text)) == text
    assert TERM in (tmp_path / "vocab.json").read_text(encoding="utf-8")  # readable


# === Counting and encoding with several processes ===


def _all_excerpts() -> str:
    return "".join((EXCERPTS / name).read_text(encoding="utf-8") for name in CORPORA) * 2


def test_count_with_processes_matches_one_process_and_reports_progress():
    text = _all_excerpts()  # ~190 K characters: several pieces
    seen: list[int] = []
    counts = WordTokenizer.count([text, "尾声\n"], workers=2, progress=seen.append)
    assert counts == WordTokenizer.count([text, "尾声\n"], workers=1)
    assert len(seen) > 2 and sum(seen) == len(text) + 3


def test_large_chinese_text_picks_processes_itself(monkeypatch):
    monkeypatch.setattr(word_module, "PARALLEL_MIN_HAN", 1000)
    text = _all_excerpts()
    tok = fit(text)
    # As many processes as for a huge text (one per CPU; 1 on a single-CPU machine).
    assert word_module._workers_for(han_count(text)) == word_module._workers_for(10**9)
    assert WordTokenizer.count([text], workers=None) == WordTokenizer.count([text])
    parallel = np.concatenate(list(tok.encode_chunks([text[:5000], text[5000:]], None)))
    assert np.array_equal(parallel, tok.encode(text))


def test_small_text_stays_in_this_process():
    assert word_module._workers_for(han_count("你好" * 1000)) == 1


# === Quiet start-up ===


def test_jieba_prints_nothing_on_stderr():
    code = (
        "from textgen.data.tokenizers.word import WordTokenizer\n"
        f"s = WordTokenizer.settings_from(True, '')\n"
        f"s['user_dict_text'] = '{TERM} 10 n\\n'\n"
        f"print(WordTokenizer(['<unk>'], s).split('她本是{TERM}。'))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert TERM in done.stdout


def test_choosing_processes_reads_a_bounded_head_of_english_text(monkeypatch):
    monkeypatch.setattr(word_module, "PARALLEL_MIN_HAN", 1000)
    read = []

    def chunks():
        for i in range(200):
            read.append(i)
            yield "plain English text; not one Chinese word.\n" * 100  # 4,200 characters

    pieces, workers = word_module._pieces_and_workers(chunks(), None)
    assert workers == 1
    assert len(read) == 1  # 4,200 >= 4 * 1000 characters: decided after one chunk
    assert sum(len(p) for p in pieces) == 200 * 4200  # and nothing is lost
