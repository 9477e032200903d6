"""Sources of the `zh-base` training mix (Chinese, character level).

`mix.py zh` imports `SOURCES` from here. Every source reads raw files under the
roots folder (`--roots`, e.g. /work/basesrc) and yields documents as plain text:
a poem, a ci, a chapter. Each source's `obtain` says how to recreate its raw
files there.

Poems are written as a title line, an author line, then the poem's lines with
their original punctuation, so that the model learns where a poem begins and
ends. Poems reach the mix once: every verse reader drops a poem whose text
(letters and CJK characters only) was already yielded by an earlier one, because
`mix.py`'s paragraph dedupe leaves short poems alone. Script is kept as each
source has it: 全唐诗 and 全宋诗 are traditional, 宋词, 元曲 and the novels
simplified. The shared corpora's tang-poems.txt is not used: its 4,003 poems are
全唐诗's first four files, which `tang-shi` already has.

Besides verse the mix has classical prose (chinese-poetry's 四书, 古文观止, 蒙学),
the vernacular novels (the shared 红楼梦 and 西游记; 三國志演義, 水滸傳 and others
from Project Gutenberg), 20th-century prose (鲁迅's fiction, memoirs and diary), and
modern technical Chinese in both scripts: the Python documentation's translation,
Debian's manuals, LibreOffice's help, Chinese man pages and the zh_CN / zh_TW
gettext catalogues of some sixty Debian packages. 全宋诗 is sampled so that verse
stays near 40% of the mix.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import struct
from collections.abc import Iterable, Iterator
from functools import cache
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from mix import Source

POETRY = "mirror/chinese-poetry"
"""Work tree (JSON files only) of github.com/chinese-poetry/chinese-poetry."""

POETRY_COMMIT = "99ebbef7e1345c0985c44b9fd96a3f9e776f117b"
POETRY_LICENCE = ("MIT (chinese-poetry/chinese-poetry LICENSE, 'Copyright (c) 2016 "
                  "JackeyGao'); the works themselves are public domain")
POETRY_ORIGIN = f"https://github.com/chinese-poetry/chinese-poetry @ {POETRY_COMMIT}"
POETRY_OBTAIN = (
    "mkdir -p /work/basesrc/mirror/chinese-poetry && cd REPO.git && "
    "git -c core.quotepath=off ls-tree -r --name-only HEAD | grep -E '\\.json$|LICENSE|README' "
    "| grep -v -E '^(rank|strains|images|loader)/|/error/|^御定' "
    "| xargs -d '\\n' git archive HEAD -- | tar x -C /work/basesrc/mirror/chinese-poetry "
    f"(REPO.git: a clone of https://github.com/chinese-poetry/chinese-poetry at {POETRY_COMMIT}; "
    "git archive warns about the absent 宋词/ci.db, which is not needed)"
)

SONG_SHI_SHARE = 0.15
"""Share of 全宋诗's 254,000 poems (about 20 M characters) that goes into the mix, so that
verse stays near 40% of it (the first build, /work/mix/zh, used 0.25)."""

_SEEN_POEMS: set[str] = set()
_NOT_TEXT = re.compile(r"[\W_]+")
_SUPPLIED = re.compile(r"\[([^\[\]\W\d_]{1,3})\]")  # 無[限]: an editor's supplied character
_COMPONENTS = re.compile(r"\{[^{}]{1,12}\}")  # {月悤}: a character described by its parts
# Marks of a lost or misdecoded character in a poem: kana and bopomofo that stand
# for rare characters, ideographic description characters, ● and ■ for gaps.
_BROKEN = re.compile("[\u3040-\u30fa\u30fc-\u30ff\u3100-\u312f\u2ff0-\u2fff\u25cf\u25a0]")


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _numbered(folder: Path, pattern: str) -> list[Path]:
    """Files of `folder` matching `pattern` (e.g. "poet.tang.*.json"), in numeric order."""
    def number(p: Path) -> int:
        digits = re.findall(r"\d+", p.name)
        return int(digits[-1]) if digits else -1
    return sorted(folder.glob(pattern), key=number)


@cache
def _components(roots: Path) -> dict[str, str]:
    """Maps 全唐诗's component descriptions ("{上休下鳥}") to the character they stand for."""
    table = _load(roots / POETRY / "全唐诗" / "表面结构字.json")
    return {k: v[0]["font"] for k, v in table.items() if v}


def _fix_marks(line: str, roots: Path) -> str | None:
    """Resolves 全唐诗's editorial marks in `line`: "無[限]" becomes "無限", a
    "{月悤}" becomes its character. Returns None if a description has no character."""
    line = _SUPPLIED.sub(r"\1", line)
    table = _components(roots)
    for desc in _COMPONENTS.findall(line):
        if desc not in table:
            return None
        line = line.replace(desc, table[desc])
    return line


def poem(title: str, author: str, lines: Iterable[str], notes: Iterable[str] = ()) -> str | None:
    """Formats one poem: title line, author line, its lines, then notes after a blank line.

    Returns:
        The document, or None if its text was already yielded (or it is empty).
    """
    lines = [s.strip() for s in lines if s and s.strip()]
    if any(_BROKEN.search(s) for s in lines):
        return None
    body = _NOT_TEXT.sub("", "".join(lines))
    if not body:
        return None
    key = body if len(body) >= 12 else f"{title}|{body}"
    if key in _SEEN_POEMS:
        return None
    _SEEN_POEMS.add(key)
    head = [s.strip() for s in (title, author) if s and s.strip()]
    doc = "\n".join(head + lines)
    notes = [s.strip() for n in notes for s in n.split("\u3000\u3000") if s.strip()]
    return doc + "\n\n" + "\n".join(notes) if notes else doc


def _poems(records: Iterable[dict], roots: Path, title_key: str = "title") -> Iterator[str]:
    """Poem documents from chinese-poetry records ({title|rhythmic, author, paragraphs})."""
    for r in records:
        lines = [_fix_marks(s, roots) for s in r.get("paragraphs") or r.get("para") or []]
        if None in lines:
            continue
        title = r.get(title_key) or r.get("rhythmic") or r.get("title") or ""
        title = title.replace("○", "〇")  # 其一三○: the numeral zero
        doc = poem(title, r.get("author") or "", lines,
                   r.get("notes") or ([r["prologue"]] if r.get("prologue") else []))
        if doc:
            yield doc


