"""Refused actions speak the user's language: Chinese by default, English with `?lang=en` (kept in the
session), on HTML pages (flash messages, form errors) and in the API's error envelope — while `code` and
`fields` stay the same machine-readable values whatever the language.

Services raise `DomainError`s by code; the message is the code's catalogue entry, shown in the request's
locale (`shop.errors.error_message`, tests/test_error_codes.py); the last test keeps bare literals out of
flash messages and aborts.
"""

from __future__ import annotations

import ast
import io
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from openpyxl import Workbook

from shop.db import commit
from shop.once import new_form_token
from tests.factories import make_category, make_household, make_product, make_station, make_user, make_village
from tests.stations.factories import make_order

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module", autouse=True)
def _compiled_catalogues():
    """The app reads .mo files (`make translations`); compile any missing or older than their .po."""
    for pkg in ("shop", "stations", "county", "orders", "tourism"):
        po = ROOT / pkg / "translations" / "en" / "LC_MESSAGES" / "messages.po"
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            with po.open("rb") as f:
                catalogue = read_po(f, locale="en")
            buffer = io.BytesIO()
            write_mo(buffer, catalogue, use_fuzzy=False)
            mo.write_bytes(buffer.getvalue())


def _text(response) -> str:
    return response.get_data(as_text=True)


def _station_world():
    village = make_village(name="语言村")
    station = make_station(village=village, code="LANG1")
    household = make_household(village=village)
    product = make_product(
        price_fen=1000, stock=10, station=station, category=make_category(), households=[household], weights=[1]
    )
    operator = make_user(role="operator", station=station)
    order = make_order([(product, 1)], payment_method="card")
    commit()
    return operator, order.shipments[0]


# --- stations ------------------------------------------------------------------------------------


def assert_api_error_in_both_languages(client, url, body, *, headers=None, status, zh, en, code, fields=None):
    """POST `body` to `url` as is and with ?lang=en: the same status, code and fields, the message in each language."""
    answers = [client.post(url + suffix, json=body, headers=headers or {}) for suffix in ("", "?lang=en")]
    assert [a.status_code for a in answers] == [status, status]
    assert [a.json["error"]["message"] for a in answers] == [zh, en]
    assert [a.json["error"]["code"] for a in answers] == [code, code]
    if fields is not None:
        assert [a.json["error"]["fields"] for a in answers] == [fields, fields]


def test_station_refusals_flash_in_the_users_language(app, db, auth):
    operator, shipment = _station_world()
    chinese, english = app.test_client(), app.test_client()
    for client, lang in ((chinese, "zh_CN"), (english, "en")):  # each browser keeps its language
        client.post(f"/login?lang={lang}", data={"email": operator.email, "password": "password123"})

    # a card-paid shipment has no cash to confirm
    page = _text(chinese.post(f"/station/shipments/{shipment.code}/cash", data={"confirm": "1"}, follow_redirects=True))
    assert "此订单为在线支付，不收现金" in page
    page = _text(
        english.post(f"/station/shipments/{shipment.code}/cash?lang=en", data={"confirm": "1"}, follow_redirects=True)
    )
    assert "This order is paid online, no cash is collected" in page and "此订单为在线支付" not in page

    # a new shipment cannot be handed over: the status inside the message is translated too
    page = _text(
        chinese.post(
            f"/station/shipments/{shipment.code}/action",
            data={"action": "deliver", "confirm": "1"},
            follow_redirects=True,
        )
    )
    assert "当前状态「新订单」不能交付" in page
    page = _text(
        english.post(
            f"/station/shipments/{shipment.code}/action",
            data={"action": "deliver", "confirm": "1"},
            follow_redirects=True,
        )
    )  # the session remembers English
    assert "Cannot hand over in status “New”" in page and "不能交付" not in page


def test_station_api_error_message_follows_the_locale_and_code_does_not(client, db, api_token):
    operator, shipment = _station_world()
    headers = api_token(operator)
    url = f"/api/v1/shipments/{shipment.code}/transition"
    assert_api_error_in_both_languages(
        client,
        url,
        {"action": "deliver"},
        headers=headers,
        status=409,
        zh="当前状态「新订单」不能交付",
        en="Cannot hand over in status “New”",
        code="cannot_deliver",
        fields={"status": "new"},
    )


# --- county --------------------------------------------------------------------------------------


