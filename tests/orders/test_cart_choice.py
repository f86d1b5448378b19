"""The Taobao-style cart: the buyer chooses (勾选) which lines to check out. The cart's total and
去结算 (N 件: the units of goods; bookings counted apart) count the chosen lines, the checkout shows and places only them, and the lines not chosen
stay in the cart; 立即购买 and a listing's 预订 check out their own line alone (docs/journeys.md,
"Choosing what to check out")."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa

from orders.models import Cart, CartLine, Order
from shop.once import new_form_token
from shop.timeutil import local_date, now_utc
from tests.factories import make_product, make_station, make_user
from tests.orders.cart_items import add_stay_to_cart
from tests.orders.factories import CHECKOUT_HOME
from tests.tourism.factories import make_listing

COD_HOME = {**CHECKOUT_HOME, "payment_method": "cod"}


def _lines(db) -> list[CartLine]:
    db.session.expire_all()
    return db.session.scalars(sa.select(CartLine).order_by(CartLine.id)).all()


def _chosen(db) -> dict[int | None, bool]:
    """{product id (None for a booking line): chosen} of every cart line."""
    return {line.product_id: line.selected for line in _lines(db)}


def _line_of(db, product) -> CartLine:
    return db.session.scalar(sa.select(CartLine).where(CartLine.product_id == product.id))


def _shown_total(html: str, delivery: str = "ship") -> str:
    return re.search(rf'name="shown_total_{delivery}" value="(\d+)"', html).group(1)


def _place(client, shown: str, **extra):
    return client.post(
        "/checkout", data={"form_token": new_form_token(), **COD_HOME, "shown_total_ship": shown, **extra}
    )


def _orders(db) -> list[Order]:
    db.session.expire_all()
    return db.session.scalars(sa.select(Order)).all()


def _checkbox(html: str, line_id: int) -> str:
    """The line's 勾选 form (its checkbox button and the value it sends)."""
    return re.search(rf'<form method="post" action="/cart/lines/{line_id}/selected".*?</form>', html, re.S).group(0)


def test_buy_now_with_other_lines_in_the_cart_places_only_that_product_and_leaves_the_others_unchosen(client, db, auth):
    station = make_station()
    old = make_product(name="三江腌菜", price_fen=1200, stock=10, station=station)
    other = make_product(name="土鸡蛋", price_fen=3000, stock=10, station=station)
    wanted = make_product(name="板鸭", price_fen=6800, stock=10, station=station)
    auth.login(make_user())
    client.post("/cart/add", data={"product_id": old.id, "quantity": 2})
    client.post("/cart/add", data={"product_id": other.id, "quantity": 1})
    res = client.post("/cart/add", data={"product_id": wanted.id, "quantity": 1, "buy_now": "1"})
    assert res.status_code == 303 and res.headers["Location"].endswith("/checkout")
    assert _chosen(db) == {old.id: False, other.id: False, wanted.id: True}

    page = client.get("/checkout").get_data(as_text=True)
    assert "板鸭 × 1" in page and "三江腌菜" not in page and "土鸡蛋" not in page
    shown = _shown_total(page)
    assert int(shown) == 6800 + 800  # the chosen line and its shipping only
    res = _place(client, shown)
    assert res.status_code == 303, res.get_data(as_text=True)
    [order] = _orders(db)
    assert [(line.product_id, line.quantity) for line in order.lines] == [(wanted.id, 1)]
    assert order.total_fen == int(shown)
    assert _chosen(db) == {old.id: False, other.id: False}, "the others stay in the cart, unchosen"
    cart = client.get("/cart").get_data(as_text=True)
    assert "三江腌菜" in cart and "土鸡蛋" in cart and "请勾选要结算的商品或预订" in cart and "去结算" not in cart


