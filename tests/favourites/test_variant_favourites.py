"""收藏 of a product sold in variants (规格) is of the product, not of one variant: the heart is
filled on every variant's page, adding from another variant keeps the one favourite, removing from
any variant removes it, and 我的收藏 and the API list the product once, as its card shows it."""

from __future__ import annotations

import re

import sqlalchemy as sa

from catalog.services import join_family
from favourites.models import Favourite
from shop.db import commit
from tests.catalog.variant_family import make_family
from tests.factories import make_product, make_user
from tests.shop.page_cache_checks import count_sql


def _page(p) -> str:
    return f"/products/{p.id}-{p.slug}"


def _rows(db, user) -> list[int]:
    return list(db.session.scalars(sa.select(Favourite.product_id).where(Favourite.user_id == user.id)))


def _heart(client, product) -> str:
    html = client.get(_page(product)).get_data(as_text=True)
    assert ("★ 已收藏" in html) != ("☆ 收藏" in html)
    return "on" if "★ 已收藏" in html else "off"


def _mine(client) -> list[tuple[str, str, str]]:
    """我的收藏 as (link, name, price) per entry."""
    html = client.get("/favourites").get_data(as_text=True)
    return re.findall(
        r'<div class="fav-main">\s*<a href="([^"]+)">([^<]+)</a>\s*<span class="(?:price|meta)">([^<]*)', html
    )


def test_a_favourite_of_one_variant_is_the_whole_products_on_every_variants_page(client, db, auth):
    bag, box, jar = make_family()  # 500克袋装 ¥18.80 (its card's face), 2斤礼盒 ¥45.80, 5斤坛装 ¥98.00
    buyer, other = make_user(), make_user()
    commit()
    auth.login(other)
    client.post(f"/favourites/product/{bag.id}", data={"action": "add"})
    auth.logout()

    auth.login(buyer)
    client.post(f"/favourites/product/{box.id}", data={"action": "add"})  # ♡ on 2斤礼盒
    assert [_heart(client, v) for v in (bag, box, jar)] == ["on", "on", "on"]
    # the picker (with or without its script) lands on the chosen variant's page: filled there too
    picked = client.get(f"{_page(box)}?variant={jar.id}")
    assert picked.status_code == 303 and "★ 已收藏" in client.get(picked.headers["Location"]).get_data(as_text=True)

    r = client.post(f"/favourites/product/{bag.id}", data={"action": "add"})  # ♡ again on 500克袋装
    assert r.status_code == 303 and r.headers["Location"].endswith(_page(bag))
    assert _rows(db, buyer) == [box.id]
    assert _mine(client) == [(_page(bag), "三江腌菜", "¥18.80 起")]  # once, as its card: name, face, lowest price

    client.post(f"/favourites/product/{jar.id}", data={"action": "remove"})  # 取消收藏 on 5斤坛装
    assert [_heart(client, v) for v in (bag, box, jar)] == ["off", "off", "off"]
    assert _rows(db, buyer) == [] and _mine(client) == []
    assert _rows(db, other) == [bag.id]  # another buyer's favourite is theirs


def test_the_api_keeps_a_product_once_whichever_variant_is_added_or_removed(client, db, api_token):
    bag, box, jar = make_family()
    buyer, other = make_user(), make_user()
    commit()
    mine, theirs = api_token(buyer), api_token(other)
    client.put(f"/api/v1/me/favourites/products/{jar.id}", headers=theirs)

    r = client.put(f"/api/v1/me/favourites/products/{bag.id}", headers=mine)
    assert r.status_code == 200
    r = client.put(f"/api/v1/me/favourites/products/{box.id}", headers=mine)  # already kept: the same one
    assert r.status_code == 200 and _rows(db, buyer) == [bag.id]
    [item] = r.json["items"]
    assert (item["kind"], item["id"], item["name"], item["price_fen"], item["price_from"]) == (
        "product",
        bag.id,
        "三江腌菜",
        1880,
        True,
    )
    assert item["url"] == _page(bag)
    assert client.get("/api/v1/me/favourites", headers=mine).json["items"] == [item]

    r = client.delete(f"/api/v1/me/favourites/products/{box.id}", headers=mine)  # removed from 2斤礼盒
    assert r.status_code == 200 and r.json["items"] == [] and _rows(db, buyer) == []
    assert [i["id"] for i in client.get("/api/v1/me/favourites", headers=theirs).json["items"]] == [bag.id]
    assert _rows(db, other) == [jar.id]


def test_a_favourite_outlives_its_variant_being_hidden_and_the_product_is_still_listed(client, db, auth):
    bag, box, jar = make_family()
    buyer = make_user()
    commit()
    auth.login(buyer)
    client.post(f"/favourites/product/{bag.id}", data={"action": "add"})
    bag.is_published = False  # the station stops selling 500克袋装: 2斤礼盒 is the card's face now
    commit()
    assert _mine(client) == [(_page(box), "三江腌菜", "¥45.80 起")]
    assert _heart(client, box) == "on"
    client.post(f"/favourites/product/{box.id}", data={"action": "remove", "back": "favourites"})  # from 我的收藏
    assert _rows(db, buyer) == [] and _heart(client, jar) == "off"


def test_products_kept_apart_and_grouped_later_are_one_favourite(client, db, auth):
    bag = make_product(name="南安板鸭半只", price_fen=3000)
    whole = make_product(name="南安板鸭整只", price_fen=5800)
    buyer = make_user()
    commit()
    auth.login(buyer)
    for p in (bag, whole):
        client.post(f"/favourites/product/{p.id}", data={"action": "add"})
    join_family(whole, bag.id, "整只", now=bag.created_at, sibling_label="半只")
    commit()
    assert _mine(client) == [(_page(bag), "南安板鸭半只", "¥30.00 起")]
    client.post(f"/favourites/product/{whole.id}", data={"action": "remove"})
    assert _rows(db, buyer) == [] and _mine(client) == []


def test_a_cached_variant_page_fills_the_heart_of_a_product_kept_from_another_variant(client, db, auth, cache_on):
    """A signed-in visitor gets the page's shared body from the page cache with the button rendered
    for them: the variants' ids go with the button, so no product is read to fill it."""
    bag, box, jar = make_family()
    buyer = make_user()
    commit()
    anonymous = client.get(_page(box)).get_data(as_text=True)  # stored in the page cache
    assert "☆ 收藏" in anonymous
    auth.login(buyer)
    client.post(f"/favourites/product/{bag.id}", data={"action": "add"})
    url = _page(box)
    with count_sql(db) as statements:
        assert "★ 已收藏" in client.get(url).get_data(as_text=True)
    assert not [s for s in statements if "FROM products" in s], "the shared body, and no product read for the heart"
    assert _heart(client, jar) == "on"
    assert client.application.test_client().get(_page(box)).get_data(as_text=True) == anonymous  # still shared
