"""Search for products and tourism listings: Whoosh + jieba + pypinyin. The ONLY module importing Whoosh
(with its helper `catalog.search_postings`, which reads Whoosh's posting lists and columns in bulk).

Public interface (callers never see Whoosh):

- `search_product_ids(q, limit)` / `search_listing_ids(q, limit)`: ids, best first. Empty or junk
  queries give `[]`. Callers re-filter the ids against the database (`catalog.services.list_products`
  keeps only visible products), so a stale index can never show an unpublished product.
- `search_ids(q, kind=..., limit=..., filters=...)`: the same with optional index-side filters.
- `search_page(q, offset=, count=, filters=, facets=)`: one page of ranked ids, the number of matches
  and facet counts, for `catalog.services.search_products` (re-checks the shown ids in the database).
- `suggest(q, limit)`: as-you-type suggestions `[{"text", "kind", "id"}]` (prefix on names, pinyin, initials).
- `highlight(text, q)`: safe HTML (`Markup`), escaped first, matches wrapped in `<mark>`.
- `schedule_reindex(product_ids)` / `schedule_listing_reindex(ids)`: enqueue an index update after commit.
  Product and Listing inserts, updates and deletes are picked up by SQLAlchemy session events anyway
  (see `_install_session_hooks`), so other code need not call these.
- `update_products(ids)` / `update_listings(ids)` (run by `catalog.tasks`), `rebuild(progress)`
  (`flask --app wsgi search reindex`).

Analysis
--------
Text is NFKC-normalised and lower-cased. CJK runs are segmented by jieba in search mode (sub-words too)
with a domain user dictionary (`search_dict.txt`, plus every synonym and every village and township
name from the database) loaded once per process, lazily; jieba's own tables are packed by
`catalog.segmenter` (the same words in about 10 MB instead of about 80). Pinyin comes from pypinyin in
the index writer and from a table the writer saves next to the index for everyone else
(`catalog.pinyin`), so web workers do not load pypinyin's 50 MB. Latin/digit runs stay whole and keep a
following unit or grade character (`a级`, `5斤`, `10kg`), and are also indexed split (`10`, `kg`).
Fields are chosen for cheap query shapes:

- `text`: name (twice, as a weight), village, township, category, producer and description, one
  field, so a query word is ONE term (no per-field OR groups).
- `py`: pinyin of every name/place word, full and initials, plus the whole name (for prefixes).
- `ng`: CJK unigrams and bigrams of name and places: the recall backstop for words jieba segments
  differently in a query than in a document, and for one-character queries.
- `pre`: edge n-grams of the name, its pinyin and initials: a typed prefix is one term (suggestions,
  and pinyin typed half-way such as `yanc`). `name`: stored, the suggestion text.
- `pk` (a column) maps document numbers to database ids without reading stored fields; `kind`,
  `category`, `village`, `township`, `price` serve optional index-side filters.

Queries are built from tokens, never by a query parser, so `*`, `"`, `:`, `AND`, brackets or control
characters are just text. Each query word becomes a single term (or a small OR of its synonyms; a
pinyin word: its pinyin term, or a prefix when that term is unknown), words are ANDed, and terms
absent from the index are replaced by the bigram backstop before searching.

Speed (what costs, measured with `bench/search_bench.py`; figures in bench/README.md):

- Queries are evaluated by `catalog.search_postings`, not by Whoosh's matchers: each term's posting
  list is decoded a block (128 postings) at a time, and the query's ANDs and ORs are set and dict
  operations that run in C, giving every match with its score in one pass. Whoosh's matchers make
  Python calls per posting (and per `skip_to` of an intersection); at 100,000 products, where a
  popular word matches 10,000-20,000 documents, that was most of a query's time, paid twice (the
  unscored count pass, then the scored top-N). Other query shapes fall back to Whoosh.
- Scoring is `_SaturatedTf`: BM25 without length normalisation (Whoosh's BM25F reads every hit's
  field length). A term's score depends on its weight only, so it is computed once per distinct
  weight. Names are indexed twice in `text`, so they still outrank a mention in a description.
- `search_page` (the search page and the API's relevance lists) takes the number of matches, the
  facet counts (a `Counter` over per-generation columns: document number -> category / village /
  township, built once per searcher from the ID fields' postings) and the best `offset + count`
  (at least PAGE_STEP; a heap, not a sort) from that one pass; `pk` maps document numbers to
  database ids (a column read in one piece). Callers re-check only the shown ids in the database
  (`catalog.services.search_products`): if one fails (the index is behind), they answer exactly
  from the database instead.
- Segments are written as separate files, not compound ones: Whoosh opens a compound segment as an
  in-memory copy per searcher (about 120 MB per thread at 100,000 products; see `Engine.write`).
- Field filters are ANDed terms; listings (a few hundred documents) are ANDed for kind=listing and
  masked out for products; a price range is a test on the price column per hit (a NumericRange
  query would be a wide OR of terms).
- Searchers are cached per thread and reopened only when the index generation on disk changes;
  results (ids, pages, counts, facets) are cached with them per query and filters, so a popular
  query or the next page costs a dictionary lookup until the index changes.
- Whole search pages are cached for anonymous visitors by `shop.pagecache` (the `/search` view);
  every index write bumps that cache's generation (`_pages_changed`), so a page rendered while the
  index lagged the database is not served once the index caught up.

Writes and scale-out
--------------------
Design: ONE index on a shared volume (`SEARCH_INDEX_DIR`, e.g. NFS or a shared disk on every web
node) with a SINGLE WRITER: the Celery queue "search" (routed in `shop.celery`), consumed by exactly
one worker with concurrency 1::

    celery -A wsgi.celery_app worker -Q search --concurrency 1 --pool solo

Web nodes only read. Every search checks the index generation (one directory listing) and reopens
its searcher when it changed, so every node sees a write as soon as the writer commits; no broadcast
or copying is needed and nodes cannot drift apart. Other workers consume the remaining queues
(`celery -A wsgi.celery_app worker -Q celery`). In eager mode (no broker: the embedded default and
tests) the task runs in the committing process; writes there are serialised by a process lock and
by Whoosh's index lock, retried on `LockError`, so concurrent updates never lose one another.
A missing index is built from the database on first use.
"""
from __future__ import annotations

import heapq
import logging
import operator
import os
import re
import threading
import unicodedata
from array import array
from collections import Counter, deque
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path
from typing import Callable, Iterable

