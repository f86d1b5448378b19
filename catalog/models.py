"""Catalog models: places, households, producers, categories, products, benefit links."""

from __future__ import annotations

import functools
from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shop.columns import fk, pk
from shop.extensions import db
from shop.personal_data import EncryptedString


class Township(db.Model):
    """乡镇."""

    __tablename__ = "townships"

    id: Mapped[int] = pk()
    name: Mapped[str] = mapped_column(sa.String(40), unique=True)
    slug: Mapped[str] = mapped_column(sa.String(60), unique=True)

    villages = relationship("Village", back_populates="township", order_by="Village.name")


class Village(db.Model):
    """村, with its poverty flag and signature product (一村一品)."""

    __tablename__ = "villages"
    #: Households, products and stations pick their village by name within its township.
    __table_args__ = (sa.UniqueConstraint("township_id", "name", name="uq_villages_township_name"),)

    id: Mapped[int] = pk()
    township_id: Mapped[int] = fk("townships.id")
    name: Mapped[str] = mapped_column(sa.String(40))
    slug: Mapped[str] = mapped_column(sa.String(60), unique=True)
    is_poverty_village: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    #: 一村一品: the village's signature product, e.g. 三江腌菜.
    signature_product: Mapped[str] = mapped_column(sa.String(40), default="")
    story: Mapped[str] = mapped_column(sa.Text, default="")
    #: Invented for the demo (the plan does not name the 18 poverty villages).
    is_demo: Mapped[bool] = mapped_column(sa.Boolean, default=False)

    township = relationship(Township, back_populates="villages")
    stations = relationship("Station", secondary="station_villages", back_populates="villages")


class HouseholdStatus(StrEnum):
    POOR = "poor"  # 建档立卡贫困户
    LIFTED = "lifted"  # 脱贫户
    MONITORED = "monitored"  # 防止返贫监测对象


HOUSEHOLD_STATUS_LABELS: dict[str, str] = {  # keyed by the stored status text
    HouseholdStatus.POOR: "贫困户",
    HouseholdStatus.LIFTED: "脱贫户",
    HouseholdStatus.MONITORED: "监测对象",
}


class Household(db.Model):
    """A registered poor household (建档立卡贫困户). Personal data is encrypted and always masked."""

    __tablename__ = "households"
    __table_args__ = (
        sa.CheckConstraint("status IN ('poor','lifted','monitored')", name="status_valid"),
        sa.CheckConstraint("members >= 1 AND members <= 30", name="members_range"),
    )

    id: Mapped[int] = pk()
    village_id: Mapped[int] = fk("villages.id")
    #: Head of household. Shown masked (张**) except to a county officer's audited reveal.
    head_name: Mapped[str] = mapped_column(EncryptedString())
    #: Keyed hash of the head's name (`shop.personal_data.lookup_hash`: spaces removed): the registry's search by
    #: name finds exact names through it, the name itself staying encrypted. Names repeat: not unique.
    head_name_hash: Mapped[str] = mapped_column(sa.String(64), index=True)
    #: 建档立卡 registry number, encrypted; `registry_no_hash` finds and de-duplicates it.
    registry_no: Mapped[str] = mapped_column(EncryptedString())
    registry_no_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    id_number: Mapped[str | None] = mapped_column(EncryptedString(), nullable=True)
    phone: Mapped[str | None] = mapped_column(EncryptedString(), nullable=True)
    members: Mapped[int] = mapped_column(sa.Integer, default=1)
    #: Members able to work (counted for the tourism-employment target when employed).
    status: Mapped[str] = mapped_column(sa.String(16), default=HouseholdStatus.POOR)
    is_demo: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    created_at: Mapped[datetime]

    village = relationship(Village)


class HouseholdStatusChange(db.Model):
    """History of a household's status (贫困户 → 脱贫户 → 监测对象)."""

    __tablename__ = "household_status_changes"

    id: Mapped[int] = pk()
    household_id: Mapped[int] = fk("households.id", ondelete="CASCADE")
    from_status: Mapped[str | None] = mapped_column(sa.String(16), nullable=True)
    to_status: Mapped[str] = mapped_column(sa.String(16))
    effective_date: Mapped[date]
    actor_id: Mapped[int | None] = fk("users.id", nullable=True, ondelete="SET NULL")
    note: Mapped[str] = mapped_column(sa.String(255), default="")
    created_at: Mapped[datetime]


