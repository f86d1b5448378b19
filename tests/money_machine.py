"""What the money state machines share (#18): the clock, the orders they made, and the invariants
checked after every step, whatever the machine does (product orders in
`tests/orders/test_money_machine.py`, bookings in `tests/tourism/test_booking_money_machine.py`):

- no order total (nor payment amount) ever changes;
- cash books (the stations' `CashEntry` and the hosts' `HostCashEntry`) + card captures − refunds =
  money received, order by order; cash refunds are in a station's book; nothing handed over or
  stayed is short of its money;
- credits = the split of the money received (`ledger.services`: every credited line by its split,
  every refund reversed, a product line's refunded units by the credit scaled to them and its refunds
  their price; a booking's line by `expected_kept_credit` of what it holds once the stay is
  over, canceled or a no-show, nothing before);
- `county.services.reconcile.check` (with `reconcile_money` and `reconcile_tourism`) finds nothing
  about these orders, and `reconcile_money.check_money` nothing at all for them;
- an order's own status follows its parts (`orders.services.settlement`): confirmed while a shipment or
  a booking is still open, completed once none is and one took place, canceled when none did.

A machine subclasses `MoneyMachineBase`, adds its rules, and calls `remember(order)` for every order
it makes. Runs on PostgreSQL when TEST_DATABASE_URL names one (CI), else on SQLite.
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, invariant

from county.services.reconcile import check
from county.services.reconcile_money import check_money
from ledger.models import IncomeEntry, SaleFigure
from ledger.services import expected_kept_credit, unit_reversal_due
from orders.bookables import Outcome
from orders.models import CashEntry, Order, OrderStatus, Refund, ShipmentStatus
from orders.services import cashbook as cash
from orders.services.amounts import shipment_due_fen, units_fen
from orders.services.settlement import order_outcome
from shop.extensions import db
from tourism.models import Booking, BookingStatus, HostCashEntry
from tourism.services.amounts import booking_due_fen

CAPTURED = ("confirmed", "refunded")

#: The budget of each machine's run (CI): examples × steps.
SETTINGS = settings(
    max_examples=10,
    stateful_step_count=12,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


#: Paid before fulfilment, not into a till: a card capture, a bank transfer recorded (对公转账).
PAID_FIRST = ("card", "bank_transfer")


def _sum(column, *where) -> int:
    return int(db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(column), 0)).where(*where)) or 0)


def money_received_fen(order: Order) -> tuple[int, int, int, int]:
    """(station books less the cash they owe back, host book, card captures or bank transfers − refunds,
    all refunds) of one order. A cash refund owed (待退还) is still in the till, not in the book: it is
    the buyer's money, so it is not money received."""
    payment_ids = [p.id for p in order.payments]
    owed = _sum(Refund.amount_fen, Refund.payment_id.in_(payment_ids), Refund.state == "owed")
    station = _sum(CashEntry.amount_fen, CashEntry.order_id == order.id) - owed
    host = _sum(HostCashEntry.amount_fen, HostCashEntry.order_id == order.id)
    refunded = _sum(Refund.amount_fen, Refund.payment_id.in_(payment_ids), Refund.state != "failed")
    captured = sum(p.amount_fen for p in order.payments if p.state in CAPTURED)
    card = captured - refunded if order.payment_method in PAID_FIRST else 0
    return station, host, card, refunded


def line_credits(line_id: int) -> dict[int, int]:
    """{household id: net credit} of one order line (credits and reversals), zeros left out."""
    rows = db.session.execute(
        sa.select(IncomeEntry.household_id, sa.func.sum(IncomeEntry.amount_fen))
        .where(IncomeEntry.order_line_id == line_id)
        .group_by(IncomeEntry.household_id)
    ).all()
    return {household_id: int(total) for household_id, total in rows if int(total)}


