"""Journey 5: the county officer reviews income, finds the credit of a delivered sale, exports XLSX."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.harness import ARTIFACTS, DEMO
from tests.browser.journeys import (
    VILLAGE_A,
    deliver_by_api,
    demo_product,
    income_of_order,
    place_order_by_api,
    village_income_fen,
    yuan,
)


def test_county_officer_sees_the_delivery_credit_by_village_and_downloads_xlsx(open_page, live_server, viewport, lang):
    delivered = live_server.notes.get("delivered_orders") or []
    if not delivered:  # journey 3 did not run (or failed): make the delivery it would have made
        code = place_order_by_api(live_server, DEMO["consumer"], [demo_product(live_server, VILLAGE_A)["id"]])
        deliver_by_api(live_server, code)
        delivered = [code]
    credit = income_of_order(live_server, delivered[-1])
    assert credit["total_fen"] > 0, "the delivered sale credited nobody"
    expected_fen = village_income_fen(live_server, VILLAGE_A)
    assert expected_fen >= credit["total_fen"]

    officer = open_page("county")
    page = officer.page
    officer.login(DEMO["county"])
    officer.goto("/county/")
    officer.step("county dashboard")
    officer.submit_and_wait(
        lambda: (
            page.get_by_role("navigation", name=officer.t("扶贫办"))
            .get_by_role("link", name=officer.t("收入统计"))
            .click()
        )
    )
    expect(page.get_by_role("heading", level=1)).to_contain_text(officer.t("收入统计"))
    by_village = page.get_by_role("link", name=officer.t("按村"))
    if by_village.count():
        officer.submit_and_wait(lambda: by_village.first.click())

    income = page.locator("#income-table")  # the page also shows where each sale's money went (#sales-table)
    row = income.get_by_role("row").filter(has=page.get_by_role("cell", name=VILLAGE_A, exact=True))
    expect(row).to_have_count(1)
    expect(row).to_contain_text(yuan(expected_fen))
    officer.step("income by village")

    with page.expect_download() as download_info:
        # the income table's export (the sales table below has its own, 导出「销售去向」)
        exports = page.locator("p.county-exports").filter(
            has_text=officer.t("导出「%(what)s」", what=officer.t("收入统计"))
        )
        exports.get_by_role("link", name="XLSX").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".xlsx"), download.suggested_filename
    target = ARTIFACTS / "05_county_income_review" / f"{lang}-{viewport.name}-{download.suggested_filename}"
    target.parent.mkdir(parents=True, exist_ok=True)
    download.save_as(str(target))
    officer.step("after download")

    from openpyxl import load_workbook

    sheet = load_workbook(target, read_only=True).active
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    header = rows[0]
    total_col = next(i for i, h in enumerate(header) if h and str(h).startswith(officer.t("合计")))
    village_rows = [r for r in rows[1:] if VILLAGE_A in r]
    assert len(village_rows) == 1, rows
    assert round(float(village_rows[0][total_col]) * 100) == expected_fen