class Producer(db.Model):
    """合作社/经营主体: who makes a product (a cooperative, an enterprise or a household)."""

    __tablename__ = "producers"

    id: Mapped[int] = pk()
    name: Mapped[str] = mapped_column(sa.String(80))
    kind: Mapped[str] = mapped_column(sa.String(16), default="cooperative")  # cooperative|enterprise|household
    village_id: Mapped[int | None] = fk("villages.id", nullable=True)

    village = relationship(Village)


class Category(db.Model):
    __tablename__ = "categories"
    __table_args__ = (sa.CheckConstraint("food_class IN ('farm','processed','non_food')", name="food_class_valid"),)

    id: Mapped[int] = pk()
    slug: Mapped[str] = mapped_column(sa.String(40), unique=True)
    #: Unique: a station picks its product's category by name, and the county's income by category has
    #: one row per name.
    name: Mapped[str] = mapped_column(sa.String(40), unique=True)
    name_en: Mapped[str] = mapped_column(sa.String(60), default="")
    position: Mapped[int] = mapped_column(sa.Integer, default=0)
    #: 食用农产品 (farm), 加工食品 (processed) or not food: says which food-safety papers its products
    #: need before they may be sold (`catalog.papers.REQUIRED_DOCUMENTS`, docs/papers.md).
    food_class: Mapped[str] = mapped_column(sa.String(12), default="farm", server_default="farm")


