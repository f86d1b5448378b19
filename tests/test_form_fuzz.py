"""The HTML side fuzzed (issue #17): every route of the URL map, as every role, with hostile input.

- every GET route with odd query arguments (names `url_for` would take as its own, extreme dates, Unicode
  digits, integers past 2^63, unknown names, formula text, NUL);
- every POST route with its form fields — the names of every WTForms class's fields and every
  `name="…"` of the templates — filled with plausible and hostile values.

Path arguments are the ids and codes of real rows (so handlers run past their 404), and sometimes
numbers past the database's range. No response may be a 500. CSRF is off in tests (its own tests are
in tests/shop). Bounded: FORM_FUZZ_EXAMPLES requests per route, role and method (default 1, about a
minute in all); raise it for a deeper local run (`FORM_FUZZ_EXAMPLES=20`).
"""

from __future__ import annotations

import os
import random
import re
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest
from flask_wtf import FlaskForm

from shop.db import commit
from shop.once import new_form_token
from tests.factories import NOW, make_category, make_household, make_product, make_station, make_user
from tests.orders.factories import make_order
from tests.tourism.factories import make_booking, make_listing

EXAMPLES = int(os.environ.get("FORM_FUZZ_EXAMPLES", "1"))
ROOT = Path(__file__).resolve().parent.parent
ROLES = ["anonymous", "consumer", "operator", "host", "county", "admin"]
#: Not fuzzed while signed in (they would end the session the next requests use); fuzzed anonymously.
SESSION_ENDING = {"auth.logout", "password.change", "auth.login", "auth.register"}
#: Not pages: static files, uploaded media.
SKIP = {"static", "catalog.media"}

HOSTILE = [
    "",
    " ",
    "0",
    "-1",
    "²",
    "١٢",
    "４２",
    "1e309",
    "NaN",
    "12.345",
    "-0.01",
    "99999999999999999999",
    str(2**63),
    str(2**63 - 1),
    str(2**31),
    "9999-12-31",
    "9999-12-30",
    "0001-01-01",
    "2026-02-30",
    "9999-12",
    '=HYPERLINK("http://evil.example","x")',
    "@SUM(1)",
    "\x00",
    "\t\r\n",
    "<script>alert(1)</script>",
    "../../etc/passwd",
    "//evil.example",
    "a" * 3000,
    "true",
    "on",
    "y",
    "x",
]
PLAUSIBLE = {
    "date": ["2026-12-20", "2026-12-21"],
    "number": ["1", "2", "3"],
    "money": ["12.50", "1"],
    "text": ["张三", "13800000000", "江西省南昌市", "y"],
}
ODD_QUERY = [
    ("endpoint", "x"),
    ("_method", "POST"),
    ("slug", "x"),
    ("_external", "1"),
    ("_scheme", "javascript"),
    ("_anchor", "x"),
    ("values", "x"),
    ("page", "²"),
    ("page", "99999999999999999999"),
    ("page", "-1"),
    ("date", "9999-12-31"),
    ("from", "9999-12-31"),
    ("to", "0001-01-01"),
    ("checkin", "9999-12-30"),
    ("checkout", "9999-12-31"),
    ("month", "9999-12"),
    ("month", "²"),
    ("format", "xlsx"),
    ("format", "csv"),
    ("format", "pdf"),
    ("q", "\x00"),
    ("q", "=1+1"),
    ("category", "²"),
    ("village", str(2**63)),
    ("township", "١٢"),
    ("guests", "²"),
    ("sort", "x"),
    ("lang", "xx"),
    ("next", "//evil.example"),
    ("status", "x"),
    ("group_by", "household"),
    ("group_by", "x"),
    ("station", "²"),
    ("in_stock", "on"),
    ("min_fen", "99999999999999999999"),
    ("unknown", "x"),
]


