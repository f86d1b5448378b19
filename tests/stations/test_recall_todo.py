"""#23 nothing of a recall is forgotten: the station's desk counts the open lines of its recalled lots
(to refund now, on their way until delivered), its recall list (/station/recalls) and the county's recall
page list them, the lot page says how many wait, the shipment page which lots; and the buyer's order
list flags an order holding a recalled lot (a badge, both languages; the JSON API's `recall`)."""

from __future__ import annotations

import pytest

from shop.db import commit
from stations.services import fulfilment
from tests.factories import make_lot, make_product, make_station, make_user
from tests.orders.factories import make_order


@pytest.fixture
def scene(db, now):
    """A station's lot bought three times: not shipped, delivered, on its way; and another station."""
    station = make_station()
    product = make_product(stock=0, station=station, price_fen=1000, name="高山土豆")
    lot = make_lot(product.stock, 10)
    operator = make_user(role="operator", station=station)
    buyer = make_user(email="todo-buyer@test.cn")
    waiting = make_order(buyer, [(product, 1)], now=now, payment_method="cod")
    delivered = make_order(make_user(), [(product, 2)], now=now, payment_method="cod")
    moving = make_order(make_user(), [(product, 1)], now=now, payment_method="cod")
    for order in (delivered, moving):
        s = order.shipments[0]
        fulfilment.accept(s, actor=operator, now=now)
        fulfilment.pack(s, actor=operator, now=now)
        fulfilment.ship(s, tracking_number="SF1", actor=operator, now=now)
    s = delivered.shipments[0]
    fulfilment.deliver(s, actor=operator, now=now, cash_received_fen=fulfilment.shipment_amount_fen(s))
    other_station = make_station()
    other = make_user(role="operator", station=other_station)
    untouched = make_order(buyer, [(make_product(stock=3, station=other_station), 1)], now=now, payment_method="cod")
    commit()
    return dict(
        lot=lot, operator=operator, buyer=buyer, waiting=waiting, moving=moving, other=other, untouched=untouched
    )


def _recall(client, auth, user, lot):
    auth.login(user)
    assert (
        client.post(f"/station/lots/{lot.code}/recall", data={"reason": "抽检不合格", "confirm": "1"}).status_code
        == 302
    )


def _tiles(client) -> str:
    return client.get("/station/").get_data(as_text=True)


def test_the_desk_and_the_recall_list_keep_every_line_until_it_is_refunded(db, scene, client, auth, now):
    lot, operator = scene["lot"], scene["operator"]
    auth.login(operator)
    assert "召回商品" not in _tiles(client)
    _recall(client, auth, operator, lot)

    desk = _tiles(client)
    assert 'href="/station/recalls"' in desk
    assert '<span class="n">2</span><span class="label">召回商品待退款</span>' in desk
    assert '<span class="n">1</span><span class="label">召回商品运输中，送达后退款</span>' in desk
    listed = client.get("/station/recalls").get_data(as_text=True)
    assert listed.count(f'href="/station/lots/{lot.code}"') == 3 and "运输中：送达后办理退款" in listed
    assert scene["moving"].shipments[0].code in listed
    shipment_page = client.get(f"/station/shipments/{scene['moving'].shipments[0].code}").get_data(as_text=True)
    assert "本发货单有商品属于已召回的批次，尚未退款" in shipment_page
    assert f'href="/station/lots/{lot.code}"' in shipment_page
    lot_page = client.get(f"/station/lots/{lot.code}").get_data(as_text=True)
    assert "2 个订单商品可立即退款。" in lot_page and "1 个订单商品运输中：送达后回到此页办理退款" in lot_page

    # the one-step refund settles what it can; the parcel on its way stays on the desk
    assert client.post(f"/station/lots/{lot.code}/refund", data={"confirm": "1"}).status_code == 302
    desk = _tiles(client)
    assert "召回商品待退款" not in desk and "召回商品运输中，送达后退款" in desk
    # delivered: now it is to refund, and the desk says so
    s = scene["moving"].shipments[0]
    fulfilment.deliver(s, actor=operator, now=now, cash_received_fen=fulfilment.shipment_amount_fen(s))
    commit()
    desk = _tiles(client)
    assert '<span class="n">1</span><span class="label">召回商品待退款</span>' in desk and "运输中" not in desk
    assert client.post(f"/station/lots/{lot.code}/refund", data={"confirm": "1"}).status_code == 302
    assert "召回商品" not in _tiles(client)
    assert "没有待处理的召回商品" in client.get("/station/recalls").get_data(as_text=True)
    shipment_page = client.get(f"/station/shipments/{scene['moving'].shipments[0].code}").get_data(as_text=True)
    assert "已召回的批次" not in shipment_page  # refunded: nothing left to remind


