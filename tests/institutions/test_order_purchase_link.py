"""An order placed for an organisation's approved purchase says so on the buyer's order page and in
their order list (来自采购单 12, a link to the purchase), in the page's language; a retail order says
nothing; a buyer who has left the organisation (the purchase page would be a 404) sees no link. Orders
knows nothing of organisations: institutions fills `orders.origins` at app start. The JSON API's orders
say the same in their `origin` ({label, url} or null), the list asking for all its orders at once."""

from __future__ import annotations

import re

import sqlalchemy as sa

from institutions.models import OrganisationMember
from orders.models import Order
from shop.db import commit
from shop.extensions import db as _db
from tests.factories import make_product, make_user
from tests.institutions.purchase_setup import logged_in_client, organisation_with_products, purchase_body
from tests.orders.factories import make_order
from tests.sql_count import count_statements


def _approved(client, api_token, organisation, buyer, approver, rice, eggs, **extra) -> tuple[int, list[str]]:
    """A purchase of two addresses, submitted and approved: (its id, its orders' codes)."""
    b = api_token(buyer)
    purchase_id = client.post(
        "/api/v1/purchases", headers=b, json=purchase_body(organisation, rice, eggs, **extra)
    ).json["id"]
    assert client.post(f"/api/v1/purchases/{purchase_id}/submit", headers=b).status_code == 200
    r = client.post(f"/api/v1/purchases/{purchase_id}/approve", headers=api_token(approver), json={})
    assert r.status_code == 200, r.json
    return purchase_id, r.json["order_codes"]


def _origins(page: str) -> list[tuple[str, str]]:
    """(href, text) of every link to where an order came from."""
    return re.findall(r'<a[^>]*href="([^"]+)"[^>]*data-origin>([^<]*)</a>', page)


def test_the_buyers_order_page_and_list_link_each_order_of_a_purchase_to_it(app, client, db, api_token, now):
    organisation, buyer, approver, _viewer, rice, eggs = organisation_with_products()
    retail = make_order(buyer, [(make_product(), 1)], now=now)  # bought at the shop's checkout
    commit()
    purchase_id, codes = _approved(client, api_token, organisation, buyer, approver, rice, eggs)
    pages = logged_in_client(app, buyer)
    link = (f"/purchases/{purchase_id}", f"来自采购单 {purchase_id}")

    for code in codes:
        assert _origins(pages.get(f"/orders/{code}").get_data(as_text=True)) == [link]
    assert _origins(pages.get(f"/orders/{retail.code}").get_data(as_text=True)) == []
    assert _origins(pages.get("/orders").get_data(as_text=True)) == [link, link]  # the two orders, not the retail one
    assert pages.get(link[0]).status_code == 200  # the link opens the purchase

    english = pages.get(f"/orders/{codes[0]}?lang=en").get_data(as_text=True)
    assert _origins(english) == [(link[0], f"From purchase {purchase_id}")]


def test_a_buyer_who_left_the_organisation_sees_no_link_to_its_purchase(app, client, db, api_token):
    organisation, buyer, approver, _viewer, rice, eggs = organisation_with_products()
    purchase_id, codes = _approved(client, api_token, organisation, buyer, approver, rice, eggs)
    _db.session.execute(
        sa.delete(OrganisationMember).where(
            OrganisationMember.organisation_id == organisation.id, OrganisationMember.user_id == buyer.id
        )
    )
    commit()
    pages = logged_in_client(app, buyer)
    assert pages.get(f"/purchases/{purchase_id}").status_code == 404
    page = pages.get(f"/orders/{codes[0]}")
    assert page.status_code == 200 and _origins(page.get_data(as_text=True)) == []  # still their order
    assert _origins(pages.get("/orders").get_data(as_text=True)) == []
    assert _db.session.scalar(sa.select(sa.func.count(Order.id))) == 2


def _origin(purchase_id: int, label: str = "来自采购单 {}") -> dict[str, str]:
    return {"label": label.format(purchase_id), "url": f"/purchases/{purchase_id}"}


