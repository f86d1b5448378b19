"""Every way of signing in goes through shop.auth.views.sign_in: the guest's cart survives login
and registration alike (issue #19.1), committed with the new session."""

from __future__ import annotations

import sqlalchemy as sa

from orders.models import Cart
from shop.auth.models import User
from tests.factories import make_product, make_user


def _guest_adds_two_items(client):
    a = make_product(name="三江腌菜", stock=10)
    b = make_product(name="霉豆腐", stock=10)
    client.post("/cart/add", data={"product_id": a.id, "quantity": 2})
    client.post("/cart/add", data={"product_id": b.id, "quantity": 1})
    return a, b


def _only_cart(db):
    db.session.expire_all()
    return db.session.scalars(sa.select(Cart)).all()


def test_sign_up_during_checkout_keeps_the_guest_cart(client, db):
    a, b = _guest_adds_two_items(client)
    res = client.get("/checkout")
    assert res.status_code == 302 and "/login" in res.headers["Location"]
    login_page = client.get(res.headers["Location"]).get_data(as_text=True)
    assert "/register?next=/checkout" in login_page  # 注册 keeps where the buyer was going
    res = client.post(
        "/register?next=/checkout",
        data={"name": "新买家", "email": "new@test.cn", "password": "s3cret-pass", "confirm": "s3cret-pass"},
    )
    assert res.status_code == 302 and res.headers["Location"] == "/checkout"
    [cart] = _only_cart(db)
    assert cart.user_id == db.session.scalar(sa.select(User.id).where(User.email == "new@test.cn"))
    assert {(line.product_id, line.quantity) for line in cart.lines} == {(a.id, 2), (b.id, 1)}
    page = client.get("/cart").get_data(as_text=True)
    assert "三江腌菜" in page and "霉豆腐" in page
    assert client.get("/checkout").status_code == 200


def test_login_during_checkout_keeps_the_guest_cart(client, db, auth):
    user = make_user()
    a, b = _guest_adds_two_items(client)
    res = client.post("/login?next=/checkout", data={"email": user.email, "password": "password123"})
    assert res.status_code == 302 and res.headers["Location"] == "/checkout"
    [cart] = _only_cart(db)
    assert cart.user_id == user.id
    assert {(line.product_id, line.quantity) for line in cart.lines} == {(a.id, 2), (b.id, 1)}
    assert "三江腌菜" in client.get("/cart").get_data(as_text=True)


def test_a_refused_registration_leaves_the_guest_cart_alone(client, db):
    make_user(email="taken@test.cn")
    a, _b = _guest_adds_two_items(client)
    res = client.post("/register", data={"email": "taken@test.cn", "password": "longenough1", "confirm": "longenough1"})
    assert res.status_code == 422
    [cart] = _only_cart(db)
    assert cart.user_id is None and len(cart.lines) == 2
    assert "三江腌菜" in client.get("/cart").get_data(as_text=True)


def test_an_api_token_is_not_a_browser_sign_in_and_touches_no_cart(client, db):
    """The JSON API has no guest cart (orders are placed with their items in the body): issuing a
    token neither merges nor drops the browser's guest cart."""
    user = make_user()
    _guest_adds_two_items(client)
    res = client.post("/api/v1/auth/token", json={"email": user.email, "password": "password123"})
    assert res.status_code == 200
    [cart] = _only_cart(db)
    assert cart.user_id is None and len(cart.lines) == 2


def test_the_headers_sign_up_link_leads_back_to_the_page_like_its_log_in_link(client, db):
    product = make_product(name="三江腌菜", stock=10)
    page = f"/products/{product.id}-{product.slug}"
    html = client.get(page).get_data(as_text=True)
    assert f'href="/register?next={page}' in html.replace("%2F", "/") and f'href="/login?next={page}' in html.replace(
        "%2F", "/"
    )
    res = client.post(
        f"/register?next={page}",
        data={"name": "新买家", "email": "back@test.cn", "password": "s3cret-pass", "confirm": "s3cret-pass"},
    )
    assert res.status_code == 302 and res.headers["Location"] == page
    client.post("/logout")
    login_page = client.get("/login?next=/checkout").get_data(as_text=True)
    assert 'href="/register?next=/checkout"' in login_page.replace("%2F", "/")  # the header's too
