"""The JSON API fuzzed from its own OpenAPI spec (schemathesis, issue #10).

Every operation in `/api/v1/openapi.json` gets a bounded number of generated requests — valid ones
(positive mode) and invalid ones (negative mode) — sent in process to the app, against a database
with data (a station and its operator, households, products, an order, a listing and a booking),
once anonymously and once with a bearer token of a user suited to the operation. Each response must
not be a 500 and must conform to the spec: a documented status code, a body matching the documented
schema (errors in docs/api.md's envelope), the documented content type. Operations with ids in their
path are fuzzed twice: with generated ids (mostly 404s) and with the ids of real rows, so the
handlers' happy paths and refusals run too.

Bounded: EXAMPLES per operation and mode keeps the whole file within a few seconds per operation
set; raise it locally (`API_FUZZ_EXAMPLES=200`) for a deeper run.

Beyond what the spec describes (issue #17.7 found 500s there), every operation is also sent hostile
values drawn by `hostile_request`: extreme dates (year 9999, year 1), Unicode digits (`²`, `١٢`),
integers past 2^63, JSON nested deeper than the API accepts, and query arguments the operation does not
know (`endpoint`, `_method`, …), in every query parameter and body field; and schemathesis's own date
strings include the extremes (`schemathesis.openapi.format("date", …)`).
"""

from __future__ import annotations

import os
import re
from datetime import timedelta
from typing import Any

import pytest
import schemathesis
import sqlalchemy as sa
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import ignored_auth, positive_data_acceptance

from catalog.models import Product
from shop.api import ENDPOINTS
from shop.args import MAX_ID
from shop.db import commit
from tests.factories import NOW, make_category, make_household, make_product, make_station, make_user
from tests.orders.factories import make_order
from tests.tourism.factories import make_booking, make_listing

EXAMPLES = int(os.environ.get("API_FUZZ_EXAMPLES", "3"))

#: Which seeded user calls an operation when authenticated, by the operation's tag.
ROLE_FOR_TAG = {
    "stations": "operator",
    "county": "county",
    "orders": "consumer",
    "tourism": "consumer",
    "auth": "consumer",
    "catalog": "consumer",
    "reference": "consumer",
}
#: Domain rules the schema cannot express (a date in the past, a reason required for a stock correction,
#: an address required for shipping) answer a documented 422 to schema-valid input: not a violation.
EXCLUDED_CHECKS = [positive_data_acceptance]
#: With a token, schemathesis would resend every request without it and with a wrong one; the
#: anonymous run already checks every protected operation answers 401, so that would only triple the time.
EXCLUDED_WITH_TOKEN = [*EXCLUDED_CHECKS, ignored_auth]
#: The webhook answers Stripe, not users: fuzzed separately in tests/orders (signature checks).
SKIP = {"stripe_webhook"}

# --- hostile values (issue #17.7) ---------------------------------------------------------------

EXTREME_DATES = st.sampled_from(
    ["9999-12-31", "9999-12-30", "0001-01-01", "2026-02-30", "+10000-01-01", "2099-12-31", "2100-01-01", "1999-12-31"]
)
UNICODE_DIGITS = st.text(alphabet="²³¹١٢٣۴۵०१２３߁৩๓", min_size=1, max_size=6)
HUGE_INTS = st.one_of(
    st.sampled_from([2**63, 2**63 - 1, 2**64, -(2**63) - 1, 10**30, 2**31]),
    st.integers(min_value=2**63, max_value=2**200),
)
UNKNOWN_ARGS = st.sampled_from(
    ["endpoint", "_method", "slug", "_external", "_scheme", "_anchor", "values", "format", "lang", "page"]
)
HOSTILE = st.one_of(
    EXTREME_DATES,
    UNICODE_DIGITS,
    HUGE_INTS,
    HUGE_INTS.map(str),
    st.sampled_from(["", "NaN", "1e309", "=1+1", "-0", True, None, [], {}]),
)


def _nested(depth: int):
    return "[" * depth + "]" * depth


