"""#21: the money state machine over mixed orders — goods and a stay placed in one checkout and paid
once by card (or left unpaid until they expire together), paid late, the goods handed over, the guest
checked in and the stay completed, one booking line cancelled under its policy, a product line
cancelled, the whole order cancelled — and after every step the invariants of `tests.money_machine`
(card captures − refunds = money received, credits = the split of it, totals never change,
reconciliation finds nothing) with, for these orders (a rule with nothing to act on places the
order it needs first, so that every run reaches cancellations, late payments, stays and hand-overs):

- each booking line's own money (its total once captured, less the refunds naming it) is what the
  booking owes or kept (`booking_due_fen`), and the order's money is its goods' due plus that;
- stock allocated is exactly what open product lines of live orders hold;
- no night is ever booked beyond the room type's rooms (held and confirmed bookings).
"""

from __future__ import annotations

from datetime import timedelta

import hypothesis.strategies as st
import sqlalchemy as sa
from hypothesis import settings
from hypothesis.stateful import invariant, rule, run_state_machine_as_test

from ledger.services import expected_kept_credit
from orders.bookables import BookingItem
from orders.models import LineStatus, Order, OrderStatus, Refund, ShipmentStatus
from orders.services import payments
from orders.services.amounts import shipment_due_fen
from orders.services.common import stock_lines
from orders.services.expiry import expire_pending_orders
from orders.services.placement import AddressData, PlacementRequest, place_order
from shop.errors import DomainError
from shop.extensions import db
from shop.timeutil import local_date
from stations.services import fulfilment
from stock.models import StockRecord
from tests.factories import make_household, make_product, make_station, make_user, make_village
from tests.money_machine import CAPTURED, SETTINGS, MoneyMachineBase, line_credits
from tests.orders.factories import FakeStripeProvider
from tests.tourism.factories import make_listing
from tourism.models import Booking, BookingStatus
from tourism.services import booking as stays
from tourism.services.amounts import booking_due_fen

ADDRESS = AddressData("王小明", "13800000000", "江西省", "南昌市", "南昌县", "幸福路1号")
LIVE = (BookingStatus.HELD, BookingStatus.CONFIRMED, BookingStatus.CHECKED_IN)


