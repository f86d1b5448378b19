"""A host keeps their experience's sessions (场次): adds a run of them over a date range at start times
(closed days and starts already there skipped, a double tap adding nothing twice), removes one nobody has
booked after a confirmation step; guests can book the new sessions at once."""

from datetime import datetime, time, timedelta

import sqlalchemy as sa

from shop.audit import AuditEntry
from shop.extensions import db
from shop.once import new_form_token
from shop.timeutil import TZ, local_date, now_utc
from tests.factories import make_user
from tests.tourism.factories import make_booking, make_listing, make_session
from tourism.models import BookingStatus, Closure, Session


def _day(n):
    return local_date(now_utc()) + timedelta(days=n)


def _sessions(listing):
    db.session.expire_all()
    return [
        (s.starts_at.astimezone(TZ).replace(tzinfo=None), s.capacity)
        for s in db.session.scalars(
            sa.select(Session)
            .where(Session.unit_type_id == listing.unit_types[0].id, Session.capacity > 0)
            .order_by(Session.starts_at)
        )
    ]


def _add(client, listing, *, start, end, times="09:00, 14:00", capacity="8", token=None, lang=""):
    return client.post(
        f"/host/listings/{listing.id}/sessions{lang}",
        data={
            "start": start.isoformat(),
            "end": end.isoformat(),
            "times": times,
            "capacity": capacity,
            "form_token": token or new_form_token(),
        },
    )


def test_host_adds_sessions_skipping_closed_days_and_existing_ones_and_a_guest_books_one(
    client, db, auth, api_token, fake_stripe
):
    host = make_user(role="host")
    listing = make_listing(kind="experience", host=host, units=10, max_guests=6, price_fen=3000)
    make_session(listing, day=_day(3), hour=9, capacity=10)  # there already: not added twice
    db.session.add(Closure(listing_id=listing.id, closed_date=_day(4), reason="", created_at=now_utc()))
    db.session.commit()
    auth.login(host)
    page = client.get(f"/host/listings/{listing.id}/sessions")
    assert page.status_code == 200 and "添加场次" in page.get_data(as_text=True)
    # the calendar page links to it
    assert f"/host/listings/{listing.id}/sessions" in client.get(f"/host/listings/{listing.id}").get_data(as_text=True)

    r = _add(client, listing, start=_day(3), end=_day(5), times="14:00，09:00")
    assert r.status_code == 303
    text = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "已添加 3 个场次" in text
    assert "1 个场次已经存在" in text and "2 个场次在关闭的日期" in text
    assert _sessions(listing) == [
        (datetime.combine(_day(3), time(9)), 10),
        (datetime.combine(_day(3), time(14)), 8),
        (datetime.combine(_day(5), time(9)), 8),
        (datetime.combine(_day(5), time(14)), 8),
    ]
    # the list shows date, start, capacity and places booked
    assert _day(5).isoformat() in text and "14:00" in text
    audit = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "session.add"))
    assert audit.actor_id == host.id and audit.detail["added"] == 3 and audit.detail["capacity"] == 8

    # the public listing offers it, and the API books it
    new = db.session.scalar(
        sa.select(Session).where(Session.starts_at == datetime.combine(_day(5), time(14), tzinfo=TZ))
    )
    avail = client.get(f"/api/v1/listings/{listing.id}/availability?from={_day(5)}&to={_day(6)}").get_json()
    assert new.id in [s["session_id"] for s in avail["days"][0]["sessions"]]
    auth.logout()  # the API's token is asked for without the host's page session
    booked = client.post(
        "/api/v1/bookings",
        json={"listing_id": listing.id, "session_id": new.id, "guests": 3},
        headers=api_token(make_user()),
    )
    assert booked.status_code == 201 and booked.json["total_fen"] == 9000, booked.json
    auth.login(host)
    row = next(
        line
        for line in client.get(f"/host/listings/{listing.id}/sessions").get_data(as_text=True).split("<tr>")
        if _day(5).isoformat() in line and "14:00" in line
    )
    assert ">8</td>" in row and ">3</td>" in row


