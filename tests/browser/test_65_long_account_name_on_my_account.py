"""Journey: a first-time buyer signs up with the nickname they use everywhere, one long word of Latin letters
(no space: the form takes 80 characters), and a long e-mail address, then opens 我的 from the header. On a
390 px phone the name ran off the screen and the page scrolled sideways (1154 px wide); the name and the
e-mail now wrap within the card, on a phone and on a desktop (the harness fails any page wider than its
screen), and 我的订单 below is there to tap."""

from __future__ import annotations

import uuid

from playwright.sync_api import expect

#: a nickname of 80 letters and no space (the sign-up form's limit)
NICKNAME = ("SanjiangPickleLover" * 5)[:80]


def test_a_long_nickname_stays_on_my_account(open_page, viewport):
    buyer = open_page("buyer")
    page = buyer.page
    main = page.locator("main")
    buyer.goto("/register")
    email = f"sanjiang-pickle-lover-from-nanchang-county-{uuid.uuid4().hex}@test.cn"
    form = main.locator("form")
    form.get_by_label(buyer.t("称呼")).fill(NICKNAME)
    form.get_by_label(buyer.t("邮箱")).fill(email)
    form.get_by_label(buyer.t("密码"), exact=True).fill("s3cret-pass")
    form.get_by_label(buyer.t("确认密码")).fill("s3cret-pass")
    buyer.submit_and_wait(lambda: form.get_by_role("button", name=buyer.t("注册")).click())

    buyer.goto("/account")  # the harness checks the page is no wider than the screen
    who = main.get_by_role("region", name=buyer.t("我的账号"))
    expect(who).to_contain_text(NICKNAME)
    expect(who).to_contain_text(email)
    for text in (NICKNAME, email):
        line = who.get_by_text(text)
        box = line.bounding_box()
        assert box is not None and box["x"] + box["width"] <= viewport.width, (text, box)
        assert line.evaluate("e => e.scrollWidth <= e.clientWidth"), f"{text!r} runs past its box"
    buyer.step("我的: the name and the e-mail wrap")
    expect(main.get_by_role("link", name=buyer.t("我的订单"), exact=True)).to_be_visible()
