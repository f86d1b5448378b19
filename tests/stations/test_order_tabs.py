"""我的订单's tabs (全部 / 待付款 / 待发货 / 待收货 / 退款售后; 待使用 in tests/tourism/test_order_tab_to_use.py,
待评价 in tests/reviews/test_reviews.py): each order in the tab its state puts it in, on the page and in
`GET /api/v1/orders?tab=`; names and thumbnails in the list; bookings shown as bookings; another buyer's
orders never."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa

from orders.services.payments import refund_line
from shop.db import commit
from shop.timeutil import local_date, now_utc
from stations.services import fulfilment
from tests.factories import make_user
from tests.stations.factories import make_order
from tests.tourism.factories import booking_form, make_listing
from tourism.models import Booking


def _codes(html: str) -> set[str]:
    return set(re.findall(r'<a href="/orders/([A-Z0-9]+)"><strong>', html))


def _orders(world, now):
    op = world.a.operator
    to_pay = make_order([(world.a.product, 1)], buyer=world.buyer, status="pending")
    to_ship = make_order([(world.a.product, 1)], buyer=world.buyer)
    fulfilment.accept(to_ship.shipments[0], actor=op, now=now)
    to_receive = make_order([(world.a.product, 1)], buyer=world.buyer)
    for step in (fulfilment.accept, fulfilment.pack):
        step(to_receive.shipments[0], actor=op, now=now)
    fulfilment.ship(to_receive.shipments[0], tracking_number="SF9", actor=op, now=now)
    refunded = make_order([(world.a.product, 1), (world.b.product, 1)], buyer=world.buyer)
    refund_line(refunded.lines[1], actor=world.admin, now=now, reason="缺货")
    theirs = make_order([(world.a.product, 1)], buyer=make_user())
    return dict(
        to_pay=to_pay.code, to_ship=to_ship.code, to_receive=to_receive.code, refunded=refunded.code, theirs=theirs.code
    )


def test_each_order_is_in_the_tab_its_state_puts_it_in(client, db, world, now, auth):
    codes = _orders(world, now)
    commit()
    auth.login(world.buyer)
    expected = {
        "all": {codes["to_pay"], codes["to_ship"], codes["to_receive"], codes["refunded"]},
        "to_pay": {codes["to_pay"]},
        "to_ship": {codes["to_ship"], codes["refunded"]},  # its other line still waits for its station
        "to_receive": {codes["to_receive"]},
        "after_sale": {codes["refunded"]},
    }
    for tab, want in expected.items():
        r = client.get("/orders" + ("" if tab == "all" else f"?tab={tab}"))
        assert r.status_code == 200
        html = r.get_data(as_text=True)
        assert _codes(html) == want, tab
        assert f'data-tab="{tab}"\n       aria-current="page"' in html
    html = client.get("/orders?tab=to_pay").get_data(as_text=True)
    assert world.a.product.name in html, "item names in the list"
    assert '<span class="badge">1</span>' in html


def test_the_api_lists_the_same_tabs(client, db, world, now, api_token):
    codes = _orders(world, now)
    commit()
    headers = api_token(world.buyer)
    for tab, want in (
        ("to_pay", {codes["to_pay"]}),
        ("to_receive", {codes["to_receive"]}),
        ("after_sale", {codes["refunded"]}),
    ):
        r = client.get(f"/api/v1/orders?tab={tab}", headers=headers)
        assert r.status_code == 200, r.json
        assert {o["id"] for o in r.json["items"]} == want and r.json["total"] == len(want)
    assert client.get("/api/v1/orders?tab=nope", headers=headers).status_code == 422


def test_an_unknown_tab_shows_all_orders_and_says_why(client, db, world, auth):
    """An old or mistyped link's tab: 我的订单 itself, 全部 chosen, with the reason on top (422), as pages
    with a default answer a value typed wrong, where it was a 400 page with only 返回首页."""
    auth.login(world.buyer)
    r = client.get("/orders?tab=nope")
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and "没有这个订单分类，下面是全部订单" in html
    assert re.search(r'<a [^>]*aria-current="page"[^>]*>\s*全部', html)
    english = client.get("/orders?tab=nope&lang=en").get_data(as_text=True)
    assert "No such order category; all your orders are shown below" in english


def test_a_booking_appears_as_a_booking_with_its_listing(client, db, auth):
    listing = make_listing(pay_on_arrival=True, units=1, name="罗渡农家乐")
    user = make_user()
    auth.login(user)
    day = local_date(now_utc()) + timedelta(days=5)
    r = client.post(
        f"/listings/{listing.id}/book",
        data=booking_form(day, 2, guests=2, units=1, unit_type_id=listing.unit_types[0].id, payment_method="arrival"),
    )
    assert r.status_code == 302
    booking = db.session.scalar(sa.select(Booking))
    html = client.get("/orders").get_data(as_text=True)
    assert "罗渡农家乐" in html and booking.code in html and "order-booking" in html
    for tab in ("to_ship", "to_receive"):
        assert "罗渡农家乐" not in client.get(f"/orders?tab={tab}").get_data(as_text=True)
