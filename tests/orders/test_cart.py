"""Cart (guest and user), merge on login, changes shown, HTML checkout."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa

from orders.models import Address, Cart, CartLine, Order
from shop.db import commit
from shop.once import new_form_token
from shop.timeutil import local_date, now_utc
from stock.models import StockRecord
from tests.factories import make_product, make_station, make_user
from tests.orders.factories import checkout_form


def _cart_lines(db):
    return db.session.scalars(sa.select(CartLine).order_by(CartLine.id)).all()


def test_guest_adds_changes_and_removes_lines(client, db):
    product = make_product(name="三江腌菜", price_fen=1200, stock=10)
    res = client.post("/cart/add", data={"product_id": product.id, "quantity": 2})
    assert res.status_code == 303
    client.post("/cart/add", data={"product_id": product.id, "quantity": 1})
    [line] = _cart_lines(db)
    assert line.quantity == 3 and line.seen_price_fen == 1200
    page = client.get("/cart").get_data(as_text=True)
    assert "三江腌菜" in page and "¥36.00" in page
    client.post(f"/cart/lines/{line.id}", data={"quantity": 5})
    db.session.expire_all()
    assert _cart_lines(db)[0].quantity == 5
    assert "已从购物车删除" not in client.get("/cart").get_data(as_text=True)
    res = client.post(f"/cart/lines/{line.id}", data={"remove": "1"})
    assert _cart_lines(db) == []
    assert "已从购物车删除" in client.get(res.headers["Location"]).get_data(as_text=True), "the removal is said"
    client.post("/cart/add", data={"product_id": product.id, "quantity": 1})
    [line] = _cart_lines(db)
    client.post(f"/cart/lines/{line.id}", data={"quantity": 0})  # a quantity of 0 removes the line too
    assert _cart_lines(db) == [] and "已从购物车删除" in client.get("/cart").get_data(as_text=True)


def test_a_cart_line_has_the_product_pages_stepper_within_what_the_cart_takes(client, db):
    product = make_product(name="三江腌菜", stock=7)
    client.post("/cart/add", data={"product_id": product.id, "quantity": 2})
    [line] = _cart_lines(db)
    page = client.get("/cart").get_data(as_text=True)
    form = re.search(r'<form[^>]*class="qty-form".*?</form>', page, re.S).group(0)
    field = re.search(r'<input id="q(\d+)"[^>]*name="quantity"[^>]*>', form)
    assert field and field.group(1) == str(line.id)
    assert 'min="1"' in field.group(0) and 'max="7"' in field.group(0) and 'value="2"' in field.group(0)
    for step, label in (("-1", "减少数量"), ("1", "增加数量")):
        assert re.search(
            rf'<button type="button" class="step" data-step="{step}" aria-controls="q{line.id}" '
            rf'aria-label="{label}" hidden>',
            form,
        ), step  # shown by the script; without it the number field and 更新 remain
    assert ">更新</button>" in form and "js/stepper.js" in page
    client.post(f"/cart/lines/{line.id}", data={"quantity": 7})  # the no-JavaScript path
    db.session.expire_all()
    assert _cart_lines(db)[0].quantity == 7


def test_changing_or_removing_another_carts_line_is_a_404_and_changes_nothing(client, app, db, auth):
    """The update form of one cart cannot reach a line of another (a guest's or a signed-in buyer's),
    whatever it asks: quantity, removal, a booking's guests. Before, a buyer with a cart of their own
    got a redirect and a message for it, as if the line were theirs and merely refused."""
    product = make_product(stock=10)
    owner = make_user()
    auth.login(owner)
    client.post("/cart/add", data={"product_id": product.id, "quantity": 2})
    [line] = _cart_lines(db)
    auth.logout()

    stranger = app.test_client()  # a guest with a cart of their own
    stranger.post("/cart/add", data={"product_id": make_product(stock=5).id, "quantity": 1})
    for data in ({"quantity": 5}, {"quantity": 0}, {"remove": "1"}, {"guests": 2, "units": 1}):
        assert stranger.post(f"/cart/lines/{line.id}", data=data).status_code == 404, data
    auth.login(make_user())  # a signed-in buyer with a cart of their own
    client.post("/cart/add", data={"product_id": make_product(stock=5).id, "quantity": 1})
    for data in ({"quantity": 5}, {"remove": "1"}):
        assert client.post(f"/cart/lines/{line.id}", data=data).status_code == 404, data
    assert client.post("/cart/lines/99999999", data={"quantity": 1}).status_code == 404
    db.session.expire_all()
    assert db.session.get(CartLine, line.id).quantity == 2


def test_bad_cart_input_changes_nothing(client, db):
    product = make_product(stock=10)
    hidden = make_product(is_published=False)
    for data in (
        {"product_id": product.id, "quantity": 0},
        {"product_id": product.id, "quantity": "x"},
        {"product_id": product.id, "quantity": 100000},
        {"product_id": 999999, "quantity": 1},
        {"product_id": hidden.id, "quantity": 1},
        {"product_id": "abc"},
    ):
        res = client.post("/cart/add", data=data)
        assert res.status_code == 303
    assert _cart_lines(db) == []


def test_a_whole_number_too_large_is_told_the_range_not_to_enter_a_whole_number(client, db):
    """Walked with odd input: 999999999999 typed into 数量 (on the product page, in the cart) or into a booking's
    间数 and 人数 was answered 请输入整数 — it is one. Now the range is said, as for 1000; nothing changes;
    a word or a fraction is still 请输入整数."""
    from tests.tourism.factories import make_listing

    product = make_product(stock=10)
    listing = make_listing(kind="stay", units=3, max_guests=2, pay_on_arrival=True)
    commit()
    page = f"/products/{product.id}-{product.slug}"
    for quantity, said in (("999999999999", "数量必须在 1 到 999 之间"), ("-99999999999", "数量必须在 1 到 999 之间")):
        res = client.post("/cart/add", data={"product_id": product.id, "quantity": quantity}, headers={"Referer": page})
        shown = client.get(res.headers["Location"]).get_data(as_text=True)
        assert said in shown and "请输入整数" not in shown, quantity
    for quantity in ("2.5", "abc"):
        res = client.post("/cart/add", data={"product_id": product.id, "quantity": quantity}, headers={"Referer": page})
        assert "请输入整数" in client.get(res.headers["Location"]).get_data(as_text=True), quantity
    assert _cart_lines(db) == []

    client.post("/cart/add", data={"product_id": product.id, "quantity": 1})
    [line] = _cart_lines(db)
    res = client.post(f"/cart/lines/{line.id}", data={"quantity": "99999999999999"})
    shown = client.get(res.headers["Location"]).get_data(as_text=True)
    assert "数量必须在 0 到 999 之间" in shown and "请输入整数" not in shown
    db.session.expire_all()
    assert _cart_lines(db)[0].quantity == 1

    day = local_date(now_utc()) + timedelta(days=10)
    stay = {"listing_id": listing.id, "checkin": f"{day}", "checkout": f"{day + timedelta(days=1)}"}
    listing_page = {"Referer": f"http://localhost/listings/{listing.id}-{listing.slug}"}
    for typed, said in (
        ({"units": "99999999999999", "guests": "2"}, "每个预订最多 3 间"),
        ({"units": "1", "guests": "99999999999999"}, "所选 1 间最多住 2 人"),
    ):
        res = client.post("/cart/bookings", data={**stay, **typed}, headers=listing_page)
        alerts = re.findall(
            r'class="alert alert-error"[^>]*>([^<]*)<', client.get(res.headers["Location"]).get_data(as_text=True)
        )
        assert said in " ".join(alerts) and "请输入整数" not in " ".join(alerts), (typed, alerts)
    assert len(_cart_lines(db)) == 1


def test_adding_more_than_the_stock_says_how_many_are_left_and_changes_nothing(client, db):
    """25 bags of a product with 20 left: refused at once with how many are left (the cart did say
    已加入购物车, then "prices or stock changed since you added them", which they had not). Adding to
    a line, and changing a line's quantity in the cart, are held to the same stock."""
    product = make_product(name="三江腌菜", stock=20)
    commit()  # the refused POST rolls back its own transaction
    res = client.post(
        "/cart/add",
        data={"product_id": product.id, "quantity": 25},
        headers={"Referer": f"http://localhost/products/{product.id}"},
    )
    assert res.status_code == 303 and res.headers["Location"].endswith(f"/products/{product.id}")
    assert _cart_lines(db) == []
    for foreign in ("https://evil.example/products/1", "//evil.example/x", "javascript:alert(1)"):
        # a refused add goes back to the page it came from only when that page is on this site
        res = client.post("/cart/add", data={"product_id": product.id, "quantity": 25}, headers={"Referer": foreign})
        assert res.status_code == 303 and res.headers["Location"] == "/cart", foreign
    page = client.get("/cart").get_data(as_text=True)
    assert "「三江腌菜」库存仅剩 20" in page and "已加入购物车" not in page
    client.post("/cart/add", data={"product_id": product.id, "quantity": 15})
    client.post("/cart/add", data={"product_id": product.id, "quantity": 6})  # 21 in all
    [line] = _cart_lines(db)
    assert line.quantity == 15
    assert "「三江腌菜」库存仅剩 20" in client.get("/cart").get_data(as_text=True)
    client.post(f"/cart/lines/{line.id}", data={"quantity": 21})
    db.session.expire_all()
    assert _cart_lines(db)[0].quantity == 15
    client.post(f"/cart/lines/{line.id}", data={"quantity": 20})
    db.session.expire_all()
    assert _cart_lines(db)[0].quantity == 20
    page = client.get("/cart").get_data(as_text=True)
    assert "部分商品的价格或库存有变化" not in page and "去结算" in page


