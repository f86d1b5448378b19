"""#18: the cash a host takes on arrival (or at the gate) is a row of the host's cash book, taken in
the check-in step itself; the stay's income is credited only when its money was received."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from county.services.reconcile import check
from ledger.models import IncomeEntry
from orders.services import payments
from shop.db import commit
from shop.timeutil import local_date, now_utc
from tests.concurrency.race import Loaded, at_once
from tests.conftest import requires_postgres
from tests.factories import make_household, make_user
from tests.tourism.factories import make_listing
from tourism.models import Booking, BookingStatus, HostCashEntry
from tourism.services.booking import BookingRequest, book_listing, complete_stays

pytestmark = requires_postgres


def _arrival_today(host, households=()):
    listing = make_listing(host=host, price_fen=15000, pay_on_arrival=True, households=list(households))
    today = local_date(now_utc())
    return book_listing(
        BookingRequest(
            listing_id=listing.id, check_in=today, check_out=today + timedelta(days=1), guests=2, pay_on_arrival=True
        ),
        user=make_user(),
        now=now_utc(),
    )


def test_host_checks_in_only_with_the_cash_and_the_cash_is_a_row_of_the_host_book(client, db, auth):
    host = make_user(role="host")
    household = make_household()
    booking = _arrival_today(host, [household])
    commit()
    auth.login(host)
    home = client.get("/host/").get_data(as_text=True)
    assert booking.code in home and "¥150.00" in home  # what to take at the door
    refused = client.post("/host/check-in", data={"confirmation_code": booking.confirmation_code})
    assert refused.status_code == 422 and "应收现金 ¥150.00" in refused.get_data(as_text=True)
    wrong = client.post("/host/check-in", data={"confirmation_code": booking.confirmation_code, "cash_received": "149"})
    assert wrong.status_code == 422
    below = client.post("/host/check-in", data={"confirmation_code": booking.confirmation_code, "cash_received": "-5"})
    said = below.get_data(as_text=True)
    assert below.status_code == 422 and "收到的现金须大于零" in said and "价格必须大于零" not in said  # no price
    db.session.expire_all()
    assert db.session.get(Booking, booking.id).status == BookingStatus.CONFIRMED
    assert db.session.scalar(sa.select(sa.func.count()).select_from(HostCashEntry)) == 0
    ok = client.post("/host/check-in", data={"confirmation_code": booking.confirmation_code, "cash_received": "150"})
    assert ok.status_code == 302
    db.session.expire_all()
    booking = db.session.get(Booking, booking.id)
    assert booking.status == BookingStatus.CHECKED_IN and booking.order.payments[0].state == "confirmed"
    [entry] = db.session.scalars(sa.select(HostCashEntry)).all()
    assert (entry.host_id, entry.amount_fen, entry.order_id) == (host.id, 15000, booking.order_id)
    assert 'id="host-cash-balance">¥150.00' in client.get("/host/").get_data(as_text=True)
    assert complete_stays(now_utc() + timedelta(days=1)) == 1
    assert db.session.scalar(sa.select(sa.func.sum(IncomeEntry.amount_fen))) == 15000
    assert check()["discrepancies"] == []


def test_a_stay_whose_money_never_came_in_is_not_credited_and_is_listed(db, now):
    host = make_user(role="host")
    listing = make_listing(host=host, price_fen=15000, pay_on_arrival=True, households=[make_household()])
    booking = book_listing(
        BookingRequest(
            listing_id=listing.id,
            check_in=local_date(now),
            check_out=local_date(now) + timedelta(days=1),
            guests=2,
            pay_on_arrival=True,
        ),
        user=make_user(),
        now=now,
    )
    # planted: checked in by a path that took no cash (the bug of #18: pay-on-arrival cash in no book)
    db.session.execute(sa.update(Booking).where(Booking.id == booking.id).values(status="checked_in"))
    db.session.expire_all()
    assert complete_stays(now + timedelta(days=1)) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(IncomeEntry)) == 0  # nothing credited
    problems = {(d.get("subject"), d["problem"]) for d in check()["discrepancies"]}
    assert (booking.code, "cash_not_received") in problems
    # and cash confirmed outside the host's book is listed too
    other = book_listing(
        BookingRequest(
            listing_id=listing.id,
            check_in=local_date(now) + timedelta(days=2),
            check_out=local_date(now) + timedelta(days=3),
            guests=2,
            pay_on_arrival=True,
        ),
        user=make_user(),
        now=now,
    )
    payments.confirm_cash(other.order, actor=host, now=now)
    problems = {(d.get("subject"), d["problem"]) for d in check()["discrepancies"]}
    assert (other.code, "host_cash_mismatch") in problems


def test_two_check_ins_of_one_booking_at_once_take_its_cash_once(app, committed_db, now):

    from shop.auth.models import User
    from shop.errors import DomainError
    from tourism.services.booking import check_in_booking

    host = make_user(role="host")
    listing = make_listing(host=host, price_fen=15000, pay_on_arrival=True, households=[make_household()])
    booking = book_listing(
        BookingRequest(
            listing_id=listing.id,
            check_in=local_date(now),
            check_out=local_date(now) + timedelta(days=1),
            guests=2,
            pay_on_arrival=True,
        ),
        user=make_user(),
        now=now,
    )
    commit()
    booking_id, host_id, code = booking.id, host.id, booking.confirmation_code
    check_in = Loaded(
        lambda: committed_db.session.get(User, host_id),
        lambda desk: check_in_booking(
            committed_db.session.get(Booking, booking_id), code, actor=desk, now=now, cash_received_fen=15000
        ),
    )
    race = at_once(app, [check_in] * 3, refused=(DomainError,), seconds=30)
    assert race.errors == []
    outcomes = race.labels
    assert outcomes.count("ok") == 1 and len(outcomes) == 3
    with app.app_context():
        entries = committed_db.session.scalars(sa.select(HostCashEntry)).all()
        assert [(e.booking_id, e.amount_fen) for e in entries] == [(booking_id, 15000)]
        assert committed_db.session.scalar(sa.select(sa.func.count()).select_from(IncomeEntry)) == 0


def test_todays_arrival_checked_in_with_its_cash_says_the_cash_was_taken(client, db, auth):
    """The host's 今日到店 after a check-in with the cash: 到店应收 says 已收 ¥150.00, not "—", which read as
    if nothing had been due (and left the host wondering whether the cash was written anywhere)."""
    host = make_user(role="host")
    booking = _arrival_today(host)
    commit()
    auth.login(host)
    ok = client.post("/host/check-in", data={"confirmation_code": booking.confirmation_code, "cash_received": "150"})
    assert ok.status_code == 302
    home = client.get("/host/").get_data(as_text=True)
    start = home.index(f"<code>{booking.code}</code>")  # its row of 今日到店
    row = home[start : home.index("</tr>", start)]
    assert "已收 ¥150.00" in row and "—" not in row
