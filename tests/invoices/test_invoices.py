"""Invoices (#22 发票): asked per order or per period, issued by the selling station with a PDF/OFD file,
never above what was paid minus refunds (per order and per period), a red invoice after a refund,
and nobody else's invoice reachable (404)."""

from __future__ import annotations

import io
import os
import re
import zipfile

import pytest
import sqlalchemy as sa

from institutions import creditcode
from invoices.models import Invoice, InvoiceOrder
from orders.services import payments
from orders.services.refunds import approve_refund_request, request_refund
from shop.audit import AuditEntry
from shop.db import commit
from shop.extensions import db as _db
from shop.money import MAX_FEN
from shop.timeutil import local_date, now_utc
from stations.services import fulfilment
from tests.county.handover import hand_over
from tests.factories import make_product, make_station, make_user
from tests.institutions.factories import make_organisation
from tests.orders.factories import FakeStripeProvider, make_order

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def ofd_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as package:
        package.writestr("OFD.xml", "<ofd:OFD xmlns:ofd='http://www.ofdspec.org/2016'/>")
        package.writestr("Doc_0/Document.xml", "<doc/>")
    return buffer.getvalue()


DETAILS = {"kind": "ordinary", "title": "南昌县第一中学", "tax_number": ""}


def special_details() -> dict:
    body = "91360121000000042"
    return {
        "kind": "special",
        "title": "南昌县第一中学",
        "tax_number": body + creditcode.check_character(body),
        "address": "南昌县莲塘镇澄湖路1号",
        "phone": "0791-85712345",
        "bank": "中国银行南昌县支行",
        "account": "6216 6100 0000 1234",
    }


def _paid_card_order(buyer, items, now):
    order = make_order(buyer, items, now=now, payment_method="card")
    payment = payments.start_payment(order.payments[0], now=now)
    FakeStripeProvider.succeed(payment.provider_ref)
    payments.sync_payment(payment, now=now)
    return order


@pytest.fixture
def world(db, fake_stripe):
    station = make_station()
    op = make_user(role="operator", station=station)
    other_op = make_user(role="operator", station=make_station())
    rice = make_product(name="南昌大米", price_fen=6000, stock=50, station=station)
    eggs = make_product(name="土鸡蛋", price_fen=4500, stock=50, station=station)
    buyer, stranger, county = make_user(), make_user(), make_user(role="county")
    commit()
    return {
        "station": station,
        "op": op,
        "other_op": other_op,
        "rice": rice,
        "eggs": eggs,
        "buyer": buyer,
        "stranger": stranger,
        "county": county,
    }


