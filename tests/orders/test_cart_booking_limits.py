"""A booking put in the cart (加入购物车, signed in or not) is refused in the words its listing's own rules use,
as 预订 on the listing's page is: a session short of places says 改选场次 (docs/journeys.md, the tourist's
booking refusals)."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa

from orders.models import CartLine
from shop.db import commit
from shop.timeutil import local_date, now_utc
from tests.tourism.factories import make_listing, make_session


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