def test_the_apis_orders_name_the_purchase_they_were_placed_for_and_a_retail_order_none(
    app, client, db, api_token, now
):
    organisation, buyer, approver, _viewer, rice, eggs = organisation_with_products()
    retail = make_order(buyer, [(make_product(), 1)], now=now)
    commit()
    purchase_id, codes = _approved(client, api_token, organisation, buyer, approver, rice, eggs)
    headers = api_token(buyer)

    listed = client.get("/api/v1/orders", headers=headers)
    assert listed.status_code == 200, listed.json
    assert {o["id"]: o["origin"] for o in listed.json["items"]} == {
        codes[0]: _origin(purchase_id),
        codes[1]: _origin(purchase_id),
        retail.code: None,
    }
    for code in codes:
        assert client.get(f"/api/v1/orders/{code}", headers=headers).json["origin"] == _origin(purchase_id)
    assert client.get(f"/api/v1/orders/{retail.code}", headers=headers).json["origin"] is None
    # the text and the link of the order page (test above), in the answer's language as the API's messages
    english = _origin(purchase_id, "From purchase {}")
    assert client.get(f"/api/v1/orders/{codes[0]}?lang=en", headers=headers).json["origin"] == english
    in_english = client.get("/api/v1/orders?lang=en", headers=headers).json["items"]
    assert {o["id"]: o["origin"] for o in in_english} == {codes[0]: english, codes[1]: english, retail.code: None}
    html = logged_in_client(app, buyer).get(f"/orders/{codes[0]}").get_data(as_text=True)
    assert _origins(html) == [(_origin(purchase_id)["url"], _origin(purchase_id)["label"])]

    for other in (approver, make_user()):  # the approver's organisation's order, but not theirs; a stranger
        assert client.get(f"/api/v1/orders/{codes[0]}", headers=api_token(other)).status_code == 404
        assert client.get("/api/v1/orders", headers=api_token(other)).json["items"] == []


def test_the_api_answers_a_canceled_purchase_order_with_its_purchase(client, db, api_token):
    organisation, buyer, approver, _viewer, rice, eggs = organisation_with_products()
    purchase_id, codes = _approved(client, api_token, organisation, buyer, approver, rice, eggs)
    headers = api_token(buyer)
    canceled = client.post(f"/api/v1/orders/{codes[0]}/cancel", headers=headers)
    assert canceled.status_code == 200, canceled.json
    assert (canceled.json["status"], canceled.json["origin"]) == ("canceled", _origin(purchase_id))
    again = client.post(f"/api/v1/orders/{codes[0]}/cancel", headers=headers)  # canceled already: the same answer
    assert (again.status_code, again.json["origin"]) == (200, _origin(purchase_id))


def test_the_api_answers_the_card_payment_of_a_purchase_order_with_its_purchase(client, db, api_token, fake_stripe):
    organisation, buyer, approver, _viewer, rice, eggs = organisation_with_products()
    purchase_id, codes = _approved(client, api_token, organisation, buyer, approver, rice, eggs, payment_method="card")
    paying = client.post(f"/api/v1/orders/{codes[0]}/pay", headers=api_token(buyer))
    assert paying.status_code == 200, paying.json
    assert paying.json["payment"]["client_secret"] and paying.json["origin"] == _origin(purchase_id)


def test_the_api_names_no_purchase_to_a_buyer_who_left_its_organisation(client, db, api_token):
    organisation, buyer, approver, _viewer, rice, eggs = organisation_with_products()
    _purchase_id, codes = _approved(client, api_token, organisation, buyer, approver, rice, eggs)
    _db.session.execute(
        sa.delete(OrganisationMember).where(
            OrganisationMember.organisation_id == organisation.id, OrganisationMember.user_id == buyer.id
        )
    )
    commit()
    headers = api_token(buyer)
    mine = client.get(f"/api/v1/orders/{codes[0]}", headers=headers)
    assert (mine.status_code, mine.json["origin"]) == (200, None)  # still their order
    assert [o["origin"] for o in client.get("/api/v1/orders", headers=headers).json["items"]] == [None, None]


def test_the_apis_order_list_sends_as_many_statements_for_many_orders_as_for_few(client, db, api_token, now):
    """Origins, recall marks, shipments, lines, bookings and payments are read for the whole page."""
    organisation, buyer, approver, _viewer, rice, eggs = organisation_with_products()
    headers = api_token(buyer)
    # purchases paid by transfer, retail orders at the station: a buyer has at most 3 open pay-later orders
    approved = {"payment_method": "bank_transfer"}
    _approved(client, api_token, organisation, buyer, approver, rice, eggs, **approved)
    make_order(buyer, [(make_product(), 1)], now=now)
    commit()

    def listed() -> tuple[list[dict], list[str]]:
        client.get("/api/v1/orders", headers=headers)  # warm-up: first-use queries
        _db.session.expire_all()  # as after a commit: nothing of the orders in hand
        with count_statements() as statements:
            res = client.get("/api/v1/orders", headers=headers)
        assert res.status_code == 200, res.json
        return res.json["items"], statements

    few_items, few = listed()
    second, _codes = _approved(client, api_token, organisation, buyer, approver, rice, eggs, **approved)
    for _ in range(2):  # retail orders of two products from two stations each
        make_order(buyer, [(make_product(), 1), (make_product(), 2)], now=now)
    commit()
    many_items, many = listed()
    assert (len(few_items), len(many_items)) == (3, 7)
    assert [o["origin"] for o in many_items].count(_origin(second)) == 2
    assert len(many) == len(few), "\n".join(many)
