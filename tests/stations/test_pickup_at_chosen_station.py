"""Pick-up where the buyer chose (#18.3): a pick-up order at station A holding goods of A, B and C.

B and C send their shipments to A (shipped → arrived, received by A's operator); A's operator hands
the whole order over with the order's one code; only A may; B and C see where their shipment goes.
"""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from ledger.models import IncomeEntry
from orders.models import OrderStatus, ShipmentStatus
from shop.db import commit
from shop.errors import Conflict
from shop.extensions import db as database
from stations.services import fulfilment
from tests.factories import make_household, make_product, make_station, make_user, make_village
from tests.stations.factories import PICKUP_CODE, make_order
from tests.stations.lot_checks import assert_lots_exact


@pytest.fixture
def three(world):
    village = make_village(name="C村")
    station = make_station(village=village, code="STC", commission_bps=1000)
    station.name = "柳溪村站C"
    h = make_household(village=village, head_name="C王五")
    product = make_product(
        name="C腌菜", price_fen=1200, stock=10, station=station, category=world.category, households=[h], weights=[1]
    )
    operator = make_user(role="operator", station=station, email="opc@test.cn")
    world.c = SimpleNamespace(village=village, station=station, product=product, operator=operator, h=h)
    world.a.station.name = "柳溪村站"
    order = make_order(
        [(world.a.product, 1), (world.b.product, 2), (world.c.product, 1)],
        buyer=world.buyer,
        delivery="pickup",
        pickup_station=world.a.station,
    )
    by_station = {s.station_id: s for s in order.shipments}
    world.order = order
    world.sa, world.sb, world.sc = (by_station[x.station.id] for x in (world.a, world.b, world.c))
    return world


def _send_to_a(w, now, shipment, operator):
    fulfilment.apply_action(shipment, "accept", actor=operator, now=now)
    fulfilment.apply_action(shipment, "pack", actor=operator, now=now)
    assert shipment.status == ShipmentStatus.PACKED  # not on B's shelf: it travels to A
    fulfilment.apply_action(shipment, "ship", actor=operator, now=now)  # no tracking number needed
    assert shipment.status == ShipmentStatus.SHIPPED


def test_three_station_order_ends_at_the_chosen_station_with_one_code(db, three, now):
    w = three
    assert {s.pickup_code for s in w.order.shipments} == {PICKUP_CODE}
    _send_to_a(w, now, w.sb, w.b.operator)
    _send_to_a(w, now, w.sc, w.c.operator)
    fulfilment.apply_action(w.sa, "accept", actor=w.a.operator, now=now)
    fulfilment.apply_action(w.sa, "pack", actor=w.a.operator, now=now)
    assert w.sa.status == ShipmentStatus.READY_FOR_PICKUP
    # nothing is handed over while B's and C's goods are on the road
    with pytest.raises(Conflict) as exc:
        fulfilment.apply_action(w.sa, "pickup", actor=w.a.operator, now=now, pickup_code=PICKUP_CODE)
    assert exc.value.code == "order_not_ready"
    # only A receives
    with pytest.raises(fulfilment.NotYourStep):
        fulfilment.apply_action(w.sb, "receive", actor=w.b.operator, now=now)
    fulfilment.apply_action(w.sb, "receive", actor=w.a.operator, now=now)
    fulfilment.apply_action(w.sc, "receive", actor=w.a.operator, now=now)
    assert (w.sb.status, w.sc.status) == (ShipmentStatus.ARRIVED, ShipmentStatus.ARRIVED)
    # only A hands over, B and C cannot even with the right code
    for op, s in ((w.b.operator, w.sb), (w.c.operator, w.sc)):
        with pytest.raises(fulfilment.NotYourStep):
            fulfilment.apply_action(s, "pickup", actor=op, now=now, pickup_code=PICKUP_CODE)
    fulfilment.apply_action(w.sb, "pickup", actor=w.a.operator, now=now, pickup_code=PICKUP_CODE)
    assert {s.status for s in w.order.shipments} == {ShipmentStatus.DELIVERED}
    assert w.order.status == OrderStatus.COMPLETED
    credited = db.session.scalar(
        sa.select(sa.func.count(sa.distinct(IncomeEntry.order_line_id))).where(
            IncomeEntry.order_line_id.in_([ln.id for ln in w.order.lines])
        )
    )
    assert credited == 3