class ApprovalStatus(StrEnum):
    """扶贫产品认定 / 消费帮扶产品: a product is visible only once approved by the county."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class ProductFamily(db.Model):
    """One product as the buyer sees it, sold in several variants (规格: 500克袋装 / 2斤礼盒 / 整只).

    Each variant is a `Product` row (a SKU) with its own price, weight, stock record, lots, trace
    code, certification and benefit links; the family only groups them under one name, one card and
    one product page with a picker (docs/catalog.md). A product without a family is its own single
    variant."""

    __tablename__ = "product_families"

    id: Mapped[int] = pk()
    name: Mapped[str] = mapped_column(sa.String(80))
    created_at: Mapped[datetime]

    #: Every variant, shown or not, in picker order.
    members = relationship("Product", back_populates="family", order_by="[Product.variant_position, Product.id]")


#: The longest reason or note the county writes on a certification decision (a product returned or
#: certified, a change returned or certified): `Product.approval_note`, `ProductChange.decision_note`.
#: Longer is refused (`catalog.services.decision_note`), never cut.
MAX_DECISION_NOTE = 255


class Product(db.Model):
    """A sellable unit (SKU): what cart lines, order lines, stock records, lots, changes and ledger
    credits reference. Variants of one product share a `family_id` (`ProductFamily`)."""

    __tablename__ = "products"
    __table_args__ = (
        sa.CheckConstraint("price_fen >= 0", name="price_non_negative"),
        sa.CheckConstraint("weight_g > 0", name="weight_positive"),
        sa.CheckConstraint("delivered_count >= 0", name="delivered_count_non_negative"),
        sa.CheckConstraint("approval_status IN ('pending','approved','rejected')", name="approval_valid"),
        sa.Index("ix_products_visible", "approval_status", "is_published"),
    )

    id: Mapped[int] = pk()
    slug: Mapped[str] = mapped_column(sa.String(120))
    name: Mapped[str] = mapped_column(sa.String(80))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    category_id: Mapped[int] = fk("categories.id")
    village_id: Mapped[int] = fk("villages.id")
    #: The station that stocks and ships it.
    station_id: Mapped[int] = fk("stations.id")
    producer_id: Mapped[int | None] = fk("producers.id", nullable=True)
    #: 代卖: listed by an operator on behalf of this household.
    listed_for_household_id: Mapped[int | None] = fk("households.id", nullable=True)
    unit: Mapped[str] = mapped_column(sa.String(20), default="件")  # 斤, 盒, 只, 袋 ...
    price_fen: Mapped[int] = mapped_column(sa.BigInteger)
    weight_g: Mapped[int] = mapped_column(sa.Integer, default=500)
    #: Free text season, e.g. '3-5月'; empty = all year.
    season: Mapped[str] = mapped_column(sa.String(40), default="")
    #: 溯源码, printed on the package.
    trace_code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    approval_status: Mapped[str] = mapped_column(sa.String(16), default=ApprovalStatus.PENDING)
    approval_note: Mapped[str] = mapped_column(sa.String(MAX_DECISION_NOTE), default="")
    approved_at: Mapped[datetime | None]
    approved_by_id: Mapped[int | None] = fk("users.id", nullable=True, ondelete="SET NULL")
    is_published: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    #: The product this unit is a variant (规格) of; None = a product sold in one variant.
    family_id: Mapped[int | None] = fk("product_families.id", nullable=True, ondelete="SET NULL")
    #: The variant's name in its family's picker, e.g. "500克袋装" (empty without a family).
    variant_label: Mapped[str] = mapped_column(sa.String(40), default="", server_default="")
    #: Order in the picker (then id); the first visible variant is the one a list shows.
    variant_position: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    #: Units sold, kept by the order placement service (for sort=best_selling).
    sold_count: Mapped[int] = mapped_column(sa.Integer, default=0)
    #: 已售 as the shop shows it: units of lines handed over to their buyers, less those refunded
    #: afterwards; kept by `orders.services.common.adjust_delivered_count`, never typed in.
    delivered_count: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    #: Visible reviews' count and sum of ratings (average = sum / count), kept by `reviews.services`.
    rating_count: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    rating_sum: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    created_by_id: Mapped[int | None] = fk("users.id", nullable=True, ondelete="SET NULL")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    category = relationship(Category)
    village = relationship(Village)
    station = relationship("Station")
    producer = relationship(Producer)
    family = relationship(ProductFamily, back_populates="members")
    images = relationship("ProductImage", order_by="ProductImage.position", cascade="all, delete-orphan")
    stock = relationship("StockRecord", uselist=False, back_populates="product")

    @property
    def is_visible(self) -> bool:
        """Shown in the shop: approved by the county and published by its station."""
        return self.approval_status == ApprovalStatus.APPROVED and bool(self.is_published)

    @property
    def display_name(self) -> str:
        """The name a card or the product page shows: the family's name for a variant."""
        return self.family.name if self.family is not None else self.name

    @property
    def variants(self) -> list[Product]:
        """The variants a buyer may pick (the family's visible members in picker order, this one
        always among them); [self] for a product without a family."""
        if self.family is None:
            return [self]
        return [m for m in self.family.members if m is self or m.is_visible]

    @property
    def face(self) -> Product | None:
        """The variant the product's card shows (`is_family_face`): its family's first visible
        variant in picker order, itself without a family; None when none of it is shown."""
        members = self.family.members if self.family is not None else [self]
        return next((m for m in members if m.is_visible), None)

    @property
    def family_sold(self) -> int:
        """已售 of the whole product: the delivered units of all its variants."""
        members = self.family.members if self.family is not None else [self]
        return sum(v.delivered_count for v in members)

    @property
    def family_rating_count(self) -> int:
        """Visible reviews of the whole product (all its variants): cards and the product page."""
        members = self.family.members if self.family is not None else [self]
        return sum(v.rating_count for v in members)

    @property
    def family_rating_average(self) -> float | None:
        """The whole product's average rating to one decimal (None without reviews)."""
        members = self.family.members if self.family is not None else [self]
        count = sum(v.rating_count for v in members)
        return round(sum(v.rating_sum for v in members) / count, 1) if count else None

    @property
    def family_ids(self) -> list[int]:
        """The ids of all the product's variants (itself alone without a family)."""
        return [v.id for v in self.family.members] if self.family is not None else [self.id]

    @property
    def lowest_price_fen(self) -> int:
        """The lowest price of the shown variants: what a card shows ("¥X 起" when they differ), what
        a list's price sort orders by (`catalog.services.with_lowest_price`)."""
        return min(v.price_fen for v in self.variants)

    @property
    def prices_differ(self) -> bool:
        """True when the shown variants do not all cost the same (the card says "起": from)."""
        return len({v.price_fen for v in self.variants}) > 1

    @property
    def family_available(self) -> int:
        """Units for sale across the shown variants (a card's stock note)."""
        return sum(max(v.available, 0) for v in self.variants)

    @property
    def available(self) -> int:
        return self.stock.available if self.stock is not None else 0

    @property
    def rating_average(self) -> float | None:
        """The visible reviews' average rating to one decimal, None without reviews."""
        return round(self.rating_sum / self.rating_count, 1) if self.rating_count else None


def visible_products():
    """The select() of products the public may see."""
    return db.select(Product).where(Product.approval_status == ApprovalStatus.APPROVED, Product.is_published.is_(True))


@functools.cache
def is_family_face():
    """The condition a product list adds to show each family once: a visible product without a
    family, or its family's first visible variant (by `variant_position`, then id). The faces are
    ranked once for the whole query (a window over the visible variants: a hashed subplan on
    PostgreSQL), not probed row by row. Built once per process (an SQL expression is immutable;
    building it cost more than running it)."""
    ranked = (
        sa.select(
            Product.id,
            sa.func.row_number()
            .over(partition_by=Product.family_id, order_by=(Product.variant_position, Product.id))
            .label("rank"),
        )
        .where(
            Product.family_id.is_not(None),
            Product.approval_status == ApprovalStatus.APPROVED,
            Product.is_published.is_(True),
        )
        .subquery()
    )
    faces = sa.select(ranked.c.id).where(ranked.c.rank == 1)
    return sa.or_(Product.family_id.is_(None), Product.id.in_(faces))


