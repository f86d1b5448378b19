"""Journey: a first-time visitor on a phone finds the language switch (English / 中文) in the header without
scrolling anything sideways, signed in or not, and switches the page's language and back. Signed in, the
switch was the last item of the account row (我的订单 … 退出), which then scrolled within itself on a phone: on a
390 px screen it sat at x 384-450, out of sight.

What the visitor had typed into a form is still there in the other language (not a password): the switch
reloads the page, which used to empty the form."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.harness import DEMO

SWITCH = {"zh": "English", "en": "中文"}  # the switch names the other language, in that language


def _switch_in_sight(user, lang: str, *, phone: bool):
    page = user.page
    switch = page.get_by_role("banner").get_by_role("link", name=SWITCH[lang], exact=True)
    expect(switch).to_have_count(1)
    box = switch.bounding_box()
    width = page.viewport_size["width"]
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, (SWITCH[lang], box, width)
    assert not phone or (box["height"] >= 40 and box["width"] >= 40), box  # a thumb's tap target
    return switch


def test_the_language_switch_is_in_sight_signed_in_or_not(open_page, live_server, viewport):
    visitor = open_page("visitor")
    page = visitor.page
    start = "en" if visitor.is_en else "zh"
    back = "zh" if start == "en" else "en"
    visitor.goto("/")
    _switch_in_sight(visitor, start, phone=viewport.is_phone)
    visitor.step("not signed in")
    visitor.goto("/register")
    page.locator("input[name=name]").fill("王小花")
    page.locator("input[name=email]").fill("xiaohua@example.cn")
    page.locator("input[name=password]").fill("secret-typed-1")
    visitor.submit_and_wait(_switch_in_sight(visitor, start, phone=viewport.is_phone).click, check=False)
    expect(page.locator("html")).to_have_attribute("lang", "en" if back == "en" else "zh-CN")
    expect(page.locator("input[name=name]")).to_have_value("王小花")
    expect(page.locator("input[name=email]")).to_have_value("xiaohua@example.cn")
    expect(page.locator("input[name=password]")).to_have_value("")  # a password is never kept
    visitor.submit_and_wait(_switch_in_sight(visitor, back, phone=viewport.is_phone).click, check=False)
    expect(page.locator("html")).to_have_attribute("lang", "en" if start == "en" else "zh-CN")
    expect(page.locator("input[name=email]")).to_have_value("xiaohua@example.cn")  # and back again
    visitor.goto("/register")
    expect(page.locator("input[name=email]")).to_have_value("")  # kept for the switch only, then forgotten
    # a form the server sent back with an error keeps the visitor's values through the switch too
    page.locator("input[name=email]").fill("xiaohua@example.cn")
    page.locator("input[name=password]").fill("secret-typed-1")
    page.locator("input[name=confirm]").fill("secret-typed-2")
    with visitor.problems.allow(422, r"/register"):  # the refused form answers 422
        visitor.submit_and_wait(page.locator("main form button[type=submit]").first.click)
    expect(page.locator("input[name=email]")).to_have_value("xiaohua@example.cn")
    visitor.submit_and_wait(_switch_in_sight(visitor, start, phone=viewport.is_phone).click, check=False)
    expect(page.locator("input[name=email]")).to_have_value("xiaohua@example.cn")
    visitor.submit_and_wait(_switch_in_sight(visitor, back, phone=viewport.is_phone).click, check=False)
    visitor.login(DEMO["operator"])  # the longest account row of a buyer's header: 站点工作台 … 退出
    visitor.goto("/orders")
    switch = _switch_in_sight(visitor, start, phone=viewport.is_phone)
    visitor.step("signed in")
    visitor.submit_and_wait(switch.click, check=False)
    expect(page.locator("html")).to_have_attribute("lang", "en" if back == "en" else "zh-CN")
    expect(page).to_have_url(live_server.url + "/orders")
    switch = _switch_in_sight(visitor, back, phone=viewport.is_phone)
    visitor.submit_and_wait(switch.click, check=False)
    expect(page.locator("html")).to_have_attribute("lang", "en" if start == "en" else "zh-CN")
    _switch_in_sight(visitor, start, phone=viewport.is_phone)
