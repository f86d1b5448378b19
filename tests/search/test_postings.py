"""Bulk posting lists and columns (`catalog.search_postings`) agree with Whoosh's own readers, and
queries evaluated from them rank and count exactly as Whoosh's searcher does, on an index with
several segments (compound and not), deleted and re-added documents, listings and price filters."""
from __future__ import annotations

import os
import random

import pytest

from catalog import search, search_postings

WORDS = ["腌菜", "板鸭", "藜蒿", "土鸡蛋", "大米", "富硒大米", "无花果", "山茶油", "笋干", "香菇"]
ADJ = ["优质", "农家", "手工", "A级", "野生", ""]
SPECS = ["500克", "5斤", "10kg", "30枚", ""]
PLACES = [("柳溪村", "三江镇"), ("桃花村", "广福镇"), ("芦洲村", "蒋巷镇"), ("龙潭村", "三江镇")]


def _doc(i: int, rnd: random.Random) -> dict:
    v = rnd.randrange(len(PLACES))
    village, township = PLACES[v]
    word = rnd.choice(WORDS)
    name = f"{rnd.choice(ADJ)}{word}{rnd.choice(SPECS)}"
    return search.product_doc(
        id=i, name=name, description=f"{word}来自{village}，{rnd.choice(WORDS)}软糯清香", category="干货",
        village=village, township=township, category_id=rnd.randint(1, 3), village_id=v + 1,
        township_id=v % 3 + 1, price_fen=rnd.randrange(500, 20000),
    )


@pytest.fixture(scope="module")
def segmented(tmp_path_factory, jieba_loaded):
    """An index of four segments: 600 products (popular terms span several 128-posting blocks),
    deletions in the first segments, re-added (updated) products and two listings in later ones."""
    path = str(tmp_path_factory.mktemp("postings") / "index")
    rnd = random.Random(3)
    eng = search.Engine(path)
    ix = eng.index(create=True)
    batches = [(range(1, 401), True), (range(401, 601), False)]
    for ids, compound in batches:
        writer = ix.writer(compound=compound)
        for i in ids:
            writer.add_document(**_doc(i, rnd))
        writer.commit(merge=False)
    writer = ix.writer(compound=False)
    for i in (1, 2, 3, 130, 131, 399, 450):
        writer.delete_by_term("id", f"p:{i}")
    for i in (5, 200, 402):
        writer.update_document(**_doc(i, rnd))
    writer.add_document(**search.listing_doc(id=1, name="桃花村民宿", village="桃花村", township="广福镇",
                                             village_id=2, township_id=2))
    writer.add_document(**search.listing_doc(id=2, name="柳溪村农家乐腌菜体验", village="柳溪村",
                                             township="三江镇", village_id=1, township_id=1))
    writer.commit(merge=False)
    searcher = eng.searcher()
    assert len(searcher.reader().leaf_readers()) >= 3
    assert searcher.reader().has_deletions()
    return path


def _generic(reader, field, btext):
    ids, weights = [], []
    for leaf, offset in reader.leaf_readers():
        if (field, btext) in leaf:
            m = leaf.postings(field, btext)
            while m.is_active():
                ids.append(m.id() + offset)
                weights.append(m.weight())
                m.next()
    return ids, weights


def test_bulk_postings_equal_whooshs_matchers(segmented):
    reader = search.engine(segmented).searcher().reader()
    checked = 0
    for field in ("text", "py", "pre", "ng", "category", "village", "kind", "id"):
        for btext in {t for _f, t in reader.all_terms() if _f == field}:
            ids, weights = search_postings.postings(reader, field, btext)
            assert (list(ids), list(weights)) == _generic(reader, field, btext), (field, btext)
            checked += 1
    assert checked > 500
    big = max(len(search_postings.term_docs(reader, "text", w)) for w in WORDS)
    assert big > 128  # several posting blocks were read


def test_numeric_columns_equal_whooshs_column_readers(segmented):
    reader = search.engine(segmented).searcher().reader()
    for field in ("pk", "price"):
        assert list(search_postings.numeric_column(reader, field)) == list(reader.column_reader(field))


QUERIES = [("腌菜", None), ("大米", {"category": 2}), ("优质 大米", None), ("柳溪村", None), ("dami", None),
           ("tjd", None), ("lh", None), ("芦蒿", None), ("A级", None), ("5斤", None), ("10kg", None),
           ("蛋", None), ("yanc", None), ("腌菜", {"village": 1, "max_fen": 9000}), ("大米", {"min_fen": 15000}),
           ("三江镇 香菇", None), ("wuhuaguo", {"township": 1}), ("村", None)]


