"""A listing opened from a dated search showed this month's calendar, not the check-in's (a search for
2027-08 opened on 2026-12; the price summary was right). The page opens its calendar at the month of the
chosen check-in, session or ticket day; the month's links, the room-type switch and the day links keep the
dates and the party; 返回列表 goes back to the search with them."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import sqlalchemy as sa

from shop.db import commit
from shop.once import new_form_token
from shop.timeutil import local_date, now_utc
from tests.factories import make_user
from tests.tourism.factories import make_booking, make_listing, make_session
from tourism.models import Booking, ListingKind, UnitType

#: 40 days ahead is always another month than today's, and within the booking horizon
AHEAD = 40


def _ahead(days: int = AHEAD):
    return local_date(now_utc()) + timedelta(days=days)


def _month_shown(page: str) -> str:
    found = re.search(r'class="cal-head">.*?<strong>(\d{4}-\d{2})</strong>', page, re.S)
    assert found
    return found.group(1)


def _href(page: str, pattern: str) -> str:
    found = re.search(rf'href="([^"]*)"[^>]*>\s*{pattern}', page)
    assert found, pattern
    return html.unescape(found.group(1))


def _listing_link(client, path: str, listing) -> str:
    """The search page's link to `listing`, as the tourist taps it."""
    page = client.get(path).get_data(as_text=True)
    found = re.search(rf'href="(/listings/{listing.id}-[^"]*)"', page)
    assert found
    return html.unescape(found.group(1))


def test_a_stay_from_a_dated_search_opens_at_the_check_in_month_keeping_dates_party_and_rooms(client, db):
    listing = make_listing(units=3, max_guests=2, pay_on_arrival=True)
    listing.unit_types.append(UnitType(listing_id=listing.id, name="家庭房", units=2, max_guests=4, price_fen=30000))
    commit()
    check_in, check_out = _ahead(), _ahead(AHEAD + 2)
    link = _listing_link(client, f"/stays?checkin={check_in}&checkout={check_out}&guests=3", listing)
    page = client.get(link).get_data(as_text=True)
    assert _month_shown(page) == f"{check_in:%Y-%m}", "the check-in's month, not this month's"
    assert f'value="{check_in}"' in page and f'value="{check_out}"' in page and 'value="3"' in page
    back = _href(page, "‹ 返回列表")
    assert back.startswith("/stays?") and all(
        part in back for part in (f"checkin={check_in}", f"checkout={check_out}", "guests=3")
    ), back
    # the next month, the room-type switch and a day of the calendar keep the dates, the party and the rooms
    following = _href(page, "下月")
    assert f"checkin={check_in}" in following and f"checkout={check_out}" in following and "guests=3" in following
    page = client.get(following).get_data(as_text=True)
    assert _month_shown(page) == f"{(check_in.replace(day=1) + timedelta(days=32)):%Y-%m}"
    assert f'value="{check_in}"' in page and f'value="{check_out}"' in page and 'value="3"' in page
    switch = _href(page, "标准间")
    assert f"checkin={check_in}" in switch and "guests=3" in switch
    page = client.get(_href(page, "‹ 上月")).get_data(as_text=True)
    assert _month_shown(page) == f"{check_in:%Y-%m}"
    day = _href(page, r"<span class=\"d\">" + str(check_in.day) + "</span>")
    assert "guests=3" in day and f"month={check_in:%Y-%m}" in day


def test_an_experience_opens_at_the_month_of_its_session_or_of_the_day_searched(client, db):
    listing = make_listing(kind=ListingKind.EXPERIENCE, units=10, max_guests=10, pay_on_arrival=True)
    session = make_session(listing, day=_ahead())
    commit()
    link = _listing_link(client, f"/experiences?checkin={session.session_date}&guests=2", listing)
    page = client.get(link).get_data(as_text=True)
    assert _month_shown(page) == f"{session.session_date:%Y-%m}"
    assert re.search(rf'<option[^>]*selected[^>]*value="{session.id}"|value="{session.id}"[^>]*selected', page)
    following = _href(page, "下月")
    assert f"session_id={session.id}" in following and "guests=2" in following, "another month keeps the session"
    page = client.get(f"/listings/{listing.id}-{listing.slug}?session_id={session.id}").get_data(as_text=True)
    assert _month_shown(page) == f"{session.session_date:%Y-%m}"
    assert _href(page, "‹ 返回列表").startswith("/experiences")