def test_the_packing_station_keeps_its_own_steps(db, three, now):
    w = three
    with pytest.raises(fulfilment.NotYourStep):
        fulfilment.apply_action(w.sb, "accept", actor=w.a.operator, now=now)
    _send_to_a(w, now, w.sb, w.b.operator)
    with pytest.raises(fulfilment.NotYourStep):  # a transfer is not "delivered" by B
        fulfilment.apply_action(w.sb, "deliver", actor=w.a.operator, now=now)
    with pytest.raises(fulfilment.IllegalTransition):
        fulfilment.apply_action(w.sb, "deliver", actor=w.b.operator, now=now)
    assert w.sb.status == ShipmentStatus.SHIPPED
    with pytest.raises(fulfilment.IllegalTransition):
        fulfilment.apply_action(w.sb, "ready", actor=w.b.operator, now=now)


def test_wrong_code_counts_for_the_whole_order_and_locks_it(db, three, now, client, api_token):
    w = three
    _send_to_a(w, now, w.sb, w.b.operator)
    _send_to_a(w, now, w.sc, w.c.operator)
    for s in (w.sb, w.sc):
        fulfilment.apply_action(s, "receive", actor=w.a.operator, now=now)
    fulfilment.apply_action(w.sa, "accept", actor=w.a.operator, now=now)
    fulfilment.apply_action(w.sa, "pack", actor=w.a.operator, now=now)
    commit()
    headers = api_token(w.a.operator)
    targets = [w.sa, w.sb, w.sc]  # trying another shipment's page does not give fresh attempts
    for attempt in range(1, fulfilment.PICKUP_MAX_FAILURES + 1):
        s = targets[attempt % 3]
        response = client.post(
            f"/api/v1/shipments/{s.code}/transition",
            json={"action": "pickup", "pickup_code": "000000"},
            headers=headers,
        )
        assert response.status_code == 422, response.json
        assert response.json["error"]["fields"]["attempts_left"] == str(fulfilment.PICKUP_MAX_FAILURES - attempt)
    for s in targets:
        response = client.post(
            f"/api/v1/shipments/{s.code}/transition",
            json={"action": "pickup", "pickup_code": PICKUP_CODE},
            headers=headers,
        )
        assert response.status_code == 409 and response.json["error"]["code"] == "pickup_locked"
    db.session.expire_all()
    assert {s.status for s in targets} == {ShipmentStatus.READY_FOR_PICKUP, ShipmentStatus.ARRIVED}
    fulfilment.unlock_pickup(w.sb, actor=w.admin, now=now)
    fulfilment.apply_action(w.sc, "pickup", actor=w.a.operator, now=now, pickup_code=PICKUP_CODE)
    assert {s.status for s in targets} == {ShipmentStatus.DELIVERED}


