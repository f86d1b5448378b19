"""An order placed for an organisation's approved purchase says so on the buyer's order page and in
their order list (来自采购单 12, a link to the purchase), in the page's language; a retail order says
nothing; a buyer who has left the organisation (the purchase page would be a 404) sees no link. Orders
knows nothing of organisations: institutions fills `orders.origins` at app start."""

from __future__ import annotations

import re

import sqlalchemy as sa

from institutions.models import OrganisationMember
from orders.models import Order
from shop.db import commit
from shop.extensions import db as _db
from tests.factories import make_product
from tests.institutions.test_purchase_drafts import _login
from tests.institutions.test_purchases import _body, _setup
from tests.orders.factories import make_order


def _approved(client, api_token, organisation, buyer, approver, rice, eggs) -> tuple[int, list[str]]:
    """A purchase of two addresses, submitted and approved: (its id, its orders' codes)."""
    b = api_token(buyer)
    purchase_id = client.post("/api/v1/purchases", headers=b, json=_body(organisation, rice, eggs)).json["id"]
    assert client.post(f"/api/v1/purchases/{purchase_id}/submit", headers=b).status_code == 200
    r = client.post(f"/api/v1/purchases/{purchase_id}/approve", headers=api_token(approver), json={})
    assert r.status_code == 200, r.json
    return purchase_id, r.json["order_codes"]


def _origins(page: str) -> list[tuple[str, str]]:
    """(href, text) of every link to where an order came from."""
    return re.findall(r'<a[^>]*href="([^"]+)"[^>]*data-origin>([^<]*)</a>', page)


def test_the_buyers_order_page_and_list_link_each_order_of_a_purchase_to_it(app, client, db, api_token, now):
    organisation, buyer, approver, _viewer, rice, eggs = _setup()
    retail = make_order(buyer, [(make_product(), 1)], now=now)  # bought at the shop's checkout
    commit()
    purchase_id, codes = _approved(client, api_token, organisation, buyer, approver, rice, eggs)
    pages = _login(app, buyer)
    link = (f"/purchases/{purchase_id}", f"来自采购单 {purchase_id}")

    for code in codes:
        assert _origins(pages.get(f"/orders/{code}").get_data(as_text=True)) == [link]
    assert _origins(pages.get(f"/orders/{retail.code}").get_data(as_text=True)) == []
    assert _origins(pages.get("/orders").get_data(as_text=True)) == [link, link]  # the two orders, not the retail one
    assert pages.get(link[0]).status_code == 200  # the link opens the purchase

    english = pages.get(f"/orders/{codes[0]}?lang=en").get_data(as_text=True)
    assert _origins(english) == [(link[0], f"From purchase {purchase_id}")]


def test_a_buyer_who_left_the_organisation_sees_no_link_to_its_purchase(app, client, db, api_token):
    organisation, buyer, approver, _viewer, rice, eggs = _setup()
    purchase_id, codes = _approved(client, api_token, organisation, buyer, approver, rice, eggs)
    _db.session.execute(
        sa.delete(OrganisationMember).where(
            OrganisationMember.organisation_id == organisation.id, OrganisationMember.user_id == buyer.id
        )
    )
    commit()
    pages = _login(app, buyer)
    assert pages.get(f"/purchases/{purchase_id}").status_code == 404
    page = pages.get(f"/orders/{codes[0]}")
    assert page.status_code == 200 and _origins(page.get_data(as_text=True)) == []  # still their order
    assert _origins(pages.get("/orders").get_data(as_text=True)) == []
    assert _db.session.scalar(sa.select(sa.func.count(Order.id))) == 2
