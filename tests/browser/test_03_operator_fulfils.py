"""Journey 3: the station operator works a shipment from new to delivered; the consumer follows it."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.harness import DEMO
from tests.browser.journeys import (
    VILLAGE_A,
    confirm_if_asked,
    demo_product,
    income_of_order,
    order_facts,
    place_order_by_api,
    shipment_due_yuan,
    tap_height,
)


def test_operator_accepts_packs_ships_delivers_and_the_consumer_sees_each_status(open_page, live_server, viewport):
    product = demo_product(live_server, VILLAGE_A)  # station NC01, the demo operator's
    code = place_order_by_api(live_server, DEMO["consumer"], [product["id"]], payment_method="cod")
    shipment = order_facts(live_server, code)["shipments"][0]
    assert shipment["station"] == product["station_code"] and shipment["status"] == "new"
    tracking = f"SF{viewport.width}{code}"[:20]

    operator = open_page("operator")
    consumer = open_page("consumer")
    op, me = operator.page, consumer.page
    consumer.login(DEMO["consumer"])
    operator.login(DEMO["operator"])

    operator.goto("/station/")
    link = op.locator("main").get_by_role("link", name=shipment["code"], exact=True)
    expect(link.first).to_be_visible()
    for each in link.all():  # the queue's row and 今日自提's line: a thumb's target on a phone, not a 16 px word
        assert tap_height(each) >= 44, each
    operator.step("workspace")
    operator.submit_and_wait(lambda: link.first.click())
    expect(op.get_by_role("heading", level=1)).to_contain_text(shipment["code"])

    def act(button: str, *status_labels: str, fill: dict | None = None) -> None:
        for label, value in (fill or {}).items():
            op.get_by_label(operator.t(label)).fill(value)
        operator.submit_and_wait(
            lambda: op.locator("main").get_by_role("button", name=operator.t(button), exact=True).click()
        )
        confirm_if_asked(operator)  # irreversible steps ask first (shop/confirm.py)
        expect(op.get_by_role("heading", level=1)).to_contain_text(operator.rx(*status_labels))
        operator.step(button)

    def consumer_sees(status_label: str, *extra: str) -> None:
        consumer.goto(f"/orders/{code}")
        box = me.locator("section").filter(has=me.get_by_role("heading", name=re.compile(re.escape(shipment["code"]))))
        expect(box.get_by_role("heading")).to_contain_text(consumer.t(status_label))
        for text in extra:
            expect(box).to_contain_text(text)
        consumer.step(f"consumer sees {status_label}")

    consumer_sees("待接单")
    act("接单", "已接单")
    act("已打包", "已打包")
    act("发货", "已发货", fill={"运单号": tracking})
    # Back from the result: the confirmation page again, loaded by GET (Post/Redirect/Get, shop/confirm.py),
    # never the browser's "Confirm Form Resubmission"; confirming it again says the step is done, nothing twice
    back = op.go_back(wait_until="load")
    assert back is not None and back.request.method == "GET" and back.status == 200, back
    assert "/confirm/" in op.url, op.url
    expect(op.get_by_role("heading", level=1)).to_have_text(operator.t("请确认"))
    operator.step("back to the confirmation")
    # done already (stations.services.fulfilment.step_done_already): the shipment's page with its state, not a
    # refusal that reads as if the step had failed
    operator.submit_and_wait(lambda: op.locator("main form").get_by_role("button", name=re.compile(".")).first.click())
    done = operator.t("已是「%(status)s」，无需重复操作", status=operator.t("已发货"))
    expect(op.get_by_role("status").filter(has_text=done)).to_have_count(1)
    expect(op.get_by_role("heading", level=1)).to_contain_text(operator.rx("已发货"))
    refusal = operator.t("当前状态「%(status)s」不能发货", status=operator.t("已发货"))
    expect(op.get_by_text(refusal)).to_have_count(0)
    operator.step("confirmed again: done already")
    consumer_sees("已发货", tracking)
    # cash on delivery: the cash is taken in the hand-over step (#18)
    act(
        "收款并确认已送达",
        "已送达",
        "已交付",
        fill={"收到现金（元）": shipment_due_yuan(live_server, shipment["code"])},
    )
    consumer_sees("已送达")

    facts = order_facts(live_server, code)
    assert facts["shipments"][0]["status"] == "delivered"
    credit = income_of_order(live_server, code)
    assert credit["entries"] > 0 and credit["total_fen"] > 0, "delivery credited no household"
    assert credit["villages"] == {VILLAGE_A}
    live_server.notes.setdefault("delivered_orders", []).append(code)
