"""One sale traced (`/county/sales/<line id>`): the product and its variant, the order code, the lots, the split
of the money, every household credited (masked, linked), the refunds, the payout batches; and a household's
statement names each sale and links to it."""

from __future__ import annotations

import re
from html import unescape

import sqlalchemy as sa

from ledger.services import credit_line, reverse_line
from orders.models import Order
from shop.db import commit
from shop.money import format_yuan
from tests.county.conftest import SECRET_NAME
from tests.county.factories import make_line, make_order
from tests.county.sale_setup import refunded, sold_from_a_lot_and_paid
from tests.factories import make_user
from tests.sql_count import page_statements


def _text(html: str) -> str:
    return unescape(re.sub(r"<[^>]+>", " ", html))


def test_a_sale_names_its_product_lots_split_households_refunds_and_payouts(client, auth, db, world, county_user, now):
    a, b, c = world["households"]
    l1, l2, _ = world["lines"]
    s1 = world["stations"][0]
    _product, lot, batch = sold_from_a_lot_and_paid(world, now)
    commit()
    order_code = db.session.get(Order, l1.order_id).code

    auth.login(county_user)
    res = client.get(f"/county/sales/{l1.id}")
    assert res.status_code == 200
    html = res.get_data(as_text=True)
    text = _text(html)
    assert "土鸡蛋" in text and "30枚装" in text and order_code in text and s1.name in text
    assert f"/trace/{lot.code}" in html
    assert format_yuan(l1.line_total_fen) in text
    # the split: households' shares 2:1 of 3003 fen, nothing else taken
    assert 'id="sale-net"' in html and 'data-fen="3003"' in html
    # both households, masked, linked to their pages; a's share in the batch, b's (no account) not paid
    assert SECRET_NAME not in html and SECRET_NAME[0] + "***" in html
    assert f"/county/households/{a.id}" in html and f"/county/households/{b.id}" in html
    assert f"/county/payouts/{batch.id}" in html and batch.code in text
    assert "未发放" in text

    # a line reversed by a refund shows the refund and what it took back
    refund = refunded(l2, now)
    commit()
    html = client.get(f"/county/sales/{l2.id}").get_data(as_text=True)
    assert "破损" in html and f"#{refund.id}" in html and "冲销" in _text(html)
    assert html.count('class="household"') == 2
    # a cash refund still in the till is said as the station's desk says it, not as the word `owed`
    refund.state = "owed"
    commit()
    html = client.get(f"/county/sales/{l2.id}").get_data(as_text=True)
    assert "<td>待退还</td>" in html and ">owed<" not in html

    # English too
    text = _text(client.get(f"/county/sales/{l1.id}?lang=en").get_data(as_text=True))
    assert "Sale trace" in text and "Households credited" in text


def test_the_statement_names_each_sale_and_links_to_it(client, auth, db, world, county_user):
    a = world["households"][0]
    l1 = world["lines"][0]
    auth.login(county_user)
    html = client.get(f"/county/households/{a.id}/statement").get_data(as_text=True)
    code = db.session.get(Order, l1.order_id).code
    assert f'href="/county/sales/{l1.id}"' in html
    assert f"{l1.title} · {code}" in _text(html)
    exported = client.get(f"/county/households/{a.id}/statement?format=csv").data.decode("utf-8-sig")
    header, *rows = exported.splitlines()
    assert "销售内容" in header and "订单号" in header
    assert any(f"{l1.title},{code}" in row for row in rows), exported  # the export names the sale too


def test_the_sale_page_reads_a_fixed_number_of_statements(client, auth, db, world, county_user, now):
    auth.login(county_user)
    _, few = page_statements(client, f"/county/sales/{world['lines'][0].id}")
    order, shipment = make_order(station=world["stations"][0])
    many = make_line(order=order, shipment=shipment, households=list(world["households"]), quantity=4)
    credit_line(many, now=now)
    for n in range(3):
        reverse_line(many, now=now, amount_fen=100, ref=f"part:{n}")
    commit()
    _, more = page_statements(client, f"/county/sales/{many.id}")
    assert len(more) == len(few) <= 10, (len(few), len(more))


def test_only_the_county_office_and_admins_see_a_sale_and_an_unknown_one_is_404(client, auth, db, world):
    line = world["lines"][0]
    for role, status in (("consumer", 403), ("operator", 403), ("host", 403), ("county", 200), ("admin", 200)):
        user = make_user(role=role, station=world["stations"][0] if role == "operator" else None)
        commit()
        auth.login(user)
        assert client.get(f"/county/sales/{line.id}").status_code == status, role
        auth.logout()
    auth.login(make_user(role="county"))
    commit()
    assert client.get("/county/sales/999999").status_code == 404
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Order)) >= 1
