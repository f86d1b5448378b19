"""Finding any product for a purchase: the purchase form offers the newest hundred products and finds any
other with the shop's search (its 查找商品 field keeps what the form holds); a product page offers
加入采购单 to the buyers of verified organisations only — a personal part of the cached page — which
opens the form with that product chosen."""

from __future__ import annotations

import re

import pytest

from shop.db import commit
from shop.once import new_form_token
from tests.factories import make_category, make_product, make_station, make_user
from tests.institutions.factories import make_organisation
from tests.institutions.test_purchases import _day
from tests.orders.factories import ADDRESS_JSON


@pytest.fixture
def index_dir(app, tmp_path):
    """A real, empty search index for this test (built from the database on the first search)."""
    from search import index as search

    old = app.config["SEARCH_INDEX_DIR"]
    app.config["SEARCH_INDEX_DIR"] = str(tmp_path / "index")
    search.reset_engines()
    yield
    app.config["SEARCH_INDEX_DIR"] = old
    search.reset_engines()


def _login(app, user):
    client = app.test_client()
    client.post("/login", data={"email": user.email, "password": "password123"})
    return client


def _selected(page: str, row: int) -> str | None:
    select = page.split(f'name="product_{row}"', 1)[1].split("</select>", 1)[0]
    found = re.search(r'<option value="(\d+)" selected>', select)
    return found.group(1) if found else None


def test_the_purchase_form_finds_a_product_beyond_the_newest_hundred(app, db, index_dir):
    station, category = make_station(), make_category()
    lotus = make_product(name="藕粉", station=station, category=category)  # the oldest: not among the newest 100
    for n in range(100):
        make_product(name=f"大米{n}号", station=station, category=category)
    buyer = make_user()
    organisation = make_organisation(members={"buyer": buyer})
    commit()
    client = _login(app, buyer)
    url = f"/organisations/{organisation.id}/purchases/new"
    page = client.get(url).get_data(as_text=True)
    assert "藕粉" not in page and "大米0号" in page and 'id="purchase-q"' in page

    typed = {
        "delivery": "ship",
        "requested_date": _day(),
        "payment_method": "cod",
        "label": "本部食堂",
        **ADDRESS_JSON,
        "form_token": new_form_token(),
        "product_0": "",
        "quantity_0": "",
        "product_1": "",
        "quantity_1": "",
    }
    rice = client.get(url).get_data(as_text=True).split("大米7号", 1)[0].rsplit('<option value="', 1)[1].split('"')[0]
    typed.update(product_0=rice, quantity_0="4")
    r = client.post(url, data={**typed, "q": "藕粉", "action": "find"})
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    assert "藕粉" in page and "找到 1 件商品" in page
    assert _selected(page, 0) == rice and 'value="本部食堂"' in page  # what was typed is kept; nothing saved
    assert 'value="藕粉"' in page  # the query stays in its field
    typed.update(product_1=str(lotus.id), quantity_1="2")
    r = client.post(url, data={**typed, "q": "藕粉"})
    assert r.status_code == 303, r.get_data(as_text=True)
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "藕粉" in page and "大米7号" in page

    # pinyin, as the shop's search reads it; a query that finds nothing says so
    page = client.post(url, data={**typed, "q": "oufen", "action": "find"}).get_data(as_text=True)
    assert "藕粉" in page
    page = client.post(url, data={**typed, "q": "榴莲", "action": "find"}).get_data(as_text=True)
    assert "没有找到“榴莲”" in page


def test_a_product_page_offers_add_to_purchase_to_organisation_buyers_only(app, db, cache_on):
    station, category = make_station(), make_category()
    lotus = make_product(name="藕粉", station=station, category=category)
    for n in range(100):  # newer ones: the oldest is not among the form's first hundred
        make_product(name=f"大米{n}号", station=station, category=category)
    buyer, approver, shopper = make_user(), make_user(), make_user()
    organisation = make_organisation(members={"buyer": buyer, "approver": approver})
    waiting_buyer = make_user()
    make_organisation(name="待审核单位", status="pending", members={"buyer": waiting_buyer})
    commit()
    page_url = f"/products/{lotus.id}-{lotus.slug}"
    link = f'href="/organisations/{organisation.id}/purchases/new?product={lotus.id}"'
    anonymous = app.test_client()
    assert "加入采购单" not in anonymous.get(page_url).get_data(as_text=True)  # the shared page, now cached
    for user in (approver, shopper, waiting_buyer):
        page = _login(app, user).get(page_url).get_data(as_text=True)
        assert "加入采购单" not in page, user
    buyer_client = _login(app, buyer)
    page = buyer_client.get(page_url).get_data(as_text=True)
    assert link in page and "加入采购单" in page
    assert "加入采购单" not in anonymous.get(page_url).get_data(as_text=True)  # never in the shared body

    form = buyer_client.get(f"/organisations/{organisation.id}/purchases/new?product={lotus.id}")
    assert form.status_code == 200
    page = form.get_data(as_text=True)
    assert _selected(page, 0) == str(lotus.id) and _selected(page, 1) is None