from markupsafe import Markup, escape
from whoosh.analysis import Token, Tokenizer
from whoosh.idsets import DocIdSet

from catalog import pinyin, search_postings

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
DICT_PATH = HERE / "search_dict.txt"
SYNONYMS_PATH = HERE / "synonyms.txt"
WORDS_FILE = "extra_words.txt"  # place names, written next to the index by the writer

MAX_QUERY = 100  # characters considered
MAX_WORDS = 8  # query words considered
DEFAULT_LIMIT = 1000
WORD_FREQ = 20000
_STOP = frozenset("的了和与及或在是")
_UNITS = "公斤|千克|斤|克|两|级|袋|盒|只|枚|个|箱|瓶|罐|包|条|件|年|天|人|晚|升|颗|粒|片"
_SCAN = re.compile(rf"(?P<cjk>[\u4e00-\u9fff]+)|(?P<mix>[a-z0-9]+(?:\.[0-9]+)?(?:{_UNITS})?)")
_PIECES = re.compile(r"[0-9]+(?:\.[0-9]+)?|[a-z]+")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_LATIN = re.compile(r"^[a-z]+$")


# --------------------------------------------------------------------------------------- jieba

_jieba_lock = threading.RLock()
_jieba = None
_added_words: set[str] = set()


def _jb():
    """jieba (a `jieba.Tokenizer` on packed tables, `catalog.segmenter`) with the user dictionary,
    loaded once per process (a few milliseconds once its packed tables are cached)."""
    global _jieba
    if _jieba is None:
        with _jieba_lock:
            if _jieba is None:
                from catalog.segmenter import tokenizer

                tk = tokenizer()
                tk.load_userdict(str(DICT_PATH))
                _jieba = tk
                synonyms()  # adds every synonym as a word
    return _jieba


def warm_up() -> None:
    """Load jieba (user dictionary, synonyms) and, in an application context, the index's pinyin
    table now, e.g. in a gunicorn `--preload` parent: forked workers then share them. pypinyin is
    not loaded (readers use the table, `catalog.pinyin`)."""
    _jb()
    from flask import current_app, has_app_context

    if has_app_context():
        pinyin.use_table(os.path.abspath(current_app.config["SEARCH_INDEX_DIR"]))


def add_words(words: Iterable[str]) -> None:
    """Teach jieba words (place names, synonyms) so that they segment as one word."""
    jb = _jb()
    with _jieba_lock:
        for word in words:
            word = normalize(word)
            if len(word) >= 2 and _CJK.search(word) and word not in _added_words:
                jb.add_word(word, freq=WORD_FREQ)
                _added_words.add(word)


_syn_cache: tuple[float, dict[str, frozenset[str]]] = (-1.0, {})


def synonyms() -> dict[str, frozenset[str]]:
    """word -> its synonym group (the word included), from `synonyms.txt`, re-read when it changes."""
    global _syn_cache
    try:
        mtime = SYNONYMS_PATH.stat().st_mtime
    except OSError:
        return {}
    if mtime == _syn_cache[0]:
        return _syn_cache[1]
    groups: dict[str, frozenset[str]] = {}
    for line in SYNONYMS_PATH.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0]
        words = [normalize(w) for w in line.split("=")]
        words = [w for w in words if w]
        if len(words) < 2:
            continue
        group = frozenset(words)
        for word in words:
            groups[word] = groups.get(word, frozenset()) | group
    _syn_cache = (mtime, groups)
    add_words(groups)
    return groups


# ------------------------------------------------------------------------------------ analysis


def normalize(text: str) -> str:
    """NFKC, lower case, control characters dropped, whitespace collapsed."""
    text = unicodedata.normalize("NFKC", text or "")
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    return " ".join(text.lower().split())


def _mix_pieces(token: str) -> list[str]:
    out = [token]
    alnum = re.match(r"[a-z0-9.]+", token).group()
    if alnum != token:
        out.append(alnum)
    pieces = _PIECES.findall(alnum)
    if len(pieces) > 1:
        out.extend(pieces)
    return out


def index_words(text: str) -> Iterable[str]:
    """The words of a document field (jieba search mode + mixed Latin/digit tokens)."""
    jb = _jb()
    for m in _SCAN.finditer(normalize(text)):
        if m.group("cjk"):
            for word, _s, _e in jb.tokenize(m.group(), mode="search"):
                if not (len(word) == 1 and word in _STOP):
                    yield word
        else:
            yield from _mix_pieces(m.group())


@dataclass(frozen=True)
class Unit:
    """One query word: `kind` is cjk (a jieba word), mix (Latin/digits, maybe a unit) or latin."""

    text: str
    kind: str


def query_units(q: str) -> list[Unit]:
    """Query words: accurate-mode jieba words, mixed tokens, Latin words; junk and stop words dropped."""
    q = normalize(q)[:MAX_QUERY]
    units: list[Unit] = []
    seen = set()
    for m in _SCAN.finditer(q):
        if m.group("cjk"):
            words = [(w, "cjk") for w in _jb().cut(m.group()) if not (len(w) == 1 and w in _STOP)]
        else:
            tok = m.group()
            words = [(tok, "latin" if _LATIN.match(tok) else "mix")]
        for word, kind in words:
            if word not in seen:
                seen.add(word)
                units.append(Unit(word, kind))
    return units[:MAX_WORDS]


word_pinyin = pinyin.word_pinyin  # (full pinyin, initials): 板鸭 -> ('banya', 'by')


def _pinyin_words(names: Iterable[str]) -> set[str]:
    """The words whose pinyin readers look up: the synonyms (`_pinyin_synonyms`) and the words of
    each name as `match_spans` cuts it for highlighting."""
    jb = _jb()
    out = {word for word in synonyms() if _CJK.search(word)}
    for name in names:
        for word, _s, _e in jb.tokenize((name or "").lower(), mode="search"):
            if _CJK.search(word):
                out.add(word)
    return out


def pinyin_terms(*texts: str) -> list[str]:
    """Pinyin tokens for the `py` field: each word full + initials, each CJK run, each whole text."""
    out: list[str] = []
    jb = _jb()
    for text in texts:
        norm = normalize(text)
        if not norm:
            continue
        for m in _SCAN.finditer(norm):
            if m.group("cjk"):
                run = m.group()
                for word in {run, *jb.cut_for_search(run)}:
                    out.extend(word_pinyin(word))
        whole = word_pinyin(norm.replace(" ", ""))
        out.extend(whole)
    return sorted({t for t in out if t})