def test_the_stations_json_api_lists_the_same(db, scene, client, api_token, now):
    lot, operator = scene["lot"], scene["operator"]
    mine, theirs = api_token(operator), api_token(scene["other"])
    assert client.get("/api/v1/stations/recall-lines", headers=mine).json == {
        "items": [],
        "to_refund_now": 0,
        "in_transit": 0,
    }
    res = client.post(f"/api/v1/lots/{lot.code}/recall", headers=mine, json={"reason": "抽检不合格"})
    assert res.status_code == 200, res.json
    answer = client.get("/api/v1/stations/recall-lines", headers=mine).json
    assert (answer["to_refund_now"], answer["in_transit"]) == (2, 1)
    moving = next(i for i in answer["items"] if i["order_id"] == scene["moving"].code)
    assert moving == {
        "lot_code": lot.code,
        "order_id": scene["moving"].code,
        "shipment_id": scene["moving"].shipments[0].code,
        "line_id": scene["moving"].lines[0].id,
        "title": "高山土豆",
        "quantity": 1,
        "action": "in_transit",
    }
    assert sorted(i["action"] for i in answer["items"]) == ["cancel", "in_transit", "refund"]
    other = client.get("/api/v1/stations/recall-lines", headers=theirs).json
    assert other["items"] == [] and other["to_refund_now"] == 0


def test_another_station_sees_nothing_of_it_and_the_county_sees_it_all(db, scene, client, auth):
    lot = scene["lot"]
    _recall(client, auth, scene["operator"], lot)
    auth.logout()
    auth.login(scene["other"])
    assert "召回商品" not in _tiles(client)
    assert lot.code not in client.get("/station/recalls").get_data(as_text=True)
    auth.logout()
    auth.login(make_user(role="county"))
    commit()
    page = client.get("/county/recalls").get_data(as_text=True)
    assert page.count(f'href="/county/recalls/{lot.code}"') >= 3 and "运输中：送达后办理退款" in page
    detail = client.get(f"/county/recalls/{lot.code}").get_data(as_text=True)
    assert "2 个订单商品可立即退款。" in detail
    english = client.get("/county/recalls?lang=en").get_data(as_text=True)
    assert "In transit: refund once delivered" in english


def test_the_buyers_order_list_flags_the_order_holding_a_recalled_lot(db, scene, client, auth, api_token):
    buyer, waiting, untouched = scene["buyer"], scene["waiting"], scene["untouched"]
    headers = api_token(buyer)  # before any sign-in of the page's session
    auth.login(buyer)
    assert "含召回批次" not in client.get("/orders").get_data(as_text=True)
    auth.logout()
    _recall(client, auth, scene["operator"], scene["lot"])
    auth.logout()
    auth.login(buyer)
    for tab in ("", "?tab=to_ship"):
        page = client.get(f"/orders{tab}").get_data(as_text=True)
        assert page.count("含召回批次") == 1, tab  # the recalled order only, not the other one
        row = page[page.index(waiting.code) :]
        assert row.index("含召回批次") < row.index("</li>")
    english = client.get("/orders?lang=en").get_data(as_text=True)
    assert "Recalled lot" in english and "含召回批次" not in english
    items = {o["id"]: o for o in client.get("/api/v1/orders", headers=headers).json["items"]}
    assert items[waiting.code]["recall"] == "holds" and items[untouched.code]["recall"] is None
    one = client.get(f"/api/v1/orders/{waiting.code}", headers=headers).json
    assert one["recall"] == "holds"