def test_county_refusals_flash_in_the_users_language(app, db):
    officer = make_user(role="county")
    product = make_product(approval_status="pending")
    household = make_household()  # 贫困户
    commit()
    chinese, english = app.test_client(), app.test_client()
    for client, lang in ((chinese, "zh_CN"), (english, "en")):  # each browser keeps its language
        client.post(f"/login?lang={lang}", data={"email": officer.email, "password": "password123"})

    page = _text(chinese.post(f"/county/approvals/{product.id}/reject", follow_redirects=True))
    assert "退回需要填写原因" in page
    page = _text(english.post(f"/county/approvals/{product.id}/reject?lang=en", follow_redirects=True))
    assert "A reason is needed to return it" in page and "退回需要填写原因" not in page

    # 贫困户 → 监测对象 is not a legal step; both statuses are named in the reader's language
    url = f"/county/households/{household.id}/status"
    page = _text(chinese.post(url, data={"status": "monitored"}, follow_redirects=True))
    assert "不能从「贫困户」变为「监测对象」" in page
    page = _text(english.post(url, data={"status": "monitored"}, follow_redirects=True))
    assert "Cannot change from “Poor household” to “Under monitoring”" in page and "不能从" not in page
    # one household's status is singular; the menu entry that lists them all stays plural
    assert "Poor households" in page


def test_county_api_error_message_follows_the_locale(client, db, api_token):
    officer = make_user(role="county")
    product = make_product(approval_status="pending")
    commit()
    headers = api_token(officer)
    url = f"/api/v1/county/products/{product.id}/reject"
    assert_api_error_in_both_languages(
        client,
        url,
        {},
        headers=headers,
        status=422,
        zh="退回需要填写原因",
        en="A reason is needed to return it",
        code="reason_required_to_return",
        fields={"reason": "required"},
    )


def _sheet(*rows) -> io.BytesIO:
    workbook = Workbook()
    workbook.active.append(["所在村", "户主姓名", "建档立卡编号", "联系电话"])
    for row in rows:
        workbook.active.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    buffer.seek(0)
    return buffer


def test_county_form_errors_and_import_report_are_translated(app, db):
    officer = make_user(role="county")
    village = make_village(name="译村")
    commit()
    chinese, english = app.test_client(), app.test_client()
    english.post("/login?lang=en", data={"email": officer.email, "password": "password123"})
    # the account now writes in English (its mails); this browser asks for Chinese pages
    chinese.post("/login?lang=zh_CN", data={"email": officer.email, "password": "password123"})
    bad = {"village_id": village.id, "head_name": "甲", "registry_no": "x", "phone": "123", "members": "1"}
    assert "登记号格式不正确" in _text(
        chinese.post("/county/households/new", data={**bad, "form_token": new_form_token()})
    )
    page = _text(english.post("/county/households/new", data={**bad, "form_token": new_form_token()}))
    assert "Invalid registry number" in page and "Invalid phone number" in page and "登记号格式不正确" not in page

    rows = (["无此村", "乙", "LANG0001", ""], ["译村", "丙", "LANG0002", "123"])
    page = _text(
        chinese.post(
            "/county/households/import", data={"file": (_sheet(*rows), "h.xlsx")}, content_type="multipart/form-data"
        )
    )
    assert "村不存在: 无此村" in page and "电话号码格式不正确" in page
    page = _text(
        english.post(
            "/county/households/import", data={"file": (_sheet(*rows), "h.xlsx")}, content_type="multipart/form-data"
        )
    )
    assert "No such village: 无此村" in page and "Invalid phone number" in page and "村不存在" not in page
    page = _text(
        english.post(
            "/county/households/import",
            data={"file": (io.BytesIO(b"no"), "h.xlsx")},
            content_type="multipart/form-data",
        )
    )
    assert "Not an Excel (.xlsx) file" in page


def test_county_exports_and_targets_follow_the_locale(app, db):
    from county.services.targets import seed_targets

    officer = make_user(role="county")
    seed_targets()
    commit()
    chinese, english = app.test_client(), app.test_client()
    english.post("/login?lang=en", data={"email": officer.email, "password": "password123"})
    # the account now writes in English (its mails); this browser asks for Chinese pages
    chinese.post("/login?lang=zh_CN", data={"email": officer.email, "password": "password123"})
    heading = lambda client, url: _text(client.get(url)).lstrip("\ufeff").splitlines()[0]  # noqa: E731
    assert heading(chinese, "/county/income?format=csv") == (
        "编号,名称,电商销售(元),乡村旅游(元),冲销(元),登记收益(元),代销分成(元),订单收购(元),"
        "务工工资(元),分红(元),租金(元),村集体(元),合计(元),笔数,户数"
    )
    assert heading(english, "/county/income?format=csv").startswith("No.,Name,Online sales (yuan),")
    assert "Wages (yuan),Dividends (yuan),Rent (yuan)" in heading(english, "/county/income?format=csv")
    assert heading(english, "/county/targets?format=csv").startswith("Target,Target value,Achieved,Unit,")
    page = _text(english.get("/county/targets"))
    assert "Poor households lifted by e-commerce" in page and "电商扶贫带动贫困户" not in page
    assert "/ 18 villages" in page and "个" not in page
    assert "电商扶贫带动贫困户" in _text(chinese.get("/county/targets"))