MAX_PREFIX = 16


def prefix_terms(name: str, *, pinyin: Iterable[str] = ()) -> list[str]:
    """Edge n-grams for the `pre` field: prefixes of the whole name (CJK from 1 character) and of
    pinyin tokens (from 2 letters), so a prefix query is ONE term lookup, not a term expansion."""
    out: set[str] = set()
    whole = normalize(name).replace(" ", "")
    out.update(whole[:i] for i in range(1, min(len(whole), MAX_PREFIX) + 1))
    for token in pinyin:
        out.update(token[:i] for i in range(2, min(len(token), MAX_PREFIX) + 1))
    return sorted(out)


def _grams(text: str) -> list[str]:
    out: set[str] = set()
    for run in _CJK_RUN.findall(normalize(text)):
        out.update(run)
        out.update(run[i : i + 2] for i in range(len(run) - 1))
    return sorted(out)


_CJK_RUN = re.compile(r"[\u4e00-\u9fff]+")


_py_syn_cache: tuple[int, dict[str, frozenset[str]]] = (0, {})


def _pinyin_synonyms() -> dict[str, frozenset[str]]:
    """pinyin or initials of a synonym word -> its group: a pinyin query finds the synonyms too."""
    global _py_syn_cache
    groups = synonyms()
    if _py_syn_cache[0] != id(groups):
        out: dict[str, frozenset[str]] = {}
        for word, group in groups.items():
            if _CJK.search(word):
                for key in word_pinyin(word):
                    out[key] = out.get(key, frozenset()) | group
        _py_syn_cache = (id(groups), out)
    return _py_syn_cache[1]


# ------------------------------------------------------------------------------ whoosh schema


class WordTokenizer(Tokenizer):
    """Yields `func(text)` words; positions are word indexes (phrase friendly). Picklable (in the TOC)."""

    def __init__(self, func):
        self.func = func

    def __eq__(self, other):
        return type(self) is type(other) and self.func is other.func

    def __call__(self, value, positions=False, chars=False, keeporiginal=False, removestops=True,
                 start_pos=0, start_char=0, tokenize=True, mode="", **kwargs):
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        words = self.func(value) if tokenize else [value]
        for i, word in enumerate(words):
            t.text = word
            t.boost = 1.0
            t.stopped = False
            if keeporiginal:
                t.original = word
            if positions:
                t.pos = start_pos + i
            if chars:
                t.startchar = start_char
                t.endchar = start_char + len(word)
            yield t


def _whoosh_schema():
    from whoosh.fields import ID, KEYWORD, NUMERIC, STORED, TEXT, Schema

    return Schema(
        id=ID(unique=True),
        kind=ID,
        pk=NUMERIC(bits=64, sortable=True),
        name=STORED,
        text=TEXT(analyzer=WordTokenizer(index_words), phrase=False),
        py=KEYWORD(scorable=True),
        pre=KEYWORD,
        ng=TEXT(analyzer=WordTokenizer(_grams), phrase=False),
        category=ID,
        village=ID,
        township=ID,
        price=NUMERIC(bits=32, sortable=True),
    )


# ------------------------------------------------------------------------------ index engine


class _SaturatedTf:
    """Scoring: BM25 without length normalisation (B=0): idf * tf * (k1 + 1) / (tf + k1).

    The name is indexed twice in `text`, so name words outweigh a mention in the description, and
    the score depends on the term weight only: no per-document field-length read (the costliest
    part of Whoosh's BM25F per hit), and a block's best weight bounds its best score exactly, so
    the top-N collector skips whole posting blocks that cannot enter the page."""

    K1 = 1.2

    @staticmethod
    def model():
        from whoosh.scoring import BaseScorer, WeightingModel

        k1 = _SaturatedTf.K1

        class Scorer(BaseScorer):
            def __init__(self, idf, max_weight):
                self.idf = idf
                self._max = self._f(max_weight)

            def _f(self, w):
                return self.idf * w * (k1 + 1) / (w + k1)

            def supports_block_quality(self):
                return True

            def score(self, matcher):
                return self._f(matcher.weight())

            def max_quality(self):
                return self._max

            def block_quality(self, matcher):
                return self._f(matcher.block_max_weight())

        class Model(WeightingModel):
            def scorer(self, searcher, fieldname, text, qf=1):
                return Scorer(searcher.idf(fieldname, text) * qf, searcher.term_info(fieldname, text).max_weight())

        return Model()


WEIGHTING = _SaturatedTf.model()