def test_a_ticket_opens_at_the_month_of_its_day_and_a_month_asked_still_wins(client, db):
    listing = make_listing(kind=ListingKind.TICKET, units=50, max_guests=10, pay_on_arrival=True)
    commit()
    day = _ahead()
    link = _listing_link(client, f"/tickets?checkin={day}&guests=4", listing)
    page = client.get(link).get_data(as_text=True)
    assert _month_shown(page) == f"{day:%Y-%m}" and f'value="{day}"' in page
    today = local_date(now_utc())
    page = client.get(link + f"&month={today:%Y-%m}").get_data(as_text=True)
    assert _month_shown(page) == f"{today:%Y-%m}"
    page = client.get(f"/listings/{listing.id}-{listing.slug}").get_data(as_text=True)
    assert _month_shown(page) == f"{today:%Y-%m}", "no day chosen: this month"


def test_a_ticket_or_experience_quote_speaks_of_places_not_of_vacant_rooms(client, db):
    """所选日期 of a ticket day or an experience said 是否有空房在提交时确认 (whether there are vacant rooms)."""
    ticket = make_listing(kind=ListingKind.TICKET, units=50, max_guests=10, pay_on_arrival=True)
    stay = make_listing(units=3, pay_on_arrival=True)
    commit()
    day = _ahead(5)
    page = client.get(f"/listings/{ticket.id}-{ticket.slug}?checkin={day}&guests=2").get_data(as_text=True)
    assert "是否还有名额在提交时确认" in page and "空房" not in page
    page = client.get(
        f"/listings/{stay.id}-{stay.slug}?checkin={day}&checkout={day + timedelta(days=1)}&guests=2"
    ).get_data(as_text=True)
    assert "是否有空房在提交时确认" in page


def _session_box(page: str) -> str:
    found = re.search(r'<select id="session_id".*?</select>', page, re.S)
    assert found
    return found.group(0)


def test_a_day_searched_past_the_sessions_offered_offers_that_days_sessions_never_the_first_one(client, db, auth):
    """Hosts add sessions up to 180 days ahead, the 场次 box offered the next 60 days: a search for a day 100
    days ahead opened the page (now at that month) with the quote of that day and the box on the first session
    of the 60 — 预订 booked it unseen. The box offers that day's sessions, the day's first chosen; a day without
    one asks 请选择场次, and 预订 without a choice books nothing."""
    listing = make_listing(kind=ListingKind.EXPERIENCE, units=10, max_guests=10, pay_on_arrival=True)
    soon = make_session(listing, day=_ahead(5))
    far = make_session(listing, day=_ahead(100), hour=14)
    commit()
    page = client.get(f"/listings/{listing.id}-{listing.slug}?checkin={far.session_date}&guests=2").get_data(
        as_text=True
    )
    box = _session_box(page)
    assert re.search(rf'<option selected value="{far.id}"|<option value="{far.id}" selected', box), box
    assert _month_shown(page) == f"{far.session_date:%Y-%m}"
    auth.login(make_user())
    r = client.post(
        f"/listings/{listing.id}/book",
        data={"form_token": new_form_token(), "guests": 2, "payment_method": "arrival", "session_id": far.id},
    )
    assert r.status_code == 302
    assert db.session.scalar(sa.select(Booking.session_id)) == far.id

    empty_day = _ahead(6)
    page = client.get(f"/listings/{listing.id}-{listing.slug}?checkin={empty_day}&guests=2").get_data(as_text=True)
    box = _session_box(page)
    assert re.search(r'<option value="0">请选择场次</option>\s*<option', box), box
    assert "selected" not in box and f'value="{soon.id}"' in box
    r = client.post(
        f"/listings/{listing.id}/book",
        data={"form_token": new_form_token(), "guests": 2, "payment_method": "arrival", "session_id": "0"},
    )
    assert r.status_code == 422 and "请选择场次" in r.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Booking)) == 1


def test_the_booking_forms_type_box_is_named_for_the_kind(client, db):
    """A stay's booking form named its room-type box 房型/票种 (room type or ticket type)."""
    stay = make_listing(units=3, pay_on_arrival=True)
    stay.unit_types.append(UnitType(listing_id=stay.id, name="家庭房", units=2, max_guests=4, price_fen=30000))
    ticket = make_listing(kind=ListingKind.TICKET, units=50, pay_on_arrival=True)
    ticket.unit_types.append(UnitType(listing_id=ticket.id, name="儿童票", units=50, max_guests=10, price_fen=3000))
    commit()
    for listing, label in ((stay, "房型"), (ticket, "票种")):
        page = client.get(f"/listings/{listing.id}-{listing.slug}").get_data(as_text=True)
        assert re.search(rf'<label[^>]*for="unit_type_id"[^>]*>{label}</label>', page), listing.kind
        assert "房型/票种" not in page


