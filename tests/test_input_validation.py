"""The seventeen 500s of issue #17.7, one test each: every query argument, date, number and JSON body goes
through one validated path (shop/args.py, shop/api.py) and bad input is a clear 4xx that changes nothing.

Each was reproduced first against the code before the fix (a 500 or an uncaught exception)."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from openpyxl import Workbook

from catalog.models import BenefitLink, Household, Product
from shop.args import MAX_DATE, MAX_ID, MIN_DATE, parse_date, parse_int
from shop.db import commit
from shop.once import new_form_token
from tests.factories import NOW, make_category, make_household, make_product, make_station, make_user, make_village
from tests.tourism.factories import make_listing

FAR = "9999-12-30"
FAR_NEXT = "9999-12-31"


def _count(db, model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


@pytest.fixture
def listing(db):
    host = make_user(role="host")
    listing = make_listing(host=host)
    commit()
    return listing


@pytest.fixture
def county_user(db):
    user = make_user(role="county")
    commit()
    return user


# --- the one path ------------------------------------------------------------------------------


def test_parse_int_takes_ascii_digits_within_bounds_only():
    assert parse_int("42") == 42 and parse_int(" 7 ") == 7 and parse_int("-3", minimum=-5) == -3
    assert parse_int("４２") == 42 and parse_int("－３", minimum=-5) == -3  # full-width, as typed in full-width mode
    for bad in ("²", "١٢", "४२", "1e3", "0x10", "", " ", "1_000", "+1", "9" * 20, True, "-1"):
        with pytest.raises(ValueError):
            parse_int(bad)
    with pytest.raises(ValueError):
        parse_int(str(2**63), maximum=MAX_ID)
    assert parse_int(str(MAX_ID), maximum=MAX_ID) == MAX_ID


def test_parse_date_keeps_dates_where_days_can_be_added():
    assert parse_date("2026-11-28") == date(2026, 11, 28)
    for bad in (FAR, "0001-01-01", "2026-13-01", "２０２６-１１-２８", "2026-11-28T00:00", "20261128"):
        with pytest.raises(ValueError):
            parse_date(bad)
    assert MAX_DATE + timedelta(days=366) > MAX_DATE and MIN_DATE - timedelta(days=366) < MIN_DATE


# --- query arguments that url_for would take as its own --------------------------------------


@pytest.mark.parametrize(
    "args", ["slug=x", "endpoint=x", "_method=POST", "_external=1&_scheme=javascript", "_anchor=x&values=y"]
)
def test_listing_redirect_keeps_only_its_own_arguments(client, listing, args):
    response = client.get(f"/listings/{listing.id}?{args}&checkin=2026-12-20&guests=2")
    assert response.status_code == 301
    location = response.headers["Location"]
    assert location.startswith(f"/listings/{listing.id}-{listing.slug}?")
    assert "checkin=2026-12-20" in location and "guests=2" in location
    for unknown in ("slug=", "endpoint", "_method", "_external", "javascript", "_anchor", "values"):
        assert unknown not in location


@pytest.mark.parametrize(
    "page",
    ["/county/households", "/county/income", "/county/links", "/county/targets", "/county/reconcile", "/county/"],
)
def test_county_export_links_ignore_unknown_arguments(client, auth, county_user, page):
    auth.login(county_user)
    for args in ("endpoint=x", "_method=POST", "endpoint=x&_external=1&format="):
        response = client.get(f"{page}?{args}")
        assert response.status_code == 200, (page, args)
        exports = re.findall(r'href="([^"]*format=(?:xlsx|csv)[^"]*)"', response.get_data(as_text=True))
        assert all("endpoint" not in href and "_method" not in href and "_external" not in href for href in exports)


def test_county_export_links_keep_the_filters(client, auth, county_user):
    auth.login(county_user)
    html = client.get("/county/income?group_by=station&from=2026-01-01&to=2026-11-30&endpoint=x").get_data(as_text=True)
    assert 'href="/county/income?from=2026-01-01&amp;to=2026-11-30&amp;group_by=station&amp;format=xlsx"' in html


# --- year-9999 dates -------------------------------------------------------------------------


def test_availability_api_refuses_dates_beyond_the_horizon(client, listing):
    for args in (f"from={FAR}", f"from={FAR}&to={FAR_NEXT}", f"to={FAR}", "from=0001-01-01"):
        response = client.get(f"/api/v1/listings/{listing.id}/availability?{args}")
        assert response.status_code == 422, args
        assert response.json["error"]["code"] == "validation_error"


def test_listings_api_refuses_dates_beyond_the_horizon(client, listing):
    response = client.get(f"/api/v1/listings?checkin={FAR}&checkout={FAR_NEXT}")
    assert response.status_code == 422 and "checkin" in response.json["error"]["fields"]


@pytest.mark.parametrize("page", ["/stays", "/tickets", "/experiences"])
def test_listing_pages_refuse_dates_beyond_the_horizon(client, listing, page):
    response = client.get(f"{page}?checkin={FAR}&checkout={FAR_NEXT}")
    assert response.status_code == 422  # the list, the dates' reason flashed above it (tests/test_typed_dates.py)
    assert "2099-12-31" in response.get_data(as_text=True)


def test_listing_page_and_booking_form_refuse_dates_beyond_the_horizon(client, auth, db, listing):
    assert client.get(f"/listings/{listing.id}-{listing.slug}?checkin={FAR}").status_code == 422
    auth.login(make_user())
    response = client.post(
        f"/listings/{listing.id}/book",
        data={
            "unit_type_id": listing.unit_types[0].id,
            "checkin": FAR,
            "checkout": FAR_NEXT,
            "guests": 1,
            "units": 1,
            "payment_method": "arrival",
        },
    )
    assert response.status_code == 422  # the booking horizon's message (tests/tourism/test_booking_limits.py)
    for huge in (str(2**63), "²"):
        response = client.post(
            f"/listings/{listing.id}/book",
            data={
                "unit_type_id": huge,
                "checkin": "2026-12-20",
                "checkout": "2026-12-21",
                "guests": 1,
                "payment_method": "arrival",
            },
        )
        assert response.status_code == 422, huge


def test_host_cannot_close_or_reopen_year_9999(client, auth, db, listing):
    auth.login(listing.host)
    response = client.post(f"/host/listings/{listing.id}/close", data={"confirm": "1", "start": FAR, "end": FAR_NEXT})
    assert response.status_code == 422
    assert client.post(f"/host/listings/{listing.id}/reopen/{FAR}").status_code == 400


def test_station_cash_page_refuses_year_9999(client, auth, db):
    station = make_station()
    operator = make_user(role="operator", station=station)
    commit()
    auth.login(operator)
    assert client.get(f"/station/cash?date={FAR_NEXT}").status_code == 422  # today's book, the reason flashed
    assert client.get("/station/cash?date=2026-11-28").status_code == 200


def test_county_income_api_refuses_year_9999(client, api_token, county_user):
    response = client.get(f"/api/v1/county/income?from={FAR}&to={FAR_NEXT}", headers=api_token(county_user))
    assert response.status_code == 422


# --- deep JSON -------------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [17, 100, 100_000])
def test_deeply_nested_json_body_is_refused_in_the_error_envelope(client, db, depth):
    body = "[" * depth + "]" * depth
    for path, wrapped in (("/api/v1/auth/register", '{"email": ' + body + "}"), ("/api/v1/orders", body)):
        response = client.post(path, data=wrapped, content_type="application/json")
        assert response.status_code in (401, 422), (path, depth)
        if response.status_code == 422:
            assert response.json["error"]["code"] == "json_too_deep"
    response = client.post("/api/v1/auth/register", data='{"email": ' + body + "}", content_type="application/json")
    assert response.status_code == 422 and response.json["error"]["code"] == "json_too_deep"


def test_json_within_the_depth_limit_is_validated_as_usual(client, db):
    response = client.post("/api/v1/auth/register", json={"email": [[[["x"]]]], "password": "longenough1"})
    assert response.status_code == 422 and response.json["error"]["code"] == "validation_error"


# --- Unicode digits in number fields -------------------------------------------------------------


def test_unicode_digits_in_the_checkout_total_are_ignored_not_a_500(client, auth, db):
    product = make_product(price_fen=1000, stock=5)
    station = make_station()
    auth.login(make_user())
    for shown in ("²", "١٠٠٠", str(2**64)):
        client.post("/cart/add", data={"product_id": product.id, "quantity": 1})
        response = client.post(
            "/checkout",
            data={
                "form_token": new_form_token(),
                "address_id": 0,
                "delivery": "pickup",
                "pickup_station_id": station.id,
                "payment_method": "station_cash",
                "shown_total_pickup": shown,
            },
        )
        assert response.status_code in (303, 409), shown  # placed at the server's total, or the cart changed
    for bad in ("²", str(2**64)):
        assert client.post("/cart/add", data={"product_id": bad, "quantity": 1}).status_code < 500
        assert client.post("/cart/add", data={"product_id": product.id, "quantity": bad}).status_code < 500
        client.post("/cart/add", data={"product_id": product.id, "quantity": 1})
        response = client.post(
            "/checkout",
            data={
                "form_token": new_form_token(),
                "address_id": bad,
                "delivery": "pickup",
                "pickup_station_id": bad,
                "payment_method": "station_cash",
            },
        )
        assert response.status_code == 422, bad


def test_unicode_digits_in_operator_weights_are_a_form_error(client, auth, db):
    village = make_village()
    station = make_station(village=village)
    operator = make_user(role="operator", station=station)
    household = make_household(village=village)
    category = make_category()
    commit()
    auth.login(operator)
    before = _count(db, Product)
    for weight in ("²", "١", str(2**63), "1000001", "-1"):  # a whole number too big is not "not positive"
        response = client.post(
            "/station/products/new",
            data={
                "household_id": household.id,
                "name": "腌菜",
                "category_id": category.id,
                "price": "12.5",
                "unit": "袋",
                "weight_g": "500",
                "initial_stock": "3",
                f"weight_{household.id}": weight,
                "form_token": new_form_token(),
            },
        )
        assert response.status_code == 422, weight
        assert "权重须为 1 到 1000000 之间的整数" in response.get_data(as_text=True)
    assert _count(db, Product) == before


def test_unicode_digits_in_one_import_cell_reject_that_row_only(client, auth, db, county_user):
    make_village(name="塔城村")
    commit()
    wb = Workbook()
    wb.active.append(["所在村", "户主姓名", "建档立卡编号", "身份证号", "联系电话", "家庭人口", "状态"])
    wb.active.append(["塔城村", "陈一", "RG8001", "", "13911118001", "²", "贫困户"])
    wb.active.append(["塔城村", "陈二", "RG8002", "", "13911118002", "3", "贫困户"])
    wb.active.append(["塔城村", "陈三", "RG8003", "", "13911118003", str(2**63), "贫困户"])
    buffer = io.BytesIO()
    wb.save(buffer)
    auth.login(county_user)
    response = client.post(
        "/county/households/import",
        data={"file": (io.BytesIO(buffer.getvalue()), "h.xlsx")},
        content_type="multipart/form-data",
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="imported">1<' in html and 'id="rejected">2<' in html and "家庭人口应为1-30" in html


def test_unicode_digits_and_huge_ids_in_county_forms_are_form_errors(client, auth, db, county_user):
    village = make_village()
    household = make_household(village=village)
    product = make_product(village=village)
    commit()
    auth.login(county_user)
    before = _count(db, Household)
    for members, village_id in (("²", str(village.id)), ("3", "²"), ("3", str(2**63))):
        response = client.post(
            "/county/households/new",
            data={
                "village_id": village_id,
                "head_name": "赵六",
                "registry_no": "36010000119999",
                "phone": "13800001111",
                "members": members,
                "status": "poor",
                "form_token": new_form_token(),
            },
        )
        assert response.status_code == 422, (members, village_id)
    assert _count(db, Household) == before
    links = _count(db, BenefitLink)
    for hid, weight, text in (
        (str(household.id), "²", ""),
        ("²", "1", ""),
        (str(2**63), "1", ""),
        ("", "", f"{2**63}:1"),
        ("", "", f"{household.id}:²"),
    ):
        response = client.post(
            f"/county/links/product/{product.id}", data={"household_id": hid, "weight": weight, "links_text": text}
        )
        assert response.status_code == 422, (hid, weight, text)
    assert _count(db, BenefitLink) == links


@pytest.mark.parametrize("value", [str(2**63), "99999999999999999999", "٣", "-1"])
def test_huge_or_unicode_ids_in_an_organisations_forms_are_form_errors(client, auth, db, value):
    """Found by fuzzing the forms: the quote request's product and the purchase's pickup station were coerced
    with int(), so 2**63 reached the database (SQLite: OverflowError, a 500) and "٣" read as 3."""
    from institutions.models import Purchase, QuoteRequest
    from tests.institutions.factories import make_organisation

    buyer = make_user()
    organisation = make_organisation(members={"buyer": buyer})
    station = make_station()
    product = make_product(station=station)
    commit()
    auth.login(buyer)
    quotes, drafts = _count(db, QuoteRequest), _count(db, Purchase)
    response = client.post(
        f"/organisations/{organisation.id}/quote-requests",
        data={
            "product_id": value,
            "quantity": "1",
            "needed_by": (date.today() + timedelta(days=5)).isoformat(),
            "form_token": new_form_token(),
        },
    )
    assert response.status_code in (409, 422), response.status_code
    response = client.post(
        f"/organisations/{organisation.id}/purchases/new",
        data={
            "delivery": "pickup",
            "pickup_station_id": value,
            "requested_date": (date.today() + timedelta(days=5)).isoformat(),
            "payment_method": "station_cash",
            "product_id": str(product.id),
            "quantity": "1",
            "form_token": new_form_token(),
        },
    )
    assert response.status_code in (409, 422), response.status_code
    assert (_count(db, QuoteRequest), _count(db, Purchase)) == (quotes, drafts)


@pytest.mark.parametrize(
    "args",
    ["page=²", "page=99999999999999999999", "category=²", "category=99999999999999999999", "village=²", "page=-1"],
)
def test_catalog_arguments_with_odd_numbers_are_a_400_or_ignored(client, db, args):
    make_product()
    commit()
    for path in ("/products", "/search?q=鸡蛋"):
        sep = "&" if "?" in path else "?"
        assert client.get(f"{path}{sep}{args}").status_code in (200, 400), (path, args)


# --- integers past the column's range --------------------------------------------------------------


def test_household_id_of_2_pow_63_is_a_422_not_a_bigint_overflow(client, api_token, db):
    village = make_village()
    station = make_station(village=village)
    operator = make_user(role="operator", station=station)
    category = make_category()
    commit()
    headers = api_token(operator)
    before = _count(db, Product)
    for body in (
        {"household_id": 2**63},
        {"category_id": 2**63},
        {"station_id": 2**63},
        {"households": [{"household_id": 2**63, "weight": 1}]},
        {"household_id": 2**64 + 5},
        {"harvest_date": FAR},
    ):
        data = {"household_id": 1, "name": "x", "category_id": category.id, "price_fen": 100, **body}
        response = client.post("/api/v1/products", headers=headers, json=data)
        assert response.status_code == 422, body
        assert response.json["error"]["code"] == "validation_error"
    assert _count(db, Product) == before
    spec = client.get("/api/v1/openapi.json").json["components"]["schemas"]["ProductCreateBody"]
    assert spec["properties"]["household_id"]["maximum"] == MAX_ID
    assert NOW  # the shared clock of the factories


def test_html_ids_past_bigint_are_a_404_not_an_overflow(client, auth, db, listing):
    """Found by tests/test_form_fuzz.py: Flask's int converter takes any length, the database does not."""
    for path in (f"/listings/{2**63}", f"/products/{2**63 + 5}-x", f"/listings/{10**40}"):
        assert client.get(path).status_code == 404, path
    assert client.get(f"/listings/{listing.id}-{listing.slug}").status_code == 200
    auth.login(listing.host)
    assert client.get(f"/host/listings/{2**64}").status_code == 404
    assert (
        client.post(
            f"/host/listings/{2**64}/close", data={"confirm": "1", "start": "2026-12-20", "end": "2026-12-21"}
        ).status_code
        == 404
    )
    assert client.patch(f"/api/v1/products/{2**70}", json={}).status_code in (401, 404)  # not a 405


def test_pager_and_facet_links_keep_only_the_filters(client, db):
    """Pagination and facet links are built from the named filters, not from every argument sent."""
    category = make_category()
    for n in range(25):
        make_product(name=f"土鸡蛋{n}", category=category)
    commit()
    html = client.get(f"/products?category={category.slug}&sort=newest&endpoint=x&_method=POST&evil=1").get_data(
        as_text=True
    )
    links = re.findall(r'href="(\?[^"]*)"', html)
    assert any("page=2" in link for link in links), links
    for link in links:
        assert "endpoint" not in link and "_method" not in link and "evil" not in link, link
    assert any(f"category={category.slug}" in link and "sort=newest" in link for link in links), links
    html = client.get("/search?q=土鸡蛋&endpoint=x&evil=1").get_data(as_text=True)
    facet_links = re.findall(r'href="(\?[^"]*)"', html)
    assert facet_links and not any("endpoint" in link or "evil" in link for link in facet_links), facet_links