def test_api_lists_what_the_chosen_station_hands_over_and_every_shipment_names_it(db, three, now, client, api_token):
    w = three
    ship_order = make_order([(w.b.product, 1)], buyer=w.buyer)  # delivery by post: no pick-up station
    commit()
    response = client.get(f"/api/v1/stations/{w.a.station.id}/shipments", headers=api_token(w.a.operator))
    assert response.status_code == 200
    items = {i["id"]: i for i in response.json["items"]}
    assert set(items) == {w.sa.code, w.sb.code, w.sc.code}
    assert {i["pickup_station_id"] for i in items.values()} == {w.a.station.id}
    assert items[w.sb.code]["station_id"] == w.b.station.id
    response = client.get(f"/api/v1/stations/{w.b.station.id}/shipments", headers=api_token(w.b.operator))
    items = {i["id"]: i for i in response.json["items"]}
    assert set(items) == {w.sb.code, ship_order.shipments[0].code}
    assert items[w.sb.code]["pickup_station_id"] == w.a.station.id
    assert items[ship_order.shipments[0].code]["pickup_station_id"] is None
    assert (
        client.get(f"/api/v1/stations/{w.a.station.id}/shipments", headers=api_token(w.b.operator)).status_code == 403
    )
    # the transfer through the API: B ships, A receives; B may not receive (403), A may not accept B's
    hb, ha = api_token(w.b.operator), api_token(w.a.operator)
    url = f"/api/v1/shipments/{w.sb.code}/transition"
    assert client.post(url, json={"action": "accept"}, headers=ha).status_code == 403
    for action in ("accept", "pack", "ship"):
        assert client.post(url, json={"action": action}, headers=hb).status_code == 200
    assert client.post(url, json={"action": "receive"}, headers=hb).status_code == 403
    response = client.post(url, json={"action": "receive"}, headers=ha)
    assert response.status_code == 200 and response.json["status"] == "arrived"
    # the buyer's order carries the station on every shipment
    order = client.get(f"/api/v1/orders/{w.order.code}", headers=api_token(w.buyer)).json
    assert {s["pickup_station_id"] for s in order["shipments"]} == {w.a.station.id}
    assert {s["pickup_code"] for s in order["shipments"]} == {PICKUP_CODE}
    spec = client.get("/api/v1/openapi.json").json
    shipment_schemas = [
        name
        for name, schema in spec["components"]["schemas"].items()
        if "pickup_station_id" in schema.get("properties", {}) and "status" in schema["properties"]
    ]
    assert len(shipment_schemas) >= 2, shipment_schemas


def test_operator_pages_show_where_each_shipment_goes(db, three, now, client, auth):
    w = three
    auth.login(w.b.operator)
    body = client.get(f"/station/shipments/{w.sb.code}").get_data(as_text=True)
    assert "送往 柳溪村站" in body and PICKUP_CODE not in body and "取消该商品并退款" in body
    assert client.get(f"/station/shipments/{w.sa.code}").status_code == 404  # B sees only its own
    _send_to_a(w, now, w.sb, w.b.operator)
    commit()
    body = client.get("/station/").get_data(as_text=True)
    assert "送往 柳溪村站" in body
    client.post("/logout")
    auth.login(w.a.operator)
    body = client.get("/station/").get_data(as_text=True)
    assert w.sb.code in body and w.sc.code in body and "送来本站自提" in body
    body = client.get(f"/station/shipments/{w.sb.code}").get_data(as_text=True)
    assert "确认已到本站" in body and "接单" not in body.split("操作", 1)[1].split("记录", 1)[0]
    assert "取消该商品并退款" not in body  # B's lines are B's to cancel
    response = client.post(f"/station/shipments/{w.sb.code}/action", data={"confirm": "1", "action": "receive"})
    assert response.status_code == 302
    db.session.expire_all()
    assert w.sb.status == ShipmentStatus.ARRIVED
    # A cannot cancel B's line or take over B's packing steps through the pages
    line = w.sb.lines[0]
    assert (
        client.post(
            f"/station/shipments/{w.sb.code}/lines/{line.id}/cancel", data={"confirm": "1", "reason": "x"}
        ).status_code
        == 403
    )


def test_ready_mail_is_sent_once_the_whole_order_waits_at_the_chosen_station(db, three, now, caplog):
    w = three
    caplog.set_level(logging.INFO, logger="shop.mail")

    def ready_mails() -> list[str]:
        return [r.getMessage() for r in caplog.records if r.name == "shop.mail" and "已可到站自提" in r.getMessage()]

    fulfilment.apply_action(w.sa, "accept", actor=w.a.operator, now=now)
    fulfilment.apply_action(w.sa, "pack", actor=w.a.operator, now=now)
    _send_to_a(w, now, w.sb, w.b.operator)
    fulfilment.apply_action(w.sb, "receive", actor=w.a.operator, now=now)
    commit()
    assert ready_mails() == []  # C's goods are still on the road
    _send_to_a(w, now, w.sc, w.c.operator)
    fulfilment.apply_action(w.sc, "receive", actor=w.a.operator, now=now)
    commit()
    [mail] = ready_mails()
    assert PICKUP_CODE in mail and "柳溪村站" in mail  # the chosen station, not C