class MixedMoneyMachine(MoneyMachineBase):
    def __init__(self):
        super().__init__()
        village = make_village()
        self.station = make_station(village=village, commission_bps=1000)
        self.operator = make_user(role="operator", station=self.station)
        self.host = make_user(role="host")
        households = [make_household(village=village), make_household(village=village)]
        self.products = [
            make_product(price_fen=1234, stock=40, station=self.station, households=households, weights=[3, 1]),
            make_product(price_fen=990, stock=6, station=self.station, households=households[:1]),
        ]
        self.listing = make_listing(
            host=self.host, price_fen=14900, units=2, free_cancel_days=2, cancel_fee_pct=30, households=households
        )

    # --- rules ----------------------------------------------------------------------------------

    @rule(
        which=st.integers(0, 1),
        quantity=st.integers(1, 3),
        days_ahead=st.integers(0, 3),
        nights=st.integers(1, 2),
        pay=st.booleans(),
    )
    def place(self, which, quantity, days_ahead, nights, pay):
        check_in = local_date(self.clock) + timedelta(days=days_ahead)
        request = PlacementRequest(
            items=[(self.products[which].id, quantity)],
            payment_method="card",
            address=ADDRESS,
            bookings=[
                BookingItem(
                    listing_id=self.listing.id, guests=2, check_in=check_in, check_out=check_in + timedelta(days=nights)
                )
            ],
        )
        try:
            with db.session.begin_nested():
                order = place_order(request, buyer=make_user(), now=self.tick())
        except DomainError:  # no room or no stock left: nothing placed
            return
        payment = payments.start_payment(order.payments[0], now=self.clock)
        if pay:
            FakeStripeProvider.succeed(payment.provider_ref)
            payments.sync_payment(payment, now=self.tick())
            assert order.status == OrderStatus.CONFIRMED and order.bookings[0].status == BookingStatus.CONFIRMED
        self.remember(order)

    @rule(index=st.integers(0, 1000))
    def pay_late(self, index):
        """A pending or expired order's payment succeeds (the stock and the hold are taken again if
        they can be; a stay with no room left is refunded)."""

        def unpaid():
            return [
                o
                for o in self.orders()
                if o.status in (OrderStatus.PENDING, OrderStatus.EXPIRED)
                and o.payments[0].state in ("pending", "created", "failed")
            ]

        if not unpaid():  # an order left unpaid, then (every other time) its holds lapse first
            self.place(index % 2, 1, index % 3, 1, False)
            if index % 2:
                self.expire()
        order = self.pick(unpaid(), index)
        if order is not None:
            FakeStripeProvider.succeed(order.payments[0].provider_ref)
            payments.sync_payment(order.payments[0], now=self.tick())

    @rule(index=st.integers(0, 1000))
    def hand_over(self, index):
        def waiting():
            return [
                s
                for o in self.orders()
                if o.status == OrderStatus.CONFIRMED
                for s in o.shipments
                if s.status in (ShipmentStatus.NEW, ShipmentStatus.ACCEPTED, ShipmentStatus.PACKED)
            ]

        if not waiting():
            self.place(index % 2, 1, 1 + index % 3, 1, True)
        shipment = self.pick(waiting(), index)
        if shipment is None:
            return
        if shipment.status == ShipmentStatus.NEW:
            fulfilment.accept(shipment, actor=self.operator, now=self.tick())
        if shipment.status == ShipmentStatus.ACCEPTED:
            fulfilment.pack(shipment, actor=self.operator, now=self.tick())
        if shipment.status == ShipmentStatus.PACKED:
            fulfilment.ship(shipment, tracking_number="SF1", actor=self.operator, now=self.tick())
        fulfilment.apply_action(
            shipment,
            "deliver",
            actor=self.operator,
            now=self.tick(),
            pickup_code=shipment.pickup_code,
            cash_received_fen=None,
        )
        assert shipment.status == ShipmentStatus.DELIVERED

    @rule(index=st.integers(0, 1000))
    def guest_arrives_and_stays(self, index):
        def arriving():
            return [
                b
                for o in self.orders()
                for b in o.bookings
                if b.status == BookingStatus.CONFIRMED and b.check_in_date <= local_date(self.clock) < b.check_out_date
            ]

        if not arriving():  # a guest who booked with goods arrives today
            self.place(index % 2, 1, 0, 1 + index % 2, True)
        booking = self.pick(arriving(), index)
        if booking is None:
            return
        stays.check_in_booking(booking, booking.confirmation_code, actor=self.host, now=self.tick())
        assert booking.status == BookingStatus.CHECKED_IN

    @rule(index=st.integers(0, 1000))
    def cancel_booking_line(self, index):
        def cancelable():
            return [b for o in self.orders() for b in o.bookings if stays.booking_cancelable(b)]

        if not cancelable():  # paid or not, near (a fee) or far (free)
            self.place(index % 2, 1, index % 4, 1, bool(index % 3))
        booking = self.pick(cancelable(), index)
        if booking is None:
            return
        paid = any(p.state == "confirmed" for p in booking.order.payments)
        refunds_before = self._refunds(booking.order)
        try:
            with db.session.begin_nested():
                quote = stays.cancel_booking(booking, actor=booking.user, now=self.tick())
        except DomainError as exc:
            assert not paid and exc.code == "unpaid_order_cancel_whole"
            return
        if paid:  # exactly that line's refund, under its policy
            assert self._refunds(booking.order) - refunds_before == quote.refund_fen

    @rule(index=st.integers(0, 1000))
    def cancel_product_line(self, index):
        lines = [
            l
            for o in self.orders()
            if o.status == OrderStatus.CONFIRMED
            for l in o.lines
            if l.kind == "product" and l.status == LineStatus.OPEN and payments.shipment_cancelable(l.shipment)
        ]
        line = self.pick(lines, index)
        if line is not None:
            fulfilment.cancel_line(line, actor=self.operator, now=self.tick(), reason="缺货")

    @rule(index=st.integers(0, 1000))
    def cancel_order(self, index):
        def cancelable():
            return [o for o in self.orders() if payments.order_cancelable(o)]

        if not cancelable():
            self.place(index % 2, 2, index % 4, 2, bool(index % 3))
        order = self.pick(cancelable(), index)
        if order is None:
            return
        try:
            with db.session.begin_nested():
                payments.cancel_order(order, actor=order.user, now=self.tick(), reason="不要了")
        except DomainError as exc:  # a booking under way (checked in), or its fee already kept
            assert exc.code == "booking_not_cancelable", exc.code
            return
        for booking in order.bookings:
            assert booking.status not in (BookingStatus.HELD, BookingStatus.CONFIRMED)

    @rule()
    def expire(self):
        self.tick(45)
        stays.expire_holds(self.clock)
        expire_pending_orders(self.clock)

    @rule()
    def next_day(self):
        self.tick(24 * 60)
        stays.complete_stays(self.clock)

    # --- helpers and invariants -----------------------------------------------------------------

    @staticmethod
    def _refunds(order: Order) -> int:
        ids = [p.id for p in order.payments]
        return int(
            db.session.scalar(
                sa.select(sa.func.coalesce(sa.func.sum(Refund.amount_fen), 0)).where(Refund.payment_id.in_(ids))
            )
            or 0
        )

    def check_booking_line(self, order: Order, line, received: int) -> None:
        """A booking line's own money (its total once captured, less the refunds naming it) is what it
        owes or kept; its credit is the split of what it holds once the stay is over."""
        booking = db.session.get(Booking, line.booking_id)
        captured = any(p.state in CAPTURED for p in order.payments)
        named = int(
            db.session.scalar(
                sa.select(sa.func.coalesce(sa.func.sum(Refund.amount_fen), 0)).where(
                    Refund.order_line_id == line.id, Refund.state != "failed"
                )
            )
            or 0
        )
        own = line.line_total_fen - named if captured else 0
        assert own == booking_due_fen(booking, line, captured=captured), (booking.status, own)
        over = (BookingStatus.COMPLETED, BookingStatus.CANCELED, BookingStatus.NO_SHOW)
        expected = expected_kept_credit(line, own) if booking.status in over else {}
        assert line_credits(line.id) == expected, booking.status

    @invariant()
    def the_order_holds_its_goods_due_plus_its_bookings_due(self):
        for order in self.orders():
            if not any(p.state in CAPTURED for p in order.payments):
                continue
            captured = sum(p.amount_fen for p in order.payments if p.state in CAPTURED)
            received = captured - self._refunds(order)
            goods = (
                0
                if order.status in (OrderStatus.CANCELED, OrderStatus.EXPIRED)
                else sum(shipment_due_fen(s) for s in order.shipments)
            )
            bookings = sum(
                booking_due_fen(b, next(l for l in order.lines if l.booking_id == b.id), captured=True)
                for b in order.bookings
            )
            assert received == goods + bookings, (order.status, received, goods, bookings)

    @invariant()
    def stock_allocated_is_what_open_lines_hold(self):
        db.session.flush()
        held: dict[int, int] = {}
        for order in self.orders():
            live = order.status not in (OrderStatus.CANCELED, OrderStatus.EXPIRED)
            waiting = [
                l
                for l in order.lines
                if live
                and l.kind == "product"
                and l.status == LineStatus.OPEN
                and l.shipment.status not in (ShipmentStatus.DELIVERED, ShipmentStatus.CANCELED)
            ]
            for item in stock_lines(waiting):
                held[item.record_id] = held.get(item.record_id, 0) + item.quantity
        for product in self.products:
            record = db.session.scalar(sa.select(StockRecord).where(StockRecord.product_id == product.id))
            db.session.refresh(record)
            assert record.allocated == held.get(record.id, 0), (record.allocated, held)
            assert record.allocated <= record.on_hand

    @invariant()
    def no_night_is_booked_twice_over(self):
        bookings = [
            b
            for b in db.session.scalars(sa.select(Booking).where(Booking.listing_id == self.listing.id))
            if b.status in LIVE and (b.status != BookingStatus.HELD or b.expires_at > self.clock)
        ]
        nights: dict = {}
        for b in bookings:
            for n in range(b.nights):
                day = b.check_in_date + timedelta(days=n)
                nights[day] = nights.get(day, 0) + b.units
        assert all(count <= 2 for count in nights.values()), nights


def test_mixed_orders_keep_money_stock_and_holds_true_through_random_sequences(db, now, fake_stripe):
    MixedMoneyMachine.now = now
    run_state_machine_as_test(MixedMoneyMachine, settings=settings(SETTINGS, stateful_step_count=20))