class Engine:
    """One index directory: the cached index, per-thread searchers, the process write lock."""

    def __init__(self, path: str):
        self.path = str(path)
        self._ix = None
        self._open_lock = threading.Lock()
        self.write_lock = threading.Lock()
        self._local = threading.local()
        self._words_mtime = None
        self._segment_parts: dict[tuple[str, str], object] = {}  # (segment id, column) -> values

    # -- reading
    def exists(self) -> bool:
        from whoosh import index

        return os.path.isdir(self.path) and index.exists_in(self.path)

    def index(self, create: bool = False):
        from whoosh import index

        with self._open_lock:
            if create or self._ix is None:
                os.makedirs(self.path, exist_ok=True)
                if create or not index.exists_in(self.path):
                    self._ix = index.create_in(self.path, _whoosh_schema())
                    self._local = threading.local()
                else:
                    self._ix = index.open_dir(self.path)
            return self._ix

    def searcher(self):
        """This thread's searcher, reopened only when the index generation changed."""
        local = self._local
        s = getattr(local, "searcher", None)
        if s is None:
            s = self.index().searcher(weighting=WEIGHTING)
        elif not s.up_to_date():
            # A fresh searcher, not `s.refresh()`: refresh reuses segment readers with their old
            # deletion sets (deleted documents kept matching) and fails on an empty index.
            s.close()
            s = self.index().searcher(weighting=WEIGHTING)
        if s is not getattr(local, "searcher", None):
            local.searcher = s
            local.pks = None
            local.kinds = {}
            local.results = {}  # query results of this index generation (pages 2, 3 ... of a search)
            self._load_words()
        return s

    def pks(self, searcher) -> list:
        return self.column(searcher, "pk")

    def column(self, searcher, field: str) -> list:
        """A sortable integer field's values by document number (an `array`), read once per searcher
        in one piece (`search_postings.numeric_column`)."""
        local = self._local
        if local.pks is None:
            local.pks = {}
        if field not in local.pks:
            local.pks[field] = self._by_segment(
                searcher, field, lambda leaf: search_postings.numeric_column(leaf, field))
        return local.pks[field]

    def facet_column(self, searcher, field: str) -> list:
        """Document number -> value of an ID field (category, village, township), built once per
        searcher from the field's postings (a few values, each with its documents)."""
        key = "facet:" + field
        local = self._local
        if local.pks is None:
            local.pks = {}
        if key not in local.pks:
            local.pks[key] = self._by_segment(searcher, key, lambda leaf: _facet_part(leaf, field))
        return local.pks[key]

    def _by_segment(self, searcher, name: str, build: Callable):
        """A per-generation column (document number -> value) joined from per-segment parts.

        A segment's documents never change (a delete only marks them), so each part is built once
        per segment and process and shared by every thread: after a one-document update only the
        new small segment is read, not the whole index (about 60 ms a thread at 100,000 products).
        Parts of segments that are gone (merged) are dropped."""
        parts, live = [], set()
        for leaf, _offset in searcher.reader().leaf_readers():
            if leaf.segment() is None:  # an empty index: no documents, no segment
                continue
            key = (leaf.segment().segment_id(), name)
            live.add(key[0])
            part = self._segment_parts.get(key)
            if part is None:
                part = self._segment_parts[key] = build(leaf)
            parts.append(part)
        for key in list(self._segment_parts):
            if key[0] not in live:
                self._segment_parts.pop(key, None)
        if len(parts) <= 1:
            return parts[0] if parts else []
        joined = parts[0][:0]  # an empty list or array of the same kind
        for part in parts:
            joined += part
        return joined

    def kind_docs(self, searcher, kind: str):
        local = self._local
        if kind not in local.kinds:
            local.kinds[kind] = set(search_postings.term_docs(searcher.reader(), "kind", kind))
        return local.kinds[kind]

    def _load_words(self) -> None:
        pinyin.use_table(self.path)
        path = os.path.join(self.path, WORDS_FILE)
        try:
            mtime = os.stat(path).st_mtime
        except OSError:
            return
        if mtime != self._words_mtime:
            with open(path, encoding="utf-8") as fh:
                add_words(line.strip() for line in fh)
            self._words_mtime = mtime

    def save_words(self, words: Iterable[str]) -> None:
        words = sorted({normalize(w) for w in words if w})
        add_words(words)
        path = os.path.join(self.path, WORDS_FILE)
        tmp = f"{path}.{os.getpid()}.{threading.get_ident()}.tmp"  # unique per writer thread
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write("\n".join(words) + "\n")
        os.replace(tmp, path)

    def save_pinyin(self, names: Iterable[str], *, replace: bool) -> None:
        """Save the pinyin of these names' words (and the synonyms) for readers (`catalog.pinyin`);
        called before the index commit that adds the names."""
        pinyin.save_table(self.path, sorted(_pinyin_words(names)), replace=replace)

    # -- writing
    def write(self, fn: Callable, *, create: bool = False, clear: bool = False, retries: int = 120,
              limitmb: int = 64) -> None:
        """Run `fn(writer)` and commit, as the only writer: process lock + Whoosh lock (retried).

        NOTE segments are written as separate files, not one compound file: Whoosh reads a compound
        segment through mmap as an in-memory COPY of its terms and postings (its `BufferFile` wraps
        the map in a `BytesIO`), about 120 MB per searcher, so per thread, at 100,000 products;
        separate files are read through ordinary buffered files (the OS page cache, shared)."""
        from whoosh.index import LockError

        with self.write_lock:
            ix = self.index(create=create)
            for attempt in range(retries):
                try:
                    writer = ix.writer(timeout=0.5, limitmb=limitmb, compound=False)  # see NOTE below
                    break
                except LockError:
                    log.info("search index locked, retrying (%s)", attempt + 1)
            else:
                raise LockError(f"search index {self.path} stayed locked")
            try:
                fn(writer)
            except BaseException:
                writer.cancel()
                raise
            if clear:
                from whoosh.writing import CLEAR

                writer.commit(mergetype=CLEAR)  # a new generation: searchers elsewhere notice it
            else:
                writer.commit()


def _facet_part(leaf, field: str) -> list:
    """Document number -> value of an ID field in one segment, from the field's postings."""
    column = [""] * leaf.doc_count_all()
    for value in leaf.field_terms(field):
        if value:  # assigned in C: map() over the documents, drained by a zero-length deque
            deque(map(column.__setitem__, search_postings.term_docs(leaf, field, value), repeat(value)), maxlen=0)
    return column


_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def engine(path: str | None = None) -> Engine:
    if path is None:
        from flask import current_app

        path = current_app.config["SEARCH_INDEX_DIR"]
    path = os.path.abspath(path)
    with _engines_lock:
        if path not in _engines:
            _engines[path] = Engine(path)
        return _engines[path]


def reset_engines() -> None:
    """Forget cached indexes and searchers (tests switching index folders)."""
    with _engines_lock:
        _engines.clear()


# ------------------------------------------------------------------------------------ documents


def _pinyin_fields(name: str, village: str, township: str) -> dict:
    name_py = pinyin_terms(name)
    place_py = pinyin_terms(village, township)
    return {"py": " ".join(sorted(set(name_py) | set(place_py))),
            "pre": " ".join(prefix_terms(name, pinyin=name_py + place_py))}


def product_doc(*, id: int, name: str, description: str = "", category: str = "", village: str = "",
                township: str = "", producer: str = "", category_id=None, village_id=None,
                township_id=None, price_fen: int = 0) -> dict:
    return dict(
        id=f"p:{id}", kind="product", pk=id, name=name,
        text="\n".join([name, name, village, township, category, producer, description]),
        **_pinyin_fields(name, village, township),
        ng=" ".join([name, village, township, category]),
        category=str(category_id or ""), village=str(village_id or ""), township=str(township_id or ""),
        price=int(price_fen or 0),
    )


def listing_doc(*, id: int, name: str, description: str = "", village: str = "", township: str = "",
                kind_label: str = "", village_id=None, township_id=None, price_fen: int = 0) -> dict:
    return dict(
        id=f"l:{id}", kind="listing", pk=id, name=name,
        text="\n".join([name, name, village, township, kind_label, description]),
        **_pinyin_fields(name, village, township),
        ng=" ".join([name, village, township]),
        category="", village=str(village_id or ""), township=str(township_id or ""),
        price=int(price_fen or 0),
    )


