"""What a reviewer types is kept as typed and shown escaped; a tampered rating says what a rating is; a
review or reply form refused for what it says costs no attempt of the hourly limit; too long a text names
its own field.

Review text (and a reply, and a hide reason) was cleaned as HTML: "x<y和y>z" was stored as "xz", "评分<b>5</b>"
as "评分5". It is plain text: stored as typed (control characters removed), escaped wherever it is shown.
"""

from __future__ import annotations

import sqlalchemy as sa

from reviews.models import Review
from shop.db import commit
from tests.factories import make_user
from tests.reviews.review_setup import delivered_order, stay_order
from tests.stations.factories import make_order
from tests.tourism.factories import make_listing

SCRIPT = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


def _url(order) -> str:
    return f"/orders/{order.code}/lines/{order.lines[0].id}/review"


def _post(client, order, *, rating="5", body="鸡蛋新鲜"):
    return client.post(_url(order), data={"rating": rating, "body": body}, content_type="multipart/form-data")


def _shows_escaped(html: str, typed: str, escaped: str) -> bool:
    return escaped in html and typed not in html


def test_a_review_that_looks_like_markup_is_kept_as_typed_and_shown_escaped_everywhere(
    client, db, world, now, auth, api_token
):
    order = delivered_order(world, now)
    county = make_user(role="county")
    commit()
    auth.login(world.buyer)
    assert _post(client, order, body=SCRIPT + "\u202e").status_code == 303
    review = db.session.scalar(sa.select(Review))
    assert review.body == SCRIPT  # as typed, the direction override removed
    auth.logout()
    product = world.a.product
    product_url = f"/products/{product.id}-{product.slug}"
    assert _shows_escaped(client.get(product_url).get_data(as_text=True), SCRIPT, ESCAPED)
    api = client.get(f"/api/v1/products/{product.id}/reviews")
    assert api.json["items"][0]["body"] == SCRIPT and api.mimetype == "application/json"
    # the station's list of reviews to answer, and its reply
    auth.login(world.a.operator)
    assert _shows_escaped(client.get("/reviews/answer").get_data(as_text=True), SCRIPT, ESCAPED)
    assert client.post(f"/reviews/{review.id}/reply", data={"body": "谢谢<b>惠顾</b>"}).status_code == 303
    db.session.refresh(review)
    assert review.reply_body == "谢谢<b>惠顾</b>"
    auth.logout()
    page = client.get(product_url).get_data(as_text=True)
    assert _shows_escaped(page, "谢谢<b>惠顾</b>", "谢谢&lt;b&gt;惠顾&lt;/b&gt;")
    assert client.get(f"/api/v1/products/{product.id}/reviews").json["items"][0]["reply"] == "谢谢<b>惠顾</b>"
    # the county's moderation list, and a hide reason that looks like markup
    auth.login(county)
    assert _shows_escaped(client.get("/reviews/moderate").get_data(as_text=True), SCRIPT, ESCAPED)
    reason = "<i>辱骂</i> x<y"
    assert client.post(f"/reviews/{review.id}/hide", data={"reason": reason, "confirm": "1"}).status_code == 303
    db.session.refresh(review)
    assert review.hidden_reason == reason
    moderate = client.get("/reviews/moderate").get_data(as_text=True)
    assert _shows_escaped(moderate, reason, "&lt;i&gt;辱骂&lt;/i&gt; x&lt;y")
    auth.logout()
    # the buyer's order page names the reason; the API tells the author
    auth.login(world.buyer)
    mine = client.get(f"/orders/{order.code}").get_data(as_text=True)
    assert _shows_escaped(mine, reason, "&lt;i&gt;辱骂&lt;/i&gt; x&lt;y")


def test_a_stay_review_that_looks_like_markup_shows_escaped_on_the_listing_page(client, db, auth, api_token):
    host = make_user(role="host")
    listing = make_listing(host=host, name="罗渡农家乐")
    guest = make_user()
    done = stay_order(guest, listing)
    commit()
    line = next(line for line in done.lines if line.kind == "booking")
    r = client.post(
        f"/api/v1/orders/{done.code}/lines/{line.id}/review",
        json={"rating": 4, "body": SCRIPT},
        headers=api_token(guest),
    )
    assert r.status_code == 201 and r.json["body"] == SCRIPT
    page = client.get(f"/listings/{listing.id}-{listing.slug}").get_data(as_text=True)
    assert _shows_escaped(page, SCRIPT, ESCAPED)
    assert client.get(f"/api/v1/listings/{listing.id}/reviews").json["items"][0]["body"] == SCRIPT
    auth.login(host)
    assert _shows_escaped(client.get("/reviews/answer").get_data(as_text=True), SCRIPT, ESCAPED)


def test_text_with_angle_brackets_is_not_lost(client, db, world, now, auth, api_token):
    by_form, by_api = delivered_order(world, now), delivered_order(world, now)
    commit()
    headers = api_token(world.buyer)
    auth.login(world.buyer)
    assert _post(client, by_form, body="x<y和y>z").status_code == 303
    r = client.post(
        f"/api/v1/orders/{by_api.code}/lines/{by_api.lines[0].id}/review",
        json={"rating": 5, "body": "评分<b>5</b> &amp; 好"},
        headers=headers,
    )
    assert r.status_code == 201 and r.json["body"] == "评分<b>5</b> &amp; 好"
    assert sorted(db.session.scalars(sa.select(Review.body))) == sorted(["x<y和y>z", "评分<b>5</b> &amp; 好"])
    page = client.get(f"/products/{world.a.product.id}-{world.a.product.slug}").get_data(as_text=True)
    assert "x&lt;y和y&gt;z" in page and "评分&lt;b&gt;5&lt;/b&gt; &amp;amp; 好" in page


