"""What the purchase form and the draft tell the buyer before an approver would: a product its station has
too little of now (the rule an approval is refused by, `purchases.short_stock`) is said on the draft and
with its submission, which still goes (stock is taken at approval, the station may restock before it); a
refused quantity names its row and product."""

from __future__ import annotations

import re

import sqlalchemy as sa

from institutions.models import Purchase
from shop.db import commit
from shop.extensions import db as _db
from tests.factories import make_category, make_product
from tests.institutions.purchase_setup import logged_in_client, organisation_with_products, purchase_form


def _texts(html: str) -> str:
    return " ".join(html.split())


def test_the_buyer_is_told_on_the_draft_and_at_submission_what_the_stations_cannot_supply(app, db):
    organisation, buyer, _approver, _viewer, rice, eggs = organisation_with_products(stock=34)
    client = logged_in_client(app, buyer)
    r = client.post(f"/organisations/{organisation.id}/purchases/new", data=purchase_form(rice, eggs, quantity_0="50"))
    assert r.status_code == 303, r.get_data(as_text=True)
    url = r.headers["Location"]
    page = _texts(client.get(url).get_data(as_text=True))
    warning = f"“南昌大米”（{rice.village.name}）库存不足：本采购单要 50 {rice.unit}，现有 34 {rice.unit}。"
    assert 'id="short-stock"' in page and warning in page
    assert "土鸡蛋”" not in page  # 2 of 34 eggs: nothing to say
    assert "提交审批" in page  # the approver may wait for the station to restock

    purchase_id = int(url.rsplit("/", 1)[1])
    r = client.post(f"/purchases/{purchase_id}/submit", follow_redirects=True)
    page = _texts(r.get_data(as_text=True))
    assert "已提交审批" in page and warning in page and "alert-warning" in page
    assert _db.session.get(Purchase, purchase_id).status == "submitted"
    assert 'id="short-stock"' not in page  # the submitted purchase is the approver's to decide now


def test_a_draft_its_stations_can_supply_warns_of_nothing(app, db):
    organisation, buyer, _approver, _viewer, rice, eggs = organisation_with_products(stock=34)
    client = logged_in_client(app, buyer)
    r = client.post(f"/organisations/{organisation.id}/purchases/new", data=purchase_form(rice, eggs, quantity_0="34"))
    url = r.headers["Location"]
    assert "库存不足" not in client.get(url).get_data(as_text=True)
    r = client.post(f"/purchases/{url.rsplit('/', 1)[1]}/submit", follow_redirects=True)
    assert "已提交审批" in r.get_data(as_text=True) and "库存不足" not in r.get_data(as_text=True)
    assert _db.session.scalar(sa.select(Purchase.status)) == "submitted"


def _alerts(html: str) -> str:
    return " ".join(re.findall(r'class="alert[^"]*"[^>]*>(.*?)<', html, re.S))


WEST = {
    "added_addresses": "1",
    "a1_label": "西校区食堂",
    "a1_name": "王老师",
    "a1_phone": "13900001111",
    "a1_province": "江西省",
    "a1_city": "南昌市",
    "a1_district": "南昌县",
    "a1_line": "澄湖西路2号",
}


def test_a_refused_quantity_names_its_row_and_product_and_comes_back_as_typed(app, db):
    organisation, buyer, _approver, _viewer, rice, eggs = organisation_with_products()
    client = logged_in_client(app, buyer)
    url = f"/organisations/{organisation.id}/purchases/new"
    for typed in ("-5", "1000000", "1.5"):
        r = client.post(url, data=purchase_form(rice, eggs, quantity_1=typed))
        page = r.get_data(as_text=True)
        assert (
            r.status_code == 422
            and f'name="quantity_1" type="number" min="1" max="999" inputmode="numeric" value="{typed}"' in page
        )
        assert "第 2 行“土鸡蛋”的数量无效：请填写 1 到 999 之间的整数" in _alerts(page), typed
    # a row with a quantity and no product; one whose product is none (as the API's line is refused)
    r = client.post(url, data=purchase_form(rice, eggs, product_1=""))
    assert r.status_code == 422 and "第 2 行：请选择商品" in _alerts(r.get_data(as_text=True))
    r = client.post(url, data=purchase_form(rice, eggs, product_1="99999999"))
    assert r.status_code == 422 and "第 2 行：商品不存在" in _alerts(r.get_data(as_text=True))
    # on a form of several addresses, the address too
    r = client.post(
        url, data={**purchase_form(rice, eggs), **WEST, "a1_product_0": str(eggs.id), "a1_quantity_0": "-4"}
    )
    assert r.status_code == 422
    assert "“西校区食堂”第 1 行“土鸡蛋”的数量无效" in _alerts(r.get_data(as_text=True))
    r = client.post(
        url,
        data={**purchase_form(rice, eggs, quantity_0="0"), **WEST, "a1_product_0": str(eggs.id), "a1_quantity_0": "4"},
    )
    assert r.status_code == 422
    assert "“本部食堂”第 1 行“南昌大米”的数量无效" in _alerts(r.get_data(as_text=True))
    r = client.post(
        url,
        data={**purchase_form(rice, eggs), **WEST, "a1_label": "", "a1_product_0": str(eggs.id), "a1_quantity_0": ""},
    )
    assert "“收货地址 2”第 1 行“土鸡蛋”的数量无效" in _alerts(r.get_data(as_text=True))  # as its legend names it
    assert _db.session.scalar(sa.select(sa.func.count(Purchase.id))) == 0


