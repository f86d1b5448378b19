"""Chinese phone numbers (#19.8): one check (shop.phone) for the checkout, the address book, the orders
API and the county registry; landlines only where a station's number is meant."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from orders.models import Address, Order
from shop.once import new_form_token
from shop.phone import is_mobile, is_phone, normalise_phone
from tests.factories import make_product, make_user


@pytest.mark.parametrize("number", ["13800138000", "138 0013 8000", "+86 138-0013-8000", "19912345678"])
def test_mobile_numbers(number):
    assert is_mobile(number) and normalise_phone(number) == number.replace(" ", "").replace("-", "").removeprefix("+86")


@pytest.mark.parametrize(
    "number", ["138001380", "12800138000", "1380013800012", "23800138000", "", "abc", "0791-85712345"]
)
def test_not_mobile_numbers(number):
    assert not is_mobile(number)


def test_landlines_only_for_stations():
    assert is_phone("0791-85712345", landline=True) and is_phone("079185712345", landline=True)
    assert normalise_phone("0791 85712345") == "0791-85712345"
    assert not is_phone("0791-85712345") and not is_phone("0791-123", landline=True)
    assert is_phone("13800138000", landline=True)


def _checkout_with_phone(client, phone):
    return client.post(
        "/checkout",
        data={
            "form_token": new_form_token(),
            "address_id": 0,
            "name": "王小明",
            "phone": phone,
            "province": "江西省",
            "city": "南昌市",
            "district": "南昌县",
            "line": "幸福路1号",
            "save_address": "y",
            "delivery": "ship",
            "payment_method": "cod",
        },
    )


def test_a_nine_digit_phone_is_refused_at_checkout_and_not_saved(client, db, auth):
    auth.login(make_user())
    client.post("/cart/add", data={"product_id": make_product(stock=5).id, "quantity": 1})
    res = _checkout_with_phone(client, "138001380")
    assert res.status_code == 422 and "请填写正确的手机号" in res.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Order)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Address)) == 0


def test_a_spaced_mobile_is_accepted_and_stored_plain(client, db, auth):
    auth.login(make_user())
    client.post("/cart/add", data={"product_id": make_product(stock=5).id, "quantity": 1})
    res = _checkout_with_phone(client, "138 0013 8000")
    assert res.status_code == 303
    db.session.expire_all()
    assert db.session.scalar(sa.select(Order.ship_phone)) == "13800138000"


def test_a_full_width_mobile_typed_by_a_chinese_input_method_is_accepted_and_stored_in_ascii(client, db, auth):
    auth.login(make_user())
    client.post("/cart/add", data={"product_id": make_product(stock=5).id, "quantity": 1})
    res = _checkout_with_phone(client, "＋８６　１３９ ７９１０ ２４６８")
    assert res.status_code == 303, res.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.scalar(sa.select(Order.ship_phone)) == "13979102468"


def test_checkout_marks_the_address_fields_it_refuses_where_they_are(client, db, auth):
    """An empty 收货人 and 详细地址 (a browser that ignores `required`) are each marked under the field, and a
    wrong phone under 手机号, besides the message at the top."""
    import re

    auth.login(make_user())
    client.post("/cart/add", data={"product_id": make_product(stock=5).id, "quantity": 1})

    def marked(page: str, field: str) -> str:
        block = re.search(rf'<div class="field has-error">\s*<label for="{field}".*?</div>', page, re.S)
        return block.group(0) if block else ""

    data = {"form_token": new_form_token(), "address_id": 0, "name": "", "phone": "13800138000", "province": "江西省"}
    data |= {"city": "南昌市", "district": "南昌县", "line": "", "delivery": "ship", "payment_method": "cod"}
    page = client.post("/checkout", data=data).get_data(as_text=True)
    assert "请填写完整的收货地址" in page
    assert "请填写此项" in marked(page, "name") and "请填写此项" in marked(page, "line")
    assert not marked(page, "phone") and not marked(page, "city")
    page = _checkout_with_phone(client, "12345").get_data(as_text=True)
    assert "请填写正确的手机号" in marked(page, "phone") and not marked(page, "name")


def test_digits_of_another_script_are_not_a_mobile_number():
    assert not is_mobile("1٣٨٠٠١٣٨٠٠٠")  # Arabic-Indic digits: \d took them, the stored number was not dialable
    assert normalise_phone("０７９１－８５７１２３４５") == "0791-85712345"


def test_the_orders_api_refuses_a_short_phone_with_the_field(client, db, api_token):
    from tests.orders.factories import ADDRESS_JSON

    headers = api_token(make_user())
    product = make_product(stock=5)
    body = {
        "items": [{"product_id": product.id, "quantity": 1}],
        "address": {**ADDRESS_JSON, "phone": "138001380"},
        "payment_method": "cod",
        "delivery": "ship",
    }
    res = client.post("/api/v1/orders", json=body, headers=headers)
    assert res.status_code == 422 and res.json["error"]["fields"] == {"address.phone": "invalid"}


def test_the_county_registry_uses_the_same_check(client, db, auth):
    from tests.factories import make_village

    village = make_village()
    auth.login(make_user(role="county"))
    html = client.post(
        "/county/households/new",
        data={
            "village_id": village.id,
            "head_name": "甲",
            "registry_no": "JX-0001",
            "phone": "138001380",
            "members": "1",
            "form_token": new_form_token(),
        },
    ).get_data(as_text=True)
    assert "电话号码格式不正确" in html
