"""API: a product, villages, stations, categories (the product list and search: `search.api`)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from flask import url_for
from pydantic import BaseModel, Field

from catalog.papers import product_papers, public_issuer, unsellable_ids
from catalog.services import (
    get_visible_product,
    linked_household_count,
    list_categories,
    list_stations,
    list_villages,
    shown_product_ids,
)
from shop.api import QuerySchema, endpoint, ok
from shop.money import MAX_FEN
from shop.pagecache import cached_api, depends_on
from shop.timeutil import local_date, now_utc


class ProductQuery(QuerySchema):
    q: str = Field(default="", max_length=200)
    category: str | None = Field(default=None, max_length=40)
    village: int | None = Field(default=None, ge=1, le=2**31)
    township: int | None = Field(default=None, ge=1, le=2**31)
    min_fen: int | None = Field(default=None, ge=0, le=MAX_FEN)
    max_fen: int | None = Field(default=None, ge=0, le=MAX_FEN)
    in_stock: bool = Field(
        default=False,
        description="Only products that can be bought now: some shown variant has units for sale and the "
        "food-safety papers it needs count today (catalog.papers); a product without them is left out.",
    )
    sort: Literal["relevance", "newest", "price_asc", "price_desc", "best_selling"] = "relevance"
    page: int = Field(default=1, ge=1, le=10_000)
    per_page: int = Field(default=24, ge=1, le=100)


class Ref(BaseModel):
    id: int
    name: str


class StationRef(BaseModel):
    id: int
    code: str
    name: str


class VariantOut(BaseModel):
    id: int = Field(description="The variant's id: the `product_id` of cart and order lines.")
    label: str = Field(description="The variant (规格), e.g. 500克袋装; empty for a product sold in one variant.")
    price_fen: int
    unit: str
    weight_g: int
    stock: int
    sold: int
    code: str = Field(description="The variant's trace code (溯源码).")
    sellable: bool = Field(
        description="False when a food-safety document the variant needs is missing, not yet approved or "
        "expired today (catalog.papers): the cart and checkout refuse it with 409 papers_missing."
    )


class ProductItem(BaseModel):
    id: int = Field(description="The shown variant's id (a product sold in one variant: the product's id).")
    sellable: bool = Field(
        description="False when a food-safety document the shown variant needs is missing, not yet approved "
        "or expired today (catalog.papers): the cart and checkout refuse it with 409 papers_missing."
    )
    name: str = Field(description="The product's name (a family's name for a product with variants).")
    slug: str
    category: str
    price_fen: int = Field(description="The shown variant's price.")
    unit: str
    stock: int = Field(description="Units of the shown variant for sale now.")
    sold: int = Field(
        description="已售: units handed over to buyers, less those refunded afterwards "
        "(counted from delivered order lines, never typed in), summed over all the product's variants."
    )
    variant_label: str = Field(description="The shown variant's label (规格); empty without variants.")
    variants: list[VariantOut] = Field(
        description="The variants a buyer may pick, in picker order (one entry, this one, for a product "
        "without variants). Add one to the cart or an order with its `id` as `product_id`."
    )
    village: Ref
    station: StationRef
    image_url: str | None


class ProductPage(BaseModel):
    items: list[ProductItem]
    total: int
    page: int
    per_page: int
    partial: bool = Field(
        default=False,
        description="True when `q` was given and no product has every one of its words: the items are "
        "the best partial matches (products matching some of the words, most words first).",
    )


class PaperGapOut(BaseModel):
    kind: Literal["compliance_certificate", "production_licence", "test_report"]
    reason: Literal["missing", "pending", "expired", "not_yet_valid"]
    message: str


class PaperOut(BaseModel):
    """An approved food-safety document valid today (no file: the file is the station's and the county's;
    `issuer` is empty for a 合格证, which its producer issues itself and may name a household)."""

    kind: Literal["compliance_certificate", "production_licence", "test_report"]
    number: str
    issuer: str
    valid_from: date
    valid_until: date


class ProductDetail(ProductItem):
    paper_gaps: list[PaperGapOut] = Field(description="Why it cannot be sold (empty when sellable).")
    documents: list[PaperOut]
    description: str
    weight_g: int
    season: str
    trace_code: str
    producer: Ref | None
    households_linked: int
    township: Ref


class VillageOut(BaseModel):
    id: int
    name: str
    slug: str
    township: Ref
    is_poverty_village: bool
    signature_product: str
    station_ids: list[int]


class VillageList(BaseModel):
    items: list[VillageOut]


class StationOut(BaseModel):
    id: int
    code: str
    name: str
    address: str
    hours: str
    #: What a pick-up buyer needs before choosing the station (docs/pickup.md).
    phone: str
    village_ids: list[int]


class StationList(BaseModel):
    items: list[StationOut]


class CategoryOut(BaseModel):
    id: int
    slug: str
    name: str
    name_en: str


class CategoryList(BaseModel):
    items: list[CategoryOut]


def product_items(products) -> list[dict]:
    """List items of `products`, each variant's papers asked once for the whole list (one SELECT)."""
    unsellable = unsellable_ids({v.id for p in products for v in p.variants}, today=local_date(now_utc()))
    return [product_item(p, unsellable=unsellable) for p in products]


