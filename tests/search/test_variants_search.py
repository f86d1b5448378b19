"""Search shows a product with variants (规格) once, found by any variant's words (#21)."""
from __future__ import annotations

import pytest

from search import index as search
from shop.db import commit
from tests.catalog.test_variants import make_family
from tests.factories import make_product

pytestmark = pytest.mark.usefixtures("index_dir")


def test_search_returns_the_family_once_and_finds_it_by_a_variants_words(client, db):
    bag, box, jar = make_family()
    duck = make_product(name="南安板鸭1只")
    commit()
    search.rebuild()
    assert search.search_product_ids("腌菜") == [bag.id]
    assert search.search_product_ids("坛装") == [bag.id]  # only the third variant's label has it
    assert search.search_product_ids("礼盒") == [bag.id]
    data = client.get("/api/v1/products?q=腌菜").json
    assert [i["id"] for i in data["items"]] == [bag.id] and data["total"] == 1
    assert len(data["items"][0]["variants"]) == 3
    html = client.get("/search?q=礼盒").get_data(as_text=True)
    assert html.count('class="card product-card"') == 1 and "3 种规格" in html
    assert client.get("/api/v1/products?q=板鸭").json["items"][0]["id"] == duck.id


def test_the_index_follows_a_change_of_face(client, db):
    bag, box, jar = make_family()
    commit()
    search.rebuild()
    bag.is_published = False  # the family's face is now its second variant
    commit()
    search.update_products([bag.id])
    assert search.search_product_ids("腌菜") == [box.id]
    assert [i["id"] for i in client.get("/api/v1/products?q=腌菜").json["items"]] == [box.id]
    bag.is_published = True
    commit()
    search.update_products([bag.id])
    assert search.search_product_ids("腌菜") == [bag.id]
