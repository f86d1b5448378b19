"""The address book through the JSON API (`/api/v1/me/addresses`, orders.addresses_api): the same service and
rules as the page `/account/addresses` (orders.services.addresses): list, add (an identical entry not twice),
edit, delete, choose the default; bad input a 422 or 409 naming the field as the body names it, changing
nothing; another account's entry a 404, left as it was; a caller needs a token."""

from __future__ import annotations

import pytest

from orders.models import Order
from orders.services.addresses import MAX_ADDRESSES
from tests.factories import make_product, make_user
from tests.orders.address_book import ADDRESS, book_rows, saved_address
from tests.stations.factories import make_order

URL = "/api/v1/me/addresses"


def test_a_buyer_lists_adds_once_edits_and_the_first_is_the_default(client, db, api_token):
    user = make_user()
    headers = api_token(user)
    empty = client.get(URL, headers=headers)
    assert empty.status_code == 200
    assert empty.json == {"items": [], "total": 0, "page": 1, "per_page": MAX_ADDRESSES}
    added = client.post(URL, json=ADDRESS, headers=headers)
    assert added.status_code == 201, added.json
    assert added.json["is_default"] is True and added.json["phone"] == "13800138000"  # the one stored form
    again = client.post(URL, json={**ADDRESS, "phone": "13800138000"}, headers=headers)  # the same address
    assert again.status_code == 200 and again.json["id"] == added.json["id"]
    assert book_rows(user) == [("王小明", "13800138000", "莲塘镇幸福路1号", True)]
    second = client.post(URL, json={**ADDRESS, "line": "向塘镇2号", "is_default": True}, headers=headers)
    assert second.status_code == 201 and second.json["is_default"] is True
    listed = client.get(URL, headers=headers).json
    assert [a["line"] for a in listed["items"]] == ["向塘镇2号", "莲塘镇幸福路1号"]  # the default first
    assert listed["total"] == 2
    edited = client.put(f"{URL}/{added.json['id']}", json={**ADDRESS, "line": "莲塘镇3号"}, headers=headers)
    assert edited.status_code == 200 and edited.json["line"] == "莲塘镇3号" and edited.json["is_default"] is False
    assert book_rows(user) == [
        ("王小明", "13800138000", "莲塘镇3号", False),
        ("王小明", "13800138000", "向塘镇2号", True),
    ]


def test_the_default_chosen_is_the_one_checkout_preselects_and_a_delete_moves_it(client, db, auth, api_token):
    user = make_user()
    first = saved_address(user, line="莲塘镇1号", default=True)
    second = saved_address(user, line="向塘镇2号")
    headers = api_token(user)
    res = client.post(f"{URL}/{second.id}/default", headers=headers)
    assert res.status_code == 200
    assert [(a["id"], a["is_default"]) for a in res.json["items"]] == [(second.id, True), (first.id, False)]
    auth.login(user)
    client.post("/cart/add", data={"product_id": make_product(stock=5).id, "quantity": 1})
    assert f'<option selected value="{second.id}">' in client.get("/checkout").get_data(as_text=True)
    gone = client.delete(f"{URL}/{second.id}", headers=headers)
    assert gone.status_code == 200
    assert [(a["id"], a["is_default"]) for a in gone.json["items"]] == [(first.id, True)]
    assert book_rows(user) == [("张三", "13900000000", "莲塘镇1号", True)]


def test_deleting_an_entry_leaves_the_orders_placed_with_it(client, db, api_token):
    user = make_user()
    used = saved_address(user, default=True)
    order = make_order([(make_product(stock=5), 1)], buyer=user)
    shipped_to = (order.ship_name, order.ship_line)
    assert client.delete(f"{URL}/{used.id}", headers=api_token(user)).status_code == 200
    assert book_rows(user) == []
    assert (db.session.get(Order, order.id).ship_name, db.session.get(Order, order.id).ship_line) == shipped_to


