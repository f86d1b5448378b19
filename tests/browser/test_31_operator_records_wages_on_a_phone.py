"""Journey 31: the station operator, on a phone, records two days' wages of a household member who
sorted parcels (收益登记): each row of the sheet is a card of labelled fields on the screen, not a
five-column table to swipe sideways; the record then heads 最近的登记 with its total, and tapping
a double tap on 登记并入账 or the back button records nothing twice; the opener of the households' numbers
(可登记的农户) is a thumb-sized target, not a 26 px line."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

from tests.browser.harness import DEMO, VIEWPORTS


@pytest.mark.parametrize("viewport", [VIEWPORTS[0]], ids=[VIEWPORTS[0].name], indirect=True)
def test_operator_records_wages_on_a_phone(open_page, live_server, viewport):
    assert viewport.is_phone
    operator = open_page("operator")
    page = operator.page
    operator.login(DEMO["operator"])
    operator.goto("/station/")
    operator.submit_and_wait(
        lambda: page.locator("nav.station-nav").get_by_role("link", name=operator.t("收益登记")).click()
    )
    form = page.locator("form.record-form")
    opener = page.locator("details.record-households summary")  # the list of household numbers to type
    box = opener.bounding_box()
    assert box is not None and box["height"] >= 40, box  # a thumb's target (it was a 26 px line)
    household = page.locator("details.record-households li[data-household]").first.get_attribute("data-household")
    assert household
    rows_before = page.locator("#records tbody tr[data-record]").count()

    form.get_by_label(operator.t("收益类型")).select_option("wage")
    form.get_by_label(operator.t("说明")).fill("分拣工 12月")
    today = date.today()
    form.get_by_label(operator.t("从"), exact=True).fill((today - timedelta(days=2)).isoformat())
    form.get_by_label(operator.t("到"), exact=True).fill((today - timedelta(days=1)).isoformat())
    first = {
        "household": form.get_by_label(f"{operator.t('农户编号')} 1", exact=True),
        "member": form.get_by_label(f"{operator.t('成员序号（务工）')} 1", exact=True),
        "count": form.get_by_label(f"{operator.t('工日/工时、数量或股份')} 1", exact=True),
        "rate": form.get_by_label(f"{operator.t('工价或收购单价（元）')} 1", exact=True),
    }
    first["household"].fill(household)
    first["member"].fill("1")
    first["count"].fill("2")
    first["rate"].fill("120")
    operator.step("a wage typed in")
    for field in first.values():  # each on the screen, thumb-sized
        box = field.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= viewport.width, box
        assert box["height"] >= 40, box
    assert page.evaluate("() => document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    sheet = page.locator(".record-sheet")
    assert sheet.evaluate("e => e.scrollWidth <= e.clientWidth"), "the sheet scrolls sideways on a phone"

    operator.submit_and_wait(
        lambda: form.get_by_role("button", name=operator.t("登记并入账")).dblclick()
    )  # a double tap
    operator.step("recorded")
    records = page.locator("#records tbody tr[data-record]")
    expect(records).to_have_count(rows_before + 1)  # once
    newest = records.first
    assert newest.get_attribute("data-kind") == "wage"
    assert newest.locator("td[data-fen]").get_attribute("data-fen") == "24000"  # 2 days × ¥120
    page.go_back()  # the back button: an empty sheet, nothing to send twice
    operator.goto("/station/benefits")
    expect(page.locator("#records tbody tr[data-record]")).to_have_count(rows_before + 1)
