"""Reconciliation against money (docs/MONEY.md, "Reconciliation").

Per shipment of a cash order: the cash in the stations' cash book for it (taken minus cash refunds
paid out) must equal what is due for it once it is handed over, nothing once it is canceled, and
either nothing or everything before; every cash refund must be in a cash book. Per card order (and
per bank-transfer order, the transfer recorded being its capture and its refunds bank refunds:
`transfer_mismatch`): the captured payment minus its refunds must equal what the order is due
(nothing once canceled or expired), and no shipment may be handed over without a capture. What households were credited for
the lines is checked against the same lines by `county.services.reconcile.check`, so together:
money received − refunds = amount due, and credits = the split of the money received.

Per booking (`check_bookings`): the captured payment (card confirmed, or cash taken on arrival or
at the gate) minus its refunds must equal what the booking owes (`tourism.services.amounts`):
`card_mismatch`, `cash_not_received`, `cash_mismatch`; the cash of a booking paid on arrival is
in the host's cash book, and nothing else is (`host_cash_mismatch`); and the line's net credit must be the split
of that money — nothing before the stay is completed, the producer share of the money received
once it is (`credit_not_money_received`). Kept fees of canceled and no-show bookings are checked
household by household by `reconcile_tourism.check_kept`.

`check_money()` answers in the shape of `reconcile.check()` (`subject` names the shipment, order or
booking, `expected_fen` what is due, `credited_fen` the money received net of refunds).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from ledger.models import IncomeEntry
from ledger.services import expected_kept_credit
from orders.models import (
    REFUND_OWED,
    CashEntry,
    CashKind,
    Order,
    OrderLine,
    OrderPayment,
    OrderStatus,
    PaymentMethod,
    PaymentState,
    Refund,
    ShipmentStatus,
)
from orders.services.amounts import CASH_METHODS, order_due_fen, shipment_due_fen
from shop.extensions import db
from tourism.models import Booking, BookingStatus
from tourism.services.amounts import booking_due_fen
from tourism.services.host_cash import cash_by_booking

CAPTURED = (PaymentState.CONFIRMED, PaymentState.REFUNDED)


def _problem(order: Order, subject: str, problem: str, due: int, received: int, *, title: str | None = None) -> dict:
    return {
        "line_id": None,
        "order_id": order.id if order is not None else None,
        "subject": subject,
        "title": title or subject,
        "kind": "money",
        "problem": problem,
        "expected_fen": due,
        "credited_fen": received,
        "reversed_fen": 0,
    }


def _refunds_by_payment(payment_ids: list[int]) -> dict[int, list[Refund]]:
    refunds: dict[int, list[Refund]] = {}
    if payment_ids:
        for refund in db.session.scalars(sa.select(Refund).where(Refund.payment_id.in_(payment_ids))):
            refunds.setdefault(refund.payment_id, []).append(refund)
    return refunds


def _received_fen(payments: list[OrderPayment], refunds: dict[int, list[Refund]]) -> tuple[bool, int]:
    """(anything captured?, captured − refunds) over an order's payments (failed refunds gave nothing back)."""
    captured = [p for p in payments if p.state in CAPTURED]
    received = sum(p.amount_fen for p in captured) - sum(
        r.amount_fen for p in captured for r in refunds.get(p.id, []) if r.state != "failed"
    )
    return bool(captured), received


def _cash_by_shipment(shipment_ids: list[int]) -> tuple[dict[int, int], set[int]]:
    """({shipment id: net cash in the book}, {refund ids paid out of a till})."""
    net: dict[int, int] = {}
    refunds: set[int] = set()
    if not shipment_ids:
        return net, refunds
    for shipment_id, kind, refund_id, amount in db.session.execute(
        sa.select(CashEntry.shipment_id, CashEntry.kind, CashEntry.refund_id, CashEntry.amount_fen).where(
            CashEntry.shipment_id.in_(shipment_ids)
        )
    ):
        assert shipment_id is not None  # the query names shipments
        if kind in (CashKind.STATION_CASH, CashKind.COD, CashKind.REFUND):
            net[shipment_id] = net.get(shipment_id, 0) + int(amount)
        if refund_id is not None:
            refunds.add(refund_id)
    return net, refunds


