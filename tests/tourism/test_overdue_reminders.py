"""Bookings whose arrival day passed while still confirmed, told beyond the host's desk.

The daily beat task `tourism.tasks.remind_overdue_arrivals` mails each host with such bookings the desk's
待处理 list (code, guest as the desk names them, listing, arrival day, what it may do now, a link to the
desk), its own bookings only, once a day however often it runs (the mail's key in `sent_mail`), and nothing
to a host without any; it marks nothing. The county office's 逾期预订 page lists, per listing and host, the
bookings still confirmed more than LATE_CHECK_IN_DAYS days after their check-out (never completed, never
credited) (`tourism.services.overdue`)."""

from __future__ import annotations

import logging
import re
from datetime import timedelta

import sqlalchemy as sa

from shop.db import commit
from shop.mail import SentMail
from shop.timeutil import local_date, now_utc
from tests.factories import make_user
from tests.tourism.factories import make_booking, make_listing, make_session
from tourism.models import Booking, BookingStatus, ListingKind
from tourism.services.booking import LATE_CHECK_IN_DAYS
from tourism.tasks import overdue_mail_key, remind_overdue_arrivals, send_overdue_arrivals_mail


def _mails(caplog) -> dict[str, str]:
    """{address: text} of the overdue-arrivals mails logged (shop.mail: "mail to <address>: <subject>\\n<body>")."""
    found = {}
    for record in caplog.records:
        message = record.getMessage()
        if record.name == "shop.mail" and "到店日已过" in message:
            address = re.match(r"mail to (\S+): ", message).group(1)
            assert address not in found, f"two mails to {address}"
            found[address] = message
    return found


def test_each_host_with_overdue_bookings_is_mailed_its_own_once_a_day(db, app, caplog):
    caplog.set_level(logging.INFO, logger="shop.mail")
    today = local_date(now_utc())
    first = make_user(role="host", email="first-host@test.cn", name="罗渡接待户")
    second = make_user(role="host", email="second-host@test.cn")
    idle = make_user(role="host", email="idle-host@test.cn")
    stay = make_listing(host=first, name="花海原乡民宿")
    guest = make_user(name="游客李四")
    over = make_booking(stay, user=guest, check_in=today - timedelta(days=2), check_out=today - timedelta(days=1))
    staying = make_booking(stay, check_in=today - timedelta(days=1), check_out=today + timedelta(days=1))
    experience = make_listing(kind=ListingKind.EXPERIENCE, host=first, name="草莓采摘体验")
    session = make_session(experience, day=today - timedelta(days=3), hour=14)
    missed = make_booking(experience, check_in=session.session_date, session=session)
    too_late = make_booking(
        stay,
        check_in=today - timedelta(days=LATE_CHECK_IN_DAYS + 2),
        check_out=today - timedelta(days=LATE_CHECK_IN_DAYS),
    )
    not_overdue = [
        make_booking(stay, check_in=today),  # arriving today: today's arrivals, not overdue
        make_booking(stay, check_in=today - timedelta(days=2), status=BookingStatus.CHECKED_IN),
        make_booking(stay, check_in=today - timedelta(days=2), status=BookingStatus.NO_SHOW),
    ]
    other = make_booking(make_listing(host=second), check_in=today - timedelta(days=1))
    make_booking(make_listing(host=idle), check_in=today + timedelta(days=1))  # nothing overdue
    commit()

    assert remind_overdue_arrivals() == 2
    mails = _mails(caplog)
    assert set(mails) == {"first-host@test.cn", "second-host@test.cn"}  # not the host with nothing overdue
    mine = mails["first-host@test.cn"]
    assert "4 个预订的到店日已过" in mine
    for booking in (over, staying, missed, too_late):
        assert booking.code in mine
    for booking in (*not_overdue, other):
        assert booking.code not in mine  # another host's, or not overdue
    assert other.code in mails["second-host@test.cn"] and over.code not in mails["second-host@test.cn"]
    # each booking as the desk shows it, with what the desk offers now
    part = mine[mine.index(over.code) :].split("预订号", 1)[0]
    assert "游客李四" in part and "花海原乡民宿 · 标准间" in part
    assert f"入住：{over.check_in_date.isoformat()} – 离店：{over.check_out_date.isoformat()}" in part
    late_until = over.check_out_date + timedelta(days=LATE_CHECK_IN_DAYS - 1)
    assert f"凭客人的确认码补登入住，截至 {late_until.isoformat()}" in part and "标记未到店" in part
    part = mine[mine.index(staying.code) :].split("预订号", 1)[0]
    assert "凭客人的确认码办理入住" in part and "补登入住" not in part
    part = mine[mine.index(missed.code) :].split("预订号", 1)[0]
    assert f"场次：{session.session_date.isoformat()} 14:00" in part and "草莓采摘体验" in part
    part = mine[mine.index(too_late.code) :].split("预订号", 1)[0]
    assert "入住" in part and "补登入住" not in part and "办理入住" not in part and "标记未到店" in part
    assert "http://127.0.0.1:5000/host/#overdue" in mine or re.search(r"https?://\S+/host/#overdue", mine)

    # nothing was marked: every overdue booking still waits for the host
    db.session.expire_all()
    assert {db.session.get(Booking, b.id).status for b in (over, staying, missed, too_late, other)} == {
        BookingStatus.CONFIRMED
    }

    # the task runs again the same day: no second mail
    caplog.clear()
    remind_overdue_arrivals()
    assert _mails(caplog) == {}
    day = today.isoformat()
    keys = set(db.session.scalars(sa.select(SentMail.key).where(SentMail.key.like("overdue-arrivals:%"))))
    assert keys == {overdue_mail_key(first.id, day), overdue_mail_key(second.id, day)}

    # another day's reminder is a mail of its own
    send_overdue_arrivals_mail.delay(second.id, (today + timedelta(days=1)).isoformat())
    assert set(_mails(caplog)) == {"second-host@test.cn"}


