"""Partial refunds on PostgreSQL: the approval of a request for 2 of a line's 5 units racing the refund of
the whole line (a recall, the admin) — both take the order's lock, then the line's: whichever comes
second refunds what is left or is refused, never more than the line's units, and the money out, the cash
book and the ledger's reversal add up to the line exactly (net credit zero). Two taps approving one
partial request at once refund its units once."""

from __future__ import annotations

import sqlalchemy as sa

from county.services.reconcile import check
from ledger.models import IncomeEntry, SaleFigure
from orders.models import CashEntry, LineStatus, OrderLine, Refund, RefundRequest
from orders.services.payments import refund_line
from orders.services.refunds import approve_refund_request, request_refund
from shop.db import commit
from shop.extensions import db
from stations.services import fulfilment
from tests.concurrency.race import at_once
from tests.conftest import requires_postgres
from tests.factories import NOW, make_household, make_product, make_user
from tests.orders.factories import make_order

UNITS = 5


def _asked_for_two():
    households = [make_household(), make_household()]
    product = make_product(price_fen=3333, stock=10, households=households, weights=[2, 1])
    operator = make_user(role="operator", station=product.station)
    buyer = make_user()
    order = make_order(buyer, [(product, UNITS)], now=NOW, payment_method="cod")
    shipment = order.shipments[0]
    fulfilment.accept(shipment, actor=operator, now=NOW)
    fulfilment.pack(shipment, actor=operator, now=NOW)
    fulfilment.ship(shipment, tracking_number="SF1", actor=operator, now=NOW)
    fulfilment.deliver(shipment, actor=operator, now=NOW, cash_received_fen=fulfilment.shipment_amount_fen(shipment))
    req = request_refund(order, order.lines[0].id, actor=buyer, now=NOW, reason="坏了", kind="refund_only", quantity=2)
    commit()
    return order.id, order.lines[0].id, operator.id, req.id


def _sum(column, *where) -> int:
    return int(db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(column), 0)).where(*where)) or 0)


@requires_postgres
def test_a_partial_approval_racing_the_whole_lines_refund_never_refunds_more_than_the_line(app, committed_db):
    db = committed_db
    order_id, line_id, operator_id, req_id = _asked_for_two()

    def approve():
        from shop.auth.models import User

        approve_refund_request(req_id, actor=db.session.get(User, operator_id), now=NOW, goods="not_returned")

    def refund_whole():
        from shop.auth.models import User

        refund_line(db.session.get(OrderLine, line_id), actor=db.session.get(User, operator_id), now=NOW, reason="召回")

    race = at_once(app, [approve, refund_whole])
    assert race.errors == []
    assert 1 in race.won  # the whole line's refund always lands: after the 2 units, or before them
    assert race.refused in ([], ["line_already_refunded"])
    db.session.expire_all()
    line = db.session.get(OrderLine, line_id)
    assert line.status == LineStatus.REFUNDED and line.refunded_quantity == UNITS
    refunds = db.session.scalars(sa.select(Refund.amount_fen).where(Refund.order_line_id == line_id)).all()
    assert sum(refunds) == line.line_total_fen
    assert sorted(refunds) == ([3333 * 2, 3333 * 3] if 0 in race.won else [line.line_total_fen])
    assert db.session.get(RefundRequest, req_id).status == ("approved" if 0 in race.won else "requested")
    # every fen paid back is owed to the buyer (待退还, handed back later), and the credit is reversed to
    # zero, every part of the sale too
    assert _sum(Refund.amount_fen, Refund.order_line_id == line_id, Refund.state == "owed") == sum(refunds)
    assert _sum(CashEntry.amount_fen, CashEntry.order_id == order_id, CashEntry.kind == "refund") == 0
    assert _sum(IncomeEntry.amount_fen, IncomeEntry.order_line_id == line_id) == 0
    assert _sum(SaleFigure.sale_fen, SaleFigure.order_line_id == line_id) == 0
    assert [d for d in check()["discrepancies"] if d["order_id"] == order_id] == []


@requires_postgres
def test_two_taps_approving_one_partial_request_refund_its_units_once(app, committed_db):
    db = committed_db
    order_id, line_id, operator_id, req_id = _asked_for_two()

    def approve():
        from shop.auth.models import User

        approve_refund_request(req_id, actor=db.session.get(User, operator_id), now=NOW, goods="not_returned")

    race = at_once(app, [approve, approve])
    assert race.errors == []
    assert len(race.won) == 1 and race.refused == ["refund_request_decided"]
    db.session.expire_all()
    line = db.session.get(OrderLine, line_id)
    assert (line.status, line.refunded_quantity) == (LineStatus.OPEN, 2)
    assert db.session.scalars(sa.select(Refund.amount_fen).where(Refund.order_line_id == line_id)).all() == [6666]
    assert [d for d in check()["discrepancies"] if d["order_id"] == order_id] == []
