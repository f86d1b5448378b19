"""Bulk purchases with approval (#22 b): a buyer drafts and submits, a second person (an approver of
the same organisation) approves — placed as orders through the retail placement service — or
rejects with a reason; every decision audited; another organisation's purchase is a 404."""

from __future__ import annotations

import sqlalchemy as sa

from institutions.models import Purchase, PurchaseOrder
from orders.models import Order, OrderLine, Shipment
from shop.audit import AuditEntry
from shop.db import commit
from shop.extensions import db as _db
from shop.once import new_form_token
from stock.models import StockRecord
from tests.factories import make_station, make_user
from tests.institutions.factories import make_organisation
from tests.institutions.purchase_setup import organisation_with_products, purchase_body, purchase_form, requested_day
from tests.once_token import once_token
from tests.orders.factories import ADDRESS_JSON
from tests.page_language import chinese_ui_on_en, page_text_nodes


def _allocated(product) -> int:
    return _db.session.scalar(sa.select(StockRecord.allocated).where(StockRecord.product_id == product.id))


def test_a_purchase_is_placed_as_one_retail_order_per_address_only_after_a_second_person_approves(
    client, db, api_token
):
    organisation, buyer, approver, _viewer, rice, eggs = organisation_with_products()
    b, a = api_token(buyer), api_token(approver)
    r = client.post("/api/v1/purchases", headers=b, json=purchase_body(organisation, rice, eggs))
    assert r.status_code == 201, r.json
    purchase = r.json
    assert purchase["status"] == "draft" and len(purchase["destinations"]) == 2 and len(purchase["lines"]) == 3
    estimated = purchase["estimated_total_fen"]
    assert estimated >= (8 + 6) * 6000 + 5 * 4500
    # nothing is placed before approval, and the approver cannot approve a draft
    assert client.post(f"/api/v1/purchases/{purchase['id']}/approve", headers=a, json={}).status_code == 409
    assert client.post(f"/api/v1/purchases/{purchase['id']}/submit", headers=a).status_code == 403  # not the builder
    r = client.post(f"/api/v1/purchases/{purchase['id']}/submit", headers=b)
    assert r.status_code == 200 and r.json["status"] == "submitted"
    assert client.post(f"/api/v1/purchases/{purchase['id']}/approve", headers=b, json={}).status_code == 403
    assert _db.session.scalar(sa.select(sa.func.count(Order.id))) == 0 and _allocated(rice) == 0
    r = client.post(f"/api/v1/purchases/{purchase['id']}/approve", headers=a, json={"shown_total_fen": estimated})
    assert r.status_code == 200, r.json
    assert r.json["status"] == "approved" and len(r.json["order_codes"]) == 2
    orders = _db.session.scalars(sa.select(Order).order_by(Order.id)).all()
    assert [o.user_id for o in orders] == [buyer.id, buyer.id]  # the buyer's orders, as at the retail checkout
    assert [o.ship_line for o in orders] == ["莲塘镇幸福路1号", "澄湖西路2号"]
    assert sum(o.total_fen for o in orders) == estimated
    lines = {(line.order_id, line.product_id): line.quantity for line in _db.session.scalars(sa.select(OrderLine))}
    assert lines == {(orders[0].id, rice.id): 8, (orders[0].id, eggs.id): 5, (orders[1].id, rice.id): 6}
    assert _db.session.scalar(sa.select(sa.func.count(Shipment.id))) == 3  # rice and eggs come from two stations
    assert (_allocated(rice), _allocated(eggs)) == (14, 5)
    links = _db.session.scalars(sa.select(PurchaseOrder.order_id).order_by(PurchaseOrder.id)).all()
    assert links == [o.id for o in orders]
    audit = _db.session.execute(
        sa.select(AuditEntry.action, AuditEntry.actor_id, AuditEntry.detail).where(
            AuditEntry.subject_type == "purchases"
        )
    ).all()
    assert audit == [("purchase.approve", approver.id, {"orders": [o.code for o in orders], "total_fen": estimated})]
    # approved once: a second approval changes nothing
    assert client.post(f"/api/v1/purchases/{purchase['id']}/approve", headers=a, json={}).status_code == 409
    assert _db.session.scalar(sa.select(sa.func.count(Order.id))) == 2