def test_a_double_tap_adds_nothing_twice(client, db, auth):
    host = make_user(role="host")
    listing = make_listing(kind="experience", host=host, units=10)
    db.session.commit()
    auth.login(host)
    token = new_form_token()
    assert _add(client, listing, start=_day(2), end=_day(3), token=token).status_code == 303
    again = _add(client, listing, start=_day(2), end=_day(6), token=token)
    assert again.status_code == 303
    assert "此表单已提交过" in client.get(again.headers["Location"]).get_data(as_text=True)
    assert len(_sessions(listing)) == 4
    assert db.session.scalar(sa.select(sa.func.count()).where(AuditEntry.action == "session.add")) == 1


def test_refused_additions_say_why_in_both_languages_and_add_nothing(client, db, auth):
    host = make_user(role="host")
    listing = make_listing(kind="experience", host=host, units=10)
    db.session.commit()
    auth.login(host)
    for kwargs, chinese, english in (
        ({"start": _day(-1), "end": _day(2)}, "场次日期须在", "Session dates must be between"),
        ({"start": _day(170), "end": _day(181)}, "场次日期须在", "Session dates must be between"),
        ({"start": _day(1), "end": _day(91)}, "一次最多添加 90 天的场次", "at most 90 days of sessions"),
        (
            {"start": _day(3), "end": _day(1)},
            "结束日期不能早于开始日期",
            "The end date cannot be before the start date",
        ),
        ({"start": _day(1), "end": _day(2), "times": "9点"}, "请填写开始时间", "Enter start times"),
        ({"start": _day(1), "end": _day(2), "times": "25:00"}, "请填写开始时间", "Enter start times"),
        ({"start": _day(1), "end": _day(2), "capacity": "0"}, "每场人数", "Places per session"),
        ({"start": _day(1), "end": _day(2), "capacity": "1001"}, "每场人数", "Places per session"),
    ):
        r = _add(client, listing, lang="?lang=zh_CN", **kwargs)
        assert r.status_code == 422, kwargs
        assert chinese in r.get_data(as_text=True), kwargs
        r = _add(client, listing, lang="?lang=en", **kwargs)
        assert r.status_code == 422 and english in r.get_data(as_text=True), kwargs
    assert _sessions(listing) == []


def test_a_range_ending_past_the_window_flags_its_end_not_its_start(client, db, auth):
    """Start within the 180 days, end past them: the message stands under 到（含）, the date to change (it stood
    under 从, whose date was fine)."""
    host = make_user(role="host")
    listing = make_listing(kind="experience", host=host, units=10)
    db.session.commit()
    auth.login(host)
    for start, end, flagged, clean in ((_day(150), _day(200), "end", "start"), (_day(-1), _day(2), "start", "end")):
        page = _add(client, listing, start=start, end=end, lang="?lang=zh_CN").get_data(as_text=True)

        def field(name, page=page):
            return page.split(f'id="{name}"', 1)[1].split('class="field', 1)[0]

        assert "场次日期须在" in field(flagged), (flagged, field(flagged))
        assert "场次日期须在" not in field(clean), (clean, field(clean))


