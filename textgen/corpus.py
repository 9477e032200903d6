"""Reading corpora: files and directories in, checked and decoded text chunks out.

A corpus is read twice, in chunks, never whole: `scan_corpus` checks every file
(exists, not binary, decodable, not blank) and fingerprints its bytes;
`Corpus.iter_text` then yields decoded text for the tokenizer. Memory stays at a
few chunks whatever the corpus size.

Decoding: UTF-8 (a BOM is stripped); if that fails, GB18030 (a superset of GBK
and GB2312, common for Chinese novels), and the fallback is reported. CRLF
becomes LF. Files are joined in order, with a newline added between two files
when the first does not end with one.
"""

from __future__ import annotations

import codecs
import hashlib
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from textgen.errors import CorpusError

CHUNK_BYTES = 1 << 22  # 4 MiB of raw bytes per read
ENCODINGS = ("utf-8-sig", "gb18030")


@dataclass(frozen=True)
class CorpusFile:
    """One checked corpus file."""

    path: Path
    encoding: str  # "utf-8-sig" or "gb18030"
    sha256: str
    n_bytes: int


@dataclass(frozen=True)
class Corpus:
    """A checked list of corpus files, read lazily."""

    files: tuple[CorpusFile, ...]
    normalize: str = "none"

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
        """Files that were not UTF-8 and were decoded as GB18030."""
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


def expand_paths(paths: list[Path]) -> list[Path]:
    """Expands directories to their `*.txt` files (sorted) and checks that files exist.

    Raises:
        CorpusError: a path does not exist, or a directory holds no `.txt` file.
    """
    if not paths:
        raise CorpusError("no corpus given; pass one or more text files or directories")
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            txt = sorted(q for q in p.glob("*.txt") if q.is_file())
            if not txt:
                raise CorpusError(f"{p}: directory holds no *.txt files; point at a text file")
            out.extend(txt)
        elif p.is_file():
            out.append(p)
        else:
            raise CorpusError(f"{p}: no such file or directory; check the corpus path")
    return out


def scan_corpus(paths: list[Path], normalize: str = "none") -> Corpus:
    """Checks and fingerprints every corpus file.

    Args:
        paths: files and/or directories (a directory stands for its `*.txt` files).
        normalize: "none" or "nfkc" (Unicode compatibility normalisation).

    Returns:
        The checked `Corpus`.

    Raises:
        CorpusError: a file is missing, empty, whitespace-only, binary or undecodable.
    """
    return Corpus(tuple(_scan_file(p) for p in expand_paths(paths)), normalize)


def _scan_file(path: Path) -> CorpusFile:
    first_error: tuple[int, str] | None = None
    for encoding in ENCODINGS:
        result = _try_decode(path, encoding)
        if isinstance(result, CorpusFile):
            return result
        first_error = first_error or result
    offset, reason = first_error  # type: ignore[misc]
    raise CorpusError(
        f"{path}: not valid UTF-8 ({reason} at byte {offset:,}) nor GB18030; "
        "convert it to UTF-8 (e.g. `iconv -f <encoding> -t utf-8`)"
    )


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
            if b"\x00" in raw:
                at = consumed + raw.index(b"\x00")
                raise CorpusError(
                    f"{path}: contains NUL bytes (first at byte {at:,}): a binary file or "
                    "UTF-16 text; give a plain-text file saved as UTF-8"
                )
            h.update(raw)
            pending = len(decoder.getstate()[0])
            try:
                text = decoder.decode(raw, final=final)
            except UnicodeDecodeError as e:
                return consumed - pending + e.start, e.reason
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
