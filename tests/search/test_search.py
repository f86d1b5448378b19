"""Search on a real Whoosh index in a temporary folder: words, pinyin, initials, synonyms, places,
mixed tokens, index/database agreement, junk queries, suggestions, the search page."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from catalog.models import ApprovalStatus, Product, Village
from search import index as search
from shop.db import commit
from tests.factories import make_category, make_product, make_station, make_village
from tests.search.factories import make_listing, make_place

pytestmark = pytest.mark.usefixtures("index_dir")


@pytest.fixture
def shop_products(db):
    """A small shop across named villages and townships, committed (so the index follows)."""
    liuxi, s1 = make_place("柳溪村", "三江镇")
    taohua, s2 = make_place("桃花村", "广福镇")
    luzhou, s3 = make_place("芦洲村", "蒋巷镇")
    eggs = make_category(name="禽蛋")
    made = {
        "yancai": make_product(name="三江腌菜500克", station=s1, price_fen=1800),
        "banya": make_product(name="南安板鸭1只", station=s2, price_fen=6800),
        "lihao": make_product(name="鄱阳湖藜蒿1斤", station=s3, price_fen=2500),
        "eggs": make_product(name="土鸡蛋30枚", station=s2, category=eggs, price_fen=4500),
        "rice_a": make_product(name="A级优质大米10kg", station=s1, price_fen=9900),
        "rice_5": make_product(name="富硒大米5斤", station=s3, price_fen=3900),
    }
    commit()
    return made


def ids_of(*products):
    return [p.id for p in products]


@pytest.mark.parametrize("q", ["腌菜", "yancai", "yc", "YanCai", "三江腌菜"])
def test_chinese_word_full_pinyin_and_initials_find_yancai(shop_products, q):
    assert search.search_product_ids(q) == ids_of(shop_products["yancai"])


@pytest.mark.parametrize("q", ["板鸭", "banya", "ban ya", "by", "nanan"])
def test_chinese_word_full_pinyin_and_initials_find_banya(shop_products, q):
    assert search.search_product_ids(q) == ids_of(shop_products["banya"])


@pytest.mark.parametrize("q", ["芦蒿", "藜蒿", "luhao", "lh"])
def test_synonym_luhao_finds_lihao(shop_products, q):
    assert shop_products["lihao"].id in search.search_product_ids(q)


@pytest.mark.parametrize("q", ["草鸡蛋", "柴鸡蛋", "土鸡蛋", "tjd", "cjd"])
def test_synonyms_of_tujidan_find_it(shop_products, q):
    assert search.search_product_ids(q) == ids_of(shop_products["eggs"])


def test_village_and_township_names_find_their_products(shop_products):
    p = shop_products
    assert set(search.search_product_ids("柳溪村")) == {p["yancai"].id, p["rice_a"].id}
    assert set(search.search_product_ids("桃花村")) == {p["banya"].id, p["eggs"].id}
    assert set(search.search_product_ids("蒋巷镇")) == {p["lihao"].id, p["rice_5"].id}
    assert set(search.search_product_ids("taohua")) == {p["banya"].id, p["eggs"].id}
    assert search.search_product_ids("桃花村 板鸭") == [p["banya"].id]


@pytest.mark.parametrize(
    "q,key",
    [
        ("A级", "rice_a"),
        ("a级", "rice_a"),
        ("Ａ级", "rice_a"),
        ("10kg", "rice_a"),
        ("5斤", "rice_5"),
        ("500克", "yancai"),
        ("30枚", "eggs"),
    ],
)
def test_mixed_latin_digits_and_units(shop_products, q, key):
    assert shop_products[key].id in search.search_product_ids(q)


def test_one_character_and_partial_words_match(shop_products):
    assert shop_products["eggs"].id in search.search_product_ids("蛋")
    assert set(search.search_product_ids("大米")) == {shop_products["rice_a"].id, shop_products["rice_5"].id}


JUNK = [
    "",
    "   ",
    "*",
    "**",
    '"',
    '"三江',
    ":",
    "name:腌菜",
    "AND",
    "OR NOT",
    "腌菜 AND",
    "(((",
    ")",
    "[a TO",
    "\x00\x01\x02",
    "\u200b",
    "腌\x00菜",
    "%",
    "_",
    "\\",
    "'; DROP TABLE products; --",
    "腌菜" * 500,
    "x" * 10000,
    "<script>alert(1)</script>",
    "🐔🥚",
    "~1^2",
    "?",
]


@pytest.mark.parametrize("q", JUNK)
def test_junk_and_syntax_queries_give_a_clear_result_never_an_error(shop_products, client, q):
    assert isinstance(search.search_product_ids(q), list)
    page = client.get("/search", query_string={"q": q})
    assert page.status_code == 200
    for url, value in [("/api/v1/products", q[:200]), ("/api/v1/search/suggest", q[:2000])]:
        response = client.get(url, query_string={"q": value})
        if "\x00" in q:  # the API refuses text no database can store (shop.api): a clear 422
            assert response.status_code == 422, url
        else:
            assert response.status_code == 200 and isinstance(response.json["items"], list), url


def test_syntax_characters_are_plain_text(shop_products):
    assert search.search_product_ids('"腌菜"') == ids_of(shop_products["yancai"])
    assert search.search_product_ids("腌菜*") == ids_of(shop_products["yancai"])
    assert search.search_product_ids("(板鸭") == ids_of(shop_products["banya"])


def test_index_and_database_agree_after_create_edit_unpublish_delete(db, now):
    from catalog.services import ProductInput, create_product

    village, station = make_place("龙潭村", "幽兰镇")
    cat = make_category(name="干货")
    product = create_product(
        ProductInput(
            name="无花果干250克", category_id=cat.id, village_id=village.id, station_id=station.id, price_fen=2800
        ),
        actor=None,
        now=now,
        approved=True,
    )
    commit()
    assert search.search_product_ids("无花果") == [product.id]
    assert search.search_product_ids("whg") == [product.id]

    product.name = "鲜无花果1斤"  # edit
    commit()
    assert search.search_product_ids("250克") == []
    assert search.search_product_ids("鲜无花果 1斤") == [product.id]

    product.is_published = False  # unpublish: gone from the index itself, not only filtered
    commit()
    assert search.search_product_ids("无花果") == []
    product.is_published = True
    commit()
    assert search.search_product_ids("无花果") == [product.id]

    product.approval_status = ApprovalStatus.REJECTED
    commit()
    assert search.search_product_ids("无花果") == []
    product.approval_status = ApprovalStatus.APPROVED
    commit()
    pid = product.id
    db.session.delete(product.stock)
    db.session.delete(product)
    commit()
    assert search.search_product_ids("无花果") == []
    assert db.session.get(Product, pid) is None


def test_pending_products_are_not_indexed_until_approved(db):
    village, station = make_place("红星村", "武阳镇")
    product = make_product(name="红星村茶油", station=station, approval_status=ApprovalStatus.PENDING)
    commit()
    assert search.search_product_ids("茶油") == []
    product.approval_status = ApprovalStatus.APPROVED
    commit()
    assert search.search_product_ids("茶油") == [product.id]


def test_a_stale_index_never_shows_an_unpublished_product(shop_products, client):
    pid = shop_products["banya"].id
    # a bulk UPDATE bypasses the ORM events: the index still has the product
    from shop.extensions import db

    db.session.execute(sa.update(Product).where(Product.id == pid).values(is_published=False))
    commit()
    assert search.search_product_ids("板鸭") == [pid]
    response = client.get("/api/v1/products?q=板鸭")
    assert response.status_code == 200 and response.json["items"] == [] and response.json["total"] == 0
    assert client.get("/api/v1/search/suggest?q=banya").json["items"] == []


def test_rolled_back_changes_are_not_indexed(db):
    from shop.db import rollback

    village, station = make_place("金塘村", "塘南镇")
    make_product(name="金塘莲子", station=station)
    rollback()
    assert search.engine().exists() is False or search.search_product_ids("莲子") == []


def test_first_search_without_an_index_builds_it(shop_products, index_dir):
    import shutil

    shutil.rmtree(index_dir)
    search.reset_engines()
    assert not search.engine().exists()
    assert search.search_product_ids("板鸭") == ids_of(shop_products["banya"])
    assert search.engine().exists()


def test_a_reindex_enqueued_by_name_updates_after_commit_only(shop_products):
    from shop.celery import enqueue_after_commit
    from shop.extensions import db

    pid = shop_products["yancai"].id
    db.session.execute(sa.update(Product).where(Product.id == pid).values(name="三江酱菜", description=""))
    enqueue_after_commit("search.tasks.reindex_products", [pid])  # as the station's product form does
    assert search.search_product_ids("腌菜") == [pid]  # not before the commit
    commit()
    assert search.search_product_ids("腌菜") == []
    assert search.search_product_ids("酱菜") == [pid]


def test_reindex_command_rebuilds_with_a_progress_bar(app, shop_products, index_dir):
    import shutil

    shutil.rmtree(index_dir)
    search.reset_engines()
    result = app.test_cli_runner().invoke(args=["search", "reindex"])
    assert result.exit_code == 0, result.output
    assert "Indexed 6 documents" in result.output
    assert search.search_product_ids("yc") == ids_of(shop_products["yancai"])


def test_suggest_api_prefix_pinyin_and_initials(shop_products, client):
    p = shop_products
    for q, product in [
        ("三江", p["yancai"]),
        ("yc", p["yancai"]),
        ("sanj", p["yancai"]),
        ("nananb", p["banya"]),
        ("by", p["banya"]),
        ("鄱阳", p["lihao"]),
    ]:
        response = client.get("/api/v1/search/suggest", query_string={"q": q})
        assert response.status_code == 200
        assert {"text": product.name, "kind": "product", "id": product.id} in response.json["items"], q
    assert client.get("/api/v1/search/suggest?q=").json == {"items": []}
    assert client.get("/api/v1/search/suggest?q=zzzzqqq").json == {"items": []}


def test_search_api_filters_and_sorts(shop_products, client):
    p = shop_products
    body = client.get("/api/v1/products?q=大米&sort=price_asc").json
    assert [i["id"] for i in body["items"]] == [p["rice_5"].id, p["rice_a"].id] and body["total"] == 2
    body = client.get("/api/v1/products?q=大米&sort=price_desc").json
    assert [i["id"] for i in body["items"]] == [p["rice_a"].id, p["rice_5"].id]
    body = client.get(f"/api/v1/products?q=大米&village={p['rice_5'].village_id}").json
    assert [i["id"] for i in body["items"]] == [p["rice_5"].id]
    body = client.get("/api/v1/products?q=大米&max_fen=5000").json
    assert [i["id"] for i in body["items"]] == [p["rice_5"].id]
    body = client.get("/api/v1/products?q=大米&per_page=1&page=2").json
    assert body["total"] == 2 and len(body["items"]) == 1


def test_search_page_highlights_safely_and_shows_facets(db, client):
    village, station = make_place("沙洲村", "冈上镇")
    make_product(name="<b>腌菜</b>礼盒", station=station)
    commit()
    html = client.get("/search?q=腌菜").get_data(as_text=True)
    assert "&lt;b&gt;<mark>腌菜</mark>&lt;/b&gt;礼盒" in html
    assert "<b>腌菜" not in html
    assert '沙洲村 <span class="n">(1)</span>' in html
    assert '冈上镇 <span class="n">(1)</span>' in html


@pytest.mark.parametrize("sort", ["relevance", "newest"])  # the index's facets, and the database's
def test_a_village_facet_names_the_township_of_a_village_whose_name_another_has(db, client, sort):
    """Two townships each have a 柳溪村 selling 腌菜: the facet listed 柳溪村 (1) twice, and a buyer could not
    tell which was which. Each names its township; a village whose name no other has stays as it is."""
    _here, here_station = make_place("柳溪村", "冈上镇")
    _there, there_station = make_place("柳溪村", "三江镇")
    _alone, alone_station = make_place("沙洲村", "向塘镇")
    for station in (here_station, there_station, alone_station):
        make_product(name="三江腌菜", station=station)
    commit()
    html = client.get(f"/search?q=腌菜&sort={sort}").get_data(as_text=True)
    assert '冈上镇 · 柳溪村 <span class="n">(1)</span>' in html
    assert '三江镇 · 柳溪村 <span class="n">(1)</span>' in html
    assert '>沙洲村 <span class="n">(1)</span>' in html


def test_highlight_escapes_then_marks_pinyin_and_synonym_matches():
    assert search.highlight("南安板鸭<i>", "by") == "南安<mark>板鸭</mark>&lt;i&gt;"
    assert search.highlight("鄱阳湖藜蒿", "芦蒿") == "鄱阳湖<mark>藜蒿</mark>"
    assert search.highlight("A&B", "\x00") == "A&amp;B"


def test_tourism_listings_are_a_second_document_type(db, client):
    village, _station = make_place("花海村", "向塘镇")
    stay = make_listing(name="花海村民宿", village=village, description="推窗见花海，可采摘草莓")
    hidden = make_listing(name="花海村农家乐", village=village, is_published=False)
    commit()
    assert search.search_listing_ids("民宿") == [stay.id]
    assert search.search_listing_ids("草莓") == [stay.id]
    assert search.search_listing_ids("huahai") == [stay.id]
    assert search.search_listing_ids("向塘镇") == [stay.id]
    assert hidden.id not in search.search_listing_ids("农家乐")
    assert search.search_product_ids("民宿") == []
    stay.is_published = False
    commit()
    assert search.search_listing_ids("民宿") == []


def test_index_side_filters_and_limit(shop_products):
    p = shop_products
    assert set(search.search_ids("大米")) == {p["rice_a"].id, p["rice_5"].id}
    assert search.search_ids("大米", filters={"max_fen": 5000}) == [p["rice_5"].id]
    assert search.search_ids("大米", filters={"min_fen": 5000}) == [p["rice_a"].id]
    assert search.search_ids("大米", filters={"village": p["rice_5"].village_id}) == [p["rice_5"].id]
    assert search.search_ids("yancai", filters={"category": p["eggs"].category_id}) == []
    assert search.search_ids("桃花村", filters={"category": p["eggs"].category_id}) == [p["eggs"].id]
    assert len(search.search_ids("大米", limit=1)) == 1


def test_renaming_a_village_or_township_updates_its_products(shop_products):
    banya = shop_products["banya"]
    banya.village.name = "桃源村"
    commit()
    assert banya.id in search.search_product_ids("桃源村")
    assert search.search_product_ids("桃花村") == []
    banya.village.township.name = "桃源镇"
    commit()
    assert set(search.search_product_ids("桃源镇")) == {banya.id, shop_products["eggs"].id}
    assert search.search_product_ids("广福镇") == []


def test_cached_results_follow_index_writes(shop_products):
    eggs = shop_products["eggs"]
    assert search.search_product_ids("鸡蛋") == [eggs.id]
    assert search.search_product_ids("鸡蛋") == [eggs.id]  # served from the per-generation cache
    eggs.is_published = False
    commit()
    assert search.search_product_ids("鸡蛋") == []


def test_search_page_price_range_in_yuan_and_bad_numbers(shop_products, client):
    html = client.get("/search?q=大米&max_yuan=50").get_data(as_text=True)
    assert "富硒<mark>大米</mark>5斤" in html and "A级优质<mark>大米</mark>10kg" not in html
    assert client.get("/search?q=大米&max_yuan=abc").status_code == 400
    assert client.get("/search?q=大米&page=0").status_code in (200, 400)


def test_search_page_past_the_last_redirects_to_the_last_page_like_the_product_list(shop_products, client):
    for url in ("/search?q=大米&max_yuan=50&page=999", "/products?q=大米&max_yuan=50&page=999"):
        response = client.get(url)
        assert response.status_code in (302, 303), url
        assert response.headers["Location"] == url.removesuffix("&page=999").replace("大米", "%E5%A4%A7%E7%B1%B3")
        assert "富硒<mark>大米</mark>5斤" in client.get(response.headers["Location"]).get_data(as_text=True)


@pytest.fixture
def page_cache_on(app, monkeypatch):
    from shop import pagecache

    monkeypatch.setitem(app.config, "PAGE_CACHE", True)
    with app.app_context():
        pagecache.clear()
    yield
    with app.app_context():
        pagecache.clear()


def test_cached_search_pages_follow_the_index(shop_products, client, page_cache_on):
    """A search page cached while the index lagged the database is dropped once the index catches up."""
    from shop.extensions import db

    pid = shop_products["banya"].id
    # the database changes, the index does not yet (a bulk UPDATE, as if the worker were behind)
    db.session.execute(sa.update(Product).where(Product.id == pid).values(name="南安咸鸭1只"))
    commit()
    assert "南安咸鸭" not in client.get("/search?q=咸鸭").get_data(as_text=True)  # cached: no hit yet
    search.update_products([pid])  # what the search worker does
    assert "南安<mark>咸鸭</mark>1只" in client.get("/search?q=咸鸭").get_data(as_text=True)


def test_search_page_fast_path_agrees_with_the_exact_path(shop_products):
    """Index-side ranking, count and facets (one page re-checked in the database) give what the
    database gives for the index's hits."""
    from catalog.services import ProductFilter, list_products
    from search.services import product_facets, search_products, search_ranked_ids

    p = shop_products
    for kwargs in [
        dict(q="大米"),
        dict(q="大米", max_fen=5000),
        dict(q="大米", min_fen=5000),
        dict(q="广福镇"),
        dict(q="广福镇", category=p["eggs"].category.slug),
        dict(q="大米", village=p["rice_5"].village_id),
        dict(q="大米", per_page=1, page=2),
        dict(q="zzzz"),
        dict(q="大米", category="no-such-category"),
    ]:
        f = ProductFilter(**kwargs)
        items, total, facets = search_products(f, facets=True)
        ranked = search_ranked_ids(f)
        exact_items, exact_total = list_products(f, ranked_ids=ranked)
        assert [i.id for i in items] == [i.id for i in exact_items], kwargs
        assert total == exact_total, kwargs
        assert facets == product_facets(f, ranked_ids=ranked), kwargs
    assert search_products(ProductFilter(q="大米", per_page=1, page=2))[1] == 2


