"""An experience's line in the cart changes its session (场次) there, as a stay's line changes its dates: its
场次 box offers the listing's sessions as the listing's booking form does (余 N / 已满; none started or
withdrawn; its own selected), and 更新 (a form post, no JavaScript) moves the line to the session chosen, priced
again — signed in (the account's cart) or not (the guest cart). A session full or short of places for the
party, another listing's, an unknown one, one that has started or one another line holds is refused with a
message, and the line stays as it was (docs/journeys.md, "One cart for goods and trips")."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from orders.models import Cart, CartLine
from shop.db import commit
from shop.timeutil import local_date, now_utc
from tests.factories import make_user
from tests.tourism.factories import make_booking, make_listing, make_session
from tourism.models import ListingKind

WEEKDAY_FEN, WEEKEND_FEN = 3800, 4800


def _ahead(weekdays: tuple[int, ...], *, after: int = 2) -> date:
    """The first day more than `after` days from today (Beijing) that falls on one of `weekdays`."""
    day = local_date(now_utc()) + timedelta(days=after + 1)
    while day.weekday() not in weekdays:
        day += timedelta(days=1)
    return day


def _flashed(page: str) -> str:
    """The page's error messages at its top (the flashes), one string."""
    return " ".join(
        " ".join(re.findall(r'<div class="alert alert-error" role="status">(.*?)</div>', page, re.S)).split()
    )


def _session_box(page: str, line_id: int) -> list[tuple[str, str, bool]]:
    """The options of the line's 场次 box: (value, text, selected)."""
    box = re.search(rf'<select id="s{line_id}" name="session_id">(.*?)</select>', page, re.S)
    assert box, "no 场次 box on the line"
    return [
        (value, " ".join(text.split()), bool(selected))
        for value, selected, text in re.findall(r'<option value="(\d*)"( selected)?>(.*?)</option>', box.group(1), re.S)
    ]


@pytest.fixture
def picking():
    """A strawberry picking with a weekday session at 09:00 and a weekend one at 14:00 (dearer), a full
    session, one with 2 places left, one withdrawn by its host (capacity 0), one earlier today (started),
    and another listing's session."""
    listing = make_listing(
        kind=ListingKind.EXPERIENCE,
        name="草莓采摘园",
        max_guests=10,
        price_fen=WEEKDAY_FEN,
        weekend_price_fen=WEEKEND_FEN,
    )
    weekday, weekend = _ahead((1, 2, 3)), _ahead((5,))
    sessions = {
        "nine": make_session(listing, day=weekday, hour=9, capacity=10),
        "two": make_session(listing, day=weekend, hour=14, capacity=10),
        "full": make_session(listing, day=weekday, hour=14, capacity=4),
        "short": make_session(listing, day=weekday, hour=16, capacity=4),
        "withdrawn": make_session(listing, day=weekend, hour=9, capacity=0),
        "started": make_session(listing, day=local_date(now_utc()), hour=0, capacity=10),
    }
    make_booking(listing, check_in=weekday, guests=4, session=sessions["full"])
    make_booking(listing, check_in=weekday, guests=2, session=sessions["short"])
    other = make_listing(kind=ListingKind.EXPERIENCE, name="渔村垂钓", max_guests=10)
    sessions["other"] = make_session(other, day=weekday, hour=9, capacity=10)
    commit()
    return listing, sessions


def _add(client, db, listing, session, *, guests: int = 3) -> CartLine:
    res = client.post("/cart/bookings", data={"listing_id": listing.id, "session_id": session.id, "guests": guests})
    assert res.status_code == 303 and "/cart" in res.headers["Location"], res.get_data(as_text=True)
    return _lines(db)[-1]


def _lines(db) -> list[CartLine]:
    """The cart lines as the database holds them now (after the requests' commits)."""
    db.session.expire_all()
    return list(db.session.scalars(sa.select(CartLine).order_by(CartLine.id)))


def _change(client, line: CartLine, session_id, *, guests: int = 3, lang: str = "zh_CN") -> str:
    """更新 on the line with another 场次 (a form post, as without JavaScript); the cart page it leads to."""
    res = client.post(
        f"/cart/lines/{line.id}?lang={lang}", data={"session_id": session_id, "guests": guests}, follow_redirects=True
    )
    assert res.status_code == 200
    return res.get_data(as_text=True)


@pytest.mark.parametrize("signed_in", [True, False], ids=["signed-in", "signed-out"])
def test_a_session_line_offers_its_listings_sessions_and_changes_to_the_one_chosen(
    client, db, auth, picking, signed_in
):
    """The line of the 09:00 weekday session offers the listing's sessions (余 N / 已满; not the started, the
    withdrawn nor another listing's), 09:00 selected; 更新 with the weekend 14:00 one moves the line there
    and prices it at the weekend's price, and the cart shows the new time and total."""
    listing, sessions = picking
    if signed_in:
        auth.login(make_user())
    line = _add(client, db, listing, sessions["nine"])
    cart = db.session.get(Cart, line.cart_id)
    assert (cart.user_id is not None) if signed_in else (cart.user_id is None and cart.token)
    assert line.seen_price_fen == 3 * WEEKDAY_FEN

    page = client.get("/cart").get_data(as_text=True)
    box = _session_box(page, line.id)
    offered = {int(value): (text, selected) for value, text, selected in box}
    assert set(offered) == {sessions[k].id for k in ("nine", "two", "full", "short")}, box
    nine, two = sessions["nine"], sessions["two"]
    assert offered[nine.id] == (f"{nine.session_date.isoformat()} 09:00 · 余 10", True)
    assert offered[two.id] == (f"{two.session_date.isoformat()} 14:00 · 余 10", False)
    assert offered[sessions["full"].id][0].endswith("· 已满")
    assert offered[sessions["short"].id][0].endswith("· 余 2")

    page = _change(client, line, two.id)
    assert not _flashed(page), _flashed(page)
    [changed] = _lines(db)
    assert changed.id == line.id and changed.session_id == two.id and changed.guests == 3
    assert changed.seen_price_fen == 3 * WEEKEND_FEN
    row = page.split(f'id="line-{line.id}"', 1)[1].split("</tr>", 1)[0]
    assert f"{two.session_date.isoformat()} 14:00" in row
    assert "¥144.00" in row  # 3 × ¥48
    assert [(int(v), s) for v, _t, s in _session_box(page, line.id) if s] == [(two.id, True)]
    assert "¥144.00" in page.split('class="totals"', 1)[1]


