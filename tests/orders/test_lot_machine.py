"""#23: a state machine drives random sequences of what happens to stock — intakes (lots with or
without a best-before date), checkouts (card, station cash, COD), packing (with a scanned lot or
not), hand-overs, corrections (of a lot or of the record), line and order cancellations, unpaid
orders expiring, lots expiring with the days and recalls — and after every step checks, for every
product: the sum of its lots' quantities equals its on-hand stock (and their allocations its
allocated stock), each lot's movements sum to its on-hand, each lot's allocation rows to its
allocated, and no lot is ever negative or over-allocated. Runs on PostgreSQL when TEST_DATABASE_URL
names one (CI), else on SQLite.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import hypothesis.strategies as st
import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from orders.models import LineStatus, Order, OrderStatus, ShipmentStatus
from orders.services import payments
from orders.services.expiry import expire_pending_orders
from orders.services.payments import shipment_cancelable
from shop.errors import Conflict, ValidationError
from shop.extensions import db
from shop.timeutil import local_date
from stations.services import fulfilment
from stock.models import Lot, LotStatus
from stock.services import block_lot, correct_stock, expire_lots, receive_stock
from tests.factories import make_category, make_product, make_station, make_user, make_village
from tests.orders.factories import make_order
from tests.stations.lot_checks import assert_lots_exact

#: What the runs did (the test asserts that every path was taken at least once).
SEEN: Counter = Counter()


def event(name: str) -> None:
    SEEN[name] += 1


class LotMachine(RuleBasedStateMachine):
    now = None  # set by the test

    def __init__(self):
        super().__init__()
        self.clock = LotMachine.now
        category = make_category()
        self.products, self.operators = [], {}
        for _ in range(2):
            station = make_station(village=make_village())
            self.products.append(make_product(stock=12, station=station, category=category))
            self.operators[station.id] = make_user(role="operator", station=station)
        self.admin = make_user(role="admin")
        self.order_ids: list[int] = []

    def _tick(self, minutes: int = 1):
        self.clock += timedelta(minutes=minutes)
        return self.clock

    def _orders(self) -> list[Order]:
        return [db.session.get(Order, order_id) for order_id in self.order_ids]

    def _lots(self) -> list[Lot]:
        return list(
            db.session.scalars(sa.select(Lot).where(Lot.product_id.in_([p.id for p in self.products])).order_by(Lot.id))
        )

    @staticmethod
    def _pick(items, index):
        return items[index % len(items)] if items else None

    @rule(product=st.integers(0, 1), quantity=st.integers(1, 8), days=st.one_of(st.none(), st.integers(0, 5)))
    def intake(self, product, quantity, days):
        product = self.products[product]
        today = local_date(self.clock)
        receive_stock(
            product.stock,
            quantity,
            actor=self.operators[product.station_id],
            now=self._tick(),
            harvest_date=today,
            best_before_date=None if days is None else today + timedelta(days=days),
        )

    @initialize()
    def first_order(self):
        """Every run starts with one confirmed order, so packing, cancelling a line and handing over
        have something to act on in every run (not only in runs that happen to place one early)."""
        order = make_order(make_user(), [(self.products[0], 2)], now=self._tick(), payment_method="cod")
        self.order_ids.append(order.id)

    @rule(
        method=st.sampled_from(["card", "cod"]),  # every order here is shipped home: 到站点付款 is for pick-ups
        items=st.lists(
            st.tuples(st.integers(0, 1), st.integers(1, 4)), min_size=1, max_size=2, unique_by=lambda item: item[0]
        ),
    )
    def place(self, method, items):
        try:
            with db.session.begin_nested():
                order = make_order(
                    make_user(), [(self.products[i], q) for i, q in items], now=self._tick(), payment_method=method
                )
        except Conflict:  # out of stock (or only expired lots left): nothing changed
            event("place: refused")
            return
        event("place: placed")
        self.order_ids.append(order.id)

    @rule(index=st.integers(0, 1000), scan=st.integers(0, 1000), with_scan=st.booleans(), likely=st.booleans())
    def pack(self, index, scan, with_scan, likely):
        shipments = [
            s
            for o in self._orders()
            if o.status == OrderStatus.CONFIRMED
            for s in o.shipments
            if s.status in (ShipmentStatus.NEW, ShipmentStatus.ACCEPTED)
        ]
        shipment = self._pick(shipments, index)
        if shipment is None:
            return
        op = self.operators[shipment.station_id]
        if shipment.status == ShipmentStatus.NEW:
            fulfilment.accept(shipment, actor=op, now=self._tick())
        line = shipment.lines[0]
        lots = [lot for lot in self._lots() if lot.product_id == line.product_id]
        if likely:  # half the scans pick a lot that holds enough units (the others may well be refused)
            lots = [lot for lot in lots if lot.on_hand - lot.blocked >= line.quantity] or lots
        lot = self._pick(lots, scan) if with_scan else None
        try:
            with db.session.begin_nested():
                fulfilment.pack(shipment, actor=op, now=self._tick(), lots={line.id: lot.code} if lot else None)
            event("pack: packed" + (" a scanned lot" if lot else ""))
        except Conflict as exc:  # the scanned lot cannot supply it or is past its date/recalled, or a held lot is
            assert exc.code in ("lot_unavailable", "lot_blocked_out", "lot_not_sellable"), exc.code
            event(f"pack: {exc.code}")

    @rule(index=st.integers(0, 1000))
    def hand_over(self, index):
        shipments = [
            s
            for o in self._orders()
            if o.status == OrderStatus.CONFIRMED
            for s in o.shipments
            if s.status in (ShipmentStatus.NEW, ShipmentStatus.ACCEPTED, ShipmentStatus.PACKED)
        ]
        shipment = self._pick(shipments, index)
        if shipment is None:
            return
        op = self.operators[shipment.station_id]
        if shipment.status == ShipmentStatus.NEW:
            fulfilment.accept(shipment, actor=op, now=self._tick())
        if shipment.status == ShipmentStatus.ACCEPTED:
            try:
                with db.session.begin_nested():
                    fulfilment.pack(shipment, actor=op, now=self._tick())
            except Conflict as exc:
                assert exc.code == "lot_not_sellable", exc.code
                event("hand over: not packed, a lot expired or was recalled")
                return
        fulfilment.ship(shipment, tracking_number="SF1", actor=op, now=self._tick())
        cash = fulfilment.shipment_amount_fen(shipment) if shipment.order.payment_method != "card" else None
        try:
            with db.session.begin_nested():
                fulfilment.deliver(shipment, actor=op, now=self._tick(), cash_received_fen=cash)
            event("hand over: delivered")
        except Conflict as exc:  # pragma: no cover - a parcel on its way is always booked as delivered
            raise AssertionError(exc.code) from exc

    @rule(
        product=st.integers(0, 1),
        delta=st.integers(-6, 6).filter(bool),
        lot_index=st.integers(0, 1000),
        of_lot=st.booleans(),
    )
    def correct(self, product, delta, lot_index, of_lot):
        product = self.products[product]
        lots = [lot for lot in self._lots() if lot.product_id == product.id]
        lot = self._pick(lots, lot_index) if of_lot else None
        try:
            with db.session.begin_nested():
                correct_stock(
                    product.stock,
                    delta,
                    reason="盘点",
                    actor=self.operators[product.station_id],
                    now=self._tick(),
                    lot=lot,
                )
            event("correct: done")
        except (Conflict, ValidationError):
            event("correct: refused")

    @rule(index=st.integers(0, 1000))
    def cancel_line(self, index):
        lines = [
            line
            for o in self._orders()
            if o.status == OrderStatus.CONFIRMED
            for line in o.lines
            if line.status == LineStatus.OPEN and shipment_cancelable(line.shipment)
        ]
        line = self._pick(lines, index)
        if line is not None:
            fulfilment.cancel_line(line, actor=self.admin, now=self._tick(), reason="缺货")
            event("line canceled")

    @rule(index=st.integers(0, 1000))
    def cancel_order(self, index):
        orders = [
            o
            for o in self._orders()
            if o.status in (OrderStatus.PENDING, OrderStatus.CONFIRMED)
            and all(shipment_cancelable(s) or s.status == ShipmentStatus.CANCELED for s in o.shipments)
        ]
        order = self._pick(orders, index)
        if order is not None:
            payments.cancel_order(order, actor=order.user, now=self._tick(), reason="不要了")
            event("order canceled")

    @rule(index=st.integers(0, 1000), dice=st.integers(0, 3))
    def recall(self, index, dice):
        if dice:  # recalls are rarer than sales
            return
        lot = self._pick([lot for lot in self._lots() if lot.status != LotStatus.RECALLED], index)
        if lot is not None:
            block_lot(lot, LotStatus.RECALLED, now=self._tick(), actor=self.admin, reason="抽检不合格")
            event("recall")

    @rule(days=st.integers(0, 3), dice=st.integers(0, 1))  # days pass in half the draws: lots reach expiry
    def time_passes(self, days, dice):
        if dice:
            days = 0
        self._tick(60 * 24 * days + 45)
        expire_pending_orders(self.clock)
        if expire_lots(now=self.clock):
            event("lots expired")

    @invariant()
    def lots_sum_to_the_stock(self):
        for product in self.products:
            assert_lots_exact(db, product.stock.id)


def test_lot_quantities_equal_the_stock_through_random_sequences(db, now, fake_stripe):
    LotMachine.now = now
    run_state_machine_as_test(
        LotMachine,
        settings=settings(
            max_examples=30,
            stateful_step_count=30,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
    taken = {
        "place: placed",
        "pack: packed a scanned lot",
        "hand over: delivered",
        "correct: done",
        "line canceled",
        "order canceled",
        "recall",
        "lots expired",
    }
    assert taken <= set(SEEN), dict(SEEN)
