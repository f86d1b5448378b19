"""One order, one event, one mail: an order of bookings (alone or with goods) checked out from the cart or
`POST /api/v1/orders` mails its buyer once when placed and once when paid — the order's mail, which shows
each booking (what, when, how many) with its confirmation code and check-in QR code once confirmed, or says
the code comes with the payment — never a booking mail beside it. A booking of its own form (`POST
/bookings`) has no order mail when placed: its booking mail is its one mail."""

from __future__ import annotations

import logging
import re

import sqlalchemy as sa

from orders.models import Order
from shop.once import new_form_token
from tests.factories import make_product, make_user
from tests.orders.cart_items import add_stay_to_cart, day_ahead, stay_item
from tests.orders.factories import ADDRESS_JSON
from tests.orders.payment_setup import post_event
from tests.tourism.factories import make_listing
from tourism.models import Booking


def _mails(caplog, to: str) -> list[tuple[str, str, str]]:
    """(subject, body, attachments named in the log) of each mail sent to `to`, oldest first."""
    return [
        (r.args[1], r.args[2], r.args[3])
        for r in caplog.records
        if r.name == "shop.mail" and r.msg.startswith("mail to") and r.args[0] == to
    ]


def _order(db, code: str) -> Order:
    db.session.expire_all()
    return db.session.scalar(sa.select(Order).where(Order.code == code))


def _pay_by_webhook(client, db, fake_stripe, code: str) -> Order:
    """The card payment of order `code` succeeds at Stripe and its webhook arrives."""
    ref = _order(db, code).payments[0].provider_ref
    fake_stripe.succeed(ref)
    res = post_event(client, f"evt_{code}", "payment_intent.succeeded", ref)
    assert res.status_code == 200 and res.json["outcome"] == "confirmed", res.json
    return _order(db, code)


def test_a_stay_checked_out_from_the_cart_to_pay_on_arrival_is_one_mail_with_its_code(client, db, auth, caplog):
    caplog.set_level(logging.INFO, logger="shop.mail")
    buyer = make_user(email="stay-arrival@test.cn")
    listing = make_listing(name="罗渡山居", units=1, pay_on_arrival=True, price_fen=20000)
    auth.login(buyer)
    assert add_stay_to_cart(client, listing, checkin=10, nights=2, guests=2).status_code in (302, 303)
    page = client.get("/checkout").get_data(as_text=True)
    total = re.search(r'name="shown_total_ship" value="(\d+)"', page).group(1)
    res = client.post(
        "/checkout", data={"form_token": new_form_token(), "payment_method": "arrival", "shown_total_ship": total}
    )
    assert res.status_code == 303, res.get_data(as_text=True)
    order = db.session.scalar(sa.select(Order))
    booking = order.booking
    assert booking.status == "confirmed" and booking.confirmation_code
    [(subject, body, attached)] = _mails(caplog, buyer.email)  # was two: 订单已提交 and 预订确认
    assert subject == f"[乡村e线] 订单已提交 {order.code}"
    assert f"确认码：{booking.confirmation_code}" in body and booking.code in body and "罗渡山居" in body
    assert day_ahead(10).isoformat() in body and day_ahead(12).isoformat() in body and "人数：2" in body
    assert "合计：¥400.00" in body and "到店支付" in body and f"/orders/{order.code}" in body
    assert f"{booking.code}-qr.png" in attached  # the check-in QR code the booking mail attached


def test_bookings_alone_by_card_mail_once_when_placed_and_once_with_the_codes_when_paid(
    client, db, api_token, fake_stripe, caplog
):
    caplog.set_level(logging.INFO, logger="shop.mail")
    buyer = make_user(email="two-stays@test.cn")
    stay = make_listing(name="罗渡山居", units=1, price_fen=20000)
    other = make_listing(name="花海小院", units=1, price_fen=15000)
    res = client.post(
        "/api/v1/orders",
        json={"items": [stay_item(stay, checkin=7), stay_item(other, checkin=9, nights=1)], "payment_method": "card"},
        headers=api_token(buyer),
    )
    assert res.status_code == 201, res.json
    code = res.json["id"]
    [(subject, body, attached)] = _mails(caplog, buyer.email)
    assert subject == f"[乡村e线] 订单已提交 {code}" and "合计：¥550.00" in body
    assert "罗渡山居" in body and "花海小院" in body and day_ahead(7).isoformat() in body
    assert body.count("确认码随付款确认邮件发送") == 2 and "确认码：" not in body  # no code before the payment
    assert "请在" in body and f"/orders/{code}" in body and not attached

    order = _pay_by_webhook(client, db, fake_stripe, code)
    bookings = order.bookings
    assert [b.status for b in bookings] == ["confirmed", "confirmed"]
    mails = _mails(caplog, buyer.email)
    assert len(mails) == 2, [m[0] for m in mails]  # one mail for the payment, not one per booking beside it
    subject, body, attached = mails[1]
    assert subject == f"[乡村e线] 订单已支付 {code}" and "站点将尽快发货" not in body
    for booking in bookings:
        assert f"确认码：{booking.confirmation_code}" in body and f"{booking.code}-qr.png" in attached
    # the webhook again: nothing more
    post_event(client, f"evt_{code}", "payment_intent.succeeded", order.payments[0].provider_ref)
    assert len(_mails(caplog, buyer.email)) == 2


