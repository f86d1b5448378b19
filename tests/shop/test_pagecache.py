"""Whole-page cache for anonymous visitors (shop.pagecache on Flask-Caching): hits, invalidation
(price, stock, unpublishing), keys, exclusions, HTTP caching semantics, cross-site protection of the
forms shared pages carry. Redis, outages and two web nodes: tests/faults/test_page_cache_redis.py."""

from __future__ import annotations

import functools
import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shop import pagecache
from shop.db import commit
from tests.factories import make_product, make_user
from tests.shop.page_cache_checks import count_sql, served_from_cache

ROOT = Path(__file__).resolve().parents[2]


def _product_url(product) -> str:
    return f"/products/{product.id}-{product.slug}"


def _generation():
    return pagecache.cache.get(pagecache.GEN_KEY)


def _record_id(db, product) -> int:
    from stock.models import StockRecord

    return db.session.scalar(sa.select(StockRecord.id).where(StockRecord.product_id == product.id))


def _record(db, product):
    from stock.models import StockRecord

    return db.session.scalar(sa.select(StockRecord).where(StockRecord.product_id == product.id))


# --- hits ------------------------------------------------------------------------------------


def test_second_anonymous_request_is_served_from_cache_without_sql(client, db, cache_on):
    product = make_product(name="三江腌菜", price_fen=1990)
    commit()
    for url in (
        "/",
        "/products",
        _product_url(product),
        f"/villages/{product.village.slug}",
        f"/categories/{product.category.slug}",
    ):
        first = client.get(url)
        assert first.status_code == 200, url
        with count_sql(db) as statements:
            second = client.get(url)
        assert second.status_code == 200
        assert statements == [], (url, statements)
        assert second.get_data() == first.get_data(), "the same bytes for every anonymous visitor"
        assert "Content-Security-Policy" in second.headers and second.headers["X-Frame-Options"] == "DENY"
        assert "三江腌菜" in second.get_data(as_text=True)


def test_logged_in_users_get_the_shared_body_with_their_own_header(client, db, auth, cache_on):
    """A signed-in visitor is answered from the page's shared entry (no product read), with the
    personal parts (header, tokens, favourite button) rendered for them; the entry stays anonymous."""
    product = make_product(name="柴鸡蛋")
    user = make_user(email="buyer@example.com")
    commit()
    url, name = _product_url(product), user.name
    anonymous = client.get(url).get_data(as_text=True)
    assert "buyer@example.com" not in anonymous and "/login" in anonymous
    auth.login(user)
    for _ in range(2):
        with count_sql(db) as statements:
            response = client.get(url)
        page = response.get_data(as_text=True)
        assert not [s for s in statements if "FROM products" in s], "the shared body, from the cache"
        assert name in page and "退出" in page and "柴鸡蛋" in page
        assert response.headers["Cache-Control"] == "no-store" and "ETag" not in response.headers
    auth.logout()
    other = client.application.test_client().get(url).get_data(as_text=True)
    assert other == anonymous, "the same bytes as before for anonymous visitors"
    assert name not in other and "退出" not in other


def test_english_and_chinese_are_cached_separately(client, db, cache_on):
    product = make_product()
    commit()
    url = _product_url(product)
    zh = client.get(url).get_data(as_text=True)
    assert 'hreflang="en"' in zh
    client.get("/lang/en")
    client.get(url)
    en = client.get(url).get_data(as_text=True)
    assert 'hreflang="zh-CN"' in en and 'hreflang="en"' not in en
    client.get("/lang/zh_CN")
    assert 'hreflang="en"' in client.get(url).get_data(as_text=True)


def test_flash_pending_and_lang_argument_are_not_cached(client, db, cache_on):
    product = make_product()
    commit()
    url = _product_url(product)
    client.get(url)
    with client.session_transaction() as s:
        s["_flashes"] = [("success", "已加入购物车")]
    page = client.get(url).get_data(as_text=True)
    assert "已加入购物车" in page
    assert "已加入购物车" not in client.get(url).get_data(as_text=True)
    with count_sql(db) as statements:
        client.get(url + "?lang=en")
    assert statements


