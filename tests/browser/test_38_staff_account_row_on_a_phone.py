"""Journey 38: the staff's account row on a phone (390 px). Signed in as the station operator, a host, the
county officer or the admin, the header's account row (the desks, 我的订单 … 购物车, 退出) wraps onto
as many lines as it needs: every link and 退出 lies inside the screen, and neither the page nor the row
scrolls sideways (the row was one line that scrolled within itself, 退出 past the right edge)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.harness import DEMO, VIEWPORTS

PHONE = VIEWPORTS[0]


@pytest.mark.parametrize("viewport", [PHONE], ids=[PHONE.name], indirect=True)
@pytest.mark.parametrize("role", ["operator", "host", "county", "admin"])
def test_every_link_of_a_staff_account_row_is_in_sight_on_a_phone(open_page, live_server, viewport, role):
    assert viewport.is_phone and viewport.width == 390
    staff = open_page(role)
    page = staff.page
    staff.login(DEMO[role])
    staff.goto("/orders")
    staff.step(f"{role} signed in on a phone")
    width = page.viewport_size["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    row = page.locator(".site-header nav.nav")
    assert row.evaluate("e => e.scrollWidth <= e.clientWidth"), f"{role}: the account row scrolls sideways"
    sign_out = row.get_by_role("button", name=staff.t("退出"), exact=True)
    expect(sign_out).to_have_count(1)
    items = row.locator("a:visible, button:visible")
    assert items.count() >= 4, role
    for i in range(items.count()):
        box = items.nth(i).bounding_box()
        assert box is not None, (role, i)
        inside = box["x"] >= 0 and box["x"] + box["width"] <= width
        assert inside, (role, items.nth(i).inner_text(), box, width)
