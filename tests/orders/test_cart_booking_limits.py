"""A booking put in the cart (加入购物车, signed in or not) is refused in the words its listing's own rules use,
as 预订 on the listing's page is: a session short of places says 改选场次, a party over the listing's limit says
that limit (每个预订最多 6 人, 所选 1 间最多住 2 人), not the 1 到 100 a booking line is bounded by; and the
cart line's boxes offer no more than its type takes (docs/journeys.md, the tourist's booking refusals)."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa

from orders.models import CartLine
from shop.db import commit
from shop.timeutil import local_date, now_utc
from tests.tourism.factories import make_listing, make_session
from tourism.models import UnitType


def _day(n: int):
    return local_date(now_utc()) + timedelta(days=n)


def _flashed(page: str) -> str:
    """The page's error messages at its top (the flashes), one string."""
    return " ".join(
        " ".join(re.findall(r'<div class="alert alert-error" role="status">(.*?)</div>', page, re.S)).split()
    )


def _add(client, lang: str, **data) -> str:
    """加入购物车 in `lang`; the flashed errors of the page it leads to."""
    page = client.post(f"/cart/bookings?lang={lang}", data=data, follow_redirects=True).get_data(as_text=True)
    return _flashed(page)


def _lines(db) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(CartLine))


def test_a_cart_line_of_a_session_short_of_places_says_pick_another_session_a_ticket_another_date(client, db):
    """5 places left for 6 guests: an experience's session put in the cart (or its line raised to 6) says
    该场次…改选场次, as the booking form does; a ticket's day still says 改选日期 — in Chinese and English."""
    experience = make_listing(kind="experience", name="草莓采摘", max_guests=10)
    session = make_session(experience, day=_day(5), capacity=5)
    ticket = make_listing(kind="ticket", name="花海门票", max_guests=10, units=5)
    commit()
    said = {
        ("zh_CN", "experience"): "「草莓采摘」该场次只剩 5 个名额，请减少人数或改选场次",
        ("en", "experience"): "“草莓采摘” has only 5 places left in this session: choose fewer guests or another "
        "session",
        ("zh_CN", "ticket"): "「花海门票」只剩 5 个名额，请减少人数或改选日期",
        ("en", "ticket"): "“花海门票” has only 5 places left: choose fewer guests or another date",
    }
    other = {"experience": ("改选日期", "another date"), "ticket": ("改选场次", "another session")}
    forms = ((experience, {"session_id": session.id}), (ticket, {"checkin": _day(5).isoformat()}))
    for lang in ("zh_CN", "en"):
        for listing, fields in forms:
            flashed = _add(client, lang, listing_id=listing.id, guests=6, **fields)
            assert said[lang, listing.kind] in flashed, (lang, listing.kind, flashed)
            assert not any(words in flashed for words in other[listing.kind]), (lang, listing.kind, flashed)
    assert _lines(db) == 0

    _add(client, "zh_CN", listing_id=experience.id, guests=2, session_id=session.id)
    line = db.session.scalars(sa.select(CartLine)).one()
    page = client.post(f"/cart/lines/{line.id}", data={"guests": 6}, follow_redirects=True).get_data(as_text=True)
    assert said["zh_CN", "experience"] in _flashed(page)
    db.session.refresh(line)
    assert line.guests == 2


