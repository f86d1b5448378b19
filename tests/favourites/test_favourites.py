"""Favourites (收藏) of products and listings, 我的收藏, the API, and share links (short URL + QR code)
on product and listing pages — cached product pages stay shared (nothing of the visitor in them)."""

from __future__ import annotations

import sqlalchemy as sa

from favourites.models import Favourite
from shop.db import commit
from tests.factories import make_product, make_user
from tests.tourism.factories import make_listing

SITE = "http://shop.test"  # SITE_URL of the test app (tests/conftest.py)


def _page(p) -> str:
    return f"/products/{p.id}-{p.slug}"


def test_a_signed_in_buyer_favourites_a_product_and_finds_it_in_my_favourites(client, db, auth):
    product = make_product(name="三江腌菜")
    listing = make_listing(name="罗渡农家乐")
    user = make_user()
    commit()
    auth.login(user)
    assert "☆ 收藏" in client.get(_page(product)).get_data(as_text=True)
    r = client.post(f"/favourites/product/{product.id}", data={"action": "add"})
    assert r.status_code == 303 and r.headers["Location"].endswith(_page(product))
    client.post(f"/favourites/product/{product.id}", data={"action": "add"})  # a double tap
    client.post(f"/favourites/listing/{listing.id}", data={"action": "add"})
    assert db.session.scalar(sa.select(sa.func.count(Favourite.id))) == 2
    assert "已收藏" in client.get(_page(product)).get_data(as_text=True)
    mine = client.get("/favourites").get_data(as_text=True)
    assert "三江腌菜" in mine and "罗渡农家乐" in mine
    client.post(f"/favourites/product/{product.id}", data={"action": "remove", "back": "favourites"})
    mine = client.get("/favourites").get_data(as_text=True)
    assert "三江腌菜" not in mine and "罗渡农家乐" in mine


def test_a_visitor_not_signed_in_is_sent_to_sign_in_and_back(client, db):
    product = make_product()
    commit()
    r = client.post(f"/favourites/product/{product.id}", data={"action": "add"})
    assert r.status_code == 303 and "/login" in r.headers["Location"] and str(product.id) in r.headers["Location"]
    assert db.session.scalar(sa.select(sa.func.count(Favourite.id))) == 0
    assert "登录或注册后即为您收藏" in client.get(r.headers["Location"]).get_data(as_text=True)


def test_a_favourite_tapped_before_signing_in_is_added_by_the_sign_in(client, db):
    """As the guest cart: the tap is kept in the session and signing in (here: signing up) adds it."""
    product = make_product(name="三江腌菜")
    commit()
    r = client.post(f"/favourites/product/{product.id}", data={"action": "add"})
    r = client.post(
        r.headers["Location"].replace("/login", "/register"),
        data={"name": "新买家", "email": "fav@test.cn", "password": "s3cret-pass", "confirm": "s3cret-pass"},
    )
    assert r.status_code == 302 and r.headers["Location"] == _page(product)
    [favourite] = db.session.scalars(sa.select(Favourite)).all()
    assert favourite.product_id == product.id
    assert "已收藏" in client.get(_page(product)).get_data(as_text=True)
    client.post("/logout")
    user = make_user()
    commit()
    client.post("/login", data={"email": user.email, "password": "password123"})  # nothing pending: nothing added
    assert db.session.scalar(sa.select(sa.func.count(Favourite.id))) == 1


def test_hidden_or_unknown_things_cannot_be_favourited(client, db, auth):
    hidden = make_product(is_published=False)
    draft = make_listing(is_published=False)
    commit()
    auth.login(make_user())
    assert client.post(f"/favourites/product/{hidden.id}", data={"action": "add"}).status_code == 404
    assert client.post(f"/favourites/listing/{draft.id}", data={"action": "add"}).status_code == 404
    assert client.post("/favourites/product/99999999", data={"action": "add"}).status_code == 404
    assert client.post("/favourites/shop/1", data={"action": "add"}).status_code == 404


