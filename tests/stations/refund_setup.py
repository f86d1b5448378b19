"""The setup the refund tests share: an order station A delivered to the world's buyer
(tests/stations/conftest.py `world`), the buyer's refund request on its line, and station A's operator
deciding it in a browser of their own; then what the stock reads after a return: the record's figures,
its lots, the request's return movements, and the record reconciled with its lots and movements."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from orders.models import Order, RefundRequest
from orders.services.refunds import request_refund
from shop.db import commit
from stations.services import fulfilment
from stock.models import Lot, StockMovement, StockRecord
from stock.services import lot_totals, movements_total
from tests.sent_mail import mails_to
from tests.stations.factories import make_order


def delivered(
    world, now: datetime, *, quantity: int = 2, product=None, payment_method: str = "card", cash: bool = False
) -> Order:
    """An order of `quantity` units of `product` (station A's product) paid by `payment_method`, accepted,
    packed, shipped and delivered by station A's operator, committed. `cash`: the courier took the line's
    total in cash at the door (a cash-on-delivery order)."""
    order = make_order([(product or world.a.product, quantity)], buyer=world.buyer, payment_method=payment_method)
    shipment, op = order.shipments[0], world.a.operator
    fulfilment.accept(shipment, actor=op, now=now)
    fulfilment.pack(shipment, actor=op, now=now)
    fulfilment.ship(shipment, tracking_number="SF1", actor=op, now=now)
    cash_fen = order.lines[0].line_total_fen if cash else None
    fulfilment.deliver(shipment, actor=op, now=now, cash_received_fen=cash_fen)
    commit()
    return order


def refund_asked(world, now: datetime, order: Order, *, kind: str = "return") -> RefundRequest:
    """The buyer asks to refund the order's first line ("坏了", `kind`: `return` or `refund_only`), committed."""
    request = request_refund(order, order.lines[0].id, actor=world.buyer, now=now, reason="坏了", kind=kind)
    commit()
    return request


def operator_client(app, world, lang: str | None = None):
    """A browser of station A's operator, signed in (`lang`: its pages in that language)."""
    station = app.test_client()
    if lang is not None:
        station.get(f"/?lang={lang}")
    station.post("/login", data={"email": world.a.operator.email, "password": "password123"})
    return station


def decided_and_mailed(app, world, caplog, request: RefundRequest, decision: str, **data) -> list[tuple[str, str]]:
    """Station A's operator confirms `decision` (`approve` or `reject`, with the form's `data`) of the
    request; returns the (subject, body) of each mail the buyer was sent about its order meanwhile."""
    with caplog.at_level("INFO", logger="shop.mail"):
        url = f"/refund-requests/{request.id}/{decision}"
        assert operator_client(app, world).post(url, data={**data, "confirm": "1"}).status_code == 303
    return [m for m in mails_to(caplog, world.buyer.email) if request.order.code in m[0]]


def delivered_and_asked(world, now, quantity=3, product=None):
    """A card order of `quantity` units delivered by station A, and the buyer's request to return them."""
    order = delivered(world, now, quantity=quantity, product=product)
    return order, refund_asked(world, now, order)


def stock_numbers(db, record_id):
    """(on hand, available) of the stock record, read afresh."""
    db.session.expire_all()
    record = db.session.get(StockRecord, record_id)
    return record.on_hand, record.available


def lot_figures(db, record_id):
    """{lot id: (on hand, blocked)} of the record's lots."""
    return {
        lot.id: (lot.on_hand, lot.blocked)
        for lot in db.session.scalars(sa.select(Lot).where(Lot.stock_record_id == record_id).order_by(Lot.id))
    }


def return_movements(db, req_id):
    """The stock movements the refund request `req_id` made (its returns into the lots), oldest first."""
    return list(
        db.session.scalars(
            sa.select(StockMovement).where(StockMovement.refund_request_id == req_id).order_by(StockMovement.id)
        )
    )


def assert_stock_reconciles(db, record_id):
    """The record's on hand is the sum of its movements, and its on hand and allocated the sums of its lots."""
    db.session.expire_all()
    record = db.session.get(StockRecord, record_id)
    assert movements_total(record_id) == record.on_hand
    assert lot_totals(record_id) == (record.on_hand, record.allocated)
