"""Order e-mails go through the shop.mail Celery task after commit: logged by default, SMTP by config."""

from __future__ import annotations

import logging

from shop.db import commit
from shop.mail import send_mail
from tests.factories import make_product, make_user
from tests.orders.factories import make_order


def test_order_confirmation_mail_is_logged_after_commit(db, now, caplog):
    buyer = make_user(email="buyer@test.cn")
    caplog.set_level(logging.INFO, logger="shop.mail")
    product = make_product(name="三江腌菜")
    order = make_order(
        buyer,
        [(product, 2)],
        now=now,
        payment_method="station_cash",
        delivery="pickup",
        pickup_station_id=product.station_id,
    )
    assert not [r for r in caplog.records if r.name == "shop.mail"]  # nothing before commit
    commit()
    [record] = [r for r in caplog.records if r.name == "shop.mail"]
    text = record.getMessage()
    assert "buyer@test.cn" in text and order.code in text and "三江腌菜" in text
    assert order.shipments[0].pickup_code in text


def test_send_mail_uses_smtp_when_configured(app, monkeypatch):
    sent = []

    class FakeSMTP:
        def __init__(self, host, port, timeout):
            sent.append(("connect", host, port))

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def starttls(self):
            sent.append(("tls",))

        def login(self, user, password):
            sent.append(("login", user))

        def send_message(self, msg):
            sent.append(("send", msg["To"], msg["Subject"]))

    monkeypatch.setattr("shop.mail.smtplib.SMTP", FakeSMTP)
    monkeypatch.setitem(app.config, "MAIL_SERVER", "smtp.example")
    monkeypatch.setitem(app.config, "MAIL_PORT", 587)
    monkeypatch.setitem(app.config, "MAIL_USE_TLS", True)
    monkeypatch.setitem(app.config, "MAIL_USERNAME", "shop")
    with app.app_context():
        send_mail("a@test.cn", "主题", "正文")
    assert sent == [("connect", "smtp.example", 587), ("tls",), ("login", "shop"), ("send", "a@test.cn", "主题")]


def test_the_order_mails_read_as_render_template_renders_them(db, now):
    """The order mails are rendered without the pages' context processors (shop.mail.render_mail):
    the same text as Flask's render_template gives, in both languages, for a pick-up order's
    confirmation and for every status mail, with its history and a recalled lot's line."""
    from flask import render_template
    from flask_babel import force_locale

    from shop.history import history_of
    from shop.mail import render_mail

    product = make_product(name="三江腌菜")
    buyer = make_user(email="buyer@test.cn")
    order = make_order(buyer, [(product, 2)], now=now, delivery="pickup", pickup_station_id=product.station_id)
    commit()
    recalled = [{"title": "三江腌菜", "order_code": order.code, "code": "L123", "reason": "抽检", "url": "https://x/t"}]
    for locale in ("zh_CN", "en"):
        with force_locale(locale):
            cases = [("emails/order_confirmation.txt", "placed", [], [])]
            cases += [
                ("emails/order_status.txt", kind, history_of(order), recalled if kind == "recall" else [])
                for kind in ("paid", "canceled", "expired", "uncollected", "refunded", "recall", "refund_rejected")
            ]
            rejected = {"title": "三江腌菜", "note": "无质量问题"}
            for template, kind, history, lines in cases:
                context = {"order": order, "kind": kind, "history": history, "recalled": lines, "rejected": rejected}
                assert render_mail(template, **context) == render_template(template, **context)


