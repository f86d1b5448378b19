"""已售 on cards, product pages and the product API: units handed over to buyers (delivered lines),
less those refunded afterwards; never a typed number. Cached pages show the new count at once."""

from __future__ import annotations

import re

from orders.services.payments import refund_line
from shop.db import commit
from tests.factories import make_product
from tests.shop.page_cache_checks import served_from_cache
from tests.stations.factories import make_order
from tests.stations.fulfilment_steps import deliver_shipment


def _url(product) -> str:
    return f"/products/{product.id}-{product.slug}"


def _sold_on_page(client, product) -> str:
    page = client.get(_url(product)).get_data(as_text=True)
    return re.search(r'<dd class="sold">(\d+)', page).group(1)


def test_sold_counts_delivered_units_only_not_orders_placed(client, db, world, now):
    product = world.a.product
    order = make_order([(product, 3)], buyer=world.buyer)
    commit()
    assert _sold_on_page(client, product) == "0", "an order placed is not a sale handed over"
    assert client.get(f"/api/v1/products/{product.id}").json["sold"] == 0
    deliver_shipment(order.shipments[0], world.a.operator, now)
    commit()
    assert _sold_on_page(client, product) == "3"
    assert client.get(f"/api/v1/products/{product.id}").json["sold"] == 3
    listed = {item["id"]: item["sold"] for item in client.get("/api/v1/products?per_page=100").json["items"]}
    assert listed[product.id] == 3
    assert "已售 3" in client.get("/products").get_data(as_text=True)


def test_a_refund_after_delivery_takes_the_units_off_sold(client, db, world, now):
    product = world.a.product
    order = make_order([(product, 2)], buyer=world.buyer)
    deliver_shipment(order.shipments[0], world.a.operator, now)
    refund_line(order.lines[0], actor=world.admin, now=now, reason="破损")
    commit()
    assert _sold_on_page(client, product) == "0"


def test_cached_product_page_and_list_show_the_new_count_after_hand_over(client, db, world, now, cache_on):
    product, other = world.a.product, world.b.product
    order = make_order([(product, 4)], buyer=world.buyer)
    commit()
    for url in (_url(product), _url(other), "/products"):
        client.get(url)
    deliver_shipment(order.shipments[0], world.a.operator, now)
    commit()
    assert _sold_on_page(client, product) == "4"
    assert "已售 4" in client.get("/products").get_data(as_text=True)
    assert served_from_cache(client, db, _url(other))[0], "another product's page stays cached"


def test_cards_tell_the_units_left_when_few_remain(client, db, world):
    make_product(name="板鸭", stock=3, unit="只", station=world.a.station, category=world.category)
    none = make_product(name="藜蒿", stock=0, station=world.a.station, category=world.category)
    commit()
    page = client.get("/products").get_data(as_text=True)
    assert "仅剩 3 只" in page
    assert "已售罄" in page and none.name in page
    assert "有货" in page  # the world's products have 20 each
