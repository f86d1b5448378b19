"""One sale traced through the JSON API (`GET /api/v1/county/sales/{line_id}`, county.sales_api): the facts of
the page `/county/sales/<line id>` from the same service (`county.services.sales.sale_trace`) — product,
variant, order code, station, lots, the split of the money, every household credited (masked exactly as the
page shows it) with its net and payout batches, the refunds — and never more personal data than the page;
the county office and admins only; an unknown line a 404."""

from __future__ import annotations

import re

import pytest

from orders.models import Order
from shop.db import commit
from tests.county.conftest import SECRET_ID, SECRET_NAME, SECRET_PHONE, SECRET_REGISTRY
from tests.county.sale_setup import refunded, sold_from_a_lot_and_paid
from tests.factories import make_user


def _url(line_id) -> str:
    return f"/api/v1/county/sales/{line_id}"


def test_a_sale_says_what_its_page_says(client, auth, db, world, county_user, now, api_token):
    a, b, _c = world["households"]
    l1 = world["lines"][0]
    s1 = world["stations"][0]
    product, lot, batch = sold_from_a_lot_and_paid(world, now)
    commit()
    order = db.session.get(Order, l1.order_id)

    res = client.get(_url(l1.id), headers=api_token(county_user))
    assert res.status_code == 200, res.json
    sale = res.json
    assert (sale["line_id"], sale["kind"], sale["product_name"], sale["variant_label"]) == (
        l1.id,
        "product",
        "土鸡蛋",
        "30枚装",
    )
    assert (sale["order_id"], sale["station"], sale["product_id"]) == (order.code, s1.name, product.id)
    assert (sale["quantity"], sale["line_total_fen"]) == (l1.quantity, l1.line_total_fen)
    assert sale["lots"] == [{"code": lot.code, "status": "active", "taken": 3}]
    # the split: the households' shares 2:1 of 3003 fen, nothing else taken
    assert sale["totals"] == {
        "sale_fen": 3003,
        "household_fen": 3003,
        "commission_fen": 0,
        "collective_fen": 0,
        "purchased_fen": 0,
    }
    assert [(f["reversal"], f["sale_fen"]) for f in sale["figures"]] == [(False, 3003)]
    households = {h["id"]: h for h in sale["households"]}
    assert set(households) == {a.id, b.id}
    assert sum(h["net_fen"] for h in households.values()) == 3003
    # a's share in the batch, b's (no account) not paid
    assert [(x["id"], x["code"], x["amount_fen"]) for x in households[a.id]["batches"]] == [
        (batch.id, batch.code, households[a.id]["net_fen"])
    ]
    assert households[a.id]["unpaid_fen"] == 0
    assert households[b.id]["batches"] == [] and households[b.id]["unpaid_fen"] == households[b.id]["net_fen"]
    assert sale["refunds"] == []

    # masked exactly as the page shows them, and nothing the page does not show
    auth.login(county_user)
    page = client.get(f"/county/sales/{l1.id}").get_data(as_text=True)
    page_names = re.findall(r'<tr class="household" data-household="\d+"><td><a [^>]*>([^<]*)</a>', page)
    assert sorted(h["name"] for h in sale["households"]) == sorted(page_names)
    assert households[a.id]["name"] == SECRET_NAME[0] + "***"
    body = res.get_data(as_text=True)
    for secret in (SECRET_NAME, SECRET_PHONE, SECRET_REGISTRY, SECRET_ID, "6228480012345678", "**** 5678"):
        assert secret not in body, secret
    buyer = order.user
    for personal in filter(None, (buyer.email, buyer.name, order.ship_name, order.ship_phone, order.ship_line)):
        assert personal not in body, personal


def test_a_refund_shows_with_its_reversal(client, db, world, county_user, now, api_token):
    l2 = world["lines"][1]
    refund = refunded(l2, now)
    commit()
    sale = client.get(_url(l2.id), headers=api_token(county_user)).json
    assert [(r["id"], r["amount_fen"], r["state"], r["reason"]) for r in sale["refunds"]] == [
        (refund.id, 500, "succeeded", "破损")
    ]
    assert f"refund:{refund.id}" in [f["ref"] for f in sale["figures"] if f["reversal"]]
    assert sale["totals"]["sale_fen"] == sum(f["sale_fen"] for f in sale["figures"])
    assert len(sale["households"]) == 2
    assert all(h["net_fen"] == h["credited_fen"] + h["reversed_fen"] for h in sale["households"])


def test_a_booking_sale_has_no_lots(client, db, world, county_user, api_token):
    l3 = world["lines"][2]
    sale = client.get(_url(l3.id), headers=api_token(county_user)).json
    assert sale["kind"] == "booking" and sale["lots"] == [] and sale["line_total_fen"] == l3.line_total_fen


@pytest.mark.parametrize("role", ["consumer", "operator", "host"])
def test_only_the_county_office_and_admins_see_a_sale(client, db, world, api_token, role):
    line = world["lines"][0]
    user = make_user(role=role, station=world["stations"][0] if role == "operator" else None)
    commit()
    res = client.get(_url(line.id), headers=api_token(user))
    assert res.status_code == 403 and res.json["error"]["code"] == "forbidden"
    assert client.get(_url(line.id)).status_code == 401
    admin = make_user(role="admin")
    commit()
    assert client.get(_url(line.id), headers=api_token(admin)).status_code == 200


@pytest.mark.parametrize("line_id", ["999999", str(2**31), str(2**63), str(2**64), "0", "-1", "abc"])
def test_an_unknown_or_malformed_line_is_a_404(client, db, world, county_user, api_token, line_id):
    res = client.get(_url(line_id), headers=api_token(county_user))
    assert res.status_code == 404 and res.json["error"]["code"] in ("sale_not_found", "not_found")
    if line_id == "999999":
        assert res.json["error"]["code"] == "sale_not_found" and res.json["error"]["message"] == "没有这笔销售"
