"""Whoosh posting lists and numeric columns read in bulk, and the query shapes of `catalog.search`
evaluated with C-speed set and dict operations. Used only by `catalog.search`.

Why: Whoosh's matchers walk postings one document at a time in Python (`is_active`, `id`, `next`
per posting; `skip_to` per step of an intersection), and its column readers unpack one value per
call. At 100,000 products a popular word matches 10,000-20,000 documents, and that per-document
Python was most of a query's time (the count pass, then again the scored top-N), and reading the
`pk`/`price` columns and the facet columns cost about 250 ms per thread after every index write.
Here a posting list is decoded a block (up to 128 postings) at a time, zlib + pickle + a C
`accumulate` of the id deltas, and columns are read as one byte string into an `array`.

`evaluate(searcher, query)` scores the shapes `catalog.search.build_query` and `_prepared` make:
`Term` (with a boost), `Or` of them (scores add, like Whoosh's union matcher) and `And` of those
(documents in every part, scores add). The score of a term is the searcher's weighting model
applied to the term weight, so rankings are Whoosh's own; ties go to the lower document number,
as in Whoosh's top-N collector. Any other shape gives None and the caller uses Whoosh.

Relies on the W3 codec's leaf matcher (whoosh-reloaded 2.7.5: `W3LeafMatcher`) and its numeric
column reader; anything else falls back to the generic one-document-at-a-time walk, and
tests/search/test_postings.py checks that both agree (several segments, deleted documents).
"""
from __future__ import annotations

import sys
from array import array
from bisect import bisect_left
from itertools import accumulate, repeat


def leaves(reader) -> list:
    """[(segment reader, document number offset)] of a searcher's reader."""
    return list(reader.leaf_readers())


def _walk(matcher) -> tuple[array, array]:
    """A matcher's (ids, weights), generic: one Python step per posting."""
    ids, weights = array("i"), array("f")
    while matcher.is_active():
        ids.append(matcher.id())
        weights.append(matcher.weight())
        matcher.next()
    return ids, weights


def _is_w3(matcher) -> bool:
    return (type(matcher).__name__ == "W3LeafMatcher" and not getattr(matcher, "_byteids", True)
            and hasattr(matcher, "_read_data") and hasattr(matcher, "reset"))


def _read_blocks(matcher) -> tuple[array, array]:
    """A W3 leaf matcher's (ids, weights) from its first posting, a block at a time."""
    matcher.reset()
    ids, weights = array("i"), array("f")
    while matcher.is_active():
        if matcher._data is None:
            matcher._read_data()
        block_ids, block_weights = matcher._data[0], matcher._data[1]
        count = matcher._blocklength
        ids.extend(accumulate(block_ids))  # ids are delta-encoded from 0 in each block
        if block_weights is None:
            weights.extend(repeat(1.0, count))
        elif isinstance(block_weights, float):
            weights.extend(repeat(block_weights, count))
        else:
            weights.extend(block_weights)
        matcher._next_block()
    if len(ids) != len(weights):  # pragma: no cover - an unexpected block layout
        raise ValueError("postings block layout not understood")
    return ids, weights


def _drop(ids: array, weights: array, deleted) -> tuple[array, array]:
    """Remove deleted documents (usually a handful: found by bisection in the sorted ids)."""
    if len(deleted) * 8 > len(ids):
        keep = [i for i, d in enumerate(ids) if d not in deleted]
        return array("i", (ids[i] for i in keep)), array("f", (weights[i] for i in keep))
    positions = []
    for d in deleted:
        i = bisect_left(ids, d)
        if i < len(ids) and ids[i] == d:
            positions.append(i)
    for i in sorted(positions, reverse=True):
        del ids[i]
        del weights[i]
    return ids, weights


def postings(reader, field: str, btext: bytes) -> tuple[array, array]:
    """Global document numbers (ascending, deleted documents removed) and term weights of one term."""
    from whoosh.matching.wrappers import FilterMatcher

    all_ids, all_weights = array("i"), array("f")
    for leaf, offset in leaves(reader):
        if (field, btext) not in leaf:
            continue
        matcher = leaf.postings(field, btext)  # wrapped in a FilterMatcher when the segment has deletions
        inner = matcher.child if isinstance(matcher, FilterMatcher) and matcher._exclude else matcher
        if _is_w3(inner):
            ids, weights = _read_blocks(inner)
            if inner is not matcher and matcher._ids:
                ids, weights = _drop(ids, weights, matcher._ids)
        else:
            ids, weights = _walk(matcher)
        if offset:
            ids = array("i", (d + offset for d in ids))
        all_ids.extend(ids)
        all_weights.extend(weights)
    return all_ids, all_weights


