"""Purchases at stock intake (订单收购, 保底价; docs/MONEY.md "Benefit kinds").

A station (or the cooperative it receives for) that buys a lot from a household at intake
(`stock.services.receive_stock(..., purchase_price_fen=...)`) credits the household `purchase` at once:
quantity × the agreed or guaranteed unit price, as a `BenefitRecord` naming the lot with one ledger
entry, in the intake's transaction, with an audit row. The lot's units credit no household when they
are sold later (`ledger.services.sale_parts`: they are the purchased part of the sale).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from catalog.models import Household, Product
from ledger.models import BenefitKind, IncomeKind
from ledger.records import BenefitRecord
from ledger.services import insert_entries
from shop.audit import record_audit
from shop.errors import ValidationError
from shop.extensions import db
from shop.timeutil import local_date
from stock.models import Lot


def purchase_total_fen(quantity: int, unit_price_fen: int) -> int:
    return int(quantity) * int(unit_price_fen)


def credit_intake_purchase(lot: Lot, *, actor, now: datetime) -> BenefitRecord | None:
    """Credit the household a purchased lot came from (once per lot; None for a consigned lot)."""
    if lot.purchase_price_fen is None or lot.household_id is None:
        return None
    existing = db.session.scalar(sa.select(BenefitRecord).where(BenefitRecord.lot_id == lot.id))
    if existing is not None:
        return existing
    household = db.session.get(Household, lot.household_id)
    product = db.session.get(Product, lot.product_id)
    if household is None or product is None:  # never: foreign keys
        raise ValidationError("household_not_found", fields={"from_household_id": "unknown"})
    total = purchase_total_fen(lot.received_quantity, lot.purchase_price_fen)
    today = local_date(now)
    record = BenefitRecord(
        kind=BenefitKind.PURCHASE.value,
        period_from=today,
        period_to=today,
        station_id=lot.station_id,
        listing_id=None,
        lot_id=lot.id,
        description=f"收购入库 {product.name} {lot.code}"[:120],
        detail={
            "lines": [
                {
                    "household_id": household.id,
                    "quantity": lot.received_quantity,
                    "rate_fen": lot.purchase_price_fen,
                    "amount_fen": total,
                }
            ],
            "lot_code": lot.code,
            "product_id": product.id,
            "unit": None,
        },
        total_fen=total,
        recorded_by_id=getattr(actor, "id", None),
        created_at=now,
    )
    db.session.add(record)
    db.session.flush()
    insert_entries(
        [
            {
                "household_id": household.id,
                "order_line_id": None,
                "record_id": record.id,
                "kind": IncomeKind.RECORDED.value,
                "benefit_kind": BenefitKind.PURCHASE.value,
                "ref": f"record:{record.id}:0",
                "amount_fen": total,
                "split": {"record_id": record.id, "line": 0, "lot_id": lot.id},
                "village_id": household.village_id,
                "station_id": lot.station_id,
                "category_id": product.category_id,
                "entry_date": today,
                "created_at": now,
            }
        ]
    )
    record_audit(
        actor=actor,
        action="benefit.record",
        subject=record,
        detail={"kind": record.kind, "lines": 1, "total_fen": total, "lot": lot.code},
        now=now,
    )
    return record