def listed_products():
    """visible_products() with each family once (its face, `is_family_face`): what lists show."""
    return visible_products().where(is_family_face())


class ProductChangeStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class ProductChange(db.Model):
    """A change an operator asked for to an approved product's certified facts (price, name, unit, photo):
    it waits here for the county's re-certification while the shop keeps selling the approved
    version (`catalog.changes`). At most one pending change per product; later requests merge into it."""

    __tablename__ = "product_changes"
    __table_args__ = (
        sa.CheckConstraint("status IN ('pending','approved','rejected')", name="status_valid"),
        sa.CheckConstraint("price_fen IS NULL OR price_fen > 0", name="price_positive"),
        sa.Index(
            "uq_product_changes_one_pending",
            "product_id",
            unique=True,
            postgresql_where=sa.text("status = 'pending'"),
            sqlite_where=sa.text("status = 'pending'"),
        ),
    )

    id: Mapped[int] = pk()
    product_id: Mapped[int] = fk("products.id", ondelete="CASCADE")
    status: Mapped[str] = mapped_column(sa.String(12), default=ProductChangeStatus.PENDING)
    #: The asked-for values; None = unchanged.
    name: Mapped[str | None] = mapped_column(sa.String(80), nullable=True)
    unit: Mapped[str | None] = mapped_column(sa.String(20), nullable=True)
    price_fen: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)
    #: A new main photo (files stored, no ProductImage until approved; paths relative to UPLOAD_DIR).
    image_path: Mapped[str | None] = mapped_column(sa.String(255), nullable=True)
    image_thumb_path: Mapped[str | None] = mapped_column(sa.String(255), nullable=True)
    image_width: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    image_height: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    #: The certified values when it was asked for (what the county compares with).
    old_name: Mapped[str] = mapped_column(sa.String(80))
    old_unit: Mapped[str] = mapped_column(sa.String(20))
    old_price_fen: Mapped[int] = mapped_column(sa.BigInteger)
    requested_by_id: Mapped[int | None] = fk("users.id", nullable=True, ondelete="SET NULL")
    requested_at: Mapped[datetime]
    decided_by_id: Mapped[int | None] = fk("users.id", nullable=True, ondelete="SET NULL")
    decided_at: Mapped[datetime | None]
    decision_note: Mapped[str] = mapped_column(sa.String(MAX_DECISION_NOTE), default="")

    product = relationship(Product)


class ProductImage(db.Model):
    __tablename__ = "product_images"

    id: Mapped[int] = pk()
    product_id: Mapped[int] = fk("products.id", ondelete="CASCADE")
    #: Paths relative to the upload folder; the thumbnail is 400px, the full image 1200px max.
    path: Mapped[str] = mapped_column(sa.String(255))
    thumb_path: Mapped[str] = mapped_column(sa.String(255))
    width: Mapped[int] = mapped_column(sa.Integer, default=0)
    height: Mapped[int] = mapped_column(sa.Integer, default=0)
    alt: Mapped[str] = mapped_column(sa.String(120), default="")
    position: Mapped[int] = mapped_column(sa.Integer, default=0)


class BenefitLink(db.Model):
    """利益联结: a product or a tourism listing credits a household, with a weight."""

    __tablename__ = "benefit_links"
    __table_args__ = (
        sa.CheckConstraint("weight > 0 AND weight <= 1000000", name="weight_positive"),
        sa.CheckConstraint(
            "(product_id IS NOT NULL AND listing_id IS NULL) OR (product_id IS NULL AND listing_id IS NOT NULL)",
            name="one_target",
        ),
        sa.UniqueConstraint("product_id", "household_id", name="uq_benefit_links_product_household"),
        sa.UniqueConstraint("listing_id", "household_id", name="uq_benefit_links_listing_household"),
    )

    id: Mapped[int] = pk()
    product_id: Mapped[int | None] = fk("products.id", nullable=True, ondelete="CASCADE")
    listing_id: Mapped[int | None] = fk("listings.id", nullable=True, ondelete="CASCADE")
    household_id: Mapped[int] = fk("households.id")
    weight: Mapped[int] = mapped_column(sa.Integer, default=1)
    created_at: Mapped[datetime]

    household = relationship(Household)
