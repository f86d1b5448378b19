"""A product family for the variant tests (catalog, search): 三江腌菜 in three variants at one station,
and the same family with its card's face not its cheapest variant, beside two single products."""

from __future__ import annotations

from catalog.services import join_family
from shop.db import commit
from shop.extensions import db
from tests.factories import make_product, make_station


def make_family(*, stocks=(8, 3, 0), station=None):
    """三江腌菜 in three variants: 500克袋装 ¥18.80, 2斤礼盒 ¥45.80, 5斤坛装 ¥98.00."""
    station = station or make_station()
    bag = make_product(
        name="三江腌菜500克袋装", price_fen=1880, stock=stocks[0], station=station, unit="袋", weight_g=550
    )
    box = make_product(
        name="三江腌菜2斤礼盒", price_fen=4580, stock=stocks[1], station=station, unit="盒", weight_g=1100
    )
    jar = make_product(
        name="三江腌菜5斤坛装", price_fen=9800, stock=stocks[2], station=station, unit="坛", weight_g=2600
    )
    join_family(box, bag.id, "2斤礼盒", now=bag.created_at, sibling_label="500克袋装")
    join_family(jar, bag.id, "5斤坛装", now=bag.created_at)
    bag.family.name = "三江腌菜"
    db.session.flush()
    return bag, box, jar


def family_priced_apart():
    """三江腌菜 whose card (face: 2斤礼盒 ¥45.80, first in the picker) is not its cheapest variant
    (500克袋装 ¥18.80), beside 南安板鸭 at ¥30.00 and 霉豆腐 at ¥10.00."""
    bag, box, jar = make_family()
    bag.variant_position = 2  # the picker shows 礼盒, 坛装, then 袋装: the face is 礼盒
    duck = make_product(name="南安板鸭1只", price_fen=3000, unit="只")
    tofu = make_product(name="霉豆腐1瓶", price_fen=1000)
    commit()
    return bag, box, jar, duck, tofu
