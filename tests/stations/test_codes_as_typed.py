"""Public codes are found as a person types them: any case, spaces around, full-width letters
(`shop.codes.typed_code`, docs/ARCHITECTURE.md "Public codes"); another buyer's order stays a 404."""

from __future__ import annotations

import sqlalchemy as sa

from orders.models import RefundRequest
from shop.codes import typed_code
from shop.db import commit
from stations.services import fulfilment
from stock.models import Lot
from tests.factories import make_user
from tests.stations.factories import make_order


def _delivered(world, now, buyer=None):
    order = make_order([(world.a.product, 2)], buyer=buyer or world.buyer)
    shipment, op = order.shipments[0], world.a.operator
    fulfilment.accept(shipment, actor=op, now=now)
    fulfilment.pack(shipment, actor=op, now=now)
    fulfilment.ship(shipment, tracking_number="SF1", actor=op, now=now)
    fulfilment.deliver(shipment, actor=op, now=now)
    return order


def _full_width(code: str) -> str:
    """The code as a Chinese input method in full-width mode types it (Ａ for A, ３ for 3)."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in code)


def test_typed_code_reads_case_spaces_and_full_width_letters():
    assert typed_code(" abcd3789 ") == typed_code("ABCD 3789") == typed_code(_full_width("abcd3789")) == "ABCD3789"
    assert typed_code("abcdefgh-s-1") == "ABCDEFGH-S-1"
    assert typed_code(None) == ""


def test_the_buyer_finds_their_order_whatever_the_case_typed(db, world, now, client, auth):
    order = _delivered(world, now)
    pending = make_order([(world.a.product, 1)], buyer=world.buyer, payment_method="station_cash", status="pending")
    stranger = make_order([(world.a.product, 1)], buyer=make_user(email="stranger@test.cn"))
    commit()
    line = order.lines[0]
    auth.login(world.buyer)
    for typed in (order.code.lower(), f" {order.code.lower()} ", _full_width(order.code.lower())):
        page = client.get(f"/orders/{typed}")
        assert page.status_code == 200, typed
        assert order.code in page.get_data(as_text=True)
    assert client.get(f"/api/v1/orders/{order.code.lower()}").json["id"] == order.code
    assert client.get(f"/orders/{order.code.lower()}/lines/{line.id}/review").status_code == 200
    assert client.get(f"/orders/{order.code.lower()}/invoice").status_code == 200
    # the pay page of a pending order (pay at the station: nothing to start, back to the order)
    paid = client.post(f"/orders/{pending.code.lower()}/pay")
    assert paid.status_code == 303 and pending.code.lower() in paid.location.lower()
    # a refund asked from a page opened by a lower-case link
    asked = client.post(
        f"/orders/{order.code.lower()}/lines/{line.id}/refund", data={"kind": "refund_only", "reason": "蛋壳碎了"}
    )
    assert asked.status_code == 303
    assert (
        db.session.scalar(sa.select(RefundRequest.reason).where(RefundRequest.order_line_id == line.id)) == "蛋壳碎了"
    )
    # another buyer's order is not found, in any case
    for typed in (stranger.code, stranger.code.lower()):
        assert client.get(f"/orders/{typed}").status_code == 404
        assert client.get(f"/api/v1/orders/{typed}").status_code == 404
        assert client.post(f"/orders/{typed}/pay").status_code == 404


def test_the_station_finds_its_shipment_and_a_lot_whatever_the_case_typed(db, world, now, client, auth):
    order = _delivered(world, now)
    shipment = order.shipments[0]
    lot = db.session.scalar(sa.select(Lot).where(Lot.stock_record_id == world.a.product.stock.id))
    commit()
    auth.login(world.a.operator)
    assert client.get(f"/station/shipments/{shipment.code.lower()}").status_code == 200
    assert client.get(f"/station/shipments/{shipment.code.lower()}/slip").status_code == 200
    auth.logout()
    auth.login(world.b.operator)
    assert client.get(f"/station/shipments/{shipment.code.lower()}").status_code == 404
    auth.logout()
    typed = client.get(f"/trace/{lot.code.lower()}")  # moved to the lot's own address
    assert typed.status_code == 301 and typed.headers["Location"].endswith(f"/trace/{lot.code}")