def test_price_and_stock_changes_are_shown_not_silently_applied(client, db):
    product = make_product(name="板鸭", price_fen=6800, stock=10)
    client.post("/cart/add", data={"product_id": product.id, "quantity": 4})
    product.price_fen = 7200
    db.session.get(StockRecord, product.stock.id).on_hand = 3
    db.session.flush()
    page = client.get("/cart").get_data(as_text=True)
    assert "¥68.00" in page and "¥72.00" in page  # was / now
    assert "库存仅剩 3" in page
    assert "去结算" not in page


def test_guest_cart_is_merged_on_login(client, db, auth):
    a = make_product(stock=10)
    b = make_product(stock=10)
    user = make_user()
    user_cart = Cart(user_id=user.id, updated_at=user.created_at)
    db.session.add(user_cart)
    db.session.flush()
    user_cart.lines.append(CartLine(product_id=a.id, quantity=1, seen_price_fen=a.price_fen))
    db.session.flush()
    client.post("/cart/add", data={"product_id": a.id, "quantity": 2})
    client.post("/cart/add", data={"product_id": b.id, "quantity": 1})
    auth.login(user)
    db.session.expire_all()
    carts = db.session.scalars(sa.select(Cart)).all()
    assert len(carts) == 1 and carts[0].user_id == user.id
    assert {(l.product_id, l.quantity) for l in carts[0].lines} == {(a.id, 3), (b.id, 1)}
    assert "¥" in client.get("/cart").get_data(as_text=True)