_LISTING_KINDS = {"stay": "民宿 住宿", "experience": "体验 农家乐", "ticket": "门票 景点"}


def _load_products(ids: list[int] | None) -> tuple[dict[int, dict], set[int]]:
    """{id: doc} of visible products (all when ids is None), and the ids to delete."""
    from sqlalchemy.orm import selectinload

    from catalog.models import Product, Village, visible_products
    from shop.extensions import db

    query = visible_products().options(
        selectinload(Product.village).selectinload(Village.township),
        selectinload(Product.category),
        selectinload(Product.producer),
    )
    if ids is not None:
        query = query.where(Product.id.in_(ids))
    docs = {}
    for p in db.session.scalars(query.order_by(Product.id)):
        docs[p.id] = product_doc(
            id=p.id, name=p.name, description=p.description or "",
            category=p.category.name if p.category else "",
            village=p.village.name if p.village else "",
            township=p.village.township.name if p.village and p.village.township else "",
            producer=p.producer.name if p.producer else "",
            category_id=p.category_id, village_id=p.village_id,
            township_id=p.village.township_id if p.village else None, price_fen=p.price_fen,
        )
    return docs, set(ids or ()) - set(docs)


def _load_listings(ids: list[int] | None) -> tuple[dict[int, dict], set[int]]:
    try:
        from tourism.models import Listing
    except ImportError:  # tourism not built yet
        return {}, set(ids or ())
    from sqlalchemy.orm import selectinload

    from catalog.models import Village
    from shop.extensions import db

    query = db.select(Listing).where(Listing.is_published.is_(True)).options(
        selectinload(Listing.village).selectinload(Village.township)
    )
    if ids is not None:
        query = query.where(Listing.id.in_(ids))
    docs = {}
    for item in db.session.scalars(query.order_by(Listing.id)):
        village = item.village
        docs[item.id] = listing_doc(
            id=item.id, name=item.name, description=item.description or "",
            village=village.name if village else "",
            township=village.township.name if village and village.township else "",
            kind_label=_LISTING_KINDS.get(str(item.kind), ""),
            village_id=item.village_id, township_id=village.township_id if village else None,
        )
    return docs, set(ids or ()) - set(docs)


def _place_names() -> list[str]:
    from catalog.models import Township, Village
    from shop.extensions import db

    names = list(db.session.scalars(db.select(Village.name)))
    names += list(db.session.scalars(db.select(Township.name)))
    return names


def _indexed_names() -> list[str]:
    """Names of every visible product and published listing (what the index holds)."""
    from catalog.models import Product, visible_products
    from shop.extensions import db

    names = list(db.session.scalars(visible_products().with_only_columns(Product.name)))
    try:
        from tourism.models import Listing
    except ImportError:  # pragma: no cover
        return names
    return names + list(db.session.scalars(db.select(Listing.name).where(Listing.is_published.is_(True))))


def _apply(writer, prefix: str, docs: dict[int, dict], gone: set[int]) -> None:
    for pk in gone:
        writer.delete_by_term("id", f"{prefix}:{pk}")
    for doc in docs.values():
        writer.update_document(**doc)


def update_products(product_ids: Iterable[int]) -> None:
    """Bring these products' documents in line with the database (visible: indexed; else removed)."""
    _update(product_ids, "p", _load_products)


def update_listings(listing_ids: Iterable[int]) -> None:
    """The same for tourism listings."""
    _update(listing_ids, "l", _load_listings)


def _update(raw_ids: Iterable[int], prefix: str, load: Callable) -> None:
    ids = sorted({int(i) for i in raw_ids})
    if not ids:
        return
    eng = engine()
    if not eng.exists():
        rebuild()
        return
    eng.save_words(_place_names())
    docs, gone = load(ids)
    if pinyin.has_table(eng.path):
        eng.save_pinyin([doc["name"] for doc in docs.values()], replace=False)
    else:  # an index written before the table existed: the whole table now
        eng.save_pinyin(_indexed_names(), replace=True)
    eng.write(lambda w: _apply(w, prefix, docs, gone))
    _pages_changed()


def _pages_changed() -> None:
    """Cached search pages (shop.pagecache, keyed by the catalog generation) were rendered from the
    index as it was: bump the generation once the index changed, so no page lags the index (the
    commit that queued this update bumped it already, possibly before the index caught up)."""
    from shop import pagecache

    pagecache.catalog_changed()


def rebuild(progress: Callable[[int, int], None] | None = None, *, batch: int = 500) -> int:
    """Build a fresh index from the database; `progress(done, total)` after each batch. Returns docs."""
    eng = engine()
    os.makedirs(eng.path, exist_ok=True)
    eng.save_words(_place_names())
    products, _ = _load_products(None)
    listings, _ = _load_listings(None)
    docs = list(products.values()) + list(listings.values())
    total = len(docs)
    eng.save_pinyin([doc["name"] for doc in docs], replace=True)

    def fill(writer):
        for start in range(0, total, batch):
            for doc in docs[start : start + batch]:
                writer.add_document(**doc)
            if progress:
                progress(min(start + batch, total), total)
        if progress and not total:
            progress(0, 0)

    eng.write(fill, create=not eng.exists(), clear=True, limitmb=256)
    _pages_changed()
    return total


# ------------------------------------------------------------------------------------- queries


def _df(reader, field: str, text: str) -> int:
    try:
        return reader.doc_frequency(field, text)
    except Exception:  # noqa: BLE001 - unknown field/term encodings
        return 0


def _backstop(reader, word: str):
    """AND of the word's bigrams (or its single character) in `ng`, or None if one is missing."""
    from whoosh.query import And, Term

    grams = [word] if len(word) == 1 else [word[i : i + 2] for i in range(len(word) - 1)]
    if any(_df(reader, "ng", g) == 0 for g in grams):
        return None
    terms = [Term("ng", g) for g in dict.fromkeys(grams)]
    return terms[0] if len(terms) == 1 else And(terms)