# --- accounts ------------------------------------------------------------------------------------


def test_registration_refusal_is_shown_in_the_users_language(app, db):
    make_user(email="taken@lang.cn")
    commit()
    data = {"email": "taken@lang.cn", "password": "longenough1", "confirm": "longenough1"}
    zh = app.test_client().post("/register", data=data)
    en = app.test_client().post("/register?lang=en", data=data)
    assert zh.status_code == en.status_code == 422
    assert "该邮箱已注册" in _text(zh)
    assert "This e-mail is already registered" in _text(en) and "该邮箱已注册" not in _text(en)


def test_auth_api_errors_follow_the_locale(client, db):
    make_user(email="known@lang.cn")
    commit()
    body = {"email": "known@lang.cn", "password": "wrong-password"}
    assert_api_error_in_both_languages(
        client,
        "/api/v1/auth/token",
        body,
        status=401,
        zh="邮箱或密码不正确",
        en="Wrong e-mail or password",
        code="invalid_credentials",
    )
    taken = client.post("/api/v1/auth/register?lang=en", json={"email": "known@lang.cn", "password": "longenough1"})
    assert taken.status_code == 409
    assert taken.json["error"] == {
        "code": "email_taken",
        "message": "This e-mail is already registered",
        "fields": {"email": "taken"},
    }


# --- e-mail from tasks ----------------------------------------------------------------------------


def test_shipment_mail_is_chinese_by_default_and_english_for_an_english_buyer(db, caplog):
    """Tasks run outside a request: they write each mail in its buyer's language (`user.locale`, Chinese
    when none) under `flask_babel.force_locale`, subject and body. With no MAIL_SERVER, shop.mail writes
    each message to its log: that is what is read here (tests/test_mail_languages.py covers every mail)."""
    from stations.tasks import notify_line_canceled, notify_shipment

    _operator, shipment = _station_world()
    with caplog.at_level("INFO", logger="shop.mail"):
        notify_shipment.run(shipment.id, "accepted")
        shipment.order.user.locale = "en"
        commit()
        notify_shipment.run(shipment.id, "accepted")
        notify_line_canceled.run(shipment.lines[0].id, "缺货")
    sent = [r.args[1:3] for r in caplog.records if r.name == "shop.mail" and r.msg.startswith("mail to")]
    (zh_subject, zh_body), (en_subject, en_body), (cancel_subject, cancel_body) = sent
    code = shipment.order.code
    assert (
        zh_subject == f"您的订单 {code} 已被服务站接单" and f"订单号: {code}" in zh_body and "状态: 已接单" in zh_body
    )
    assert en_subject == f"Your order {code} was accepted by the service station"
    assert f"Order number: {code}" in en_body and "Status: Accepted" in en_body
    assert cancel_subject == f"An item of your order {code} cannot be supplied" and "Reason: 缺货" in cancel_body
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in en_subject + en_body + cancel_subject)


def test_order_status_mail_names_the_statuses_in_the_readers_language(app):
    from datetime import datetime, timezone
    from types import SimpleNamespace as Row

    from flask import render_template
    from flask_babel import force_locale

    at = datetime(2026, 11, 28, 4, 0, tzinfo=timezone.utc)
    order = Row(user=Row(name="小李", email="a@test.cn"), code="C0DE", total_fen=4500)
    history = [
        Row(created_at=at, from_status=None, to_status="pending"),
        Row(created_at=at, from_status="pending", to_status="confirmed"),
    ]
    with app.app_context():
        chinese = render_template("emails/order_status.txt", order=order, history=history, kind="paid")
        with force_locale("en"):
            english = render_template("emails/order_status.txt", order=order, history=history, kind="paid")
    assert "待支付 → 已确认" in chinese
    assert "Awaiting payment → Confirmed" in english and "pending" not in english


# --- orders --------------------------------------------------------------------------------------


def test_cart_refusal_flashes_in_the_users_language(app, db):
    """Adding a product that does not exist: the cart page's flash follows the locale."""
    buyer = make_user()
    commit()
    chinese, english = app.test_client(), app.test_client()
    for client, lang in ((chinese, "zh_CN"), (english, "en")):  # each browser keeps its language
        client.post(f"/login?lang={lang}", data={"email": buyer.email, "password": "password123"})
    data = {"product_id": "999999", "quantity": "1"}
    page = _text(chinese.post("/cart/add", data=data, follow_redirects=True))
    assert "商品不存在" in page
    page = _text(english.post("/cart/add?lang=en", data=data, follow_redirects=True))
    assert "No such product" in page and "商品不存在" not in page

    # a quantity out of range: the bounds are placeholders filled in after translation
    product = make_product(price_fen=1000, stock=10)
    commit()
    page = _text(english.post("/cart/add", data={"product_id": product.id, "quantity": "0"}, follow_redirects=True))
    assert "The quantity must be between 1 and " in page and "数量必须在" not in page


