"""Categories, as the platform admin keeps them: create and rename.

A new category's slug (its URL, /categories/<slug>) is made from its Chinese name the way the catalogue
makes every slug (`catalog.services.slugify`: pinyin), with -2, -3 … added when taken. A rename keeps the
slug, so links already shared keep working. Every change is written to the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from admin.services.slugs import add_with_unique_slug
from catalog.models import Category
from catalog.papers import FoodClass
from shop.audit import record_audit
from shop.db import unique_or
from shop.errors import N_, Conflict, NotFound, ValidationError
from shop.extensions import db

#: The food classes a category may have (docs/papers.md), with their labels (msgids).
FOOD_CLASS_LABELS: dict[str, str] = {
    FoodClass.FARM: N_("食用农产品"),
    FoodClass.PROCESSED: N_("加工食品"),
    FoodClass.NON_FOOD: N_("非食品"),
}
SLUG_MAX = 40


@dataclass
class CategoryData:
    name: str
    name_en: str = ""
    food_class: str = FoodClass.FARM


def list_all() -> list[Category]:
    return list(db.session.scalars(sa.select(Category).order_by(Category.position, Category.id)))


def count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Category)) or 0


def get_category(category_id: int) -> Category:
    category = db.session.get(Category, category_id)
    if category is None:
        raise NotFound("category_not_found")
    return category


def _clean(data: CategoryData, category: Category | None = None) -> CategoryData:
    """The category's values as stored, or the refusal. Two categories never share a name: a station
    picks its product's category by it, and the county's income by category would show two rows of one name."""
    name = (data.name or "").strip()
    name_en = (data.name_en or "").strip()
    if not name or len(name) > 40:
        raise ValidationError("category_name_invalid", fields={"name": "invalid"})
    if len(name_en) > 60:
        raise ValidationError("category_name_en_invalid", fields={"name_en": "invalid"})
    if data.food_class not in FOOD_CLASS_LABELS:
        raise ValidationError("food_class_invalid", fields={"food_class": "invalid"})
    same_name = sa.select(Category.id).where(Category.name == name)
    if category is not None:
        same_name = same_name.where(Category.id != category.id)
    if db.session.scalar(same_name.limit(1)) is not None:
        raise Conflict("category_name_taken", name=name, fields={"name": "taken"})
    return CategoryData(name=name, name_en=name_en, food_class=data.food_class)


def create_category(data: CategoryData, *, actor, now: datetime) -> Category:
    """A new category, last in the order. Audited as `category.create`. Flushes; the caller commits."""
    data = _clean(data)
    position = (db.session.scalar(sa.select(sa.func.max(Category.position))) or 0) + 1
    category = Category(name=data.name, name_en=data.name_en, food_class=data.food_class, position=position)
    add_with_unique_slug(category, data.name, SLUG_MAX, recheck=lambda: _clean(data))
    record_audit(
        actor=actor,
        action="category.create",
        subject=category,
        detail={"name": category.name, "slug": category.slug, "food_class": category.food_class},
        now=now,
    )
    return category


def update_category(category: Category, data: CategoryData, *, actor, now: datetime) -> bool:
    """Rename a category (Chinese and English names) and set its food class; the slug stays. Returns
    whether anything changed; audited as `category.update`."""
    data = _clean(data, category)
    changes = {
        key: [getattr(category, key), value]
        for key, value in (("name", data.name), ("name_en", data.name_en), ("food_class", data.food_class))
        if getattr(category, key) != value
    }
    if not changes:
        return False
    with unique_or(lambda: _clean(data, category)):  # a concurrent rename to the same name
        for key, (_old, value) in changes.items():
            setattr(category, key, value)
    record_audit(actor=actor, action="category.update", subject=category, detail=changes, now=now)
    return True
