"""Which parts of a few short texts occur verbatim in a long one, exactly.

`CopyFinder` builds a suffix automaton over the short texts (the samples:
thousands of characters) and streams the long one (the corpus: up to many
megabytes) through it in chunks, once. For every end position i of a sample it
then knows `matched[i]`: the length of the longest substring of the sample
ending at i that occurs somewhere in the corpus. Everything novelty reports
follows from it exactly, with no hashing: the longest copied passage is the
largest `matched[i]`; an n-gram ending at i is copied iff `matched[i] >= n`
(every suffix of a corpus substring is one too).

Memory is the automaton (at most 2 states per sample character) plus one
chunk of corpus text; time is one pass of a few dictionary look-ups per corpus
character (about a second per million characters in CPython).
"""

from __future__ import annotations

from collections.abc import Iterable


class CopyFinder:
    """A suffix automaton over `texts`, fed the corpus with `feed`.

    The texts are joined with separators that no corpus character equals (the
    integers -1, -2, ...), so no match runs from one text into the next.

    Args:
        texts: the short texts (samples).

    Example:
        >>> f = CopyFinder(["xabcy"])
        >>> f.feed("zzabcz")
        >>> f.matched()[0]
        [0, 1, 2, 3, 0]
    """

    def __init__(self, texts: Iterable[str]):
        self.texts = list(texts)
        # Per state: transitions, suffix link, length of its longest string.
        self._next: list[dict[str | int, int]] = [{}]
        self._link, self._len = [-1], [0]
        self._ends: list[list[int]] = []  # per text: the state of each of its prefixes
        self._last = 0  # the state of everything added so far (construction only)
        for k, text in enumerate(self.texts):
            if k:
                self._extend(-k)
            self._ends.append([self._extend(ch) for ch in text])
        self._best = [0] * len(self._len)  # per state: longest match that reached it
        self._state, self._length = 0, 0  # where the stream is, carried across chunks

    def _extend(self, ch: str | int) -> int:
        """Appends one symbol (the classic online construction); returns the new state."""
        nxt, link, length = self._next, self._link, self._len
        cur = len(length)
        nxt.append({})
        length.append(length[self._last] + 1)
        link.append(0)
        p = self._last
        while p != -1 and ch not in nxt[p]:
            nxt[p][ch] = cur
            p = link[p]
        if p != -1:
            q = nxt[p][ch]
            if length[p] + 1 == length[q]:
                link[cur] = q
            else:
                clone = len(length)
                nxt.append(dict(nxt[q]))
                length.append(length[p] + 1)
                link.append(link[q])
                while p != -1 and nxt[p].get(ch) == q:
                    nxt[p][ch] = clone
                    p = link[p]
                link[q] = link[cur] = clone
        self._last = cur
        return cur

    def feed(self, chunk: str) -> None:
        """Streams the next piece of the corpus through the automaton."""
        nxt, link, length, best = self._next, self._link, self._len, self._best
        v, n = self._state, self._length
        for ch in chunk:
            t = nxt[v].get(ch)
            if t is None:
                while v and ch not in nxt[v]:
                    v = link[v]
                t = nxt[v].get(ch)
                if t is None:  # at the root, and no text has this character
                    n = 0
                    continue
                n = length[v] + 1
            else:
                n += 1
            v = t
            if n > best[v]:
                best[v] = n
        self._state, self._length = v, n

    def matched(self) -> list[list[int]]:
        """Per text, per end position i: the longest copied substring ending at i.

        Returns:
            One list per text, of its length: `matched[k][i]` characters of text k
            ending at character i occur verbatim in what was fed (0 if none).
        """
        # A match reaching state v proves that v's shorter suffixes (its suffix
        # link's strings, all of them) occur too. States in decreasing length
        # order visit each one before its suffix link.
        length, link = self._len, self._link
        best = list(self._best)
        order = sorted(range(1, len(length)), key=length.__getitem__, reverse=True)
        for v in order:
            if best[v] and link[v] > 0:
                best[link[v]] = length[link[v]]
        # The longest copied suffix at a prefix state: its own best, else that of
        # the nearest suffix link with one (lengths only shrink along links).
        first = [0] * len(length)
        for v in sorted(range(1, len(length)), key=length.__getitem__):
            first[v] = best[v] or first[link[v]]
        return [[first[v] for v in ends] for ends in self._ends]