@pytest.mark.parametrize("q,filters", QUERIES)
@pytest.mark.parametrize("kind", ["product", "listing"])
def test_evaluated_queries_rank_and_count_like_whoosh(segmented, monkeypatch, q, filters, kind):
    eng = search.engine(segmented)
    searcher = eng.searcher()
    prepared = search._prepared(eng, searcher, q, kind, filters)
    if prepared is None:
        return
    assert search_postings.evaluate(searcher, prepared[0]) is not None  # a shape it handles
    ours = (search._top(eng, searcher, prepared, 1000), sorted(search._matches(eng, searcher, prepared)))
    monkeypatch.setattr(search_postings, "evaluate", lambda *_a: None)  # Whoosh's matchers
    whooshs = (search._top(eng, searcher, prepared, 1000), sorted(search._matches(eng, searcher, prepared)))
    assert ours == whooshs
    assert len(ours[0]) == len(ours[1])


def test_writer_writes_separate_segment_files_not_a_compound_file(tmp_path, jieba_loaded):
    """Whoosh opens a compound segment as an in-memory copy per searcher (about 120 MB a thread at
    100,000 products): the index writer keeps segment files separate."""
    path = str(tmp_path / "index")
    eng = search.Engine(path)
    eng.write(lambda w: w.add_document(**_doc(1, random.Random(1))), create=True)
    eng.write(lambda w: w.add_document(**_doc(2, random.Random(2))))
    names = os.listdir(path)
    assert any(n.endswith(".pst") for n in names)
    assert not any(n.endswith(".seg") for n in names)
    assert search.search_ids("村", path=path, cache=False)


def test_columns_are_read_once_per_segment_and_stay_right_after_updates(tmp_path, jieba_loaded, monkeypatch):
    """After a one-document update only the new segment's columns are read (the old segment's are
    reused: at 100,000 products reading them again cost about 60 ms a thread), and the joined
    columns still give every document's pk and facets."""
    path = str(tmp_path / "index")
    eng = search.engine(path)
    rnd = random.Random(7)
    docs = [_doc(i, rnd) for i in range(1, 301)]
    ix = eng.index(create=True)
    writer = ix.writer(compound=False)
    for doc in docs:
        writer.add_document(**doc)
    writer.commit()
    built = []
    real_numeric, real_facet = search_postings.numeric_column, search._facet_part
    monkeypatch.setattr(search_postings, "numeric_column", lambda r, f: built.append(f) or real_numeric(r, f))
    monkeypatch.setattr(search, "_facet_part", lambda r, f: built.append(f) or real_facet(r, f))

    def check():
        searcher = eng.searcher()
        page = search.search_page("村", count=500, facets=True, filters={"max_fen": 10**6}, path=path, cache=False)
        assert sorted(page.ids) == list(range(1, 301))
        by_pk = {d["pk"]: d for d in docs}
        for field in search.FACET_FIELDS:
            expected = {}
            for d in docs:
                expected[d[field]] = expected.get(d[field], 0) + 1
            assert page.facets[field] == expected
        pks = eng.pks(searcher)
        prices = eng.column(searcher, "price")
        for docnum in searcher.reader().all_doc_ids():
            assert prices[docnum] == by_pk[pks[docnum]]["price"]

    check()
    assert sorted(built) == sorted(["pk", "price", "category", "village", "township"])
    built.clear()
    docs[4] = dict(_doc(5, rnd), price=123)
    search.search_ids("村", path=path)  # this thread's searcher is open
    eng.write(lambda w: w.update_document(**docs[4]))
    check()
    assert sorted(built) == sorted(["pk", "price", "category", "village", "township"])  # the new segment only
    assert len(eng.searcher().reader().leaf_readers()) == 2
    assert len(eng._segment_parts) == 10


def test_columns_of_an_empty_index_are_empty(tmp_path, jieba_loaded):
    eng = search.engine(str(tmp_path / "index"))
    eng.index(create=True)
    searcher = eng.searcher()
    assert list(eng.pks(searcher)) == [] and eng.facet_column(searcher, "village") == []
    assert eng.kind_docs(searcher, "listing") == set()
    page = search.search_page("村", facets=True, filters={"max_fen": 100}, path=str(tmp_path / "index"))
    assert page.ids == [] and page.total == 0
