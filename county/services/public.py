"""The public, anonymous side: "this order credits ¥X to N households in 某某村". No identities."""

from __future__ import annotations

import sqlalchemy as sa

from catalog.models import BenefitLink, Household, Product, Village
from ledger.models import IncomeEntry
from ledger.services import expected_credit
from orders.models import Order, OrderLine
from shop.extensions import db
from shop.money import apply_bps


def _village_names(household_ids: set[int]) -> list[str]:
    if not household_ids:
        return []
    return list(
        db.session.scalars(
            sa.select(Village.name)
            .distinct()
            .join(Household, Household.village_id == Village.id)
            .where(Household.id.in_(household_ids))
            .order_by(Village.name)
        )
    )


def public_benefit_summary(subject) -> dict:
    """For an order: what its lines credited (net entries) or its open lines will credit (expected) —
    households and villages counted once; a canceled order names no one. For a product: what one unit at today's price would credit.
    Returns {"total_fen", "credited_fen", "expected_fen", "households", "villages": [names]}.
    """
    household_ids: set[int] = set()
    credited = expected = 0
    if isinstance(subject, Order):
        lines = list(db.session.scalars(sa.select(OrderLine).where(OrderLine.order_id == subject.id)))
        for line in lines:
            if line.status != "open":  # canceled or refunded: it will credit no one
                continue
            parts = expected_credit(line)
            expected += sum(parts.values())
            household_ids |= set(parts)
        if lines:
            net = db.session.execute(
                sa.select(IncomeEntry.household_id, sa.func.sum(IncomeEntry.amount_fen))
                .where(IncomeEntry.order_line_id.in_([l.id for l in lines]))
                .group_by(IncomeEntry.household_id)
            ).all()
            credited = int(sum(amount or 0 for _household, amount in net))
            if credited:
                # "已为 … 增收 ¥X" names who has been credited so far: one shipment delivered of two
                # credits its own households, not the other village's still waiting for theirs
                household_ids = {household for household, amount in net if household is not None and amount > 0}
    elif isinstance(subject, Product):
        links = (
            db.session.execute(sa.select(BenefitLink.household_id).where(BenefitLink.product_id == subject.id))
            .scalars()
            .all()
        )
        household_ids = set(links)
        if household_ids:
            station = subject.station
            bps = station.commission_bps if station else 0
            expected = subject.price_fen - apply_bps(subject.price_fen, bps)
    else:
        raise TypeError("an order or a product")
    return {
        "total_fen": credited if credited else expected,
        "credited_fen": credited,
        "expected_fen": expected,
        "households": len(household_ids),
        "villages": _village_names(household_ids),
    }