def test_a_signed_out_party_out_of_the_listings_range_is_told_the_listings_limit_not_1_to_100(client, db):
    """A guest (signed out) types 7 or 150 for a ticket taking 6 a booking: 每个预订最多 6 人; 0: 人数不能小于 1;
    150 for a stay's room sleeping 2: 所选 1 间最多住 2 人 — the words 预订 signed in gives, never 1 到 100; nothing
    goes into the cart."""
    ticket = make_listing(kind="ticket", max_guests=6, units=50)
    stay = make_listing(units=2, max_guests=2)
    commit()
    day = {"checkin": _day(5).isoformat()}
    stay_dates = {"checkin": _day(5).isoformat(), "checkout": _day(7).isoformat(), "units": 1}
    said = {
        "zh_CN": {"over": "每个预订最多 6 人", "zero": "人数不能小于 1", "rooms": "所选 1 间最多住 2 人"},
        "en": {
            "over": "At most 6 guests a booking",
            "zero": "must be at least 1",
            "rooms": "At most 2 guests in the rooms chosen (1)",
        },
    }
    for lang in ("zh_CN", "en"):
        for guests in (7, 150):
            flashed = _add(client, lang, listing_id=ticket.id, guests=guests, **day)
            assert said[lang]["over"] in flashed and "100" not in flashed, (lang, guests, flashed)
        flashed = _add(client, lang, listing_id=ticket.id, guests=0, **day)
        assert said[lang]["zero"] in flashed and "100" not in flashed, (lang, flashed)
        flashed = _add(client, lang, listing_id=stay.id, guests=150, **stay_dates)
        assert said[lang]["rooms"] in flashed and "100" not in flashed, (lang, flashed)
    assert _lines(db) == 0


def test_a_cart_stay_lines_rooms_box_offers_its_room_types_rooms(client, db):
    """A stay line of a 标准间 type with 3 rooms (its listing has a 家庭房 of 7 too): its 间数 box goes up to 3,
    not 50."""
    listing = make_listing(units=3, max_guests=2)
    db.session.add(UnitType(listing_id=listing.id, name="家庭房", units=7, max_guests=4, price_fen=30000))
    commit()
    client.post(
        "/cart/bookings",
        data={
            "listing_id": listing.id,
            "unit_type_id": listing.unit_types[0].id,
            "checkin": _day(5).isoformat(),
            "checkout": _day(6).isoformat(),
            "guests": 2,
            "units": 1,
        },
    )
    assert _lines(db) == 1
    box = re.search(r'<input[^>]*name="units"[^>]*>', client.get("/cart").get_data(as_text=True)).group(0)
    assert 'max="3"' in box, box


def test_a_stay_whose_rooms_sleep_more_than_a_booking_line_takes_is_bounded_at_100_in_the_limits_words(client, db):
    """Three rooms sleeping 50 each, 120 guests typed: the last guard, 每个预订最多 100 人 (what a booking line takes
    at checkout), said when it is put in the cart rather than at the checkout; nothing goes into the cart."""
    stay = make_listing(units=3, max_guests=50)
    commit()
    dates = {"checkin": _day(5).isoformat(), "checkout": _day(6).isoformat(), "units": 3}
    assert "每个预订最多 100 人" in _add(client, "zh_CN", listing_id=stay.id, guests=120, **dates)
    assert _lines(db) == 0


def test_a_signed_out_stays_rooms_are_told_the_room_types_rooms_not_1_to_50(client, db):
    """A guest (signed out) types 99 rooms of a 标准间 of 3: 每个预订最多 3 间 (the room type's rooms, as 预订 signed
    in), not 预订间数须在 1 到 50 之间; 0: 间数至少为 1; 60 of a type of 80 rooms: the last guard, 每个预订最多 50 间
    (what a booking line takes at checkout). Nothing goes into the cart."""
    stay = make_listing(units=3, max_guests=2)
    large = make_listing(units=80, max_guests=2)
    commit()
    dates = {"checkin": _day(5).isoformat(), "checkout": _day(6).isoformat(), "guests": 2}
    said = {
        "zh_CN": {"type": "每个预订最多 3 间", "zero": "间数至少为 1", "guard": "每个预订最多 50 间"},
        "en": {"type": "At most 3 rooms a booking", "zero": "At least 1 room", "guard": "At most 50 rooms a booking"},
    }
    for lang in ("zh_CN", "en"):
        flashed = _add(client, lang, listing_id=stay.id, units=99, **dates)
        assert said[lang]["type"] in flashed and "50" not in flashed, (lang, flashed)
        flashed = _add(client, lang, listing_id=stay.id, units=0, **dates)
        assert said[lang]["zero"] in flashed and "50" not in flashed, (lang, flashed)
        flashed = _add(client, lang, listing_id=large.id, units=60, **dates)
        assert said[lang]["guard"] in flashed, (lang, flashed)
    assert _lines(db) == 0
