"""A form sent after its page expired (its CSRF token no longer holds) changes nothing; sent from the
shop's own page it comes back with what was typed, a fresh token and the message to send it again
(shop/resubmit.py, docs/journeys.md "A form sent after its page expired"); from anywhere else it is
the plain 400 it always was."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from orders.models import Order, RefundRequest
from shop.db import commit
from stations.services import fulfilment
from tests.conftest import AuthActions
from tests.factories import make_product, make_user
from tests.stations.factories import make_order

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
SAME_ORIGIN = ({"Origin": "http://localhost"}, {"Sec-Fetch-Site": "same-origin"})
FOREIGN = ({"Origin": "http://evil.example"}, {"Sec-Fetch-Site": "cross-site", "Origin": "http://localhost"}, {})
EXPIRED = "页面已过期，刚才的提交没有生效，请核对后再提交一次"
REASON = "两个蛋碎了，盒子也压扁了"


@pytest.fixture
def buyer(db):
    return make_user(email="buyer@test.cn")


@pytest.fixture
def delivered(db, now, buyer):
    product = make_product(stock=10)
    operator = make_user(role="operator", station=product.station, email="op@test.cn")
    order = make_order([(product, 2)], buyer=buyer)
    shipment = order.shipments[0]
    fulfilment.accept(shipment, actor=operator, now=now)
    fulfilment.pack(shipment, actor=operator, now=now)
    fulfilment.ship(shipment, tracking_number="SF1", actor=operator, now=now)
    fulfilment.deliver(shipment, actor=operator, now=now)
    commit()
    return order


def _signed_in(app, user):
    browser = app.test_client()
    AuthActions(browser).login(user)
    return browser


def _expire(browser) -> None:
    """The session's CSRF token is gone (the session expired, or another tab signed in again)."""
    with browser.session_transaction() as session:
        session.pop("csrf_token", None)


def _asked(db) -> list[str]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(RefundRequest.reason)))


@pytest.mark.parametrize("headers", SAME_ORIGIN)
def test_an_expired_refund_form_comes_back_with_its_reason_and_a_fresh_token(
    app, db, delivered, buyer, monkeypatch, headers
):
    browser = _signed_in(app, buyer)
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    stale = TOKEN.search(browser.get(f"/orders/{delivered.code}").get_data(as_text=True)).group(1)
    _expire(browser)
    url = f"/orders/{delivered.code}/lines/{delivered.lines[0].id}/refund"

    answer = browser.post(url, data={"csrf_token": stale, "kind": "refund_only", "reason": REASON}, headers=headers)
    body = answer.get_data(as_text=True)
    assert answer.status_code == 400
    assert EXPIRED in body and f">{REASON}</textarea>" in body and '<details class="refund-ask" open>' in body
    assert _asked(db) == [], "the expired POST asked nothing"
    fresh = TOKEN.search(body).group(1)
    assert fresh != stale

    sent = browser.post(url, data={"csrf_token": fresh, "kind": "refund_only", "reason": REASON}, headers=headers)
    assert sent.status_code == 303 and _asked(db) == [REASON]


@pytest.mark.parametrize("headers", FOREIGN)
def test_a_post_from_elsewhere_is_not_offered_again(app, db, delivered, buyer, monkeypatch, headers):
    """Another site's form (or a request that says neither header) gets the plain 400: a forged request
    must not become a page asking its victim to send it again."""
    browser = _signed_in(app, buyer)
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    url = f"/orders/{delivered.code}/lines/{delivered.lines[0].id}/refund"
    answer = browser.post(url, data={"csrf_token": "forged", "kind": "refund_only", "reason": REASON}, headers=headers)
    body = answer.get_data(as_text=True)
    assert answer.status_code == 400
    assert "页面已过期，请刷新后重试" in body and REASON not in body and "<textarea" not in body
    assert _asked(db) == []


def test_a_signed_out_visitor_is_asked_to_sign_in_first_and_finds_the_reason_kept(
    app, db, delivered, buyer, monkeypatch
):
    """Signed out, the page cannot show the order: it asks to sign in, keeps the reason for the sign-in
    (shop.kept_form, never in this page) and the sign-in leads back to the order with the form open."""
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    visitor = app.test_client()
    url = f"/orders/{delivered.code}/lines/{delivered.lines[0].id}/refund"
    answer = visitor.post(
        url, data={"csrf_token": "old", "kind": "refund_only", "reason": REASON}, headers=SAME_ORIGIN[0]
    )
    body = answer.get_data(as_text=True)
    assert answer.status_code == 400 and "您已退出登录" in body and "您填写的内容已保留" in body
    assert f'href="/login?next={url}&amp;need=form"' in body
    assert REASON not in body and _asked(db) == []

    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", False)
    signed_in = visitor.post(f"/login?next={url}&need=form", data={"email": buyer.email, "password": "password123"})
    assert signed_in.status_code == 302 and signed_in.location == url
    page = visitor.get(url).get_data(as_text=True)
    assert f">{REASON}</textarea>" in page and '<details class="refund-ask" open>' in page
    assert _asked(db) == [], "shown again, not sent"
    assert visitor.get(url).status_code == 303, "shown once; then the address leads to the order"


def test_any_other_expired_form_is_offered_again_without_its_confirmation(app, db, buyer, monkeypatch):
    """A form whose view names no page of its own: its fields come back as hidden inputs with a fresh
    token, never `confirm=1` — sending it again meets the action's confirmation step again."""
    order = make_order([(make_product(stock=5), 1)], buyer=buyer)
    commit()
    browser = _signed_in(app, buyer)
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    stale = TOKEN.search(browser.get(f"/orders/{order.code}/cancel").get_data(as_text=True)).group(1)
    _expire(browser)
    url = f"/orders/{order.code}/cancel"

    answer = browser.post(url, data={"csrf_token": stale, "confirm": "1"}, headers=SAME_ORIGIN[1])
    body = answer.get_data(as_text=True)
    assert answer.status_code == 400 and EXPIRED in body and "再次提交" in body
    assert f'action="{url}"' in body and 'name="confirm"' not in body
    assert db.session.get(Order, order.id).status == "confirmed"

    again = browser.post(url, data={"csrf_token": TOKEN.search(body).group(1)}, headers=SAME_ORIGIN[1])
    assert again.status_code == 303 and again.location.endswith(f"/orders/{order.code}/cancel")
    db.session.expire_all()
    assert db.session.get(Order, order.id).status == "confirmed", "the confirmation step asks again"


def test_a_password_is_never_written_back_into_a_page(app, db, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    visitor = app.test_client()
    visitor.get("/register")
    _expire(visitor)
    data = {"csrf_token": "old", "email": "new@test.cn", "password": "s3cret-Passw0rd", "name": "新用户"}
    answer = visitor.post("/register", data=data, headers=SAME_ORIGIN[0])
    body = answer.get_data(as_text=True)
    assert answer.status_code == 400 and "s3cret-Passw0rd" not in body and "new@test.cn" not in body
    assert "请返回上一页，重新填写后提交" in body
