import codecs
import json
from pathlib import Path

import pytest

from textgen.data.corpus import scan_corpus, scan_recorded
from textgen.errors import CorpusError


def test_utf8_bom_is_stripped_and_crlf_normalised(tmp_path):
    p = tmp_path / "a.txt"
    p.write_bytes("\ufeffline one\r\nline two\r\n".encode())
    assert scan_corpus([p]).read_text() == "line one\nline two\n"


def test_crlf_split_across_chunks(tmp_path):
    p = tmp_path / "a.txt"
    text = "ab\r\n" * 1000 + "tail\r"
    p.write_bytes(text.encode())
    corpus = scan_corpus([p])
    for size in (1, 2, 3, 5, 7, 64):
        assert "".join(corpus.iter_text(chunk_bytes=size)) == "ab\n" * 1000 + "tail\r"


def test_multibyte_characters_never_split(tmp_path):
    p = tmp_path / "zh.txt"
    text = "床前明月光，疑是地上霜。\n举头望明月，低头思故乡。𨣧\n" * 50
    p.write_text(text, encoding="utf-8")
    corpus = scan_corpus([p])
    for size in (1, 2, 5, 7):
        assert "".join(corpus.iter_text(chunk_bytes=size)) == text


def test_gb18030_fallback(tmp_path):
    p = tmp_path / "gbk.txt"
    text = "第一回 甄士隐梦幻识通灵\n贾雨村风尘怀闺秀\n"
    p.write_bytes(text.encode("gb18030"))
    corpus = scan_corpus([p])
    assert corpus.read_text() == text
    assert [f.path for f in corpus.fallback_files] == [p]


def test_undecodable_names_file_and_offset(tmp_path):
    p = tmp_path / "bad.txt"
    p.write_bytes(b"hello world " * 10 + b"\xff\xfe\xfd\xff")
    with pytest.raises(CorpusError, match=r"bad.txt: not valid UTF-8 .* at byte 120\) nor GB18030"):
        scan_corpus([p])


@pytest.mark.parametrize("content, needle", [
    (b"", "file is empty"),
    (b"  \n\t\n  ", "only whitespace"),
    (b"PK\x03\x04\x00\x00binary", "NUL bytes"),
    # UTF-16 with no byte-order mark cannot be told from binary: the error says how to read it.
    ("utf-16 text".encode("utf-16-le"), "NUL bytes .*pass --encoding utf-16-le or utf-16-be"),
])
def test_refuses_unusable_files(tmp_path, content, needle):
    p = tmp_path / "x.txt"
    p.write_bytes(content)
    with pytest.raises(CorpusError, match=needle):
        scan_corpus([p])


def test_missing_paths_and_empty_directories(tmp_path):
    with pytest.raises(CorpusError, match="no such file or directory"):
        scan_corpus([tmp_path / "nope.txt"])
    (tmp_path / "d").mkdir()
    with pytest.raises(CorpusError, match=r"no usable \*.txt file .* --glob"):
        scan_corpus([tmp_path / "d"])


def test_directory_files_sorted_and_joined_with_newline(tmp_path):
    d = tmp_path / "d"
    d.mkdir()
    (d / "b.txt").write_text("second\n", encoding="utf-8")
    (d / "a.txt").write_text("first", encoding="utf-8")
    (d / "skip.md").write_text("not text corpus", encoding="utf-8")
    corpus = scan_corpus([d])
    assert [f.path.name for f in corpus.files] == ["a.txt", "b.txt"]
    assert corpus.read_text() == "first\nsecond\n"
    assert corpus.skipped == ((d / "skip.md", "does not match *.txt"),)