def product_item(p, *, unsellable: set[int]) -> dict:
    """`p` as a list item; `unsellable`: ids (of its variants among them) whose papers do not count
    today (`catalog.papers.unsellable_ids`)."""
    image = p.images[0] if p.images else None
    return dict(
        id=p.id,
        sellable=p.id not in unsellable,
        name=p.display_name,
        slug=p.slug,
        category=p.category.slug,
        price_fen=p.price_fen,
        unit=p.unit,
        stock=max(p.available, 0),
        sold=p.family_sold,
        variant_label=p.variant_label,
        variants=[
            dict(
                id=v.id,
                label=v.variant_label,
                price_fen=v.price_fen,
                unit=v.unit,
                weight_g=v.weight_g,
                stock=max(v.available, 0),
                sold=v.delivered_count,
                code=v.trace_code,
                sellable=v.id not in unsellable,
            )
            for v in p.variants
        ],
        village={"id": p.village.id, "name": p.village.name},
        station={"id": p.station.id, "code": p.station.code, "name": p.station.name},
        image_url=url_for("catalog.media", filename=image.thumb_path) if image else None,
    )


@endpoint("/products/<int:product_id>", response=ProductDetail, tags=("catalog",))
@cached_api
def product(product_id: int):
    """One visible product (households linked: a count only); any variant's id gives the product with
    that variant shown."""
    p = get_visible_product(product_id)
    depends_on(shown_product_ids([p]))
    today = local_date(now_utc())
    papers = product_papers(p, today=today)
    data = product_item(p, unsellable=unsellable_ids([v.id for v in p.variants], today=today))
    data.update(
        sellable=not papers.gaps,
        paper_gaps=[dict(kind=g.kind, reason=g.reason, message=g.message) for g in papers.gaps],
        documents=[
            dict(
                kind=d.kind,
                number=d.number,
                issuer=public_issuer(d),
                valid_from=d.valid_from,
                valid_until=d.valid_until,
            )
            for d in papers.documents
        ],
        description=p.description,
        weight_g=p.weight_g,
        season=p.season,
        trace_code=p.trace_code,
        producer={"id": p.producer.id, "name": p.producer.name} if p.producer else None,
        households_linked=linked_household_count(p.id),
        township={"id": p.village.township.id, "name": p.village.township.name},
    )
    # Through its model, as the spec describes it: a document's dates as ISO dates ("2026-12-08"), not the
    # HTTP dates ("Tue, 08 Dec 2026 00:00:00 GMT") Flask's JSON gives a bare `date`.
    return ok(ProductDetail.model_validate(data))


@endpoint("/villages", response=VillageList, tags=("reference",))
def villages():
    """Villages with their township and stations."""
    return ok(
        {
            "items": [
                dict(
                    id=v.id,
                    name=v.name,
                    slug=v.slug,
                    township={"id": v.township.id, "name": v.township.name},
                    is_poverty_village=v.is_poverty_village,
                    signature_product=v.signature_product,
                    station_ids=[s.id for s in v.stations],
                )
                for v in list_villages()
            ]
        }
    )


@endpoint("/stations", response=StationList, tags=("reference",))
def stations():
    """Service stations and the villages they serve."""
    return ok(
        {
            "items": [
                dict(
                    id=s.id,
                    code=s.code,
                    name=s.name,
                    address=s.address,
                    hours=s.hours,
                    phone=s.phone or "",
                    village_ids=[v.id for v in s.villages],
                )
                for s in list_stations()
            ]
        }
    )


@endpoint("/categories", response=CategoryList, tags=("reference",))
def categories():
    """Product categories."""
    return ok({"items": [dict(id=c.id, slug=c.slug, name=c.name, name_en=c.name_en) for c in list_categories()]})