def test_back_to_the_list_keeps_the_village_the_list_was_filtered_to(client, db):
    """返回列表 kept the search's dates and party but not its 村: a tourist who had narrowed the stays to one
    village came back to every village's. The card link carries `?village=`, the calendar's links keep it,
    and 返回列表 goes back to the list filtered to that village."""
    listing = make_listing(units=3, max_guests=2, pay_on_arrival=True)
    make_listing(units=3, max_guests=2, pay_on_arrival=True)  # another village's, not on the filtered list
    commit()
    village = listing.village_id
    check_in = _ahead()
    link = _listing_link(client, f"/stays?village={village}&checkin={check_in}&guests=2", listing)
    assert f"village={village}" in link
    page = client.get(link).get_data(as_text=True)
    back = _href(page, "‹ 返回列表")
    assert back.startswith("/stays?") and f"village={village}" in back and f"checkin={check_in}" in back, back
    # a day tapped on the calendar (the departure) and another month keep it for 返回列表
    day = _href(page, r"<span class=\"d\">" + str((check_in + timedelta(days=2)).day) + "</span>")
    assert f"village={village}" in day, day
    assert f"village={village}" in _href(page, "下月")
    page = client.get(day).get_data(as_text=True)
    back = _href(page, "‹ 返回列表")
    assert f"village={village}" in back and f"checkin={check_in}" in back, back
    listed = client.get(back).get_data(as_text=True)
    assert "共 1 个项目" in listed and listing.name in listed
    # a search for every village leads back to every village's list
    page = client.get(_listing_link(client, f"/stays?checkin={check_in}", listing)).get_data(as_text=True)
    assert "village=" not in _href(page, "‹ 返回列表")
    # the page's address without its slug keeps it on its way to the named page
    r = client.get(f"/listings/{listing.id}?village={village}&checkin={check_in}")
    assert r.status_code == 301 and f"village={village}" in r.headers["Location"]


def _quote(page: str) -> str:
    found = re.search(r'<section class="dates-quote".*?</section>', page, re.S)
    assert found
    return found.group(0)


def test_an_experiences_quote_says_the_places_left_of_the_session_chosen(client, db):
    """所选日期 of a ticket day says 可订，余 N 张 / 只余 N 张 / 已售完; an experience's said nothing of its
    session's places, so a party larger than them saw only a total. The line of the session chosen says its
    places left: 可订，余 N 个名额, 只余 N 个名额 (fewer than the party), 已满; in English too."""
    listing = make_listing(kind=ListingKind.EXPERIENCE, units=10, max_guests=10, pay_on_arrival=True)
    session = make_session(listing, day=_ahead(5), capacity=6)
    full = make_session(listing, day=_ahead(6), capacity=2)
    make_booking(listing, check_in=session.session_date, guests=2, session=session)
    make_booking(listing, check_in=full.session_date, guests=2, session=full)
    commit()
    path = f"/listings/{listing.id}-{listing.slug}"
    quote = _quote(client.get(f"{path}?checkin={session.session_date}&guests=2").get_data(as_text=True))
    assert "可订，余 4 个名额" in quote and 'class="full"' not in quote, quote
    quote = _quote(client.get(f"{path}?checkin={session.session_date}&guests=5").get_data(as_text=True))
    assert "只余 4 个名额" in quote and 'class="full"' in quote, quote
    quote = _quote(client.get(f"{path}?session_id={full.id}&checkin={full.session_date}").get_data(as_text=True))
    assert "已满" in quote, quote
    # a session of another day than the quote's says nothing of its places for that day
    quote = _quote(client.get(f"{path}?session_id={full.id}&checkin={session.session_date}").get_data(as_text=True))
    assert "名额" not in quote.replace("是否还有名额", "") and "已满" not in quote, quote
    english = client.get(f"{path}?checkin={session.session_date}&guests=1&lang=en").get_data(as_text=True)
    assert "Available: 4 places left" in _quote(english)
    english = client.get(f"{path}?checkin={session.session_date}&guests=5&lang=en").get_data(as_text=True)
    assert "Only 4 places left" in _quote(english)
    english = client.get(f"{path}?session_id={full.id}&checkin={full.session_date}&lang=en").get_data(as_text=True)
    assert "Full" in _quote(english)