def test_a_listings_booking_buy_now_checks_out_the_stay_alone_and_leaves_the_goods_in_the_cart(client, db, auth):
    goods = make_product(name="三江腌菜", price_fen=1200, stock=10)
    listing = make_listing(name="罗渡山居", price_fen=18800, units=1, pay_on_arrival=True)
    auth.login(make_user())
    client.post("/cart/add", data={"product_id": goods.id, "quantity": 2})
    day = local_date(now_utc()) + timedelta(days=10)
    res = client.post(
        "/cart/bookings",
        data={
            "listing_id": listing.id,
            "checkin": day.isoformat(),
            "checkout": (day + timedelta(days=1)).isoformat(),
            "guests": 2,
            "buy_now": "1",
        },
    )
    assert res.status_code == 303 and res.headers["Location"].endswith("/checkout")
    assert _chosen(db) == {goods.id: False, None: True}
    page = client.get("/checkout").get_data(as_text=True)
    assert "罗渡山居" in page and "三江腌菜" not in page
    assert 'value="arrival"' in page and "收货地址" not in page  # a stay alone: the listing's own ways to pay
    shown = _shown_total(page)
    assert int(shown) == 18800
    res = client.post(
        "/checkout", data={"form_token": new_form_token(), "payment_method": "arrival", "shown_total_ship": shown}
    )
    assert res.status_code == 303, res.get_data(as_text=True)
    [order] = _orders(db)
    assert order.booking is not None and [line.product_id for line in order.lines] == [None]
    assert _chosen(db) == {goods.id: False}, "the goods stay in the cart, unchosen"


def test_unchoosing_a_line_takes_it_out_of_the_total_and_the_order_and_keeps_it_in_the_cart(client, db, auth):
    station = make_station()
    a = make_product(name="三江腌菜", price_fen=1000, stock=5, station=station)
    b = make_product(name="土鸡蛋", price_fen=2000, stock=5, station=station)
    auth.login(make_user())
    client.post("/cart/add", data={"product_id": a.id, "quantity": 1})
    client.post("/cart/add", data={"product_id": b.id, "quantity": 2})
    page = client.get("/cart").get_data(as_text=True)
    line_b = _line_of(db, b)
    assert 'aria-checked="true"' in _checkbox(page, line_b.id) and 'name="selected" value="0"' in _checkbox(
        page, line_b.id
    )
    assert (
        re.search(r'<dd class="total">¥60.00</dd>', page) and "（3 件）" in page
    )  # 10 + 40 + 10 shipping (1.5 kg); 1 + 2 units

    res = client.post(f"/cart/lines/{line_b.id}/selected", data={"selected": "0"})
    assert res.status_code == 303 and res.headers["Location"].endswith(f"/cart#line-{line_b.id}")
    assert _chosen(db) == {a.id: True, b.id: False}
    page = client.get("/cart").get_data(as_text=True)
    row_b = re.search(rf'<tr id="line-{line_b.id}" class="([^"]*)"', page).group(1)
    assert "unchosen" in row_b.split(), "a line not chosen is dimmed"
    assert 'aria-checked="false"' in _checkbox(page, line_b.id) and 'name="selected" value="1"' in _checkbox(
        page, line_b.id
    )
    assert re.search(r'<dd class="total">¥18.00</dd>', page) and "（1 件）" in page  # 10 + 8 shipping
    assert 'name="quantity" min="1" max="5" value="2"' in page, "still editable"
    english = client.get("/cart?lang=en").get_data(as_text=True)
    assert "Check out" in english and "(1 item)" in english and "Select all" in english

    checkout = client.get("/checkout").get_data(as_text=True)
    assert "三江腌菜 × 1" in checkout and "土鸡蛋" not in checkout
    shown = _shown_total(checkout)
    assert int(shown) == 1800
    res = _place(client, shown)
    assert res.status_code == 303, res.get_data(as_text=True)
    [order] = _orders(db)
    assert [line.product_id for line in order.lines] == [a.id] and order.total_fen == 1800
    assert [(line.product_id, line.quantity, line.selected) for line in _lines(db)] == [(b.id, 2, False)]

    client.post("/cart/add", data={"product_id": b.id, "quantity": 1})  # 加入购物车 chooses the line again
    assert [(line.quantity, line.selected) for line in _lines(db)] == [(3, True)]


