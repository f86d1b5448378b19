"""A listing with two room types (罗渡农家乐: 标准间 and 家庭房): each day of its calendar showed the types'
rooms left summed and the cheapest price, so a day whose 标准间 were all booked read 余2 ¥200 and could be
tapped for a 标准间 that was not there. The host's calendar and the tourist's show one type at a time,
picked above the month: its rooms left and its price each day (and, for the host, the prices set for it)."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa

from shop.db import commit
from shop.once import new_form_token
from shop.timeutil import local_date, now_utc
from tests.factories import make_user
from tests.tourism.factories import make_booking, make_listing
from tourism.models import Booking, UnitType


def _two_room_types(host=None):
    """标准间: 1 room at ¥200 (booked on the day returned); 家庭房: 2 rooms at ¥300, ¥360 at weekends."""
    listing = make_listing(host=host, units=1, price_fen=20000, weekend_price_fen=None, pay_on_arrival=True)
    family = UnitType(listing_id=listing.id, name="家庭房", units=2, max_guests=4, price_fen=30000)
    family.weekend_price_fen = 36000
    listing.unit_types.append(family)
    today = local_date(now_utc())
    day = next(today + timedelta(days=n) for n in range(3, 40) if (today + timedelta(days=n)).day <= 25)
    make_booking(listing, check_in=day)  # the 标准间, the first type
    commit()
    return listing, family, day


def _cell(page: str, day) -> str:
    """The calendar's cell of `day` (its month's calendar)."""
    found = re.search(
        rf'<td class="[^"]*">(?:(?!</td>).)*?<span class="d">{day.day}</span>(?:(?!</td>).)*</td>', page, re.S
    )
    assert found, day
    return found.group(0)


def test_the_host_sees_each_room_types_rooms_left_and_price_per_day(client, db, auth):
    host = make_user(role="host")
    listing, family, day = _two_room_types(host)
    auth.login(host)
    month = f"{day:%Y-%m}"
    page = client.get(f"/host/listings/{listing.id}?month={month}").get_data(as_text=True)
    assert "日历显示「标准间」每天的余量和价格。" in page
    assert "满" in _cell(page, day) and "余" not in _cell(page, day)  # the 标准间 is booked, not 余2
    other = day + timedelta(days=1)
    assert "余1" in _cell(page, other) and "¥200" in _cell(page, other)
    picker = re.search(rf'href="([^"]*unit_type_id={family.id})"[^>]*>家庭房</a>', page)
    assert picker, "a picker of the room type above the month"
    page = client.get(f"/host/listings/{listing.id}" + picker.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert "日历显示「家庭房」每天的余量和价格。" in page and "¥300.00 · 周末 ¥360.00" in page  # the prices set for it
    assert "余2" in _cell(page, day) and ("¥300" in _cell(page, day) or "¥360" in _cell(page, day))
    assert f"month={month}" in picker.group(1)
    following = re.search(r'href="([^"]*)"[^>]*>下月', page)
    assert following and f"unit_type_id={family.id}" in following.group(1), "another month keeps the type"


def test_the_tourist_taps_days_of_the_room_type_chosen_and_books_it(client, db):
    listing, family, day = _two_room_types()
    url = f"/listings/{listing.id}-{listing.slug}?month={day:%Y-%m}"
    page = client.get(url).get_data(as_text=True)
    cell = _cell(page, day)
    assert "满" in cell and "day-pick" not in cell, "no 标准间 left that day: nothing to tap"
    picker = re.search(rf'href="([^"]*unit_type_id={family.id}[^"]*)"[^>]*>家庭房</a>', page)
    assert picker
    page = client.get(picker.group(1).replace("&amp;", "&")).get_data(as_text=True)
    cell = _cell(page, day)
    assert "余2" in cell and f"unit_type_id={family.id}" in cell, "the 家庭房's days, each tap keeps it"
    tap = re.search(r'href="([^"]*)"', cell).group(1).replace("&amp;", "&")
    page = client.get(tap).get_data(as_text=True)
    assert re.search(
        rf'<option[^>]*selected[^>]*value="{family.id}"|<option[^>]*value="{family.id}"[^>]*selected', page
    )
    assert "余2" in _cell(page, day + timedelta(days=1))


def test_a_link_to_the_listing_without_its_slug_keeps_the_room_type_and_its_calendar(client, db):
    """`/listings/<id>?unit_type_id=…` (a link typed or shared without the page's name) is sent on to the
    named page with the room type too, as with the dates and party: without JavaScript the 家庭房's
    calendar is shown, its days' links carry it and the form keeps it (it went back to the 标准间)."""
    listing, family, day = _two_room_types()
    r = client.get(f"/listings/{listing.id}?month={day:%Y-%m}&guests=2&unit_type_id={family.id}")
    assert r.status_code == 301 and f"unit_type_id={family.id}" in r.headers["Location"]
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "日历显示「家庭房」每天的余量和价格。" in page
    cell = _cell(page, day)
    assert "余2" in cell and f"unit_type_id={family.id}" in cell
    tap = re.search(r'href="([^"]*)"', cell).group(1).replace("&amp;", "&")
    page = client.get(tap).get_data(as_text=True)
    assert re.search(
        rf'<option[^>]*selected[^>]*value="{family.id}"|<option[^>]*value="{family.id}"[^>]*selected', page
    )


def _form_action(html: str, button: str) -> str:
    """The address of the form whose submit button reads `button`."""
    found = re.search(rf'<form[^>]*action="([^"]*)"(?:(?!</form>).)*>{button}</button>', html, re.S)
    assert found, button
    return found.group(1).replace("&amp;", "&")


def test_the_hosts_close_and_reopen_land_back_on_the_room_type_looked_at(client, db, auth):
    """Closing days (through its confirmation step, and refused) and reopening one from the 家庭房's calendar
    come back to the 家庭房's calendar, not the first type's (the 标准间)."""
    host = make_user(role="host")
    listing, family, day = _two_room_types(host)
    auth.login(host)
    calendar = f"/host/listings/{listing.id}?month={day:%Y-%m}&unit_type_id={family.id}"
    page = client.get(calendar).get_data(as_text=True)
    close = _form_action(page, "关闭")
    start, end = (day + timedelta(days=1)).isoformat(), (day + timedelta(days=2)).isoformat()

    refused = client.post(close, data={"start": end, "end": start})  # reversed: the page again, with the form
    assert refused.status_code == 422 and "日历显示「家庭房」" in refused.get_data(as_text=True)

    asked = client.post(close, data={"start": start, "end": end})
    assert asked.status_code == 303
    step = client.get(asked.headers["Location"]).get_data(as_text=True)
    assert f"unit_type_id={family.id}" in step, "the confirmation's way back is the 家庭房's calendar"
    done = client.post(close, data={"start": start, "end": end, "confirm": "1"})
    assert f"unit_type_id={family.id}" in done.headers["Location"]
    again = client.post(close, data={"start": start, "end": end})  # closed already: nothing to confirm
    assert f"unit_type_id={family.id}" in again.headers["Location"]

    page = client.get(calendar).get_data(as_text=True)
    reopened = client.post(_form_action(_cell(page, day + timedelta(days=1)), "开放"))
    assert reopened.status_code == 303
    back = client.get(reopened.headers["Location"]).get_data(as_text=True)
    assert "日历显示「家庭房」每天的余量和价格。" in back and "余2" in _cell(back, day + timedelta(days=1))


def test_a_booking_action_on_the_hosts_calendar_lands_back_on_the_room_type_looked_at(client, db, auth):
    """Every form of the host's calendar posts to an address keeping the type: a booking's 取消预订 opens the
    page asking its reason, whose form and way back keep that type's calendar, its 标记未到店 refused (before
    its arrival day) goes back there."""
    host = make_user(role="host")
    listing, family, day = _two_room_types(host)
    booking = db.session.scalars(sa.select(Booking).where(Booking.listing_id == listing.id)).one()
    booking.pay_on_arrival = True  # the host may cancel it (取消预订)
    commit()
    auth.login(host)
    page = client.get(f"/host/listings/{listing.id}?month={day:%Y-%m}&unit_type_id={family.id}").get_data(as_text=True)
    actions = re.findall(r'<form[^>]*method="post"[^>]*action="(/host/[^"]*)"', page)
    assert actions and all(f"unit_type_id={family.id}" in a for a in actions), actions
    # 取消预订 opens the page asking the reason, which keeps the type: its form and its way back
    cancel = re.search(r'<a[^>]*href="([^"]*)"[^>]*>取消预订</a>', page)
    assert cancel and f"unit_type_id={family.id}" in cancel.group(1)
    asking = client.get(cancel.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert f"unit_type_id={family.id}" in _form_action(asking, "确认取消预订")
    done = client.post(_form_action(asking, "确认取消预订"), data={"confirm": "1", "reason": "漏水"})
    assert done.status_code == 302 and f"unit_type_id={family.id}" in done.headers["Location"]
    refused = client.post(f"/host/bookings/{booking.code}/no-show?unit_type_id={family.id}")
    assert refused.status_code == 302 and f"unit_type_id={family.id}" in refused.headers["Location"]


def _quote_line(page: str, name: str) -> str:
    """The line of `name` in the total shown for the tapped dates (所选日期)."""
    quote = re.search(r'<ul class="quote-lines">(.*?)</ul>', page, re.S)
    assert quote, "the dates' total"
    found = re.search(rf"<li[^>]*>{name} (?:(?!</li>).)*</li>", quote.group(1), re.S)
    assert found, name
    return found.group(0)


def test_the_dates_total_says_which_room_type_is_free_and_a_full_one_is_still_refused(client, db, auth):
    """Dates tapped over the day whose 标准间 is booked: the total of each type says the 标准间 is full and
    the 家庭房 has 2 rooms left (3 asked of it: only 2); booking the 标准间 anyway is refused as before."""
    listing, family, day = _two_room_types()
    standard = listing.unit_types[0]
    stay = f"checkin={day - timedelta(days=1)}&checkout={day + timedelta(days=1)}&guests=2"
    page = client.get(f"/listings/{listing.id}-{listing.slug}?{stay}&units=1").get_data(as_text=True)
    assert "已订满" in _quote_line(page, "标准间") and 'class="full"' in _quote_line(page, "标准间")
    assert "有空房，余 2 间" in _quote_line(page, "家庭房")
    page = client.get(f"/listings/{listing.id}-{listing.slug}?{stay}&units=3&unit_type_id={family.id}")
    assert "只余 2 间" in _quote_line(page.get_data(as_text=True), "家庭房")  # 3 asked of it

    auth.login(make_user())
    refused = client.post(
        f"/listings/{listing.id}/book",
        data={
            "form_token": new_form_token(),
            "checkin": (day - timedelta(days=1)).isoformat(),
            "checkout": (day + timedelta(days=1)).isoformat(),
            "guests": 2,
            "units": 1,
            "unit_type_id": standard.id,
            "payment_method": "arrival",
        },
    )
    assert refused.status_code == 409 and "所选日期已订满" in refused.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Booking)) == 1  # the one made before
    english = client.get(f"/listings/{listing.id}-{listing.slug}?{stay}&units=1&lang=en").get_data(as_text=True)
    assert "Fully booked" in english and "Available: 2 rooms left" in english


