"""Journey: a family of three on the farm stay's page chooses 家庭房 in the booking form, then taps the arrival
and departure days on the calendar. The calendar shows one room type at a time and its day links carry that
type: choosing a room in the form shows that room's calendar (static/js/room_calendar.js), so the taps keep
家庭房 instead of going back to 标准间 (which sleeps two and then refuses the family)."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from playwright.sync_api import expect

from tests.browser.journeys import new_account

STAY = "罗渡农家乐"
FAMILY_ROOM = "家庭房"


def _listing(live) -> tuple[int, str, int]:
    from tourism.models import Listing, UnitType

    with live.app_context() as db:
        listing_id, slug = db.session.execute(sa.select(Listing.id, Listing.slug).where(Listing.name == STAY)).one()
        family = db.session.scalar(
            sa.select(UnitType.id).where(UnitType.listing_id == listing_id, UnitType.name == FAMILY_ROOM)
        )
    return listing_id, slug, family


def test_a_room_chosen_in_the_form_stays_chosen_when_days_are_tapped(open_page, live_server, viewport):
    from shop.timeutil import local_date, now_utc

    listing_id, slug, family = _listing(live_server)
    start = 110 if viewport.is_phone else 125
    arrive = next(
        local_date(now_utc()) + timedelta(days=n)
        for n in range(start, start + 40)
        if (local_date(now_utc()) + timedelta(days=n)).day <= 25
    )
    leave = arrive + timedelta(days=1)
    email = new_account(live_server, "room", viewport)

    tourist = open_page("tourist")
    page = tourist.page
    tourist.login(email)
    tourist.goto(f"/listings/{listing_id}-{slug}?month={arrive:%Y-%m}")
    room = page.locator('.book-box select[name="unit_type_id"]')
    expect(room).not_to_have_value(str(family))  # the calendar's first type, 标准间, to begin with
    tourist.submit_and_wait(lambda: room.select_option(str(family)))
    expect(page.locator("#cal-type")).to_contain_text(FAMILY_ROOM)  # the calendar now shows the family room
    expect(room).to_have_value(str(family))
    tourist.step("family room chosen: its calendar")

    tourist.submit_and_wait(page.get_by_role("link", name=tourist.t("%(d)s 入住", d=arrive.isoformat())).click)
    expect(room).to_have_value(str(family))
    tourist.submit_and_wait(page.get_by_role("link", name=tourist.t("%(d)s 离店", d=leave.isoformat())).click)
    expect(room).to_have_value(str(family))
    quote = page.get_by_role("region", name=tourist.t("所选日期"))
    expect(quote).to_contain_text(FAMILY_ROOM)
    tourist.step("days tapped: still the family room")
