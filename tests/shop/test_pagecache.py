"""Whole-page cache for anonymous visitors: hits, invalidation (price, stock, unpublish), exclusions."""
from __future__ import annotations

import re
from contextlib import contextmanager

import pytest
import sqlalchemy as sa

from shop import pagecache
from shop.frontdoor import FrontDoor
from shop.db import commit
from tests.factories import make_product, make_user


@contextmanager
def count_sql(db):
    statements: list[str] = []
    engine = db.engines[None].engine

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


def _product_url(product) -> str:
    return f"/products/{product.id}-{product.slug}"


def test_second_anonymous_request_is_served_from_cache_without_sql(client, db, cache_on):
    product = make_product(name="三江腌菜", price_fen=1990)
    commit()
    for url in ("/", "/products", _product_url(product), f"/villages/{product.village.slug}",
                f"/categories/{product.category.slug}"):
        first = client.get(url)
        assert first.status_code == 200, url
        with count_sql(db) as statements:
            second = client.get(url)
        assert second.status_code == 200
        assert second.get_data(as_text=True) == first.get_data(as_text=True) or "csrf_token" in first.get_data(as_text=True)
        assert statements == [], (url, statements)
        assert "Content-Security-Policy" in second.headers
        assert "三江腌菜" in second.get_data(as_text=True)


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
    from stations.services.stock import allocate

    product = make_product(stock=2)
    commit()
    assert "已售罄" not in client.get(_product_url(product)).get_data(as_text=True)
    allocate({_record_id(db, product): 2})
    commit()
    assert "已售罄" in client.get(_product_url(product)).get_data(as_text=True)


def _record_id(db, product) -> int:
    from stations.models import StockRecord

    return db.session.scalar(sa.select(StockRecord.id).where(StockRecord.product_id == product.id))


def _record(db, product):
    from stations.models import StockRecord

    return db.session.scalar(sa.select(StockRecord).where(StockRecord.product_id == product.id))


def test_stock_correction_and_receipt_update_badge(client, db, cache_on, now):
    from stations.services.stock import correct_stock, receive_stock

    product = make_product(stock=3)
    actor = make_user(role="admin")
    commit()
    assert "已售罄" not in client.get(_product_url(product)).get_data(as_text=True)
    correct_stock(_record(db, product), -3, reason="盘点", actor=actor, now=now)
    commit()
    page = client.get(_product_url(product)).get_data(as_text=True)
    assert "已售罄" in page
    receive_stock(_record(db, product), 5, actor=actor, now=now)
    commit()
    page = client.get(_product_url(product)).get_data(as_text=True)
    assert "已售罄" not in page and 'max="5"' in page


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


def test_logged_in_users_never_get_a_cached_page(client, db, auth, cache_on):
    product = make_product()
    user = make_user(email="buyer@example.com")
    commit()
    anonymous = client.get(_product_url(product)).get_data(as_text=True)
    assert "buyer@example.com" not in anonymous
    auth.login(user)
    with count_sql(db) as statements:
        page = client.get(_product_url(product)).get_data(as_text=True)
    assert statements, "a logged-in page is rendered, not served from the cache"
    assert "buyer@example.com" in page or (user.name and user.name in page)
    assert client.get("/").get_data(as_text=True).count("退出") >= 1


