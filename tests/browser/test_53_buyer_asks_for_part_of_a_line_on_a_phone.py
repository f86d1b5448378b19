"""Journey 53: a buyer who received 5 bags and found 2 spoiled asks to refund 2 of them on a phone, and the
station refunds those 2 (both on phones, in Chinese and in English).

A cash-on-delivery order of five bags is delivered. On the order page the buyer opens 申请退款: the form asks
how many (退款数量, a number field that starts at all five, with the unit price beside it). A 0 is held by
the form; the buyer changes it to 2, chooses 仅退款 and sends it. The request says 2/5 袋 and its amount.

The station's refund page says the buyer asks for 2 of the 5 bags and that amount; the confirmation says it
again with how the cash goes back, and the answer says to take exactly that amount to the buyer's address.
The buyer's line then says 已退款 2/5 (partly refunded) and offers to ask again, for at most the 3 bags left."""

from __future__ import annotations

import sqlalchemy as sa
from playwright.sync_api import expect

from tests.browser.harness import DEMO, VIEWPORTS
from tests.browser.journeys import confirm_if_asked, delivered_to_new_account, yuan

PHONE = VIEWPORTS[0]
REFUND_ONLY = "仅退款（货品留下）"


def _line_of(live, code: str) -> tuple[int, int, str, int]:
    """(refunded units, quantity, status, unit price) of the order's one line."""
    from orders.models import Order, OrderLine

    with live.app_context() as db:
        line = db.session.scalars(
            sa.select(OrderLine).join(Order, Order.id == OrderLine.order_id).where(Order.code == code)
        ).one()
        return line.refunded_quantity, line.quantity, str(line.status), line.unit_price_fen


def _refunds_of(live, code: str) -> list[int]:
    from orders.models import Order, Refund, RefundRequest

    with live.app_context() as db:
        return list(
            db.session.scalars(
                sa.select(Refund.amount_fen)
                .join(RefundRequest, RefundRequest.refund_id == Refund.id)
                .join(Order, Order.id == RefundRequest.order_id)
                .where(Order.code == code)
            )
        )


def test_a_buyer_asks_for_two_of_five_bags_and_the_station_refunds_those(open_page, live_server, viewport):
    # five bags of NC01's (the demo operator's station), cash on delivery, delivered
    _product, email, code = delivered_to_new_account(live_server, "part-refund", PHONE, quantity=5)
    _r, _q, _s, price = _line_of(live_server, code)

    buyer = open_page("buyer", size=PHONE)
    bp = buyer.page
    main = bp.locator("main")
    buyer.login(email)
    buyer.goto(f"/orders/{code}")
    main.get_by_text(buyer.t("申请退款"), exact=True).click()
    units = main.locator("input[name=quantity]")
    expect(units).to_have_value("5")  # all of it unless the buyer says otherwise
    label = buyer.t("退款数量（1–%(max)s %(unit)s，单价 %(price)s）", max=5, unit="袋", price=yuan(price))
    expect(main.get_by_label(label)).to_have_count(1)
    main.locator("fieldset.refund-kind").get_by_label(buyer.t(REFUND_ONLY)).check()
    main.get_by_label(buyer.t("退款原因")).fill("两袋胀袋了，其余三袋没问题")
    submit = main.get_by_role("button", name=buyer.t("提交"), exact=True)
    units.fill("0")
    submit.click()  # 0 bags: the form holds it, nothing is sent
    assert units.evaluate("e => e.validity.rangeUnderflow")
    buyer.step("the form asks how many, and holds 0")
    units.fill("2")
    buyer.submit_and_wait(submit.click)
    expect(bp.locator("body")).to_contain_text(buyer.t("退款申请已提交"))
    asked = main.locator(".refund-request .refund-units")
    expect(asked).to_contain_text(
        buyer.t("%(num)s/%(total)s %(unit)s · %(amount)s", num=2, total=5, unit="袋", amount=yuan(price * 2))
    )
    buyer.step("two of five bags asked for")

    operator = open_page("operator", size=PHONE)
    op = operator.page
    desk = op.locator("main")
    operator.login(DEMO["operator"])
    operator.goto("/refund-requests")
    card = desk.locator(".refund-request").filter(has_text=code)
    expect(card.locator(".refund-units")).to_contain_text(
        operator.t("申请退 %(num)s/%(total)s %(unit)s", num=2, total=5, unit="袋")
    )
    expect(card).to_contain_text(yuan(price * 2))
    operator.step("the station reads: 2 of 5 bags")
    card.get_by_label(operator.t("货品未退回（仅退款）")).check()
    operator.submit_and_wait(lambda: card.get_by_role("button", name=operator.t("同意退款")).click())
    expect(desk).to_contain_text(
        operator.t("退 %(num)s/%(total)s %(unit)s，退款 %(amount)s", num=2, total=5, unit="袋", amount=yuan(price * 2))
    )
    assert confirm_if_asked(operator)
    said = operator.t(
        "已同意退款：请派人把现金 %(amount)s 送到顾客的收货地址退还，退还时点「退还现金」记入现金账",
        amount=yuan(price * 2),
    )
    expect(op.locator("body")).to_contain_text(said)
    operator.step("approved: the cash of two bags to take back")
    assert _refunds_of(live_server, code) == [price * 2]
    assert _line_of(live_server, code)[:3] == (2, 5, "open")

    buyer.goto(f"/orders/{code}")
    expect(main.locator(".line-refunded")).to_have_text(buyer.t("已退款 %(num)s/%(total)s", num=2, total=5))
    main.get_by_text(buyer.t("再次申请退款"), exact=True).click()
    expect(main.locator("input[name=quantity]")).to_have_value("3")  # at most the three bags left
    expect(main.locator("input[name=quantity]")).to_have_attribute("max", "3")
    buyer.step("the line says 2/5 refunded and offers the rest")
