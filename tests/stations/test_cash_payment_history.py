"""Every state change of a payment is kept with time and actor (docs/rules.md):
a cash on delivery payment confirmed when the station hands the goods over and writes the cash in its
book leaves the payment's own event, with the operator who took the cash — not only the shipment's."""

from __future__ import annotations

from orders.models import PaymentState, ShipmentStatus
from shop.db import commit
from shop.history import history_of
from tests.stations.factories import PICKUP_CODE, make_order
from tests.stations.fulfilment_steps import at_the_counter, shipped


def test_cash_taken_at_the_hand_over_confirms_the_payment_in_its_history(db, world, now, client, api_token):
    order = make_order([(world.a.product, 2)], payment_method="cod")
    shipment = order.shipments[0]
    shipped(order, world.a.operator, now)
    commit()
    response = client.post(
        f"/api/v1/shipments/{shipment.code}/transition",
        json={"action": "deliver", "cash_received_fen": 6666},
        headers=api_token(world.a.operator),
    )
    assert response.status_code == 200, response.json
    db.session.expire_all()
    payment = order.payments[0]
    assert payment.state == PaymentState.CONFIRMED
    last = history_of(payment)[-1]
    assert (last.from_status, last.to_status, last.actor_id) == ("created", "confirmed", world.a.operator.id)
    assert last.created_at is not None


def test_the_shipment_page_says_the_cash_taken_without_a_status_change_to_the_same_status(db, world, now, client, auth):
    """The cash taken at the counter changes no status by itself: the shipment's history says "待自提 · 已收现金 ¥66.66",
    not "待自提 → 待自提 · 已收现金 ¥66.66", a step that looked like nothing happened."""
    shipment, _action = at_the_counter(world, now, auth)
    page = client.get(f"/station/shipments/{shipment.code}").get_data(as_text=True)
    assert "已打包 → 待自提" in page
    form = {"action": "pickup", "pickup_code": PICKUP_CODE, "cash_received": "66.66"}
    client.post(f"/station/shipments/{shipment.code}/action", data={"confirm": "1", **form})
    db.session.expire_all()
    assert shipment.status == ShipmentStatus.DELIVERED
    page = client.get(f"/station/shipments/{shipment.code}").get_data(as_text=True)
    assert "待自提 · 已收现金 ¥66.66" in page
    assert "待自提 → 待自提" not in page
