"""The county's review moderation (评价管理): every review reachable a page at a time, newest first,
filtered by hidden or not, low stars and a text in the review or its product's/listing's name; a 隐藏
link beside each review of a product or listing page for the county office and admins only, opening
that review's hide form, which returns to the page it came from."""

from __future__ import annotations

import re

import pytest

from reviews import services
from reviews.models import Review, ReviewPhoto
from shop.db import commit
from tests.factories import make_user
from tests.reviews.review_setup import delivered_order, moderation_mix, stay_order, walnut_review
from tests.sql_count import page_statements
from tests.tourism.factories import make_listing

LIST = "/reviews/moderate"


def _ids(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'id="review-(\d+)"', html)]


def test_moderation_pages_through_every_review_newest_first_in_a_fixed_number_of_statements(
    client, db, world, walnuts, now, auth
):
    per_page = services.MODERATION_PER_PAGE
    reviews = [walnut_review(world, now, minutes_ago=n, body=f"第{n}条") for n in range(per_page + 5)]
    county = make_user(role="county")
    commit()
    auth.login(county)
    first = client.get(LIST).get_data(as_text=True)
    assert _ids(first) == [r.id for r in reviews[:per_page]]
    assert f'href="{LIST}?page=2">下一页</a>' in first and "1 / 2" in first
    second = client.get(f"{LIST}?page=2").get_data(as_text=True)
    assert _ids(second) == [r.id for r in reviews[per_page:]]  # the oldest reachable, newest first
    assert "上一页" in second
    # the page past the last goes to the last
    past = client.get(f"{LIST}?page=9", follow_redirects=True)
    assert past.request.full_path == f"{LIST}?page=2" and _ids(past.get_data(as_text=True)) == _ids(second)
    # a full page asks no more of the database than a page of five
    _html, full = page_statements(client, LIST)
    _html, five = page_statements(client, f"{LIST}?page=2")
    assert len(full) == len(five), (full, five)


def test_moderation_filters_hidden_low_stars_and_text_and_keeps_them_across_pages(
    client, db, world, walnuts, now, auth
):
    shown_low, hidden_low, shown_high, of_listing, listing = moderation_mix(world, now)
    commit()
    auth.login(make_user(role="county"))

    def ids(query: str) -> list[int]:
        res = client.get(f"{LIST}?{query}")
        assert res.status_code == 200, query
        return _ids(res.get_data(as_text=True))

    assert ids("") == [shown_low.id, hidden_low.id, shown_high.id, of_listing.id]
    assert ids("state=shown") == [shown_low.id, shown_high.id, of_listing.id]
    assert ids("state=hidden") == [hidden_low.id]
    assert ids("low=1") == [shown_low.id, hidden_low.id]
    assert ids("low=1&state=shown") == [shown_low.id]
    assert ids("q=微信") == [hidden_low.id]
    assert ids("q=农家") == [of_listing.id]  # the listing's name
    assert ids("q=核桃") == [shown_low.id, hidden_low.id, shown_high.id]  # the product's
    # % and _ are letters typed, not LIKE's wildcards
    assert ids("q=%25") == [shown_high.id] and ids("q=0%25_") == [shown_high.id] and ids("q=_") == [shown_high.id]
    assert "没有符合条件的评价" in client.get(f"{LIST}?q=没有这句话").get_data(as_text=True)
    # the filters stay on the next page and in the hide form's way back
    for n in range(services.MODERATION_PER_PAGE):
        walnut_review(world, now, minutes_ago=10 + n, rating=1, body="差")
    commit()
    page = client.get(f"{LIST}?state=shown&low=1").get_data(as_text=True)
    assert 'href="/reviews/moderate?page=2&amp;state=shown&amp;low=1">下一页</a>' in page
    assert '<input type="hidden" name="next" value="/reviews/moderate?state=shown&amp;low=1">' in page


@pytest.mark.parametrize(
    "query", ["state=gone", "low=yes", "page=abc", "page=0", "page=-1", "page=99999999999", "q=" + "长" * 101]
)
def test_a_filter_that_makes_no_sense_gives_the_whole_list_with_a_message(client, db, world, walnuts, now, auth, query):
    hidden = walnut_review(world, now, minutes_ago=1, hidden=True)
    shown = walnut_review(world, now, minutes_ago=2)
    commit()
    auth.login(make_user(role="county"))
    res = client.get(f"{LIST}?{query}")
    html = res.get_data(as_text=True)
    assert res.status_code == 200 and "筛选条件无效，已显示全部评价" in html
    assert _ids(html) == [hidden.id, shown.id]
    en = client.get(f"{LIST}?{query}&lang=en").get_data(as_text=True)
    assert "Invalid filter: showing all reviews" in en


@pytest.mark.parametrize("role", ["consumer", "operator", "host"])
def test_only_the_county_and_admins_moderate(client, db, world, walnuts, now, auth, role):
    review = walnut_review(world, now, minutes_ago=1)
    user = make_user(role=role, station=world.a.station if role == "operator" else None)
    commit()
    auth.login(user)
    for url in (LIST, f"{LIST}?state=hidden&page=2", f"/reviews/{review.id}/moderate"):
        assert client.get(url).status_code == 403, url
    assert client.post(f"/reviews/{review.id}/hide", data={"reason": "x", "confirm": "1"}).status_code == 403
    assert db.session.get(Review, review.id).hidden_at is None
    auth.logout()
    auth.login(make_user(role="admin"))
    assert client.get(LIST).status_code == 200 and client.get(f"/reviews/{review.id}/moderate").status_code == 200


