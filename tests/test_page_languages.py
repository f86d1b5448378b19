"""Every text a buyer or tourist reads is in the page's language (#19.7): on a zh page no English UI text
(WTForms' or an extension's English, a machine note such as "pay on arrival"), on an en page no Chinese
UI text (a msgid of any catalogue left untranslated, "买家取消", "建档立卡", a full-width colon). Data
(product, village and listing names) is Chinese in both and is not UI text.

How: the pages are fetched in both languages; their visible text nodes (and placeholder, title,
aria-label and alt attributes) are read with html.parser. On zh, a node with two English words in a row
fails; on en, a node holding a Chinese msgid of the catalogues (or a "：") fails."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest

from shop.timeutil import local_date, now_utc
from tests.factories import make_household, make_product, make_user, make_village
from tests.orders.factories import make_order
from tests.page_language import CJK, chinese_ui_on_en, english_ui_on_zh, page_text_nodes
from tests.tourism.factories import make_booking, make_listing


def test_the_checks_catch_what_they_are_for():
    assert english_ui_on_zh(["到店支付 · pay on arrival", "The CSRF token is invalid.", "10 per 1 minute"]) == [
        "到店支付 · pay on arrival",
        "The CSRF token is invalid.",
        "10 per 1 minute",
    ]
    assert english_ui_on_zh(["¥12.00", "三江腌菜", "English", "NC01"]) == []
    assert chinese_ui_on_en(["Order 买家取消", "Station：NC01", "三江腌菜"], {"三江腌菜"}) == [
        "Order 买家取消",
        "Station：NC01",
    ]


@pytest.fixture
def world(db):
    village = make_village(name="花海村", signature_product="花海门票")
    household = make_household(village=village)
    product = make_product(name="花海蜂蜜", village=village, households=[household])
    listing = make_listing(village=village, name="花海原乡民宿", pay_on_arrival=True, households=[household])
    buyer = make_user(name="小李")
    order = make_order(buyer, [(product, 1)], now=now_utc(), payment_method="cod")
    day = local_date(now_utc()) + timedelta(days=9)
    booking = make_booking(listing, user=buyer, check_in=day, check_out=day + timedelta(days=2))
    data = {
        village.name,
        village.signature_product,
        product.name,
        listing.name,
        village.township.name,
        household.head_name,
        buyer.name,
        product.category.name if product.category else "",
        listing.unit_types[0].name,
        product.station.name if product.station else "",
        listing.description,
        listing.included,
    }
    return {
        "village": village,
        "product": product,
        "listing": listing,
        "buyer": buyer,
        "order": order,
        "booking": booking,
        "data": data,
    }


def _urls(w):
    v, p, l, o, b = w["village"], w["product"], w["listing"], w["order"], w["booking"]
    return [
        "/",
        "/products",
        "/search?q=蜂蜜",
        f"/villages/{v.slug}",
        f"/products/{p.id}-{p.slug}",
        "/stays",
        "/experiences",
        "/tickets",
        f"/listings/{l.id}-{l.slug}",
        "/cart",
        "/orders",
        f"/orders/{o.code}",
        f"/orders/{o.code}/cancel",
        "/bookings",
        f"/bookings/{b.code}",
        f"/bookings/{b.code}/cancel",
        "/password/change",
    ]


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_buyer_and_tourist_pages_speak_one_language(app, world, lang):
    client = app.test_client()
    client.get(f"/?lang={lang}")
    client.post("/login", data={"email": world["buyer"].email, "password": "password123"})
    client.post("/cart/add", data={"product_id": world["product"].id, "quantity": 1})
    problems = {}
    pages = {url: client.get(url) for url in _urls(world)}
    pages["/checkout"] = client.get("/checkout")
    pages["POST /password/change"] = client.post(
        "/password/change", data={"current": "x", "password": "short", "confirm": "other"}
    )
    pages["POST /checkout"] = client.post(
        "/checkout",
        data={"delivery": "ship", "name": "王", "phone": "138001380", "line": "幸福路1号", "payment_method": "cod"},
    )
    client.post("/logout")
    pages["POST /register"] = client.post("/register", data={"email": "x", "password": "short", "confirm": "o"})
    pages["POST /login"] = client.post("/login", data={})
    for url, response in pages.items():
        assert response.status_code < 500, url
        nodes = page_text_nodes(response.get_data(as_text=True))
        bad = english_ui_on_zh(nodes) if lang == "zh_CN" else chinese_ui_on_en(nodes, world["data"])
        if bad:
            problems[url] = bad
    assert problems == {}


def test_registry_notes_are_translated_for_an_english_reader(app):
    from flask_babel import force_locale

    from shop.history import note_text

    with app.test_request_context("/"), force_locale("en"):
        assert not CJK.search(note_text("建档立卡")) and not CJK.search(note_text("买家取消"))
        assert (
            not CJK.search(note_text("buyer canceled")) and note_text("cash received ¥56.40") == "Cash received ¥56.40"
        )
    with app.test_request_context("/"), force_locale("zh_CN"):
        assert note_text("cash received ¥56.40") == "已收现金 ¥56.40" and note_text("pay on arrival") == "到店支付"


NOTE_PACKAGES = (
    "orders",
    "tourism",
    "stations",
    "institutions",
    "county",
    "ledger",
    "shop",
    "invoices",
    "reviews",
    "stock",
    "catalog",
)
#: The calls whose `note=` / `reason=` is kept in a status history (shop.history) and read back on pages.
NOTE_WRITERS = {
    "transition",
    "record_note",
    "cancel_order",
    "_cancel_locked",
    "_hand_over",
    "confirm_booking",
    "settle_order",
    "refund_payment",
    "refund_kept",
}


def test_every_note_the_code_writes_is_read_in_the_pages_language():
    """A note or reason the code writes as a constant is a key the pages translate (shop.history.NOTE_LABELS):
    `booking canceled by the host` was missing and the guest's Chinese order page showed it in English."""
    import ast
    from pathlib import Path

    from shop.history import NOTE_LABELS

    root = Path(__file__).resolve().parent.parent
    missing = []
    for package in NOTE_PACKAGES:
        for path in (root / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                name = getattr(node, "func", None)
                name = getattr(name, "id", None) or getattr(name, "attr", None)
                if not isinstance(node, ast.Call) or name not in NOTE_WRITERS:
                    continue
                for keyword in node.keywords:
                    value = keyword.value
                    if keyword.arg in ("note", "reason") and isinstance(value, ast.Constant) and value.value:
                        if value.value not in NOTE_LABELS:
                            missing.append(f"{path.relative_to(root)}: {name}({keyword.arg}={value.value!r})")
    assert not missing, missing


# --- every page each role reaches -----------------------------------------------------------------

#: Where each role starts; the crawl follows the same-site links of every page it reads.
ROLE_STARTS = {
    "consumer": ["/", "/orders", "/bookings", "/cart", "/favourites"],
    "operator": ["/station/", "/refund-requests"],
    "host": ["/host/"],
    "county": ["/county/"],
    "admin": [
        "/station/",
        "/county/",
        "/refund-requests",
        "/admin/",
        "/admin/users",
        "/admin/categories",
        "/admin/stations",
    ],
}
#: Links not followed: leaving, downloads (CSV/XLSX exports carry column names, not pages), the API.
SKIP_LINK = re.compile(r"logout|/lang/|format=|/static/|/api/|lang=|export|mailto:|^//|^#|\.(png|svg|jpg|pdf)\b|/qr\b")
MAX_PAGES = 60


def _links(html: str) -> list[str]:
    return [unescape(h).split("#")[0] for h in re.findall(r'href="(/[^"]*)"', html)]


@pytest.fixture
def roles_world(world, db):
    from shop.db import commit

    product, listing = world["product"], world["listing"]
    users = {
        "consumer": world["buyer"],
        "operator": make_user(role="operator", station=product.station, name="站长老王"),
        "host": db.session.get(type(world["buyer"]), listing.host_id),
        "county": make_user(role="county", name="县办小张"),
        "admin": make_user(role="admin", name="管理员"),
    }
    make_product(name="待认定腌菜", village=world["village"], station=product.station, approval_status="pending")
    commit()
    data = world["data"] | {u.name for u in users.values()} | {"待认定腌菜", product.station.code}
    return users, data


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
@pytest.mark.parametrize("role", list(ROLE_STARTS))
def test_every_page_a_role_reaches_speaks_one_language(app, roles_world, role, lang):
    """A crawl per role and language: the role's start pages and every same-site page they link to
    (up to MAX_PAGES), each read for the other language's UI text."""
    users, data = roles_world
    client = app.test_client()
    client.get(f"/?lang={lang}")
    assert client.post("/login", data={"email": users[role].email, "password": "password123"}).status_code == 302
    todo, seen, problems = list(ROLE_STARTS[role]), set(), {}
    while todo and len(seen) < MAX_PAGES:
        url = todo.pop(0)
        if url in seen or SKIP_LINK.search(url):
            continue
        seen.add(url)
        response = client.get(url)
        assert response.status_code < 500, url
        if response.status_code != 200 or not response.content_type.startswith("text/html"):
            continue
        html = response.get_data(as_text=True)
        nodes = page_text_nodes(html)
        bad = english_ui_on_zh(nodes) if lang == "zh_CN" else chinese_ui_on_en(nodes, data)
        if bad:
            problems[url] = bad
        todo.extend(link for link in _links(html) if link not in seen)
    area = {
        "consumer": "/orders/",
        "operator": "/station/shipments/",
        "host": "/host/listings/",
        "county": "/county/households/",
        "admin": "/county/",
    }[role]
    assert len(seen) >= 20 and any(url.startswith(area) for url in seen), sorted(seen)  # the crawl got in
    assert problems == {}
