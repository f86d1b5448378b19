"""The county's daily summaries follow the ledger (ledger.summaries): what a transaction wrote is added at
its commit, a duplicate adds nothing, a rolled-back savepoint or transaction adds nothing, and a report
read before the commit already counts what the transaction wrote."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from county.services import reports
from ledger.models import IncomeDaily, IncomeEntry, SaleDaily, SaleFigure
from ledger.services import credit_line, reverse_line
from shop.db import commit
from tests.county.factories import make_line
from tests.factories import make_household


def _daily(db) -> dict:
    d = IncomeDaily
    return {
        (r.household_id, r.kind): (int(r.amount_fen), int(r.entries))
        for r in db.session.execute(sa.select(d.household_id, d.kind, d.amount_fen, d.entries))
    }


def _ledger(db) -> dict:
    e = IncomeEntry
    return {
        (r[0], r[1]): (int(r[2]), int(r[3]))
        for r in db.session.execute(
            sa.select(e.household_id, e.kind, sa.func.sum(e.amount_fen), sa.func.count()).group_by(
                e.household_id, e.kind
            )
        )
    }


def _sales(db) -> tuple[int, int]:
    daily = db.session.execute(
        sa.select(
            sa.func.coalesce(sa.func.sum(SaleDaily.sale_fen), 0), sa.func.coalesce(sa.func.sum(SaleDaily.lines), 0)
        )
    ).one()
    rows = db.session.execute(sa.select(sa.func.coalesce(sa.func.sum(SaleFigure.sale_fen), 0), sa.func.count())).one()
    assert tuple(daily) == tuple(rows)
    return int(daily[0]), int(daily[1])


def test_the_summaries_get_a_transactions_rows_at_its_commit_once(db, now):
    a, b = make_household(), make_household()
    line = make_line(households=[a, b], weights=[2, 1], unit_price_fen=1000, quantity=3)
    credit_line(line, now=now)
    assert _daily(db) == {}  # not yet: at the commit
    commit()
    assert _daily(db) == _ledger(db) == {(a.id, "sale"): (2000, 1), (b.id, "sale"): (1000, 1)}
    credit_line(line, now=now)  # already credited: no row, nothing added
    reverse_line(line, now=now, amount_fen=1500, ref="refund:1")
    commit()
    assert _daily(db) == _ledger(db)
    assert _sales(db) == (3000 - 1500, 2)


def test_a_rolled_back_savepoint_adds_nothing_to_the_summaries(db, now):
    a = make_household()
    kept = make_line(households=[a], unit_price_fen=500, quantity=1)
    dropped = make_line(households=[a], unit_price_fen=700, quantity=1)
    credit_line(kept, now=now)
    with pytest.raises(RuntimeError):
        with db.session.begin_nested():
            credit_line(dropped, now=now)
            raise RuntimeError("the caller gives up")
    commit()
    assert _daily(db) == _ledger(db) == {(a.id, "sale"): (500, 1)}
    assert _sales(db) == (500, 1)


def test_a_report_in_the_writing_transaction_counts_its_rows(db, now):
    a = make_household()
    line = make_line(households=[a], unit_price_fen=800, quantity=2)
    credit_line(line, now=now)
    total = reports.income_total()
    assert (total["total_fen"], total["entries"]) == (1600, 1)
    assert reports.sale_figures("station")["total"]["sale_fen"] == 1600
    commit()  # nothing is added twice
    assert _daily(db) == _ledger(db) == {(a.id, "sale"): (1600, 1)}