def _sampled(text: str, share: float) -> bool:
    """A stable pseudo-random choice of `share` of all texts."""
    h = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")
    return h < share * 2**64


def read_tang_shi(roots: Path) -> Iterator[str]:
    """全唐诗 (1705), 57,600 poems in traditional script; one poem a document."""
    for f in _numbered(roots / POETRY / "全唐诗", "poet.tang.*.json"):
        yield from _poems(_load(f), roots)


def read_song_ci(roots: Path) -> Iterator[str]:
    """全宋词, 21,000 ci in simplified script; the tune name (词牌) is the title line."""
    for f in _numbered(roots / POETRY / "宋词", "ci.song.*.json"):
        yield from _poems(_load(f), roots, title_key="rhythmic")


def read_song_shi(roots: Path) -> Iterator[str]:
    """全宋诗 (traditional script), a stable sample of `SONG_SHI_SHARE` of its poems."""
    for f in _numbered(roots / POETRY / "全唐诗", "poet.song.*.json"):
        records = _load(f)
        yield from _poems((r for r in records
                           if _sampled("".join(r.get("paragraphs", [])), SONG_SHI_SHARE)), roots)


def read_yuan_qu(roots: Path) -> Iterator[str]:
    """元曲: 11,000 sanqu and songs from zaju (simplified script)."""
    yield from _poems(_load(roots / POETRY / "元曲" / "yuanqu.json"), roots)


def read_early_verse(roots: Path) -> Iterator[str]:
    """诗经, 楚辞, 曹操, the Five Dynasties' ci (花间集, 南唐二主词), 纳兰性德 and
    水墨唐诗 (Tang poems with a modern explanation), all simplified script."""
    base = roots / POETRY
    for r in _load(base / "诗经" / "shijing.json"):
        doc = poem(r["title"], f"诗经·{r['chapter']}·{r['section']}", r["content"])
        if doc:
            yield doc
    for r in _load(base / "楚辞" / "chuci.json"):
        doc = poem(r["title"], f"楚辞·{r['author']}", r["content"])
        if doc:
            yield doc
    yield from _poems(_load(base / "曹操诗集" / "caocao.json"), roots)
    for f in sorted((base / "五代诗词" / "huajianji").glob("huajianji-*-juan.json")):
        yield from _poems(_load(f), roots)
    yield from _poems(_load(base / "五代诗词" / "nantang" / "poetrys.json"), roots)
    yield from _poems(_load(base / "纳兰性德" / "纳兰性德诗集.json"), roots)
    yield from _poems(_load(base / "水墨唐诗" / "shuimotangshi.json"), roots)


def _prose(heads: Iterable[str], paragraphs: Iterable[str]) -> str:
    """A prose document: heading lines, then paragraphs separated by blank lines."""
    head = "\n".join(h.strip() for h in heads if h and h.strip())
    pars = [p.strip() for p in paragraphs if p and p.strip()]
    return "\n\n".join(([head] if head else []) + pars)


def _walk(node: Any, heads: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], list[str]]]:
    """Finds every (headings, paragraphs) leaf of a nested chinese-poetry book
    ({title, content: [{chapter, paragraphs}]})."""
    if isinstance(node, list):
        for item in node:
            yield from _walk(item, heads)
        return
    if not isinstance(node, dict):
        return
    here = heads + tuple(str(node[k]).strip() for k in ("title", "chapter", "subchapter", "source")
                         if node.get(k))
    author = node.get("author")
    if author and len(author) < 40:
        here += (author.strip(),)
    texts = node.get("paragraphs")
    if texts is None and isinstance(node.get("content"), list) \
            and all(isinstance(s, str) for s in node["content"]):
        texts = node["content"]
    if texts:
        yield here, [s for s in texts if isinstance(s, str)]
    elif isinstance(node.get("content"), list):
        yield from _walk(node["content"], here[:2] if len(here) > 2 else here)


def read_classics(roots: Path) -> Iterator[str]:
    """论语 (simplified), 孟子, 大学, 中庸 (traditional): one chapter a document."""
    base = roots / POETRY
    for path in (base / "论语" / "lunyu.json", base / "四书五经" / "daxue.json",
                 base / "四书五经" / "zhongyong.json", base / "四书五经" / "mengzi.json"):
        for heads, pars in _walk(_load(path)):
            yield _prose(heads, pars)


def read_guwen(roots: Path) -> Iterator[str]:
    """古文观止 (222 essays from the Zuozhuan to the Ming, traditional) and 幽梦影
    (Zhang Chao's aphorisms with his friends' comments, simplified)."""
    base = roots / POETRY
    book = _load(base / "蒙学" / "guwenguanzhi.json")
    yield _prose([book["title"]], book.get("abstract", []))
    for heads, pars in _walk(book["content"]):
        yield _prose(heads[1:] if len(heads) > 1 else heads, pars)
    for r in _load(base / "幽梦影" / "youmengying.json"):
        comments = r.get("comment") or []
        yield _prose([], [r["content"]] + ([comments] if isinstance(comments, str) else comments))


def read_mengxue(roots: Path) -> Iterator[str]:
    """蒙学 primers in traditional script: 三字经, 千字文, 百家姓, 弟子规, 千家诗,
    唐诗三百首, 声律启蒙, 幼学琼林, 增广贤文, 朱子家训 (not 文字蒙求, a list of
    glyph forms)."""
    base = roots / POETRY / "蒙学"
    for name in ("sanzijing-traditional", "qianziwen", "baijiaxing", "dizigui", "zhuzijiaxun",
                 "zengguangxianwen", "shenglvqimeng", "youxueqionglin"):
        book = _load(base / f"{name}.json")
        if book.get("abstract"):
            abstract = book["abstract"]
            yield _prose([book["title"]], [abstract] if isinstance(abstract, str) else abstract)
        for heads, pars in _walk(book):
            verse = name in ("sanzijing-traditional", "qianziwen", "baijiaxing", "dizigui")
            yield "\n".join(heads + tuple(pars)) if verse else _prose(heads, pars)
    for name in ("qianjiashi", "tangshisanbaishou"):
        for heads, lines in _walk(_load(base / f"{name}.json")["content"]):
            doc = poem(heads[-2] if len(heads) > 1 else "", heads[-1], lines)
            if doc:
                yield doc


_CHAPTER = re.compile(r"^\s*(?:《》目录\s*)?(第[一二三四五六七八九十百零〇]+回)", re.M)


