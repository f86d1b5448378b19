"""评价管理 through the JSON API (`GET /api/v1/reviews/moderation`, reviews.api): the same service as the page
`/reviews/moderate` (`services.moderation_reviews`): every review, hidden ones included with their reason,
newest first, filtered by state, low stars and a text, a page at a time; the county office and admins only;
a filter it does not offer is a 422 naming it (the page shows the whole list instead). Hiding one is
`POST /api/v1/reviews/{id}/hide` (tests/reviews/test_reviews.py)."""

from __future__ import annotations

import pytest

from reviews import services
from shop.db import commit
from tests.factories import make_user
from tests.reviews.review_setup import moderation_mix, walnut_review
from tests.sql_count import page_statements

URL = "/api/v1/reviews/moderation"


def _ids(res) -> list[int]:
    assert res.status_code == 200, res.json
    return [r["id"] for r in res.json["items"]]


def test_the_list_pages_through_every_review_newest_first(client, db, world, walnuts, now, api_token):
    per_page = services.MODERATION_PER_PAGE
    reviews = [walnut_review(world, now, minutes_ago=n, body=f"第{n}条") for n in range(per_page + 5)]
    commit()
    headers = api_token(make_user(role="county"))
    first = client.get(URL, headers=headers)
    assert _ids(first) == [r.id for r in reviews[:per_page]]
    assert (first.json["total"], first.json["page"], first.json["per_page"]) == (per_page + 5, 1, per_page)
    second = client.get(f"{URL}?page=2", headers=headers)
    assert _ids(second) == [r.id for r in reviews[per_page:]]
    assert _ids(client.get(f"{URL}?page=2&per_page=10", headers=headers)) == [r.id for r in reviews[10:20]]
    past = client.get(f"{URL}?page=9", headers=headers)  # past the last: an empty page, the total said
    assert past.json["items"] == [] and past.json["total"] == per_page + 5


def test_the_filters_are_the_pages_and_hidden_reviews_say_why(client, db, world, walnuts, now, api_token):
    shown_low, hidden_low, shown_high, of_listing, listing = moderation_mix(world, now)
    commit()
    headers = api_token(make_user(role="county"))

    def ids(query: str) -> list[int]:
        return _ids(client.get(f"{URL}?{query}", headers=headers))

    assert ids("") == [shown_low.id, hidden_low.id, shown_high.id, of_listing.id]
    assert ids("state=shown") == [shown_low.id, shown_high.id, of_listing.id]
    assert ids("state=hidden") == [hidden_low.id]
    assert ids("low=1") == ids("low=true") == [shown_low.id, hidden_low.id]
    assert ids("low=1&state=shown") == [shown_low.id]
    assert ids("q=微信") == [hidden_low.id]
    assert ids("q=农家") == [of_listing.id]
    assert ids("q=%25") == [shown_high.id] and ids("q=_") == [shown_high.id]
    items = {r["id"]: r for r in client.get(URL, headers=headers).json["items"]}
    hidden = items[hidden_low.id]
    assert (hidden["hidden"], hidden["hidden_reason"], hidden["subject"]) == (True, "辱骂", "山核桃")
    assert hidden["hidden_at"] is not None
    assert items[of_listing.id]["subject"] == "罗渡农家乐" and items[of_listing.id]["listing_id"] == listing.id
    assert items[shown_low.id]["hidden_reason"] is None and items[shown_low.id]["hidden_at"] is None
    # the buyer is masked, as on every page
    assert world.buyer.name not in str(client.get(URL, headers=headers).json)


def test_a_hide_through_the_api_shows_in_the_list(client, db, world, walnuts, now, api_token):
    review = walnut_review(world, now, minutes_ago=1)
    commit()
    headers = api_token(make_user(role="admin"))
    hidden = client.post(f"/api/v1/reviews/{review.id}/hide", json={"reason": "广告"}, headers=headers)
    assert hidden.status_code == 200, hidden.json
    listed = client.get(f"{URL}?state=hidden", headers=headers).json["items"]
    assert [(r["id"], r["hidden_reason"]) for r in listed] == [(review.id, "广告")]


@pytest.mark.parametrize(
    "query,field",
    [
        ("state=gone", "state"),
        ("low=maybe", "low"),
        ("page=abc", "page"),
        ("page=0", "page"),
        ("page=-1", "page"),
        ("page=99999999999", "page"),
        (f"page={2**64}", "page"),
        ("per_page=51", "per_page"),
        ("q=" + "长" * 101, "q"),
    ],
)
def test_a_filter_it_does_not_offer_is_a_422_naming_it(client, db, world, walnuts, now, api_token, query, field):
    walnut_review(world, now, minutes_ago=1)
    commit()
    res = client.get(f"{URL}?{query}", headers=api_token(make_user(role="county")))
    assert res.status_code == 422 and res.json["error"]["code"] == "validation_error"
    assert field in res.json["error"]["fields"]


@pytest.mark.parametrize("role", ["consumer", "operator", "host"])
def test_only_the_county_and_admins_moderate(client, db, world, walnuts, now, api_token, role):
    walnut_review(world, now, minutes_ago=1, hidden=True)
    user = make_user(role=role, station=world.a.station if role == "operator" else None)
    commit()
    res = client.get(URL, headers=api_token(user))
    assert res.status_code == 403 and res.json["error"]["code"] == "forbidden"
    anonymous = client.get(URL)
    assert anonymous.status_code == 401
    assert _ids(client.get(URL, headers=api_token(make_user(role="admin"))))


def test_a_full_page_reads_what_a_page_of_one_does(client, db, world, walnuts, now, auth):
    """Each review's writer (its masked `author`), subject and photos are read for the whole page at once."""
    first = walnut_review(world, now, minutes_ago=0)
    commit()
    auth.login(make_user(role="county"))
    _json, one = page_statements(client, URL)
    for n in range(services.MODERATION_PER_PAGE - 1):
        review = walnut_review(world, now, minutes_ago=n + 1)
        review.user_id = make_user().id  # each by another buyer
    commit()
    _json, full = page_statements(client, URL)
    assert len(full) == len(one), "\n\n".join(full)
    assert first.id in [r["id"] for r in client.get(URL).json["items"]]
