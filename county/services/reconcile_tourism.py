"""Reconciliation of the money bookings keep: late-cancellation fees and no-show charges.

A canceled or no-show booking whose payment was captured keeps `kept = captured − refunded`
(`tourism.services.booking.kept_fen`). Its line must hold, net of reversals, the producer share of
`kept` split by the line's snapshot (docs/MONEY.md, "Tourism"): credited once when the money was
kept, reversed like a sale when it is given back. `check_kept()` is a separate function so the money
reconciliation (`county.services.reconcile`) can call it beside its own checks.
"""

from __future__ import annotations

import sqlalchemy as sa

from ledger.models import IncomeEntry, IncomeKind
from ledger.services import KEPT_REFS, expected_kept_credit
from orders.models import OrderLine, OrderPayment, PaymentState
from shop.extensions import db
from tourism.models import Booking, BookingStatus
from tourism.services.booking import kept_fen


def check_kept() -> dict:
    """{"checked": n, "discrepancies": [{line_id, order_id, booking, title, kind, problem,
    expected_fen, credited_fen, reversed_fen, kept_fen}]} over canceled and no-show bookings."""
    rows = db.session.execute(
        sa.select(Booking, OrderLine)
        .join(OrderLine, OrderLine.booking_id == Booking.id)
        .where(Booking.status.in_([BookingStatus.CANCELED, BookingStatus.NO_SHOW]), OrderLine.kind == "booking")
        .order_by(OrderLine.id)
    ).all()
    if not rows:
        return {"checked": 0, "discrepancies": []}
    line_ids = [line.id for _b, line in rows]
    payments: dict[int, OrderPayment] = {}
    for payment in db.session.scalars(
        sa.select(OrderPayment)
        .where(
            OrderPayment.order_id.in_({line.order_id for _b, line in rows}),
            OrderPayment.state.in_([PaymentState.CONFIRMED, PaymentState.REFUNDED]),
        )
        .order_by(OrderPayment.id)
    ):
        payments.setdefault(payment.order_id, payment)
    held: dict[int, dict[str, dict[int, int]]] = {}
    kept_credits: dict[int, int] = {}
    for line_id, kind, ref, household_id, total in db.session.execute(
        sa.select(
            IncomeEntry.order_line_id,
            IncomeEntry.kind,
            IncomeEntry.ref,
            IncomeEntry.household_id,
            sa.func.sum(IncomeEntry.amount_fen),
        )
        .where(IncomeEntry.order_line_id.in_(line_ids))
        .group_by(IncomeEntry.order_line_id, IncomeEntry.kind, IncomeEntry.ref, IncomeEntry.household_id)
    ):
        if line_id is None:  # never: filtered on it (records have no line)
            continue
        by_household = held.setdefault(line_id, {}).setdefault(kind, {})
        by_household[household_id] = by_household.get(household_id, 0) + int(total)
        if kind == IncomeKind.TOURISM and ref in KEPT_REFS:
            kept_credits[line_id] = kept_credits.get(line_id, 0) + int(total)
    problems = []
    for booking, line in rows:
        kept = kept_fen(booking, payments.get(line.order_id))
        credited_at_keep = kept_credits.get(line.id, 0)
        kinds = held.get(line.id, {})
        credited = kinds.get(IncomeKind.TOURISM, {})
        reversed_ = sum(kinds.get(IncomeKind.REVERSAL, {}).values())
        net = sum(credited.values()) + reversed_
        expected = expected_kept_credit(line, kept)
        problem = None
        if expected and not credited:
            problem = "kept_fee_not_credited"
        elif net != sum(expected.values()):
            problem = "kept_fee_mismatch"
        elif not reversed_ and credited != expected:
            problem = "kept_fee_mismatch"
        elif credited and credited_at_keep != sum(credited.values()):
            problem = "kept_fee_mismatch"  # a stay credit on a booking nobody stayed
        if problem:
            problems.append(
                {
                    "line_id": line.id,
                    "order_id": line.order_id,
                    "booking": booking.code,
                    "title": line.title,
                    "kind": line.kind,
                    "problem": problem,
                    "expected_fen": sum(expected.values()),
                    "credited_fen": sum(credited.values()),
                    "reversed_fen": reversed_,
                    "kept_fen": kept,
                }
            )
    return {"checked": len(rows), "discrepancies": problems}
