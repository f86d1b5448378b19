"""Reviews from verified buyers: only for a delivered line or a completed stay of one's own order,
once; photos checked like product photos; one reply by the station or host; hiding by the county
(audited); aggregates on cards, product and listing pages (cached pages stay exact); sanitised (control
characters removed, kept as typed, escaped on output);
rate-limited; the "to review" tab."""

from __future__ import annotations

import io
import os

import pytest
import sqlalchemy as sa

from reviews.models import Review, ReviewPhoto
from shop.audit import AuditEntry
from shop.db import commit
from tests.factories import make_user
from tests.reviews.review_setup import delivered_order, stay_order
from tests.stations.factories import image_bytes, make_order
from tests.tourism.factories import make_listing
from tourism.models import BookingStatus


def _url(order, line=None) -> str:
    line = line or order.lines[0]
    return f"/orders/{order.code}/lines/{line.id}/review"


def _post(client, order, *, rating=5, body="鸡蛋新鲜，包装很好", photos=()):
    data = {"rating": str(rating), "body": body}
    if photos:
        data["photos"] = [(io.BytesIO(p), f"p{i}.png") for i, p in enumerate(photos)]
    return client.post(_url(order), data=data, content_type="multipart/form-data")


def test_buyer_reviews_a_delivered_line_with_a_photo_and_it_shows_everywhere(client, db, world, now, auth, app):
    order = delivered_order(world, now)
    commit()
    auth.login(world.buyer)
    assert "评价" in client.get(f"/orders/{order.code}").get_data(as_text=True)
    r = _post(client, order, rating=4, photos=[image_bytes()])
    assert r.status_code == 303, r.get_data(as_text=True)
    review = db.session.scalar(sa.select(Review))
    assert (review.rating, review.body, review.product_id) == (4, "鸡蛋新鲜，包装很好", world.a.product.id)
    photo = db.session.scalar(sa.select(ReviewPhoto))
    assert os.path.exists(os.path.join(app.config["UPLOAD_DIR"], photo.path))
    assert os.path.exists(os.path.join(app.config["UPLOAD_DIR"], photo.thumb_path))
    assert "已评价 4 星" in client.get(f"/orders/{order.code}").get_data(as_text=True)
    auth.logout()
    product = world.a.product
    page = client.get(f"/products/{product.id}-{product.slug}").get_data(as_text=True)
    assert "鸡蛋新鲜，包装很好" in page and photo.thumb_path in page and "4.0 分 · 1 条评价" in page
    assert "4.0 分 · 1 条评价" in client.get("/products").get_data(as_text=True)
    api = client.get(f"/api/v1/products/{product.id}/reviews").json
    assert api["rating_count"] == 1 and api["rating_average"] == 4.0
    assert api["items"][0]["body"] == "鸡蛋新鲜，包装很好" and len(api["items"][0]["photos"]) == 1
    assert "@" not in api["items"][0]["author"]


def test_a_line_not_yet_delivered_cannot_be_reviewed(client, db, world, now, api_token):
    order = make_order([(world.a.product, 1)], buyer=world.buyer)
    commit()
    r = client.post(
        f"/api/v1/orders/{order.code}/lines/{order.lines[0].id}/review",
        json={"rating": 5},
        headers=api_token(world.buyer),
    )
    assert r.status_code == 409 and r.json["error"]["code"] == "not_reviewable"
    assert db.session.scalar(sa.select(sa.func.count(Review.id))) == 0


def test_one_review_per_line(client, db, world, now, api_token):
    order = delivered_order(world, now)
    commit()
    headers = api_token(world.buyer)
    url = f"/api/v1/orders/{order.code}/lines/{order.lines[0].id}/review"
    assert client.post(url, json={"rating": 5, "body": "好"}, headers=headers).status_code == 201
    again = client.post(url, json={"rating": 1, "body": "再评"}, headers=headers)
    assert again.status_code == 409 and again.json["error"]["code"] == "already_reviewed"
    assert db.session.scalar(sa.select(sa.func.count(Review.id))) == 1
    assert db.session.get(type(world.a.product), world.a.product.id).rating_count == 1


