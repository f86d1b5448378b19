"""Every list of reviews reads what it shows — the writers' names, the photos, the replies, the variant each
review names — with its reviews at once: a list of ten reviews by ten writers, each with photos and a reply,
sends the same number of SQL statements as a list of one. The product page and its API (a product with
variants, 规格), the listing page and its API, and the station's and host's 买家评价 (their replies).

A writer whose account was deactivated keeps the masked name every review shows; a writer with no name
shows the placeholder `***`; neither is an error."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from reviews.models import Review, ReviewPhoto
from shop.db import commit
from shop.extensions import db
from tests.catalog.variant_family import make_family
from tests.factories import make_user
from tests.reviews.review_setup import stay_order
from tests.sql_count import page_statements
from tests.stations.factories import make_order
from tests.tourism.factories import make_listing


def _review(author, n: int, now, *, product=None, listing=None) -> Review:
    """A review by `author` of `product` or `listing` on its own order line, with two photos and a reply, counted
    in its subject's aggregates as `reviews.services` counts a visible review (setup only: the lists read rows)."""
    order = make_order([(product, 1)], buyer=author) if product is not None else stay_order(author, listing)
    review = Review(
        order_line_id=order.lines[0].id,
        user_id=author.id,
        product_id=product.id if product is not None else None,
        listing_id=listing.id if listing is not None else None,
        station_id=product.station_id if product is not None else None,
        rating=4,
        body=f"第{n}条评价",
        created_at=now - timedelta(minutes=n),
        reply_body=f"谢谢第{n}位",
        replied_at=now,
    )
    db.session.add(review)
    db.session.flush()
    for k in range(2):
        db.session.add(
            ReviewPhoto(
                review_id=review.id, path=f"reviews/{review.id}-{k}.jpg", thumb_path=f"reviews/{review.id}-{k}t.jpg"
            )
        )
    subject = product if product is not None else listing
    subject.rating_count += 1
    subject.rating_sum += 4
    db.session.flush()
    return review


@pytest.fixture
def subjects(db, world):
    """三江腌菜 in three variants sold by station A, and a stay with its host."""
    bag, box, jar = make_family(stocks=(50, 50, 50), station=world.a.station)
    host = make_user(role="host")
    listing = make_listing(host=host, name="罗渡山居")
    return bag, (bag, box, jar), listing, host


def _readable(body: str, statements: list[str]) -> tuple[str, list[str]]:
    """A page as it reads, an API's JSON with its Chinese unescaped."""
    if body.startswith("{"):
        body = json.dumps(json.loads(body), ensure_ascii=False)
    return body, statements


def _counts(client, auth, world, subjects) -> dict[str, tuple[str, list[str]]]:
    bag, _variants, listing, host = subjects
    pages = {
        "product page": f"/products/{bag.id}-{bag.slug}",
        "product api": f"/api/v1/products/{bag.id}/reviews",
        "listing page": f"/listings/{listing.id}-{listing.slug}",
        "listing api": f"/api/v1/listings/{listing.id}/reviews",
    }
    seen = {name: _readable(*page_statements(client, url)) for name, url in pages.items()}
    auth.login(world.a.operator)
    seen["station's 买家评价"] = page_statements(client, "/reviews/answer")
    auth.logout()
    auth.login(host)
    seen["host's 买家评价"] = page_statements(client, "/reviews/answer")
    auth.logout()
    return seen


def test_review_lists_take_the_same_statements_for_one_review_or_ten_by_ten_writers(
    client, db, world, now, auth, subjects
):
    _bag, variants, listing, _host = subjects
    first = make_user(name="王小明")
    _review(first, 0, now, product=variants[0])
    _review(first, 0, now, listing=listing)
    commit()
    one = _counts(client, auth, world, subjects)
    for html, _statements in one.values():
        assert "第0条评价" in html and "谢谢第0位" in html and "-0t.jpg" in html
    assert "王**" in one["product page"][0] and "王**" in one["listing page"][0]

    for n in range(1, 10):
        author = make_user(name=f"{'赵钱孙李周吴郑冯陈'[n - 1]}某")
        _review(author, n, now, product=variants[n % 3])
        _review(author, n, now, listing=listing)
    commit()
    ten = _counts(client, auth, world, subjects)
    for name, (html, _statements) in ten.items():
        for n in range(10):
            assert f"第{n}条评价" in html and f"谢谢第{n}位" in html, (name, n)
    for page in ("product page", "listing page"):
        assert all(f"{surname}**" in ten[page][0] for surname in "王赵钱孙李周吴郑冯陈"), page
    assert "2斤礼盒" in ten["product page"][0] and "5斤坛装" in ten["product page"][0]  # each names its variant
    assert ten["product api"][0].count('"thumb_url"') == 20 and ten["listing api"][0].count('"thumb_url"') == 20

    grew = [
        f"{name}: {len(one[name][1])} then {len(ten[name][1])}"
        for name in one
        if len(ten[name][1]) != len(one[name][1])
    ]
    assert not grew, "statements for one review, then ten: " + "; ".join(grew)


def test_a_deactivated_or_nameless_writer_shows_a_placeholder_not_an_error(client, db, world, now, auth, subjects):
    bag, variants, listing, _host = subjects
    gone = make_user(name="张三")
    nameless = make_user()
    nameless.name = ""
    _review(gone, 1, now, product=variants[0])
    _review(nameless, 2, now, product=variants[0])
    gone.is_active_account = False  # the admin deactivated the account after it wrote its review
    commit()
    page = client.get(f"/products/{bag.id}-{bag.slug}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "张**" in html and "***" in html and "张三" not in html
    api = client.get(f"/api/v1/products/{bag.id}/reviews")
    assert api.status_code == 200
    assert [item["author"] for item in api.json["items"]] == ["张**", "***"]