def test_order_api_error_message_follows_the_locale_and_code_does_not(client, db, api_token):
    from tests.orders.factories import ADDRESS_JSON

    headers = api_token(make_user())
    body = {"items": [{"product_id": 999999, "quantity": 1}], "address": ADDRESS_JSON, "payment_method": "cod"}
    assert_api_error_in_both_languages(
        client,
        "/api/v1/orders",
        body,
        headers=headers,
        status=422,
        zh="商品不存在",
        en="No such product",
        code="product_not_found",
        fields={"product_id": "999999"},
    )
    missing = client.get("/api/v1/orders/NOSUCH01?lang=en", headers=headers)
    assert missing.status_code == 404 and missing.json["error"]["message"] == "Order not found"


# --- tourism -------------------------------------------------------------------------------------


def _stay():
    from datetime import timedelta

    from shop.timeutil import local_date, now_utc
    from tests.tourism.factories import make_listing

    listing = make_listing(pay_on_arrival=True)
    commit()
    day = lambda n: (local_date(now_utc()) + timedelta(days=n)).isoformat()  # noqa: E731
    return listing, day


def test_booking_refusal_flashes_in_the_users_language(app, db):
    listing, day = _stay()
    tourist = make_user()
    commit()
    chinese, english = app.test_client(), app.test_client()
    for client, lang in ((chinese, "zh_CN"), (english, "en")):  # each browser keeps its language
        client.post(f"/login?lang={lang}", data={"email": tourist.email, "password": "password123"})
    data = {
        "checkin": day(7),
        "checkout": day(5),
        "guests": 2,
        "units": 1,
        "unit_type_id": listing.unit_types[0].id,
        "payment_method": "arrival",
        "form_token": new_form_token(),
    }
    zh = chinese.post(f"/listings/{listing.id}/book", data=data)
    en = english.post(f"/listings/{listing.id}/book?lang=en", data=data)
    assert zh.status_code == en.status_code == 422
    assert "离店日期必须晚于入住日期" in _text(zh)
    assert "Check-out must be after check-in" in _text(en) and "离店日期必须晚于入住日期" not in _text(en)


def test_booking_api_error_message_follows_the_locale_and_code_does_not(client, db, api_token):
    listing, day = _stay()
    headers = api_token(make_user())
    body = {"listing_id": listing.id, "checkin": day(7), "checkout": day(5), "guests": 2, "payment_method": "arrival"}
    assert_api_error_in_both_languages(
        client,
        "/api/v1/bookings",
        body,
        headers=headers,
        status=422,
        zh="离店日期必须晚于入住日期",
        en="Check-out must be after check-in",
        code="checkout_not_after_checkin",
        fields={"checkout": "not after check-in"},
    )

    # a placeholder in the message: the calendar's longest range
    far = client.get(f"/api/v1/listings/{listing.id}/availability?from={day(1)}&to={day(400)}&lang=en")
    assert far.status_code == 422 and far.json["error"]["message"].startswith("At most ")
    assert far.json["error"]["fields"] == {"to": "range too long"}


# --- no bare literals ----------------------------------------------------------------------------

#: Packages whose messages this suite covers (domain errors: tests/test_error_codes.py).
CHECKED = [
    "stations",
    "county",
    "shop/auth",
    "orders",
    "tourism",
    "catalog",
    "reviews",
    "favourites",
    "stock",
    "ledger",
    "search",
    "institutions",
]


def _bare_literals(path: Path) -> list[str]:
    """`flash("…")`, `abort(400, "…")`, `PaymentDeclined("…")` with an untranslated (or f-) string."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        name = getattr(node.func, "id", getattr(node.func, "attr", ""))
        first = node.args[1] if name == "abort" and len(node.args) > 1 else node.args[0]
        literal = isinstance(first, ast.JoinedStr) or (isinstance(first, ast.Constant) and isinstance(first.value, str))
        if literal and name in ("flash", "abort", "PaymentDeclined"):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_no_untranslated_messages_in_services_and_views(app):
    files = [p for pkg in CHECKED for p in sorted((ROOT / pkg).rglob("*.py")) if "migrations" not in p.parts]
    assert len(files) > 10
    offenders = [hit for path in files for hit in _bare_literals(path)]
    assert offenders == [], "wrap user-facing messages in _() (Chinese msgid) and translate them"
