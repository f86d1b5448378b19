"""search.pinyin: the index writer saves the pinyin readers need; readers search and highlight
pinyin queries from that table, without pypinyin."""

from __future__ import annotations

import marshal
import os

import pytest

from search import index as search
from search import pinyin
from shop.db import commit
from tests.factories import make_product
from tests.search.factories import make_place

pytestmark = pytest.mark.usefixtures("index_dir")


@pytest.fixture
def products(db):
    _v, s1 = make_place("柳溪村", "三江镇")
    _v, s2 = make_place("桃花村", "广福镇")
    made = {
        "banya": make_product(name="南安板鸭1只", station=s2),
        "eggs": make_product(name="土鸡蛋30枚", station=s1),
        "yancai": make_product(name="三江腌菜500克", station=s1),
    }
    commit()
    return made


def _table(index_dir) -> dict:
    with open(os.path.join(index_dir, pinyin.TABLE_FILE), "rb") as fh:
        return marshal.load(fh)


@pytest.fixture
def no_pypinyin(monkeypatch):
    """Call it after the index is written: from then on a reader that still needs pypinyin fails."""

    def refuse(word):
        raise AssertionError(f"pypinyin was asked for {word!r}")

    def apply():
        monkeypatch.setattr(pinyin, "computed", refuse)
        monkeypatch.setattr(search, "_py_syn_cache", (0, {}))  # the synonyms' pinyin: from the table too

    return apply


def test_rebuild_writes_the_words_readers_need(products, index_dir):
    search.rebuild()
    table = _table(index_dir)
    assert table["板鸭"] == ("banya", "by")
    assert table["南安"] == ("nanan", "na")
    assert table["柴鸡蛋"] == ("chaijidan", "cjd")  # a synonym: "cjd" finds 土鸡蛋
    assert all(pinyin.computed(word) == value for word, value in table.items())


def test_pinyin_queries_and_highlights_come_from_the_table(products, no_pypinyin):
    search.rebuild()
    search.reset_engines()  # a reader process: opens the index, loads its table
    no_pypinyin()
    assert search.search_product_ids("by") == [products["banya"].id]
    assert search.search_product_ids("cjd") == [products["eggs"].id]
    assert search.highlight("南安板鸭1只", "by") == "南安<mark>板鸭</mark>1只"
    assert search.highlight("三江腌菜500克", "yancai") == "三江<mark>腌菜</mark>500克"


def test_the_search_page_needs_no_pypinyin(products, client, no_pypinyin):
    search.rebuild()
    search.reset_engines()
    no_pypinyin()
    html = client.get("/search?q=banya").get_data(as_text=True)
    assert "南安<mark>板鸭</mark>1只" in html


def test_each_update_adds_its_names_words(products, index_dir, db):
    search.rebuild()
    make_product(name="铁皮石斛礼盒", station=products["eggs"].station)
    commit()
    assert _table(index_dir)["石斛"] == ("shihu", "sh")
    assert "板鸭" in _table(index_dir)  # added to, not replaced


def test_an_update_of_an_index_without_a_table_writes_it_whole(products, index_dir, db):
    search.rebuild()
    os.unlink(os.path.join(index_dir, pinyin.TABLE_FILE))
    products["eggs"].price_fen = 4600  # an ORM change: the session hooks queue its update
    commit()
    table = _table(index_dir)
    assert "板鸭" in table and "腌菜" in table  # names of products the update did not touch


def test_a_word_the_table_lacks_is_computed(products):
    search.rebuild()
    assert "猕猴桃" not in _table(search.engine().path)
    assert pinyin.word_pinyin("猕猴桃") == ("mihoutao", "mht")


def test_readers_pick_up_a_rewritten_table(products, index_dir):
    search.rebuild()
    pinyin.use_table(str(index_dir))
    pinyin.save_table(str(index_dir), ["火龙果"], replace=False)
    assert pinyin.word_pinyin("火龙果") == ("huolongguo", "hlg")
    assert pinyin.in_table("火龙果")  # reloaded from the file, not computed
