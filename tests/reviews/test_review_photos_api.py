"""Review photos through the JSON API (#21): the author adds up to three photos to their review, one
multipart `photo` a call, checked like product photos (docs/uploads.md); anything else is refused and
nothing is stored."""

from __future__ import annotations

import io
import os

import sqlalchemy as sa

from reviews.models import ReviewPhoto
from shop.db import commit
from shop.extensions import db
from tests.factories import make_user
from tests.reviews.review_setup import delivered_order
from tests.stations.factories import image_bytes


def _review(client, world, now, headers):
    order = delivered_order(world, now)
    commit()
    r = client.post(
        f"/api/v1/orders/{order.code}/lines/{order.lines[0].id}/review",
        json={"rating": 5, "body": "鸡蛋新鲜"},
        headers=headers,
    )
    assert r.status_code == 201, r.json
    return r.json["id"]


def _photo(client, review_id, headers, payload, name="p.jpg"):
    return client.post(
        f"/api/v1/reviews/{review_id}/photos",
        headers=headers,
        data={"photo": (io.BytesIO(payload), name)},
        content_type="multipart/form-data",
    )


def _count():
    return db.session.scalar(sa.select(sa.func.count(ReviewPhoto.id)))


def _files(app) -> int:
    root = os.path.join(app.config["UPLOAD_DIR"], "reviews")
    return sum(len(files) for _d, _s, files in os.walk(root)) if os.path.isdir(root) else 0


def test_the_author_adds_up_to_three_photos_through_the_api(client, db, world, now, api_token, app):
    headers = api_token(world.buyer)
    review_id = _review(client, world, now, headers)
    for n in (1, 2, 3):
        r = _photo(client, review_id, headers, image_bytes("JPEG", (2400, 1800)))
        assert r.status_code == 201, r.json
        assert len(r.json["photos"]) == n
    photo = db.session.scalars(sa.select(ReviewPhoto).order_by(ReviewPhoto.id)).first()
    assert (photo.width, photo.height) == (1200, 900)  # re-encoded at 1200 px like product photos
    before = _files(app)
    fourth = _photo(client, review_id, headers, image_bytes())
    assert fourth.status_code == 422 and fourth.json["error"]["code"] == "too_many_photos"
    assert _count() == 3 and _files(app) == before
    listed = client.get(f"/api/v1/products/{world.a.product.id}/reviews").json["items"][0]
    assert len(listed["photos"]) == 3 and listed["photos"][0]["thumb_url"].startswith("/media/reviews/")


def test_bad_photos_and_other_users_are_refused_and_nothing_is_stored(client, db, world, now, api_token, app):
    headers = api_token(world.buyer)
    review_id = _review(client, world, now, headers)
    files = _files(app)
    for payload, name in (
        (b"%PDF-1.4 not an image", "p.jpg"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "p.png"),
        (b"", "p.jpg"),
    ):
        r = _photo(client, review_id, headers, payload, name)
        assert r.status_code == 422 and r.json["error"]["code"].startswith(("invalid_image", "image_")), r.json
    missing = client.post(
        f"/api/v1/reviews/{review_id}/photos", headers=headers, data={}, content_type="multipart/form-data"
    )
    assert missing.status_code == 422 and missing.json["error"]["code"] == "image_required"
    other = api_token(make_user())
    commit()
    assert _photo(client, review_id, other, image_bytes()).status_code == 404
    assert _photo(client, 987654, headers, image_bytes()).status_code == 404
    assert (
        client.post(
            f"/api/v1/reviews/{review_id}/photos", data={"photo": (io.BytesIO(image_bytes()), "p.png")}
        ).status_code
        == 401
    )
    assert _count() == 0 and _files(app) == files


def test_the_openapi_document_describes_the_photo_upload(client):
    spec = client.get("/api/v1/openapi.json").json
    op = spec["paths"]["/api/v1/reviews/{review_id}/photos"]["post"]
    assert "photo" in op["requestBody"]["content"]["multipart/form-data"]["schema"]["properties"]
    assert {"201", "404", "409", "422"} <= set(op["responses"])


def test_a_product_with_variants_shows_the_reviews_of_all_its_variants(client, db, world, now, api_token):
    from catalog.services import join_family
    from tests.factories import make_product

    eggs = world.a.product
    box = make_product(name="A土鸡蛋60枚", stock=10, station=world.a.station, category=world.category)
    join_family(box, eggs.id, "60枚装", now=now, sibling_label="30枚装")
    order = delivered_order(world, now, product=box)
    commit()
    r = client.post(
        f"/api/v1/orders/{order.code}/lines/{order.lines[0].id}/review",
        json={"rating": 4, "body": "大盒很划算"},
        headers=api_token(world.buyer),
    )
    assert r.status_code == 201, r.json
    commit()
    page = client.get(f"/products/{eggs.id}-{eggs.slug}").get_data(as_text=True)  # the other variant's page
    assert "大盒很划算" in page and "4.0 分 · 1 条评价" in page and "60枚装" in page
    assert "4.0 分 · 1 条评价" in client.get("/products").get_data(as_text=True)
    api = client.get(f"/api/v1/products/{eggs.id}/reviews").json
    assert api["rating_count"] == 1 and api["items"][0]["product_id"] == box.id
