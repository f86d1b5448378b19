"""A small catalog world for page tests: one village with a station, a category, a product linked to households."""

from __future__ import annotations

from dataclasses import dataclass

from catalog.models import Category, Product, ProductImage, Village
from shop.extensions import db
from stock.models import Station
from tests.factories import make_category, make_household, make_product, make_station, make_township, make_village

SECRET_HEAD_NAME = "欧阳秘密"
SECRET_REGISTRY_NO = "360121990077665544"
SECRET_ID_NUMBER = "36012119580101777X"
SECRET_PHONE = "13987654321"


@dataclass
class World:
    village: Village
    station: Station
    category: Category
    product: Product
    households: list


def make_world(*, with_image: bool = False) -> World:
    township = make_township(name="三江镇")
    village = make_village(name="柳溪村", township=township, signature_product="三江腌菜")
    village.story = "柳溪村的腌菜有百年历史。"
    station = make_station(village=village, code="NCX1")
    category = make_category(slug="pickles-t", name="腌菜酱菜")
    category.name_en = "Pickles"
    households = [
        make_household(
            village=village,
            head_name=SECRET_HEAD_NAME,
            registry_no=SECRET_REGISTRY_NO,
            phone=SECRET_PHONE,
            id_number=SECRET_ID_NUMBER,
        ),
        make_household(village=village),
    ]
    product = make_product(
        name="三江腌菜500克",
        price_fen=1880,
        stock=12,
        station=station,
        village=village,
        category=category,
        households=households,
        unit="袋",
    )
    if with_image:
        db.session.add(
            ProductImage(
                product_id=product.id,
                path="demo/x.jpg",
                thumb_path="demo/x-thumb.webp",
                width=1200,
                height=900,
                alt=product.name,
            )
        )
    db.session.flush()
    db.session.refresh(product)
    return World(village=village, station=station, category=category, product=product, households=households)
