"""Benefit links (利益联结): which households a product or listing credits, with weights. Audited.

Same semantics as `catalog.services.set_benefit_links` (replace the whole set; positive whole weights;
each household once), extended to listings and with an audit entry of the old and new sets (household
ids and weights only — no personal data). Existing order lines keep the split snapshotted at sale.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from catalog.models import BenefitLink, Household, Product
from shop.args import MAX_ID, parse_int
from shop.audit import record_audit
from shop.errors import ValidationError
from shop.extensions import db
from tourism.models import Listing


def _column(target):
    if isinstance(target, Product):
        return BenefitLink.product_id
    if isinstance(target, Listing):
        return BenefitLink.listing_id
    raise TypeError("benefit links belong to a product or a listing")


def links_for(target) -> list[BenefitLink]:
    return list(
        db.session.scalars(
            sa.select(BenefitLink).where(_column(target) == target.id).order_by(BenefitLink.household_id)
        )
    )


def shares(links: list[BenefitLink]) -> dict[int, str]:
    """{household_id: its share of the producer money, '33.3%'}: weights are relative (2 and 1 are two
    thirds and one third), which the officer setting them cannot see from the numbers alone. The ledger
    splits each sale by the same weights, to the fen (ledger.services)."""
    total = sum(link.weight for link in links)
    if not total:
        return {}
    return {link.household_id: f"{link.weight * 100 / total:.1f}%" for link in links}


def parse_links(text: str) -> list[tuple[int, int]]:
    """'12:2, 15:1' or lines '12 2' -> [(12, 2), (15, 1)] (weight defaults to 1)."""
    links = []
    for chunk in text.replace("\n", ",").replace("，", ",").split(","):
        chunk = chunk.strip()
        if not chunk:
            continue
        parts = chunk.replace(":", " ").replace("：", " ").replace("×", " ").split()
        try:
            household_id = parse_int(parts[0], minimum=1, maximum=MAX_ID)
            weight = parse_int(parts[1], minimum=1) if len(parts) > 1 else 1
        except (ValueError, IndexError):
            raise ValidationError("unreadable_link", text=chunk[:20], fields={"links": "invalid"}) from None
        links.append((household_id, weight))
    return links


def set_links(target, links: list[tuple[int, int]], *, actor, now: datetime) -> list[BenefitLink]:
    """Replace the target's links with [(household_id, weight)], audited as `benefit_link.update`."""
    seen = set()
    for household_id, weight in links:
        if household_id in seen:
            raise ValidationError("duplicate_link", fields={"links": "duplicate"})
        seen.add(household_id)
        if not isinstance(weight, int) or isinstance(weight, bool) or weight <= 0 or weight > 1_000_000:
            raise ValidationError("link_weight_out_of_range", fields={"links": "weight"})
        if db.session.get(Household, household_id) is None:
            raise ValidationError("unknown_household_id", id=household_id, fields={"links": "unknown"})
    column = _column(target)
    before = [{"household_id": l.household_id, "weight": l.weight} for l in links_for(target)]
    after = [{"household_id": h, "weight": w} for h, w in sorted(links)]
    if before == after:
        return links_for(target)
    db.session.execute(sa.delete(BenefitLink).where(column == target.id))
    for household_id, weight in sorted(links):
        kwargs = {"product_id": target.id} if column is BenefitLink.product_id else {"listing_id": target.id}
        db.session.add(BenefitLink(household_id=household_id, weight=weight, created_at=now, **kwargs))
    db.session.flush()
    record_audit(
        actor=actor, action="benefit_link.update", subject=target, detail={"before": before, "after": after}, now=now
    )
    return links_for(target)


def linked_targets() -> dict:
    """Products and listings with their link counts, for the links overview page. Each comes with its
    village loaded: two villages sell products of the same name (三江腌菜500克 at 柳溪村 and at 前进村), and
    the page and its export tell them apart by the village."""
    counts_p = dict(
        db.session.execute(
            sa.select(BenefitLink.product_id, sa.func.count())
            .where(BenefitLink.product_id.is_not(None))
            .group_by(BenefitLink.product_id)
        ).all()
    )
    counts_l = dict(
        db.session.execute(
            sa.select(BenefitLink.listing_id, sa.func.count())
            .where(BenefitLink.listing_id.is_not(None))
            .group_by(BenefitLink.listing_id)
        ).all()
    )
    products = db.session.scalars(
        sa.select(Product).options(selectinload(Product.village)).order_by(Product.name, Product.id)
    ).all()
    listings = db.session.scalars(
        sa.select(Listing).options(selectinload(Listing.village)).order_by(Listing.name, Listing.id)
    ).all()
    return {
        "products": [(p, counts_p.get(p.id, 0)) for p in products],
        "listings": [(l, counts_l.get(l.id, 0)) for l in listings],
    }