def _chapters(text: str) -> Iterator[str]:
    """Splits a novel at its 第…回 headings; lines are unindented and paragraphs
    separated by blank lines. The e-text's "《》目录 " heading prefix is dropped."""
    starts = [m.start() for m in _CHAPTER.finditer(text)] + [len(text)]
    title = text[:starts[0]].strip()
    for i, (a, b) in enumerate(zip(starts, starts[1:], strict=False)):
        lines = [s.strip() for s in text[a:b].splitlines()]
        lines[0] = re.sub(r"^《》目录\s*", "", lines[0])
        chapter = "\n\n".join(s for s in lines if s)
        yield f"{title}\n\n{chapter}" if i == 0 and title else chapter


def read_hongloumeng(roots: Path) -> Iterator[str]:
    """红楼梦, 120 chapters (simplified script); one chapter a document."""
    yield from _chapters((roots / "shared" / "hongloumeng.txt").read_text(encoding="utf-8"))


def read_xiyouji(roots: Path) -> Iterator[str]:
    """西游记, 100 chapters and the appendix chapter (simplified); one chapter a document."""
    yield from _chapters((roots / "shared" / "xiyouji.txt").read_text(encoding="utf-8"))


GUTENBERG = "mirror/gutenberg-zh"
"""Work trees of github.com/gutenbergbooks/<id>, Project Gutenberg's own repositories."""

GUTENBERG_BOOKS: dict[str, tuple[str, str, str]] = {
    # eBook number: (title, author, commit of github.com/gutenbergbooks/<number>)
    "23950": ("三國志演義", "羅貫中", "857ef0f69f6360beef86bd8fde7f8b66fccd7d06"),
    "23863": ("水滸傳", "施耐庵", "416077559982bdf3a9c5dd89d6358460a70b897e"),
    "24032": ("儒林外史", "吳敬梓", "853e8387a5c2bcede1bc2de5220630278ada0619"),
    "25606": ("三國志", "陳壽", "3782eae6506b66a9c4bb5ae44307b973d7ab964d"),
    "27166": ("吶喊", "魯迅", "74550fd03215856ee20ce7b8ff101e0018605064"),
    "25271": ("朝花夕拾", "魯迅", "82166fa7ec7978bb48406e42d7fe84eff6785855"),
    "25124": ("老殘遊記", "劉鶚", "75aeaf88f6fe7028e85fa385bcdf8d36cea46733"),
    "25377": ("鏡花緣", "李汝珍", "f1270e0882c07ba247c73dee91fc7b53b66c35eb"),
}
"""Chinese (traditional script) Project Gutenberg eBooks used, all public domain in the US."""

_HEADING = re.compile(r"^(?:第[一二三四五六七八九十百]+回|楔子|[魏蜀吳]書[一二三四五六七八九十]+)")
_WIDE = re.compile(r"[\u2e80-\u9fff\uf900-\uffef\U00020000-\U0003ffff]")


def _join(a: str, b: str) -> str:
    """Joins two pieces of a wrapped line: no space where either side is CJK."""
    if not a or not b:
        return a + b
    return a + b if _WIDE.match(a[-1]) or _WIDE.match(b[0]) else f"{a} {b}"


