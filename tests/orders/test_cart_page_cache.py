"""The cart page cached per signed-in user (shop.pagecache.user_page + orders/cart_pages.py): a hit
costs only the user's own query, and every change the page shows makes the next request a miss —
the buyer's own cart changes, prices, stock, unpublishing — and one user never sees another's cart."""
from __future__ import annotations

import os

import pytest
import sqlalchemy as sa

from shop import pagecache
from shop.db import commit
from tests.conftest import AuthActions
from tests.factories import make_product, make_user
from tests.sql_count import count_statements


def _cart(client, db) -> tuple[bool, str]:
    """(served from the cache, page): a hit runs no statement but the user's load."""
    with count_statements() as statements:
        response = client.get("/cart")
    assert response.status_code == 200
    return not [s for s in statements if "cart" in s.lower()], response.get_data(as_text=True)


def _buyer(app, email="buyer@example.com"):
    user = make_user(email=email, name=email.split("@")[0])
    commit()
    client = app.test_client()
    AuthActions(client).login(user)
    return user, client


def _add(client, product, quantity=1):
    assert client.post("/cart/add", data={"product_id": product.id, "quantity": quantity}).status_code in (302, 303)


def _warm(client, db) -> str:
    _cart(client, db)  # a miss (shows any flash message)
    hit, page = _cart(client, db)
    assert hit, "the second request is served from the cache"
    return page


def test_second_request_is_a_hit_and_own_changes_show_at_once(app, db, cache_on):
    egg = make_product(name="土鸡蛋", price_fen=4500, stock=9)
    pickle = make_product(name="三江腌菜", price_fen=1990, stock=9)
    _, client = _buyer(app)
    _add(client, egg)
    page = _warm(client, db)
    assert "土鸡蛋" in page and "¥45.00" in page and pagecache.CSRF_PLACEHOLDER not in page
    _add(client, pickle, 2)  # add a line
    hit, page = _cart(client, db)
    assert not hit and "三江腌菜" in page and "¥39.80" in page
    line_id = int(page.split('action="/cart/lines/')[1].split('"')[0])
    assert _cart(client, db)[0]
    client.post(f"/cart/lines/{line_id}", data={"quantity": "3"})  # change a quantity
    hit, page = _cart(client, db)
    assert not hit and 'value="3"' in page
    assert _cart(client, db)[0]
    client.post(f"/cart/lines/{line_id}", data={"remove": "1"})  # remove a line
    hit, page = _cart(client, db)
    assert not hit and "土鸡蛋" not in page and "三江腌菜" in page


def test_price_change_shows_the_new_price_and_the_old_one(app, db, cache_on):
    product = make_product(name="土鸡蛋", price_fen=4500, stock=9)
    _, client = _buyer(app)
    _add(client, product)
    _warm(client, db)
    product.price_fen = 3900
    commit()
    hit, page = _cart(client, db)
    assert not hit and "¥39.00" in page and "<s>¥45.00</s>" in page
    client.post("/cart/acknowledge")  # seen: the old price goes away
    hit, page = _cart(client, db)
    assert not hit and "<s>¥45.00</s>" not in page


def test_another_buyers_checkout_shows_the_shortage(app, db, cache_on):
    from stations.models import StockRecord
    from stations.services.stock import allocate

    product = make_product(name="土鸡蛋", stock=3)
    _, client = _buyer(app)
    _add(client, product, 2)
    assert "库存仅剩" not in _warm(client, db)
    record = db.session.scalar(sa.select(StockRecord.id).where(StockRecord.product_id == product.id))
    allocate({record: 2})  # someone else buys 2 of the 3
    commit()
    hit, page = _cart(client, db)
    assert not hit and "库存仅剩 1" in page and "去结算" not in page


def test_unpublished_product_shows_as_withdrawn(app, db, cache_on):
    product = make_product(name="井冈蜜柚", stock=3)
    _, client = _buyer(app)
    _add(client, product)
    _warm(client, db)
    product.is_published = False
    commit()
    hit, page = _cart(client, db)
    assert not hit and "已下架" in page


def test_each_user_sees_only_their_own_cart_and_header(app, db, cache_on):
    egg = make_product(name="土鸡蛋", stock=9)
    pickle = make_product(name="三江腌菜", stock=9)
    _, alice = _buyer(app, "alice@example.com")
    _, bob = _buyer(app, "bob@example.com")
    _add(alice, egg)
    _add(bob, pickle)
    a, b = _warm(alice, db), _warm(bob, db)
    assert "土鸡蛋" in a and "三江腌菜" not in a and ">alice<" in a and ">bob<" not in a
    assert "三江腌菜" in b and "土鸡蛋" not in b and ">bob<" in b and ">alice<" not in b
    _add(alice, pickle)  # alice's change leaves bob's entry alone
    assert _cart(bob, db)[0]
    guest = app.test_client()
    page = guest.get("/cart").get_data(as_text=True)
    assert "土鸡蛋" not in page and "三江腌菜" not in page


def test_cart_changed_while_the_page_renders_is_not_stored(app, db, cache_on, monkeypatch):
    import orders.views
    from orders.services import cart as carts

    product = make_product(stock=9)
    user, client = _buyer(app)
    _add(client, product)
    _cart(client, db)
    real = carts.get_cart_to_show

    def racing(**kwargs):
        found = real(**kwargs)
        pagecache.products_changed([pagecache.user_dependency(user.id)])  # another tab's commit meanwhile
        return found

    monkeypatch.setattr(orders.views.carts, "get_cart_to_show", racing)
    pagecache.clear()
    _cart(client, db)
    monkeypatch.setattr(orders.views.carts, "get_cart_to_show", real)
    assert not _cart(client, db)[0], "the raced render was not stored"
    assert _cart(client, db)[0]


def test_cart_lines_changed_by_core_sql_fall_back_to_a_global_bump(app, db, cache_on):
    from orders.models import CartLine

    product = make_product(stock=9)
    _, client = _buyer(app)
    _add(client, product)
    _warm(client, db)
    gen = pagecache.backend().generation()
    db.session.execute(sa.update(CartLine).values(quantity=5))
    commit()
    assert pagecache.backend().generation() != gen
    hit, page = _cart(client, db)
    assert not hit and 'value="5"' in page


def test_line_changed_without_its_cart_in_the_session_falls_back_to_a_global_bump(app, db, cache_on):
    from orders.models import CartLine

    product = make_product(stock=9)
    _, client = _buyer(app)
    _add(client, product)
    _warm(client, db)
    db.session.expunge_all()
    line = db.session.scalar(sa.select(CartLine))
    line.quantity = 4
    commit()
    hit, page = _cart(client, db)
    assert not hit and 'value="4"' in page


def test_redis_backend_user_dependency():
    if not os.environ.get("TEST_REDIS_URL"):
        pytest.skip("set TEST_REDIS_URL to test the Redis backend")
    one = pagecache.RedisBackend(os.environ["TEST_REDIS_URL"])
    other = pagecache.RedisBackend(os.environ["TEST_REDIS_URL"])  # another worker
    gen, seq = one.snapshot()
    dep = pagecache.user_dependency(987654)
    entry = pagecache.Entry(gen, pagecache.new_stamp(), "<html>cart</html>")
    assert one.store("p987654|zh_CN|/cart?", entry, [dep, 424242], seq, 60)
    assert other.lookup("p987654|zh_CN|/cart?", None).body == "<html>cart</html>"
    other.bump_products([dep])
    assert one.lookup("p987654|zh_CN|/cart?", entry) is None
    assert not one.store("p987654|zh_CN|/cart?", entry, [dep], seq, 60), "a render from before the change"
