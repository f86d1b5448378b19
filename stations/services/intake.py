"""Stock intake as a lot (#23): the JSON API's path to `stock.services.receive_stock`.

The date rules live in `receive_stock` (harvest or production date not in the future, best-before not
before it and not already past); this adds what the station's 入库 form gets from its choices: the
household must live in a village the station serves, the producer (a cooperative) must exist. A lot
bought from its household (`purchase_price_fen`) credits the household at intake, in the same
transaction, as on the form (`ledger.purchases.credit_intake_purchase`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from catalog.models import Household, Producer, Product
from ledger.purchases import credit_intake_purchase
from shop.errors import Conflict, ValidationError
from shop.extensions import db
from stations.services.assisted import station_village_ids
from stock.models import Lot
from stock.services import receive_stock


@dataclass(frozen=True)
class LotIntake:
    quantity: int
    harvest_date: date | None = None
    best_before_date: date | None = None
    household_id: int | None = None
    producer_id: int | None = None
    note: str = ""
    purchase_price_fen: int | None = None


def receive_lot(product: Product, data: LotIntake, *, actor, now: datetime) -> Lot:
    """Receive `data` into the product's stock at its station as a new lot; returns the lot (its
    `code` is the public trace code). Refused (422, nothing changed) for a household the station does
    not serve, an unknown producer, or dates out of order."""
    record = product.stock
    if record is None:
        raise Conflict("allocation_mismatch")
    served = station_village_ids(product.station)
    if data.household_id is not None:
        household = db.session.get(Household, data.household_id)
        if household is None or household.village_id not in served:
            raise ValidationError("household_not_served", fields={"household_id": "not_served"})
    if data.producer_id is not None and db.session.get(Producer, data.producer_id) is None:
        raise ValidationError("producer_not_found", fields={"producer_id": "unknown"})
    movement = receive_stock(
        record,
        data.quantity,
        actor=actor,
        now=now,
        lot_note=data.note,
        harvest_date=data.harvest_date,
        best_before_date=data.best_before_date,
        from_household_id=data.household_id,
        producer_id=data.producer_id,
        purchase_price_fen=data.purchase_price_fen,
    )
    lot = db.session.get_one(Lot, movement.lot_id)
    credit_intake_purchase(lot, actor=actor, now=now)
    return lot
