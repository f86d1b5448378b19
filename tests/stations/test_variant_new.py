"""An operator adds a variant (规格) to one of the station's products through 新增代卖商品 (#21): it waits
for the county's certification like any product; another station's product or no label is refused."""

from __future__ import annotations

import sqlalchemy as sa

from catalog.models import Product, ProductFamily
from tests.stations.fulfilment_steps import deliver_shipment
from tests.stations.product_form import new_product_form, row_count


def test_operator_adds_a_variant_to_a_station_product(db, world, client, auth):
    auth.login(world.a.operator)
    page = client.get("/station/products/new").get_data(as_text=True)
    assert f'<option value="{world.a.product.id}">{world.a.product.name}</option>' in page
    assert world.b.product.name not in page
    data = new_product_form(
        world,
        name="A土鸡蛋60枚礼盒",
        variant_of=str(world.a.product.id),
        variant_label="60枚礼盒",
        variant_of_label="30枚装",
    )
    response = client.post("/station/products/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    new = db.session.scalar(sa.select(Product).where(Product.name == "A土鸡蛋60枚礼盒"))
    db.session.refresh(world.a.product)
    assert new.approval_status == "pending" and new.family_id == world.a.product.family_id is not None
    assert (world.a.product.variant_label, new.variant_label) == ("30枚装", "60枚礼盒")
    assert new.family.name == world.a.product.name


def test_a_variant_of_another_stations_product_or_without_label_is_refused(db, world, client, auth):
    auth.login(world.a.operator)
    before = row_count(db, Product), row_count(db, ProductFamily)
    for extra in (
        {"variant_of": str(world.b.product.id), "variant_label": "礼盒"},
        {"variant_of": str(world.a.product.id), "variant_label": ""},
        {"variant_of": "99999999", "variant_label": "礼盒"},
        {"variant_of": "abc", "variant_label": "礼盒"},
    ):
        response = client.post(
            "/station/products/new",
            data=new_product_form(world, name="A土鸡蛋礼盒", **extra),
            content_type="multipart/form-data",
        )
        assert response.status_code in (400, 404, 422), (extra, response.status_code)
        assert (row_count(db, Product), row_count(db, ProductFamily)) == before, extra
    db.session.refresh(world.a.product)
    assert world.a.product.family_id is None


def test_sold_of_a_product_with_variants_sums_its_delivered_variants_even_on_cached_pages(
    client, db, world, now, cache_on
):
    from catalog.services import join_family
    from shop.db import commit
    from tests.factories import make_product
    from tests.stations.factories import make_order

    eggs = world.a.product
    box = make_product(name="A土鸡蛋60枚", stock=10, station=world.a.station, category=world.category)
    join_family(box, eggs.id, "60枚装", now=now, sibling_label="30枚装")
    order = make_order([(box, 2)], buyer=world.buyer)
    commit()
    face = f"/products/{eggs.id}-{eggs.slug}"
    assert "已售" not in client.get("/products").get_data(as_text=True).split("A土鸡蛋")[1][:300]
    client.get(face)  # cached before the hand-over of the other variant
    deliver_shipment(order.shipments[0], world.a.operator, now)
    commit()
    page = client.get(face).get_data(as_text=True)
    assert '<dd class="sold">共 2 件' in page
    assert "已售 2" in client.get("/products").get_data(as_text=True)
    item = next(i for i in client.get("/api/v1/products").json["items"] if i["id"] == eggs.id)
    assert item["sold"] == 2 and {v["id"]: v["sold"] for v in item["variants"]} == {eggs.id: 0, box.id: 2}


def test_each_variant_credits_its_own_households_at_hand_over(db, world, now):
    from catalog.services import join_family
    from ledger.models import IncomeEntry
    from shop.db import commit
    from tests.factories import make_household, make_product
    from tests.stations.factories import make_order

    eggs = world.a.product  # linked to world.a.h1 and world.a.h2
    other = make_household(village=world.a.village)
    box = make_product(
        name="A土鸡蛋60枚",
        price_fen=8000,
        stock=10,
        station=world.a.station,
        category=world.category,
        households=[other],
    )
    join_family(box, eggs.id, "60枚装", now=now, sibling_label="30枚装")
    order = make_order([(box, 1)], buyer=world.buyer)
    commit()
    deliver_shipment(order.shipments[0], world.a.operator, now)
    commit()
    credited = {e.household_id for e in db.session.scalars(sa.select(IncomeEntry))}
    assert credited == {other.id}, "only the sold variant's households are credited"