def test_another_users_order_is_a_404(client, db, world, now, auth, api_token):
    order = delivered_order(world, now)
    other = make_user()
    commit()
    r = client.post(
        f"/api/v1/orders/{order.code}/lines/{order.lines[0].id}/review", json={"rating": 5}, headers=api_token(other)
    )
    assert r.status_code == 404
    auth.login(other)
    assert client.get(_url(order)).status_code == 404
    assert _post(client, order).status_code == 404
    assert db.session.scalar(sa.select(sa.func.count(Review.id))) == 0


def test_bad_input_is_refused_and_stores_nothing(client, db, world, now, auth):
    order = delivered_order(world, now)
    commit()
    auth.login(world.buyer)
    assert _post(client, order, rating=6).status_code == 422
    assert _post(client, order, body="长" * 501).status_code == 422
    four = [image_bytes()] * 4
    assert _post(client, order, photos=four).status_code == 422
    assert _post(client, order, photos=[b"not an image"]).status_code == 422
    assert db.session.scalar(sa.select(sa.func.count(Review.id))) == 0


def test_text_is_kept_as_typed_without_control_characters_and_escaped(client, db, world, now, auth):
    order = delivered_order(world, now)
    commit()
    auth.login(world.buyer)
    _post(client, order, body='<b>好吃</b><script>alert("x")</script>\u202e&amp;\u0007\r\n\r\n\r\n\r\n 第二段 ')
    review = db.session.scalar(sa.select(Review))
    assert review.body == '<b>好吃</b><script>alert("x")</script>&amp;\n\n 第二段'
    auth.logout()
    page = client.get(f"/products/{world.a.product.id}-{world.a.product.slug}").get_data(as_text=True)
    assert "&lt;b&gt;好吃&lt;/b&gt;&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&amp;amp;" in page
    assert "<b>好吃" not in page and "<script>alert" not in page


def test_the_station_replies_once_other_stations_cannot(client, db, world, now, auth):
    order = delivered_order(world, now)
    commit()
    auth.login(world.buyer)
    _post(client, order)
    review = db.session.scalar(sa.select(Review))
    auth.logout()
    auth.login(world.b.operator)
    assert client.post(f"/reviews/{review.id}/reply", data={"body": "谢谢"}).status_code == 404
    assert "鸡蛋新鲜" not in client.get("/reviews/answer").get_data(as_text=True)
    auth.logout()
    auth.login(world.a.operator)
    assert "鸡蛋新鲜" in client.get("/reviews/answer").get_data(as_text=True)
    assert client.post(f"/reviews/{review.id}/reply", data={"body": "谢谢惠顾"}).status_code == 303
    client.post(f"/reviews/{review.id}/reply", data={"body": "再回复"})
    db.session.refresh(review)
    assert review.reply_body == "谢谢惠顾" and review.reply_by_id == world.a.operator.id
    auth.logout()
    page = client.get(f"/products/{world.a.product.id}-{world.a.product.slug}").get_data(as_text=True)
    assert "谢谢惠顾" in page and "再回复" not in page


def test_a_completed_stay_is_reviewed_and_its_host_replies(client, db, now, auth, api_token):
    host = make_user(role="host")
    listing = make_listing(host=host, name="罗渡农家乐")
    guest = make_user()
    done = stay_order(guest, listing)
    upcoming = stay_order(guest, listing, status=BookingStatus.CONFIRMED)
    commit()
    headers = api_token(guest)
    line = next(line for line in done.lines if line.kind == "booking")
    r = client.post(
        f"/api/v1/orders/{done.code}/lines/{line.id}/review", json={"rating": 5, "body": "干净安静"}, headers=headers
    )
    assert r.status_code == 201 and r.json["listing_id"] == listing.id, r.json
    line2 = next(line for line in upcoming.lines if line.kind == "booking")
    assert (
        client.post(
            f"/api/v1/orders/{upcoming.code}/lines/{line2.id}/review", json={"rating": 5}, headers=headers
        ).status_code
        == 409
    )
    page = client.get(f"/listings/{listing.id}-{listing.slug}").get_data(as_text=True)
    assert "干净安静" in page and "5.0 分 · 1 条评价" in page
    assert "5.0 分 · 1 条评价" in client.get("/stays").get_data(as_text=True)
    r = client.post(f"/api/v1/reviews/{r.json['id']}/reply", json={"body": "欢迎再来"}, headers=api_token(host))
    assert r.status_code == 200 and r.json["reply"] == "欢迎再来"
    assert client.get(f"/api/v1/listings/{listing.id}/reviews").json["items"][0]["reply"] == "欢迎再来"
    # English counts one review as one (ngettext), not "1 reviews"
    for url in (f"/listings/{listing.id}-{listing.slug}?lang=en", "/stays?lang=en"):
        page = client.get(url).get_data(as_text=True)
        assert "5.0 / 5 · 1 review<" in page and "1 reviews" not in page, url


