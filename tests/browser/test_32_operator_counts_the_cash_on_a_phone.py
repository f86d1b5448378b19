"""Journey 32: the station operator, on a phone, opens 现金 from the station's menu to close the day:
each field of 日结 and 上缴或更正 has its label above it and is thumb-sized (the forms were inline rows
where 差额原因 sat beside the count's box and read as its label); a count that differs from the book
without a reason is refused with the reason asked for, before any confirmation of the close, the count
typed kept in its box."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.harness import DEMO, VIEWPORTS


@pytest.mark.parametrize("viewport", [VIEWPORTS[0]], ids=[VIEWPORTS[0].name], indirect=True)
def test_operator_counts_the_cash_on_a_phone(open_page, live_server, viewport):
    assert viewport.is_phone
    operator = open_page("operator")
    page = operator.page
    operator.login(DEMO["operator"])
    operator.goto("/station/")
    operator.submit_and_wait(
        lambda: page.locator("nav.station-nav").get_by_role("link", name=operator.t("现金")).click()
    )
    operator.step("cash book")
    for name in ("清点现金（元）", "差额原因", "类型", "金额（元，更正可为负数）", "原因"):
        field = page.get_by_label(operator.t(name), exact=True)
        label = page.locator("label", has_text=operator.t(name)).first
        field_box, label_box = field.bounding_box(), label.bounding_box()
        assert field_box is not None and label_box is not None, name
        assert label_box["y"] + label_box["height"] <= field_box["y"] + 1, (name, label_box, field_box)
        assert field_box["height"] >= 40 and field_box["width"] >= 200, (name, field_box)

    expected = page.locator("#expected").inner_text()
    page.get_by_label(operator.t("清点现金（元）"), exact=True).fill("99999")
    with open_page.problems.allow(422, r"/station/cash/close$"):
        operator.submit_and_wait(lambda: page.get_by_role("button", name=operator.t("日结"), exact=True).click())
        operator.step("a difference without its reason")
        expect(page.locator("main")).to_contain_text(operator.t("清点金额与账面不符，请填写原因"))
    expect(page.locator("#expected")).to_have_text(expected)
    expect(page.get_by_role("button", name=operator.t("日结"), exact=True)).to_be_visible()  # still open
    # what was counted is still in its box: only the reason is left to type
    expect(page.get_by_label(operator.t("清点现金（元）"), exact=True)).to_have_value("99999")