def test_an_approver_cannot_approve_a_purchase_they_built(client, db, api_token, auth):
    organisation, buyer, approver, _viewer, rice, eggs = organisation_with_products()
    b = api_token(buyer)
    purchase_id = client.post("/api/v1/purchases", headers=b, json=purchase_body(organisation, rice, eggs)).json["id"]
    client.post(f"/api/v1/purchases/{purchase_id}/submit", headers=b)
    member = next(m for m in organisation.members if m.user_id == buyer.id)  # the builder becomes an approver
    member.role = "approver"
    commit()
    r = client.post(f"/api/v1/purchases/{purchase_id}/approve", headers=b, json={})
    assert r.status_code == 403 and r.json["error"]["code"] == "same_person"
    r = client.post(f"/api/v1/purchases/{purchase_id}/reject", headers=b, json={"reason": "自己退回"})
    assert r.status_code == 403
    assert _db.session.get(Purchase, purchase_id).status == "submitted"
    assert _db.session.scalar(sa.select(sa.func.count(Order.id))) == 0


def test_only_the_organisations_own_approver_decides_and_others_see_nothing(client, db, api_token):
    organisation, buyer, approver, viewer, rice, eggs = organisation_with_products()
    other_approver = make_user()
    make_organisation(name="另一单位", members={"approver": other_approver})
    commit()
    b = api_token(buyer)
    purchase_id = client.post("/api/v1/purchases", headers=b, json=purchase_body(organisation, rice, eggs)).json["id"]
    client.post(f"/api/v1/purchases/{purchase_id}/submit", headers=b)
    o = api_token(other_approver)
    for r in (
        client.get(f"/api/v1/purchases/{purchase_id}", headers=o),
        client.post(f"/api/v1/purchases/{purchase_id}/approve", headers=o, json={}),
        client.post(f"/api/v1/purchases/{purchase_id}/reject", headers=o, json={"reason": "x"}),
    ):
        assert r.status_code == 404
    v = api_token(viewer)
    assert client.get(f"/api/v1/purchases/{purchase_id}", headers=v).status_code == 200
    assert client.post(f"/api/v1/purchases/{purchase_id}/approve", headers=v, json={}).status_code == 403
    r = client.post("/api/v1/purchases", headers=o, json=purchase_body(organisation, rice, eggs))
    assert r.status_code == 404  # another organisation's id: not even its existence
    assert _db.session.get(Purchase, purchase_id).status == "submitted"


def test_a_rejection_needs_a_reason_and_is_audited(client, db, api_token):
    organisation, buyer, approver, _viewer, rice, eggs = organisation_with_products()
    b, a = api_token(buyer), api_token(approver)
    purchase_id = client.post("/api/v1/purchases", headers=b, json=purchase_body(organisation, rice, eggs)).json["id"]
    client.post(f"/api/v1/purchases/{purchase_id}/submit", headers=b)
    assert client.post(f"/api/v1/purchases/{purchase_id}/reject", headers=a, json={"reason": " "}).status_code == 422
    r = client.post(f"/api/v1/purchases/{purchase_id}/reject", headers=a, json={"reason": "超出本月预算"})
    assert r.status_code == 200 and (r.json["status"], r.json["decision_reason"]) == ("rejected", "超出本月预算")
    assert _db.session.execute(
        sa.select(AuditEntry.action, AuditEntry.actor_id).where(AuditEntry.subject_type == "purchases")
    ).all() == [("purchase.reject", approver.id)]
    assert client.post(f"/api/v1/purchases/{purchase_id}/approve", headers=a, json={}).status_code == 409
    assert _db.session.scalar(sa.select(sa.func.count(Order.id))) == 0