class MoneyMachineBase(RuleBasedStateMachine):
    now = None  # set by the test

    def __init__(self):
        super().__init__()
        self.clock = type(self).now
        self.totals: dict[int, tuple[int, int, int]] = {}  # order id -> (total, subtotal, payment amount)

    # --- helpers --------------------------------------------------------------------------------

    def tick(self, minutes: int = 1):
        self.clock += timedelta(minutes=minutes)
        return self.clock

    def orders(self) -> list[Order]:
        return [db.session.get(Order, order_id) for order_id in sorted(self.totals)]

    @staticmethod
    def pick(items, index):
        return items[index % len(items)] if items else None

    def remember(self, order: Order) -> None:
        db.session.flush()
        self.totals[order.id] = (order.total_fen, order.subtotal_fen, order.payments[0].amount_fen)

    # --- invariants -----------------------------------------------------------------------------

    @invariant()
    def totals_never_change(self):
        for order in self.orders():
            assert (order.total_fen, order.subtotal_fen, order.payments[0].amount_fen) == self.totals[order.id]

    @invariant()
    def reconciliation_finds_nothing(self):
        if not self.totals:
            return
        db.session.flush()
        mine = set(self.totals)
        assert [d for d in check_money()["discrepancies"] if d["order_id"] in mine] == []
        assert [d for d in check()["discrepancies"] if d["order_id"] in mine] == []

    @invariant()
    def the_order_status_follows_its_parts(self):
        #: an order's status -> the outcome of its parts it goes with
        follows = {
            OrderStatus.CONFIRMED: Outcome.OPEN,
            OrderStatus.COMPLETED: Outcome.DONE,
            OrderStatus.CANCELED: Outcome.VOID,
        }
        for order in self.orders():
            if order.status in follows:
                assert order_outcome(order) == follows[OrderStatus(order.status)], order.status

    @invariant()
    def books_and_captures_are_the_money_received_and_credits_its_split(self):
        if not self.totals:
            return
        db.session.flush()
        for order in self.orders():
            station, host, card, refunded = money_received_fen(order)
            received = station + host + card
            if order.payment_method not in PAID_FIRST:
                # every cash refund left a station's till or is owed by it (the host's till pays none:
                # cash_held_by_host); one handed back is in the book once
                assert station == sum(cash.shipment_cash_fen(s.id) for s in order.shipments)
                assert refunded == _sum(
                    Refund.amount_fen, Refund.payment_id.in_([p.id for p in order.payments]), Refund.state == "owed"
                ) - _sum(CashEntry.amount_fen, CashEntry.order_id == order.id, CashEntry.kind == "refund")
            delivered_due = sum(shipment_due_fen(s) for s in order.shipments if s.status == ShipmentStatus.DELIVERED)
            assert received >= delivered_due
            credited = _sum(IncomeEntry.amount_fen, IncomeEntry.order_line_id.in_([l.id for l in order.lines]))
            assert 0 <= credited <= received
            for line in order.lines:
                if line.booking_id is not None:
                    self.check_booking_line(order, line, received)

    @invariant()
    def refunded_units_give_back_their_price_and_reverse_their_share(self):
        """A delivered product line's units refunded so far (in one request or several): the refunds that
        name it are their price, and its reversals, household by household, the credit scaled to them
        (`ledger.services.unit_reversal_due`, cumulative rounding), never a positive reversal row; every unit
        refunded: net credit zero."""
        if not self.totals:
            return
        db.session.flush()
        for order in self.orders():
            for line in order.lines:
                shipment = line.shipment
                if line.kind != "product" or shipment is None or shipment.status != ShipmentStatus.DELIVERED:
                    continue
                refunded = _sum(Refund.amount_fen, Refund.order_line_id == line.id, Refund.state != "failed")
                assert refunded == units_fen(line, line.refunded_quantity), (line.id, line.refunded_quantity)
                reversed_ = dict(
                    db.session.execute(
                        sa.select(IncomeEntry.household_id, -sa.func.sum(IncomeEntry.amount_fen))
                        .where(IncomeEntry.order_line_id == line.id, IncomeEntry.kind == "reversal")
                        .group_by(IncomeEntry.household_id)
                    ).all()
                )
                due = unit_reversal_due(line, line.refunded_quantity)
                assert {h: int(v) for h, v in reversed_.items() if v} == {h: v for h, v in due.items() if v}
                # no refund step ever gives a household money back
                assert not _sum(
                    IncomeEntry.amount_fen,
                    IncomeEntry.order_line_id == line.id,
                    IncomeEntry.kind == "reversal",
                    IncomeEntry.amount_fen > 0,
                )
                if line.refunded_quantity == line.quantity:
                    assert line_credits(line.id) == {}
                    assert _sum(SaleFigure.sale_fen, SaleFigure.order_line_id == line.id) == 0
                    assert _sum(SaleFigure.commission_fen, SaleFigure.order_line_id == line.id) == 0
                    assert _sum(SaleFigure.collective_fen, SaleFigure.order_line_id == line.id) == 0

    def check_booking_line(self, order: Order, line, received: int) -> None:
        """A booking's money: received = what it owes; its credit = the split of what it holds."""
        booking = db.session.get(Booking, line.booking_id)
        captured = any(p.state in CAPTURED for p in order.payments)
        assert received == booking_due_fen(booking, line, captured=captured), booking.status
        if booking.pay_on_arrival:
            assert _sum(HostCashEntry.amount_fen, HostCashEntry.booking_id == booking.id) == received
        over = (BookingStatus.COMPLETED, BookingStatus.CANCELED, BookingStatus.NO_SHOW)
        expected = expected_kept_credit(line, received) if booking.status in over else {}
        assert line_credits(line.id) == expected, booking.status
