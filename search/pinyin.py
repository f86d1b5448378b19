"""Pinyin of words for search (full and initials): pypinyin in the index writer, a table for the others.

pypinyin loads large dictionaries on import (bench/README.md, "Web worker memory"). The index writer
needs it (the `py` and `pre` fields of every document). A web worker needs the pinyin of few words, at
query time: the synonyms (a pinyin query also finds a word's synonyms) and the words of the product and
listing names the search page highlights for a pinyin query. The writer has those names at hand, so it
saves the pinyin of those words next to the index (`TABLE_FILE`: word -> (full, initials), written before
the index commit): `flask search reindex` and the first build write it whole, each update adds the words
of its documents (or writes it whole when it is missing, e.g. an index built by an older version).
Readers load it when they open a new index generation (`use_table`).

A word the table lacks (a name committed after the index was written, a synonym added since) is
computed with pypinyin, exactly as the writer would: correct, but that process then holds pypinyin.
"""

from __future__ import annotations

import marshal
import os
import re
import threading
from functools import lru_cache
from typing import Iterable

TABLE_FILE = "pinyin.marshal"

_lock = threading.Lock()
_table: dict[str, tuple[str, str]] = {}
_table_path: str | None = None
_table_mtime: int | None = None


@lru_cache(maxsize=100_000)
def computed(word: str) -> tuple[str, str]:
    """(full pinyin, initials) of a word with pypinyin: 板鸭 -> ('banya', 'by'). Non-CJK characters
    are kept (lower case, letters and digits only)."""
    # only the index writer and a word the table lacks need pypinyin (this module's docstring)
    from pypinyin import Style, lazy_pinyin

    full = "".join(lazy_pinyin(word)).lower()
    initials = "".join(p[:1] if p.isalpha() else p for p in lazy_pinyin(word, style=Style.FIRST_LETTER)).lower()
    return re.sub(r"[^a-z0-9]", "", full), re.sub(r"[^a-z0-9]", "", initials)


@lru_cache(maxsize=100_000)
def syllables(word: str) -> tuple[str, ...]:
    """The full pinyin of each character of a CJK word, read in the word's context with pypinyin
    (index writer only): 咸鸭蛋 -> ('xian', 'ya', 'dan'). () when pypinyin does not give one
    syllable per character."""
    # only the index writer needs pypinyin (this module's docstring: large dictionaries on import)
    from pypinyin import lazy_pinyin

    out = tuple(re.sub(r"[^a-z0-9]", "", p.lower()) for p in lazy_pinyin(word))
    return out if len(out) == len(word) and all(out) else ()


def word_pinyin(word: str) -> tuple[str, str]:
    """(full pinyin, initials) of a word: from the index's table, else computed with pypinyin."""
    hit = _table.get(word)
    if hit is None and _table_path is not None and _reload():  # the writer may have added it just now
        hit = _table.get(word)
    return hit if hit is not None else computed(word)


def reader_pinyin(word: str) -> tuple[str, str]:
    """(full pinyin, initials) of a word a reader cut from a name (highlighting): from the table,
    else joined from the table's entries of its characters (the writer saves every character of
    every name), else computed. Readers cut names with the index's vocabulary, so a word may be
    one the writer's jieba never produced."""
    hit = _table.get(word)
    if hit is None and _table_path is not None and _reload():
        hit = _table.get(word)
    if hit is not None:
        return hit
    if _table:
        parts = [_table.get(ch) or ((ch, ch) if ch.isascii() and ch.isalnum() else None) for ch in word.lower()]
        if all(parts):
            return "".join(p[0] for p in parts), "".join(p[1] for p in parts)
    return computed(word)


def in_table(word: str) -> bool:
    """True when the loaded table holds `word` (a reader will not compute it)."""
    return word in _table


# ---------------------------------------------------------------------------------- readers


def use_table(folder: str) -> None:
    """Read `folder`'s table if it is not the one loaded or it changed since (cheap: one stat)."""
    global _table_path, _table_mtime
    path = os.path.join(folder, TABLE_FILE)
    with _lock:
        if path != _table_path:
            _table_path, _table_mtime = path, None
    _reload()


def _reload() -> bool:
    """Load the table file when its modification time changed; True when a new table was loaded."""
    global _table, _table_mtime
    path = _table_path
    if path is None:
        return False
    try:
        mtime = os.stat(path).st_mtime_ns
    except OSError:
        return False
    if mtime == _table_mtime:
        return False
    with _lock:
        if mtime == _table_mtime or path != _table_path:
            return False
        try:
            with open(path, "rb") as fh:
                table = marshal.load(fh)
        except (OSError, EOFError, ValueError, TypeError):
            return False
        if isinstance(table, dict):
            _table = table
            _table_mtime = mtime
            return True
    return False


# ----------------------------------------------------------------------------------- writer


def has_table(folder: str) -> bool:
    return os.path.exists(os.path.join(folder, TABLE_FILE))


def save_table(folder: str, words: Iterable[str], *, replace: bool) -> None:
    """Write the pinyin of `words` (computed here) to `folder`'s table, added to what it holds unless
    `replace`. Atomic (a temporary file renamed over the old one), so a reader never sees half."""
    path = os.path.join(folder, TABLE_FILE)
    table: dict[str, tuple[str, str]] = {}
    if not replace:
        try:
            with open(path, "rb") as fh:
                old = marshal.load(fh)
            if isinstance(old, dict):
                table.update(old)
        except (OSError, EOFError, ValueError, TypeError):
            pass
    for word in words:
        if word and word not in table:
            table[word] = computed(word)
    os.makedirs(folder, exist_ok=True)
    tmp = f"{path}.{os.getpid()}.{threading.get_ident()}.tmp"
    with open(tmp, "wb") as fh:
        marshal.dump(table, fh)
    os.replace(tmp, path)
