"""Reading corpora: files and directories in, checked and decoded text chunks out.

A corpus is read twice, in chunks, never whole: `scan_corpus` checks every file
(exists, not binary, decodable, not blank) and fingerprints its bytes;
`Corpus.iter_text` then yields decoded text for the tokenizer. Memory stays at a
few chunks whatever the corpus size.

Decoding (`encoding="auto"`): a file that starts with a UTF-16 or UTF-32
byte-order mark is read in that encoding (the mark says which, and its byte
order); else UTF-8 (a BOM is stripped); if that fails,
GB18030 (a superset of GBK and GB2312, common for Chinese novels), but only
when the result reads as Chinese: most of its non-ASCII characters are among
GB2312's 6,763 common ones, or they come in runs (words, lines of verse). A
Latin-1 or Windows-1252 file often decodes as GB18030 too, into rare characters
standing alone between ASCII letters: mojibake a model would learn. Any other
`encoding` is a codec name used as given. CRLF becomes LF. Files are joined in
order, with a newline added between two files when the first does not end with one.
"""

from __future__ import annotations

import codecs
import hashlib
import re
import unicodedata
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from textgen.errors import CorpusError

CHUNK_BYTES = 1 << 22  # 4 MiB of raw bytes per read
# Chinese text in GB18030 is nearly all GB2312 characters (the bundled novels:
# over 99.8%), or, for classical or traditional text (the Tang poems: 71%), in
# long runs of non-ASCII characters (whole lines). Latin-1 read as GB18030 is
# neither: each accented letter swallows the next byte into one rare character.
MIN_COMMON_CHINESE = 0.8
MIN_MEAN_RUN = 3.0
MIN_SHARE_IN_RUNS = 0.5  # Big5 or Shift-JIS read as GB18030: long runs, few common ones


@dataclass(frozen=True)
class CorpusFile:
    """One checked corpus file."""

    path: Path
    encoding: str  # "utf-8-sig", "gb18030", "utf-16"/"utf-32" (a BOM) or the one asked for
    sha256: str
    n_bytes: int


@dataclass(frozen=True)
class Corpus:
    """A checked list of corpus files, read lazily."""

    files: tuple[CorpusFile, ...]
    normalize: str = "none"
    # Files of the given directories that were not used, with why (not in the fingerprint).
    skipped: tuple[tuple[Path, str], ...] = ()

    @property
    def fingerprint(self) -> str:
        """A hash of the files' bytes, order and decoding; keys the encoded-corpus cache."""
        h = hashlib.sha256(self.normalize.encode())
        for f in self.files:
            h.update(f"{f.sha256}:{f.encoding}\n".encode())
        return h.hexdigest()

    @property
    def n_bytes(self) -> int:
        """Total size of the files on disk."""
        return sum(f.n_bytes for f in self.files)

    @property
    def fallback_files(self) -> list[CorpusFile]:
        """Files that were not read as UTF-8 (GB18030, or the encoding asked for)."""
        return [f for f in self.files if f.encoding != "utf-8-sig"]

    def iter_text(self, chunk_bytes: int = CHUNK_BYTES) -> Iterator[str]:
        """Yields the corpus as text chunks that end at a newline where possible.

        Chunks end on a line boundary (unless a single line is longer than a
        chunk) so that a word segmenter never sees a word cut in two.
        """
        for i, f in enumerate(self.files):
            last = ""
            for chunk in _iter_lines_chunks(f.path, f.encoding, chunk_bytes):
                if self.normalize == "nfkc":
                    chunk = unicodedata.normalize("NFKC", chunk)
                last = chunk
                yield chunk
            if i < len(self.files) - 1 and not last.endswith("\n"):
                yield "\n"

    def read_text(self) -> str:
        """Returns the whole corpus as one string (for small corpora and tests)."""
        return "".join(self.iter_text())


def scan_corpus(
    paths: list[Path], normalize: str = "none", encoding: str = "auto", pattern: str = "*.txt"
) -> Corpus:
    """Checks and fingerprints every corpus file.

    A file named on its own must be usable. A directory stands for its files
    that match `pattern`, in name order; the others, and matching files that
    are empty, binary or undecodable, are skipped and listed in `Corpus.skipped`.

    Args:
        paths: files and/or directories.
        normalize: "none" or "nfkc" (Unicode compatibility normalisation).
        encoding: "auto" (UTF-8, else GB18030 when it reads as Chinese), or a codec
            name ("cp1252", "latin-1", "big5", ...) for every file.
        pattern: which files of a directory to read (a glob such as "*.md").

    Returns:
        The checked `Corpus`.

    Raises:
        CorpusError: a path is missing; a named file is empty, whitespace-only,
            binary or undecodable; a directory has no usable file.
    """
    if not paths:
        raise CorpusError("no corpus given; pass one or more text files or directories")
    files: list[CorpusFile] = []
    skipped: list[tuple[Path, str]] = []
    for p in map(Path, paths):
        if p.is_dir():
            used, passed = _scan_directory(p, encoding, pattern)
            files += used
            skipped += passed
        elif p.is_file():
            files.append(_scan_file(p, encoding))
        else:
            raise CorpusError(f"{p}: no such file or directory; check the corpus path")
    return Corpus(tuple(files), normalize, tuple(skipped))