def test_choose_all_and_none(client, db):
    a = make_product(stock=5)
    b = make_product(stock=5)
    client.post("/cart/add", data={"product_id": a.id, "quantity": 1})  # a guest's cart, the same rules
    client.post("/cart/add", data={"product_id": b.id, "quantity": 1})
    page = client.get("/cart").get_data(as_text=True)
    assert re.search(r'id="pick-all" class="pick" role="checkbox" aria-checked="true"', page)
    assert '<label for="pick-all">全选</label>' in page

    res = client.post("/cart/selected", data={"selected": "0"})
    assert res.status_code == 303 and res.headers["Location"].endswith("/cart")
    assert _chosen(db) == {a.id: False, b.id: False}
    page = client.get("/cart").get_data(as_text=True)
    assert re.search(r'id="pick-all" class="pick" role="checkbox" aria-checked="false"', page)
    assert "请勾选要结算的商品或预订" in page and "去结算" not in page
    assert re.search(r'<dd class="total">¥0.00</dd>', page)

    client.post(f"/cart/lines/{_line_of(db, a).id}/selected", data={"selected": "1"})
    page = client.get("/cart").get_data(as_text=True)
    assert re.search(r'id="pick-all" class="pick" role="checkbox" aria-checked="false"', page), "not every line"
    client.post("/cart/selected", data={"selected": "1"})
    assert _chosen(db) == {a.id: True, b.id: True}

    for bad in ({"selected": "2"}, {"selected": ""}, {}):
        res = client.post("/cart/selected", data={**bad})
        assert res.status_code == 303
        res = client.post(f"/cart/lines/{_line_of(db, a).id}/selected", data={**bad})
        assert res.status_code == 303
        assert "请勾选或取消勾选这一项" in client.get("/cart").get_data(as_text=True)
    assert _chosen(db) == {a.id: True, b.id: True}, "bad input changes nothing"


def test_checkout_with_nothing_chosen_goes_back_to_the_cart_and_places_nothing(client, db, auth):
    product = make_product(stock=5)
    auth.login(make_user())
    client.post("/cart/add", data={"product_id": product.id, "quantity": 1})
    shown = _shown_total(client.get("/checkout").get_data(as_text=True))
    client.post("/cart/selected", data={"selected": "0"})
    for res in (client.get("/checkout"), _place(client, shown)):
        assert res.status_code == 302 and res.headers["Location"].endswith("/cart")
    assert "请先勾选要结算的商品或预订" in client.get("/cart").get_data(as_text=True)
    assert _orders(db) == [] and _chosen(db) == {product.id: False}


def test_a_line_of_another_cart_is_a_404_and_changes_nothing(client, app, db, auth):
    product = make_product(stock=5)
    owner = make_user()
    auth.login(owner)
    client.post("/cart/add", data={"product_id": product.id, "quantity": 1})
    line = _line_of(db, product)
    auth.logout()

    stranger = app.test_client()  # a guest with a cart of their own, then signed in
    stranger.post("/cart/add", data={"product_id": make_product(stock=5).id, "quantity": 1})
    assert stranger.post(f"/cart/lines/{line.id}/selected", data={"selected": "0"}).status_code == 404
    auth.login(make_user())
    client.post("/cart/add", data={"product_id": make_product(stock=5).id, "quantity": 1})
    assert client.post(f"/cart/lines/{line.id}/selected", data={"selected": "0"}).status_code == 404
    assert client.post("/cart/lines/99999999/selected", data={"selected": "0"}).status_code == 404
    client.post("/cart/selected", data={"selected": "0"})  # 全选 off in the signed-in stranger's own cart
    db.session.expire_all()
    assert _line_of(db, product).selected is True


def test_the_shown_total_is_over_the_chosen_lines_and_a_change_of_choice_after_it_is_refused(client, db, auth):
    s1, s2 = make_station(), make_station()
    a = make_product(name="三江腌菜", price_fen=1000, stock=5, station=s1)
    b = make_product(name="土鸡蛋", price_fen=2000, stock=5, station=s2)
    auth.login(make_user())
    client.post("/cart/add", data={"product_id": a.id, "quantity": 1})
    client.post("/cart/add", data={"product_id": b.id, "quantity": 1})
    client.post(f"/cart/lines/{_line_of(db, b).id}/selected", data={"selected": "0"})
    page = client.get("/checkout").get_data(as_text=True)
    ship, pickup = _shown_total(page), _shown_total(page, "pickup")
    assert (int(ship), int(pickup)) == (1000 + 800, 1000), "one station's goods and shipping"

    client.post(f"/cart/lines/{_line_of(db, b).id}/selected", data={"selected": "1"})  # in another tab
    res = _place(client, ship)
    assert res.status_code == 409 and "价格或运费已变化" in res.get_data(as_text=True)
    assert _orders(db) == [] and _chosen(db) == {a.id: True, b.id: True}

    client.post(f"/cart/lines/{_line_of(db, b).id}/selected", data={"selected": "0"})
    res = _place(client, pickup, delivery="pickup", pickup_station_id=s1.id, payment_method="station_cash")
    assert res.status_code == 303, res.get_data(as_text=True)
    [order] = _orders(db)
    assert order.total_fen == int(pickup) and [line.product_id for line in order.lines] == [a.id]
    assert _chosen(db) == {b.id: False}


