"""A purchase's page and its API answer list each order it placed at what it is due now — the figure the
statement counts for it — and the money given back on it, never at its total as placed once part of it
was refunded."""

from __future__ import annotations

import re

import sqlalchemy as sa

from orders.models import Order
from orders.services.payments import refund_line
from shop.db import commit
from shop.extensions import db as _db
from shop.timeutil import local_date, now_utc
from tests.factories import make_user
from tests.institutions.purchase_setup import logged_in_client, organisation_with_products, purchase_body


def test_a_refunded_order_is_listed_at_what_it_is_due_now_and_its_refund_as_the_statement_counts_it(
    app, client, db, api_token
):
    organisation, buyer, approver, _viewer, rice, eggs = organisation_with_products()
    county = make_user(role="county")
    commit()
    b, a = api_token(buyer), api_token(approver)
    body = purchase_body(organisation, rice, eggs, payment_method="bank_transfer")
    purchase_id = client.post("/api/v1/purchases", headers=b, json=body).json["id"]
    client.post(f"/api/v1/purchases/{purchase_id}/submit", headers=b)
    codes = client.post(f"/api/v1/purchases/{purchase_id}/approve", headers=a, json={}).json["order_codes"]
    first = _db.session.scalar(sa.select(Order).where(Order.code == codes[0]))
    r = client.post(
        f"/api/v1/orders/{first.code}/bank-transfer",
        headers=api_token(county),
        json={"amount_fen": first.total_fen, "reference": "ABC2026120300017"},
    )
    assert r.status_code == 200, r.json
    _db.session.expire_all()
    first = _db.session.get(Order, first.id)
    eggs_line = next(ln for ln in first.lines if ln.product_id == eggs.id)
    refund = refund_line(eggs_line, actor=county, now=now_utc(), reason="质量问题")  # a bank refund of the eggs
    commit()
    total, back = first.total_fen, refund.amount_fen
    today = local_date(now_utc()).isoformat()
    st = client.get(f"/api/v1/organisations/{organisation.id}/statement?from={today}&to={today}", headers=b).json
    due = {o["code"]: o["due_fen"] for o in st["orders"]}
    assert due[first.code] == total - back
    listed = client.get(f"/api/v1/purchases/{purchase_id}", headers=b).json["orders"]
    assert {o["code"]: o["due_fen"] for o in listed} == due
    [mine] = [o for o in listed if o["code"] == first.code]
    assert (mine["total_fen"], mine["refunded_fen"]) == (total, back)
    page = logged_in_client(app, buyer).get(f"/purchases/{purchase_id}").get_data(as_text=True)
    items = re.findall(r"<li>(.*?)</li>", page, re.S)
    [item] = [i for i in items if first.code in i]
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", item))
    yuan = lambda fen: f"¥{fen // 100:,}.{fen % 100:02d}"  # noqa: E731
    assert f"{first.code} · {yuan(total - back)} （下单时 {yuan(total)}）" in text, text
    assert f"已退款 {yuan(back)}" in text, text
    [other] = [i for i in items if codes[1] in i]
    assert "下单时" not in other and "已退款" not in other, other  # nothing refunded: its total, as placed
