"""Catalog services: what the shop shows, and creating products.

Public reads go through `visible_products()`: a product is shown only when the county approved it
and its station publishes it. Lists load their relations in a fixed number of queries.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import aliased, joinedload, selectinload

from catalog.models import (
    MAX_DECISION_NOTE,
    ApprovalStatus,
    BenefitLink,
    Category,
    Household,
    Product,
    ProductFamily,
    Township,
    Village,
    listed_products,
    visible_products,
)
from catalog.papers import papers_ok_clause
from shop.args import MAX_ID, parse_int
from shop.audit import record_audit
from shop.auth.models import Role
from shop.celery import enqueue_after_commit
from shop.codes import new_code
from shop.errors import Forbidden, NotFound, ValidationError, check_price_fen
from shop.extensions import db
from shop.personal_data import mask_name
from shop.timeutil import local_date, now_utc
from stock.models import Station, StockRecord

SORTS = ("relevance", "newest", "price_asc", "price_desc", "best_selling")
MAX_PER_PAGE = 100
MAX_PAGE = 10_000


@dataclass
class ProductFilter:
    q: str = ""
    category: str | None = None  # slug or id
    village: int | None = None
    township: int | None = None
    min_fen: int | None = None
    max_fen: int | None = None
    in_stock: bool = False
    sort: str = "relevance"
    page: int = 1
    per_page: int = 24
    #: The (Beijing) day whose food-safety papers `in_stock` asks for; None: today.
    today: date | None = None


def eager_products(query):
    """`query` of products with what a product card shows loaded in a fixed number of queries: the
    one-row relations (stock record, village and township, station, category) joined into the
    products' own SELECT, the images and a family's variants (with their stock) one SELECT each
    (none without families): two or three statements a page instead of one per relation."""
    return query.options(
        joinedload(Product.stock),
        joinedload(Product.village).joinedload(Village.township),
        joinedload(Product.station),
        joinedload(Product.category),
        selectinload(Product.images),
        selectinload(Product.family).selectinload(ProductFamily.members).selectinload(Product.stock),
    )


def shown_product_ids(products: Iterable[Product]) -> list[int]:
    """The ids of `products` and of their variants (a card or page shows a family's variant count
    and sales; the page cache must follow each of them)."""
    return sorted({v.id for p in products for v in ([p, *p.family.members] if p.family is not None else [p])})


def category_id_of(cat: str) -> int | None:
    """A category given by id (ASCII digits within an id's range), else None: a slug."""
    try:
        return parse_int(cat, minimum=0, maximum=MAX_ID)
    except ValueError:
        return None


def filtered_query(f: ProductFilter, ranked_ids: list[int] | None):
    """listed_products() (each family once) narrowed by the filter (and, for a search, to the ranked ids)."""
    query = listed_products()
    if ranked_ids is not None:
        query = query.where(Product.id.in_(ranked_ids))
    if f.category:
        cat = str(f.category)
        cid = category_id_of(cat)
        query = query.join(Category, Product.category_id == Category.id).where(
            Category.id == cid if cid is not None else Category.slug == cat
        )
    if f.village:
        query = query.where(Product.village_id == f.village)
    if f.township:
        query = query.join(Village, Product.village_id == Village.id).where(Village.township_id == f.township)
    if f.min_fen is not None or f.max_fen is not None:
        query = query.where(price_in_range(f.min_fen, f.max_fen))
    if f.in_stock:  # can be bought now: some shown variant for sale whose papers count today
        query = query.where(buyable_now()).params(buyable_day=f.today or local_date(now_utc()))
    return query


@functools.cache
def buyable_now() -> sa.ColumnElement[bool]:
    """The condition 只看有货 (in stock) adds: a product that can be bought now, i.e. some shown
    variant (the product itself without a family) has units for sale and the food-safety papers
    its food class needs count on the day bound as `buyable_day` (the one rule's SQL form,
    `catalog.papers.papers_ok_clause`; its card then never says 暂停销售). Built once per process."""
    variant, category = aliased(Product), aliased(Category)
    buyable = (
        sa.select(variant.id)
        .join(StockRecord, StockRecord.product_id == variant.id)
        .join(category, category.id == variant.category_id)
        .where(
            StockRecord.on_hand - StockRecord.allocated > 0,
            papers_ok_clause(variant.id, category.food_class, sa.bindparam("buyable_day", type_=sa.Date)),
        )
    )
    shown = buyable.where(
        variant.family_id.is_not(None),
        variant.approval_status == ApprovalStatus.APPROVED,
        variant.is_published.is_(True),
    ).with_only_columns(variant.family_id)
    return sa.or_(Product.id.in_(buyable), Product.family_id.in_(shown))


def _shown_variant():
    """(an alias of Product, the conditions that make it a shown variant of some family)."""
    variant = aliased(Product)
    return variant, (
        variant.family_id.is_not(None),
        variant.approval_status == ApprovalStatus.APPROVED,
        variant.is_published.is_(True),
    )


def price_in_range(lo: int | None, hi: int | None):
    """The condition a list adds for a price range (fen, either end open): a product without
    variants by its price, a family's face when ANY of its shown variants (approved, published)
    costs within the range: 三江腌菜 at ¥18.80 / ¥45.80 / ¥98.00 is found by ¥40–50."""

    def within(price):
        return sa.and_(
            sa.true() if lo is None else price >= lo,
            sa.true() if hi is None else price <= hi,
        )

    variant, shown = _shown_variant()
    families = sa.select(variant.family_id).where(*shown, within(variant.price_fen))
    return sa.or_(
        sa.and_(Product.family_id.is_(None), within(Product.price_fen)),
        Product.family_id.in_(families),
    )


def with_lowest_price(query):
    """(`query` of faces joined to their families' lowest shown price, that price as an expression):
    a family sorts by its cheapest shown variant, the price its card shows (`Product.lowest_price_fen`);
    a product without variants by its own. One grouped subquery over the shown variants, joined
    once (the faces are one row per family, so the join adds no rows)."""
    variant, shown = _shown_variant()
    lowest = (
        sa.select(variant.family_id, sa.func.min(variant.price_fen).label("low_fen"))
        .where(*shown)
        .group_by(variant.family_id)
        .subquery()
    )
    query = query.outerjoin(lowest, lowest.c.family_id == Product.family_id)
    return query, sa.func.coalesce(lowest.c.low_fen, Product.price_fen)


def list_products(f: ProductFilter, *, ranked_ids: list[int] | None = None) -> tuple[list[Product], int]:
    """Visible products matching `f`, one page, and the total count.

    `ranked_ids` are a search's hits, best first (`search.services` ranks a query; the catalog
    itself does not read `f.q`): the list is narrowed to them, sort=relevance keeps their order,
    other sorts order them in the database. None lists every visible product.
    """
    if f.page < 1 or f.page > MAX_PAGE or f.per_page < 1 or f.per_page > MAX_PER_PAGE:
        raise ValidationError("page_out_of_range", fields={"page": "out of range"})
    if ranked_ids is not None and not ranked_ids:
        return [], 0
    query = filtered_query(f, ranked_ids)
    orders: dict[str, list[sa.ColumnExpressionArgument[Any]]] = {
        "newest": [Product.created_at.desc(), Product.id.desc()],
        "best_selling": [Product.sold_count.desc(), Product.id],
    }
    order = orders.get(f.sort)
    by_price = f.sort in ("price_asc", "price_desc")
    start = (f.page - 1) * f.per_page
    if order is None and not by_price and ranked_ids is not None:
        # relevance: the matching ids only, in rank order; then load just this page
        rank = {pid: i for i, pid in enumerate(ranked_ids)}
        ids = sorted(db.session.scalars(query.with_only_columns(Product.id)), key=rank.__getitem__)
        page_ids = ids[start : start + f.per_page]
        if not page_ids:
            return [], len(ids)
        items = list(db.session.scalars(eager_products(visible_products().where(Product.id.in_(page_ids)))))
        items.sort(key=lambda p: rank[p.id])
        return items, len(ids)
    total = db.session.execute(sa.select(sa.func.count()).select_from(query.order_by(None).subquery())).scalar_one()
    if by_price:
        query, lowest = with_lowest_price(query)
        order = [lowest.asc() if f.sort == "price_asc" else lowest.desc(), Product.id]
    query = query.order_by(*(order or [Product.sold_count.desc(), Product.id]))
    query = query.limit(f.per_page).offset(start)
    return list(db.session.scalars(eager_products(query))), total


#: `app.extensions` key of the search index's ranking of a query (`install_ranker`).
RANKER = "catalog.ranker"


def install_ranker(app, rank: Callable[[str], list[int]]) -> None:
    """The search package, above the catalog, installs its ranking of a query (ids best first) when the
    app starts (`search.init_app`), so the packages between the two (institutional buying's purchase
    form) find products as the search page does without importing search (docs/ARCHITECTURE.md)."""
    app.extensions[RANKER] = rank


def ranked_product_ids(q: str) -> list[int] | None:
    """The search index's hits for `q`, best first, to pass to `list_products(ranked_ids=...)` (which
    re-checks them: a stale index shows nothing that is not for sale); None for a blank query or when
    no search is installed."""
    rank = current_app.extensions.get(RANKER)
    if rank is None or not (q or "").strip():
        return None
    return rank(q.strip())


def visible_product_ids(ids: list[int]) -> set[int]:
    """Those of `ids` that are visible products (re-checking search hits against the database)."""
    if not ids:
        return set()
    return set(db.session.scalars(visible_products().with_only_columns(Product.id).where(Product.id.in_(ids))))


def get_visible_product(product_id: int) -> Product:
    if not 0 < product_id < 2**63:  # out of the id column's range: no such product (never a DB overflow)
        raise NotFound("product_not_found")
    product = db.session.scalar(eager_products(visible_products().where(Product.id == product_id)))
    if product is None:
        raise NotFound("product_not_found")
    return product


def pick_variant(product: Product, variant_id: int) -> Product:
    """The variant `variant_id` of `product`'s family, as the picker offers it (visible); a variant
    of another product or an unknown id is NotFound."""
    for variant in product.variants:
        if variant.id == variant_id:
            return variant
    raise NotFound("variant_not_found", fields={"variant": str(variant_id)})


def linked_household_count(product_id: int) -> int:
    return db.session.scalar(sa.select(sa.func.count(BenefitLink.id)).where(BenefitLink.product_id == product_id)) or 0


def list_categories() -> list[Category]:
    return list(db.session.scalars(sa.select(Category).order_by(Category.position, Category.id)))


def list_villages() -> list[Village]:
    return list(
        db.session.scalars(
            sa.select(Village)
            .options(selectinload(Village.township), selectinload(Village.stations))
            .order_by(Village.township_id, Village.name)
        )
    )


def village_labels(keys) -> dict[int, str]:
    """{village id: its name}, with its township's in front (三江镇 · 新村) when a village of another township
    has the same name: two rows, facets or buttons 新村 could not be told apart (the county's reports, the
    search's village facet, a payout batch's villages). Lists to choose from (selects) always name the
    township (三江镇 · 新村)."""
    keys = {k for k in keys if k is not None}
    if not keys:
        return {}
    namesake = aliased(Village)
    shared = (
        sa.select(sa.func.count())
        .select_from(namesake)
        .where(namesake.name == Village.name, namesake.id != Village.id)
        .scalar_subquery()
    )
    rows = db.session.execute(  # one statement: the villages, their townships, whether their names are shared
        sa.select(Village.id, Village.name, Township.name, shared)
        .join(Township, Township.id == Village.township_id)
        .where(Village.id.in_(keys))
    ).all()
    return {vid: f"{township} · {name}" if others else name for vid, name, township, others in rows}


def list_stations() -> list[Station]:
    return list(
        db.session.scalars(
            sa.select(Station)
            .options(selectinload(Station.villages), selectinload(Station.township))
            .order_by(Station.code)
        )
    )


def get_category(slug: str) -> Category:
    category = db.session.scalar(sa.select(Category).where(Category.slug == slug))
    if category is None:
        raise NotFound("category_not_found")
    return category


def get_village(slug: str) -> Village:
    village = db.session.scalar(
        sa.select(Village)
        .where(Village.slug == slug)
        .options(selectinload(Village.township), selectinload(Village.stations))
    )
    if village is None:
        raise NotFound("village_not_found")
    return village


#: The home page: the best sellers, and the best few of each poverty village.
HOME_FEATURED = 8
HOME_PER_VILLAGE = 4


def home_page_data() -> dict:
    """Villages with their signature product (一村一品) and their best sellers, and the shop's best
    sellers: exactly the products shown (at most HOME_FEATURED + HOME_PER_VILLAGE per village), picked
    by one window query, then loaded with their relations in a fixed number of queries."""
    villages = [v for v in list_villages() if v.is_poverty_village]
    order = (Product.sold_count.desc(), Product.id)
    featured_ids = list(
        db.session.scalars(listed_products().with_only_columns(Product.id).order_by(*order).limit(HOME_FEATURED))
    )
    village_ids = [v.id for v in villages]
    village_rows = []
    if village_ids:
        rank = sa.func.row_number().over(partition_by=Product.village_id, order_by=order).label("rank")
        ranked = (
            listed_products()
            .where(Product.village_id.in_(village_ids))
            .with_only_columns(Product.id, Product.village_id, Product.sold_count, rank)
            .subquery()
        )
        village_rows = list(
            db.session.execute(
                sa.select(ranked.c.id, ranked.c.village_id)
                .where(ranked.c.rank <= HOME_PER_VILLAGE)
                .order_by(ranked.c.village_id, ranked.c.rank)
            )
        )
    ids = set(featured_ids) | {pid for pid, _ in village_rows}
    loaded = (
        {p.id: p for p in db.session.scalars(eager_products(visible_products().where(Product.id.in_(ids))))}
        if ids
        else {}
    )
    by_village: dict[int, list[Product]] = {}
    for pid, village_id in village_rows:
        if pid in loaded:
            by_village.setdefault(village_id, []).append(loaded[pid])
    return {
        "villages": villages,
        "products_by_village": by_village,
        "categories": list_categories(),
        "featured": [loaded[pid] for pid in featured_ids if pid in loaded],
    }


_SLUG_KEEP = re.compile(r"[^0-9a-z\u4e00-\u9fff]+")


def slugify(text: str) -> str:
    """Pinyin slug for Chinese names: 三江腌菜 -> sanjiang-yancai."""
    # pypinyin (large) only when a slug is made, not in every web worker (bench/README.md, "Web worker memory")
    from pypinyin import lazy_pinyin

    words = lazy_pinyin(text or "")
    slug = _SLUG_KEEP.sub("-", "-".join(words).lower()).strip("-")
    return slug[:100] or "item"


def new_trace_code() -> str:
    return "NC" + new_code(10)


@dataclass
class ProductInput:
    name: str
    category_id: int
    village_id: int
    station_id: int
    price_fen: int
    unit: str = "件"
    weight_g: int = 500
    description: str = ""
    season: str = ""
    producer_id: int | None = None
    listed_for_household_id: int | None = None
    benefit: list[tuple[int, int]] | None = None  # [(household_id, weight)]
    #: A new variant (规格) of this product (any variant of its family): its label, e.g. "2斤礼盒".
    variant_of: int | None = None
    variant_label: str = ""
    #: The label `variant_of` gets when it has no family yet (default "标准").
    variant_of_label: str = ""


def create_product(
    data: ProductInput,
    *,
    actor,
    now: datetime,
    approved: bool = False,
) -> Product:
    """A new product with its stock record and benefit links; pending county approval unless `approved`."""
    name = (data.name or "").strip()
    if not name or len(name) > 80:
        raise ValidationError("invalid_product_name", fields={"name": "invalid"})
    check_price_fen(data.price_fen, limit=10**9)
    if db.session.get(Category, data.category_id) is None:
        raise ValidationError("category_not_found", fields={"category_id": "unknown"})
    if db.session.get(Village, data.village_id) is None:
        raise ValidationError("village_not_found", fields={"village_id": "unknown"})
    if db.session.get(Station, data.station_id) is None:
        raise ValidationError("station_not_found", fields={"station_id": "unknown"})
    product = Product(
        slug=slugify(name),
        name=name,
        description=data.description or "",
        category_id=data.category_id,
        village_id=data.village_id,
        station_id=data.station_id,
        producer_id=data.producer_id,
        listed_for_household_id=data.listed_for_household_id,
        unit=data.unit or "件",
        price_fen=data.price_fen,
        weight_g=data.weight_g,
        season=data.season or "",
        trace_code=new_trace_code(),
        approval_status=ApprovalStatus.APPROVED if approved else ApprovalStatus.PENDING,
        approved_at=now if approved else None,
        is_published=True,
        created_by_id=getattr(actor, "id", None),
        created_at=now,
        updated_at=now,
    )
    if data.variant_of is not None:
        join_family(product, data.variant_of, data.variant_label, now=now, sibling_label=data.variant_of_label)
    db.session.add(product)
    db.session.flush()
    db.session.add(StockRecord(product_id=product.id, station_id=data.station_id, on_hand=0, allocated=0))
    set_benefit_links(product, data.benefit or [], now=now)
    db.session.flush()
    return product


def clean_variant_label(label: str) -> str:
    label = (label or "").strip()
    if not label or len(label) > 40:
        raise ValidationError("invalid_variant_label", fields={"variant_label": "invalid"})
    return label


def join_family(product: Product, sibling_id: int, label: str, *, now: datetime, sibling_label: str = "") -> None:
    """Make `product` (new or not) a variant labelled `label` of the product `sibling_id` belongs to.

    A sibling without a family gets one (named after it, its own label `sibling_label` or, when
    empty, "标准"). The new variant sorts last; it is certified on its own like any product
    (a pending product is not offered until the county approves it)."""
    label = clean_variant_label(label)
    sibling = db.session.get(Product, sibling_id) if 0 < sibling_id < 2**63 else None
    if sibling is None or sibling is product:
        raise NotFound("variant_not_found", fields={"variant_of": str(sibling_id)})
    if sibling.family is None:
        family = ProductFamily(name=sibling.name, created_at=now)
        db.session.add(family)
        sibling.family = family
        sibling.variant_label = clean_variant_label(sibling_label or "标准")
        sibling.variant_position = 0
        db.session.flush()
    family = sibling.family
    if any(m.variant_label == label for m in family.members if m is not product):
        raise ValidationError("variant_label_taken", fields={"variant_label": "taken"})
    product.family = family
    product.variant_label = label
    product.variant_position = max((m.variant_position for m in family.members if m is not product), default=0) + 1


def update_family(family: ProductFamily, *, actor, now: datetime, name: str | None = None, order=None) -> dict:
    """Rename a family (the name its card and product page show) and/or set its variants' picker order:
    `order` lists every member's id, the first shown first (and, while visible, the family's face in
    lists). Returns what changed ({} when nothing did); a change is audited ("product_family.update").

    The family's name is what cards, search and the product page's title show: a certified fact like
    a variant's own name (`catalog.changes` re-certifies an operator's rename of an approved product).
    There is no re-certification of a family's name yet, so only the platform admin renames one
    (`family_rename_needs_certification` for anyone else); operators set the order. A wrong `order`
    (a missing, repeated or foreign id) or a refused rename changes nothing."""
    changes: dict[str, Any] = {}
    if name is not None:
        name = name.strip()
        if not 1 <= len(name) <= 80:
            raise ValidationError("invalid_family_name", fields={"name": "invalid"})
        if name != family.name:
            if getattr(actor, "role", None) != Role.ADMIN:
                raise Forbidden("family_rename_needs_certification")
            changes["name"] = [family.name, name]
    members = list(family.members)
    if order is not None:
        order = list(order)
        if len(set(order)) != len(order) or set(order) != {m.id for m in members}:
            raise ValidationError("family_order_mismatch", fields={"order": "invalid"})
        before = [m.id for m in members]
        if order != before:
            changes["order"] = [before, order]
    if not changes:
        return changes
    if "name" in changes:
        family.name = changes["name"][1]
    if "order" in changes:
        by_id = {m.id: m for m in members}
        for position, product_id in enumerate(order):
            by_id[product_id].variant_position = position
            by_id[product_id].updated_at = now
    record_audit(actor=actor, action="product_family.update", subject=family, detail=changes, now=now)
    # the search documents hold the family's name (a reorder is seen by search's own hooks: variant_position)
    enqueue_after_commit("search.tasks.reindex_products", [m.id for m in members])
    db.session.flush()
    db.session.expire(family, ["members"])  # read again in the new picker order
    return changes


def set_benefit_links(product: Product, links: list[tuple[int, int]], *, now: datetime) -> None:
    """Replace a product's benefit links with [(household_id, weight)]."""
    seen = set()
    for household_id, weight in links:
        if household_id in seen:
            raise ValidationError("household_linked_twice", fields={"households": "duplicate"})
        seen.add(household_id)
        if not isinstance(weight, int) or weight <= 0 or weight > 1_000_000:
            raise ValidationError("invalid_weight", fields={"weight": "invalid"})
        if db.session.get(Household, household_id) is None:
            raise ValidationError("household_not_found", fields={"households": "unknown"})
    db.session.execute(sa.delete(BenefitLink).where(BenefitLink.product_id == product.id))
    for household_id, weight in links:
        db.session.add(BenefitLink(product_id=product.id, household_id=household_id, weight=weight, created_at=now))
    db.session.flush()


def benefit_split(links: Iterable[tuple[int, int]]) -> list[dict]:
    """The benefit-split snapshot an order line keeps (`OrderLine.benefit_split`): [{"household_id",
    "weight"}] in household id order, from the (household_id, weight) pairs of a product's or a
    listing's benefit links. Checkout and booking both snapshot through this; the ledger credits from it."""
    return [{"household_id": h, "weight": w} for h, w in sorted(links)]


def household_labels(households: Iterable[Household]) -> dict[int, str]:
    """{household id: label}: how a household is picked or named wherever one is chosen from a list or a
    sale, an intake or a benefit is decided (the station's 代卖农户, 受益农户, 交货农户; the benefit-recording
    pages' household list; the county's benefit links and approvals). The label is the household's number in
    the county's registry (农户编号, its id, as the registry and the 明白卡 show it: not the 建档立卡编号,
    which is personal data), the head's name masked (张**) and its village, named with its township when a
    village of another township has its name (`village_labels`). Without the number two households of one
    village whose heads share a surname (柳溪村 · 张** twice) could not be told apart, and a sale could be
    credited to the wrong one; without the township, two villages 新村 neither."""
    households = list(households)
    villages = village_labels(h.village_id for h in households)
    return {h.id: f"#{h.id} {mask_name(h.head_name)} · {villages.get(h.village_id, '')}" for h in households}


def decision_note(text: str | None, *, field: str = "reason") -> str:
    """A certification decision's reason or note as it is kept (a product or a change returned or certified):
    stripped; longer than `MAX_DECISION_NOTE` is refused (422 `decision_note_too_long`, naming the limit),
    never cut, so the station reads the whole of what the county wrote."""
    note = (text or "").strip()
    if len(note) > MAX_DECISION_NOTE:
        raise ValidationError("decision_note_too_long", fields={field: "too_long"}, max=MAX_DECISION_NOTE)
    return note