def test_the_cancel_mail_speaks_of_a_refund_only_when_something_was_paid(client, db, auth, now, caplog):
    """An unpaid order (cash on delivery not yet delivered, a stay paid on arrival) cancelled: the mail says
    nothing was charged, where it said the payment would be refunded; a paid one says how its money comes
    back and how much. A paid order whose cancellation gave nothing back now (`settled`: its step made no
    refund) says neither that money comes back nor that it is not charged."""
    from orders.services.payments import confirm_counter_cash
    from orders.tasks import send_order_mail
    from tests.sent_mail import mails_to

    buyer = make_user(email="cancel-mail@test.cn")
    unpaid = make_order(buyer, [(make_product(), 1)], now=now, payment_method="cod")
    at_the_counter = make_product()
    paid = make_order(
        buyer,
        [(at_the_counter, 1)],
        now=now,
        payment_method="station_cash",
        delivery="pickup",
        pickup_station_id=at_the_counter.station_id,
    )
    operator = make_user(role="operator", station=paid.shipments[0].station)
    confirm_counter_cash(paid.shipments[0], actor=operator, now=now)  # the cash taken ahead at the counter
    nothing_now = make_order(buyer, [(make_product(), 1)], now=now, payment_method="cod")
    nothing_now.paid_at = now
    commit()
    auth.login(buyer)
    with caplog.at_level("INFO", logger="shop.mail"):
        send_order_mail.run(unpaid.id, "canceled")
        assert client.post(f"/orders/{paid.code}/cancel", data={"confirm": "1"}).status_code == 303
        send_order_mail.run(nothing_now.id, "canceled", None, "", {"refunds": []})
    bodies = {subject.rsplit(" ", 1)[-1]: body for subject, body in mails_to(caplog, buyer.email)}
    assert "没有产生任何扣款" in bodies[unpaid.code] and "原路退回" not in bodies[unpaid.code]
    # paid at the station's counter: the cash is collected there (it said 原路退回, "the way it came")
    assert "订单已取消。请到付款的站点柜台领取退还的现金。" in bodies[paid.code]
    assert "退款金额：¥45.00" in bodies[paid.code]
    assert "原路退回" not in bodies[paid.code] and "没有产生任何扣款" not in bodies[paid.code]
    # it said 这部分货款您还没有支付，不再收取 of an order paid
    said = bodies[nothing_now.code]
    assert "订单已取消。\n" in said and "退款金额" not in said, said
    assert not any(words in said for words in ("不再收取", "原路退回", "柜台", "没有产生任何扣款")), said


def test_the_placed_mail_of_a_stay_paid_on_arrival_says_pay_on_arrival_not_cash_on_delivery(client, db, auth, caplog):
    """A stay checked out from the cart to pay on arrival: its 订单已提交 mail said 货到付款 (cash on delivery)
    and 含运费 ¥0.00, as if goods were coming; it says the stay is paid on arrival and names no shipping."""
    from datetime import timedelta

    from shop.once import new_form_token
    from shop.timeutil import local_date, now_utc
    from tests.sent_mail import mails_to
    from tests.tourism.factories import make_listing

    caplog.set_level(logging.INFO, logger="shop.mail")
    listing = make_listing(pay_on_arrival=True, units=1)
    auth.login(make_user(email="stay-mail@test.cn"))
    day = local_date(now_utc()) + timedelta(days=10)
    typed = {"checkin": day.isoformat(), "checkout": (day + timedelta(days=2)).isoformat(), "guests": 2, "units": 1}
    typed["unit_type_id"] = listing.unit_types[0].id
    assert client.post("/cart/bookings", data={"listing_id": listing.id, **typed}).status_code in (302, 303)
    checkout = {"form_token": new_form_token(), "payment_method": "arrival"}
    assert client.post("/checkout", data=checkout).status_code in (302, 303)
    [body] = [body for subject, body in mails_to(caplog, "stay-mail@test.cn") if "订单已提交" in subject]
    assert "到店支付。" in body
    assert "货到付款" not in body and "运费" not in body


def test_the_placed_mail_of_a_stay_names_no_nights_in_chinese_to_an_english_buyer(client, db, auth, caplog):
    """A stay's line in the English 订单已提交 mail read "罗渡农家乐 · 家庭房 · 12-22–12-24 × 2 晚 ¥536.00": the
    order line's unit (晚, nights times rooms) untranslated. The booking's own lines below it name the nights;
    the line says its title and amount only, as the other order mails do."""
    from datetime import timedelta

    from shop.once import new_form_token
    from shop.timeutil import local_date, now_utc
    from tests.sent_mail import mails_to
    from tests.tourism.factories import make_listing

    caplog.set_level(logging.INFO, logger="shop.mail")
    listing = make_listing(pay_on_arrival=True, units=1)
    buyer = make_user(email="stay-mail-en@test.cn")
    buyer.locale = "en"
    commit()
    auth.login(buyer)
    day = local_date(now_utc()) + timedelta(days=10)
    typed = {"checkin": day.isoformat(), "checkout": (day + timedelta(days=2)).isoformat(), "guests": 2, "units": 1}
    typed["unit_type_id"] = listing.unit_types[0].id
    assert client.post("/cart/bookings", data={"listing_id": listing.id, **typed}).status_code in (302, 303)
    checkout = {"form_token": new_form_token(), "payment_method": "arrival"}
    assert client.post("/checkout", data=checkout).status_code in (302, 303)
    [body] = [body for subject, body in mails_to(caplog, buyer.email) if "Order placed" in subject]
    [line] = [row for row in body.splitlines() if row.startswith("- ")]
    assert "晚" not in body and " × " not in line and "¥" in line, line
    assert "(2 nights)" in body
