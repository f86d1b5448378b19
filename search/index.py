"""Search for products and tourism listings: Whoosh + jieba + pypinyin, each through its public API.
The ONLY module importing Whoosh.

Public interface (callers never see Whoosh):

- `search_product_ids(q, limit)` / `search_listing_ids(q, limit)`: ids, best first. Empty or junk
  queries give `[]`. Callers re-filter the ids against the database (`catalog.services.list_products`
  keeps only visible products), so a stale index can never show an unpublished product.
- `search_ids(q, kind=..., limit=..., filters=...)`: the same with optional index-side filters.
- `search_page(q, offset=, count=, filters=, facets=)`: one page of ranked ids, the number of matches,
  facet counts and whether the match is partial, for `search.services.search_products`.
- `is_partial(q, kind=, filters=)`: True when no document has every word of `q` and the hits are the
  best partial matches (the page and the API say so).
- `suggest(q, limit)`: as-you-type suggestions `[{"text", "kind", "id"}]` (prefix on names, pinyin, initials).
- `highlight(text, q)`: safe HTML (`Markup`), escaped first, matches wrapped in `<mark>`.
- `update_products(ids)` / `update_listings(ids)` (run by `search.tasks`), `rebuild(progress)`
  (`flask --app wsgi search reindex`). Keeping the index in step with the database (the session
  hooks, the tasks) lives in `search.tasks`, which imports this module (never the reverse).

Analysis
--------
Text is NFKC-normalised and lower-cased. CJK runs are segmented by jieba (`search.segmenter`) with a
domain user dictionary (`search_dict.txt`, plus every synonym and every village and township name).
Documents are segmented by the index writer with jieba's own dictionary, in search mode (sub-words
too). Queries are segmented with a jieba Tokenizer whose dictionary is the index's own vocabulary
(`segmenter.VOCABULARY_FILE`, written by the writer next to the index): a query word is then a term
of the index, and a web process does not hold jieba's 349,046-word dictionary. Pinyin comes from
pypinyin in the index writer and from a table the writer saves next to the index for everyone else
(`search.pinyin`), so web workers do not load pypinyin (bench/README.md, "Web worker memory").
Latin/digit runs stay whole and keep a following unit or grade character (`a级`, `5斤`, `10kg`), and
are also indexed split (`10`, `kg`).
Fields are chosen for cheap query shapes:

- `text`: name (twice, as a weight), village, township, category, producer and description, one
  field, so a query word is ONE term (no per-field OR groups).
- `py`: pinyin of every name/place word, full and initials, of every run of up to `PINYIN_SPAN`
  consecutive words (`yancailihe` for 腌菜礼盒, `meidoufu` for 霉豆腐), and of the whole name.
- `pyc`: pinyin inside the words of the name: each character's syllable (`dan` for 鸡蛋's 蛋) and
  the full pinyin and initials of each run of 2..`MAX_INNER` characters inside a longer word, minus
  the document's `py` terms. Its matches score at `INNER_BOOST`: after any other match of the
  same query word (its `py` term, a Latin word of `text`, a `pre` prefix).
- `ng`: CJK unigrams and bigrams of name and places: the recall backstop for words jieba segments
  differently in a query than in a document, and for one-character queries.
- `pre`: edge n-grams of the name, its pinyin and initials: a typed prefix is one term (suggestions,
  and pinyin typed half-way such as `yanc`). `name`: stored, the suggestion text.
- `pk` and `prices` (columns) map document numbers to database ids and to every shown variant's
  price (a product with variants is found by a price range holding any of them); `kind`, `category`,
  `village`, `township` (columns too, for the facet counts) serve index-side filters.

Queries are built from tokens, never by a query parser, so `*`, `"`, `:`, `AND`, brackets or control
characters are just text. Each query word becomes a single term (or a small OR of its synonyms; a
pinyin word: its pinyin term, a prefix when that term is unknown, or the pinyin words it runs
together; and, ranked below any of those, a syllable inside a word), and words are ANDed. Partial
matches: a word that matches nothing in the index is left out, and when the words that do match
never occur together, they are ORed (a document matching more of them scores higher); either way
the result is marked partial (`is_partial`).

Evaluation and speed (figures in bench/README.md, measured with `bench/search_bench.py`):

- Whoosh's searcher does all the work, through its public API: `Searcher.search` with a limit (its
  top-N collector, with block-quality skipping under the scoring model below) for `search_ids`, and
  without one for `search_page` (one scored pass gives the ranking, the count and the documents the
  facets are counted over); `filter=` for the price range, `mask=` for the listings. Without
  filters the search page's products and listings come from ONE such pass over every document,
  split by kind (`_ranking`): a pass that masks the listings out walks their postings anyway.
- Scoring is `SaturatedTf`: BM25 without length normalisation (Whoosh's BM25F reads every hit's
  field length). Names are indexed twice in `text`, so they still outrank a mention in a description.
- `pk`, `price` and the facet fields are read through `column_reader` once per segment and process
  (a segment never changes; after a one-document update only the new segment is read), joined per
  searcher, so mapping hits to ids and counting facets are list lookups.
- Segments are written as separate files, not compound ones: Whoosh opens a compound segment as an
  in-memory copy per searcher, so per thread (bench/README.md, "Search"; see `Engine.write`).
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
or copying is needed and nodes cannot drift apart. In eager mode (no broker: the embedded default and
tests) the task runs in the committing process; writes there are serialised by a process lock and
by Whoosh's index lock, retried on `LockError`, so concurrent updates never lose one another.
A missing index is built from the database on first use.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import unicodedata
from array import array
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from flask import current_app, has_app_context
from markupsafe import Markup, escape
from sqlalchemy.orm import selectinload
from whoosh import index as whoosh_index
from whoosh.analysis import Token, Tokenizer
from whoosh.columns import VarBytesColumn
from whoosh.fields import COLUMN, ID, KEYWORD, NUMERIC, STORED, TEXT, Schema
from whoosh.idsets import DocIdSet
from whoosh.index import LockError
from whoosh.query import And, Or, Term
from whoosh.scoring import BaseScorer, WeightingModel
from whoosh.writing import CLEAR

from catalog.models import Product, ProductFamily, Township, Village, visible_products
from search import pinyin, segmenter
from shop import pagecache
from shop.extensions import db
from tourism.models import Listing

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
DICT_PATH = HERE / "search_dict.txt"
SYNONYMS_PATH = HERE / "synonyms.txt"
WORDS_FILE = "extra_words.txt"  # place names, written next to the index by the writer

MAX_QUERY = 100  # characters considered
MAX_WORDS = 8  # query words considered
DEFAULT_LIMIT = 1000
WORD_FREQ = 20000
PINYIN_SPAN = 4  # consecutive words whose joined pinyin is indexed (腌菜礼盒 -> yancailihe)
_STOP = frozenset("的了和与及或在是")
_UNITS = "公斤|千克|斤|克|两|级|袋|盒|只|枚|个|箱|瓶|罐|包|条|件|年|天|人|晚|升|颗|粒|片"
_SCAN = re.compile(rf"(?P<cjk>[\u4e00-\u9fff]+)|(?P<mix>[a-z0-9]+(?:\.[0-9]+)?(?:{_UNITS})?)")
_PIECES = re.compile(r"[0-9]+(?:\.[0-9]+)?|[a-z]+")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_LATIN = re.compile(r"^[a-z]+$")


# --------------------------------------------------------------------------------------- jieba

_jieba_lock = threading.Lock()
_writer_words: segmenter.Words | None = None
_place_words: set[str] = set()  # village and township names seen by this process (extra_words.txt)


def _teachable(words: Iterable[str]) -> list[str]:
    out = []
    for word in words:
        word = normalize(word)
        if len(word) >= 2 and _CJK.search(word):
            out.append(word)
    return out


def _ready(words: segmenter.Words):
    """`words.tk` with the synonyms and place names taught (synonyms re-read when the file changed)."""
    groups = synonyms()
    if words.synonyms_version != _syn_cache[0]:
        words.teach(_teachable(groups))
        words.synonyms_version = _syn_cache[0]
    if len(words.known) < len(_place_words) or not _place_words <= words.known:
        words.teach(sorted(_place_words))
    return words.tk


def _new_words(tk) -> segmenter.Words:
    words = segmenter.Words(tk, freq=WORD_FREQ)
    tk.load_userdict(str(DICT_PATH))
    return words


def writer_segmenter():
    """jieba on its own dictionary with the user dictionary, synonyms and place names: what documents
    are segmented with (the index writer; loaded once per process, lazily)."""
    global _writer_words
    if _writer_words is None:
        with _jieba_lock:
            if _writer_words is None:
                _writer_words = _new_words(segmenter.full_tokenizer())
    return _ready(_writer_words)


def warm_up() -> None:
    """Load the query segmenter (the index's vocabulary, user dictionary, synonyms) and the index's
    pinyin table now, e.g. in a gunicorn `--preload` parent: forked workers then share them.
    Neither jieba's own dictionary nor pypinyin is loaded when the index has its tables."""
    if has_app_context():
        eng = engine()
        pinyin.use_table(os.path.abspath(current_app.config["SEARCH_INDEX_DIR"]))
        eng.load_words()
        if os.path.exists(eng.vocabulary_path()):  # else the first search builds the index (and loads jieba)
            eng.segmenter()
    else:
        writer_segmenter()


def add_words(words: Iterable[str]) -> None:
    """Teach jieba words (place names) so that they segment as one word, in every segmenter."""
    new = set(_teachable(words)) - _place_words
    if new:
        _place_words.update(new)
        if _writer_words is not None:
            _ready(_writer_words)
        for eng in list(_engines.values()):
            if eng.words is not None:
                _ready(eng.words)


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
    jb = writer_segmenter()
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


def query_units(q: str, jb=None) -> list[Unit]:
    """Query words: accurate-mode jieba words, mixed tokens, Latin words; junk and stop words dropped.
    `jb`: the jieba Tokenizer to cut with (the index's query segmenter; default the writer's)."""
    q = normalize(q)[:MAX_QUERY]
    units: list[Unit] = []
    seen = set()
    for m in _SCAN.finditer(q):
        if m.group("cjk"):
            jb = jb or writer_segmenter()
            words = [(w, "cjk") for w in jb.cut(m.group()) if not (len(w) == 1 and w in _STOP)]
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
    jb = writer_segmenter()
    out = {word for word in synonyms() if _CJK.search(word)}
    for name in names:
        for word, _s, _e in jb.tokenize((name or "").lower(), mode="search"):
            if _CJK.search(word):
                out.add(word)
        out.update(_CJK.findall(name or ""))  # each character: readers may cut a name differently
    return out


def _spans(words: list[str]) -> Iterable[str]:
    """Runs of 2..PINYIN_SPAN consecutive words, joined: 三江/腌菜/礼盒 -> 三江腌菜, 腌菜礼盒, ..."""
    for i in range(len(words)):
        for j in range(i + 2, min(len(words), i + PINYIN_SPAN) + 1):
            yield "".join(words[i:j])


def pinyin_terms(*texts: str, spans: bool = True) -> list[str]:
    """Pinyin tokens for the `py` field: each word (search mode) and, with `spans`, each run of
    consecutive words (accurate mode), full + initials; each CJK run; each whole text."""
    out: list[str] = []
    jb = writer_segmenter()
    for text in texts:
        norm = normalize(text)
        if not norm:
            continue
        for m in _SCAN.finditer(norm):
            if m.group("cjk"):
                run = m.group()
                for word in {run, *jb.cut_for_search(run), *(_spans(jb.lcut(run)) if spans else ())}:
                    out.extend(word_pinyin(word))
        whole = word_pinyin(norm.replace(" ", ""))
        out.extend(whole)
    return sorted({t for t in out if t})


MAX_INNER = 4  # characters: the longest run inside a word whose pinyin goes to `pyc`
INNER_BOOST = 0.05  # a `pyc` match scores at most INNER_BOOST * (ln(documents / 2) + 1): below 1, any other
# match's least, up to 10^8 documents (SaturatedTf, one occurrence; `py` matches are boosted 2)


def inner_runs(word: str) -> Iterable[tuple[int, int]]:
    """(start, end) of the runs of characters inside `word` whose pinyin `pyc` holds: each single
    character and each run of 2..MAX_INNER characters, never the whole word (that is `py`'s)."""
    n = len(word)
    for i in range(n):
        for j in range(i + 1, min(n, i + MAX_INNER) + 1):
            if j - i < n:
                yield i, j


def inner_pinyin_terms(text: str) -> list[str]:
    """Pinyin tokens for the `pyc` field: of the characters inside the words of `text` (accurate
    mode), each character's syllable (鸡蛋 -> ji, dan) and, for each run of 2..MAX_INNER characters
    inside a longer word, its full pinyin and initials (咸鸭蛋 -> xianya, xy, yadan, yd). Syllables
    are read in their word's context (`pinyin.syllables`). A one-character word is a whole word: its
    pinyin is in `py`. Single letters (one character's initial) are never terms: too many words."""
    out: set[str] = set()
    jb = writer_segmenter()
    for run in _CJK_RUN.findall(normalize(text)):
        for word in jb.lcut(run):
            sounds = pinyin.syllables(word) if len(word) > 1 else ()
            for i, j in inner_runs(word) if sounds else ():
                out.add("".join(sounds[i:j]))
                if j - i > 1:
                    out.add("".join(s[0] for s in sounds[i:j]))
    return sorted(out)


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

    def __call__(
        self,
        value,
        positions=False,
        chars=False,
        keeporiginal=False,
        removestops=True,
        start_pos=0,
        start_char=0,
        tokenize=True,
        mode="",
        **kwargs,
    ):
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


FACET_FIELDS = ("category", "village", "township")


def _whoosh_schema():
    return Schema(
        id=ID(unique=True),
        kind=ID,
        pk=NUMERIC(bits=64, sortable=True),
        name=STORED,
        text=TEXT(analyzer=WordTokenizer(index_words), phrase=False),
        py=KEYWORD(scorable=True),
        pyc=KEYWORD(scorable=True),
        pre=KEYWORD,
        ng=TEXT(analyzer=WordTokenizer(_grams), phrase=False),
        category=ID(sortable=True),
        village=ID(sortable=True),
        township=ID(sortable=True),
        prices=COLUMN(VarBytesColumn()),
    )


def _encode_prices(prices: Iterable[int]) -> bytes:
    """The `prices` column's value: every shown variant's price in fen, space-separated."""
    return " ".join(str(int(p)) for p in sorted(set(prices))).encode("ascii")


def _decode_prices(raw: bytes) -> tuple[int, ...]:
    return tuple(int(p) for p in raw.split())


#: Columns read as something else than stored (once per segment, see `Engine.joined_column`).
COLUMN_DECODERS: dict[str, Callable] = {"prices": _decode_prices}


# ------------------------------------------------------------------------------ index engine


class SaturatedTf(WeightingModel):
    """Scoring: BM25 without length normalisation (B=0): idf * tf * (k1 + 1) / (tf + k1).

    The name is indexed twice in `text`, so name words outweigh a mention in the description, and
    the score depends on the term weight only: no per-document field-length read (the costliest
    part of Whoosh's BM25F per hit), and a block's best weight bounds its best score exactly, so
    the top-N collector skips whole posting blocks that cannot enter the page."""

    K1 = 1.2

    class Scorer(BaseScorer):
        def __init__(self, idf: float, max_weight: float):
            self.idf = idf
            self.best = self.saturate(max_weight)

        def saturate(self, w: float) -> float:
            k1 = SaturatedTf.K1
            return self.idf * w * (k1 + 1) / (w + k1)

        def supports_block_quality(self):
            return True

        def score(self, matcher):
            return self.saturate(matcher.weight())

        def max_quality(self):
            return self.best

        def block_quality(self, matcher):
            return self.saturate(matcher.block_max_weight())

    def scorer(self, searcher, fieldname, text, qf=1):
        return self.Scorer(searcher.idf(fieldname, text) * qf, searcher.term_info(fieldname, text).max_weight())


WEIGHTING = SaturatedTf()


class Engine:
    """One index directory: the cached index, per-thread searchers, the process write lock, and the
    query segmenter built from the index's vocabulary."""

    def __init__(self, path: str):
        self.path = str(path)
        self.ix = None
        self.open_lock = threading.Lock()
        self.write_lock = threading.Lock()
        self.local = threading.local()
        self.words_mtime = None
        self.words: segmenter.Words | None = None  # the query segmenter (None: not built yet)
        self.segment_parts: dict[tuple[str, str], list] = {}  # (segment id, column) -> values

    # -- reading
    def exists(self) -> bool:
        return os.path.isdir(self.path) and whoosh_index.exists_in(self.path)

    def index(self, create: bool = False):
        with self.open_lock:
            if create or self.ix is None:
                os.makedirs(self.path, exist_ok=True)
                if create or not whoosh_index.exists_in(self.path):
                    self.ix = whoosh_index.create_in(self.path, _whoosh_schema())
                    self.local = threading.local()
                else:
                    self.ix = whoosh_index.open_dir(self.path)
            return self.ix

    def is_open(self) -> bool:
        return getattr(self.local, "searcher", None) is not None

    def searcher(self):
        """This thread's searcher, reopened only when the index generation changed."""
        local = self.local
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
            local.columns = {}
            local.kinds = {}
            local.results = {}  # query results of this index generation (pages 2, 3 ... of a search)
            self.load_words()
        return s

    def results_cache(self) -> dict:
        return self.local.results

    def pks(self, searcher) -> list:
        return self.column(searcher, "pk")

    def column(self, searcher, field: str) -> list:
        """Document number -> value of a column field (pk, prices, category, village, township), read
        through Whoosh's column readers once per segment (`joined_column`), joined per searcher."""
        columns = self.local.columns
        if field not in columns:
            columns[field] = self.joined_column(searcher, field)
        return columns[field]

    def joined_column(self, searcher, field: str) -> list:
        """A per-generation column joined from per-segment parts.

        A segment's documents never change (a delete only marks them), so each part is read once per
        segment and process and shared by every thread: after a one-document update only the new
        small segment is read, not the whole index. Parts of segments that are gone are dropped."""
        parts, live = [], set()
        for leaf, _offset in searcher.reader().leaf_readers():
            segment = leaf.segment()
            if segment is None:  # an empty index: no documents, no segment
                continue
            key = (segment.segment_id(), field)
            live.add(key[0])
            part = self.segment_parts.get(key)
            if part is None:
                values = leaf.column_reader(field)
                decode = COLUMN_DECODERS.get(field)
                part = self.segment_parts[key] = list(values) if decode is None else [decode(v) for v in values]
            parts.append(part)
        for key in list(self.segment_parts):
            if key[0] not in live:
                self.segment_parts.pop(key, None)
        if len(parts) == 1:
            return parts[0]
        joined: list = []
        for part in parts:
            joined += part
        return joined

    def kind_docs(self, searcher, kind: str) -> set[int]:
        kinds = self.local.kinds
        if kind not in kinds:
            kinds[kind] = set(searcher.docs_for_query(Term("kind", kind)))
        return kinds[kind]

    def load_words(self) -> None:
        """The writer's side files for readers: the pinyin table, the place names, the vocabulary."""
        pinyin.use_table(self.path)
        path = os.path.join(self.path, WORDS_FILE)
        try:
            mtime = os.stat(path).st_mtime
        except OSError:
            mtime = None
        if mtime is not None and mtime != self.words_mtime:
            with open(path, encoding="utf-8") as fh:
                add_words(line.strip() for line in fh)
            self.words_mtime = mtime
        if self.words is not None:
            self.refresh_vocabulary()

    def vocabulary_path(self) -> str:
        return os.path.join(self.path, segmenter.VOCABULARY_FILE)

    def segmenter(self):
        """The jieba Tokenizer queries on this index are cut with: one whose dictionary is the
        index's vocabulary (plus the user dictionary, synonyms, place names), or the writer's when
        the index has no vocabulary file yet (an index written by an older version)."""
        if self.words is None:
            with _jieba_lock:
                if self.words is None:
                    path = self.vocabulary_path()
                    try:
                        mtime = os.stat(path).st_mtime_ns
                    except OSError:
                        mtime = None
                    if mtime is None:
                        return writer_segmenter()
                    words = _new_words(segmenter.vocabulary_tokenizer(path))
                    words.source_mtime = mtime
                    self.words = words
        return _ready(self.words)

    def refresh_vocabulary(self) -> None:
        """Teach the query segmenter the words a newer vocabulary file added (words never leave it:
        a word no document has any more is just a word that finds nothing)."""
        words = self.words
        path = self.vocabulary_path()
        try:
            mtime = os.stat(path).st_mtime_ns
        except OSError:
            return
        if words is None or mtime == words.source_mtime:
            return
        vocabulary = segmenter.read_vocabulary(path)
        with words.lock:
            new = [(w, f) for w, f in vocabulary.items() if w not in words.known and not words.tk.FREQ.get(w)]
            for word, freq in new:
                words.tk.add_word(word, freq=freq)
            words.source_mtime = mtime

    def save_words(self, words: Iterable[str]) -> None:
        words = sorted({normalize(w) for w in words if w})
        add_words(words)
        path = os.path.join(self.path, WORDS_FILE)
        tmp = f"{path}.{os.getpid()}.{threading.get_ident()}.tmp"  # unique per writer thread
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write("\n".join(words) + "\n")
        os.replace(tmp, path)

    def save_pinyin(self, names: Iterable[str], *, replace: bool) -> None:
        """Save the pinyin of these names' words (and the synonyms) for readers (`search.pinyin`);
        called before the index commit that adds the names."""
        pinyin.save_table(self.path, sorted(_pinyin_words(names)), replace=replace)

    def save_vocabulary(self, *, replace: bool) -> None:
        """Write the CJK words of the index's `text` field with their jieba frequencies for the
        query segmenters (`segmenter.VOCABULARY_FILE`), added to the file's words unless `replace`."""
        jb = writer_segmenter()
        path = self.vocabulary_path()
        vocabulary = {} if replace else segmenter.read_vocabulary(path)
        with self.index().reader() as reader:
            for word in reader.field_terms("text"):
                if len(word) >= 2 and word not in vocabulary and _CJK_RUN.fullmatch(word):
                    vocabulary[word] = segmenter.word_freq(jb, word)
        segmenter.write_vocabulary(path, vocabulary)

    # -- writing
    def write(
        self, fn: Callable, *, create: bool = False, clear: bool = False, retries: int = 120, limitmb: int = 64
    ) -> None:
        """Run `fn(writer)` and commit, as the only writer: process lock + Whoosh lock (retried);
        then bring the vocabulary file up to date.

        NOTE segments are written as separate files, not one compound file: Whoosh reads a compound
        segment through mmap as an in-memory COPY of its terms and postings per searcher, so per
        thread (bench/README.md, "Search"); separate files are read through ordinary buffered files
        (the OS page cache, shared)."""
        with self.write_lock:
            ix = self.index(create=create)
            for attempt in range(retries):
                try:
                    writer = ix.writer(timeout=0.5, limitmb=limitmb, compound=False)  # see NOTE
                    break
                except LockError:
                    log.info("search index locked, retrying (%s)", attempt + 1)
            else:
                raise LockError(f"search index {self.path} stayed locked")
            try:
                fn(writer)
                if clear:
                    writer.commit(mergetype=CLEAR)  # a new generation: searchers elsewhere notice it
                else:
                    writer.commit()
            except BaseException:
                _give_up(writer)
                raise
            self.save_vocabulary(replace=create or clear)


def _give_up(writer) -> None:
    """Cancel a write that failed, before `fn` finished or inside the commit, so that the Whoosh lock
    is released now. Left to the writer's garbage collection, the lock outlives the failure for as
    long as the exception's traceback keeps the writer alive (a reference cycle: until the next full
    collection), and every later write in this process and in the others waits for it and then
    fails (`LockError`)."""
    if writer.is_closed:
        return
    try:
        writer.cancel()
    except Exception:  # a commit that failed half-way may leave files cancel() cannot close
        log.exception("cancelling a failed index write failed; releasing the index lock")
        if writer.writelock is not None:
            writer.writelock.release()


_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def engine(path: str | None = None) -> Engine:
    if path is None:
        path = current_app.config["SEARCH_INDEX_DIR"]
    path = os.path.abspath(path)
    with _engines_lock:
        if path not in _engines:
            _engines[path] = Engine(path)
        return _engines[path]


def forget_engine(path: str) -> None:
    """Forget one index folder's cached engine (a benchmark's or test's temporary index)."""
    with _engines_lock:
        _engines.pop(os.path.abspath(path), None)


def reset_engines() -> None:
    """Forget cached indexes and searchers (tests switching index folders)."""
    with _engines_lock:
        _engines.clear()


# ------------------------------------------------------------------------------------ documents


def _pinyin_fields(name: str, village: str, township: str) -> dict:
    name_py = pinyin_terms(name, spans=False)
    place_py = pinyin_terms(village, township, spans=False)
    py = set(pinyin_terms(name)) | set(place_py)
    return {
        "py": " ".join(sorted(py)),
        "pyc": " ".join(t for t in inner_pinyin_terms(name) if t not in py),  # the name's only, not places'
        "pre": " ".join(prefix_terms(name, pinyin=name_py + place_py)),
    }


def product_doc(
    *,
    id: int,
    name: str,
    description: str = "",
    category: str = "",
    village: str = "",
    township: str = "",
    producer: str = "",
    category_id=None,
    village_id=None,
    township_id=None,
    price_fen: int = 0,
    prices: Iterable[int] | None = None,
    variants: str = "",
) -> dict:
    """A product's document. `prices`: every shown variant's price (default `[price_fen]`): a price
    filter finds the product when any of them is in range (`PriceRange`)."""
    return dict(
        id=f"p:{id}",
        kind="product",
        pk=id,
        name=name,
        text="\n".join([name, name, variants, village, township, category, producer, description]),
        **_pinyin_fields(f"{name} {variants}" if variants else name, village, township),
        ng=" ".join([name, variants, village, township, category]),
        category=str(category_id or ""),
        village=str(village_id or ""),
        township=str(township_id or ""),
        prices=_encode_prices(prices if prices is not None else [price_fen or 0]),
    )


def listing_doc(
    *,
    id: int,
    name: str,
    description: str = "",
    village: str = "",
    township: str = "",
    kind_label: str = "",
    village_id=None,
    township_id=None,
    price_fen: int = 0,
) -> dict:
    return dict(
        id=f"l:{id}",
        kind="listing",
        pk=id,
        name=name,
        text="\n".join([name, name, village, township, kind_label, description]),
        **_pinyin_fields(name, village, township),
        ng=" ".join([name, village, township]),
        category="",
        village=str(village_id or ""),
        township=str(township_id or ""),
        prices=_encode_prices([price_fen or 0]),
    )


_LISTING_KINDS = {"stay": "民宿 住宿", "experience": "体验 乡村游", "ticket": "门票 景点"}  # words a kind is found by


def _family_ids(ids: list[int]) -> list[int]:
    """`ids` and every variant of their families: a change to one variant can change which variant is
    its family's face (the one document the family has) and the words of that document."""
    families = db.select(Product.family_id).where(Product.id.in_(ids), Product.family_id.is_not(None))
    siblings = db.session.scalars(db.select(Product.id).where(Product.family_id.in_(families)))
    return sorted(set(ids) | set(siblings))


def _load_products(ids: list[int] | None) -> tuple[dict[int, dict], set[int]]:
    """{id: doc} of visible products (all when ids is None), and the ids to delete.

    A product with variants (规格) has one document, under its face's id (its first visible variant,
    `catalog.models.is_family_face`): the family's name, found by every shown variant's name and
    label too; its other variants have none, so a search shows the product once."""
    if ids is not None:
        ids = _family_ids(ids)
    query = visible_products().options(
        selectinload(Product.village).selectinload(Village.township),
        selectinload(Product.category),
        selectinload(Product.producer),
        selectinload(Product.family).selectinload(ProductFamily.members),
    )
    if ids is not None:
        query = query.where(Product.id.in_(ids))
    docs = {}
    for p in db.session.scalars(query.order_by(Product.id)):
        variants = p.variants
        if variants[0] is not p:
            continue  # not its family's face: the face's document finds it
        words = [w for v in variants if p.family is not None for w in (v.name, v.variant_label)]
        docs[p.id] = product_doc(
            id=p.id,
            name=p.display_name,
            description=p.description or "",
            category=p.category.name if p.category else "",
            village=p.village.name if p.village else "",
            township=p.village.township.name if p.village and p.village.township else "",
            producer=p.producer.name if p.producer else "",
            category_id=p.category_id,
            village_id=p.village_id,
            township_id=p.village.township_id if p.village else None,
            prices=[v.price_fen for v in variants],
            variants=" ".join(words),
        )
    return docs, set(ids or ()) - set(docs)


def _load_listings(ids: list[int] | None) -> tuple[dict[int, dict], set[int]]:
    query = (
        db.select(Listing)
        .where(Listing.is_published.is_(True))
        .options(selectinload(Listing.village).selectinload(Village.township))
    )
    if ids is not None:
        query = query.where(Listing.id.in_(ids))
    docs = {}
    for item in db.session.scalars(query.order_by(Listing.id)):
        village = item.village
        docs[item.id] = listing_doc(
            id=item.id,
            name=item.name,
            description=item.description or "",
            village=village.name if village else "",
            township=village.township.name if village and village.township else "",
            kind_label=_LISTING_KINDS.get(str(item.kind), ""),
            village_id=item.village_id,
            township_id=village.township_id if village else None,
        )
    return docs, set(ids or ()) - set(docs)


def _place_names() -> list[str]:
    names = list(db.session.scalars(db.select(Village.name)))
    names += list(db.session.scalars(db.select(Township.name)))
    return names


def _indexed_names() -> list[str]:
    """Names of every visible product and published listing (what the index holds)."""
    names = list(db.session.scalars(visible_products().with_only_columns(Product.name)))
    names += list(db.session.scalars(db.select(ProductFamily.name)))
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
    if not eng.exists() or _outdated(eng):
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

    eng.write(fill, create=not eng.exists() or _outdated(eng), clear=True, limitmb=256)
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
    grams = [word] if len(word) == 1 else [word[i : i + 2] for i in range(len(word) - 1)]
    if any(_df(reader, "ng", g) == 0 for g in grams):
        return None
    terms = [Term("ng", g) for g in dict.fromkeys(grams)]
    return terms[0] if len(terms) == 1 else And(terms)


def _homophone(reader, word: str):
    """A word typed with the right sound and the wrong characters (腌彩 or 腌才 for 腌菜: the input method's
    next candidate), found by its full pinyin in `py` when its characters match nothing; two characters
    at least (one character's sound stands for too many words), or None."""
    if len(word) < 2:
        return None
    full, _initials = word_pinyin(word)
    return Term("py", full) if full and _df(reader, "py", full) else None


MAX_SPLIT = 30  # letters: longer Latin words are not split into pinyin words
MAX_PIECE = 16
MAX_OTHER_WORDS = 64  # `py` terms a piece inside another piece may stand for (`_another_word`)


def _another_word(reader, piece: str, around: list[str]):
    """`piece` (lying inside the pieces `around`) as a word other than theirs: an OR of the `py` terms
    that begin with it and are neither inside one of `around` nor one of them extended, or None.

    taohua inside taohuacun (桃花村 + 桃花, typed "taohuacuntaohua"): taohuacha (桃花茶), taohuami
    (桃花蜜); not taohua itself, which 桃花村's own sub-word 桃花 gives every product of the village,
    nor taohuacunmijiu (a name 桃花村米酒 that has 桃花 once). The initials zz inside zzzz: no term of
    another word begins with zz in 正宗粽子, so "zzzzzz" still finds nothing. The price: a product word
    that begins no longer term of its name (a name ending in 桃花) is not found this way."""
    terms = []
    for raw in reader.expand_prefix("py", piece):
        text = raw.decode("utf-8")
        if not any(text in other or text.startswith(other) for other in around):
            terms.append(Term("py", text))
            if len(terms) == MAX_OTHER_WORDS:
                break
    return None if not terms else terms[0] if len(terms) == 1 else Or(terms)


def _pinyin_split(reader, word: str):
    """Pinyin words typed together that are not one term of `py` (they span several words of a
    name, or a place and a product): the fewest pieces of at least 2 letters that are each a `py`
    term, ANDed ("liuxicunyancai" -> liuxicun + yancai), or None.

    The pieces must name different words of a document, and the index can only say that each term
    occurs: the same piece twice makes no split (one word satisfies both), and a piece inside another
    (the initials `zz` of 粽子 inside `zzzz` of 正宗粽子; taohua of 桃花 inside taohuacun of 桃花村)
    must be found as a longer term of another word (`_another_word`), else there is no split. Else a
    nonsense query such as "zzzzzz" (zz + zz + zz, or zzzz + zz) would find 正宗粽子 by its
    initials, and "taohuacuntaohua" every product of 桃花村."""
    n = len(word)
    if n < 4 or n > MAX_SPLIT:
        return None
    known: dict[str, bool] = {}

    def term(piece: str) -> bool:
        if piece not in known:
            known[piece] = _df(reader, "py", piece) > 0
        return known[piece]

    best: list[list[str] | None] = [None] * (n + 1)
    best[0] = []
    for i in range(n):
        if best[i] is None:
            continue
        for j in range(i + 2, min(n, i + MAX_PIECE) + 1):
            if (best[j] is None or len(best[j]) > len(best[i]) + 1) and term(word[i:j]):
                best[j] = best[i] + [word[i:j]]
    pieces = best[n]
    if not pieces or len(pieces) < 2:
        return None
    if len(set(pieces)) < len(pieces):
        return None
    parts = []
    for i, piece in enumerate(pieces):
        around = [other for j, other in enumerate(pieces) if j != i and piece in other]
        part = _another_word(reader, piece, around) if around else Term("py", piece)
        if part is None:
            return None
        parts.append(part)
    return And(parts)


MIN_TYPO = 5  # letters: a shorter Latin word is initials or a prefix, too short to guess a typo in
MAX_TYPO_TERMS = 8


def _typo(reader, word: str):
    """Pinyin typed with one slip (`yancia`, `bnaya`, `yancau`: two letters swapped, one missed, doubled
    or mistyped) when nothing else matches: an OR of the `py` terms one Damerau-Levenshtein edit away
    that begin with the same letter, or None. Words of MIN_TYPO letters at least; the caller counts the
    word as not matched as typed, so the answer is partial. Whoosh's terms_within gives one letter missed,
    added or changed; its segment readers' automaton counts two swapped letters as two edits (its
    generic reader as one), so the swaps are looked up here, the same for every reader."""
    if len(word) < MIN_TYPO:
        return None
    swaps = {word[:i] + word[i + 1] + word[i] + word[i + 2 :] for i in range(1, len(word) - 1)}
    found = {text for text in swaps if text != word and _df(reader, "py", text)}
    found |= set(reader.terms_within("py", word, 1, prefix=1))
    found.discard(word)
    terms = [Term("py", text) for text in sorted(found)[:MAX_TYPO_TERMS]]
    return None if not terms else terms[0] if len(terms) == 1 else Or(terms)


def _unit_query(reader, unit: Unit):
    word = unit.text
    if unit.kind == "cjk":
        if len(word) == 1:
            return _backstop(reader, word)
        variants = sorted(synonyms().get(word, {word}) | {word})
        terms = [Term("text", v) for v in variants if _df(reader, "text", v)]
        if not terms:
            return _backstop(reader, word) or _homophone(reader, word)
        return terms[0] if len(terms) == 1 else Or(terms)
    if unit.kind == "mix":
        variants = sorted(synonyms().get(word, {word}) | {word})
        terms = [Term("text", v) for v in variants if _df(reader, "text", v)]
        return None if not terms else terms[0] if len(terms) == 1 else Or(terms)
    # latin: pinyin (full or initials), or a Latin word of the text, or a pinyin prefix, or pinyin
    # words typed together
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
        split = _pinyin_split(reader, word)
        if split is not None:
            options.append(split)
    if _df(reader, "pyc", word):  # a syllable inside a word of a name (dan: 鸡蛋): ranked after the above
        options.append(Term("pyc", word, boost=INNER_BOOST))
    if not options:
        return None
    return options[0] if len(options) == 1 else Or(options)


def query_parts(reader, q: str, jb=None) -> tuple[list, int]:
    """(one query per word of `q` that matches something, the number of words matching nothing as typed);
    a pinyin word with a slip in it (`_typo`) is counted missing and queried as its guesses."""
    units = query_units(q, jb)
    if not units:
        return [], 0
    latin = [u for u in units if u.kind == "latin"]
    if len(latin) > 1 and len(latin) == len(units):
        joined = "".join(u.text for u in latin)  # "ban ya" -> banya
        if _df(reader, "py", joined):
            return [Term("py", joined)], 0
    parts, missing = [], 0
    for unit in units:
        part = _unit_query(reader, unit)
        if part is None:
            missing += 1
            guess = _typo(reader, unit.text) if unit.kind == "latin" else None
            if guess is not None:  # found by a guess, not as typed: still a missing word (partial)
                parts.append(guess)
        else:
            parts.append(part)
    return parts, missing


def all_of(parts: list):
    """A query requiring every one of `parts`."""
    return parts[0] if len(parts) == 1 else And(parts)


def build_query(reader, q: str, jb=None):
    """The Whoosh query requiring every word of `q`, or None when one of them matches nothing."""
    parts, missing = query_parts(reader, q, jb)
    if not parts or missing:
        return None
    return all_of(parts)


def _filter_query(filters: dict | None):
    if not filters:
        return None
    parts = []
    for key in FACET_FIELDS:
        if filters.get(key):
            parts.append(Term(key, str(filters[key])))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else And(parts)


def _ensure_index(eng: Engine) -> bool:
    """True when the index exists, building it from the database on first use (and rebuilding one
    written with an older schema)."""
    if eng.is_open():  # open: no directory listing
        return True
    if eng.exists() and not _outdated(eng):
        return True
    try:
        rebuild()
    except RuntimeError:  # no application context (bench / scripts): nothing to build from
        return eng.exists()
    except (OSError, LockError):  # unwritable or busy folder: no results rather than an error page
        log.exception("could not build the search index in %s", eng.path)
        return False
    return True


def _outdated(eng: Engine) -> bool:
    """An index written before the facet fields were columns, before it held every variant's price
    (`prices`), before it held the pinyin inside words (`pyc`), or without a vocabulary file."""
    schema = eng.index().schema
    columns = (*FACET_FIELDS, "prices")
    return (
        any(f not in schema or getattr(schema[f], "column_type", None) is None for f in columns)
        or "pyc" not in schema
        or not os.path.exists(eng.vocabulary_path())
    )


def needs_rebuild(path: str | None = None) -> bool:
    """True when the index is missing or was written by an older version (`_outdated`): what
    `flask --app wsgi search reindex --if-outdated` asks before rebuilding."""
    eng = engine(path)
    return not eng.exists() or _outdated(eng)


RESULT_CACHE_SIZE = 256


@dataclass(frozen=True)
class SearchPage:
    """One window of a search: `ids` best first, `total` documents matching in the index (index-side
    filters applied; the caller re-filters only the shown ids), `facets` {field: {value: count}}
    over every match (only when asked for), `partial`: no document has every word of the query and
    these are the best partial matches."""

    ids: list[int]
    total: int
    facets: dict[str, dict[str, int]] | None = None
    partial: bool = False


class PriceRange(DocIdSet):
    """`docnum in range`: a price filter read from the prices column, for Whoosh's `filter=` (a
    NumericRange query would be a wide OR of terms). A document is in range when any of its prices
    is: a product with variants (规格) is found by any shown variant's price, as the catalog's
    `price_in_range` finds it in the database."""

    def __init__(self, prices, lo, hi):
        self.prices = prices
        self.lo = -1 if lo is None else lo
        self.hi = float("inf") if hi is None else hi

    def __bool__(self):
        return True

    def __contains__(self, docnum):
        lo, hi = self.lo, self.hi
        return any(lo <= price <= hi for price in self.prices[docnum])


@dataclass(frozen=True)
class Prepared:
    """A query ready for Whoosh: `mask` (documents never shown: the listings of a product search),
    `allow` (the price range, or None), `partial` (see `SearchPage`), `fallback` (any of the words:
    the query to run when no document has all of them, or None)."""

    query: object
    mask: set | None
    allow: PriceRange | None
    partial: bool
    fallback: object = None

    def search(self, searcher, limit: int | None):
        """(Whoosh results, the Prepared they answer): every word first, then any of them."""
        results = searcher.search(self.query, limit=limit, mask=self.mask, filter=self.allow)
        if self.fallback is not None and results.is_empty():
            wider = Prepared(self.fallback, self.mask, self.allow, True)
            return wider.search(searcher, limit)
        return results, self


def _prepared(eng: Engine, searcher, q: str, kind: str, filters: dict | None) -> Prepared | None:
    """The query for `q` with its filters, or None when nothing can match.

    Every word is required; a word matching nothing is left out, and when the remaining words never
    occur together (within the filters) any of them will do (`Prepared.fallback`): both are partial
    matches. Field filters are ANDed terms; listings, a few hundred documents, are ANDed for
    kind=listing and masked out for products; a price range is a per-document test on the price
    column."""
    reader = searcher.reader()
    parts, missing = query_parts(reader, q, eng.segmenter())
    if not parts:
        return None
    fq = _filter_query(filters)
    listings = eng.kind_docs(searcher, "listing")
    mask = None
    if kind == "listing":
        if not listings:
            return None
        fq = Term("kind", "listing") if fq is None else And([fq, Term("kind", "listing")])
    elif kind == "product" and listings:
        mask = listings  # (kind "all": every document, products and listings, as `_ranking` splits them)
    lo, hi = (filters or {}).get("min_fen"), (filters or {}).get("max_fen")
    allow = PriceRange(eng.column(searcher, "prices"), lo, hi) if lo is not None or hi is not None else None

    def with_filters(query):
        return query if fq is None else And([query, fq])

    fallback = with_filters(Or(parts)) if len(parts) > 1 else None
    return Prepared(with_filters(all_of(parts)), mask, allow, bool(missing), fallback)


def _top(eng: Engine, searcher, prepared: Prepared, limit: int) -> tuple[int, ...]:
    """Database ids of the scored top `limit`: score descending, then document number (Whoosh's
    top-N collector)."""
    limit = max(1, min(int(limit), 10_000))
    results, _answered = prepared.search(searcher, limit)
    pks = eng.pks(searcher)
    return tuple(int(pks[docnum]) for docnum, _score in results.items())


def _cached(eng: Engine, key: tuple, compute: Callable):
    results = eng.results_cache()
    if key not in results:
        if len(results) >= RESULT_CACHE_SIZE:
            results.pop(next(iter(results)))
        results[key] = compute()
    return results[key]


def _key(q: str, kind: str, filters: dict | None) -> tuple:
    synonyms()  # an edited synonyms file changes the key
    return (normalize(q)[:MAX_QUERY], kind, tuple(sorted((filters or {}).items())), _syn_cache[0])


def _open(path: str | None):
    """(engine, this thread's searcher) of the index, built first if missing; None without one."""
    eng = engine(path)
    if not _ensure_index(eng):
        return None
    return eng, eng.searcher()


def search_ids(
    q: str,
    *,
    kind: str = "product",
    limit: int = DEFAULT_LIMIT,
    filters: dict | None = None,
    path: str | None = None,
    cache: bool = True,
) -> list[int]:
    """Ids of documents of `kind` matching `q`, best first (scored top `limit`, no exact count).

    Results are cached per thread for the current index generation (any write empties the cache),
    so paging through a search or repeating a popular one costs a dictionary lookup."""
    if not q or not isinstance(q, str):
        return []
    opened = _open(path)
    if opened is None:
        return []
    eng, searcher = opened

    def compute():
        prepared = _prepared(eng, searcher, q, kind, filters)
        return () if prepared is None else _top(eng, searcher, prepared, limit)

    if not cache:
        return list(compute())
    return list(_cached(eng, ("ids", limit, *_key(q, kind, filters)), compute))


def search_page(
    q: str,
    *,
    kind: str = "product",
    offset: int = 0,
    count: int = 24,
    filters: dict | None = None,
    facets: bool = False,
    path: str | None = None,
    cache: bool = True,
) -> SearchPage:
    """A window of ranked ids, the number of matches and (when asked) facet counts, for one page.

    One scored pass over every match (Whoosh's collector without a limit) gives the ranking, the
    count and the documents the facet counts are taken from (the per-generation facet columns).
    Everything is cached per index generation, like `search_ids`: the next page is a slice."""
    empty = SearchPage([], 0, {f: {} for f in FACET_FIELDS} if facets else None)
    if not q or not isinstance(q, str):
        return empty
    opened = _open(path)
    if opened is None:
        return empty
    eng, searcher = opened
    entry = _cached(eng, ("page", *_key(q, kind, filters)), dict) if cache else {}
    if "prepared" not in entry:
        entry["prepared"], entry["ranked"] = _ranking(eng, searcher, q, kind, filters, cache)
    prepared = entry["prepared"]
    if prepared is None:
        return empty
    ranked = entry["ranked"]
    if facets and "facets" not in entry:
        entry["facets"] = {f: _count(eng.column(searcher, f), ranked) for f in FACET_FIELDS}
    pks = eng.pks(searcher)
    start = max(0, int(offset))
    ids = [int(pks[docnum]) for docnum in ranked[start : start + max(1, int(count))]]
    return SearchPage(ids, len(ranked), entry.get("facets") if facets else None, prepared.partial)


def _ranking(eng: Engine, searcher, q: str, kind: str, filters: dict | None, cache: bool):
    """(the Prepared query that answered, document numbers of `kind` best first) for `search_page`.

    Without filters one scored pass over every document serves both kinds: the search page asks
    for the products and the listings of the same query, and a pass that masks the listings out
    walks their postings all the same. Each kind keeps the documents of its kind from it, in the
    same order as a pass of its own (scores do not depend on the other documents matched; the
    listing pass's `kind` term adds the same score to every listing), and falls back to the pass
    of any of the words when none of its documents has all of them, as `Prepared.search` does
    (shared too when the products needed it first; else the listings' own)."""
    if filters:
        prepared = _prepared(eng, searcher, q, kind, filters)
        if prepared is None:
            return None, array("i")
        results, prepared = prepared.search(searcher, None)
        return prepared, array("i", (docnum for docnum, _score in results.items()))
    shared = _cached(eng, ("all", *_key(q, "all", None)), dict) if cache else {}
    if "prepared" not in shared:
        shared["prepared"] = _prepared(eng, searcher, q, "all", None)
        shared["passes"] = []
    prepared, passes = shared["prepared"], shared["passes"]
    if prepared is None:
        return None, array("i")
    listings = eng.kind_docs(searcher, "listing")
    if kind == "listing" and not listings:
        return None, array("i")
    want_listing = kind == "listing"

    def ranked(i: int, query) -> array:
        if len(passes) <= i:
            passes.append(array("i", (d for d, _score in searcher.search(query, limit=None).items())))
        return array("i", (d for d in passes[i] if (d in listings) is want_listing))

    mine = ranked(0, prepared.query)
    if mine or prepared.fallback is None:
        return prepared, mine
    wider = Prepared(prepared.fallback, None, None, True)
    if want_listing and len(passes) < 2:
        # the products had all the words, the listings not: any of the words among the listings
        # alone (a pass of the few listings, not of every product matching one of the words)
        only = And([prepared.fallback, Term("kind", "listing")])
        return wider, array("i", (d for d, _score in searcher.search(only, limit=None).items()))
    return wider, ranked(1, prepared.fallback)


def is_partial(q: str, *, kind: str = "product", filters: dict | None = None, path: str | None = None) -> bool:
    """True when no document of `kind` has every word of `q` (within `filters`) and the hits are
    the best partial matches (cached per index generation with the query's page)."""
    return search_page(q, kind=kind, count=1, filters=filters, path=path).partial


def _count(column: list, docs) -> dict[str, int]:
    counts = Counter(map(column.__getitem__, docs))  # counted in C
    counts.pop("", None)
    counts.pop(None, None)
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
    norm = normalize(q)[:MAX_QUERY].strip()
    if not norm or not any(ch.isalnum() for ch in norm):
        return []
    opened = _open(path)
    if opened is None:
        return []
    eng, searcher = opened
    limit = max(1, min(int(limit), 20))
    squeezed = norm.replace(" ", "")[:MAX_PREFIX]
    found: list[int] = []
    if _df(searcher.reader(), "pre", squeezed):  # one term: prefixes of names, their pinyin, initials
        found = [docnum for docnum, _s in searcher.search(Term("pre", squeezed), limit=limit * 3).items()]
    if len(found) < limit:
        query = build_query(searcher.reader(), q, eng.segmenter())
        if query is not None:
            found += [d for d, _s in searcher.search(query, limit=limit * 3).items() if d not in found]
    items, seen = [], set()
    pks = eng.pks(searcher)
    listings = eng.kind_docs(searcher, "listing")
    for docnum in found:
        key = searcher.stored_fields(docnum).get("name", "")
        if key in seen:
            continue
        seen.add(key)
        items.append({"text": key, "kind": "listing" if docnum in listings else "product", "id": int(pks[docnum])})
        if len(items) >= limit:
            break
    return items


# ---------------------------------------------------------------------------------- highlight


def _query_segmenter():
    """The segmenter of the app's index (a request), else the writer's (scripts, no app)."""
    return engine().segmenter() if has_app_context() else writer_segmenter()


class Highlighter:
    """The matches of one query, worked out once (its words, their synonyms, its pinyin words) and
    found in any number of texts: a search page highlights every name it shows with one."""

    def __init__(self, q: str):
        self.jb = _query_segmenter() if q else None
        self.needles: set[str] = set()
        self.latin: list[str] = []
        units = query_units(q, self.jb) if q else []
        for unit in units:
            if unit.kind == "latin":
                self.latin.append(unit.text)
            else:
                self.needles.add(unit.text)
                self.needles.update(synonyms().get(unit.text, ()))
        if len(self.latin) > 1 and len(self.latin) == len(units):
            self.latin.append("".join(self.latin))

    def spans(self, text: str) -> list[tuple[int, int]]:
        """Character spans of `text` that match the query (words, synonyms, pinyin, initials)."""
        if not text or self.jb is None:
            return []
        lower = text.lower()
        if len(lower) != len(text):
            return []
        spans = []
        for needle in self.needles:
            start = lower.find(needle)
            while needle and start != -1:
                spans.append((start, start + len(needle)))
                start = lower.find(needle, start + len(needle))
        latin = self.latin
        if latin:
            for word, s, e in self.jb.tokenize(lower, mode="search"):
                if not _CJK.search(word):
                    if word in latin:
                        spans.append((s, e))
                    continue
                full, initials = pinyin.reader_pinyin(word)
                if any(
                    t in (full, initials) or (len(t) >= 3 and full.startswith(t)) or (len(full) >= 4 and full in t)
                    for t in latin
                ):
                    spans.append((s, e))
                elif len(word) > 1:
                    spans.extend((s + i, s + j) for i, j in self.inner(word))
        spans.sort()
        merged: list[tuple[int, int]] = []
        for s, e in spans:
            if merged and s <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], e))
            else:
                merged.append((s, e))
        return merged

    def inner(self, word: str) -> list[tuple[int, int]]:
        """Runs of characters inside `word` whose pinyin is a Latin word of the query (the `pyc` rule:
        one syllable, or the full pinyin or initials of a few characters): 鸡蛋's 蛋 for `dan`."""
        sounds = [pinyin.reader_pinyin(ch) for ch in word]
        found = []
        for i, j in inner_runs(word):
            full = "".join(p[0] for p in sounds[i:j])
            initials = "".join(p[1] for p in sounds[i:j]) if j - i > 1 else None
            if full in self.latin or initials in self.latin:
                found.append((i, j))
        return found

    def __call__(self, text: str) -> Markup:
        """`text` as safe HTML with the matches in <mark>: each piece escaped, then marked."""
        text = text or ""
        out, pos = [], 0
        for s, e in self.spans(text):
            out.append(str(escape(text[pos:s])))
            out.append(f"<mark>{escape(text[s:e])}</mark>")
            pos = e
        out.append(str(escape(text[pos:])))
        return Markup("".join(out))


def match_spans(text: str, q: str) -> list[tuple[int, int]]:
    """Character spans of `text` that match the query (words, synonyms, pinyin, initials)."""
    if not text or not q:
        return []
    return Highlighter(q).spans(text)


def highlight(text: str, q: str) -> Markup:
    """`text` as safe HTML with matches of `q` in <mark>, escaped first (`Highlighter` for many texts)."""
    return Highlighter(q)(text)
