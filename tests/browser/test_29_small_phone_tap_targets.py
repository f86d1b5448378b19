"""Journey: a first-time buyer on a small phone (360 px wide) taps the shop's links and buttons with a
thumb: the header's 特产 / 农家乐民宿 / 乡村体验 / 景区门票 row, the home page's category chips, the search
filters and facets, the cart's − / +, 更新 and 删除, a stay calendar's 上月 / 下月, the footer's links, the stays' 住宿 / 体验 / 门票 and, signed in, the header's account row
(我的订单 … 退出, the admin's longest) and a workspace's menu (operator, county, admin) are each at least
40 × 40 px (they were 22-36 px high), and no
page scrolls sideways: the account row wraps (journey 38)."""

from __future__ import annotations

from tests.browser.harness import DEMO, Viewport
from tests.browser.journeys import (
    VILLAGE_A,
    api,
    api_token,
    demo_product,
    empty_cart,
    go_to_checkout,
    new_account,
    place_order_by_api,
    search,
)

SMALL_PHONE = Viewport("small-phone", 360, 740, True)
MIN = 40


def _too_small(locator) -> list[tuple[str, float, float]]:
    small = []
    for i in range(locator.count()):
        item = locator.nth(i)
        box = item.bounding_box()
        assert box is not None, item
        if box["height"] < MIN or box["width"] < MIN:
            small.append((item.inner_text().strip()[:20], round(box["width"]), round(box["height"])))
    return small


def test_small_phone_tap_targets(open_page, live_server):
    a = demo_product(live_server, VILLAGE_A)
    shopper = open_page("shopper", size=SMALL_PHONE)
    page = shopper.page
    shopper.goto("/")
    kinds = page.locator(".site-header nav.kinds a")
    footer = page.locator(".site-footer a")
    chips = page.locator("main a.chip")
    assert kinds.count() == 4 and footer.count() >= 4 and chips.count() >= 4
    assert _too_small(kinds) == [] and _too_small(footer) == [] and _too_small(chips) == []

    search(shopper, "yancai")
    shopper.step("search results")
    filters = page.locator("main form.filters").locator("input:not([type=hidden]):not([type=checkbox]), select, button")
    checkbox_label = page.locator("main form.filters label").filter(has=page.locator("input[type=checkbox]"))
    facets = page.locator("main .facet a")
    assert filters.count() >= 4 and facets.count() >= 2
    assert _too_small(filters) == [] and _too_small(checkbox_label) == [] and _too_small(facets) == []

    empty_cart(shopper)
    shopper.goto(f"/products/{a['id']}-{a['slug']}")
    shopper.submit_and_wait(
        lambda: (
            page.get_by_role("form", name=shopper.t("购买"), exact=True)
            .get_by_role("button", name=shopper.t("加入购物车"))
            .click()
        )
    )
    buttons = page.locator("main .cart-table").get_by_role("button")
    assert buttons.count() == 4  # −, +, 更新, 删除
    assert _too_small(buttons) == []
    empty_cart(shopper)

    shopper.goto("/stays")
    tour_kinds = page.locator("main nav.tour-tabs a")  # 住宿 / 体验 / 门票 (they were 32 x 26 px)
    assert tour_kinds.count() == 3
    assert _too_small(tour_kinds) == []
    shopper.submit_and_wait(lambda: page.locator("main a[href*='/listings/']").first.click())
    months = page.locator(".tour-calendar .cal-head a")  # ‹ 上月, 下月 › (they were 26 px high)
    assert months.count() == 2
    assert _too_small(months) == []


def test_small_phone_checkout_choices(open_page, live_server):
    """Signed in, at checkout: 快递到家 / 到站自提, 保存到地址簿 and the payment methods are rows a thumb can
    tap (label and box toggle together), not 13 px radio circles on a 33 px line of text."""
    a = demo_product(live_server, VILLAGE_A)
    buyer = open_page("buyer", size=SMALL_PHONE)
    page = buyer.page
    buyer.login(DEMO["consumer"])
    empty_cart(buyer)
    buyer.goto(f"/products/{a['id']}-{a['slug']}")
    buyer.submit_and_wait(
        lambda: (
            page.get_by_role("form", name=buyer.t("购买"), exact=True)
            .get_by_role("button", name=buyer.t("加入购物车"))
            .click()
        )
    )
    go_to_checkout(buyer, 1)
    choices = page.locator("main label.choice:visible")
    assert choices.count() >= 4  # two ways to receive, at least two ways to pay
    assert _too_small(choices) == []
    boxes = page.locator("main label.choice:visible input")
    assert all((boxes.nth(i).bounding_box() or {}).get("height", 0) >= 24 for i in range(boxes.count()))
    empty_cart(buyer)


