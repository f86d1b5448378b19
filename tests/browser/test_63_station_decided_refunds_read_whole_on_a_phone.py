"""Journey 63: the station operator reads its 退款申请's 最近处理 on a phone. On a 390 px screen the table's
seven columns (订单, 商品, 金额, 顾客申请, 结果, 货品去向, 处理时间) squeezed a product's name to two or three
characters a line (三江 / 腌菜 / 500 / 克), and the decision's note with it, while the rest of the table had
to be scrolled sideways in its frame. Now each decided request is a card, as the shipment page's lines
are: the order's code and the amount, the product's name whole on a line of its own, then each field with
its name; nothing wider than the screen."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from tests.browser.harness import DEMO, VIEWPORTS
from tests.browser.journeys import PICKLES, api, api_token, delivered_to_new_account

PHONE = VIEWPORTS[0]
NOTE = "两袋已退回入库，退款原路退回"

# how many lines the first `n` characters of an element's text take (a text broken over two lines has two
# boxes); the product's name is the start of its cell
LINES_OF_START = """(e, n) => {
  const node = e.firstChild; const r = document.createRange();
  r.setStart(node, 0); r.setEnd(node, n);
  return new Set(Array.from(r.getClientRects(), b => Math.round(b.top))).size;
}"""


def _line_id(live, code: str) -> int:
    from orders.models import Order, OrderLine

    with live.app_context() as db:
        return db.session.scalars(
            sa.select(OrderLine.id).join(Order, Order.id == OrderLine.order_id).where(Order.code == code)
        ).one()


def _decided_request(live, viewport) -> int:
    """A buyer's request for 2 of 3 delivered bags of 三江腌菜 (NC01), approved by the demo operator with the
    goods back in stock and a note, all through the API; its id."""
    _product, email, code = delivered_to_new_account(live, "decided-card", viewport, quantity=3)
    status, asked = api(
        live,
        "POST",
        f"/orders/{code}/lines/{_line_id(live, code)}/refund-request",
        {"kind": "return", "reason": "两袋胀袋了，已寄回站点", "quantity": 2},
        token=api_token(live, email),
    )
    assert status == 201, asked
    status, decided = api(
        live,
        "POST",
        f"/stations/refund-requests/{asked['id']}/decision",
        {"decision": "approve", "goods": "restocked", "quantity": 2, "note": NOTE},
        token=api_token(live, DEMO["operator"]),
    )
    assert status == 200, decided
    return asked["id"]


@pytest.mark.parametrize("viewport", [PHONE], ids=[PHONE.name], indirect=True)
def test_a_decided_refund_reads_as_one_card_on_a_phone(open_page, live_server, viewport):
    request_id = _decided_request(live_server, viewport)

    operator = open_page("operator")
    page = operator.page
    operator.login(DEMO["operator"])
    operator.goto("/refund-requests")
    expect(page.get_by_role("heading", level=2, name=operator.t("最近处理"))).to_be_visible()
    row = page.locator(f"table.refund-decided tr[data-refund-request='{request_id}']")
    expect(row).to_have_count(1)
    row.scroll_into_view_if_needed()
    operator.step("recently decided, one card per request")

    # the product's name on one line (it was 三江 / 腌菜 / 500 / 克), the note the buyer read in a reading width
    name = row.locator("td").filter(has_text=PICKLES)
    expect(name).to_have_count(1)
    assert name.evaluate(LINES_OF_START, len(PICKLES)) == 1, name.inner_text()
    note = row.locator(".decision-note")
    expect(note).to_have_text(NOTE)
    box = note.bounding_box()
    assert box is not None and box["width"] >= 250, box  # it was a column of three characters
    # nothing to scroll sideways: neither the page nor the table's frame; the card within the screen
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE.width
    frame = page.locator(".table-wrap").filter(has=page.locator("table.refund-decided"))
    assert frame.evaluate("e => e.scrollWidth <= e.clientWidth"), "the table scrolls sideways in its frame"
    box = row.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE.width, box