def test_goods_and_a_stay_mail_once_when_placed_and_once_when_paid(client, db, api_token, fake_stripe, caplog):
    caplog.set_level(logging.INFO, logger="shop.mail")
    buyer = make_user(email="mixed@test.cn")
    product = make_product(name="三江腌菜", price_fen=1500, stock=5)
    listing = make_listing(name="罗渡山居", units=1, price_fen=20000)
    res = client.post(
        "/api/v1/orders",
        json={
            "items": [{"product_id": product.id, "quantity": 2}, stay_item(listing)],
            "address": ADDRESS_JSON,
            "payment_method": "card",
        },
        headers=api_token(buyer),
    )
    assert res.status_code == 201, res.json
    code = res.json["id"]
    [(subject, body, _attached)] = _mails(caplog, buyer.email)
    assert subject == f"[乡村e线] 订单已提交 {code}" and "三江腌菜" in body and "罗渡山居" in body
    assert "确认码随付款确认邮件发送" in body
    order = _pay_by_webhook(client, db, fake_stripe, code)
    [booking] = order.bookings
    mails = _mails(caplog, buyer.email)
    assert [m[0] for m in mails] == [f"[乡村e线] 订单已提交 {code}", f"[乡村e线] 订单已支付 {code}"]
    _subject, body, attached = mails[1]
    assert "站点将尽快发货" in body and f"确认码：{booking.confirmation_code}" in body
    assert f"{booking.code}-qr.png" in attached


def test_a_booking_of_its_own_form_paid_on_arrival_still_gets_its_booking_mail(client, db, api_token, caplog):
    caplog.set_level(logging.INFO, logger="shop.mail")
    buyer = make_user(email="own-form@test.cn")
    listing = make_listing(name="罗渡山居", units=1, pay_on_arrival=True)
    res = client.post(
        "/api/v1/bookings", json={**stay_item(listing), "payment_method": "arrival"}, headers=api_token(buyer)
    )
    assert res.status_code == 201, res.json
    booking = db.session.scalar(sa.select(Booking).where(Booking.code == res.json["id"]))
    [(subject, body, attached)] = _mails(caplog, buyer.email)
    assert subject.startswith(f"预订确认 {booking.code}") and f"确认码：{booking.confirmation_code}" in body
    assert f"{booking.code}-qr.png" in attached


def test_a_booking_of_its_own_form_paid_by_card_gets_its_code_in_one_mail(client, db, api_token, fake_stripe, caplog):
    caplog.set_level(logging.INFO, logger="shop.mail")
    buyer = make_user(email="own-form-card@test.cn")
    listing = make_listing(name="罗渡山居", units=1)
    res = client.post(
        "/api/v1/bookings", json={**stay_item(listing), "payment_method": "card"}, headers=api_token(buyer)
    )
    assert res.status_code == 201, res.json
    assert _mails(caplog, buyer.email) == []  # held: nothing to confirm yet, the buyer is paying
    booking = db.session.scalar(sa.select(Booking).where(Booking.code == res.json["id"]))
    order = _pay_by_webhook(client, db, fake_stripe, booking.order.code)
    [booking] = order.bookings
    [(subject, body, attached)] = _mails(caplog, buyer.email)  # was two: 订单已支付 and 预订确认
    assert subject == f"[乡村e线] 订单已支付 {order.code}"
    assert f"确认码：{booking.confirmation_code}" in body and "罗渡山居" in body and "人数：2" in body
    assert f"{booking.code}-qr.png" in attached


def test_the_order_mail_of_bookings_is_in_the_buyers_language(client, db, api_token, fake_stripe, caplog):
    caplog.set_level(logging.INFO, logger="shop.mail")
    buyer = make_user(email="stay-en@test.cn")
    buyer.locale = "en"
    listing = make_listing(name="罗渡山居", units=1, price_fen=20000)
    res = client.post(
        "/api/v1/orders", json={"items": [stay_item(listing)], "payment_method": "card"}, headers=api_token(buyer)
    )
    assert res.status_code == 201, res.json
    order = _pay_by_webhook(client, db, fake_stripe, res.json["id"])
    [booking] = order.bookings
    (_s1, placed, _a1), (_s2, paid, _a2) = _mails(caplog, buyer.email)
    assert "its confirmation code comes with the payment confirmation mail" in placed and "Guests: 2" in placed
    assert f"Confirmation code: {booking.confirmation_code}" in paid and "attached QR code" in paid
    for body in (placed, paid):  # the words and punctuation are English; the listing's and room's names are data
        assert not any(mark in body for mark in "（），：。"), body
