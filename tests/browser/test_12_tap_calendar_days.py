"""Journey: a tourist on the farm stay's page taps the arrival day and the departure day on the
calendar, sees the total before booking, books (pay on arrival), and finds the host's contact and the
map link on the booking page."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa
from playwright.sync_api import expect

from tests.browser.journeys import new_account

STAY = "罗渡农家乐"


def _listing(live) -> tuple[int, str]:
    from tourism.models import Listing

    with live.app_context() as db:
        row = db.session.execute(sa.select(Listing.id, Listing.slug).where(Listing.name == STAY)).one()
    return row[0], row[1]


def test_tourist_taps_two_days_sees_the_total_and_books(open_page, live_server, viewport):
    from shop.timeutil import local_date, now_utc

    listing_id, slug = _listing(live_server)
    start = 60 if viewport.is_phone else 70
    arrive = next(
        local_date(now_utc()) + timedelta(days=n)
        for n in range(start, start + 40)
        if (local_date(now_utc()) + timedelta(days=n)).day <= 25
    )
    leave = arrive + timedelta(days=2)
    email = new_account(live_server, "cal", viewport)

    tourist = open_page("tourist")
    page = tourist.page
    tourist.login(email)
    tourist.goto(f"/listings/{listing_id}-{slug}?month={arrive:%Y-%m}")
    first = page.get_by_role("link", name=tourist.t("%(d)s 入住", d=arrive.isoformat()))
    box = first.bounding_box()
    assert box is not None and box["height"] >= 44 and box["width"] >= 40, box
    tourist.submit_and_wait(first.click)
    expect(page.locator("main")).to_contain_text(tourist.t("已选 %(a)s 入住，请再点离店日期。", a=arrive.isoformat()))
    tourist.step("arrival picked")
    tourist.submit_and_wait(page.get_by_role("link", name=tourist.t("%(d)s 离店", d=leave.isoformat())).click)
    quote = page.get_by_role("region", name=tourist.t("所选日期"))
    expect(quote).to_contain_text(
        tourist.t(  # two room types: the party, and each type's line its rooms (tourism.services.place.quote_dates)
            "%(a)s 入住，%(b)s 离店，共 %(nights)s，%(guests)s",
            a=arrive.isoformat(),
            b=leave.isoformat(),
            nights=tourist.tn("%(num)s 晚", 2),
            guests=tourist.tn("%(num)s 人", 2),
        )
    )
    expect(quote).to_contain_text(tourist.t("合计 %(t)s", t="¥"))
    tourist.step("total before booking")

    book = tourist.rx(("verb", "预订"), "预订并去支付", exact=True)
    form = page.locator("form").filter(has=page.get_by_role("button", name=book))
    expect(form.get_by_label(tourist.t("入住"))).to_have_value(arrive.isoformat())
    expect(form.get_by_label(tourist.t("离店"))).to_have_value(leave.isoformat())
    room = form.get_by_label(tourist.t("房型"))
    if room.count():
        room.select_option(index=0)
    method = form.get_by_label(tourist.t("到店支付"))
    if method.count():
        method.check()
    tourist.submit_and_wait(lambda: form.get_by_role("button", name=book).click())
    contact = page.get_by_role("region", name=tourist.t("联系接待户"))
    expect(contact).to_be_visible()
    expect(contact.get_by_role("link", name=re.compile("OpenStreetMap"))).to_have_attribute(
        "href", re.compile(r"^https://www\.openstreetmap\.org/\?mlat=")
    )
    tourist.step("booked: host contact and map")
