"""The public, anonymous side: "this order credits ¥X to N households in 某某村". No identities."""

from __future__ import annotations

import sqlalchemy as sa

from catalog.models import BenefitLink, Household, Product, Village
from ledger.models import IncomeEntry
from ledger.services import expected_credit
from orders.models import Order, OrderLine
from shop.extensions import db
from shop.money import apply_bps


def _villages_of(household_ids: set[int]) -> list[tuple[int, str]]:
    """(household id, its village's name) of these households, by village name: one statement."""
    if not household_ids:
        return []
    return [
        (household_id, name)
        for household_id, name in db.session.execute(
            sa.select(Household.id, Village.name)
            .join(Village, Household.village_id == Village.id)
            .where(Household.id.in_(household_ids))
            .order_by(Village.name, Household.id)
        )
    ]


def _names(villages: list[tuple[int, str]], household_ids: set[int]) -> list[str]:
    """The names of the villages of `household_ids`, once each, in `villages`' order."""
    return list(dict.fromkeys(name for household_id, name in villages if household_id in household_ids))


def public_benefit_summary(subject) -> dict:
    """What the buyer reads under an order or a product: who its purchase raises income for, and how much.

    For an order, each part on its own: `credited_*` is what its lines have credited (net entries: goods
    handed over, a stay completed, a fee kept), naming the households credited so far; `expected_*` is
    what its open lines not yet credited will credit once they take place (goods still on their way, a
    stay still ahead), naming theirs. A mixed order whose goods are delivered while its stay is ahead
    therefore says both: credited for the goods' households, to come for the stay's. A canceled order
    names no one. For a product: what one unit at today's price would credit (`expected_*`).
    `awaiting_payment`: an order not paid yet (paid on arrival, at the station, to the courier, or a card
    not yet charged), whose expected part is credited only once its money is received (docs/MONEY.md, "What is credited when").

    Returns {"total_fen", "credited_fen", "credited_households", "credited_villages", "expected_fen",
    "expected_households", "expected_villages", "awaiting_payment", "households", "villages"}: `households` and `villages`
    count everyone named either way, once.
    """
    credited_ids: set[int] = set()
    expected_ids: set[int] = set()
    credited = expected = 0
    if isinstance(subject, Order):
        lines = list(db.session.scalars(sa.select(OrderLine).where(OrderLine.order_id == subject.id)))
        net: list[tuple[int | None, int, int]] = []
        if lines:
            net = [
                (line_id, household, amount)
                for line_id, household, amount in db.session.execute(
                    sa.select(IncomeEntry.order_line_id, IncomeEntry.household_id, sa.func.sum(IncomeEntry.amount_fen))
                    .where(IncomeEntry.order_line_id.in_([l.id for l in lines]))
                    .group_by(IncomeEntry.order_line_id, IncomeEntry.household_id)
                )
            ]
        credited_lines = {line_id for line_id, _household, _amount in net}
        by_household: dict[int, int] = {}
        for _line, household, amount in net:
            by_household[household] = by_household.get(household, 0) + int(amount or 0)
        credited = sum(by_household.values())
        credited_ids = {household for household, amount in by_household.items() if amount > 0}
        for line in lines:
            # canceled or refunded: it will credit no one; credited already: counted above
            if line.status != "open" or line.id in credited_lines:
                continue
            parts = expected_credit(line)
            expected += sum(parts.values())
            expected_ids |= set(parts)
    elif isinstance(subject, Product):
        links = (
            db.session.execute(sa.select(BenefitLink.household_id).where(BenefitLink.product_id == subject.id))
            .scalars()
            .all()
        )
        expected_ids = set(links)
        if expected_ids:
            station = subject.station
            bps = station.commission_bps if station else 0
            expected = subject.price_fen - apply_bps(subject.price_fen, bps)
    else:
        raise TypeError("an order or a product")
    everyone = credited_ids | expected_ids
    villages = _villages_of(everyone)
    return {
        "total_fen": credited + expected,
        "credited_fen": credited,
        "credited_households": len(credited_ids),
        "credited_villages": _names(villages, credited_ids),
        "expected_fen": expected,
        "expected_households": len(expected_ids),
        "expected_villages": _names(villages, expected_ids),
        "awaiting_payment": isinstance(subject, Order) and subject.paid_at is None,
        "households": len(everyone),
        "villages": _names(villages, everyone),
    }
