"""Journey 50: a buyer asks for 退货退款 on a phone, and the station sees the choice and decides (both on
phones, in Chinese and in English: each language's run opens its pages at the phone's size).

A cash-on-delivery order of two bags is delivered. On the order page the buyer opens 申请退款 and finds
退款类型, two thumb-sized choices, 仅退款 (keep the goods) and 退货退款 (send them back); 提交 without one is
held by the form. The buyer chooses 退货退款: the line then says so, asks them to send the goods back to the
station, and that the station's staff will bring the cash back to their address (a cash-on-delivery buyer
is at home: the station's page used to tell the operator to hand it back "from the counter's till").

The operator's desk says a refund waits and that it is a 退货退款; the refund page shows what the buyer asked
for and how the cash goes back, and leaves the goods' outcome to the operator (none checked: the station
says what came back). The operator records both bags back in stock; the confirmation and the answer say to
take the cash to the buyer's address. The buyer reads the outcome and the way the money comes back."""

from __future__ import annotations

import sqlalchemy as sa
from playwright.sync_api import expect

from tests.browser.harness import DEMO, VIEWPORTS
from tests.browser.journeys import confirm_if_asked, delivered_to_new_account, tap_height, waiting_refund_requests, yuan

PHONE = VIEWPORTS[0]
RETURN = "退货退款（把货品退回站点）"
COURIER_BUYER = "站点工作人员会把现金送到您的收货地址退还给您。"
COURIER_STATION = "货到付款：顾客不在柜台，请派人把已收的现金送到顾客的收货地址退还：退还时在工作台点「退还现金」，从本站现金中支出，记入现金账。"


def _request_of(live, code: str) -> tuple[str, str | None, str | None, int | None, int | None]:
    """(status, the buyer's kind, the station's goods, units restocked, the money sent back) of the order's one
    refund request."""
    from orders.models import Order, Refund, RefundRequest

    with live.app_context() as db:
        req = db.session.scalars(
            sa.select(RefundRequest).join(Order, Order.id == RefundRequest.order_id).where(Order.code == code)
        ).one()
        refund = db.session.get(Refund, req.refund_id) if req.refund_id else None
        return (
            str(req.status),
            req.kind,
            req.goods,
            req.restocked_quantity,
            refund.amount_fen if refund is not None else None,
        )


def test_a_buyer_asks_return_and_refund_and_the_station_sees_it_and_decides(open_page, live_server, viewport):
    product, email, code = delivered_to_new_account(live_server, "return-refund", PHONE, quantity=2)

    buyer = open_page("buyer", size=PHONE)
    bp = buyer.page
    main = bp.locator("main")
    buyer.login(email)
    buyer.goto(f"/orders/{code}")
    main.get_by_text(buyer.t("申请退款"), exact=True).click()
    kinds = main.locator("fieldset.refund-kind")
    expect(kinds.locator("legend")).to_have_text(buyer.t("退款类型"))
    for label in ("仅退款（货品留下）", RETURN):
        choice = kinds.get_by_label(buyer.t(label))
        assert tap_height(choice.locator("xpath=..")) >= 44, label  # its label: a row a thumb can hit
    main.get_by_label(buyer.t("退款原因")).fill("两袋都胀袋了，原样退回")
    submit = main.get_by_role("button", name=buyer.t("提交"), exact=True)
    submit.click()  # no choice yet: the form holds it, nothing is sent
    assert kinds.get_by_label(buyer.t(RETURN)).evaluate("e => e.validity.valueMissing")
    buyer.step("the form asks which kind of refund")
    kinds.get_by_label(buyer.t(RETURN)).check()
    buyer.submit_and_wait(submit.click)
    expect(bp.locator("body")).to_contain_text(buyer.t("退款申请已提交"))
    asked = main.locator(".refund-request")
    expect(asked.locator(".refund-kind")).to_contain_text(buyer.t("退款类型"))
    expect(asked).to_contain_text(buyer.t(RETURN))
    expect(asked).to_contain_text(buyer.t(COURIER_BUYER))
    expect(asked.locator(".refund-return")).to_have_count(1)  # send the goods back to the station
    buyer.step("return and refund asked")
    assert _request_of(live_server, code)[:2] == ("requested", "return")

    # the desk says a refund waits and that its goods are coming back
    operator = open_page("operator", size=PHONE)
    op = operator.page
    desk = op.locator("main")
    operator.login(DEMO["operator"])
    operator.goto("/station/")
    tile = desk.get_by_role("link", name=operator.t("退款申请待处理"))
    returns = waiting_refund_requests(live_server, product["station_code"], kind="return")
    expect(tile).to_contain_text(operator.tn("其中 %(num)s 件退货退款", returns))
    assert tap_height(tile) >= 40
    operator.step("the desk: a return and refund waits")
    operator.submit_and_wait(tile.click)
    card = desk.locator(".refund-request").filter(has_text=code)
    expect(card).to_have_count(1)
    expect(card.locator(".refund-kind")).to_contain_text(operator.t(RETURN))
    expect(card.locator(".refund-money")).to_have_text(operator.t(COURIER_STATION))
    expect(card.locator("input[name=goods]:checked")).to_have_count(0)  # the station says what came back
    operator.step("the station reads what the buyer asked for")

    card.get_by_label(operator.t("货品已退回、可再售")).check()
    card.locator("input[name=quantity]").fill("2")
    operator.submit_and_wait(lambda: card.get_by_role("button", name=operator.t("同意退款")).click())
    expect(desk).to_contain_text(operator.t(COURIER_STATION))
    expect(desk).to_contain_text(operator.t("顾客申请：%(kind)s", kind=operator.t(RETURN)))
    expect(desk).not_to_contain_text(operator.t("注意：记录的货品去向与顾客的申请不同，请确认这是实际情况。"))
    assert confirm_if_asked(operator)
    status, kind, goods, restocked, refunded = _request_of(live_server, code)
    assert (status, kind, goods, restocked) == ("approved", "return", "restocked", 2)
    assert refunded is not None and refunded > 0
    said = operator.t(
        "已同意退款：请派人把现金 %(amount)s 送到顾客的收货地址退还，退还时点「退还现金」记入现金账",
        amount=yuan(refunded),
    )
    expect(op.locator("body")).to_contain_text(said)
    expect(op.locator("body")).to_contain_text(operator.tn("%(num)s %(unit)s 已退回库存", 2, unit="袋"))
    operator.step("approved: two bags back, the cash to take to the buyer")

    # the buyer reads the outcome and how the cash comes back
    buyer.goto(f"/orders/{code}")
    line = main.locator(".refund-request")
    expect(line).to_contain_text(buyer.t("已同意"))
    expect(line).to_contain_text(buyer.t("退货退款 · 货品已退回"))
    expect(line.locator(".refund-money")).to_contain_text(buyer.t(COURIER_BUYER))
    expect(line.locator(".refund-money")).to_contain_text(yuan(refunded))
    buyer.step("the buyer reads the outcome")