def check_money() -> dict:
    orders = list(
        db.session.scalars(
            sa.select(Order)
            .where(Order.id.in_(sa.select(Order.id).join(Order.shipments)))
            .options(selectinload(Order.shipments), selectinload(Order.lines), selectinload(Order.payments))
            .order_by(Order.id)
        )
    )
    shipment_ids = [s.id for o in orders for s in o.shipments]
    cash_net, refunds_in_book = _cash_by_shipment(shipment_ids)
    refunds = _refunds_by_payment([p.id for o in orders for p in o.payments])
    for payment_refunds in refunds.values():  # a cash refund owed (待退还) is the buyer's, though still in the till
        for refund in payment_refunds:
            if refund.state == REFUND_OWED and refund.shipment_id is not None:
                cash_net[refund.shipment_id] = cash_net.get(refund.shipment_id, 0) - refund.amount_fen
    problems: list[dict] = []
    checked = 0
    for order in orders:
        if order.payment_method in CASH_METHODS:
            for shipment in order.shipments:
                checked += 1
                due = shipment_due_fen(shipment)
                received = cash_net.get(shipment.id, 0)
                if shipment.status == ShipmentStatus.DELIVERED and received != due:
                    problems.append(
                        _problem(
                            order,
                            shipment.code,
                            "cash_not_received" if received == 0 else "cash_mismatch",
                            due,
                            received,
                        )
                    )
                elif shipment.status == ShipmentStatus.CANCELED and received != 0:
                    problems.append(_problem(order, shipment.code, "cash_not_refunded", 0, received))
                elif received not in (0, due):
                    problems.append(_problem(order, shipment.code, "cash_mismatch", due, received))
            for payment in order.payments:
                for refund in refunds.get(payment.id, []):
                    # a refund owed (待退还) is still in the till: it enters the book when handed back
                    if refund.state != REFUND_OWED and refund.id not in refunds_in_book:
                        problems.append(
                            _problem(
                                order,
                                f"{order.code} refund {refund.id}",
                                "cash_refund_not_in_book",
                                0,
                                refund.amount_fen,
                            )
                        )
            continue
        checked += 1
        captured, received = _received_fen(order.payments, refunds)
        if not captured:
            if any(s.status == ShipmentStatus.DELIVERED for s in order.shipments):
                problems.append(_problem(order, order.code, "handed_over_unpaid", order_due_fen(order), 0))
            continue
        due = 0 if order.status in (OrderStatus.CANCELED, OrderStatus.EXPIRED) else order_due_fen(order)
        if {line.kind for line in order.lines} == {"product", "booking"}:  # a mixed order (#21)
            due = _mixed_due_fen(order)
        if received != due:
            problem = "transfer_mismatch" if order.payment_method == PaymentMethod.BANK_TRANSFER else "card_mismatch"
            problems.append(_problem(order, order.code, problem, due, received))
    bookings = check_bookings()
    return {"checked": checked + bookings["checked"], "discrepancies": problems + bookings["discrepancies"]}


def _mixed_due_fen(order: Order) -> int:
    """What a card order of goods and bookings should hold: its live shipments (nothing once the
    order is canceled or expired) plus what each booking owes or kept (`booking_due_fen`; a booking
    line without its booking row: its total while open, as `order_due_fen` counts it)."""
    over = order.status in (OrderStatus.CANCELED, OrderStatus.EXPIRED)
    due = 0 if over else sum(map(shipment_due_fen, order.shipments))
    for line in order.lines:
        if line.kind != "booking":
            continue
        if line.booking is not None:
            due += booking_due_fen(line.booking, line, captured=True)
        elif not over and line.status == "open":
            due += line.line_total_fen
    return due


def _line_received_fen(line: OrderLine, order: Order, refunds: dict[int, list[Refund]]) -> int:
    """A booking line's own money in an order of several lines: its total once captured, less the
    refunds that name it (a mixed order's payment is for all its lines)."""
    captured = [p for p in order.payments if p.state in CAPTURED]
    if not captured:
        return 0
    return line.line_total_fen - sum(
        r.amount_fen
        for p in captured
        for r in refunds.get(p.id, [])
        if r.state != "failed" and r.order_line_id == line.id
    )


def check_bookings() -> dict:
    """Per booking sold through an order: money received − refunds = what it owes; its line's net
    credit = the split of the money received (nothing before the stay is completed)."""
    rows = db.session.execute(
        sa.select(Booking, OrderLine, Order)
        .join(OrderLine, OrderLine.booking_id == Booking.id)
        .join(Order, Order.id == OrderLine.order_id)
        .where(OrderLine.kind == "booking")
        .options(selectinload(Order.payments), selectinload(Order.lines))
        .order_by(Booking.id)
    ).all()
    if not rows:
        return {"checked": 0, "discrepancies": []}
    refunds = _refunds_by_payment([p.id for _b, _l, order in rows for p in order.payments])
    net_credit = dict(
        db.session.execute(
            sa.select(IncomeEntry.order_line_id, sa.func.sum(IncomeEntry.amount_fen))
            .where(IncomeEntry.order_line_id.in_([line.id for _b, line, _o in rows]))
            .group_by(IncomeEntry.order_line_id)
        ).all()
    )
    in_book = cash_by_booking([booking.id for booking, _l, _o in rows])
    problems: list[dict] = []
    for booking, line, order in rows:
        captured, received = _received_fen(order.payments, refunds)
        if len(order.lines) > 1:  # the order's payment is for several lines: this line's part of it
            received = _line_received_fen(line, order, refunds)
        due = booking_due_fen(booking, line, captured=captured)
        title = f"{booking.code} · {line.title}"
        if received != due:
            if booking.pay_on_arrival:
                problem = "cash_not_received" if received == 0 else "cash_mismatch"
            else:
                problem = "card_mismatch"
            problems.append(_problem(order, booking.code, problem, due, received, title=title))
        book = in_book.get(booking.id, 0)
        if book != (received if booking.pay_on_arrival else 0):  # cash taken = the host's book
            problems.append(
                _problem(
                    order,
                    booking.code,
                    "host_cash_mismatch",
                    received if booking.pay_on_arrival else 0,
                    book,
                    title=title,
                )
            )
        if booking.status in (BookingStatus.CANCELED, BookingStatus.NO_SHOW):
            continue  # kept money: reconcile_tourism.check_kept, household by household
        if booking.status == BookingStatus.COMPLETED:
            if received == due:
                continue  # the line's credit against its split: reconcile.check, household by household
            credit_due = sum(expected_kept_credit(line, received).values()) if received > 0 else 0
        else:
            credit_due = 0  # nothing is credited before the stay is completed
        credited = int(net_credit.get(line.id) or 0)
        if credited != credit_due:
            problems.append(
                _problem(order, booking.code, "credit_not_money_received", credit_due, credited, title=title)
            )
    return {"checked": len(rows), "discrepancies": problems}
