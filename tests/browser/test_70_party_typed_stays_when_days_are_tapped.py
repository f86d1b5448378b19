"""Journey: a family of three, not signed in, on the farm stay's page types 人数 3 and 间数 2 into the booking
form, then taps the arrival and departure days on the calendar. The day links carried the party and rooms
the page was drawn with (2 people, 1 room), so the form came back with 2 and 1 and the total was for them:
a party or rooms typed since go with the link tapped (static/js/room_calendar.js). Without JavaScript the
page's links carry what the page was drawn with: a room type and party chosen (the switch above the month,
a search for three) are kept by every tap."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from playwright.sync_api import expect

STAY = "罗渡农家乐"
FAMILY_ROOM = "家庭房"


def _listing(live) -> tuple[int, str, int, int]:
    from tourism.models import Listing, UnitType

    with live.app_context() as db:
        listing_id, slug, village = db.session.execute(
            sa.select(Listing.id, Listing.slug, Listing.village_id).where(Listing.name == STAY)
        ).one()
        family = db.session.scalar(
            sa.select(UnitType.id).where(UnitType.listing_id == listing_id, UnitType.name == FAMILY_ROOM)
        )
    return listing_id, slug, village, family


def _arrival(start: int):
    from shop.timeutil import local_date, now_utc

    today = local_date(now_utc())
    return next(today + timedelta(days=n) for n in range(start, start + 40) if (today + timedelta(days=n)).day <= 25)


def test_the_party_and_rooms_typed_stay_when_days_are_tapped(open_page, live_server, viewport):
    listing_id, slug, village, family = _listing(live_server)
    arrive = _arrival(140 if viewport.is_phone else 150)
    leave = arrive + timedelta(days=1)
    tourist = open_page("tourist")
    page = tourist.page
    tourist.goto(f"/listings/{listing_id}-{slug}?village={village}&month={arrive:%Y-%m}")
    box = page.locator(".book-box")
    box.get_by_label(tourist.t("人数")).fill("3")
    box.get_by_label(tourist.t("间数")).fill("2")
    tourist.step("party of three, two rooms typed")

    tourist.submit_and_wait(page.get_by_role("link", name=tourist.t("%(d)s 入住", d=arrive.isoformat())).click)
    expect(box.get_by_label(tourist.t("人数"))).to_have_value("3")
    expect(box.get_by_label(tourist.t("间数"))).to_have_value("2")
    tourist.submit_and_wait(page.get_by_role("link", name=tourist.t("%(d)s 离店", d=leave.isoformat())).click)
    expect(box.get_by_label(tourist.t("人数"))).to_have_value("3")
    expect(box.get_by_label(tourist.t("间数"))).to_have_value("2")
    quote = page.get_by_role("region", name=tourist.t("所选日期"))
    expect(quote).to_contain_text(tourist.tn("%(num)s 人", 3))
    back = f"/stays?checkin={arrive}&checkout={leave}&guests=3&village={village}"
    expect(page.locator("p.back a")).to_have_attribute("href", back)
    tourist.step("days tapped: still three people, two rooms")

    # a party typed wrong (0) is not carried: the link's own party, not a 400 page
    box.get_by_label(tourist.t("人数")).fill("0")
    tourist.submit_and_wait(page.get_by_role("link", name=tourist.t("%(d)s 入住", d=leave.isoformat())).click)
    expect(box.get_by_label(tourist.t("人数"))).to_have_value("3")
    tourist.step("a party of 0 typed: the page's own kept")
    # nor when another room is chosen in the form (which shows that room's calendar)
    box.get_by_label(tourist.t("人数")).fill("0")
    tourist.submit_and_wait(lambda: box.get_by_label(tourist.t("房型")).select_option(str(family)))
    expect(page.locator("#cal-type")).to_contain_text(FAMILY_ROOM)
    expect(box.get_by_label(tourist.t("人数"))).to_have_value("3")
    tourist.step("another room with a party of 0 typed: its calendar, the page's party")


def test_without_javascript_the_room_type_and_party_chosen_stay_when_days_are_tapped(browser, live_server):
    """The page drawn with a room type and a party (here from the address a search or the switch above the
    month leads to) carries both in every day link, with no script to help."""
    listing_id, slug, village, family = _listing(live_server)
    arrive = _arrival(160)
    leave = arrive + timedelta(days=1)
    context = browser.new_context(
        base_url=live_server.url,
        java_script_enabled=False,
        locale="zh-CN",
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
    )
    try:
        page = context.new_page()
        page.goto(
            f"/listings/{listing_id}-{slug}?village={village}&month={arrive:%Y-%m}&guests=3&unit_type_id={family}"
        )
        room = page.locator('.book-box select[name="unit_type_id"]')
        expect(room).to_have_value(str(family))
        with page.expect_navigation():
            page.get_by_role("link", name=f"{arrive.isoformat()} 入住").click()
        with page.expect_navigation():
            page.get_by_role("link", name=f"{leave.isoformat()} 离店").click()
        expect(room).to_have_value(str(family))
        expect(page.locator('.book-box input[name="guests"]')).to_have_value("3")
        expect(page.locator("#cal-type")).to_contain_text(FAMILY_ROOM)
        expect(page.locator("p.back a")).to_have_attribute(
            "href", f"/stays?checkin={arrive}&checkout={leave}&guests=3&village={village}"
        )
    finally:
        context.close()
