"""What an organisation's buyer and approver met walking a purchase on a phone: a product withdrawn
between the draft and its submission is said when the buyer submits (the draft stays a draft, to be
changed), never found by the approver in an approval that can only fail; a purchase the approver sends
back (退回) with a note is its buyer's to change and submit again; the year's budget is shown on the
purchase and an approval past it is refused, nothing placed."""

from __future__ import annotations

import re

import sqlalchemy as sa

from institutions.models import OrganisationBudget, Purchase
from orders.models import Order
from shop.db import commit
from shop.extensions import db as _db
from shop.timeutil import local_date, now_utc
from tests.factories import NOW
from tests.institutions.purchase_setup import logged_in_client, organisation_with_products, purchase_body, purchase_form


def _alerts(page: str) -> list[str]:
    return re.findall(r'class="alert[^"]*"[^>]*>(.*?)<', page, re.S)


def _orders() -> int:
    return _db.session.scalar(sa.select(sa.func.count(Order.id)))


def test_a_product_withdrawn_after_the_draft_is_said_at_submission_and_the_draft_stays_a_draft(
    app, client, db, api_token
):
    organisation, buyer, approver, _viewer, rice, eggs = organisation_with_products()
    pages = logged_in_client(app, buyer)
    r = pages.post(f"/organisations/{organisation.id}/purchases/new", data=purchase_form(rice, eggs))
    url = r.headers["Location"]
    purchase_id = int(url.rsplit("/", 1)[1])
    rice.is_published = False  # the station takes the rice off sale meanwhile
    commit()

    page = pages.get(url).get_data(as_text=True)
    assert "“南昌大米”已下架" in page
    assert 'id="submit-blocked"' in page and "提交审批</button>" not in page  # no button that can only fail
    r = pages.post(f"/purchases/{purchase_id}/submit")
    assert r.status_code == 303
    assert "“本部食堂”第 1 行“南昌大米”已下架" in _alerts(pages.get(url).get_data(as_text=True))
    _db.session.expire_all()
    assert _db.session.get(Purchase, purchase_id).status == "draft"
    r = client.post(f"/api/v1/purchases/{purchase_id}/submit", headers=api_token(buyer))
    assert r.status_code == 409 and r.json["error"]["code"] == "purchase_row_unavailable_at"  # its line named
    assert r.json["error"]["message"] == "“本部食堂”第 1 行“南昌大米”已下架"

    # the buyer drops the rice: the draft goes to the approver
    r = pages.post(f"/purchases/{purchase_id}/edit", data=purchase_form(rice, eggs, product_0="", quantity_0=""))
    assert r.status_code == 303
    assert pages.post(f"/purchases/{purchase_id}/submit").status_code == 303
    _db.session.expire_all()
    assert _db.session.get(Purchase, purchase_id).status == "submitted"
    page = logged_in_client(app, approver).get(url).get_data(as_text=True)
    assert "审批通过并下单" in page and 'id="approve-blocked"' not in page


def test_a_purchase_sent_back_with_a_note_is_changed_by_its_buyer_and_submitted_again(app, db):
    organisation, buyer, approver, _viewer, rice, eggs = organisation_with_products()
    pages = logged_in_client(app, buyer)
    url = pages.post(f"/organisations/{organisation.id}/purchases/new", data=purchase_form(rice, eggs)).headers[
        "Location"
    ]
    purchase_id = int(url.rsplit("/", 1)[1])
    pages.post(f"/purchases/{purchase_id}/submit")
    finance = logged_in_client(app, approver)
    r = finance.post(f"/purchases/{purchase_id}/reject", data={"confirm": "1", "reason": "大米改为 2 袋"})
    assert r.status_code == 303

    page = pages.get(url).get_data(as_text=True)
    assert "大米改为 2 袋" in page and "修改后重新提交" in page
    assert pages.get(f"/purchases/{purchase_id}/edit").status_code == 200
    r = pages.post(f"/purchases/{purchase_id}/edit", data=purchase_form(rice, eggs, quantity_0="2"))
    assert r.status_code == 303
    _db.session.expire_all()
    purchase = _db.session.get(Purchase, purchase_id)
    assert purchase.status == "draft"
    assert sorted((line.product_id, line.quantity) for line in purchase.lines) == sorted([(rice.id, 2), (eggs.id, 2)])
    assert pages.post(f"/purchases/{purchase_id}/submit").status_code == 303
    r = finance.post(f"/purchases/{purchase_id}/approve", data={"confirm": "1"})
    _db.session.expire_all()
    assert _db.session.get(Purchase, purchase_id).status == "approved" and _orders() == 1
    page = pages.get(url).get_data(as_text=True)
    assert "大米改为 2 袋" not in page and "退回原因" not in page  # answered: not shown as if sent back
    # approved: never changed again
    r = pages.get(f"/purchases/{purchase_id}/edit")
    assert r.status_code == 303 and "采购单已提交审批，不能再修改或删除" in pages.get(url).get_data(as_text=True)