def test_the_county_hides_an_abusive_review_with_a_reason_audited(client, db, world, now, auth, api_token):
    order = delivered_order(world, now)
    second = delivered_order(world, now)
    county = make_user(role="county")
    commit()
    headers = api_token(world.buyer)
    abusive = client.post(
        f"/api/v1/orders/{order.code}/lines/{order.lines[0].id}/review",
        json={"rating": 1, "body": "骂人的话"},
        headers=headers,
    ).json
    client.post(f"/api/v1/orders/{second.code}/lines/{second.lines[0].id}/review", json={"rating": 5}, headers=headers)
    assert (
        client.post(f"/api/v1/reviews/{abusive['id']}/hide", json={"reason": "辱骂"}, headers=headers).status_code
        == 403
    )
    auth.login(county)
    assert client.post(f"/reviews/{abusive['id']}/hide", data={"reason": ""}).status_code == 303
    assert db.session.get(Review, abusive["id"]).hidden_at is None, "no reason, nothing changes"
    asked = client.post(  # irreversible: asked first
        f"/reviews/{abusive['id']}/hide", data={"reason": "辱骂他人"}, follow_redirects=True
    )
    assert asked.status_code == 200 and "隐藏后买家和其他人都看不到它" in asked.get_data(as_text=True)
    assert db.session.get(Review, abusive["id"]).hidden_at is None
    assert client.post(f"/reviews/{abusive['id']}/hide", data={"reason": "辱骂他人", "confirm": "1"}).status_code == 303
    review = db.session.get(Review, abusive["id"])
    assert review.hidden_reason == "辱骂他人" and review.hidden_by_id == county.id
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "review.hide"))
    assert entry.actor_id == county.id and entry.subject_id == review.id and entry.detail["reason"] == "辱骂他人"
    auth.logout()
    product = world.a.product
    page = client.get(f"/products/{product.id}-{product.slug}").get_data(as_text=True)
    assert "骂人的话" not in page and "5.0 分 · 1 条评价" in page


def test_a_hide_to_refuse_is_refused_at_once_and_the_confirmation_names_the_review_and_reason(
    client, db, world, now, auth, api_token
):
    """The moderation page lists many reviews: the confirmation says which one is hidden (its subject, stars
    and words) and the reason its writer will read. A reason of spaces, or a review hidden already (Back,
    confirm again, a second officer), is refused at once with its reason, never confirmed first."""
    order = delivered_order(world, now)
    county = make_user(role="county")
    commit()
    review = client.post(
        f"/api/v1/orders/{order.code}/lines/{order.lines[0].id}/review",
        json={"rating": 1, "body": "骂人的话，电话 13800138000"},
        headers=api_token(world.buyer),
    ).json
    auth.login(county)
    url = f"/reviews/{review['id']}/hide"
    spaces = client.post(url, data={"reason": "   "}, follow_redirects=True)
    assert [r.status_code for r in spaces.history] == [303] and spaces.request.path == "/reviews/moderate"
    assert "请填写隐藏原因" in spaces.get_data(as_text=True)
    asked = client.post(url, data={"reason": "  辱骂并泄露电话  "}, follow_redirects=True)
    page = asked.get_data(as_text=True)
    assert asked.request.path.startswith("/confirm/")
    for said in (
        f"评价：{world.a.product.name}",
        "<li>1 星</li>",
        "骂人的话，电话 13800138000",
        "隐藏原因：辱骂并泄露电话",
    ):
        assert said in page, said
    assert db.session.get(Review, review["id"]).hidden_at is None
    client.post(url, data={"reason": "辱骂并泄露电话", "confirm": "1"})
    again = client.post(url, data={"reason": "辱骂并泄露电话"}, follow_redirects=True)
    assert again.request.path == "/reviews/moderate" and "这条评价已隐藏" in again.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).where(AuditEntry.action == "review.hide")) == 1