def test_a_guests_buy_now_is_what_the_checkout_places_after_signing_in(client, db, auth):
    kept = make_product(name="土鸡蛋", stock=5)
    wanted = make_product(name="板鸭", stock=5)
    user = make_user()
    cart = Cart(user_id=user.id, updated_at=user.created_at)
    db.session.add(cart)
    db.session.flush()
    cart.lines.append(CartLine(product_id=kept.id, quantity=1, seen_price_fen=kept.price_fen))  # left days ago
    db.session.flush()
    res = client.post("/cart/add", data={"product_id": wanted.id, "quantity": 1, "buy_now": "1"})
    assert res.headers["Location"].endswith("/checkout")
    auth.login(user)
    assert _chosen(db) == {kept.id: False, wanted.id: True}
    page = client.get("/checkout").get_data(as_text=True)
    assert "板鸭 × 1" in page and "土鸡蛋" not in page


def test_a_guest_cart_with_nothing_chosen_leaves_the_accounts_choices_at_sign_in(client, db, auth):
    mine = make_product(stock=5)
    guests = make_product(stock=5)
    both = make_product(stock=5)
    user = make_user()
    cart = Cart(user_id=user.id, updated_at=user.created_at)
    db.session.add(cart)
    db.session.flush()
    for product in (mine, both):
        cart.lines.append(CartLine(product_id=product.id, quantity=1, seen_price_fen=product.price_fen))
    db.session.flush()
    client.post("/cart/add", data={"product_id": guests.id, "quantity": 1})
    client.post("/cart/add", data={"product_id": both.id, "quantity": 1})
    client.post("/cart/selected", data={"selected": "0"})
    auth.login(user)
    assert _chosen(db) == {mine.id: True, both.id: True, guests.id: False}
    assert {line.product_id: line.quantity for line in _lines(db)}[both.id] == 2


def _goods_and_a_stay(client, db, auth) -> tuple[CartLine, CartLine]:
    """A new buyer with 2 of a product and a night's stay in the cart, both chosen: (goods line, stay line)."""
    auth.login(make_user())
    product = make_product(name="三江腌菜", price_fen=1000, stock=5)
    client.post("/cart/add", data={"product_id": product.id, "quantity": 2})
    add_stay_to_cart(client, make_listing(name="罗渡山居"))
    goods, stay = sorted(_lines(db), key=lambda line: line.product_id is None)
    return goods, stay


def _button(html: str) -> str:
    """去结算's words, its count included."""
    found = re.search(r'<a class="btn primary" href="/checkout">(.*?)</a>', html, re.S)
    return re.sub(r"<[^>]+>|\s+", "", found.group(1)) if found else ""


def test_the_checkout_button_counts_goods_by_the_unit_and_a_stay_as_a_booking(client, db, auth, fake_stripe):
    """A stay is no 件: 去结算 counts the goods' units and the bookings apart, in each language."""
    goods, _stay = _goods_and_a_stay(client, db, auth)
    assert _button(client.get("/cart").get_data(as_text=True)) == "去结算（2件商品·1个预订）"
    assert _button(client.get("/cart?lang=en").get_data(as_text=True)) == "Checkout(2items·1booking)"
    client.post(f"/cart/lines/{goods.id}/selected", data={"selected": "0"})
    assert _button(client.get("/cart?lang=zh_CN").get_data(as_text=True)) == "去结算（1个预订）"
    assert _button(client.get("/cart?lang=en").get_data(as_text=True)) == "Checkout(1booking)"


def test_a_line_left_unticked_shows_no_zero_total_of_its_kind(client, db, auth, fake_stripe):
    """A booking left unticked: no 预订合计 ¥0.00 under the cart; goods left unticked: no 商品合计 and no
    shipping of nothing."""
    goods, stay = _goods_and_a_stay(client, db, auth)
    page = client.get("/cart").get_data(as_text=True)
    assert "<dt>商品合计</dt>" in page and "<dt>预订合计</dt>" in page
    client.post(f"/cart/lines/{stay.id}/selected", data={"selected": "0"})
    page = client.get("/cart").get_data(as_text=True)
    assert "<dt>商品合计</dt><dd>¥20.00</dd>" in page and "预订合计" not in page
    client.post(f"/cart/lines/{stay.id}/selected", data={"selected": "1"})
    client.post(f"/cart/lines/{goods.id}/selected", data={"selected": "0"})
    page = client.get("/cart").get_data(as_text=True)
    assert "<dt>预订合计</dt>" in page and "商品合计" not in page and "运费（快递，预估）" not in page