def test_a_tampered_rating_says_give_one_to_five_stars(client, db, world, now, auth, api_token):
    """A rating no star is (0, 6, "abc") was answered with WTForms' generic 请选择一个有效的选项 on the
    form and the generic validation_error on the API: both now say what a rating is."""
    order = delivered_order(world, now)
    commit()
    url = f"/api/v1/orders/{order.code}/lines/{order.lines[0].id}/review"
    headers = api_token(world.buyer)
    for rating in (0, 6, "abc", "5", 4.5, True, None):
        r = client.post(url, json={"rating": rating}, headers=headers)
        assert r.status_code == 422, rating
        assert r.json["error"]["code"] == "rating_out_of_range" and "rating" in r.json["error"]["fields"], rating
        assert r.json["error"]["message"] == "请给出 1 到 5 星的评分", rating
    auth.login(world.buyer)
    for rating in ("0", "6", "abc", ""):
        r = _post(client, order, rating=rating)
        html = r.get_data(as_text=True)
        assert r.status_code == 422 and "请给出 1 到 5 星的评分" in html, rating
        assert "请选择一个有效的选项" not in html, rating
    english = client.post(_url(order) + "?lang=en", data={"rating": "6"}, content_type="multipart/form-data")
    assert "Please rate from 1 to 5 stars" in english.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Review.id))) == 0


def test_review_forms_refused_for_what_they_say_do_not_count_towards_the_hourly_limit(
    client, db, world, now, auth, app, monkeypatch
):
    """Ten posts without stars (or with a tampered rating) used up the hour's ten: the buyer who then chose
    the stars was told 操作太频繁. Only a post that reaches the review service counts, written or not."""
    from shop.security import limiter

    monkeypatch.setitem(app.config, "RATE_LIMITS", True)
    limiter.reset()
    order = delivered_order(world, now)
    waiting = make_order([(world.a.product, 1)], buyer=world.buyer)  # not delivered: the service refuses it
    commit()
    auth.login(world.buyer)
    assert [_post(client, order, rating=r).status_code for r in ["", "abc"] * 6] == [422] * 12
    assert _post(client, order, body="长" * 501).status_code == 422
    assert _post(client, order).status_code == 303
    # posts the service refuses do count: nine more, then the limit
    codes = [_post(client, waiting).status_code for _ in range(10)]
    assert codes[:9] == [409] * 9 and codes[9] == 429
    limiter.reset()


def test_reply_forms_refused_for_what_they_say_do_not_count_towards_the_hourly_limit(
    client, db, world, now, auth, app, monkeypatch
):
    """The limit wrapped the whole reply route: ten empty or too long replies used up the station's hour,
    and the reply it then typed right was told 操作太频繁. As for a review, only a post that reaches the reply
    service counts, published or refused by it (replied already)."""
    from shop.security import limiter

    monkeypatch.setitem(app.config, "RATE_LIMITS", True)
    limiter.reset()
    order = delivered_order(world, now)
    commit()
    auth.login(world.buyer)
    assert _post(client, order).status_code == 303
    review = db.session.scalar(sa.select(Review))
    auth.logout()
    auth.login(world.a.operator)
    url = f"/reviews/{review.id}/reply"
    refused = [client.post(url, data={"body": body}).status_code for body in ["", "长" * 301] * 6]
    assert refused == [303] * 12
    assert db.session.scalar(sa.select(Review.replied_at)) is None
    assert client.post(url, data={"body": "谢谢惠顾"}).status_code == 303
    db.session.refresh(review)
    assert review.reply_body == "谢谢惠顾"
    # posts the service refuses do count: nine more (replied already), then the limit
    codes = [client.post(url, data={"body": "再回复"}).status_code for _ in range(10)]
    assert codes[:9] == [303] * 9 and codes[9] == 429
    limiter.reset()


def test_too_long_a_text_names_its_own_field(client, db, world, now, auth, api_token):
    """`review_too_long` named `body` whatever was too long: a hide reason over 200 characters (the API takes
    up to 400 before the service counts) named a field the hide call has not. Each names what was sent."""
    order = delivered_order(world, now)
    county = make_user(role="county")
    commit()
    created = client.post(
        f"/api/v1/orders/{order.code}/lines/{order.lines[0].id}/review",
        json={"rating": 1, "body": "长" * 501},
        headers=api_token(world.buyer),
    )
    assert created.status_code == 422
    error = created.json["error"]
    assert error["code"] == "review_too_long" and error["fields"] == {"body": "too_long"}
    review = client.post(
        f"/api/v1/orders/{order.code}/lines/{order.lines[0].id}/review",
        json={"rating": 1, "body": "骂人的话"},
        headers=api_token(world.buyer),
    ).json
    replied = client.post(
        f"/api/v1/reviews/{review['id']}/reply", json={"body": "长" * 301}, headers=api_token(world.a.operator)
    )
    assert replied.status_code == 422 and replied.json["error"]["fields"] == {"body": "too_long"}
    hidden = client.post(f"/api/v1/reviews/{review['id']}/hide", json={"reason": "长" * 201}, headers=api_token(county))
    assert hidden.status_code == 422
    assert hidden.json["error"] == {
        "code": "review_too_long",
        "message": "最多 200 个字",
        "fields": {"reason": "too_long"},
    }
    assert db.session.get(Review, review["id"]).hidden_at is None