def test_when_placement_refuses_nothing_is_placed_and_the_purchase_stays_submitted(client, db, api_token):
    organisation, buyer, approver, _viewer, rice, eggs = organisation_with_products(stock=10)  # 14 units of rice asked
    b, a = api_token(buyer), api_token(approver)
    purchase_id = client.post("/api/v1/purchases", headers=b, json=purchase_body(organisation, rice, eggs)).json["id"]
    client.post(f"/api/v1/purchases/{purchase_id}/submit", headers=b)
    r = client.post(f"/api/v1/purchases/{purchase_id}/approve", headers=a, json={})
    assert r.status_code == 409 and r.json["error"]["code"] == "purchase_out_of_stock"
    assert "南昌大米" in r.json["error"]["message"]
    assert _db.session.get(Purchase, purchase_id).status == "submitted"
    assert _db.session.scalar(sa.select(sa.func.count(Order.id))) == 0
    assert (_allocated(rice), _allocated(eggs)) == (0, 0)
    assert _db.session.scalar(sa.select(sa.func.count(AuditEntry.id))) == 0
    r = client.post(f"/api/v1/purchases/{purchase_id}/approve", headers=a, json={"shown_total_fen": 1})
    assert r.status_code == 409


def test_a_changed_total_is_refused_at_approval(client, db, api_token):
    organisation, buyer, approver, _viewer, rice, eggs = organisation_with_products()
    b, a = api_token(buyer), api_token(approver)
    created = client.post("/api/v1/purchases", headers=b, json=purchase_body(organisation, rice, eggs)).json
    client.post(f"/api/v1/purchases/{created['id']}/submit", headers=b)
    r = client.post(
        f"/api/v1/purchases/{created['id']}/approve",
        headers=a,
        json={"shown_total_fen": created["estimated_total_fen"] - 100},
    )
    assert r.status_code == 409 and r.json["error"]["code"] == "purchase_price_changed"
    assert _db.session.scalar(sa.select(sa.func.count(Order.id))) == 0 and _allocated(rice) == 0


def test_bad_drafts_are_refused_and_nothing_is_written(client, db, api_token):
    organisation, buyer, approver, _viewer, rice, eggs = organisation_with_products(status="pending")
    b = api_token(buyer)
    r = client.post("/api/v1/purchases", headers=b, json=purchase_body(organisation, rice, eggs))
    assert r.status_code == 409 and r.json["error"]["code"] == "organisation_not_verified"
    organisation.status = "approved"
    commit()
    bad = [
        purchase_body(organisation, rice, eggs, requested_date=requested_day(-1)),
        purchase_body(organisation, rice, eggs, destinations=[]),
        purchase_body(organisation, rice, eggs, delivery="pickup"),  # no station
        {
            **purchase_body(organisation, rice, eggs),
            "destinations": [
                {
                    "label": "食堂",
                    "address": {**ADDRESS_JSON, "phone": "1"},
                    "items": [{"product_id": rice.id, "quantity": 1}],
                }
            ],
        },
        {
            **purchase_body(organisation, rice, eggs),
            "destinations": [
                {"label": "食堂", "address": ADDRESS_JSON, "items": [{"product_id": 99999, "quantity": 1}]}
            ],
        },
    ]
    for body in bad:
        r = client.post("/api/v1/purchases", headers=b, json=body)
        assert r.status_code == 422, (body, r.json)
    assert (
        client.post(
            "/api/v1/purchases", headers=api_token(approver), json=purchase_body(organisation, rice, eggs)
        ).status_code
        == 403
    )  # approvers do not build
    assert _db.session.scalar(sa.select(sa.func.count(Purchase.id))) == 0


def test_a_pickup_purchase_is_one_pickup_order_at_the_station(client, db, api_token):
    organisation, buyer, approver, _viewer, rice, eggs = organisation_with_products()
    station = make_station()
    commit()
    b, a = api_token(buyer), api_token(approver)
    r = client.post(
        "/api/v1/purchases",
        headers=b,
        json={
            "organisation_id": organisation.id,
            "delivery": "pickup",
            "pickup_station_id": station.id,
            "requested_date": requested_day(3),
            "payment_method": "station_cash",
            "items": [{"product_id": rice.id, "quantity": 4}, {"product_id": eggs.id, "quantity": 2}],
        },
    )
    assert r.status_code == 201, r.json
    client.post(f"/api/v1/purchases/{r.json['id']}/submit", headers=b)
    approved = client.post(f"/api/v1/purchases/{r.json['id']}/approve", headers=a, json={}).json
    order = _db.session.scalar(sa.select(Order).where(Order.code == approved["order_codes"][0]))
    assert (order.delivery, order.pickup_station_id, order.payment_method) == ("pickup", station.id, "station_cash")