def test_search_page_counts_come_from_the_database_when_the_index_is_stale(shop_products):
    from catalog.services import ProductFilter
    from search.services import search_products
    from shop.extensions import db

    rice_a = shop_products["rice_a"]
    db.session.execute(sa.update(Product).where(Product.id == rice_a.id).values(is_published=False))
    commit()
    assert rice_a.id in search.search_product_ids("大米")  # the index still has it
    items, total, facets = search_products(ProductFilter(q="大米"), facets=True)
    assert [i.id for i in items] == [shop_products["rice_5"].id] and total == 1
    assert sum(item["count"] for item in facets["village"]) == 1


@pytest.mark.parametrize(
    "q,key", [("liuxicunyancai", "yancai"), ("taohuacunbanya", "banya"), ("taohuacunyancai", None)]
)
def test_pinyin_of_a_place_and_a_product_typed_together_is_split_into_pinyin_words(shop_products, q, key):
    """No single pinyin term spans a village and a product name: the query is cut into the fewest
    pinyin terms (liuxicun + yancai), all required."""
    expected = [shop_products[key].id] if key else []
    assert search.search_product_ids(q) == expected


def test_the_search_page_flags_a_product_without_valid_papers_as_its_page_does(client, db):
    from tests.factories import make_document

    fig = make_product(name="鲜无花果1斤", category=make_category(food_class="farm"))
    fresh = make_product(name="无花果干1袋", category=make_category(food_class="farm"))
    make_document(fresh)
    commit()
    html = client.get("/search?q=无花果").get_data(as_text=True)
    cards = {
        name: html[html.index(name) :].split("</article>", 1)[0]
        for name in ("鲜<mark>无花果</mark>1斤", "<mark>无花果</mark>干1袋")
    }
    assert "暂停销售" in cards["鲜<mark>无花果</mark>1斤"] and "暂停销售" not in cards["<mark>无花果</mark>干1袋"]
    items = {i["id"]: i["sellable"] for i in client.get("/api/v1/products?q=无花果").json["items"]}
    assert items == {fig.id: False, fresh.id: True}


