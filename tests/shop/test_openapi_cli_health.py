"""The OpenAPI document covers the API exactly; the CLI of the running contract; the health check."""

from __future__ import annotations

import re

import sqlalchemy as sa

from catalog.models import BenefitLink, Household, Product, ProductImage, Village
from shop.auth.models import User
from shop.extensions import db as _db
from stock.models import Station

_CONVERTER = re.compile(r"<(?:[a-z_]+(?:\([^)]*\))?:)?([a-zA-Z_][a-zA-Z0-9_]*)>")


def _api_routes(app) -> set[tuple[str, str]]:
    routes = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.endpoint == "api.openapi_json":
            continue
        path = _CONVERTER.sub(r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            routes.add((path, method.lower()))
    return routes


def test_openapi_lists_every_api_route_of_the_url_map_and_nothing_else(app, client):
    spec = client.get("/api/v1/openapi.json")
    assert spec.status_code == 200 and spec.json["openapi"].startswith("3.")
    documented = {(path, method) for path, ops in spec.json["paths"].items() for method in ops}
    documented.discard(("/api/v1/openapi.json", "get"))
    routes = _api_routes(app)
    assert routes - documented == set(), "routes missing from the spec"
    assert documented - routes == set(), "spec paths that are not routes"


def test_openapi_declares_the_error_envelope_and_request_schemas(client):
    spec = client.get("/api/v1/openapi.json").json
    schemas = spec["components"]["schemas"]
    assert "ErrorBody" in schemas
    token = spec["paths"]["/api/v1/auth/token"]["post"]
    assert "requestBody" in token and "422" in token["responses"] and "401" in token["responses"]
    params = {p["name"] for p in spec["paths"]["/api/v1/products"]["get"]["parameters"]}
    assert {"q", "category", "village", "min_fen", "max_fen", "in_stock", "sort", "page", "per_page"} <= params


def test_every_schema_of_the_openapi_document_has_a_name_of_its_own(client):
    """Two modules' models of one class name (two `ShipmentOut`s, say) get module-qualified names in
    the document (`orders__api__ShipmentOut`), which generated phone-app clients turn into types
    such as `OrdersApiShipmentOut`: each schema class of the API is named for what it is."""
    schemas = client.get("/api/v1/openapi.json").json["components"]["schemas"]
    assert [name for name in schemas if "__" in name] == []
    assert {"GoodsItemIn", "StayItemIn", "OrderShipmentOut", "StationShipmentOut", "BookingPaymentOut"} <= set(schemas)


def test_every_operation_is_summarised_by_a_whole_sentence_and_described_by_its_whole_docstring(client):
    """A view's docstring wraps over several lines; its summary is its first sentence, never its first line
    (which ended mid-sentence: "… of products and booking lines: `{product_id,"), and the description is
    all of it, so a client reads the rules the docstring states (the pay-later limits of POST /orders)."""
    paths = client.get("/api/v1/openapi.json").json["paths"]
    for path, ops in paths.items():
        for method, op in ops.items():
            summary = op["summary"]
            assert summary and "\n" not in summary, (method, path)
            # a code span or a JSON object left open: cut mid-sentence ("[from, to)" is a half-open range)
            assert summary.count("`") % 2 == 0 and summary.count("{") == summary.count("}"), (method, path, summary)
    create = paths["/api/v1/orders"]["post"]
    assert create["summary"].endswith("or a day's tickets `{listing_id, date, guests}`")
    assert "MAX_PAY_LATER_QUANTITY units per line (422)" in create["description"]
    assert "\n" not in create["description"]  # its wrapped lines joined


def test_healthz_is_json_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json == {"status": "ok"}


# --- CLI ----------------------------------------------------------------------------------------


def _counts() -> dict[str, int]:
    return {
        model.__name__: _db.session.scalar(sa.select(sa.func.count()).select_from(model))
        for model in (Village, Station, Household, Product, ProductImage, BenefitLink, User)
    }


def test_seed_demo_twice_creates_nothing_the_second_time(app, db):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    assert "Demo data loaded" in first.output
    for role in ("consumer", "operator", "host", "county", "admin"):
        assert role in first.output
    after_first = _counts()
    assert after_first["Village"] == 18 and after_first["Station"] == 18 and after_first["Household"] >= 40
    assert after_first["Product"] >= 7 and after_first["ProductImage"] == after_first["Product"]

    second = runner.invoke(args=["seed-demo"])
    assert second.exit_code == 0, second.output
    assert "nothing changed" in second.output
    assert _counts() == after_first


def test_seeded_demo_has_images_in_both_sizes_and_pages_show_no_household_personal_data(app, db, client):
    from pathlib import Path

    from PIL import Image

    assert app.test_cli_runner().invoke(args=["seed-demo"]).exit_code == 0
    image = _db.session.scalars(sa.select(ProductImage).order_by(ProductImage.id)).first()
    root = Path(app.config["UPLOAD_DIR"])
    with Image.open(root / image.path) as full, Image.open(root / image.thumb_path) as thumb:
        assert full.size[0] <= 1200 and full.size[1] <= 900 and full.format == "JPEG"
        assert thumb.size == (400, 300) and thumb.format == "WEBP"
    assert (image.width, image.height) == (1200, 900)
    assert client.get(f"/media/{image.thumb_path}").status_code == 200

    households = _db.session.scalars(sa.select(Household)).all()
    secrets = {s for h in households for s in (h.head_name, h.registry_no, h.id_number, h.phone) if s}
    assert len(secrets) >= 100
    product = _db.session.scalars(sa.select(Product).order_by(Product.id)).first()
    village = _db.session.scalars(sa.select(Village).order_by(Village.id)).first()
    urls = [
        "/",
        "/?lang=en",
        "/products",
        f"/products/{product.id}-{product.slug}",
        f"/villages/{village.slug}",
        "/api/v1/products?per_page=100",
        f"/api/v1/products/{product.id}",
        "/api/v1/villages",
        "/api/v1/stations",
    ]
    for url in urls:
        body = client.get(url).get_data(as_text=True)
        leaked = [s for s in secrets if s in body]
        assert not leaked, (url, leaked[:3])


def test_users_create_makes_an_account_with_a_role(app, db):
    from tests.factories import make_station

    station = make_station(code="CLI01")
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=[
            "users",
            "create",
            "--email",
            "Op@Test.cn",
            "--password",
            "longenough1",
            "--role",
            "operator",
            "--station",
            "CLI01",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "created op@test.cn (operator)" in result.output
    user = _db.session.scalar(sa.select(User).where(User.email == "op@test.cn"))
    assert user.role == "operator" and user.station_id == station.id
    assert "longenough1" not in user.password_hash


def test_users_create_refuses_bad_input_without_a_traceback(app, db):
    runner = app.test_cli_runner()
    cases = [
        ["--email", "x@test.cn", "--password", "short"],
        ["--email", "y@test.cn", "--password", "longenough1", "--role", "operator"],
        ["--email", "z@test.cn", "--password", "longenough1", "--role", "operator", "--station", "NOPE"],
        ["--email", "w@test.cn", "--password", "longenough1", "--role", "emperor"],
    ]
    for args in cases:
        result = runner.invoke(args=["users", "create", *args])
        assert result.exit_code != 0, args
        assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), result.exception
    runner.invoke(args=["users", "create", "--email", "dup@test.cn", "--password", "longenough1"])
    again = runner.invoke(args=["users", "create", "--email", "dup@test.cn", "--password", "longenough1"])
    assert again.exit_code != 0 and "该邮箱已注册" in again.output  # the CLI speaks the default locale
    assert (
        _db.session.scalar(
            sa.select(sa.func.count())
            .select_from(User)
            .where(User.email.in_(["x@test.cn", "y@test.cn", "z@test.cn", "w@test.cn"]))
        )
        == 0
    )