def test_cached_product_page_shows_a_new_review_at_once(client, db, world, now, auth, cache_on):
    order = delivered_order(world, now)
    commit()
    url = f"/products/{world.a.product.id}-{world.a.product.slug}"
    assert "还没有评价" in client.get(url).get_data(as_text=True)
    client.get(url)
    auth.login(world.buyer)
    _post(client, order, body="第一条评价")
    auth.logout()
    assert "第一条评价" in client.get(url).get_data(as_text=True)


def test_to_review_tab_lists_orders_until_reviewed(client, db, world, now, auth):
    delivered = delivered_order(world, now)
    waiting = make_order([(world.a.product, 1)], buyer=world.buyer)
    commit()
    auth.login(world.buyer)
    html = client.get("/orders?tab=to_review").get_data(as_text=True)
    assert delivered.code in html and waiting.code not in html
    # the tab leads on to writing it: 去评价 opens the order, whose delivered lines each have 评价
    assert f'href="/orders/{delivered.code}">去评价</a>' in html
    order_page = client.get(f"/orders/{delivered.code}").get_data(as_text=True)
    assert f"/orders/{delivered.code}/lines/{delivered.lines[0].id}/review" in order_page
    _post(client, delivered)
    assert delivered.code not in client.get("/orders?tab=to_review").get_data(as_text=True)


def test_writing_reviews_is_rate_limited(client, db, world, now, api_token, app, monkeypatch):
    from shop.security import limiter

    monkeypatch.setitem(app.config, "RATE_LIMITS", True)
    limiter.reset()
    order = make_order([(world.a.product, 1)], buyer=world.buyer)
    commit()
    headers = api_token(world.buyer)
    url = f"/api/v1/orders/{order.code}/lines/{order.lines[0].id}/review"
    codes = [client.post(url, json={"rating": 5}, headers=headers).status_code for _ in range(11)]
    assert codes[:10] == [409] * 10 and codes[10] == 429
    limiter.reset()


@pytest.mark.parametrize("path", ["/reviews/moderate"])
def test_moderation_page_is_for_the_county(client, db, auth, path):
    auth.login(make_user())
    assert client.get(path).status_code == 403
    auth.logout()
    auth.login(make_user(role="county"))
    assert client.get(path).status_code == 200


def test_a_review_sent_again_goes_back_to_the_order_saying_it_is_written(client, db, world, now, auth):
    """Back to the review form after 发布评价, or a second tap: the order's page says the line is reviewed
    (a notice, not an error), where a second POST showed the form again, typed text and all, with a 409,
    as if it could be corrected; one review is kept."""
    order = delivered_order(world, now)
    commit()
    auth.login(world.buyer)
    assert _post(client, order).status_code == 303
    again = client.post(
        _url(order), data={"rating": "3", "body": "再评一次"}, content_type="multipart/form-data", follow_redirects=True
    )
    back = client.get(_url(order), follow_redirects=True)
    for res in (again, back):
        html = res.get_data(as_text=True)
        assert res.status_code == 200 and res.request.path == f"/orders/{order.code}"
        assert '<div class="alert alert-info" role="status">这件商品已经评价过了</div>' in html
        assert "再评一次" not in html
    assert db.session.scalar(sa.select(sa.func.count(Review.id))) == 1


