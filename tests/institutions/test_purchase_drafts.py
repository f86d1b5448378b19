"""A draft purchase is its author's to change or delete until it is submitted: the same form, prefilled
(`/purchases/<id>/edit`), or `PUT /api/v1/purchases/{id}`; deleted after a confirmation step
(`/purchases/<id>/delete`) or by `DELETE /api/v1/purchases/{id}`. A submitted, approved or rejected
purchase is never changed (409 `purchase_not_draft`, said on the page); another organisation's draft is
a 404; another member of the organisation may not change it (403). A line accepted from a station's
quote stays at its address, and deleting its draft lets the quote be accepted again."""

from __future__ import annotations

import sqlalchemy as sa

from institutions.models import Purchase, PurchaseDestination, PurchaseLine, QuoteRequest
from shop.audit import AuditEntry
from shop.db import commit
from shop.extensions import db as _db
from tests.factories import make_user
from tests.institutions.factories import add_member, make_organisation
from tests.institutions.purchase_setup import (
    answer_quote,
    ask_quote,
    logged_in_client,
    organisation_with_products,
    purchase_body,
    purchase_form,
    requested_day,
)


def _lines(purchase_id: int) -> list[tuple[int, int, int | None]]:
    _db.session.expire_all()
    return [
        (line.product_id, line.quantity, line.destination_id)
        for line in _db.session.scalars(
            sa.select(PurchaseLine).where(PurchaseLine.purchase_id == purchase_id).order_by(PurchaseLine.product_id)
        )
    ]


def test_its_author_changes_a_draft_on_the_same_form_prefilled(app, db):
    organisation, buyer, _approver, _viewer, rice, eggs = organisation_with_products()
    client = logged_in_client(app, buyer)
    r = client.post(f"/organisations/{organisation.id}/purchases/new", data=purchase_form(rice, eggs, note="每周一送"))
    assert r.status_code == 303, r.get_data(as_text=True)
    url = r.headers["Location"]
    purchase_id = int(url.rsplit("/", 1)[1])
    destination_id = _db.session.scalar(
        sa.select(PurchaseDestination.id).where(PurchaseDestination.purchase_id == purchase_id)
    )
    page = client.get(url).get_data(as_text=True)
    assert f'href="/purchases/{purchase_id}/edit"' in page and "删除草稿" in page

    form = client.get(f"/purchases/{purchase_id}/edit")
    assert form.status_code == 200
    page = form.get_data(as_text=True)
    assert f"修改采购单 {purchase_id}" in page
    assert 'value="本部食堂"' in page and 'value="每周一送"' in page and f'value="{requested_day()}"' in page
    assert f'<option value="{rice.id}" selected>' in page and f'<option value="{eggs.id}" selected>' in page
    assert 'name="quantity_0" type="number" min="1" max="999" inputmode="numeric" value="3"' in page

    # rice 3 -> 7, eggs dropped, the place renamed
    r = client.post(
        f"/purchases/{purchase_id}/edit",
        data=purchase_form(rice, eggs, label="东校区食堂", quantity_0="7", product_1="", quantity_1=""),
    )
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/purchases/{purchase_id}")
    assert _lines(purchase_id) == [(rice.id, 7, destination_id)]  # the address row kept, updated
    purchase = _db.session.get(Purchase, purchase_id)
    assert purchase.status == "draft" and purchase.destinations[0].label == "东校区食堂"
    assert "采购单已保存" in client.get(url).get_data(as_text=True)

    # a bad edit is refused, with what was typed, and changes nothing
    r = client.post(f"/purchases/{purchase_id}/edit", data=purchase_form(rice, eggs, quantity_0="0"))
    assert r.status_code == 422 and 'value="本部食堂"' in r.get_data(as_text=True)
    assert _lines(purchase_id) == [(rice.id, 7, destination_id)]


def test_a_submitted_purchase_is_never_changed_or_deleted(app, client, db, api_token):
    organisation, buyer, _approver, _viewer, rice, eggs = organisation_with_products()
    b = api_token(buyer)
    created = client.post("/api/v1/purchases", headers=b, json=purchase_body(organisation, rice, eggs)).json
    pid = created["id"]
    assert client.post(f"/api/v1/purchases/{pid}/submit", headers=b).status_code == 200
    body = purchase_body(organisation, rice, eggs)
    del body["organisation_id"]
    r = client.put(f"/api/v1/purchases/{pid}", headers=b, json=body)
    assert r.status_code == 409 and r.json["error"]["code"] == "purchase_not_draft", r.json
    r = client.delete(f"/api/v1/purchases/{pid}", headers=b)
    assert r.status_code == 409 and r.json["error"]["code"] == "purchase_not_draft", r.json

    pages = logged_in_client(app, buyer)
    r = pages.get(f"/purchases/{pid}/edit")
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/purchases/{pid}")
    page = pages.get(r.headers["Location"]).get_data(as_text=True)
    assert "采购单已提交审批，不能再修改或删除" in page and "修改草稿" not in page and "删除草稿" not in page
    r = pages.post(f"/purchases/{pid}/delete", data={"confirm": "1"})
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/purchases/{pid}")
    r = pages.post(f"/purchases/{pid}/edit", data=purchase_form(rice, eggs))
    assert r.status_code == 303
    _db.session.expire_all()
    purchase = _db.session.get(Purchase, pid)
    assert purchase is not None and purchase.status == "submitted"
    assert sorted((line.product_id, line.quantity) for line in purchase.lines) == sorted(
        (line["product_id"], line["quantity"]) for line in created["lines"]
    )