def test_a_directory_skips_unusable_files_and_reads_what_the_glob_picks(tmp_path):
    d = tmp_path / "d"
    d.mkdir()
    (d / "good.txt").write_text("good text\n", encoding="utf-8")
    (d / "image.txt").write_bytes(b"\x89PNG\x00\x00binary")
    (d / "empty.txt").write_bytes(b"")
    (d / "notes.md").write_text("# notes\n", encoding="utf-8")
    (d / "README").write_text("plain text without a suffix\n", encoding="utf-8")
    (d / ".hidden").write_text("x", encoding="utf-8")
    corpus = scan_corpus([d])
    assert [f.path.name for f in corpus.files] == ["good.txt"]
    why = {q.name: reason for q, reason in corpus.skipped}
    assert set(why) == {"image.txt", "empty.txt", "notes.md", "README"}
    assert "NUL bytes" in why["image.txt"] and "empty" in why["empty.txt"]
    assert why["README"] == "does not match *.txt"
    everything = scan_corpus([d], pattern="*")
    assert [f.path.name for f in everything.files] == ["README", "good.txt", "notes.md"]
    with pytest.raises(CorpusError, match="NUL bytes"):  # a file named on its own must work
        scan_corpus([d / "image.txt"])


def test_fingerprint_tracks_content_and_normalisation(tmp_path):
    p = tmp_path / "a.txt"
    p.write_text("ＡＢＣ full width\n", encoding="utf-8")
    plain, nfkc = scan_corpus([p]), scan_corpus([p], "nfkc")
    assert plain.read_text() == "ＡＢＣ full width\n"
    assert nfkc.read_text() == "ABC full width\n"
    assert plain.fingerprint != nfkc.fingerprint
    p.write_text("ＡＢＣ full width!\n", encoding="utf-8")
    assert scan_corpus([p]).fingerprint != plain.fingerprint


def test_error_offset_counts_the_bom(tmp_path):
    p = tmp_path / "bom.txt"
    p.write_bytes(b"\xef\xbb\xbfabc\xff")
    with pytest.raises(CorpusError, match=r"at byte 6\)"):
        scan_corpus([p])
    only_bom = tmp_path / "only-bom.txt"
    only_bom.write_bytes(b"\xef\xbb\xbf")
    with pytest.raises(CorpusError, match="only whitespace"):
        scan_corpus([only_bom])


# Latin-1 French whose accented letters are all followed by letters: it decodes as
# GB18030 too, into rare characters standing alone (mojibake).
LATIN_FRENCH = "Les élèves très fâchés étaient âgés.\nIl était sûr qu'elles étaient fâchées.\n"


def test_latin1_that_decodes_as_gb18030_is_refused_with_the_fix(tmp_path):
    p = tmp_path / "fr.txt"
    p.write_bytes((LATIN_FRENCH * 20).encode("latin-1"))
    (p.read_bytes()).decode("gb18030")  # the trap: it does decode
    with pytest.raises(CorpusError, match=r"not Chinese .* --encoding cp1252 .* iconv"):
        scan_corpus([p])
    corpus = scan_corpus([p], encoding="cp1252")
    assert corpus.read_text() == LATIN_FRENCH * 20 and corpus.files[0].encoding == "cp1252"


def test_classical_chinese_in_gb18030_is_still_accepted(tmp_path):
    # The Tang poems use many characters outside GB2312, but in whole lines.
    text = (Path(__file__).parent / "data" / "excerpts" / "tang-poems.txt").read_text(
        encoding="utf-8")
    p = tmp_path / "poems.txt"
    p.write_bytes(text.encode("gb18030"))
    corpus = scan_corpus([p])
    assert corpus.files[0].encoding == "gb18030" and corpus.read_text() == text


def test_a_named_encoding_is_used_as_given(tmp_path):
    p = tmp_path / "u.txt"
    p.write_bytes("\ufeffhello 你好".encode())
    assert scan_corpus([p], encoding="UTF8").read_text() == "hello 你好"  # BOM still dropped
    p.write_bytes(b"hello \xe9t\xe9")  # neither UTF-8 nor ASCII
    with pytest.raises(CorpusError, match="not valid ascii .* at byte 6"):
        scan_corpus([p], encoding="ascii")
    assert scan_corpus([p], encoding="latin-1").read_text() == "hello été"