def test_the_years_budget_is_shown_on_the_purchase_and_an_approval_past_it_is_refused(app, client, db, api_token):
    organisation, buyer, approver, _viewer, rice, eggs = organisation_with_products()
    b, a = api_token(buyer), api_token(approver)
    created = client.post("/api/v1/purchases", headers=b, json=purchase_body(organisation, rice, eggs)).json
    client.post(f"/api/v1/purchases/{created['id']}/submit", headers=b)
    total = created["estimated_total_fen"]
    year = local_date(now_utc()).year
    budget = OrganisationBudget(
        organisation_id=organisation.id,
        year=year,
        budget_fen=total - 1,
        reserved_bps=3000,
        updated_by_id=approver.id,
        updated_at=NOW,
    )
    _db.session.add(budget)
    commit()

    page = logged_in_client(app, approver).get(f"/purchases/{created['id']}").get_data(as_text=True)
    assert f"{year} 年采购预算" in page and 'id="over-budget"' in page
    assert 'id="approve-blocked"' in page and "审批通过并下单" not in page
    r = client.post(f"/api/v1/purchases/{created['id']}/approve", headers=a, json={"shown_total_fen": total})
    assert r.status_code == 409 and r.json["error"]["code"] == "purchase_over_budget"
    assert "预算还剩 ¥" in r.json["error"]["message"]
    assert _orders() == 0 and _db.session.get(Purchase, created["id"]).status == "submitted"

    budget.budget_fen = total  # exactly enough
    commit()
    page = logged_in_client(app, approver).get(f"/purchases/{created['id']}").get_data(as_text=True)
    assert 'id="over-budget"' not in page and "审批通过并下单" in page
    r = client.post(f"/api/v1/purchases/{created['id']}/approve", headers=a, json={"shown_total_fen": total})
    assert r.status_code == 200, r.json
    assert _orders() == 2


def _second_address(rice, eggs, k: int = 1, **extra) -> dict:
    return {
        "added_addresses": str(k),
        f"a{k}_label": "西校区食堂",
        f"a{k}_name": "王老师",
        f"a{k}_phone": "13900001111",
        f"a{k}_province": "江西省",
        f"a{k}_city": "南昌市",
        f"a{k}_district": "南昌县",
        f"a{k}_line": "澄湖西路2号",
        f"a{k}_product_0": str(eggs.id),
        f"a{k}_quantity_0": "4",
        **extra,
    }


def _destinations(purchase_id: int) -> list[tuple[str, str, list[tuple[int, int]]]]:
    _db.session.expire_all()
    purchase = _db.session.get(Purchase, purchase_id)
    return [
        (
            d.label,
            d.phone,
            sorted((line.product_id, line.quantity) for line in purchase.lines if line.destination_id == d.id),
        )
        for d in purchase.destinations
    ]


