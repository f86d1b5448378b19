"""Journey: a first-time host creates an experience on a phone. The desk's 我的项目 and the way back to the desk are 44 px links; the 项目类型 choices are thumb-sized rows
(they were 13 px circles on 22 px lines); the message after creating it names the box to tick as the
box says it; the new listing's page leads straight to its 场次 (the host was
sent to the calendar, then on to 场次), where a session is added (its date on one line, its 删除 on a 360 px screen: a card per session); on the calendar a closed day's 开放 is a
40 px tap target (a 26 × 20 px word before), and tapping it says the day is open again, on that day's
month (the page said nothing and showed this month)."""

from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import expect

from shop.timeutil import local_date, now_utc
from tests.browser.harness import DEMO
from tests.browser.journeys import confirm_if_asked

MIN = 40


def _box(locator) -> tuple[float, float]:
    box = locator.bounding_box()
    assert box is not None, locator
    return box["width"], box["height"]


def test_first_time_host_creates_an_experience(open_page, viewport, lang):
    host = open_page("host")
    page = host.page
    host.login(DEMO["host"])
    host.goto("/host/")
    # each of 我的项目 is a thumb-sized link into its calendar (19 px lines of text before)
    links = page.locator("main ul.host-listings a")
    assert links.count() >= 5
    for i in range(links.count()):
        width, height = _box(links.nth(i))
        assert height >= MIN and width >= MIN, (links.nth(i).inner_text(), width, height)
    host.goto("/host/listings/new")
    # its way back to the desk is a tap target too (a 19 px line of text before)
    width, height = _box(page.locator("main .back a"))
    assert height >= MIN and width >= MIN, (width, height)
    choices = page.locator("main fieldset").filter(has=page.locator("input[name=kind]")).locator("label")
    assert choices.count() == 3
    for i in range(3):
        width, height = _box(choices.nth(i))
        assert height >= MIN and width >= MIN, (choices.nth(i).inner_text(), width, height)
    choices.filter(has_text=host.t("体验")).click()
    name = f"采茶体验 {viewport.name} {lang}"
    page.get_by_label(host.t("项目名称")).fill(name)
    page.get_by_label(host.t("第一个房型/票种/体验名称（如 标准间、成人票、草莓采摘）")).fill(host.t("体验"))
    page.get_by_label(host.t("数量（房间数/每日票数）")).fill("10")
    page.get_by_label(host.t("价格（元）")).fill("60")
    host.submit_and_wait(lambda: page.get_by_role("button", name=host.t("创建项目")).click())
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    # the message names the box to tick as the box says it (in English it said "Open to visitors")
    box = host.t("对游客开放（取消勾选即暂停接受新预订）").split("（")[0].split(" (")[0]
    expect(page.locator("body")).to_contain_text(
        host.t("项目已创建，尚未对游客开放：请上传照片，再勾选「对游客开放」并保存。")
    )
    assert box in host.t("项目已创建，尚未对游客开放：请上传照片，再勾选「对游客开放」并保存。"), box
    host.step("created")

    # the sessions page is one tap from here
    host.submit_and_wait(lambda: page.locator("main").get_by_role("link", name=host.t("添加场次")).click())
    day = local_date(now_utc()) + timedelta(days=40)  # next month or the one after: not the month shown first
    form = page.locator("main form").filter(has=page.locator("input[name=times]"))
    form.get_by_label(host.t("从")).fill(day.isoformat())
    form.get_by_label(host.t("到（含）")).fill(day.isoformat())
    form.get_by_label(host.t("开始时间（如 09:00, 14:00）")).fill("09:00")
    host.submit_and_wait(lambda: form.get_by_role("button", name=host.t("添加场次")).click())
    expect(page.locator("main")).to_contain_text(host.tn("已添加 %(num)s 个场次", 1))
    # its date reads on one line (it broke at its hyphen on a phone, 2026- / 12-10)
    cell = page.locator(".host-sessions td").filter(has_text=day.isoformat()).first
    lines = cell.evaluate(
        "e => { const r = document.createRange(); r.selectNodeContents(e); return r.getClientRects().length; }"
    )
    assert lines == 1, (day, lines)
    host.step("a session added")
    # its 删除 is on the screen, down to a 360 px phone (it sat behind the table's sideways scroll)
    if viewport.is_phone:
        page.set_viewport_size({"width": 360, "height": viewport.height})
    row = page.locator(".host-sessions tr").filter(has_text=day.isoformat()).first
    box = row.get_by_role("button", name=host.t("删除")).bounding_box()
    width = page.evaluate("document.documentElement.clientWidth")
    assert box is not None and 0 <= box["x"] and box["x"] + box["width"] <= width, (box, width)
    host.step("its remove button in sight")
    page.set_viewport_size({"width": viewport.width, "height": viewport.height})

    # close that day from the calendar, then open it again with its 开放
    host.goto(page.url.removesuffix("/sessions"))
    form = page.locator("main form").filter(has=page.locator("input[name=reason]"))
    form.get_by_label(host.t("从")).fill(day.isoformat())
    form.get_by_label(host.t("到（含）")).fill(day.isoformat())
    host.submit_and_wait(lambda: form.get_by_role("button", name=host.t("关闭")).click())
    assert confirm_if_asked(host)
    host.goto(f"{page.url.split('?')[0]}?month={day:%Y-%m}")
    reopen = page.locator(".tour-calendar").get_by_role("button", name=host.t("开放"))
    assert reopen.count() == 1
    width, height = _box(reopen)
    assert height >= MIN and width >= MIN, (width, height)
    host.step("a closed day")
    host.submit_and_wait(lambda: reopen.click())
    expect(page.locator("body")).to_contain_text(host.t("已重新开放 %(day)s", day=day.isoformat()))
    expect(page.locator(".tour-calendar strong").first).to_have_text(f"{day:%Y-%m}")
    expect(page.locator(".tour-calendar").get_by_role("button", name=host.t("开放"))).to_have_count(0)
    host.step("open again")
