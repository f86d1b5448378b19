"""Journey 60: the county officer, in the field on a phone, types a recall's reason as one long unbroken
word (a lab's sample number pasted whole, 200 characters) and is asked to confirm: the confirmation quotes the
reason inside its card, wrapped, and the page does not scroll sideways (the quoted reason pushed it to
2,000 px wide, 确认 and 返回，不操作 off the screen). 返回，不操作 recalls nothing."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from tests.browser.harness import DEMO, VIEWPORTS
from tests.browser.journeys import VILLAGE_A, demo_product

SAMPLE_NUMBER = "JX" + "0123456789" * 19 + "ABCDEFGH"  # 200 characters, no space to break at


def _active_lot(live, product_id: int) -> str:
    from stock.models import Lot, LotStatus

    with live.app_context() as db:
        return db.session.scalars(
            sa.select(Lot.code).where(Lot.product_id == product_id, Lot.status == LotStatus.ACTIVE).order_by(Lot.id)
        ).first()


@pytest.mark.parametrize("viewport", [VIEWPORTS[0]], ids=[VIEWPORTS[0].name], indirect=True)
def test_a_long_reason_is_quoted_within_the_phone_screen(open_page, live_server, viewport):
    assert viewport.is_phone and len(SAMPLE_NUMBER) == 200
    lot_code = _active_lot(live_server, demo_product(live_server, VILLAGE_A)["id"])
    officer = open_page("county")
    page = officer.page
    officer.login(DEMO["county"])
    officer.goto("/county/recalls")
    form = page.locator("main form").filter(has=page.get_by_role("button", name=officer.t("召回该批次")))
    form.get_by_label(officer.t("批次码")).fill(lot_code)
    form.get_by_label(officer.t("召回原因")).fill(SAMPLE_NUMBER)
    officer.submit_and_wait(form.get_by_role("button", name=officer.t("召回该批次")).click)
    expect(page.get_by_role("heading", level=1)).to_have_text(officer.t("请确认"))
    quoted = page.locator(".confirm-step li")
    expect(quoted).to_have_text(officer.t("召回原因：%(reason)s", reason=SAMPLE_NUMBER))
    widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1], widths
    for name in (officer.t("确认"), officer.t("返回，不操作")):
        box = page.locator(".confirm-step").get_by_role("button" if name == officer.t("确认") else "link", name=name)
        bounds = box.bounding_box()
        assert bounds is not None and bounds["x"] + bounds["width"] <= widths[1], (name, bounds)
    officer.step("asked to confirm, the reason wrapped")
    officer.submit_and_wait(page.get_by_role("link", name=officer.t("返回，不操作")).click)
    assert _active_lot(live_server, demo_product(live_server, VILLAGE_A)["id"]) == lot_code  # nothing recalled
    officer.step("back, nothing recalled")
