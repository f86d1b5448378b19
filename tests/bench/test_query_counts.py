"""SQL queries per page stay fixed whatever the number of products shown (issue 9: no N+1).

Each page is requested with 5 products in the shop, then again with 30 (more than a page of 24),
each product in its own village, station, category and township with images and a linked household:
the worst case for a lazy load in a loop. Statements are counted with `before_cursor_execute`.
A unique query string keeps any page cache out of the count.
"""

from __future__ import annotations

import itertools

from catalog.models import ProductImage
from tests.factories import make_household, make_product
from tests.sql_count import count_statements as count_queries

#: Upper bounds per page (the counts seen when this test was written, plus a little headroom).
#: #23: the product page +1 (its food-safety documents, one SELECT: catalog.papers.product_papers).
#: #24: a card's one-row relations are joined into the products' SELECT (catalog.services.eager_products)
#: and the lists no longer load the villages and categories no template showed; +1 for the cards'
#: papers (catalog.papers.paused_cards).
MAX_QUERIES = {"home": 10, "catalog": 5, "product": 7, "api_products": 5, "category": 6, "village": 9}
_bust = itertools.count(1)


def add_products(db, n: int) -> list:
    household = make_household()
    products = []
    for i in range(n):
        product = make_product(name=f"土鸡蛋{i}号", households=[household], stock=5 + i)
        for position in range(2):
            db.session.add(
                ProductImage(
                    product_id=product.id,
                    path=f"p/{product.id}-{position}.jpg",
                    thumb_path=f"t/{product.id}-{position}.jpg",
                    position=position,
                )
            )
        products.append(product)
    db.session.flush()
    return products


def page_urls(product) -> dict[str, str]:
    n = next(_bust)
    return {
        "home": f"/?qc={n}",
        "catalog": f"/products?qc={n}",
        "product": f"/products/{product.id}-{product.slug}?qc={n}",
        "api_products": f"/api/v1/products?per_page=24&qc={n}",
        "category": f"/categories/{product.category.slug}?qc={n}",
        "village": f"/villages/{product.village.slug}?qc={n}",
    }


def measure(client, product) -> dict[str, int]:
    counts = {}
    for page, url in page_urls(product).items():
        with count_queries() as statements:
            response = client.get(url)
        assert response.status_code == 200, (page, response.status_code)
        counts[page] = len(statements)
    return counts


def test_pages_run_the_same_number_of_queries_for_5_and_30_products(client, db):
    first = add_products(db, 5)
    few = measure(client, first[0])
    add_products(db, 25)
    many = measure(client, first[0])

    print(f"queries per page: 5 products {few}, 30 products {many}")
    for page, limit in MAX_QUERIES.items():
        assert many[page] <= few[page], f"{page}: {few[page]} queries with 5 products, {many[page]} with 30 (N+1)"
        assert few[page] <= limit, f"{page}: {few[page]} queries, more than {limit}"


def test_catalog_page_shows_24_of_30_products_with_their_data(client, db):
    add_products(db, 30)
    response = client.get(f"/api/v1/products?per_page=24&qc={next(_bust)}")
    assert response.status_code == 200
    body = response.get_json()
    assert body["total"] == 30 and len(body["items"]) == 24
    assert all(item["image_url"] and item["village"]["name"] for item in body["items"])
    html = client.get(f"/products?qc={next(_bust)}").get_data(as_text=True)
    assert html.count("土鸡蛋") >= 24


#: Logged-in pages and the cart rendered (page cache off), per page: the cart is the user's load
#: and one joined statement for the cart, its lines, products, stock records, villages and photos
#: (its lines' thumbnails). #23: +1 on the product page and the cart (the products' food-safety
#: papers, one SELECT: catalog.papers).
MAX_USER_QUERIES = {"home": 11, "catalog": 6, "product": 9, "cart": 3}


def test_logged_in_pages_and_cart_run_a_fixed_number_of_queries(client, db, auth):
    from shop.db import commit
    from tests.factories import make_user

    user = make_user(email="counter@example.com")
    products = add_products(db, 5)
    commit()
    auth.login(user)

    in_cart: set = set()

    def measure_user(cart_ids):
        for pid in cart_ids:
            assert client.post("/cart/add", data={"product_id": pid, "quantity": 1}).status_code in (302, 303)
        cart_page = client.get("/cart").get_data(as_text=True)  # shows the flash messages once
        in_cart.update(cart_ids)
        assert cart_page.count('name="quantity"') >= len(in_cart) or cart_page.count("土鸡蛋") >= len(in_cart), "lines"
        urls = {
            **{k: v for k, v in page_urls(products[0]).items() if k in ("home", "catalog", "product")},
            "cart": "/cart",
        }
        counts = {}
        for page, url in urls.items():
            db.session.expire_all()  # as in a new request: nothing already loaded (the user, cart lines)
            with count_queries() as statements:
                response = client.get(url)
            assert response.status_code == 200, (page, response.status_code)
            counts[page] = len(statements)
        return counts

    few = measure_user([p.id for p in products[:2]])
    more = add_products(db, 25)
    commit()
    many = measure_user([p.id for p in products[2:] + more[:8]])  # 10 more cart lines
    print(f"logged-in queries per page: {few} / {many}")
    for page, limit in MAX_USER_QUERIES.items():
        assert many[page] <= few[page], f"{page}: {few[page]} queries with few products, {many[page]} with more (N+1)"
        assert few[page] <= limit, f"{page}: {few[page]} queries, more than {limit}"


def test_anonymous_hits_run_no_statement(app, client, db, monkeypatch):
    """With the page cache on (as in production), an anonymous visitor's home, catalog and product
    pages served from the cache run no statement at all."""
    from shop import pagecache
    from shop.db import commit

    monkeypatch.setitem(app.config, "PAGE_CACHE", True)
    products = add_products(db, 3)
    commit()
    try:
        with app.app_context():
            pagecache.clear()
        urls = {
            "home": "/",
            "catalog": "/products?page=1",
            "product": f"/products/{products[0].id}-{products[0].slug}",
            "api": "/api/v1/products?page=1",
        }
        for page, url in urls.items():
            client.get(url)  # a miss: rendered and stored
            db.session.expire_all()  # as in a new request
            with count_queries() as statements:
                response = client.get(url)
            assert response.status_code == 200, page
            assert statements == [], f"{page}: {statements}"
    finally:
        with app.app_context():
            pagecache.clear()
