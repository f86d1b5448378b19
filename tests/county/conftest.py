from __future__ import annotations

import pytest

from ledger.services import credit_line, reverse_line
from shop.db import commit
from tests.county.factories import make_line, make_order
from tests.factories import make_category, make_household, make_station, make_user, make_village

SECRET_NAME = "欧阳秀英"
SECRET_REGISTRY = "3601219988776655"
SECRET_PHONE = "13987654321"
SECRET_ID = "36012119700101991X"


@pytest.fixture
def county_user(db):
    user = make_user(role="county")
    commit()
    return user


@pytest.fixture
def world(db, now):
    """Two villages, two stations, three households with entries of every kind."""
    v1, v2 = make_village(name="柳溪村"), make_village(name="罗渡村")
    s1, s2 = make_station(village=v1), make_station(village=v2, commission_bps=1000)
    eggs, rice = make_category(name="禽蛋"), make_category(name="大米")
    a = make_household(
        village=v1, head_name=SECRET_NAME, registry_no=SECRET_REGISTRY, phone=SECRET_PHONE, id_number=SECRET_ID
    )
    b = make_household(village=v1, head_name="王小明")
    c = make_household(village=v2, head_name="李大山")
    order, shipment = make_order(station=s1)
    l1 = make_line(
        order=order,
        shipment=shipment,
        households=[a, b],
        weights=[2, 1],
        unit_price_fen=1001,
        quantity=3,
        category=eggs,
        village=v1,
    )
    order2, shipment2 = make_order(station=s2)
    l2 = make_line(
        order=order2,
        shipment=shipment2,
        households=[b, c],
        unit_price_fen=5000,
        category=rice,
        village=v2,
        commission_bps=1000,
    )
    l3 = make_line(
        order=order2, shipment=None, households=[c], kind="booking", unit_price_fen=28800, village=v2, category=rice
    )
    l3.station_id = s2.id
    for line in (l1, l2, l3):
        credit_line(line, now=now)
    reverse_line(l2, now=now, amount_fen=2000, ref="refund:1")
    commit()
    return {
        "villages": (v1, v2),
        "stations": (s1, s2),
        "categories": (eggs, rice),
        "households": (a, b, c),
        "lines": (l1, l2, l3),
    }
