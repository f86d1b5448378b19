"""Journey 47: the station's after-sales and quotes, walked on a phone (in Chinese; BROWSER_ALL_VARIANTS=1 in English too).

退款售后: a buyer asks a refund of a delivered line of three jars; the operator learns of it on the desk
(工作台's 退款申请待处理, a 40 px tile: the desk said nothing), reads it, finds 拒绝 asks for a reason the
buyer will read (a placeholder 备注 before), and approves it with two jars back into stock (退货入库).
Back, then 确认 again, approves nothing twice: the page says it was approved already (a red 409 page
before, which read as if the approval had failed). The buyer's order page shows
the outcome.

询价: an organisation's buyer asks the station for 20 jars by a date; the operator, from the desk's
单位询价待报价, answers a price of 0 — refused at once with the form as typed (it was confirmed first, then
refused with an empty form) —, then a real price; the page's way back leads to 单位询价 (it led to the
organisation's page, a 404 to the operator). The buyer, with no draft yet, accepts the answer into a new
purchase (新建采购单并采纳), which holds the quoted price and nothing else."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from shop.timeutil import local_date, now_utc
from tests.browser.harness import DEMO, VIEWPORTS
from tests.browser.journeys import (
    PICKLES,
    VILLAGE_A,
    confirm_if_asked,
    delivered_to_new_account,
    demo_product,
    tap_height,
    waiting_refund_requests,
    yuan,
)

ORG_PASSWORD = "password123"


def _stock_on_hand(live, product_id: int) -> int:
    from stock.models import StockRecord

    with live.app_context() as db:
        return db.session.scalar(sa.select(StockRecord.on_hand).where(StockRecord.product_id == product_id))


def _refunds_of(live, code: str) -> list[tuple[str, int | None]]:
    from orders.models import Order, RefundRequest

    with live.app_context() as db:
        return [
            (str(status), restocked)
            for status, restocked in db.session.execute(
                sa.select(RefundRequest.status, RefundRequest.restocked_quantity)
                .join(Order, Order.id == RefundRequest.order_id)
                .where(Order.code == code)
            )
        ]


@pytest.mark.parametrize("viewport", [VIEWPORTS[0]], ids=[VIEWPORTS[0].name], indirect=True)
def test_operator_decides_a_refund_on_a_phone(open_page, live_server, viewport):
    product, email, code = delivered_to_new_account(live_server, "aftersales", viewport, quantity=3)

    buyer = open_page("buyer")
    bp = buyer.page
    buyer.login(email)
    buyer.goto(f"/orders/{code}")
    bp.locator("main").get_by_text(buyer.t("申请退款"), exact=True).click()
    bp.locator("main").get_by_label(buyer.t("退款原因")).fill("三罐里两罐破了，已寄回站点")
    bp.locator("main").get_by_label(buyer.t("退货退款（把货品退回站点）")).check()
    buyer.submit_and_wait(lambda: bp.locator("main").get_by_role("button", name=buyer.t("提交"), exact=True).click())
    expect(bp.locator("body")).to_contain_text(buyer.t("退款申请已提交"))
    buyer.step("refund asked")

    # the operator's desk says a buyer waits, and leads there
    operator = open_page("operator")
    op = operator.page
    main = op.locator("main")
    operator.login(DEMO["operator"])
    operator.goto("/station/")
    tile = main.get_by_role("link", name=operator.t("退款申请待处理"))
    # the station's waiting requests (other journeys on the same server may have left some too)
    expect(tile).to_contain_text(str(waiting_refund_requests(live_server, product["station_code"])))
    assert tap_height(tile) >= 40
    operator.step("the desk says a refund request waits")
    operator.submit_and_wait(tile.click)
    card = main.locator(".refund-request").filter(has_text=code)
    expect(card).to_have_count(1)
    expect(card).to_contain_text("三罐里两罐破了")
    # 拒绝 asks why, in words the operator understands: the buyer reads it
    reject_reason = card.get_by_label(operator.t("拒绝理由（顾客可见）"))
    expect(reject_reason).to_have_attribute("required", "")
    assert tap_height(reject_reason) >= 40
    # more jars back than were bought: the field says no before anything is sent
    card.get_by_label(operator.t("货品已退回、可再售")).check()
    quantity = card.locator("input[name=quantity]")
    quantity.fill("4")
    assert quantity.evaluate("e => e.validity.rangeOverflow")
    quantity.fill("2")
    card.get_by_label(operator.t("处理说明（顾客可见，可不填）")).fill("两罐已退回入库，退款原路退回")
    operator.step("the decision typed")
    before = _stock_on_hand(live_server, product["id"])
    operator.submit_and_wait(lambda: card.get_by_role("button", name=operator.t("同意退款")).click())
    expect(main).to_contain_text(operator.tn("%(num)s %(unit)s 退回库存，回到售出时的批次", 2, unit="袋"))
    assert confirm_if_asked(operator)
    expect(op.locator("body")).to_contain_text(operator.tn("%(num)s %(unit)s 已退回库存", 2, unit="袋"))
    operator.step("approved")
    assert _stock_on_hand(live_server, product["id"]) == before + 2
    expect(main.get_by_role("link", name=operator.t("退款申请待处理"))).to_have_count(0)

    # Back to the confirmation, 确认 again: decided already, said as an answer (not a red 409), nothing twice
    op.go_back()
    operator.check_page()
    assert confirm_if_asked(operator)
    expect(op.locator(".alert-info")).to_have_text(operator.t("这个退款申请已经处理过了：已同意退款"))
    operator.step("confirmed again after Back")
    assert _refunds_of(live_server, code) == [("approved", 2)]
    assert _stock_on_hand(live_server, product["id"]) == before + 2

    # the buyer reads the outcome under the line
    buyer.goto(f"/orders/{code}")
    line = bp.locator("main .refund-request")
    expect(line).to_contain_text(buyer.t("已同意"))
    expect(line).to_contain_text("两罐已退回入库")
    buyer.step("the buyer reads the outcome")


def _organisation(live) -> dict:
    """A verified organisation with a buyer (the county office verified it before)."""
    from institutions.models import Organisation
    from shop.db import commit
    from tests.factories import make_user
    from tests.institutions.factories import add_member, make_organisation

    with live.app_context() as db:
        tag = db.session.scalar(sa.select(sa.func.count(Organisation.id))) + 1
        buyer = make_user(name="采购小张", email=f"quote-buyer-{tag}@test.cn")
        organisation = make_organisation(name=f"莲塘第{tag}中学")
        add_member(organisation, buyer, role="buyer")
        facts = {"id": organisation.id, "buyer": buyer.email}
        commit()
    return facts


@pytest.mark.parametrize("viewport", [VIEWPORTS[0]], ids=[VIEWPORTS[0].name], indirect=True)
def test_operator_answers_a_quote_request_on_a_phone(open_page, live_server, viewport):
    product = demo_product(live_server, VILLAGE_A)
    org = _organisation(live_server)
    today = local_date(now_utc())

    buyer = open_page("buyer")
    bp = buyer.page
    buyer.login(org["buyer"], ORG_PASSWORD)
    buyer.goto(f"/organisations/{org['id']}/quote-requests")
    form = bp.locator("main form").filter(has=bp.get_by_role("button", name=buyer.t("发送询价")))
    form.get_by_label(buyer.t("商品"), exact=True).select_option(str(product["id"]))
    form.get_by_label(buyer.t("数量"), exact=True).fill("20")
    form.get_by_label(buyer.t("希望送达日期")).fill((today + timedelta(days=8)).isoformat())
    buyer.submit_and_wait(lambda: form.get_by_role("button", name=buyer.t("发送询价")).click())
    expect(bp.locator("body")).to_contain_text(buyer.t("询价已发给站点"))
    quote_path = bp.url.split("127.0.0.1", 1)[1].split("/", 1)[1]
    buyer.step("quote asked")

    operator = open_page("operator")
    op = operator.page
    main = op.locator("main")
    operator.login(DEMO["operator"])
    operator.goto("/station/")
    tile = main.get_by_role("link", name=operator.t("单位询价待报价"))
    assert tap_height(tile) >= 40
    operator.submit_and_wait(tile.click)
    opener = main.locator(f"a[href='/{quote_path}']")
    assert tap_height(opener) >= 40  # 询价 N: a thumb's target (a 20 px word in the row before)
    operator.step("单位询价")
    operator.submit_and_wait(opener.click)
    answer = main.locator("form").filter(has=op.get_by_role("button", name=operator.t("提交报价")))
    valid_until = (today + timedelta(days=5)).isoformat()
    answer.get_by_label(operator.t("可供数量")).fill("20")
    answer.get_by_label(operator.t("单价（元）")).fill("0")
    answer.get_by_label(operator.t("交货周期（天）")).fill("3")
    answer.get_by_label(operator.t("报价有效至")).fill(valid_until)
    answer.get_by_label(operator.t("说明"), exact=True).fill("新腌的一批")
    with operator.problems.allow(422, r"/quote-requests/\d+/answer$"):
        operator.submit_and_wait(lambda: answer.get_by_role("button", name=operator.t("提交报价")).click())
    expect(op.get_by_role("heading", level=1)).not_to_contain_text(operator.t("请确认"))
    expect(main).to_contain_text(operator.t("单价须在 0.01 元到 1000 万元之间"))
    expect(answer.get_by_label(operator.t("说明"), exact=True)).to_have_value("新腌的一批")
    expect(answer.get_by_label(operator.t("报价有效至"))).to_have_value(valid_until)
    operator.step("a price of 0 refused, the form as typed")
    answer.get_by_label(operator.t("单价（元）")).fill("4.80")
    operator.submit_and_wait(lambda: answer.get_by_role("button", name=operator.t("提交报价")).click())
    assert confirm_if_asked(operator)
    expect(op.locator("body")).to_contain_text(operator.t("已报价"))
    expect(main.locator("#quote-price")).to_have_text(yuan(480))
    operator.step("answered")
    back = main.get_by_role("link", name=operator.t("返回询价记录"))
    operator.submit_and_wait(back.click)  # its own list, not the organisation's page (a 404 to it)
    expect(op.get_by_role("heading", level=1)).to_have_text(operator.t("单位询价"))

    # the buyer has no draft: 新建采购单并采纳 opens the purchase form with the quote, which needs no other
    # product, and the new draft holds the quoted price
    buyer.goto(f"/{quote_path}")
    buyer.submit_and_wait(lambda: bp.get_by_role("link", name=buyer.t("新建采购单并采纳")).click())
    form = bp.locator("main form")
    expect(form).to_contain_text(buyer.t_before("采纳报价 %(n)s"))
    form.get_by_label(buyer.t("配送方式")).select_option(label=buyer.t("到服务站自提"))
    form.get_by_label(buyer.t("自提站点")).select_option(value=str(_station_id(live_server, "NC01")))
    form.get_by_label(buyer.t("希望送达日期")).fill((today + timedelta(days=8)).isoformat())
    buyer.step("a new purchase of the quote")
    buyer.submit_and_wait(lambda: form.get_by_role("button", name=buyer.t("保存草稿")).last.click())
    expect(bp.locator("main")).to_contain_text(yuan(480))
    expect(bp.locator("main")).to_contain_text(PICKLES)
    buyer.step("accepted into the purchase")


def _station_id(live, code: str) -> int:
    from stock.models import Station

    with live.app_context() as db:
        return db.session.scalar(sa.select(Station.id).where(Station.code == code))
