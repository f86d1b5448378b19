"""The buyer's order page in the reader's words."""

from __future__ import annotations

import re

from shop.db import commit
from shop.once import new_form_token
from tests.factories import make_product, make_station, make_user
from tests.orders.cart_items import add_stay_to_cart
from tests.orders.factories import ADDRESS_JSON, make_order
from tests.tourism.factories import make_listing


def test_the_english_order_page_names_the_payment_a_payment_not_pay(client, auth, db, now):
    """支付 as a heading and in the order's history is a noun (Payment); the card button's 支付 stays Pay."""
    buyer = make_user()
    order = make_order(buyer, [(make_product(), 1)], now=now)
    commit()
    auth.login(buyer)
    page = client.get(f"/orders/{order.code}?lang=en").get_data(as_text=True)
    assert "<h2>Payment</h2>" in page
    assert "<h2>Pay</h2>" not in page and not re.search(r"\d\d:\d\d Pay ", page)


def test_a_cash_on_delivery_order_says_what_is_paid_and_what_is_still_to_pay(client, auth, db, api_token):
    """Two parcels paid to the courier one by one: once the first is delivered and its cash written, the page
    says 已付 (that parcel) and 待付 (the other), not only 货到付款 · 待支付 beside the whole total."""
    stations = [make_station(), make_station()]
    products = [
        make_product(price_fen=1880, stock=5, station=stations[0]),
        make_product(price_fen=2600, stock=5, station=stations[1]),
    ]
    buyer = make_user()
    operator = make_user(role="operator", station=stations[0])
    commit()
    body = {
        "items": [{"product_id": p.id, "quantity": 1} for p in products],
        "address": ADDRESS_JSON,
        "delivery": "ship",
        "payment_method": "cod",
    }
    placed = client.post("/api/v1/orders", headers=api_token(buyer), json=body)
    assert placed.status_code == 201, placed.json
    order = placed.json
    first = next(s for s in order["shipments"] if s["station_id"] == stations[0].id)
    staff = api_token(operator)
    for step in ({"action": "accept"}, {"action": "pack"}, {"action": "ship", "tracking_number": "SF1"}):
        moved = client.post(f"/api/v1/shipments/{first['id']}/transition", headers=staff, json=step)
        assert moved.status_code == 200, moved.json
    paid = moved.json["amount_fen"]  # the parcel's goods and shipping, paid to the courier
    shipment = client.post(
        f"/api/v1/shipments/{first['id']}/transition",
        headers=staff,
        json={"action": "deliver", "cash_received_fen": paid},
    )
    assert shipment.status_code == 200, shipment.json
    auth.login(buyer)
    page = client.get(f"/orders/{order['id']}").get_data(as_text=True)
    total = order["total_fen"]
    assert re.search(rf"<dt>已付</dt><dd>¥{paid // 100}\.{paid % 100:02d}</dd>", page)
    rest = total - paid
    assert re.search(rf'<dt>待付</dt><dd id="cash-outstanding">¥{rest // 100}\.{rest % 100:02d}</dd>', page)


def test_an_empty_order_list_leads_to_the_shop(client, auth, db):
    """A new account's 我的订单 says it has none and leads on with a button a thumb finds (去逛逛, the
    empty cart's `btn primary`), not a small link ending the sentence."""
    auth.login(make_user())
    page = client.get("/orders").get_data(as_text=True)
    assert re.search(r'<p>还没有订单。</p>\s*<p><a class="btn primary" href="/">去逛逛</a></p>', page)
    english = client.get("/orders?lang=en").get_data(as_text=True)
    assert re.search(r'<p>No orders yet\.</p>\s*<p><a class="btn primary" href="/">Start shopping</a></p>', english)


