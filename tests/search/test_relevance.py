"""Relevance test set: on the demo data (`flask seed-demo`, plus a product the demo lacks), each query
must rank the named items in its top 5. Chinese words, full pinyin, initials, one syllable inside a
word, pinyin typed together across words, synonyms, the partial-match fallback and tourism listings.
Add a row when a query a buyer types finds the wrong thing; docs/search.md explains the table."""

from __future__ import annotations

import pytest

from search import index as search
from shop.db import commit
from tests.factories import make_product

pytestmark = pytest.mark.usefixtures("index_dir")

# (query, kind, names that must be in the top 5, partial: expected `is_partial`). A product with
# variants (规格) is one hit under its name: 三江腌菜 (500克袋装, 2斤礼盒), 南安板鸭 (整只, 半只), 土鸡蛋.
CASES = [
    # Chinese words
    ("腌菜", "product", ["三江腌菜"], False),
    ("板鸭", "product", ["南安板鸭"], False),
    ("大米", "product", ["优质大米5kg", "富硒大米10斤"], False),
    ("无花果", "product", ["鲜无花果1斤", "无花果干250克"], False),
    ("草莓", "product", ["红星村红颜草莓2斤"], False),
    ("鸡蛋", "product", ["土鸡蛋"], False),
    ("腌菜礼盒", "product", ["三江腌菜"], False),
    # full pinyin
    ("yancai", "product", ["三江腌菜"], False),
    ("banya", "product", ["南安板鸭"], False),
    ("doufu", "product", ["农家霉豆腐400克"], False),
    ("wuhuaguo", "product", ["鲜无花果1斤", "无花果干250克"], False),
    ("ban ya", "product", ["南安板鸭"], False),
    # initials
    ("yc", "product", ["三江腌菜"], False),
    ("by", "product", ["南安板鸭"], False),
    ("tjd", "product", ["土鸡蛋"], False),
    # one syllable inside a word of a name (蛋 in 鸡蛋 and 味蛋)
    ("dan", "product", ["土鸡蛋", "南昌味蛋20枚"], False),
    ("mei", "product", ["红星村红颜草莓2斤"], False),
    # pinyin typed together across words
    ("yancailihe", "product", ["三江腌菜"], False),
    ("meidoufu", "product", ["农家霉豆腐400克"], False),
    ("nananbanya", "product", ["南安板鸭"], False),
    ("sanjiangyancai", "product", ["三江腌菜"], False),
    ("hongyancaomei", "product", ["红星村红颜草莓2斤"], False),
    # the right sound typed with the wrong characters (the input method's next candidate): its pinyin
    ("腌彩", "product", ["三江腌菜"], False),
    ("板压", "product", ["南安板鸭"], False),
    # pinyin with one slip (two letters swapped, one missed or doubled): its guesses, a partial answer
    ("yancia", "product", ["三江腌菜"], True),
    ("yanci", "product", ["三江腌菜"], True),
    ("bnaya", "product", ["南安板鸭"], True),
    ("wuhuaguoo", "product", ["鲜无花果1斤", "无花果干250克"], True),
    # synonyms
    ("芦蒿", "product", ["鄱阳湖藜蒿1斤"], False),
    ("草鸡蛋", "product", ["土鸡蛋"], False),
    ("柴鸡蛋", "product", ["土鸡蛋"], False),
    ("腐乳", "product", ["农家霉豆腐400克"], False),
    ("鳝鱼", "product", ["渔村村网箱黄鳝1斤"], False),
    ("稻米", "product", ["优质大米5kg", "富硒大米10斤"], False),
    # partial matches: one word matches nothing, or the words never occur together
    ("三江腌菜好吃", "product", ["三江腌菜"], True),
    ("好吃的板鸭", "product", ["南安板鸭"], True),
    ("板鸭 草莓", "product", ["南安板鸭", "红星村红颜草莓2斤"], True),
    # tourism listings
    ("民宿", "listing", ["花海原乡民宿", "罗渡农家乐"], False),
    ("农家乐", "listing", ["罗渡农家乐", "花海原乡民宿"], False),
    ("住宿", "listing", ["花海原乡民宿"], False),
    ("钓鱼", "listing", ["渔村垂钓"], False),
    ("垂钓", "listing", ["渔村垂钓"], False),
    ("采摘", "listing", ["红星村草莓采摘"], False),
    ("门票", "listing", ["黄马罗渡花海原乡门票"], False),
    ("景点", "listing", ["黄马罗渡花海原乡门票"], False),
    ("huahai", "listing", ["花海原乡民宿", "黄马罗渡花海原乡门票"], False),
    ("diaoyu", "listing", ["渔村垂钓"], False),
    ("花海民宿好玩", "listing", ["花海原乡民宿"], True),
]