def _moderate_links(html: str) -> list[str]:
    return re.findall(r'href="(/reviews/\d+/moderate[^"]*)"', html)


@pytest.mark.parametrize("cached", [False, True])
def test_a_product_page_offers_the_county_a_hide_link_per_review_that_comes_back(
    client, db, world, walnuts, now, auth, api_token, request, cached
):
    if cached:
        request.getfixturevalue("cache_on")
    order = delivered_order(world, now)
    commit()
    review = client.post(
        f"/api/v1/orders/{order.code}/lines/{order.lines[0].id}/review",
        json={"rating": 1, "body": "骂人的话"},
        headers=api_token(world.buyer),
    ).json
    product = world.a.product
    url = f"/products/{product.id}-{product.slug}"
    county, admin = make_user(role="county"), make_user(role="admin")
    others = [world.buyer, world.a.operator, make_user(role="host")]
    commit()
    assert "骂人的话" in client.get(url).get_data(as_text=True) and not _moderate_links(
        client.get(url).get_data(as_text=True)
    )
    for user in others:
        auth.login(user)
        assert not _moderate_links(client.get(url).get_data(as_text=True)), user.role
        auth.logout()
    auth.login(admin)
    assert _moderate_links(client.get(url).get_data(as_text=True)) == [
        f"/reviews/{review['id']}/moderate?next={url}%23reviews"
    ]
    auth.logout()
    auth.login(county)
    [link] = _moderate_links(client.get(url).get_data(as_text=True))
    one = client.get(link.replace("&amp;", "&")).get_data(as_text=True)
    assert "骂人的话" in one and f'name="next" value="{url}#reviews"' in one and f'href="{url}#reviews">返回</a>' in one
    # a reason of spaces: back to this review's form, still on its way back to the product page
    again = client.post(f"/reviews/{review['id']}/hide", data={"reason": " ", "next": f"{url}#reviews"})
    assert again.status_code == 303 and again.location.startswith(f"/reviews/{review['id']}/moderate?next=")
    asked = client.post(f"/reviews/{review['id']}/hide", data={"reason": "辱骂", "next": f"{url}#reviews"})
    confirm = client.get(asked.location).get_data(as_text=True)
    assert f'href="{url}#reviews"' in confirm  # 取消 goes back to the product page
    done = client.post(
        f"/reviews/{review['id']}/hide", data={"reason": "辱骂", "next": f"{url}#reviews", "confirm": "1"}
    )
    assert done.status_code == 303 and done.location == f"{url}#reviews"
    page = client.get(url).get_data(as_text=True)
    assert "评价已隐藏" in page and "骂人的话" not in page
    # somewhere off the site is never where it returns
    other = walnut_review(world, now, minutes_ago=1)
    commit()
    assert (
        client.get(f"/reviews/{other.id}/moderate?next=//evil.example")
        .get_data(as_text=True)
        .count('name="next" value="/reviews/moderate"')
        == 1
    )


def test_a_listing_page_offers_the_county_the_hide_link(client, db, world, walnuts, now, auth, api_token):
    host = make_user(role="host")
    listing = make_listing(host=host, name="罗渡农家乐")
    guest = make_user()
    stay = stay_order(guest, listing)
    commit()
    review = client.post(
        f"/api/v1/orders/{stay.code}/lines/{stay.lines[0].id}/review",
        json={"rating": 2, "body": "很吵"},
        headers=api_token(guest),
    ).json
    url = f"/listings/{listing.id}-{listing.slug}"
    auth.login(host)
    assert not _moderate_links(client.get(url).get_data(as_text=True))
    auth.logout()
    auth.login(make_user(role="county"))
    html = client.get(url).get_data(as_text=True)
    assert _moderate_links(html) == [f"/reviews/{review['id']}/moderate?next={url}%23reviews"]
    en = client.get(f"{url}?lang=en").get_data(as_text=True)
    assert re.search(rf'href="/reviews/{review["id"]}/moderate[^"]*">Hide</a>', en)


def test_moderation_shows_a_reviews_photos_in_a_fixed_number_of_statements(client, db, world, walnuts, now, auth):
    """An abusive photo is a reason to hide a review: the list shows each review's photos (as the product page
    does), read with the page's reviews at once — a page of reviews with photos costs what one with one does."""
    per_page = services.MODERATION_PER_PAGE
    reviews = [walnut_review(world, now, minutes_ago=n, body=f"第{n}条") for n in range(per_page + 2)]
    for n, review in enumerate(reviews):
        for k in range(2 if n < per_page else 1):
            db.session.add(
                ReviewPhoto(review_id=review.id, path=f"reviews/p{n}-{k}.jpg", thumb_path=f"reviews/t{n}-{k}.jpg")
            )
    commit()
    auth.login(make_user(role="county"))
    html, full = page_statements(client, LIST)
    assert 'src="/media/reviews/t0-0.jpg"' in html and 'src="/media/reviews/t0-1.jpg"' in html
    assert html.count('class="review-photos"') == per_page
    _html, two = page_statements(client, f"{LIST}?page=2")
    assert len(full) == len(two), (full, two)
