"""The rhyme table per vocabulary id: which tokens are Han characters, their tones and groups.

Built once per model vocabulary (on first use by a poetry rule), in the script
of the vocabulary's characters (`table.detect_script`), so a simplified model
looks up 乡 and a traditional one 鄉. A vocabulary of both scripts (zh-base)
uses only the readings the scripts share (`table.CommonTable`): it cannot know
which script a poem will be in.
"""

from __future__ import annotations

import weakref

import numpy as np

from textgen.data.tokenizers.han import HAN_RUN
from textgen.generate.context import Vocabulary
from textgen.generate.poetry.table import (
    PING_GROUPS,
    RhymeTable,
    common_table,
    detect_script,
    load_table,
)


class Lexicon:
    """Per-token tables of a vocabulary for the poetry rules.

    Args:
        vocab: the model's token strings.

    Attributes:
        table: the rhyme table in the vocabulary's script.
        han: (V,) bool, the token is one Han character.
        ping: (V,) bool, a Han character with a 平 reading.
        ze: (V,) bool, a Han character with a 仄 reading.
        groups: (V, G) bool, the 平声 rhyme groups of each token (G = 30).
    """

    def __init__(self, vocab: Vocabulary):
        tokens = vocab.tokens
        V = len(tokens)
        self.vocab = vocab
        self.han = np.fromiter((len(t) == 1 and HAN_RUN.fullmatch(t) is not None
                                for t in tokens), bool, V)  # (V,)
        script = detect_script(t for t, h in zip(tokens, self.han, strict=True) if h)
        # Both scripts: only the readings every script agrees on (`CommonTable`).
        self.table: RhymeTable = common_table() if script == "both" else load_table(script)
        self.ping = np.zeros(V, bool)
        self.ze = np.zeros(V, bool)
        self.groups = np.zeros((V, len(PING_GROUPS)), bool)  # (V, G)
        for i in np.flatnonzero(self.han):  # (the table's fallbacks included)
            self.ping[i], self.ze[i] = self.table.tones(tokens[i])
            self.groups[i, list(self.table.groups(tokens[i]))] = True
        self._ids = {t: i for i, t in enumerate(tokens)}
        self._rhyming: dict[frozenset[int], np.ndarray] = {}

    def id(self, token: str) -> int | None:
        """The id of a token string, or None if the vocabulary lacks it."""
        return self._ids.get(token)

    def one_hot(self, token: str) -> np.ndarray:
        """(V,) bool: only `token` (all False when the vocabulary lacks it)."""
        mask = np.zeros(len(self.han), bool)
        i = self._ids.get(token)
        if i is not None:
            mask[i] = True
        return mask

    def rhyming(self, groups: frozenset[int]) -> np.ndarray:
        """(V,) bool: the 平声 characters of any of `groups` (cached per set)."""
        mask = self._rhyming.get(groups)
        if mask is None:
            mask = self.groups[:, sorted(groups)].any(axis=1) if groups else self.ping & False
            self._rhyming[groups] = mask
        return mask


_LEXICONS: weakref.WeakKeyDictionary[Vocabulary, Lexicon] = weakref.WeakKeyDictionary()


def lexicon(vocab: Vocabulary) -> Lexicon:
    """The `Lexicon` of a vocabulary, built on first use and kept while it lives."""
    lex = _LEXICONS.get(vocab)
    if lex is None:
        lex = _LEXICONS[vocab] = Lexicon(vocab)
    return lex
