"""Reconciliation: every delivered product line and completed booking line against the ledger.

An open line with a benefit split must have credit entries equal, household by household, to its
producer share split, and a partly refunded one (已退款 2/5) reversals equal, household by household, to
that credit scaled to the units refunded (`ledger.services.unit_reversal_due`); a refunded line that
was credited must have been reversed (net zero); a line
canceled before hand-over was never credited. Lines without a split credit nothing by design.
Money kept by canceled and no-show bookings is checked by `reconcile_tourism.check_kept`; the money
received for shipments and card orders (cash book, captures, refunds) by `reconcile_money.check_money`.
"""

from __future__ import annotations

import sqlalchemy as sa

from county.services.reconcile_money import check_money
from county.services.reconcile_tourism import check_kept
from ledger.models import IncomeEntry, IncomeKind
from ledger.services import KIND_FOR_LINE, expected_credit, unit_reversal_due
from orders.models import OrderLine, Shipment, ShipmentStatus
from shop.extensions import db
from tourism.models import Booking, BookingStatus


def lines_due() -> list[OrderLine]:
    """Lines whose crediting event happened: shipment delivered/picked up, or booking completed."""
    product_lines = (
        sa.select(OrderLine)
        .join(Shipment, Shipment.id == OrderLine.shipment_id)
        .where(OrderLine.kind == "product", Shipment.status == ShipmentStatus.DELIVERED)
    )
    booking_lines = (
        sa.select(OrderLine)
        .join(Booking, Booking.id == OrderLine.booking_id)
        .where(OrderLine.kind == "booking", Booking.status == BookingStatus.COMPLETED)
    )
    lines = list(db.session.scalars(product_lines)) + list(db.session.scalars(booking_lines))
    return sorted(lines, key=lambda l: l.id)


def check() -> dict:
    """{"checked": n, "discrepancies": [{line_id, order_id, title, kind, problem, expected_fen, credited_fen}]}"""
    lines = lines_due()
    by_line: dict[int, dict] = {}
    if lines:
        rows = db.session.execute(
            sa.select(
                IncomeEntry.order_line_id,
                IncomeEntry.kind,
                IncomeEntry.household_id,
                sa.func.sum(IncomeEntry.amount_fen),
            )
            .where(IncomeEntry.order_line_id.in_([l.id for l in lines]))
            .group_by(IncomeEntry.order_line_id, IncomeEntry.kind, IncomeEntry.household_id)
        ).all()
        for line_id, kind, household_id, total in rows:
            if line_id is None:  # never: filtered on it (records have no line)
                continue
            by_line.setdefault(line_id, {}).setdefault(kind, {})[household_id] = int(total)
    problems = []
    for line in lines:
        expected = expected_credit(line)
        kinds = by_line.get(line.id, {})
        credited = kinds.get(KIND_FOR_LINE[line.kind], {})
        reversed_ = sum(kinds.get(IncomeKind.REVERSAL, {}).values())
        problem = None
        net = sum(credited.values()) + reversed_
        if line.status != "open":
            # canceled before hand-over: never credited; refunded after: the credit must be reversed
            if credited and net > 0:
                problem = "refund_not_reversed"
        elif expected and not credited:
            problem = "missing_credit"
        elif credited != expected and (expected or credited):
            problem = "credit_mismatch"
        elif -reversed_ > sum(credited.values()):
            problem = "over_reversed"
        elif line.kind == "product" and line.refunded_quantity and credited:
            # partly refunded: the reversals are the credit scaled to the units refunded, household by household
            due = unit_reversal_due(line, line.refunded_quantity, credited=credited)  # read above, with every line's
            by_household = kinds.get(IncomeKind.REVERSAL, {})
            if any(-by_household.get(h, 0) != due.get(h, 0) for h in set(due) | set(by_household)):
                problem = "partial_refund_mismatch"
        if problem:
            problems.append(
                {
                    "line_id": line.id,
                    "order_id": line.order_id,
                    "title": line.title,
                    "kind": line.kind,
                    "problem": problem,
                    "expected_fen": sum(expected.values()),
                    "credited_fen": sum(credited.values()),
                    "reversed_fen": reversed_,
                }
            )
    kept = check_kept()  # late-cancellation fees and no-show charges (county.services.reconcile_tourism)
    money = check_money()  # money received against what is due (county.services.reconcile_money)
    return {
        "checked": len(lines) + kept["checked"] + money["checked"],
        "discrepancies": problems + kept["discrepancies"] + money["discrepancies"],
    }