def test_the_order_history_lists_the_order_and_its_payment_in_the_order_things_happened(
    client, auth, db, api_token, fake_stripe
):
    """订单记录 is one numbered list: the payment created with the order comes before the order confirmed
    when it was paid (the order's changes were listed first, then the payment's, each from the start)."""
    import sqlalchemy as sa

    from orders.models import Order
    from orders.services import payments
    from shop.timeutil import now_utc
    from tests.orders.factories import FakeStripeProvider

    buyer = make_user()
    commit()
    body = {"items": [{"product_id": make_product(stock=5).id, "quantity": 1}], "address": ADDRESS_JSON}
    placed = client.post("/api/v1/orders", headers=api_token(buyer), json={**body, "payment_method": "card"})
    assert placed.status_code == 201, placed.json
    order = db.session.scalar(sa.select(Order).where(Order.code == placed.json["id"]))
    FakeStripeProvider.succeed(order.payments[0].provider_ref)
    payments.sync_payment(order.payments[0], now=now_utc())
    commit()
    auth.login(buyer)
    page = client.get(f"/orders/{order.code}").get_data(as_text=True)
    history = page[page.index("订单记录") :]
    items = [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", li)).strip() for li in re.findall(r"<li>(.*?)</li>", history)]
    kinds = [item.split(" ", 2)[-1] for item in items]  # after the date and the time
    assert kinds.index("支付 已创建") < kinds.index("订单 已确认 · 已付款"), items


def test_a_stay_paid_on_arrival_says_it_is_still_to_pay_not_created(client, auth, db):
    """The payment of a stay paid on arrival stays `created` until the host takes the cash; the buyer's
    page says 到店支付 · 待支付 (Pay on arrival · Awaiting payment), not the internal 已创建 (Created)."""
    listing = make_listing(name="罗渡山居", units=1, pay_on_arrival=True)
    buyer = make_user()
    auth.login(buyer)
    add_stay_to_cart(client, listing)
    page = client.get("/checkout").get_data(as_text=True)
    total = re.search(r'name="shown_total_ship" value="(\d+)"', page).group(1)
    res = client.post(
        "/checkout", data={"form_token": new_form_token(), "payment_method": "arrival", "shown_total_ship": total}
    )
    assert res.status_code == 303, res.get_data(as_text=True)
    detail = client.get(res.headers["Location"]).get_data(as_text=True)
    payment = " ".join(
        re.sub(r"<[^>]+>", " ", re.search(r'<section class="card payment">.*?</p>', detail, re.S).group(0)).split()
    )
    assert "到店支付 · 待支付" in payment and "已创建" not in payment, payment
    english = client.get(res.headers["Location"] + "?lang=en").get_data(as_text=True)
    payment = re.search(r'<section class="card payment">.*?</p>', english, re.S).group(0)
    assert "Awaiting payment" in payment and "Created" not in payment, payment


def _history(page: str) -> list[str]:
    """The 订单记录 list's entries, without their date and time."""
    history = page[page.index('<ol class="history">') :]
    items = [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", li)).strip() for li in re.findall(r"<li>(.*?)</li>", history)]
    return [item.split(" ", 2)[-1] for item in items]


def test_a_stay_to_pay_on_arrival_says_what_it_will_credit_once_paid_and_its_payment_waits(client, auth, db):
    """Before the guest pays the host, the order page says what the stay will credit once paid (付款后，此项消费将为
    … 增收), as money is credited only when received, and its history says 支付 待支付, not the internal 已创建;
    once the host has taken the cash at check-in, the payment is 已确认 and the note no longer waits for it."""
    from shop.timeutil import now_utc
    from tests.factories import make_household, make_village
    from tests.tourism.factories import paying_on_arrival_today
    from tourism.services.booking import check_in_booking
    from tourism.services.host_cash import arrival_due_fen

    village = make_village(name="柳溪村")
    listing = make_listing(price_fen=20000, pay_on_arrival=True, households=[make_household(village=village)])
    booking = paying_on_arrival_today(listing)
    commit()
    auth.login(booking.user)
    page = client.get(f"/orders/{booking.order.code}").get_data(as_text=True)
    assert "付款后，此项消费将为 柳溪村 的 1 户脱贫户增收 ¥200.00" in page
    assert "支付 待支付" in _history(page) and not any("已创建" in step for step in _history(page)), _history(page)
    english = client.get(f"/orders/{booking.order.code}?lang=en").get_data(as_text=True)
    assert "Once paid, this purchase will raise ¥200.00 for 1 household in 柳溪村" in english
    assert not any("Created" in step for step in _history(english)), _history(english)

    check_in_booking(
        booking,
        booking.confirmation_code,
        actor=listing.host,
        now=now_utc(),
        cash_received_fen=arrival_due_fen(booking),
    )
    commit()
    page = client.get(f"/orders/{booking.order.code}?lang=zh_CN").get_data(as_text=True)
    assert "付款后" not in page and "柳溪村 的 1 户脱贫户增收 ¥200.00" in page
    steps = _history(page)
    assert steps.index("支付 待支付") < steps.index("支付 已确认") and not any("已创建" in s for s in steps), steps