@pytest.fixture
def demo(app, db):
    """The demo shop (`flask seed-demo`) and a fermented tofu, indexed."""
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    from catalog.models import Product
    from shop.extensions import db as _db
    from stock.models import Station

    station = _db.session.scalars(_db.select(Station).order_by(Station.id)).first()
    tofu = make_product(name="农家霉豆腐400克", station=station)
    tofu.description = "本地黄豆发酵的霉豆腐，香辣下饭。"
    commit()
    search.rebuild()
    names = {"product": {p.id: p.display_name for p in _db.session.scalars(_db.select(Product))}}
    from tourism.models import Listing

    names["listing"] = {x.id: x.name for x in _db.session.scalars(_db.select(Listing))}
    return names


def test_the_relevance_set_ranks_the_expected_items_in_the_top_5(demo):
    failures = []
    for q, kind, expected, partial in CASES:
        top = [demo[kind][i] for i in search.search_ids(q, kind=kind, limit=5)]
        missing = [name for name in expected if name not in top]
        if missing or search.is_partial(q, kind=kind) != partial:
            failures.append((q, kind, top, missing, search.is_partial(q, kind=kind)))
    assert failures == [], "\n".join(map(str, failures))


def test_the_search_page_says_when_it_shows_partial_matches(demo, client):
    html = client.get("/search", query_string={"q": "三江腌菜好吃"}).get_data(as_text=True)
    assert "没有完全匹配的结果，以下是部分匹配" in html
    assert "三江<mark>腌菜</mark></h3>" in html or "<mark>三江腌菜</mark></h3>" in html
    exact = client.get("/search", query_string={"q": "三江腌菜"}).get_data(as_text=True)
    assert "没有完全匹配的结果" not in exact
    english = client.get("/search", query_string={"q": "三江腌菜好吃", "lang": "en"}).get_data(as_text=True)
    assert "No result matches every word" in english


def test_a_query_of_spaces_alone_is_the_whole_list_not_a_search_for_nothing(demo, client):
    html = client.get("/search", query_string={"q": "   "}).get_data(as_text=True)
    assert '<h1 class="query-title">全部商品</h1>' in html and "搜索：</h1>" not in html
    typed = client.get("/search", query_string={"q": " 腌菜 "}).get_data(as_text=True)
    assert '<h1 class="query-title">搜索：腌菜</h1>' in typed
    # a control character (a NUL pasted or sent by a bot) is no text: not echoed into the title and heading
    nul = client.get("/search", query_string={"q": "\x00"}).get_data(as_text=True)
    assert '<h1 class="query-title">全部商品</h1>' in nul and "\x00" not in nul
    inside = client.get("/search", query_string={"q": "腌\x00菜"}).get_data(as_text=True)
    assert '<h1 class="query-title">搜索：腌菜</h1>' in inside and "\x00" not in inside


def test_the_api_says_when_it_returns_partial_matches(demo, client):
    body = client.get("/api/v1/products", query_string={"q": "三江腌菜好吃"}).json
    assert body["partial"] is True and body["total"] >= 2
    assert "三江腌菜" in {item["name"] for item in body["items"][:5]}
    body = client.get("/api/v1/products", query_string={"q": "三江腌菜"}).json
    assert body["partial"] is False
    assert client.get("/api/v1/products").json["partial"] is False
    body = client.get("/api/v1/products", query_string={"q": "三江腌菜好吃", "sort": "price_asc"}).json
    assert body["partial"] is True and body["total"] >= 2
    spec = client.get("/api/v1/openapi.json").json
    field = spec["components"]["schemas"]["ProductPage"]["properties"]["partial"]
    assert field["type"] == "boolean" and "partial" in field["description"]


def test_a_search_matching_only_listings_shows_them_with_a_count_and_no_empty_product_list(demo, client):
    html = client.get("/search", query_string={"q": "民宿"}).get_data(as_text=True)
    assert "乡村旅游" in html and "共 2 项" in html  # the two stays
    assert "花海原乡<mark>民宿</mark>" in html
    assert "共 0 件商品" not in html and "没有找到商品" not in html
    nothing = client.get("/search", query_string={"q": "zzzzqqq"}).get_data(as_text=True)
    assert "没有找到商品" in nothing  # no listing and no product: the empty state stays
    both = client.get("/search", query_string={"q": "草莓"}).get_data(as_text=True)
    assert "红星村<mark>草莓</mark>采摘" in both and "红星村红颜<mark>草莓</mark>2斤" in both and "共 1 项" in both