@pytest.mark.parametrize("signed_in", [True, False], ids=["signed-in", "signed-out"])
def test_a_session_that_cannot_be_had_is_refused_with_a_message_and_the_line_is_kept(
    client, db, auth, picking, signed_in
):
    """Full, short of places for the party, another listing's, unknown, started or held by another line of
    the cart: each is refused on the cart page with what to do, and the line keeps its session and price."""
    listing, sessions = picking
    if signed_in:
        auth.login(make_user())
    line = _add(client, db, listing, sessions["nine"])
    _add(client, db, listing, sessions["two"], guests=1)
    refusals = {
        sessions["full"].id: "「草莓采摘园」该场次已订满，请改选场次",
        sessions["short"].id: "「草莓采摘园」该场次只剩 2 个名额，请减少人数或改选场次",
        sessions["withdrawn"].id: "「草莓采摘园」该场次已订满，请改选场次",
        sessions["other"].id: "该项目没有这个场次",
        99_999_999: "该项目没有这个场次",
        sessions["started"].id: "该场次已经开始",
        sessions["two"].id: "「草莓采摘园」的这个场次已在购物车中，请修改那一项",
    }
    for session_id, said in refusals.items():
        page = _change(client, line, session_id)
        assert said in _flashed(page), (session_id, _flashed(page))
        kept = next(l for l in _lines(db) if l.id == line.id)
        assert (kept.session_id, kept.guests, kept.seen_price_fen) == (sessions["nine"].id, 3, 3 * WEEKDAY_FEN)
    assert len(_lines(db)) == 2


def test_the_session_box_and_its_refusals_read_in_english(client, db, picking):
    """In English the line's 场次 box says "left" and "full", and a full session's refusal says so."""
    listing, sessions = picking
    line = _add(client, db, listing, sessions["nine"])
    page = client.get("/cart?lang=en").get_data(as_text=True)
    texts = [text for _v, text, _s in _session_box(page, line.id)]
    assert f"{sessions['nine'].session_date.isoformat()} 09:00 · 10 left" in texts
    assert any(text.endswith("· full") for text in texts)
    page = _change(client, line, sessions["full"].id, lang="en")
    assert "this session is fully booked" in _flashed(page).lower(), _flashed(page)


def test_a_stay_or_ticket_line_takes_no_session(client, db, picking):
    """A ticket day's line has no 场次 box; a session sent for it anyway is refused and the line is kept."""
    _listing, sessions = picking
    ticket = make_listing(kind=ListingKind.TICKET, name="花海门票", units=50, max_guests=5)
    commit()
    day = _ahead((1, 2, 3))
    res = client.post("/cart/bookings", data={"listing_id": ticket.id, "checkin": day.isoformat(), "guests": 2})
    assert res.status_code == 303
    [line] = _lines(db)
    assert 'name="session_id"' not in client.get("/cart").get_data(as_text=True)
    page = _change(client, line, sessions["nine"].id, guests=2)
    assert "该项目没有这个场次" in _flashed(page)
    [kept] = _lines(db)
    assert kept.session_id is None and kept.check_in == day


def test_a_line_of_a_session_months_ahead_offers_it_selected_and_keeps_it_on_update(client, db, picking):
    """Hosts add sessions further ahead than the 60 days the 场次 box offers: the line of a session 100 days
    ahead offers that session, selected, with its day's others (not the box's first session as if chosen,
    which 更新 would then have moved the line to unseen), beside the sessions of the days offered."""
    listing, sessions = picking
    far_day = local_date(now_utc()) + timedelta(days=100)
    far = make_session(listing, day=far_day, hour=10, capacity=10)
    far_later = make_session(listing, day=far_day, hour=15, capacity=10)
    commit()
    line = _add(client, db, listing, far)

    box = _session_box(client.get("/cart").get_data(as_text=True), line.id)
    offered = {int(value): (text, selected) for value, text, selected in box}
    assert offered[far.id] == (f"{far_day.isoformat()} 10:00 · 余 10", True), box
    assert offered[far_later.id] == (f"{far_day.isoformat()} 15:00 · 余 10", False), box
    assert sessions["nine"].id in offered and [v for v, (_t, s) in offered.items() if s] == [far.id]

    page = _change(client, line, far.id, guests=2)  # 更新 the party only: the line keeps its session
    assert not _flashed(page), _flashed(page)
    [kept] = _lines(db)
    assert kept.session_id == far.id and kept.guests == 2
