"""Numbers are typed in ASCII digits (docs/input-validation.md): another script's digits — Arabic-Indic ٣,
Persian ۳, Devanagari ३, Bengali ৩, which `int()`, `Decimal()`, `str.isdigit()` and Werkzeug's `\\d+` all read
as 3 — are refused in every kind of input as text that is no number is; full-width digits, as a Chinese input
method types them in full-width mode (３, －３, １２．５), are read as ASCII where a person types a number
(forms, typed yuan, query strings), and are an unknown path in a URL path. The JSON API takes JSON numbers only.

Each test goes through HTTP and failed before the rule was made true (`shop.args.half_width`, `parse_int`,
`IdConverter`, `shop.forms.WholeNumberField`, `shop.money.parse_yuan`)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from catalog.changes import pending_change
from catalog.models import Household
from reviews.models import Review
from shop.db import commit
from shop.once import new_form_token
from shop.timeutil import local_date, now_utc
from stock.models import StockRecord
from tests.factories import make_product, make_user, make_village
from tests.reviews.review_setup import delivered_order
from tests.stations.conftest import world  # noqa: F401
from tests.tourism.factories import make_listing
from tourism.models import Session

OTHER_SCRIPTS = {
    "arabic-indic": "٠١٢٣٤٥٦٧٨٩",
    "persian": "۰۱۲۳۴۵۶۷۸۹",
    "devanagari": "०१२३४५६७८९",
    "bengali": "০১২৩৪৫৬৭৮৯",
}
FULL_WIDTH = "０１２３４５６７８９"
other_scripts = pytest.mark.parametrize("digits", list(OTHER_SCRIPTS.values()), ids=list(OTHER_SCRIPTS))


def written(number, digits: str) -> str:
    """`number` ("36.8", -2, 12) with its ASCII digits written in `digits`; a sign or point left as it is."""
    return "".join(digits[int(c)] if c.isascii() and c.isdigit() else c for c in str(number))


def test_other_scripts_read_as_numbers_by_python_itself():
    """Why the rule needs code: Python reads these as the number they stand for."""
    for digits in OTHER_SCRIPTS.values():
        assert int(written(36, digits)) == 36 and written(36, digits).isdigit()


# --- URL paths ------------------------------------------------------------------------------------


@pytest.mark.parametrize("digits", [*OTHER_SCRIPTS.values(), FULL_WIDTH], ids=[*OTHER_SCRIPTS, "full-width"])
def test_an_id_in_a_url_path_written_in_other_digits_is_an_unknown_path(client, db, digits):
    product = make_product(name="三江腌菜")
    commit()
    assert client.get(f"/products/{product.id}").status_code in (200, 301, 302)
    assert client.get(f"/api/v1/products/{product.id}").status_code == 200
    other = written(product.id, digits)
    assert client.get(f"/products/{other}").status_code == 404
    assert client.get(f"/products/{other}-x").status_code == 404
    assert client.get(f"/api/v1/products/{other}").status_code == 404


# --- a whole-number field of a form -------------------------------------------------------------------


def _correct(client, record_id: int, delta: str):
    return client.post(
        f"/station/stock/{record_id}/correct",
        data={"form_token": new_form_token(), "delta": delta, "reason": "盘点"},
    )


@other_scripts
def test_a_form_whole_number_in_other_digits_is_not_a_whole_number(client, auth, db, world, digits):  # noqa: F811
    record_id = world.a.product.stock.id
    auth.login(world.a.operator)
    for delta in (written(2, digits), written(-2, digits), written(10, digits)):
        response = _correct(client, record_id, delta)
        assert response.status_code == 422, delta
        assert "请输入整数" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(StockRecord, record_id).on_hand == 20


def test_a_form_whole_number_in_full_width_digits_is_read_as_typed(client, auth, db, world):  # noqa: F811
    record_id = world.a.product.stock.id
    auth.login(world.a.operator)
    assert _correct(client, record_id, "３").status_code == 302
    assert _correct(client, record_id, "－２").status_code == 302  # a full-width minus too
    assert _correct(client, record_id, "+1").status_code == 302  # as int() read it before
    db.session.expire_all()
    assert db.session.get(StockRecord, record_id).on_hand == 22


# --- a typed yuan amount ------------------------------------------------------------------------------


@other_scripts
def test_a_typed_yuan_amount_in_other_digits_is_not_an_amount(client, auth, db, world, digits):  # noqa: F811
    auth.login(world.a.operator)
    for price in (written("36.8", digits), written("1,200", digits), "￥" + written(8, digits)):
        response = client.post(
            f"/station/products/{world.a.product.id}/edit",
            data={"price": price, "is_published": "1"},
            follow_redirects=True,  # back to the products page, the field's error flashed
        )
        assert "价格（元）：请输入正确的金额" in response.get_data(as_text=True), price
    assert pending_change(world.a.product.id) is None


@pytest.mark.parametrize(("typed", "fen"), [("３６．８", 3680), ("￥３６.８", 3680), ("１，２００", 120000)])
def test_a_typed_yuan_amount_in_full_width_digits_is_read_as_typed(client, auth, db, world, typed, fen):  # noqa: F811
    auth.login(world.a.operator)
    response = client.post(f"/station/products/{world.a.product.id}/edit", data={"price": typed, "is_published": "1"})
    assert response.status_code == 302
    assert pending_change(world.a.product.id).price_fen == fen


# --- a whole number in a query string -------------------------------------------------------------


@other_scripts
def test_a_query_string_number_in_other_digits_is_no_number(client, auth, db, world, digits):  # noqa: F811
    assert client.get(f"/search?min_yuan={written(10, digits)}").status_code == 400
    auth.login(world.a.operator)
    product_id = world.a.product.id
    page = client.get(f"/station/papers?product={written(product_id, digits)}").get_data(as_text=True)
    assert f'selected value="{product_id}"' not in page  # the form starts with no product chosen
    assert f'selected value="{product_id}"' in client.get(f"/station/papers?product={product_id}").get_data(
        as_text=True
    )


def test_a_query_string_number_in_full_width_digits_is_read_as_typed(client, auth, db, world):  # noqa: F811
    assert client.get("/search?min_yuan=１０").status_code == 200
    assert client.get("/search?min_yuan=10").status_code == 200
    auth.login(world.a.operator)
    product_id = world.a.product.id
    page = client.get(f"/station/papers?product={written(product_id, FULL_WIDTH)}").get_data(as_text=True)
    assert f'selected value="{product_id}"' in page


# --- the review's rating --------------------------------------------------------------------------------


def _review(client, order, rating: str):
    line = order.lines[0]
    return client.post(
        f"/orders/{order.code}/lines/{line.id}/review",
        data={"rating": rating, "body": "鸡蛋新鲜"},
        content_type="multipart/form-data",
    )


@other_scripts
def test_a_rating_in_other_digits_is_no_rating(client, auth, db, world, now, digits):  # noqa: F811
    order = delivered_order(world, now)
    commit()
    auth.login(world.buyer)
    response = _review(client, order, written(4, digits))
    assert response.status_code == 422
    assert "请给出 1 到 5 星的评分" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Review.id))) == 0


def test_a_rating_in_full_width_digits_is_read_as_its_star(client, auth, db, world, now):  # noqa: F811
    order = delivered_order(world, now)
    commit()
    auth.login(world.buyer)
    assert _review(client, order, "４").status_code in (302, 303)
    assert db.session.scalar(sa.select(Review.rating)) == 4


# --- the JSON API: a JSON number only -------------------------------------------------------------------


@pytest.mark.parametrize("digits", [*OTHER_SCRIPTS.values(), FULL_WIDTH], ids=[*OTHER_SCRIPTS, "full-width"])
def test_the_api_takes_no_number_written_as_a_string(client, db, world, now, api_token, digits):  # noqa: F811
    headers = api_token(world.a.operator)
    response = client.patch(
        f"/api/v1/products/{world.a.product.id}", json={"stock": written(3, digits), "reason": "盘点"}, headers=headers
    )
    assert response.status_code == 422 and response.json["error"]["code"] == "validation_error"
    assert "stock" in response.json["error"]["fields"]
    db.session.expire_all()
    assert db.session.get(StockRecord, world.a.product.stock.id).on_hand == 20
    order = delivered_order(world, now)
    commit()
    line = order.lines[0]
    response = client.post(
        f"/api/v1/orders/{order.code}/lines/{line.id}/review",
        json={"rating": written(4, digits)},
        headers=api_token(world.buyer),
    )
    assert response.status_code == 422 and response.json["error"]["code"] == "rating_out_of_range"
    assert client.get(f"/api/v1/products?page={written(2, digits)}").status_code == 422
    assert db.session.scalar(sa.select(sa.func.count(Review.id))) == 0


# --- numbers typed into text: a session's start times, a resident ID number ---------------------------------


@other_scripts
def test_session_times_in_other_digits_are_refused_and_full_width_ones_read(client, auth, db, digits):
    host = make_user(role="host")
    listing = make_listing(kind="experience", host=host, units=10, max_guests=6, price_fen=3000)
    commit()
    auth.login(host)
    day = (local_date(now_utc()) + timedelta(days=3)).isoformat()

    def add(times: str):
        data = {"start": day, "end": day, "times": times, "capacity": "8", "form_token": new_form_token()}
        return client.post(f"/host/listings/{listing.id}/sessions", data=data)

    response = add(written("09:30", digits))
    assert response.status_code == 422 and "请填写开始时间" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Session.id)).where(Session.capacity > 0)) == 0
    assert add("０９：３０，１４：００").status_code in (302, 303)
    assert db.session.scalar(sa.select(sa.func.count(Session.id)).where(Session.capacity > 0)) == 2


@other_scripts
def test_a_resident_id_number_in_other_digits_is_refused(client, auth, db, digits):
    village = make_village()
    county = make_user(role="county")
    commit()
    auth.login(county)
    response = client.post(
        "/county/households/new",
        data={
            "village_id": village.id,
            "form_token": new_form_token(),
            "head_name": "赵六",
            "registry_no": "3601AB0077",
            "id_number": written("36012119700101991", digits) + "X",  # its check character is X in ASCII digits
            "members": "3",
            "status": "poor",
        },
    )
    assert response.status_code == 422 and "身份证号格式不正确" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Household.id))) == 0