def test_the_pages_let_a_buyer_draft_and_submit_and_the_approver_approve(app, db):
    organisation, buyer, approver, _viewer, rice, eggs = organisation_with_products()
    buyer_client, approver_client = app.test_client(), app.test_client()
    buyer_client.post("/login", data={"email": buyer.email, "password": "password123"})
    approver_client.post("/login", data={"email": approver.email, "password": "password123"})
    page = buyer_client.get(f"/organisations/{organisation.id}").get_data(as_text=True)
    assert "新建采购单" in page
    assert approver_client.get(f"/organisations/{organisation.id}/purchases/new").status_code == 403
    assert "南昌大米" in buyer_client.get(f"/organisations/{organisation.id}/purchases/new").get_data(as_text=True)
    r = buyer_client.post(
        f"/organisations/{organisation.id}/purchases/new",
        data=purchase_form(rice, eggs),
    )
    assert r.status_code == 303, r.get_data(as_text=True)
    purchase_url = r.headers["Location"]
    page = buyer_client.get(purchase_url).get_data(as_text=True)
    assert "本部食堂" in page and "提交审批" in page and "审批通过并下单" not in page
    buyer_client.post(purchase_url + "/submit")
    page = approver_client.get(purchase_url).get_data(as_text=True)
    assert "待审批" in page and "审批通过并下单" in page
    approver_client.post(
        purchase_url + "/approve", data={"shown_total_fen": "1", "confirm": "1"}
    )  # what it showed is stale
    assert "价格或运费已变化" in approver_client.get(purchase_url).get_data(as_text=True)
    page = approver_client.get(purchase_url).get_data(as_text=True)
    shown = page.split('name="shown_total_fen" value="')[1].split('"')[0]
    approver_client.post(purchase_url + "/approve", data={"shown_total_fen": shown, "confirm": "1"})
    page = buyer_client.get(purchase_url).get_data(as_text=True)
    assert "已审批下单" in page
    code = _db.session.scalar(sa.select(Order.code))
    assert code in page and code in buyer_client.get("/orders").get_data(as_text=True)


def test_a_double_tap_on_save_draft_saves_one_purchase(app, db):
    """The new-purchase page carries a once-token: its second POST (a double tap, the page sent again)
    saves nothing and says the form was sent already; a POST without the token saves nothing either, and
    the page it gets back carries a fresh token that saves the draft."""
    organisation, buyer, _approver, _viewer, rice, _eggs = organisation_with_products()
    client = app.test_client()
    client.post("/login", data={"email": buyer.email, "password": "password123"})
    page = client.get(f"/organisations/{organisation.id}/purchases/new").get_data(as_text=True)
    token = once_token(page)
    data = {
        "delivery": "ship",
        "requested_date": requested_day(),
        "payment_method": "bank_transfer",
        "label": "本部食堂",
        **ADDRESS_JSON,
        "product_0": str(rice.id),
        "quantity_0": "3",
    }
    first = client.post(f"/organisations/{organisation.id}/purchases/new", data={**data, "form_token": token})
    assert first.status_code == 303 and "/purchases/" in first.headers["Location"]
    second = client.post(f"/organisations/{organisation.id}/purchases/new", data={**data, "form_token": token})
    assert second.status_code == 303 and second.headers["Location"].endswith(f"/organisations/{organisation.id}")
    assert "此表单已提交过，没有重复创建" in client.get(second.headers["Location"]).get_data(as_text=True)
    missing = client.post(f"/organisations/{organisation.id}/purchases/new", data=data)
    assert missing.status_code == 422 and "表单已过期，请刷新页面后重新提交" in missing.get_data(as_text=True)
    fresh = once_token(missing.get_data(as_text=True))
    again = client.post(f"/organisations/{organisation.id}/purchases/new", data={**data, "form_token": fresh})
    assert again.status_code == 303 and "/purchases/" in again.headers["Location"]  # the page shown again works
    _db.session.expire_all()
    count = sa.select(sa.func.count()).select_from(Purchase).where(Purchase.organisation_id == organisation.id)
    assert _db.session.scalar(count) == 2