def test_cacheable_templates_keep_the_visitor_out_of_their_content():
    """The content of shared pages never reads the visitor: what differs between visitors is in the
    personal parts (templates/_macros/_personal.html, through `personal_part`), which the cache
    stores as an anonymous visitor sees them and renders anew for each signed-in visitor."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "templates"
    for path in [
        *root.glob("catalog/*.html"),
        *root.glob("home/*.html"),
        root / "_macros" / "catalog.html",
        root / "base.html",
        root / "_macros" / "_header.html",
        root / "orders" / "_add_to_cart.html",
        root / "county" / "_benefit_note.html",
        root / "reviews" / "_list.html",
        root / "reviews" / "_stars.html",
        root / "favourites" / "_box.html",
    ]:
        text = path.read_text(encoding="utf-8")
        for word in ("current_user", "session", "get_flashed_messages", "nav_extra", "csp_nonce"):
            assert word not in text, f"{path.name} uses {word}: cached pages are shared between visitors"


# --- invalidation ----------------------------------------------------------------------------


def test_price_change_shows_new_price_on_next_request(client, db, cache_on):
    product = make_product(name="土鸡蛋", price_fen=4500)
    commit()
    assert "¥45.00" in client.get(_product_url(product)).get_data(as_text=True)
    assert "¥45.00" in client.get("/products").get_data(as_text=True)
    product.price_fen = 3900
    commit()
    assert "¥39.00" in client.get(_product_url(product)).get_data(as_text=True)
    listing = client.get("/products").get_data(as_text=True)
    assert "¥39.00" in listing and "¥45.00" not in listing


def test_stock_allocated_at_checkout_shows_sold_out(client, db, cache_on):
    from stock.services import allocate

    product = make_product(stock=2)
    commit()
    assert "已售罄" not in client.get(_product_url(product)).get_data(as_text=True)
    allocate({_record_id(db, product): 2})
    commit()
    assert "已售罄" in client.get(_product_url(product)).get_data(as_text=True)


def test_stock_correction_and_receipt_update_badge(client, db, cache_on, now):
    from stock.services import correct_stock, receive_stock

    product = make_product(stock=3)
    actor = make_user(role="admin")
    commit()
    assert "已售罄" not in client.get(_product_url(product)).get_data(as_text=True)
    correct_stock(_record(db, product), -3, reason="盘点", actor=actor, now=now)
    commit()
    assert "已售罄" in client.get(_product_url(product)).get_data(as_text=True)
    receive_stock(_record(db, product), 5, actor=actor, now=now)
    commit()
    page = client.get(_product_url(product)).get_data(as_text=True)
    assert "已售罄" not in page and 'max="5"' in page


def test_cancelled_allocation_and_hand_over_update_badge(client, db, cache_on, now):
    from orders.services.common import stock_lines
    from stock.services import consume_allocation, release_lines
    from tests.orders.factories import make_order

    product = make_product(stock=1)
    actor = make_user(role="admin")
    commit()
    order = make_order(make_user(), [(product, 1)], now=now)
    commit()
    assert "已售罄" in client.get(_product_url(product)).get_data(as_text=True)
    release_lines(stock_lines(order.lines))  # by record id only: its product is found at commit
    commit()
    assert "已售罄" not in client.get(_product_url(product)).get_data(as_text=True)
    order = make_order(make_user(), [(product, 1)], now=now)
    (item,) = stock_lines(order.lines)
    consume_allocation(item.record_id, 1, order_line_id=item.line_id, actor=actor, now=now)
    commit()
    assert "已售罄" in client.get(_product_url(product)).get_data(as_text=True)


def test_unpublishing_makes_next_request_404(client, db, cache_on):
    product = make_product(name="井冈蜜柚")
    commit()
    assert client.get(_product_url(product)).status_code == 200
    assert "井冈蜜柚" in client.get("/").get_data(as_text=True)
    product.is_published = False
    commit()
    assert client.get(_product_url(product)).status_code == 404
    assert "井冈蜜柚" not in client.get("/").get_data(as_text=True)
    assert "井冈蜜柚" not in client.get("/products").get_data(as_text=True)


def test_a_404_is_never_cached(client, db, cache_on):
    product = make_product(name="藜蒿")
    product.is_published = False
    commit()
    url = _product_url(product)
    assert client.get(url).status_code == 404
    product.is_published = True
    commit()
    assert client.get(url).status_code == 200
    missing = client.get("/products/999999-x")
    assert missing.status_code == 404 and "no-store" in missing.headers["Cache-Control"]


def test_checkout_allocation_invalidates_only_the_pages_showing_that_product(client, db, cache_on):
    from stock.services import allocate

    sold = make_product(name="三江腌菜", stock=1)
    other = make_product(name="无花果", stock=9)
    commit()
    for url in (_product_url(sold), _product_url(other), "/", "/products"):
        client.get(url)
    generation = _generation()
    allocate({_record_id(db, sold): 1})  # a Core UPDATE naming its record (pagecache.changes)
    commit()
    assert _generation() == generation, "no global bump for a checkout"
    for url in (_product_url(sold), "/products", "/"):
        hit, page = served_from_cache(client, db, url)
        assert not hit and "已售罄" in page, url
    hit, page = served_from_cache(client, db, _product_url(other))
    assert hit and "已售罄" not in page, "another product's page stays cached"


def test_sold_count_executemany_is_per_product_and_other_pages_stay_cached(client, db, cache_on, now):
    """Placing an order adds to the products' sold counts in one Core executemany, which names its
    products (pagecache.changes): without that it would bump the generation (every page)."""
    from catalog.models import Product
    from tests.orders.factories import make_order

    sold = make_product(name="土鸡蛋", stock=5)
    other = make_product(name="板鸭", stock=5)
    buyer = make_user()
    commit()
    client.get(_product_url(sold))
    client.get(_product_url(other))
    generation = _generation()
    make_order(buyer, [(sold, 2)], now=now)
    commit()
    assert db.session.scalar(sa.select(Product.sold_count).where(Product.id == sold.id)) == 2
    assert _generation() == generation, "no global bump for a sold count"
    assert not served_from_cache(client, db, _product_url(sold))[0]
    assert served_from_cache(client, db, _product_url(other))[0]


def test_orm_stock_change_is_per_product(client, db, cache_on):
    sold = make_product(stock=2)
    other = make_product(stock=2)
    commit()
    client.get(_product_url(sold))
    client.get(_product_url(other))
    record = _record(db, sold)
    record.allocated = record.on_hand
    commit()
    hit, page = served_from_cache(client, db, _product_url(sold))
    assert not hit and "已售罄" in page
    assert served_from_cache(client, db, _product_url(other))[0]


def test_price_change_is_global(client, db, cache_on):
    product = make_product(price_fen=4500)
    other = make_product(price_fen=100)
    commit()
    client.get(_product_url(other))
    generation = _generation()
    product.price_fen = 3900
    commit()
    assert _generation() != generation
    assert not served_from_cache(client, db, _product_url(other))[0]


def test_undeclared_core_update_falls_back_to_a_global_bump(client, db, cache_on):
    from stock.models import StockRecord

    product = make_product(stock=3)
    commit()
    client.get(_product_url(product))
    generation = _generation()
    db.session.execute(sa.update(StockRecord).where(StockRecord.on_hand > 0).values(allocated=StockRecord.on_hand))
    commit()
    assert _generation() != generation
    hit, page = served_from_cache(client, db, _product_url(product))
    assert not hit and "已售罄" in page


def test_a_rolled_back_change_bumps_nothing(client, db, cache_on):
    from shop.db import rollback

    product = make_product(price_fen=4500)
    commit()
    client.get(_product_url(product))
    product.price_fen = 1
    db.session.flush()
    rollback()
    assert served_from_cache(client, db, _product_url(product))[0]


def test_page_rendered_while_its_product_changes_is_not_stored(client, db, cache_on, monkeypatch):
    """A commit that bumps a product between the counter's read and the end of the render: not stored."""
    import catalog.views

    product = make_product(stock=3)
    commit()
    client.get(_product_url(product))
    pagecache.clear()  # (the product has a version now)
    real = catalog.views.get_visible_product

    def racing(product_id):
        found = real(product_id)
        pagecache.products_changed([product_id])  # another worker's checkout commits meanwhile
        return found

    monkeypatch.setattr(catalog.views, "get_visible_product", racing)
    client.get(_product_url(product))
    monkeypatch.setattr(catalog.views, "get_visible_product", real)
    assert not served_from_cache(client, db, _product_url(product))[0], "the raced render was not stored"
    assert served_from_cache(client, db, _product_url(product))[0]


