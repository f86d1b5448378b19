"""The 2017 plan's targets (docs/county-plan.md, "Targets") and their progress, measured live.

Each `Target.metric` names a function here; progress is always recomputed from the data (income
entries, listings, stations), never stored.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_babel import get_locale

from catalog.models import Village
from county.models import Target
from ledger.models import BenefitKind, IncomeEntry
from ledger.records import BenefitRecord
from orders.models import OrderLine
from shop.extensions import db
from stock.models import Station, station_villages

#: (key, label, label_en, metric, target value, unit) — quoted from the plan, but for
#: `tourism_households`: the plan asks for tourism dividends (旅游分红) without a figure, so 18 (one household
#: per poverty village) is the county office's own working target (docs/county-plan.md, "Targets").
PLAN_TARGETS = [
    (
        "ecommerce_households",
        "电商扶贫带动贫困户",
        "Poor households lifted by e-commerce",
        "households_credited_sale",
        100,
        "户",
    ),
    (
        "tourism_employment",
        "旅游带动贫困农民就业",
        "Poor farmers employed by rural tourism",
        "persons_with_tourism_wages",
        100,
        "人",
    ),
    (
        "employment",
        "就业扶贫安排",
        "Poor people given work",
        "persons_with_wages",
        2200,
        "人",
    ),
    (
        "asset_income_households",
        "资金入股资产收益帮扶",
        "Households with asset income (dividends on shares)",
        "households_with_dividends",
        2000,
        "户",
    ),
    (
        "village_station_coverage",
        "贫困村扶贫站点全覆盖",
        "Poverty villages with an e-commerce station",
        "poverty_villages_with_station",
        18,
        "个",
    ),
    (
        "stations_built",
        "电商扶贫站点(现有8个+新建10个)",
        "E-commerce poverty-relief stations (8 + 10 new)",
        "stations_count",
        18,
        "个",
    ),
    (
        "tourism_households",
        "旅游分红受益贫困户",
        "Poor households credited by tourism",
        "households_credited_tourism",
        18,
        "户",
    ),
]
#: The counted thing in English (the Chinese measure word alone, 个, says nothing in English).
UNITS_EN = {
    "ecommerce_households": "households",
    "tourism_employment": "people",
    "village_station_coverage": "villages",
    "stations_built": "stations",
    "tourism_households": "households",
    "employment": "people",
    "asset_income_households": "households",
}


def _households_credited(kind: str) -> int:
    """Households whose net income of the benefit kinds this target is about is positive:
    e-commerce (product lines) — their consignment sales and the purchases at intake recorded for them;
    tourism (booking lines) — their share of bookings and the dividends of a listing recorded for them."""
    if kind == "product":
        about = sa.or_(
            sa.and_(IncomeEntry.benefit_kind == BenefitKind.SALE, OrderLine.kind == "product"),
            IncomeEntry.benefit_kind == BenefitKind.PURCHASE,
        )
    else:
        about = sa.or_(
            sa.and_(IncomeEntry.benefit_kind == BenefitKind.SALE, OrderLine.kind == "booking"),
            sa.and_(IncomeEntry.benefit_kind == BenefitKind.DIVIDEND, BenefitRecord.listing_id.is_not(None)),
        )
    net = (
        sa.select(IncomeEntry.household_id)
        .outerjoin(OrderLine, OrderLine.id == IncomeEntry.order_line_id)
        .outerjoin(BenefitRecord, BenefitRecord.id == IncomeEntry.record_id)
        .where(about)
        .group_by(IncomeEntry.household_id)
        .having(sa.func.sum(IncomeEntry.amount_fen) > 0)
    ).subquery()
    return int(db.session.scalar(sa.select(sa.func.count()).select_from(net)) or 0)


def _persons_with_wages(*, tourism: bool) -> int:
    """Registered household members (household, member no.) whose net wages are positive — paid by a
    listing's host for tourism, by anyone otherwise (a wage entry names its member, `split.member_no`)."""
    member = IncomeEntry.split["member_no"].as_integer()
    query = sa.select(IncomeEntry.household_id, member).where(IncomeEntry.benefit_kind == BenefitKind.WAGE)
    if tourism:
        query = query.join(BenefitRecord, BenefitRecord.id == IncomeEntry.record_id).where(
            BenefitRecord.listing_id.is_not(None)
        )
    persons = query.group_by(IncomeEntry.household_id, member).having(sa.func.sum(IncomeEntry.amount_fen) > 0)
    return int(db.session.scalar(sa.select(sa.func.count()).select_from(persons.subquery())) or 0)


def _households_with_dividends() -> int:
    """Households whose net dividends (资产收益: shares in a cooperative, an enterprise or a listing) are positive."""
    households = (
        sa.select(IncomeEntry.household_id)
        .where(IncomeEntry.benefit_kind == BenefitKind.DIVIDEND)
        .group_by(IncomeEntry.household_id)
        .having(sa.func.sum(IncomeEntry.amount_fen) > 0)
    )
    return int(db.session.scalar(sa.select(sa.func.count()).select_from(households.subquery())) or 0)


METRICS = {
    "persons_with_tourism_wages": lambda: _persons_with_wages(tourism=True),
    "persons_with_wages": lambda: _persons_with_wages(tourism=False),
    "households_with_dividends": _households_with_dividends,
    "households_credited_sale": lambda: _households_credited("product"),
    "households_credited_tourism": lambda: _households_credited("booking"),
    "poverty_villages_with_station": lambda: int(
        db.session.scalar(
            sa.select(sa.func.count(sa.distinct(Village.id)))
            .join(station_villages, station_villages.c.village_id == Village.id)
            .where(Village.is_poverty_village.is_(True))
        )
        or 0
    ),
    "stations_count": lambda: int(db.session.scalar(sa.select(sa.func.count()).select_from(Station)) or 0),
}


def seed_targets(*, now: datetime | None = None) -> bool:
    """Create the plan's targets that are missing, and measure the existing ones as the plan says (their
    metric). True if anything was created (idempotent)."""
    existing = {t.key: t for t in db.session.scalars(sa.select(Target))}
    created = False
    for position, (key, label, label_en, metric, value, unit) in enumerate(PLAN_TARGETS):
        if key in existing:
            existing[key].metric = metric
            continue
        db.session.add(
            Target(
                key=key, label=label, label_en=label_en, metric=metric, target_value=value, unit=unit, position=position
            )
        )
        created = True
    db.session.flush()
    return created


def progress() -> list[dict]:
    """[{key, label, label_en, title, unit, unit_title, target, actual, percent, met}] in plan order;
    `title` and `unit_title` are the label and unit in the current locale (what pages show)."""
    english = str(get_locale() or "").startswith("en")
    out = []
    for target in db.session.scalars(sa.select(Target).order_by(Target.position, Target.id)):
        measure = METRICS.get(target.metric)
        actual = measure() if measure else 0
        percent = min(100, round(100 * actual / target.target_value)) if target.target_value else 100
        out.append(
            {
                "key": target.key,
                "label": target.label,
                "label_en": target.label_en,
                "title": (target.label_en or target.label) if english else target.label,
                "unit": target.unit,
                "unit_title": UNITS_EN.get(target.key, target.unit) if english else target.unit,
                "metric": target.metric,
                "target": int(target.target_value),
                "actual": int(actual),
                "percent": percent,
                "met": actual >= target.target_value,
            }
        )
    return out