def test_a_shipment_already_on_its_own_shelf_before_the_rule_is_handed_over_there(db, world, now, client, auth):
    """Orders in flight when pick-up moved to the chosen station: per-shipment codes, B's shipment on
    B's shelf. B hands its own over with its own code; A hands over the rest with A's code."""
    order = make_order(
        [(world.a.product, 1), (world.b.product, 1)],
        buyer=world.buyer,
        delivery="pickup",
        pickup_station=world.a.station,
    )
    sa_, sb_ = sorted(order.shipments, key=lambda s: s.station_id != world.a.station.id)
    sb_.pickup_code = "135790"
    for s, op in ((sa_, world.a.operator), (sb_, world.b.operator)):
        s.status = ShipmentStatus.READY_FOR_PICKUP  # as the old rule left it
    db.session.flush()
    auth.login(world.buyer)
    page = client.get(f"/orders/{order.code}").get_data(as_text=True)
    assert "135790" in page and PICKUP_CODE in page  # each shipment's own code, as the buyer was told
    with pytest.raises(fulfilment.NotYourStep):
        fulfilment.apply_action(sb_, "pickup", actor=world.a.operator, now=now, pickup_code="135790")
    fulfilment.apply_action(sb_, "pickup", actor=world.b.operator, now=now, pickup_code="135790")
    assert (sb_.status, sa_.status) == (ShipmentStatus.DELIVERED, ShipmentStatus.READY_FOR_PICKUP)
    fulfilment.apply_action(sa_, "pickup", actor=world.a.operator, now=now, pickup_code=PICKUP_CODE)
    assert sa_.status == ShipmentStatus.DELIVERED and order.status == OrderStatus.COMPLETED


def _allocated(product) -> int:
    from stock.models import StockRecord

    database.session.expire_all()
    return database.session.scalar(sa.select(StockRecord.allocated).where(StockRecord.product_id == product.id))


@pytest.mark.usefixtures("db")
def test_a_transfer_canceled_after_it_arrived_goes_back_and_its_stock_returns_only_then(
    db, three, now, client, api_token
):
    w = three
    _send_to_a(w, now, w.sb, w.b.operator)
    fulfilment.apply_action(w.sb, "receive", actor=w.a.operator, now=now)
    assert w.sb.status == ShipmentStatus.ARRIVED
    held = _allocated(w.b.product)
    assert held == 2
    # B cannot supply after all: the goods are at A, the stock still B's — not released yet
    fulfilment.apply_action(w.sb, "cancel", actor=w.b.operator, now=now, reason="质量问题")
    assert w.sb.status == ShipmentStatus.CANCELED and w.sb.return_status == "returning"
    assert _allocated(w.b.product) == held
    assert_lots_exact(db, w.b.product.stock.id)  # the lots stay held too (#23)
    commit()
    # both operators see it in the API: B's own list and A's list of what comes to it
    body = client.get(f"/api/v1/stations/{w.b.station.id}/shipments", headers=api_token(w.b.operator)).json
    [item] = [s for s in body["items"] if s["id"] == w.sb.code]
    assert item["return_status"] == "returning" and item["status"] == "canceled"
    body = client.get(f"/api/v1/stations/{w.a.station.id}/shipments", headers=api_token(w.a.operator)).json
    assert [s["return_status"] for s in body["items"] if s["id"] == w.sb.code] == ["returning"]
    # only the packing station receives it back
    url = f"/api/v1/shipments/{w.sb.code}/transition"
    refused = client.post(url, json={"action": "receive_return"}, headers=api_token(w.a.operator))
    assert refused.status_code == 403
    assert _allocated(w.b.product) == held
    done = client.post(url, json={"action": "receive_return"}, headers=api_token(w.b.operator))
    assert done.status_code == 200, done.json
    assert done.json["return_status"] == "returned"
    assert _allocated(w.b.product) == held - 2  # the stock is B's to sell again, now
    assert_lots_exact(db, w.b.product.stock.id)  # and the lots it was taken from
    again = client.post(url, json={"action": "receive_return"}, headers=api_token(w.b.operator))
    assert again.status_code == 409
    assert _allocated(w.b.product) == held - 2  # once


