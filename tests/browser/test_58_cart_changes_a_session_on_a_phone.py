"""Journey 58: on a phone, a tourist puts a weekday 09:00 strawberry-picking session (红星村草莓采摘) for two in the
cart, then thinks better of it: in the cart the line's 场次 box offers the listing's sessions as its page does
(each 余 N or 已满, the 09:00 one selected), the weekend's 14:00 one is chosen and 更新 tapped. The line now names
14:00 on the weekend day and costs the weekend's price, and so does the total; checked out, paid on arrival,
the confirmed booking is for the session chosen in the cart (tests/orders/test_cart_change_session.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from tests.browser.harness import VIEWPORTS
from tests.browser.journeys import empty_cart, new_account, order_bookings, order_code_from_url, yuan

PICKING = "红星村草莓采摘"  # demo: sessions at 09:00 and 14:00 for two weeks; 38 yuan a head, 48 at weekends
SLUG = "hongxing-strawberry"


def _sessions(live) -> tuple[str, dict, dict]:
    """The picking's page path, a weekday 09:00 session and a weekend 14:00 one at least a week ahead (out of
    the other journeys' way): {id, day, start (local "YYYY-MM-DD HH:MM"), price_fen}."""
    from shop.timeutil import local_date, now_utc, to_local
    from tourism.models import Listing, Session, UnitType

    with live.app_context() as db:
        listing = db.session.scalar(sa.select(Listing).where(Listing.slug == SLUG))
        unit_type = db.session.scalar(sa.select(UnitType).where(UnitType.listing_id == listing.id))
        start = local_date(now_utc()) + timedelta(days=7)
        rows = db.session.scalars(
            sa.select(Session)
            .where(Session.unit_type_id == unit_type.id, Session.session_date >= start, Session.capacity > 0)
            .order_by(Session.starts_at)
        ).all()

        def first(weekend: bool, hour: int) -> dict:
            s = next(
                s for s in rows if (s.session_date.weekday() >= 5) == weekend and to_local(s.starts_at).hour == hour
            )
            price = unit_type.weekend_price_fen if weekend else unit_type.price_fen
            start_text = to_local(s.starts_at).strftime("%Y-%m-%d %H:%M")
            return {"id": s.id, "day": s.session_date, "start": start_text, "price_fen": price}

        return f"/listings/{listing.id}-{listing.slug}", first(False, 9), first(True, 14)


def _booked_session(live, code: str) -> int | None:
    from orders.models import Order

    with live.app_context() as db:
        [booking] = db.session.scalar(sa.select(Order).where(Order.code == code)).bookings
        return booking.session_id


@pytest.mark.parametrize("viewport", [VIEWPORTS[0]], ids=[VIEWPORTS[0].name], indirect=True)
def test_a_tourist_changes_the_session_of_a_cart_line_on_a_phone(open_page, live_server, viewport):
    path, nine, two = _sessions(live_server)
    assert two["price_fen"] != nine["price_fen"]
    tourist = open_page("tourist")
    tourist.login(new_account(live_server, "cartsession", viewport))
    empty_cart(tourist)
    page = tourist.page
    main = page.locator("main")

    # the picking's page: the weekday 09:00 session for two, 加入购物车
    tourist.goto(path)
    expect(page.get_by_role("heading", level=1)).to_have_text(PICKING)
    to_cart = page.get_by_role("button", name=tourist.t("加入购物车"), exact=True)
    form = main.locator("form").filter(has=to_cart)
    form.get_by_label(tourist.t("场次")).select_option(value=str(nine["id"]))
    form.get_by_label(tourist.t("人数")).fill("2")
    tourist.step("the 09:00 session")
    tourist.submit_and_wait(to_cart.click)

    row = main.locator("tr.booking-line")
    expect(row).to_have_count(1)
    named = row.locator(".item .meta").first  # the line's session, date first: 采摘票 · 2026-12-14 09:00 · 2 人
    expect(named).to_contain_text(nine["start"])
    box = row.get_by_label(tourist.t("场次"))
    expect(box).to_have_value(str(nine["id"]))  # its own session selected
    expect(box.locator("option:checked")).to_contain_text(nine["start"])
    offered = box.locator("option")
    expect(offered.filter(has_text=two["start"])).to_have_count(1)
    places = (tourist.t("%(start)s · 余 %(num)s", start="", num="").strip(), tourist.t("%(start)s · 已满", start=""))
    for text in offered.all_inner_texts():  # each says its places, as the listing's 场次 box does: 余 N or 已满
        assert any(words in text for words in places), (text, places)
    expect(main.locator("dl.totals")).to_contain_text(yuan(2 * nine["price_fen"]))
    tourist.step("in the cart: its 场次 box")

    # another session, in the cart: the weekend's 14:00, 更新
    box.select_option(value=str(two["id"]))
    tourist.submit_and_wait(lambda: row.get_by_role("button", name=tourist.t("更新")).tap())
    expect(page.locator(".alert-error")).to_have_count(0)
    expect(named).to_contain_text(two["start"])
    expect(named).not_to_contain_text(nine["start"])
    expect(row.get_by_label(tourist.t("场次"))).to_have_value(str(two["id"]))
    expect(row).to_contain_text(yuan(2 * two["price_fen"]))
    expect(main.locator("dl.totals")).to_contain_text(yuan(2 * two["price_fen"]))
    tourist.step("changed to the weekend's 14:00")

    # checked out, paid on arrival: the booking is for the session chosen in the cart
    tourist.submit_and_wait(lambda: main.get_by_role("link", name=tourist.t("去结算")).click())
    expect(page.get_by_role("heading", level=1)).to_contain_text(tourist.t("结算"))
    expect(main).to_contain_text(two["start"])
    arrival = page.get_by_label(tourist.t("到店支付"))
    if arrival.count():
        arrival.check()
    tourist.step("checkout")
    tourist.submit_and_wait(lambda: page.get_by_role("button", name=tourist.t("提交订单")).click())
    code = order_code_from_url(tourist)
    [booking] = order_bookings(live_server, code)
    assert booking["status"] == "confirmed" and booking["check_in"] == two["day"], booking
    assert _booked_session(live_server, code) == two["id"]
    expect(main).to_contain_text(booking["confirmation"])
    tourist.step("booked: the session chosen in the cart")
