"""Placement: server prices, split per station, snapshots, stock allocation, shipping, cash orders."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from orders.models import Order, OrderLine, OrderPayment, OrderStatus, PaymentState
from orders.services.payments import confirm_cash
from orders.services.placement import PlacementRequest, PriceChanged, place_order
from orders.services.shipping import shipping_fen
from shop.errors import Conflict, ValidationError
from shop.history import history_of
from stock.models import StockRecord
from stock.services import OutOfStock
from tests.factories import make_household, make_product, make_station, make_user
from tests.orders.factories import ADDRESS, make_order


def test_place_order_splits_per_station_and_snapshots_lines(db, now):
    s1 = make_station(commission_bps=500)
    s2 = make_station(commission_bps=1000)
    h1, h2 = make_household(), make_household()
    eggs = make_product(name="土鸡蛋", price_fen=4500, station=s1, households=[h1, h2], weights=[2, 1], stock=10)
    duck = make_product(name="板鸭", price_fen=6800, station=s2, stock=5)
    rice = make_product(name="优质大米", price_fen=3000, station=s1, stock=10)
    buyer = make_user()

    order = make_order(buyer, [(eggs, 2), (duck, 1), (rice, 1)], now=now)

    assert order.status == OrderStatus.CONFIRMED and order.expires_at is None
    assert len(order.code) == 8 and order.code.isupper()
    assert [s.code for s in order.shipments] == [f"{order.code}-1", f"{order.code}-2"]
    by_station = {s.station_id: s for s in order.shipments}
    assert {l.title for l in by_station[s1.id].lines} == {"土鸡蛋", "优质大米"}
    line = next(l for l in order.lines if l.product_id == eggs.id)
    assert (line.unit_price_fen, line.quantity, line.line_total_fen) == (4500, 2, 9000)
    assert line.commission_bps == 500 and line.station_id == s1.id and line.village_id == eggs.village_id
    assert line.category_id == eggs.category_id and line.unit == eggs.unit
    assert line.benefit_split == [{"household_id": h1.id, "weight": 2}, {"household_id": h2.id, "weight": 1}]
    assert order.subtotal_fen == 9000 + 6800 + 3000
    assert order.total_fen == order.subtotal_fen + order.shipping_fen
    assert order.shipping_fen == sum(s.shipping_fen for s in order.shipments)
    assert db.session.get(StockRecord, eggs.stock.id).allocated == 2
    assert db.session.get(StockRecord, duck.stock.id).allocated == 1
    db.session.refresh(eggs)
    assert eggs.sold_count == 2
    assert [e.to_status for e in history_of(order)] == ["confirmed"]
    assert all(history_of(s)[0].to_status == "new" for s in order.shipments)
    payment = order.payments[0]
    assert payment.provider == "cod" and payment.state == PaymentState.PENDING
    assert payment.amount_fen == order.total_fen
    assert all(s.pickup_code == "" for s in order.shipments)  # a parcel shipped home is collected by nobody


def test_place_order_snapshot_survives_product_change(db, now):
    product = make_product(name="腌菜", price_fen=1200)
    order = make_order(make_user(), [(product, 1)], now=now, payment_method="cod")
    product.price_fen = 9999
    product.name = "改名"
    db.session.flush()
    line = db.session.get(OrderLine, order.lines[0].id)
    assert (line.title, line.unit_price_fen) == ("腌菜", 1200)
    assert order.shipments[0].pickup_code == ""  # cod + ship: no counter code


def test_card_order_is_pending_and_expires(db, now, fake_stripe):
    product = make_product()
    order = make_order(make_user(), [(product, 1)], now=now, payment_method="card")
    assert order.status == OrderStatus.PENDING
    assert order.expires_at == now + timedelta(minutes=30)
    assert order.payments[0].state == PaymentState.CREATED and order.payments[0].provider == "stripe"


def test_card_refused_when_stripe_not_configured(db, now):
    product = make_product()
    with pytest.raises(ValidationError) as exc:
        make_order(make_user(), [(product, 1)], now=now, payment_method="card")
    assert exc.value.fields == {"payment_method": "unavailable"}


def test_place_order_rejects_changed_total(db, now):
    product = make_product(price_fen=1000, weight_g=500, stock=3)
    req = PlacementRequest(items=[(product.id, 1)], payment_method="cod", address=ADDRESS)
    with pytest.raises(PriceChanged) as exc:
        place_order(req, buyer=make_user(), now=now, shown_total_fen=1000)  # shipping forgotten
    assert exc.value.status == 409 and exc.value.fields["total_fen"] == str(1000 + 800)
    assert db.session.get(StockRecord, product.stock.id).allocated == 0
    order = place_order(req, buyer=make_user(), now=now, shown_total_fen=1800)
    assert order.total_fen == 1800


def test_out_of_stock_refuses_whole_order_and_changes_nothing(db, now):
    a = make_product(stock=5)
    b = make_product(stock=1)
    with pytest.raises(OutOfStock):
        make_order(make_user(), [(a, 2), (b, 2)], now=now)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Order)) == 0


@pytest.mark.parametrize(
    "weight_g, goods_fen, pickup, expected",
    [
        (500, 1000, False, 800),  # first kilo
        (1000, 1000, False, 800),
        (1001, 1000, False, 1000),  # a started second kilo
        (3500, 1000, False, 800 + 3 * 200),
        (20000, 9900, False, 0),  # free from ¥99
        (20000, 1000, True, 0),  # pick-up
    ],
)
def test_shipping_rule(app, weight_g, goods_fen, pickup, expected):
    with app.app_context():
        assert shipping_fen(weight_g=weight_g, goods_fen=goods_fen, pickup=pickup) == expected


def test_pickup_order_has_no_shipping_and_pickup_codes(db, now):
    station = make_station()
    product = make_product(price_fen=1000, station=station)
    order = make_order(
        make_user(),
        [(product, 1)],
        now=now,
        delivery="pickup",
        pickup_station_id=station.id,
        payment_method="station_cash",
    )
    assert order.shipping_fen == 0 and order.total_fen == 1000
    assert order.pickup_station_id == station.id and order.ship_line == ""
    assert order.shipments[0].pickup_code


@pytest.mark.parametrize(
    "kwargs, field",
    [
        (dict(delivery="pickup"), "pickup_station_id"),
        (dict(delivery="pickup", pickup_station_id=999999), "pickup_station_id"),
        (dict(payment_method="bitcoin"), "payment_method"),
    ],
)
def test_place_order_validates_choices(db, now, kwargs, field):
    product = make_product()
    base = dict(items=[(product.id, 1)], payment_method="station_cash", address=ADDRESS)
    base.update(kwargs)
    with pytest.raises(ValidationError) as exc:
        place_order(PlacementRequest(**base), buyer=make_user(), now=now)
    assert field in exc.value.fields


def test_unpublished_product_is_a_conflict(db, now):
    product = make_product(is_published=False)
    with pytest.raises(Conflict) as exc:
        make_order(make_user(), [(product, 1)], now=now)
    assert exc.value.code == "product_unavailable"


def test_confirm_cash_confirms_payment_once_every_shipment_is_paid(db, now):
    p1 = make_product(price_fen=1000)
    p2 = make_product(price_fen=2000)
    operator = make_user(role="admin")
    order = make_order(
        make_user(),
        [(p1, 1), (p2, 1)],
        now=now,
        payment_method="station_cash",
        delivery="pickup",
        pickup_station_id=p1.station_id,
    )
    first, second = order.shipments
    assert confirm_cash(first, actor=operator, now=now) is True
    assert order.payments[0].state == PaymentState.PENDING
    assert confirm_cash(second, actor=operator, now=now) is True
    payment = db.session.get(OrderPayment, order.payments[0].id)
    assert payment.state == PaymentState.CONFIRMED and payment.confirmed_at == now
    assert first.cash_received_by_id == operator.id
    assert confirm_cash(order, actor=operator, now=now) is False  # idempotent
