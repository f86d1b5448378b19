"""The JSON API says what the purchase pages say before an approver would (`purchases.short_stock`, one rule):
a purchase and its submission carry the products its stations have too little of now, as data; and a
refused quantity names its line (where it is and its product id) in the error envelope."""

from __future__ import annotations

from catalog.models import Category
from shop.db import commit
from shop.extensions import db as _db
from tests.factories import make_category, make_product
from tests.institutions.purchase_setup import organisation_with_products, purchase_body


def test_a_purchase_and_its_submission_carry_the_short_stock_as_data(client, api_token, db):
    organisation, buyer, approver, _viewer, rice, eggs = organisation_with_products(stock=10)
    b = api_token(buyer)
    r = client.post("/api/v1/purchases", headers=b, json=purchase_body(organisation, rice, eggs))
    assert r.status_code == 201, r.json
    shortage = {"product_id": rice.id, "name": "南昌大米", "village": rice.village.name, "wanted": 14, "free": 10}
    assert r.json["short_stock"] == [shortage]  # 8 + 6 rice of 10; 5 eggs of 10 is no shortage
    purchase_id = r.json["id"]
    assert client.get(f"/api/v1/purchases/{purchase_id}", headers=b).json["short_stock"] == [shortage]
    submitted = client.post(f"/api/v1/purchases/{purchase_id}/submit", headers=b)
    assert submitted.status_code == 200, submitted.json  # stock is taken at approval: submit still goes
    assert submitted.json["status"] == "submitted" and submitted.json["short_stock"] == [shortage]
    refused = client.post(f"/api/v1/purchases/{purchase_id}/approve", headers=api_token(approver), json={})
    assert refused.status_code == 409 and refused.json["error"]["code"] == "purchase_out_of_stock"


def test_a_purchase_its_stations_can_supply_carries_no_short_stock(client, api_token, db):
    organisation, buyer, _approver, _viewer, rice, eggs = organisation_with_products(stock=50)
    r = client.post("/api/v1/purchases", headers=api_token(buyer), json=purchase_body(organisation, rice, eggs))
    assert r.status_code == 201 and r.json["short_stock"] == []


def test_a_refused_quantity_names_its_line_and_product(client, api_token, db):
    organisation, buyer, _approver, _viewer, rice, eggs = organisation_with_products()
    b = api_token(buyer)
    body = purchase_body(organisation, rice, eggs)
    body["destinations"][0]["items"][1]["quantity"] = 0
    r = client.post("/api/v1/purchases", headers=b, json=body)
    assert r.status_code == 422, r.json
    error = r.json["error"]
    assert error["code"] == "purchase_row_quantity_at"
    assert error["fields"] == {"destinations.0.items.1.quantity": "out_of_range", "product_id": str(eggs.id)}
    assert error["message"] == "“东校区食堂”第 2 行“土鸡蛋”的数量无效：请填写 1 到 999 之间的整数"

    purchase_id = client.post("/api/v1/purchases", headers=b, json=purchase_body(organisation, rice, eggs)).json["id"]
    edit = purchase_body(organisation, rice, eggs)
    del edit["organisation_id"]
    edit["destinations"][1]["items"].append({"product_id": rice.id, "quantity": 995})  # 6 + 995 rice: past 999
    r = client.put(f"/api/v1/purchases/{purchase_id}", headers=b, json=edit)
    assert r.status_code == 422, r.json
    assert r.json["error"]["fields"] == {"destinations.1.items.1.quantity": "out_of_range", "product_id": str(rice.id)}
    assert "“西校区食堂”第 2 行“南昌大米”" in r.json["error"]["message"]


def test_a_refused_pickup_quantity_names_its_line_and_product(client, api_token, db):
    organisation, buyer, _approver, _viewer, rice, eggs = organisation_with_products()
    body = purchase_body(organisation, rice, eggs, delivery="pickup", payment_method="station_cash", destinations=[])
    body.update(
        pickup_station_id=rice.station_id,
        items=[{"product_id": rice.id, "quantity": 2}, {"product_id": eggs.id, "quantity": 1000}],
    )
    r = client.post("/api/v1/purchases", headers=api_token(buyer), json=body)
    assert r.status_code == 422, r.json
    assert r.json["error"]["code"] == "purchase_row_quantity"
    assert r.json["error"]["fields"] == {"items.1.quantity": "out_of_range", "product_id": str(eggs.id)}
    assert r.json["error"]["message"].startswith("第 2 行“土鸡蛋”的数量无效")


