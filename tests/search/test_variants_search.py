"""Search shows a product with variants (规格) once, found by any variant's words (#21)."""

from __future__ import annotations

import shutil

import pytest

from search import index as search
from shop.db import commit
from tests.catalog.variant_family import family_priced_apart, make_family
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


def test_a_searchs_price_range_and_sort_use_every_shown_variants_price(client, db):
    bag, box, jar, duck, tofu = family_priced_apart()
    box.description = bag.description = "腌菜下饭"
    duck.description = tofu.description = "下饭"
    commit()
    search.rebuild()

    def ids(query):
        data = client.get(f"/api/v1/products?q=下饭&{query}").json
        assert data["total"] == len(data["items"])
        return [i["id"] for i in data["items"]]

    # the index's own filter (relevance order: the index ranks, counts and filters the page)
    assert search.search_ids("下饭", filters={"min_fen": 1500, "max_fen": 2000}) == [box.id]
    assert ids("min_fen=1500&max_fen=2000") == [box.id]
    assert ids("min_fen=9000") == [box.id]
    assert ids("min_fen=2000&max_fen=4000") == [duck.id]
    # the database's (another sort): the same answer, ordered by the lowest shown price
    assert ids("min_fen=1500&max_fen=2000&sort=price_asc") == [box.id]
    assert ids("sort=price_asc") == [tofu.id, box.id, duck.id]
    assert ids("sort=price_desc") == [duck.id, box.id, tofu.id]
    html = client.get("/search?q=下饭&min_yuan=15&max_yuan=20").get_data(as_text=True)
    assert html.count('class="card product-card"') == 1 and "¥18.80 起" in html
    jar.is_published = False  # the index follows: 坛装's price no longer finds the product
    commit()
    search.update_products([jar.id])
    assert ids("min_fen=9000") == [] and search.search_ids("下饭", filters={"min_fen": 9000}) == []


def test_an_index_written_before_it_held_every_variants_price_is_rebuilt(client, db, index_dir):
    from whoosh import index as whoosh_index
    from whoosh.fields import ID, NUMERIC, Schema

    bag, box, jar = make_family()
    commit()  # (the commit's index update builds a current index first: replaced below)
    shutil.rmtree(index_dir, ignore_errors=True)
    search.reset_engines()
    index_dir.mkdir()
    old = Schema(id=ID(unique=True), pk=NUMERIC(bits=64, sortable=True), price=NUMERIC(bits=32, sortable=True))
    whoosh_index.create_in(str(index_dir), old)  # one price per document, no `prices` column
    assert search.needs_rebuild()
    assert search.search_ids("腌菜", filters={"min_fen": 9000}) == [bag.id]  # rebuilt on first use
    assert not search.needs_rebuild()