def test_without_card_payments_a_purchase_is_not_offered_or_saved_with_one(app, client, db, api_token, monkeypatch):
    """With no card payment configured, 在线支付 is not a choice and a draft asking for it is refused when
    it is written — not at approval, where the approver could only send the purchase back."""
    monkeypatch.setitem(app.config, "STRIPE_SECRET_KEY", "")
    organisation, buyer, _approver, _viewer, rice, eggs = organisation_with_products()
    page_client = app.test_client()
    page_client.post("/login", data={"email": buyer.email, "password": "password123"})
    url = f"/organisations/{organisation.id}/purchases/new"
    page = page_client.get(url).get_data(as_text=True)
    assert 'value="card"' not in page and 'value="bank_transfer"' in page
    form = {
        "delivery": "ship",
        "requested_date": requested_day(),
        "payment_method": "card",
        "label": "本部食堂",
        **ADDRESS_JSON,
        "product_0": str(rice.id),
        "quantity_0": "3",
        "form_token": new_form_token(),
    }
    r = page_client.post(url, data=form)
    assert r.status_code == 422 and "支付方式：请选择一个有效的选项" in r.get_data(as_text=True)
    r = client.post(
        "/api/v1/purchases",
        headers=api_token(buyer),
        json=purchase_body(organisation, rice, eggs, payment_method="card"),
    )
    assert r.status_code == 422 and r.json["error"]["code"] == "card_payments_off"
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(Purchase)) == 0
    monkeypatch.setitem(app.config, "STRIPE_SECRET_KEY", "sk_test_fake")
    monkeypatch.setitem(app.config, "STRIPE_PUBLISHABLE_KEY", "pk_test_fake")
    assert 'value="card"' in page_client.get(url).get_data(as_text=True)


def test_the_openapi_document_describes_the_purchase_endpoints(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    assert "post" in paths["/api/v1/purchases"]
    for action in ("submit", "approve", "reject"):
        assert "post" in paths[f"/api/v1/purchases/{{purchase_id}}/{action}"]


def test_the_purchase_pages_speak_english_too(app, db):

    organisation, buyer, approver, _viewer, rice, eggs = organisation_with_products()
    client = app.test_client()
    client.get("/?lang=en")
    client.post("/login", data={"email": buyer.email, "password": "password123"})
    r = client.post(
        f"/organisations/{organisation.id}/purchases/new",
        data={
            "delivery": "ship",
            "requested_date": requested_day(),
            "payment_method": "cod",
            "label": "本部食堂",
            **ADDRESS_JSON,
            "form_token": new_form_token(),
            "product_0": str(rice.id),
            "quantity_0": "3",
        },
    )
    data = {
        organisation.name,
        rice.name,
        eggs.name,
        "本部食堂",
        buyer.name,
        approver.name,
        _viewer.name,
        organisation.address,
        organisation.contact_name,
    }
    for url in (
        f"/organisations/{organisation.id}",
        f"/organisations/{organisation.id}/purchases/new",
        r.headers["Location"],
        "/organisations",
        f"/organisations/{organisation.id}/statement",
    ):
        assert chinese_ui_on_en(page_text_nodes(client.get(url).get_data(as_text=True)), data) == [], url


def test_a_viewer_following_a_purchase_form_link_is_told_why_not_and_nothing_is_made(app, db):
    """A viewer (or an approver) opening 新建采购单 from a colleague's link, or posting it: a 403 that says only
    the organisation's buyers build purchases and who can make them one — not the bare 您没有权限 dead end."""
    organisation, _buyer, approver, viewer, rice, eggs = organisation_with_products()
    for member in (viewer, approver):
        web = app.test_client()
        web.post("/login", data={"email": member.email, "password": "password123"})
        for r in (
            web.get(f"/organisations/{organisation.id}/purchases/new?product={rice.id}"),
            web.post(f"/organisations/{organisation.id}/purchases/new", data=purchase_form(rice, eggs)),
        ):
            assert r.status_code == 403
            assert "只有本单位的采购员能新建采购单" in r.get_data(as_text=True), member.email
    assert _db.session.scalar(sa.select(sa.func.count(Purchase.id))) == 0