def test_a_host_who_handled_everything_before_the_mail_gets_none(db, app, caplog):
    caplog.set_level(logging.INFO, logger="shop.mail")
    host = make_user(role="host", email="quick-host@test.cn")
    booking = make_booking(make_listing(host=host), check_in=local_date(now_utc()) - timedelta(days=1))
    commit()
    booking.status = BookingStatus.NO_SHOW  # handled between the beat's pick and the mail
    commit()
    assert send_overdue_arrivals_mail.delay(host.id, local_date(now_utc()).isoformat()).get() is False
    assert _mails(caplog) == {}


def test_the_reminder_is_on_the_beat_schedule(app):
    celery = app.extensions["celery"]
    assert celery.conf.beat_schedule["remind-overdue-arrivals"]["task"] == "tourism.tasks.remind_overdue_arrivals"
    assert "tourism.tasks.remind_overdue_arrivals" in celery.tasks


def _county_page(client) -> str:
    res = client.get("/county/overdue-bookings")
    assert res.status_code == 200
    return res.get_data(as_text=True)


def test_the_county_sees_bookings_overdue_past_the_late_check_in_days_per_listing_and_host(client, db, auth):
    today = local_date(now_utc())
    gone = today - timedelta(days=LATE_CHECK_IN_DAYS)  # the check-out LATE_CHECK_IN_DAYS days ago: too late
    host = make_user(role="host", name="黄马接待户")
    stay = make_listing(host=host, name="黄马农家乐")
    old = make_booking(stay, check_in=gone - timedelta(days=3), check_out=gone - timedelta(days=1))
    older = make_booking(stay, check_in=gone - timedelta(days=5), check_out=gone)
    other_host = make_user(role="host", name="罗渡接待户")
    other = make_booking(
        make_listing(host=other_host, name="罗渡民宿"), check_in=gone - timedelta(days=1), check_out=gone
    )
    not_shown = [
        make_booking(stay, check_in=gone - timedelta(days=1), check_out=gone + timedelta(days=1)),  # still recordable
        make_booking(stay, check_in=today - timedelta(days=1)),  # on the host's desk, not the county's
        make_booking(stay, check_in=gone - timedelta(days=5), check_out=gone, status=BookingStatus.COMPLETED),
        make_booking(stay, check_in=gone - timedelta(days=5), check_out=gone, status=BookingStatus.NO_SHOW),
    ]
    commit()
    auth.login(make_user(role="county"))

    page = _county_page(client)
    assert 'href="/county/overdue-bookings"' in page  # the county nav links it
    table = page[page.index("<tbody>") : page.index("</tbody>")]
    rows = table.split("</tr>")
    [mine] = [r for r in rows if "黄马农家乐" in r]
    assert "黄马接待户" in mine and older.code in mine and old.code in mine and ">2<" in mine
    assert mine.index(older.code) < mine.index(old.code)  # the oldest first
    assert "¥200.00" in mine
    [theirs] = [r for r in rows if "罗渡民宿" in r]
    assert "罗渡接待户" in theirs and other.code in theirs and old.code not in theirs
    assert table.index("黄马农家乐") < table.index("罗渡民宿")  # the listing with the oldest booking first
    for booking in not_shown:
        assert booking.code not in page

    db.session.get(Booking, older.id).status = BookingStatus.NO_SHOW  # the host marked it
    db.session.get(Booking, old.id).status = BookingStatus.NO_SHOW
    db.session.get(Booking, other.id).status = BookingStatus.NO_SHOW
    commit()
    assert "没有逾期未处理的预订" in _county_page(client)
