"""Tokenizers: text <-> token ids. See `base.Tokenizer` for the contract."""

from textgen.tokenizers.base import UNK, UNK_ID, Tokenizer, load_tokenizer, tokenizer_class
from textgen.tokenizers.char import CharTokenizer

__all__ = [
    "UNK",
    "UNK_ID",
    "CharTokenizer",
    "Tokenizer",
    "load_tokenizer",
    "tokenizer_class",
]
