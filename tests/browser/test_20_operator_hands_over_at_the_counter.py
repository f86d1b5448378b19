"""Journey 20 (product journey 2 in docs/journeys.md, at the counter): a buyer comes to the station for a
pick-up order paid at the station. The operator shelves it, types a wrong pick-up code (refused, the attempt
counted, nothing handed over), then the right one with the cash, and the whole order is handed over; reopening
the shipment afterwards shows nothing left to hand over, and the cash was taken once."""

from __future__ import annotations

import sqlalchemy as sa
from playwright.sync_api import expect

from tests.browser.harness import DEMO
from tests.browser.journeys import (
    VILLAGE_A,
    confirm_if_asked,
    demo_product,
    order_facts,
    pickup_order_by_api,
    shipment_due_yuan,
)


def test_operator_refuses_a_wrong_pick_up_code_then_hands_over_against_the_right_one(open_page, live_server):
    from orders.models import CashEntry, Shipment

    product = demo_product(live_server, VILLAGE_A)  # NC01, the demo operator's station
    order = pickup_order_by_api(live_server, product)
    code = order["shipments"][0]["pickup_code"]
    shipment = order_facts(live_server, order["id"])["shipments"][0]["code"]
    wrong = "0" * len(code) if code != "0" * len(code) else "1" * len(code)

    operator = open_page("operator")
    page = operator.page
    main = page.locator("main")
    operator.login(DEMO["operator"])
    operator.goto(f"/station/shipments/{shipment}")
    for button in ("接单", "已打包，待自提", "放上自提架"):  # packing at the chosen station shelves it at once
        target = main.get_by_role("button", name=operator.t(button), exact=True)
        if button == "放上自提架" and not target.count():
            continue
        operator.submit_and_wait(target.click)
        confirm_if_asked(operator)  # irreversible steps ask first (shop/confirm.py)
        operator.step(button)
    expect(page.get_by_role("heading", level=1)).to_contain_text(operator.t("待自提"))

    # the whole order's table names each shipment on one line (the code broke at its hyphen on a phone)
    cell = main.locator(".whole-order td.shipment-code").filter(has_text=shipment).first
    lines = cell.evaluate(
        "e => { const r = document.createRange(); r.selectNodeContents(e); return r.getClientRects().length; }"
    )
    assert lines == 1, (shipment, lines)
    hand_over = main.locator("form").filter(has=page.get_by_label(operator.t("顾客出示的取货码")))
    cash = hand_over.get_by_label(operator.t_before("收到现金（元），应收 %(amount)s"))
    hand_over.get_by_label(operator.t("顾客出示的取货码")).fill(wrong)
    cash.fill(shipment_due_yuan(live_server, shipment))
    with operator.problems.allow(422, r"/action$"):  # the refused step answers 422 with the page again
        operator.submit_and_wait(lambda: hand_over.get_by_role("button").click())
    confirm_if_asked(operator)
    expect(main).to_contain_text(
        operator.tn("取货码错误：请顾客在「我的订单」打开这笔订单核对取货码（还可尝试 %(num)s 次）", 4)
    )
    operator.step("wrong pick-up code refused")
    assert order_facts(live_server, order["id"])["shipments"][0]["status"] == "ready_for_pickup"
    # what was typed is still there: the code to correct, the cash counted once
    expect(hand_over.get_by_label(operator.t("顾客出示的取货码"))).to_have_value(wrong)
    expect(cash).to_have_value(shipment_due_yuan(live_server, shipment))

    hand_over.get_by_label(operator.t("顾客出示的取货码")).fill(code)
    operator.step("right code typed over the wrong one, the cash kept")
    operator.submit_and_wait(lambda: hand_over.get_by_role("button").click())
    confirm_if_asked(operator)
    expect(page.get_by_role("heading", level=1)).to_contain_text(operator.t("已交付"))
    operator.step("handed over")
    assert order_facts(live_server, order["id"])["shipments"][0]["status"] == "delivered"

    # the back button now meets the confirmation step, a POST's answer, which the browser will not send
    # again unasked; the operator reopens the shipment: nothing is left to hand over, nothing changed
    operator.goto(f"/station/shipments/{shipment}")
    operator.step("shipment reopened")
    expect(main.locator("form").filter(has=page.get_by_label(operator.t("顾客出示的取货码")))).to_have_count(0)
    facts = order_facts(live_server, order["id"])
    assert facts["shipments"][0]["status"] == "delivered"
    with live_server.app_context() as db:  # the cash was taken once
        shipment_id = db.session.scalar(sa.select(Shipment.id).where(Shipment.code == shipment))
        taken = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(CashEntry)
            .where(CashEntry.shipment_id == shipment_id, CashEntry.kind.in_(("station_cash", "cod")))
        )
    assert taken == 1, f"{taken} cash entries for one hand-over"
