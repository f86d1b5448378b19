"""我的 (/account), the address book (/account/addresses) and 我的评价 (/account/reviews), through HTTP:
signed-out visitors are sent to sign in; the address book adds, edits, deletes and chooses the default
under the checkout's one rule of an address (`placement.check_address`), refuses bad input changing
nothing, answers another account's address with a 404, and never changes an order placed with an
address; 我的评价 lists only the account's own reviews, in a fixed number of statements."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from orders.models import Order
from reviews.models import Review, ReviewPhoto
from shop.once import new_form_token
from tests.factories import NOW, make_product, make_station, make_user
from tests.orders.address_book import ADDRESS, book_rows, saved_address
from tests.sql_count import page_statements
from tests.stations.factories import make_order


def _add(client, **changes):
    return client.post("/account/addresses/new", data={**ADDRESS, "form_token": new_form_token(), **changes})


@pytest.mark.parametrize(
    "url", ["/account", "/account/addresses", "/account/addresses/new", "/account/addresses/1/edit", "/account/reviews"]
)
def test_each_account_page_sends_a_signed_out_visitor_to_sign_in(client, db, url):
    res = client.get(url)
    assert res.status_code == 302 and "/login" in res.headers["Location"]


def test_the_account_page_names_the_buyer_and_links_what_is_theirs_with_the_order_counts(client, db, auth):
    buyer = make_user(name="李四", email="lisi@test.cn")
    make_order([(make_product(stock=5), 1)], buyer=buyer, payment_method="card", status="pending")
    auth.login(buyer)
    page = client.get("/account").get_data(as_text=True)
    assert "李四" in page and "lisi@test.cn" in page
    for href in ("/orders", "/favourites", "/account/reviews", "/account/addresses", "/password/change", "/bookings"):
        assert f'href="{href}"' in page, href
    assert 'href="/orders?tab=to_pay"' in page and '<span class="badge">1</span>' in page
    # the header's name leads there (on a small phone: 我的)
    assert 'class="who" href="/account"' in page and 'class="mine" href="/account"' in page


@pytest.mark.parametrize("path,sibling", [("/orders", "/bookings"), ("/bookings", "/orders")])
def test_my_orders_and_my_bookings_lead_to_my_account_and_to_each_other(client, db, auth, path, sibling):
    """我的订单 linked to 我的预订 and 修改密码 but not to 我的, where 修改密码, 收货地址 and the rest now are;
    我的预订 likewise. Each links 我的 and the other list (the header's 我的 aside)."""
    auth.login(make_user())
    page = client.get(path).get_data(as_text=True)
    links = page.split('<p class="account-links">', 1)[1].split("</p>", 1)[0]
    assert re.findall(r'href="([^"]+)"', links) == ["/account", sibling]


@pytest.mark.parametrize("role", ["operator", "host", "county", "admin"])
def test_the_account_page_works_for_every_role(client, db, auth, role):
    station = make_station() if role == "operator" else None
    user = make_user(role=role, station=station, name="职员", email=f"{role}-me@test.cn")
    auth.login(user)
    res = client.get("/account")
    page = res.get_data(as_text=True)
    assert res.status_code == 200 and "职员" in page and f"{role}-me@test.cn" in page
    assert 'href="/password/change"' in page


def test_the_account_page_offers_the_other_language_and_keeps_it_for_the_account(client, db, auth):
    user = make_user()
    auth.login(user)
    page = client.get("/account").get_data(as_text=True)
    assert 'href="/lang/en?next=/account"' in page
    res = client.get("/lang/en?next=/account")
    assert res.status_code == 302 and res.headers["Location"].endswith("/account")
    db.session.expire_all()
    assert user.locale == "en"


def test_a_buyer_adds_an_address_once_and_the_first_is_the_default(client, db, auth):
    user = make_user()
    auth.login(user)
    token = new_form_token()
    res = client.post("/account/addresses/new", data={**ADDRESS, "form_token": token})
    assert res.status_code == 303 and res.headers["Location"].endswith("/account/addresses")
    again = client.post("/account/addresses/new", data={**ADDRESS, "form_token": token})  # a double tap, Back + 保存
    assert again.status_code == 303
    assert book_rows(user) == [("王小明", "13800138000", "莲塘镇幸福路1号", True)]
    page = client.get("/account/addresses").get_data(as_text=True)
    assert "莲塘镇幸福路1号" in page and "默认" in page


@pytest.mark.parametrize(
    "changes,message",
    [
        ({"line": ""}, "请填写此项"),
        ({"name": "  "}, "请填写此项"),
        ({"phone": "138001380"}, "请填写正确的手机号"),
        ({"line": "路" * 201}, "最多 200 个字符"),
    ],
)
def test_an_incomplete_address_is_refused_as_at_checkout_and_nothing_saved(client, db, auth, changes, message):
    user = make_user()
    auth.login(user)
    res = _add(client, **changes)
    assert res.status_code == 422 and message in res.get_data(as_text=True)
    assert book_rows(user) == []


def test_a_buyer_edits_an_address_and_a_bad_edit_changes_nothing(client, db, auth):
    user = make_user()
    address = saved_address(user, default=True)
    auth.login(user)
    form = client.get(f"/account/addresses/{address.id}/edit").get_data(as_text=True)
    assert 'value="莲塘镇1号"' in form
    bad = client.post(f"/account/addresses/{address.id}/edit", data={**ADDRESS, "phone": "12345"})
    assert bad.status_code == 422
    assert book_rows(user) == [("张三", "13900000000", "莲塘镇1号", True)]
    ok = client.post(f"/account/addresses/{address.id}/edit", data={**ADDRESS, "line": "向塘镇2号"})
    assert ok.status_code == 303
    assert book_rows(user) == [("王小明", "13800138000", "向塘镇2号", True)]


def test_an_address_edited_into_a_copy_of_another_is_refused_as_adding_it_adds_none(client, db, auth):
    """Adding an address the book holds adds none; editing one into a copy of another made two identical
    entries (two 张三 莲塘镇1号 offered at checkout). It is refused, as typed, and the book stays as it was;
    the same address typed with spaces in its mobile number is the same address."""
    user = make_user()
    home = saved_address(user, line="莲塘镇1号", default=True)
    work = saved_address(user, line="向塘镇2号")
    auth.login(user)
    same = {**ADDRESS, "name": "张三", "phone": "139 0000 0000", "line": "莲塘镇1号"}
    assert _add(client, **same).status_code == 303  # adding it: none added
    assert book_rows(user) == [("张三", "13900000000", "莲塘镇1号", True), ("张三", "13900000000", "向塘镇2号", False)]
    for _ in range(2):  # saved twice (Back and 保存): refused both times, nothing changed
        res = client.post(f"/account/addresses/{work.id}/edit", data=same)
        assert res.status_code == 409
        page = res.get_data(as_text=True)
        assert "收货地址里已有一个相同的地址" in page and 'value="139 0000 0000"' in page
    assert book_rows(user) == [("张三", "13900000000", "莲塘镇1号", True), ("张三", "13900000000", "向塘镇2号", False)]
    # an entry saved unchanged is no copy of itself
    assert client.post(f"/account/addresses/{home.id}/edit", data=same).status_code == 303
    english = client.post(f"/account/addresses/{work.id}/edit?lang=en", data=same).get_data(as_text=True)
    assert "already" in english


def test_the_default_chosen_is_the_one_checkout_preselects(client, db, auth):
    user = make_user()
    first = saved_address(user, line="莲塘镇1号", default=True)
    second = saved_address(user, line="向塘镇2号")
    auth.login(user)
    assert client.post(f"/account/addresses/{second.id}/default").status_code == 303
    assert book_rows(user) == [("张三", "13900000000", "莲塘镇1号", False), ("张三", "13900000000", "向塘镇2号", True)]
    client.post("/cart/add", data={"product_id": make_product(stock=5).id, "quantity": 1})
    checkout = client.get("/checkout").get_data(as_text=True)
    assert f'<option selected value="{second.id}">' in checkout and f'<option value="{first.id}">' in checkout


def test_a_new_address_typed_under_a_saved_one_chosen_is_refused_not_dropped(client, db, auth):
    """Walked on a phone: checkout preselects the saved address and shows the new address's fields under it,
    empty. A buyer who typed a new name, phone and address there had the order placed to the saved address,
    what they typed dropped without a word. Now the checkout says to choose one, placing nothing; 新地址 sends it
    to the typed one, and the saved entry's own details typed again (a browser's autofill) change nothing."""
    user = make_user()
    home = saved_address(user, line="莲塘镇1号", default=True)
    auth.login(user)
    client.post("/cart/add", data={"product_id": make_product(stock=5).id, "quantity": 1})
    typed = {"name": "李四", "phone": "13912345678", "province": "江西省", "city": "南昌市", "district": "南昌县"}
    sent = {"delivery": "ship", "payment_method": "cod", **typed, "line": "向塘镇新街9号"}

    refused = client.post("/checkout", data={"form_token": new_form_token(), "address_id": home.id, **sent})
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert "您选了已保存的地址，又填写了新地址" in page and 'value="向塘镇新街9号"' in page  # kept as typed
    assert db.session.scalars(sa.select(Order).where(Order.user_id == user.id)).all() == []
    english = client.post("/checkout?lang=en", data={"form_token": new_form_token(), "address_id": home.id, **sent})
    assert english.status_code == 422 and "saved address" in english.get_data(as_text=True)

    # only one of the fields typed is refused the same way
    only_phone = {**sent, "name": "", "line": "", "phone": "13912345678"}
    assert (
        client.post("/checkout", data={"form_token": new_form_token(), "address_id": home.id, **only_phone}).status_code
        == 422
    )

    placed = client.post("/checkout", data={"form_token": new_form_token(), "address_id": 0, **sent})
    assert placed.status_code == 303
    order = db.session.scalars(sa.select(Order).where(Order.user_id == user.id)).one()
    assert (order.ship_name, order.ship_phone, order.ship_line) == ("李四", "13912345678", "向塘镇新街9号")

    # the saved entry chosen, its own details in the fields (138 spaced as typed): placed to it
    client.post("/cart/add", data={"product_id": make_product(stock=5).id, "quantity": 1})
    same = {**sent, "name": "张三", "phone": "139 0000 0000", "line": "莲塘镇1号"}
    assert (
        client.post("/checkout", data={"form_token": new_form_token(), "address_id": home.id, **same}).status_code
        == 303
    )
    # and with the fields left empty, as a browser sends them hidden or untouched
    client.post("/cart/add", data={"product_id": make_product(stock=5).id, "quantity": 1})
    empty = {**sent, "name": "", "phone": "", "line": ""}
    assert (
        client.post("/checkout", data={"form_token": new_form_token(), "address_id": home.id, **empty}).status_code
        == 303
    )
    lines = db.session.scalars(sa.select(Order.ship_line).where(Order.user_id == user.id).order_by(Order.id)).all()
    assert lines == ["向塘镇新街9号", "莲塘镇1号", "莲塘镇1号"]


def test_deleting_an_address_leaves_the_orders_placed_with_it_and_moves_the_default(client, db, auth):
    user = make_user()
    older = saved_address(user, line="莲塘镇1号")
    used = saved_address(user, line="向塘镇2号", default=True)
    auth.login(user)
    client.post("/cart/add", data={"product_id": make_product(stock=5).id, "quantity": 1})
    placed = client.post(
        "/checkout",
        data={"form_token": new_form_token(), "address_id": used.id, "delivery": "ship", "payment_method": "cod"},
    )
    assert placed.status_code == 303
    res = client.post(f"/account/addresses/{used.id}/delete")
    assert res.status_code == 303
    assert book_rows(user) == [("张三", "13900000000", "莲塘镇1号", True)]  # the one left is the default
    order = db.session.scalars(sa.select(Order).where(Order.user_id == user.id)).one()
    assert (order.ship_name, order.ship_phone, order.ship_line) == ("张三", "13900000000", "向塘镇2号")
    assert "向塘镇2号" in client.get(f"/orders/{order.code}").get_data(as_text=True)
    assert older.id  # (kept)


@pytest.mark.parametrize(
    "method,path",
    [("GET", "edit"), ("POST", "edit"), ("POST", "default"), ("POST", "delete")],
)
def test_another_accounts_address_is_a_404_and_stays_as_it_was(client, db, auth, method, path):
    owner = make_user()
    theirs = saved_address(owner, default=True)
    auth.login(make_user())
    res = client.open(f"/account/addresses/{theirs.id}/{path}", method=method, data={**ADDRESS})
    assert res.status_code == 404
    assert book_rows(owner) == [("张三", "13900000000", "莲塘镇1号", True)]


def test_every_address_post_needs_its_csrf_token(client, db, auth, app, monkeypatch):
    user = make_user()
    address = saved_address(user, default=True)
    auth.login(user)
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    for path in (f"{address.id}/delete", f"{address.id}/default", f"{address.id}/edit", "new"):
        res = client.post(f"/account/addresses/{path}", data={**ADDRESS, "form_token": new_form_token()})
        assert res.status_code == 400, path
    assert book_rows(user) == [("张三", "13900000000", "莲塘镇1号", True)]


def _review(buyer, product, *, days_ago=0, body="好吃", **extra) -> Review:
    from shop.extensions import db

    order = make_order([(product, 1)], buyer=buyer)
    review = Review(
        order_line_id=order.lines[0].id,
        user_id=buyer.id,
        product_id=product.id,
        rating=4,
        body=body,
        created_at=NOW - timedelta(days=days_ago),
        **extra,
    )
    db.session.add(review)
    db.session.flush()
    return review


def test_my_reviews_lists_only_my_reviews_newest_first_with_photos_reply_and_why_hidden(client, db, auth):
    me, other = make_user(), make_user()
    eggs, rice = make_product(name="土鸡蛋", stock=9), make_product(name="富硒米", stock=9)
    old = _review(me, eggs, days_ago=3, body="鸡蛋新鲜", reply_body="谢谢惠顾", replied_at=NOW)
    db.session.add(ReviewPhoto(review_id=old.id, path="reviews/a.jpg", thumb_path="reviews/a_t.jpg", position=0))
    _review(me, rice, days_ago=1, body="米不错", hidden_at=NOW, hidden_reason="含联系方式")
    _review(other, eggs, body="别人的评价")
    auth.login(me)
    page = client.get("/account/reviews").get_data(as_text=True)
    assert "别人的评价" not in page
    assert page.index("米不错") < page.index("鸡蛋新鲜")  # newest first
    assert "富硒米" in page and "土鸡蛋" in page and "reviews/a_t.jpg" in page and "谢谢惠顾" in page
    assert "已被隐藏：含联系方式" in page


def test_my_reviews_take_the_same_statements_for_one_review_or_many(client, db, auth):
    me = make_user()
    _review(me, make_product(stock=9))
    auth.login(me)
    _, one = page_statements(client, "/account/reviews")
    for _i in range(3):
        review = _review(me, make_product(stock=9))
        db.session.add(ReviewPhoto(review_id=review.id, path="r.jpg", thumb_path="r_t.jpg", position=0))
    _, many = page_statements(client, "/account/reviews")
    assert len(many) == len(one), many
