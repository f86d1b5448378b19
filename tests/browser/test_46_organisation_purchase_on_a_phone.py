"""Journey 46: an organisation buys on a phone, in Chinese, as first-time users. The buyer builds a bulk
purchase of two products for two canteens (添加收货地址: the second address with its own product rows;
saved without its phone first, refused with everything typed kept), sees the year's budget on the draft,
changes it and submits it; the approver sends it back with a note, which the buyer reads and answers by
changing the purchase (修改后重新提交) and submitting it again; the approver approves (one order per
address, paid by bank transfer: the payee and each order's reference shown), taps Back and confirms
again (told it is decided, nothing placed twice); another organisation's purchase is a 404; the buyer
follows each order from the purchase. Every button and link on the way is a 40 px target."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from shop.timeutil import local_date, now_utc
from tests.browser.harness import VIEWPORTS
from tests.browser.journeys import VILLAGE_A, VILLAGE_B, confirm_if_asked, demo_product
from tests.browser.organisation_journey import PASSWORD, assert_thumb_sized, new_organisation, purchase_order_codes

BUDGET_FEN = 5_000_000  # ¥50,000.00 for the year


def _set_budget(live, organisation_id: int) -> None:
    from institutions.models import OrganisationBudget
    from shop.db import commit

    with live.app_context() as db:
        db.session.add(
            OrganisationBudget(
                organisation_id=organisation_id,
                year=local_date(now_utc()).year,
                budget_fen=BUDGET_FEN,
                reserved_bps=3000,
                updated_at=now_utc(),
            )
        )
        commit()


@pytest.mark.parametrize("viewport", [VIEWPORTS[0]], ids=[VIEWPORTS[0].name], indirect=True)
def test_an_organisation_buys_for_two_canteens_on_a_phone(open_page, live_server, viewport, lang):
    assert viewport.is_phone
    org = new_organisation(live_server, lang)
    other = new_organisation(live_server, lang)  # another school: its purchases are none of ours
    _set_budget(live_server, org["id"])
    pickles_a = demo_product(live_server, VILLAGE_A)
    pickles_b = demo_product(live_server, VILLAGE_B)

    # the buyer builds the purchase: two canteens, each with its products
    buyer = open_page("buyer")
    bp = buyer.page
    buyer.login(org["buyer"], PASSWORD)
    buyer.goto(f"/organisations/{org['id']}")
    buyer.submit_and_wait(lambda: bp.locator("main").get_by_role("link", name=buyer.t("新建采购单")).click())
    form = bp.locator("main form")
    form.get_by_label(buyer.t("希望送达日期")).fill((local_date(now_utc()) + timedelta(days=5)).isoformat())
    form.get_by_label(buyer.t("支付方式")).select_option("bank_transfer")
    first = {
        "收货地点名称（如东校区食堂）": "东校区食堂",
        "收货人": "李明",
        "收货人手机号": "13800138000",
        "省": "江西省",
        "市": "南昌市",
        "区县": "南昌县",
        "详细地址": "莲塘镇澄湖路1号",
    }
    for label, value in first.items():
        form.get_by_label(buyer.t(label), exact=True).fill(value)
    form.locator("#product_0").select_option(str(pickles_a["id"]))
    form.locator("#quantity_0").fill("3")
    form.locator("#product_1").select_option(str(pickles_b["id"]))
    form.locator("#quantity_1").fill("2")
    add = form.get_by_role("button", name=buyer.t("添加收货地址"))
    assert_thumb_sized(add)
    buyer.step("first canteen typed")
    buyer.submit_and_wait(add.click)
    form = bp.locator("main form")
    expect(form.locator("#line")).to_have_value("莲塘镇澄湖路1号")  # kept as typed
    expect(form.locator("#quantity_1")).to_have_value("2")
    second = form.locator("#address-2")
    expect(second).to_be_visible()
    for name, value in (
        ("label", "西校区食堂"),
        ("name", "王老师"),
        ("province", "江西省"),
        ("city", "南昌市"),
        ("district", "南昌县"),
        ("line", "澄湖西路2号"),
    ):  # no phone yet
        second.locator(f"#a1_{name}").fill(value)
    second.locator("#a1_product_0").select_option(str(pickles_a["id"]))
    second.locator("#a1_quantity_0").fill("4")
    buyer.step("second canteen without a phone")
    save = form.get_by_role("button", name=buyer.t("保存草稿"), exact=True)
    with buyer.problems.allow(422, r"/purchases/new$"):
        buyer.submit_and_wait(save.click)
    expect(bp.locator(".alert-error")).to_contain_text(
        buyer.t("“%(label)s”的收货地址不完整：收货人、手机号、省、市、区县和详细地址都要填写", label="西校区食堂")
    )
    form = bp.locator("main form")
    expect(form.locator("#a1_line")).to_have_value("澄湖西路2号")  # nothing typed is lost
    expect(form.locator("#a1_quantity_0")).to_have_value("4")
    expect(form.locator("#quantity_0")).to_have_value("3")
    form.locator("#a1_phone").fill("13900001111")
    buyer.step("phone added")
    buyer.submit_and_wait(form.get_by_role("button", name=buyer.t("保存草稿"), exact=True).click)
    assert re.search(r"/purchases/\d+$", bp.url), bp.url
    purchase_path = bp.url.removeprefix(live_server.url)
    purchase_id = int(purchase_path.rsplit("/", 1)[1])
    main = bp.locator("main")
    expect(main.get_by_role("heading", name="西校区食堂")).to_be_visible()
    budget = bp.locator("#purchase-budget")
    expect(budget).to_contain_text(buyer.t("%(year)s 年采购预算", year=local_date(now_utc()).year))
    expect(budget).to_contain_text("¥50,000.00")
    buyer.step("draft with the budget")

    # the buyer changes the draft (the second canteen wants 5), then submits it
    edit = main.get_by_role("link", name=buyer.t("修改草稿"))
    assert_thumb_sized(edit)
    buyer.submit_and_wait(edit.click)
    form = bp.locator("main form")
    expect(form.locator("#a1_label")).to_have_value("西校区食堂")
    form.locator("#a1_quantity_0").fill("5")
    buyer.submit_and_wait(form.get_by_role("button", name=buyer.t("保存草稿"), exact=True).click)
    submit = main.get_by_role("button", name=buyer.t("提交审批"))
    assert_thumb_sized(submit)
    buyer.submit_and_wait(submit.click)
    expect(bp.locator(".purchase-status")).to_have_text(buyer.t("待审批"))
    buyer.step("submitted")

    # the approver sends it back with a note
    approver = open_page("approver")
    ap = approver.page
    approver.login(org["approver"], PASSWORD)
    approver.goto(purchase_path)
    approver.step("purchase to decide")
    ap.locator("#reason").fill("东校区的腌菜改为 2 袋")
    send_back = ap.locator("main").get_by_role("button", name=approver.t("退回", context="purchase"), exact=True)
    assert_thumb_sized(send_back)
    approver.submit_and_wait(send_back.click)
    assert confirm_if_asked(approver)
    expect(ap.locator(".purchase-status")).to_have_text(approver.t("已退回", context="purchase"))

    # the buyer reads the note, changes the purchase and submits it again
    buyer.goto(purchase_path)
    expect(bp.locator(".purchase-return-reason")).to_have_text("东校区的腌菜改为 2 袋")
    buyer.step("sent back")
    buyer.submit_and_wait(main.get_by_role("link", name=buyer.t("修改后重新提交")).click)
    form = bp.locator("main form")
    form.locator("#quantity_0").fill("2")
    buyer.submit_and_wait(form.get_by_role("button", name=buyer.t("保存草稿"), exact=True).click)
    expect(bp.locator(".purchase-status")).to_have_text(buyer.t("草稿"))
    buyer.submit_and_wait(main.get_by_role("button", name=buyer.t("提交审批")).click)
    expect(bp.locator(".purchase-status")).to_have_text(buyer.t("待审批"))

    # the approver approves: one order per canteen; Back and confirm again places nothing twice
    approver.goto(purchase_path)
    approve = ap.locator("main").get_by_role("button", name=approver.t("审批通过并下单"))
    assert_thumb_sized(approve)
    approver.submit_and_wait(approve.click)
    assert confirm_if_asked(approver)
    expect(ap.locator(".purchase-status")).to_have_text(approver.t("已审批下单"))
    expect(ap.locator("#bank-transfer")).to_be_visible()
    approver.step("approved, transfer details")
    codes = purchase_order_codes(live_server, purchase_id)
    assert len(codes) == 2, codes
    approver.submit_and_wait(ap.go_back)  # back to the confirmation page
    approver.submit_and_wait(lambda: ap.locator("main form").get_by_role("button", name=re.compile(".")).first.click())
    expect(ap.locator(".alert-error")).to_contain_text(approver.t("采购单已审批过或尚未提交"))
    assert purchase_order_codes(live_server, purchase_id) == codes
    approver.step("confirmed twice")

    # another organisation's purchase id in the address: not found
    stranger = open_page("stranger")
    stranger.login(other["approver"], PASSWORD)
    with stranger.problems.allow(404, rf"/purchases/{purchase_id}$"):
        response = stranger.goto(purchase_path)
        assert response is not None and response.status == 404

    # the buyer follows each order from the purchase
    buyer.goto(purchase_path)
    links = main.locator(".purchase-orders a")
    expect(links).to_have_count(2)
    for i in range(2):
        assert_thumb_sized(links.nth(i))
    buyer.step("orders of the purchase")
    buyer.submit_and_wait(links.first.click)
    expect(main).to_contain_text(codes[0])
    buyer.step("first order")

    # the organisation's page lists the purchase, and its statement counts the orders against the budget
    buyer.goto(f"/organisations/{org['id']}")
    listed = main.locator(".purchase-list a").first
    assert_thumb_sized(listed)
    buyer.submit_and_wait(main.get_by_role("link", name=buyer.t("对账单与预留份额")).click)
    for link in main.locator(".statement-links a").all():
        assert_thumb_sized(link)
    expect(main.locator(".purchased")).not_to_have_text("¥0.00")
    buyer.step("statement")