def test_a_product_version_lost_by_the_cache_is_a_miss(client, db, cache_on):
    product = make_product(stock=3)
    commit()
    client.get(_product_url(product))
    client.get(_product_url(product))
    assert served_from_cache(client, db, _product_url(product))[0]
    pagecache.cache.delete(f"{pagecache.VERSION_PREFIX}{product.id}")  # evicted
    assert not served_from_cache(client, db, _product_url(product))[0]
    assert served_from_cache(client, db, _product_url(product))[0]
    pagecache.cache.delete(pagecache.GEN_KEY)  # the generation evicted
    assert not served_from_cache(client, db, _product_url(product))[0]
    assert served_from_cache(client, db, _product_url(product))[0]


# --- keys: parsed and canonically encoded arguments (#17.2) ----------------------------------


def test_escaped_separators_never_share_an_entry_html_and_api(client, db, cache_on):
    for name in ("无花果干", "无花果酱", "无花果茶", "无花果苗"):
        make_product(name=name, price_fen=1000)
    commit()
    crafted = "/products?q=%E6%97%A0%E8%8A%B1%E6%9E%9C%26sort%3Dprice_asc"
    honest = "/products?q=%E6%97%A0%E8%8A%B1%E6%9E%9C&sort=price_asc"
    assert client.get(crafted).status_code == 200  # the crafted request fills its own entry
    page = client.get(honest).get_data(as_text=True)
    assert all(name in page for name in ("无花果干", "无花果酱", "无花果茶", "无花果苗"))
    client.get("/api/v1" + crafted)
    assert client.get("/api/v1" + honest).json["total"] == 4