def test_with_a_named_encoding_utf8_files_stay_utf8_and_utf16_works(tmp_path):
    d = tmp_path / "d"
    d.mkdir()
    (d / "a.txt").write_text("Les élèves\n", encoding="utf-8")
    (d / "b.txt").write_bytes("très fâchés\n".encode("cp1252"))
    corpus = scan_corpus([d], encoding="cp1252")
    assert corpus.read_text() == "Les élèves\ntrès fâchés\n"
    assert [f.encoding for f in corpus.files] == ["utf-8-sig", "cp1252"]
    wide = tmp_path / "w.txt"
    wide.write_bytes("wide 文字\n".encode("utf-16-be"))  # no byte-order mark
    with pytest.raises(CorpusError, match="NUL bytes"):
        scan_corpus([wide])
    assert scan_corpus([wide], encoding="utf-16-be").read_text() == "wide 文字\n"


@pytest.mark.parametrize("codec, bom", [
    ("utf-16-le", codecs.BOM_UTF16_LE), ("utf-16-be", codecs.BOM_UTF16_BE),
    ("utf-32-le", codecs.BOM_UTF32_LE), ("utf-32-be", codecs.BOM_UTF32_BE),
])
def test_a_byte_order_mark_says_utf16_or_utf32(tmp_path, codec, bom):
    text = "春眠不觉晓，处处闻啼鸟。\r\nSpring sleep.\n"
    p = tmp_path / "marked.txt"
    p.write_bytes(bom + text.encode(codec))
    corpus = scan_corpus([p])
    (f,) = corpus.files
    assert f.encoding == codec[:6]  # "utf-16"/"utf-32": the mark gives the byte order
    assert corpus.read_text() == text.replace("\r\n", "\n")  # no BOM in the text
    again = scan_recorded([(f.path, f.encoding)])  # as resume reads it, from corpus.json
    assert again.read_text() == corpus.read_text() and again.fingerprint == corpus.fingerprint


def test_non_chinese_double_byte_text_is_not_taken_for_gb18030(tmp_path):
    english = "This is a long English preamble line.\n" * 120_000  # past the first chunk
    late = tmp_path / "late.txt"
    late.write_bytes((english + LATIN_FRENCH).encode("latin-1"))
    with pytest.raises(CorpusError, match="not Chinese"):
        scan_corpus([late])
    big5 = tmp_path / "big5.txt"
    big5.write_bytes(("紅樓夢是中國古典小說。賈寶玉與林黛玉。\n" * 50).encode("big5"))
    with pytest.raises(CorpusError, match="not Chinese"):
        scan_corpus([big5])
    mixed = tmp_path / "mixed.txt"  # English with a few Chinese words: short runs, all common
    mixed.write_bytes(("The word 中国 means China, and 你好 is hello.\n" * 40).encode("gbk"))
    assert scan_corpus([mixed]).files[0].encoding == "gb18030"


@pytest.mark.parametrize("pattern", ["", "/abs/*.txt", "../*.txt"])
def test_a_glob_must_stay_inside_the_directory(tmp_path, pattern):
    (tmp_path / "a.txt").write_text("x\n", encoding="utf-8")
    with pytest.raises(CorpusError, match="--glob"):
        scan_corpus([tmp_path], pattern=pattern)


def test_a_glob_skips_hidden_folders(tmp_path):
    (tmp_path / "a.txt").write_text("x\n", encoding="utf-8")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "b.txt").write_text("y\n", encoding="utf-8")
    assert [f.path.name for f in scan_corpus([tmp_path], pattern="**/*.txt").files] == ["a.txt"]


def test_train_and_resume_a_utf16_file_with_a_bom(tmp_path):
    from tests.conftest import TINY_TEXT
    from tests.test_cli import invoke, sets

    corpus = tmp_path / "wide.txt"
    corpus.write_text(TINY_TEXT, encoding="utf-16")  # Python writes a BOM, as Notepad does
    out = tmp_path / "run"
    result = invoke("train", corpus, "--out", out, *sets(), "--max-steps", 3)
    assert result.exit_code == 0, result.output
    record = json.loads((out / "corpus.json").read_text(encoding="utf-8"))
    assert [f["encoding"] for f in record["files"]] == ["utf-16"]
    assert "(utf-16)" in invoke("info", out).stdout
    resumed = invoke("train", "--resume", out, "--max-steps", 5)
    assert resumed.exit_code == 0, resumed.output
    assert json.loads((out / "state.json").read_text(encoding="utf-8"))["step"] == 5
