"""Test data factories: plain functions with keyword defaults that add, flush and return."""

from __future__ import annotations

import itertools
from datetime import datetime, timezone

import sqlalchemy as sa
from werkzeug.security import generate_password_hash

from catalog.models import ApprovalStatus, BenefitLink, Category, Household, Product, Township, Village
from catalog.services import benefit_split
from shop.auth.models import User
from shop.extensions import db
from shop.personal_data import lookup_hash
from stock.models import Lot, Station, StockMovement, StockRecord

_seq = itertools.count(1)
NOW = datetime(2026, 11, 28, 4, 0, tzinfo=timezone.utc)
PASSWORD = "password123"
_PASSWORD_HASH = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")


def _n() -> int:
    return next(_seq)


def make_user(*, role: str = "consumer", station=None, email: str | None = None, name: str = "") -> User:
    n = _n()
    user = User(
        email=email or f"user{n}@test.cn",
        password_hash=_PASSWORD_HASH,
        name=name or f"用户{n}",
        role=role,
        station_id=station.id if station is not None else None,
        created_at=NOW,
    )
    db.session.add(user)
    db.session.flush()
    return user


def make_township(*, name: str | None = None) -> Township:
    n = _n()
    township = Township(name=name or f"测试镇{n}", slug=f"township-{n}")
    db.session.add(township)
    db.session.flush()
    return township


def make_village(*, name: str | None = None, township=None, signature_product: str = "土鸡蛋") -> Village:
    n = _n()
    village = Village(
        name=name or f"测试村{n}",
        slug=f"village-{n}",
        township_id=(township or make_township()).id,
        is_poverty_village=True,
        signature_product=signature_product,
    )
    db.session.add(village)
    db.session.flush()
    return village


def make_station(*, village=None, code: str | None = None, commission_bps: int = 0) -> Station:
    n = _n()
    village = village or make_village()
    station = Station(
        code=code or f"T{n:04d}",
        name=f"测试站{n}",
        township_id=village.township_id,
        address="村委会旁",
        hours="08:00-18:00",
        commission_bps=commission_bps,
    )
    station.villages.append(village)
    db.session.add(station)
    db.session.flush()
    return station


def make_household(
    *,
    village=None,
    head_name: str = "张建华",
    registry_no: str | None = None,
    phone: str = "13912345678",
    id_number: str = "360121196001011235",
) -> Household:
    n = _n()
    registry_no = registry_no or f"36012199{n:06d}"
    household = Household(
        village_id=(village or make_village()).id,
        head_name=head_name,
        head_name_hash=lookup_hash(head_name),
        registry_no=registry_no,
        registry_no_hash=lookup_hash(registry_no),
        id_number=id_number,
        phone=phone,
        members=3,
        status="poor",
        created_at=NOW,
    )
    db.session.add(household)
    db.session.flush()
    return household


def make_category(*, slug: str | None = None, name: str | None = None, food_class: str = "non_food") -> Category:
    """A category (named 禽蛋 and a number unless `name` is given: names are unique); its products need
    no food-safety papers unless `food_class` says farm or processed (tests/catalog/test_papers.py: the
    papers' rule has its own tests)."""
    n = _n()
    category = Category(
        slug=slug or f"cat-{n}", name=name or f"禽蛋{n}", name_en="Eggs", position=n, food_class=food_class
    )
    db.session.add(category)
    db.session.flush()
    return category


def make_product(
    *,
    name: str = "土鸡蛋30枚",
    price_fen: int = 4500,
    stock: int = 10,
    station=None,
    village=None,
    category=None,
    households: list | None = None,
    weights: list[int] | None = None,
    approval_status: str = ApprovalStatus.APPROVED,
    is_published: bool = True,
    weight_g: int = 500,
    unit: str = "盒",
    best_before=None,
    harvest_date=None,
) -> Product:
    """A product with a stock record of `stock` units on hand: one lot (one receive movement)."""
    n = _n()
    station = station or make_station(village=village)
    village = village or station.villages[0]
    product = Product(
        slug=f"product-{n}",
        name=name,
        description=f"{name}的介绍",
        category_id=(category or make_category()).id,
        village_id=village.id,
        station_id=station.id,
        unit=unit,
        price_fen=price_fen,
        weight_g=weight_g,
        trace_code=f"TC{n:08d}",
        approval_status=approval_status,
        is_published=is_published,
        created_at=NOW,
        updated_at=NOW,
    )
    db.session.add(product)
    db.session.flush()
    record = StockRecord(product_id=product.id, station_id=station.id, on_hand=0, allocated=0)
    db.session.add(record)
    db.session.flush()
    if stock:
        make_lot(record, stock, best_before=best_before, harvest_date=harvest_date)
    for i, household in enumerate(households or []):
        weight = weights[i] if weights else 1
        db.session.add(BenefitLink(product_id=product.id, household_id=household.id, weight=weight, created_at=NOW))
    db.session.flush()
    db.session.refresh(product)
    return product


def product_benefit_split(product_id: int) -> list[dict]:
    """The snapshot an order line of this product carries (`catalog.services.benefit_split` over its links)."""
    rows = db.session.execute(
        sa.select(BenefitLink.household_id, BenefitLink.weight).where(BenefitLink.product_id == product_id)
    ).all()
    return benefit_split((h, w) for h, w in rows)


def make_lot(record, quantity: int, *, best_before=None, harvest_date=None, household=None, received_at=None) -> Lot:
    """A lot received into `record` (on_hand grows by `quantity`, one receive movement)."""
    from stock.services import new_lot_code

    lot = Lot(
        code=new_lot_code(),
        stock_record_id=record.id,
        product_id=record.product_id,
        station_id=record.station_id,
        received_quantity=quantity,
        on_hand=quantity,
        allocated=0,
        blocked=0,
        harvest_date=harvest_date,
        best_before_date=best_before,
        household_id=household.id if household is not None else None,
        note="",
        status="active",
        received_at=received_at or NOW,
    )
    db.session.add(lot)
    db.session.flush()
    table = StockRecord.__table__
    db.session.execute(table.update().where(table.c.id == record.id).values(on_hand=table.c.on_hand + quantity))
    db.session.expire(record)
    db.session.add(
        StockMovement(
            stock_record_id=record.id, lot_id=lot.id, kind="receive", quantity=quantity, created_at=received_at or NOW
        )
    )
    db.session.flush()
    return lot


def make_document(
    product,
    kind: str = "compliance_certificate",
    *,
    status: str = "approved",
    valid_from=None,
    valid_until=None,
    number: str | None = None,
    issuer: str = "南昌县市场监督管理局",
):
    """A food-safety document row for `product` (no file on disk: tests of uploads use the services).
    Valid from a year before NOW until a year after the real today by default."""
    from datetime import date, timedelta

    from catalog.papers import ProductDocument
    from shop.timeutil import local_date, now_utc

    n = _n()
    document = ProductDocument(
        product_id=product.id,
        kind=kind,
        number=number or (f"SC{n:014d}" if kind == "production_licence" else f"HGZ{n:08d}"),
        issuer=issuer,
        valid_from=valid_from or date(2025, 11, 28),
        valid_until=valid_until or local_date(now_utc()) + timedelta(days=365),
        file_path=f"{product.id}/test-{n}.pdf",
        file_type="pdf",
        file_size=100,
        status=status,
        decision_note="",
        uploaded_at=NOW,
        decided_at=NOW if status != "pending" else None,
    )
    db.session.add(document)
    db.session.flush()
    return document