def test_removing_a_session_asks_first_and_one_with_bookings_is_refused(client, db, auth, api_token, fake_stripe):
    host = make_user(role="host")
    listing = make_listing(kind="experience", host=host, units=10, max_guests=6)
    free = make_session(listing, day=_day(3), hour=9)
    taken = make_session(listing, day=_day(3), hour=14)
    make_booking(listing, check_in=_day(3), session=taken, guests=2, status=BookingStatus.CONFIRMED)
    canceled_only = make_session(listing, day=_day(4), hour=9)
    make_booking(listing, check_in=_day(4), session=canceled_only, status=BookingStatus.CANCELED)
    db.session.commit()
    free_id, taken_id, canceled_id = free.id, taken.id, canceled_only.id
    auth.login(host)
    url = f"/host/listings/{listing.id}/sessions/{{}}/delete"

    # one with bookings: refused at once, nothing to confirm
    r = client.post(url.format(taken_id))
    assert r.status_code == 303 and "/confirm/" not in r.headers["Location"]
    assert "该场次已有 2 位客人预订，不能删除" in client.get(r.headers["Location"]).get_data(as_text=True)
    r = client.post(url.format(taken_id) + "?lang=en", data={"confirm": "1"})
    assert "2 guests have booked this session" in client.get(r.headers["Location"] + "?lang=en").get_data(as_text=True)

    # a free one: a confirmation step first, then removed and audited
    r = client.post(url.format(free_id) + "?lang=zh_CN")
    assert r.status_code == 303 and "/confirm/" in r.headers["Location"]
    assert "确认删除场次" in client.get(r.headers["Location"]).get_data(as_text=True)
    assert db.session.get(Session, free_id) is not None
    r = client.post(url.format(free_id) + "?lang=zh_CN", data={"confirm": "1"})
    assert r.status_code == 303 and "场次已删除" in client.get(r.headers["Location"]).get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Session, free_id) is None
    assert db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "session.remove")).actor_id == host.id
    # a second tap finds it gone
    r = client.post(url.format(free_id), data={"confirm": "1"})
    assert "该场次已删除" in client.get(r.headers["Location"]).get_data(as_text=True)

    # one only a canceled booking names: withdrawn (the booking keeps its time), offered nowhere
    assert client.post(url.format(canceled_id), data={"confirm": "1"}).status_code == 303
    db.session.expire_all()
    assert db.session.get(Session, canceled_id).capacity == 0
    avail = client.get(f"/api/v1/listings/{listing.id}/availability?from={_day(4)}&to={_day(5)}").get_json()
    assert avail["days"][0]["sessions"] == []
    auth.logout()
    refused = client.post(
        "/api/v1/bookings",
        json={"listing_id": listing.id, "session_id": canceled_id, "guests": 1},
        headers=api_token(make_user()),
    )
    assert refused.status_code == 409, refused.json
    auth.login(host)
    # added again: offered again
    _add(client, listing, start=_day(4), end=_day(4), times="09:00", capacity="5")
    db.session.expire_all()
    assert db.session.get(Session, canceled_id).capacity == 5

    db.session.expire_all()
    assert db.session.get(Session, taken_id).capacity == 10


def test_page_in_english(client, db, auth):
    host = make_user(role="host")
    listing = make_listing(kind="experience", host=host, units=10)
    make_session(listing, day=_day(2), hour=9)
    db.session.commit()
    auth.login(host)
    text = client.get(f"/host/listings/{listing.id}/sessions?lang=en").get_data(as_text=True)
    assert "Add sessions" in text and "Upcoming sessions" in text and "Places booked" in text


def test_only_the_listings_own_host_and_only_experiences(client, db, auth):
    host, other = make_user(role="host"), make_user(role="host")
    listing = make_listing(kind="experience", host=host, units=10)
    session = make_session(listing, day=_day(2))
    stay = make_listing(host=other)
    db.session.commit()
    auth.login(other)
    assert client.get(f"/host/listings/{listing.id}/sessions").status_code == 404
    assert _add(client, listing, start=_day(1), end=_day(2)).status_code == 404
    assert (
        client.post(f"/host/listings/{listing.id}/sessions/{session.id}/delete", data={"confirm": "1"}).status_code
        == 404
    )
    assert client.get(f"/host/listings/{stay.id}/sessions").status_code == 404  # a stay has no sessions
    auth.logout()
    auth.login(make_user())
    assert client.get(f"/host/listings/{listing.id}/sessions").status_code == 403
    db.session.expire_all()
    assert db.session.get(Session, session.id) is not None and _sessions(listing) != [] and len(_sessions(listing)) == 1


def test_the_sessions_page_is_called_sessions_in_english(client, db, auth):
    """The host's 场次 page and the calendar's button to it read "Sessions" in English (they said
    "Session", the word a booking's one session is labelled with)."""
    host = make_user(role="host")
    listing = make_listing(host=host, kind="experience")
    auth.login(host)
    page = client.get(f"/host/listings/{listing.id}/sessions?lang=en").get_data(as_text=True)
    assert f"<h1>{listing.name} · Sessions</h1>" in page
    calendar = client.get(f"/host/listings/{listing.id}").get_data(as_text=True)
    assert f'href="/host/listings/{listing.id}/sessions">Sessions</a>' in calendar
    zh = client.get(f"/host/listings/{listing.id}/sessions?lang=zh_CN").get_data(as_text=True)
    assert f"<h1>{listing.name} · 场次</h1>" in zh
