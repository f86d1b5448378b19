"""The station's invoice list (page and API) and the buyer's (API) read their rows in the statements of one:
each row's state (待开票 or 无需开票), what may be issued now and any red invoice due come from its orders,
their shipments and lines loaded with the list and from sums taken in one grouped query each, never a
query per row. Counted with `tests.sql_count` (a warm-up request, the session expired)."""

from __future__ import annotations

import io

from orders.services import payments
from orders.services.refunds import approve_refund_request, request_refund
from shop.db import commit
from shop.timeutil import local_date, now_utc
from tests.county.handover import hand_over
from tests.factories import make_product, make_station, make_user
from tests.orders.factories import FakeStripeProvider, make_order
from tests.sql_count import api_statements, page_statements

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
DETAILS = {"kind": "ordinary", "title": "南昌县第一中学", "tax_number": ""}


def _rows(client, b, o, op, buyer, rice, eggs) -> None:
    """Three invoices of the station: a card order's request waiting, a cash order's (handed over, its
    cash in the book) waiting, and a card order's invoice issued then partly refunded (a red invoice due);
    plus a card order's request whose part was all refunded (无需开票)."""
    now = now_utc()
    card = []
    for _ in range(3):
        order = make_order(buyer, [(rice, 1), (eggs, 1)], now=now, payment_method="card")
        payment = payments.start_payment(order.payments[0], now=now)
        FakeStripeProvider.succeed(payment.provider_ref)
        payments.sync_payment(payment, now=now)
        card.append(order)
    cash = make_order(buyer, [(rice, 2)], now=now, payment_method="cod")
    hand_over(card[1], op, now)
    hand_over(cash, op, now)
    commit()
    ids = []
    for order in (*card, cash):
        r = client.post(f"/api/v1/orders/{order.code}/invoice-request", headers=b, json=DETAILS)
        assert r.status_code == 201, r.json
        ids.append(r.json["items"][0]["id"])
    issued = card[1]
    r = client.post(
        f"/api/v1/invoices/{ids[1]}/issue?number=044{issued.id:08d}&issued_on={local_date(now).isoformat()}"
        f"&amount_fen={issued.total_fen}",
        headers=o,
        data={"file": (io.BytesIO(PDF), "invoice.pdf")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 200, r.json
    eggs_line = next(line for line in issued.lines if line.product_id == eggs.id)
    request = request_refund(issued, eggs_line.id, actor=buyer, now=now, reason="破损", kind="refund_only")
    approve_refund_request(request.id, actor=op, now=now, goods="not_returned")
    for line in card[2].lines:
        payments.refund_line(line, actor=op, now=now, reason="缺货")
    commit()


def test_the_invoice_lists_read_many_rows_in_the_statements_of_few(app, client, db, fake_stripe, api_token):
    station = make_station()
    op = make_user(role="operator", station=station)
    buyer = make_user()
    rice = make_product(name="南昌大米", price_fen=6000, stock=500, station=station)
    eggs = make_product(name="土鸡蛋", price_fen=4500, stock=500, station=station)
    commit()
    b, o = api_token(buyer), api_token(op)
    web = app.test_client()
    web.post("/login", data={"email": op.email, "password": "password123"})
    _rows(client, b, o, op, buyer, rice, eggs)
    _page, few = page_statements(web, "/station/invoices")
    listed, api_few = api_statements(client, "/api/v1/station/invoices", o)
    states = sorted((i["status"], i["red_due_fen"] > 0, i["available_fen"] > 0) for i in listed["items"])
    assert states == [
        ("issued", True, False),
        ("not_needed", False, False),
        ("requested", False, True),
        ("requested", False, True),
    ], listed
    _mine, mine_few = api_statements(client, "/api/v1/invoices", b)
    for _ in range(3):
        _rows(client, b, o, op, buyer, rice, eggs)
    page, many = page_statements(web, "/station/invoices")
    listed, api_many = api_statements(client, "/api/v1/station/invoices", o)
    mine, mine_many = api_statements(client, "/api/v1/invoices", b)
    assert len(listed["items"]) == len(mine["items"]) == 16 and page.count('class="invoice-row"') == 16
    assert page.count('<strong class="error">需开红字发票') == 4 and page.count('invoice-status">无需开票') == 4
    assert page.count("可开票金额") == 8
    assert len(many) == len(few), "\n".join(many)
    assert len(api_many) == len(api_few), "\n".join(api_many)
    assert len(mine_many) == len(mine_few), "\n".join(mine_many)
