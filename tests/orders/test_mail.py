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
    order = make_order(buyer, [(make_product(name="三江腌菜"), 2)], now=now, payment_method="station_cash")
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
