"""The county's demo data (county.demo, demo.sales, demo.stays): a county officer trying the demo finds sale
and tourism income and recorded benefits credited, households to pay and a few still waiting for a payment
account — the sales' money received in a station's cash book, the farm stay's in its host's, each credited
to the households as the county's reconciliation expects, each benefit record's entries credited once, and
nothing added by seeding again."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa

from catalog.models import BenefitLink, Household
from county.services import reconcile, reconcile_money, reconcile_tourism
from ledger.models import IncomeEntry
from ledger.payouts import PaymentAccount, PayoutBatch
from ledger.records import BenefitRecord
from orders.models import Order
from shop.auth.models import User
from shop.db import commit
from shop.money import format_yuan
from shop.timeutil import local_date, now_utc
from tourism.models import Booking, HostCashEntry


def _counts(db) -> tuple[int, int, int, int]:
    return tuple(
        db.session.scalar(sa.select(sa.func.count()).select_from(model))
        for model in (IncomeEntry, PaymentAccount, BenefitRecord, PayoutBatch)
    )


def test_the_demo_county_has_income_households_to_pay_and_some_waiting_for_an_account(app, db, client, auth):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    entries, accounts, records, batches = _counts(db)
    assert entries > 0 and records == 3 and batches == 0
    assert 0 < accounts < 40  # every fifth demo household has no payment account yet
    # the ledger holds exactly what the records say, each record once
    for record in db.session.scalars(sa.select(BenefitRecord)):
        credited = db.session.scalar(
            sa.select(sa.func.sum(IncomeEntry.amount_fen)).where(IncomeEntry.record_id == record.id)
        )
        assert credited == record.total_fen > 0

    # the sales: picked up and paid in cash at the counter, credited to the products' households, reconciled
    buyer = db.session.scalar(sa.select(User).where(User.email == "buyer@demo.cn"))
    orders = db.session.scalars(sa.select(Order).where(Order.user_id == buyer.id)).all()
    assert (
        orders
        and {o.status for o in orders} == {"completed"}
        and {o.payment_method for o in orders} == {"station_cash"}
    )
    sold = db.session.scalar(sa.select(sa.func.sum(IncomeEntry.amount_fen)).where(IncomeEntry.kind == "sale"))
    assert 0 < sold < sum(o.total_fen for o in orders)  # the households' share; commission and collective aside
    assert reconcile.check()["discrepancies"] == [] and reconcile_money.check_money()["discrepancies"] == []

    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    assert _counts(db) == (entries, accounts, records, 0)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Order)) == len(orders) + 1  # the stay's
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Booking)) == 1

    auth.login("county@demo.cn", "demo12345")
    page = client.get("/county/payouts").get_data(as_text=True)
    waiting = re.search(r'<section id="waiting-for-account">(.*?)</section>', page, re.S)
    assert waiting and waiting.group(1).count("<tr>") >= 2  # the heading row and at least one household
    today = local_date(now_utc())
    # the form proposes this month to today, and that period makes a batch paying the accounts' households
    assert 'name="period_from" required min="' in page and f'value="{today.replace(day=1).isoformat()}"' in page
    made = client.post(
        "/county/payouts", data={"period_from": today.replace(day=1).isoformat(), "period_to": today.isoformat()}
    )
    assert made.status_code == 302
    batch = db.session.scalar(sa.select(PayoutBatch))
    assert batch is not None and 0 < len(batch.lines) <= accounts and batch.skipped_no_account > 0


def _cells(page: str, key: int) -> list[str]:
    """The cells of the income table's row of `key` (a household id), as text."""
    row = re.search(rf'<tr data-key="{key}">(.*?)</tr>', page, re.S)
    assert row, key
    return [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.S)]


def test_the_demo_tourist_stayed_at_a_demo_homestay_and_its_households_were_credited(app, db, client, auth):
    """demo.stays: the demo tourist's two nights last week, paid in cash on arrival and completed, show as
    乡村旅游 income of the listing's households in the county's report and their 收入明细; seeding again
    books nothing more."""
    runner = app.test_cli_runner()
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    booking = db.session.scalar(sa.select(Booking))
    assert booking is not None and booking.user.email == "consumer@demo.cn" and booking.listing.slug == "huahai-minsu"
    today = local_date(now_utc())
    assert booking.status == "completed" and booking.check_out_date < today and booking.pay_on_arrival
    cash = db.session.scalars(sa.select(HostCashEntry)).all()
    assert [(e.booking_id, e.amount_fen, e.business_date) for e in cash] == [
        (booking.id, booking.total_fen, booking.check_in_date)
    ]
    credited = db.session.scalars(sa.select(IncomeEntry).where(IncomeEntry.kind == "tourism")).all()
    linked = set(
        db.session.scalars(sa.select(BenefitLink.household_id).where(BenefitLink.listing_id == booking.listing_id))
    )
    assert linked and {e.household_id for e in credited} == linked
    assert {e.entry_date for e in credited} == {booking.check_out_date}
    assert 0 < sum(e.amount_fen for e in credited) <= booking.total_fen  # the split check_bookings checks
    assert reconcile.check()["discrepancies"] == []
    assert reconcile_money.check_money()["discrepancies"] == []
    assert reconcile_money.check_bookings()["discrepancies"] == []
    assert reconcile_tourism.check_kept()["discrepancies"] == []

    auth.login("county@demo.cn", "demo12345")
    page = client.get("/county/income?group_by=household").get_data(as_text=True)
    for household_id in linked:
        mine = sum(e.amount_fen for e in credited if e.household_id == household_id)
        assert _cells(page, household_id)[2] == format_yuan(mine)  # the 乡村旅游 column
        statement = client.get(f"/county/households/{household_id}/statement").get_data(as_text=True)
        rows = re.findall(r'<tr class="entry">(.*?)</tr>', statement, re.S)
        stay = [r for r in rows if "<td>乡村旅游</td>" in r]
        assert len(stay) == 1 and f"<td>{booking.check_out_date}</td>" in stay[0] and format_yuan(mine) in stay[0]
        assert db.session.get(Household, household_id).is_demo

    def counts() -> list[int]:
        return [
            db.session.scalar(sa.select(sa.func.count()).select_from(m)) for m in (Booking, HostCashEntry, IncomeEntry)
        ]

    before = counts()
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    assert counts() == before


def test_seeding_the_demo_completes_its_own_stay_only(app, db):
    """Someone else's stay, checked in and due to be completed since before the demo's: the demo leaves it
    to the hourly job (`complete_stays`), it completes the demo tourist's booking alone."""
    from tests.tourism.factories import make_booking, make_listing

    today = local_date(now_utc())
    other = make_booking(
        make_listing(), check_in=today - timedelta(days=12), check_out=today - timedelta(days=10), status="checked_in"
    )
    commit()
    assert app.test_cli_runner().invoke(args=["seed-demo"]).exit_code == 0

    demo = db.session.scalar(sa.select(Booking).join(User).where(User.email == "consumer@demo.cn"))
    assert demo.status == "completed"
    db.session.expire_all()
    assert db.session.get(Booking, other.id).status == "checked_in"
