"""Every form that creates something carries one kind of once-token (`shop.forms.OnceTokenField`):
two identical POSTs create one object, and a POST without its token creates nothing.

Checkout and booking: tests/orders/test_double_submit.py; a station's new product:
tests/stations/test_assisted.py; the cash book's entries: tests/shop/test_confirm_steps.py. Here the
stock forms, the token's refusal on every creating form, and the county's new household (whose registry
number is unique: the second POST is refused, nothing is created twice).
"""

from __future__ import annotations

import re

import sqlalchemy as sa

from shop.db import commit
from shop.extensions import db
from shop.forms import OnceTokenField
from shop.once import new_form_token
from tests.factories import make_household, make_product, make_station, make_user, make_village


def _token(html: str) -> str:
    field = re.search(r'<input[^>]*name="form_token"[^>]*>', html).group(0)
    return re.search(r'value="([^"]+)"', field).group(1)


def _movements(record_id: int) -> int:
    from stock.models import StockMovement

    db.session.expire_all()
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(StockMovement).where(StockMovement.stock_record_id == record_id)
    )


def test_two_identical_stock_posts_move_the_stock_once(client, auth, db):
    station = make_station()
    product = make_product(stock=10, station=station)
    operator = make_user(role="operator", station=station)
    commit()
    record_id = product.stock.id
    auth.login(operator)
    before = _movements(record_id)
    token = _token(client.get(f"/station/stock/{record_id}").get_data(as_text=True))
    receive = {"quantity": "5", "from_household_id": "0", "form_token": token}
    # the second of each is told so, not as an error (shop.forms.create_once), and sent back to the record
    assert client.post(f"/station/stock/{record_id}/receive", data=receive).status_code == 302
    again = client.post(f"/station/stock/{record_id}/receive", data=receive)
    assert again.status_code == 303 and again.headers["Location"].endswith(f"/station/stock/{record_id}")
    assert _movements(record_id) == before + 1
    page = client.get(f"/station/stock/{record_id}").get_data(as_text=True)
    assert '<div class="alert alert-info" role="status">此表单已提交过' in page
    correct = {"delta": "-2", "reason": "盘点", "form_token": _token(page.split("/correct")[1])}
    assert client.post(f"/station/stock/{record_id}/correct", data=correct).status_code == 302
    assert client.post(f"/station/stock/{record_id}/correct", data=correct).status_code == 303
    assert _movements(record_id) == before + 2


def test_a_creating_form_without_its_token_creates_nothing(client, auth, db):
    station = make_station()
    product = make_product(stock=10, station=station)
    operator = make_user(role="operator", station=station)
    commit()
    auth.login(operator)
    record_id = product.stock.id
    before = _movements(record_id)
    page = client.post(
        f"/station/stock/{record_id}/receive", data={"quantity": "5", "from_household_id": "0"}, follow_redirects=True
    ).get_data(as_text=True)
    assert "表单已过期，请刷新页面后重新提交" in page and _movements(record_id) == before
    # a token that is not one (too short, other characters) is refused the same way
    client.post(
        f"/station/stock/{record_id}/receive", data={"quantity": "5", "from_household_id": "0", "form_token": "x<1>"}
    )
    assert _movements(record_id) == before


def test_every_creating_form_uses_the_one_token_field():
    from institutions.forms import OrganisationForm, PurchaseForm
    from orders.forms import CheckoutForm
    from stations.forms import AssistedProductForm, CashMoveForm, CorrectForm, ReceiveForm
    from tourism.forms import BookingForm

    for form in (
        CheckoutForm,
        BookingForm,
        AssistedProductForm,
        ReceiveForm,
        CorrectForm,
        CashMoveForm,
        PurchaseForm,
        OrganisationForm,
    ):
        assert form.form_token.field_class is OnceTokenField, form.__name__
    import shop.forms

    assert not hasattr(shop.forms, "PageTokenField") and not hasattr(shop.forms, "FormTokenField")


def test_two_identical_new_household_posts_register_one_household(client, auth, db):
    from catalog.models import Household

    county = make_user(role="county")
    village = make_village()
    make_household(village=village)
    commit()
    auth.login(county)
    count = db.session.scalar(sa.select(sa.func.count()).select_from(Household))
    data = {
        "village_id": village.id,
        "head_name": "赵六",
        "registry_no": "36010000998877",
        "members": "2",
        "form_token": new_form_token(),
    }
    assert client.post("/county/households/new", data=data).status_code == 302
    # the same page sent again (a double tap, Back and send again): the shop's "already done", not the
    # registry's "登记号重复" under an emptied form, which read as if the household was not registered
    again = client.post("/county/households/new", data=data)
    assert again.status_code == 303 and again.headers["Location"].endswith("/county/households")
    page = client.get("/county/households").get_data(as_text=True)
    assert "此表单已提交过" in page and "登记号重复" not in page
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Household)) == count + 1
    # a page without its token registers nothing and says why
    refused = client.post("/county/households/new", data={**data, "registry_no": "36010000998878", "form_token": ""})
    assert refused.status_code == 409 and "表单已过期" in refused.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Household)) == count + 1


def test_a_fresh_token_is_drawn_for_each_page():
    tokens = {new_form_token() for _ in range(50)}
    assert len(tokens) == 50 and all(16 <= len(t) <= 64 for t in tokens)


def test_a_form_refused_without_its_token_comes_back_with_one_that_creates_once(client, auth, db):
    """Every creating form, refused for a missing or malformed token and shown again with what was typed,
    carries a fresh valid token (`OnceTokenField.__call__`): the corrected resubmit creates exactly one
    object and a third POST of that page creates none. Shown with the admin's new category, a form whose
    view does nothing of its own about the token."""
    from catalog.models import Category

    admin = make_user(role="admin")
    commit()
    auth.login(admin)

    def count() -> int:
        db.session.expire_all()
        return db.session.scalar(sa.select(sa.func.count()).select_from(Category).where(Category.name == "蜂蜜"))

    typed = {"name": "蜂蜜", "name_en": "Honey", "food_class": "processed"}
    for sent in ({}, {"form_token": "x<1>"}):
        refused = client.post("/admin/categories", data={**typed, **sent})
        assert refused.status_code == 422 and count() == 0
        page = refused.get_data(as_text=True)
        assert "表单已过期" in page and 'value="蜂蜜"' in page  # what was typed is kept
        token = _token(page)
        assert token != sent.get("form_token")
    assert client.post("/admin/categories", data={**typed, "form_token": token}).status_code in (302, 303)
    assert client.post("/admin/categories", data={**typed, "form_token": token}).status_code == 303
    assert count() == 1