def test_a_row_whose_product_is_not_for_sale_names_its_row(app, db):
    """A row whose product exists but cannot be sold is refused as the API refuses its line
    (`purchases._line_refusal`): its address, number and product, and why (withdrawn; papers missing)."""
    organisation, buyer, _approver, _viewer, rice, eggs = organisation_with_products()
    eggs.is_published = False
    unpapered = make_product(name="腊肉", category=make_category(food_class="processed"))
    commit()
    client = logged_in_client(app, buyer)
    url = f"/organisations/{organisation.id}/purchases/new"
    r = client.post(url, data=purchase_form(rice, eggs))
    assert r.status_code == 409 and "“本部食堂”第 2 行“土鸡蛋”已下架" in _alerts(r.get_data(as_text=True))
    r = client.post(
        url,
        data={
            **purchase_form(rice, eggs, product_1="", quantity_1=""),
            **WEST,
            "a1_product_0": str(unpapered.id),
            "a1_quantity_0": "1",
        },
    )
    assert r.status_code == 409 and "“西校区食堂”第 1 行“腊肉”暂停销售：" in _alerts(r.get_data(as_text=True))
    assert _db.session.scalar(sa.select(sa.func.count(Purchase.id))) == 0


def test_a_refusal_after_a_blank_row_names_the_row_as_the_form_shows_it(app, db):
    """Blank rows are skipped, not renumbered: a product not for sale, or one product's rows past the line
    limit together, on the form's third row after a blank second is 第 3 行 (`DestinationData.rows`)."""
    organisation, buyer, _approver, _viewer, rice, eggs = organisation_with_products()
    eggs.is_published = False
    commit()
    client = logged_in_client(app, buyer)
    url = f"/organisations/{organisation.id}/purchases/new"
    blank_second = {"product_1": "", "quantity_1": "", "product_2": str(eggs.id), "quantity_2": "2"}
    r = client.post(url, data=purchase_form(rice, eggs, **blank_second))
    assert r.status_code == 409 and "“本部食堂”第 3 行“土鸡蛋”已下架" in _alerts(r.get_data(as_text=True))
    over = {"quantity_0": "500", "product_1": "", "quantity_1": "", "product_2": str(rice.id), "quantity_2": "600"}
    r = client.post(url, data=purchase_form(rice, eggs, **over))
    assert r.status_code == 422 and "“本部食堂”第 3 行“南昌大米”的数量无效" in _alerts(r.get_data(as_text=True))
    # an added address's rows alike
    r = client.post(
        url,
        data={
            **purchase_form(rice, eggs, product_1="", quantity_1=""),
            **WEST,
            "a1_product_1": str(eggs.id),
            "a1_quantity_1": "1",
        },
    )
    assert r.status_code == 409 and "“西校区食堂”第 2 行“土鸡蛋”已下架" in _alerts(r.get_data(as_text=True))
    assert _db.session.scalar(sa.select(sa.func.count(Purchase.id))) == 0


def test_the_buyer_reads_both_in_english(app, db):
    organisation, buyer, _approver, _viewer, rice, eggs = organisation_with_products(stock=34)
    client = logged_in_client(app, buyer)
    url = f"/organisations/{organisation.id}/purchases/new?lang=en"
    r = client.post(url, data=purchase_form(rice, eggs, quantity_1="-5"))
    assert "Row 2, “土鸡蛋”: the quantity is not valid; enter a whole number from 1 to 999" in _alerts(
        r.get_data(as_text=True)
    )
    r = client.post(url, data=purchase_form(rice, eggs, quantity_0="50"))
    page = _texts(client.get(r.headers["Location"] + "?lang=en").get_data(as_text=True))
    assert "Not enough “南昌大米”" in page and "this purchase wants 50" in page and "库存不足" not in page
