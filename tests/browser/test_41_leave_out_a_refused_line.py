"""Journey 41: the last room goes while a buyer is at the checkout. On a phone, a signed-in buyer has the
village's pickles and a night at the farm stay in the cart and fills in the address; meanwhile other
tourists take every room of that night. 提交订单 places nothing (all or nothing) and the page names the stay
and offers 去掉这一项，结算其余; one tap shows the checkout again with the pickles alone and the address as
typed; placed with cash on delivery, the order holds the pickles only, and the stay waits in the cart,
unticked (orders.services.cart.refused_line, orders.views._leave_out)."""

from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import expect

from tests.browser.journeys import (
    ADDRESS,
    api,
    api_token,
    fill_address,
    go_to_checkout,
    new_account,
    new_shopper_on_product,
    order_bookings,
    order_code_from_url,
)

STAY = "罗渡农家乐"
ROOM = "标准间"


def _stay(live) -> dict:
    import sqlalchemy as sa

    from tourism.models import Listing, UnitType

    with live.app_context() as db:
        row = db.session.execute(
            sa.select(Listing.id, Listing.slug, UnitType.id)
            .join(UnitType, UnitType.listing_id == Listing.id)
            .where(Listing.name == STAY, UnitType.name == ROOM)
        ).one()
    return {"id": row[0], "slug": row[1], "unit_type_id": row[2]}


def _take_every_room(live, stay: dict, check_in, check_out) -> None:
    """Other tourists book the room type's every room for those nights (card, held), through the API."""
    body = {
        "listing_id": stay["id"],
        "unit_type_id": stay["unit_type_id"],
        "checkin": check_in.isoformat(),
        "checkout": check_out.isoformat(),
        "guests": 2,
        "payment_method": "card",
    }
    for _ in range(20):
        email = new_account(live, "rival")
        status, answer = api(live, "POST", "/bookings", body, token=api_token(live, email))
        if status == 409:
            return
        assert status == 201, (status, answer)
    raise AssertionError("the room type never filled up")


def test_a_line_refused_at_checkout_is_left_out_and_the_rest_placed(open_page, live_server, viewport):
    from shop.timeutil import local_date, now_utc

    shopper, _product = new_shopper_on_product(open_page, live_server, "leave-out", viewport)
    page = shopper.page
    main = page.locator("main")
    shopper.submit_and_wait(lambda: page.get_by_role("button", name=shopper.t("加入购物车")).click())

    stay = _stay(live_server)
    # a night no other journey books (each variant its own), so the rivals fill exactly this one
    check_in = local_date(now_utc()) + timedelta(days=150 + (7 if viewport.is_phone else 0))
    check_out = check_in + timedelta(days=1)
    shopper.goto(f"/listings/{stay['id']}-{stay['slug']}?checkin={check_in}&checkout={check_out}&guests=2")
    to_cart = page.get_by_role("button", name=shopper.t("加入购物车"), exact=True)
    form = page.locator("form").filter(has=to_cart)
    room = form.get_by_label(shopper.t("房型"))
    if room.count():
        room.select_option(label=ROOM)
    shopper.submit_and_wait(to_cart.click)

    go_to_checkout(shopper, expected_lines=2)
    fill_address(shopper)
    expect(main).to_contain_text(STAY)
    _take_every_room(live_server, stay, check_in, check_out)  # while the buyer types
    offer = main.locator(".leave-out")
    with shopper.problems.allow(409, r"/checkout$"):  # the refusal is the answer expected here
        shopper.submit_and_wait(lambda: page.get_by_role("button", name=shopper.t("提交订单")).click())
        expect(offer).to_be_visible()
        expect(offer).to_contain_text(STAY)
        shopper.step("refused: the stay named, the rest offered")
    shopper.submit_and_wait(lambda: offer.get_by_role("button", name=shopper.t("去掉这一项，结算其余")).click())

    expect(page.get_by_role("heading", level=1)).to_contain_text(shopper.t("结算"))
    expect(main.locator(".checkout-lines")).not_to_contain_text(STAY)
    expect(page.get_by_label(shopper.t("收货人"), exact=True)).to_have_value(ADDRESS["收货人"])  # as typed
    shopper.step("the rest, the address as typed")
    page.get_by_label(shopper.t("货到付款")).check()
    shopper.submit_and_wait(lambda: page.get_by_role("button", name=shopper.t("提交订单")).click())
    code = order_code_from_url(shopper)
    assert order_bookings(live_server, code) == []
    expect(main).to_contain_text("腌菜")

    shopper.goto("/cart")
    stay_row = main.locator("tr.booking-line")
    expect(stay_row).to_contain_text(STAY)
    expect(stay_row.get_by_role("checkbox")).to_have_attribute("aria-checked", "false")
    shopper.step("the stay waits in the cart, unticked")
