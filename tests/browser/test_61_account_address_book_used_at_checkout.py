"""Journey 61: a buyer opens 我的 from the header — on a 390 px phone 我的 (the name is not shown there), on a
desktop their name — adds an address in 收货地址, and checkout offers it first; the order is placed to it.
Before, the buyer had no account page: addresses were only a dropdown at checkout, 修改密码 only a link on
我的订单, the header's name plain text on a desktop and absent on a phone."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.journeys import go_to_checkout, new_shopper_on_product, order_code_from_url, order_facts, tap_height

HOME = {"收货人": "周小满", "手机号": "13912345678", "详细地址": "向塘镇新街9号"}


def test_a_buyer_opens_my_account_from_the_header_adds_an_address_and_checks_out_to_it(
    open_page, live_server, viewport
):
    shopper, _product = new_shopper_on_product(open_page, live_server, "account", viewport)
    page = shopper.page
    main = page.locator("main")
    shopper.submit_and_wait(lambda: page.get_by_role("button", name=shopper.t("加入购物车")).click())

    banner = page.get_by_role("banner")
    if viewport.is_phone:
        mine = banner.get_by_role("link", name=shopper.t("我的"), exact=True)
        assert tap_height(mine) >= 40
        # 我的预订 and 我的收藏 are on 我的, not in a phone's header: the buyer's row (单位采购 我的订单 购物车 我的
        # 退出) is one line in Chinese, where it took two
        for name in ("我的预订", "我的收藏"):
            expect(banner.get_by_role("link", name=shopper.t(name), exact=True)).to_be_hidden()
        if not shopper.is_en:  # the language switch sits in the brand's row, the rest on one line
            row = banner.locator("nav.nav").locator("a:visible:not(.lang), button:visible")
            tops = {round(row.nth(i).bounding_box()["y"]) for i in range(row.count())}
            assert row.count() >= 4 and len(tops) == 1, tops
    else:
        mine = banner.locator("a.who")  # the account's name (a new account: its e-mail)
        expect(mine).to_contain_text("@test.cn")
    shopper.step("the header's way to 我的")
    shopper.submit_and_wait(mine.click)
    expect(main.get_by_role("heading", level=1)).to_have_text(shopper.t("我的"))
    menu = main.get_by_role("navigation", name=shopper.t("我的"))
    for name in ("我的订单", "我的预订", "我的收藏", "我的评价", "修改密码"):
        link = menu.get_by_role("link", name=shopper.t(name), exact=True)
        expect(link).to_have_count(1)
        if viewport.is_phone:
            assert tap_height(link) >= 44, name
    shopper.step("我的")

    shopper.submit_and_wait(menu.get_by_role("link", name=shopper.t("收货地址", context="plural"), exact=True).click)
    expect(main).to_contain_text(shopper.t("还没有保存的地址。"))
    shopper.submit_and_wait(main.get_by_role("link", name=shopper.t("新增地址")).click)
    form = main.locator("form")
    # a wrong number first: refused, with what was typed kept
    for label, value in {**HOME, "手机号": "1391234"}.items():
        form.get_by_label(shopper.t(label), exact=True).fill(value)
    with shopper.problems.allow(422, r"/account/addresses/new"):
        shopper.submit_and_wait(form.get_by_role("button", name=shopper.t("保存")).click)
    expect(form.get_by_label(shopper.t("详细地址"), exact=True)).to_have_value(HOME["详细地址"])
    form.get_by_label(shopper.t("手机号"), exact=True).fill(HOME["手机号"])
    shopper.step("the address typed")
    shopper.submit_and_wait(form.get_by_role("button", name=shopper.t("保存")).click)
    row = main.locator(".address-row")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(HOME["详细地址"])
    expect(row).to_contain_text(shopper.t("默认"))
    shopper.step("saved, the default")

    go_to_checkout(shopper, expected_lines=1)
    saved = page.get_by_label(shopper.t("选择已保存的地址"), exact=True)
    expect(saved.locator("option:checked")).to_contain_text(HOME["详细地址"])
    page.get_by_label(shopper.t("快递到家")).check()
    page.get_by_label(shopper.t("货到付款")).check()
    shopper.step("checkout offers it first")
    shopper.submit_and_wait(lambda: page.get_by_role("button", name=shopper.t("提交订单")).click())
    facts = order_facts(live_server, order_code_from_url(shopper))
    assert (facts["status"], facts["payment_method"]) == ("confirmed", "cod")
    expect(main).to_contain_text(HOME["详细地址"])
    shopper.step("placed to the saved address")
