"""Journey 49 (#23), on a phone: a lot is recalled while one buyer's card order holding it is still unpaid
and another buyer's parcel of it is on its way. The unpaid order is canceled at once — the buyer's order
list flags it (因批次召回已取消), its page says why and that nothing is charged, and offers no pay button —;
the other buyer's list flags the order holding the recalled lot (含召回批次). The operator's desk keeps a
tile for the parcel in transit (送达后退款), whose list names the shipment; once delivered the tile says it
is to refund now, and the lot's page refunds it in one step, after which the desk has nothing of it.
Every tile and link on the way is a thumb-sized target."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from shop.timeutil import local_date, now_utc
from tests.browser.harness import DEMO, VIEWPORTS
from tests.browser.journeys import (
    VILLAGE_A,
    api,
    api_token,
    demo_product,
    new_account,
    order_facts,
    place_order_by_api,
)

GIFT_BOX = "三江腌菜礼盒2斤"  # at NC01, the demo operator's station


def _thumb_sized(link) -> None:
    box = link.bounding_box()
    assert box is not None and box["height"] >= 40, (link.inner_text(), box)


def _operator_api(live, method: str, path: str, body: dict | None = None) -> dict:
    status, answer = api(live, method, path, body, token=api_token(live, DEMO["operator"]))
    assert status in (200, 201), (path, status, answer)
    return answer


@pytest.mark.parametrize("viewport", [VIEWPORTS[0]], ids=[VIEWPORTS[0].name], indirect=True)
def test_an_unpaid_order_is_canceled_and_the_parcel_in_transit_stays_on_the_desk(open_page, live_server, viewport):
    product = demo_product(live_server, VILLAGE_A, GIFT_BOX)
    today = local_date(now_utc())
    # a lot that expires first — today: before any other lot journeys leave, which tomorrow's would tie with
    # (the older first) — so that the next checkouts take it (station's JSON API)
    lot = _operator_api(
        live_server,
        "POST",
        f"/products/{product['id']}/lots",
        {"quantity": 4, "harvest_date": today.isoformat(), "best_before_date": today.isoformat()},
    )
    lot_code = lot["code"]

    # one buyer has not paid their card order yet; another's parcel (cash on delivery) is on its way
    unpaid_email = new_account(live_server, "recall-unpaid", viewport)
    unpaid_code = place_order_by_api(live_server, unpaid_email, [product["id"]], payment_method="card")
    moving_email = new_account(live_server, "recall-moving", viewport)
    moving_code = place_order_by_api(live_server, moving_email, [product["id"]])
    [shipment] = order_facts(live_server, moving_code)["shipments"]
    for step in ({"action": "accept"}, {"action": "pack"}, {"action": "ship", "tracking_number": "SF0000000049"}):
        _operator_api(live_server, "POST", f"/shipments/{shipment['code']}/transition", step)

    recalled = _operator_api(live_server, "POST", f"/lots/{lot_code}/recall", {"reason": "抽检二氧化硫超标"})
    assert recalled["status"] == "recalled"
    assert order_facts(live_server, unpaid_code)["status"] == "canceled"

    # the unpaid buyer: the list flags the order, its page says why and nothing is to pay
    buyer = open_page("unpaid buyer")
    me = buyer.page
    buyer.login(unpaid_email)
    buyer.goto("/orders")
    row = me.locator("li.order-row").filter(has_text=unpaid_code)
    expect(row.locator(".badge-recall")).to_have_text(buyer.t("因批次召回已取消"))
    buyer.step("the order list flags the canceled order")
    to_order = row.get_by_role("link", name=unpaid_code)
    _thumb_sized(to_order)
    buyer.submit_and_wait(to_order.click)
    expect(me.locator(".recall-canceled")).to_contain_text(
        buyer.t(
            "订单中有商品所属批次已召回。订单尚未付款，已为您取消，不会扣款，预留的商品和名额已释放；如仍需要，欢迎重新下单。"
        )
    )
    expect(me.locator("#start-payment")).to_have_count(0)
    expect(me.locator("#payment-form")).to_have_count(0)
    expect(me.locator("main")).to_contain_text(buyer.t("商品批次已召回，未付款的订单已取消，不会扣款"))
    buyer.step("the order page: canceled, nothing charged")

    # the buyer whose parcel is on its way: the list flags the order holding the recalled lot
    other = open_page("buyer in transit")
    other.login(moving_email)
    other.goto("/orders?tab=to_receive")
    row = other.page.locator("li.order-row").filter(has_text=moving_code)
    expect(row.locator(".badge-recall")).to_have_text(other.t("含召回批次"))
    other.step("the order list flags the order holding the recalled lot")

    # the operator's desk: the parcel in transit has its tile, its list names the shipment
    operator = open_page("operator")
    op = operator.page
    operator.login(DEMO["operator"])
    operator.goto("/station/")
    transit = op.locator("a.recall-tile").filter(has_text=operator.t("召回商品运输中，送达后退款"))
    expect(transit).to_have_count(1)
    _thumb_sized(transit)
    operator.step("the desk: a recalled parcel in transit")
    operator.submit_and_wait(transit.click)
    expect(op.get_by_role("heading", level=1)).to_have_text(operator.t("召回待处理"))
    todo = op.locator("table.recall-todo tbody tr").filter(has_text=shipment["code"])
    expect(todo).to_contain_text(operator.t("运输中：送达后办理退款"))
    _thumb_sized(todo.get_by_role("link", name=lot_code))
    operator.step("the recall list: the shipment in transit")

    # delivered (cash taken): now it is to refund, and the lot's page refunds it in one step
    _deliver(live_server, shipment["code"])
    operator.goto("/station/")
    to_refund = op.locator("a.recall-tile").filter(has_text=operator.t("召回商品待退款"))
    expect(to_refund).to_have_count(1)
    expect(op.locator("a.recall-tile").filter(has_text=operator.t("召回商品运输中，送达后退款"))).to_have_count(0)
    operator.step("delivered: to refund now")
    operator.submit_and_wait(to_refund.click)
    todo = op.locator("table.recall-todo tbody tr").filter(has_text=shipment["code"])
    expect(todo).to_contain_text(operator.t("已交付：可立即退款"))
    operator.submit_and_wait(todo.get_by_role("link", name=lot_code).click)
    expect(op.locator(".recall-pending")).to_contain_text(operator.tn("%(num)s 个订单商品可立即退款。", 1))
    operator.step("the lot's page: one line to refund")
    operator.submit_and_wait(op.get_by_role("button", name=operator.t("一键批准全部退款")).click)
    operator.submit_and_wait(op.locator("main form").get_by_role("button", name=operator.t("确认")).click)
    expect(op.locator(".recall-pending")).to_have_count(0)
    operator.goto("/station/recalls")
    expect(op.locator("table.recall-todo tbody tr").filter(has_text=shipment["code"])).to_have_count(0)
    operator.step("refunded: nothing of it left to do")


def _deliver(live, shipment_code: str) -> None:
    """The parcel reaches its buyer: the operator delivers it taking the cash due (JSON API)."""
    import sqlalchemy as sa

    from orders.models import Shipment
    from orders.services.amounts import shipment_due_fen

    with live.app_context() as db:
        due = shipment_due_fen(db.session.scalar(sa.select(Shipment).where(Shipment.code == shipment_code)))
    _operator_api(
        live, "POST", f"/shipments/{shipment_code}/transition", {"action": "deliver", "cash_received_fen": due}
    )
