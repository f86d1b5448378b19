"""The host is mailed a booking of its listings once it has one to prepare for — placed to pay on arrival (its own
form or a checkout), or paid by card when the payment arrives (the webhook), a mixed order's stay too, never at
the hold — and when the guest cancels it; an expired hold tells no one. In the host's language, with what the
host's desk shows of the booking (`tourism.tasks.send_host_booking_mail`)."""

from __future__ import annotations

import logging
from datetime import timedelta

import sqlalchemy as sa

from orders.models import Order
from shop.timeutil import now_utc
from tests.factories import make_product, make_user
from tests.orders.cart_items import day_ahead, stay_item
from tests.orders.factories import ADDRESS_JSON
from tests.orders.payment_setup import post_event
from tests.tourism.factories import make_listing
from tourism.models import Booking


def _mails(caplog, to: str) -> list[tuple[str, str]]:
    """(subject, body) of each mail sent to `to`, oldest first (shop.mail logs every mail it sends)."""
    return [
        (r.args[1], r.args[2])
        for r in caplog.records
        if r.name == "shop.mail" and r.msg.startswith("mail to") and r.args[0] == to
    ]


def _host(email: str, locale: str | None = None):
    host = make_user(role="host", email=email, name="罗渡接待户")
    host.locale = locale
    return host


def _booking(db, code: str) -> Booking:
    db.session.expire_all()
    return db.session.scalar(sa.select(Booking).where(Booking.code == code))


def _pay_by_webhook(client, db, fake_stripe, order_code: str) -> None:
    db.session.expire_all()
    ref = db.session.scalar(sa.select(Order).where(Order.code == order_code)).payments[0].provider_ref
    fake_stripe.succeed(ref)
    res = post_event(client, f"evt_{order_code}", "payment_intent.succeeded", ref)
    assert res.status_code == 200 and res.json["outcome"] == "confirmed", res.json
    # Stripe sends the event again: nothing more
    assert post_event(client, f"evt_{order_code}", "payment_intent.succeeded", ref).status_code == 200


def test_a_booking_paid_on_arrival_mails_its_host_once_and_its_cancellation_once(client, db, api_token, caplog):
    caplog.set_level(logging.INFO, logger="shop.mail")
    host = _host("arrival-host@test.cn")
    listing = make_listing(host=host, name="罗渡山居", units=2, pay_on_arrival=True, price_fen=20000)
    guest = make_user(email="arrival-guest@test.cn", name="张三")
    db.session.commit()
    headers = api_token(guest)
    res = client.post("/api/v1/bookings", json={**stay_item(listing), "payment_method": "arrival"}, headers=headers)
    assert res.status_code == 201 and res.json["status"] == "confirmed", res.json
    code = res.json["code"]
    [(subject, body)] = _mails(caplog, host.email)
    assert subject == f"新预订 {code} · 罗渡山居", subject
    assert "您有一个新预订" in body and f"预订号：{code}" in body and "客人：张三" in body
    assert day_ahead(7).isoformat() in body and day_ahead(9).isoformat() in body and "人数：2" in body
    assert "到店应收：¥400.00" in body and "/host/" in body
    # the desk shows no confirmation code (the guest gives it at check-in), nor does the mail; nor the guest's e-mail
    assert res.json["confirmation_code"] not in body and guest.email not in body
    assert len(_mails(caplog, guest.email)) == 1  # the guest's own booking mail, as before

    res = client.post(f"/api/v1/bookings/{code}/cancel", headers=headers)
    assert res.status_code == 200 and res.json["status"] == "canceled", res.json
    mails = _mails(caplog, host.email)
    assert len(mails) == 2, [m[0] for m in mails]
    subject, body = mails[1]
    assert subject == f"预订已取消 {code} · 罗渡山居" and "以下预订已取消" in body
    assert client.post(f"/api/v1/bookings/{code}/cancel", headers=headers).status_code == 200  # again: nothing
    assert len(_mails(caplog, host.email)) == 2


def test_a_stay_checked_out_to_pay_on_arrival_mails_its_host(client, db, api_token, caplog):
    caplog.set_level(logging.INFO, logger="shop.mail")
    host = _host("checkout-host@test.cn")
    listing = make_listing(host=host, name="花海小院", units=2, pay_on_arrival=True, price_fen=15000)
    db.session.commit()
    res = client.post(
        "/api/v1/orders",
        json={"items": [stay_item(listing, checkin=5, nights=1)], "payment_method": "arrival"},
        headers=api_token(make_user()),
    )
    assert res.status_code == 201, res.json
    booking = db.session.scalar(sa.select(Booking))
    assert booking.status == "confirmed"
    [(subject, body)] = _mails(caplog, host.email)
    assert subject == f"新预订 {booking.code} · 花海小院" and "到店应收：¥150.00" in body


