"""Assisted selling (代卖): an operator lists a product on behalf of a household of its villages.

The product is created through `catalog.services.create_product(..., approved=False)`: it waits
for the county's approval (扶贫产品认定 / 消费帮扶产品) before the shop shows it. Its initial stock
is a receipt from the household (the traceability record), its photo is checked by content.
Everything is validated before anything is written, so bad input changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from catalog.changes import needs_recertification, pending_change, request_change, resubmit_if_returned
from catalog.images import check_image, save_product_image
from catalog.models import Household, Product, ProductChange, ProductFamily
from catalog.services import ProductInput, create_product
from shop.audit import record_audit
from shop.auth.permissions import can_manage_station
from shop.celery import enqueue_after_commit
from shop.errors import Conflict, NotFound, ValidationError, check_price_fen
from shop.extensions import db
from shop.money import format_yuan
from stock.models import Station, StockRecord
from stock.services import MAX_QUANTITY, correct_stock, receive_stock, set_on_hand

MAX_PRICE_FEN = 10**8  # ¥1,000,000


@dataclass
class AssistedProductInput:
    household_id: int
    name: str
    category_id: int
    price_fen: int
    unit: str = "件"
    weight_g: int = 500
    initial_stock: int = 0
    description: str = ""
    season: str = ""
    harvest_date: date | None = None
    lot_note: str = ""
    #: [(household_id, weight)]; empty = the listed household alone, weight 1.
    benefit: list[tuple[int, int]] = field(default_factory=list)
    #: A new variant (规格) of this product of the station, labelled `variant_label`; a product without
    #: variants yet gets `variant_of_label` as its own label (docs/catalog.md).
    variant_of: int | None = None
    variant_label: str = ""
    variant_of_label: str = ""


def _reindex(product_id: int) -> None:
    """Let the search index follow the change (after commit; the search package sits above the
    stations: its task is named, not imported)."""
    enqueue_after_commit("search.tasks.reindex_products", [product_id])


def station_village_ids(station: Station) -> set[int]:
    return {v.id for v in station.villages}


def station_households(station: Station) -> list[Household]:
    ids = station_village_ids(station)
    if not ids:
        return []
    return list(
        db.session.scalars(
            sa.select(Household).where(Household.village_id.in_(ids)).order_by(Household.village_id, Household.id)
        )
    )


def _validate(station: Station, data: AssistedProductInput) -> tuple[Household, list[tuple[int, int]]]:
    villages = station_village_ids(station)
    household = db.session.get(Household, data.household_id) if data.household_id else None
    if household is None or household.village_id not in villages:
        raise ValidationError("household_not_served", fields={"household_id": "invalid"})
    check_price_fen(data.price_fen, limit=MAX_PRICE_FEN)
    if not isinstance(data.weight_g, int) or data.weight_g <= 0 or data.weight_g > 1_000_000:
        raise ValidationError("invalid_weight_g", fields={"weight_g": "invalid"})
    if not isinstance(data.initial_stock, int) or data.initial_stock < 0 or data.initial_stock > MAX_QUANTITY:
        raise ValidationError("invalid_initial_stock", fields={"initial_stock": "invalid"})
    if not (data.unit or "").strip() or len(data.unit.strip()) > 20:
        raise ValidationError("unit_required", fields={"unit": "invalid"})
    benefit = list(data.benefit) or [(household.id, 1)]
    linked = {
        h.id: h for h in db.session.scalars(sa.select(Household).where(Household.id.in_([h for h, _w in benefit])))
    }
    for household_id, weight in benefit:
        h = linked.get(household_id)
        if h is None or h.village_id not in villages:
            raise ValidationError("beneficiary_not_served", fields={"households": "invalid"})
        if not isinstance(weight, int) or weight <= 0 or weight > 1_000_000:
            raise ValidationError("invalid_weight", fields={"weight": "invalid"})
    return household, benefit


def create_assisted_product(
    station: Station, data: AssistedProductInput, *, actor, now: datetime, image=None
) -> Product:
    """A pending product for a household, with its initial stock and (optional) photo. The HTML form creates
    it once per form (`shop.forms.create_once`: a double tap on 提交认定 during the slow upload creates one)."""
    household, benefit = _validate(station, data)
    if data.variant_of is not None:
        sibling = db.session.get(Product, data.variant_of) if 0 < data.variant_of < 2**63 else None
        if sibling is None or sibling.station_id != station.id:
            raise NotFound("variant_not_found", fields={"variant_of": str(data.variant_of)})
    checked = check_image(image) if image is not None else None  # before any write
    product = create_product(
        ProductInput(
            name=data.name,
            category_id=data.category_id,
            village_id=household.village_id,
            station_id=station.id,
            price_fen=data.price_fen,
            unit=data.unit.strip(),
            weight_g=data.weight_g,
            description=(data.description or "").strip()[:4000],
            season=(data.season or "").strip()[:40],
            listed_for_household_id=household.id,
            benefit=benefit,
            variant_of=data.variant_of,
            variant_label=data.variant_label,
            variant_of_label=data.variant_of_label,
        ),
        actor=actor,
        now=now,
        approved=False,
    )
    record = db.session.execute(sa.select(StockRecord).where(StockRecord.product_id == product.id)).scalar_one()
    if data.initial_stock:
        receive_stock(
            record,
            data.initial_stock,
            actor=actor,
            now=now,
            lot_note=(data.lot_note or "首批入库"),
            harvest_date=data.harvest_date,
            from_household_id=household.id,
        )
    if checked is not None:
        save_product_image(product, None, checked=checked)
    _reindex(product.id)
    db.session.flush()
    db.session.refresh(product)
    return product


def list_station_products(station_id: int) -> list[Product]:
    return list(
        db.session.scalars(
            sa.select(Product)
            .where(Product.station_id == station_id)
            .options(selectinload(Product.stock), selectinload(Product.images), selectinload(Product.category))
            .order_by(Product.created_at.desc(), Product.id.desc())
        )
    )


def get_product_for(user, product_id: int) -> Product:
    """A product of a station `user` manages (or any, for an admin); 404 otherwise."""
    product = db.session.get(Product, product_id)
    if product is None or not can_manage_station(user, product.station_id):
        raise NotFound("station_product_not_found")
    return product


def station_families(station_id: int) -> list[ProductFamily]:
    """The families (规格 groups) whose variants are all this station's, in name order: the ones its
    operator may rename and reorder (`get_family_for`)."""
    families = db.session.scalars(
        sa.select(ProductFamily)
        .where(ProductFamily.id.in_(sa.select(Product.family_id).where(Product.station_id == station_id)))
        .options(selectinload(ProductFamily.members).selectinload(Product.images))
        .order_by(ProductFamily.name, ProductFamily.id)
    ).all()
    return [f for f in families if all(m.station_id == station_id for m in f.members)]


def get_family_for(user, family_id: int) -> ProductFamily:
    """A family every variant of which is at a station `user` manages (any, for an admin); 404 otherwise."""
    family = db.session.get(ProductFamily, family_id) if 0 < family_id < 2**63 else None
    if family is None or not family.members or not all(can_manage_station(user, m.station_id) for m in family.members):
        raise NotFound("family_not_found")
    return family


def shown_price_fen(product: Product, change: ProductChange | None) -> int:
    """The price 本站商品 shows in a product's form: the one the station asked for while it waits for the
    county's re-certification (`change`, the product's pending change), else the price on sale."""
    return change.price_fen if change is not None and change.price_fen else product.price_fen


def product_shown(product: Product, change: ProductChange | None) -> str:
    """What 本站商品 showed of a product as its edit form carries it back (`update_product`'s `shown`): the
    price in its form (`shown_price_fen`) and whether it is on sale, in one string."""
    return f"{shown_price_fen(product, change)}:{int(bool(product.is_published))}"


def _check_shown(product: Product, shown: str) -> None:
    """Refuse, under the product's lock, a form from a page drawn before another change: saved, it would put
    back the price and 上架 state its page showed over what another operator saved since."""
    product = db.session.execute(
        sa.select(Product).where(Product.id == product.id).with_for_update().execution_options(populate_existing=True)
    ).scalar_one()
    change = pending_change(product.id)
    if shown != product_shown(product, change):
        raise Conflict(
            "product_changed_since_shown" if product.is_published else "product_changed_since_shown_unpublished",
            name=product.name,
            price=format_yuan(shown_price_fen(product, change)),
            fields={"price_fen": "changed since shown"},
        )


def update_product(
    product: Product,
    *,
    actor,
    now: datetime,
    price_fen: int | None = None,
    is_published: bool | None = None,
    stock: int | None = None,
    stock_delta: int | None = None,
    reason: str | None = None,
    name: str | None = None,
    unit: str | None = None,
    shown: str | None = None,
) -> Product:
    """Price, name, unit, published flag, stock (a correction with a reason, never a bare overwrite).

    On an approved product, price, name and unit are certified facts: a change waits for the
    county's re-certification (`catalog.changes.request_change`) and the approved version stays on
    sale meanwhile (`catalog.changes.pending_change(product.id)` shows what waits).

    `shown`: what the page the form came from showed (`product_shown`: the price in its form, a change
    waiting for the county included, and 上架). When that has changed since (another operator's page saved
    first), the form would put the old values back: it is refused (409 `product_changed_since_shown`, naming
    the price and state now), nothing changes. The JSON API sends none: last write wins there."""
    if price_fen is not None:
        check_price_fen(price_fen, limit=MAX_PRICE_FEN)
    if name is not None:
        name = name.strip()
        if not 1 <= len(name) <= 80:
            raise ValidationError("invalid_name", fields={"name": "invalid"})
    if unit is not None:
        unit = unit.strip()
        if not 1 <= len(unit) <= 20:
            raise ValidationError("invalid_unit", fields={"unit": "invalid"})
    if (stock is not None or stock_delta is not None) and not (reason or "").strip():
        raise ValidationError("stock_reason_required", fields={"reason": "required"})
    if stock is not None and stock_delta is not None:
        raise ValidationError("stock_ambiguous", fields={"stock": "ambiguous"})
    if shown is not None:
        _check_shown(product, shown)
    record = db.session.execute(sa.select(StockRecord).where(StockRecord.product_id == product.id)).scalar_one()
    if stock is not None:
        set_on_hand(record, stock, reason=reason or "", actor=actor, now=now)
    if stock_delta is not None:
        correct_stock(record, stock_delta, reason=reason or "", actor=actor, now=now)
    changes = {}
    certified = {"price_fen": price_fen, "name": name, "unit": unit}
    if needs_recertification(product):
        if any(v is not None for v in certified.values()):
            request_change(product, actor=actor, now=now, **certified)
    else:  # not certified yet: the county certifies it as it is when it decides
        for key, value in certified.items():
            if value is not None and value != getattr(product, key):
                changes[key] = [getattr(product, key), value]
                setattr(product, key, value)
    if changes:  # a returned product whose certified facts changed goes back to the county
        resubmit_if_returned(product, actor=actor, now=now)
    if is_published is not None and bool(is_published) != bool(product.is_published):
        changes["is_published"] = [bool(product.is_published), bool(is_published)]
        product.is_published = bool(is_published)
    if changes:
        product.updated_at = now
        record_audit(actor=actor, action="product.update", subject=product, detail=changes, now=now)
    if changes or stock is not None or stock_delta is not None:
        _reindex(product.id)
    db.session.flush()
    db.session.refresh(product)
    return product