def test_an_unknown_product_names_its_line(client, api_token, db):
    """A line whose product is none is refused naming its line, as a refused quantity is: its place and
    product id in `fields`, its number (and address) in the message — not the quote's bare product_not_found."""
    organisation, buyer, _approver, _viewer, rice, eggs = organisation_with_products()
    b = api_token(buyer)
    body = purchase_body(organisation, rice, eggs)
    body["destinations"][1]["items"].append({"product_id": 99999999, "quantity": 2})
    r = client.post("/api/v1/purchases", headers=b, json=body)
    assert r.status_code == 422, r.json
    error = r.json["error"]
    assert error["code"] == "purchase_row_product_not_found_at"
    assert error["fields"] == {"destinations.1.items.1.product_id": "unknown", "product_id": "99999999"}
    assert error["message"] == "“西校区食堂”第 2 行：商品不存在"

    body = purchase_body(organisation, rice, eggs, delivery="pickup", payment_method="station_cash", destinations=[])
    body.update(
        pickup_station_id=rice.station_id,
        items=[{"product_id": 2**63 - 1, "quantity": 2}, {"product_id": eggs.id, "quantity": 1}],
    )
    r = client.post("/api/v1/purchases", headers=b, json=body)
    assert r.status_code == 422, r.json
    assert r.json["error"]["code"] == "purchase_row_product_not_found"
    assert r.json["error"]["fields"] == {"items.0.product_id": "unknown", "product_id": str(2**63 - 1)}
    assert r.json["error"]["message"] == "第 1 行：商品不存在"


def test_a_product_not_for_sale_names_its_line(client, api_token, db):
    """A line whose product exists but cannot be sold (withdrawn; its food-safety papers missing) is refused
    as the retail quote refuses it (409), naming its line as a refused quantity is: its place and product
    id in `fields`, its number (and address) in the message with the quote's own words."""
    organisation, buyer, _approver, _viewer, rice, eggs = organisation_with_products()
    eggs.is_published = False  # the station takes the eggs off sale
    unpapered = make_product(name="腊肉", category=make_category(food_class="processed"))
    commit()
    b = api_token(buyer)
    r = client.post("/api/v1/purchases", headers=b, json=purchase_body(organisation, rice, eggs))
    assert r.status_code == 409, r.json
    error = r.json["error"]
    assert error["code"] == "purchase_row_unavailable_at"
    assert error["fields"] == {"destinations.0.items.1.product_id": "product_unavailable", "product_id": str(eggs.id)}
    assert error["message"] == "“东校区食堂”第 2 行“土鸡蛋”已下架"

    body = purchase_body(organisation, rice, eggs, delivery="pickup", payment_method="station_cash", destinations=[])
    body.update(
        pickup_station_id=rice.station_id,
        items=[{"product_id": rice.id, "quantity": 2}, {"product_id": unpapered.id, "quantity": 1}],
    )
    r = client.post("/api/v1/purchases", headers=b, json=body)
    assert r.status_code == 409, r.json
    assert r.json["error"]["code"] == "purchase_row_papers_missing"
    assert r.json["error"]["fields"] == {"items.1.product_id": "papers_missing", "product_id": str(unpapered.id)}
    assert r.json["error"]["message"].startswith("第 2 行“腊肉”暂停销售：")


def test_a_product_not_for_sale_since_the_draft_names_its_stored_line_at_submission(client, api_token, db):
    """A saved draft's product withdrawn (or its papers lost) before the buyer submits it: the submission is
    refused naming the stored line as the draft's checks do (`purchases.groups_of`): its number among its
    destination's lines, the destination, `fields` its place; the draft stays a draft."""
    organisation, buyer, _approver, _viewer, rice, eggs = organisation_with_products()
    b = api_token(buyer)
    purchase_id = client.post("/api/v1/purchases", headers=b, json=purchase_body(organisation, rice, eggs)).json["id"]
    eggs.is_published = False  # the east canteen's second line
    commit()
    r = client.post(f"/api/v1/purchases/{purchase_id}/submit", headers=b)
    assert r.status_code == 409, r.json
    error = r.json["error"]
    assert error["code"] == "purchase_row_unavailable_at"
    assert error["fields"] == {"destinations.0.items.1.product_id": "product_unavailable", "product_id": str(eggs.id)}
    assert error["message"] == "“东校区食堂”第 2 行“土鸡蛋”已下架"
    assert client.get(f"/api/v1/purchases/{purchase_id}", headers=b).json["status"] == "draft"

    bacon = make_product(name="腊肉", station=rice.station)
    commit()
    body = purchase_body(organisation, rice, eggs, delivery="pickup", payment_method="station_cash", destinations=[])
    body.update(
        pickup_station_id=rice.station_id,
        items=[{"product_id": rice.id, "quantity": 2}, {"product_id": bacon.id, "quantity": 1}],
    )
    r = client.post("/api/v1/purchases", headers=b, json=body)
    assert r.status_code == 201, r.json
    _db.session.get(Category, bacon.category_id).food_class = "processed"  # its papers now required, none held
    commit()
    r = client.post(f"/api/v1/purchases/{r.json['id']}/submit", headers=b)
    assert r.status_code == 409, r.json
    assert r.json["error"]["code"] == "purchase_row_papers_missing"
    assert r.json["error"]["fields"] == {"items.1.product_id": "papers_missing", "product_id": str(bacon.id)}
    assert r.json["error"]["message"].startswith("第 2 行“腊肉”暂停销售：")
