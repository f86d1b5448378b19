"""Handing an order over the counter or the doorstep, as its station's operator does it: every shipment
accepted, packed, shipped (a shipped order) and delivered or picked up, the cash taken if the order was
not paid by card and no cash was taken yet — after which the ledger credits its households."""

from __future__ import annotations

from orders.services import cashbook as cash
from orders.services.amounts import shipment_due_fen
from stations.services import fulfilment


def hand_over(order, op, now):
    """Every shipment of `order` taken from accepted to delivered (or picked up, with its pickup code) by
    `op` at `now`, the amount due taken in cash unless paid by card or already taken. Not committed."""
    for shipment in order.shipments:
        fulfilment.accept(shipment, actor=op, now=now)
        fulfilment.pack(shipment, actor=op, now=now)
        if order.delivery == "ship":
            fulfilment.ship(shipment, tracking_number="SF1", actor=op, now=now)
        needs = order.payment_method != "card" and cash.taken_entry(shipment.id) is None
        fulfilment.apply_action(
            shipment,
            "deliver" if order.delivery == "ship" else "pickup",
            actor=op,
            now=now,
            pickup_code=shipment.pickup_code,
            cash_received_fen=shipment_due_fen(shipment) if needs else None,
        )
