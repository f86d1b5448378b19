"""One pinyin syllable (or the pinyin of a few characters) inside a word of a name: `dan` finds
鸡蛋, 鸭蛋 and 皮蛋, after the names matched as a whole word or by a pinyin prefix
(docs/search.md, "Pinyin inside a word")."""

from __future__ import annotations

import re
import shutil

import pytest

from search import index as search
from search import segmenter
from shop.db import commit
from tests.factories import make_product
from tests.search.factories import make_place

pytestmark = pytest.mark.usefixtures("index_dir")


@pytest.fixture
def shop(db):
    _v, liuxi = make_place("柳溪村", "三江镇")
    _v, mudan = make_place("牡丹村", "幽兰镇")  # 丹 inside a village's name: not a name's syllable
    made = {
        "tujidan": make_product(name="土鸡蛋30枚", station=liuxi),
        "xianyadan": make_product(name="咸鸭蛋20枚", station=liuxi),
        "pidan": make_product(name="松花皮蛋10枚", station=liuxi),
        "banya": make_product(name="南安板鸭1只", station=liuxi),
        "organic": make_product(name="有机大米5斤", station=liuxi),  # 机 inside 有机
        "ginger": make_product(name="姜糖200克", station=liuxi),  # ji begins jiang, no character reads ji
        "cha": make_product(name="高山茶250克", station=mudan),  # 茶 a word of its own: cha
        "chaye": make_product(name="茶叶礼盒", station=mudan),  # chaye: cha is its prefix
        "lvcha": make_product(name="绿茶250克", station=mudan),  # 茶 inside 绿茶
    }
    commit()
    return made


def _names(items) -> list[str]:
    return [item.get("name", item.get("text")) for item in items]  # products: name; suggestions: text


def test_one_syllable_finds_the_names_with_that_character_inside_a_word(shop, client):
    eggs = {"土鸡蛋30枚", "咸鸭蛋20枚", "松花皮蛋10枚"}
    body = client.get("/api/v1/products", query_string={"q": "dan"}).json
    # the eggs, and not 牡丹村's tea: a syllable is looked for in names, not in places
    assert set(_names(body["items"])) == eggs and body["total"] == 3 and body["partial"] is False
    page = client.get("/products", query_string={"q": "dan"}).get_data(as_text=True)
    assert all(name in page for name in eggs) and "高山茶" not in page and "南安板鸭" not in page
    search_page = client.get("/search", query_string={"q": "dan"}).get_data(as_text=True)
    assert "土鸡<mark>蛋</mark>30枚" in search_page and "松花皮<mark>蛋</mark>10枚" in search_page
    assert "咸鸭<mark>蛋</mark>20枚" in search_page and "共 3 件商品" in search_page
    suggested = client.get("/api/v1/search/suggest", query_string={"q": "dan"}).json["items"]
    assert set(_names(suggested)) == eggs


def test_a_whole_word_or_a_pinyin_prefix_ranks_before_a_syllable_inside_a_word(shop, client):
    def names(q):
        return _names(client.get("/api/v1/products", query_string={"q": q}).json["items"])

    # ji is no word of its own here: 土鸡蛋 (ji begins jidan, and its 鸡 reads ji), 姜糖 (ji begins
    # jiang), then 有机's 机 (inside a word only)
    assert names("ji") == ["土鸡蛋30枚", "姜糖200克", "有机大米5斤"]
    # cha is: 高山茶's 茶 (jieba's word), then the 茶 inside 茶叶 and 绿茶
    assert names("cha")[0] == "高山茶250克" and set(names("cha")[1:]) == {"茶叶礼盒", "绿茶250克"}
    html = client.get("/search", query_string={"q": "cha"}).get_data(as_text=True)
    page = re.sub(r"</?mark>", "", html)
    assert page.index("高山茶250克") < page.index("茶叶礼盒") and page.index("高山茶250克") < page.index("绿茶250克")
    assert "绿<mark>茶</mark>250克" in html and "高山<mark>茶</mark>250克" in html
    assert "绿茶250克" in _names(client.get("/api/v1/search/suggest", query_string={"q": "cha"}).json["items"])
    make_product(name="农家鸡1只", station=shop["tujidan"].station)  # 鸡 a word of its own: first
    commit()
    assert names("ji")[0] == "农家鸡1只" and {"土鸡蛋30枚", "有机大米5斤"} <= set(names("ji")[1:])


def test_the_pinyin_and_initials_of_characters_inside_a_word(shop, client):
    for q in ["xianya", "xy"]:  # 咸鸭 inside 咸鸭蛋 (one word to jieba, 鸭蛋 its only sub-word)
        body = client.get("/api/v1/products", query_string={"q": q}).json
        assert _names(body["items"]) == ["咸鸭蛋20枚"], q
    assert "<mark>咸鸭</mark>蛋20枚" in client.get("/search", query_string={"q": "xy"}).get_data(as_text=True)
    # one character's initial is a single letter: every name would have one, so it finds no word inside
    assert "咸鸭蛋20枚" not in _names(client.get("/api/v1/products", query_string={"q": "d"}).json["items"])


def test_exact_chinese_still_comes_first(shop, client):
    body = client.get("/api/v1/products", query_string={"q": "鸡蛋"}).json
    assert _names(body["items"]) == ["土鸡蛋30枚"]
    body = client.get("/api/v1/products", query_string={"q": "茶"}).json
    assert set(_names(body["items"])) == {"高山茶250克", "茶叶礼盒", "绿茶250克"}


def test_an_index_written_before_it_held_the_syllables_is_rebuilt_on_first_use(db, client, index_dir):
    from whoosh import index as whoosh_index
    from whoosh.columns import VarBytesColumn
    from whoosh.fields import COLUMN, ID, KEYWORD, NUMERIC, Schema

    make_product(name="咸鸭蛋20枚")
    commit()  # (the commit's index update builds a current index first: replaced below)
    shutil.rmtree(index_dir, ignore_errors=True)
    search.reset_engines()
    index_dir.mkdir()
    facet = {name: ID(sortable=True) for name in ("category", "village", "township")}
    old = Schema(
        id=ID(unique=True),
        pk=NUMERIC(bits=64, sortable=True),
        py=KEYWORD(scorable=True),
        prices=COLUMN(VarBytesColumn()),
        **facet,
    )
    whoosh_index.create_in(str(index_dir), old)  # every column and a vocabulary, but no `pyc`
    (index_dir / segmenter.VOCABULARY_FILE).write_text("鸭蛋 3\n", encoding="utf-8")
    assert search.needs_rebuild()
    assert _names(client.get("/api/v1/products", query_string={"q": "dan"}).json["items"]) == ["咸鸭蛋20枚"]
    assert not search.needs_rebuild()
