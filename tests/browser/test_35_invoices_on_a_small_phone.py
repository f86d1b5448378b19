"""Journey 35: 我的发票 and the station's 发票 on a small phone (375 px). Each invoice reads as a card: its
number, status and amount on the first line, then its type, title, order or period and invoice number,
each named — where the eight-column table was twice the screen's width and had to be scrolled sideways
to reach the status and the amount. Nothing overflows the screen, or the table's frame."""

from __future__ import annotations

from datetime import date

import pytest
from playwright.sync_api import expect

from tests.browser.harness import DEMO, Viewport
from tests.browser.journeys import VILLAGE_A, demo_product, place_order_by_api

#: a 375 px phone (iPhone SE/mini); named "phone" so that it runs in the phone's language
SMALL_PHONE = Viewport("phone", 375, 667, True)


def _invoices(live, code: str) -> str:
    """An invoice asked for the order (waiting) and an issued one for a period, both of the demo consumer,
    from the order's station; returns the issued one's number."""
    import sqlalchemy as sa

    from invoices.models import Invoice, InvoiceOrder
    from orders.models import Order
    from shop.db import commit
    from shop.timeutil import now_utc

    with live.app_context() as db:
        order = db.session.scalar(sa.select(Order).where(Order.code == code))
        station_id = order.shipments[0].station_id
        number = f"3600{order.id:08d}"
        db.session.add_all(
            [
                Invoice(
                    station_id=station_id,
                    requested_by_id=order.user_id,
                    kind="special",
                    title="南昌县莲塘镇第一中学工会委员会",
                    tax_number="91360121000000042X",
                    created_at=now_utc(),
                    orders=[InvoiceOrder(order_id=order.id)],
                ),
                Invoice(
                    station_id=station_id,
                    requested_by_id=order.user_id,
                    scope="period",
                    period_from=date(2026, 11, 1),
                    period_to=date(2026, 11, 30),
                    kind="ordinary",
                    status="issued",
                    title="南昌县莲塘镇第一中学工会委员会",
                    number=number,
                    issued_on=date(2026, 12, 1),
                    amount_fen=1234500,
                    created_at=now_utc(),
                    orders=[InvoiceOrder(order_id=order.id, amount_fen=1234500)],
                ),
            ]
        )
        commit()
    return number


def _fits(user, viewport: Viewport) -> None:
    page = user.page
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    wrap = page.locator("main .table-wrap").first
    assert wrap.evaluate("e => e.scrollWidth <= e.clientWidth"), "the invoices table scrolls sideways"
    rows = page.locator("main .invoice-row")
    assert rows.count() >= 2
    for i in range(rows.count()):
        row = rows.nth(i)
        first = row.locator("td.invoice-id").bounding_box()
        for cell in ("td.invoice-id", "td.invoice-status", "td.invoice-amount"):
            if not row.locator(cell).text_content().strip():
                continue  # no amount before the invoice is issued: the empty cell takes no room
            box = row.locator(cell).bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= viewport.width, (cell, box)
            # the key facts on the card's first line
            assert first is not None and abs((box["y"] + box["height"] / 2) - (first["y"] + first["height"] / 2)) < 24
        for cell in row.locator("td").all():
            box = cell.bounding_box()
            if box is not None:
                assert box["x"] + box["width"] <= viewport.width + 1, box


@pytest.mark.parametrize("viewport", [SMALL_PHONE], ids=["phone-375"], indirect=True)
def test_invoices_read_as_cards_on_a_small_phone(open_page, live_server, viewport):
    assert viewport.width == 375
    product = demo_product(live_server, VILLAGE_A)  # station NC01, the demo operator's
    code = place_order_by_api(live_server, DEMO["consumer"], [product["id"]], payment_method="cod")
    number = _invoices(live_server, code)

    buyer = open_page("consumer")
    page = buyer.page
    buyer.login(DEMO["consumer"])
    buyer.goto("/invoices")
    buyer.step("my invoices on a small phone")
    issued = page.locator("main .invoice-row").filter(has_text=number)
    expect(issued.locator("td.invoice-amount")).to_have_text("¥12,345.00")
    expect(issued.locator("td.invoice-status")).to_have_text(buyer.t("已开票"))
    _fits(buyer, viewport)

    operator = open_page("operator")
    operator.login(DEMO["operator"])
    operator.goto("/station/invoices")
    operator.step("the station's invoices on a small phone")
    expect(operator.page.locator("main .invoice-row").filter(has_text=number)).to_have_count(1)
    _fits(operator, viewport)
