"""An order of an approved purchase canceled by its buyer alone (the order's own 取消订单: allowed, it only
lowers spending): the purchase's page and its API answer show it canceled, by whom and when, and the
purchase's approvers are mailed once, each in their own language (`notices.on_order_canceled_by_buyer`,
through `orders.signals.order_canceled_by_buyer`). An order the shop cancels mails no approver."""

from __future__ import annotations

import re

from orders.models import Order
from orders.services.payments import cancel_order
from shop.db import commit
from shop.extensions import db as _db
from shop.timeutil import now_utc
from tests.factories import make_user
from tests.institutions.factories import add_member
from tests.institutions.purchase_setup import logged_in_client, organisation_with_products, purchase_body
from tests.sent_mail import mails_to

SITE = "http://shop.test"


def _approved(client, api_token, organisation, buyer, approver, rice, eggs) -> tuple[int, list[str]]:
    """The API's purchase to two canteens, submitted and approved: (its id, its orders' codes)."""
    b = api_token(buyer)
    purchase_id = client.post("/api/v1/purchases", headers=b, json=purchase_body(organisation, rice, eggs)).json["id"]
    assert client.post(f"/api/v1/purchases/{purchase_id}/submit", headers=b).status_code == 200
    r = client.post(f"/api/v1/purchases/{purchase_id}/approve", headers=api_token(approver), json={})
    assert r.status_code == 200, r.json
    return purchase_id, r.json["order_codes"]


def _canceled_mails(caplog, user) -> list[tuple[str, str]]:
    """The mails to `user` of a purchase's canceled order (not the order's own mail to its buyer)."""
    return [
        (s, b)
        for s, b in mails_to(caplog, user.email)
        if ("采购单" in s or "Purchase" in s) and "订单 " in s or ": order" in s
    ]


def test_an_order_its_buyer_cancels_is_shown_on_the_purchase_and_mailed_to_its_approvers(
    app, client, api_token, db, caplog
):
    organisation, buyer, approver, viewer, rice, eggs = organisation_with_products()
    english = make_user(email="finance-en@test.cn", name="Li")
    english.locale = "en"
    add_member(organisation, english, role="approver")
    commit()
    purchase_id, [east, west] = _approved(client, api_token, organisation, buyer, approver, rice, eggs)
    b = api_token(buyer)
    with caplog.at_level("INFO", logger="shop.mail"):
        for _tap in range(2):  # the second changes nothing and mails no one again
            r = client.post(f"/api/v1/orders/{west}/cancel", headers=b)
            assert r.status_code == 200 and r.json["status"] == "canceled", r.json

    # the purchase's API answer: that order canceled, by its buyer, and when
    orders = client.get(f"/api/v1/purchases/{purchase_id}", headers=api_token(approver)).json["orders"]
    by_code = {o["code"]: o for o in orders}
    assert by_code[west]["status"] == "canceled" and by_code[west]["canceled_at"]
    assert by_code[west]["canceled_by_id"] == buyer.id and by_code[west]["canceled_by_name"] == "采购小张"
    assert by_code[east]["status"] != "canceled" and by_code[east]["canceled_at"] is None
    assert by_code[east]["canceled_by_id"] is None

    # the purchase's page, as its approver reads it
    page = " ".join(logged_in_client(app, approver).get(f"/purchases/{purchase_id}").get_data(as_text=True).split())
    when = re.search(rf"{west}.*?采购小张 于 (\d{{4}}-\d\d-\d\d \d\d:\d\d) 取消", page)
    assert when is not None, page
    assert not re.search(rf"{east}[^<]*取消", page)

    # each approver mailed once, in their language; nobody else
    [(subject, body)] = _canceled_mails(caplog, approver)
    assert subject == f"[乡村e线] 采购单 {purchase_id} 的订单 {west} 已取消"
    assert (
        f"采购小张 于 {when.group(1)} 取消了{organisation.name}采购单 {purchase_id} 的订单 {west}（西校区食堂，" in body
    )
    assert f"查看采购单: {SITE}/purchases/{purchase_id}" in body
    [(en_subject, en_body)] = _canceled_mails(caplog, english)
    assert en_subject == f"[Village e-Line] Purchase {purchase_id}: order {west} canceled"
    assert f"采购小张 canceled order {west} of purchase {purchase_id}" in en_body
    assert _canceled_mails(caplog, viewer) == [] and _canceled_mails(caplog, buyer) == []


def test_an_order_the_shop_cancels_mails_no_approver(app, client, api_token, db, caplog):
    organisation, buyer, approver, _viewer, rice, eggs = organisation_with_products()
    purchase_id, [_east, west] = _approved(client, api_token, organisation, buyer, approver, rice, eggs)
    order = _db.session.query(Order).filter_by(code=west).one()
    with caplog.at_level("INFO", logger="shop.mail"):
        cancel_order(order, actor=None, now=now_utc(), reason="not collected in time", mail="uncollected")
        commit()
    assert _canceled_mails(caplog, approver) == []
    [canceled] = [
        o
        for o in client.get(f"/api/v1/purchases/{purchase_id}", headers=api_token(approver)).json["orders"]
        if o["code"] == west
    ]
    assert canceled["canceled_at"] and canceled["canceled_by_id"] is None and canceled["canceled_by_name"] == ""
    page = " ".join(logged_in_client(app, approver).get(f"/purchases/{purchase_id}").get_data(as_text=True).split())
    assert re.search(rf"{west}.*?商城于 \d{{4}}-\d\d-\d\d \d\d:\d\d 取消", page)