def test_the_purchase_form_takes_several_addresses_each_with_its_products_and_edits_them(app, db):
    organisation, buyer, approver, _viewer, rice, eggs = organisation_with_products()
    pages = logged_in_client(app, buyer)
    url = f"/organisations/{organisation.id}/purchases/new"
    # 添加收货地址: the form comes back with a second address, what was typed kept, nothing saved
    r = pages.post(url, data={**purchase_form(rice, eggs), "action": "add_address"})
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and 'id="a1_label"' in page and 'id="a1_product_0"' in page
    assert 'value="本部食堂"' in page and "收货地址 2" in page
    assert 'aria-describedby="pickup_station_id-hint"' in page  # the pick-up station says when it counts
    assert _db.session.scalar(sa.select(sa.func.count(Purchase.id))) == 0
    # a quantity far too large comes back as typed, with its refusal
    r = pages.post(url, data=purchase_form(rice, eggs, quantity_0="1000000"))
    page = r.get_data(as_text=True)
    assert (
        r.status_code == 422
        and 'value="1000000"' in page
        and "第 1 行“南昌大米”的数量无效：请填写 1 到 999 之间的整数" in "".join(_alerts(page))
    )
    # a second address without a phone: refused, both addresses come back as typed
    r = pages.post(url, data={**purchase_form(rice, eggs), **_second_address(rice, eggs, a1_phone="")})
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and 'value="西校区食堂"' in page and 'value="澄湖西路2号"' in page
    assert "“西校区食堂”的收货地址不完整" in "".join(_alerts(page))  # which of the addresses
    assert re.search(rf'<option value="{eggs.id}" selected>', page)
    assert _db.session.scalar(sa.select(sa.func.count(Purchase.id))) == 0

    r = pages.post(url, data={**purchase_form(rice, eggs), **_second_address(rice, eggs)})
    assert r.status_code == 303, r.get_data(as_text=True)
    purchase_id = int(r.headers["Location"].rsplit("/", 1)[1])
    assert _destinations(purchase_id) == [
        ("本部食堂", "13800000000", sorted([(rice.id, 3), (eggs.id, 2)])),
        ("西校区食堂", "13900001111", [(eggs.id, 4)]),
    ]

    # the purchase says how it is paid, and which village each product comes from
    page = pages.get(f"/purchases/{purchase_id}").get_data(as_text=True)
    assert re.search(r'class="purchase-payment">货到付款<', page)
    assert f'<span class="meta">{eggs.village.name}</span>' in page

    # the draft's edit shows both addresses, each with its rows; a change to the second is saved
    page = pages.get(f"/purchases/{purchase_id}/edit").get_data(as_text=True)
    assert (
        'value="西校区食堂"' in page
        and 'name="a1_quantity_0" type="number" min="1" max="999" inputmode="numeric" value="4"' in page
    )
    r = pages.post(
        f"/purchases/{purchase_id}/edit",
        data={**purchase_form(rice, eggs), **_second_address(rice, eggs, a1_quantity_0="6")},
    )
    assert r.status_code == 303
    assert _destinations(purchase_id)[1] == ("西校区食堂", "13900001111", [(eggs.id, 6)])
    # an added address emptied is dropped
    emptied = {key: "" for key in _second_address(rice, eggs) if key != "added_addresses"}
    r = pages.post(
        f"/purchases/{purchase_id}/edit", data={**purchase_form(rice, eggs), "added_addresses": "1", **emptied}
    )
    assert r.status_code == 303 and [d[0] for d in _destinations(purchase_id)] == ["本部食堂"]

    # submitted and approved: one order per address
    pages.post(f"/purchases/{purchase_id}/edit", data={**purchase_form(rice, eggs), **_second_address(rice, eggs)})
    pages.post(f"/purchases/{purchase_id}/submit")
    logged_in_client(app, approver).post(f"/purchases/{purchase_id}/approve", data={"confirm": "1"})
    assert _orders() == 2


def test_a_decision_that_cannot_be_taken_is_refused_before_it_is_confirmed(app, client, db, api_token):
    organisation, buyer, approver, viewer, rice, eggs = organisation_with_products()
    b = api_token(buyer)
    created = client.post("/api/v1/purchases", headers=b, json=purchase_body(organisation, rice, eggs)).json
    purchase_id = created["id"]
    url = f"/purchases/{purchase_id}"
    client.post(f"/api/v1/purchases/{purchase_id}/submit", headers=b)
    finance = logged_in_client(app, approver)

    # a member without the approver role: refused at once, never asked to confirm
    assert logged_in_client(app, viewer).post(f"{url}/approve").status_code == 403
    # a return without its note: said at once
    r = finance.post(f"{url}/reject", data={"reason": " "})
    assert r.status_code == 303 and r.headers["Location"].endswith(url)
    assert "请填写退回原因（最多 400 字）" in _alerts(finance.get(url).get_data(as_text=True))

    # a return is not final: its question says so, not that it cannot be undone
    r = finance.post(f"{url}/reject", data={"reason": "改为下周送"})
    assert r.status_code == 303 and "/confirm/" in r.headers["Location"]
    question = finance.get(r.headers["Location"]).get_data(as_text=True)
    assert "退回后，采购员可以修改采购单再提交审批" in question and "此操作不能撤销" not in question

    # the question names what approving does: two orders, their total
    r = finance.post(f"{url}/approve")
    assert r.status_code == 303 and "/confirm/" in r.headers["Location"]
    total = created["estimated_total_fen"]
    question = finance.get(r.headers["Location"]).get_data(as_text=True)
    assert f"将立即生成 2 张订单，合计 ¥{total // 100:,}.{total % 100:02d}" in question
    assert finance.post(f"{url}/approve", data={"confirm": "1"}).status_code == 303
    assert _orders() == 2

    # approved: a second tap on 审批通过并下单 (the page not yet changed) is told so, not asked again
    r = finance.post(f"{url}/approve")
    assert r.status_code == 303 and r.headers["Location"].endswith(url)
    assert "采购单已审批过或尚未提交" in _alerts(finance.get(url).get_data(as_text=True))
    assert _orders() == 2


