"""Journey 60: the county officer, in the field on a phone, returns a station's new price with its reason typed
as one long unbroken word (a lab's sample number pasted whole): the confirmation quotes the reason inside its
card, wrapped, and the page does not scroll sideways (the quoted reason pushed it 1,800 px wide, 确认 and
返回，不操作 off the screen). The station's 本站商品 then says the change was not certified and why (it said
已认定 only), the reason wrapped within the phone's screen. The same long reason on a lot's recall is quoted
wrapped too, and 返回，不操作 recalls nothing. A new product the station asks to certify shows, beside its return
reason's box, the limit read whole (最多 255 个字 broke as 最 / 多 255 个字 at the phone's edge); it is returned."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from tests.browser.harness import DEMO, VIEWPORTS
from tests.browser.journeys import VILLAGE_A, demo_product

GIFT_BOX = "三江腌菜礼盒2斤"  # at NC01, the demo operator's station
SAMPLE_NUMBER = "JX" + "0123456789" * 19 + "ABCDEFGH"  # 200 characters, no space to break at


#: how many lines the text of an element takes on the screen
_LINES = """b => { const r = document.createRange(); r.selectNodeContents(b);
  return new Set([...r.getClientRects()].map(x => Math.round(x.top))).size }"""
HONEY = "柳溪村土蜂蜜500克"


def _active_lot(live, product_id: int) -> str:
    from stock.models import Lot, LotStatus

    with live.app_context() as db:
        return db.session.scalars(
            sa.select(Lot.code).where(Lot.product_id == product_id, Lot.status == LotStatus.ACTIVE).order_by(Lot.id)
        ).first()


def _within_the_screen(user, locator) -> None:
    widths = user.page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1], widths
    box = locator.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= widths[1], box


@pytest.mark.parametrize("viewport", [VIEWPORTS[0]], ids=[VIEWPORTS[0].name], indirect=True)
def test_a_long_reason_is_quoted_within_the_phone_screen(open_page, live_server, viewport):
    assert viewport.is_phone and len(SAMPLE_NUMBER) == 200
    gift_box = demo_product(live_server, VILLAGE_A, GIFT_BOX)
    asked = f"{(gift_box['price_fen'] + 100) // 100}.{(gift_box['price_fen'] + 100) % 100:02d}"

    # the station asks for a new price: it waits for the county
    operator = open_page("operator")
    op = operator.page
    operator.login(DEMO["operator"])
    operator.goto("/station/products")
    row = op.locator("table.station-products tbody tr").filter(has_text=GIFT_BOX)
    row.locator("summary").click()
    row.get_by_label(operator.t("价格（元）")).fill(asked)
    operator.submit_and_wait(row.get_by_role("button", name=operator.t("保存"), exact=True).click)
    expect(row).to_contain_text(operator.t("修改待重新认定"))

    # the county returns it, the reason one long word: asked to confirm, the reason wrapped on the screen
    officer = open_page("county")
    page = officer.page
    officer.login(DEMO["county"])
    officer.goto("/county/approvals")
    card = page.locator("article.approval").filter(has=page.get_by_role("heading", name=GIFT_BOX))
    card.get_by_label(officer.t("退回原因")).fill(SAMPLE_NUMBER)
    officer.submit_and_wait(card.get_by_role("button", name=officer.t("退回")).click)
    expect(page.get_by_role("heading", level=1)).to_have_text(officer.t("请确认"))
    quoted = page.locator(".confirm-step li")
    expect(quoted).to_have_text(officer.t("退回原因：%(reason)s", reason=SAMPLE_NUMBER))
    _within_the_screen(officer, page.locator(".confirm-step").get_by_role("button", name=officer.t("确认")))
    _within_the_screen(officer, page.locator(".confirm-step").get_by_role("link", name=officer.t("返回，不操作")))
    officer.step("asked to confirm, the reason wrapped")
    officer.submit_and_wait(page.locator(".confirm-step").get_by_role("button", name=officer.t("确认")).click)
    expect(page.get_by_role("status")).to_contain_text(officer.t("修改已退回，继续按原认定内容销售"))

    # the station reads it: not certified, what was asked, why
    operator.goto("/station/products")
    expect(row).to_contain_text(operator.t("修改未通过"))
    reason = row.locator(".returned-reason")
    expect(reason).to_have_text(operator.t("退回原因：%(reason)s", reason=SAMPLE_NUMBER))
    _within_the_screen(operator, reason)
    operator.step("the station reads the change returned and why")

    # a recall's reason, as long, is quoted wrapped too; going back recalls nothing
    lot_code = _active_lot(live_server, demo_product(live_server, VILLAGE_A)["id"])
    officer.goto("/county/recalls")
    form = page.locator("main form").filter(has=page.get_by_role("button", name=officer.t("召回该批次")))
    form.get_by_label(officer.t("批次码")).fill(lot_code)
    form.get_by_label(officer.t("召回原因")).fill(SAMPLE_NUMBER)
    officer.submit_and_wait(form.get_by_role("button", name=officer.t("召回该批次")).click)
    # the lot's goods and station first (the code was typed), then the reason
    expect(quoted).to_have_count(2)
    expect(quoted.last).to_have_text(officer.t("召回原因：%(reason)s", reason=SAMPLE_NUMBER))
    _within_the_screen(officer, quoted.last)
    _within_the_screen(officer, page.locator(".confirm-step").get_by_role("link", name=officer.t("返回，不操作")))
    officer.step("a recall asked to confirm, the reason wrapped")
    officer.submit_and_wait(page.get_by_role("link", name=officer.t("返回，不操作")).click)
    assert _active_lot(live_server, demo_product(live_server, VILLAGE_A)["id"]) == lot_code  # nothing recalled

    # a new product waits for certification: the limit beside its return reason is read whole; it is returned
    operator.goto("/station/products/new")
    new = op.locator("main form").filter(has=op.locator("[name=name]"))
    new.locator("[name=name]").fill(HONEY)
    new.locator("[name=price]").fill("58")
    new.locator("[name=unit]").fill("瓶")
    new.locator("[name^=weight_]").first.fill("100")
    operator.submit_and_wait(new.locator("button[type=submit]").last.click)
    officer.goto("/county/approvals")
    card = page.locator("article.approval").filter(has=page.get_by_role("heading", name=HONEY))
    hint = card.locator("small.hint")
    expect(hint).to_have_text(officer.t("最多 %(max)s 个字", max=255))
    assert hint.evaluate(_LINES) == 1
    officer.step("a new product's return reason and its limit read whole")
    card.get_by_label(officer.t("退回原因")).fill("请补充产品照片")
    officer.submit_and_wait(card.get_by_role("button", name=officer.t("退回")).click)
    officer.submit_and_wait(page.locator(".confirm-step").get_by_role("button", name=officer.t("确认")).click)
    expect(card).to_have_count(0)
