"""The shipment state machine: steps, illegal jumps, pick-up codes, cancellation, hand-over credit."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from ledger.models import IncomeEntry
from orders.models import LineStatus, OrderStatus, Refund, ShipmentStatus
from shop.errors import Conflict, IllegalTransition, ValidationError
from shop.history import history_of
from shop.money import apply_bps, split_fen
from stations.services import fulfilment
from stock.models import StockMovement, StockRecord
from stock.services import movements_total
from tests.stations.factories import PICKUP_CODE, make_order


def statement_fen(db, household) -> int:
    return db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(IncomeEntry.amount_fen), 0)).where(
            IncomeEntry.household_id == household.id
        )
    )


def test_ship_flow_records_each_step_and_completes_the_order(db, world, now):
    order = make_order([(world.a.product, 3)], buyer=world.buyer)
    shipment = order.shipments[0]
    op = world.a.operator
    fulfilment.accept(shipment, actor=op, now=now)
    fulfilment.pack(shipment, actor=op, now=now)
    fulfilment.ship(shipment, tracking_number="SF123456", actor=op, now=now)
    fulfilment.deliver(shipment, actor=op, now=now)
    assert shipment.status == ShipmentStatus.DELIVERED
    assert shipment.tracking_number == "SF123456"
    assert shipment.delivered_at == now
    assert order.status == OrderStatus.COMPLETED
    events = history_of(shipment)
    assert [e.to_status for e in events] == ["new", "accepted", "packed", "shipped", "delivered"]
    assert all(e.actor_id == op.id for e in events[1:])
    record = db.session.get(StockRecord, world.a.product.stock.id)
    assert (record.on_hand, record.allocated) == (17, 0)
    assert movements_total(record.id) == record.on_hand


def test_household_statement_grows_by_the_exact_split_when_delivered(db, world, now, client, api_token):
    order = make_order([(world.a.product, 3)], buyer=world.buyer)  # 3 × ¥33.33 = ¥99.99
    shipment = order.shipments[0]
    before = statement_fen(db, world.a.h1), statement_fen(db, world.a.h2)
    headers = api_token(world.a.operator)
    for body in ({"action": "accept"}, {"action": "pack"}, {"action": "ship", "tracking_number": "YT1"}):
        assert (
            client.post(f"/api/v1/shipments/{shipment.code}/transition", json=body, headers=headers).status_code == 200
        )
    assert statement_fen(db, world.a.h1) == before[0]  # nothing credited before hand-over
    response = client.post(f"/api/v1/shipments/{shipment.code}/transition", json={"action": "deliver"}, headers=headers)
    assert response.status_code == 200, response.json
    assert response.json["status"] == "delivered"
    share = 9999 - apply_bps(9999, 1000)  # station keeps 10 %
    expected = split_fen(share, [2, 1])
    assert statement_fen(db, world.a.h1) - before[0] == expected[0]
    assert statement_fen(db, world.a.h2) - before[1] == expected[1]
    assert sum(expected) == share == 8999


def test_ship_requires_a_tracking_number(db, world, now):
    order = make_order([(world.a.product, 1)])
    shipment = order.shipments[0]
    fulfilment.accept(shipment, actor=world.a.operator, now=now)
    fulfilment.pack(shipment, actor=world.a.operator, now=now)
    with pytest.raises(ValidationError):
        fulfilment.ship(shipment, tracking_number="  ", actor=world.a.operator, now=now)
    assert shipment.status == ShipmentStatus.PACKED


@pytest.mark.parametrize("action", ["ship", "deliver", "pickup", "pack"])
def test_illegal_jumps_from_new_are_409(db, world, client, api_token, action):
    order = make_order([(world.a.product, 1)])
    shipment = order.shipments[0]
    response = client.post(
        f"/api/v1/shipments/{shipment.code}/transition",
        json={"action": action, "tracking_number": "X1", "pickup_code": PICKUP_CODE},
        headers=api_token(world.a.operator),
    )
    assert response.status_code == 409, response.json
    # each refusal names its rule: a shipment still new can be neither delivered nor handed over
    expected = {"deliver": "cannot_deliver", "pickup": "cannot_deliver", "ship": "cannot_ship"}
    assert response.json["error"]["code"] == expected.get(action, "illegal_transition")
    db.session.refresh(shipment)
    assert shipment.status == ShipmentStatus.NEW


def test_delivered_shipment_cannot_be_canceled(db, world, now):
    order = make_order([(world.a.product, 1)])
    s = order.shipments[0]
    for step in (fulfilment.accept, fulfilment.pack):
        step(s, actor=world.a.operator, now=now)
    fulfilment.ship(s, tracking_number="T", actor=world.a.operator, now=now)
    fulfilment.deliver(s, actor=world.a.operator, now=now)
    with pytest.raises(IllegalTransition):
        fulfilment.cancel_shipment(s, actor=world.a.operator, now=now, reason="x")


def test_unpaid_order_cannot_be_accepted(db, world, now):
    order = make_order([(world.a.product, 1)], status="pending")
    with pytest.raises(Conflict):
        fulfilment.accept(order.shipments[0], actor=world.a.operator, now=now)


def test_consumer_cannot_transition_shipments(db, world, client, api_token):
    order = make_order([(world.a.product, 1)], buyer=world.buyer)
    response = client.post(
        f"/api/v1/shipments/{order.shipments[0].code}/transition",
        json={"action": "accept"},
        headers=api_token(world.buyer),
    )
    assert response.status_code == 403
    assert order.shipments[0].status == "new"


def test_unknown_shipment_is_404(db, world, client, api_token):
    response = client.post(
        "/api/v1/shipments/NOPE-1/transition", json={"action": "accept"}, headers=api_token(world.a.operator)
    )
    assert response.status_code == 404
    assert response.json["error"]["code"] == "shipment_not_found"


def _ready_pickup(world, now, **kw):
    order = make_order([(world.a.product, 2)], delivery="pickup", **kw)
    shipment = order.shipments[0]
    fulfilment.accept(shipment, actor=world.a.operator, now=now)
    fulfilment.pack(shipment, actor=world.a.operator, now=now)
    assert shipment.status == ShipmentStatus.READY_FOR_PICKUP
    return order, shipment


def test_pickup_with_the_right_code_hands_over_and_credits(db, world, now):
    order, shipment = _ready_pickup(world, now)
    fulfilment.hand_over_pickup(shipment, pickup_code=PICKUP_CODE, actor=world.a.operator, now=now)
    assert shipment.status == ShipmentStatus.DELIVERED
    assert order.status == OrderStatus.COMPLETED
    assert (
        db.session.scalar(
            sa.select(sa.func.count(IncomeEntry.id)).where(IncomeEntry.order_line_id == order.lines[0].id)
        )
        == 2
    )


def test_wrong_pickup_code_is_refused_counted_and_finally_locked(db, world, now, client, api_token):
    _order, shipment = _ready_pickup(world, now)
    from shop.db import commit

    commit()
    headers = api_token(world.a.operator)
    url = f"/api/v1/shipments/{shipment.code}/transition"
    for attempt in range(1, fulfilment.PICKUP_MAX_FAILURES + 1):
        response = client.post(url, json={"action": "pickup", "pickup_code": "000000"}, headers=headers)
        assert response.status_code == 422, response.json
        assert response.json["error"]["code"] == "wrong_pickup_code"
        db.session.expire_all()
        assert shipment.pickup_failures == attempt  # committed although the action failed
        assert shipment.status == ShipmentStatus.READY_FOR_PICKUP
    response = client.post(url, json={"action": "pickup", "pickup_code": PICKUP_CODE}, headers=headers)
    assert response.status_code == 409
    assert response.json["error"]["code"] == "pickup_locked"
    db.session.expire_all()
    assert shipment.status == ShipmentStatus.READY_FOR_PICKUP
    assert db.session.scalar(sa.select(sa.func.count(StockMovement.id)).where(StockMovement.kind == "consume")) == 0


def test_station_cash_must_be_taken_before_or_with_the_pickup(db, world, now):
    """A station-cash pick-up is handed over only with its cash: taken early at the counter while the goods
    are being prepared (once), or with the hand-over itself — not early once the order waits at the counter."""
    from orders.services.cashbook import cash_summary
    from orders.services.payments import confirm_counter_cash as confirm_cash

    _order, shipment = _ready_pickup(world, now, payment_method="station_cash")
    with pytest.raises(Conflict) as unpaid:
        fulfilment.hand_over_pickup(shipment, pickup_code=PICKUP_CODE, actor=world.a.operator, now=now)
    assert unpaid.value.code == "cash_not_received"
    with pytest.raises(Conflict) as early:
        confirm_cash(shipment, actor=world.a.operator, now=now)
    assert early.value.code == "cash_taken_at_handover"
    fulfilment.hand_over_pickup(
        shipment, pickup_code=PICKUP_CODE, actor=world.a.operator, now=now, cash_received_fen=6666
    )
    assert shipment.status == ShipmentStatus.DELIVERED

    paid_early = make_order([(world.a.product, 1)], delivery="pickup", payment_method="station_cash").shipments[0]
    confirm_cash(paid_early, actor=world.a.operator, now=now)
    with pytest.raises(Conflict) as again:
        confirm_cash(paid_early, actor=world.a.operator, now=now)
    assert again.value.code == "cash_already_confirmed"
    fulfilment.accept(paid_early, actor=world.a.operator, now=now)
    fulfilment.pack(paid_early, actor=world.a.operator, now=now)
    fulfilment.hand_over_pickup(paid_early, pickup_code=PICKUP_CODE, actor=world.a.operator, now=now)
    assert paid_early.status == ShipmentStatus.DELIVERED
    from shop.timeutil import local_date

    (group,) = cash_summary(world.a.station.id, local_date(now))
    assert (group.operator_id, group.count, group.amount_fen) == (world.a.operator.id, 2, 6666 + 3333)
    assert cash_summary(world.b.station.id, local_date(now)) == []


def test_card_orders_have_no_cash_to_confirm(db, world, now):
    from orders.services.payments import confirm_counter_cash as confirm_cash

    order = make_order([(world.a.product, 1)])
    with pytest.raises(Conflict):
        confirm_cash(order.shipments[0], actor=world.a.operator, now=now)


def test_cancel_a_line_releases_stock_refunds_and_cancels_the_shipment(db, world, now):
    order = make_order([(world.a.product, 4)])
    shipment = order.shipments[0]
    record = db.session.get(StockRecord, world.a.product.stock.id)
    assert record.allocated == 4
    fulfilment.accept(shipment, actor=world.a.operator, now=now)
    line = order.lines[0]
    fulfilment.cancel_line(line, actor=world.a.operator, now=now, reason="鸡蛋破损")
    db.session.refresh(record)
    assert (record.on_hand, record.allocated) == (20, 0)
    assert line.status != LineStatus.OPEN
    assert shipment.status == ShipmentStatus.CANCELED
    assert order.status == OrderStatus.CANCELED
    refund = db.session.scalar(sa.select(Refund).where(Refund.order_line_id == line.id))
    assert refund is not None and refund.amount_fen == 4 * 3333
    assert "鸡蛋破损" in history_of(shipment)[-2].note or "鸡蛋破损" in history_of(shipment)[-1].note


def test_cancel_one_of_two_lines_keeps_the_shipment_going(db, world, now):
    from tests.factories import make_product

    other = make_product(name="A腌菜", station=world.a.station, stock=5, category=world.category)
    order = make_order([(world.a.product, 1), (other, 2)])
    shipment = order.shipments[0]
    fulfilment.cancel_line(order.lines[1], actor=world.a.operator, now=now, reason="缺货")
    assert shipment.status == ShipmentStatus.NEW
    with pytest.raises(Conflict):
        fulfilment.cancel_line(order.lines[1], actor=world.a.operator, now=now, reason="again")
    for step in (fulfilment.accept, fulfilment.pack):
        step(shipment, actor=world.a.operator, now=now)
    fulfilment.ship(shipment, tracking_number="T9", actor=world.a.operator, now=now)
    fulfilment.deliver(shipment, actor=world.a.operator, now=now)
    db.session.refresh(other.stock)
    assert (other.stock.on_hand, other.stock.allocated) == (5, 0)
    assert order.status == OrderStatus.COMPLETED


def test_a_step_notifies_the_buyer_after_commit(db, world, now, monkeypatch):
    sent = []
    import shop.mail

    monkeypatch.setattr(
        shop.mail, "deliver", lambda to, subject, body, key=None, **_kw: sent.append((to, subject, body))
    )
    order = make_order([(world.a.product, 1)], buyer=world.buyer)
    fulfilment.accept(order.shipments[0], actor=world.a.operator, now=now)
    assert sent == []  # nothing before commit
    from shop.db import commit

    commit()
    assert sent and sent[0][0] == "buyer@test.cn" and order.code in sent[0][1]