def test_a_purchase_its_station_cannot_supply_is_refused_before_it_is_confirmed_naming_the_product(
    app, client, db, api_token
):
    """14 bags of rice asked over two canteens, 10 in stock: the approver's 审批通过并下单 is refused at
    once (no confirmation asked) with the product, its village, what is wanted and what is in stock, not
    a bare 库存不足 after confirming; nothing placed, the purchase still waiting."""
    organisation, buyer, approver, _viewer, rice, eggs = organisation_with_products(stock=10)
    b = api_token(buyer)
    purchase_id = client.post("/api/v1/purchases", headers=b, json=purchase_body(organisation, rice, eggs)).json["id"]
    client.post(f"/api/v1/purchases/{purchase_id}/submit", headers=b)
    finance = logged_in_client(app, approver)
    url = f"/purchases/{purchase_id}"
    r = finance.post(f"{url}/approve")
    assert r.status_code == 303 and r.headers["Location"].endswith(url)
    said = f"“南昌大米”（{rice.village.name}）库存不足：本采购单要 14 {rice.unit}，现有 10 {rice.unit}"
    assert any(said in alert for alert in _alerts(finance.get(url).get_data(as_text=True)))
    assert finance.post(f"{url}/approve", data={"confirm": "1"}).status_code == 303
    assert any(said in alert for alert in _alerts(finance.get(url).get_data(as_text=True)))
    assert _orders() == 0 and _db.session.get(Purchase, purchase_id).status == "submitted"


def test_in_english_an_approver_sends_a_purchase_back_rather_than_returns_it(app, client, db, api_token):
    """退回 of a purchase is sending it back to its buyer, not returning goods: the English page says so."""
    organisation, buyer, approver, _viewer, rice, eggs = organisation_with_products()
    b = api_token(buyer)
    purchase_id = client.post("/api/v1/purchases", headers=b, json=purchase_body(organisation, rice, eggs)).json["id"]
    client.post(f"/api/v1/purchases/{purchase_id}/submit", headers=b)
    finance = logged_in_client(app, approver)
    finance.get("/?lang=en")
    page = finance.get(f"/purchases/{purchase_id}").get_data(as_text=True)
    assert ">Send back</button>" in page and "Why it is sent back" in page and ">Return<" not in page
    finance.post(f"/purchases/{purchase_id}/reject", data={"confirm": "1", "reason": "wrong canteen"})
    page = finance.get(f"/purchases/{purchase_id}").get_data(as_text=True)
    assert "Purchase sent back" in page and 'class="purchase-status">Sent back<' in page


def test_the_purchase_page_shows_each_lines_price_and_each_orders_shipping_adding_up_to_its_total(
    app, client, db, api_token
):
    """The approver (the finance office) checks the figures: each line its unit price and subtotal, each
    address its shipping, and these add up to the total the page and the confirmation give (it showed
    the total alone)."""
    organisation, buyer, approver, _viewer, rice, eggs = organisation_with_products()
    b = api_token(buyer)
    created = client.post("/api/v1/purchases", headers=b, json=purchase_body(organisation, rice, eggs)).json
    client.post(f"/api/v1/purchases/{created['id']}/submit", headers=b)
    page = logged_in_client(app, approver).get(f"/purchases/{created['id']}").get_data(as_text=True)
    assert '<td class="num">¥60.00</td><td class="num">¥480.00</td>' in page  # 8 bags of rice, east canteen
    assert '<td class="num">¥60.00</td><td class="num">¥360.00</td>' in page  # 6 bags, west canteen

    def fen(text: str) -> int:
        return int(text.replace(",", "").replace(".", ""))

    subtotals = [fen(m) for m in re.findall(r'<td class="num">¥[\d,.]+</td><td class="num">¥([\d,.]+)</td>', page)]
    shipping = [fen(m) for m in re.findall(r'class="num purchase-shipping">¥([\d,.]+)<', page)]
    assert len(subtotals) == 3 and len(shipping) == 2
    assert sum(subtotals) + sum(shipping) == created["estimated_total_fen"]
    assert f"<strong>¥{created['estimated_total_fen'] / 100:,.2f}</strong>" in page