def _scan_directory(
    d: Path, encoding: str, pattern: str
) -> tuple[list[CorpusFile], list[tuple[Path, str]]]:
    if not pattern or Path(pattern).is_absolute() or ".." in Path(pattern).parts:
        raise CorpusError(
            f"--glob {pattern!r}: give a pattern inside the directory, e.g. '*.md' or '**/*.txt'"
        )

    def hidden(q: Path) -> bool:  # a dot-file, or inside a dot-folder (.git), unless asked
        return any(part.startswith(".") for part in q.relative_to(d).parts) and not (
            pattern.startswith("."))

    chosen = sorted(q for q in d.glob(pattern) if q.is_file() and not hidden(q))
    others = sorted(q for q in d.iterdir() if q.is_file() and not hidden(q) and q not in chosen)
    skipped = [(q, f"does not match {pattern}") for q in others]
    used = []
    for q in chosen:
        try:
            used.append(_scan_file(q, encoding))
        except CorpusError as e:
            skipped.append((q, str(e).removeprefix(f"{q}: ").split(";")[0]))
    if not used:
        seen = ", ".join(f"{q.name} ({why})" for q, why in skipped[:5]) or "nothing"
        raise CorpusError(
            f"{d}: no usable {pattern} file in this directory (it holds: {seen}); pick "
            "the files with --glob, e.g. --glob '*.md', or point at a text file"
        )
    return used, skipped


def _scan_file(path: Path, encoding: str = "auto") -> CorpusFile:
    if encoding != "auto":
        name = codecs.lookup(encoding).name
        codec = "utf-8-sig" if name == "utf-8" else name
        if codec != "utf-8-sig" and _ascii_compatible(codec):
            # Valid UTF-8 is UTF-8: a directory mixing UTF-8 files with, say,
            # cp1252 ones is read right with --encoding cp1252.
            utf8 = _try_decode(path, "utf-8-sig")
            if isinstance(utf8, CorpusFile):
                return utf8
        result = _try_decode(path, codec)
        if isinstance(result, CorpusFile):
            return result
        offset, reason = result
        raise CorpusError(
            f"{path}: not valid {encoding} ({reason} at byte {offset:,}); check the "
            "file's encoding, or leave out --encoding to detect it"
        )
    marked = _bom_encoding(path)
    if marked is not None:
        result = _try_decode(path, marked)
        if isinstance(result, CorpusFile):
            return result
        raise CorpusError(
            f"{path}: starts with a {marked.upper()} byte-order mark but is not valid "
            f"{marked.upper()} ({result[1]} at byte {result[0]:,}); pass --encoding with "
            "the file's encoding, or convert it to UTF-8 (`iconv -f <encoding> -t utf-8`)"
        )
    utf8 = _try_decode(path, "utf-8-sig")
    if isinstance(utf8, CorpusFile):
        return utf8
    offset, reason = utf8
    gb = _try_decode(path, "gb18030")
    if isinstance(gb, CorpusFile):
        share, mean_run = _chinese_evidence(gb)
        if share >= MIN_COMMON_CHINESE or (share >= MIN_SHARE_IN_RUNS
                                           and mean_run >= MIN_MEAN_RUN):
            return gb
        raise CorpusError(
            f"{path}: not UTF-8 ({reason} at byte {offset:,}), and read as GB18030 it is "
            f"not Chinese (only {share:.0%} common Chinese characters, in runs of "
            f"{mean_run:.1f}): probably Latin-1 or Windows-1252. Pass --encoding cp1252 "
            f"(or the right one), or convert it: iconv -f cp1252 -t utf-8 {path} > "
            f"{path.stem}-utf8.txt"
        )
    raise CorpusError(
        f"{path}: not valid UTF-8 ({reason} at byte {offset:,}) nor GB18030; pass "
        "--encoding with the file's encoding, or convert it to UTF-8 "
        "(`iconv -f <encoding> -t utf-8`)"
    )


# Byte-order marks that name their encoding, longest first (UTF-32 LE starts as UTF-16 LE's).
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def _bom_encoding(path: Path) -> str | None:
    """"utf-16" or "utf-32" when the file starts with that byte-order mark, else None.

    These codecs read the mark to learn the byte order and leave it out of the
    text; recorded in corpus.json, they read the file the same way on resume.
    """
    with _read_errors(path), open(path, "rb") as f:
        head = f.read(4)
    return next((codec for bom, codec in _BOMS if head.startswith(bom)), None)


def _chinese_evidence(f: CorpusFile) -> tuple[float, float]:
    """How Chinese a decoded file looks, over the whole file.

    Returns:
        The share of its non-ASCII characters that are in GB2312, and the mean
        length of its runs of non-ASCII characters.
    """
    odd: Counter[str] = Counter()
    n_runs = 0
    for text in _iter_lines_chunks(f.path, f.encoding, CHUNK_BYTES):
        runs = _NON_ASCII.findall(text)
        n_runs += len(runs)
        odd.update("".join(runs))
    total = sum(odd.values())
    if not total:
        return 1.0, 0.0
    common = 0
    for c, n in odd.items():
        try:
            c.encode("gb2312")
            common += n
        except UnicodeEncodeError:
            pass
    return common / total, total / n_runs


