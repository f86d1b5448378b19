"""Public catalog pages render in Chinese (default) and in English, on the facts the issue promises."""

from __future__ import annotations

import pytest
from flask_babel import refresh

from tests.catalog.factories import make_world
from tests.factories import make_product


@pytest.fixture
def world(db):
    return make_world()


def _pages(world):
    p, v, c = world.product, world.village, world.category
    return {
        "home": "/",
        "products": "/products",
        "category": f"/categories/{c.slug}",
        "village": f"/villages/{v.slug}",
        "product": f"/products/{p.id}-{p.slug}",
    }


@pytest.mark.parametrize("name", ["home", "products", "category", "village", "product"])
def test_page_renders_in_chinese_by_default(client, world, name):
    response = client.get(_pages(world)[name])
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert '<html lang="zh-CN">' in html
    assert "乡村e线" in html and "English" in html


@pytest.mark.parametrize("name", ["home", "products", "category", "village", "product"])
def test_page_renders_in_english_with_lang_parameter(client, world, name):
    response = client.get(_pages(world)[name] + "?lang=en")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert '<html lang="en">' in html
    assert "Village e-Line" in html and "中文" in html
    assert "乡村e线 · 南昌县" not in html  # the footer was translated


def test_language_switch_is_remembered_in_the_session(client, world):
    response = client.get("/lang/en?next=/products")
    assert response.status_code == 302 and response.headers["Location"].endswith("/products")
    html = client.get("/products").get_data(as_text=True)
    assert "All products" in html and "In stock only" in html
    client.get("/lang/zh_CN")
    refresh()  # the test's app context outlives requests; Flask-Babel caches the locale on it
    assert "全部商品" in client.get("/products").get_data(as_text=True)


def test_language_switch_ignores_unknown_locale_and_offsite_next(client, world):
    response = client.get("/lang/xx?next=//evil.com/")
    assert response.status_code == 302 and "evil.com" not in response.headers["Location"]
    assert '<html lang="zh-CN">' in client.get("/").get_data(as_text=True)


def test_home_shows_specialties_by_village(client, world):
    html = client.get("/").get_data(as_text=True)
    assert "一村一品" in html
    assert "柳溪村" in html and "三江腌菜" in html and "三江镇" in html
    assert "¥18.80" in html


def test_home_in_english_names_categories_in_english(client, world):
    html = client.get("/?lang=en").get_data(as_text=True)
    assert "Pickles" in html and "One Village, One Product" in html and "Shop by village" in html


def test_village_page_shows_township_poverty_flag_station_and_story(client, world):
    html = client.get(f"/villages/{world.village.slug}").get_data(as_text=True)
    assert "三江镇" in html and "脱贫村" in html
    assert world.station.name in html and "NCX1" in html and "08:00-18:00" in html
    assert "百年历史" in html


def test_village_page_formats_the_story_as_the_listing_page_does(client, world):
    """The admin types the story into a textarea: a blank line starts a paragraph, a single newline
    breaks the line, and markup outside the `rich_text` allow-list is dropped (a <script> with its text)."""
    from shop.db import commit

    world.village.story = '柳溪村的腌菜有百年历史。\r\n家家户户都会做。\n\n欢迎来做客<script>alert("x")</script>'
    commit()
    html = client.get(f"/villages/{world.village.slug}").get_data(as_text=True)
    assert '<div class="rich-text"><p>柳溪村的腌菜有百年历史。<br>家家户户都会做。</p><p>欢迎来做客</p></div>' in html
    assert 'alert("x")' not in html and "alert(&#34;x&#34;)" not in html and "&lt;script" not in html


def test_product_page_shows_price_unit_stock_village_trace_code_and_household_count(client, world):
    p = world.product
    html = client.get(f"/products/{p.id}-{p.slug}").get_data(as_text=True)
    assert "¥18.80" in html and "/ 袋" in html
    assert "12 袋" in html  # stock
    assert "柳溪村" in html and p.trace_code in html
    assert "本商品结对帮扶 2 户脱贫户" in html


def test_product_page_in_english_translates_the_facts(client, world):
    p = world.product
    html = client.get(f"/products/{p.id}-{p.slug}?lang=en").get_data(as_text=True)
    assert "Traceability code" in html and "This product supports 2 households lifted out of poverty" in html


def test_product_page_with_wrong_slug_redirects_to_canonical_url(client, world):
    p = world.product
    response = client.get(f"/products/{p.id}-wrong")
    assert response.status_code == 301 and response.headers["Location"].endswith(f"/products/{p.id}-{p.slug}")


def test_unknown_product_village_and_category_are_404_pages(client, world):
    for url in ("/products/999999", "/products/99999999999999999999999", "/villages/nowhere", "/categories/nothing"):
        response = client.get(url)
        assert response.status_code == 404
        assert "页面不存在" in response.get_data(as_text=True) or "No such" in response.get_data(as_text=True)


def test_unapproved_product_is_not_shown(client, db, world):
    world.product.approval_status = "pending"
    db.session.flush()
    assert client.get(f"/products/{world.product.id}").status_code == 404
    assert world.product.name not in client.get("/products").get_data(as_text=True)


def test_bad_list_parameters_are_400_not_500(client, world):
    for query in ("page=abc", "page=99999999", "village=x", "min_fen=-5"):
        response = client.get(f"/products?{query}")
        assert 400 <= response.status_code < 500, query


def test_a_page_past_the_last_redirects_to_the_last_page_keeping_the_filters(client, world):
    station, category = world.product.station, world.category
    for n in range(25):  # with the world's product: 26, two pages of 24
        make_product(name=f"腌菜{n}号", station=station, category=category)
    response = client.get(f"/products?category={category.slug}&sort=newest&page=999")
    assert response.status_code in (302, 303)
    assert response.headers["Location"] == f"/products?category={category.slug}&sort=newest&page=2"
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "没有找到商品" not in html and "2 / 2" in html
    response = client.get(f"/categories/{category.slug}?page=3")
    assert response.headers["Location"] == f"/categories/{category.slug}?page=2"
    # one page: back to the page without a page number
    assert client.get("/products?max_fen=2000&page=5").headers["Location"] == "/products?max_fen=2000"


def test_the_api_past_the_last_page_keeps_its_shape(client, world):
    response = client.get("/api/v1/products?page=999")
    assert response.status_code == 200
    body = response.json
    assert body["items"] == [] and body["total"] == 1 and body["page"] == 999


def test_empty_list_shows_an_empty_state(client, world):
    html = client.get("/products?min_fen=99999999").get_data(as_text=True)
    assert "没有找到商品" in html


def test_product_card_uses_the_thumbnail(client, db):
    w = make_world(with_image=True)
    html = client.get("/products").get_data(as_text=True)
    assert "/media/demo/x-thumb.webp" in html
    detail = client.get(f"/products/{w.product.id}-{w.product.slug}").get_data(as_text=True)
    assert "/media/demo/x.jpg" in detail


def test_healthz_answers_ok_when_the_database_answers(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json == {"status": "ok"}
