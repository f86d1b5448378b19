"""Finding any product for a purchase: the purchase form (and the quote request) offers the newest hundred
products and finds any other with the shop's search (its 查找商品 field keeps what the form holds; Enter
there searches, Enter elsewhere saves); a product page offers 加入采购单 to the buyers of verified
organisations only — a personal part of the cached page — which opens the form with that product chosen."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from institutions.models import Purchase, QuoteRequest
from shop.db import commit
from shop.extensions import db as _db
from shop.once import new_form_token
from tests.factories import make_category, make_product, make_station, make_user
from tests.institutions.factories import make_organisation
from tests.institutions.purchase_setup import requested_day
from tests.once_token import once_token
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
        "requested_date": requested_day(),
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


def _buttons(page: str, form_start: str) -> list[str]:
    """The submit buttons of the form opened by `form_start`, in tree order, as their opening tags."""
    form = page.split(form_start, 1)[1].split("</form>", 1)[0]
    return re.findall(r'<button type="submit"[^>]*>', form)


def test_enter_in_the_purchase_form_saves_but_in_its_search_field_searches(app, db, index_dir):
    """The form's default button (its first submit button: what Enter presses) saves; 查找 is pressed by
    Enter in the 查找商品 field (js/enter_button.js) — and without JavaScript an Enter on a query typed but
    not yet searched (`q` is not `shown_q`) searches first, saving nothing."""
    station, category = make_station(), make_category()
    lotus = make_product(name="藕粉", station=station, category=category)
    buyer = make_user()
    organisation = make_organisation(members={"buyer": buyer})
    commit()
    client = _login(app, buyer)
    url = f"/organisations/{organisation.id}/purchases/new"
    page = client.get(url).get_data(as_text=True)
    buttons = _buttons(page, '<form method="post" class="form"')
    assert 'value="enter"' in buttons[0] and 'value="find"' not in buttons[0]  # Enter saves
    find = [b for b in buttons if 'value="find"' in b]
    assert len(find) == 1 and 'id="purchase-find-button"' in find[0]
    assert 'data-enter="purchase-find-button"' in page and "js/enter_button.js" in page

    typed = {
        "delivery": "ship",
        "requested_date": requested_day(),
        "payment_method": "cod",
        "label": "本部食堂",
        **ADDRESS_JSON,
        "form_token": new_form_token(),
        "product_0": str(lotus.id),
        "quantity_0": "2",
    }
    saved = sa.select(sa.func.count(Purchase.id))
    # Enter in the search field on a new query (no script): the search, as typed, nothing saved
    r = client.post(url, data={**typed, "q": "藕粉", "shown_q": "", "action": "enter"})
    assert r.status_code == 200 and "找到 1 件商品" in r.get_data(as_text=True)
    assert 'name="shown_q" value="藕粉"' in r.get_data(as_text=True)
    assert _db.session.scalar(saved) == 0
    # Enter once the query was searched (or with none): saved
    r = client.post(url, data={**typed, "q": "藕粉", "shown_q": "藕粉", "action": "enter"})
    assert r.status_code == 303, r.get_data(as_text=True)
    assert _db.session.scalar(saved) == 1
    r = client.post(url, data={**typed, "form_token": new_form_token(), "q": "", "shown_q": "", "action": "enter"})
    assert r.status_code == 303 and _db.session.scalar(saved) == 2
    # 查找 itself always searches; 保存草稿 always saves, even with a query not yet searched
    r = client.post(
        url, data={**typed, "form_token": new_form_token(), "q": "藕粉", "shown_q": "藕粉", "action": "find"}
    )
    assert r.status_code == 200 and _db.session.scalar(saved) == 2
    r = client.post(url, data={**typed, "form_token": new_form_token(), "q": "大米", "shown_q": "", "action": "save"})
    assert r.status_code == 303 and _db.session.scalar(saved) == 3


def test_enter_pressed_twice_on_the_purchase_form_saves_one_draft(app, db, index_dir):
    """Enter pressed twice quickly in the purchase form without script (both POSTs from the same page, with
    its once-token): one draft, the second told the form was sent already — also from the page its
    查找商品 showed again (it keeps the page's token)."""
    rice = make_product(name="南昌大米")
    buyer = make_user()
    organisation = make_organisation(members={"buyer": buyer})
    commit()
    client = _login(app, buyer)
    url = f"/organisations/{organisation.id}/purchases/new"
    saved = sa.select(sa.func.count(Purchase.id)).where(Purchase.organisation_id == organisation.id)
    for q in ("", "大米"):
        page = client.get(url).get_data(as_text=True)
        token = once_token(page)
        typed = {
            "delivery": "ship",
            "requested_date": requested_day(),
            "payment_method": "cod",
            "label": "本部食堂",
            **ADDRESS_JSON,
            "form_token": token,
            "product_0": str(rice.id),
            "quantity_0": "2",
            "q": q,
            "shown_q": "",
            "action": "enter",
        }
        before = _db.session.scalar(saved)
        if q:  # the first Enter searches (a new query); the page shown again keeps the token
            found = client.post(url, data=typed).get_data(as_text=True)
            assert f'name="form_token" type="hidden" value="{token}"' in found
            typed["shown_q"] = q
        first = client.post(url, data=typed)
        second = client.post(url, data=typed)
        assert first.status_code == 303 and "/purchases/" in first.headers["Location"]
        assert second.status_code == 303 and second.headers["Location"].endswith(f"/organisations/{organisation.id}")
        assert _db.session.scalar(saved) == before + 1, q


def test_the_quote_request_finds_a_product_beyond_the_newest_hundred_keeping_what_was_typed(app, db, index_dir):
    """The quote request offers what the purchase form offers (`product_choices`): any product is found by
    its 查找商品, the rest of the form kept as typed; Enter elsewhere sends, as on the purchase form."""
    station, category = make_station(), make_category()
    lotus = make_product(name="藕粉", station=station, category=category)  # the oldest: not among the newest 100
    for n in range(100):
        make_product(name=f"大米{n}号", station=station, category=category)
    buyer = make_user()
    organisation = make_organisation(members={"buyer": buyer})
    commit()
    client = _login(app, buyer)
    url = f"/organisations/{organisation.id}/quote-requests"
    page = client.get(url).get_data(as_text=True)
    assert "藕粉" not in page and "大米0号" in page and 'id="purchase-q"' in page
    buttons = _buttons(page, '<form method="post" class="form narrow"')
    assert 'value="enter"' in buttons[0] and any('value="find"' in b for b in buttons[1:])

    typed = {"quantity": "40", "needed_by": requested_day(), "note": "食堂月度", "form_token": new_form_token()}
    r = client.post(url, data={**typed, "q": "藕粉", "action": "find"})
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    assert "找到 1 件商品" in page and f'<option value="{lotus.id}"' in page
    assert 'value="40"' in page and 'value="食堂月度"' in page and f'value="{typed["needed_by"]}"' in page
    assert _db.session.scalar(sa.select(sa.func.count(QuoteRequest.id))) == 0
    # pinyin, as the shop's search reads it; Enter on a query not yet searched searches
    r = client.post(url, data={**typed, "q": "oufen", "shown_q": "", "action": "enter"})
    assert r.status_code == 200 and f'<option value="{lotus.id}"' in r.get_data(as_text=True)

    r = client.post(
        url, data={**typed, "product_id": str(lotus.id), "q": "oufen", "shown_q": "oufen", "action": "enter"}
    )
    assert r.status_code == 303, r.get_data(as_text=True)
    [quote] = _db.session.scalars(sa.select(QuoteRequest)).all()
    assert (quote.product_id, quote.quantity, quote.note) == (lotus.id, 40, "食堂月度")
    # the product chosen stays offered when the form is shown again (a refused date, say)
    r = client.post(url, data={**typed, "form_token": new_form_token(), "product_id": str(lotus.id), "needed_by": ""})
    assert r.status_code == 422
    assert re.search(
        rf'<option[^>]*value="{lotus.id}"[^>]*selected|<option selected[^>]*value="{lotus.id}"',
        r.get_data(as_text=True),
    )


def test_a_product_whose_papers_do_not_count_is_not_offered_nor_quoted(app, db, api_token):
    """A product that may not be sold today for want of food-safety papers (`catalog.papers`) is not offered
    by the purchase form nor the quote request, and a quote request naming it is refused with the retail
    quote's 409 `papers_missing` (the form's and the API's alike): nothing is sent to its station."""
    station = make_station()
    rice = make_product(name="南昌大米", station=station, category=make_category())  # not food: no papers needed
    bacon = make_product(name="腊肉", station=station, category=make_category(food_class="processed"))
    buyer = make_user()
    organisation = make_organisation(members={"buyer": buyer})
    commit()
    client = _login(app, buyer)
    for url in (f"/organisations/{organisation.id}/purchases/new", f"/organisations/{organisation.id}/quote-requests"):
        page = client.get(url).get_data(as_text=True)
        assert f'<option value="{rice.id}"' in page and f'<option value="{bacon.id}"' not in page, url

    url = f"/organisations/{organisation.id}/quote-requests"
    typed = {"quantity": "40", "needed_by": requested_day(), "form_token": new_form_token(), "action": "enter"}
    r = client.post(url, data={**typed, "product_id": str(bacon.id)})
    assert r.status_code == 409
    assert "「腊肉」暂停销售：" in r.get_data(as_text=True)
    r = client.post(
        "/api/v1/quote-requests",
        headers=api_token(buyer),
        json={"organisation_id": organisation.id, "product_id": bacon.id, "quantity": 40, "needed_by": requested_day()},
    )
    assert r.status_code == 409 and r.json["error"]["code"] == "papers_missing", r.json
    assert r.json["error"]["fields"] == {"product_id": str(bacon.id)}
    assert _db.session.scalar(sa.select(sa.func.count(QuoteRequest.id))) == 0


def test_the_product_pickers_name_the_township_of_a_village_whose_name_another_shares(app, db):
    """Two villages 新村 (三江镇, 柳溪镇) both sell a 三江腌菜500克: the purchase form's and the quote request's
    product pickers read 「三江腌菜500克 · 新村」 twice; each names its village's township now
    (`catalog.services.village_labels`), and a village no other township's shares stays named alone."""
    from html import unescape

    from tests.factories import make_township, make_village

    category = make_category()
    products = {}
    for township in ("三江镇", "柳溪镇"):
        village = make_village(name="新村", township=make_township(name=township))
        products[township] = make_product(name="三江腌菜500克", village=village, category=category)
    alone = make_product(name="藕粉", village=make_village(name="独一村"), category=category)
    buyer = make_user()
    organisation = make_organisation(members={"buyer": buyer})
    commit()
    client = _login(app, buyer)
    for url in (f"/organisations/{organisation.id}/purchases/new", f"/organisations/{organisation.id}/quote-requests"):
        page = unescape(client.get(url).get_data(as_text=True))
        for township, product in products.items():
            texts = [t for t in re.findall(rf'<option value="{product.id}">([^<]*)</option>', page) if "腌菜" in t]
            assert texts and all(t.startswith(f"三江腌菜500克 · {township} · 新村 · ") for t in texts), (url, texts)
        texts = [t for t in re.findall(rf'<option value="{alone.id}">([^<]*)</option>', page) if "藕粉" in t]
        assert texts and all(t.startswith("藕粉 · 独一村 · ") for t in texts), (url, texts)