def test_another_organisations_draft_is_a_404_and_its_other_members_may_not_change_it(app, client, db, api_token):
    organisation, buyer, approver, _viewer, rice, eggs = organisation_with_products()
    other_buyer = make_user()
    make_organisation(name="另一单位", members={"buyer": other_buyer})
    second_buyer = make_user()
    add_member(organisation, second_buyer, role="buyer")
    commit()
    created = client.post(
        "/api/v1/purchases", headers=api_token(buyer), json=purchase_body(organisation, rice, eggs)
    ).json
    pid = created["id"]
    body = purchase_body(organisation, rice, eggs)
    del body["organisation_id"]
    for user, status in ((other_buyer, 404), (approver, 403), (second_buyer, 403)):
        token = api_token(user)
        assert client.put(f"/api/v1/purchases/{pid}", headers=token, json=body).status_code == status, user
        assert client.delete(f"/api/v1/purchases/{pid}", headers=token).status_code == status, user
        pages = logged_in_client(app, user)
        assert pages.get(f"/purchases/{pid}/edit").status_code == status
        assert pages.post(f"/purchases/{pid}/delete", data={"confirm": "1"}).status_code == status
        assert pages.post(f"/purchases/{pid}/edit", data=purchase_form(rice, eggs)).status_code == status
    _db.session.expire_all()
    assert _db.session.get(Purchase, pid) is not None
    assert len(_lines(pid)) == 3


def test_its_author_deletes_a_draft_after_confirming_and_the_api_deletes_one_too(app, client, db, api_token):
    organisation, buyer, _approver, _viewer, rice, eggs = organisation_with_products()
    b = api_token(buyer)
    first = client.post("/api/v1/purchases", headers=b, json=purchase_body(organisation, rice, eggs)).json["id"]
    second = client.post("/api/v1/purchases", headers=b, json=purchase_body(organisation, rice, eggs)).json["id"]
    pages = logged_in_client(app, buyer)
    r = pages.post(f"/purchases/{first}/delete")
    assert r.status_code == 303 and "/confirm/" in r.headers["Location"]  # asked first: nothing deleted
    assert f"确认删除采购单草稿 {first}？" in pages.get(r.headers["Location"]).get_data(as_text=True)
    _db.session.expire_all()
    assert _db.session.get(Purchase, first) is not None
    r = pages.post(f"/purchases/{first}/delete", data={"confirm": "1"})
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/organisations/{organisation.id}")
    assert "采购单草稿已删除" in pages.get(r.headers["Location"]).get_data(as_text=True)
    assert pages.get(f"/purchases/{first}").status_code == 404

    r = client.delete(f"/api/v1/purchases/{second}", headers=b)
    assert r.status_code == 200 and r.json == {"id": second, "deleted": True}
    assert client.get(f"/api/v1/purchases/{second}", headers=b).status_code == 404
    _db.session.expire_all()
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(PurchaseLine)) == 0
    deleted = _db.session.scalars(
        sa.select(AuditEntry.subject_id).where(AuditEntry.action == "purchase.delete").order_by(AuditEntry.id)
    ).all()
    assert deleted == [first, second]


def test_the_api_rewrites_a_draft_with_several_addresses(client, db, api_token):
    organisation, buyer, _approver, _viewer, rice, eggs = organisation_with_products()
    b = api_token(buyer)
    created = client.post("/api/v1/purchases", headers=b, json=purchase_body(organisation, rice, eggs)).json
    east, west = (d["id"] for d in created["destinations"])
    body = purchase_body(organisation, rice, eggs)
    del body["organisation_id"]
    body["destinations"][0]["items"] = [{"product_id": eggs.id, "quantity": 9}]
    body["destinations"][1]["label"] = "西校区教工食堂"
    body["note"] = "改为每周二"
    r = client.put(f"/api/v1/purchases/{created['id']}", headers=b, json=body)
    assert r.status_code == 200, r.json
    assert [d["id"] for d in r.json["destinations"]] == [east, west]
    assert r.json["destinations"][1]["label"] == "西校区教工食堂" and r.json["note"] == "改为每周二"
    assert sorted((line["product_id"], line["quantity"], line["destination_id"]) for line in r.json["lines"]) == sorted(
        [(eggs.id, 9, east), (rice.id, 6, west)]
    )
    # one address fewer: the second goes; the same rules as a new draft (no items: refused, nothing changed)
    body["destinations"] = body["destinations"][:1]
    r = client.put(f"/api/v1/purchases/{created['id']}", headers=b, json=body)
    assert r.status_code == 200 and [d["id"] for d in r.json["destinations"]] == [east]
    body["destinations"][0]["items"] = []
    r = client.put(f"/api/v1/purchases/{created['id']}", headers=b, json=body)
    assert r.status_code == 422 and r.json["error"]["code"] == "purchase_items_required"
    assert _lines(created["id"]) == [(eggs.id, 9, east)]