def test_html_checkout_places_order_and_saves_address(client, db, auth):
    s1, s2 = make_station(), make_station()
    a = make_product(price_fen=1000, station=s1, stock=5)
    b = make_product(price_fen=2000, station=s2, stock=5)
    user = make_user()
    auth.login(user)
    client.post("/cart/add", data={"product_id": a.id, "quantity": 1})
    client.post("/cart/add", data={"product_id": b.id, "quantity": 2})
    page = client.get("/checkout")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    ship_total = re.search(r'name="shown_total_ship" value="(\d+)"', html).group(1)
    assert 'value="card"' not in html  # no Stripe keys: no card option
    res = client.post(
        "/checkout",
        data=checkout_form(
            payment_method="cod", save_address="y", shown_total_ship=ship_total, pickup_station_id=s1.id
        ),
    )
    assert res.status_code == 303, res.get_data(as_text=True)
    order = db.session.scalar(sa.select(Order))
    assert res.headers["Location"].endswith(f"/orders/{order.code}")
    assert order.total_fen == int(ship_total) == 1000 + 4000 + 800 + 800
    assert len(order.shipments) == 2
    assert db.session.scalar(sa.select(Address)).line == "幸福路1号"
    assert _cart_lines(db) == []
    detail = client.get(f"/orders/{order.code}").get_data(as_text=True)
    assert order.code in detail and "货到付款" in detail
    assert order.code in client.get("/orders").get_data(as_text=True)


def test_checkout_names_the_saved_address_picker_apart_from_the_address_section(client, db, auth):
    user = make_user()
    db.session.add(
        Address(
            user_id=user.id,
            name="王小明",
            phone="13800000000",
            province="江西省",
            city="南昌市",
            district="南昌县",
            line="幸福路1号",
            created_at=user.created_at,
        )
    )
    product = make_product(stock=5)
    auth.login(user)
    client.post("/cart/add", data={"product_id": product.id, "quantity": 1})
    html = client.get("/checkout").get_data(as_text=True)
    assert "<legend>收货地址</legend>" in html
    assert re.search(r'<label for="address_id">选择已保存的地址</label>', html)
    english = client.get("/checkout?lang=en").get_data(as_text=True)
    assert re.search(r'<label for="address_id">Choose a saved address</label>', english)


