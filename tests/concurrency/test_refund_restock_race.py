"""Returns to stock on PostgreSQL: two taps approving one refund request at once approve it once, two
decisions posted to the JSON API at once decide it once, and a restock racing a checkout of the same
product takes the stock record's lock like it (no deadlock, exact)."""

from __future__ import annotations

import sqlalchemy as sa

from orders.models import Refund, RefundRequest
from orders.services.refunds import approve_refund_request, request_refund
from shop.db import commit
from stations.services import fulfilment
from stock.models import MovementKind, StockMovement, StockRecord
from stock.services import lot_totals, movements_total
from tests.concurrency.race import at_once
from tests.conftest import requires_postgres
from tests.factories import NOW, make_product, make_user
from tests.orders.factories import make_order


def _delivered_request(quantity=2, stock=5):
    product = make_product(stock=stock)
    operator = make_user(role="operator", station=product.station)
    buyer = make_user()
    order = make_order(buyer, [(product, quantity)], now=NOW, payment_method="cod")
    shipment = order.shipments[0]
    fulfilment.accept(shipment, actor=operator, now=NOW)
    fulfilment.pack(shipment, actor=operator, now=NOW)
    fulfilment.ship(shipment, tracking_number="SF1", actor=operator, now=NOW)
    fulfilment.deliver(shipment, actor=operator, now=NOW, cash_received_fen=fulfilment.shipment_amount_fen(shipment))
    req = request_refund(order, order.lines[0].id, actor=buyer, now=NOW, reason="坏了", kind="return")
    return product, operator, req


@requires_postgres
def test_two_taps_approving_one_refund_request_at_once_approve_it_once(app, committed_db):
    db = committed_db
    product, operator, req = _delivered_request()
    record_id, operator_id, req_id = product.stock.id, operator.id, req.id
    commit()
    on_hand = db.session.get(StockRecord, record_id).on_hand

    def approve():
        from shop.auth.models import User

        approve_refund_request(req_id, actor=db.session.get(User, operator_id), now=NOW, goods="restocked", quantity=2)

    race = at_once(app, [approve, approve])
    assert race.errors == []
    assert len(race.won) == 1 and race.refused == ["refund_request_decided"]
    assert db.session.get(RefundRequest, req_id).restocked_quantity == 2
    assert (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Refund)
            .where(Refund.order_line_id == db.session.get(RefundRequest, req_id).order_line_id)
        )
        == 1
    )
    returns = db.session.scalar(
        sa.select(sa.func.sum(StockMovement.quantity)).where(
            StockMovement.refund_request_id == req_id, StockMovement.kind == MovementKind.RETURN
        )
    )
    assert returns == 2
    record = db.session.get(StockRecord, record_id)
    assert record.on_hand == on_hand + 2 and movements_total(record_id) == record.on_hand


@requires_postgres
def test_a_restock_racing_a_checkout_of_the_same_product_keeps_the_counts_exact(app, committed_db):
    db = committed_db
    product, operator, req = _delivered_request(quantity=2, stock=2)  # sold out once delivered
    record_id, operator_id, req_id, product_id = product.stock.id, operator.id, req.id, product.id
    buyer_id = make_user().id
    commit()

    def approve():
        from shop.auth.models import User

        approve_refund_request(req_id, actor=db.session.get(User, operator_id), now=NOW, goods="restocked", quantity=2)

    def checkout():
        from catalog.models import Product
        from shop.auth.models import User

        make_order(
            db.session.get(User, buyer_id), [(db.session.get(Product, product_id), 1)], now=NOW, payment_method="cod"
        )

    race = at_once(app, [approve, checkout])
    assert race.errors == []
    assert 0 in race.won  # the restock always lands; the checkout wins or finds it sold out, never oversells
    assert set(race.refused) <= {"out_of_stock"}
    record = db.session.get(StockRecord, record_id)
    assert record.on_hand == 2 and record.allocated == (1 if 1 in race.won else 0)
    assert movements_total(record_id) == record.on_hand
    assert lot_totals(record_id) == (record.on_hand, record.allocated)


@requires_postgres
def test_two_decisions_through_the_api_at_once_one_wins(app, committed_db):
    """An approval and a rejection of one request posted at once (two phones of the station): one is
    decided, the other answers 409 `refund_request_decided`; the money and the stock move at most once."""
    db = committed_db
    product, operator, req = _delivered_request(quantity=2)
    record_id, req_id = product.stock.id, req.id
    commit()
    on_hand = db.session.get(StockRecord, record_id).on_hand
    token = app.test_client().post("/api/v1/auth/token", json={"email": operator.email, "password": "password123"})
    headers = {"Authorization": f"Bearer {token.json['token']}"}
    bodies = [{"decision": "approve", "goods": "restocked", "quantity": 2}, {"decision": "reject", "note": "不退"}]

    def post(body):
        def act():
            res = app.test_client().post(
                f"/api/v1/stations/refund-requests/{req_id}/decision", headers=headers, json=body
            )
            return body["decision"], res.status_code, res.json.get("error", {}).get("code")

        return act

    race = at_once(app, [post(b) for b in bodies], refused=(), context="client")
    assert race.errors == []
    answers = {decision: status for decision, status, _code in race.values}
    assert all(code == "refund_request_decided" for _d, status, code in race.values if status == 409)
    assert sorted(answers.values()) == [200, 409], answers
    db.session.expire_all()
    decided = db.session.get(RefundRequest, req_id)
    refunds = db.session.scalar(
        sa.select(sa.func.count()).select_from(Refund).where(Refund.order_line_id == decided.order_line_id)
    )
    record = db.session.get(StockRecord, record_id)
    if answers["approve"] == 200:
        assert (decided.status, decided.restocked_quantity, refunds) == ("approved", 2, 1)
        assert record.on_hand == on_hand + 2
    else:
        assert (decided.status, refunds) == ("rejected", 0)
        assert record.on_hand == on_hand
    assert movements_total(record_id) == record.on_hand
    assert lot_totals(record_id) == (record.on_hand, record.allocated)
