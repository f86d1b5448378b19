"""Two workers crediting the same line at once (delivery retried, a double click) credit it once."""

from __future__ import annotations

import sqlalchemy as sa

from ledger.models import IncomeEntry
from ledger.services import credit_line, reverse_line
from orders.models import OrderLine
from shop.db import commit
from tests.concurrency.race import Loaded, at_once
from tests.conftest import requires_postgres
from tests.county.factories import make_line
from tests.factories import make_household


@requires_postgres
def test_concurrent_credits_and_reversals_write_each_entry_once(app, committed_db, now):
    households = [make_household() for _ in range(3)]
    line = make_line(households=households, weights=[1, 2, 3], unit_price_fen=9999)
    commit()
    line_id = line.id

    def on_the_line(action) -> Loaded:
        return Loaded(lambda: committed_db.session.get(OrderLine, line_id), lambda line: action(line, now=now))

    assert at_once(app, [on_the_line(credit_line)] * 6, refused=(), seconds=30).errors == []
    with app.app_context():
        entries = committed_db.session.scalars(sa.select(IncomeEntry).where(IncomeEntry.order_line_id == line_id)).all()
        assert len(entries) == 3 and sum(e.amount_fen for e in entries) == 9999

    assert at_once(app, [on_the_line(reverse_line)] * 4, refused=(), seconds=30).errors == []
    with app.app_context():
        total = committed_db.session.scalar(
            sa.select(sa.func.sum(IncomeEntry.amount_fen)).where(IncomeEntry.order_line_id == line_id)
        )
        assert total == 0


@requires_postgres
def test_concurrent_partial_refunds_never_reverse_more_than_the_credit(app, committed_db, now):
    households = [make_household() for _ in range(2)]
    line = make_line(households=households, unit_price_fen=1000, quantity=3)
    credit_line(line, now=now)
    commit()
    line_id = line.id

    def refund(n: int) -> Loaded:
        return Loaded(
            lambda: committed_db.session.get(OrderLine, line_id),
            lambda line: reverse_line(line, now=now, amount_fen=1000, ref=f"refund:{n}"),
        )

    assert at_once(app, [refund(n) for n in range(5)], refused=(), seconds=30).errors == []
    with app.app_context():
        for h in households:
            held = committed_db.session.scalar(
                sa.select(sa.func.sum(IncomeEntry.amount_fen)).where(
                    IncomeEntry.order_line_id == line_id, IncomeEntry.household_id == h.id
                )
            )
            assert held == 0
