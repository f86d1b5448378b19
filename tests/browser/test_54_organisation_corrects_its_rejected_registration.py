"""Journey 54: a rejected organisation corrected and verified. The manager of an organisation the county
office did not verify (registered under its short name) signs in, finds it among 单位采购 and reads the
reason on its page, opens the correction page (修改登记并重新提交, which says the reason again), types the full
name the reason asks for and submits it again: pending once more, the reason gone. The county officer
finds it among the organisations to verify, under its corrected name, and approves it; the manager's page
then says it is verified. Runs in both languages, on an organisation of its own each time (the demo's
rejected organisation, union@demo.cn's, is left for people trying the demo)."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.harness import DEMO
from tests.browser.journeys import confirm_if_asked
from tests.browser.organisation_journey import PASSWORD, new_rejected_organisation


def test_the_manager_corrects_a_rejected_registration_and_the_county_verifies_it(open_page, live_server, lang):
    org = new_rejected_organisation(live_server, lang)
    page_path = f"/organisations/{org['id']}"

    # the manager finds the organisation not verified, and why
    manager = open_page("manager")
    mp = manager.page
    main = mp.locator("main")
    manager.login(org["manager"], PASSWORD)
    manager.goto("/organisations")
    manager.submit_and_wait(main.locator(".org-list").get_by_role("link").first.click)
    assert mp.url.endswith(page_path), mp.url
    expect(main.locator(".org-status")).to_contain_text(manager.t("未通过"))
    expect(main.locator("#organisation-rejected")).to_contain_text(org["reason"])
    manager.step("rejected, with its reason")

    # the correction page says the reason again; the manager types the full name and submits it again
    manager.submit_and_wait(main.get_by_role("link", name=manager.t("修改登记并重新提交")).click)
    assert mp.url.endswith(f"{page_path}/edit"), mp.url
    expect(main).to_contain_text(org["reason"])
    name = main.locator("form").get_by_label(manager.t("单位名称"))
    expect(name).not_to_have_value(org["full_name"])
    name.fill(org["full_name"])
    manager.step("the name corrected")
    manager.submit_and_wait(main.get_by_role("button", name=manager.t("重新提交审核")).click)
    assert mp.url.endswith(page_path), mp.url
    expect(mp.locator(".alert-success")).to_contain_text(manager.t("登记已修改并重新提交，等待扶贫办审核"))
    expect(main.get_by_role("heading", level=1)).to_have_text(org["full_name"])
    expect(main.locator(".org-status")).to_have_text(manager.t("待审核"))
    expect(main.locator("#organisation-rejected")).to_have_count(0)
    manager.step("pending again")

    # the county officer finds it to verify, under its corrected name, and approves it
    officer = open_page("county")
    op = officer.page
    officer.login(DEMO["county"])
    officer.goto("/county/organisations")
    officer.submit_and_wait(op.locator("main").get_by_role("link", name=org["full_name"]).click)
    officer.step("to verify")
    officer.submit_and_wait(op.locator("main").get_by_role("button", name=officer.t("审核通过")).click)
    assert confirm_if_asked(officer)
    expect(op.locator("main .org-status")).to_have_text(officer.t("已通过"))
    officer.step("verified")

    manager.goto(page_path)
    expect(main.locator(".org-status")).to_have_text(manager.t("已通过"))
    manager.step("the manager sees it verified")