def test_add_to_cart_form_on_cached_page_works_with_csrf(app, db, cache_on, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    product = make_product(stock=5)
    commit()
    first_visitor = app.test_client()
    first_visitor.get(_product_url(product))  # fills the cache with this visitor's page
    visitor = app.test_client()
    with count_sql(db) as statements:
        page = visitor.get(_product_url(product)).get_data(as_text=True)
    assert not [s for s in statements if "products" in s], "served from the cache"
    assert pagecache.CSRF_PLACEHOLDER not in page
    form = page[page.index('class="add-to-cart"'):]
    action = re.search(r'action="([^"]+)"', form).group(1)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    refused = visitor.post(action, data={"product_id": product.id, "quantity": 1})
    assert refused.status_code == 400
    added = visitor.post(action, data={"csrf_token": token, "product_id": product.id, "quantity": 1})
    assert added.status_code == 303, added.get_data(as_text=True)[:500]
    assert "/cart" in added.headers["Location"]


def test_english_and_chinese_are_cached_separately(client, db, cache_on):
    product = make_product()
    commit()
    url = _product_url(product)
    zh = client.get(url).get_data(as_text=True)
    assert 'hreflang="en"' in zh
    client.get("/lang/en")
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


def test_inline_nonce_is_per_request(app, db, cache_on):
    """Cached bodies hold a placeholder instead of the nonce; each response gets its own."""
    from flask import g

    with app.test_request_context("/"):
        g.csp_nonce = "NONCE123"
        g.csrf_token = "TOKEN456"
        stored = pagecache._template('<script nonce="NONCE123"></script><input value="TOKEN456">')
        assert "NONCE123" not in stored and "TOKEN456" not in stored
    with app.test_request_context("/"):
        from shop.security import csp_nonce

        filled = pagecache._fill(stored)
        assert f'nonce="{csp_nonce()}"' in filled and pagecache.CSRF_PLACEHOLDER not in filled


def test_local_backend_is_bounded_lru():
    store = pagecache.LocalBackend(max_entries=2)
    store.set("a", "A", 60)
    store.set("b", "B", 60)
    assert store.get("a") == "A"
    store.set("c", "C", 60)
    assert store.get("b") is None and store.get("a") == "A" and store.get("c") == "C"
    store.bump()
    assert store.get("a") is None


@pytest.mark.skipif(not __import__("os").environ.get("TEST_REDIS_URL"), reason="set TEST_REDIS_URL to test the Redis backend")
def test_redis_backend_shares_the_generation_between_processes():
    import os

    one = pagecache.RedisBackend(os.environ["TEST_REDIS_URL"])
    other = pagecache.RedisBackend(os.environ["TEST_REDIS_URL"])  # another worker
    gen, seq = one.snapshot()
    assert one.store("zh_CN|/products?", pagecache.Entry(gen, "s1", "<html>old</html>"), [], seq, 60)
    assert other.lookup("zh_CN|/products?", None).body == "<html>old</html>"
    other.bump()
    assert one.lookup("zh_CN|/products?", None) is None


@pytest.mark.skipif(not __import__("os").environ.get("TEST_REDIS_URL"), reason="set TEST_REDIS_URL to test the Redis backend")
def test_redis_lookup_connection_closed_by_the_server_fails_that_lookup_only(monkeypatch):
    """A hit's lookup runs on the thread's own connection: when Redis drops it (a restart, a
    timeout), that lookup fails (the request then goes to the app) and the next one reconnects."""
    import os

    import redis

    store = pagecache.RedisBackend(os.environ["TEST_REDIS_URL"])
    gen, seq = store.snapshot()
    assert store.store("zh_CN|/?", pagecache.Entry(gen, "s1", "<html>home</html>"), [], seq, 60)
    assert store.lookup("zh_CN|/?", None).body == "<html>home</html>"
    own = store._threads.conn
    own.send_command("CLIENT", "ID")
    store.client.client_kill_filter(_id=own.read_response())
    with pytest.raises(redis.exceptions.ConnectionError):
        store.lookup("zh_CN|/?", None)
    assert store.lookup("zh_CN|/?", None).body == "<html>home</html>"
    assert store._threads.conn is not own
    again = store._threads.conn
    monkeypatch.setattr(pagecache.os, "getpid", lambda: -1)  # as in a worker forked after a lookup
    assert store.lookup("zh_CN|/?", None).body == "<html>home</html>" and store._threads.conn is not again


# --- per-product invalidation (a checkout invalidates only what it changed) ---------------------

def _served_from_cache(client, db, url) -> tuple[bool, str]:
    with count_sql(db) as statements:
        page = client.get(url).get_data(as_text=True)
    return statements == [], page


def test_checkout_allocation_invalidates_only_the_pages_showing_that_product(client, db, cache_on):
    from stations.services.stock import allocate

    sold = make_product(name="三江腌菜", stock=1)
    other = make_product(name="无花果", stock=9)
    commit()
    for url in (_product_url(sold), _product_url(other), "/", "/products"):
        client.get(url)
    allocate({_record_id(db, sold): 1})  # a Core UPDATE naming the record by id
    commit()
    hit, page = _served_from_cache(client, db, _product_url(sold))
    assert not hit and "已售罄" in page
    hit, page = _served_from_cache(client, db, "/products")
    assert not hit and "已售罄" in page
    hit, page = _served_from_cache(client, db, "/")
    assert not hit and "已售罄" in page
    hit, page = _served_from_cache(client, db, _product_url(other))
    assert hit and "已售罄" not in page, "another product's page stays cached"


def test_sold_count_executemany_is_per_product_and_other_pages_stay_cached(client, db, cache_on):
    from orders.services.placement import _add_sold_counts

    sold = make_product(name="土鸡蛋", stock=5)
    other = make_product(name="板鸭", stock=5)
    commit()
    client.get(_product_url(sold))
    client.get(_product_url(other))
    gen = pagecache.backend().generation()
    _add_sold_counts({sold.id: 2})
    commit()
    assert pagecache.backend().generation() == gen, "no global bump for a sold count"
    assert not _served_from_cache(client, db, _product_url(sold))[0]
    assert _served_from_cache(client, db, _product_url(other))[0]


def test_orm_stock_change_is_per_product(client, db, cache_on):
    sold = make_product(stock=2)
    other = make_product(stock=2)
    commit()
    client.get(_product_url(sold))
    client.get(_product_url(other))
    record = _record(db, sold)
    record.allocated = record.on_hand
    commit()
    hit, page = _served_from_cache(client, db, _product_url(sold))
    assert not hit and "已售罄" in page
    assert _served_from_cache(client, db, _product_url(other))[0]


def test_price_change_is_global(client, db, cache_on):
    product = make_product(price_fen=4500)
    other = make_product(price_fen=100)
    commit()
    client.get(_product_url(other))
    gen = pagecache.backend().generation()
    product.price_fen = 3900
    commit()
    assert pagecache.backend().generation() != gen
    assert not _served_from_cache(client, db, _product_url(other))[0]


def test_stock_update_without_ids_falls_back_to_a_global_bump(client, db, cache_on):
    from stations.models import StockRecord

    product = make_product(stock=3)
    commit()
    client.get(_product_url(product))
    gen = pagecache.backend().generation()
    db.session.execute(sa.update(StockRecord).where(StockRecord.on_hand > 0).values(allocated=StockRecord.on_hand))
    commit()
    assert pagecache.backend().generation() != gen
    hit, page = _served_from_cache(client, db, _product_url(product))
    assert not hit and "已售罄" in page


def test_page_rendered_while_its_product_changes_is_not_stored(client, db, cache_on, monkeypatch):
    """A commit that bumps a product between the snapshot and the end of the render: not stored."""
    import catalog.views

    product = make_product(stock=3)
    commit()
    real = catalog.views.get_visible_product

    def racing(product_id):
        found = real(product_id)
        pagecache.products_changed([product_id])  # another worker's checkout commits meanwhile
        return found

    monkeypatch.setattr(catalog.views, "get_visible_product", racing)
    client.get(_product_url(product))
    monkeypatch.setattr(catalog.views, "get_visible_product", real)
    assert not _served_from_cache(client, db, _product_url(product))[0], "the raced render was not stored"
    assert _served_from_cache(client, db, _product_url(product))[0]


def test_worker_copy_is_revalidated_on_every_hit(client, db, cache_on):
    """The in-process copy of an entry never outlives a version bump made by another process."""
    product = make_product(stock=1)
    commit()
    client.get(_product_url(product))
    assert _served_from_cache(client, db, _product_url(product))[0]
    pagecache.backend().bump_products([product.id])  # as if another worker's commit did it
    assert not _served_from_cache(client, db, _product_url(product))[0]


@pytest.mark.parametrize("kind", ["local", "redis"])
def test_backend_product_bump_invalidates_exactly_the_pages_showing_it(kind):
    import os

    if kind == "redis":
        if not os.environ.get("TEST_REDIS_URL"):
            pytest.skip("set TEST_REDIS_URL to test the Redis backend")
        one = pagecache.RedisBackend(os.environ["TEST_REDIS_URL"])
        other = pagecache.RedisBackend(os.environ["TEST_REDIS_URL"])  # another worker
    else:
        one = other = pagecache.LocalBackend()
    gen, seq = one.snapshot()
    a = pagecache.Entry(gen, pagecache.new_stamp(), "<html>a</html>")
    b = pagecache.Entry(gen, pagecache.new_stamp(), "<html>b</html>")
    assert one.store("t|/products/424242?", a, [424242], seq, 60)
    assert one.store("t|/products?", b, [424242, 434343], seq, 60)
    assert other.lookup("t|/products/424242?", None).body == "<html>a</html>"
    assert other.lookup("t|/products?", None).body == "<html>b</html>"
    other.bump_products([434343])
    assert one.lookup("t|/products?", b) is None, "the page showing 434343 is invalid, also as a local copy"
    assert one.lookup("t|/products/424242?", a) is a, "the other product's page stays valid"
    # a render that began before the bump (old sequence) is refused for a page showing that product
    c = pagecache.Entry(gen, pagecache.new_stamp(), "<html>stale</html>")
    assert not one.store("t|/products?", c, [434343], seq, 60)
    assert one.lookup("t|/products?", None) is None
    gen2, seq2 = one.snapshot()
    assert seq2 > seq
    assert one.store("t|/products?", c, [434343], seq2, 60)
    assert other.lookup("t|/products?", None).body == "<html>stale</html>"


# --- the front door (cookieless anonymous hits answered before Flask) ---------------------------

def test_front_door_serves_a_first_visit_like_the_app_would(app, db, cache_on, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    product = make_product(name="富硒大米", stock=4)
    commit()
    url = _product_url(product)
    rendered = app.test_client().get(url)  # a miss: Flask renders and stores
    visitor = app.test_client()
    calls = []
    monkeypatch.setattr(FrontDoor, "_respond", lambda self, *a: calls.append(1) or _REAL_RESPOND(self, *a))
    with count_sql(db) as statements:
        served = visitor.get(url)
    assert calls == [1] and statements == [], "answered by the front door"
    assert served.status_code == 200 and served.mimetype == "text/html"
    for header in ("X-Content-Type-Options", "Referrer-Policy", "X-Frame-Options"):
        assert served.headers[header] == rendered.headers[header]
    nonce = re.search(r"'nonce-([^']+)'", served.headers["Content-Security-Policy"]).group(1)
    page = served.get_data(as_text=True)
    assert pagecache.NONCE_PLACEHOLDER not in page and pagecache.CSRF_PLACEHOLDER not in page
    assert (f'nonce="{nonce}"' in page) or ("nonce=" not in page)
    assert "富硒大米" in page and "Set-Cookie" in served.headers and served.headers["Vary"] == "Cookie"
    token = re.search(r'name="csrf_token" value="([^"]+)"', page[page.index('class="add-to-cart"'):]).group(1)
    added = visitor.post("/cart/add", data={"csrf_token": token, "product_id": product.id, "quantity": 1})
    assert added.status_code == 303 and "/cart" in added.headers["Location"]


def test_front_door_leaves_sessions_tokens_lang_and_other_paths_to_the_app(app, db, cache_on, monkeypatch):
    product = make_product(stock=4)
    commit()
    url = _product_url(product)
    app.test_client().get(url)
    calls = []
    monkeypatch.setattr(FrontDoor, "_respond", lambda self, *a: calls.append(1) or _REAL_RESPOND(self, *a))
    client = app.test_client()
    client.get(url)  # cookieless: the door
    assert calls == [1]
    client.get(url)  # now with the session cookie it was given: through Flask (still from the cache)
    app.test_client().get(url + "?lang=en")
    app.test_client().get(url, headers={"Authorization": "Bearer x"})
    app.test_client().post(url)
    app.test_client().get("/healthz")
    assert calls == [1]


def test_front_door_never_serves_a_page_invalidated_by_a_checkout(app, db, cache_on):
    from stations.services.stock import allocate

    product = make_product(stock=1)
    commit()
    url = _product_url(product)
    app.test_client().get(url)
    assert "已售罄" not in app.test_client().get(url).get_data(as_text=True)
    allocate({_record_id(db, product): 1})
    commit()
    assert "已售罄" in app.test_client().get(url).get_data(as_text=True)


_REAL_RESPOND = FrontDoor._respond


def test_logged_in_visitor_gets_the_cached_page_with_their_own_header(client, db, auth, cache_on):
    product = make_product(name="柴鸡蛋", stock=3)
    user = make_user(email="header@example.com")
    commit()
    url = _product_url(product)
    anonymous = pagecache.backend()  # fill the cache as an anonymous visitor
    client.get(url)
    auth.login(user)
    client.get(url)  # logged-in visitors share their own entry (stored without header): a miss first
    with count_sql(db) as statements:
        page = client.get(url).get_data(as_text=True)
    assert not [s for s in statements if "FROM products" in s], "the content came from the cache"
    assert "header@example.com" in page or (user.name and user.name in page)
    assert "退出" in page and "柴鸡蛋" in page and pagecache.CSRF_PLACEHOLDER not in page
    header = page[page.index("<!--pc:header-->"):page.index("<!--/pc:header-->")]
    assert "/login" not in header, "no anonymous header left"
    auth.logout() if hasattr(auth, "logout") else client.post("/logout")
    other = client.application.test_client().get(url).get_data(as_text=True)
    assert "header@example.com" not in other and anonymous is pagecache.backend()


def test_cacheable_templates_keep_the_visitor_out_of_their_content():
    """Only _macros/_header.html and _macros/_flashes.html may depend on the visitor (see _personalize)."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "templates"
    for path in [*root.glob("catalog/*.html"), *root.glob("home/*.html"), root / "_macros" / "catalog.html",
                 root / "orders" / "_add_to_cart.html", root / "county" / "_benefit_note.html"]:
        text = path.read_text(encoding="utf-8")
        for word in ("current_user", "session", "get_flashed_messages", "nav_extra"):
            assert word not in text, f"{path.name} uses {word}: cached pages are shared between visitors"


def test_logged_in_renders_are_shared_between_logged_in_visitors_only(app, db, cache_on):
    from tests.conftest import AuthActions

    product = make_product(name="藜蒿", stock=3)
    alice, bob = make_user(email="alice@example.com"), make_user(email="bob@example.com")
    commit()
    url = _product_url(product)
    a, b = app.test_client(), app.test_client()
    AuthActions(a).login(alice)
    AuthActions(b).login(bob)
    alice.name, bob.name = "爱丽丝", "鲍勃"
    commit()
    assert "爱丽丝" in a.get(url).get_data(as_text=True)  # a miss: rendered, stored without the header
    with count_sql(db) as statements:
        page = b.get(url).get_data(as_text=True)
    assert not [s for s in statements if "FROM products" in s], "bob gets the shared content"
    assert "鲍勃" in page and "爱丽丝" not in page and "藜蒿" in page
    anonymous = app.test_client().get(url).get_data(as_text=True)
    assert "爱丽丝" not in anonymous and "鲍勃" not in anonymous and "登录" in anonymous


def test_a_cache_outage_serves_rendered_pages_and_logs_its_traceback_once_a_minute(client, db, cache_on, monkeypatch,
                                                                                  caplog):
    """Redis down: every anonymous page is rendered by the app (200, current), and the log gets one
    traceback per minute and message, not one per request."""
    product = make_product(price_fen=1234)
    commit()

    class Down(pagecache.LocalBackend):
        def lookup(self, key, local):
            raise ConnectionError("cache down")

    monkeypatch.setattr(pagecache, "_backend", Down())
    monkeypatch.setattr(pagecache, "_backend_url", "")
    monkeypatch.setattr(pagecache, "_outage_logged", {})
    clock = {"now": 1000.0}
    monkeypatch.setattr(pagecache.time, "monotonic", lambda: clock["now"])
    with caplog.at_level("ERROR"):
        for _ in range(5):
            response = client.get(_product_url(product))
            assert response.status_code == 200 and "12.34" in response.get_data(as_text=True)
        assert [r.getMessage() for r in caplog.records if "page cache" in r.getMessage()] == ["page cache unavailable"]
        clock["now"] += pagecache.OUTAGE_LOG_SECONDS
        client.get(_product_url(product))
    logged = [r for r in caplog.records if "page cache" in r.getMessage()]
    assert [r.getMessage() for r in logged] == ["page cache unavailable",
                                                "page cache unavailable (4 more since the last report)"]
    assert all(r.exc_info for r in logged)


# --- the public JSON API (cached_api) -----------------------------------------------------------

def test_the_api_product_list_and_detail_are_cached_and_never_stale(client, db, cache_on):
    from stations.services.stock import allocate

    eggs = make_product(name="土鸡蛋", price_fen=1500, stock=5)
    rice = make_product(name="富硒大米", price_fen=3000, stock=5)
    commit()
    urls = ["/api/v1/products?per_page=24", f"/api/v1/products/{eggs.id}"]
    first = [client.get(u).json for u in urls]
    for url, expected in zip(urls, first):
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