def _issue(client, headers, invoice_id, *, number, amount_fen, data=PDF, name="invoice.pdf", day=None):
    day = day or local_date(now_utc()).isoformat()
    return client.post(
        f"/api/v1/invoices/{invoice_id}/issue?number={number}&issued_on={day}&amount_fen={amount_fen}",
        headers=headers,
        data={"file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def _red(client, headers, invoice_id, *, number, amount_fen, data=PDF):
    day = local_date(now_utc()).isoformat()
    return client.post(
        f"/api/v1/invoices/{invoice_id}/red?number={number}&issued_on={day}&amount_fen={amount_fen}",
        headers=headers,
        data={"file": (io.BytesIO(data), "red.pdf")},
        content_type="multipart/form-data",
    )


def _state(invoice_id: int):
    _db.session.expire_all()
    invoice = _db.session.get(Invoice, invoice_id)
    return (
        invoice.status,
        invoice.number,
        invoice.amount_fen,
        invoice.file_path,
        [link.amount_fen for link in invoice.orders],
    )


def _audits(action: str) -> int:
    return _db.session.scalar(sa.select(sa.func.count(AuditEntry.id)).where(AuditEntry.action == action))


def test_an_order_invoice_never_exceeds_what_was_paid_and_the_order_shows_it_is_waiting(
    app, client, world, api_token, auth
):
    w, now = world, now_utc()
    order = _paid_card_order(w["buyer"], [(w["rice"], 2), (w["eggs"], 1)], now)
    commit()
    paid = order.total_fen
    b, op = api_token(w["buyer"]), api_token(w["op"])
    r = client.post(f"/api/v1/orders/{order.code}/invoice-request", headers=b, json=DETAILS)
    assert r.status_code == 201, r.json
    [invoice] = r.json["items"]
    assert invoice["status"] == "requested" and invoice["available_fen"] == paid
    assert invoice["station_id"] == w["station"].id and invoice["orders"] == [
        {"order_code": order.code, "amount_fen": 0}
    ]
    # asked twice: refused, nothing added
    r = client.post(f"/api/v1/orders/{order.code}/invoice-request", headers=b, json=DETAILS)
    assert r.status_code == 409 and r.json["error"]["code"] == "invoice_already_requested"
    assert _db.session.scalar(sa.select(sa.func.count(Invoice.id))) == 1
    auth.login(w["buyer"])
    assert "待开票" in client.get(f"/orders/{order.code}").get_data(as_text=True)
    # one fen above what was paid: refused, nothing changed, no file written
    before = _state(invoice["id"])
    folder = os.path.join(app.config["UPLOAD_DIR"], "invoices", str(invoice["id"]))
    files_before = set(os.listdir(folder)) if os.path.isdir(folder) else set()
    r = _issue(client, op, invoice["id"], number="04400000001", amount_fen=paid + 1)
    assert r.status_code == 409 and r.json["error"]["code"] == "invoice_exceeds_paid"
    assert _state(invoice["id"]) == before == ("requested", None, None, "", [0])
    assert (set(os.listdir(folder)) if os.path.isdir(folder) else set()) == files_before  # no file written
    assert _audits("invoice.issue") == 0
    # the buyer may not record it; the station may
    assert _issue(client, b, invoice["id"], number="04400000001", amount_fen=paid).status_code == 403
    r = _issue(client, op, invoice["id"], number="04400000001", amount_fen=paid)
    assert r.status_code == 200, r.json
    assert (r.json["status"], r.json["number"], r.json["amount_fen"], r.json["file_format"]) == (
        "issued",
        "04400000001",
        paid,
        "pdf",
    )
    assert r.json["orders"] == [{"order_code": order.code, "amount_fen": paid}]
    assert _audits("invoice.issue") == 1
    # issued once only; nothing left to ask for
    assert _issue(client, op, invoice["id"], number="04400000002", amount_fen=1).status_code == 409
    r = client.post(f"/api/v1/orders/{order.code}/invoice-request", headers=b, json=DETAILS)
    assert r.status_code == 409 and r.json["error"]["code"] == "nothing_to_invoice"
    page = client.get(f"/orders/{order.code}").get_data(as_text=True)
    assert "已开票" in page and "待开票" not in page
    # the buyer downloads the file (page and API)
    r = client.get(f"/invoices/{invoice['id']}/file")
    assert r.status_code == 200 and r.mimetype == "application/pdf" and r.data == PDF
    assert client.get(f"/api/v1/invoices/{invoice['id']}/file", headers=b).data == PDF


def test_a_refund_after_invoicing_asks_for_a_red_invoice_recorded_against_the_original(client, world, api_token):
    w, now = world, now_utc()
    order = _paid_card_order(w["buyer"], [(w["rice"], 1), (w["eggs"], 1)], now)
    hand_over(order, w["op"], now)
    commit()
    b, op = api_token(w["buyer"]), api_token(w["op"])
    [invoice] = client.post(f"/api/v1/orders/{order.code}/invoice-request", headers=b, json=DETAILS).json["items"]
    assert _issue(client, op, invoice["id"], number="04400000011", amount_fen=order.total_fen).status_code == 200
    assert client.get(f"/api/v1/invoices/{invoice['id']}", headers=b).json["red_due_fen"] == 0
    eggs_line = next(line for line in order.lines if line.product_id == w["eggs"].id)
    rr = request_refund(order, eggs_line.id, actor=w["buyer"], now=now, reason="破损", kind="refund_only")
    approve_refund_request(rr.id, actor=w["op"], now=now, goods="not_returned")
    commit()
    out = client.get(f"/api/v1/invoices/{invoice['id']}", headers=b).json
    assert out["red_due_fen"] == 4500
    listed = client.get("/api/v1/station/invoices", headers=op).json["items"]
    assert [(i["id"], i["red_due_fen"]) for i in listed] == [(invoice["id"], 4500)]
    # a positive amount, or more than the invoice: refused, nothing recorded
    r = _red(client, op, invoice["id"], number="04400000012", amount_fen=4500)
    assert r.status_code == 422 and r.json["error"]["code"] == "invoice_red_exceeds"
    r = _red(client, op, invoice["id"], number="04400000012", amount_fen=-(order.total_fen + 1))
    assert r.status_code == 409 and r.json["error"]["code"] == "invoice_red_exceeds"
    r = _red(client, op, invoice["id"], number="04400000011", amount_fen=-4500)  # the original's number
    assert r.status_code == 409 and r.json["error"]["code"] == "invoice_number_taken"
    assert _db.session.scalar(sa.select(sa.func.count(Invoice.id))) == 1
    # the buyer cannot record it
    assert _red(client, b, invoice["id"], number="04400000012", amount_fen=-4500).status_code == 403
    r = _red(client, op, invoice["id"], number="04400000012", amount_fen=-4500)
    assert r.status_code == 201, r.json
    assert (r.json["red_of_id"], r.json["amount_fen"], r.json["status"]) == (invoice["id"], -4500, "issued")
    assert r.json["orders"] == [{"order_code": order.code, "amount_fen": -4500}]
    assert client.get(f"/api/v1/invoices/{invoice['id']}", headers=b).json["red_due_fen"] == 0
    assert _audits("invoice.red") == 1
    # invoiced net = paid − refunded, exactly
    net = _db.session.scalar(sa.select(sa.func.sum(InvoiceOrder.amount_fen)).where(InvoiceOrder.order_id == order.id))
    assert net == order.total_fen - 4500
    # the buyer sees both
    ids = {i["id"] for i in client.get("/api/v1/invoices", headers=b).json["items"]}
    assert ids == {invoice["id"], r.json["id"]}


def test_an_invoice_amount_is_at_most_the_money_ceiling_as_a_typed_amount_is(client, world, api_token):
    """The API's amount is bounded as the form's typed yuan are (`shop.money.MAX_FEN`, ¥10,000,000,000):
    at the ceiling accepted, one fen above a 422 with the form's code, even when more was paid; a red
    invoice likewise below zero."""
    w, now = world, now_utc()
    tractor = make_product(name="拖拉机", price_fen=10**10, stock=200, station=w["station"])
    order = _paid_card_order(w["buyer"], [(tractor, 101)], now)  # paid ¥10,100,000,000 and more
    hand_over(order, w["op"], now)
    commit()
    assert order.total_fen > MAX_FEN + 1
    b, op = api_token(w["buyer"]), api_token(w["op"])
    [invoice] = client.post(f"/api/v1/orders/{order.code}/invoice-request", headers=b, json=DETAILS).json["items"]
    r = _issue(client, op, invoice["id"], number="04400000041", amount_fen=MAX_FEN + 1)
    assert r.status_code == 422 and r.json["error"]["code"] == "invoice_invalid_amount", r.json
    assert _state(invoice["id"])[:3] == ("requested", None, None)
    r = _issue(client, op, invoice["id"], number="04400000041", amount_fen=MAX_FEN)
    assert r.status_code == 200 and r.json["amount_fen"] == MAX_FEN, r.json

    r = _red(client, op, invoice["id"], number="04400000042", amount_fen=-(MAX_FEN + 1))
    assert r.status_code == 422 and r.json["error"]["code"] == "invoice_red_exceeds", r.json
    r = _red(client, op, invoice["id"], number="04400000042", amount_fen=-MAX_FEN)
    assert r.status_code == 201 and r.json["amount_fen"] == -MAX_FEN, r.json


def test_a_period_invoice_never_exceeds_its_orders_paid_minus_refunded_and_is_spread_over_them(
    client, world, api_token
):
    w, now = world, now_utc()
    first = _paid_card_order(w["buyer"], [(w["rice"], 1)], now)
    second = _paid_card_order(w["buyer"], [(w["eggs"], 2)], now)
    unpaid = make_order(w["buyer"], [(w["eggs"], 1)], now=now, payment_method="card")
    make_order(w["stranger"], [(w["rice"], 1)], now=now, payment_method="card")  # someone else's
    commit()
    # the first order was invoiced on its own for part of it
    b, op = api_token(w["buyer"]), api_token(w["op"])
    [own] = client.post(f"/api/v1/orders/{first.code}/invoice-request", headers=b, json=DETAILS).json["items"]
    assert _issue(client, op, own["id"], number="04400000021", amount_fen=1000).status_code == 200
    today = local_date(now).isoformat()
    r = client.post("/api/v1/invoice-requests", headers=b, json={**DETAILS, "from": today, "to": today})
    assert r.status_code == 201, r.json
    [period] = r.json["items"]
    assert [o["order_code"] for o in period["orders"]] == [first.code, second.code]  # not the unpaid one
    assert unpaid.code not in str(period)
    left = first.total_fen - 1000 + second.total_fen
    assert period["available_fen"] == left
    before = _state(period["id"])
    r = _issue(client, op, period["id"], number="04400000022", amount_fen=left + 1)
    assert r.status_code == 409 and r.json["error"]["code"] == "invoice_exceeds_paid"
    assert _state(period["id"]) == before
    r = _issue(client, op, period["id"], number="04400000022", amount_fen=left)
    assert r.status_code == 200, r.json
    assert r.json["orders"] == [
        {"order_code": first.code, "amount_fen": first.total_fen - 1000},
        {"order_code": second.code, "amount_fen": second.total_fen},
    ]
    for order in (first, second):
        invoiced = _db.session.scalar(
            sa.select(sa.func.sum(InvoiceOrder.amount_fen)).where(InvoiceOrder.order_id == order.id)
        )
        assert invoiced == order.total_fen
    # everything is invoiced: a new period request finds nothing
    r = client.post("/api/v1/invoice-requests", headers=b, json={**DETAILS, "from": today, "to": today})
    assert r.status_code == 409 and r.json["error"]["code"] == "nothing_to_invoice"
    # a period in the future or longer than a year is refused
    r = client.post("/api/v1/invoice-requests", headers=b, json={**DETAILS, "from": "2020-01-01", "to": today})
    assert r.status_code == 422 and r.json["error"]["code"] == "invoice_invalid_period"


def test_a_period_request_leaves_out_orders_whose_invoice_is_asked_for_already(client, world, api_token, auth):
    """An order asked for on its own, then a period with it (or the same period asked twice): the
    station is not asked twice for the same money; when nothing is left the buyer is told it waits."""
    w, now = world, now_utc()
    first = _paid_card_order(w["buyer"], [(w["rice"], 1)], now)
    second = _paid_card_order(w["buyer"], [(w["eggs"], 2)], now)
    commit()
    b = api_token(w["buyer"])
    assert client.post(f"/api/v1/orders/{first.code}/invoice-request", headers=b, json=DETAILS).status_code == 201
    today = local_date(now).isoformat()
    r = client.post("/api/v1/invoice-requests", headers=b, json={**DETAILS, "from": today, "to": today})
    assert r.status_code == 201, r.json
    assert [o["order_code"] for item in r.json["items"] for o in item["orders"]] == [second.code]
    r = client.post("/api/v1/invoice-requests", headers=b, json={**DETAILS, "from": today, "to": today})
    assert r.status_code == 409 and r.json["error"]["code"] == "invoice_period_already_requested"
    links = sa.select(sa.func.count(InvoiceOrder.id)).where(InvoiceOrder.order_id.in_([first.id, second.id]))
    assert _db.session.scalar(links) == 2
    auth.login(w["buyer"])
    page = client.get("/invoices/period").get_data(as_text=True)
    token = page.split('name="form_token" value="')[1].split('"')[0]
    form = {"kind": "ordinary", "title": "个人", "from": today, "to": today, "form_token": token}
    r = client.post("/invoices/period", data=form)
    assert r.status_code == 422 and "这段期间的订单都已申请发票，正在等待开票" in r.get_data(as_text=True)


def test_a_period_over_an_unpaid_order_whose_invoice_waits_says_it_waits_as_asking_for_the_order_does(
    client, world, api_token
):
    """An order's invoice asked for before it is paid (allowed: its request waits, 待开票), then a period with
    it: the period is told the order's invoice waits (409 invoice_period_already_requested), as asking for the
    order again is (invoice_already_requested) — not 无需开票 (invoice_not_needed: its part refunded or
    canceled), which nothing was; nothing is created."""
    w, now = world, now_utc()
    order = make_order(w["buyer"], [(w["rice"], 1)], now=now, payment_method="card")  # not paid
    commit()
    b = api_token(w["buyer"])
    [invoice] = client.post(f"/api/v1/orders/{order.code}/invoice-request", headers=b, json=DETAILS).json["items"]
    assert client.get(f"/api/v1/invoices/{invoice['id']}", headers=b).json["status"] == "requested"
    r = client.post(f"/api/v1/orders/{order.code}/invoice-request", headers=b, json=DETAILS)
    assert r.status_code == 409 and r.json["error"]["code"] == "invoice_already_requested", r.json
    today = local_date(now).isoformat()
    r = client.post("/api/v1/invoice-requests", headers=b, json={**DETAILS, "from": today, "to": today})
    assert r.status_code == 409 and r.json["error"]["code"] == "invoice_period_already_requested", r.json
    assert _db.session.scalar(sa.select(sa.func.count(Invoice.id))) == 1


def _placed_by_purchase(organisation, buyer, order, now) -> None:
    """`order` recorded as placed by an approved purchase of `organisation` that `buyer` drafted."""
    from institutions.models import Purchase, PurchaseOrder

    purchase = Purchase(
        organisation_id=organisation.id,
        created_by_id=buyer.id,
        status="approved",
        delivery="ship",
        requested_date=local_date(now),
        payment_method="card",
        created_at=now,
    )
    _db.session.add(purchase)
    _db.session.flush()
    _db.session.add(PurchaseOrder(purchase_id=purchase.id, order_id=order.id))
    commit()


def test_an_organisation_period_invoice_covers_its_purchase_orders_and_its_members_with_rights_see_it(
    client, world, api_token
):
    w, now = world, now_utc()
    approver, viewer = make_user(), make_user()
    organisation = make_organisation(members={"buyer": w["buyer"], "approver": approver, "viewer": viewer})
    order = _paid_card_order(w["buyer"], [(w["rice"], 3)], now)
    retail = _paid_card_order(w["buyer"], [(w["eggs"], 1)], now)  # the buyer's own shopping
    _placed_by_purchase(organisation, w["buyer"], order, now)
    today = local_date(now).isoformat()
    body = {**special_details(), "from": today, "to": today, "organisation_id": organisation.id}
    # a viewer has no invoice rights, a stranger does not see the organisation
    assert client.post("/api/v1/invoice-requests", headers=api_token(viewer), json=body).status_code == 403
    assert client.post("/api/v1/invoice-requests", headers=api_token(w["stranger"]), json=body).status_code == 404
    r = client.post("/api/v1/invoice-requests", headers=api_token(approver), json=body)
    assert r.status_code == 201, r.json
    [invoice] = r.json["items"]
    assert invoice["organisation_id"] == organisation.id and invoice["kind"] == "special"
    assert [o["order_code"] for o in invoice["orders"]] == [order.code]  # not the retail order
    assert retail.code not in str(invoice)
    for user, status in (
        (w["buyer"], 200),
        (approver, 200),
        (viewer, 404),
        (w["stranger"], 404),
        (w["op"], 200),
        (w["other_op"], 404),
        (w["county"], 200),
    ):
        assert client.get(f"/api/v1/invoices/{invoice['id']}", headers=api_token(user)).status_code == status, user
    # an approver (rights) may ask for the invoice of the organisation's order built by the buyer
    _db.session.expire_all()
    r = client.post(f"/api/v1/orders/{order.code}/invoice-request", headers=api_token(approver), json=DETAILS)
    assert r.status_code == 409 and r.json["error"]["code"] == "invoice_already_requested"  # the period's request
    assert (
        client.post(f"/api/v1/orders/{order.code}/invoice-request", headers=api_token(viewer), json=DETAILS).status_code
        == 404
    )


def test_invoice_files_are_checked_by_content_and_size(app, client, world, api_token, monkeypatch):
    w, now = world, now_utc()
    order = _paid_card_order(w["buyer"], [(w["rice"], 1)], now)
    commit()
    b, op = api_token(w["buyer"]), api_token(w["op"])
    [invoice] = client.post(f"/api/v1/orders/{order.code}/invoice-request", headers=b, json=DETAILS).json["items"]
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100
    for data, name in (
        (png, "invoice.pdf"),
        (b"%PDF-1.4 but never ends", "invoice.pdf"),
        (b"PK\x03\x04not a zip", "invoice.ofd"),
        (b"<html>%PDF-</html>", "invoice.ofd"),
    ):
        r = _issue(client, op, invoice["id"], number="04400000031", amount_fen=100, data=data, name=name)
        assert r.status_code == 422 and r.json["error"]["code"] == "invoice_file_type", (name, r.json)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as package:
        package.writestr("Doc_0/Document.xml", "<doc/>")  # a zip, but no OFD.xml
    r = _issue(client, op, invoice["id"], number="04400000031", amount_fen=100, data=buffer.getvalue(), name="x.ofd")
    assert r.json["error"]["code"] == "invoice_file_type"
    r = client.post(
        f"/api/v1/invoices/{invoice['id']}/issue?number=04400000031&issued_on="
        f"{local_date(now).isoformat()}&amount_fen=100",
        headers=op,
    )
    assert r.status_code == 422 and r.json["error"]["code"] == "invoice_file_required"
    monkeypatch.setitem(app.config, "MAX_UPLOAD_BYTES", 1024)
    big = PDF[:-6] + b" " * 2048 + b"%%EOF\n"
    r = _issue(client, op, invoice["id"], number="04400000031", amount_fen=100, data=big)
    assert r.status_code == 422 and r.json["error"]["code"] == "invoice_file_too_large"
    assert _state(invoice["id"])[0] == "requested"
    ofd = ofd_bytes()
    r = _issue(client, op, invoice["id"], number="04400000031", amount_fen=100, data=ofd, name="发票.bin")
    assert r.status_code == 200 and r.json["file_format"] == "ofd"
    r = client.get(f"/api/v1/invoices/{invoice['id']}/file", headers=b)
    assert r.status_code == 200 and r.data == ofd


def test_nobody_else_reaches_an_order_or_an_invoice(client, world, api_token):
    w, now = world, now_utc()
    order = _paid_card_order(w["buyer"], [(w["rice"], 1)], now)
    commit()
    b = api_token(w["buyer"])
    for user in (w["stranger"], w["op"], w["county"]):
        r = client.post(f"/api/v1/orders/{order.code}/invoice-request", headers=api_token(user), json=DETAILS)
        assert r.status_code == 404, user
    assert client.post("/api/v1/orders/NOSUCHORDER/invoice-request", headers=b, json=DETAILS).status_code == 404
    [invoice] = client.post(f"/api/v1/orders/{order.code}/invoice-request", headers=b, json=DETAILS).json["items"]
    assert _issue(client, api_token(w["op"]), invoice["id"], number="04400000041", amount_fen=100).status_code == 200
    for user in (w["stranger"], w["other_op"]):
        headers = api_token(user)
        assert client.get(f"/api/v1/invoices/{invoice['id']}", headers=headers).status_code == 404
        assert client.get(f"/api/v1/invoices/{invoice['id']}/file", headers=headers).status_code == 404
        assert invoice["id"] not in {i["id"] for i in client.get("/api/v1/invoices", headers=headers).json["items"]}
    r = _issue(client, api_token(w["other_op"]), invoice["id"], number="04400000042", amount_fen=1)
    assert r.status_code == 404
    assert client.get(f"/api/v1/invoices/{invoice['id']}/file", headers=api_token(w["county"])).status_code == 200
    assert client.get("/api/v1/invoices/999999", headers=b).status_code == 404
    assert client.get("/api/v1/station/invoices", headers=api_token(w["other_op"])).json["items"] == []
    # another station's id in the query (found by fuzzing: it was ignored and the caller's own list returned)
    other = client.get(f"/api/v1/station/invoices?station_id={w['station'].id}", headers=api_token(w["other_op"]))
    assert other.status_code == 403 and other.json["error"]["code"] == "not_your_station"
    own = client.get(f"/api/v1/station/invoices?station_id={w['station'].id}", headers=api_token(w["op"]))
    assert own.status_code == 200 and [i["id"] for i in own.json["items"]] == [invoice["id"]]


@pytest.mark.parametrize(
    "change, field",
    [
        ({"kind": "special", "tax_number": ""}, "tax_number"),
        ({"kind": "special", "bank": ""}, "bank"),
        ({"kind": "special", "account": ""}, "account"),
        ({"kind": "special", "address": ""}, "address"),
        ({"kind": "special", "phone": ""}, "phone"),
        ({"tax_number": "1234567890123456"}, "tax_number"),  # 16
        ({"tax_number": "91360121000000042X"[:17] + "0"}, "tax_number"),  # 18, wrong check character
        ({"tax_number": "9136012100000004a"}, None),  # 17, lower case is normalised
        ({"title": ""}, "title"),
    ],
)
def test_invoice_details_are_validated(client, world, api_token, change, field):
    w = world
    order = _paid_card_order(w["buyer"], [(w["rice"], 1)], now_utc())
    commit()
    body = {**special_details(), **change}
    r = client.post(f"/api/v1/orders/{order.code}/invoice-request", headers=api_token(w["buyer"]), json=body)
    if field is None:
        assert r.status_code == 201, r.json
        assert r.json["items"][0]["tax_number"] == "9136012100000004A"
    else:
        assert r.status_code == 422 and field in r.json["error"]["fields"], r.json
        assert _db.session.scalar(sa.select(sa.func.count(Invoice.id))) == 0


FULL_WIDTH = str.maketrans(
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ -",
    "０１２３４５６７８９ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺ　－",
)


def test_a_tax_number_and_an_account_typed_in_full_width_are_read_as_ascii(client, world, auth):
    """A Chinese input method in full-width mode types ８１３６… and Ｌ: the invoice form reads them as the ASCII
    they stand for (docs/input-validation.md, digits), as it reads a full-width phone number."""
    w = world
    order = _paid_card_order(w["buyer"], [(w["rice"], 1)], now_utc())
    commit()
    auth.login(w["buyer"])
    details = special_details()
    typed = {**details, **{k: details[k].translate(FULL_WIDTH) for k in ("tax_number", "account", "phone")}}
    assert typed["tax_number"] != details["tax_number"] and typed["account"] != details["account"]
    r = client.post(f"/orders/{order.code}/invoice", data=typed)
    assert r.status_code == 303, r.get_data(as_text=True)[:2000]
    invoice = _db.session.scalar(sa.select(Invoice))
    assert (invoice.tax_number, invoice.account) == (details["tax_number"], details["account"])


@pytest.mark.parametrize(
    "change, message",
    [
        ({"account": "账号 6216"}, "银行账号无效"),
        ({"phone": "12345"}, "注册电话无效"),
    ],
)
def test_a_phone_or_account_typed_wrong_is_said_as_such_not_as_left_empty(client, world, auth, change, message):
    """A special invoice's account or phone that was filled in but is no account or phone is named as wrong;
    the form never says to fill in what was filled in (请完整填写…)."""
    w = world
    order = _paid_card_order(w["buyer"], [(w["rice"], 1)], now_utc())
    commit()
    auth.login(w["buyer"])
    r = client.post(f"/orders/{order.code}/invoice", data={**special_details(), **change})
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and message in page and "请完整填写发票信息" not in page
    assert _db.session.scalar(sa.select(sa.func.count(Invoice.id))) == 0


def test_the_period_page_says_whose_orders_it_invoices(client, world, auth):
    """The choice between one's own orders and an organisation's is labelled for what it chooses
    (开票的订单 / Whose orders), not a bare 订单 / "Order"."""
    auth.login(world["buyer"])
    page = client.get("/invoices/period").get_data(as_text=True)
    assert '<label for="inv-org">开票的订单</label>' in page
    page = client.get("/invoices/period?lang=en").get_data(as_text=True)
    assert '<label for="inv-org">Whose orders</label>' in page


def _chosen_orders(page: str) -> str:
    """The value of the option the period page's 开票的订单 starts on."""
    select = page.split('<select id="inv-org" name="organisation_id">', 1)[1].split("</select>", 1)[0]
    chosen = re.findall(r'<option value="(\d+)" selected>', select)
    return chosen[0] if chosen else ""


def test_the_period_page_starts_an_approver_on_the_organisations_orders_and_others_on_their_own(app, world):
    """An approver sees all of the organisation's orders, so the period invoice form starts on them; a
    buyer of the organisation, or a shopper, starts on their own orders. What was posted is kept."""
    w = world
    approver = make_user()
    make_organisation(name="另一单位", members={"approver": make_user()})
    organisation = make_organisation(members={"buyer": w["buyer"], "approver": approver})
    commit()
    for user, expected in ((approver, str(organisation.id)), (w["buyer"], ""), (w["stranger"], "")):
        client = app.test_client()
        client.post("/login", data={"email": user.email, "password": "password123"})
        page = client.get("/invoices/period").get_data(as_text=True)
        assert _chosen_orders(page) == expected, user
    client = app.test_client()
    client.post("/login", data={"email": approver.email, "password": "password123"})
    page = client.post("/invoices/period", data={"organisation_id": "", "from": "", "to": ""}).get_data(as_text=True)
    assert _chosen_orders(page) == ""  # own orders, as posted


def test_the_pages_ask_issue_and_download(client, world, auth):
    w, now = world, now_utc()
    order = _paid_card_order(w["buyer"], [(w["rice"], 1)], now)
    commit()
    auth.login(w["buyer"])
    assert "申请发票" in client.get(f"/orders/{order.code}/invoice").get_data(as_text=True)
    r = client.post(f"/orders/{order.code}/invoice", data={**DETAILS, "kind": "special", "tax_number": "123"})
    assert r.status_code == 422 and _db.session.scalar(sa.select(sa.func.count(Invoice.id))) == 0
    r = client.post(f"/orders/{order.code}/invoice", data=DETAILS)
    assert r.status_code == 303
    invoice = _db.session.scalar(sa.select(Invoice))
    assert "待开票" in client.get("/invoices").get_data(as_text=True)
    auth.logout()
    auth.login(w["op"])
    assert "南昌县第一中学" in client.get("/station/invoices").get_data(as_text=True)
    page = client.get(f"/invoices/{invoice.id}").get_data(as_text=True)
    assert "登记已开具的发票" in page
    total = f"{order.total_fen / 100:.2f}"
    over = f"{(order.total_fen + 1) / 100:.2f}"
    form = {"number": "04400000051", "issued_on": local_date(now).isoformat(), "amount": total}
    # without confirm=1 nothing changes (the confirmation step)
    r = client.post(
        f"/invoices/{invoice.id}/issue",
        data={**form, "file": (io.BytesIO(PDF), "a.pdf")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert r.status_code == 200 and "请确认" in r.get_data(as_text=True) and _state(invoice.id)[0] == "requested"
    r = client.post(
        f"/invoices/{invoice.id}/issue",
        data={**form, "confirm": "1", "amount": over, "file": (io.BytesIO(PDF), "a.pdf")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert "超过可开票金额" in r.get_data(as_text=True) and _state(invoice.id)[0] == "requested"
    r = client.post(
        f"/invoices/{invoice.id}/issue",
        data={**form, "confirm": "1", "file": (io.BytesIO(PDF), "a.pdf")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 303 and _state(invoice.id)[:3] == ("issued", "04400000051", order.total_fen)
    auth.logout()
    auth.login(w["stranger"])
    assert client.get(f"/invoices/{invoice.id}").status_code == 404
    assert client.get(f"/invoices/{invoice.id}/file").status_code == 404
    assert client.get(f"/orders/{order.code}/invoice").status_code == 404
    auth.logout()
    auth.login(w["buyer"])
    page = client.get(f"/invoices/{invoice.id}").get_data(as_text=True)
    assert "04400000051" in page and "下载发票" in page
    r = client.get(f"/invoices/{invoice.id}/file")
    assert r.status_code == 200 and r.data == PDF


def test_the_api_documents_the_invoice_operations(client, db):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    assert {
        "/api/v1/orders/{code}/invoice-request",
        "/api/v1/invoice-requests",
        "/api/v1/invoices",
        "/api/v1/invoices/{invoice_id}",
        "/api/v1/invoices/{invoice_id}/file",
        "/api/v1/invoices/{invoice_id}/issue",
        "/api/v1/invoices/{invoice_id}/red",
        "/api/v1/station/invoices",
    } <= set(paths)
    issue = paths["/api/v1/invoices/{invoice_id}/issue"]["post"]
    assert {p["name"] for p in issue["parameters"]} >= {"number", "issued_on", "amount_fen"}
    assert "multipart/form-data" in issue["requestBody"]["content"]


def test_an_invoice_keeps_the_station_menu_for_its_operator(client, world, auth):
    """Opened from 发票, an invoice's page (登记已开具的发票) dropped the station's menu: on a phone the
    operator had no way back to 发票 or 工作台 but the browser's back; the buyer sees the page alone."""
    w, now = world, now_utc()
    order = _paid_card_order(w["buyer"], [(w["rice"], 1)], now)
    commit()
    auth.login(w["buyer"])
    assert client.post(f"/orders/{order.code}/invoice", data=DETAILS).status_code == 303
    invoice = _db.session.scalar(sa.select(Invoice))
    assert 'class="station-nav' not in client.get(f"/invoices/{invoice.id}").get_data(as_text=True)
    auth.logout()
    auth.login(w["op"])
    page = client.get(f"/invoices/{invoice.id}").get_data(as_text=True)
    assert 'class="station-nav' in page and 'href="/station/invoices"' in page and 'href="/station/"' in page


def test_the_api_without_an_organisation_asks_for_what_the_period_page_starts_on(client, world, api_token):
    """`POST /invoice-requests` with no `organisation_id`: an approver's organisation's orders, as the period
    page starts (`default_period_organisation_id`); anyone else's own orders; an explicit null, one's own."""
    w, now = world, now_utc()
    approver = make_user()
    organisation = make_organisation(members={"buyer": w["buyer"], "approver": approver})
    bought = _paid_card_order(w["buyer"], [(w["rice"], 3)], now)
    retail = _paid_card_order(w["buyer"], [(w["eggs"], 1)], now)  # the buyer's own shopping
    own = _paid_card_order(approver, [(w["eggs"], 2)], now)  # the approver's own shopping
    _placed_by_purchase(organisation, w["buyer"], bought, now)
    today = local_date(now).isoformat()
    body = {**DETAILS, "from": today, "to": today}

    def codes(r) -> set[str]:
        assert r.status_code == 201, r.json
        return {o["order_code"] for item in r.json["items"] for o in item["orders"]}

    r = client.post("/api/v1/invoice-requests", headers=api_token(approver), json=body)
    assert codes(r) == {bought.code} and r.json["items"][0]["organisation_id"] == organisation.id
    r = client.post("/api/v1/invoice-requests", headers=api_token(approver), json={**body, "organisation_id": None})
    assert codes(r) == {own.code} and r.json["items"][0]["organisation_id"] is None
    r = client.post("/api/v1/invoice-requests", headers=api_token(w["buyer"]), json=body)  # a buyer: own orders
    assert codes(r) == {retail.code}


def test_the_period_page_posted_twice_asks_once_and_says_it_was_done(client, world, auth):
    """A double tap on 提交申请: the second POST of the page (its once-token claimed) asks for nothing more
    and is the shop's usual "already done" — an info message on 我的发票 and a 303, not an error."""
    w, now = world, now_utc()
    _paid_card_order(w["buyer"], [(w["rice"], 1)], now)
    commit()
    auth.login(w["buyer"])
    page = client.get("/invoices/period").get_data(as_text=True)
    token = page.split('name="form_token" value="')[1].split('"')[0]
    today = local_date(now).isoformat()
    form = {**DETAILS, "organisation_id": "", "from": today, "to": today, "form_token": token}
    first = client.post("/invoices/period", data=form)
    assert first.status_code == 303 and first.headers["Location"].endswith("/invoices")
    client.get("/invoices")  # the first answer's page, its success message read
    again = client.post("/invoices/period", data=form)
    assert again.status_code == 303 and again.headers["Location"].endswith("/invoices")
    page = client.get("/invoices").get_data(as_text=True)
    assert "此表单已提交过，没有重复创建" in page and "已申请 1 张发票" not in page
    assert _db.session.scalar(sa.select(sa.func.count(Invoice.id))) == 1


def test_a_tax_number_pasted_grouped_by_spaces_fits_the_field(client, world, auth):
    """A 统一社会信用代码 is often written in groups ("9136 0121 0000 0004 2X", 22 characters): the field
    takes it whole and the shop drops the spaces. The field once stopped at 20 characters, so the
    browser cut a pasted number short and the buyer was told a correct number was invalid."""
    w, now = world, now_utc()
    order = _paid_card_order(w["buyer"], [(w["rice"], 1)], now)
    commit()
    auth.login(w["buyer"])
    page = client.get(f"/orders/{order.code}/invoice").get_data(as_text=True)
    maxlength = int(re.search(r'<input id="inv-tax" name="tax_number" maxlength="(\d+)"', page).group(1))
    number = special_details()["tax_number"]
    grouped = " ".join(number[i : i + 4] for i in range(0, len(number), 4))
    typed = grouped[:maxlength]  # what the browser lets into the field
    r = client.post(f"/orders/{order.code}/invoice", data={**DETAILS, "tax_number": typed})
    assert r.status_code == 303
    assert _db.session.scalar(sa.select(Invoice.tax_number)) == number


def test_an_organisations_order_starts_its_invoice_form_with_the_organisations_name_and_credit_code(
    client, world, auth
):
    """The canteen's buyer asking an invoice for an order its purchase placed finds the organisation's name
    as the title and its credit code as the tax number (the shop knows both, verified by the county office);
    the buyer's own retail order starts empty, and what was typed comes back as typed when refused."""
    w, now = world, now_utc()
    organisation = make_organisation(name="南昌县莲塘第一小学", members={"buyer": w["buyer"], "approver": None})
    order = _paid_card_order(w["buyer"], [(w["rice"], 3)], now)
    retail = _paid_card_order(w["buyer"], [(w["eggs"], 1)], now)
    _placed_by_purchase(organisation, w["buyer"], order, now)
    auth.login(w["buyer"])
    page = client.get(f"/orders/{order.code}/invoice").get_data(as_text=True)
    assert 'name="title" maxlength="100" required value="南昌县莲塘第一小学"' in page
    assert f'name="tax_number" maxlength="30" autocapitalize="characters" value="{organisation.credit_code}"' in page
    page = client.get(f"/orders/{retail.code}/invoice").get_data(as_text=True)
    assert 'name="title" maxlength="100" required value=""' in page
    r = client.post(f"/orders/{order.code}/invoice", data={**DETAILS, "kind": "special", "tax_number": "123"})
    assert r.status_code == 422 and 'value="123"' in r.get_data(as_text=True)


def test_an_invoice_of_one_station_says_its_part_of_an_order_two_stations_sold(client, world, api_token, auth):
    """An order of two stations' goods is invoiced by each station for its own part: each invoice's page
    says that part (its goods and its parcel's shipping) beside the order's total, the two parts adding up
    to it, so the buyer reading both does not take the order's total as each one's."""
    w, now = world, now_utc()
    other_eggs = make_product(name="草鸡蛋", price_fen=4500, stock=50, station=w["other_op"].station)
    commit()
    order = _paid_card_order(w["buyer"], [(w["rice"], 2), (other_eggs, 1)], now)
    commit()
    r = client.post(f"/api/v1/orders/{order.code}/invoice-request", headers=api_token(w["buyer"]), json=DETAILS)
    assert r.status_code == 201, r.json
    parts = {item["station_id"]: item["id"] for item in r.json["items"]}
    auth.login(w["buyer"])
    shown = {}
    for station, goods_fen in ((w["station"], 12000), (w["other_op"].station, 4500)):
        page = client.get(f"/invoices/{parts[station.id]}").get_data(as_text=True)
        cell = re.search(r'class="invoice-station-part">¥([0-9,.]+)<', page)
        assert cell, page
        shown[station.id] = round(float(cell.group(1).replace(",", "")) * 100)
        [shipment] = [s for s in order.shipments if s.station_id == station.id]
        assert shown[station.id] == goods_fen + shipment.shipping_fen
    assert sum(shown.values()) == order.total_fen


def _refund_station_lines(order, station, actor, now) -> None:
    """The station gives back every line it sold in the order (as when it cannot supply them): its
    parcel left without open lines is canceled and its shipping goes back too."""
    for line in [ln for ln in order.lines if ln.product.station_id == station.id]:
        payments.refund_line(line, actor=actor, now=now, reason="缺货")
    commit()


def test_a_request_whose_stations_part_was_refunded_reads_nothing_to_invoice(client, world, api_token, auth):
    """An order of two stations asks both for an invoice; one station's part is then refunded in full: its
    request reads 无需开票 (not_needed) on its list and page (no issue form, out of its to-do), to the buyer
    and in the API, and issuing it is refused; the other station's request still waits (待开票)."""
    w, now = world, now_utc()
    other_eggs = make_product(name="草鸡蛋", price_fen=4500, stock=50, station=w["other_op"].station)
    commit()
    order = _paid_card_order(w["buyer"], [(w["rice"], 2), (other_eggs, 1)], now)
    commit()
    b, op = api_token(w["buyer"]), api_token(w["op"])
    r = client.post(f"/api/v1/orders/{order.code}/invoice-request", headers=b, json=DETAILS)
    assert r.status_code == 201, r.json
    ids = {item["station_id"]: item["id"] for item in r.json["items"]}
    mine, other = ids[w["station"].id], ids[w["other_op"].station.id]
    _refund_station_lines(order, w["station"], w["op"], now)
    # the API: closed, nothing available; the other station's request still waits
    out = client.get(f"/api/v1/invoices/{mine}", headers=b).json
    assert (out["status"], out["available_fen"]) == ("not_needed", 0)
    assert client.get(f"/api/v1/invoices/{other}", headers=b).json["status"] == "requested"
    listed = client.get("/api/v1/station/invoices", headers=op).json["items"]
    assert [(i["id"], i["status"]) for i in listed] == [(mine, "not_needed")]
    # issuing it is refused, nothing recorded
    r = _issue(client, op, mine, number="04400000091", amount_fen=1)
    assert r.status_code == 409 and r.json["error"]["code"] == "invoice_not_needed"
    assert _state(mine) == ("requested", None, None, "", [0]) and _audits("invoice.issue") == 0
    # the station's pages: 无需开票, no amount to do, no issue form; the form posted anyway is refused
    auth.login(w["op"])
    page = client.get("/station/invoices").get_data(as_text=True)
    row = re.search(rf'<tr class="invoice-row" data-invoice="{mine}".*?</tr>', page, re.S).group(0)
    assert "无需开票" in row and "待开票" not in row and "可开票金额" not in row
    page = client.get(f"/invoices/{mine}").get_data(as_text=True)
    assert "无需开票" in page and "登记已开具的发票" not in page and 'id="issue-invoice"' not in page
    form = {"number": "04400000092", "issued_on": local_date(now).isoformat(), "amount": "1.00", "confirm": "1"}
    r = client.post(
        f"/invoices/{mine}/issue",
        data={**form, "file": (io.BytesIO(PDF), "a.pdf")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert "无需开票：该站点的部分已全部退款或取消" in r.get_data(as_text=True)
    assert _state(mine)[:2] == ("requested", None)
    auth.logout()
    # the buyer: 无需开票 for this station's request, 待开票 for the other's
    auth.login(w["buyer"])
    page = client.get("/invoices").get_data(as_text=True)
    row = re.search(rf'<tr class="invoice-row" data-invoice="{mine}".*?</tr>', page, re.S).group(0)
    assert "无需开票" in row
    assert "无需开票" in client.get(f"/invoices/{mine}").get_data(as_text=True)
    assert "待开票" in client.get(f"/invoices/{other}").get_data(as_text=True)


def test_an_orders_page_says_nothing_to_invoice_once_its_station_refunded_it(client, world, api_token, auth):
    """A one-station order invoice asked for, then every line refunded: the buyer's order page and its
    invoice page say 无需开票, never 待开票."""
    w, now = world, now_utc()
    order = _paid_card_order(w["buyer"], [(w["rice"], 1), (w["eggs"], 1)], now)
    commit()
    r = client.post(f"/api/v1/orders/{order.code}/invoice-request", headers=api_token(w["buyer"]), json=DETAILS)
    assert r.status_code == 201, r.json
    _refund_station_lines(order, w["station"], w["op"], now)
    auth.login(w["buyer"])
    for url in (f"/orders/{order.code}", f"/orders/{order.code}/invoice"):
        page = client.get(url).get_data(as_text=True)
        assert "无需开票" in page and "待开票" not in page, url


def test_asking_again_once_the_stations_part_was_refunded_says_nothing_is_to_invoice(client, world, api_token):
    """A delivered order's invoice asked for, then every unit refunded (its parcel stays delivered; it
    shipped free, so nothing of the station's part is left): the request reads 无需开票, and asking again
    says so (409 invoice_not_needed), not 正在等待开票; nothing is created."""
    w, now = world, now_utc()
    order = _paid_card_order(w["buyer"], [(w["rice"], 2)], now)  # ¥120.00: ships free
    assert order.shipments[0].shipping_fen == 0
    shipment = order.shipments[0]
    for step in (fulfilment.accept, fulfilment.pack):
        step(shipment, actor=w["op"], now=now)
    fulfilment.ship(shipment, tracking_number="SF1", actor=w["op"], now=now)
    fulfilment.deliver(shipment, actor=w["op"], now=now)
    commit()
    b = api_token(w["buyer"])
    [invoice] = client.post(f"/api/v1/orders/{order.code}/invoice-request", headers=b, json=DETAILS).json["items"]
    payments.refund_line(order.lines[0], actor=w["op"], now=now, reason="质量问题")
    commit()
    assert client.get(f"/api/v1/invoices/{invoice['id']}", headers=b).json["status"] == "not_needed"
    before = _db.session.scalar(sa.select(sa.func.count()).select_from(Invoice))
    r = client.post(f"/api/v1/orders/{order.code}/invoice-request", headers=b, json=DETAILS)
    assert r.status_code == 409 and r.json["error"]["code"] == "invoice_not_needed", r.json
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(Invoice)) == before


def test_a_request_whose_part_was_partly_refunded_still_waits_for_the_smaller_amount(client, world, api_token, auth):
    """A refund that makes the station's part smaller but not nothing leaves the request 待开票, its
    amount available the smaller one, its issue form offered."""
    w, now = world, now_utc()
    order = _paid_card_order(w["buyer"], [(w["rice"], 1), (w["eggs"], 1)], now)
    commit()
    b, op = api_token(w["buyer"]), api_token(w["op"])
    [invoice] = client.post(f"/api/v1/orders/{order.code}/invoice-request", headers=b, json=DETAILS).json["items"]
    eggs_line = next(line for line in order.lines if line.product_id == w["eggs"].id)
    payments.refund_line(eggs_line, actor=w["op"], now=now, reason="缺货")
    commit()
    out = client.get(f"/api/v1/invoices/{invoice['id']}", headers=b).json
    assert (out["status"], out["available_fen"]) == ("requested", order.total_fen - 4500)
    auth.login(w["op"])
    page = client.get(f"/invoices/{invoice['id']}").get_data(as_text=True)
    assert "待开票" in page and "无需开票" not in page and "登记已开具的发票" in page
    assert f"{(order.total_fen - 4500) / 100:.2f}" in page
    assert _issue(client, op, invoice["id"], number="04400000093", amount_fen=order.total_fen - 4500).status_code == 200


def test_an_over_long_title_has_its_own_code_naming_the_limit_and_the_spec_says_it(client, world, api_token):
    """The spec allowed a 抬头 of 200 characters, the server refused more than 100 as `invoice_title_required`
    (请填写发票抬头): the spec says 100 now, and 101 characters are `invoice_title_too_long`, naming the limit, in
    the reader's language; 100 are taken; nothing is asked for on a refusal."""
    spec = client.get("/api/v1/openapi.json").json
    assert spec["components"]["schemas"]["DetailsIn"]["properties"]["title"]["maxLength"] == 100
    order = _paid_card_order(world["buyer"], [(world["rice"], 1)], now_utc())
    commit()
    b, url = api_token(world["buyer"]), f"/api/v1/orders/{order.code}/invoice-request"
    for title, lang, said in (("抬" * 101, "zh_CN", "最多 100 个字"), ("a" * 250, "en", "at most 100 characters")):
        r = client.post(f"{url}?lang={lang}", headers=b, json={**DETAILS, "title": title})
        assert r.status_code == 422 and r.json["error"]["code"] == "invoice_title_too_long", r.json
        assert r.json["error"]["fields"] == {"title": "too_long"} and said in r.json["error"]["message"], r.json
    r = client.post(url, headers=b, json={**DETAILS, "title": "  "})
    assert r.status_code == 422 and r.json["error"]["code"] == "invoice_title_required"
    assert _db.session.scalar(sa.select(sa.func.count(Invoice.id))) == 0
    r = client.post(url, headers=b, json={**DETAILS, "title": "抬" * 100})
    assert r.status_code == 201, r.json
