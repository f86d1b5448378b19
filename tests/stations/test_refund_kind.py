"""The buyer says what they ask for when asking a refund: 仅退款 (they keep the goods) or 退货退款 (they send
them back), on the order page's form and in the JSON API; a missing or unknown choice is refused (422) and
asks nothing. The station sees the choice where it decides (the desk, the refund requests, the shipment),
its decision starts from it, and it still records what actually happened, which alone moves stock
(`orders.services.refunds`: `check_kind`, `goods_for_kind`, `goods_differ_from_kind`)."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from orders.models import RefundRequest
from shop.db import commit
from stations.services import fulfilment
from stock.models import StockRecord
from tests.stations.factories import make_order
from tests.stations.refund_setup import delivered


def _requests(db, line_id) -> list[tuple[str, str | None]]:
    db.session.expire_all()
    query = sa.select(RefundRequest.status, RefundRequest.kind).where(RefundRequest.order_line_id == line_id)
    return [(status, kind) for status, kind in db.session.execute(query.order_by(RefundRequest.id))]


def _on_hand(db, world) -> int:
    db.session.expire_all()
    return db.session.scalar(sa.select(StockRecord.on_hand).where(StockRecord.product_id == world.a.product.id))


def test_the_order_page_asks_refund_only_or_return_and_shows_the_choice(db, world, now, client, auth):
    order = delivered(world, now)
    line = order.lines[0]
    auth.login(world.buyer)
    page = client.get(f"/orders/{order.code}").get_data(as_text=True)
    assert re.search(r'<input type="radio" name="kind" value="refund_only"[^>]*required>', page)
    assert re.search(r'<input type="radio" name="kind" value="return"[^>]*required>', page)
    assert "仅退款（货品留下）" in page and "退货退款（把货品退回站点）" in page

    url = f"/orders/{order.code}/lines/{line.id}/refund"
    assert client.post(url, data={"kind": "return", "reason": "包装破了"}).status_code == 303
    assert _requests(db, line.id) == [("requested", "return")]
    page = client.get(f"/orders/{order.code}").get_data(as_text=True)
    assert "退款类型：退货退款（把货品退回站点）" in page
    # where the goods go, and how the money comes back once approved (a card order: to the card)
    assert f"请把货品退回发货站点（{world.a.station.name}）" in page
    assert "同意后：款项将原路退回您的银行卡。" in page


@pytest.mark.parametrize("kind", [None, "", "both", "仅退款", "RETURN"])
def test_a_missing_or_unknown_choice_is_refused_with_the_form_as_typed(db, world, now, client, auth, kind):
    order = delivered(world, now)
    line = order.lines[0]
    auth.login(world.buyer)
    data = {"reason": "蛋壳碎了"} | ({"kind": kind} if kind is not None else {})
    res = client.post(f"/orders/{order.code}/lines/{line.id}/refund", data=data)
    page = res.get_data(as_text=True)
    assert res.status_code == 422 and "请选择退款类型" in page
    assert '<details class="refund-ask" open>' in page and ">蛋壳碎了</textarea>" in page
    assert _requests(db, line.id) == []


def test_a_refused_reason_keeps_the_choice_checked(db, world, now, client, auth):
    order = delivered(world, now)
    line = order.lines[0]
    auth.login(world.buyer)
    page = client.post(f"/orders/{order.code}/lines/{line.id}/refund", data={"kind": "return", "reason": " "})
    body = page.get_data(as_text=True)
    assert page.status_code == 422 and "请填写退款原因" in body
    assert re.search(r'value="return" checked', body) and not re.search(r'value="refund_only" checked', body)


def test_the_api_takes_the_choice_and_refuses_a_bad_one(db, world, now, client, api_token):
    order = delivered(world, now)
    line = order.lines[0]
    bearer = api_token(world.buyer)
    ask = f"/api/v1/orders/{order.code}/lines/{line.id}/refund-request"
    for body in ({"reason": "坏了"}, {"kind": "both", "reason": "坏了"}, {"kind": None, "reason": "坏了"}, {"kind": 1}):
        res = client.post(ask, json=body, headers=bearer)
        assert res.status_code == 422, body
    assert _requests(db, line.id) == []
    res = client.post(ask, json={"kind": "refund_only", "reason": "坏了"}, headers=bearer)
    assert res.status_code == 201 and res.json["kind"] == "refund_only" and res.json["money_back"] == "card"
    shown = client.get(f"/api/v1/orders/{order.code}/refund-requests", headers=bearer).json["lines"]
    assert [r["kind"] for r in shown[0]["requests"]] == ["refund_only"]


def test_a_line_not_yet_delivered_offers_no_choice_and_is_asked_for_nothing(db, world, now, client, auth, api_token):
    """No goods have reached the buyer: there is nothing to keep or send back. The page offers no refund form
    (the order is canceled instead), and the API refuses the line whatever the choice, a bad one as 422."""
    order = make_order([(world.a.product, 1)], buyer=world.buyer)
    shipment = order.shipments[0]
    fulfilment.accept(shipment, actor=world.a.operator, now=now)
    fulfilment.pack(shipment, actor=world.a.operator, now=now)
    fulfilment.ship(shipment, tracking_number="SF1", actor=world.a.operator, now=now)
    commit()
    line = order.lines[0]
    bearer = api_token(world.buyer)
    ask = f"/api/v1/orders/{order.code}/lines/{line.id}/refund-request"
    for kind in ("refund_only", "return"):
        res = client.post(ask, json={"kind": kind, "reason": "还没到"}, headers=bearer)
        assert res.status_code == 409 and res.json["error"]["code"] == "not_delivered"
    assert client.post(ask, json={"kind": "keep", "reason": "还没到"}, headers=bearer).status_code == 422
    auth.login(world.buyer)
    page = client.get(f"/orders/{order.code}").get_data(as_text=True)
    assert 'name="kind"' not in page and "退款类型" not in page
    assert _requests(db, line.id) == []


def _ask(client, order, kind, reason="坏了"):
    line = order.lines[0]
    assert (
        client.post(f"/orders/{order.code}/lines/{line.id}/refund", data={"kind": kind, "reason": reason}).status_code
        == 303
    )
    return line


def _request_id(db, line) -> int:
    return db.session.scalar(sa.select(RefundRequest.id).where(RefundRequest.order_line_id == line.id))


def _card(page: str, req_id: int) -> str:
    start = page.index(f'id="refund-request-{req_id}"')
    return page[start : page.index("</div>", start)]


def test_the_station_sees_the_choice_on_its_desk_list_and_shipment(db, world, now, client, auth, api_token):
    kept, returned = delivered(world, now), delivered(world, now)
    auth.login(world.buyer)
    kept_line, returned_line = _ask(client, kept, "refund_only"), _ask(client, returned, "return")
    auth.logout()
    bearer = api_token(world.a.operator)
    auth.login(world.a.operator)

    desk = client.get("/station/").get_data(as_text=True)
    assert "退款申请待处理" in desk and "其中 1 件退货退款" in desk

    page = client.get("/refund-requests").get_data(as_text=True)
    only, back = _card(page, _request_id(db, kept_line)), _card(page, _request_id(db, returned_line))
    assert "顾客申请：<strong>仅退款（货品留下）</strong>" in only
    assert "顾客申请：<strong>退货退款（把货品退回站点）</strong>" in back
    # the decision starts from the choice: kept goods are not returned; goods sent back are said by the
    # station (back and sellable, or spoiled), never guessed into stock
    assert re.search(r'value="not_returned" checked', only)
    assert " checked" not in back

    shipment = client.get(f"/station/shipments/{returned.shipments[0].code}").get_data(as_text=True)
    assert "退款申请：待处理 · 退货退款（把货品退回站点）" in shipment

    listed = client.get("/api/v1/stations/refund-requests", headers=bearer).json["items"]
    assert {r["order_id"]: r["kind"] for r in listed} == {kept.code: "refund_only", returned.code: "return"}


def test_the_station_records_what_happened_and_stock_follows_its_record(db, world, now, client, auth, api_token):
    """A 退货退款 whose goods never came back is approved as not returned (said again before it is
    recorded): nothing goes into stock. A 仅退款 whose buyer brought the goods back anyway is restocked."""
    returned, kept = delivered(world, now), delivered(world, now)
    auth.login(world.buyer)
    returned_line, kept_line = _ask(client, returned, "return"), _ask(client, kept, "refund_only")
    auth.logout()
    auth.login(world.a.operator)
    before = _on_hand(db, world)

    url = f"/refund-requests/{_request_id(db, returned_line)}/approve"
    asked = client.post(url, data={"goods": "not_returned"}, follow_redirects=True).get_data(as_text=True)
    assert "顾客申请：退货退款（把货品退回站点）" in asked and "记录的货品去向与顾客的申请不同" in asked
    assert client.post(url, data={"goods": "not_returned", "confirm": "1"}).status_code == 303
    assert _on_hand(db, world) == before

    url = f"/refund-requests/{_request_id(db, kept_line)}/approve"
    asked = client.post(url, data={"goods": "not_returned"}, follow_redirects=True).get_data(as_text=True)
    assert "顾客申请：仅退款（货品留下）" in asked and "记录的货品去向与顾客的申请不同" not in asked
    assert client.post(url, data={"goods": "restocked", "quantity": "2", "confirm": "1"}).status_code == 303
    assert _on_hand(db, world) == before + 2

    decided = client.get("/refund-requests").get_data(as_text=True)
    assert '<td class="refund-kind" data-label="顾客申请">退货退款（把货品退回站点）</td>' in decided
    assert '<td class="refund-kind" data-label="顾客申请">仅退款（货品留下）</td>' in decided
    assert _requests(db, returned_line.id) == [("approved", "return")]
