"""The setup the institutional buying tests share: an approved organisation with a buyer, an approver and
a viewer, two products to buy (rice and eggs), a purchase of them for two canteens as the API takes it
or one canteen as the form takes it, the buyer logged in, a quote asked and answered, and a purchase
approved through the API."""

from __future__ import annotations

from datetime import timedelta

from shop.db import commit
from shop.once import new_form_token
from shop.timeutil import local_date, now_utc
from tests.factories import make_product, make_user
from tests.institutions.factories import make_organisation
from tests.orders.factories import ADDRESS_JSON


def requested_day(days: int = 7) -> str:
    """The ISO date `days` from today (Asia/Shanghai), as a purchase or quote asks for it."""
    return (local_date(now_utc()) + timedelta(days=days)).isoformat()


def organisation_with_products(*, stock: int = 50, status: str = "approved"):
    """(organisation, buyer, approver, viewer, rice, eggs): an organisation of `status` with its three
    members, and rice (¥60.00) and eggs, `stock` units each, committed."""
    buyer, approver, viewer = make_user(name="采购小张"), make_user(name="财务老李"), make_user()
    organisation = make_organisation(status=status, members={"buyer": buyer, "approver": approver, "viewer": viewer})
    rice, eggs = make_product(name="南昌大米", price_fen=6000, stock=stock), make_product(name="土鸡蛋", stock=stock)
    commit()
    return organisation, buyer, approver, viewer, rice, eggs


def purchase_body(organisation, rice, eggs, **extra) -> dict:
    """The JSON of `POST /api/v1/purchases`: 8 rice and 5 eggs to the east canteen, 6 rice to the west
    one, shipped, cash on delivery; `extra` adds or overrides fields."""
    return {
        "organisation_id": organisation.id,
        "delivery": "ship",
        "requested_date": requested_day(),
        "payment_method": "cod",
        "destinations": [
            {
                "label": "东校区食堂",
                "address": ADDRESS_JSON,
                "items": [{"product_id": rice.id, "quantity": 8}, {"product_id": eggs.id, "quantity": 5}],
            },
            {
                "label": "西校区食堂",
                "address": {**ADDRESS_JSON, "line": "澄湖西路2号"},
                "items": [{"product_id": rice.id, "quantity": 6}],
            },
        ],
        **extra,
    }


def purchase_form(rice, eggs, **extra) -> dict:
    """The new purchase form's fields: 3 rice and 2 eggs to one canteen, shipped, cash on delivery, with a
    fresh form token; `extra` adds or overrides fields."""
    return {
        "delivery": "ship",
        "requested_date": requested_day(),
        "payment_method": "cod",
        "label": "本部食堂",
        **ADDRESS_JSON,
        "form_token": new_form_token(),
        "product_0": str(rice.id),
        "quantity_0": "3",
        "product_1": str(eggs.id),
        "quantity_1": "2",
        **extra,
    }


def logged_in_client(app, user):
    """A test client of its own, logged in as `user` (password "password123")."""
    client = app.test_client()
    client.post("/login", data={"email": user.email, "password": "password123"})
    return client


def ask_quote(client, s, quantity=8, **extra):
    """The buyer asks for a quote on rice (`s`: "b" the buyer's API headers, "organisation", "rice");
    the created quote request's JSON."""
    r = client.post(
        "/api/v1/quote-requests",
        headers=s["b"],
        json={
            "organisation_id": s["organisation"].id,
            "product_id": s["rice"].id,
            "quantity": quantity,
            "needed_by": requested_day(9),
            "note": "食堂月度用米",
            **extra,
        },
    )
    assert r.status_code == 201, r.json
    return r.json


def answer_quote(client, token, quote_id, **body):
    """The station's operator (`token`: their API headers) answers the quote: 8 at ¥52.00, in 3 days,
    valid until 5 days from today; `body` overrides fields. The response."""
    return client.post(
        f"/api/v1/quote-requests/{quote_id}/answer",
        headers=token,
        json={"quantity": 8, "unit_price_fen": 5200, "lead_days": 3, "valid_until": requested_day(5), **body},
    )


def approved_purchase(client, api_token, organisation, buyer, approver, rice, eggs) -> list[str]:
    """The buyer creates and submits `purchase_body`'s purchase, the approver approves it; the codes of
    the orders placed."""
    b, a = api_token(buyer), api_token(approver)
    purchase_id = client.post("/api/v1/purchases", headers=b, json=purchase_body(organisation, rice, eggs)).json["id"]
    client.post(f"/api/v1/purchases/{purchase_id}/submit", headers=b)
    return client.post(f"/api/v1/purchases/{purchase_id}/approve", headers=a, json={}).json["order_codes"]