def unwrap(text: str) -> list[str]:
    """Paragraphs of a hard-wrapped Project Gutenberg text. A paragraph starts after a
    blank line or at an indented line; in a double-spaced text (a blank line after
    most lines) only two blank lines in a row end a paragraph."""
    lines = text.splitlines()
    widths = sorted(len(line.strip()) for line in lines if line.strip())
    width = widths[len(widths) // 2] if widths else 0  # the median line: a wrapped line
    singles = sum(1 for a, b, c in zip(lines, lines[1:], lines[2:], strict=False)
                  if a.strip() and not b.strip() and c.strip())
    double = singles > 0.4 * len(widths) and width < 60
    pars: list[str] = []
    cur = last = ""
    blanks = 0
    for line in lines:
        if not line.strip():
            blanks += 1
            continue
        indented = line[:1] in (" ", "\u3000")
        if double:  # a short line ends its paragraph too
            new = blanks >= 2 or len(last) < 0.7 * width
        else:
            new = blanks >= 1 or indented
        if new and cur:
            pars.append(cur)
            cur = ""
        last = line.strip()
        cur = _join(cur, last)
        blanks = 0
    if cur:
        pars.append(cur)
    return pars


def read_gutenberg(roots: Path) -> Iterator[str]:
    """Traditional-script books from Project Gutenberg (see `GUTENBERG_BOOKS`): the
    novels one chapter (回) a document, 三國志 one 紀/傳 a document, 魯迅's collections
    one book a document; the closing "End of the Project Gutenberg EBook" line dropped."""
    for number in GUTENBERG_BOOKS:
        text = (roots / GUTENBERG / number / f"{number}-0.txt").read_text(encoding="utf-8")
        text = re.split(r"^\s*End of (?:the )?Project Gutenberg", text, flags=re.M | re.I)[0]
        text = text.replace("無標題文件", "")  # 老殘遊記: the HTML page title ("untitled")
        # 吶喊's notes: "□注釋", and kana that stand for the note numbers ⑴ ⑵ …;
        # private-use code points (unencoded rare characters) anywhere
        text = re.sub("[\u3041-\u3096\u309d\u309e\u30fd\u30fe\ue000-\uf8ff]", "",
                      text.replace("□注釋", "注釋"))
        pars = unwrap(text)
        doc: list[str] = []
        for par in pars:
            if _HEADING.match(par) and len(par) < 60 and doc:
                yield "\n\n".join(doc)
                doc = []
            doc.append(par)
        if doc:
            yield "\n\n".join(doc)


# --- Documentation and software translations ---------------------------------

_CJK = re.compile(r"[\u3400-\u9fff\U00020000-\U0003ffff]")
_WORD = re.compile(r"[A-Za-z]{3,}")


class _HTMLText(HTMLParser):
    """Collects the text of an HTML (or Mallard XML) page: one paragraph per block
    element, `<pre>` and `<screen>` kept as they are, page furniture left out."""

    BLOCKS = frozenset("p div h1 h2 h3 h4 h5 h6 li dt dd tr pre br title table ul ol dl "
                       "blockquote section item screen code-block note caption td th "
                       "figcaption desc tip".split())
    SKIP = frozenset("head script style nav header footer aside info noscript".split())
    VERBATIM = frozenset(("pre", "screen"))

    def __init__(self, skip_ids: frozenset[str] = frozenset()) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip_ids = skip_ids
        self.stack: list[str] = []  # open elements whose content is skipped
        self.verbatim = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        tag = tag.split(":")[-1]
        attr = dict(attrs)
        marks = {attr.get("id") or "", *(attr.get("class") or "").split()}
        if self.stack or tag in self.SKIP or marks & self.skip_ids:
            if tag not in ("br", "img", "meta", "link", "input"):
                self.stack.append(tag)
            return
        if tag in self.VERBATIM:
            self.verbatim += 1
        if tag in self.BLOCKS:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        tag = tag.split(":")[-1]
        if self.stack:
            if tag in self.stack:
                while self.stack and self.stack.pop() != tag:
                    pass
            return
        if tag in self.VERBATIM:
            self.verbatim = max(0, self.verbatim - 1)
        if tag in self.BLOCKS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if self.stack:
            return
        if self.verbatim:
            self.parts.append(data.replace("\n", "\x00"))  # a line break to keep
        else:
            self.parts.append(re.sub(r"\s+", " ", data))


def html_text(markup: str, skip_ids: frozenset[str] = frozenset()) -> str:
    """The readable text of an HTML or Mallard page, paragraphs separated by blank
    lines (a space between CJK characters that only a line break separated is dropped).
    Elements whose id or class is in `skip_ids` (navigation bars) are left out."""
    parser = _HTMLText(skip_ids)
    parser.feed(markup)
    parser.close()
    text = "".join(parser.parts)
    pars = []
    for par in re.split(r"\n\s*\n", text):
        par = "\n".join(line.rstrip() for line in par.strip(" \n").split("\x00"))
        par = re.sub(r"(?<=[\u3000-\u9fff\uff00-\uffef]) (?=[\u3000-\u9fff\uff00-\uffef])", "", par)
        if par.strip():
            pars.append(par.strip("\n"))
    return "\n\n".join(pars)


def _english(par: str) -> bool:
    """Whether a paragraph is untranslated English prose (no CJK, several words, few code marks)."""
    if _CJK.search(par):
        return False
    words = _WORD.findall(par)
    code = sum(par.count(c) for c in "{}();=<>$/\\|_#[]")
    return len(words) >= 5 and code * 20 < len(par)


def chinese_doc(text: str, min_cjk: float = 0.2) -> str | None:
    """Keeps a document's translated paragraphs (drops untranslated English prose).

    Returns:
        The document, or None if what is left has fewer than `min_cjk` CJK characters
        among its non-space characters (an untranslated page).
    """
    pars = [p for p in text.split("\n\n") if p.strip() and not _english(p)]
    kept = "\n\n".join(pars)
    solid = len("".join(kept.split()))
    if not solid or len(_CJK.findall(kept)) < min_cjk * solid:
        return None
    return kept


def _html_docs(files: Iterable[Path], skip_ids: frozenset[str] = frozenset()) -> Iterator[str]:
    """One document per page of `files` that is mostly Chinese."""
    for f in sorted(files):
        doc = chinese_doc(html_text(f.read_text(encoding="utf-8", errors="replace"), skip_ids))
        if doc:
            yield doc


_ROFF_FONT = re.compile(r"\\f(?:\(..|\[[^\]]*\]|.)")
_ROFF_ESCAPES = [(r"\-", "-"), (r"\(em", "—"), (r"\(en", "–"), (r"\(bu", "•"), (r"\(aq", "'"),
                 (r"\(dq", '"'), (r"\(lq", "“"), (r"\(rq", "”"), (r"\(co", "©"), (r"\e", "\\"),
                 (r"\&", ""), (r"\,", ""), (r"\/", ""), (r"\|", ""), (r"\^", ""), (r"\ ", " "),
                 (r"\~", " "), (r"\0", " "), (r"\c", "")]


def roff_text(source: str) -> str:
    """Plain text of a man page: section headings as lines, paragraphs separated by
    blank lines, font changes and other requests dropped."""
    out: list[str] = []
    nofill = macro = False
    for line in source.splitlines():
        if macro or line.startswith((".de ", ".de1 ", ".ig")):  # macro definitions
            macro = line.strip() != ".."
            continue
        if line.startswith(('.\\"', "'\\\"", '\\"')) or line.strip() in (".", "'"):
            continue
        if line.startswith((".", "'")):
            req, _, args = line[1:].strip().partition(" ")
            args = args.strip()
            if req in ("SH", "SS"):
                out += ["", args.strip('"'), ""]
            elif req in ("PP", "LP", "P", "TP", "IP", "sp", "HP", "RS", "RE"):
                out.append("")
                if req == "IP" and args:
                    out += [args.split('"')[1] if args.startswith('"') else args.split()[0], ""]
            elif req in ("nf", "EX"):
                nofill = True
                out.append("")
            elif req in ("fi", "EE"):
                nofill = False
                out.append("")
            elif req in ("B", "I", "SM", "SB"):
                out.append(args.replace('"', ""))
            elif req in ("BR", "RB", "IR", "RI", "BI", "IB"):
                out.append("".join(re.findall(r'"([^"]*)"|(\S+)', args) and
                                   [a or b for a, b in re.findall(r'"([^"]*)"|(\S+)', args)]))
            elif req == "br" and out:
                out.append("\x00")
            continue
        out.append(line + ("\x00" if nofill else ""))
    text = "\n".join(out)
    text = _ROFF_FONT.sub("", text)
    for esc, rep in _ROFF_ESCAPES:
        text = text.replace(esc, rep)
    text = re.sub(r"\\\(..|\\\[[^\]]*\]|\\\*.|\\s[+-]?\d", "", text)
    pars = []
    for par in re.split(r"\n\s*\n", text):
        lines = [s for s in par.replace("\x00\n", "\x00").split("\n") if s.strip()]
        joined = ""
        for s in lines:  # filled text: lines join, with a space only between non-CJK
            for piece in s.split("\x00"):
                if joined and not joined.endswith("\n"):
                    cjk_edge = _CJK.match(joined[-1]) or _CJK.match(piece[:1] or " ")
                    joined += "" if cjk_edge else " "
                joined += piece.strip() if not s.endswith("\x00") else piece.rstrip()
                if s.endswith("\x00") or "\x00" in s:
                    joined += "\n"
        if joined.strip():
            pars.append(joined.strip("\n"))
    return "\n\n".join(pars)


def _deb(roots: Path, package: str) -> Path:
    return roots / "deb" / package


def read_libreoffice_help(roots: Path, lang: str) -> Iterator[str]:
    """LibreOffice 7.4 help pages in `lang` ("zh-CN" or "zh-TW"), one page a document."""
    base = _deb(roots, f"libreoffice-help-{lang.lower()}") / "usr/share/libreoffice/help" / lang
    furniture = frozenset({"DEBUG", "SearchFrame", "DonationFrame"})
    yield from _html_docs(base.rglob("*.html"), furniture)


def read_debian_handbook(roots: Path, lang: str) -> Iterator[str]:
    """The Debian Administrator's Handbook (Debian 11) in `lang`, one chapter a document."""
    base = _deb(roots, "debian-handbook") / "usr/share/doc/debian-handbook/html" / lang
    yield from _html_docs(base.glob("*.html"))


def read_debian_reference(roots: Path, lang: str) -> Iterator[str]:
    """Debian Reference (Osamu Aoki) in `lang` ("zh-cn" or "zh-tw"), one chapter a document."""
    base = _deb(roots, f"debian-reference-{lang}") / "usr/share/debian-reference"
    yield from _html_docs(base.glob(f"*.{lang}.html"))


def read_maint_guide(roots: Path, lang: str) -> Iterator[str]:
    """Debian New Maintainers' Guide in `lang`, one chapter a document."""
    base = _deb(roots, f"maint-guide-{lang}") / f"usr/share/doc/maint-guide-{lang}/html"
    yield from _html_docs(base.glob("*.html"))


def read_debian_misc_docs(roots: Path) -> Iterator[str]:
    """Smaller Debian manuals in simplified Chinese: the Debian Edu manual (bookworm),
    the Debian FAQ and LilyPond's learning manual and web pages."""
    edu = _deb(roots, "debian-edu-doc-zh-cn") / "usr/share/doc/debian-edu-doc-zh-cn"
    yield from _html_docs([edu / "debian-edu-bookworm-manual.html"])
    yield from _html_docs((_deb(roots, "debian-faq-zh-cn") / "usr/share/doc/debian/FAQ/zh-cn")
                          .glob("*.html"))
    yield from _html_docs((_deb(roots, "lilypond-doc-html-zh") / "usr/share/doc/lilypond/html")
                          .rglob("*.html"))


def read_manpages(roots: Path, lang: str) -> Iterator[str]:
    """Chinese man pages (manpages-zh 1.6.4, `lang` zh_CN or zh_TW), one page a document."""
    base = _deb(roots, "manpages-zh") / "usr/share/man" / lang
    for f in sorted(base.rglob("*.gz")):
        doc = chinese_doc(roff_text(gzip.decompress(f.read_bytes()).decode("utf-8", "replace")))
        if doc:
            yield doc


def mo_strings(data: bytes) -> Iterator[tuple[str, str]]:
    """(msgid, msgstr) pairs of a compiled gettext catalogue (.mo); plural forms
    yield each translation."""
    magic = struct.unpack("<I", data[:4])[0]
    order = "<" if magic == 0x950412DE else ">"
    _, _, count, ids_at, strs_at = struct.unpack(order + "5I", data[:20])
    for i in range(1, count):  # entry 0 is the catalogue's header
        id_len, id_off = struct.unpack(order + "2I", data[ids_at + 8 * i: ids_at + 8 * i + 8])
        st_len, st_off = struct.unpack(order + "2I", data[strs_at + 8 * i: strs_at + 8 * i + 8])
        msgid = data[id_off: id_off + id_len].decode("utf-8", "replace").split("\0")[0]
        for msgstr in data[st_off: st_off + st_len].decode("utf-8", "replace").split("\0"):
            yield msgid.split("\x04")[-1], msgstr


_ACCEL = re.compile(r"\s?[(（][_&][A-Za-z0-9][)）]|_(?=[A-Za-z])|&(?=[A-Za-z])")


def catalogue_doc(pairs: Iterable[tuple[str, str]], min_cjk: int = 3, min_chars: int = 8) -> str:
    """A document of a catalogue's translations: each translated string with at least
    `min_cjk` CJK characters and `min_chars` characters, accelerator marks ("(_O)")
    removed. Short strings go one a line; long or multi-line ones get a paragraph of their own."""
    out: list[str] = []
    seen: set[str] = set()
    for msgid, msgstr in pairs:
        text = _ACCEL.sub("", msgstr.replace("\r", "")).strip()
        if text == msgid or text in seen or len(text) < min_chars \
                or len(_CJK.findall(text)) < min_cjk:
            continue
        seen.add(text)
        long = "\n" in text or len(text) >= 40
        out.append(("\n" + text + "\n") if long else text)
    return re.sub(r"\n{3,}", "\n\n", "\n".join(out)).strip("\n")


DEB_CATALOGUES: dict[str, tuple[str, str]] = {
    # package: (Debian 12 version, licence as its debian/copyright gives it for Files: *)
    "apt": ("2.6.2", "GPL-2+"), "aptitude-common": ("0.8.13-5", "GPL-2+"),
    "audacity-data": ("3.2.4+dfsg-1", "CC-BY-3.0 or GPL-2+"), "bash": ("5.2.15-2+b13", "GPL-3+"),
    "binutils-common": ("2.40-2", "GPL-3+"), "claws-mail-i18n": ("4.1.1-2", "GPL-3+"),
    "coreutils": ("9.1-1", "GPL-3+"), "diffutils": ("1:3.8-4", "GPL-3+"),
    "digikam-data": ("4:7.9.0-1", "GPL-2+"), "dpkg": ("1.21.23", "GPL-2+"),
    "e2fsprogs-l10n": ("1.47.0-2", "GPL-2"), "evolution-common": ("3.46.4-2+deb12u1", "LGPL-3"),
    "filezilla-common": ("3.63.0-1+deb12u3", "GPL-2+"), "findutils": ("4.9.0-4", "GPL-3+"),
    "gcc-12-locales": ("12.2.0-14+deb12u1", "GPL-3+"), "gedit-common": ("44.2-1", "GPL-2+"),
    "gettext": ("0.21-12", "GPL-3+"), "gimp-data": ("2.10.34-1+deb12u10", "GPL-3+"),
    "git": ("1:2.39.5-0+deb12u3", "GPL-2"), "gnome-builder": ("43.6-3", "GPL-3+"),
    "gnome-control-center-data": ("1:43.6-2~deb12u1", "GPL-2+"),
    "gnome-shell-common": ("43.9-0+deb12u2", "GPL-2+"),
    "gnome-software-common": ("43.5-1~deb12u2", "GPL-2+"), "gnucash-common": ("1:4.13-1", "GPL-2+"),
    "gnumeric-common": ("1.12.55-1", "GPL-2 or GPL-3"),
    "gnupg-l10n": ("2.2.40-1.1+deb12u2", "GPL-3+"),
    "grep": ("3.8-5", "GPL-3+"), "grub-common": ("2.06-13+deb12u2", "GPL-3+"),
    "hexchat-common": ("2.16.1-1", "GPL-2+ with OpenSSL exception"),
    "inkscape": ("1.2.2-2+deb12u1", "GPL-2+"), "k3b-i18n": ("22.12.3-1", "GPL-2.0-or-later"),
    "kdenlive-data": ("22.12.3-2+deb12u2", "GPL-2+"),
    "libglib2.0-data": ("2.74.6-2+deb12u9", "LGPL-2.1+"),
    "libgtk-3-common": ("3.24.38-2~deb12u3", "LGPL-2+"), "make": ("4.3-4.1", "GPL-3+"),
    "man-db": ("2.11.2-2", "GPL-2+"), "mutt": ("2.2.12-0.1~deb12u2", "GPL-2+"),
    "nano": ("7.2-1+deb12u1", "GPL-3+"), "nautilus-data": ("43.2-1", "GPL-3+"),
    "network-manager": ("1.42.4-1+deb12u1", "GPL-2+"), "pidgin-data": ("2.14.12-1", "GPL-2+"),
    "pulseaudio": ("16.1+dfsg1-2+b1", "LGPL-2.1+"), "rhythmbox-data": ("3.4.6-2", "GPL-2+"),
    "sed": ("4.9-1+deb12u1", "GPL-3+"), "shotwell-common": ("0.30.17-1", "LGPL-2.1"),
    "systemd": ("252.39-1~deb12u2", "LGPL-2.1+"), "tar": ("1.34+dfsg-1.2+deb12u1", "GPL-3+"),
    "totem-common": ("43.0-2", "GPL-2+"), "util-linux-locales": ("2.38.1-5+deb12u3", "GPL-2+"),
    "vim-runtime": ("2:9.0.1378-2+deb12u2", "Vim"), "vlc-l10n": ("3.0.24-0+deb12u1", "GPL-2+"),
    "wget": ("1.21.3-1+deb12u1", "GPL-3+"),
    "libreoffice-l10n-zh-cn": ("4:7.4.7-1+deb12u14", "MPL-2.0"),
    "libreoffice-l10n-zh-tw": ("4:7.4.7-1+deb12u14", "MPL-2.0"),
}
"""Debian 12 binary packages whose zh_CN / zh_TW gettext catalogues are used."""

MO_OBTAIN = (
    "cd /work/basesrc/deb && mkdir -p zh-mo-dl mo && (cd zh-mo-dl && apt-get download PKG...) "
    "&& for f in zh-mo-dl/*.deb; do p=$(basename ${f%%_*}); mkdir -p mo/$p; "
    "dpkg-deb --fsys-tarfile $f | tar x -C mo/$p --wildcards --no-anchored "
    "'*zh_CN*.mo' '*zh_TW*.mo' '*zh-CN*.mo' '*zh-TW*.mo' '*/copyright'; done "
    "(PKG: the packages of DEB_CATALOGUES in sources_zh.py, Debian 12 bookworm)"
)


def read_catalogues(roots: Path, lang: str) -> Iterator[str]:
    """Software translations: one document per (package, catalogue) of `DEB_CATALOGUES`
    in `lang` ("zh_CN" or "zh_TW"; LibreOffice's "zh-CN" / "zh-TW")."""
    dashed = lang.replace("_", "-")
    for pkg in DEB_CATALOGUES:
        for f in sorted((roots / "deb" / "mo" / pkg).rglob("*.mo")):
            where = f.as_posix()
            if f"/{lang}/LC_MESSAGES/" not in where and f"/{dashed}/LC_MESSAGES/" not in where:
                continue
            doc = catalogue_doc(mo_strings(f.read_bytes()))
            if doc:
                yield doc


_PO_FIELD = re.compile(r'^(msgid|msgstr|msgctxt)\s+"(.*)"$|^"(.*)"$')
_RST_ROLE = re.compile(r":[\w.-]+(?::[\w.-]+)*:`([^`<]*?)\s*(?:<[^`>]*>)?`")
_RST_LINK = re.compile(r"`([^`<]+?)\s*<[^`>]+>`_{1,2}")


def po_entries(text: str) -> Iterator[tuple[str, str, bool]]:
    """(msgid, msgstr, fuzzy) of a gettext .po file's entries."""
    msgid = msgstr = ""
    field = None
    fuzzy = False
    for line in text.splitlines() + [""]:
        m = _PO_FIELD.match(line.strip())
        if m and m.group(1):
            if m.group(1) == "msgid" and field == "msgstr":
                yield msgid, msgstr, fuzzy
                msgid = msgstr = ""
                fuzzy = False
            field = m.group(1)
            value = m.group(2)
        elif m and field:
            value = m.group(3)
        else:
            if line.startswith("#,") and "fuzzy" in line:
                if field == "msgstr":
                    yield msgid, msgstr, fuzzy
                    msgid = msgstr = ""
                    field = None
                fuzzy = True
            continue
        value = value.encode("latin-1", "backslashreplace").decode("unicode_escape") \
            if "\\" in value else value
        if field == "msgid":
            msgid += value
        elif field == "msgstr":
            msgstr += value
    if field == "msgstr":
        yield msgid, msgstr, fuzzy


def rst_plain(text: str) -> str:
    """Light reStructuredText clean-up: roles and links become their text, ``code`` its code."""
    text = _RST_ROLE.sub(r"\1", text)
    text = _RST_LINK.sub(r"\1", text)
    text = re.sub(r"``([^`]+)``", r"\1", text)
    return re.sub(r"(?<![\w`])`([^`]+)`(?!`)", r"\1", text)


def read_python_docs(roots: Path) -> Iterator[str]:
    """The Python 3.13 documentation's simplified-Chinese translation, one .po file
    (one page of the docs) a document; translated paragraphs only."""
    base = roots / "mirror" / "python-docs-zh-cn"
    for f in sorted(base.rglob("*.po")):
        pars = []
        for msgid, msgstr, fuzzy in po_entries(f.read_text(encoding="utf-8")):
            if msgid and msgstr and not fuzzy and msgstr != msgid and _CJK.search(msgstr):
                pars.append(rst_plain(msgstr).strip())
        if pars:
            yield "\n\n".join(pars)


DIARIES = "mirror/luxun-dairy/common-diary"
"""`common-diary/` of github.com/RetricSu/luxun-dairy (鲁迅日记, 东坡志林, 徐霞客游记)."""


def read_luxun_diary(roots: Path) -> Iterator[str]:
    """鲁迅日记, 1912–1936 (simplified script): one year a document, a heading line per
    month and one entry a line, as the diary is printed. Private-use code points (the
    e-text's rare characters) are dropped; Japanese and Russian book titles are kept."""
    book = _load(roots / DIARIES / "luxun_common_diary.json")
    year: list[str] = []
    tag = month = ""
    for item in book["items"]:
        item_tag = (item.get("tags") or [""])[0]
        if item_tag != tag and year:
            yield "\n".join(year)
            year = []
        if item_tag != tag:
            tag = item_tag
            year = [f"鲁迅日记·{tag}" if tag else "鲁迅日记"]
        item_month = item.get("date_raw", "").split("月")[0] + "月"
        if item_month != month:
            month = item_month
            year += ["", month]
        year.append(re.sub("[\ue000-\uf8ff]", "", item["content"]).strip())  # unencoded chars
    if year:
        yield "\n".join(year)


def read_classical_diaries(roots: Path) -> Iterator[str]:
    """苏轼《东坡志林》 (one note a document) and 徐霞客游记 excerpts (one journey a
    document, an entry a paragraph), simplified script."""
    for item in _load(roots / DIARIES / "dongpo_zhilin_common_diary.json")["items"]:
        yield _prose([item.get("title", ""), "苏轼《东坡志林》"], item["content"].split(" "))
    journeys: dict[str, list[str]] = {}
    for item in _load(roots / DIARIES / "xuxiake_travel_common_diary.json")["items"]:
        tag = (item.get("tags") or ["徐霞客游记"])[0]
        entry = f"{item.get('date_raw', '')}\u3000{item['content']}".strip()
        journeys.setdefault(tag, []).append(entry)
    for tag, entries in journeys.items():
        yield _prose([tag, "徐霞客"], entries)


def _poetry(name: str, kind: str, folder: str, read: Any) -> Source:
    return Source(name, kind, POETRY_LICENCE, f"{POETRY_ORIGIN}, {folder}", POETRY_OBTAIN, read)


SHARED_OBTAIN = ("ln -s /work/shared/corpora /work/basesrc/shared "
                 "(the project's ../shared/corpora; see SOURCES.md there)")

DIARY_ORIGIN = "https://github.com/RetricSu/luxun-dairy @ 3c512d0da3388effa65ace80a6a8fb939f8b7d7d"
DIARY_OBTAIN = ("mkdir -p /work/basesrc/mirror/luxun-dairy && git -C REPO.git archive "
                "3c512d0da3388effa65ace80a6a8fb939f8b7d7d -- common-diary README.md | tar x -C "
                "/work/basesrc/mirror/luxun-dairy (REPO.git: a clone of "
                "https://github.com/RetricSu/luxun-dairy)")
PYDOCS_COMMIT = "693cf6be2bc17f3d50ee21fe207c6964f3fab130"


def _deb_source(name: str, kind: str, package: str, version: str, licence: str,
                read: Any, extract: str = "") -> Source:
    """A source read from one Debian 12 package unpacked under deb/."""
    return Source(name, kind, licence, f"Debian 12 (bookworm) package {package} {version}",
                  f"cd /work/basesrc/deb && apt-get download {package}={version} && "
                  f"dpkg-deb -x {package}_*.deb {package}{extract}", read)


SOURCES: list[Source] = [
    _poetry("tang-shi", "verse (诗), traditional", "全唐诗/poet.tang.*.json", read_tang_shi),
    _poetry("song-ci", "verse (词), simplified", "宋词/ci.song.*.json", read_song_ci),
    _poetry("song-shi", f"verse (诗), traditional, {SONG_SHI_SHARE:.0%} sample",
            "全唐诗/poet.song.*.json", read_song_shi),
    _poetry("yuan-qu", "verse (曲), simplified", "元曲/yuanqu.json", read_yuan_qu),
    _poetry("early-verse", "verse (诗经, 楚辞, 五代词, 清词), simplified",
            "诗经, 楚辞, 曹操诗集, 五代诗词, 纳兰性德, 水墨唐诗", read_early_verse),
    _poetry("classics", "classical prose (四书), simplified and traditional",
            "论语, 四书五经", read_classics),
    _poetry("guwen", "classical prose (古文观止, 幽梦影), traditional and simplified",
            "蒙学/guwenguanzhi.json, 幽梦影", read_guwen),
    _poetry("mengxue", "primers and anthologies (蒙学), traditional", "蒙学", read_mengxue),
    Source("hongloumeng", "vernacular novel, simplified",
           "public domain (Cao Xueqin d. 1763, Gao E d. c.1815); the e-text's repository "
           "has no licence", "https://github.com/Linnann/Hongloumeng @ 2f1212b3, 红楼梦.txt "
           "(GBK, converted to UTF-8; ../shared/corpora/hongloumeng.txt)",
           SHARED_OBTAIN, read_hongloumeng),
    Source("xiyouji", "vernacular novel, simplified",
           "public domain (Wu Cheng'en d. c.1582); the e-text's repository has no licence",
           "https://github.com/limchiahooi/nlp-chinese @ 842e7cd7, 西游记.txt "
           "(GBK, converted to UTF-8; ../shared/corpora/xiyouji.txt)",
           SHARED_OBTAIN, read_xiyouji),
    Source("gutenberg-zh", "novels (三國志演義, 水滸傳, 儒林外史, 老殘遊記, 鏡花緣), history "
           "(三國志), modern fiction and memoirs (魯迅 吶喊, 朝花夕拾); traditional",
           "public domain in the US (each book's LICENSE.txt: 'confirmed to be in the PUBLIC "
           "DOMAIN IN THE UNITED STATES'); the authors died before 1937, so public domain "
           "in China and life+70 countries too",
           "Project Gutenberg eBooks " + ", ".join(f"#{n} {t}" for n, (t, _, _) in
                                                   GUTENBERG_BOOKS.items())
           + " via https://github.com/gutenbergbooks/<number> (commits in GUTENBERG_BOOKS)",
           "for n in 23950 23863 24032 25606 27166 25271 25124 25377; do mkdir -p "
           "/work/basesrc/mirror/gutenberg-zh/$n && git -C gutenbergbooks-$n.git archive COMMIT "
           "| tar x -C /work/basesrc/mirror/gutenberg-zh/$n; done (gutenbergbooks-$n.git: a clone "
           "of https://github.com/gutenbergbooks/$n; COMMIT from GUTENBERG_BOOKS)",
           read_gutenberg),
    Source("luxun-diary", "modern prose (diary, 1912-1936), simplified",
           "public domain (Lu Xun d. 1936: public domain in China since 1987, and in the US, "
           "where it was not restored in 1996); the repository has no licence file",
           f"{DIARY_ORIGIN}, common-diary/luxun_common_diary.json", DIARY_OBTAIN, read_luxun_diary),
    Source("classical-diaries", "classical prose (notes, travel diary), simplified",
           "public domain (Su Shi d. 1101, Xu Xiake d. 1641); the repository has no licence file",
           f"{DIARY_ORIGIN}, common-diary/dongpo_zhilin_*.json, xuxiake_travel_*.json",
           DIARY_OBTAIN, read_classical_diaries),
    Source("python-docs-zh-cn", "technical documentation, simplified",
           "PSF License (each .po: 'distributed under the same license as the Python "
           "package'; Copyright (C) 2001-2025, Python Software Foundation)",
           f"https://github.com/python/python-docs-zh-cn branch 3.13 @ {PYDOCS_COMMIT}",
           "mkdir -p /work/basesrc/mirror/python-docs-zh-cn && git -C REPO.git archive "
           f"{PYDOCS_COMMIT} | tar x -C /work/basesrc/mirror/python-docs-zh-cn (REPO.git: a clone "
           "of https://github.com/python/python-docs-zh-cn)", read_python_docs),
    _deb_source("libreoffice-help-zh-cn", "software help, simplified", "libreoffice-help-zh-cn",
                "4:7.4.7-1+deb12u14", "MPL-2.0",
                lambda r: read_libreoffice_help(r, "zh-CN")),
    _deb_source("libreoffice-help-zh-tw", "software help, traditional", "libreoffice-help-zh-tw",
                "4:7.4.7-1+deb12u14", "MPL-2.0",
                lambda r: read_libreoffice_help(r, "zh-TW")),
    _deb_source("debian-handbook-zh-cn", "technical book, simplified", "debian-handbook",
                "11.20220922", "GPL-2.0+ or CC-BY-SA-3.0",
                lambda r: read_debian_handbook(r, "zh-CN")),
    _deb_source("debian-handbook-zh-tw", "technical book, traditional", "debian-handbook",
                "11.20220922", "GPL-2.0+ or CC-BY-SA-3.0",
                lambda r: read_debian_handbook(r, "zh-TW")),
    _deb_source("debian-reference-zh-cn", "technical book, simplified", "debian-reference-zh-cn",
                "2.100", "GPL-2+", lambda r: read_debian_reference(r, "zh-cn")),
    _deb_source("debian-reference-zh-tw", "technical book, traditional", "debian-reference-zh-tw",
                "2.100", "GPL-2+", lambda r: read_debian_reference(r, "zh-tw")),
    _deb_source("maint-guide-zh-cn", "technical guide, simplified", "maint-guide-zh-cn",
                "1.2.53", "GPL-2.0+", lambda r: read_maint_guide(r, "zh-cn")),
    _deb_source("maint-guide-zh-tw", "technical guide, traditional", "maint-guide-zh-tw",
                "1.2.53", "GPL-2.0+", lambda r: read_maint_guide(r, "zh-tw")),
    Source("debian-misc-docs-zh-cn", "technical manuals, simplified",
           "GPL-2+ (debian-edu-doc-zh-cn), GPL (debian-faq-zh-cn), GFDL-1.3+ "
           "(lilypond-doc-html-zh, Documentation/*)",
           "Debian 12 packages debian-edu-doc-zh-cn 2.12.23~deb12u1, debian-faq-zh-cn 11.1, "
           "lilypond-doc-html-zh 2.24.1-2",
           "cd /work/basesrc/deb && for p in debian-edu-doc-zh-cn debian-faq-zh-cn "
           "lilypond-doc-html-zh; do apt-get download $p && dpkg-deb -x ${p}_*.deb $p; done",
           read_debian_misc_docs),
    _deb_source("manpages-zh-cn", "manual pages, simplified", "manpages-zh", "1.6.4.0-1",
                "GFDL-1.2+", lambda r: read_manpages(r, "zh_CN")),
    _deb_source("manpages-zh-tw", "manual pages, traditional", "manpages-zh", "1.6.4.0-1",
                "GFDL-1.2+", lambda r: read_manpages(r, "zh_TW")),
    Source("ui-zh-cn", "software translations (gettext zh_CN), simplified",
           "each package's own, per DEB_CATALOGUES in sources_zh.py: GPL-2+, GPL-3+, LGPL-2.1+, "
           "MPL-2.0 (LibreOffice), Vim, ...",
           "Debian 12 packages: " + ", ".join(f"{p} {v}" for p, (v, _) in DEB_CATALOGUES.items()),
           MO_OBTAIN, lambda r: read_catalogues(r, "zh_CN")),
    Source("ui-zh-tw", "software translations (gettext zh_TW), traditional",
           "each package's own, per DEB_CATALOGUES in sources_zh.py: GPL-2+, GPL-3+, LGPL-2.1+, "
           "MPL-2.0 (LibreOffice), Vim, ...",
           "Debian 12 packages: " + ", ".join(f"{p} {v}" for p, (v, _) in DEB_CATALOGUES.items()),
           MO_OBTAIN, lambda r: read_catalogues(r, "zh_TW")),
]
