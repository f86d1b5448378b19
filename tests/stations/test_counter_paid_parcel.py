"""到站点付款 of a parcel shipped home, placed before that was refused (docs/MONEY.md, "Cash taken at the counter
ahead"): its buyer pays at the packing station's counter, and the parcel leaves only once that cash is in the
station's cash book. Until then shipping it is refused (409 `cash_before_shipping`, nothing changes), the shipment
page offers 确认已收现金 and not 发货, and says why; the buyer's order page shows its code as a payment code
(付款码) naming the station, its address and hours — not a 取货码 for a parcel nobody collects."""

from __future__ import annotations

import html

import sqlalchemy as sa

from orders.models import CashEntry, PaymentState, ShipmentStatus
from orders.services import cashbook
from orders.services.amounts import shipment_due_fen
from orders.services.payments import current_payment
from shop.db import commit
from shop.extensions import db as database
from shop.money import format_yuan
from stations.services import fulfilment
from tests.orders.factories import make_order

HELD = "此订单是到站点付款：顾客在本站柜台付清现金（确认已收现金）后才能发货"


def _packed_parcel(world, now):
    """A legacy station-cash parcel shipped home, accepted and packed at station A."""
    order = make_order(world.buyer, [(world.a.product, 2)], now=now, counter_paid_parcel=True)
    shipment = order.shipments[0]
    for step in ("accept", "pack"):
        fulfilment.apply_action(shipment, step, actor=world.a.operator, now=now)
    commit()
    return order, shipment


def _state(shipment) -> tuple:
    database.session.expire_all()
    return (
        shipment.status,
        shipment.tracking_number,
        database.session.scalar(sa.select(sa.func.count(CashEntry.id))),
        current_payment(shipment.order).state,
    )


def test_a_parcel_paid_at_the_counter_is_not_shipped_until_its_cash_is_in_the_book(
    db, world, now, client, api_token, auth
):
    _order, shipment = _packed_parcel(world, now)
    headers = api_token(world.a.operator)
    before = _state(shipment)
    assert before == (ShipmentStatus.PACKED, "", 0, PaymentState.PENDING)
    url = f"/api/v1/shipments/{shipment.code}/transition"
    refused = client.post(url, json={"action": "ship", "tracking_number": "SF100"}, headers=headers)
    assert refused.status_code == 409, refused.json
    assert refused.json["error"]["code"] == "cash_before_shipping"
    assert refused.json["error"]["message"] == HELD
    assert _state(shipment) == before  # nothing changed

    # the counter takes the cash (确认已收现金), then the parcel leaves
    auth.login(world.a.operator)
    taken = client.post(f"/station/shipments/{shipment.code}/cash", data={"confirm": "1"})
    assert taken.status_code in (302, 303)
    database.session.expire_all()
    assert cashbook.taken_entry(shipment.id).kind == "station_cash"
    assert current_payment(shipment.order).state == PaymentState.CONFIRMED
    shipped = client.post(url, json={"action": "ship", "tracking_number": "SF100"}, headers=headers)
    assert shipped.status_code == 200, shipped.json
    assert _state(shipment)[:2] == (ShipmentStatus.SHIPPED, "SF100")


def test_its_shipment_page_offers_the_counter_cash_not_shipping_until_paid(db, world, now, client, auth):
    _order, shipment = _packed_parcel(world, now)
    due = format_yuan(shipment_due_fen(shipment))
    auth.login(world.a.operator)
    page = html.unescape(client.get(f"/station/shipments/{shipment.code}").get_data(as_text=True))
    assert f"确认已收现金 {due}" in page
    assert 'name="action" value="ship"' not in page and "发货</button>" not in page
    assert HELD in page
    # a forged 发货 POST is refused at once, before any confirmation, and changes nothing
    before = _state(shipment)
    forged = client.post(
        f"/station/shipments/{shipment.code}/action", data={"action": "ship", "tracking_number": "SF1", "confirm": "1"}
    )
    assert forged.status_code == 409
    assert HELD in html.unescape(forged.get_data(as_text=True))
    assert _state(shipment) == before

    client.post(f"/station/shipments/{shipment.code}/cash", data={"confirm": "1"})
    page = html.unescape(client.get(f"/station/shipments/{shipment.code}").get_data(as_text=True))
    assert 'name="action" value="ship"' in page and "确认已收现金" not in page and HELD not in page


def test_its_buyer_sees_a_payment_code_naming_the_station_not_a_pick_up_code(db, world, now, client, auth, api_token):
    order, shipment = _packed_parcel(world, now)
    station = world.a.station
    code = shipment.pickup_code
    assert code
    headers = api_token(world.buyer)
    auth.login(world.buyer)
    page = html.unescape(client.get(f"/orders/{order.code}").get_data(as_text=True))
    assert "付款码" in page and code in page
    for text in (station.name, station.address, station.hours, format_yuan(shipment_due_fen(shipment))):
        assert text in page, text
    assert "取货码" not in page
    answer = client.get(f"/api/v1/orders/{order.code}", headers=headers).json
    assert answer["shipments"][0]["payment_code"] == code and answer["shipments"][0]["pickup_code"] is None

    # paid: nothing more to show at the counter
    auth.logout()
    auth.login(world.a.operator)
    client.post(f"/station/shipments/{shipment.code}/cash", data={"confirm": "1"})
    auth.logout()
    auth.login(world.buyer)
    page = html.unescape(client.get(f"/orders/{order.code}").get_data(as_text=True))
    assert "付款码" not in page and code not in page