def _unit_query(reader, unit: Unit):
    from whoosh.query import Or, Term

    word = unit.text
    if unit.kind == "cjk":
        if len(word) == 1:
            return _backstop(reader, word)
        variants = sorted(synonyms().get(word, {word}) | {word})
        terms = [Term("text", v) for v in variants if _df(reader, "text", v)]
        if not terms:
            back = _backstop(reader, word)
            return back
        return terms[0] if len(terms) == 1 else Or(terms)
    if unit.kind == "mix":
        variants = sorted(synonyms().get(word, {word}) | {word})
        terms = [Term("text", v) for v in variants if _df(reader, "text", v)]
        return None if not terms else terms[0] if len(terms) == 1 else Or(terms)
    # latin: pinyin (full or initials), or a Latin word of the text, or a pinyin prefix
    options = []
    if _df(reader, "py", word):
        options.append(Term("py", word, boost=2.0))
    if _df(reader, "text", word):
        options.append(Term("text", word))
    for variant in sorted(_pinyin_synonyms().get(word, ())):  # tjd -> 土鸡蛋 = 草鸡蛋 = 柴鸡蛋
        if _df(reader, "text", variant):
            options.append(Term("text", variant))
    if not options and len(word) >= 2 and _df(reader, "pre", word):
        options.append(Term("pre", word))  # a pinyin prefix as typed: "yanc", "sanjiangy"
    if not options:
        return None
    return options[0] if len(options) == 1 else Or(options)


def build_query(reader, q: str):
    """A Whoosh query built from the tokens of `q`, or None when it cannot match anything."""
    from whoosh.query import And

    units = query_units(q)
    if not units:
        return None
    latin = [u for u in units if u.kind == "latin"]
    if len(latin) > 1 and len(latin) == len(units):
        joined = "".join(u.text for u in latin)  # "ban ya" -> banya
        if _df(reader, "py", joined):
            from whoosh.query import Term

            return Term("py", joined)
    parts = []
    for unit in units:
        part = _unit_query(reader, unit)
        if part is None:
            return None  # a word that matches nothing: AND cannot match
        parts.append(part)
    return parts[0] if len(parts) == 1 else And(parts)


def _filter_query(filters: dict | None):
    from whoosh.query import And, Term

    if not filters:
        return None
    parts = []
    for key in ("category", "village", "township"):
        if filters.get(key):
            parts.append(Term(key, str(filters[key])))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else And(parts)


def _ensure_index(eng: Engine) -> bool:
    """True when the index exists, building it from the database on first use."""
    if getattr(eng._local, "searcher", None) is not None or eng.exists():  # open: no directory listing
        return True
    from whoosh.index import LockError

    try:
        rebuild()
    except RuntimeError:  # no application context (bench / scripts): nothing to build from
        return False
    except (OSError, LockError):  # unwritable or busy folder: no results rather than an error page
        log.exception("could not build the search index in %s", eng.path)
        return False
    return True


RESULT_CACHE_SIZE = 256
FACET_FIELDS = ("category", "village", "township")
PAGE_STEP = 48  # a page search ranks at least this many hits (pages 1-2 of 24 from one search)


@dataclass(frozen=True)
class SearchPage:
    """One window of a search: `ids` best first, `total` documents matching in the index (index-side
    filters applied; the caller re-filters only the shown ids), `facets` {field: {value: count}}
    over every match (only when asked for)."""

    ids: list[int]
    total: int
    facets: dict[str, dict[str, int]] | None = None


class _PriceRange(DocIdSet):
    """`docnum in range`: a price filter read from the price column, for Whoosh's FilterCollector
    (a NumericRange query would be a wide OR of terms)."""

    def __init__(self, prices, lo, hi):
        self.prices, self.lo, self.hi = prices, lo, hi

    def __bool__(self):
        return True

    def __contains__(self, docnum):
        price = self.prices[docnum]
        return (self.lo is None or price >= self.lo) and (self.hi is None or price <= self.hi)


def _prepared(eng: Engine, searcher, q: str, kind: str, filters: dict | None):
    """(query, collector keyword arguments, allow-test) for `q`, or None when nothing can match.

    Field filters are ANDed terms (intersected in the matchers; `Require` would not score them but
    trips an assertion in Whoosh's block-quality skipping); listings, a few hundred documents, are
    ANDed for kind=listing and masked out (a set) for products; a price range is a per-document test
    on the price column."""
    from whoosh.query import And, Term

    query = build_query(searcher.reader(), q)
    if query is None:
        return None
    fq = _filter_query(filters)
    if fq is not None:
        query = And([query, fq])
    listings = eng.kind_docs(searcher, "listing")
    kwargs: dict = {}
    if kind == "listing":
        if not listings:
            return None
        query = And([query, Term("kind", "listing")])
    elif listings:
        kwargs["mask"] = listings
    lo, hi = (filters or {}).get("min_fen"), (filters or {}).get("max_fen")
    allow = None
    if lo is not None or hi is not None:
        allow = _PriceRange(eng.column(searcher, "price"), lo, hi)
        kwargs["filter"] = allow
    return query, kwargs, allow


def _scores(searcher, prepared) -> dict[int, float] | None:
    """{document number: score} of every match with the kind mask and the price range applied
    (`search_postings.evaluate`: bulk posting lists, set and dict operations), or None for a
    query shape it does not handle (then Whoosh's matchers do it: `_top`, `_matches`)."""
    query, kwargs, allow = prepared
    scores = search_postings.evaluate(searcher, query)
    if scores is None:
        return None
    mask = kwargs.get("mask")
    if mask:
        if len(mask) < len(scores):
            for docnum in mask:
                scores.pop(docnum, None)
        else:
            scores = {d: s for d, s in scores.items() if d not in mask}
    if allow is not None:
        prices = allow.prices
        lo = float("-inf") if allow.lo is None else allow.lo
        hi = float("inf") if allow.hi is None else allow.hi
        scores = {d: s for d, s in scores.items() if lo <= prices[d] <= hi}
    return scores


def _top(eng: Engine, searcher, prepared, limit: int, scores: dict[int, float] | None = None) -> tuple[int, ...]:
    """Database ids of the scored top `limit`: score descending, then document number (Whoosh's
    order), from `scores` (`_scores`) or, for another query shape, Whoosh's top-N collector."""
    limit = max(1, min(int(limit), 10_000))
    if scores is None:
        scores = _scores(searcher, prepared)
    pks = eng.pks(searcher)
    if scores is not None:
        best = heapq.nlargest(limit, zip(scores.values(), map(operator.neg, scores)))
        return tuple(int(pks[-negdoc]) for _score, negdoc in best)
    query, kwargs, _allow = prepared
    results = searcher.search(query, limit=limit, terms=False, **kwargs)
    return tuple(int(pks[docnum]) for _score, docnum in results.top_n)


