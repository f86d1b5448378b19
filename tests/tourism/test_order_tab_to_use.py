"""我的订单's 待使用 tab (`to_use`, tourism's contribution: `tourism.services.booking.awaiting_use`): an order
whose booking is confirmed and not yet used — paid by card, or to be paid at the host's on arrival — is
there until the stay is over — checked in, it is still there; a completed one is to review, and a canceled or
no-show one, goods and another buyer's are not there. On the page (between 待收货 and 待评价, its count on the tab) and in
`GET /api/v1/orders?tab=to_use`."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa

from orders.models import Order
from orders.services import payments
from shop.timeutil import now_utc
from tests.factories import make_product, make_user
from tests.orders.cart_items import stay_item
from tests.orders.factories import ADDRESS_JSON, FakeStripeProvider
from tests.tourism.factories import make_listing
from tourism.services.booking import complete_stays


def _place(client, headers, items: list, payment_method: str) -> dict:
    body = {"items": items, "payment_method": payment_method}
    if any("product_id" in item for item in items):
        body["address"] = ADDRESS_JSON
    res = client.post("/api/v1/orders", json=body, headers=headers)
    assert res.status_code == 201, res.json
    return res.json


def _paid(client, db, headers, code: str) -> dict:
    """The card payment of order `code` succeeds; the order as the buyer now reads it."""
    payment = db.session.scalar(sa.select(Order).where(Order.code == code)).payments[0]
    FakeStripeProvider.succeed(payment.provider_ref)
    payments.sync_payment(payment, now=now_utc())
    db.session.commit()
    return client.get(f"/api/v1/orders/{code}", headers=headers).json


def _tab(client, headers, tab: str) -> set[str]:
    res = client.get(f"/api/v1/orders?tab={tab}&per_page=100", headers=headers)
    assert res.status_code == 200, res.json
    codes = {order["id"] for order in res.json["items"]}
    assert res.json["total"] == len(codes)
    return codes


def _page_tab(client, tab: str) -> tuple[set[str], str]:
    """The orders 我的订单's page lists under `tab`, and the page."""
    html = client.get(f"/orders?tab={tab}").get_data(as_text=True)
    return set(re.findall(r'<a href="/orders/([A-Z0-9]+)"><strong>', html)), html


def _badge(html: str, tab: str) -> int:
    """The count the tab strip shows on `tab` (0: no badge)."""
    link = re.search(rf'data-tab="{tab}"[^>]*>[^<]*(?:<span class="badge">(\d+)</span>)?', html)
    assert link is not None, tab
    return int(link.group(1) or 0)


def test_confirmed_bookings_not_yet_used_are_to_use_paid_or_paid_on_arrival(client, db, auth, api_token, fake_stripe):
    buyer = make_user()
    headers = api_token(buyer)
    on_arrival = _place(client, headers, [stay_item(make_listing(name="罗渡山居", pay_on_arrival=True))], "arrival")
    paid = _place(client, headers, [stay_item(make_listing(name="花海门票"), checkin=9)], "card")
    assert _paid(client, db, headers, paid["id"])["bookings"][0]["status"] == "confirmed"
    unpaid = _place(client, headers, [stay_item(make_listing(), checkin=11)], "card")  # held, to pay first
    goods = _place(client, headers, [{"product_id": make_product(stock=5).id, "quantity": 1}], "cod")
    other = _place(client, api_token(make_user()), [stay_item(make_listing(pay_on_arrival=True))], "arrival")
    assert on_arrival["bookings"][0]["status"] == "confirmed" and on_arrival["status"] == "confirmed"

    want = {on_arrival["id"], paid["id"]}
    assert _tab(client, headers, "to_use") == want
    assert unpaid["id"] in _tab(client, headers, "to_pay")
    assert goods["id"] in _tab(client, headers, "to_ship") and other["id"] not in _tab(client, headers, "all")

    auth.login(buyer)
    listed, html = _page_tab(client, "to_use")
    assert listed == want and _badge(html, "to_use") == len(want)
    assert re.search(r'data-tab="to_use"\s+aria-current="page"', html)
    order = re.findall(r'data-tab="(\w+)"', html)
    assert order.index("to_use") == order.index("to_receive") + 1 == order.index("to_review") - 1
    row = html[html.index(on_arrival["id"]) :].split("</li>")[0]
    assert "罗渡山居" in row and "到店支付" in row, "the row says the stay is paid at the host's"
    english = client.get("/orders?tab=to_use&lang=en").get_data(as_text=True)
    assert re.search(r'data-tab="to_use"[^>]*>\s*To use', english)