_NON_ASCII = re.compile(r"[^\x00-\x7f]+")


def _try_decode(path: Path, encoding: str) -> CorpusFile | tuple[int, str]:
    """Streams `path` through a strict decoder.

    Returns:
        A `CorpusFile` on success, else `(byte_offset, reason)` of the first error.

    Raises:
        CorpusError: the file cannot be read, is binary, empty or blank.
    """
    with _read_errors(path):
        return _decode_stream(path, encoding)


def _decode_stream(path: Path, encoding: str) -> CorpusFile | tuple[int, str]:
    # "utf-8-sig" is decoded as plain UTF-8 after skipping the BOM by hand, so
    # that error offsets count the BOM's three bytes.
    decoder = codecs.getincrementaldecoder("utf-8" if encoding == "utf-8-sig" else encoding)()
    ascii_ok = _ascii_compatible(encoding)  # else NUL bytes are normal (UTF-16): check text
    h = hashlib.sha256()
    consumed = 0
    has_text = False
    with open(path, "rb") as f:
        while True:
            raw = f.read(CHUNK_BYTES)
            if consumed == 0 and encoding == "utf-8-sig" and raw.startswith(codecs.BOM_UTF8):
                h.update(codecs.BOM_UTF8)
                raw, consumed = raw[len(codecs.BOM_UTF8) :], len(codecs.BOM_UTF8)
            final = not raw
            if ascii_ok and b"\x00" in raw:
                at = consumed + raw.index(b"\x00")
                raise CorpusError(
                    f"{path}: contains NUL bytes (first at byte {at:,}): a binary file, or "
                    "UTF-16 text without a byte-order mark (pass --encoding utf-16-le or "
                    "utf-16-be); give a plain-text file, best saved as UTF-8"
                )
            h.update(raw)
            pending = len(decoder.getstate()[0])
            try:
                text = decoder.decode(raw, final=final)
            except UnicodeDecodeError as e:
                return consumed - pending + e.start, e.reason
            if not ascii_ok and "\x00" in text:
                raise CorpusError(f"{path}: contains NUL characters: a binary file, or not "
                                  f"{encoding}; give a text file")
            consumed += len(raw)
            has_text = has_text or (text.strip() != "")
            if final:
                break
    if consumed == 0:
        raise CorpusError(f"{path}: file is empty; give a text file with some content")
    if not has_text:
        raise CorpusError(f"{path}: file holds only whitespace; give a text file with content")
    return CorpusFile(path, encoding, h.hexdigest(), consumed)


def _iter_lines_chunks(path: Path, encoding: str, chunk_bytes: int) -> Iterator[str]:
    """Yields decoded, CRLF-normalised text of one file, cut after newlines."""
    with _read_errors(path):
        yield from _decoded_chunks(path, encoding, chunk_bytes)


@contextmanager
def _read_errors(path: Path) -> Iterator[None]:
    """Turns an OS error reading `path` (permissions, I/O) into a `CorpusError`."""
    try:
        yield
    except OSError as e:
        raise CorpusError(f"{path}: cannot read it ({e.strerror or e}); check the file") from e


def _decoded_chunks(path: Path, encoding: str, chunk_bytes: int) -> Iterator[str]:
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    carry = ""
    with open(path, "rb") as f:
        while True:
            raw = f.read(chunk_bytes)
            text = carry + decoder.decode(raw, final=not raw)
            if raw:
                # Hold back everything after the last newline (and a lone CR that
                # may be the first half of a CRLF) for the next chunk.
                cut = text.rfind("\n") + 1
                if cut == 0 and len(text) < 4 * chunk_bytes:
                    carry = text
                    continue
                cut = cut or len(text)
                if text[cut - 1] == "\r":
                    cut -= 1
                text, carry = text[:cut], text[cut:]
            else:
                carry = ""
            text = text.replace("\r\n", "\n")
            if text:
                yield text
            if not raw:
                break


def _ascii_compatible(encoding: str) -> bool:
    """Whether ASCII text is the same bytes in `encoding` (not so in UTF-16/32)."""
    try:
        codec = "utf-8" if encoding == "utf-8-sig" else encoding  # the BOM is not the text
        return "A\x00\n".encode(codec) == b"A\x00\n"
    except (UnicodeError, LookupError):
        return False


def scan_recorded(files: list[tuple[Path, str]], normalize: str = "none") -> Corpus:
    """Checks corpus files again, each with the encoding it was read with (resume).

    Raises:
        CorpusError: a file is missing, changed so it no longer decodes, or unusable.
    """
    out = []
    for path, encoding in files:
        if not Path(path).is_file():
            raise CorpusError(f"{path}: no such file or directory; check the corpus path")
        result = _try_decode(Path(path), encoding)
        if not isinstance(result, CorpusFile):
            raise CorpusError(f"{path}: no longer valid {encoding} (byte {result[0]:,})")
        out.append(result)
    return Corpus(tuple(out), normalize)
