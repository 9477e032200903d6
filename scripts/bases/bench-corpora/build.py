"""Rebuilds the six held-out benchmark corpora of this folder from git snapshots.

Usage: python3 build.py MIRRORS OUT
  MIRRORS: a folder holding bare clones named OWNER+NAME/repo (see README.md for the
           repositories and commits); OUT: where en-10k.txt ... zh-1m.txt are written.
Every source is read with `git show COMMIT:PATH`, so a clone at a newer commit still
gives the same text.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

SOURCES = {
    # name: (repository, commit, path, encoding)
    "en-10k": ("GITenberg/Poems-by-Emily-Dickinson-Three-Series-Complete_12242",
               "ce942566457518dada8b133d620aaa34376a95ee", "12242-8.txt", "latin-1"),
    "en-100k": ("GITenberg/The-Federalist-Papers_1404",
                "7effe9c7518aa38e80f23664419a3e28b7993127", "1404-8.txt", "latin-1"),
    "en-1m": ("gutenbergbooks/730", "032dbf63ed9fefb297d2a06772255b69ef7ce1af",
              "730-0.txt", "utf-8"),
    "zh-10k": ("gutenbergbooks/25324", "5feaa7d23334f484ffa9d666f023cfd4060a0f97",
               "25324-0.txt", "utf-8"),
    "zh-100k": ("gutenbergbooks/25559", "86a7f614ab74dbe113d4325df867d7cd83fb4a5a",
                "25559-0.txt", "utf-8"),
    "zh-1m": ("gutenbergbooks/26970", "ab82c5fcfb457e1f6be177e654c621b7b11ba732",
              "26970-0.txt", "utf-8"),
}
TARGET = {"en-10k": 10_000, "en-100k": 100_000, "en-1m": 1_000_000,
          "zh-10k": 10_000, "zh-100k": 100_000, "zh-1m": 1_000_000}


def read(mirrors: Path, name: str) -> str:
    repo, commit, path, enc = SOURCES[name]
    git_dir = mirrors / repo.replace("/", "+") / "repo"
    raw = subprocess.run(["git", "--git-dir", str(git_dir), "show", f"{commit}:{path}"],
                         check=True, capture_output=True).stdout
    text = raw.decode(enc).replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\ufeff", "")
    return re.split(r"^\s*\*\*\* ?END OF|^\s*End of (?:the )?Project Gutenberg", text,
                    flags=re.M | re.I)[0]


def tidy(text: str, blank_lines: int = 1) -> str:
    """Strips trailing spaces, collapses runs of blank lines, ends with one LF."""
    lines = [line.rstrip() for line in text.split("\n")]
    text = "\n".join(lines).strip("\n")
    text = re.sub(rf"\n{{{blank_lines + 2},}}", "\n" * (blank_lines + 1), text)
    return text + "\n"


def cut(blocks: list[str], target: int, sep: str) -> str:
    """Joins whole blocks (poems, papers, chapters, pieces) until `target` is reached."""
    out: list[str] = []
    size = 0
    for b in blocks:
        if out and size + len(b) > target and abs(size - target) <= abs(size + len(b) - target):
            break
        out.append(b)
        size += len(b) + len(sep)
    return sep.join(out)


def en_10k(text: str) -> str:
    """Dickinson, Poems (First Series onward): whole poems from "I. LIFE." on."""
    body = text[text.index("I. LIFE."):]
    body = tidy(body, blank_lines=2)
    # a poem starts at a line holding only a Roman numeral and a period
    parts = re.split(r"\n(?=\n\n[IVXLC]+\.\n)", body)
    return tidy(cut([p.strip("\n") for p in parts], TARGET["en-10k"], "\n\n\n"), 2)


def en_100k(text: str) -> str:
    """The Federalist Papers: whole papers from No. 1 on."""
    body = text[text.index("FEDERALIST No. 1\n"):]
    parts = re.split(r"\n(?=FEDERALIST\.? No\. \d+\n)", tidy(body, 2))
    return tidy(cut([p.strip("\n") for p in parts], TARGET["en-100k"], "\n\n\n"), 2)


def en_1m(text: str) -> str:
    """Oliver Twist, the whole novel (title and chapters; the table of contents left out)."""
    start = text.index("\n CHAPTER I.\n")
    head = "Oliver Twist\n\nOR\n\nTHE PARISH BOY\u2019S PROGRESS\n\nby Charles Dickens\n\n\n"
    body = "\n".join(line.strip() if re.fullmatch(r"\s*CHAPTER [IVXLC]+\.?\s*", line) else line
                     for line in text[start:].split("\n"))
    return tidy(head + body, 2)


_CJK_END = re.compile(r"[\u2e80-\u9fff\uf900-\uffef\u3000-\u303f]")


def join_cjk(lines: list[str]) -> str:
    out = ""
    for s in lines:
        s = s.strip(" ")
        if out and s and not (_CJK_END.match(out[-1]) or _CJK_END.match(s[0])):
            out += " "
        out += s
    return out


def paragraphs(text: str, indent_starts: bool) -> list[str]:
    """Unwraps a hard-wrapped Chinese text: a paragraph ends at a blank line or, if
    `indent_starts`, where the next line starts with an ideographic-space indent."""
    pars: list[str] = []
    cur: list[str] = []
    for line in text.split("\n"):
        if not line.strip():
            if cur:
                pars.append(join_cjk(cur))
                cur = []
            continue
        if cur and ((indent_starts and line.startswith("\u3000"))
                    or re.fullmatch(r"第[一二三四五六七八九十百零〇]+回", cur[-1].strip())):
            pars.append(join_cjk(cur))
            cur = []
        cur.append(line.strip(" \u3000\t"))
    if cur:
        pars.append(join_cjk(cur))
    return [p for p in pars if p]


def _is_title(p: str) -> bool:
    return len(p) <= 12 and not re.search("[。，；！？：、]", p)


def zh_10k(text: str) -> str:
    """徐陵《玉臺新詠》 (6th century): whole groups of poems (each under its "○" title)
    from 卷一 on, one couplet a line; the preface (集序) left out."""
    body = text[text.index("\n卷一\n") + 1:]
    groups: list[list[str]] = []
    for line in body.split("\n"):
        line = line.strip(" \u3000")
        if not line:
            continue
        if line.startswith("○") or re.fullmatch(r"卷[一二三四五六七八九十]+", line) or not groups:
            if groups and re.fullmatch(r"卷[一二三四五六七八九十]+", groups[-1][-1]):
                groups[-1].append(line)  # 卷 heading followed by its first title
            else:
                groups.append([line])
        else:
            groups[-1].append(line)
    blocks = ["\n".join(g).replace("¤", "") for g in groups]  # ¤: a stray mark of the e-text
    return tidy(cut(blocks, TARGET["zh-10k"], "\n\n"), 1)


def zh_100k(text: str) -> str:
    """魯迅《中國小說史略》 (1923-1930): its 題記 and whole 篇 (chapters) from the start,
    each with the notes (〔n〕) of the edition that Project Gutenberg transcribed."""
    text = "\n".join(line for line in text.split("\n")
                     if not re.fullmatch(r"\s*(-{10,}|[\s※]+)\s*", line) or not line.strip())
    chapters = re.split(r"\n(?=第[一二三四五六七八九十]+篇)", text)
    blocks = []
    heads: set[str] = set()
    for ch in chapters:
        head, _, rest = ch.strip("\n").partition("\n")
        if head.strip() in heads:  # the e-text has 第九篇 twice, word for word
            continue
        heads.add(head.strip())
        pars = [re.sub("[\ue000-\uf8ff]", "", p)  # private-use code points: unencoded characters
                for p in paragraphs(rest, indent_starts=True)]
        blocks.append("\n\n".join([head.strip()] + pars))
    return tidy(cut(blocks, TARGET["zh-100k"], "\n\n\n"), 2)


def zh_1m(text: str) -> str:
    """《彭公案》, the whole novel: chapter heading lines, then one paragraph a line."""
    pars = paragraphs(text, indent_starts=True)
    out: list[str] = []
    for p in pars:
        if re.fullmatch(r"第[一二三四五六七八九十百零〇]+回", p):
            out.append(("\n" if out else "") + p)  # a blank line before each chapter
        else:
            out.append(p)
    return tidy("\n".join(out), 1)


BUILD = {"en-10k": en_10k, "en-100k": en_100k, "en-1m": en_1m,
         "zh-10k": zh_10k, "zh-100k": zh_100k, "zh-1m": zh_1m}


def main() -> None:
    mirrors, out = Path(sys.argv[1]), Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    for name, build in BUILD.items():
        text = build(read(mirrors, name))
        (out / f"{name}.txt").write_text(text, encoding="utf-8", newline="\n")
        print(f"{name}.txt {len(text):,} chars")


if __name__ == "__main__":
    main()
