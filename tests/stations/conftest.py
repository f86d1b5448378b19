"""Two stations A and B, each with an operator, a household pair and a product linked to them."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from tests.factories import make_category, make_household, make_product, make_station, make_user, make_village


def _station_world(label: str, category):
    village = make_village(name=f"{label}村")
    station = make_station(village=village, code=f"ST{label}", commission_bps=1000)
    h1 = make_household(village=village, head_name=f"{label}张三")
    h2 = make_household(village=village, head_name=f"{label}李四")
    product = make_product(
        name=f"{label}土鸡蛋",
        price_fen=3333,
        stock=20,
        station=station,
        category=category,
        households=[h1, h2],
        weights=[2, 1],
    )
    operator = make_user(role="operator", station=station, email=f"op{label.lower()}@test.cn")
    return SimpleNamespace(village=village, station=station, h1=h1, h2=h2, product=product, operator=operator)


@pytest.fixture
def world(db):
    category = make_category()
    a = _station_world("A", category)
    b = _station_world("B", category)
    admin = make_user(role="admin", email="admin@test.cn")
    buyer = make_user(email="buyer@test.cn")
    return SimpleNamespace(a=a, b=b, admin=admin, buyer=buyer, category=category)