def _matches(eng: Engine, searcher, prepared) -> list[int]:
    """Every matching document number (unscored: a count and facets, not a ranking)."""
    scores = _scores(searcher, prepared)
    if scores is not None:
        return list(scores)
    query, kwargs, allow = prepared
    mask = kwargs.get("mask")
    docs = searcher.docs_for_query(query)
    if mask:
        docs = (d for d in docs if d not in mask)
    if allow is not None:
        docs = (d for d in docs if d in allow)
    return list(docs)


def _cached(eng: Engine, key: tuple, compute: Callable):
    results = eng._local.results
    if key not in results:
        if len(results) >= RESULT_CACHE_SIZE:
            results.pop(next(iter(results)))
        results[key] = compute()
    return results[key]


def _key(q: str, kind: str, filters: dict | None) -> tuple:
    synonyms()  # an edited synonyms file changes the key
    return (normalize(q)[:MAX_QUERY], kind, tuple(sorted((filters or {}).items())), _syn_cache[0])


def search_ids(q: str, *, kind: str = "product", limit: int = DEFAULT_LIMIT, filters: dict | None = None,
               path: str | None = None, cache: bool = True) -> list[int]:
    """Ids of documents of `kind` matching `q`, best first (scored top `limit`, no exact count).

    Results are cached per thread for the current index generation (any write empties the cache),
    so paging through a search or repeating a popular one costs a dictionary lookup."""
    if not q or not isinstance(q, str):
        return []
    eng = engine(path)
    if not _ensure_index(eng):
        return []
    searcher = eng.searcher()

    def compute():
        prepared = _prepared(eng, searcher, q, kind, filters)
        return () if prepared is None else _top(eng, searcher, prepared, limit)

    if not cache:
        return list(compute())
    return list(_cached(eng, ("ids", limit, *_key(q, kind, filters)), compute))


def search_page(q: str, *, kind: str = "product", offset: int = 0, count: int = 24, filters: dict | None = None,
                facets: bool = False, path: str | None = None, cache: bool = True) -> SearchPage:
    """A window of ranked ids, the number of matches and (when asked) facet counts, for one page.

    Only `offset + count` hits are ranked (at least PAGE_STEP, so the next page comes from the same
    search); the count and facets come from an unscored pass over the matches and the per-generation
    facet columns. Everything is cached per index generation, like `search_ids`."""
    empty = SearchPage([], 0, {f: {} for f in FACET_FIELDS} if facets else None)
    if not q or not isinstance(q, str):
        return empty
    eng = engine(path)
    if not _ensure_index(eng):
        return empty
    searcher = eng.searcher()
    need = max(0, int(offset)) + max(1, int(count))
    key = ("page", *_key(q, kind, filters))
    entry = _cached(eng, key, dict) if cache else {}
    if "prepared" not in entry:
        entry["prepared"] = _prepared(eng, searcher, q, kind, filters)
    prepared = entry["prepared"]
    if prepared is None:
        return empty
    scores = None  # every match with its score, computed at most once per call, never cached
    if "total" not in entry:
        scores = _scores(searcher, prepared)
        docs = list(scores) if scores is not None else _matches(eng, searcher, prepared)
        entry["total"] = len(docs)
        entry["docs"] = array("i", docs)  # 4 bytes a match: cached entries stay small
    if facets and "facets" not in entry:
        entry["facets"] = {f: _count(eng.facet_column(searcher, f), entry["docs"]) for f in FACET_FIELDS}
    if entry.get("limit", 0) < need and len(entry.get("top", ())) >= entry.get("limit", 0):
        limit = max(need, PAGE_STEP, 2 * entry.get("limit", 0))
        entry["top"] = _top(eng, searcher, prepared, limit, scores)
        entry["limit"] = limit
    top = entry["top"][int(offset): need]
    return SearchPage(list(top), entry["total"], entry.get("facets") if facets else None)


def _count(column: list, docs) -> dict[str, int]:
    counts = Counter(map(column.__getitem__, docs))  # counted in C
    counts.pop("", None)
    return dict(counts)


def search_product_ids(q: str, limit: int = DEFAULT_LIMIT) -> list[int]:
    """Ids of products matching `q`, best first. Junk or empty queries give []. Re-filter them in the DB."""
    return search_ids(q, kind="product", limit=limit)


def search_listing_ids(q: str, limit: int = DEFAULT_LIMIT) -> list[int]:
    """Ids of tourism listings matching `q`, best first (re-filter them against the database)."""
    return search_ids(q, kind="listing", limit=limit)


def suggest(q: str, limit: int = 8, *, path: str | None = None) -> list[dict]:
    """As-you-type suggestions: names starting with `q`, names whose pinyin or initials start with
    it, then ordinary matches. `[{"text", "kind", "id"}]`, de-duplicated by text."""
    from whoosh.query import Term

    norm = normalize(q)[:MAX_QUERY].strip()
    if not norm or not any(ch.isalnum() for ch in norm):
        return []
    eng = engine(path)
    if not _ensure_index(eng):
        return []
    searcher = eng.searcher()
    limit = max(1, min(int(limit), 20))
    squeezed = norm.replace(" ", "")[:MAX_PREFIX]
    found: list[int] = []
    if _df(searcher.reader(), "pre", squeezed):  # one term: prefixes of names, their pinyin, initials
        found = [docnum for _s, docnum in searcher.search(Term("pre", squeezed), limit=limit * 3).top_n]
    if len(found) < limit:
        query = build_query(searcher.reader(), q)
        if query is not None:
            found += [d for _s, d in searcher.search(query, limit=limit * 3).top_n if d not in found]
    items, seen = [], set()
    for docnum in found:
        fields = searcher.stored_fields(docnum)
        key = fields.get("name", "")
        if key in seen:
            continue
        seen.add(key)
        pk = int(eng.pks(searcher)[docnum])
        kind = "listing" if docnum in eng.kind_docs(searcher, "listing") else "product"
        items.append({"text": key, "kind": kind, "id": pk})
        if len(items) >= limit:
            break
    return items


# ---------------------------------------------------------------------------------- highlight