def _page_scrolls_sideways(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth > document.documentElement.clientWidth")


def test_small_phone_account_row(open_page, live_server):
    """Signed in, the header's account row is a row of thumb-sized links; on a phone the header scrolls
    away with the page (it is about 190 px high: kept on top it would take a quarter of the screen)."""
    admin = open_page("admin", size=SMALL_PHONE)
    page = admin.page
    admin.login(DEMO["admin"])
    admin.goto("/products")
    admin.step("signed in on a small phone")
    row = page.locator(".site-header nav.nav").locator("a:visible, button:visible")
    assert row.count() >= 8  # the desks, 我的订单 … 购物车, 退出, the language
    assert _too_small(row) == []
    assert not _page_scrolls_sideways(page)
    page.evaluate("() => window.scrollTo(0, 600)")
    assert page.evaluate("() => window.scrollY") >= 300
    header = page.locator(".site-header").bounding_box()
    assert header is not None and header["y"] + header["height"] <= 0, header


def test_small_phone_workspace_menus(open_page, live_server):
    """A workspace's menu is the operator's, the county officer's and the admin's way around their desk:
    on a small phone each of its links is a thumb-sized target (they were lines of 25 px text links, the
    admin's 村 16 px wide), and the menu wraps instead of scrolling the page sideways."""
    for role, path, menu in (
        ("operator", "/station/", "main nav.station-nav a"),
        ("county", "/county/", "main nav.county-nav a"),
        ("admin", "/admin/", "main nav.county-nav a"),
    ):
        staff = open_page(role, size=SMALL_PHONE)
        staff.login(DEMO[role])
        staff.goto(path)
        staff.step(f"{role} workspace menu")
        links = staff.page.locator(menu)
        assert links.count() >= 5, role
        assert _too_small(links) == [], role
        assert not _page_scrolls_sideways(staff.page), role


def test_small_phone_county_forms(open_page, live_server):
    """The county officer's own controls on a phone: the registry's filters and its households' numbers, a household's 查看 (each reveal is audited) and its
    status change, an income report's tabs and date range, the admin's account filter are thumb-sized
    (查看 was a 20 px line of text, a household's number in the registry one digit wide, the selects 23 px,
    the date boxes 29 px); the payment account and benefit link forms are labelled fields of thumb size
    (their .county-form had no style: 20-31 px boxes beside their labels)."""
    county = open_page("county", size=SMALL_PHONE)
    page = county.page
    county.login(DEMO["county"])
    county.goto("/county/households")
    rows = page.locator("main table a[href*='/county/households/']")
    filters = page.locator("main form.county-filter").locator("select, input:not([type=hidden]), button")
    assert rows.count() >= 10 and filters.count() == 7  # 村, 状态, 查询; 编号, 查找; 户主姓名, 查找
    assert _too_small(rows.first) == [] and _too_small(filters) == []
    actions = page.locator("main a.btn.small")  # 登记新户, Excel导入 (they were 36 px high)
    assert actions.count() == 2 and _too_small(actions) == []
    county.submit_and_wait(lambda: rows.first.click())
    county.step("a household")
    reveal = page.locator("main dl.county-dl button.link")
    status = page.locator("main form.county-filter").locator("select, input:not([type=hidden]), button")
    assert reveal.count() >= 4 and status.count() == 3
    assert _too_small(reveal) == [] and _too_small(status) == []
    county.submit_and_wait(lambda: page.locator("main dl.county-dl a.btn").first.click())  # 登记/修改 the account
    county.step("payment account form")
    fields = page.locator("main form.county-form").locator("select, input:not([type=hidden]), button")
    assert fields.count() == 5 and _too_small(fields) == []  # 账户类型, 账号, 户名, 开户行, 保存
    number = page.locator("main form.county-form #number").bounding_box()
    label = page.locator("main form.county-form label[for=number]").bounding_box()
    assert number and label and label["y"] + label["height"] <= number["y"] + 1  # the label above its box
    county.goto("/county/links")
    county.submit_and_wait(lambda: page.locator("main a[href*='/county/links/product/']").first.click())
    county.step("benefit links")
    links = page.locator("main form.county-form").locator("select, input:not([type=hidden]), textarea, button")
    assert links.count() >= 8 and _too_small(links) == []
    assert not _page_scrolls_sideways(page)
    county.goto("/county/income")
    county.step("income")
    tabs = page.locator("main .county-tabs a")
    dates = page.locator("main form.county-filter").locator("input:not([type=hidden]), button")
    assert tabs.count() >= 5 and dates.count() >= 3
    assert _too_small(tabs) == [] and _too_small(dates) == []
    assert not _page_scrolls_sideways(page)
    admin = open_page("admin", size=SMALL_PHONE)
    admin.login(DEMO["admin"])
    admin.goto("/admin/users?role=admin")  # the admins alone: other journeys add accounts named in English
    filters = admin.page.locator("main form.county-filter").locator("input:not([type=hidden]), select, button")
    assert filters.count() >= 3 and _too_small(filters) == []


def test_small_phone_host_removes_a_session(open_page, live_server):
    """The host's experience sessions on a phone: a session nobody booked has 删除, a 44 px target (the word
    alone was 27 px wide)."""
    host = open_page("host", size=SMALL_PHONE)
    page = host.page
    host.login(DEMO["host"])
    host.goto("/host/")
    experience = page.locator("main li").filter(has_text="采摘").first.get_by_role("link").first
    host.submit_and_wait(lambda: experience.click())
    host.submit_and_wait(
        lambda: (
            page.locator("main")
            .get_by_role("link", name=host.t("场次", context="sessions of an experience"), exact=True)
            .click()
        )
    )
    host.step("sessions")
    remove = page.locator("main table.host-sessions button.link")
    assert remove.count() >= 1 and _too_small(remove) == []


def _stay_room(live) -> tuple[int, int]:
    """The demo stay 罗渡农家乐 and its 标准间: (listing id, room type id)."""
    import sqlalchemy as sa

    from tourism.models import Listing, UnitType

    with live.app_context() as db:
        row = db.session.execute(
            sa.select(Listing.id, UnitType.id)
            .join(UnitType, UnitType.listing_id == Listing.id)
            .where(Listing.name == "罗渡农家乐", UnitType.name == "标准间")
        ).one()
    return row[0], row[1]


def test_small_phone_order_and_booking_links(open_page, live_server):
    """After the order: 我的订单's and 我的预订's rows (an order's or a booking's code, the stay it books),
    their 我的 · 我的预订 (我的 · 我的订单) links, an order's 申请发票 · 我的发票 and a booking's 查看订单 / 我的预订 / its
    stay are what a thumb taps to go on: each at least 40 px high (they were 19 px lines of text)."""
    import random
    from datetime import timedelta

    from shop.timeutil import local_date, now_utc

    a = demo_product(live_server, VILLAGE_A)
    email = new_account(live_server, "taps")
    order = place_order_by_api(live_server, email, [a["id"]])
    listing_id, room_id = _stay_room(live_server)
    check_in = local_date(now_utc()) + timedelta(days=random.randint(200, 300))
    status, booking = api(
        live_server,
        "POST",
        "/bookings",
        {
            "listing_id": listing_id,
            "unit_type_id": room_id,
            "checkin": check_in.isoformat(),
            "checkout": (check_in + timedelta(days=1)).isoformat(),
            "guests": 2,
            "payment_method": "arrival",
        },
        token=api_token(live_server, email),
    )
    assert status == 201, booking
    buyer = open_page("buyer", size=SMALL_PHONE)
    page = buyer.page
    buyer.login(email)
    for path, selector, at_least in (
        ("/orders", "main .account-links a, main .order-list a", 4),
        (f"/orders/{order}", "main .page-links a", 2),
        ("/bookings", "main .account-links a, main .booking-list a", 3),
        (f"/bookings/{booking['code']}", "main .page-links a, main .booking-detail dd > a:first-child", 3),
    ):
        buyer.goto(path)
        links = page.locator(selector)
        assert links.count() >= at_least, path
        assert _too_small(links) == [], path