def test_the_api_adds_lists_and_removes_favourites(client, db, api_token):
    product = make_product(name="土鸡蛋")
    listing = make_listing(name="草莓采摘", kind="experience")
    user = make_user()
    commit()
    headers = api_token(user)
    assert client.get("/api/v1/me/favourites").status_code == 401
    r = client.put(f"/api/v1/me/favourites/products/{product.id}", headers=headers)
    assert r.status_code == 200 and r.json["items"][0]["share_url"] == f"{SITE}/p/{product.id}"
    r = client.put(f"/api/v1/me/favourites/listings/{listing.id}", headers=headers)
    assert [i["kind"] for i in r.json["items"]] == ["listing", "product"]
    r = client.delete(f"/api/v1/me/favourites/products/{product.id}", headers=headers)
    assert [i["name"] for i in r.json["items"]] == [listing.name]
    assert client.delete(f"/api/v1/me/favourites/products/{product.id}", headers=headers).status_code == 200
    assert client.put("/api/v1/me/favourites/products/99999999", headers=headers).status_code == 404


def test_product_and_listing_pages_share_a_short_link_and_its_qr_code(client, db):
    product = make_product()
    listing = make_listing()
    commit()
    page = client.get(_page(product)).get_data(as_text=True)
    assert f'value="{SITE}/p/{product.id}"' in page and 'class="share-qr" src="data:image/png;base64,' in page
    page = client.get(f"/listings/{listing.id}-{listing.slug}").get_data(as_text=True)
    assert f'value="{SITE}/l/{listing.id}"' in page and "share-qr" in page
    r = client.get(f"/p/{product.id}")
    assert r.status_code == 301 and r.headers["Location"].endswith(_page(product))
    r = client.get(f"/l/{listing.id}")
    assert r.status_code == 301 and r.headers["Location"].endswith(f"/listings/{listing.id}-{listing.slug}")
    assert client.get("/p/99999999").status_code == 404


def test_the_qr_code_holds_the_short_link(client, db, app):
    from favourites.services import share_url
    from shop.qr import qr_data_uri

    product = make_product()
    commit()
    with app.test_request_context():
        url = share_url(product)
    assert url == f"{SITE}/p/{product.id}"
    assert qr_data_uri(url) in client.get(_page(product)).get_data(as_text=True)


def test_cached_product_page_is_the_same_for_everyone_and_signed_in_visitors_see_their_state(
    client, db, auth, cache_on
):
    product = make_product()
    user = make_user()
    commit()
    first = client.get(_page(product)).get_data(as_text=True)
    assert "☆ 收藏" in first and "csrf_token" not in first
    auth.login(user)
    client.post(f"/favourites/product/{product.id}", data={"action": "add"})
    assert "★ 已收藏" in client.get(_page(product)).get_data(as_text=True)
    auth.logout()
    again = client.get(_page(product)).get_data(as_text=True)
    assert "★ 已收藏" not in again and "☆ 收藏" in again


def test_favouriting_a_listing_keeps_the_dates_and_guests_the_visitor_had_chosen(client, db, auth):
    """收藏 on a listing whose calendar has dates picked comes back to that page as it was (dates, guests,
    month), signed in or sent to sign in first; a Referer of another page or site is not followed."""
    listing = make_listing(name="罗渡农家乐")
    commit()
    page = f"/listings/{listing.id}-{listing.slug}"
    chosen = f"{page}?checkin=2026-12-26&checkout=2026-12-28&month=2026-12&guests=3&units=1"
    r = client.post(
        f"/favourites/listing/{listing.id}", data={"action": "add"}, headers={"Referer": f"http://localhost{chosen}"}
    )
    assert r.status_code == 303 and "checkin%3D2026-12-26" in r.headers["Location"], r.headers["Location"]
    auth.login(make_user())
    r = client.post(
        f"/favourites/listing/{listing.id}", data={"action": "add"}, headers={"Referer": f"http://localhost{chosen}"}
    )
    assert r.status_code == 303 and r.headers["Location"] == chosen
    for referer in ("http://evil.example" + chosen, "http://localhost/orders?x=1"):
        r = client.post(f"/favourites/listing/{listing.id}", data={"action": "remove"}, headers={"Referer": referer})
        assert r.headers["Location"] == page, referer