def match_spans(text: str, q: str) -> list[tuple[int, int]]:
    """Character spans of `text` that match the query (words, synonyms, pinyin, initials)."""
    if not text or not q:
        return []
    lower = text.lower()
    if len(lower) != len(text):
        return []
    needles: set[str] = set()
    latin: list[str] = []
    units = query_units(q)
    for unit in units:
        if unit.kind == "latin":
            latin.append(unit.text)
        else:
            needles.add(unit.text)
            needles.update(synonyms().get(unit.text, ()))
    if len(latin) > 1 and len(latin) == len(units):
        latin.append("".join(latin))
    spans = []
    for needle in needles:
        start = lower.find(needle)
        while needle and start != -1:
            spans.append((start, start + len(needle)))
            start = lower.find(needle, start + len(needle))
    if latin:
        for word, s, e in _jb().tokenize(lower, mode="search"):
            if not _CJK.search(word):
                if word in latin:
                    spans.append((s, e))
                continue
            full, initials = word_pinyin(word)
            if any(t in (full, initials) or (len(t) >= 3 and full.startswith(t)) for t in latin):
                spans.append((s, e))
    spans.sort()
    merged: list[tuple[int, int]] = []
    for s, e in spans:
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    return merged


def highlight(text: str, q: str) -> Markup:
    """`text` as safe HTML with matches of `q` in <mark>: each piece escaped, then marked."""
    text = text or ""
    out, pos = [], 0
    for s, e in match_spans(text, q):
        out.append(str(escape(text[pos:s])))
        out.append(f"<mark>{escape(text[s:e])}</mark>")
        pos = e
    out.append(str(escape(text[pos:])))
    return Markup("".join(out))


# ------------------------------------------------------------------------- keeping up with data


def schedule_reindex(product_ids: Iterable[int]) -> None:
    """Update these products in the index once the current transaction commits (Celery "search")."""
    from catalog.tasks import reindex_products
    from shop.celery import enqueue_after_commit

    ids = sorted({int(i) for i in product_ids if i is not None})
    if ids:
        enqueue_after_commit(reindex_products, ids)


def schedule_listing_reindex(listing_ids: Iterable[int]) -> None:
    from catalog.tasks import reindex_listings
    from shop.celery import enqueue_after_commit

    ids = sorted({int(i) for i in listing_ids if i is not None})
    if ids:
        enqueue_after_commit(reindex_listings, ids)


_PRODUCT_FIELDS = ("name", "description", "category_id", "village_id", "producer_id", "approval_status",
                   "is_published", "price_fen", "station_id")
_LISTING_FIELDS = ("name", "description", "village_id", "is_published", "kind")
_PENDING = "search_pending"


def _changed(obj, names) -> bool:
    import sqlalchemy as sa

    state = sa.inspect(obj)
    return any(state.attrs[n].history.has_changes() for n in names if n in state.attrs)


def _after_flush(session, _flush_context) -> None:
    """Collect ids of changed products and listings (and renamed villages/townships, whose names
    are in their documents); `_flush_pending` enqueues the index update after the commit."""
    from catalog.models import Category, Product, Township, Village

    try:
        from tourism.models import Listing
    except ImportError:  # pragma: no cover
        Listing = None
    pending = session.info.get(_PENDING)
    for obj in list(session.new) + list(session.dirty) + list(session.deleted):
        if isinstance(obj, Product):
            key = "p"
            fields = _PRODUCT_FIELDS
        elif Listing is not None and isinstance(obj, Listing):
            key = "l"
            fields = _LISTING_FIELDS
        elif isinstance(obj, (Village, Township, Category)) and obj in session.dirty:
            key = {Village: "v", Township: "t", Category: "c"}[type(obj)]
            fields = ("name",)
        else:
            continue
        if obj in session.dirty and not _changed(obj, fields):
            continue
        if obj.id is None:
            continue
        if pending is None:
            pending = session.info[_PENDING] = {k: set() for k in "pltvc"}
            session.info.setdefault("after_commit", []).append(lambda s=session: _flush_pending(s))
        pending[key].add(obj.id)


def _before_commit(session) -> None:
    """Just before the commit: turn the collected ids into index tasks through the outbox
    (`shop.celery.enqueue_after_commit`), so they commit with the change and survive a Redis outage;
    with no broker they run in process after the commit."""
    if session.info.get(_PENDING) is None:
        return
    session.flush()  # changes not flushed yet add their ids now, not after this hook
    _enqueue(session, session.info.pop(_PENDING, None), in_transaction=True)


def _flush_pending(session) -> None:
    """After commit (shop.db.commit runs it): anything `_before_commit` did not take (a flush after
    it, or a commit outside the ORM session's commit) is enqueued now."""
    _enqueue(session, session.info.pop(_PENDING, None), in_transaction=False)


def _enqueue(session, pending: dict | None, *, in_transaction: bool) -> None:
    from catalog.tasks import reindex_listings, reindex_products
    from shop.celery import enqueue_after_commit

    if not pending:
        return
    if pending["v"] or pending["t"] or pending["c"]:
        _add_renamed_places(session, pending, end_transaction=not in_transaction)
    for key, task in (("p", reindex_products), ("l", reindex_listings)):
        if not pending[key]:
            continue
        if in_transaction:
            enqueue_after_commit(task, sorted(pending[key]), session=session)
        else:
            try:
                task.delay(sorted(pending[key]))
            except Exception:  # the index catches up with the next change or `search reindex`
                import logging

                logging.getLogger(__name__).exception("search: index update could not be queued")


def _add_renamed_places(session, pending: dict, *, end_transaction: bool = True) -> None:
    """Products and listings of renamed villages, townships, categories join the update."""
    import sqlalchemy as sa

    from catalog.models import Product, Village

    villages = set(pending["v"])
    if pending["t"]:
        villages |= set(session.scalars(sa.select(Village.id).where(Village.township_id.in_(pending["t"]))))
    cond = [Product.category_id.in_(pending["c"])] if pending["c"] else []
    if villages:
        cond.append(Product.village_id.in_(villages))
        try:
            from tourism.models import Listing

            pending["l"] |= set(session.scalars(sa.select(Listing.id).where(Listing.village_id.in_(villages))))
        except ImportError:  # pragma: no cover
            pass
    if cond:
        pending["p"] |= set(session.scalars(sa.select(Product.id).where(sa.or_(*cond))))
    if end_transaction:
        session.commit()  # end the read-only transaction these lookups opened


def _after_soft_rollback(session, _previous) -> None:
    if not session.in_transaction():  # the outermost transaction rolled back: forget its changes
        session.info.pop(_PENDING, None)


def _install_session_hooks() -> None:
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)
        event.listen(Session, "before_commit", _before_commit)
        event.listen(Session, "after_soft_rollback", _after_soft_rollback)


_install_session_hooks()
