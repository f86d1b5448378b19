"""The county's demo data (county.demo, demo.sales): a county officer trying the demo finds sale income and
recorded benefits credited, households to pay and a few still waiting for a payment account — the sales'
money received in a station's cash book and credited to the households as the county's reconciliation
expects, each benefit record's entries credited once, and nothing added by seeding again."""

from __future__ import annotations

import re

import sqlalchemy as sa

from county.services import reconcile, reconcile_money
from ledger.models import IncomeEntry
from ledger.payouts import PaymentAccount, PayoutBatch
from ledger.records import BenefitRecord
from orders.models import Order
from shop.timeutil import local_date, now_utc


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
    orders = db.session.scalars(sa.select(Order)).all()
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
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Order)) == len(orders)

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