def term_docs(reader, field: str, text: str) -> array:
    """Global document numbers of one term (deleted documents removed)."""
    fieldobj = reader.schema[field]
    return postings(reader, field, fieldobj.to_bytes(text))[0]


def numeric_column(reader, field: str):
    """Document number -> value of a sortable integer NUMERIC field, for every document.

    The W3 numeric column is fixed-size big-endian sortable integers: read in one piece, byte-swapped
    and shifted back to signed values. Anything else: Whoosh's own reader, one value at a time."""
    fieldobj = reader.schema[field]
    out = array("q")
    for leaf, _offset in leaves(reader):
        out.extend(_numeric_leaf(leaf, field, fieldobj))
    return out


def _numeric_leaf(leaf, field: str, fieldobj):
    from whoosh.columns import NumericColumn

    generic = lambda: list(leaf.column_reader(field))  # noqa: E731
    if getattr(fieldobj, "numtype", None) is not int or getattr(fieldobj, "decimal_places", 0) \
            or not getattr(fieldobj, "signed", False):
        return generic()
    if not leaf.has_column(field):
        return generic()
    raw = leaf.column_reader(field, translate=False)
    if type(raw) is not NumericColumn.Reader:
        return generic()
    typecode = raw._typecode
    values = array(typecode)
    if typecode not in "IQ" or values.itemsize != raw._fixedlen:
        return generic()
    data = raw._dbfile.get(raw._basepos, raw._count * raw._fixedlen)
    values.frombytes(bytes(data))
    if sys.byteorder == "little":
        values.byteswap()
    missing = raw._doccount - raw._count
    if missing > 0:
        default = array(typecode, raw._defaultbytes)
        if sys.byteorder == "little":
            default.byteswap()
        values.extend(repeat(default[0], missing))
    shift = 1 << (fieldobj.bits - 1)  # signed sortable: value + 2**(bits-1)
    return array("q", [v - shift for v in values])


# ------------------------------------------------------------------------------- evaluation


class Unsupported(Exception):
    """A query shape `evaluate` does not handle (the caller asks Whoosh)."""


def evaluate(searcher, query) -> dict[int, float] | None:
    """{document number: score} of every document matching `query` (Term / Or / And shapes), or
    None for any other shape."""
    try:
        return _eval(searcher, query)
    except Unsupported:
        return None


def _eval(searcher, query) -> dict[int, float]:
    from whoosh.query import And, Or, Term

    cls = type(query)
    if cls is Term:
        return _term_scores(searcher, query)
    if cls is Or and not query.scale and not query.minmatch and query.boost == 1.0:
        parts = [_eval(searcher, q) for q in query.subqueries]
        parts = [p for p in parts if p]
        if not parts:
            return {}
        out = dict(parts[0])
        for part in parts[1:]:
            get = out.get
            for d, s in part.items():
                out[d] = get(d, 0.0) + s
        return out
    if cls is And and query.boost == 1.0:
        parts = [_eval(searcher, q) for q in query.subqueries]
        if not parts or any(not p for p in parts):
            return {}
        docs = parts[0].keys()
        for part in parts[1:]:
            docs = docs & part.keys()
            if not docs:
                return {}
        return {d: sum(p[d] for p in parts) for d in docs}
    raise Unsupported(repr(query))


def _term_scores(searcher, term) -> dict[int, float]:
    reader = searcher.reader()
    fieldobj = reader.schema[term.fieldname] if term.fieldname in reader.schema else None
    if fieldobj is None:
        return {}
    try:
        btext = fieldobj.to_bytes(term.text)
    except ValueError:
        return {}
    if (term.fieldname, btext) not in reader:
        return {}
    ids, weights = postings(reader, term.fieldname, btext)
    if not ids:
        return {}
    scorer = searcher.weighting.scorer(searcher, term.fieldname, btext)
    if not hasattr(scorer, "_f"):  # a weighting model other than catalog.search's
        raise Unsupported(term.fieldname)
    boost = term.boost
    by_weight = {w: scorer._f(w) * boost if boost != 1.0 else scorer._f(w) for w in set(weights)}
    if len(by_weight) == 1:  # one score for all (existence-only fields: prefixes, ids)
        return dict.fromkeys(ids, next(iter(by_weight.values())))
    return dict(zip(ids, map(by_weight.__getitem__, weights)))
