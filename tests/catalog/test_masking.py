"""A household's personal data (head name, registry number, ID number, phone) never leaves the catalog.

Every public page and API response of the catalog and home is rendered, in both languages, with a
product linked to a household whose data is known, and none of it may appear.
"""

from __future__ import annotations

import json

import pytest
from flask_babel import refresh

from catalog.models import Household
from shop.extensions import db
from tests.catalog.factories import (
    SECRET_HEAD_NAME,
    SECRET_ID_NUMBER,
    SECRET_PHONE,
    SECRET_REGISTRY_NO,
    make_world,
)

SECRETS = {
    "head name": SECRET_HEAD_NAME,
    "registry number": SECRET_REGISTRY_NO,
    "ID number": SECRET_ID_NUMBER,
    "phone": SECRET_PHONE,
    "registry number tail": SECRET_REGISTRY_NO[-8:],
    "ID number tail": SECRET_ID_NUMBER[-8:],
}


def _urls(world) -> list[str]:
    p, v, c = world.product, world.village, world.category
    pages = [
        "/",
        "/products",
        f"/categories/{c.slug}",
        f"/villages/{v.slug}",
        f"/products/{p.id}-{p.slug}",
        "/products?sort=newest",
        "/products?in_stock=1",
    ]
    api = [
        "/api/v1/products",
        f"/api/v1/products/{p.id}",
        "/api/v1/villages",
        "/api/v1/stations",
        "/api/v1/categories",
        f"/api/v1/products?village={v.id}",
    ]
    return pages + [u + ("&" if "?" in u else "?") + "lang=en" for u in pages] + api


def _assert_clean(body: str, where: str) -> None:
    for label, secret in SECRETS.items():
        assert secret not in body, f"{label} leaked in {where}"


@pytest.fixture
def world(db):
    return make_world()


def test_the_household_really_holds_the_secrets(world):
    """Guard against a vacuous test: the linked household carries the values we look for."""
    household = db.session.get(Household, world.households[0].id)
    assert household.head_name == SECRET_HEAD_NAME and household.phone == SECRET_PHONE
    assert household.registry_no == SECRET_REGISTRY_NO and household.id_number == SECRET_ID_NUMBER


def test_no_page_or_api_response_of_the_catalog_shows_household_personal_data(client, world):
    for url in _urls(world):
        refresh()
        response = client.get(url)
        assert response.status_code == 200, url
        _assert_clean(response.get_data(as_text=True), url)


def test_product_api_gives_a_household_count_only(client, world):
    body = client.get(f"/api/v1/products/{world.product.id}").json
    assert body["households_linked"] == 2
    dumped = json.dumps(body, ensure_ascii=False)
    assert "household_id" not in dumped and "head_name" not in dumped and "registry" not in dumped


def test_logged_in_roles_see_no_household_data_on_catalog_pages(client, auth, world):
    from tests.factories import make_user

    for role in ("consumer", "operator", "host", "county", "admin"):
        user = make_user(role=role, station=world.station if role == "operator" else None)
        assert auth.login(user).status_code == 302
        for url in _urls(world):
            refresh()
            response = client.get(url)
            assert response.status_code == 200, (role, url)
            _assert_clean(response.get_data(as_text=True), f"{url} as {role}")
        auth.logout()
