"""The embedded default runs what beat runs (#18.5): `flask run` with no broker starts a scheduler
thread over Celery's own beat_schedule; a stay whose check-out day has passed is completed and
credited by its tick with no extra command (the scheduler's clock is the test's)."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import click
import pytest
import sqlalchemy as sa
from flask import Flask
from flask.cli import run_command

from ledger.models import IncomeEntry
from shop.db import commit
from shop.scheduler import Scheduler, start, wanted
from shop.timeutil import local_date, now_utc
from tests.factories import make_household, make_user
from tests.tourism.factories import make_listing
from tourism.models import Booking, BookingStatus

# 10:00 in Beijing (the schedule's timezone); complete-stays runs at minute 15 of every hour
T0 = datetime(2026, 12, 2, 2, 0, tzinfo=timezone.utc)


class Clock:
    def __init__(self, at: datetime):
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def _flask(**config) -> Flask:
    app = Flask("scheduler-test")
    app.config.update({"TESTING": False, "CELERY_BROKER_URL": "", **config})
    return app


@pytest.mark.parametrize(
    ("command", "config", "reload", "expected"),
    [
        ("run", {}, False, True),
        ("run", {"CELERY_BROKER_URL": "redis://127.0.0.1:6379/0"}, False, False),  # beat's job
        ("run", {"TESTING": True}, False, False),
        ("run", {"EMBEDDED_SCHEDULER": False}, False, False),
        ("run", {}, True, False),  # the reloader's watcher process; its serving child starts it
        ("seed-demo", {}, None, False),
    ],
)
def test_only_flask_run_on_the_embedded_default_starts_it(command, config, reload, expected):
    cmd = run_command if command == "run" else click.Command(command)
    with click.Context(cmd, info_name=command) as ctx:
        ctx.params = {"reload": reload} if command == "run" else {}
        assert wanted(_flask(**config)) is expected
    assert wanted(_flask()) is False  # no command at all (gunicorn, a worker, a shell)


def test_the_schedule_is_celerys_beat_schedule(app):
    scheduler = Scheduler(app)
    assert scheduler.entries() == app.extensions["celery"].conf.beat_schedule
    assert {e["task"] for e in scheduler.entries().values()} >= {
        "orders.tasks.expire_orders",
        "tourism.tasks.expire_holds",
        "tourism.tasks.complete_stays",
        "county.tasks.monthly_income_report",
    }


def test_intervals_and_crontabs_fall_due_on_the_clock(app):
    scheduler = Scheduler(app)
    assert "expire-orders" in scheduler.due(T0) and "complete-stays" not in scheduler.due(T0)
    scheduler.last_tick = T0
    scheduler.last_run = {name: T0 for name in scheduler.entries()}
    assert scheduler.due(T0 + timedelta(seconds=20)) == []
    assert set(scheduler.due(T0 + timedelta(seconds=61))) == {"expire-orders", "expire-booking-holds", "drain-outbox"}
    assert "complete-stays" not in scheduler.due(T0 + timedelta(minutes=14))
    assert "complete-stays" in scheduler.due(T0 + timedelta(minutes=16))
    assert "retry-refunds" in scheduler.due(T0 + timedelta(minutes=5))
    # the monthly report: the 1st at 03:00 Beijing (19:00 UTC the day before)
    scheduler.last_tick = datetime(2026, 12, 31, 18, 59, tzinfo=timezone.utc)
    assert "monthly-income-report" in scheduler.due(datetime(2026, 12, 31, 19, 1, tzinfo=timezone.utc))
    assert "monthly-income-report" not in scheduler.due(datetime(2026, 12, 31, 18, 59, 30, tzinfo=timezone.utc))


def _stay_over_yesterday():
    """A stay checked in yesterday (Beijing) for one night: its check-out day is today."""
    from tourism.services.booking import BookingRequest, book_listing, check_in_booking

    yesterday = now_utc() - timedelta(days=1)
    host = make_user(role="host")
    households = [make_household(), make_household()]
    listing = make_listing(host=host, units=1, price_fen=15001, pay_on_arrival=True, households=households)
    day = local_date(yesterday)
    booking = book_listing(
        BookingRequest(
            listing_id=listing.id, check_in=day, check_out=day + timedelta(days=1), guests=2, pay_on_arrival=True
        ),
        user=make_user(),
        now=yesterday,
    )
    check_in_booking(booking, booking.confirmation_code, actor=host, now=yesterday, cash_received_fen=booking.total_fen)
    assert booking.order.payments[0].state == "confirmed"  # cash taken at arrival
    return booking


def test_a_passed_stay_is_completed_and_credited_by_the_tick(app, db):
    booking = _stay_over_yesterday()
    commit()
    clock = Clock(T0)
    scheduler = Scheduler(app, clock=clock)
    scheduler.tick()
    assert booking.status == BookingStatus.CHECKED_IN  # first tick: complete-stays waits for minute 15
    clock.at = T0 + timedelta(minutes=14)
    assert "complete-stays" not in scheduler.tick()
    db.session.expire_all()
    assert db.session.get(Booking, booking.id).status == BookingStatus.CHECKED_IN
    clock.at = T0 + timedelta(minutes=16)
    assert "complete-stays" in scheduler.tick()
    db.session.expire_all()
    assert db.session.get(Booking, booking.id).status == BookingStatus.COMPLETED
    credited = db.session.scalar(
        sa.select(sa.func.sum(IncomeEntry.amount_fen)).where(IncomeEntry.order_line_id == booking.order.lines[0].id)
    )
    assert credited == 15001


def test_the_thread_ticks_by_itself(app, committed_db):
    booking = _stay_over_yesterday()
    commit()
    booking_id = booking.id
    committed_db.session.remove()  # no transaction of ours open while the thread writes (SQLite)
    clock = Clock(T0)
    scheduler, stop, thread = start(app, clock=clock, interval=0.05)
    try:
        time.sleep(0.3)
        clock.at = T0 + timedelta(minutes=16)  # the test's clock passes minute 15: nothing else to do
        deadline = time.monotonic() + 15
        status = None
        while time.monotonic() < deadline:
            status = committed_db.session.get(Booking, booking_id).status
            committed_db.session.remove()
            if status == BookingStatus.COMPLETED:
                break
            time.sleep(0.1)
        assert status == BookingStatus.COMPLETED
    finally:
        stop.set()
        thread.join(timeout=10)
        app.extensions.pop("embedded_scheduler", None)
    assert not thread.is_alive()