@pytest.mark.parametrize(
    "changes,code,field",
    [
        ({"line": ""}, "address_incomplete", "line"),
        ({"name": "  "}, "address_incomplete", "name"),
        ({"line": "路" * 201}, "address_incomplete", "line"),
        ({"phone": "138001380"}, "invalid_mobile", "phone"),
        ({"phone": 13800138000}, "validation_error", "phone"),
        ({"name": None}, "validation_error", "name"),
        ({"is_default": "yes"}, "validation_error", "is_default"),
        ({"line": "莲塘镇\x00"}, "validation_error", "line"),
    ],
)
def test_bad_input_is_refused_with_its_code_naming_the_field_and_nothing_saved(
    client, db, api_token, changes, code, field
):
    user = make_user()
    home = saved_address(user, default=True)
    headers = api_token(user)
    added = client.post(URL, json={**ADDRESS, **changes}, headers=headers)
    assert added.status_code == 422, added.json
    assert added.json["error"]["code"] == code and field in added.json["error"]["fields"], added.json
    edited = client.put(f"{URL}/{home.id}", json={**ADDRESS, **changes}, headers=headers)
    assert edited.status_code == 422 and edited.json["error"]["code"] == code
    assert book_rows(user) == [("张三", "13900000000", "莲塘镇1号", True)]


def test_a_body_that_is_no_object_is_refused(client, db, api_token):
    user = make_user()
    headers = api_token(user)
    for body in ([ADDRESS], "王小明", 1):
        res = client.post(URL, json=body, headers=headers)
        assert res.status_code == 422 and res.json["error"]["code"] == "invalid_json"
    assert book_rows(user) == []


def test_an_entry_edited_into_a_copy_of_another_is_409_address_duplicate_changing_nothing(client, db, api_token):
    user = make_user()
    home = saved_address(user, line="莲塘镇1号", default=True)
    work = saved_address(user, line="向塘镇2号")
    same = {**ADDRESS, "name": "张三", "phone": "139 0000 0000", "line": "莲塘镇1号"}
    res = client.put(f"{URL}/{work.id}", json=same, headers=api_token(user))
    assert res.status_code == 409 and res.json["error"]["code"] == "address_duplicate"
    assert "相同的地址" in res.json["error"]["message"]
    assert book_rows(user) == [("张三", "13900000000", "莲塘镇1号", True), ("张三", "13900000000", "向塘镇2号", False)]
    assert home.id  # (kept)


def test_a_full_book_is_409_address_book_full(client, db, api_token):
    user = make_user()
    for n in range(MAX_ADDRESSES):
        saved_address(user, line=f"莲塘镇{n}号", default=n == 0)
    res = client.post(URL, json=ADDRESS, headers=api_token(user))
    assert res.status_code == 409 and res.json["error"]["code"] == "address_book_full"
    assert len(book_rows(user)) == MAX_ADDRESSES


@pytest.mark.parametrize(
    "method,path,body",
    [("PUT", "", ADDRESS), ("DELETE", "", None), ("POST", "/default", None)],
)
def test_another_accounts_entry_or_none_is_a_404_and_stays_as_it_was(client, db, api_token, method, path, body):
    owner = make_user()
    theirs = saved_address(owner, default=True)
    headers = api_token(make_user())
    for address_id in (theirs.id, theirs.id + 1000, 2**63):
        res = client.open(f"{URL}/{address_id}{path}", method=method, json=body, headers=headers)
        assert res.status_code == 404, (address_id, res.json)
    assert (
        client.open(f"{URL}/{theirs.id}{path}", method=method, json=body, headers=headers).json["error"]["code"]
        == "address_not_found"
    )
    assert book_rows(owner) == [("张三", "13900000000", "莲塘镇1号", True)]


def test_the_book_is_the_callers_own_and_needs_a_caller(client, db, api_token):
    owner = make_user()
    saved_address(owner, default=True)
    assert client.get(URL, headers=api_token(make_user())).json["items"] == []
    for method, path in (("GET", ""), ("POST", ""), ("PUT", "/1"), ("DELETE", "/1"), ("POST", "/1/default")):
        res = client.open(f"{URL}{path}", method=method, json=ADDRESS)
        assert res.status_code == 401 and res.json["error"]["code"] == "login_required"
    assert book_rows(owner) == [("张三", "13900000000", "莲塘镇1号", True)]
