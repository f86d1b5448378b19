"""Journey 22 (product journey 4 in docs/journeys.md, the registry side): the county officer picks a reversed
date range (explained on the page, the whole period shown), looks at the household registry with personal data
masked, reveals one household's phone (written to the audit log), reads its statement, checks the plan's
targets, and opens the organisations to verify and their purchasing report (on a phone too)."""

from __future__ import annotations

import re

import sqlalchemy as sa
from playwright.sync_api import expect

from tests.browser.harness import DEMO


def audit_entries(live) -> int:
    from shop.audit import AuditEntry

    with live.app_context() as db:
        return db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry))


def test_county_officer_reads_the_registry_masked_reveals_once_and_checks_targets(open_page, live_server):
    officer = open_page("county")
    page = officer.page
    main = page.locator("main")
    officer.login(DEMO["county"])

    officer.goto("/county/income")
    dates = main.locator("form.county-filter").first
    dates.get_by_label(officer.t("从")).fill("2026-12-31")
    dates.get_by_label(officer.t("到")).fill("2026-01-01")
    with officer.problems.allow(422, r"/county/income\?"):
        officer.submit_and_wait(lambda: dates.get_by_role("button", name=officer.t("查询")).click())
        expect(main.get_by_role("alert").or_(main.locator(".alert-error")).first).to_contain_text(
            officer.t("开始日期晚于结束日期，已显示全部日期的数据；请重新选择日期。")
        )
        officer.step("reversed date range explained")

    officer.goto("/county/households")
    table = main.get_by_role("table")
    expect(table.get_by_role("row").nth(1)).to_be_visible()
    phones = [t.strip() for t in table.locator("tbody tr td:nth-child(5)").all_inner_texts() if t.strip()]
    assert phones and all("*" in p for p in phones), f"phone numbers not masked in the registry: {phones[:5]}"
    officer.step("registry, masked")
    officer.submit_and_wait(lambda: table.locator("tbody tr").first.get_by_role("link").first.click())
    officer.step("household, masked")

    before = audit_entries(live_server)
    phone_row = main.locator("dd").filter(has=page.get_by_role("button", name=officer.t("查看"))).nth(3)
    masked = phone_row.locator("span").first.inner_text()
    officer.submit_and_wait(lambda: phone_row.get_by_role("button", name=officer.t("查看")).click())
    revealed = main.locator("#revealed-phone")
    expect(revealed).to_be_visible()
    assert "*" not in revealed.inner_text() and revealed.inner_text() != masked
    expect(main).to_contain_text(officer.t("已记录本次查看"))
    officer.step("phone revealed and logged")
    assert audit_entries(live_server) == before + 1

    officer.submit_and_wait(lambda: main.get_by_role("link", name=officer.t("收入明细")).click())
    officer.step("household statement")
    officer.goto("/county/targets")
    expect(main.get_by_role("progressbar").first).to_be_visible()
    assert re.search(r"\d", main.get_by_role("progressbar").first.get_attribute("aria-valuetext") or "")
    officer.step("targets")

    # the organisations to verify and their purchasing report fit a phone's width (the harness fails a
    # page that scrolls sideways): their tables scroll inside a .table-wrap, as the county's own tables do
    officer.goto("/county/organisations")
    officer.step("organisations to verify")
    officer.goto("/county/organisations/report")
    officer.step("institutional purchasing report")
