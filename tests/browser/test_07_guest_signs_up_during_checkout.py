"""Journey 7 (#19.1): a first-time buyer adds two items as a guest, goes to 去结算, signs up on the way
(登录 → 注册) and lands on the checkout with the same two items in the cart."""
from __future__ import annotations

import itertools
import re
import time

import sqlalchemy as sa
from playwright.sync_api import expect

from tests.browser.a11y import assert_accessible
from tests.browser.journeys import VILLAGE_A, VILLAGE_B, add_from_results, search

_seq = itertools.count(1)


def test_guest_signs_up_during_checkout_and_keeps_the_cart(open_page, live_server, viewport):
    guest = open_page("guest")
    page = guest.page
    main = page.locator("main")

    guest.goto("/")
    search(guest, "yancai")
    add_from_results(guest, village=VILLAGE_A)
    search(guest, "yancai")
    add_from_results(guest, village=VILLAGE_B)
    guest.goto("/cart")
    rows = main.get_by_role("row").filter(has=page.get_by_role("spinbutton"))
    expect(rows).to_have_count(2)
    guest.step("guest cart")
    assert_accessible(guest, "guest cart")

    guest.submit_and_wait(lambda: page.get_by_role("link", name=re.compile("去结算")).click())
    expect(page.get_by_role("heading", level=1)).to_have_text("登录")
    guest.step("checkout asks to log in")
    assert_accessible(guest, "checkout asks to log in")
    guest.submit_and_wait(lambda: main.get_by_role("link", name="注册").click())
    expect(page.get_by_role("heading", level=1)).to_have_text("注册")

    email = f"new-{viewport.name}-{int(time.time())}-{next(_seq)}@test.cn"
    form = main.locator("form")
    form.get_by_label("称呼").fill("新买家")
    form.get_by_label("邮箱").fill(email)
    form.get_by_label("密码", exact=True).fill("s3cret-pass")
    form.get_by_label("确认密码").fill("s3cret-pass")
    guest.step("sign-up form")
    assert_accessible(guest, "sign-up form")
    guest.submit_and_wait(lambda: form.get_by_role("button", name="注册").click())

    expect(page.get_by_role("heading", level=1)).to_contain_text("结算")  # back on the way to checkout
    guest.step("checkout after sign-up")
    assert_accessible(guest, "checkout after sign-up")
    guest.goto("/cart")
    expect(main).not_to_contain_text("购物车是空的")
    expect(main.get_by_role("row").filter(has=page.get_by_role("spinbutton"))).to_have_count(2)
    guest.step("cart kept after sign-up")
    assert_accessible(guest, "cart kept after sign-up")

    from orders.models import Cart
    from shop.auth.models import User

    with live_server.app_context() as db:
        user_id = db.session.scalar(sa.select(User.id).where(User.email == email))
        cart = db.session.scalar(sa.select(Cart).where(Cart.user_id == user_id))
        assert cart is not None and len(cart.lines) == 2


def test_in_english_a_guest_signs_up_during_checkout_and_keeps_the_cart(open_page, live_server, viewport):
    from tests.browser.journeys import demo_product

    a, b = demo_product(live_server, VILLAGE_A), demo_product(live_server, VILLAGE_B)
    guest = open_page("guest-en")
    page = guest.page
    main = page.locator("main")
    guest.goto("/?lang=en")
    for product in (a, b):
        guest.goto(f"/products/{product['id']}-{product['slug']}")
        guest.submit_and_wait(lambda: main.get_by_role("button", name="Add to cart").click())
    guest.goto("/cart")
    expect(main.get_by_role("row").filter(has=page.get_by_role("spinbutton"))).to_have_count(2)
    guest.step("en: guest cart")
    assert_accessible(guest, "en: guest cart")
    guest.submit_and_wait(lambda: page.get_by_role("link", name="Check out").click())
    expect(page.get_by_role("heading", level=1)).to_have_text("Log in")
    guest.submit_and_wait(lambda: main.get_by_role("link", name="Sign up").click())
    email = f"new-en-{viewport.name}-{int(time.time())}-{next(_seq)}@test.cn"
    form = main.locator("form")
    form.get_by_label("Name").fill("New buyer")
    form.get_by_label("E-mail").fill(email)
    form.get_by_label("Password", exact=True).fill("short")
    form.get_by_label("Confirm password").fill("other")
    with guest.problems.allow(422, r"/register"):  # the refused form answers 422
        guest.submit_and_wait(lambda: form.get_by_role("button", name="Sign up").click())
        errors = main.get_by_role("alert")
        expect(errors.first).to_be_visible()
        assert not any("\u4e00" <= ch <= "\u9fff" for ch in " ".join(errors.all_inner_texts()))  # no 字段必须和 password…
        guest.step("en: sign-up refused in English")
    assert_accessible(guest, "en: sign-up refused")
    form.get_by_label("Password", exact=True).fill("s3cret-pass")
    form.get_by_label("Confirm password").fill("s3cret-pass")
    guest.submit_and_wait(lambda: form.get_by_role("button", name="Sign up").click())
    expect(page.get_by_role("heading", level=1)).to_contain_text("Checkout")
    guest.step("en: checkout after sign-up")
    assert_accessible(guest, "en: checkout after sign-up")
    guest.goto("/cart")
    expect(main.get_by_role("row").filter(has=page.get_by_role("spinbutton"))).to_have_count(2)