def test_in_stock_on_the_search_page_leaves_out_a_product_without_valid_papers(client, db):
    """只看有货 on the search page and in the search API means "can be bought now": a product in stock
    without valid papers is left out of the hits and of the facet counts."""
    from tests.factories import make_document

    village, station = make_place("沙洲村", "冈上镇")
    fig = make_product(name="鲜无花果1斤", station=station, category=make_category(food_class="farm"))
    fresh = make_product(name="无花果干1袋", station=station, category=make_category(food_class="farm"))
    make_document(fresh)
    commit()
    html = client.get("/search?q=无花果&in_stock=1").get_data(as_text=True)
    assert "<mark>无花果</mark>干1袋" in html and "鲜<mark>无花果</mark>1斤" not in html
    assert '沙洲村 <span class="n">(1)</span>' in html
    body = client.get("/api/v1/products?q=无花果&in_stock=true").json
    assert [i["id"] for i in body["items"]] == [fresh.id] and body["total"] == 1
    assert sorted(i["id"] for i in client.get("/api/v1/products?q=无花果").json["items"]) == sorted([fig.id, fresh.id])


def test_one_pass_serves_the_products_and_the_listings_of_a_query_as_their_own_passes_would(shop_products, db):
    """The search page's unfiltered pass over every document, split by kind (`search.index._ranking`),
    ranks and flags each kind as a pass of its own (`search_ids`: products with the listings masked,
    listings ANDed with their kind) — every word, and any of them when a kind has no document with all."""
    liuxi = db.session.scalar(sa.select(Village).where(Village.name == "柳溪村"))
    make_listing(name="柳溪村腌菜作坊体验", village=liuxi, description="学做三江腌菜，品尝板鸭")
    make_listing(name="柳溪村民宿", village=liuxi, description="推窗见稻田")
    commit()
    search.rebuild()
    queries = ["腌菜", "柳溪村 腌菜", "民宿", "板鸭 民宿", "腌菜 稻田", "yancai", "大米 民宿", "土鸡蛋", "无此词"]
    for q in queries:
        for kind in ("product", "listing"):
            page = search.search_page(q, kind=kind, count=100)
            alone = search.search_ids(q, kind=kind, cache=False)
            assert page.ids == alone and page.total == len(alone), (q, kind)
            # a filter that filters nothing takes the kind's own pass (`Prepared.search`)
            own = search.search_page(q, kind=kind, count=100, filters={"village": None}, cache=False)
            assert (page.ids, page.total, page.partial) == (own.ids, own.total, own.partial), (q, kind)
    # "板鸭 民宿": no product is a stay, and no listing has 板鸭 and 民宿: both are partial, each its own
    assert search.search_page("板鸭 民宿", kind="product").partial
    assert search.search_page("板鸭 民宿", kind="listing").ids  # the 作坊 (板鸭) and the 民宿
    # "腌菜": products have it and so has a listing: neither partial
    assert not search.search_page("腌菜", kind="listing").partial


