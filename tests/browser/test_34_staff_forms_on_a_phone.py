"""Journey 34: the staff's pages on a phone (390 px). The host's 允许到店支付 and 对游客开放 are tap-sized
checkboxes (they were 13 px boxes), each box 24 px in a 44 px row, as the variant picker's choices."""

from __future__ import annotations

import pytest

from tests.browser.harness import DEMO, VIEWPORTS
from tests.browser.test_04_tourist_books_and_cancels import STAY

PHONE = VIEWPORTS[0]


def _sideways(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth > document.documentElement.clientWidth")


@pytest.mark.parametrize("viewport", [PHONE], ids=[PHONE.name], indirect=True)
def test_the_hosts_checkboxes_are_tap_sized(open_page, live_server, viewport):
    assert viewport.is_phone
    host = open_page("host")
    page = host.page
    host.login(DEMO["host"])
    host.goto("/host/")
    host.submit_and_wait(lambda: page.locator("main").get_by_role("link", name=STAY).first.click())
    host.submit_and_wait(lambda: page.get_by_role("link", name=host.t("价格与介绍")).click())
    host.step("listing terms")
    boxes = page.locator("main input[type=checkbox]")
    rows = page.locator("main label").filter(has=page.locator("input[type=checkbox]"))
    assert boxes.count() == 2 and rows.count() == 2  # 允许到店支付, 对游客开放
    for i in range(boxes.count()):
        box, row = boxes.nth(i).bounding_box(), rows.nth(i).bounding_box()
        assert box is not None and row is not None, i
        assert box["width"] >= 24 and box["height"] >= 24, (i, box)
        assert row["height"] >= 44, (i, row)
    # the label toggles its box: the whole row is the target
    before = boxes.first.is_checked()
    rows.first.click(position={"x": 120, "y": 10})
    assert boxes.first.is_checked() != before
    assert not _sideways(page)
