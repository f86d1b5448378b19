"""Every e-mail is written in its recipient's language, subject and body, through the catalogue.

A task runs outside any request: it writes the mail under `flask_babel.force_locale(user.locale)` (Chinese
when the account has none). The account's language is the one it last chose (`?lang=` while signed in,
or the language of the page it signed in from). With no MAIL_SERVER, shop.mail writes each message to its
log: that is what is read here.
"""

from __future__ import annotations

import re

import pytest

from shop.db import commit
from tests.factories import make_product, make_user
from tests.orders.factories import make_order
from tests.sent_mail import mails_to

CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.mark.parametrize(
    ("locale", "placed", "canceled"),
    [
        (None, "[乡村e线] 订单已提交 {code}", "[乡村e线] 订单已取消 {code}"),
        ("zh_CN", "[乡村e线] 订单已提交 {code}", "[乡村e线] 订单已取消 {code}"),
        ("en", "[Village e-Line] Order placed {code}", "[Village e-Line] Order canceled {code}"),
    ],
)
def test_order_mails_follow_the_buyers_language(db, now, caplog, locale, placed, canceled):
    from orders.tasks import send_order_mail

    buyer = make_user(email=f"mail-{locale}@test.cn")
    buyer.locale = locale
    order = make_order(buyer, [(make_product(), 1)], now=now)
    commit()
    with caplog.at_level("INFO", logger="shop.mail"):
        send_order_mail.run(order.id, "placed")
        send_order_mail.run(order.id, "canceled")
    (subject1, body1), (subject2, body2) = mails_to(caplog, buyer.email)
    assert (subject1, subject2) == (placed.format(code=order.code), canceled.format(code=order.code))
    if locale == "en":
        assert not CJK.search(subject1 + subject2)
        # the mail's own words and punctuation are English (the product's name is data, in Chinese)
        assert " (incl. shipping ¥" in body1 and not any(mark in body1 for mark in "（），：")
    else:
        assert CJK.search(body1) and CJK.search(body2)


def test_station_mails_follow_the_buyers_language(db, now, caplog):
    from stations.tasks import notify_line_canceled, notify_shipment
    from tests.factories import make_station
    from tests.stations.factories import make_order as make_station_order

    station = make_station()
    product = make_product(price_fen=1000, stock=10, station=station)
    chinese_order = make_station_order([(product, 1)], payment_method="card")
    english_order = make_station_order([(product, 1)], payment_method="card")
    english_order.user.locale = "en"
    commit()
    with caplog.at_level("INFO", logger="shop.mail"):
        for order in (chinese_order, english_order):
            notify_shipment.run(order.shipments[0].id, "accepted")
            notify_line_canceled.run(order.lines[0].id, "缺货")
    (zh_subject, zh_body), (zh_cancel, _body) = mails_to(caplog, chinese_order.user.email)
    (en_subject, en_body), (en_cancel, en_cancel_body) = mails_to(caplog, english_order.user.email)
    assert zh_subject == f"您的订单 {chinese_order.code} 已被服务站接单" and "状态: 已接单" in zh_body
    assert en_subject == f"Your order {english_order.code} was accepted by the service station"
    assert "Status: Accepted" in en_body
    assert en_cancel == f"An item of your order {english_order.code} cannot be supplied"
    data = (english_order.lines[0].title, "缺货")  # the product's name and the station's reason stay as written
    assert not CJK.search(en_subject + en_body + en_cancel + re.sub("|".join(data), "", en_cancel_body))


def test_password_reset_mail_is_in_the_account_holders_language(app, db, caplog):
    english, chinese = make_user(email="reset-en@test.cn"), make_user(email="reset-zh@test.cn")
    english.locale = "en"
    commit()
    client = app.test_client()
    with caplog.at_level("INFO", logger="shop.mail"):
        client.post("/password/forgot", data={"email": english.email})  # asked from a Chinese page
        client.post("/password/forgot?lang=en", data={"email": chinese.email})  # no language of its own: the page's
    [(en_subject, en_body)] = mails_to(caplog, english.email)
    [(other_subject, _body)] = mails_to(caplog, chinese.email)
    assert not CJK.search(en_subject + en_body) and "/password/reset/" in en_body
    assert not CJK.search(other_subject)


def test_the_account_remembers_the_language_it_chose(app, db):
    from shop.auth.models import User
    from shop.extensions import db as database

    user = make_user()
    commit()
    client = app.test_client()
    client.get("/?lang=en")
    client.post("/login", data={"email": user.email, "password": "password123"})
    database.session.expire_all()
    assert database.session.get(User, user.id).locale == "en"  # signed in from an English page
    client.get("/?lang=zh_CN")
    database.session.expire_all()
    assert database.session.get(User, user.id).locale == "zh_CN"