def _schema_properties(spec: dict, schema: dict) -> dict:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema.get("properties", {})


@st.composite
def hostile_request(draw, spec: dict, operation: dict):
    """(query string items, JSON body or raw text) with hostile values in the operation's own places."""
    names = [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"]
    chosen = draw(st.lists(st.sampled_from(names), unique=True, max_size=4)) if names else []
    query = [(name, str(draw(HOSTILE))) for name in chosen]
    query += [
        (draw(UNKNOWN_ARGS), draw(st.sampled_from(["x", "POST", "1", "²"]))) for _ in range(draw(st.integers(0, 2)))
    ]
    body = None
    if "application/json" in operation.get("requestBody", {}).get("content", {}):  # (multipart: query only)
        schema = operation["requestBody"]["content"]["application/json"]["schema"]
        props = _schema_properties(spec, schema)
        fields = draw(st.lists(st.sampled_from(sorted(props)), unique=True, min_size=1)) if props else []
        body = {}
        for name in fields:
            value = draw(HOSTILE)
            if props[name].get("type") == "array" or "items" in props[name]:
                value = draw(
                    st.sampled_from(
                        [[value], [{"household_id": value, "product_id": value, "quantity": value, "weight": value}]]
                    )
                )
            body[name] = value
        if draw(st.integers(0, 4)) == 0:
            body = _nested(draw(st.integers(17, 5000)))  # raw text, deeper than MAX_JSON_DEPTH
    return query, body


def _date_strings():
    return st.one_of(st.dates().map(str), EXTREME_DATES)


schemathesis.openapi.format("date", _date_strings())


@pytest.fixture
def world(db):
    """A small shop with one of everything the API names by id."""
    station = make_station()
    village = station.villages[0]
    operator = make_user(role="operator", station=station)
    consumer = make_user(role="consumer")
    county = make_user(role="county")
    host = make_user(role="host")
    household = make_household(village=village)
    product = make_product(station=station, category=make_category(), households=[household], stock=50)
    pending = make_product(station=station, approval_status="pending", is_published=False)
    order = make_order(consumer, [(product, 1)], now=NOW)
    listing = make_listing(host=host, village=village, households=[household])
    booking = make_booking(listing, user=consumer, check_in=(NOW + timedelta(days=10)).date())
    commit()
    return {
        "users": {"operator": operator, "consumer": consumer, "county": county, "host": host},
        "ids": {
            "product_id": product.id,
            "station_id": station.id,
            "household_id": household.id,
            "listing_id": listing.id,
            "code": None,  # per operation: an order, shipment or booking code
        },
        "codes": {"orders": order.code, "stations": order.shipments[0].code, "tourism": booking.code},
        "pending_product_id": pending.id,
    }


@pytest.fixture
def api_schema(app, db):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    # The token is ours to send (see _run_all); generated Authorization headers would only fight it.
    # Malformed headers have their own test below.
    schema.config.generation.update(with_security_parameters=False)
    return schema


def _operations(schema):
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.definition.raw.get("operationId") in SKIP:
            continue
        yield operation


def _real_path_parameters(operation, world) -> dict | None:
    names = [p.name for p in operation.path_parameters]
    if not names:
        return None
    tag = (operation.definition.raw.get("tags") or [""])[0]
    values = {}
    for name in names:
        if name == "code":
            values[name] = world["codes"].get(tag)
        elif name == "product_id" and tag == "county":
            values[name] = world["pending_product_id"]
        else:
            values[name] = world["ids"].get(name)
        if values[name] is None:
            return None
    return values


def _fuzz(
    operation,
    client,
    headers: dict,
    path_parameters: dict | None,
    failures: list,
    *,
    examples: int = EXAMPLES,
    negative: bool = True,
) -> None:
    """Run one operation's generated cases; record (not raise) the first failure per mode."""
    invalid_possible = (
        bool(operation.body) or bool(operation.query) or (path_parameters is None and bool(operation.path_parameters))
    )
    modes = [GenerationMode.POSITIVE] + ([GenerationMode.NEGATIVE] if negative and invalid_possible else [])
    for mode in modes:
        strategy = operation.as_strategy(generation_mode=mode, path_parameters=path_parameters)

        @settings(
            max_examples=examples,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=strategy)
        def run(case):
            case.call_and_validate(
                session=client, headers=headers, excluded_checks=EXCLUDED_WITH_TOKEN if headers else EXCLUDED_CHECKS
            )

        try:
            run()
        except Unsatisfiable:  # nothing invalid to send (no parameters): the positive run covered it
            continue
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 — reported below with the operation
            label = f"{operation.label} [{mode.value}{', real ids' if path_parameters else ''}]"
            failures.append(f"{label}: {str(exc)[:1500]}")


def _run_all(schema, client, world, *, authenticated: bool, api_token) -> list[str]:
    failures: list[str] = []
    tokens: dict[str, dict] = {}
    for operation in _operations(schema):
        headers: dict = {}
        needs_caller = bool(operation.definition.raw.get("security"))
        if not authenticated and needs_caller:
            # anonymous callers of a protected operation: a documented 401 whatever they send
            _fuzz(operation, client, headers, None, failures, examples=2, negative=False)
            continue
        if authenticated:
            tag = (operation.definition.raw.get("tags") or ["catalog"])[0]
            role = ROLE_FOR_TAG.get(tag, "consumer")
            if role not in tokens:
                tokens[role] = api_token(world["users"][role])
            headers = tokens[role]
        _fuzz(operation, client, headers, None, failures)
        real = _real_path_parameters(operation, world)
        if real is not None:
            _fuzz(operation, client, headers, real, failures)
    return failures


def test_spec_documents_error_envelope_for_every_operation(app, db):
    """Every operation documents 404, 422 when it takes input, 401/403 when it needs a caller, 409 when
    it changes state, all with the error envelope."""
    spec = app.test_client().get("/api/v1/openapi.json").json
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            responses = op["responses"]
            assert "404" in responses, (method, path)
            takes_input = "requestBody" in op or any(p["in"] == "query" for p in op["parameters"])
            if takes_input:
                assert "422" in responses, (method, path)
            if op.get("security"):
                assert {"401", "403"} <= set(responses), (method, path)
            if method != "get":
                assert "409" in responses, (method, path)
            for code, response in responses.items():
                if code.startswith(("4", "5")):
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (method, path, code)


@pytest.fixture
def cookieless(app, db):
    """A client that keeps no session cookie: every request stands on its own credentials (the
    fuzzer registers and logs in users; a cookie would authenticate the next request)."""
    return app.test_client(use_cookies=False)


def test_fuzz_anonymous(api_schema, cookieless, world, api_token):
    failures = _run_all(api_schema, cookieless, world, authenticated=False, api_token=api_token)
    assert not failures, "\n\n".join(failures)


def test_fuzz_authenticated(api_schema, cookieless, world, api_token):
    failures = _run_all(api_schema, cookieless, world, authenticated=True, api_token=api_token)
    assert not failures, "\n\n".join(failures)


def test_ids_beyond_bigint_are_404_not_a_database_overflow(client, db):
    """Found by the fuzzer: Flask's int converter takes any length, the database does not."""
    response = client.get(f"/api/v1/listings/{2**64}/availability")
    assert response.status_code == 404
    assert response.json["error"]["code"] == "not_found"
    assert client.get(f"/api/v1/products/{2**63 - 1}").status_code == 404


def test_malformed_authorization_header_is_a_401_envelope(client, db):
    """A non-bearer or empty Authorization header is a 401 in the envelope (the fuzzer sends them)."""
    for value in ("Basic dXNlcjpwYXNz", "Bearer", "Bearer \u00e9\u0000x"):
        response = client.get("/api/v1/me", headers={"Authorization": value})
        assert response.status_code == 401, value
        assert response.json["error"]["code"] in {"unauthorized", "invalid_token"}


def test_text_a_database_cannot_store_is_a_422_not_a_500(client, db):
    """Found by the fuzzer on PostgreSQL: a NUL character in a name crashed registration."""
    body = {"email": "nul@test.cn", "password": "longenough1", "name": "王\u0000五"}
    response = client.post("/api/v1/auth/register", json=body)
    assert response.status_code == 422
    assert response.json["error"]["fields"] == {"name": "NUL character"}
    raw = b'{"email": "s@test.cn", "password": "longenough1", "name": "\\ud800"}'
    response = client.post("/api/v1/auth/register", data=raw, content_type="application/json")
    assert response.status_code == 422 and response.json["error"]["fields"] == {"name": "invalid unicode"}
    assert client.get("/api/v1/products?q=%00").status_code == 422
    assert client.get("/api/v1/orders/AB%00CD").status_code == 404


def _send_hostile(client, spec, path_template, method, operation, headers, values, examples, failures):
    path = path_template
    for name, value in values.items():
        path = path.replace("{" + name + "}", str(value))

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(request=hostile_request(spec, operation))
    def run(request):
        query, body = request
        kwargs = {"headers": headers, "query_string": query}
        if isinstance(body, str):
            kwargs.update(data=body, content_type="application/json")
        elif body is not None:
            kwargs["json"] = body
        response = client.open(path, method=method.upper(), **kwargs)
        documented = set(operation["responses"])
        assert response.status_code < 500 or str(response.status_code) in documented, (
            f"{method.upper()} {path} {query} {str(body)[:300]} -> {response.status_code}"
        )
        assert str(response.status_code) in documented, (
            f"{method.upper()} {path} {query} {str(body)[:300]} -> undocumented {response.status_code}"
        )
        if response.status_code >= 400:
            assert set(response.json["error"]) >= {"code", "message", "fields"}

    try:
        run()
    except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 — reported with the operation
        failures.append(f"{method.upper()} {path_template}: {str(exc)[:1500]}")


def test_fuzz_hostile_values(app, cookieless, world, api_token):
    """Extreme dates, Unicode digits, integers past 2^63, deep nesting and unknown arguments in every
    operation's query and body, anonymously and with a token of the operation's role: never a 500,
    always a documented status with the error envelope."""
    spec = cookieless.get("/api/v1/openapi.json").json
    failures: list[str] = []
    tokens: dict[str, dict] = {}
    for path_template, methods in spec["paths"].items():
        for method, operation in methods.items():
            if operation["operationId"] in SKIP:
                continue
            tag = (operation.get("tags") or ["catalog"])[0]
            values = {}
            for p in operation.get("parameters", []):
                if p["in"] == "path":
                    values[p["name"]] = (
                        world["codes"].get(tag)
                        if p["name"] == "code"
                        else world["pending_product_id"]
                        if p["name"] == "product_id" and tag == "county"
                        else world["ids"].get(p["name"])
                    ) or 1
            role = ROLE_FOR_TAG.get(tag, "consumer")
            if operation.get("security"):
                if role not in tokens:
                    tokens[role] = api_token(world["users"][role])
                headers = tokens[role]
            else:
                headers = {}
            _send_hostile(
                cookieless, spec, path_template, method, operation, headers, values, max(4, EXAMPLES * 2), failures
            )
    assert not failures, "\n\n".join(failures)


# --- JSON whole numbers: one strict rule for every body ------------------------------------------


def _resolve(spec: dict, schema: dict) -> dict:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _integer_fields(spec: dict, schema: dict, depth: int = 0):
    """(path, control) of every integer field of a request body schema: `path` the keys and list positions down
    to it (`("items", 0, "quantity")`), `control` a whole number within its bounds. Nested objects and lists of
    objects (or of a choice of objects) are walked, so a new body's fields are found without naming them."""
    schema = _resolve(spec, schema)
    for name, prop in schema.get("properties", {}).items():
        choices = [_resolve(spec, p) for p in prop.get("anyOf", [prop])]
        for choice in choices:
            if choice.get("type") == "integer":
                low = choice.get(
                    "minimum", choice.get("exclusiveMinimum", 0) + 1 if "exclusiveMinimum" in choice else 1
                )
                yield (name,), max(low, 1) if choice.get("maximum", 1) >= 1 else low
            elif depth < 4 and choice.get("type") == "array" and "items" in choice:
                for item in _resolve(spec, choice["items"]).get("anyOf", [choice["items"]]):
                    for path, control in _integer_fields(spec, item, depth + 1):
                        yield (name, 0, *path), control
            elif depth < 4 and "properties" in choice:
                for path, control in _integer_fields(spec, choice, depth + 1):
                    yield (name, *path), control


def _body_with(path: tuple, value) -> dict | list:
    if not path:
        return value
    head, *rest = path
    return [_body_with(tuple(rest), value)] if head == 0 else {head: _body_with(tuple(rest), value)}


def _names_field(fields: dict, path: tuple) -> bool:
    """Whether the error's `fields` name the field at `path` (a choice of objects in a list adds the chosen
    model's name to the location: `items.0.GoodsItemIn.quantity`)."""
    head, last = str(path[0]), str(path[-1])
    return any(key.split(".")[0] == head and key.split(".")[-1] == last for key in fields)


def _row_counts(db) -> dict[str, int]:
    return {t.name: db.session.scalar(sa.select(sa.func.count()).select_from(t)) for t in db.metadata.sorted_tables}


def _real_path(path_template: str, operation: dict, world) -> str:
    """The operation's path with the ids and codes of the world's rows (1 where it has none)."""
    tag = (operation.get("tags") or ["catalog"])[0]

    def value(match) -> str:
        name = match.group(1)
        found = world["codes"].get(tag) if name == "code" else world["ids"].get(name)
        return str(found or 1)

    return re.sub(r"\{([a-z_]+)\}", value, path_template)


def _service_checked(operation_id: str) -> set[str]:
    """The top-level body fields an operation declares `Any`: its service reads them with a rule and code of its
    own (a review's `rating`: rating_out_of_range; a budget's `budget_fen`: invalid_budget), booleans included."""
    spec = next(s for s in ENDPOINTS if s.name == operation_id)
    return {name for name, f in spec.body.model_fields.items() if f.annotation is Any}


def _with_institutions(db, world) -> dict:
    """The world with an organisation (the consumer its manager), a draft purchase, a quote request and a refund
    request of the world's order, named in paths by their ids, as the world's other rows are."""
    from institutions.models import Purchase, QuoteRequest
    from orders.models import Order, RefundRequest
    from tests.institutions.factories import add_member, make_organisation

    consumer = world["users"]["consumer"]
    station_id, product_id = world["ids"]["station_id"], world["ids"]["product_id"]
    organisation = make_organisation()
    add_member(organisation, consumer, role="buyer", is_manager=True)
    purchase = Purchase(
        organisation_id=organisation.id,
        created_by_id=consumer.id,
        status="draft",
        delivery="pickup",
        pickup_station_id=station_id,
        requested_date=NOW.date() + timedelta(days=10),
        payment_method="station_cash",
        note="",
        decision_reason="",
        created_at=NOW,
    )
    quote = QuoteRequest(
        organisation_id=organisation.id,
        created_by_id=consumer.id,
        station_id=station_id,
        product_id=product_id,
        quantity=3,
        needed_by=NOW.date() + timedelta(days=10),
        note="",
        status="open",
        answer_note="",
        created_at=NOW,
    )
    order = db.session.scalar(sa.select(Order).where(Order.code == world["codes"]["orders"]))
    line = order.lines[0]
    request = RefundRequest(
        order_id=order.id,
        order_line_id=line.id,
        station_id=line.station_id,
        quantity=line.quantity,
        amount_fen=line.line_total_fen,
        requested_by_id=consumer.id,
        created_at=NOW,
    )
    db.session.add_all([purchase, quote, request])
    db.session.flush()
    ids = dict(organisation_id=organisation.id, purchase_id=purchase.id, quote_id=quote.id, req_id=request.id)
    return {**world, "ids": {**world["ids"], **ids, "line_id": line.id}}


def test_every_integer_body_field_takes_json_whole_numbers_only(client, world, api_token, db):
    """Every integer field of every JSON body in the spec (nested ones too), sent `true`, `false`, `"3"` or `1.5`,
    is a 422 validation_error naming that field, and nothing changes (the world's rows are named in the path, so
    a body let through would act on them); the same body with a whole number within the field's bounds, sent to
    ids no row has, passes the field's type check (the control). `{"price_fen": true}` was a product at 1 fen,
    `{"household_id": true}` a benefit record for household 1. An admin calls (a host the host's own
    operations), so every role gate lets the body through to validation."""
    spec = client.get("/api/v1/openapi.json").json
    admin = api_token(make_user(role="admin"))
    host = api_token(world["users"]["host"])
    consumer = api_token(world["users"]["consumer"])
    roles = {s.name: s.roles for s in ENDPOINTS}
    world = _with_institutions(db, world)
    # an order paid by bank transfer (对公转账), whose transfer the admin may record
    transfer = make_order(
        world["users"]["consumer"], [(db.session.get(Product, world["ids"]["product_id"]), 1)], now=NOW
    )
    transfer.payment_method = "bank_transfer"
    transfer_code = transfer.code
    commit()
    product = db.session.get(Product, world["ids"]["product_id"])
    price, stock = product.price_fen, product.stock
    fields: list[tuple[str, str, dict, str, str, tuple, int]] = []
    for path_template, methods in spec["paths"].items():
        for method, operation in methods.items():
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" not in content or operation["operationId"] in SKIP:
                continue
            real = _real_path(path_template, operation, world)
            if operation["operationId"] == "record_bank_transfer":
                real = path_template.replace("{code}", transfer_code)
            unknown = re.sub(
                r"\{([a-z_]+)\}", lambda m: "ZZZZZZZZ" if m.group(1) == "code" else str(MAX_ID), path_template
            )
            own = _service_checked(operation["operationId"])
            # who may see the object the path names: its body is read only then (docs/api.md, "The error envelope")
            headers = host if "host" in roles[operation["operationId"]] else admin
            if operation["operationId"] in ("ask_refund", "create_review", "request_order_invoice"):
                headers = consumer  # the buyer's own order
            elif operation["operationId"] in ("check_in_booking_api", "host_cancel_booking_api"):
                headers = host  # the listing's host
            for field_path, control in _integer_fields(spec, content["application/json"]["schema"]):
                if field_path[0] in own:
                    continue
                label = f"{method.upper()} {path_template} {'.'.join(map(str, field_path))}"
                fields.append((label, method.upper(), headers, real, unknown, field_path, control))
    assert len(fields) > 50 and any(label.endswith("household_id") for label, *_ in fields), fields
    before = _row_counts(db)
    failures: list[str] = []
    for label, method, headers, real, _unknown, field_path, _control in fields:
        for bad in (True, False, "3", 1.5):
            response = client.open(real, method=method, headers=headers, json=_body_with(field_path, bad))
            error = (response.json or {}).get("error", {})
            if response.status_code != 422 or error.get("code") != "validation_error":
                failures.append(f"{label} = {bad!r}: {response.status_code} {error.get('code')}")
            elif not _names_field(error["fields"], field_path):
                failures.append(f"{label} = {bad!r}: not named in {error['fields']}")
    assert not failures, "\n".join(failures)
    db.session.expire_all()
    assert _row_counts(db) == before
    assert (product.price_fen, product.stock) == (price, stock)
    for label, method, headers, _real, unknown, field_path, control in fields:
        response = client.open(unknown, method=method, headers=headers, json=_body_with(field_path, control))
        refused = {k: v for k, v in response.json.get("error", {}).get("fields", {}).items() if "valid integer" in v}
        if _names_field(refused, field_path):
            failures.append(f"{label} = {control}: a whole number refused {refused}")
    assert not failures, "\n".join(failures)
