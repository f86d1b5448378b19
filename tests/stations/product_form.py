"""The station's new product form (代卖, `/station/products/new`) as the assisted selling tests fill it
in for the stations' world (tests/stations/conftest.py `world`), and a table's row count."""

from __future__ import annotations

import sqlalchemy as sa

from shop.once import new_form_token


def new_product_form(world, **extra):
    """The form's fields: 30 bags of 三江腌菜 at ¥12.50 for station A's first household, its benefit
    split 3 : 1 with the second, with a fresh form token; `extra` adds or overrides fields."""
    data = {
        "household_id": str(world.a.h1.id),
        "name": "三江腌菜",
        "category_id": str(world.category.id),
        "price": "12.5",
        "unit": "袋",
        "weight_g": "500",
        "initial_stock": "30",
        "harvest_date": "2026-11-20",
        "lot_note": "第一缸",
        "season": "",
        "description": "老坛腌制",
        f"weight_{world.a.h1.id}": "3",
        f"weight_{world.a.h2.id}": "1",
        "form_token": new_form_token(),
    }
    data.update(extra)
    return data


def row_count(db, model):
    """How many rows `model`'s table holds."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))