def test_repeated_arguments_keep_their_order_in_the_key(client, db, cache_on):
    cheap, dear = make_product(name="板鸭甲", price_fen=100), make_product(name="板鸭乙", price_fen=9000)
    commit()
    one = client.get("/products?sort=price_asc&sort=price_desc").get_data(as_text=True)
    other = client.get("/products?sort=price_desc&sort=price_asc").get_data(as_text=True)
    assert one.index(cheap.name) < one.index(dear.name)
    assert other.index(dear.name) < other.index(cheap.name)


_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=8)
_args = st.lists(
    st.tuples(st.sampled_from(["q", "sort", "page", "q&sort", "a=b", "%26", ""]) | _text, _text), max_size=5
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(one=_args, other=_args)
def test_arguments_that_parse_differently_get_different_keys(app, one, other):
    """Any two argument lists, sent as a browser encodes them, get the same key exactly when they
    parse to the same arguments (the same values for each name, in order)."""

    def parsed_and_key(pairs):
        with app.test_request_context("/products?" + urlencode(pairs)):
            from flask import request

            args = request.args
            return (
                {name: args.getlist(name) for name in args},
                pagecache.page_key("html", "zh_CN", request.path, args.items(multi=True)),
            )

    parsed_one, key_one = parsed_and_key(one)
    parsed_other, key_other = parsed_and_key(other)
    assert (key_one == key_other) == (parsed_one == parsed_other)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(one=st.text(max_size=30), other=st.text(max_size=30))
def test_raw_query_strings_that_parse_differently_get_different_keys(app, one, other):
    """The same for arbitrary raw query strings (crafted escapes, stray `%`, `&&`, `=`)."""

    def parsed_and_key(raw):
        wsgi = raw.encode("utf-8").decode("latin-1")  # (a WSGI string holds the bytes as latin-1)
        with app.test_request_context("/products", environ_overrides={"QUERY_STRING": wsgi}):
            from flask import request

            args = request.args
            return (
                {name: args.getlist(name) for name in args},
                pagecache.page_key("html", "zh_CN", request.path, args.items(multi=True)),
            )

    parsed_one, key_one = parsed_and_key(one)
    parsed_other, key_other = parsed_and_key(other)
    assert (key_one == key_other) == (parsed_one == parsed_other)


def test_paths_and_kinds_are_part_of_the_key():
    assert pagecache.page_key("html", "zh_CN", "/products/?q=x", []) != pagecache.page_key(
        "html", "zh_CN", "/products/", [("q", "x")]
    )
    assert pagecache.page_key("api", "zh_CN", "/p", []) != pagecache.page_key("html", "zh_CN", "/p", [])
    assert pagecache.page_key("html", "en", "/p", []) != pagecache.page_key("html", "zh_CN", "/p", [])


# --- the public JSON API ---------------------------------------------------------------------


def test_the_api_product_list_and_detail_are_cached_and_never_stale(client, db, cache_on):
    from stock.services import allocate

    eggs = make_product(name="土鸡蛋", price_fen=1500, stock=5)
    rice = make_product(name="富硒大米", price_fen=3000, stock=5)
    commit()
    urls = ["/api/v1/products?per_page=24", f"/api/v1/products/{eggs.id}"]
    first = [client.get(u).json for u in urls]
    for url, expected in zip(urls, first):
        client.get(url)
        with count_sql(db) as statements:
            again = client.get(url)
        assert statements == [] and again.json == expected and again.mimetype == "application/json"
    stock = {i["id"]: i["stock"] for i in first[0]["items"]}
    allocate({_record_id(db, eggs): 2})  # a checkout: a guarded UPDATE of the stock record
    commit()
    listed = {i["id"]: i for i in client.get(urls[0]).json["items"]}
    assert listed[eggs.id]["stock"] == stock[eggs.id] - 2 and listed[rice.id]["stock"] == stock[rice.id]
    assert client.get(urls[1]).json["stock"] == stock[eggs.id] - 2
    eggs.price_fen = 1800
    commit()
    assert {i["id"]: i["price_fen"] for i in client.get(urls[0]).json["items"]}[eggs.id] == 1800
    assert client.get(urls[1]).json["price_fen"] == 1800
    assert client.get(f"/api/v1/products/{rice.id}").status_code == 200
    rice.is_published = False
    commit()
    assert rice.id not in {i["id"] for i in client.get(urls[0]).json["items"]}
    assert client.get(f"/api/v1/products/{rice.id}").status_code == 404
    assert client.get("/api/v1/products?per_page=abc").status_code == 422


def test_api_errors_are_never_cached(client, db, cache_on):
    product = make_product(stock=1)
    product.is_published = False
    commit()
    assert client.get(f"/api/v1/products/{product.id}").status_code == 404
    product.is_published = True
    commit()
    assert client.get(f"/api/v1/products/{product.id}").status_code == 200


# --- HTTP caching semantics ------------------------------------------------------------------


def test_the_cache_lifetimes_are_read_from_the_environment(client, db, cache_on, monkeypatch):
    """PAGE_CACHE_TTL and PAGE_MAX_AGE are environment variables (README, "Configuration"), like the rest."""
    probe = "import config; print(config.Config.PAGE_CACHE_TTL, config.Config.PAGE_MAX_AGE)"
    env = {k: v for k, v in os.environ.items() if k not in ("PAGE_CACHE_TTL", "PAGE_MAX_AGE")}
    run = functools.partial(subprocess.run, [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True)
    assert run(env=env).stdout.split() == ["300", "0"]
    assert run(env={**env, "PAGE_CACHE_TTL": "600", "PAGE_MAX_AGE": "60"}).stdout.split() == ["600", "60"]
    monkeypatch.setitem(client.application.config, "PAGE_MAX_AGE", 60)
    assert "max-age=60" in client.get("/products").headers["Cache-Control"]


def test_shared_pages_are_public_revalidated_with_an_etag_and_304(client, db, cache_on):
    product = make_product(name="三江腌菜", price_fen=1990)
    commit()
    for url in ("/", "/products", _product_url(product), "/api/v1/products"):
        first = client.get(url)
        control = first.headers["Cache-Control"]
        assert "public" in control and "max-age=0" in control and "must-revalidate" in control, (url, control)
        assert "Cookie" in first.headers["Vary"]
        etag = first.headers["ETag"]
        again = client.get(url, headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.get_data() == b"", url
        assert client.get(url, headers={"If-None-Match": '"other"'}).status_code == 200
    page = client.get(_product_url(product))
    product.price_fen = 2990
    commit()
    changed = client.get(_product_url(product), headers={"If-None-Match": page.headers["ETag"]})
    assert changed.status_code == 200 and "¥29.90" in changed.get_data(as_text=True), "a new price is a new ETag"


@pytest.mark.parametrize("url", ["/cart", "/orders", "/bookings", "/station", "/host", "/county", "/login"])
def test_personal_pages_are_no_store(client, db, auth, cache_on, url):
    user = make_user(email="me@example.com", role="admin")
    commit()
    auth.login(user)
    response = client.get(url)
    assert response.status_code < 500
    assert response.headers["Cache-Control"] == "no-store", (url, response.status_code)
    assert "ETag" not in response.headers


def test_signed_in_pages_are_no_store_and_never_304(client, db, auth, cache_on):
    product = make_product()
    user = make_user(email="me@example.com")
    commit()
    etag = client.get(_product_url(product)).headers["ETag"]  # anonymous: public
    auth.login(user)
    response = client.get(_product_url(product), headers={"If-None-Match": etag})
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert "me@example.com" in response.get_data(as_text=True) or (
        user.name and user.name in response.get_data(as_text=True)
    )


def test_static_files_keep_their_own_cache_control(client, db):
    response = client.get("/static/css/site.css")
    assert response.status_code == 200 and "no-store" not in response.headers.get("Cache-Control", "")
    response.close()


# --- forms on shared pages: no token, protected by Origin / Sec-Fetch-Site ---------------------


def _add_form(page: str) -> str:
    return page[page.index('class="add-to-cart"') : page.index("</form>", page.index('class="add-to-cart"'))]


def test_a_shared_page_carries_no_csrf_token_and_its_form_checks_the_origin(app, db, cache_on, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    product = make_product(stock=5)
    commit()
    app.test_client().get(_product_url(product))  # fills the cache
    visitor = app.test_client()
    with count_sql(db) as statements:
        page = visitor.get(_product_url(product)).get_data(as_text=True)
    assert statements == [], "served from the cache"
    assert "csrf_token" not in page, "nothing personal in a shared page"
    action = re.search(r'action="([^"]+)"', _add_form(page)).group(1)
    data = {"product_id": product.id, "quantity": 1}
    for headers in (
        {"Sec-Fetch-Site": "cross-site", "Origin": "http://localhost"},
        {"Sec-Fetch-Site": "same-site"},
        {"Origin": "http://evil.example"},
        {"Origin": "null"},
        {},
    ):
        refused = visitor.post(action, data=data, headers=headers)
        assert refused.status_code == 400, headers
    assert visitor.get("/cart").get_data(as_text=True).count("cart-line") == 0, "nothing was added"
    for headers in ({"Sec-Fetch-Site": "same-origin"}, {"Origin": "http://localhost"}):
        added = visitor.post(action, data=data, headers=headers)
        assert added.status_code == 303 and "/cart" in added.headers["Location"], headers


def test_a_page_rendered_for_a_signed_in_visitor_carries_the_token(app, db, cache_on, monkeypatch):
    from tests.conftest import AuthActions

    product = make_product(stock=5)
    user = make_user(email="token@example.com")
    commit()
    client = app.test_client()
    AuthActions(client).login(user)
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    page = client.get(_product_url(product)).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', _add_form(page)).group(1)
    assert client.post("/cart/add", data={"product_id": product.id, "quantity": 1}).status_code == 400
    added = client.post("/cart/add", data={"csrf_token": token, "product_id": product.id, "quantity": 1})
    assert added.status_code == 303


# --- signed-in visitors: the shared body, their own personal parts ----------------------------


def _signed_in(app, user):
    from tests.conftest import AuthActions

    browser = app.test_client()
    AuthActions(browser).login(user)
    return browser


def _nav(page: str) -> str:
    return page[page.index('<nav class="nav"') : page.index("</nav>", page.index('<nav class="nav"'))]


def test_signed_in_visitors_never_see_each_others_header_role_links_or_favourites(app, db, cache_on, now):
    """Two signed-in visitors and an anonymous one, in every order of filling the entry: each gets
    their own name, role links and favourite button, never the other's; the entry stays anonymous."""
    from favourites.services import add_favourite

    product = make_product(name="三江腌菜", price_fen=1990)
    buyer = make_user(email="buyer@example.com", name="买家甲")
    operator = make_user(email="op@example.com", name="站长乙", role="operator", station=product.station)
    add_favourite(buyer, product, now=now)
    commit()
    url = _product_url(product)
    for path in (url, "/", "/products"):
        for first in ("buyer", "operator", "anonymous"):
            pagecache.clear()
            browsers = {
                "buyer": _signed_in(app, buyer),
                "operator": _signed_in(app, operator),
                "anonymous": app.test_client(),
            }
            order = [first] + [name for name in browsers if name != first]
            pages = {name: browsers[name].get(path).get_data(as_text=True) for name in order * 2}
            for name in order:  # the second round: every one of them from the entry
                with count_sql(db) as statements:
                    pages[name] = browsers[name].get(path).get_data(as_text=True)
                assert not [s for s in statements if "FROM products" in s], (path, name)
            assert "买家甲" in _nav(pages["buyer"]) and "站长乙" not in pages["buyer"], (path, first)
            assert "站长乙" in _nav(pages["operator"]) and "买家甲" not in pages["operator"], (path, first)
            assert "站点工作台" in pages["operator"] and "站点工作台" not in pages["buyer"], (path, first)
            anonymous = pages["anonymous"]
            assert "买家甲" not in anonymous and "站长乙" not in anonymous and "退出" not in anonymous
            assert "站点工作台" not in anonymous and "csrf_token" not in anonymous and "<!--pc-" not in anonymous
            if path == url:
                assert "已收藏" in pages["buyer"], first
                assert "已收藏" not in pages["operator"] and "已收藏" not in anonymous, first


def test_a_signed_in_visitor_served_from_the_entry_sees_a_new_price_and_sold_out(app, db, cache_on):
    from stock.services import allocate

    product = make_product(name="土鸡蛋", price_fen=4500, stock=2)
    user = make_user(name="买家丙")
    commit()
    browser = _signed_in(app, user)
    url = _product_url(product)
    for path in (url, "/products", "/"):
        assert "¥45.00" in browser.get(path).get_data(as_text=True), path
        assert "¥45.00" in browser.get(path).get_data(as_text=True), path  # from the entry
    product.price_fen = 3900
    commit()
    for path in (url, "/products", "/"):
        page = browser.get(path).get_data(as_text=True)
        assert "¥39.00" in page and "¥45.00" not in page and "买家丙" in page, path
    assert "已售罄" not in browser.get(url).get_data(as_text=True)
    allocate({_record_id(db, product): 2})
    commit()
    page = browser.get(url).get_data(as_text=True)
    assert "已售罄" in page and "买家丙" in page


def test_a_signed_in_visitor_served_from_the_entry_gets_their_own_working_token(app, db, cache_on, monkeypatch):
    product = make_product(stock=5)
    one, two = make_user(name="甲"), make_user(name="乙")
    commit()
    url, product_id = _product_url(product), product.id
    app.test_client().get(url)  # the entry, filled by an anonymous visitor
    browsers = {user.id: _signed_in(app, user) for user in (one, two)}
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    tokens = {}
    for user in (one.id, two.id):
        browser = browsers[user]
        with count_sql(db) as statements:
            page = browser.get(url).get_data(as_text=True)
        assert not [s for s in statements if "FROM products" in s], "from the entry"
        form = _add_form(page)
        tokens[user] = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
        fav = page[page.index('class="fav-form"') : page.index("</form>", page.index('class="fav-form"'))]
        assert f'value="{tokens[user]}"' in fav
        assert browser.post("/cart/add", data={"product_id": product_id, "quantity": 1}).status_code == 400
        added = browser.post("/cart/add", data={"csrf_token": tokens[user], "product_id": product_id, "quantity": 1})
        assert added.status_code == 303
    assert tokens[one.id] != tokens[two.id]


def test_a_signed_in_visitors_flash_shows_once_and_never_reaches_the_entry(app, db, cache_on):
    product = make_product()
    user = make_user(name="买家丁")
    commit()
    url = _product_url(product)
    browser = _signed_in(app, user)
    browser.get(url)  # the entry
    with browser.session_transaction() as s:
        s["_flashes"] = [("success", "已收藏")]
    with count_sql(db) as statements:
        page = browser.get(url).get_data(as_text=True)
    assert not [s for s in statements if "FROM products" in s]
    assert 'class="alert alert-success"' in page and "买家丁" in page
    assert 'class="alert alert-success"' not in browser.get(url).get_data(as_text=True)
    pagecache.clear()
    with browser.session_transaction() as s:
        s["_flashes"] = [("success", "已收藏")]
    assert 'class="alert alert-success"' in browser.get(url).get_data(as_text=True)  # a miss renders it too
    anonymous = app.test_client().get(url).get_data(as_text=True)
    assert 'class="alert' not in anonymous and "买家丁" not in anonymous


def test_signed_in_visitors_get_the_entry_of_their_language(app, db, cache_on):
    product = make_product(name="板鸭")
    english = make_user(name="Ann")
    english.locale = "en"
    chinese = make_user(name="王芳")
    commit()
    url = _product_url(product)
    for _ in range(2):
        page_en = _signed_in(app, english).get(url).get_data(as_text=True)
        page_zh = _signed_in(app, chinese).get(url).get_data(as_text=True)
        assert 'hreflang="zh-CN"' in page_en and 'hreflang="en"' not in page_en and "Ann" in page_en
        assert 'hreflang="en"' in page_zh and 'hreflang="zh-CN"' not in page_zh and "王芳" in page_zh
        assert "Sign out" in page_en or "Log out" in page_en
    assert 'hreflang="en"' in app.test_client().get(url).get_data(as_text=True)


def test_while_the_cache_is_down_a_signed_in_visitor_gets_a_full_render_of_their_own(app, db, cache_on, monkeypatch):
    product = make_product(name="藜蒿", price_fen=1200)
    user = make_user(name="买家戊")
    commit()
    url = _product_url(product)
    browser = _signed_in(app, user)
    assert "买家戊" in browser.get(url).get_data(as_text=True)  # the entry
    monkeypatch.setattr(app.extensions["page_cache_outage"], "down", True)
    product.price_fen = 1500
    commit()  # (the bump is only counted while down)
    with count_sql(db) as statements:
        page = browser.get(url).get_data(as_text=True)
    assert [s for s in statements if "FROM products" in s], "rendered, not read from the cache"
    assert "买家戊" in page and "¥15.00" in page and "¥12.00" not in page and "<!--pc-" not in page


def test_marked_parts_come_out_whole_and_in_their_places(app):
    """What a stored render marks (`personal_part` with the marks on) is taken out byte for byte, and
    every part is found with its name and arguments; a name or argument the marks could not carry is
    refused when rendering, never left in a page."""
    from flask import g

    with app.test_request_context("/"):
        g.page_cache_shared = g.page_cache_marks = True
        template = app.jinja_env.from_string(
            "<p>一{{ personal_part('csrf') }}二{{ personal_part('fav', 'product', 42) }}三</p>"
        )
        body, parts = pagecache.split_parts(template.render().encode())
        g.page_cache_marks = False
        plain = template.render().encode()
        assert body == plain and b"<!--pc-" not in body
        assert [(name, args) for _start, _end, name, args in parts] == [("csrf", ()), ("fav", ("product", 42))]
        for start, end, name, args in parts:
            assert body[start:end] == str(getattr(pagecache.parts_module({}), name)(*args)).encode()
        g.page_cache_marks = True
        for bad in (
            "{{ personal_part('fav', '产品', 1) }}",
            "{{ personal_part('Fav', 'product', 1) }}",
            "{{ personal_part('fav', 'a:b', 1) }}",
        ):
            with pytest.raises(ValueError):
                app.jinja_env.from_string(bad).render()