def test_a_card_booking_mails_its_host_when_paid_not_at_the_hold(client, db, api_token, fake_stripe, caplog):
    caplog.set_level(logging.INFO, logger="shop.mail")
    host = _host("card-host@test.cn")
    listing = make_listing(host=host, name="罗渡山居", units=2, price_fen=20000)
    db.session.commit()
    res = client.post(
        "/api/v1/bookings", json={**stay_item(listing), "payment_method": "card"}, headers=api_token(make_user())
    )
    assert res.status_code == 201 and res.json["status"] == "held", res.json
    code = res.json["code"]
    assert _mails(caplog, host.email) == []  # a hold waiting for its payment: nothing to prepare for yet
    _pay_by_webhook(client, db, fake_stripe, _booking(db, code).order.code)
    assert _booking(db, code).status == "confirmed"
    [(subject, body)] = _mails(caplog, host.email)
    assert subject == f"新预订 {code} · 罗渡山居" and "客人已在线付款" in body and "到店应收" not in body


def test_a_stay_bought_with_goods_by_card_mails_its_host_when_paid(client, db, api_token, fake_stripe, caplog):
    caplog.set_level(logging.INFO, logger="shop.mail")
    host = _host("mixed-host@test.cn")
    listing = make_listing(host=host, name="罗渡山居", units=1, price_fen=20000)
    product = make_product(name="三江腌菜", price_fen=1500, stock=5)
    db.session.commit()
    res = client.post(
        "/api/v1/orders",
        json={
            "items": [{"product_id": product.id, "quantity": 2}, stay_item(listing)],
            "address": ADDRESS_JSON,
            "payment_method": "card",
        },
        headers=api_token(make_user()),
    )
    assert res.status_code == 201, res.json
    assert _mails(caplog, host.email) == []
    _pay_by_webhook(client, db, fake_stripe, res.json["id"])
    booking = _booking(db, db.session.scalar(sa.select(Booking.code)))
    assert booking.status == "confirmed"
    [(subject, body)] = _mails(caplog, host.email)
    assert subject == f"新预订 {booking.code} · 罗渡山居" and "三江腌菜" not in body


def test_an_expired_hold_mails_no_host(client, db, api_token, fake_stripe, caplog):
    from orders.tasks import expire_orders
    from tourism.tasks import expire_holds

    caplog.set_level(logging.INFO, logger="shop.mail")
    host = _host("expired-host@test.cn")
    listing = make_listing(host=host, units=2, price_fen=20000)
    db.session.commit()
    res = client.post(
        "/api/v1/bookings", json={**stay_item(listing), "payment_method": "card"}, headers=api_token(make_user())
    )
    assert res.status_code == 201, res.json
    booking = _booking(db, res.json["code"])
    booking.expires_at = booking.order.expires_at = now_utc() - timedelta(minutes=1)
    db.session.commit()
    assert expire_holds.apply().get() == 1
    expire_orders.apply()
    assert _booking(db, res.json["code"]).status == "expired"
    assert _mails(caplog, host.email) == []


def test_an_english_host_is_mailed_in_english(client, db, api_token, caplog):
    caplog.set_level(logging.INFO, logger="shop.mail")
    host = _host("english-host@test.cn", locale="en")
    listing = make_listing(host=host, name="罗渡山居", units=2, pay_on_arrival=True, price_fen=20000)
    db.session.commit()
    headers = api_token(make_user())
    res = client.post("/api/v1/bookings", json={**stay_item(listing), "payment_method": "arrival"}, headers=headers)
    code = res.json["code"]
    assert client.post(f"/api/v1/bookings/{code}/cancel", headers=headers).status_code == 200
    (subject, body), (canceled, canceled_body) = _mails(caplog, host.email)
    assert subject == f"New booking {code} · 罗渡山居", subject
    assert "You have a new booking" in body and "Due on arrival: ¥400.00" in body and " (2 nights)" in body
    assert canceled == f"Booking canceled {code} · 罗渡山居" and "This booking was canceled" in canceled_body
    assert not any(mark in body + canceled_body for mark in "（），：")  # no Chinese punctuation