@pytest.mark.parametrize(
    "q,keys",
    [
        ("zzzzzz", []),  # zz + zz + zz, or zz inside zzzz: one word cannot stand for two pieces
        ("zzzz", ["zongzi4"]),  # 正宗粽子's own initials; 猪肘子 has 3 characters
        ("zzz", ["zhouzi"]),  # 猪肘子's initials
        ("ycyc", []),
        ("liuxicunyancai", ["yancai"]),
    ],
)
def test_a_latin_query_matches_initials_only_as_often_as_the_name_has_them(shop_products, client, q, keys):
    shop_products["zongzi4"] = make_product(name="正宗粽子")
    shop_products["zhouzi"] = make_product(name="猪肘子")
    commit()
    body = client.get("/api/v1/products", query_string={"q": q}).json
    assert sorted(i["id"] for i in body["items"]) == sorted(shop_products[k].id for k in keys)
    page = client.get("/search", query_string={"q": q}).get_data(as_text=True)
    assert ("正宗粽子" in page) == ("zongzi4" in keys) and ("猪肘子" in page) == ("zhouzi" in keys)


@pytest.mark.parametrize(
    "q,keys",
    [
        ("taohuacuntaohua", ["honey"]),  # 桃花村 + 桃花: not 桃花村's 桃花 standing for both, nor 罗渡村's honey
        # nor 干制野生桃花, whose 桃花 ends its name and so begins no longer term of it: the price of the
        # rule (docs/search.md, `_another_word`); its longer word finds it
        ("taohuacunyeshengtaohua", ["flowers"]),
        ("thcth", ["honey"]),  # the same as initials
        ("taohuacunwuhuaguo", ["figs"]),
        ("taohuacunmijiu", ["wine"]),
        ("taohuacuntaohuacun", []),  # the same piece twice
        ("zzzzzz", []),
    ],
)
def test_a_villages_pinyin_then_its_products_finds_that_product_of_the_village(db, client, q, keys):
    """Buyers type a village's pinyin and then its product's, without spaces; the product word may lie
    inside the village's pinyin (taohua in taohuacun): it is then found as another word of the name."""
    village, station = make_place("桃花村", "黄马乡")
    elsewhere = make_station(village=make_village(name="罗渡村", township=village.township))
    made = {
        "honey": make_product(name="桃花蜜250克", station=station),
        "figs": make_product(name="鲜无花果1斤", station=station),
        "wine": make_product(name="桃花村米酒1斤", station=station),  # demo's later villages name theirs so
        "flowers": make_product(name="干制野生桃花", station=station),
        "luodu_honey": make_product(name="桃花蜜500克", station=elsewhere),
        "zongzi": make_product(name="正宗粽子", station=elsewhere),
    }
    commit()
    assert {p.village_id for k, p in made.items() if k in ("honey", "figs", "wine", "flowers")} == {village.id}
    body = client.get("/api/v1/products", query_string={"q": q}).json
    assert sorted(i["id"] for i in body["items"]) == sorted(made[k].id for k in keys)
    page = re.sub(r"</?mark>", "", client.get("/search", query_string={"q": q}).get_data(as_text=True))
    assert [k for k in made if made[k].name in page] == keys


def test_a_listing_a_host_creates_is_found_once_published(db, now):
    """A new listing is not indexed while closed to tourists; publishing it (the host's 对游客开放)
    puts it in the index through the session hook, with no task of its own at creation."""
    from tests.factories import make_user
    from tourism.services.listings import NewListing, NewUnitType, create_listing

    village, _station = make_place("花溪村", "幽兰镇")
    host = make_user(role="host")
    listing = create_listing(
        NewListing(kind="stay", name="花溪村稻田民宿", village_id=village.id),
        NewUnitType(name="标准间", units=2, max_guests=2, price_fen=16800),
        host=host,
        now=now,
    )
    commit()
    assert search.search_listing_ids("稻田民宿") == []
    listing.is_published = True
    commit()
    assert search.search_listing_ids("稻田民宿") == [listing.id]