def test_the_pages_show_the_return_to_both_operators(db, three, now, client, auth):
    w = three
    _send_to_a(w, now, w.sb, w.b.operator)
    fulfilment.apply_action(w.sb, "receive", actor=w.a.operator, now=now)
    from orders.services.payments import cancel_order

    cancel_order(w.order, actor=w.buyer, now=now, reason="不要了")  # the buyer cancels the whole order
    assert w.sb.return_status == "returning" and _allocated(w.b.product) == 2
    commit()
    auth.login(w.a.operator)
    page = client.get(f"/station/shipments/{w.sb.code}").get_data(as_text=True)
    assert "退回中" in page and "确认退回货物已入库" not in page  # A sees it go, B's step
    auth.logout()
    auth.login(w.b.operator)
    assert w.sb.code in client.get("/station/").get_data(as_text=True)  # B's dashboard: coming back
    page = client.get(f"/station/shipments/{w.sb.code}").get_data(as_text=True)
    assert "退回中" in page and "确认退回货物已入库" in page
    r = client.post(f"/station/shipments/{w.sb.code}/action", data={"action": "receive_return"})
    assert r.status_code == 302
    assert _allocated(w.b.product) == 0
    assert "已退回入库" in client.get(f"/station/shipments/{w.sb.code}").get_data(as_text=True)


def test_the_counter_says_what_it_waits_for_instead_of_asking_for_the_code_too_early(db, three, now, client, auth):
    """A's shelf holds its part while C's is still on the road: the page names C's shipment and offers no
    code or cash field (the hand-over would be refused after both were typed); once C's goods are
    received, the whole-order form is there."""
    w = three
    _send_to_a(w, now, w.sb, w.b.operator)
    _send_to_a(w, now, w.sc, w.c.operator)
    fulfilment.apply_action(w.sb, "receive", actor=w.a.operator, now=now)
    fulfilment.apply_action(w.sa, "accept", actor=w.a.operator, now=now)
    fulfilment.apply_action(w.sa, "pack", actor=w.a.operator, now=now)
    commit()
    auth.login(w.a.operator)
    page = client.get(f"/station/shipments/{w.sa.code}").get_data(as_text=True)
    assert f"还有发货单未到自提站点（{w.sc.code}），整单到齐后才能交付" in page
    assert 'name="pickup_code"' not in page
    fulfilment.apply_action(w.sc, "receive", actor=w.a.operator, now=now)
    commit()
    page = client.get(f"/station/shipments/{w.sa.code}").get_data(as_text=True)
    assert 'name="pickup_code"' in page and "未到自提站点" not in page


def test_a_dashboard_lists_only_the_pickups_collected_at_its_own_station(db, three, now, client, auth):
    """Operators see only their station: B's dashboard names none of the shipments travelling to A,
    not even C's (a pick-up order that also holds B's goods); A's names B's and C's."""
    w = three
    _send_to_a(w, now, w.sc, w.c.operator)
    commit()
    auth.login(w.b.operator)
    body = client.get("/station/").get_data(as_text=True)
    assert w.sb.code in body
    assert w.sa.code not in body and w.sc.code not in body
    client.post("/logout")
    auth.login(w.a.operator)
    body = client.get("/station/").get_data(as_text=True)
    assert w.sb.code in body and w.sc.code in body and "送来本站自提" in body