def test_a_completed_stays_own_page_offers_its_review(client, db, now, auth):
    """我的预订 leads to the booking's page: once the stay is completed that page offers 评价 (it offered
    nothing, the review only on the order page), then shows the stars given; a stay to come offers none."""
    listing = make_listing(host=make_user(role="host"), name="罗渡农家乐")
    guest = make_user()
    done = stay_order(guest, listing)
    upcoming = stay_order(guest, listing, status=BookingStatus.CONFIRMED)
    for order in (done, upcoming):
        booking = next(line.booking for line in order.lines if line.kind == "booking")
        booking.order_id = order.id
    commit()
    auth.login(guest)
    done_booking = next(line.booking for line in done.lines if line.kind == "booking")
    write = _url(done, next(line for line in done.lines if line.kind == "booking"))
    page = client.get(f"/bookings/{done_booking.code}").get_data(as_text=True)
    assert f'href="{write}"' in page
    upcoming_booking = next(line.booking for line in upcoming.lines if line.kind == "booking")
    assert "/review" not in client.get(f"/bookings/{upcoming_booking.code}").get_data(as_text=True)
    assert client.post(write, data={"rating": "4", "body": "干净安静"}).status_code == 303
    page = client.get(f"/bookings/{done_booking.code}").get_data(as_text=True)
    assert "已评价 4 星" in page and f'href="{write}"' not in page


def test_a_stay_reviewed_twice_says_the_booking_was_reviewed_not_a_product(client, db, now, auth, api_token):
    """A second review of a stay said 这件商品已经评价过了 ("this product"): it says 这项预订 now, on the page
    and in the API (its own code), and a product's says 这件商品 as before."""
    listing = make_listing(host=make_user(role="host"), name="罗渡农家乐")
    guest = make_user()
    done = stay_order(guest, listing)
    commit()
    line = next(line for line in done.lines if line.kind == "booking")
    url = f"/api/v1/orders/{done.code}/lines/{line.id}/review"
    headers = api_token(guest)
    assert client.post(url, json={"rating": 5, "body": "干净安静"}, headers=headers).status_code == 201
    again = client.post(url, json={"rating": 4}, headers=headers)
    assert again.status_code == 409 and again.json["error"]["code"] == "already_reviewed_booking"
    assert again.json["error"]["message"] == "这项预订已经评价过了"
    auth.login(guest)
    for res in (
        client.post(_url(done, line), data={"rating": "3", "body": "再评一次"}, follow_redirects=True),
        client.get(_url(done, line), follow_redirects=True),
    ):
        html = res.get_data(as_text=True)
        assert "这项预订已经评价过了" in html and "这件商品已经评价过了" not in html
    html = client.get(_url(done, line) + "?lang=en", follow_redirects=True).get_data(as_text=True)
    assert "You have already reviewed this booking" in html


def test_an_api_client_finds_the_line_ids_it_reviews_in_the_order_answer(client, db, world, now, api_token):
    """`POST /orders/{code}/lines/{line_id}/review` names a line; the buyer's order answer gives each goods
    line and each booking line its `line_id`, so a phone app can review what it bought from what it read."""
    listing = make_listing(host=make_user(role="host"), name="花海原乡民宿")
    stay = stay_order(world.buyer, listing)
    goods = delivered_order(world, now)
    commit()
    headers = api_token(world.buyer)
    stay_answer = client.get(f"/api/v1/orders/{stay.code}", headers=headers).json
    goods_answer = client.get(f"/api/v1/orders/{goods.code}", headers=headers).json
    booking_line = stay_answer["bookings"][0]["line_id"]
    goods_line = goods_answer["shipments"][0]["items"][0]["line_id"]
    assert (booking_line, goods_line) == (stay.lines[0].id, goods.lines[0].id)
    # the list answers them too
    listed = client.get("/api/v1/orders", headers=headers).json["items"]
    assert {o["id"]: o["bookings"][0]["line_id"] for o in listed if o["bookings"]} == {stay.code: booking_line}
    for code, line_id in ((stay.code, booking_line), (goods.code, goods_line)):
        r = client.post(f"/api/v1/orders/{code}/lines/{line_id}/review", json={"rating": 5}, headers=headers)
        assert r.status_code == 201, r.json
