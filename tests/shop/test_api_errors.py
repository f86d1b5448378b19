"""The JSON API answers bad input with docs/api.md's error envelope and a 4xx — never a 500."""

from __future__ import annotations

import pytest

from tests.catalog.factories import make_world
from tests.factories import make_user


def assert_envelope(response, status: int | None = None):
    assert 400 <= response.status_code < 500, (response.status_code, response.get_data(as_text=True)[:300])
    if status is not None:
        assert response.status_code == status, response.json
    assert response.is_json, response.get_data(as_text=True)[:200]
    error = response.json["error"]
    assert set(error) >= {"code", "message", "fields"}
    assert isinstance(error["code"], str) and error["code"]
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["fields"], dict)
    return error


@pytest.fixture
def world(db):
    return make_world()


# --- /products ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query,field",
    [
        ("page=abc", "page"),
        ("page=0", "page"),
        ("page=-1", "page"),
        ("page=99999999999999999999", "page"),
        ("page=10001", "page"),
        ("per_page=0", "per_page"),
        ("per_page=1000", "per_page"),
        ("village=abc", "village"),
        ("village=1.5", "village"),
        ("min_fen=-1", "min_fen"),
        ("max_fen=ten", "max_fen"),
        ("sort=cheapest", "sort"),
        ("in_stock=maybe", "in_stock"),
        ("q=" + "x" * 201, "q"),
    ],
)
def test_products_list_refuses_bad_query_with_field_errors(client, world, query, field):
    error = assert_envelope(client.get(f"/api/v1/products?{query}"), 422)
    assert field in error["fields"], error


def test_products_list_huge_but_valid_page_is_an_empty_page(client, world):
    response = client.get("/api/v1/products?page=10000")
    assert response.status_code == 200
    assert response.json["items"] == [] and response.json["total"] == 1 and response.json["page"] == 10000


def test_products_list_unknown_village_or_category_is_empty_not_an_error(client, world):
    for query in ("village=999999", "category=no-such-thing", "township=424242"):
        response = client.get(f"/api/v1/products?{query}")
        assert response.status_code == 200 and response.json["total"] == 0, query


def test_products_list_item_has_the_promised_fields(client, world):
    body = client.get("/api/v1/products").json
    assert set(body) >= {"items", "total", "page", "per_page"}
    item = body["items"][0]
    assert set(item) >= {
        "id",
        "name",
        "slug",
        "category",
        "price_fen",
        "unit",
        "stock",
        "village",
        "station",
        "image_url",
    }
    assert item["price_fen"] == 1880 and item["village"] == {"id": world.village.id, "name": "柳溪村"}
    assert set(item["station"]) >= {"id", "code", "name"}


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/products/999999",
        "/api/v1/products/0",
        "/api/v1/products/abc",
        "/api/v1/products/-1",
        "/api/v1/products/99999999999999999999999",
        "/api/v1/no-such-resource",
    ],
)
def test_unknown_ids_and_paths_are_404_envelopes(client, world, path):
    assert_envelope(client.get(path), 404)


def test_a_hidden_product_is_404(client, db, world):
    world.product.is_published = False
    db.session.flush()
    assert_envelope(client.get(f"/api/v1/products/{world.product.id}"), 404)


def test_wrong_method_is_405_envelope(client, world):
    assert_envelope(client.delete("/api/v1/categories"), 405)


# --- /auth/token --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"data": "not json", "content_type": "application/json"},
        {"data": "email=a@b.cn&password=x", "content_type": "application/x-www-form-urlencoded"},
        {"data": "", "content_type": "application/json"},
        {"json": ["a", "list"]},
        {"json": "a string"},
        {"json": 42},
        {"json": None},
    ],
)
def test_token_refuses_a_body_that_is_not_a_json_object(client, db, kwargs):
    error = assert_envelope(client.post("/api/v1/auth/token", **kwargs))
    assert error["code"] in ("invalid_json", "validation_error", "bad_request")


@pytest.mark.parametrize(
    "body,field",
    [
        ({}, "email"),
        ({"email": "a@test.cn"}, "password"),
        ({"email": 5, "password": "x"}, "email"),
        ({"email": "not-an-email", "password": "x"}, "email"),
        ({"email": "a@test.cn", "password": ["x"]}, "password"),
        ({"email": "a@test.cn", "password": ""}, "password"),
        ({"email": "a@test.cn", "password": "x" * 500}, "password"),
        ({"email": {"$ne": None}, "password": "x"}, "email"),
    ],
)
def test_token_refuses_wrong_types_with_field_errors(client, db, body, field):
    error = assert_envelope(client.post("/api/v1/auth/token", json=body), 422)
    assert field in error["fields"]