def test_a_tickets_dates_total_says_the_places_left_of_each_ticket_type(client, db):
    listing = make_listing(kind="ticket", units=3, max_guests=10, price_fen=5000, pay_on_arrival=True)
    child = UnitType(listing_id=listing.id, name="儿童票", units=10, max_guests=10, price_fen=2500)
    listing.unit_types.append(child)
    day = local_date(now_utc()) + timedelta(days=5)
    make_booking(listing, check_in=day, guests=2)  # the first type: 1 place left of 3
    commit()
    page = client.get(f"/listings/{listing.id}-{listing.slug}?checkin={day}&guests=2").get_data(as_text=True)
    assert "只余 1 张" in _quote_line(page, listing.unit_types[0].name)
    assert "可订，余 10 张" in _quote_line(page, "儿童票")


def test_a_party_of_five_is_quoted_each_room_type_at_the_rooms_it_needs(client, db):
    """A party of 5 from the search, at 标准间 (for 2) and 家庭房 (for 4): the form starts with 3 标准间, and the
    dates' total priced the 家庭房 at 3 rooms too — 只余 2 间, ¥900 a night — when its 2 rooms sleep the party.
    Each type's line now says and prices the rooms it needs; rooms typed that do not sleep the party say so."""
    listing = make_listing(units=4, max_guests=2, price_fen=20000, weekend_price_fen=None, pay_on_arrival=True)
    family = UnitType(listing_id=listing.id, name="家庭房", units=2, max_guests=4, price_fen=30000)
    listing.unit_types.append(family)
    standard = listing.unit_types[0]
    standard.name = "标准间"
    commit()
    day = local_date(now_utc()) + timedelta(days=10)
    stay = f"checkin={day}&checkout={day + timedelta(days=1)}&guests=5"
    page = client.get(f"/listings/{listing.id}-{listing.slug}?{stay}&lang=zh_CN").get_data(as_text=True)
    quote = re.search(r'<section class="dates-quote"(.*?)</section>', page, re.S).group(1)
    assert f"{day} 入住，{day + timedelta(days=1)} 离店，共 1 晚，5 人" in quote
    assert '标准间 · 3 间 <strong class="price">合计 ¥600.00</strong>' in quote
    assert "有空房，余 4 间" in _quote_line(page, "标准间")
    family_line = _quote_line(page, "家庭房")
    assert '家庭房 · 2 间 <strong class="price">合计 ¥600.00</strong>' in family_line
    assert "有空房，余 2 间" in family_line and "只余" not in family_line and 'class="full"' not in family_line

    # the 家庭房 chosen in the form with 1 room: said not to sleep 5, not 有空房; the 标准间 at the 3 it needs
    page = client.get(f"/listings/{listing.id}-{listing.slug}?{stay}&units=1&unit_type_id={family.id}&lang=zh_CN")
    page = page.get_data(as_text=True)
    assert "1 间住不下 5 人" in _quote_line(page, "家庭房") and 'class="full"' in _quote_line(page, "家庭房")
    assert "标准间 · 3 间" in _quote_line(page, "标准间")

    english = client.get(f"/listings/{listing.id}-{listing.slug}?{stay}&lang=en").get_data(as_text=True)
    assert "1 night, 5 guests" in english and "家庭房 · 2 rooms" in english
    assert "Available: 2 rooms left" in _quote_line(english, "家庭房")
