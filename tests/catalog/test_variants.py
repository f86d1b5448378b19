"""Variants (规格, #21): one product sold as 500克袋装 / 2斤礼盒 / 整只, each variant its own SKU row
(price, weight, stock, trace code, certification); the shop shows the family once with a picker."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from catalog.changes import approve_change, pending_change, request_change
from catalog.models import ApprovalStatus, Product
from catalog.services import ProductInput, create_product, join_family
from county.services.approvals import approve
from orders.models import Order
from shop.db import commit
from shop.extensions import db
from stock.models import StockRecord
from tests.catalog.variant_family import family_priced_apart, make_family
from tests.factories import make_product, make_user
from tests.institutions.purchase_setup import organisation_with_products
from tests.orders.factories import ADDRESS_JSON


def _stock(product) -> tuple[int, int]:
    record = db.session.scalar(sa.select(StockRecord).where(StockRecord.product_id == product.id))
    db.session.refresh(record)
    return record.on_hand, record.allocated


def _page(client, product) -> str:
    res = client.get(f"/products/{product.id}-{product.slug}")
    assert res.status_code == 200
    return res.get_data(as_text=True)


def _chosen_price_and_stock(html: str) -> tuple[str, str]:
    price = re.search(r"data-variant-price>(¥[0-9.,]+)", html).group(1)
    stock = re.search(r"<dt>库存</dt><dd>(.*?)</dd>", html).group(1)
    return price, stock


def test_the_product_page_offers_every_variant_and_the_choice_changes_price_and_stock(client, db):
    bag, box, jar = make_family()
    commit()
    html = _page(client, bag)
    assert "<h1>三江腌菜</h1>" in html
    assert html.count('name="variant"') == 3
    for label in ("500克袋装", "2斤礼盒", "5斤坛装"):
        assert label in html
    assert _chosen_price_and_stock(html) == ("¥18.80", "8 袋")
    assert f'name="product_id" value="{bag.id}"' in html
    # no JavaScript: the radio buttons are submitted, the server redirects to the chosen variant
    res = client.get(f"/products/{bag.id}-{bag.slug}?variant={box.id}")
    assert res.status_code == 303 and res.headers["Location"].endswith(f"/products/{box.id}-{box.slug}")
    html = client.get(res.headers["Location"]).get_data(as_text=True)
    assert _chosen_price_and_stock(html) == ("¥45.80", "3 盒")
    assert f'name="product_id" value="{box.id}"' in html
    assert re.search(rf'value="{box.id}" checked', html)
    # the sold-out variant is offered, marked, and its page cannot be bought
    html = _page(client, jar)
    assert _chosen_price_and_stock(html)[0] == "¥98.00" and "已售罄" in _chosen_price_and_stock(html)[1]
    assert 'name="quantity"' not in html


def test_a_variant_of_another_product_or_junk_is_refused(client, db):
    bag, _box, _jar = make_family()
    other = make_product(name="南安板鸭1只")
    commit()
    base = f"/products/{bag.id}-{bag.slug}"
    assert client.get(f"{base}?variant={other.id}").status_code == 404
    assert client.get(f"{base}?variant=999999").status_code == 404
    assert client.get(f"{base}?variant=abc").status_code == 400
    assert client.get(f"{base}?variant=-1").status_code == 400
    # a product without variants has nothing to pick but itself
    assert client.get(f"/products/{other.id}-{other.slug}?variant={bag.id}").status_code == 404


def test_lists_and_the_api_show_the_family_once_with_its_variants(client, db):
    bag, box, jar = make_family()
    single = make_product(name="南安板鸭1只", price_fen=6800)
    bag.delivered_count, box.delivered_count = 5, 2
    commit()
    html = client.get("/products").get_data(as_text=True)
    assert html.count('class="card product-card"') == 2
    assert "3 种规格" in html and "已售 7" in html
    data = client.get("/api/v1/products").json
    assert data["total"] == 2 and [i["id"] for i in data["items"]].count(bag.id) == 1
    item = next(i for i in data["items"] if i["id"] == bag.id)
    assert item["name"] == "三江腌菜" and item["sold"] == 7 and item["variant_label"] == "500克袋装"
    assert [(v["id"], v["label"], v["price_fen"], v["stock"]) for v in item["variants"]] == [
        (bag.id, "500克袋装", 1880, 8),
        (box.id, "2斤礼盒", 4580, 3),
        (jar.id, "5斤坛装", 9800, 0),
    ]
    assert item["variants"][1]["code"] == box.trace_code and item["variants"][1]["weight_g"] == 1100
    single_item = next(i for i in data["items"] if i["id"] == single.id)
    assert [v["id"] for v in single_item["variants"]] == [single.id] and single_item["variant_label"] == ""
    # any variant's id gives the product, that variant shown
    detail = client.get(f"/api/v1/products/{box.id}").json
    assert (detail["id"], detail["price_fen"], detail["stock"], detail["name"]) == (box.id, 4580, 3, "三江腌菜")
    assert len(detail["variants"]) == 3


def test_an_unpublished_first_variant_hands_the_card_to_the_next(client, db):
    bag, box, jar = make_family()
    bag.is_published = False
    commit()
    data = client.get("/api/v1/products").json
    assert [i["id"] for i in data["items"]] == [box.id]
    assert [v["id"] for v in data["items"][0]["variants"]] == [box.id, jar.id]
    assert client.get(f"/products/{box.id}-{box.slug}?variant={bag.id}").status_code == 404


def _order(client, headers, product, quantity=1):
    return client.post(
        "/api/v1/orders",
        headers=headers,
        json={
            "items": [{"product_id": product.id, "quantity": quantity}],
            "address": ADDRESS_JSON,
            "payment_method": "cod",
        },
    )


def test_buying_one_variant_takes_only_its_stock_and_a_sold_out_one_cannot_be_bought(client, db, api_token):
    bag, box, jar = make_family()
    commit()
    headers = api_token(make_user())
    res = _order(client, headers, box, 2)
    assert res.status_code == 201, res.json
    assert res.json["shipments"][0]["items"][0]["product_id"] == box.id
    assert _stock(box) == (3, 2) and _stock(bag) == (8, 0) and _stock(jar) == (0, 0)
    orders = db.session.scalar(sa.select(sa.func.count()).select_from(Order))
    res = _order(client, headers, jar, 1)
    assert res.status_code == 409 and res.json["error"]["code"] == "out_of_stock"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Order)) == orders
    assert _stock(jar) == (0, 0) and _stock(bag) == (8, 0)
    assert _order(client, headers, bag, 1).status_code == 201
    assert _stock(bag) == (8, 1)
    # the HTML cart takes the chosen variant's id
    client.post("/cart/add", data={"product_id": box.id, "quantity": 1})
    cart = client.get("/cart").get_data(as_text=True)
    assert "三江腌菜2斤礼盒" in cart and "三江腌菜500克袋装" not in cart


def test_each_variant_is_certified_on_its_own(client, db, now):
    bag, box, _jar = make_family()
    station = bag.station
    operator = make_user(role="operator", station=station)
    county = make_user(role="county")
    new = create_product(
        ProductInput(
            name="三江腌菜10斤家庭装",
            category_id=bag.category_id,
            village_id=bag.village_id,
            station_id=station.id,
            price_fen=17800,
            unit="箱",
            weight_g=5200,
            variant_of=box.id,
            variant_label="10斤家庭装",
        ),
        actor=operator,
        now=now,
    )
    commit()
    assert new.family_id == bag.family_id and new.approval_status == ApprovalStatus.PENDING
    html = _page(client, bag)
    assert "10斤家庭装" not in html  # not offered before the county certifies it
    assert client.get(f"/products/{bag.id}-{bag.slug}?variant={new.id}").status_code == 404
    approve(new, actor=county, now=now)
    commit()
    assert "10斤家庭装" in _page(client, bag)
    # a price change of one variant waits for re-certification; its siblings are untouched
    request_change(box, actor=operator, now=now, price_fen=5200)
    commit()
    assert _chosen_price_and_stock(_page(client, box))[0] == "¥45.80"
    assert pending_change(bag.id) is None
    approve_change(pending_change(box.id), actor=county, now=now)
    commit()
    assert _chosen_price_and_stock(_page(client, box))[0] == "¥52.00"
    assert _chosen_price_and_stock(_page(client, bag))[0] == "¥18.80"


def test_a_variant_label_is_checked(db, now):
    bag, box, _jar = make_family()
    other = make_product(name="南安板鸭1只")
    with pytest.raises(Exception) as exc:
        join_family(other, bag.id, "2斤礼盒", now=now)
    assert getattr(exc.value, "code", "") == "variant_label_taken"
    with pytest.raises(Exception) as exc:
        join_family(other, bag.id, " ", now=now)
    assert getattr(exc.value, "code", "") == "invalid_variant_label"
    with pytest.raises(Exception) as exc:
        join_family(other, 987654, "整只", now=now)
    assert getattr(exc.value, "code", "") == "variant_not_found"
    assert other.family_id is None
    assert (
        db.session.scalar(sa.select(sa.func.count()).select_from(Product).where(Product.family_id == bag.family_id))
        == 3
    )


def test_an_institutions_purchase_and_quote_forms_offer_every_variant(app, db):
    organisation, buyer, _approver, _viewer, _rice, _eggs = organisation_with_products()
    bag, box, jar = make_family(stocks=(8, 3, 1))
    commit()
    buyer_client = app.test_client()
    buyer_client.post("/login", data={"email": buyer.email, "password": "password123"})
    html = buyer_client.get(f"/organisations/{organisation.id}/purchases/new").get_data(as_text=True)
    for variant in (bag, box, jar):
        assert f'<option value="{variant.id}">{variant.name}' in html
    html = buyer_client.get(f"/organisations/{organisation.id}/quote-requests").get_data(as_text=True)
    for variant in (bag, box, jar):
        assert f'<option value="{variant.id}">{variant.name}' in html


def test_the_countys_approvals_page_names_the_variant_it_certifies(client, db, auth, now):
    bag, _box, _jar = make_family()
    new = create_product(
        ProductInput(
            name="三江腌菜10斤家庭装",
            category_id=bag.category_id,
            village_id=bag.village_id,
            station_id=bag.station_id,
            price_fen=17800,
            variant_of=bag.id,
            variant_label="10斤家庭装",
        ),
        actor=None,
        now=now,
    )
    commit()
    auth.login(make_user(role="county"))
    html = client.get("/county/approvals").get_data(as_text=True)
    assert f'id="product-{new.id}"' in html and "「三江腌菜」的规格：10斤家庭装" in html


def test_the_in_stock_filter_keeps_a_product_whose_first_variant_is_sold_out(client, db):
    bag, box, jar = make_family(stocks=(0, 3, 0))
    gone = make_product(name="南安板鸭1只", stock=0)
    commit()
    ids = [i["id"] for i in client.get("/api/v1/products?in_stock=true").json["items"]]
    assert ids == [bag.id] and gone.id not in ids
    html = client.get("/products?in_stock=1").get_data(as_text=True)
    assert html.count('class="card product-card"') == 1 and "仅剩 3 件" in html
    box.is_published = False  # the only variant in stock leaves the shop: the product is not in stock
    commit()
    assert client.get("/api/v1/products?in_stock=true").json["items"] == []


def _api_ids(client, query: str) -> list[int]:
    return [i["id"] for i in client.get(f"/api/v1/products?{query}").json["items"]]


def test_a_price_range_finds_a_product_by_any_shown_variants_price(client, db):
    bag, box, jar, duck, tofu = family_priced_apart()
    assert _api_ids(client, "min_fen=1500&max_fen=2000") == [box.id]  # only 袋装 ¥18.80 is in range
    assert _api_ids(client, "min_fen=9000") == [box.id]  # 坛装 ¥98.00
    assert sorted(_api_ids(client, "max_fen=2000")) == sorted([box.id, tofu.id])
    assert _api_ids(client, "min_fen=2000&max_fen=4000") == [duck.id]  # no variant costs ¥20–40
    html = client.get("/products?min_fen=1500&max_fen=2000").get_data(as_text=True)
    assert html.count('class="card product-card"') == 1 and "¥18.80 起" in html
    jar.is_published = False  # a variant the shop no longer shows finds nothing
    commit()
    assert _api_ids(client, "min_fen=9000") == []


def test_the_price_sort_orders_a_product_by_its_lowest_shown_price(client, db):
    bag, box, jar, duck, tofu = family_priced_apart()
    assert _api_ids(client, "sort=price_asc") == [tofu.id, box.id, duck.id]  # 10.00, 18.80 起, 30.00
    assert _api_ids(client, "sort=price_desc") == [duck.id, box.id, tofu.id]
    html = client.get("/products?sort=price_asc").get_data(as_text=True)
    assert html.index("¥10.00") < html.index("¥18.80 起") < html.index("¥30.00")
    bag.is_published = False  # now its cheapest shown variant is 礼盒 at ¥45.80
    commit()
    assert _api_ids(client, "sort=price_asc") == [tofu.id, duck.id, box.id]


def test_a_card_shows_the_lowest_price_and_says_from_only_when_the_variants_differ(client, db):
    bag, box, jar, duck, tofu = family_priced_apart()
    html = client.get("/products").get_data(as_text=True)
    assert "¥18.80 起" in html and "¥45.80" not in html  # the face's own price is not the card's
    assert '¥30.00 <span class="unit">/ 只</span>' in html  # one variant: its price and unit, no 起
    for variant in (bag, jar):
        variant.price_fen = box.price_fen
    commit()
    html = client.get("/products").get_data(as_text=True)
    assert '¥45.80 <span class="unit">/ 盒</span>' in html and not re.search(r"¥[0-9.]+ 起", html)