def test_html_checkout_shows_price_change_and_places_nothing(client, db, auth):
    product = make_product(price_fen=1000, stock=5)
    station = make_station()
    auth.login(make_user())
    client.post("/cart/add", data={"product_id": product.id, "quantity": 1})
    res = client.post(
        "/checkout",
        data={
            "form_token": new_form_token(),
            "address_id": 0,
            "name": "王",
            "phone": "1",
            "province": "江西省",
            "city": "南昌市",
            "district": "南昌县",
            "line": "1号",
            "delivery": "pickup",
            "pickup_station_id": station.id,
            "payment_method": "station_cash",
            "shown_total_pickup": "900",
        },
    )
    assert res.status_code == 409
    assert "价格或运费已变化" in res.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Order)) == 0
    res = client.post(
        "/checkout",
        data={
            "form_token": new_form_token(),
            "address_id": 0,
            "delivery": "pickup",
            "pickup_station_id": station.id,
            "payment_method": "station_cash",
            "shown_total_pickup": "1000",
        },
    )
    assert res.status_code == 303, re.findall(r'class="(?:error|alert[^"]*)"[^>]*>([^<]*)', res.get_data(as_text=True))
    order = db.session.scalar(sa.select(Order))
    assert order.shipments[0].pickup_code
    assert order.shipments[0].pickup_code in client.get(f"/orders/{order.code}").get_data(as_text=True)


def test_checkout_requires_login(client, db):
    res = client.get("/checkout")
    assert res.status_code == 302 and "/login" in res.headers["Location"]


def test_product_page_has_add_to_cart_form(client, db):
    product = make_product(stock=3)
    from flask import url_for

    with client.application.test_request_context():
        url = url_for("catalog.product_detail", product_id=product.id, slug=product.slug)
    page = client.get(url)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'action="/cart/add"' in html


def test_buy_now_adds_to_the_cart_and_goes_straight_to_checkout(client, db, auth):
    """立即购买 in the product page's buy bar: the same add, then checkout instead of the cart."""
    from shop.db import commit
    from tests.factories import make_product, make_user

    product = make_product(stock=5)
    commit()
    page = client.get(f"/products/{product.id}-{product.slug}").get_data(as_text=True)
    assert 'name="buy_now"' in page and "立即购买" in page and "加入购物车" in page
    assert 'aria-label="增加数量"' in page and 'aria-label="减少数量"' in page and "js/stepper.js" in page
    auth.login(make_user())
    r = client.post("/cart/add", data={"product_id": product.id, "quantity": 2, "buy_now": "1"})
    assert r.status_code == 303 and r.headers["Location"].endswith("/checkout")
    assert f"{product.name} × 2" in client.get("/checkout").get_data(as_text=True)
    r = client.post("/cart/add", data={"product_id": product.id, "quantity": 1})
    assert r.headers["Location"].endswith("/cart")


def test_buy_now_tapped_again_buys_what_was_asked_not_twice_as_many(client, db, auth):
    """立即购买, then back from the checkout and 立即购买 again (or a double tap): the checkout holds the
    quantity asked for, not its double; 加入购物车 still adds to what the line holds."""
    from shop.db import commit
    from tests.factories import make_product, make_user

    product = make_product(stock=9)
    commit()
    auth.login(make_user())
    for _ in range(2):
        r = client.post("/cart/add", data={"product_id": product.id, "quantity": 2, "buy_now": "1"})
        assert r.status_code == 303 and r.headers["Location"].endswith("/checkout")
    checkout = client.get("/checkout").get_data(as_text=True)
    assert f"{product.name} × 2" in checkout and f"{product.name} × 4" not in checkout
    client.post("/cart/add", data={"product_id": product.id, "quantity": 3})
    assert f"{product.name} × 5" in client.get("/checkout").get_data(as_text=True)
    r = client.post("/cart/add", data={"product_id": product.id, "quantity": 10, "buy_now": "1"})
    assert r.status_code == 303  # more than the stock: refused, the line keeps its 5
    assert f"{product.name} × 5" in client.get("/checkout").get_data(as_text=True)
