"""jieba for search, through jieba's public API only (`jieba.Tokenizer`, `initialize`, `load_userdict`,
`add_word`, `cut`, `tokenize`, `cut_for_search`, the `FREQ` table its own `get_FREQ` reads).

Two kinds of tokenizer, because jieba's own dictionary (349,046 words) is large in every process that
loads it (bench/README.md, "Web worker memory"):

- `full_tokenizer()`: jieba's default dictionary. The index writer segments documents with it (and a
  process that writes, such as the embedded default or the tests, holds it).
- `vocabulary_tokenizer(path)`: a `jieba.Tokenizer` on a dictionary of the words the index actually
  holds (`VOCABULARY_FILE`, written next to the index by the writer: each CJK word of the `text`
  field with its frequency in jieba's dictionary). Queries are segmented with it: every word it can
  cut out is a term of the index, so a query word is looked up as one term, and a web process holds
  a few thousand words instead of 349,046. Characters outside those words are left to jieba's HMM,
  as with any dictionary.

The domain user dictionary, the synonyms and the place names are added to both (`Words.teach`).
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Iterable

import jieba

jieba.setLogLevel(logging.WARNING)

VOCABULARY_FILE = "vocabulary.txt"
UNKNOWN_FREQ = 3  # a word jieba's dictionary lacks (found by its HMM in a document)


def full_tokenizer() -> jieba.Tokenizer:
    """A fresh `jieba.Tokenizer` on jieba's own dictionary, initialised."""
    tk = jieba.Tokenizer()
    tk.initialize()
    return tk


def vocabulary_tokenizer(path: str) -> jieba.Tokenizer:
    """A fresh `jieba.Tokenizer` whose dictionary is the vocabulary file `path`, initialised."""
    tk = jieba.Tokenizer(dictionary=path)
    tk.initialize()
    return tk


def word_freq(tk: jieba.Tokenizer, word: str) -> int:
    """The frequency `tk`'s dictionary gives `word` (UNKNOWN_FREQ when it has none)."""
    return tk.FREQ.get(word) or UNKNOWN_FREQ


def read_vocabulary(path: str) -> dict[str, int]:
    """word -> frequency of a vocabulary file ({} when missing or unreadable)."""
    out: dict[str, int] = {}
    try:
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                word, _sep, freq = line.strip().rpartition(" ")
                if word and freq.isdigit():
                    out[word] = int(freq)
    except OSError:
        return {}
    return out


def write_vocabulary(path: str, words: dict[str, int]) -> None:
    """Write a vocabulary file atomically (a temporary file renamed over the old one)."""
    tmp = f"{path}.{os.getpid()}.{threading.get_ident()}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.writelines(f"{word} {int(freq)}\n" for word, freq in sorted(words.items()) if " " not in word)
    os.replace(tmp, path)


class Words:
    """A jieba Tokenizer and the extra words taught to it (user dictionary, synonyms, place names)."""

    def __init__(self, tk: jieba.Tokenizer, *, freq: int):
        self.tk = tk
        self.freq = freq
        self.known: set[str] = set()
        self.synonyms_version: float | None = None
        self.source_mtime: int | None = None  # the vocabulary file's mtime it was built from
        self.lock = threading.Lock()

    def teach(self, words: Iterable[str]) -> None:
        with self.lock:
            for word in words:
                if word not in self.known:
                    self.tk.add_word(word, freq=self.freq)
                    self.known.add(word)