def _form_field_names() -> list[str]:
    names: set[str] = set()
    pending = list(FlaskForm.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        for attr in dir(cls):
            field = getattr(cls, attr, None)
            if getattr(field, "field_class", None) is not None:  # an unbound WTForms field
                names.add(attr)
    for template in (ROOT / "templates").rglob("*.html"):
        names.update(re.findall(r'name="([A-Za-z_][A-Za-z0-9_]*)"', template.read_text(encoding="utf-8")))
    names.discard("csrf_token")
    return sorted(names)


def _plausible(name: str) -> list[str]:
    if any(k in name for k in ("date", "checkin", "checkout", "start", "end", "day")):
        return PLAUSIBLE["date"]
    if any(k in name for k in ("price", "amount", "fen")):
        return PLAUSIBLE["money"]
    if name.endswith(("_id", "id")) or name in (
        "quantity",
        "units",
        "guests",
        "weight",
        "members",
        "delta",
        "stock",
        "initial_stock",
        "free_cancel_days",
        "cancel_fee_pct",
    ):
        return PLAUSIBLE["number"]
    return PLAUSIBLE["text"]


@pytest.fixture
def world(db):
    station = make_station()
    village = station.villages[0]
    users = {
        "operator": make_user(role="operator", station=station),
        "consumer": make_user(role="consumer"),
        "county": make_user(role="county"),
        "host": make_user(role="host"),
        "admin": make_user(role="admin"),
    }
    household = make_household(village=village)
    product = make_product(station=station, category=make_category(), households=[household], stock=50)
    pending = make_product(station=station, approval_status="pending", is_published=False)
    order = make_order(users["consumer"], [(product, 1)], now=NOW)
    listing = make_listing(host=users["host"], village=village, households=[household])
    booking = make_booking(listing, user=users["consumer"], check_in=(NOW + timedelta(days=10)).date())
    commit()
    from shop.extensions import db as _db
    from stock.models import StockRecord

    record = _db.session.query(StockRecord).filter_by(product_id=product.id).one()
    shipment = order.shipments[0]
    values = {
        "product_id": [product.id, pending.id],
        "listing_id": [listing.id],
        "household_id": [household.id],
        "record_id": [record.id],
        "line_id": [order.lines[0].id],
        "target_id": [product.id, listing.id],
        "unit_type_id": [listing.unit_types[0].id],
        "req_id": [1],
        "code": [order.code, shipment.code, booking.code, "NOPE"],
        "slug": [product.slug, listing.slug, village.slug, "x"],
        "kind": ["product", "listing"],
        "decision": ["approve", "reject", "x"],
        "day": ["2026-12-20", "9999-12-31", "x"],
        "token": ["x"],
        "filename": ["x.jpg"],
    }
    return {"users": users, "values": values}


def _path_values(rule, world, rng: random.Random) -> dict:
    out = {}
    int_args = set(re.findall(r"<int:([A-Za-z_]+)>", rule.rule))
    for name in sorted(rule.arguments):  # a set: its order follows the hash seed, the draws must not
        # real rows where the world has them; any other argument (a route added later) a plain value
        choices = world["values"].get(name) or ([1] if name in int_args else ["x"])
        value = rng.choice(choices)
        if name in int_args and rng.random() < 0.2:
            value = 2**63 + rng.randrange(1000)  # past BIGINT: must be a 404, not an overflow
        out[name] = value
    return out


def _url(rule, values: dict) -> str:
    path = rule.rule
    for name, value in values.items():
        path = re.sub(r"<(?:[^:<>]+:)?" + name + r">", quote(str(value), safe=""), path)
    return path


def _routes(app):
    return [r for r in app.url_map.iter_rules() if r.endpoint not in SKIP and not r.rule.startswith("/api/")]


def _login(client, user):
    response = client.post("/login", data={"email": user.email, "password": "password123"})
    assert response.status_code in (302, 303), response.status_code


@pytest.mark.parametrize("role", ROLES)
def test_every_html_route_survives_hostile_input(app, db, world, role):
    client = app.test_client()
    if role != "anonymous":
        _login(client, world["users"][role])
    rng = random.Random(f"form-fuzz-{role}")
    fields = _form_field_names()
    assert {"checkin", "quantity", "price", "weight_g", "registry_no"} <= set(fields)
    failures = []
    sent = 0
    for rule in sorted(_routes(app), key=lambda r: (r.rule, r.endpoint)):
        if role != "anonymous" and rule.endpoint in SESSION_ENDING:
            continue
        for method in sorted(m for m in rule.methods if m in ("GET", "POST")):
            for _example in range(EXAMPLES):
                values = _path_values(rule, world, rng)
                url = _url(rule, values)
                if method == "GET":
                    query = urlencode(rng.sample(ODD_QUERY, k=rng.randint(1, 4)))
                    response = client.get(f"{url}?{query}")
                    label = f"GET {url}?{query}"
                else:
                    data = {
                        name: rng.choice(HOSTILE + _plausible(name))
                        for name in rng.sample(fields, k=min(len(fields), rng.randint(5, 40)))
                    }
                    if rng.random() < 0.8:
                        data["form_token"] = new_form_token()  # a once-token, so validation goes past it
                    response = client.post(url, data=data)
                    label = f"POST {url} {sorted(data.items())[:12]}"
                sent += 1
                if response.status_code >= 500:
                    failures.append(f"{role}: {label} -> {response.status_code}")
    assert sent >= 80  # every route at least once
    assert not failures, "\n".join(failures[:30])
