"""search.segmenter: queries are cut with a jieba Tokenizer whose dictionary is the index's own
vocabulary (public jieba API); they find what the same queries cut with jieba's full dictionary find."""

from __future__ import annotations

import os
import re

import pytest

from search import index as search
from search import segmenter

NAMES = [
    "三江腌菜500克",
    "三江腌菜礼盒2斤",
    "南安板鸭1只",
    "鄱阳湖藜蒿1斤",
    "土鸡蛋30枚",
    "A级优质大米10kg",
    "富硒大米5斤",
    "桃花村有机鲜无花果家庭装",
    "农家霉豆腐400克",
    "红颜草莓2斤",
    "网箱黄鳝1斤",
]
DESCRIPTIONS = [
    "散养走地鸡，每天在果园里吃虫子和青草长大，肉质紧实，适合炖汤。",
    "今年的新米已经到了，欢迎大家来买！",
    "三江镇传统工艺腌制的芥菜，咸香下饭。",
    "湖区野生藜蒿（芦蒿），清炒腊肉最香。",
]
QUERIES = [
    "腌菜",
    "三江腌菜",
    "三江腌菜好吃",
    "腌菜礼盒",
    "板鸭",
    "南安板鸭",
    "芦蒿",
    "鸡蛋",
    "草鸡蛋",
    "优质大米",
    "大米 5斤",
    "无花果",
    "鲜无花果",
    "霉豆腐",
    "豆腐",
    "草莓",
    "黄鳝",
    "腊肉",
    "芥菜",
    "走地鸡",
    "新米",
    "柳溪村 腌菜",
    "桃花村",
    "蛋",
    "鸡",
    "好吃的大米",
    "yancai",
    "yancailihe",
    "meidoufu",
]


@pytest.fixture(scope="module")
def indexed(tmp_path_factory, jieba_loaded):
    path = str(tmp_path_factory.mktemp("segmenter") / "index")
    docs = [
        search.product_doc(
            id=i,
            name=name,
            description=DESCRIPTIONS[i % len(DESCRIPTIONS)],
            village="柳溪村" if i % 2 else "桃花村",
            township="三江镇",
        )
        for i, name in enumerate(NAMES, start=1)
    ]
    eng = search.engine(path)
    eng.write(lambda w: [w.add_document(**d) for d in docs], create=True)
    yield path
    search.forget_engine(path)


def test_the_writer_saves_the_index_vocabulary_with_jiebas_frequencies(indexed):
    vocabulary = segmenter.read_vocabulary(os.path.join(indexed, segmenter.VOCABULARY_FILE))
    full = search.writer_segmenter()
    for word in ["腌菜", "板鸭", "豆腐", "芥菜", "大米"]:
        assert word in vocabulary, word
    assert vocabulary["芥菜"] == full.FREQ["芥菜"]
    assert all(len(w) >= 2 and re.fullmatch(r"[\u4e00-\u9fff]+", w) for w in vocabulary)
    assert "1只" not in vocabulary and "500克" not in vocabulary  # mixed tokens are not dictionary words


def test_the_query_segmenter_holds_the_index_words_not_jiebas_dictionary(indexed):
    tk = search.engine(indexed).segmenter()
    full = search.writer_segmenter()
    assert tk is not full
    assert len(tk.FREQ) < 20_000 < 400_000 < len(full.FREQ)
    assert tk.lcut("南安板鸭三江腌菜") == ["南安板鸭", "三江腌菜"]  # user dictionary in
    assert "钓鱼" in tk.FREQ and "垂钓" in tk.FREQ  # synonyms in


@pytest.mark.parametrize("q", QUERIES)
def test_queries_cut_with_the_vocabulary_find_what_the_full_dictionary_finds(indexed, q):
    eng = search.engine(indexed)
    searcher = eng.searcher()
    reader = searcher.reader()

    def ids(jb):
        parts, missing = search.query_parts(reader, q, jb)
        if not parts:
            return set(), bool(missing)
        query = search.all_of(parts)
        return set(searcher.docs_for_query(query)), bool(missing)  # the same documents, partial or not

    assert ids(eng.segmenter()) == ids(search.writer_segmenter())


def test_a_newer_vocabulary_file_teaches_readers_its_new_words(indexed, tmp_path):
    eng = search.engine(indexed)
    eng.searcher()
    tk = eng.segmenter()
    assert "鱼腥草" not in tk.FREQ
    eng.write(lambda w: w.add_document(**search.product_doc(id=99, name="野生鱼腥草1斤")))
    search.search_ids("鱼腥草", path=indexed)  # a new generation: the reader reloads its side files
    assert tk.FREQ.get("鱼腥草")
    assert search.search_ids("鱼腥草", path=indexed) == [99]


def test_an_index_without_a_vocabulary_is_searched_with_the_writers_segmenter(tmp_path, jieba_loaded):
    path = str(tmp_path / "index")
    eng = search.engine(path)
    eng.write(lambda w: w.add_document(**search.product_doc(id=1, name="南安板鸭1只")), create=True)
    os.unlink(os.path.join(path, segmenter.VOCABULARY_FILE))
    search.forget_engine(path)
    eng = search.engine(path)
    assert eng.segmenter() is search.writer_segmenter()
    assert search.search_ids("板鸭", path=path) == [1]
    search.forget_engine(path)