def test_a_booking_stays_in_to_use_while_checked_in_and_leaves_it_completed_canceled_or_a_no_show(
    client, db, auth, api_token, fake_stripe
):
    host, buyer = make_user(role="host"), make_user()
    headers, host_headers = api_token(buyer), api_token(host)
    stays = {
        name: _place(client, headers, [stay_item(make_listing(host=host), checkin=0, nights=1)], "card")
        for name in ("stays", "no_show", "canceled")
    }
    bookings = {name: _paid(client, db, headers, order["id"])["bookings"][0] for name, order in stays.items()}
    assert _tab(client, headers, "to_use") == {order["id"] for order in stays.values()}

    stay = bookings["stays"]
    res = client.post(
        f"/api/v1/bookings/{stay['id']}/check-in",
        json={"confirmation_code": stay["confirmation_code"]},
        headers=host_headers,
    )
    assert res.status_code == 200 and res.json["status"] == "checked_in", res.json
    res = client.post(f"/api/v1/bookings/{bookings['no_show']['id']}/no-show", headers=host_headers)
    assert res.status_code == 200 and res.json["status"] == "no_show", res.json
    res = client.post(f"/api/v1/bookings/{bookings['canceled']['id']}/cancel", headers=headers)
    assert res.status_code == 200 and res.json["status"] == "canceled", res.json
    assert _tab(client, headers, "to_use") == {stays["stays"]["id"]}  # the guest is in: still in use
    assert stays["stays"]["id"] not in _tab(client, headers, "to_review")

    complete_stays(now_utc() + timedelta(days=1))  # the schedule's run after the night
    db.session.commit()
    assert _tab(client, headers, "to_use") == set()
    assert stays["stays"]["id"] in _tab(client, headers, "to_review")
    auth.login(buyer)
    listed, html = _page_tab(client, "to_use")
    assert listed == set() and _badge(html, "to_use") == 0 and "这里还没有订单。" in html


def _row(html: str, code: str) -> str:
    """The tab's row of order `code`."""
    return html[html.index(f'<a href="/orders/{code}"><strong>') :].split('<li class="card')[0]


def test_to_use_rows_lead_to_the_confirmation_code_until_the_guest_is_checked_in(
    client, db, auth, api_token, fake_stripe
):
    """查看确认码 on a 待使用 row, as 待评价 has 去评价: it opens the booking's page at its code and QR (what the
    guest shows the host on arrival), for a booking confirmed and not yet checked in — also a booking line of an
    order with goods; not once the guest is in (the row stays), nor on the other tabs."""
    host, buyer = make_user(role="host"), make_user()
    headers = api_token(buyer)
    arriving = _place(client, headers, [stay_item(make_listing(host=host), checkin=0, nights=1)], "card")
    booking = _paid(client, db, headers, arriving["id"])["bookings"][0]
    staying = _place(client, headers, [stay_item(make_listing(host=host), checkin=0, nights=1)], "card")
    stayed = _paid(client, db, headers, staying["id"])["bookings"][0]
    res = client.post(
        f"/api/v1/bookings/{stayed['id']}/check-in",
        json={"confirmation_code": stayed["confirmation_code"]},
        headers=api_token(host),
    )
    assert res.json["status"] == "checked_in", res.json
    mixed = _place(
        client,
        headers,
        [stay_item(make_listing(name="花海门票")), {"product_id": make_product(stock=5).id, "quantity": 1}],
        "card",
    )
    [mixed_booking] = _paid(client, db, headers, mixed["id"])["bookings"]
    assert mixed_booking["status"] == "confirmed", mixed

    auth.login(buyer)
    listed, html = _page_tab(client, "to_use")
    assert listed == {arriving["id"], staying["id"], mixed["id"]}
    link = f'href="/bookings/{booking["id"]}#confirmation-code">查看确认码</a>'
    assert link in _row(html, arriving["id"])
    assert "查看确认码" not in _row(html, staying["id"])  # checked in: the code is used
    assert f'href="/bookings/{mixed_booking["id"]}#confirmation-code">查看确认码</a>' in _row(html, mixed["id"])
    page = client.get(f"/bookings/{booking['id']}").get_data(as_text=True)
    section = page[page.index('id="confirmation-code"') :].split("</section>")[0]
    assert booking["confirmation_code"] in section and "确认码二维码" in section
    for tab in ("all", "to_review"):
        assert "查看确认码" not in client.get(f"/orders?tab={tab}").get_data(as_text=True), tab
    english = client.get("/orders?tab=to_use&lang=en").get_data(as_text=True)
    assert f'href="/bookings/{booking["id"]}#confirmation-code">Show confirmation code</a>' in english