def test_token_with_wrong_password_is_401(client, db):
    user = make_user()
    error = assert_envelope(client.post("/api/v1/auth/token", json={"email": user.email, "password": "nope"}), 401)
    assert error["code"] == "invalid_credentials"


def test_token_for_the_right_password_works_on_me(client, db):
    user = make_user(email="me@test.cn")
    token = client.post("/api/v1/auth/token", json={"email": "ME@test.cn", "password": "password123"}).json["token"]
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert me.json == {
        "id": user.id,
        "email": "me@test.cn",
        "name": user.name,
        "roles": ["consumer"],
        "station_id": None,
    }


# --- /auth/register -----------------------------------------------------------------------------


def test_register_creates_an_account_and_refuses_a_duplicate(client, db):
    response = client.post("/api/v1/auth/register", json={"email": "api@test.cn", "password": "longenough1"})
    assert response.status_code == 201 and response.json["roles"] == ["consumer"]
    error = assert_envelope(
        client.post("/api/v1/auth/register", json={"email": "API@test.cn", "password": "longenough1"}), 409
    )
    assert error["code"] == "email_taken" and "email" in error["fields"]


@pytest.mark.parametrize(
    "body,field",
    [
        ({"email": "x@test.cn", "password": "short"}, "password"),
        ({"email": "bad", "password": "longenough1"}, "email"),
        ({"email": "x@test.cn", "password": "longenough1", "name": "n" * 81}, "name"),
        ({"email": "x@test.cn", "password": 12345678}, "password"),
        ({"password": "longenough1"}, "email"),
    ],
)
def test_register_refuses_bad_input_with_field_errors(client, db, body, field):
    error = assert_envelope(client.post("/api/v1/auth/register", json=body), 422)
    assert field in error["fields"]


def test_register_ignores_a_role_in_the_body(client, db):
    response = client.post(
        "/api/v1/auth/register", json={"email": "r@test.cn", "password": "longenough1", "role": "admin"}
    )
    assert response.status_code == 201 and response.json["roles"] == ["consumer"]


def test_register_refuses_non_json(client, db):
    assert_envelope(client.post("/api/v1/auth/register", data="<xml/>", content_type="application/xml"))


# --- /me ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [None, "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer not-a-token", "Token abc", "Bearer " + "x" * 5000],
)
def test_me_without_a_valid_token_is_401(client, db, header):
    headers = {"Authorization": header} if header is not None else {}
    assert_envelope(client.get("/api/v1/me", headers=headers), 401)


def test_me_with_a_session_cookie_answers_for_the_logged_in_user(client, auth, db):
    user = make_user(role="county")
    auth.login(user)
    assert client.get("/api/v1/me").json["roles"] == ["county"]


def test_reference_data_lists_answer(client, world):
    for path in ("/api/v1/villages", "/api/v1/stations", "/api/v1/categories"):
        response = client.get(path)
        assert response.status_code == 200 and response.is_json, path


# --- every id and number a client sends is bounded --------------------------------------------


def _unbounded_ints(model, path, seen):
    """Fields of `model` (and the models inside it) that accept an int with no upper bound."""
    import types
    import typing

    import annotated_types
    from pydantic import BaseModel

    if model in seen:
        return []
    seen.add(model)
    found = []
    for name, field in model.model_fields.items():
        kinds, stack = set(), [field.annotation]
        while stack:
            kind = stack.pop()
            if typing.get_origin(kind) in (list, tuple, typing.Union, types.UnionType):
                stack.extend(typing.get_args(kind))
            elif isinstance(kind, type) and issubclass(kind, BaseModel):
                found += _unbounded_ints(kind, f"{path}.{name}", seen)
            else:
                kinds.add(kind)
        bounded = any(isinstance(m, (annotated_types.Le, annotated_types.Lt)) for m in field.metadata)
        if int in kinds and not bounded:
            found.append(f"{path}.{name}")
    return found


def test_every_int_an_endpoint_reads_has_an_upper_bound(app):
    """A number past BIGINT reaching PostgreSQL is a 500 (the fuzz test found one, a quote list's
    organisation_id): every int of every endpoint's query and body is bounded (shop.args)."""
    from shop.api import ENDPOINTS

    seen: set = set()
    unbounded = [
        field
        for spec in ENDPOINTS
        for kind in ("query", "body")
        if getattr(spec, kind) is not None
        for field in _unbounded_ints(getattr(spec, kind), f"{spec.methods[0]} {spec.rule} {kind}", seen)
    ]
    assert unbounded == []


def test_an_id_past_bigint_in_a_query_is_a_422_not_a_500(client, db, api_token):
    res = client.get(
        "/api/v1/quote-requests?organisation_id=9223372036854775808", headers=api_token(make_user(role="consumer"))
    )
    assert assert_envelope(res, 422)["fields"].keys() == {"organisation_id"}