def test_a_quoted_line_stays_at_its_address_and_deleting_its_draft_frees_the_quote(app, client, db, api_token):
    organisation, buyer, _approver, _viewer, rice, eggs = organisation_with_products()
    station = rice.station
    operator = make_user(role="operator", station=station)
    commit()
    b = api_token(buyer)
    created = client.post("/api/v1/purchases", headers=b, json=purchase_body(organisation, rice, eggs)).json
    east, west = (d["id"] for d in created["destinations"])
    s = {"b": b, "organisation": organisation, "rice": rice}
    q = ask_quote(client, s)
    assert answer_quote(client, api_token(operator), q["id"]).status_code == 200
    # the quote for rice goes to the west canteen, which holds no rice once edited
    body = purchase_body(organisation, rice, eggs)
    del body["organisation_id"]
    body["destinations"][1]["items"] = [{"product_id": eggs.id, "quantity": 4}]
    assert client.put(f"/api/v1/purchases/{created['id']}", headers=b, json=body).status_code == 200
    r = client.post(
        f"/api/v1/quote-requests/{q['id']}/accept",
        headers=b,
        json={"purchase_id": created["id"], "destination_id": west},
    )
    assert r.status_code == 200, r.json

    # an edit keeps the quoted line at its address, at its price
    body["destinations"][1]["items"] = [{"product_id": eggs.id, "quantity": 6}]
    r = client.put(f"/api/v1/purchases/{created['id']}", headers=b, json=body)
    assert r.status_code == 200, r.json
    quoted = [line for line in r.json["lines"] if line["quote_request_id"] == q["id"]]
    assert [(line["product_id"], line["destination_id"], line["unit_price_fen"]) for line in quoted] == [
        (rice.id, west, 5200)
    ]
    # it may not lose its address, nor be named again there
    for change, code in (
        ({"destinations": body["destinations"][:1]}, "purchase_quoted_line_kept"),
        (
            {
                "destinations": [
                    body["destinations"][0],
                    {**body["destinations"][1], "items": [{"product_id": rice.id, "quantity": 2}]},
                ]
            },
            "product_already_in_purchase",
        ),
        (
            {
                "delivery": "pickup",
                "pickup_station_id": station.id,
                "payment_method": "station_cash",  # cash on delivery is for home delivery only
                "destinations": [],
                "items": [{"product_id": eggs.id, "quantity": 1}],
            },
            "purchase_quoted_line_kept",
        ),
    ):
        r = client.put(f"/api/v1/purchases/{created['id']}", headers=b, json={**body, **change})
        assert r.status_code == 409 and r.json["error"]["code"] == code, (change, r.json)
    assert len(_lines(created["id"])) == 4

    # the draft deleted, the answer may be accepted into another draft (until its valid_until)
    assert client.delete(f"/api/v1/purchases/{created['id']}", headers=b).status_code == 200
    _db.session.expire_all()
    assert _db.session.get(QuoteRequest, q["id"]).status == "answered"
    other = client.post("/api/v1/purchases", headers=b, json=purchase_body(organisation, rice, eggs)).json
    r = client.post(
        f"/api/v1/quote-requests/{q['id']}/accept",
        headers=b,
        json={"purchase_id": other["id"], "destination_id": other["destinations"][1]["id"]},
    )
    assert r.status_code == 409 and r.json["error"]["code"] == "product_already_in_purchase"  # rice is there
    r = client.post(
        f"/api/v1/quote-requests/{q['id']}/accept",
        headers=b,
        json={"purchase_id": other["id"], "destination_id": other["destinations"][0]["id"]},
    )
    assert r.status_code == 409  # rice is at its east canteen too
    body = purchase_body(organisation, rice, eggs)
    del body["organisation_id"]
    body["destinations"][0]["items"] = [{"product_id": eggs.id, "quantity": 5}]
    assert client.put(f"/api/v1/purchases/{other['id']}", headers=b, json=body).status_code == 200
    r = client.post(
        f"/api/v1/quote-requests/{q['id']}/accept",
        headers=b,
        json={"purchase_id": other["id"], "destination_id": other["destinations"][0]["id"]},
    )
    assert r.status_code == 200, r.json
